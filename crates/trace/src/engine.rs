//! [`Engine`]: the store, its clusters and the attribution, opened once and
//! shared; target resolution; the trace report assembled from a raw run.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use chainhound_btc::{parse_address, render, Network};
use chainhound_entities::{Clusters, EntityId, TxClass};
use chainhound_intel::TagStore;
use chainhound_store::Store;
use chainhound_types::{AddrId, IdMap, OutputId, TxNum};

use crate::attribution::Attribution;
use crate::bits::RankedBits;
use crate::error::{Result, TraceError};
use crate::graph::{StoreGraph, TxGraph};
use crate::spec::{parse_target, TargetSpec};
use crate::trace::{run, Env, Params, Raw};
use crate::types::{
    Cut, DemixJudgment, Destination, Direction, EndReason, EntityInfo, Exposure, ExposureOptions,
    Flows, Hop, MixerPass, Model, PathReport, PathRequest, Target, TraceReport, TraceRequest,
    TreeEdge,
};

/// The tracing engine over one data directory: owned, `Send + Sync`, cheap
/// to query from many threads at once (all state is read-only after
/// [`Engine::open`]).
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) clusters: Clusters,
    pub(crate) attr: Attribution,
    pub(crate) net: Network,
    /// Block time of every stored block.
    block_times: Vec<u32>,
    /// The transactions flagged as CoinJoins (a trace asks this of every
    /// transaction it visits).
    coinjoins: RankedBits,
    /// The name of each CoinJoin's kind, in transaction order.
    coinjoin_kind: Vec<&'static str>,
    /// The stop-at masks of the last few stop-at sets asked for (most
    /// traces ask for the default one): building one reads every
    /// attributed address.
    stop_masks: Mutex<Vec<StopMask>>,
}

/// A stop-at set and its [`Attribution::member_mask`].
type StopMask = (Vec<EntityId>, Arc<Vec<u64>>);

/// Stop-at masks [`Engine`] keeps.
const STOP_MASKS: usize = 8;

impl Engine {
    /// Opens `<data>/btc` (the store), its entity clusters (built by
    /// `chainhound cluster` or ingest) and, if present, the tags in
    /// `<data>/intel`, and computes the attribution.
    pub fn open(data_dir: &Path) -> Result<Engine> {
        let dir = data_dir.join("btc");
        let store = Store::open(&dir).map_err(|source| TraceError::Store {
            dir: dir.clone(),
            source: Box::new(source),
        })?;
        let clusters = Clusters::open(&store).map_err(|source| TraceError::Clusters {
            dir: dir.clone(),
            source: Box::new(source),
        })?;
        let intel = data_dir.join("intel");
        let tags = if intel.exists() {
            Some(TagStore::open(&intel).map_err(|source| TraceError::Tags {
                dir: intel.clone(),
                source: Box::new(source),
            })?)
        } else {
            None
        };
        Engine::from_parts(store, clusters, tags.as_ref())
    }

    /// An engine over already opened parts; `tags` may be absent (no
    /// attribution: every entity is unattributed).
    pub fn from_parts(store: Store, clusters: Clusters, tags: Option<&TagStore>) -> Result<Engine> {
        let net = Network::from_magic(store.network_magic())
            .ok_or_else(|| TraceError::Network(store.dir().to_path_buf()))?;
        let attr = match tags {
            Some(t) => Attribution::build(&store, &clusters, t, net),
            None => Attribution::default(),
        };
        let blocks = store.counts().blocks;
        let base = store.base_height();
        let block_times = (0..blocks)
            .map(|b| {
                store
                    .block(chainhound_types::BlockHeight(base + b))
                    .map_or(0, |i| {
                        u32::from_le_bytes(i.header[68..72].try_into().expect("4"))
                    })
            })
            .collect();
        let mut joins: Vec<(u32, &'static str)> = clusters
            .detections()
            .filter(|(t, c)| matches!(c, TxClass::CoinJoin(_)) && t.0 < store.counts().txs)
            .map(|(t, c)| (t.0, c.name()))
            .collect();
        joins.sort_unstable_by_key(|j| j.0);
        joins.dedup_by_key(|j| j.0);
        let coinjoins = RankedBits::from_increasing(
            store.counts().txs as usize,
            joins.iter().map(|j| j.0 as usize),
        );
        let coinjoin_kind = joins.into_iter().map(|j| j.1).collect();
        Ok(Engine {
            store,
            clusters,
            attr,
            net,
            block_times,
            coinjoins,
            coinjoin_kind,
            stop_masks: Mutex::new(Vec::new()),
        })
    }

    /// [`Attribution::member_mask`] of `stop`, kept for the next trace
    /// that asks for the same set.
    fn stop_mask(&self, stop: &[EntityId]) -> Arc<Vec<u64>> {
        let lock = || self.stop_masks.lock().unwrap_or_else(|e| e.into_inner());
        {
            let mut kept = lock();
            if let Some(k) = kept.iter().position(|(s, _)| s == stop) {
                // The most recent last.
                let hit = kept.remove(k);
                let mask = Arc::clone(&hit.1);
                kept.push(hit);
                return mask;
            }
        }
        // Built outside the lock (other traces go on); two traces asking
        // for the same new set at once both build it.
        let mask = Arc::new(self.attr.member_mask(stop));
        let mut kept = lock();
        if !kept.iter().any(|(s, _)| s == stop) {
            if kept.len() >= STOP_MASKS {
                kept.remove(0);
            }
            kept.push((stop.to_vec(), Arc::clone(&mask)));
        }
        mask
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clusters.
    pub fn clusters(&self) -> &Clusters {
        &self.clusters
    }

    /// The attribution computed at open.
    pub fn attribution(&self) -> &Attribution {
        &self.attr
    }

    /// The store's network.
    pub fn network(&self) -> Network {
        self.net
    }

    /// Reads a target: `txid:vout` (an output), a 64-hex-digit txid (a
    /// transaction), `e<id>` or `entity:<id>` (an entity), or an address of
    /// the store's network. Unknown transactions, outputs, addresses and
    /// entities are errors naming the input.
    pub fn resolve(&self, s: &str) -> Result<Target> {
        let bad = |why: String| TraceError::BadTarget {
            input: s.trim().to_string(),
            why,
        };
        match parse_target(s)? {
            TargetSpec::Entity(id) => {
                let e = self
                    .clusters
                    .entity(id)
                    .map_err(|_| TraceError::UnknownEntity(id))?;
                Ok(Target::Entity(e))
            }
            TargetSpec::Tx(txid) => self
                .store
                .tx_by_txid(&txid)
                .map(Target::Tx)
                .ok_or_else(|| TraceError::UnknownTx(txid.to_string())),
            TargetSpec::Output(txid, vout) => {
                let tx = self
                    .store
                    .tx_by_txid(&txid)
                    .ok_or_else(|| TraceError::UnknownTx(txid.to_string()))?;
                let outs = self.store.tx(tx).outputs;
                let n = outs.end - outs.start;
                if vout >= n {
                    return Err(TraceError::UnknownVout {
                        txid: txid.to_string(),
                        outputs: n,
                        vout,
                    });
                }
                Ok(Target::Output { tx, vout })
            }
            TargetSpec::Address(a) => {
                let key = parse_address(a, self.net).map_err(|e| bad(e.to_string()))?;
                let id = self
                    .store
                    .addr_id(&key)
                    .ok_or_else(|| TraceError::UnknownAddress(a.to_string()))?;
                Ok(Target::Address(id))
            }
        }
    }

    /// A short human form of a target.
    pub fn describe(&self, t: &Target) -> String {
        match *t {
            Target::Output { tx, vout } => format!("{}:{vout}", self.store.txid(tx)),
            Target::Tx(tx) => self.store.txid(tx).to_string(),
            Target::Address(a) => self.address(a),
            Target::Entity(e) => format!("e{}", e.0),
        }
    }

    /// The rendered address of `a`.
    pub fn address(&self, a: AddrId) -> String {
        render(&self.store.addr_key(a), self.net)
    }

    /// `txid:vout` of stored output `o`.
    pub fn outpoint(&self, o: OutputId) -> String {
        let out = self.store.output(o);
        format!("{}:{}", self.store.txid(out.tx), out.vout)
    }

    /// The entity of `a` (an address the clusters do not cover yet is its
    /// own entity).
    #[inline]
    pub fn entity_of(&self, a: AddrId) -> EntityId {
        // Attributed addresses (exchange deposits, …) without a walk of the
        // cluster table.
        match self.attr.attributed_entity(a) {
            Some(e) => e,
            None => self.clusters.entity_of(a).unwrap_or(EntityId(a.0)),
        }
    }

    /// The attribution of entity `e` (empty if untagged).
    pub fn entity_info(&self, e: EntityId) -> EntityInfo {
        self.attr.info(e)
    }

    /// Block time of transaction `t`.
    #[inline]
    pub fn tx_time(&self, t: TxNum) -> u32 {
        let c = self.store.columns();
        let b = c
            .blk_first_tx
            .partition_point(|&f| f <= t.0)
            .saturating_sub(1);
        self.block_times.get(b).copied().unwrap_or(0)
    }

    /// Block times of transactions asked for in mostly increasing order.
    pub(crate) fn clock(&self) -> Clock<'_> {
        Clock {
            first_tx: self.store.columns().blk_first_tx,
            times: &self.block_times,
            b: 0,
        }
    }

    #[inline]
    pub(crate) fn out_addr(&self, o: u32) -> AddrId {
        AddrId(self.store.columns().out_addr[o as usize])
    }

    /// One hop for output `o` carrying `amount`.
    pub(crate) fn hop(&self, g: &StoreGraph<'_>, o: u32, amount: u64) -> Hop {
        let t = g.tx_of_output(o);
        let addr = self.out_addr(o);
        Hop {
            tx: TxNum(t),
            txid: self.store.txid(TxNum(t)),
            index: o - g.outputs(t).start,
            addr,
            address: self.address(addr),
            entity: self.entity_of(addr),
            amount,
            time: self.tx_time(TxNum(t)),
        }
    }

    /// The outputs a target stands for: forward, the output, the
    /// transaction's outputs, or every output paid to the address or
    /// entity (at most `max` of them, newest first: the second value says
    /// whether the list was cut); backward the same outputs (their value
    /// is traced to its origins).
    pub(crate) fn source_outputs(&self, t: &Target, max: u64) -> Result<(Vec<u32>, bool)> {
        let g = StoreGraph::new(&self.store);
        let mut out = Vec::new();
        let mut cut = false;
        match *t {
            Target::Output { tx, vout } => out.push(g.outputs(tx.0).start + vout),
            Target::Tx(tx) => out.extend(g.outputs(tx.0)),
            Target::Address(a) => {
                for o in self.store.addr_outputs(a) {
                    if out.len() as u64 >= max {
                        cut = true;
                        break;
                    }
                    out.push(o.0);
                }
            }
            Target::Entity(e) => {
                'members: for a in self.clusters.members(e) {
                    for o in self.store.addr_outputs(a) {
                        if out.len() as u64 >= max {
                            cut = true;
                            break 'members;
                        }
                        out.push(o.0);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok((out, cut))
    }

    /// Entities whose attribution has one of `categories` (lower-case),
    /// sorted.
    pub(crate) fn entities_in(&self, categories: &[String]) -> Vec<EntityId> {
        let mut set = Vec::new();
        for c in categories {
            let c = c.trim().to_ascii_lowercase();
            if !c.is_empty() {
                set.extend(self.attr.entities_in(&c).iter().copied());
            }
        }
        set.sort_unstable();
        set.dedup();
        set
    }

    /// Follows value from `req.from` under `req.model` (see
    /// [`TraceRequest`] and `docs/tracing.md`).
    pub fn trace(&self, req: &TraceRequest) -> Result<TraceReport> {
        if req.from.is_empty() {
            return Err(TraceError::BadRequest(
                "a trace needs at least one source".into(),
            ));
        }
        let mut sources = Vec::new();
        let mut src_cut = false;
        for t in &req.from {
            let (s, c) = self.source_outputs(t, req.limits.max_sources)?;
            sources.extend(s);
            src_cut |= c;
        }
        sources.sort_unstable();
        sources.dedup();
        let demix = req.demix;
        if demix && (req.model != Model::Haircut || req.direction != Direction::Forward) {
            return Err(TraceError::BadRequest(
                "demixing applies to forward haircut traces only".into(),
            ));
        }
        let stop = self.entities_in(&req.stop_at);
        let stop_mask = self.stop_mask(&stop);
        let g = StoreGraph::new(&self.store);
        let env = StoreEnv {
            e: self,
            stop_mask: &stop_mask,
            stop_any: !stop.is_empty(),
            out_addr: g.cols.out_addr,
        };
        let params = Params {
            model: req.model,
            direction: req.direction,
            max_hops: req.max_hops,
            min_value: req.min_value,
            until: req.until,
            limits: req.limits,
            record_taint: false,
            demixed: None,
            collect_whole: demix,
            flows: req.flows,
        };
        let t0 = std::time::Instant::now();
        let mut raw = run(&g, &env, &params, &sources);
        let mut judged = crate::demix::Judged::default();
        if demix {
            let mixes: Vec<u32> = raw.mixers.iter().map(|m| m.tx).collect();
            let out_addr = g.cols.out_addr;
            judged = crate::demix::judge(
                &g,
                &env,
                &mixes,
                &raw.whole,
                |o| out_addr[o as usize],
                |a, cap| self.store.addr_outputs(AddrId(a)).take(cap).count(),
                req.limits.max_txs,
            );
            if !judged.judgments.is_empty() {
                let params = Params {
                    demixed: Some(judged.judgments.iter().map(|j| j.output).collect()),
                    collect_whole: false,
                    ..params
                };
                raw = run(&g, &env, &params, &sources);
                // Judgments in CoinJoins the second pass no longer reaches
                // moved no taint: not reported.
                let reached: HashSet<u32> = raw.mixers.iter().map(|m| m.tx).collect();
                judged.judgments.retain(|j| reached.contains(&j.coinjoin));
            }
        }
        let core = t0.elapsed();
        let mut report = self.report(&g, req, raw);
        report.demix_exhausted = judged.exhausted;
        report.demixed = judged
            .judgments
            .iter()
            .map(|j| DemixJudgment {
                output: OutputId(j.output),
                output_address: self.address(AddrId(g.cols.out_addr[j.output as usize])),
                value: g.value(j.output),
                coinjoin_kind: env.mixer(j.coinjoin).unwrap_or("coinjoin"),
                spent_by: TxNum(j.spent_by),
                shape: j.shape,
                reached: OutputId(j.reached),
                hops: j.hops,
                address: self.address(AddrId(g.cols.out_addr[j.reached as usize])),
                prior: OutputId(j.prior),
            })
            .collect();
        tracing::debug!(
            core_ms = core.as_secs_f64() * 1e3,
            report_ms = (t0.elapsed() - core).as_secs_f64() * 1e3,
            txs = report.txs_visited,
            "trace"
        );
        if src_cut && report.cut.is_none() {
            report.cut = Some(Cut {
                limit: "max_sources",
                value: req.limits.max_sources,
                at_tx: None,
                unfollowed: 0,
            });
        }
        Ok(report)
    }

    fn report(&self, g: &StoreGraph<'_>, req: &TraceRequest, raw: Raw) -> TraceReport {
        struct Agg {
            ent: EntityId,
            reason: EndReason,
            amount: u64,
            outputs: u64,
            min_hops: u32,
            max_hops: u32,
            first: u32,
            last: u32,
            /// The largest arrival, ties to the lowest output: (amount,
            /// output).
            best: (u64, u32),
        }
        let forward = req.direction == Direction::Forward;
        // Entities of the ends' addresses, each address looked up once and
        // in address order (neighbouring rows of the cluster table).
        let out_addr = g.cols.out_addr;
        let mut by_addr: Vec<u64> = raw
            .ends
            .iter()
            .enumerate()
            .map(|(k, e)| u64::from(out_addr[e.output as usize]) << 32 | k as u64)
            .collect();
        crate::radix::sort_by_key(&mut by_addr, |x| x >> 32);
        let mut ents = vec![EntityId(0); raw.ends.len()];
        let mut last: Option<(u32, EntityId)> = None;
        // Rows a few addresses ahead are fetched while one is looked up.
        const AHEAD: usize = 8;
        for (k, &x) in by_addr.iter().enumerate() {
            if let Some(&y) = by_addr.get(k + AHEAD) {
                self.clusters.prefetch(AddrId((y >> 32) as u32));
            }
            let a = (x >> 32) as u32;
            let ent = match last {
                Some((la, e)) if la == a => e,
                _ => self.entity_of(AddrId(a)),
            };
            last = Some((a, ent));
            ents[x as u32 as usize] = ent;
        }
        // Arrival times (ends of one transaction are adjacent: its time is
        // looked up once) and the flows into the ends.
        let mut end_flows: Vec<((u32, EntityId, EndReason), u64)> = Vec::new();
        let mut unspent = 0;
        let mut clock = self.clock();
        // One destination per (entity, reason), gathered through a table of
        // their slots: what each keeps is the same in any order of ends.
        let mut slot: IdMap<u64, u32> =
            IdMap::with_capacity_and_hasher(raw.ends.len() / 2, Default::default());
        let mut aggs: Vec<Agg> = Vec::new();
        for (e, &ent) in raw.ends.iter().zip(&ents) {
            let t = e.tx;
            // Forward: arrival is when the output was created. Backward:
            // when the origin output was spent into the traced flow.
            let time = clock.time(t);
            if e.reason == EndReason::Unspent {
                unspent += e.amount;
            }
            if req.flows {
                let flow_tx = if forward {
                    t
                } else {
                    g.spender(e.output).map_or(t, |i| g.tx_of_input(i))
                };
                end_flows.push(((flow_tx, ent, e.reason), e.amount));
            }
            let k = *slot
                .entry(u64::from(ent.0) << 8 | e.reason as u64)
                .or_insert_with(|| {
                    aggs.push(Agg {
                        ent,
                        reason: e.reason,
                        amount: 0,
                        outputs: 0,
                        min_hops: u32::MAX,
                        max_hops: 0,
                        first: u32::MAX,
                        last: 0,
                        best: (0, e.output),
                    });
                    (aggs.len() - 1) as u32
                });
            let a = &mut aggs[k as usize];
            a.amount += e.amount;
            a.outputs += 1;
            a.min_hops = a.min_hops.min(e.hmin);
            a.max_hops = a.max_hops.max(e.hmax);
            a.first = a.first.min(time);
            a.last = a.last.max(time);
            // Ties to the lowest output: the same whatever order the
            // propagation ended them in.
            if e.amount > a.best.0 || (e.amount == a.best.0 && e.output < a.best.1) {
                a.best = (e.amount, e.output);
            }
        }
        drop(slot);
        // Forward ends come in transaction order (but for the sources' own
        // outputs and cut items): then only each transaction's group needs
        // sorting.
        if end_flows.is_sorted_by_key(|f| f.0 .0) {
            for group in end_flows.chunk_by_mut(|a, b| a.0 .0 == b.0 .0) {
                group.sort_unstable_by_key(|f| f.0);
            }
        } else {
            end_flows.sort_unstable_by_key(|f| f.0);
        }
        end_flows.dedup_by(|next, kept| {
            let same = next.0 == kept.0;
            if same {
                kept.1 += next.1;
            }
            same
        });
        let total = raw.source_value.max(1) as f64;
        // Largest first, then by (entity, reason), which is unique, so the
        // order is total: two stable radix sorts, by (entity, reason) and
        // then by amount (most destinations share their amount with
        // others: single satoshis, equal CoinJoin outputs).
        let mut order: Vec<(u64, u32)> = aggs
            .iter()
            .enumerate()
            .map(|(k, a)| (u64::from(a.ent.0) << 8 | a.reason as u64, k as u32))
            .collect();
        crate::radix::sort_by_key(&mut order, |p| p.0);
        for p in &mut order {
            p.0 = u64::MAX - aggs[p.1 as usize].amount;
        }
        crate::radix::sort_by_key(&mut order, |p| p.0);
        let mut destinations: Vec<Destination> = Vec::with_capacity(order.len());
        for (_, k) in order {
            let a = &aggs[k as usize];
            destinations.push(Destination {
                entity: self.attr.info(a.ent),
                reason: a.reason,
                amount: a.amount,
                share: a.amount as f64 / total,
                outputs: a.outputs,
                min_hops: a.min_hops,
                max_hops: a.max_hops,
                first_time: a.first,
                last_time: a.last,
                end: OutputId(a.best.1),
                end_amount: a.best.0,
                path: Vec::new(),
            });
        }
        let tree: Vec<TreeEdge> = raw.parent;
        let mut memo = HashMap::new();
        for d in destinations.iter_mut().take(req.explain) {
            d.path = self.explain(g, &tree, d.end.0, d.end_amount, forward, &mut memo);
        }
        drop(memo);
        let mixers = raw
            .mixers
            .iter()
            .map(|m| MixerPass {
                tx: TxNum(m.tx),
                txid: self.store.txid(TxNum(m.tx)),
                kind: m.kind,
                amount_in: m.amount_in,
                amount_out: m.amount_out,
                time: clock.time(m.tx),
            })
            .collect();
        let flows = Flows {
            forward,
            txs: raw.tx_flows,
            fees: raw.fee_flows,
            ends: end_flows,
        };
        crate::trace::recycle_ends(raw.ends);
        let cut = raw.cut.as_ref().map(|c| Cut {
            limit: c.limit,
            value: c.value,
            at_tx: c.at_tx.map(|t| self.store.txid(TxNum(t))),
            unfollowed: c.unfollowed,
        });
        TraceReport {
            request: req.clone(),
            source_value: raw.source_value,
            source_outputs: raw.source_outputs,
            destinations,
            fees: raw.fees,
            below_min_value: raw.below_min,
            overlap: raw.overlap,
            unspent,
            mixers,
            demixed: Vec::new(),
            demix_exhausted: false,
            txs_visited: raw.txs_visited,
            hops_reached: raw.hops_reached,
            cut,
            flows,
            tree,
        }
    }

    /// The explanation path of an end output, in the direction value moved.
    /// Hops are memoized per output: paths share long prefixes (the trunk
    /// of a laundering), so each output's hop is built once per report.
    fn explain(
        &self,
        g: &StoreGraph<'_>,
        tree: &[TreeEdge],
        end: u32,
        amount: u64,
        forward: bool,
        memo: &mut HashMap<u32, Hop>,
    ) -> Vec<Hop> {
        let mut hops = Vec::new();
        let mut seen = HashSet::new();
        let (mut o, mut a) = (end, amount);
        loop {
            if !seen.insert(o) {
                break;
            }
            let h = memo.entry(o).or_insert_with(|| self.hop(g, o, a));
            hops.push(h.clone());
            let parent_of = |t: u32| {
                let k = tree.binary_search_by_key(&t, |e| e.tx.0).ok()?;
                Some((tree[k].from.0, tree[k].amount))
            };
            let next = if forward {
                parent_of(g.tx_of_output(o))
            } else {
                g.spender(o).and_then(|i| parent_of(g.tx_of_input(i)))
            };
            match next {
                Some(n) => (o, a) = n,
                None => break,
            }
        }
        if forward {
            hops.reverse();
        }
        hops
    }

    /// The explanation path of destination `d` of `report` (a report of
    /// this engine's store), hop by hop in the direction value moved: the
    /// same path the report gives its largest destinations, for any of
    /// them.
    pub fn explanation(&self, report: &TraceReport, d: &Destination) -> Vec<Hop> {
        let g = StoreGraph::new(&self.store);
        let forward = report.request.direction == Direction::Forward;
        self.explain(
            &g,
            &report.tree,
            d.end.0,
            d.end_amount,
            forward,
            &mut HashMap::new(),
        )
    }

    /// The shortest and the highest-value path between two targets.
    pub fn paths(&self, req: &PathRequest) -> Result<PathReport> {
        crate::paths::paths(self, req)
    }

    /// Direct and indirect exposure of `target` by category, incoming and
    /// outgoing (see [`ExposureOptions`] and `docs/tracing.md`).
    pub fn exposure(&self, target: &Target, opts: &ExposureOptions) -> Result<Exposure> {
        crate::exposure::exposure(self, target, opts)
    }

    /// Output ids of `tx` (for callers building targets).
    pub fn output_id(&self, tx: TxNum, vout: u32) -> OutputId {
        OutputId(self.store.tx(tx).outputs.start + vout)
    }
}

/// [`Engine::tx_time`] for transactions asked for in mostly increasing
/// order: the block of the previous answer is tried first.
pub(crate) struct Clock<'a> {
    first_tx: &'a [u32],
    times: &'a [u32],
    b: usize,
}

impl Clock<'_> {
    /// Block time of transaction `t` (same answer as [`Engine::tx_time`]).
    #[inline]
    pub(crate) fn time(&mut self, t: u32) -> u32 {
        let f = self.first_tx;
        let here =
            f.get(self.b).is_some_and(|&x| x <= t) && f.get(self.b + 1).is_none_or(|&x| t < x);
        if !here {
            self.b = f.partition_point(|&x| x <= t).saturating_sub(1);
        }
        self.times.get(self.b).copied().unwrap_or(0)
    }
}

/// The engine as the propagation core's environment.
struct StoreEnv<'a> {
    e: &'a Engine,
    /// The stop-at entities, as a mask over attributed addresses
    /// ([`Attribution::member_mask`]), and whether there is any.
    stop_mask: &'a [u64],
    stop_any: bool,
    out_addr: &'a [u32],
}

impl Env for StoreEnv<'_> {
    #[inline]
    fn stops(&self, o: u32) -> bool {
        self.stop_any
            && self
                .e
                .attr
                .in_mask(AddrId(self.out_addr[o as usize]), self.stop_mask)
    }
    #[inline]
    fn prefetch_stops(&self, o: u32) {
        if self.stop_any {
            if let Some(&a) = self.out_addr.get(o as usize) {
                self.e.attr.prefetch(AddrId(a));
            }
        }
    }
    #[inline]
    fn tx_time(&self, t: u32) -> u32 {
        self.e.tx_time(TxNum(t))
    }
    #[inline]
    fn mixer(&self, t: u32) -> Option<&'static str> {
        let k = self.e.coinjoins.index_of(t as usize)?;
        self.e.coinjoin_kind.get(k).copied()
    }
}
