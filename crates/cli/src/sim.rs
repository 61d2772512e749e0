//! `simulate` and `demo`.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use chainhound_btc::{parse_address, render, Network};
use chainhound_sim::{simulate as run_sim, SimConfig, SimSummary, Truth};
use chainhound_store::Store;
use chainhound_types::{Hash32, InputId, OutputId, Sats, TxNum};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use crate::ingest::{ingest, BtcArgs};
use crate::Ctx;

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Output directory (gets blocks/blk*.dat, truth.json, truth-addresses.csv).
    #[arg(long)]
    pub out: PathBuf,
    /// Transactions to generate.
    #[arg(long, default_value_t = 100_000)]
    pub txs: u64,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Obfuscate the files with a blocks/xor.dat key, as Bitcoin Core 28+ does.
    #[arg(long)]
    pub xor: bool,
    /// Stale (orphaned) blocks to write beside the main chain.
    #[arg(long)]
    pub stale: Option<u32>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Transactions in the simulated chain.
    #[arg(long, default_value_t = 60_000)]
    pub txs: u64,
    /// Random seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Then leave the screening API running over the demo case (Ctrl-C stops it).
    #[arg(long)]
    pub serve: bool,
    /// Where `--serve` listens.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    pub bind: std::net::SocketAddr,
}

#[derive(Serialize)]
struct SimJson {
    out: String,
    blocks: u32,
    txs: u64,
    inputs: u64,
    outputs: u64,
    bytes: u64,
    files: u32,
    truth: String,
    seconds: f64,
}

fn generate(ctx: &Ctx, cfg: &SimConfig, out: &Path) -> Result<(SimSummary, f64)> {
    let bar = if ctx.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(Some(cfg.txs), ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template(
                "{msg:>22} [{bar:40}] {human_pos}/{human_len} {per_sec} eta {eta}",
            )
            .expect("static template is valid")
            .progress_chars("=> "),
        );
        b.set_message("simulating txs");
        b
    };
    let t = Instant::now();
    let summary = run_sim(cfg, out, &mut |n| bar.set_position(n))
        .with_context(|| format!("simulating into {}", out.display()))?;
    bar.finish_and_clear();
    Ok((summary, t.elapsed().as_secs_f64()))
}

pub fn simulate(ctx: &Ctx, a: SimulateArgs) -> Result<()> {
    let mut cfg = SimConfig::new(a.txs, a.seed);
    if a.xor {
        cfg.xor_key = Some(xor_key(a.seed));
    }
    if let Some(s) = a.stale {
        cfg.stale_blocks = s;
    }
    let (s, secs) = generate(ctx, &cfg, &a.out)?;
    let j = SimJson {
        out: a.out.display().to_string(),
        blocks: s.blocks,
        txs: s.txs,
        inputs: s.inputs,
        outputs: s.outputs,
        bytes: s.bytes,
        files: s.files,
        truth: s.truth_path.display().to_string(),
        seconds: secs,
    };
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else if !ctx.quiet {
        println!(
            "wrote {} blocks, {} txs ({} inputs, {} outputs, {:.1} MB in {} blk files) to {} in {:.1}s",
            j.blocks, j.txs, j.inputs, j.outputs, j.bytes as f64 / 1e6, j.files, j.out, secs
        );
        println!("ground truth: {}", j.truth);
        println!(
            "ingest with: chainhound ingest btc --network regtest --blocks-dir {}",
            a.out.join("blocks").display()
        );
    }
    Ok(())
}

/// A non-zero obfuscation key derived from the seed.
fn xor_key(seed: u64) -> [u8; 8] {
    let k = (seed ^ 0x5bd1_e995_c0ff_ee11)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .to_le_bytes();
    if k == [0; 8] {
        [1; 8]
    } else {
        k
    }
}

// ---- demo ----

#[derive(Serialize, Default)]
struct DemoJson {
    chain_dir: String,
    store_dir: String,
    simulate_seconds: f64,
    ingest_seconds: f64,
    blocks: u32,
    txs: u32,
    inputs: u32,
    outputs: u32,
    victim: String,
    victim_country: String,
    hot_wallet_addresses: usize,
    hot_wallet_balance_sat: u64,
    hot_wallet_received_sat: u64,
    drained: Vec<HotWallet>,
    theft_txids: Vec<String>,
    /// The victim's loss: the outputs the theft spent, less change back.
    stolen_sat: u64,
    /// What the thief's outputs received (the loss less the fee).
    thief_received_sat: u64,
    first_hops: Vec<Hop>,
    downstream_txs: usize,
    downstream_max_depth: usize,
    downstream_unspent_sat: u64,
    truth_laundering_txs: usize,
    truth_laundering_seen_downstream: usize,
    truth_received_by_exchange: Vec<(String, String, u64)>,
    truth_stockpile_sat: u64,
    /// The clusters' view of the victim's hot wallet and of the thief's
    /// first address (`chainhound entity`).
    victim_entity: Option<crate::entities::EntityBrief>,
    thief_entity: Option<crate::entities::EntityBrief>,
}

#[derive(Serialize)]
struct HotWallet {
    address: String,
    balance_sat: u64,
    received_sat: u64,
    sent_sat: u64,
    txs: u64,
}

#[derive(Serialize)]
struct Hop {
    value_sat: u64,
    address: String,
    spent_in: Option<String>,
    spent_height: Option<u32>,
    spender_outputs: Option<usize>,
}

pub fn demo(ctx: &Ctx, a: DemoArgs) -> Result<()> {
    let chain = ctx
        .data
        .join("sim")
        .join(format!("demo-{}-{}", a.seed, a.txs));
    let mut j = DemoJson {
        chain_dir: chain.display().to_string(),
        ..Default::default()
    };
    let truth = match Truth::load(&chain) {
        Ok(t) => t,
        Err(_) => {
            let (_, secs) = generate(ctx, &SimConfig::new(a.txs, a.seed), &chain)?;
            j.simulate_seconds = secs;
            Truth::load(&chain).context("reading the ground truth just written")?
        }
    };
    check_store_matches(ctx, &truth)?;
    let t = Instant::now();
    let args = BtcArgs {
        blocks_dir: Some(chain.join("blocks")),
        file: Vec::new(),
        network: "regtest".into(),
        anchor_height: None,
        commit_every: None,
        max_blocks: None,
        no_cluster: false,
    };
    ingest(ctx, &args)?;
    j.ingest_seconds = t.elapsed().as_secs_f64();
    let store = Store::open(&ctx.btc_dir())?;
    j.store_dir = ctx.btc_dir().display().to_string();
    analyse(&store, &truth, &mut j)?;
    let first = |a: Option<&String>| a.and_then(|a| crate::entities::brief(&store, a));
    j.victim_entity = first(j.drained.first().map(|w| &w.address));
    j.thief_entity = first(j.first_hops.first().map(|h| &h.address));
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        print_demo(ctx, &j);
        crate::trace::demo_section(ctx, &chain, &truth)?;
    }
    if a.serve {
        drop(store);
        crate::serve::demo(ctx, &chain, &truth, a.bind)?;
    }
    Ok(())
}

/// A store holding another chain would mix two simulations: refuse.
fn check_store_matches(ctx: &Ctx, truth: &Truth) -> Result<()> {
    let Ok(store) = Store::open(&ctx.btc_dir()) else {
        return Ok(());
    };
    if store.network_magic() != Network::Regtest.magic() {
        bail!(
            "the store in {} holds the {} chain; run the demo with another --data directory",
            ctx.btc_dir().display(),
            chainhound_store::network_name(store.network_magic())
        );
    }
    if let (Some(b), Some(want)) = (
        store.block(chainhound_types::BlockHeight(1)),
        truth.main_chain.get(1),
    ) {
        if b.hash.to_string() != *want {
            bail!(
                "the store in {} holds a different simulated chain; run the demo with another --data directory",
                ctx.btc_dir().display()
            );
        }
    }
    Ok(())
}

fn analyse(store: &Store, truth: &Truth, j: &mut DemoJson) -> Result<()> {
    let net = Network::Regtest;
    let c = store.counts();
    (j.blocks, j.txs, j.inputs, j.outputs) = (c.blocks, c.txs, c.inputs, c.outputs);
    let inc = &truth.incident;
    j.victim = inc.victim_name.clone();
    j.victim_country = inc.victim_country.clone();
    // What the victim knows: its own hot wallet addresses and the theft txids.
    for a in &inc.hot_wallet_addresses {
        let key = parse_address(a, net)?;
        let Some(id) = store.addr_id(&key) else {
            continue;
        };
        let s = store.addr_summary(id);
        j.hot_wallet_addresses += 1;
        j.hot_wallet_balance_sat += s.balance.0;
        j.hot_wallet_received_sat += s.received.0;
    }
    let mut frontier: VecDeque<(TxNum, usize)> = VecDeque::new();
    let mut seen: HashSet<TxNum> = HashSet::new();
    for txid in &inc.theft_txids {
        let h = Hash32::from_display_hex(txid).context("theft txid in truth.json")?;
        let Some(t) = store.tx_by_txid(&h) else {
            bail!("theft tx {txid} is not in the store")
        };
        j.theft_txids.push(txid.clone());
        let tx = store.tx(t);
        // the addresses it drained: what its inputs spent
        for i in tx.inputs.clone() {
            if let chainhound_store::Funding::Output(o) = store.input(InputId(i)).funding {
                let out = store.output(o);
                let s = store.addr_summary(out.addr);
                j.stolen_sat += out.value.0;
                j.drained.push(HotWallet {
                    address: render(&store.addr_key(out.addr), net),
                    balance_sat: s.balance.0,
                    received_sat: out.value.0,
                    sent_sat: s.sent.0,
                    txs: s.txs,
                });
            }
        }
        for o in tx.outputs.clone() {
            let out = store.output(OutputId(o));
            let key = store.addr_key(out.addr);
            let addr = render(&key, net);
            if inc.hot_wallet_addresses.contains(&addr) {
                j.stolen_sat -= out.value.0; // change back to the victim
                continue;
            }
            j.thief_received_sat += out.value.0;
            let spender = out.spent_by.map(|i| store.tx(store.input(i).tx));
            j.first_hops.push(Hop {
                value_sat: out.value.0,
                address: addr,
                spent_in: spender.as_ref().map(|s| s.txid.to_string()),
                spent_height: spender.as_ref().map(|s| s.height.0),
                spender_outputs: spender.as_ref().map(|s| s.outputs.len()),
            });
        }
        seen.insert(t);
        frontier.push_back((t, 0));
    }
    // Everything downstream of the theft along spender links (any amount):
    // the raw material a taint model will weigh.
    while let Some((t, depth)) = frontier.pop_front() {
        j.downstream_max_depth = j.downstream_max_depth.max(depth);
        for o in store.tx(t).outputs {
            match store.spender(OutputId(o)) {
                Some(i) => {
                    let next = store.input(InputId(i.0)).tx;
                    if seen.insert(next) {
                        frontier.push_back((next, depth + 1));
                    }
                }
                None => j.downstream_unspent_sat += store.output_value(OutputId(o)).0,
            }
        }
    }
    j.downstream_txs = seen.len() - j.theft_txids.len();
    let downstream: HashSet<String> = seen.iter().map(|t| store.tx(*t).txid.to_string()).collect();
    j.truth_laundering_txs = inc.laundering_txids.len();
    j.truth_laundering_seen_downstream = inc
        .laundering_txids
        .iter()
        .filter(|t| downstream.contains(*t))
        .count();
    let mut by_ex: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for e in &inc.received_by_exchange {
        by_ex.insert(e.name.clone(), (e.country.clone(), e.sats));
    }
    j.truth_received_by_exchange = by_ex.into_iter().map(|(n, (c, s))| (n, c, s)).collect();
    j.truth_stockpile_sat = inc.stockpile.sats;
    Ok(())
}

fn print_demo(ctx: &Ctx, j: &DemoJson) {
    let data = ctx.data.display();
    println!("ChainHound demo: a simulated exchange hack and its laundering trail\n");
    println!(
        "Chain   {} (regtest blk files, ground truth in truth.json)",
        j.chain_dir
    );
    if j.simulate_seconds > 0.0 {
        println!("        (simulated in {:.1}s)", j.simulate_seconds);
    }
    println!(
        "Store   {}: {} blocks, {} txs, {} inputs, {} outputs (ingested in {:.1}s)\n",
        j.store_dir, j.blocks, j.txs, j.inputs, j.outputs, j.ingest_seconds
    );
    println!(
        "The incident, as the victim {} ({}) reports it",
        j.victim, j.victim_country
    );
    for t in &j.theft_txids {
        println!("  theft tx   {t}");
    }
    println!(
        "  stolen     {} (the thief's outputs got {} after the fee)",
        Sats(j.stolen_sat),
        Sats(j.thief_received_sat)
    );
    println!(
        "  the hot wallet's {} addresses received {} over their life and hold {} now",
        j.hot_wallet_addresses,
        Sats(j.hot_wallet_received_sat),
        Sats(j.hot_wallet_balance_sat)
    );
    for w in j.drained.iter().take(8) {
        println!(
            "  drained    {}  {} taken, balance now {}",
            w.address,
            Sats(w.received_sat),
            Sats(w.balance_sat)
        );
    }
    if j.drained.len() > 8 {
        println!("  ... and {} more drained outputs", j.drained.len() - 8);
    }
    println!("\nFirst hops of the stolen coins (from the store's spender links)");
    for h in j.first_hops.iter().take(12) {
        match (&h.spent_in, h.spent_height, h.spender_outputs) {
            (Some(t), Some(ht), Some(n)) => println!(
                "  {:>22}  {}  -> spent in {} (block {}, {} outputs)",
                Sats(h.value_sat).to_string(),
                h.address,
                t,
                ht,
                n
            ),
            _ => println!(
                "  {:>22}  {}  -> unspent (dormant)",
                Sats(h.value_sat).to_string(),
                h.address
            ),
        }
    }
    if j.first_hops.len() > 12 {
        println!("  ... and {} more outputs", j.first_hops.len() - 12);
    }
    println!(
        "\nDownstream of the theft (any amount, however small): {} transactions, up to {} hops deep; {} sits unspent at the end of those paths",
        j.downstream_txs,
        j.downstream_max_depth,
        Sats(j.downstream_unspent_sat)
    );
    println!(
        "  (the simulator's ground truth lists {} laundering transactions; {} of them are downstream here)",
        j.truth_laundering_txs, j.truth_laundering_seen_downstream
    );
    println!("\nGround truth of the simulation, for the tracing and clustering work to reproduce:");
    for (name, country, sats) in &j.truth_received_by_exchange {
        println!("  cashed out at {name} ({country}): {}", Sats(*sats));
    }
    println!(
        "  stockpiled (never moved): {}",
        Sats(j.truth_stockpile_sat)
    );
    for (who, e) in [
        ("victim's hot wallet", &j.victim_entity),
        ("thief", &j.thief_entity),
    ] {
        if let Some(e) = e {
            println!(
                "\nEntity of the {who} ({}): entity {}, {} address(es) joined by common-input ownership, balance {}, {} txs, {} CoinJoins",
                e.first_address, e.entity_id, e.addresses, Sats(e.balance_sat), e.txs, e.coinjoins
            );
        }
    }
    println!("\nNext:");
    if let Some(e) = &j.victim_entity {
        println!("  chainhound --data {data} entity {}", e.first_address);
    }
    if let Some(e) = &j.thief_entity {
        println!("  chainhound --data {data} entity {}", e.first_address);
    }
    if let Some(t) = j.theft_txids.first() {
        println!("  chainhound --data {data} tx {t}");
    }
    if let Some(w) = j.drained.first() {
        println!("  chainhound --data {data} address {}", w.address);
    }
    println!("  chainhound --data {data} stats");
}
