//! Accuracy against ground truth (simulated chains): pairwise precision and
//! recall, per-entity address recall, per-heuristic link precision,
//! CoinJoin-induced merges and CoinJoin detection.
//!
//! Definitions (addresses without a known owner are left out):
//!
//! * **Pairwise precision**: of the address pairs put in one cluster, the
//!   share that one entity owns.
//! * **Recall** over the pairs common-input ownership can link at all: an
//!   oracle joins the input addresses of every transaction that is not a
//!   true CoinJoin (those it can never apply to); recall is the share of
//!   the oracle's pairs that the clusters also join. A second, stricter
//!   figure also lets the oracle join each CoinJoin participant's own
//!   inputs (what refusing CoinJoins costs).
//! * **Address recall of an entity**: the share of its addresses held by
//!   the cluster holding most of them (Harrigan and Fretter 2016; Nick 2015
//!   reports 68.59 % for real wallets with multi-input clustering). Purity
//!   is that cluster's share of addresses the entity owns.

use std::collections::{HashMap, HashSet};

use chainhound_store::{Store, UNRESOLVED};
use chainhound_types::TxNum;

use crate::clusters::Link;
use crate::coinjoin::TxClass;
use crate::config::Heuristic;
use crate::unionfind::UnionFind;

/// Owner of an address nobody in the truth owns.
pub const NO_OWNER: u32 = u32::MAX;

/// A ground-truth CoinJoin-related transaction.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TruthMix {
    /// A Whirlpool tx0 (single owner; not a CoinJoin).
    WhirlpoolTx0,
    /// A Whirlpool mix.
    Whirlpool,
    /// A Wasabi 1.x round.
    Wasabi1,
    /// A Wasabi 2.x round.
    Wasabi2,
}

impl TruthMix {
    /// Name for tables.
    pub fn name(self) -> &'static str {
        match self {
            TruthMix::WhirlpoolTx0 => "whirlpool_tx0",
            TruthMix::Whirlpool => "whirlpool",
            TruthMix::Wasabi1 => "wasabi1",
            TruthMix::Wasabi2 => "wasabi2",
        }
    }
}

/// What a truth entity is, as far as the evaluation cares.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum TruthKind {
    /// A custodial exchange.
    Exchange,
    /// The attacker.
    Thief,
    /// Anyone else.
    Other,
}

/// One truth entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TruthEntity {
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: TruthKind,
}

/// The ground truth, in the store's ids.
#[derive(Clone, Debug, Default)]
pub struct GroundTruth {
    /// Owning entity of each address id ([`NO_OWNER`] if unknown).
    pub owner: Vec<u32>,
    /// The entities, by id.
    pub entities: Vec<TruthEntity>,
    /// CoinJoins and tx0s.
    pub mixes: Vec<(TxNum, TruthMix)>,
}

/// Address recall of one entity.
#[derive(Clone, Debug, PartialEq)]
pub struct EntityRecall {
    /// Truth entity id.
    pub entity: u32,
    /// Its name.
    pub name: String,
    /// Its addresses in the store.
    pub addresses: u64,
    /// Clusters they are spread over.
    pub clusters: u64,
    /// Of them, in the cluster holding most.
    pub largest: u64,
    /// `largest / addresses`.
    pub recall: f64,
    /// Owned addresses in that cluster.
    pub cluster_size: u64,
    /// `largest / cluster_size`.
    pub purity: f64,
    /// Its addresses joined to at least one other of its addresses.
    pub linked: u64,
}

/// Precision of the unions one heuristic made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkScore {
    /// The heuristic.
    pub heuristic: Heuristic,
    /// Unions recorded.
    pub links: u64,
    /// Of which joined two addresses of one owner.
    pub correct: u64,
    /// Unions touching an address of the thief.
    pub thief_links: u64,
    /// Of which joined two thief addresses.
    pub thief_correct: u64,
}

/// CoinJoin detection against the truth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DetectionScore {
    /// True CoinJoins flagged as CoinJoins.
    pub true_pos: u64,
    /// Flagged CoinJoins that are not.
    pub false_pos: u64,
    /// True CoinJoins missed.
    pub false_neg: u64,
    /// `true_pos / (true_pos + false_pos)`.
    pub precision: f64,
    /// `true_pos / (true_pos + false_neg)`.
    pub recall: f64,
    /// Transactions classified correctly (CoinJoin or not) over all.
    pub accuracy: f64,
    /// Truth tx0s with two or more inputs flagged as tx0s (a tx0 with one
    /// input needs no decision: there is nothing to join or not to join).
    pub tx0_true_pos: u64,
    /// Truth tx0s with two or more inputs not flagged as tx0s.
    pub tx0_missed: u64,
    /// Flagged tx0s that are not.
    pub tx0_false_pos: u64,
    /// Truth tx0s flagged as CoinJoins (they would lose their links).
    pub tx0_as_coinjoin: u64,
    /// (truth kind, predicted class, count) over every truth or flagged tx
    /// (single-input tx0s left out).
    pub confusion: Vec<(String, String, u64)>,
}

/// Every figure of one evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Accuracy {
    /// Addresses with a known owner.
    pub addresses: u64,
    /// Clusters among them.
    pub clusters: u64,
    /// Truth entities among them.
    pub entities: u64,
    /// Pairs put together.
    pub pairs_predicted: u128,
    /// Of which with one owner.
    pub pairs_correct: u128,
    /// Pairwise precision.
    pub precision: f64,
    /// Pairs the oracle joins.
    pub oracle_pairs: u128,
    /// Of which the clusters join too.
    pub oracle_pairs_found: u128,
    /// Recall over the oracle's pairs (CoinJoins excluded).
    pub recall: f64,
    /// Recall over the pairs of an oracle that also joins each CoinJoin
    /// participant's own inputs.
    pub recall_with_coinjoin_inputs: f64,
    /// Clusters holding addresses of two or more owners.
    pub mixed_clusters: u64,
    /// Unions whose evidence is a true CoinJoin.
    pub coinjoin_merges: u64,
    /// Exchanges, by truth id.
    pub exchanges: Vec<EntityRecall>,
    /// The thief.
    pub thief: Vec<EntityRecall>,
    /// Per heuristic.
    pub links: Vec<LinkScore>,
    /// CoinJoin detection.
    pub detection: DetectionScore,
}

fn choose2(n: u64) -> u128 {
    u128::from(n) * u128::from(n.saturating_sub(1)) / 2
}

/// Sum of C(run, 2) over runs of equal keys (sorted), and of equal high
/// halves.
fn pair_runs(keys: &[u64]) -> (u128, u128) {
    let (mut full, mut high) = (0u128, 0u128);
    let (mut i, mut h) = (0usize, 0usize);
    while i < keys.len() {
        let mut j = i + 1;
        while j < keys.len() && keys[j] == keys[i] {
            j += 1;
        }
        full += choose2((j - i) as u64);
        i = j;
    }
    while h < keys.len() {
        let mut j = h + 1;
        while j < keys.len() && keys[j] >> 32 == keys[h] >> 32 {
            j += 1;
        }
        high += choose2((j - h) as u64);
        h = j;
    }
    (full, high)
}

fn ratio(a: u128, b: u128) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// Evaluates a clustering (`entity_ids[a]`: entity of address `a`), its
/// unions and its detections against `truth`.
pub fn evaluate(
    store: &Store,
    entity_ids: &[u32],
    links: &[Link],
    detections: &[(TxNum, TxClass)],
    truth: &GroundTruth,
) -> Accuracy {
    let owner = |a: u32| truth.owner.get(a as usize).copied().unwrap_or(NO_OWNER);
    let n = entity_ids.len().min(truth.owner.len()) as u32;
    let owned: Vec<u32> = (0..n).filter(|&a| owner(a) != NO_OWNER).collect();
    let true_cj: HashSet<TxNum> = truth
        .mixes
        .iter()
        .filter(|m| m.1 != TruthMix::WhirlpoolTx0)
        .map(|m| m.0)
        .collect();

    // Precision: sort (cluster, owner).
    let mut keys: Vec<u64> = owned
        .iter()
        .map(|&a| (u64::from(entity_ids[a as usize]) << 32) | u64::from(owner(a)))
        .collect();
    keys.sort_unstable();
    let (pairs_correct, pairs_predicted) = pair_runs(&keys);
    let mut clusters = 0u64;
    let mut mixed = 0u64;
    let mut i = 0;
    while i < keys.len() {
        let mut j = i + 1;
        let mut owners = 1;
        while j < keys.len() && keys[j] >> 32 == keys[i] >> 32 {
            if keys[j] != keys[j - 1] {
                owners += 1;
            }
            j += 1;
        }
        clusters += 1;
        mixed += u64::from(owners > 1);
        i = j;
    }
    let entities = owned
        .iter()
        .map(|&a| owner(a))
        .collect::<HashSet<u32>>()
        .len() as u64;

    // Recall: the oracle joins each transaction's inputs per true owner.
    let oracle = |skip_coinjoins: bool| {
        let mut uf = UnionFind::default();
        uf.grow(n);
        let c = store.columns();
        let mut group: Vec<(u32, u32)> = Vec::new();
        for t in 0..c.counts().txs {
            let ins = c.tx_inputs(t);
            if ins.end - ins.start < 2 || (skip_coinjoins && true_cj.contains(&TxNum(t))) {
                continue;
            }
            group.clear();
            for &p in &c.in_prevout[ins.start as usize..ins.end as usize] {
                if p < UNRESOLVED {
                    let a = c.out_addr[p as usize];
                    if a < n && owner(a) != NO_OWNER {
                        group.push((owner(a), a));
                    }
                }
            }
            group.sort_unstable();
            for w in group.windows(2) {
                if w[0].0 == w[1].0 {
                    uf.union(w[0].1, w[1].1);
                }
            }
        }
        // Same oracle set and same cluster: found; same oracle set: total.
        let mut keys: Vec<u64> = owned
            .iter()
            .map(|&a| (u64::from(uf.find(a)) << 32) | u64::from(entity_ids[a as usize]))
            .collect();
        keys.sort_unstable();
        pair_runs(&keys)
    };
    let (found, total) = oracle(true);
    let (found_cj, total_cj) = oracle(false);

    // Address recall of exchanges and the thief.
    let mut per_entity: HashMap<u32, HashMap<u32, u64>> = HashMap::new();
    let mut cluster_size: HashMap<u32, u64> = HashMap::new();
    for &a in &owned {
        let cl = entity_ids[a as usize];
        *cluster_size.entry(cl).or_default() += 1;
        let o = owner(a);
        let kind = truth.entities.get(o as usize).map(|e| e.kind);
        if matches!(kind, Some(TruthKind::Exchange | TruthKind::Thief)) {
            *per_entity.entry(o).or_default().entry(cl).or_default() += 1;
        }
    }
    let mut exchanges = Vec::new();
    let mut thief = Vec::new();
    let mut ids: Vec<u32> = per_entity.keys().copied().collect();
    ids.sort_unstable();
    for o in ids {
        let m = &per_entity[&o];
        let addresses: u64 = m.values().sum();
        let (&best, &largest) = m
            .iter()
            .max_by(|x, y| x.1.cmp(y.1).then(y.0.cmp(x.0)))
            .expect("an entity with addresses");
        let size = cluster_size[&best];
        let linked: u64 = m.values().filter(|&&n| n >= 2).sum();
        let e = &truth.entities[o as usize];
        let r = EntityRecall {
            entity: o,
            name: e.name.clone(),
            addresses,
            clusters: m.len() as u64,
            largest,
            recall: largest as f64 / addresses as f64,
            cluster_size: size,
            purity: largest as f64 / size as f64,
            linked,
        };
        match e.kind {
            TruthKind::Thief => thief.push(r),
            _ => exchanges.push(r),
        }
    }

    // Links per heuristic.
    let is_thief = |a: u32| {
        truth
            .entities
            .get(owner(a) as usize)
            .is_some_and(|e| e.kind == TruthKind::Thief)
    };
    let mut scores: Vec<LinkScore> = Vec::new();
    let mut coinjoin_merges = 0;
    for l in links {
        let (x, y) = (l.from.0, l.to.0);
        if true_cj.contains(&l.tx) {
            coinjoin_merges += 1;
        }
        let s = match scores.iter_mut().find(|s| s.heuristic == l.heuristic) {
            Some(s) => s,
            None => {
                scores.push(LinkScore {
                    heuristic: l.heuristic,
                    links: 0,
                    correct: 0,
                    thief_links: 0,
                    thief_correct: 0,
                });
                scores.last_mut().expect("just pushed")
            }
        };
        let same = owner(x) != NO_OWNER && owner(x) == owner(y);
        s.links += 1;
        s.correct += u64::from(same);
        if is_thief(x) || is_thief(y) {
            s.thief_links += 1;
            s.thief_correct += u64::from(is_thief(x) && is_thief(y));
        }
    }
    scores.sort_by_key(|s| s.heuristic);

    Accuracy {
        addresses: owned.len() as u64,
        clusters,
        entities,
        pairs_predicted,
        pairs_correct,
        precision: ratio(pairs_correct, pairs_predicted),
        oracle_pairs: total,
        oracle_pairs_found: found,
        recall: ratio(found, total),
        recall_with_coinjoin_inputs: ratio(found_cj, total_cj),
        mixed_clusters: mixed,
        coinjoin_merges,
        exchanges,
        thief,
        links: scores,
        detection: score_detection(store, detections, truth),
    }
}

fn score_detection(
    store: &Store,
    detections: &[(TxNum, TxClass)],
    truth: &GroundTruth,
) -> DetectionScore {
    let truth_of: HashMap<TxNum, TruthMix> = truth.mixes.iter().copied().collect();
    let pred_of: HashMap<TxNum, TxClass> = detections.iter().copied().collect();
    let mut s = DetectionScore::default();
    let mut confusion: HashMap<(String, String), u64> = HashMap::new();
    let mut txs: Vec<TxNum> = truth_of.keys().chain(pred_of.keys()).copied().collect();
    txs.sort_unstable();
    txs.dedup();
    let c = store.columns();
    for t in txs {
        let tr = truth_of.get(&t).copied();
        let pr = pred_of.get(&t).copied().unwrap_or(TxClass::Ordinary);
        let ins = c.tx_inputs(t.0);
        let single = ins.end - ins.start < 2;
        if single && (tr == Some(TruthMix::WhirlpoolTx0) || pr == TxClass::WhirlpoolTx0) {
            continue;
        }
        let true_cj = matches!(tr, Some(m) if m != TruthMix::WhirlpoolTx0);
        let pred_cj = matches!(pr, TxClass::CoinJoin(_));
        match (true_cj, pred_cj) {
            (true, true) => s.true_pos += 1,
            (false, true) => s.false_pos += 1,
            (true, false) => s.false_neg += 1,
            (false, false) => {}
        }
        let tr_tx0 = tr == Some(TruthMix::WhirlpoolTx0);
        let pr_tx0 = pr == TxClass::WhirlpoolTx0;
        s.tx0_true_pos += u64::from(tr_tx0 && pr_tx0);
        s.tx0_missed += u64::from(tr_tx0 && !pr_tx0);
        s.tx0_false_pos += u64::from(!tr_tx0 && pr_tx0);
        s.tx0_as_coinjoin += u64::from(tr_tx0 && pred_cj);
        let tn = tr.map_or("ordinary", TruthMix::name).to_string();
        *confusion.entry((tn, pr.name().to_string())).or_default() += 1;
    }
    let all = u64::from(store.counts().txs).max(1);
    s.precision = ratio(s.true_pos.into(), (s.true_pos + s.false_pos).into());
    s.recall = ratio(s.true_pos.into(), (s.true_pos + s.false_neg).into());
    s.accuracy = (all - s.false_pos - s.false_neg) as f64 / all as f64;
    let mut c: Vec<(String, String, u64)> =
        confusion.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    c.sort();
    s.confusion = c;
    s
}
