//! CoinJoin detection: which multi-input transactions must not join their
//! input addresses, because their inputs have many owners.
//!
//! Detectors, tried in this order on the shape of one transaction (values,
//! output script types, input count and input values):
//!
//! * **Whirlpool tx0** (Samourai): one `OP_RETURN`, one or more equal premix
//!   outputs just above a pool denomination, at most two other outputs (the
//!   coordinator fee and change). It is *not* a CoinJoin: one owner funds it,
//!   so its inputs are joined like any other's.
//! * **Whirlpool mix**: 5–8 inputs, as many outputs, every output exactly a
//!   pool denomination, every input the denomination plus at most the
//!   premix fee share.
//! * **Wasabi 2.x** (WabiSabi): many inputs and outputs, all but about one in
//!   twenty outputs in the standard denominations (1/2/5·10ⁿ, 2ⁿ, 3ⁿ, 2·3ⁿ
//!   from 5,000 sat), with some denomination repeated.
//! * **Wasabi 1.x**: at least five equal outputs of about 0.1 BTC, at least
//!   as many inputs, at most one other output per equal output plus the
//!   coordinator fee.
//! * **JoinMarket**: *c* ≥ 3 equal outputs, *c − 1* or *c* other outputs (one
//!   change per participant, the taker's possibly absent), at least *c*
//!   inputs from at least *c* distinct addresses, and every output of one
//!   script type (JoinMarket only pairs wallets of one address type).
//! * **Generic equal-output mix**: *c* ≥ 3 equal outputs of one script type,
//!   no other output or *c + 1* of them, at least *c* inputs from at least
//!   *c* distinct addresses.
//!
//! The shapes follow Stütz et al., "Adding Custom Heuristics to Blockchain
//! Analysis" (AFT 2022) and the wallets' published round formats. A batch
//! payment of equal amounts with one change output (*c* equal, one other) is
//! deliberately *not* a mix, nor is a payment of equal amounts to payees of
//! mixed address types. A false positive here costs recall only (the
//! transaction's inputs are not joined); a false negative can merge strangers,
//! so the detectors lean towards flagging.

use std::sync::OnceLock;

use chainhound_types::AddrKind;

use crate::config::DetectConfig;

/// The CoinJoin families told apart. The numbers are stored on disk.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum CoinJoinKind {
    /// Whirlpool 5×5 (up to 8×8) mix.
    Whirlpool = 1,
    /// Wasabi 1.x equal-output round.
    Wasabi1 = 2,
    /// Wasabi 2.x standard-denomination round.
    Wasabi2 = 3,
    /// JoinMarket.
    JoinMarket = 4,
    /// Any other equal-output mix.
    EqualOutput = 5,
}

impl CoinJoinKind {
    /// Every kind.
    pub const ALL: [CoinJoinKind; 5] = [
        CoinJoinKind::Whirlpool,
        CoinJoinKind::Wasabi1,
        CoinJoinKind::Wasabi2,
        CoinJoinKind::JoinMarket,
        CoinJoinKind::EqualOutput,
    ];

    /// Name for display and JSON.
    pub fn name(self) -> &'static str {
        match self {
            CoinJoinKind::Whirlpool => "whirlpool",
            CoinJoinKind::Wasabi1 => "wasabi1",
            CoinJoinKind::Wasabi2 => "wasabi2",
            CoinJoinKind::JoinMarket => "joinmarket",
            CoinJoinKind::EqualOutput => "equal-output",
        }
    }
}

/// What a transaction is, for clustering.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TxClass {
    /// One owner behind every input (as far as shapes tell).
    Ordinary,
    /// A Whirlpool tx0: single owner; it feeds a mix.
    WhirlpoolTx0,
    /// A CoinJoin: inputs of many owners; never joined.
    CoinJoin(CoinJoinKind),
}

impl TxClass {
    /// The on-disk byte of a detection (`None` for ordinary transactions).
    pub fn code(self) -> Option<u8> {
        match self {
            TxClass::Ordinary => None,
            TxClass::CoinJoin(k) => Some(k as u8),
            TxClass::WhirlpoolTx0 => Some(6),
        }
    }

    /// Decodes [`TxClass::code`].
    pub fn from_code(b: u8) -> Option<TxClass> {
        if b == 6 {
            return Some(TxClass::WhirlpoolTx0);
        }
        CoinJoinKind::ALL
            .into_iter()
            .find(|k| *k as u8 == b)
            .map(TxClass::CoinJoin)
    }

    /// Name for display and JSON.
    pub fn name(self) -> &'static str {
        match self {
            TxClass::Ordinary => "ordinary",
            TxClass::WhirlpoolTx0 => "whirlpool-tx0",
            TxClass::CoinJoin(k) => k.name(),
        }
    }

    /// Whether the inputs may be joined.
    pub fn single_owner(self) -> bool {
        !matches!(self, TxClass::CoinJoin(_))
    }
}

/// One output, as the detectors see it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutFact {
    /// Value in satoshis.
    pub value: u64,
    /// Address kind byte (`AddrKind as u8`).
    pub kind: u8,
    /// Address id.
    pub addr: u32,
}

/// The shape of one transaction.
pub struct TxShape<'a> {
    /// Inputs, coinbase and unresolved ones included.
    pub n_inputs: usize,
    /// Address ids of the inputs whose funding output is stored.
    pub in_addrs: &'a [u32],
    /// Value of the `i`-th of those inputs (called only when a detector
    /// needs it: the random reads are the expensive part).
    pub in_value: &'a dyn Fn(usize) -> u64,
    /// The outputs.
    pub outputs: &'a [OutFact],
}

/// Scratch space reused across calls.
#[derive(Default)]
pub struct Scratch {
    values: Vec<u64>,
    addrs: Vec<u32>,
}

const OP_RETURN: u8 = AddrKind::OpReturn as u8;

/// Wasabi 2's standard denominations, ascending.
pub fn wasabi2_denominations() -> &'static [u64] {
    static D: OnceLock<Vec<u64>> = OnceLock::new();
    D.get_or_init(|| {
        const MAX: u64 = 1 << 37;
        let mut v = Vec::new();
        let mut p = 1u64;
        while p <= MAX {
            v.extend([p, 2 * p, 5 * p]);
            p *= 10;
        }
        p = 1;
        while p <= MAX {
            v.push(p);
            p *= 2;
        }
        p = 1;
        while p <= MAX {
            v.extend([p, 2 * p]);
            p *= 3;
        }
        v.retain(|d| (5_000..=MAX).contains(d));
        v.sort_unstable();
        v.dedup();
        v
    })
}

fn premix_extra(cfg: &DetectConfig, denom: u64) -> u64 {
    cfg.premix_max_extra.max(denom / 100)
}

/// Classifies one transaction. Cheap for the common case (fewer than three
/// outputs, or no repeated value and no `OP_RETURN`).
pub fn classify(tx: &TxShape<'_>, cfg: &DetectConfig, s: &mut Scratch) -> TxClass {
    let outs = tx.outputs;
    if outs.len() < 2 {
        return TxClass::Ordinary;
    }
    let op_returns = outs.iter().filter(|o| o.kind == OP_RETURN).count();
    s.values.clear();
    s.values
        .extend(outs.iter().filter(|o| o.kind != OP_RETURN).map(|o| o.value));
    s.values.sort_unstable();
    let n_out = s.values.len();
    // The most common value (ties: the larger), the number of distinct
    // values, and whether some run of equal values is a tx0's premixes.
    let (mut v, mut c, mut distinct) = (0u64, 0usize, 0usize);
    let mut tx0 = false;
    let mut i = 0;
    while i < n_out {
        let mut j = i + 1;
        while j < n_out && s.values[j] == s.values[i] {
            j += 1;
        }
        distinct += 1;
        if j - i >= c {
            (v, c) = (s.values[i], j - i);
        }
        tx0 |= op_returns == 1 && is_premix_run(cfg, s.values[i], j - i, n_out);
        i = j;
    }
    if tx0 {
        return TxClass::WhirlpoolTx0;
    }
    let n_in = tx.n_inputs;
    if n_in < 2 {
        return TxClass::Ordinary;
    }
    let (lo, hi) = cfg.whirlpool_sizes;
    if op_returns == 0
        && c == n_out
        && n_out == n_in
        && (lo as usize..=hi as usize).contains(&n_out)
        && cfg.whirlpool_denoms.contains(&v)
        && tx.in_addrs.len() == n_in
        && (0..n_in).all(|k| {
            let x = (tx.in_value)(k);
            x >= v && x - v <= premix_extra(cfg, v)
        })
    {
        return TxClass::CoinJoin(CoinJoinKind::Whirlpool);
    }
    let min_io = cfg.wasabi2_min_io as usize;
    if n_in >= min_io && n_out >= min_io && distinct < n_out {
        let std = wasabi2_denominations();
        let standard = s
            .values
            .iter()
            .filter(|x| std.binary_search(x).is_ok())
            .count();
        let odd_allowed = (n_out * cfg.wasabi2_max_odd_per_20 as usize / 20).max(1);
        if standard + odd_allowed >= n_out {
            return TxClass::CoinJoin(CoinJoinKind::Wasabi2);
        }
    }
    let others = n_out - c;
    if c < 2 || n_in < c {
        return TxClass::Ordinary;
    }
    let (w_lo, w_hi) = cfg.wasabi1_window;
    if c >= cfg.wasabi1_min_equal as usize && (w_lo..=w_hi).contains(&v) && others <= c + 1 {
        return TxClass::CoinJoin(CoinJoinKind::Wasabi1);
    }
    if c < cfg.min_equal_outputs as usize || !(others == 0 || (c - 1..=c + 1).contains(&others)) {
        return TxClass::Ordinary;
    }
    // One script type: over the equal outputs (generic), over every output
    // (JoinMarket).
    let joinmarket = others == c - 1 || others == c;
    let mut kinds = outs
        .iter()
        .filter(|o| o.kind != OP_RETURN && (joinmarket || o.value == v))
        .map(|o| o.kind);
    let k0 = kinds.next();
    if kinds.any(|k| Some(k) != k0) {
        return TxClass::Ordinary;
    }
    s.addrs.clear();
    s.addrs.extend_from_slice(tx.in_addrs);
    s.addrs.sort_unstable();
    s.addrs.dedup();
    if s.addrs.len() < c {
        return TxClass::Ordinary;
    }
    if joinmarket {
        TxClass::CoinJoin(CoinJoinKind::JoinMarket)
    } else {
        TxClass::CoinJoin(CoinJoinKind::EqualOutput)
    }
}

/// Tx0: `c` outputs of value `v`, a premix value of some pool, and besides
/// them at most two outputs (the coordinator fee and change).
fn is_premix_run(cfg: &DetectConfig, v: u64, c: usize, n_out: usize) -> bool {
    c >= 1
        && n_out - c <= 2
        && cfg
            .whirlpool_denoms
            .iter()
            .any(|&d| v > d && v - d <= premix_extra(cfg, d))
}

#[cfg(test)]
mod tests;
