//! A real Ethereum node in the test: anvil (from the npm registry,
//! installed into `crates/evm/testnode` by `.ci/run`) on 127.0.0.1. The test
//! deploys a token, a Tornado-like mixer pool, a bridge lock and a DEX
//! (bytecode compiled by solc from npm, committed beside the source), plays
//! a hack of an exchange hot wallet laundered through hops, the mixer, the
//! bridge and a token swap into deposits at two other exchanges, ingests
//! over JSON-RPC and checks the traced amounts. Skips with a message when
//! anvil is not installed.

#[path = "support/anvil.rs"]
mod anvil;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anvil::{dump, testnode, Anvil};
use chainhound_evm::model::{detect_deposits, trace, Labels, Model, Role, Seed, TraceConfig};
use chainhound_evm::rpc::{ingest_rpc, Client, InternalSource, RetryPolicy, RpcOptions};
use chainhound_evm::{Address, AssetId, EvmStore, EvmWriter, TransferKind, TxStatus, B256, U256};
use serde_json::{json, Value};

fn start() -> Option<Anvil> {
    Anvil::start(&["--chain-id", "31337"])
}

fn addr(i: u8) -> Address {
    Address::repeat_byte(i)
}

fn eth(n: u64) -> U256 {
    U256::from(n) * U256::from(10u64).pow(U256::from(18))
}

fn word_u(v: U256) -> [u8; 32] {
    v.to_be_bytes()
}

fn word_a(a: Address) -> [u8; 32] {
    a.into_word().0
}

fn calldata(sig: &str, args: &[[u8; 32]]) -> String {
    let mut d = alloy_primitives::keccak256(sig.as_bytes())[..4].to_vec();
    for a in args {
        d.extend_from_slice(a);
    }
    format!("0x{}", alloy_primitives::hex::encode(d))
}

/// Sends a transaction (gas price 0) and returns its receipt.
fn send(
    c: &Client,
    from: Address,
    to: Option<Address>,
    value: U256,
    data: &str,
    gas: Option<u64>,
) -> Value {
    let mut tx = json!({"from": from, "value": value, "data": data, "gasPrice": "0x0"});
    if let Some(to) = to {
        tx["to"] = json!(to);
    }
    if let Some(g) = gas {
        tx["gas"] = json!(format!("{g:#x}"));
    }
    let hash: B256 = c.call("eth_sendTransaction", json!([tx])).unwrap();
    // Automine answers before the receipt is always queryable.
    let t0 = Instant::now();
    loop {
        let r: Value = c.call("eth_getTransactionReceipt", json!([hash])).unwrap();
        if !r.is_null() {
            return r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "transaction {hash} not mined"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends a transaction to `to` that must succeed.
fn call_ok(c: &Client, from: Address, to: Address, value: U256, data: &str) {
    let r = send(c, from, Some(to), value, data, None);
    assert_eq!(r["status"], "0x1", "{from} -> {to} {data}: {r}");
}

fn deploy(c: &Client, from: Address, name: &str, args: &[[u8; 32]]) -> Address {
    let hex =
        std::fs::read_to_string(testnode().join("contracts").join(format!("{name}.bin"))).unwrap();
    let mut data = format!("0x{}", hex.trim());
    for a in args {
        data.push_str(&alloy_primitives::hex::encode(a));
    }
    let r = send(c, from, None, U256::ZERO, &data, None);
    assert_eq!(r["status"], "0x1", "deploying {name}");
    serde_json::from_value(r["contractAddress"].clone()).unwrap()
}

fn ingest(c: &Client, dir: &Path, batch: usize) -> chainhound_evm::rpc::RpcReport {
    ingest_with(
        c,
        dir,
        RpcOptions {
            batch,
            ..Default::default()
        },
    )
}

fn ingest_with(c: &Client, dir: &Path, opts: RpcOptions) -> chainhound_evm::rpc::RpcReport {
    let mut w = EvmWriter::open(dir, "anvil").unwrap();
    let opts = RpcOptions {
        confirmations: 0,
        concurrency: 3,
        ..opts
    };
    ingest_rpc(&mut w, c, &opts, &mut ()).unwrap()
}

/// Imports `ed` into the tag store in `intel`; labels the accounts of `s`
/// from every tag stored there.
fn import_and_label(s: &EvmStore, intel: &Path, ed: chainhound_intel::Edition) -> Labels {
    chainhound_intel::TagWriter::open(intel)
        .unwrap()
        .import(ed, &Default::default())
        .unwrap();
    let tags = chainhound_intel::TagStore::open(intel).unwrap();
    Labels::from_tags(s, &tags)
}

/// The thief: an address of LAZARUS GROUP on the OFAC SDN list (the
/// node lets the test send from any address).
fn thief() -> Address {
    "0x098B716B8Aaf21512996dC57EB0615e2383E2f96"
        .parse()
        .unwrap()
}

const DEPLOYER: u8 = 0xd0;
const HOT1: u8 = 0x11;
const HOT2: u8 = 0x12;
const HOT3: u8 = 0x13;
const HOP1: u8 = 0x21;
const HOP2: u8 = 0x22;
const HOP3: u8 = 0x23;
const DEP2: u8 = 0x32;
const DEP3: u8 = 0x33;

#[test]
fn hack_laundered_through_mixer_bridge_and_swap_is_traced_from_a_real_node() {
    let Some(node) = start() else { return };
    let c = node.client();
    let set_balance = |a: Address, v: U256| {
        let _: Value = c.call("anvil_setBalance", json!([a, v])).unwrap();
    };
    set_balance(addr(HOT1), eth(1000));
    let token = deploy(&c, addr(DEPLOYER), "TestUSD", &[]);
    let mixer = deploy(&c, addr(DEPLOYER), "MixerPool", &[word_u(eth(10))]);
    let bridge = deploy(&c, addr(DEPLOYER), "BridgeLock", &[]);
    let rate = U256::from(2000u64 * 1_000_000); // 2000 TUSD per ETH
    let dex = deploy(
        &c,
        addr(DEPLOYER),
        "FixedRateDex",
        &[word_a(token), word_u(rate)],
    );
    let mint = calldata(
        "mint(address,uint256)",
        &[word_a(dex), word_u(U256::from(1_000_000u64 * 1_000_000))],
    );
    call_ok(&c, addr(DEPLOYER), token, U256::ZERO, &mint);

    // The hack and the laundering.
    let hack = send(&c, addr(HOT1), Some(thief()), eth(100), "0x", None);
    let hack_hash: B256 = serde_json::from_value(hack["transactionHash"].clone()).unwrap();
    send(&c, thief(), Some(addr(HOP1)), eth(60), "0x", None);
    send(&c, thief(), Some(addr(HOP2)), eth(40), "0x", None);
    let secret1 = B256::repeat_byte(0x51);
    let secret2 = B256::repeat_byte(0x52);
    for s in [secret1, secret2] {
        let commit = alloy_primitives::keccak256(s);
        call_ok(
            &c,
            addr(HOP1),
            mixer,
            eth(10),
            &calldata("deposit(bytes32)", &[commit.0]),
        );
    }
    let lock = calldata(
        "lock(uint256,bytes32)",
        &[word_u(U256::from(56)), B256::repeat_byte(0x77).0],
    );
    call_ok(&c, addr(HOP1), bridge, eth(15), &lock);
    send(&c, addr(HOP1), Some(addr(DEP3)), eth(25), "0x", None);
    send(&c, addr(DEP3), Some(addr(HOT3)), eth(25), "0x", None);
    call_ok(
        &c,
        addr(HOP2),
        dex,
        eth(30),
        &calldata("swapEthForToken()", &[]),
    );
    let usd = U256::from(60_000u64 * 1_000_000);
    let pay = calldata(
        "transfer(address,uint256)",
        &[word_a(addr(DEP2)), word_u(usd)],
    );
    call_ok(&c, addr(HOP2), token, U256::ZERO, &pay);
    let sweep = calldata(
        "transfer(address,uint256)",
        &[word_a(addr(HOT2)), word_u(usd)],
    );
    call_ok(&c, addr(DEP2), token, U256::ZERO, &sweep);
    // A withdrawal from the mixer: ETH sent by the contract (an internal call).
    let w = calldata(
        "withdraw(bytes32,address)",
        &[secret1.0, word_a(addr(HOP3))],
    );
    call_ok(&c, addr(HOP3), mixer, U256::ZERO, &w);
    // A failed deposit (wrong amount) moves nothing.
    let commit3 = alloy_primitives::keccak256(B256::repeat_byte(0x53));
    let failed = send(
        &c,
        addr(HOP2),
        Some(mixer),
        eth(5),
        &calldata("deposit(bytes32)", &[commit3.0]),
        Some(200_000),
    );
    assert_eq!(failed["status"], "0x0");
    let failed_hash: B256 = serde_json::from_value(failed["transactionHash"].clone()).unwrap();

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("evm/anvil");
    let rep = ingest(&c, &dir, 4);
    assert_eq!(rep.chain_id, 31337);
    assert_eq!(
        rep.internal.map(|i| i.as_str()),
        Some("debug_traceBlockByNumber/callTracer")
    );
    assert_eq!(rep.appended, rep.node_tip + 1);
    assert_eq!(rep.internal_transfers, 1);
    // Idempotent: a second run finds nothing to do.
    let again = ingest(&c, &dir, 4);
    assert_eq!((again.appended, again.rolled_back), (0, 0));

    // trace_block and per-transaction receipts give the same store.
    let parity = tmp.path().join("evm/parity");
    let rep2 = ingest_with(
        &c,
        &parity,
        RpcOptions {
            force_internal: Some(InternalSource::TraceBlock),
            block_receipts: false,
            batch: 7,
            ..Default::default()
        },
    );
    assert_eq!(
        (rep2.internal, rep2.block_receipts),
        (Some(InternalSource::TraceBlock), false)
    );
    assert_eq!(dump(&parity), dump(&dir));
    // Without internal calls the mixer's payout is missing, and said so.
    let bare = tmp.path().join("evm/bare");
    let rep3 = ingest_with(
        &c,
        &bare,
        RpcOptions {
            force_internal: Some(InternalSource::Missing),
            ..Default::default()
        },
    );
    assert_eq!(rep3.internal_transfers, 0);
    assert_eq!(
        EvmStore::open(&bare).unwrap().transfers().len() + 1,
        EvmStore::open(&dir).unwrap().transfers().len()
    );

    let s = EvmStore::open(&dir).unwrap();
    let failed_tx = s.tx(s.tx_by_hash(&failed_hash).unwrap());
    assert_eq!(failed_tx.status, TxStatus::Failed);
    assert_eq!(
        s.tx_transfers(s.tx_by_hash(&failed_hash).unwrap()).count(),
        0
    );
    let internal: Vec<_> = s
        .transfers()
        .iter()
        .filter(|t| t.kind == TransferKind::Internal)
        .collect();
    assert_eq!(internal.len(), 1);
    assert_eq!(
        (
            s.address(chainhound_evm::AccountId(internal[0].from)),
            internal[0].amount
        ),
        (mixer, eth(10))
    );
    let tusd = s.asset_of(&token).unwrap();
    assert_eq!(s.asset(tusd).meta.symbol.as_deref(), Some("TUSD"));
    assert_eq!(s.asset(tusd).meta.decimals, Some(6));

    // Attribution through the intel store: mixed-case (EIP-55) spellings
    // match the stored accounts.
    let intel = tmp.path().join("intel");
    let csv = tmp.path().join("labels.csv");
    let cs = |a: Address| a.to_checksum(None);
    std::fs::write(
        &csv,
        format!(
            "address,label,category\n{},Exchange One hot wallet,exchange\n{},Exchange Two hot wallet,exchange\n{},Exchange Three hot wallet,exchange\n{},Mixer pool 10 ETH,mixing_service\n{},Bridge lock,bridge\n{},Fixed-rate DEX,defi_dex\n",
            cs(addr(HOT1)), cs(addr(HOT2)), cs(addr(HOT3)), cs(mixer), cs(bridge), cs(dex)
        ),
    )
    .unwrap();
    let ed = chainhound_intel::import::csv::load(
        &csv,
        &chainhound_intel::import::csv::CsvOptions::new("test-labels"),
    )
    .unwrap();
    let mut labels = import_and_label(&s, &intel, ed);
    assert_eq!(labels.len(), 6);
    let hits = detect_deposits(&s, &mut labels, 1);
    let mut found: Vec<(Address, Address)> = hits
        .iter()
        .map(|h| (s.address(h.deposit), s.address(h.hot_wallet)))
        .collect();
    found.sort();
    assert_eq!(
        found,
        vec![(addr(DEP2), addr(HOT2)), (addr(DEP3), addr(HOT3))]
    );

    // The real OFAC SDN list, through the intel store: the thief's account
    // is sanctioned, and the deposits it reached are exposed to it.
    let sdn = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/ofac-sdn/sdn_advanced_2025-11-19.xml.bz2");
    if sdn.is_file() {
        let ed = chainhound_intel::import::ofac::load(
            &sdn,
            &chainhound_intel::import::ofac::OfacOptions::default(),
        )
        .unwrap();
        let mut with_ofac = import_and_label(&s, &intel, ed);
        detect_deposits(&s, &mut with_ofac, 1);
        let t = s.account(&thief()).unwrap();
        assert!(
            with_ofac.roles(t).any(|r| r == Role::Sanctioned),
            "{:?}",
            with_ofac.of(t)
        );
        let dep3 = s.account(&addr(DEP3)).unwrap();
        let e = chainhound_evm::model::exposure(
            &s,
            &with_ofac,
            dep3,
            &[Role::Sanctioned],
            Model::Haircut,
        );
        assert_eq!(
            e.indirect.get(&(Role::Sanctioned, AssetId::NATIVE)),
            Some(&eth(25))
        );
        let dep2 = s.account(&addr(DEP2)).unwrap();
        let e =
            chainhound_evm::model::exposure(&s, &with_ofac, dep2, &[Role::Sanctioned], Model::Fifo);
        assert_eq!(e.indirect.get(&(Role::Sanctioned, tusd)), Some(&usd));
    } else {
        eprintln!("skipping the OFAC part: {} is absent", sdn.display());
    }

    let seed = Seed::Tx(s.tx_by_hash(&hack_hash).unwrap());
    for model in [Model::Haircut, Model::Fifo] {
        let r = trace(
            &s,
            &labels,
            &[seed],
            &TraceConfig {
                model,
                ..Default::default()
            },
        );
        let held: Vec<(Address, AssetId, U256)> = r
            .holdings
            .iter()
            .map(|(a, x, v)| (s.address(*a), *x, *v))
            .collect();
        assert_eq!(
            held,
            vec![(addr(HOP2), AssetId::NATIVE, eth(10))],
            "{model:?}"
        );
        let mut absorbed: Vec<(Address, AssetId, Role, U256)> = r
            .absorbed
            .iter()
            .map(|(a, x, role, v)| (s.address(*a), *x, *role, *v))
            .collect();
        absorbed.sort_by_key(|a| a.0);
        let mut want = vec![
            (addr(DEP2), tusd, Role::Exchange, usd),
            (addr(DEP3), AssetId::NATIVE, Role::Exchange, eth(25)),
            (mixer, AssetId::NATIVE, Role::Mixer, eth(20)),
            (bridge, AssetId::NATIVE, Role::Bridge, eth(15)),
        ];
        want.sort_by_key(|a| a.0);
        assert_eq!(absorbed, want, "{model:?}");
        let e = &r.totals[&AssetId::NATIVE];
        assert_eq!(
            (e.seeded, e.swapped_out, e.held),
            (eth(100), eth(30), eth(10))
        );
        assert_eq!(r.totals[&tusd].swapped_in, usd);
        // The mixer's payout to HOP3 is clean: the mixer broke the trail.
        assert!(r
            .holdings
            .iter()
            .all(|(a, _, _)| s.address(*a) != addr(HOP3)));
    }
}

#[test]
fn a_reorg_near_the_tip_is_rolled_back() {
    let Some(node) = start() else { return };
    let c = node.client();
    let _: Value = c
        .call("anvil_setBalance", json!([addr(HOT1), eth(1000)]))
        .unwrap();
    for i in 0..3 {
        send(&c, addr(HOT1), Some(addr(0x40 + i)), eth(1), "0x", None);
    }
    let snap: Value = c.call("evm_snapshot", json!([])).unwrap();
    send(&c, addr(HOT1), Some(addr(0x50)), eth(7), "0x", None);
    send(&c, addr(HOT1), Some(addr(0x51)), eth(7), "0x", None);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("a");
    let first = ingest(&c, &dir, 2);
    assert_eq!(first.appended, 6);
    let reverted: bool = c.call("evm_revert", json!([snap])).unwrap();
    assert!(reverted);
    for i in 0..3 {
        send(&c, addr(HOT1), Some(addr(0x60 + i)), eth(2), "0x", None);
    }
    let second = ingest(&c, &dir, 2);
    assert_eq!(second.rolled_back, 2);
    assert_eq!(second.appended, 3);
    let fresh = tmp.path().join("b");
    ingest(&c, &fresh, 5);
    assert_eq!(dump(&dir), dump(&fresh));
}

#[test]
fn a_dead_node_is_a_clear_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::new(
        &format!("http://127.0.0.1:{port}"),
        RetryPolicy {
            attempts: 2,
            initial_backoff: Duration::from_millis(10),
            ..Default::default()
        },
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let mut w = EvmWriter::open(tmp.path(), "x").unwrap();
    let e = ingest_rpc(&mut w, &c, &RpcOptions::default(), &mut ())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("eth_chainId") && e.contains("gave up after 2 attempts"),
        "{e}"
    );
}

#[test]
fn committed_bytecode_is_what_solc_makes_of_the_source() {
    if !testnode().join("node_modules/solc").is_dir() {
        eprintln!(
            "skipping: solc is not installed in {} (npm, as .ci/run does)",
            testnode().display()
        );
        return;
    }
    let out = Command::new("node")
        .arg("compile.mjs")
        .arg("--check")
        .current_dir(testnode())
        .output();
    match out {
        Err(e) => eprintln!("skipping: node does not run: {e}"),
        Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)),
    }
}
