//! Every detector on hand-built transactions of each shape, and the
//! look-alikes that must stay ordinary.

use super::*;

const P2WPKH: u8 = AddrKind::WitnessPubkeyHash as u8;
const P2PKH: u8 = AddrKind::PubkeyHash as u8;

/// A transaction with one input per entry of `ins` (value, address) and the
/// given outputs (value, kind).
fn check(ins: &[(u64, u32)], outs: &[(u64, u8)], want: TxClass) {
    let addrs: Vec<u32> = ins.iter().map(|x| x.1).collect();
    let values: Vec<u64> = ins.iter().map(|x| x.0).collect();
    let get = |i: usize| values[i];
    let outputs: Vec<OutFact> = outs
        .iter()
        .enumerate()
        .map(|(i, &(value, kind))| OutFact {
            value,
            kind,
            addr: 1000 + i as u32,
        })
        .collect();
    let tx = TxShape {
        n_inputs: ins.len(),
        in_addrs: &addrs,
        in_value: &get,
        outputs: &outputs,
    };
    let got = classify(&tx, &DetectConfig::default(), &mut Scratch::default());
    assert_eq!(got, want, "ins {ins:?} outs {outs:?}");
}

fn distinct(values: &[u64]) -> Vec<(u64, u32)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (*v, i as u32))
        .collect()
}

#[test]
fn whirlpool_tx0_is_single_owner() {
    let premix = 1_000_000 + 2_170;
    let mut outs = vec![(premix, P2WPKH); 7];
    outs.push((50_000, P2WPKH)); // coordinator fee
    outs.push((0, AddrKind::OpReturn as u8));
    outs.push((3_456_789, P2WPKH)); // change
    check(
        &distinct(&[9_000_000, 1_000_000]),
        &outs,
        TxClass::WhirlpoolTx0,
    );
    // one input, one premix
    check(
        &distinct(&[5_500_000]),
        &[
            (5_001_000, P2WPKH),
            (175_000, P2WPKH),
            (0, AddrKind::OpReturn as u8),
        ],
        TxClass::WhirlpoolTx0,
    );
    assert!(TxClass::WhirlpoolTx0.single_owner());
}

#[test]
fn whirlpool_mix_five_by_five() {
    let ins = distinct(&[1_000_000, 1_002_170, 1_000_000, 1_002_170, 1_002_000]);
    check(
        &ins,
        &[(1_000_000, P2WPKH); 5],
        TxClass::CoinJoin(CoinJoinKind::Whirlpool),
    );
    // eight participants, 0.5 BTC pool
    let ins = distinct(&[50_000_000; 8]);
    check(
        &ins,
        &[(50_000_000, P2WPKH); 8],
        TxClass::CoinJoin(CoinJoinKind::Whirlpool),
    );
    // an input far above the pool is no Whirlpool entrant; five equal
    // standard-denomination outputs from five inputs are still a mix
    let ins = distinct(&[1_000_000, 9_000_000, 1_000_000, 1_000_000, 1_000_000]);
    check(
        &ins,
        &[(1_000_000, P2WPKH); 5],
        TxClass::CoinJoin(CoinJoinKind::Wasabi2),
    );
    let ins = distinct(&[1_100_000, 9_000_000, 1_100_000, 1_100_000, 1_100_000]);
    check(
        &ins,
        &[(1_090_000, P2WPKH); 5],
        TxClass::CoinJoin(CoinJoinKind::EqualOutput),
    );
}

#[test]
fn wasabi1_round() {
    let d = 9_987_654;
    let mut outs = vec![(d, P2WPKH); 12];
    for i in 0..10 {
        outs.push((1_234_567 + i * 77_777, P2WPKH)); // change
    }
    outs.push((12 * d * 3 / 1000, P2WPKH)); // coordinator fee
    let ins: Vec<(u64, u32)> = (0..25).map(|i| (3_000_000 + i, i as u32)).collect();
    check(&ins, &outs, TxClass::CoinJoin(CoinJoinKind::Wasabi1));
}

#[test]
fn wasabi2_round() {
    let std = [
        137_438_953_472u64 >> 10,
        100_000_000,
        50_000_000,
        50_000_000,
        20_000_000,
        4_782_969,
        4_782_969,
        1_000_000,
        531_441,
        200_000,
        200_000,
        13_122,
        5_000,
    ];
    let mut outs: Vec<(u64, u8)> = std.iter().map(|v| (*v, P2WPKH)).collect();
    outs.push((123_457, P2WPKH)); // coordinator fee
    let ins: Vec<(u64, u32)> = (0..9).map(|i| (40_000_000 + i, i as u32)).collect();
    check(&ins, &outs, TxClass::CoinJoin(CoinJoinKind::Wasabi2));
    assert!(wasabi2_denominations().binary_search(&6_561).is_ok());
    assert!(wasabi2_denominations().binary_search(&4_999).is_err());
}

#[test]
fn joinmarket_and_generic_equal_output() {
    let amount = 12_345_678;
    let ins = distinct(&[20_000_000, 15_000_000, 13_000_000, 30_000_000]);
    let jm = [
        (amount, P2WPKH),
        (amount, P2WPKH),
        (amount, P2WPKH),
        (7_654_322, P2WPKH),
        (2_654_000, P2WPKH),
        (654_322, P2WPKH),
    ];
    check(&ins, &jm, TxClass::CoinJoin(CoinJoinKind::JoinMarket));
    // the taker swept: no change of its own
    check(&ins, &jm[..5], TxClass::CoinJoin(CoinJoinKind::JoinMarket));
    let ins = distinct(&[7_000_000; 6]);
    check(
        &ins,
        &[(6_999_000, P2PKH); 6],
        TxClass::CoinJoin(CoinJoinKind::EqualOutput),
    );
}

#[test]
fn look_alikes_stay_ordinary() {
    // a batch payment of equal amounts with one change output
    let ins = distinct(&[2_000_000, 2_000_000, 2_000_000]);
    check(
        &ins,
        &[
            (500_000, P2WPKH),
            (500_000, P2WPKH),
            (500_000, P2WPKH),
            (4_321_987, P2WPKH),
        ],
        TxClass::Ordinary,
    );
    // a JoinMarket shape funded from one address
    let ins = vec![(20_000_000, 5), (15_000_000, 5), (13_000_000, 5)];
    check(
        &ins,
        &[
            (9_000_000, P2WPKH),
            (9_000_000, P2WPKH),
            (9_000_000, P2WPKH),
            (1_000_000, P2WPKH),
            (2_000_000, P2WPKH),
        ],
        TxClass::Ordinary,
    );
    // equal payments to payees of mixed address types, plus change and a
    // rounded payment: the shape of JoinMarket, but no JoinMarket round
    // mixes address types
    check(
        &distinct(&[8_464, 4_025_812, 13_396_002]),
        &[
            (2_478_585, AddrKind::ScriptHash as u8),
            (2_478_585, P2WPKH),
            (2_478_585, P2WPKH),
            (5_187_107, P2WPKH),
            (2_400_000, P2WPKH),
            (2_400_000, P2PKH),
        ],
        TxClass::Ordinary,
    );
    // a tx0 whose single premix is not the largest output
    check(
        &distinct(&[9_000_000, 1_000_000]),
        &[
            (1_002_000, P2WPKH),
            (50_000, P2WPKH),
            (0, AddrKind::OpReturn as u8),
            (8_900_000, P2WPKH),
        ],
        TxClass::WhirlpoolTx0,
    );
    // consolidation, sweep, batched withdrawal, simple payment
    let many = distinct(&[100_000; 60]);
    check(&many, &[(5_999_000, P2WPKH)], TxClass::Ordinary);
    let outs: Vec<(u64, u8)> = (0..30).map(|i| (1_000_003 + i * 7_919, P2PKH)).collect();
    check(
        &distinct(&[40_000_000, 9_000_000]),
        &outs,
        TxClass::Ordinary,
    );
    check(
        &distinct(&[1_000_000]),
        &[(250_000, P2WPKH), (749_000, P2WPKH)],
        TxClass::Ordinary,
    );
    // a single-input transaction with equal outputs is a fan-out, not a mix
    check(
        &distinct(&[10_000_000]),
        &[(1_000_000, P2WPKH); 8],
        TxClass::Ordinary,
    );
}

#[test]
fn codes_round_trip() {
    for c in CoinJoinKind::ALL
        .map(TxClass::CoinJoin)
        .into_iter()
        .chain([TxClass::WhirlpoolTx0])
    {
        assert_eq!(TxClass::from_code(c.code().unwrap()), Some(c));
        assert!(!c.name().is_empty());
    }
    assert_eq!(TxClass::Ordinary.code(), None);
    assert_eq!(TxClass::from_code(0), None);
}
