//! The account model on small stores built block by block: a laundering
//! scenario with hand-computed amounts, and conservation laws under proptest.

use proptest::prelude::*;

use super::*;
use crate::store::{EvmStore, EvmWriter};
use crate::types::{
    AccountId, Address, AssetId, AssetRef, NewBlock, NewTransfer, NewTx, TokenMeta, TransferKind,
    TxStatus, B256, U256,
};

/// One transaction: (from, fee, transfers (asset 0 = native, 1 = token; from, to, amount)).
type Tx = (u8, u64, Vec<(u8, u8, u8, u64)>);

const TOKEN: u8 = 0xee;

fn addr(i: u8) -> Address {
    Address::repeat_byte(i)
}

fn build(blocks: &[Vec<Tx>]) -> (tempfile::TempDir, EvmStore) {
    let d = tempfile::tempdir().unwrap();
    let mut w = EvmWriter::open(d.path(), "test").unwrap();
    let mut parent = B256::ZERO;
    for (n, txs) in blocks.iter().enumerate() {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
        let mut b = NewBlock {
            number: n as u64 + 1,
            hash: B256::from(h),
            parent,
            timestamp: 0,
            ..Default::default()
        };
        for (i, (from, fee, moves)) in txs.iter().enumerate() {
            let mut th = h;
            th[31] = i as u8 + 1;
            b.txs.push(NewTx {
                hash: B256::from(th),
                from: addr(*from),
                to: moves.first().map(|m| addr(m.2)),
                created: None,
                value: U256::ZERO,
                status: TxStatus::Success,
                gas: 21000,
                fee: *fee as u128,
            });
            for &(asset, f, t, v) in moves {
                b.transfers.push(NewTransfer {
                    tx: Some(i as u32),
                    asset: if asset == 0 {
                        AssetRef::Native
                    } else {
                        AssetRef::Token(addr(TOKEN))
                    },
                    from: addr(f),
                    to: addr(t),
                    amount: U256::from(v),
                    kind: if asset == 0 {
                        TransferKind::Call
                    } else {
                        TransferKind::Erc20
                    },
                });
            }
        }
        b.tokens.push((
            addr(TOKEN),
            TokenMeta {
                symbol: Some("USDT".into()),
                decimals: Some(6),
            },
        ));
        parent = b.hash;
        w.append(&b).unwrap();
    }
    w.commit().unwrap();
    drop(w);
    let s = EvmStore::open(d.path()).unwrap();
    (d, s)
}

fn label(s: &EvmStore, l: &mut Labels, who: u8, role: Role, text: &str) {
    l.add(
        s.account(&addr(who)).unwrap(),
        Label {
            role: Some(role),
            text: text.into(),
            source: LabelSource::Tag("test".into()),
        },
    );
}

const HOT1: u8 = 1;
const THIEF: u8 = 2;
const A: u8 = 3;
const B: u8 = 4;
const MIXER: u8 = 5;
const DEX: u8 = 6;
const HOT2: u8 = 7;
const DEP2: u8 = 8;
const CLEAN: u8 = 9;

fn scenario() -> (tempfile::TempDir, EvmStore, Labels) {
    let (d, s) = build(&[
        vec![(CLEAN, 0, vec![(0, CLEAN, HOT1, 500)])],
        vec![(HOT1, 0, vec![(0, HOT1, THIEF, 100)])],
        vec![
            (THIEF, 0, vec![(0, THIEF, A, 60)]),
            (THIEF, 0, vec![(0, THIEF, B, 40)]),
        ],
        vec![(A, 0, vec![(0, A, MIXER, 10)])],
        vec![(B, 0, vec![(0, B, DEX, 40), (1, DEX, B, 80_000)])],
        vec![
            (B, 0, vec![(1, B, DEP2, 80_000)]),
            (DEP2, 0, vec![(1, DEP2, HOT2, 80_000)]),
        ],
        vec![
            (CLEAN, 0, vec![(0, CLEAN, A, 50)]),
            (A, 0, vec![(0, A, HOT2, 30)]),
        ],
    ]);
    let mut l = Labels::default();
    label(&s, &mut l, HOT1, Role::Exchange, "Exchange One");
    label(&s, &mut l, HOT2, Role::Exchange, "Exchange Two");
    label(&s, &mut l, MIXER, Role::Mixer, "Mixer pool");
    label(&s, &mut l, DEX, Role::Dex, "Router");
    (d, s, l)
}

fn acc(s: &EvmStore, i: u8) -> AccountId {
    s.account(&addr(i)).unwrap()
}

#[test]
fn deposit_address_is_found_and_joins_its_exchange() {
    let (_d, s, mut l) = scenario();
    let hits = detect_deposits(&s, &mut l, 1);
    assert_eq!(
        hits,
        vec![DepositHit {
            deposit: acc(&s, DEP2),
            hot_wallet: acc(&s, HOT2),
            forwards: 1
        }]
    );
    assert_eq!(l.service(acc(&s, DEP2)), Some(Role::Exchange));
    // The thief, hops and the clean funder are not deposit addresses (they
    // pay others too, or nobody but the exchange funded them).
    assert_eq!(l.service(acc(&s, A)), None);
    assert_eq!(l.service(acc(&s, CLEAN)), None);
}

/// (first address byte, asset, amount) rows.
type Rows = Vec<(u8, u32, u64)>;

fn amounts(s: &EvmStore, r: &TraceResult) -> (Rows, Rows) {
    let name = |a: AccountId| s.address(a).0[0];
    let mut h: Vec<_> = r
        .holdings
        .iter()
        .map(|(a, x, v)| (name(*a), x.0, v.to::<u64>()))
        .collect();
    let mut ab: Vec<_> = r
        .absorbed
        .iter()
        .map(|(a, x, _, v)| (name(*a), x.0, v.to::<u64>()))
        .collect();
    h.sort();
    ab.sort();
    (h, ab)
}

#[test]
fn the_hack_traced_with_haircut_and_fifo() {
    let (_d, s, mut l) = scenario();
    detect_deposits(&s, &mut l, 1);
    let theft = s.tx_by_hash(&s.txs()[1].hash).unwrap();
    assert_eq!(s.tx(theft).from, acc(&s, HOT1).0);
    for (model, a_held, hot2_eth) in [(Model::Haircut, 35, 15), (Model::Fifo, 20, 30)] {
        let cfg = TraceConfig {
            model,
            ..Default::default()
        };
        let r = trace(&s, &l, &[Seed::Tx(theft)], &cfg);
        let (held, absorbed) = amounts(&s, &r);
        assert_eq!(held, vec![(A, 0, a_held)], "{model:?}");
        assert_eq!(
            absorbed,
            vec![(MIXER, 0, 10), (HOT2, 0, hot2_eth), (DEP2, 1, 80_000)],
            "{model:?}"
        );
        let eth = &r.totals[&AssetId::NATIVE];
        assert_eq!(eth.seeded, U256::from(100));
        assert_eq!(eth.swapped_out, U256::from(40));
        assert_eq!(r.totals[&AssetId(1)].swapped_in, U256::from(80_000));
        check_conservation(&r);
    }
    // Without swaps, the DEX is a service like any other: the 40 ETH stop there.
    let cfg = TraceConfig {
        follow_swaps: false,
        ..Default::default()
    };
    let r = trace(&s, &l, &[Seed::Tx(theft)], &cfg);
    assert!(r
        .absorbed
        .iter()
        .any(|(a, _, role, v)| *a == acc(&s, DEX) && *role == Role::Dex && *v == U256::from(40)));
    assert!(!r.totals.contains_key(&AssetId(1)));
}

#[test]
fn exposure_of_an_exchange_to_theft() {
    let (_d, s, mut l) = scenario();
    label(&s, &mut l, THIEF, Role::Theft, "Hacker");
    let e = exposure(
        &s,
        &l,
        acc(&s, HOT2),
        &[Role::Theft, Role::Mixer],
        Model::Haircut,
    );
    assert_eq!(
        e.indirect.get(&(Role::Theft, AssetId::NATIVE)),
        Some(&U256::from(15))
    );
    assert!(e.direct.is_empty());
    assert!(!e.indirect.contains_key(&(Role::Mixer, AssetId::NATIVE)));
}

fn check_conservation(r: &TraceResult) {
    for (asset, t) in &r.totals {
        assert_eq!(
            t.seeded + t.swapped_in,
            t.held + t.absorbed + t.fees + t.returned + t.swapped_out,
            "asset {asset:?}: {t:?}"
        );
    }
    let held: U256 = r.holdings.iter().fold(U256::ZERO, |s, h| s + h.2);
    let total_held = r.totals.values().fold(U256::ZERO, |s, t| s + t.held);
    assert_eq!(held, total_held);
}

fn arb_blocks() -> impl Strategy<Value = Vec<Vec<Tx>>> {
    let mv = (0u8..2, 1u8..9, 1u8..9, 0u64..1_000_000_000_000u64);
    let tx = (1u8..9, 0u64..1000, proptest::collection::vec(mv, 1..4));
    proptest::collection::vec(proptest::collection::vec(tx, 1..4), 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Taint is conserved: per asset, what the seeds introduced (plus what
    /// swaps carried in) is exactly what accounts hold, services absorbed,
    /// fees burnt, seeds got back and swaps carried out, under both models;
    /// no account holds more taint than its balance.
    #[test]
    fn taint_is_conserved(blocks in arb_blocks(), seed_acc in 1u8..9, seed_tx in 0usize..20, services in proptest::collection::vec((1u8..9, 0usize..4), 0..3)) {
        let (_d, s) = build(&blocks);
        let mut l = Labels::default();
        for (who, r) in services {
            if let Some(a) = s.account(&addr(who)) {
                let role = [Role::Exchange, Role::Mixer, Role::Dex, Role::Bridge][r];
                l.add(a, Label { role: Some(role), text: "x".into(), source: LabelSource::Tag("t".into()) });
            }
        }
        let mut seeds = vec![];
        if let Some(a) = s.account(&addr(seed_acc)) { seeds.push(Seed::Account(a)); }
        if seed_tx < s.txs().len() { seeds.push(Seed::Tx(crate::TxId(seed_tx as u64))); }
        for model in [Model::Haircut, Model::Fifo] {
            let r = trace(&s, &l, &seeds, &TraceConfig { model, ..Default::default() });
            for (asset, t) in &r.totals {
                prop_assert_eq!(t.seeded + t.swapped_in, t.held + t.absorbed + t.fees + t.returned + t.swapped_out, "{:?} {:?}", asset, model);
            }
            // Taint held never exceeds what an account could hold: the sum
            // of its incoming transfers.
            for (a, asset, v) in &r.holdings {
                let inflow = s.incoming(*a).map(|t| s.transfer(t)).filter(|t| t.asset == asset.0).fold(U256::ZERO, |x, t| x + t.amount);
                prop_assert!(*v <= inflow);
            }
            // With nothing seeded nothing is tainted.
            let none = trace(&s, &l, &[], &TraceConfig { model, ..Default::default() });
            prop_assert!(none.holdings.is_empty() && none.edge_count == 0);
        }
    }
}
