//! CoinJoin demixing for `--demix` (forward haircut): which outputs of the
//! CoinJoins a first haircut pass reached are judged to be the tainted
//! inputs' owner's, each with its evidence. The second pass (the sweep with
//! [`crate::trace::Params::demixed`]) gives them the taint first.
//!
//! Invariant: an output is judged only on two independent facts, and both
//! are kept ([`Judgment`]):
//!
//! 1. **How it was spent**: by a transaction that is not a CoinJoin, either
//!    alone (its only input) or in a post-mix consolidation (at least two
//!    inputs, every one an output of a reached CoinJoin, exactly one
//!    output: coins swept to one place, not a payment with change);
//! 2. **Where it went**: from that transaction, through transactions with a
//!    single input (so the value stays together), within [`MAX_HOPS`]
//!    transactions, it reaches an address that also received *unmixed
//!    traced value* — an output the first pass traced wholly, through no
//!    CoinJoin, from the source ([`crate::trace::Raw::whole`]): the source
//!    owner's own addresses, or their deposit account at an exchange — and
//!    that is specific to that owner: at least one in [`SPECIFIC`] of the
//!    outputs that ever paid the address was such value. A shared service
//!    address (a coordinator's fee address, a hot wallet) receives from
//!    everyone and corroborates nothing. Unmixed value cannot descend from
//!    the judged coin, so the evidence is never circular.
//!
//! Other participants of a mix spend their coins the same ways; they are
//! told apart by the second fact, which is how an analyst links mixed and
//! unmixed flows of one actor (a reused deposit address). Nothing here
//! changes amounts.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::graph::{Prev, TxGraph};
use crate::trace::Env;
use crate::types::SpendShape;

/// Transactions followed from the spending one (itself included) to a
/// corroborating address.
pub(crate) const MAX_HOPS: u32 = 6;

/// An address corroborates when at most this many outputs paid it per
/// unmixed traced one (see the module's second fact).
pub(crate) const SPECIFIC: usize = 4;

/// Transactions read per corroboration search, beyond the spending one (a
/// fan-out of single-input transactions is cut there).
const MAX_VISITS: usize = 256;

/// Outputs looked at per corroboration search.
const MAX_SCAN: usize = 4_096;

/// One judged output, in graph numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Judgment {
    pub output: u32,
    pub coinjoin: u32,
    pub spent_by: u32,
    pub shape: SpendShape,
    /// The output at the corroborating address.
    pub reached: u32,
    /// Transactions from `spent_by` to `reached`'s, both counted.
    pub hops: u32,
    /// The lowest unmixed traced output at the same address.
    pub prior: u32,
}

/// What [`judge`] found.
#[derive(Debug, Default)]
pub(crate) struct Judged {
    /// By CoinJoin and output.
    pub judgments: Vec<Judgment>,
    /// The budget of transactions ran out: outputs of later CoinJoins were
    /// not judged.
    pub exhausted: bool,
}

/// The judgments over the outputs of `mixes` (the CoinJoins the first pass
/// reached). `whole` holds the unmixed traced outputs of the first pass
/// ([`crate::trace::Raw::whole`]); `addr` gives an output's address, and
/// `receipts(a, n)` the number of outputs that ever paid address `a`,
/// counted up to `n`. At most `budget` transactions are read.
pub(crate) fn judge<G: TxGraph, E: Env>(
    g: &G,
    env: &E,
    mixes: &[u32],
    whole: &HashSet<u32>,
    addr: impl Fn(u32) -> u32,
    receipts: impl Fn(u32, usize) -> usize,
    budget: u64,
) -> Judged {
    let mut mixes = mixes.to_vec();
    mixes.sort_unstable();
    mixes.dedup();
    // Per address: its lowest unmixed traced output and how many it got.
    let mut whole: Vec<u32> = whole.iter().copied().collect();
    whole.sort_unstable();
    let mut prior: HashMap<u32, (u32, usize)> = HashMap::with_capacity(whole.len());
    for &o in &whole {
        prior.entry(addr(o)).or_insert((o, 0)).1 += 1;
    }
    let mut j = Judge {
        g,
        env,
        mixed: mixes.iter().map(|&c| g.outputs(c)).collect(),
        prior,
        specific: HashMap::new(),
        addr,
        receipts,
        budget,
    };
    // Per spending transaction: its shape's verdict and the evidence.
    let mut memo: HashMap<u32, Option<(SpendShape, u32, u32)>> = HashMap::new();
    let mut out = Judged::default();
    for &c in &mixes {
        for o in g.outputs(c) {
            let Some(i) = g.spender(o) else { continue };
            let u = g.tx_of_input(i);
            let verdict = match memo.get(&u) {
                Some(v) => *v,
                None if j.budget == 0 => {
                    out.exhausted = true;
                    return out;
                }
                None => {
                    j.budget -= 1;
                    let v = j.shape(u).and_then(|shape| {
                        let (reached, hops) = j.corroborate(u)?;
                        Some((shape, reached, hops))
                    });
                    memo.insert(u, v);
                    v
                }
            };
            if let Some((shape, reached, hops)) = verdict {
                out.judgments.push(Judgment {
                    output: o,
                    coinjoin: c,
                    spent_by: u,
                    shape,
                    reached,
                    hops,
                    prior: j.prior[&(j.addr)(reached)].0,
                });
            }
        }
    }
    out
}

struct Judge<'a, G, E, A, R> {
    g: &'a G,
    env: &'a E,
    /// Outputs of the reached CoinJoins: sorted, disjoint ranges.
    mixed: Vec<Range<u32>>,
    /// Address → the lowest unmixed traced output it received, and how many.
    prior: HashMap<u32, (u32, usize)>,
    /// Whether an address of `prior` is specific (asked once each).
    specific: HashMap<u32, bool>,
    addr: A,
    receipts: R,
    /// Transactions left to read.
    budget: u64,
}

impl<G, E, A, R> Judge<'_, G, E, A, R>
where
    G: TxGraph,
    E: Env,
    A: Fn(u32) -> u32,
    R: Fn(u32, usize) -> usize,
{
    fn is_mixed(&self, o: u32) -> bool {
        let k = self.mixed.partition_point(|r| r.end <= o);
        self.mixed.get(k).is_some_and(|r| r.contains(&o))
    }

    /// The first fact: how transaction `u` spends the mixed coins it spends.
    fn shape(&self, u: u32) -> Option<SpendShape> {
        if self.env.mixer(u).is_some() {
            return None;
        }
        let g = self.g;
        let ins = g.inputs(u);
        if ins.len() == 1 {
            return Some(SpendShape::Alone);
        }
        let pure = ins
            .into_iter()
            .all(|k| matches!(g.prevout(k), Prev::Output(p) if self.is_mixed(p)));
        (pure && g.outputs(u).len() == 1).then_some(SpendShape::Consolidation)
    }

    /// The second fact: the first output at a corroborating address,
    /// breadth first from `u` through single-input transactions that are
    /// not CoinJoins, and the transactions to it (`u` the first).
    fn corroborate(&mut self, u: u32) -> Option<(u32, u32)> {
        let g = self.g;
        let mut level = vec![u];
        let mut next = Vec::new();
        let (mut visits, mut scanned) = (0, 0);
        for hop in 1..=MAX_HOPS {
            for &t in &level {
                for o in g.outputs(t) {
                    if scanned == MAX_SCAN {
                        return None;
                    }
                    scanned += 1;
                    if self.corroborates((self.addr)(o)) {
                        return Some((o, hop));
                    }
                    if hop == MAX_HOPS || visits == MAX_VISITS || self.budget == 0 {
                        continue;
                    }
                    let Some(i) = g.spender(o) else { continue };
                    let v = g.tx_of_input(i);
                    self.budget -= 1;
                    if g.inputs(v).len() == 1 && self.env.mixer(v).is_none() {
                        visits += 1;
                        next.push(v);
                    }
                }
            }
            if next.is_empty() {
                break;
            }
            std::mem::swap(&mut level, &mut next);
            next.clear();
        }
        None
    }

    /// Whether address `a` received unmixed traced value and is specific.
    fn corroborates(&mut self, a: u32) -> bool {
        let Some(&(_, n)) = self.prior.get(&a) else {
            return false;
        };
        let receipts = &self.receipts;
        *self
            .specific
            .entry(a)
            .or_insert_with(|| receipts(a, n * SPECIFIC + 1) <= n * SPECIFIC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::MemGraph;

    /// CoinJoins are the transactions listed; the address of an output is
    /// its number unless mapped.
    struct Mixes(Vec<u32>);

    impl Env for Mixes {
        fn stops(&self, _: u32) -> bool {
            false
        }
        fn tx_time(&self, t: u32) -> u32 {
            t
        }
        fn mixer(&self, t: u32) -> Option<&'static str> {
            self.0.contains(&t).then_some("test")
        }
    }

    /// A theft (tx 0, wholly traced outputs 0 and 1), a cash-out of output
    /// 1 to deposit address 100 (output 2), a CoinJoin (tx 2: output 0 and
    /// an outsider's coin in, outputs 4–7 out) and whatever `after` adds.
    fn world(after: impl FnOnce(&mut MemGraph)) -> (MemGraph, Mixes) {
        let mut g = MemGraph::default();
        g.push(&[Prev::Coinbase], &[1_000, 500]); // tx 0: outputs 0, 1
        g.push(&[Prev::Output(1)], &[490]); // tx 1: output 2 (address 100)
        let outsider = g.push(&[Prev::Coinbase], &[1_000]); // tx 2: output 3
        assert_eq!(outsider, 2);
        g.push(
            &[Prev::Output(0), Prev::Output(3)],
            &[490, 490, 490, 490], // tx 3: outputs 4, 5, 6, 7
        );
        after(&mut g);
        (g, Mixes(vec![3]))
    }

    fn addr(o: u32) -> u32 {
        match o {
            2 => 100,
            _ => o,
        }
    }

    /// [`judge`] over the world's CoinJoin, outputs 0–2 wholly traced,
    /// receipts counted in `g`.
    fn judged(g: &MemGraph, env: &Mixes, addr: impl Fn(u32) -> u32) -> Vec<Judgment> {
        judged_within(g, env, addr, u64::MAX).judgments
    }

    fn judged_within(g: &MemGraph, env: &Mixes, addr: impl Fn(u32) -> u32, budget: u64) -> Judged {
        let receipts = |a: u32, cap: usize| {
            (0..g.n_outputs())
                .filter(|&o| addr(o) == a)
                .take(cap)
                .count()
        };
        let whole = HashSet::from([0, 1, 2]);
        judge(g, env, &[3], &whole, &addr, receipts, budget)
    }

    fn run(g: &MemGraph, env: &Mixes, addr: impl Fn(u32) -> u32) -> Vec<(u32, SpendShape, u32)> {
        judged(g, env, addr)
            .into_iter()
            .map(|j| (j.output, j.shape, j.hops))
            .collect()
    }

    #[test]
    fn consolidation_to_the_same_deposit_address_is_judged() {
        // Outputs 4 and 5 consolidated (tx 4, output 8), hopped (tx 5,
        // output 9), then deposited at address 100 (tx 6, output 10).
        let (g, env) = world(|g| {
            g.push(&[Prev::Output(4), Prev::Output(5)], &[970]);
            g.push(&[Prev::Output(8)], &[960]);
            g.push(&[Prev::Output(9)], &[950]);
        });
        let at = |o: u32| if o == 10 { 100 } else { addr(o) };
        let j = judged(&g, &env, at);
        assert_eq!(j.len(), 2);
        assert_eq!(
            (j[0].output, j[0].shape, j[0].hops, j[0].reached, j[0].prior),
            (4, SpendShape::Consolidation, 3, 10, 2)
        );
        assert_eq!(j[1].output, 5);
        assert_eq!((j[1].spent_by, j[1].coinjoin), (4, 3));
    }

    #[test]
    fn a_shared_address_corroborates_nothing() {
        // Output 6 alone pays address 100 (tx 4, output 8), which also got
        // the wholly traced output 2 and `others` unrelated payments: with
        // more than SPECIFIC receipts per wholly traced one it is shared.
        for others in [SPECIFIC - 2, SPECIFIC - 1, 100] {
            let (g, env) = world(|g| {
                g.push(&[Prev::Output(6)], &[480]);
                for k in 0..others {
                    g.push(&[Prev::Coinbase], &[10 + k as u64]);
                }
            });
            let at = |o: u32| if o == 2 || o >= 8 { 100 } else { o };
            let got = run(&g, &env, at);
            if 2 + others <= SPECIFIC {
                assert_eq!(got, vec![(6, SpendShape::Alone, 1)], "{others}");
            } else {
                assert!(got.is_empty(), "{others}: {got:?}");
            }
        }
    }

    #[test]
    fn without_corroboration_nothing_is_judged() {
        // The same consolidation, but the value goes to a fresh address.
        let (g, env) = world(|g| {
            g.push(&[Prev::Output(4), Prev::Output(5)], &[970]);
            g.push(&[Prev::Output(8)], &[960]);
        });
        assert!(run(&g, &env, addr).is_empty());
    }

    #[test]
    fn a_coin_spent_alone_is_judged_when_corroborated() {
        // Output 6 alone to a peel (tx 4: outputs 8, 9); output 9 goes to
        // the thief's source address (that of output 1).
        let (g, env) = world(|g| {
            g.push(&[Prev::Output(6)], &[100, 380]);
        });
        let at = |o: u32| if o == 9 { 1 } else { addr(o) };
        assert_eq!(run(&g, &env, at), vec![(6, SpendShape::Alone, 1)]);
    }

    #[test]
    fn consolidations_with_change_or_unmixed_coins_are_not_judged() {
        // Tx 4 has two outputs (a payment and change); tx 6 merges a mixed
        // coin with an unmixed one (output 10). Both pay address 100.
        let (g, env) = world(|g| {
            g.push(&[Prev::Output(4), Prev::Output(5)], &[500, 470]); // 8, 9
            g.push(&[Prev::Coinbase], &[50]); // tx 5: output 10
            g.push(&[Prev::Output(6), Prev::Output(10)], &[530]); // tx 6: 11
        });
        let at = |o: u32| {
            if matches!(o, 8 | 9 | 11) {
                100
            } else {
                addr(o)
            }
        };
        assert!(run(&g, &env, at).is_empty());
    }

    #[test]
    fn remixes_and_long_or_merging_ways_do_not_count() {
        // Output 4 alone into a CoinJoin (tx 4) that pays address 100:
        // a remix is no spend of the owner's.
        let (g, mut env) = world(|g| {
            g.push(&[Prev::Output(4)], &[480]); // tx 4: output 8
        });
        let to_deposit = |o: u32| if o == 8 { 100 } else { addr(o) };
        assert_eq!(run(&g, &env, to_deposit), vec![(4, SpendShape::Alone, 1)]);
        env.0.push(4);
        assert!(run(&g, &env, to_deposit).is_empty());
        // Output 5 alone, then MAX_HOPS single-input hops (txs 4..).
        let (g, env) = world(|g| {
            let mut t = g.push(&[Prev::Output(5)], &[480]);
            for _ in 0..MAX_HOPS {
                let prev = g.outputs(t).start;
                t = g.push(&[Prev::Output(prev)], &[470]);
            }
        });
        let last = g.outputs(g.first_in.len() as u32 - 2).start;
        // The deposit at the end is one transaction too far.
        let far = |o: u32| if o == last { 100 } else { addr(o) };
        assert!(run(&g, &env, far).is_empty());
        // One hop nearer it counts.
        let near = |o: u32| if o == last - 1 { 100 } else { addr(o) };
        assert_eq!(run(&g, &env, near), vec![(5, SpendShape::Alone, MAX_HOPS)]);
        // A merge with other value on the way breaks the search.
        let (g, env) = world(|g| {
            g.push(&[Prev::Output(6)], &[480]); // tx 4: output 8
            g.push(&[Prev::Output(8), Prev::Coinbase], &[900]); // tx 5: 9
        });
        let merged = |o: u32| if o == 9 { 100 } else { addr(o) };
        assert!(run(&g, &env, merged).is_empty());
        // A CoinJoin on the way too.
        let (g, mut env) = world(|g| {
            g.push(&[Prev::Output(6)], &[480]); // tx 4: output 8
            g.push(&[Prev::Output(8)], &[470]); // tx 5: output 9
        });
        let via = |o: u32| if o == 9 { 100 } else { addr(o) };
        assert_eq!(run(&g, &env, via), vec![(6, SpendShape::Alone, 2)]);
        env.0.push(5);
        assert!(run(&g, &env, via).is_empty());
    }

    #[test]
    fn the_search_stops_at_its_budget() {
        // Outputs 4 and 5 spent alone, each straight to address 100.
        let (g, env) = world(|g| {
            g.push(&[Prev::Output(4)], &[480]); // tx 4: output 8
            g.push(&[Prev::Output(5)], &[480]); // tx 5: output 9
        });
        let at = |o: u32| if o == 8 || o == 9 { 100 } else { addr(o) };
        let all = judged_within(&g, &env, at, u64::MAX);
        assert_eq!(all.judgments.len(), 2);
        assert!(!all.exhausted);
        // One transaction read: the first spender only.
        let one = judged_within(&g, &env, at, 1);
        assert_eq!(one.judgments.len(), 1);
        assert!(one.exhausted);
    }
}
