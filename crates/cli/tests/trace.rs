//! `trace`, `path` and `exposure` end to end on a simulated incident, and
//! the accuracy of the haircut and poison models against an independent
//! reference computed over the ground truth's exchange addresses.

mod util;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use chainhound_store::{Funding, Store};
use chainhound_trace::{EndReason, Engine, Model, Target, TraceRequest};
use chainhound_types::{Hash32, InputId, OutputId, TxNum};
use serde_json::Value;
use util::{fails, ok};

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}"))
}

struct Sim {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    chain: PathBuf,
    truth: Value,
}

/// Simulates `txs` transactions, ingests them (clustering as it goes) into
/// `<tmp>/<name>` data dirs on demand.
fn simulate(txs: &str, seed: &str) -> Sim {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let truth = util::simulate(&dir, txs, seed);
    Sim {
        _tmp: tmp,
        chain: dir.join("chain"),
        dir,
        truth,
    }
}

impl Sim {
    fn data(&self, name: &str) -> PathBuf {
        let data = self.dir.join(name);
        util::ingest_simulated(&data, &self.dir);
        data
    }

    fn theft_from(&self) -> Vec<String> {
        self.truth["incident"]["theft_txids"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| ["--from".to_string(), t.as_str().unwrap().to_string()])
            .collect()
    }

    /// Truth entity of every address, and the exchange entities by id.
    fn owners(&self) -> (HashMap<String, u32>, BTreeMap<u32, String>) {
        let rows = chainhound_sim::truth::read_addresses(&self.chain).unwrap();
        let owners = rows.into_iter().collect();
        let exchanges = self.truth["entities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "exchange")
            .map(|e| {
                (
                    e["id"].as_u64().unwrap() as u32,
                    e["name"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        (owners, exchanges)
    }
}

fn import_csv(data: &Path, csv: &Path, source: &str) {
    ok(
        data,
        &["import", "csv", csv.to_str().unwrap(), "--source", source],
    );
}

/// Checks that `xml` is well-formed and returns the number of elements
/// named `name`.
fn count_elements(xml: &str, name: &str) -> usize {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut n = 0;
    loop {
        match r.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)) => {
                if e.name().into_inner() == name {
                    n += 1;
                }
            }
            Ok(_) => {}
            Err(e) => panic!("not well-formed XML at {}: {e}", r.buffer_position()),
        }
    }
    n
}

#[test]
fn trace_path_exposure_end_to_end() {
    let sim = simulate("12000", "11");
    let data = sim.data("d");
    import_csv(&data, &sim.chain.join("attribution.csv"), "sim-analyst");
    let from = sim.theft_from();
    // `trace <extra> --from <each theft tx>`.
    let trace = |extra: &[&str]| {
        let mut a = vec!["trace"];
        a.extend_from_slice(extra);
        a.extend(from.iter().map(String::as_str));
        ok(&data, &a)
    };

    // JSON: conservation, destinations with paths, mixers, exchanges attributed.
    let r = json(&trace(&["--json"]));
    assert_eq!(r["model"], "haircut");
    assert_eq!(
        r["accounted_sat"], r["source_value_sat"],
        "{}",
        r["accounted_sat"]
    );
    let dests = r["destinations"].as_array().unwrap();
    assert!(!dests.is_empty());
    // Every destination's explanation path: from its `end`, the tree edge
    // of the transaction that created each output leads to the source.
    let tree: BTreeMap<&str, &str> = r["tree"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["txid"].as_str().unwrap(), e["from"].as_str().unwrap()))
        .collect();
    let sources: BTreeSet<&str> = from
        .iter()
        .filter(|f| f.len() == 64)
        .map(String::as_str)
        .collect();
    for (k, d) in dests.iter().enumerate() {
        let mut walk = vec![d["end"].as_str().unwrap()];
        while let Some(prev) = tree.get(&walk.last().unwrap()[..64]) {
            assert!(walk.len() < 10_000, "explanation tree has a cycle at {d}");
            walk.push(prev);
        }
        assert!(
            sources.contains(&walk.last().unwrap()[..64]),
            "destination's explanation path does not reach a source: {d}"
        );
        let path = d["path"].as_array().unwrap();
        if k < 100 {
            // The largest 100 (the default `--explain`) carry it expanded.
            let hops: Vec<String> = path
                .iter()
                .map(|h| format!("{}:{}", h["txid"].as_str().unwrap(), h["index"]))
                .collect();
            walk.reverse();
            assert_eq!(hops, walk, "expanded path of {d}");
        } else {
            assert!(path.is_empty());
        }
    }
    let exchanges: BTreeSet<&str> = dests
        .iter()
        .filter(|d| d["reason"] == "stop-at")
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    let cashed: BTreeSet<&str> = sim.truth["incident"]["received_by_exchange"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert!(
        cashed.is_subset(&exchanges),
        "every exchange the thief cashed out at is reached: {cashed:?} vs {exchanges:?}"
    );
    assert!(dests
        .iter()
        .any(|d| d["countries"].as_array().is_some_and(|c| !c.is_empty())));

    // Table text.
    let text = trace(&[]);
    assert!(text.contains("conserved to the satoshi"), "{text}");
    assert!(text.contains("path to the largest destination"), "{text}");

    // CSV, GraphML, GEXF.
    for (fmt, check) in [("csv", 0), ("graphml", 1), ("gexf", 2)] {
        let out = trace(&["--format", fmt]);
        match check {
            0 => {
                let mut lines = out.lines();
                assert!(lines.next().unwrap().starts_with("entity,name,categories"));
                assert_eq!(lines.count(), dests.len());
            }
            1 => {
                assert!(count_elements(&out, "node") > 10);
                assert!(count_elements(&out, "edge") > 10);
            }
            _ => {
                assert!(count_elements(&out, "node") > 10);
                assert!(count_elements(&out, "edge") > 10);
                assert!(out.contains("http://gexf.net/1.3"));
            }
        }
    }

    // Poison and FIFO run; FIFO conserves; poison covers at least haircut's total at exchanges.
    let stop_total = |r: &Value| -> u64 {
        r["destinations"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["reason"] == "stop-at")
            .map(|d| d["amount_sat"].as_u64().unwrap())
            .sum()
    };
    let poison = json(&trace(&["--json", "--model", "poison"]));
    let fifo = json(&trace(&["--json", "--model", "fifo"]));
    assert_eq!(fifo["accounted_sat"], fifo["source_value_sat"]);
    assert!(stop_total(&poison) >= stop_total(&r));

    // --demix: conserved, and every judged CoinJoin output carries its
    // evidence; plain haircut says the option exists.
    let dm = json(&trace(&["--json", "--demix"]));
    assert_eq!(dm["accounted_sat"], dm["source_value_sat"]);
    assert!(r.get("demixed").is_none());
    let mixers: BTreeSet<&str> = dm["mixers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["txid"].as_str().unwrap())
        .collect();
    let judged = dm["demixed"].as_array().unwrap();
    assert!(!judged.is_empty());
    for j in judged {
        assert!(mixers.contains(&j["output"].as_str().unwrap()[..64]), "{j}");
        assert!(matches!(
            j["shape"].as_str(),
            Some("alone" | "consolidation")
        ));
        assert!((1..=6).contains(&j["hops"].as_u64().unwrap()), "{j}");
        for k in ["address", "spent_by", "reached", "reached_address", "prior"] {
            assert!(!j[k].as_str().unwrap().is_empty(), "{k}: {j}");
        }
    }
    assert!(trace(&["--demix"]).contains(&format!("demix: {} CoinJoin outputs", judged.len())));
    assert!(text.contains("--demix follows"), "{text}");
    let mut a = vec!["trace", "--demix", "--model", "fifo"];
    a.extend(from.iter().map(String::as_str));
    let err = fails(&data, &a);
    assert!(err.contains("forward haircut traces only"), "{err}");

    // Limits: a tiny --max-txs is reported as a cut and still conserves.
    let cut = json(&trace(&["--json", "--max-txs", "50"]));
    assert_eq!(cut["cut"]["limit"], "max_txs");
    assert_eq!(cut["txs_visited"], 50);
    assert!(cut["cut"]["unfollowed_sat"].as_u64().unwrap() > 0);
    assert_eq!(cut["accounted_sat"], cut["source_value_sat"]);
    // --max-hops and --until bound the trace too.
    let hops = json(&trace(&["--json", "--max-hops", "2"]));
    assert!(hops["hops_reached"].as_u64().unwrap() <= 2);
    assert!(hops["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["reason"] == "max-hops"));
    let until = json(&trace(&["--json", "--until", "2024-01-01"]));
    assert!(until["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["reason"] == "until"));

    // Backward from a cash-out deposit reaches the victim's hot wallet.
    let cash = &sim.truth["incident"]["cashouts"][0];
    let outpoint = format!("{}:{}", cash["txid"].as_str().unwrap(), cash["vout"]);
    let back = json(&ok(
        &data,
        &[
            "trace",
            "--json",
            "--direction",
            "backward",
            "--from",
            &outpoint,
            "--stop-at",
            "none",
        ],
    ));
    assert_eq!(back["accounted_sat"], back["source_value_sat"]);
    assert_eq!(back["fees_sat"], 0);

    // Paths from the theft to the deposit.
    let theft = sim.truth["incident"]["theft_txids"][0].as_str().unwrap();
    let deposit = cash["deposit_address"].as_str().unwrap();
    let p = json(&ok(&data, &["path", "--json", theft, deposit]));
    let sp = p["shortest"]["hops"].as_array().expect("a shortest path");
    assert_eq!(sp.last().unwrap()["address"], deposit);
    let hv = p["highest_value"]["hops"]
        .as_array()
        .expect("a highest-value path");
    assert_eq!(hv.last().unwrap()["address"], deposit);
    assert!(
        p["highest_value"]["bottleneck_sat"].as_u64() >= p["shortest"]["bottleneck_sat"].as_u64()
    );
    assert!(sp.len() <= hv.len());

    // Exposure of the deposit address: the cash-out exchange's entity has
    // outgoing and incoming exposure with evidence paths.
    let ex = json(&ok(&data, &["exposure", "--json", deposit]));
    assert!(ex["incoming"]["total_sat"].as_u64().unwrap() > 0);
    let cats = ex["outgoing"]["categories"].as_array().unwrap();
    let exch = cats
        .iter()
        .find(|c| c["category"] == "exchange")
        .expect("exchange exposure");
    assert!(exch["direct_sat"].as_u64().unwrap() + exch["indirect_sat"].as_u64().unwrap() > 0);
    assert!(!exch["paths"].as_array().unwrap().is_empty());
    assert!(ok(&data, &["exposure", deposit]).contains("outgoing:"));

    // Bad input: clear errors naming the input.
    let zero = "00".repeat(32);
    assert!(fails(&data, &["trace", "--from", &zero]).contains("is not in the store"));
    assert!(fails(&data, &["trace", "--from", &format!("{theft}:999")]).contains("no output 999"));
    assert!(fails(&data, &["trace", "--from", "bcrt1qnotanaddress"]).contains("bcrt1qnotanaddress"));
    assert!(fails(&data, &["exposure", "e4294967295"]).contains("not an entity"));
    assert!(fails(&data, &["trace", "--from", theft, "--until", "yesterday"]).contains("--until"));
    // A valid address of the network that never appears.
    let unseen = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
    let err = fails(&data, &["exposure", unseen]);
    assert!(
        err.contains("never appears") || err.contains(unseen),
        "{err}"
    );
}

/// Independent reference: haircut or poison over the store's plain API,
/// stopping at outputs whose address the truth says an exchange owns.
/// Returns tainted satoshis per exchange entity (truth ids), fees and the
/// total that ended anywhere else.
fn reference(
    store: &Store,
    sources: &[u32],
    exchange_of: &dyn Fn(OutputId) -> Option<u32>,
    poison: bool,
) -> (BTreeMap<u32, u64>, u64, u64) {
    let mut per_ex: BTreeMap<u32, u64> = BTreeMap::new();
    let (mut fees, mut elsewhere) = (0u64, 0u64);
    // Taint on outputs whose spender is still to be visited.
    let mut live: HashMap<u32, u64> = HashMap::new();
    let mut queue: BTreeSet<u32> = BTreeSet::new();
    let mut settle = |o: u32,
                      amount: u64,
                      is_source: bool,
                      live: &mut HashMap<u32, u64>,
                      queue: &mut BTreeSet<u32>| {
        if amount == 0 {
            return;
        }
        if !is_source {
            if let Some(x) = exchange_of(OutputId(o)) {
                *per_ex.entry(x).or_default() += amount;
                return;
            }
        }
        match store.output(OutputId(o)).spent_by {
            Some(i) => {
                live.insert(o, amount);
                queue.insert(store.input(i).tx.0);
            }
            None => elsewhere += amount,
        }
    };
    for &o in sources {
        settle(
            o,
            store.output(OutputId(o)).value.0,
            true,
            &mut live,
            &mut queue,
        );
    }
    while let Some(t) = queue.pop_first() {
        let tx = store.tx(TxNum(t));
        let mut in_total: u128 = 0;
        let mut tainted: u128 = 0;
        for i in tx.inputs.clone() {
            if let Funding::Output(o) = store.input(InputId(i)).funding {
                in_total += u128::from(store.output(o).value.0);
                if let Some(a) = live.remove(&o.0) {
                    tainted += u128::from(a);
                }
            }
        }
        let outs: Vec<(u32, u128)> = tx
            .outputs
            .clone()
            .map(|o| (o, u128::from(store.output(OutputId(o)).value.0)))
            .collect();
        let out_total: u128 = outs.iter().map(|x| x.1).sum();
        let fee = in_total - out_total;
        if poison {
            fees += fee as u64;
            for (o, v) in outs {
                settle(o, v as u64, false, &mut live, &mut queue);
            }
            continue;
        }
        // Largest remainder over outputs then the fee.
        let mut slots: Vec<u128> = outs.iter().map(|x| x.1).collect();
        slots.push(fee);
        let mut share: Vec<u128> = slots.iter().map(|w| tainted * w / in_total).collect();
        let given: u128 = share.iter().sum();
        let mut order: Vec<usize> = (0..slots.len()).collect();
        order.sort_by(|&a, &b| {
            let (ra, rb) = (tainted * slots[a] % in_total, tainted * slots[b] % in_total);
            rb.cmp(&ra).then(a.cmp(&b))
        });
        for &k in order.iter().take((tainted - given) as usize) {
            share[k] += 1;
        }
        fees += share[outs.len()] as u64;
        for (j, (o, _)) in outs.iter().enumerate() {
            settle(*o, share[j] as u64, false, &mut live, &mut queue);
        }
    }
    (per_ex, fees, elsewhere)
}

#[test]
fn haircut_and_poison_equal_the_reference_per_exchange() {
    let sim = simulate("30000", "7");
    let (owners, exchanges) = sim.owners();
    let theft: Vec<Hash32> = sim.truth["incident"]["theft_txids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Hash32::from_display_hex(t.as_str().unwrap()).unwrap())
        .collect();

    // 1. Exact equality: every exchange address the truth knows is tagged,
    //    so the engine and the reference stop at the same outputs.
    let full = sim.data("full");
    let csv = sim.dir.join("truth-exchanges.csv");
    let mut rows = String::from("address,label,category,actor,country\n");
    for (addr, e) in &owners {
        if let Some(name) = exchanges.get(e) {
            rows += &format!("{addr},{name},exchange,{name},XX\n");
        }
    }
    std::fs::write(&csv, rows).unwrap();
    import_csv(&full, &csv, "truth-exchanges");
    let engine = Engine::open(&full).unwrap();
    let store = engine.store();
    let net = engine.network();
    let ex_of_addr: HashMap<u32, u32> = owners
        .iter()
        .filter(|(_, e)| exchanges.contains_key(e))
        .filter_map(|(a, e)| {
            let key = chainhound_btc::parse_address(a, net).ok()?;
            Some((store.addr_id(&key)?.0, *e))
        })
        .collect();
    let exchange_of = |o: OutputId| ex_of_addr.get(&store.output(o).addr.0).copied();
    let tx_nums: Vec<TxNum> = theft.iter().map(|h| store.tx_by_txid(h).unwrap()).collect();
    let sources: Vec<u32> = tx_nums.iter().flat_map(|t| store.tx(*t).outputs).collect();
    let mut req = TraceRequest::new(Target::Tx(tx_nums[0]));
    req.from = tx_nums.iter().map(|t| Target::Tx(*t)).collect();
    for (model, poison) in [(Model::Haircut, false), (Model::Poison, true)] {
        req.model = model;
        let rep = engine.trace(&req).unwrap();
        assert!(rep.cut.is_none(), "{:?}", rep.cut);
        let (want, want_fees, _) = reference(store, &sources, &exchange_of, poison);
        let mut got: BTreeMap<u32, u64> = BTreeMap::new();
        for d in rep
            .destinations
            .iter()
            .filter(|d| d.reason == EndReason::Stop)
        {
            let name = d.entity.name.as_deref().unwrap();
            let id = *exchanges
                .iter()
                .find(|(_, n)| n.as_str() == name)
                .unwrap()
                .0;
            *got.entry(id).or_default() += d.amount;
        }
        assert_eq!(got, want, "{} per exchange", model.name());
        assert_eq!(rep.fees, want_fees, "{} fees", model.name());
        if model == Model::Haircut {
            assert_eq!(rep.accounted(), rep.source_value, "conservation");
        }
        eprintln!(
            "{}: per-exchange amounts equal the reference for {} exchanges ({} sat)",
            model.name(),
            got.len(),
            got.values().sum::<u64>()
        );
    }

    // 2. Found at the right destinations, with the analyst's realistic
    //    attribution (a few addresses per exchange, spread by clustering).
    let data = sim.data("realistic");
    import_csv(&data, &sim.chain.join("attribution.csv"), "sim-analyst");
    let engine = Engine::open(&data).unwrap();
    let inc = &sim.truth["incident"];
    let truth_ex: BTreeMap<String, u64> = inc["received_by_exchange"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["sats"].as_u64().unwrap(),
            )
        })
        .collect();
    let held: HashSet<&str> = inc["stockpile"]["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .chain(inc["in_flight"]["addresses"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    let held_truth =
        inc["stockpile"]["sats"].as_u64().unwrap() + inc["in_flight"]["sats"].as_u64().unwrap();
    for (model, demix) in [
        (Model::Haircut, false),
        (Model::Haircut, true),
        (Model::Fifo, false),
    ] {
        req.model = model;
        req.demix = demix;
        let rep = engine.trace(&req).unwrap();
        assert_eq!(
            rep.accounted(),
            rep.source_value,
            "{} conserves",
            model.name()
        );
        let mut at: BTreeMap<String, u64> = BTreeMap::new();
        let mut unspent_held = 0;
        for d in &rep.destinations {
            match d.reason {
                EndReason::Stop => {
                    *at.entry(d.entity.name.clone().unwrap()).or_default() += d.amount
                }
                EndReason::Unspent if held.contains(d.path.last().unwrap().address.as_str()) => {
                    unspent_held += d.amount
                }
                _ => {}
            }
        }
        let found: u64 = truth_ex
            .iter()
            .map(|(n, v)| (*v).min(at.get(n).copied().unwrap_or(0)))
            .sum::<u64>()
            + unspent_held.min(held_truth)
            + rep.fees;
        let ratio = found as f64 / rep.source_value as f64;
        eprintln!(
            "{}{}: {:.2}% of the stolen value found at the right destinations ({} of {} sat)",
            model.name(),
            if demix { " --demix" } else { "" },
            ratio * 100.0,
            found,
            rep.source_value
        );
        if demix {
            // The target, reached by following the thief through
            // the CoinJoins; every judgment names a thief's coin.
            assert!(ratio >= 0.98, "--demix found only {ratio}");
            let thief = inc["thief_entity"].as_u64().unwrap() as u32;
            assert!(rep.demixed.len() > 100, "{} judged", rep.demixed.len());
            for j in &rep.demixed {
                assert_eq!(owners.get(&j.output_address), Some(&thief), "{j:?}");
            }
            eprintln!(
                "--demix: {} CoinJoin outputs judged, every one the thief's",
                rep.demixed.len()
            );
        } else {
            // CoinJoins dilute haircut and FIFO taint over every participant
            // by definition (docs/tracing.md, "Accuracy").
            assert!(rep.demixed.is_empty());
            assert!(ratio >= 0.90, "{} found only {ratio}", model.name());
        }
    }
}
