//! The arithmetic of the taint models on one transaction, in integer
//! satoshis. Public so that the rules can be checked and reused; the
//! rounding rule here is the one `docs/tracing.md` states.
//!
//! **Largest-remainder apportioning** ([`apportion`]): `amount` satoshis are
//! split over slots of weight `w_k` (sum `W > 0`) as `floor(amount·w_k / W)`
//! each; the `r = amount − Σ floors` satoshis left over (fewer than the
//! number of slots) go one each to the slots with the largest remainders
//! `amount·w_k mod W`, ties to the lower slot index. Products are computed
//! in `u128`, so nothing overflows. The parts sum to `amount` exactly, no
//! part exceeds `ceil(amount·w_k / W)`, and a slot of weight 0 gets 0.
//!
//! Haircut puts the transaction's outputs in order first and the fee last,
//! so the fee loses every tie.

/// Splits `amount` over `weights` by largest remainder into `out`
/// (cleared first). With all weights 0 the parts are all 0 except the
/// first, which takes `amount` (callers never ask for that: a transaction
/// of value 0 carries no taint).
pub fn apportion(amount: u64, weights: &[u64], out: &mut Vec<u64>) {
    out.clear();
    if weights.is_empty() {
        return;
    }
    let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if total == 0 {
        out.resize(weights.len(), 0);
        out[0] = amount;
        return;
    }
    if u128::from(amount) == total {
        // Everything is tainted: each part is its weight (no rounding).
        out.extend_from_slice(weights);
        return;
    }
    if weights.len() <= SMALL {
        if let Ok(t) = u64::try_from(total) {
            largest_remainder_small(amount, t, weights, out);
            return;
        }
    }
    match u64::try_from(total) {
        Ok(t) => REMS.with_borrow_mut(|rems| largest_remainder(amount, t, weights, out, rems)),
        Err(_) => {
            WIDE.with_borrow_mut(|rems| largest_remainder_wide(amount, total, weights, out, rems))
        }
    }
}

thread_local! {
    /// Scratch of [`apportion`]: one allocation per thread, not per call.
    static REMS: std::cell::RefCell<Vec<(u64, u32)>> = const { std::cell::RefCell::new(Vec::new()) };
    static WIDE: std::cell::RefCell<Vec<(u128, usize)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// [`apportion`] when the total weight fits a u64 (every real
/// transaction: remainders are below it).
fn largest_remainder(
    amount: u64,
    total: u64,
    weights: &[u64],
    out: &mut Vec<u64>,
    rems: &mut Vec<(u64, u32)>,
) {
    rems.clear();
    let mut given: u64 = 0;
    // Equal weights (a CoinJoin's equal outputs) get equal shares: the
    // division is done once per run of them.
    let mut last: Option<(u64, u64, u64)> = None;
    for (k, &w) in weights.iter().enumerate() {
        let (q, r) = if let Some((_, q, r)) = last.filter(|l| l.0 == w) {
            (q, r)
        } else {
            let (q, r) = share(amount, w, total);
            last = Some((w, q, r));
            (q, r)
        };
        given += q;
        out.push(q);
        if r > 0 {
            rems.push((r, k as u32));
        }
    }
    give_largest(rems, (amount - given) as usize, out);
}

/// `amount·w / total` as quotient and remainder: u64 arithmetic when the
/// product fits (most amounts do), else u128. The quotient never exceeds
/// `amount` (as `w <= total`) and the remainder is below `total`.
#[inline]
fn share(amount: u64, w: u64, total: u64) -> (u64, u64) {
    match amount.checked_mul(w) {
        Some(p) => (p / total, p % total),
        None => {
            let p = u128::from(amount) * u128::from(w);
            let t = u128::from(total);
            ((p / t) as u64, (p % t) as u64)
        }
    }
}

/// Slots up to which [`largest_remainder_small`] serves.
const SMALL: usize = 16;

/// [`largest_remainder`] for a few slots (most transactions: a payment,
/// change and the fee): remainders on the stack, the largest picked by
/// plain passes.
fn largest_remainder_small(amount: u64, total: u64, weights: &[u64], out: &mut Vec<u64>) {
    let mut rems = [0u64; SMALL];
    let mut given: u64 = 0;
    for (k, &w) in weights.iter().enumerate() {
        let (q, r) = share(amount, w, total);
        given += q;
        out.push(q);
        rems[k] = r;
    }
    // Fewer satoshis are left than slots with a remainder.
    for _ in 0..amount - given {
        let mut best = 0;
        for k in 1..weights.len() {
            if rems[k] > rems[best] {
                best = k;
            }
        }
        out[best] += 1;
        rems[best] = 0;
    }
}

/// Gives one more satoshi to each of the `left` largest remainders
/// `(remainder, slot)` (ties to the lower slot): a selection, not a sort
/// (CoinJoins have hundreds of outputs).
fn give_largest<R: Ord + Copy, K: Ord + Copy + TryInto<usize>>(
    rems: &mut [(R, K)],
    left: usize,
    out: &mut [u64],
) {
    if left == 0 {
        return;
    }
    debug_assert!(left <= rems.len(), "remainders cover the rest");
    if left < rems.len() {
        rems.select_nth_unstable_by(left - 1, |x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    }
    for &(_, k) in &rems[..left] {
        if let Ok(k) = k.try_into() {
            out[k] += 1;
        }
    }
}

/// [`largest_remainder`] for a total weight beyond u64.
fn largest_remainder_wide(
    amount: u64,
    total: u128,
    weights: &[u64],
    out: &mut Vec<u64>,
    rems: &mut Vec<(u128, usize)>,
) {
    rems.clear();
    let a = u128::from(amount);
    let mut given: u128 = 0;
    for (k, &w) in weights.iter().enumerate() {
        let p = a * u128::from(w);
        let (q, r) = (p / total, p % total);
        given += q;
        out.push(q as u64);
        if r > 0 {
            rems.push((r, k));
        }
    }
    give_largest(rems, (a - given) as usize, out);
}

/// Half-open satoshi ranges `[start, end)` along a line, sorted and
/// disjoint: the tainted satoshis of one input or output under FIFO.
pub type Ranges = Vec<(u64, u64)>;

/// Total length of `r`.
pub fn ranges_len(r: &[(u64, u64)]) -> u64 {
    r.iter().map(|(a, b)| b - a).sum()
}

/// Pushes `[a, b)` onto sorted `r`, merging with the last range when they
/// touch.
pub fn ranges_push(r: &mut Ranges, a: u64, b: u64) {
    if a >= b {
        return;
    }
    if let Some(last) = r.last_mut() {
        if last.1 >= a {
            last.1 = last.1.max(b);
            return;
        }
    }
    r.push((a, b));
}

/// FIFO on one transaction: `tainted` holds the tainted ranges of the
/// transaction's input line (inputs laid end to end in input order, so
/// input `k` occupies `[Σ_{j<k} in_j, Σ_{j≤k} in_j)`), sorted. Outputs
/// are laid end to end from 0 in output order and the fee takes the rest
/// of the line. Writes each output's tainted ranges, relative to the
/// output's own start, into `outs[j]`, and returns the tainted satoshis of
/// the fee.
pub fn fifo_forward(tainted: &[(u64, u64)], out_values: &[u64], outs: &mut Vec<Ranges>) -> u64 {
    outs.clear();
    outs.resize(out_values.len(), Vec::new());
    let mut start = 0u64;
    let mut idx = 0usize; // first tainted range not wholly before this output
    for (j, &v) in out_values.iter().enumerate() {
        let end = start + v;
        while idx < tainted.len() && tainted[idx].1 <= start {
            idx += 1;
        }
        let mut k = idx;
        while k < tainted.len() && tainted[k].0 < end {
            let a = tainted[k].0.max(start);
            let b = tainted[k].1.min(end);
            ranges_push(&mut outs[j], a - start, b - start);
            k += 1;
        }
        start = end;
    }
    // The fee: everything on the line from `start` on.
    tainted
        .iter()
        .map(|&(a, b)| b.saturating_sub(a.max(start)))
        .sum()
}

/// FIFO backward on one transaction: `traced` holds the traced ranges of
/// the output line (outputs end to end in output order), sorted; the input
/// line is laid end to end in input order. Writes each input's traced
/// ranges relative to its own start into `ins[k]`. Satoshis past the input
/// line (impossible in a valid chain) are dropped, so the parts sum to the
/// traced total whenever outputs do not exceed inputs.
pub fn fifo_backward(traced: &[(u64, u64)], in_values: &[u64], ins: &mut Vec<Ranges>) {
    // Same geometry as forward: the input line plays the output line.
    let _fee_beyond = fifo_forward(traced, in_values, ins);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact_and_deterministic() {
        let mut out = Vec::new();
        apportion(10, &[1, 1, 1], &mut out);
        assert_eq!(out, vec![4, 3, 3]);
        apportion(7, &[50, 30, 20], &mut out);
        // 3.5, 2.1, 1.4 -> floors 3,2,1; remainders .5,.1,.4 -> +1 to slot 0
        assert_eq!(out, vec![4, 2, 1]);
        apportion(0, &[5, 5], &mut out);
        assert_eq!(out, vec![0, 0]);
        apportion(u64::MAX, &[u64::MAX, u64::MAX], &mut out);
        assert_eq!(
            out.iter().map(|&x| u128::from(x)).sum::<u128>(),
            u128::from(u64::MAX)
        );
        apportion(5, &[0, 3, 0], &mut out);
        assert_eq!(out, vec![0, 5, 0]);
    }

    /// Largest remainder in plain u128 arithmetic, every slot sorted: the
    /// definition [`apportion`]'s shortcuts must agree with.
    fn apportion_reference(amount: u64, weights: &[u64]) -> Vec<u64> {
        let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
        if total == 0 {
            let mut v = vec![0; weights.len()];
            if let Some(f) = v.first_mut() {
                *f = amount;
            }
            return v;
        }
        let a = u128::from(amount);
        let mut out: Vec<u64> = weights
            .iter()
            .map(|&w| (a * u128::from(w) / total) as u64)
            .collect();
        let mut rems: Vec<(u128, usize)> = weights
            .iter()
            .enumerate()
            .map(|(k, &w)| (a * u128::from(w) % total, k))
            .collect();
        rems.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
        let given: u128 = out.iter().map(|&x| u128::from(x)).sum();
        for &(_, k) in rems.iter().take((a - given) as usize) {
            out[k] += 1;
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn apportion_matches_its_definition(
            weights in proptest::collection::vec(
                proptest::prop_oneof![
                    0u64..1_000,
                    0u64..=u64::MAX / 4,
                    0u64..2_100_000_000_000_000,
                    proptest::strategy::Just(u64::MAX),
                    proptest::strategy::Just(0),
                ],
                1..40,
            ),
            share in 0u64..=1_000_000,
        ) {
            let total: u128 = weights.iter().map(|&w| u128::from(w)).sum();
            // Amounts up to the weights' total (a tainted part of the value).
            let amount = (total.min(u128::from(u64::MAX)) * u128::from(share) / 1_000_000) as u64;
            let mut out = Vec::new();
            apportion(amount, &weights, &mut out);
            proptest::prop_assert_eq!(&out, &apportion_reference(amount, &weights));
            proptest::prop_assert_eq!(out.iter().map(|&x| u128::from(x)).sum::<u128>(), u128::from(amount));
        }
    }

    #[test]
    fn fifo_forward_follows_order_and_fee_last() {
        // Inputs 5 and 5, tainted: the second input [5,10). Outputs 3, 4, fee 3.
        let mut outs = Vec::new();
        let fee = fifo_forward(&[(5, 10)], &[3, 4], &mut outs);
        assert_eq!(outs, vec![vec![], vec![(2, 4)]]);
        assert_eq!(fee, 3);
        // Tainted first input only: goes into the first output.
        let fee = fifo_forward(&[(0, 5)], &[3, 4], &mut outs);
        assert_eq!(outs, vec![vec![(0, 3)], vec![(0, 2)]]);
        assert_eq!(fee, 0);
    }

    #[test]
    fn ranges_merge() {
        let mut r = Vec::new();
        ranges_push(&mut r, 0, 2);
        ranges_push(&mut r, 2, 5);
        ranges_push(&mut r, 7, 7);
        ranges_push(&mut r, 8, 9);
        assert_eq!(r, vec![(0, 5), (8, 9)]);
        assert_eq!(ranges_len(&r), 6);
    }
}
