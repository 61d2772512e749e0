//! `chainhound scan files|pcap|zeek` end to end: exit codes, NDJSON output,
//! rule files that do not compile listed, and payout wallets stored as tags
//! that `entity` and `exposure` then show.

mod util;

use chainhound_scan::net::write::{PcapWriter, TcpSession, FRAME_LINKTYPE};
use serde_json::Value;
use util::{chainhound, ok};

fn events(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("{e}: not one JSON object per line: {l}"))
        })
        .collect()
}

const WALLET: &str = "4AQe5sAFWZKECiaeNTt59LG7kVtqRoSRJMjrmQ6GiMFAeUvoL3MFeTE6zwwHkFPrAyNw2JHDxUSWL82RiZThPpk4SEg7Vqe";

#[test]
fn scan_files_exit_codes_json_and_tags() {
    let Some(rules) = util::shared("cryptojacking-indicators") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let files = t.path().join("files");
    std::fs::create_dir_all(files.join("tmp")).unwrap();
    std::fs::write(
        files.join("tmp/.x"),
        format!("#!/bin/sh\nnohup ./kworker --donate-level 1  -o pool.minexmr.com:5555  -u {WALLET} &\necho miner running\n"),
    )
    .unwrap();
    std::fs::write(files.join("notes.txt"), "meeting at noon\n").unwrap();
    let my_rules = t.path().join("my-rules");
    std::fs::create_dir_all(&my_rules).unwrap();
    std::fs::write(
        my_rules.join("broken.yar"),
        "rule broken { condition: $undefined }",
    )
    .unwrap();

    let r = chainhound(
        &data,
        &[
            "--json",
            "scan",
            "files",
            "--rules",
            rules.to_str().unwrap(),
            "--rules",
            my_rules.to_str().unwrap(),
            "--tag",
            "case-files",
            files.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 3, "3 = something found; stderr: {}", r.stderr);
    let ev = events(&r.stdout);
    let broken = ev
        .iter()
        .find(|e| e["event"] == "rule_file" && e["file"].as_str().unwrap().ends_with("broken.yar"))
        .unwrap();
    assert!(
        broken["error"].as_str().unwrap().contains("undefined"),
        "{broken}"
    );
    assert_eq!(broken["rules"], 0);
    let ok_files = ev
        .iter()
        .filter(|e| e["event"] == "rule_file" && e["error"].is_null())
        .count();
    assert_eq!(ok_files, 1 + 20, "built-in plus every shared rule file");
    let m = ev
        .iter()
        .find(|e| {
            e["event"] == "file_match" && e["rule"] == "SUSP_LNX_SH_CryptoMiner_Indicators_Dec20_1"
        })
        .expect("signature-base's rule fires");
    assert!(m["path"].as_str().unwrap().ends_with("tmp/.x"));
    assert_eq!(m["sha256"].as_str().unwrap().len(), 64);
    assert!(m["strings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["id"] == "$x1" && s["data"] == "miner running"));
    let w = ev
        .iter()
        .find(|e| e["event"] == "file_match" && e["rule"] == "ChainHound_Miner_Command_Line")
        .unwrap();
    assert_eq!(w["wallets"][0]["address"], WALLET);
    assert_eq!(w["wallets"][0]["chain"], "xmr");
    let tags = ev.iter().find(|e| e["event"] == "tags").unwrap();
    assert_eq!(
        (tags["stored"].as_bool(), tags["tags"].as_u64()),
        (Some(true), Some(1))
    );
    let summary = ev.last().unwrap();
    assert_eq!(
        (summary["event"].as_str(), summary["files_scanned"].as_u64()),
        (Some("summary"), Some(2))
    );
    assert_eq!(summary["rule_files_failed"], 1);

    // The tag is in the intel store, with its provenance.
    let t2 = chainhound(&data, &["--json", "tags", "list", "--address", WALLET]);
    assert_eq!(t2.code, 0, "{}", t2.stderr);
    assert!(
        t2.stdout.contains("case-files") && t2.stdout.contains("cryptojacking"),
        "{}",
        t2.stdout
    );

    // Text output names rule, file and offsets.
    let r = chainhound(
        &data,
        &[
            "scan",
            "files",
            "--rules",
            rules.to_str().unwrap(),
            files.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 3);
    assert!(
        r.stdout
            .contains("SUSP_LNX_SH_CryptoMiner_Indicators_Dec20_1 "),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("0x") && r.stdout.contains("$x1: \"miner running\""),
        "{}",
        r.stdout
    );

    // Clean: 0. Clean but a file skipped (size limit): 4.
    let clean = files.join("notes.txt");
    assert_eq!(
        chainhound(&data, &["scan", "files", clean.to_str().unwrap()]).code,
        0
    );
    let r = chainhound(
        &data,
        &["scan", "files", "--max-size", "4", clean.to_str().unwrap()],
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("notes.txt") && r.stderr.contains("size limit"),
        "{}",
        r.stderr
    );
    // Cannot run at all: 1, naming the path.
    let r = chainhound(
        &data,
        &[
            "scan",
            "files",
            "--no-builtin",
            "--rules",
            "/nonexistent/rules",
            clean.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("/nonexistent/rules"), "{}", r.stderr);
}

/// A simulated chain with a laundering incident; the thief's address turns
/// up as the payout wallet in a captured miner login; after `scan pcap
/// --tag`, `entity` shows the tag and the victim's `exposure` reaches the
/// `miner` category.
#[test]
fn pcap_wallet_tag_reaches_entity_and_exposure() {
    let t = tempfile::tempdir().unwrap();
    let data = t.path().join("data");
    let chain = t.path().join("chain");
    let truth = util::simulate(t.path(), "2000", "7");
    util::ingest_simulated(&data, t.path());
    let thief = truth["incident"]["thief_entity"].as_u64().unwrap();
    let victim = truth["incident"]["hot_wallet_addresses"][0]
        .as_str()
        .unwrap()
        .to_string();
    let addrs = std::fs::read_to_string(chain.join("truth-addresses.csv")).unwrap();
    let wallet = addrs
        .lines()
        .skip(1)
        .find_map(|l| {
            let (a, e) = l.split_once(',')?;
            (e.parse::<u64>().ok()? == thief).then(|| a.to_string())
        })
        .unwrap();

    // The miner's session: a Stratum v1 subscribe/authorize with the wallet.
    let client = "10.8.0.23:49152".parse().unwrap();
    let pool = "198.51.100.20:3333".parse().unwrap();
    let mut s = TcpSession::open(client, pool, 1_763_776_800_000_000_000, 536);
    s.send(
        true,
        b"{\"id\":1,\"method\":\"mining.subscribe\",\"params\":[\"bfgminer/5.5.0\"]}\n",
    );
    s.send(false, b"{\"id\":1,\"result\":[[[\"mining.notify\",\"ae6812eb4cd7735a302a8a9dd95cf71f\"]],\"08000002\",4],\"error\":null}\n");
    s.send(
        true,
        format!(
            "{{\"id\":2,\"method\":\"mining.authorize\",\"params\":[\"{wallet}.w1\",\"x\"]}}\n"
        )
        .as_bytes(),
    );
    s.send(false, b"{\"id\":2,\"result\":true,\"error\":null}\n");
    s.close();
    let pcap = t.path().join("miner.pcap");
    let mut w = PcapWriter::new(std::fs::File::create(&pcap).unwrap(), FRAME_LINKTYPE).unwrap();
    for (ts, f) in &s.frames {
        w.packet(*ts, f).unwrap();
    }
    w.finish().unwrap();

    let r = chainhound(
        &data,
        &[
            "--json",
            "scan",
            "pcap",
            "--tag",
            "case-7-pcap",
            "--actor",
            "lazarus",
            "--reference",
            "case 7",
            pcap.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 3, "{}", r.stderr);
    let ev = events(&r.stdout);
    let flow = ev.iter().find(|e| e["event"] == "flow").unwrap();
    assert_eq!(
        (flow["client_ip"].as_str(), flow["server_port"].as_u64()),
        (Some("10.8.0.23"), Some(3333))
    );
    assert_eq!(flow["first_seen"], "2025-11-22T02:00:00.001000Z");
    assert_eq!(flow["protocols"][0], "stratum-v1");
    assert_eq!(flow["pool_sent_work"], true);
    assert_eq!(flow["logins"][0]["wallet"], wallet.as_str());
    assert_eq!(flow["logins"][0]["chain"], "btc");
    assert_eq!(flow["logins"][0]["worker"], "w1");
    assert!(ev.iter().any(|e| e["event"] == "tags" && e["tags"] == 1));

    let entity = ok(&data, &["entity", &wallet]);
    assert!(entity.contains("[case-7-pcap] miner"), "{entity}");
    let ex: Value = serde_json::from_str(&ok(&data, &["--json", "exposure", &victim])).unwrap();
    let cats: Vec<&str> = ex["outgoing"]["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["category"].as_str().unwrap())
        .collect();
    assert!(
        cats.contains(&"miner"),
        "the victim's funds reach the crypto-jacker's wallet: {cats:?}"
    );

    // Bad input: not a capture is an error naming the file.
    let txt = t.path().join("notes.txt");
    std::fs::write(&txt, "hello").unwrap();
    let r = chainhound(&data, &["scan", "pcap", txt.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("notes.txt") && r.stderr.contains("not a pcap or pcapng"),
        "{}",
        r.stderr
    );
}

#[test]
fn scan_zeek_text_and_json() {
    let t = tempfile::tempdir().unwrap();
    let log = t.path().join("dns.log");
    std::fs::write(
        &log,
        "#separator \\x09\n#path\tdns\n#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tquery\tanswers\n1763776800.5\tC1\t10.0.0.9\t5353\t10.0.0.1\t53\tpool.supportxmr.com\t192.0.2.1\n",
    )
    .unwrap();
    let r = chainhound(t.path(), &["scan", "zeek", log.to_str().unwrap()]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stdout.contains("pool.supportxmr.com") && r.stdout.contains("line 4"),
        "{}",
        r.stdout
    );
    let r = chainhound(t.path(), &["--json", "scan", "zeek", log.to_str().unwrap()]);
    let ev = events(&r.stdout);
    assert_eq!(ev[0]["event"], "zeek_name");
    assert_eq!(ev[0]["time"], "2025-11-22T02:00:00.500000Z");
    assert_eq!(ev[0]["indicator"]["list"], "builtin:pools.txt");
}
