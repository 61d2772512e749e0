//! Requests and reports: the public vocabulary of the engine. Plain data
//! (no serde: the edge, `crates/cli` or the screening server, keeps its own
//! DTOs and converts).

use chainhound_entities::EntityId;
use chainhound_types::{AddrId, Hash32, OutputId, TxNum};

/// What a trace, path or exposure starts from (see [`crate::Engine::resolve`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// One output: `txid:vout`.
    Output {
        /// The transaction.
        tx: TxNum,
        /// Output index.
        vout: u32,
    },
    /// A whole transaction: forward, all its outputs; backward, all its
    /// inputs.
    Tx(TxNum),
    /// An address: forward, every output paid to it; backward, where those
    /// outputs' value came from.
    Address(AddrId),
    /// An entity (cluster): as an address, over every member.
    Entity(EntityId),
}

/// A named taint model (`docs/tracing.md` states each precisely).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Model {
    /// Every output of a transaction with a tainted input is fully tainted.
    /// Over-approximates; no conservation.
    Poison,
    /// Each output carries the tainted fraction of its transaction's input
    /// value; the fee takes its proportional share. Conserves value to the
    /// satoshi (largest-remainder rounding).
    #[default]
    Haircut,
    /// First in, first out: satoshis keep their order along inputs and
    /// outputs, the fee comes last (Clayton's rule). Conserves value.
    Fifo,
}

impl Model {
    /// Lower-case name (`poison`, `haircut`, `fifo`).
    pub fn name(self) -> &'static str {
        match self {
            Model::Poison => "poison",
            Model::Haircut => "haircut",
            Model::Fifo => "fifo",
        }
    }
}

/// Which way value is followed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum Direction {
    /// Where the value went.
    #[default]
    Forward,
    /// Where the value came from.
    Backward,
}

/// Bounds that keep any trace finite and small. Hitting one is never an
/// error: the report says what was cut, where, and how much value that
/// left unfollowed ([`Cut`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Transactions the trace may visit (default 2,000,000).
    pub max_txs: u64,
    /// Transactions waiting to be visited at once (default 1,000,000).
    pub max_frontier: u64,
    /// Starting outputs taken from an address or entity (default 100,000);
    /// an exchange's hot wallet with millions of outputs is cut here.
    pub max_sources: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_txs: 2_000_000,
            max_frontier: 1_000_000,
            max_sources: 100_000,
        }
    }
}

/// A trace to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceRequest {
    /// Where to start: one or more targets (e.g. every theft transaction
    /// of an incident); their outputs are traced together.
    pub from: Vec<Target>,
    /// Forward or backward.
    pub direction: Direction,
    /// Taint model.
    pub model: Model,
    /// Transactions to follow through, counted from the start (the start's
    /// own transaction is hop 0; `None` = no limit).
    pub max_hops: Option<u32>,
    /// Tainted amounts below this are not followed (reported as
    /// `below_min_value`). 0 follows every satoshi.
    pub min_value: u64,
    /// Forward: transactions in blocks after this Unix time are not
    /// followed (the coins count as held at that time). Backward: before it.
    pub until: Option<u32>,
    /// Attribution categories that end a path (default `["exchange"]`).
    pub stop_at: Vec<String>,
    /// Size bounds.
    pub limits: Limits,
    /// Destinations (the largest first) that get an explanation path
    /// (default: all). Paths are memoized per output, but a haircut trace
    /// through CoinJoins can end in tens of thousands of dust destinations
    /// with paths of a hundred hops; a screening service may want fewer.
    pub explain: usize,
    /// Forward haircut only: inside the CoinJoins the taint reaches, give
    /// the taint first to the outputs judged to be the tainted inputs'
    /// owner's, by how they were spent and by where they went
    /// ([`TraceReport::demixed`]; a heuristic, off by default;
    /// `docs/tracing.md`).
    pub demix: bool,
    /// Also build the flow graph ([`TraceReport::flows`]: every movement
    /// between transactions, into fees and into endpoints), for GraphML and
    /// GEXF. Off by default: it is as large as the trace and only the graph
    /// exports read it.
    pub flows: bool,
}

impl TraceRequest {
    /// A forward haircut trace from `from` with the defaults.
    pub fn new(from: Target) -> TraceRequest {
        TraceRequest {
            from: vec![from],
            direction: Direction::Forward,
            model: Model::Haircut,
            max_hops: None,
            min_value: 0,
            until: None,
            stop_at: vec!["exchange".to_string()],
            limits: Limits::default(),
            explain: usize::MAX,
            demix: false,
            flows: false,
        }
    }
}

/// One hop of an explanation path: value moved by `txid` to `address`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hop {
    /// The transaction.
    pub tx: TxNum,
    /// Its id.
    pub txid: Hash32,
    /// Output index (forward) or input index (backward) the value took.
    pub index: u32,
    /// The address paid (forward) or spending (backward).
    pub addr: AddrId,
    /// Its rendered form.
    pub address: String,
    /// Its entity.
    pub entity: EntityId,
    /// Satoshis the model attributes to this hop.
    pub amount: u64,
    /// Block time of the transaction (Unix seconds).
    pub time: u32,
}

/// What an entity is, according to the imported tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntityInfo {
    /// The entity.
    pub entity: EntityId,
    /// The most frequent label or actor among its tags, if tagged.
    pub name: Option<String>,
    /// Categories (lower-case, sorted, distinct).
    pub categories: Vec<String>,
    /// Countries (as the tags spell them, sorted, distinct).
    pub countries: Vec<String>,
    /// Tagged member addresses.
    pub tagged_addresses: u32,
}

/// Why value stopped at a destination.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EndReason {
    /// Reached an entity of a `stop_at` category.
    Stop,
    /// Unspent at the tip (or at `until`): still held.
    Unspent,
    /// Spent after `until`.
    Until,
    /// Reached `max_hops`.
    MaxHops,
    /// Backward: new coins (coinbase).
    Coinbase,
    /// Backward: funding output not in the store.
    Unresolved,
    /// A limit stopped the trace here ([`Cut`]).
    Cut,
}

impl EndReason {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Stop => "stop-at",
            EndReason::Unspent => "unspent",
            EndReason::Until => "until",
            EndReason::MaxHops => "max-hops",
            EndReason::Coinbase => "coinbase",
            EndReason::Unresolved => "unresolved",
            EndReason::Cut => "cut",
        }
    }
}

/// Where traced value ended, per entity and reason.
#[derive(Clone, Debug, PartialEq)]
pub struct Destination {
    /// The entity and its attribution (unattributed entities have no
    /// name and no categories).
    pub entity: EntityInfo,
    /// Why value stopped there.
    pub reason: EndReason,
    /// Traced satoshis.
    pub amount: u64,
    /// `amount` over the traced source value.
    pub share: f64,
    /// Outputs (forward) or inputs (backward) holding it.
    pub outputs: u64,
    /// Fewest and most hops from the source.
    pub min_hops: u32,
    /// Most hops from the source.
    pub max_hops: u32,
    /// Earliest arrival (block time).
    pub first_time: u32,
    /// Latest arrival.
    pub last_time: u32,
    /// The output of the largest arrival (ties to the lowest output): where its
    /// explanation path ends (forward) or starts (backward). Every
    /// destination has one; [`crate::Engine::explanation`] expands it
    /// through [`TraceReport::tree`].
    pub end: OutputId,
    /// Satoshis the model puts on `end`.
    pub end_amount: u64,
    /// The explanation path of `end`, hop by hop, in the direction value
    /// moved; filled for the [`TraceRequest::explain`] largest
    /// destinations, empty for the others (expand those on demand).
    pub path: Vec<Hop>,
}

/// One edge of a trace's explanation tree: transaction `tx` got the most
/// traced value from output `from` (forward: an output `tx` spends;
/// backward: an output of `tx` that was traced), `amount` satoshis.
/// Following these edges from any destination's `end` reaches a source.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TreeEdge {
    /// The transaction.
    pub tx: TxNum,
    /// The output it got the most traced value from.
    pub from: OutputId,
    /// The traced satoshis on `from`.
    pub amount: u64,
}

/// A CoinJoin that traced value passed through.
#[derive(Clone, Debug, PartialEq)]
pub struct MixerPass {
    /// The transaction.
    pub tx: TxNum,
    /// Its id.
    pub txid: Hash32,
    /// The detector's name (`whirlpool`, `wasabi2`, …).
    pub kind: &'static str,
    /// Tainted satoshis entering it.
    pub amount_in: u64,
    /// Tainted satoshis leaving it in outputs.
    pub amount_out: u64,
    /// Block time.
    pub time: u32,
}

/// How a CoinJoin output judged by `--demix` was spent.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SpendShape {
    /// Alone: the only input of a transaction that is not a CoinJoin.
    Alone,
    /// In a post-mix consolidation: a transaction that is not a CoinJoin,
    /// with at least two inputs, every one an output of a CoinJoin the
    /// trace reached, and exactly one output.
    Consolidation,
}

impl SpendShape {
    /// Name for display and JSON.
    pub fn name(self) -> &'static str {
        match self {
            SpendShape::Alone => "alone",
            SpendShape::Consolidation => "consolidation",
        }
    }
}

/// A CoinJoin output that `--demix` judged to belong to the owner of the
/// tainted inputs, with the two facts behind the judgment (see
/// `docs/tracing.md`, "CoinJoin demixing").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DemixJudgment {
    /// The CoinJoin output.
    pub output: OutputId,
    /// Its address.
    pub output_address: String,
    /// Its value.
    pub value: u64,
    /// The CoinJoin's detector name.
    pub coinjoin_kind: &'static str,
    /// The transaction that spent it, and how (the first fact).
    pub spent_by: TxNum,
    /// How `spent_by` spent it.
    pub shape: SpendShape,
    /// The second fact: from `spent_by`, through transactions with a single
    /// input, value reached `reached` (an output of the `hops`-th
    /// transaction, `spent_by` being the first) at `address`, an address
    /// that also received `prior`: an output whose whole value the first
    /// pass traced to the source through no CoinJoin, with nothing
    /// untraced mixed in (and the lowest such at `address`).
    pub reached: OutputId,
    /// Transactions from `spent_by` to `reached`, both counted.
    pub hops: u32,
    /// The corroborating address.
    pub address: String,
    /// The wholly traced output at `address`.
    pub prior: OutputId,
}

/// Which limit cut a trace, and what was left unfollowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    /// The limit (`max_txs`, `max_frontier`, `max_sources`).
    pub limit: &'static str,
    /// Its value.
    pub value: u64,
    /// The first transaction not visited.
    pub at_tx: Option<Hash32>,
    /// Satoshis left unfollowed (counted under [`EndReason::Cut`]).
    pub unfollowed: u64,
}

/// One edge of the flow graph: value moving from one node to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowEdge {
    /// Source node.
    pub from: FlowNode,
    /// Target node.
    pub to: FlowNode,
    /// Satoshis.
    pub amount: u64,
}

/// The flow graph of a trace, kept in the compact form the trace found it
/// in; [`Flows::iter`] yields its edges.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flows {
    pub(crate) forward: bool,
    /// Between transactions, in the direction of value, sorted by
    /// `(to, from)`.
    pub(crate) txs: Vec<((u32, u32), u64)>,
    /// Into fees, by transaction.
    pub(crate) fees: Vec<(u32, u64)>,
    /// Between a transaction and an endpoint, sorted.
    pub(crate) ends: Vec<((u32, EntityId, EndReason), u64)>,
}

impl Flows {
    /// Edges.
    pub fn len(&self) -> usize {
        self.txs.len() + self.fees.len() + self.ends.len()
    }

    /// Whether there is no edge.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every edge: between transactions, then into fees, then to (forward)
    /// or from (backward) the endpoints.
    pub fn iter(&self) -> impl Iterator<Item = FlowEdge> + '_ {
        let txs = self.txs.iter().map(|&((a, b), amount)| FlowEdge {
            from: FlowNode::Tx(TxNum(a)),
            to: FlowNode::Tx(TxNum(b)),
            amount,
        });
        let fees = self.fees.iter().map(|&(t, amount)| FlowEdge {
            from: FlowNode::Tx(TxNum(t)),
            to: FlowNode::Fees,
            amount,
        });
        let forward = self.forward;
        let ends = self.ends.iter().map(move |&((t, ent, reason), amount)| {
            let (tx, end) = (FlowNode::Tx(TxNum(t)), FlowNode::End(ent, reason));
            let (from, to) = if forward { (tx, end) } else { (end, tx) };
            FlowEdge { from, to, amount }
        });
        txs.chain(fees).chain(ends)
    }
}

/// A node of the flow graph.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FlowNode {
    /// A transaction the trace passed through.
    Tx(TxNum),
    /// An endpoint entity (a destination).
    End(EntityId, EndReason),
    /// The fees paid to miners.
    Fees,
}

/// The answer to a [`TraceRequest`].
#[derive(Clone, Debug, PartialEq)]
pub struct TraceReport {
    /// The request, as run.
    pub request: TraceRequest,
    /// Satoshis at the start.
    pub source_value: u64,
    /// Outputs (or inputs) at the start.
    pub source_outputs: u64,
    /// Destinations, largest amount first.
    pub destinations: Vec<Destination>,
    /// Forward: tainted satoshis paid as fees.
    pub fees: u64,
    /// Tainted amounts not followed because below `min_value`.
    pub below_min_value: u64,
    /// Taint that flowed into another source output (already traced at its
    /// full value, so not counted twice).
    pub overlap: u64,
    /// Of the destinations: what is still unspent (the stockpile).
    pub unspent: u64,
    /// CoinJoins passed through, in chain order.
    pub mixers: Vec<MixerPass>,
    /// With [`TraceRequest::demix`]: the CoinJoin outputs judged to be the
    /// source owner's, by CoinJoin and output (empty otherwise, or when
    /// nothing could be judged and the trace is plain haircut).
    pub demixed: Vec<DemixJudgment>,
    /// With [`TraceRequest::demix`]: the judgment read `limits.max_txs`
    /// transactions and stopped; outputs of later CoinJoins were not
    /// judged (their taint is plain haircut).
    pub demix_exhausted: bool,
    /// Transactions visited.
    pub txs_visited: u64,
    /// Most hops reached.
    pub hops_reached: u32,
    /// Set when a limit cut the trace.
    pub cut: Option<Cut>,
    /// Value flow between transactions and endpoints (for GraphML/GEXF);
    /// empty unless [`TraceRequest::flows`] asked for it.
    pub flows: Flows,
    /// The explanation tree, one edge per visited transaction that took
    /// traced value, sorted by transaction (see [`TreeEdge`]).
    pub tree: Vec<TreeEdge>,
}

impl TraceReport {
    /// Sum over destinations, fees, the below-minimum remainder and the
    /// overlap. For haircut and FIFO this equals `source_value` exactly
    /// (conservation).
    pub fn accounted(&self) -> u64 {
        self.destinations.iter().map(|d| d.amount).sum::<u64>()
            + self.fees
            + self.below_min_value
            + self.overlap
    }
}

/// A path search between two targets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathRequest {
    /// Where value leaves.
    pub from: Target,
    /// Where it should arrive.
    pub to: Target,
    /// Most transactions on a path (default 12).
    pub max_hops: u32,
    /// Transactions the search may visit (default 200,000).
    pub max_txs: u64,
}

impl PathRequest {
    /// A request with the default bounds.
    pub fn new(from: Target, to: Target) -> PathRequest {
        PathRequest {
            from,
            to,
            max_hops: 12,
            max_txs: 200_000,
        }
    }
}

/// A path of value between two targets: each hop is one transaction and the
/// output it paid (the amount is that output's value, not a model's share).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValuePath {
    /// Hops from the source to the target.
    pub hops: Vec<Hop>,
    /// The smallest amount along the path (what could have moved all the way).
    pub bottleneck: u64,
}

/// The answer to a [`PathRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathReport {
    /// Fewest hops (ties: the earliest).
    pub shortest: Option<ValuePath>,
    /// Largest bottleneck amount within `max_hops`.
    pub highest_value: Option<ValuePath>,
    /// Transactions visited.
    pub txs_visited: u64,
    /// Set when `max_txs` stopped the search before it was exhaustive.
    pub cut: bool,
}

/// Options of an exposure computation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExposureOptions {
    /// Transactions to follow in each direction (1 = direct only; default 4).
    pub hops: u32,
    /// Transactions visited per direction before the answer is cut
    /// (default 4,000).
    pub max_txs: u64,
    /// Starting outputs taken from the target (default 2,000; the most
    /// recent first).
    pub max_sources: u64,
    /// Evidence paths kept per category (default 3).
    pub top_paths: usize,
}

impl Default for ExposureOptions {
    fn default() -> Self {
        ExposureOptions {
            hops: 4,
            max_txs: 4_000,
            max_sources: 2_000,
            top_paths: 3,
        }
    }
}

/// An evidence path of exposure: from the target to an attributed entity
/// (outgoing) or from it to the target (incoming), hop by hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidencePath {
    /// The attributed entity at the far end.
    pub counterparty: EntityId,
    /// Satoshis attributed along this path (haircut).
    pub amount: u64,
    /// Hops, in the direction value moved.
    pub hops: Vec<Hop>,
}

/// Exposure to one category, in one direction.
#[derive(Clone, Debug, PartialEq)]
pub struct CategoryExposure {
    /// The category (`exchange`, `sanctions`, `mixer`, …).
    pub category: String,
    /// Satoshis exchanged directly (one transaction).
    pub direct: u64,
    /// Satoshis through intermediaries (2 to `hops` transactions).
    pub indirect: u64,
    /// `direct` over the direction's total.
    pub direct_share: f64,
    /// `indirect` over the direction's total.
    pub indirect_share: f64,
    /// Distinct attributed entities of this category reached.
    pub entities: u32,
    /// The largest evidence paths.
    pub paths: Vec<EvidencePath>,
}

/// One direction of an exposure.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct DirectionExposure {
    /// Satoshis received (incoming) or sent to others (outgoing).
    pub total: u64,
    /// By category, largest first. An entity with several categories counts
    /// under each.
    pub categories: Vec<CategoryExposure>,
    /// Satoshis that reached no attributed entity within the hops.
    pub unattributed: u64,
    /// Transactions visited.
    pub txs_visited: u64,
    /// Set when a limit cut this direction (the amounts are lower bounds).
    pub cut: bool,
}

/// Direct and indirect exposure of an address or entity by category.
#[derive(Clone, Debug, PartialEq)]
pub struct Exposure {
    /// The target.
    pub target: Target,
    /// Its entity's attribution.
    pub entity: EntityInfo,
    /// Hops used.
    pub hops: u32,
    /// Where its coins came from.
    pub incoming: DirectionExposure,
    /// Where its coins went.
    pub outgoing: DirectionExposure,
}
