//! Change-output heuristics (all optional, off by default): which output of
//! an ordinary transaction returns to the spender. Each detector answers
//! with the index of the change output or nothing; none ever guesses between
//! two candidates.

use chainhound_types::AddrKind;

use crate::coinjoin::OutFact;
use crate::config::Heuristic;

const OP_RETURN: u8 = AddrKind::OpReturn as u8;

/// What the change detectors look at.
pub(crate) struct ChangeView<'a> {
    /// Address kind bytes of the inputs' addresses (stored inputs only).
    pub in_kinds: &'a [u8],
    /// Values of the inputs (stored inputs only).
    pub in_values: &'a [u64],
    /// Whether every input's funding output is stored (no coinbase, no
    /// unresolved input).
    pub inputs_complete: bool,
    /// The outputs.
    pub outputs: &'a [OutFact],
    /// Output id of `outputs[0]`.
    pub first_out: u32,
    /// The store's `addr_first_out` column.
    pub addr_first_out: &'a [u32],
}

/// Whether `v` is a round amount: at least 1,000 sat with at most two
/// significant digits (120,000 or 0.05 BTC, not 123,456).
pub(crate) fn is_round(v: u64) -> bool {
    if v < 1_000 {
        return false;
    }
    let mut m = v;
    while m.is_multiple_of(10) {
        m /= 10;
    }
    m < 100
}

/// The single output index among the spendable outputs for which `pick`
/// holds, if exactly one does and there are at least two outputs.
fn only(v: &ChangeView<'_>, pick: impl Fn(usize, &OutFact) -> bool) -> Option<usize> {
    let mut found = None;
    let mut candidates = 0;
    for (i, o) in v.outputs.iter().enumerate() {
        if o.kind == OP_RETURN {
            continue;
        }
        candidates += 1;
        if pick(i, o) {
            if found.is_some() {
                return None;
            }
            found = Some(i);
        }
    }
    (candidates >= 2).then_some(found).flatten()
}

/// The change output by heuristic `h` (one of the per-transaction change
/// heuristics; the peel chain is decided at the spender, see
/// `crate::engine`).
pub(crate) fn change_output(h: Heuristic, v: &ChangeView<'_>) -> Option<usize> {
    if v.in_kinds.is_empty() {
        return None;
    }
    match h {
        Heuristic::ChangeType => {
            let k = v.in_kinds[0];
            if v.in_kinds.iter().any(|x| *x != k) {
                return None;
            }
            only(v, |_, o| o.kind == k)
        }
        Heuristic::ChangeFresh => {
            let fresh = |i: usize, o: &OutFact| {
                v.addr_first_out.get(o.addr as usize) == Some(&(v.first_out + i as u32))
            };
            let i = only(v, fresh)?;
            // Every other output must go to an address seen before this tx.
            let others_seen = v.outputs.iter().enumerate().all(|(j, o)| {
                j == i
                    || o.kind == OP_RETURN
                    || v.addr_first_out
                        .get(o.addr as usize)
                        .is_some_and(|f| *f < v.first_out)
            });
            others_seen.then_some(i)
        }
        Heuristic::ChangeRound => {
            let round = v
                .outputs
                .iter()
                .filter(|o| o.kind != OP_RETURN && is_round(o.value))
                .count();
            if round == 0 {
                return None;
            }
            only(v, |_, o| !is_round(o.value))
        }
        Heuristic::ChangeOptimal => {
            if !v.inputs_complete || v.in_values.len() < 2 {
                return None;
            }
            let smallest = v.in_values.iter().copied().min()?;
            only(v, |_, o| o.value < smallest)
        }
        Heuristic::MultiInput | Heuristic::ChangePeel => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WPKH: u8 = AddrKind::WitnessPubkeyHash as u8;
    const PKH: u8 = AddrKind::PubkeyHash as u8;

    fn out(value: u64, kind: u8, addr: u32) -> OutFact {
        OutFact { value, kind, addr }
    }

    /// Addresses 0..10 were first seen at outputs 0..10; this tx's outputs
    /// start at 100; address 50 is first seen at output 100, 51 at 101.
    fn first_out() -> Vec<u32> {
        let mut v: Vec<u32> = (0..60).collect();
        v[50] = 100;
        v[51] = 101;
        v
    }

    fn view<'a>(
        kinds: &'a [u8],
        values: &'a [u64],
        outs: &'a [OutFact],
        fo: &'a [u32],
    ) -> ChangeView<'a> {
        ChangeView {
            in_kinds: kinds,
            in_values: values,
            inputs_complete: true,
            outputs: outs,
            first_out: 100,
            addr_first_out: fo,
        }
    }

    #[test]
    fn each_detector_finds_its_change_or_abstains() {
        let fo = first_out();
        // pays 0.05 BTC to an old p2pkh address, change to a fresh p2wpkh one
        let outs = [out(5_000_000, PKH, 3), out(1_234_567, WPKH, 51)];
        let v = view(&[WPKH, WPKH], &[4_000_000, 2_300_000], &outs, &fo);
        assert_eq!(change_output(Heuristic::ChangeType, &v), Some(1));
        assert_eq!(change_output(Heuristic::ChangeFresh, &v), Some(1));
        assert_eq!(change_output(Heuristic::ChangeRound, &v), Some(1));
        assert_eq!(change_output(Heuristic::ChangeOptimal, &v), Some(1));
        assert_eq!(change_output(Heuristic::MultiInput, &v), None);
        // two fresh outputs, two of the input type, no round one, both
        // smaller than every input: everyone abstains
        let outs = [out(1_111_111, WPKH, 50), out(1_234_567, WPKH, 51)];
        let v = view(&[WPKH, WPKH], &[4_000_000, 2_300_000], &outs, &fo);
        for h in Heuristic::CHANGE {
            assert_eq!(change_output(h, &v), None, "{h}");
        }
        // one output only: nothing to choose between
        let outs = [out(1_111_111, WPKH, 50), out(0, OP_RETURN, 52)];
        let v = view(&[WPKH], &[2_000_000], &outs, &fo);
        for h in Heuristic::CHANGE {
            assert_eq!(change_output(h, &v), None, "{h}");
        }
        // mixed input types: no type verdict; optimal needs every input value
        let outs = [out(5_000_000, PKH, 3), out(1_234_567, WPKH, 51)];
        let mut v = view(&[WPKH, PKH], &[4_000_000, 2_300_000], &outs, &fo);
        assert_eq!(change_output(Heuristic::ChangeType, &v), None);
        v.inputs_complete = false;
        assert_eq!(change_output(Heuristic::ChangeOptimal, &v), None);
    }

    #[test]
    fn round_amounts() {
        for v in [
            1_000,
            20_000,
            120_000,
            5_000_000,
            100_000_000,
            1_500_000_000,
        ] {
            assert!(is_round(v), "{v}");
        }
        for v in [999, 1_001, 123_456, 105_000, 99_999_999] {
            assert!(!is_round(v), "{v}");
        }
    }
}
