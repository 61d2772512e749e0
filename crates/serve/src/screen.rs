//! Screening: an address or a transfer, evaluated against the chain view,
//! the tenant's private tags and its policy. The same functions answer a
//! live request and re-evaluate a stored screening.

use std::collections::BTreeMap;

use chainhound_store::Funding;
use chainhound_types::{Hash32, InputId, OutputId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Problem;
use crate::policy::{Direction, Exposure, Level, Match, Policy};
use crate::tenant::{ChainName, PrivateTag, Subject, TenantState};
use crate::trace::{self, Indirect};
use crate::view::{ChainView, TagInfo};

/// A tag as a screening reports it.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TagView {
    /// The tagged address.
    pub address: String,
    /// Source (`ofac`, `graphsense`, a CSV import name, or `tenant` for the
    /// caller's private tags).
    pub source: String,
    /// Label.
    pub label: String,
    /// Category.
    pub category: Option<String>,
    /// Actor.
    pub actor: Option<String>,
    /// A sanctions listing.
    pub sanction: bool,
    /// The reference the source cites.
    pub reference: Option<String>,
    /// `address` (the screened address itself) or `entity` (another
    /// address of its cluster).
    pub via: String,
}

/// An entity (cluster) reference.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EntityRef {
    /// Entity id (its smallest address id).
    pub id: u32,
    /// Addresses in it.
    pub size: u32,
}

/// The answer to an address screening.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct AddressResult {
    /// Screening id (per tenant); use it with `GET /v1/screenings/{id}`.
    pub screening_id: u64,
    /// Chain.
    pub chain: ChainName,
    /// The address in its canonical spelling.
    pub address: String,
    /// Risk level under the tenant's policy.
    pub risk: Level,
    /// A sanctions listing on the address or its entity.
    pub sanctioned: bool,
    /// The address appears on the stored chain.
    pub on_chain: bool,
    /// Its entity, when the clusters cover it.
    pub entity: Option<EntityRef>,
    /// Distinct categories of its tags and its entity's.
    pub categories: Vec<String>,
    /// Tags on the address and on its entity's other addresses.
    pub tags: Vec<TagView>,
    /// What the verdict rests on.
    pub exposure: Vec<Exposure>,
    /// The policy rules that matched.
    pub matched_rules: Vec<Match>,
    /// Policy name and version.
    pub policy: String,
}

/// A counterparty of a transfer.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct Counterparty {
    /// Address.
    pub address: String,
    /// Satoshis it sent (deposit) or received (withdrawal); 0 on EVM
    /// chains (see `amount`).
    pub value_sat: u64,
    /// EVM chains: what it sent or received, in the asset's base units
    /// (decimal integer string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Share of the screened value, ppm.
    pub share_ppm: u32,
    /// Its entity.
    pub entity: Option<EntityRef>,
    /// Its tags (and its entity's).
    pub tags: Vec<TagView>,
}

/// One hop of an evidence path.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct HopView {
    /// Transaction id.
    pub txid: String,
    /// Output index (forward) or input index (backward).
    pub index: u32,
    /// Address paid or spending.
    pub address: String,
    /// Entity id.
    pub entity: u32,
    /// Satoshis attributed to this hop; 0 on EVM chains (see `amount`).
    pub amount_sat: u64,
    /// EVM chains: the hop's tainted (deposit) or whole (withdrawal) value
    /// in the asset's base units (decimal integer string).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Block time (Unix seconds).
    pub time: u32,
}

/// An evidence path behind an indirect exposure item.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct EvidenceView {
    /// Category it supports.
    pub category: String,
    /// `incoming` (value came from the category) or `outgoing`.
    pub flow: String,
    /// Entity at the far end.
    pub counterparty: u32,
    /// Satoshis along the path; 0 on EVM chains (see `amount`).
    pub amount_sat: u64,
    /// EVM chains: the value the path supports, in base units (decimal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// The hops, in the direction value moved.
    pub hops: Vec<HopView>,
}

/// Whether the indirect exposure could be computed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct IndirectStatus {
    /// `computed`, `cut` (a bound was hit: amounts are lower bounds) or
    /// `unavailable` (no tracing engine over this data).
    pub status: String,
    /// Hops followed.
    pub hops: u32,
    /// Transactions visited.
    pub txs_visited: u64,
}

/// The answer to a transfer screening.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
pub struct TransferResult {
    /// Screening id (per tenant).
    pub screening_id: u64,
    /// Chain.
    pub chain: ChainName,
    /// Asset.
    pub asset: String,
    /// Deposit or withdrawal.
    pub direction: Direction,
    /// Transaction id.
    pub txid: String,
    /// Block height of the transaction.
    pub height: u32,
    /// The screened outputs.
    pub vouts: Vec<u32>,
    /// Their value in satoshis; 0 on EVM chains (see `amount`).
    pub value_sat: u64,
    /// EVM chains: the screened transfers' value in the asset's base units
    /// (decimal integer string; wei for ETH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    /// Risk level under the tenant's policy.
    pub risk: Level,
    /// A sanctions listing among the counterparties or the exposure.
    pub sanctioned: bool,
    /// Senders (deposit) or beneficiaries (withdrawal).
    pub counterparties: Vec<Counterparty>,
    /// Exposure through the counterparties themselves (hops 0).
    pub direct_exposure: Vec<Exposure>,
    /// Exposure through intermediaries (hops ≥ 1), from the tracing engine.
    pub indirect_exposure: Vec<Exposure>,
    /// Evidence paths behind the indirect exposure.
    pub evidence: Vec<EvidenceView>,
    /// The indirect computation's status.
    pub indirect: IndirectStatus,
    /// Distinct categories behind the verdict.
    pub categories: Vec<String>,
    /// The policy rules that matched (indices into direct then indirect
    /// exposure, concatenated).
    pub matched_rules: Vec<Match>,
    /// Policy name and version.
    pub policy: String,
}

/// The private tags a screening may see, copied out of the tenant lock.
#[derive(Default)]
pub struct PrivateView {
    by_addr: BTreeMap<String, Vec<PrivateTag>>,
    by_entity: BTreeMap<u32, Vec<PrivateTag>>,
}

impl PrivateView {
    /// Collects the private tags on `addresses` and `entities`.
    pub fn collect<'a>(
        t: &TenantState,
        addresses: impl IntoIterator<Item = &'a str>,
        entities: impl IntoIterator<Item = u32>,
    ) -> PrivateView {
        let mut v = PrivateView::default();
        if t.tags.is_empty() {
            return v;
        }
        for a in addresses {
            let tags = t.private_tags_of(a);
            if !tags.is_empty() {
                v.by_addr.insert(a.to_string(), tags);
            }
        }
        for e in entities {
            let tags = t.private_tags_of_entity(e);
            if !tags.is_empty() {
                v.by_entity.insert(e, tags);
            }
        }
        v
    }
}

impl PrivateView {
    /// The private tags on exactly `address`, as screening tags.
    pub(crate) fn of_address(&self, address: &str) -> Vec<TagView> {
        self.by_addr
            .get(address)
            .into_iter()
            .flatten()
            .map(|t| private_view(t, "address"))
            .collect()
    }
}

/// A transfer's verdict from its direct and indirect exposure together.
pub(crate) struct Verdict {
    pub risk: Level,
    pub matched_rules: Vec<Match>,
    /// Any exposure, or any counterparty's tag, is a sanctions listing.
    pub sanctioned: bool,
    pub categories: Vec<String>,
}

impl Verdict {
    pub(crate) fn of(
        policy: &Policy,
        direction: Direction,
        direct: &[Exposure],
        indirect: &[Exposure],
        counterparties: &[Counterparty],
    ) -> Verdict {
        let mut all = direct.to_vec();
        all.extend_from_slice(indirect);
        let (risk, matched_rules) = policy.evaluate(direction, &all);
        let sanctioned = all.iter().any(|e| e.category == "sanction")
            || counterparties
                .iter()
                .any(|c| c.tags.iter().any(|t| t.sanction));
        Verdict {
            risk,
            matched_rules,
            sanctioned,
            categories: categories(&all),
        }
    }
}

pub(crate) fn public_view(t: &TagInfo, via: &str) -> TagView {
    TagView {
        address: t.address.clone(),
        source: t.source.clone(),
        label: t.label.clone(),
        category: t.category.clone(),
        actor: t.actor.clone(),
        sanction: t.sanction,
        reference: t.reference.clone(),
        via: via.to_string(),
    }
}

pub(crate) fn private_view(t: &PrivateTag, via: &str) -> TagView {
    TagView {
        address: t.address.clone(),
        source: "tenant".into(),
        label: t.label.clone(),
        category: Some(t.category.clone()),
        actor: None,
        sanction: t.category == "sanction",
        reference: None,
        via: via.to_string(),
    }
}

/// Every tag on `address` and its entity (the address's own first, each
/// tag once).
fn tags_of(view: &ChainView, pv: &PrivateView, address: &str, entity: Option<u32>) -> Vec<TagView> {
    let mut out = Vec::new();
    for &i in view.tags_of_address(address) {
        out.push(public_view(view.tag(i), "address"));
    }
    for t in pv.by_addr.get(address).into_iter().flatten() {
        out.push(private_view(t, "address"));
    }
    if let Some(e) = entity {
        for &i in view.tags_of_entity(chainhound_entities::EntityId(e)) {
            let t = view.tag(i);
            if t.address != address {
                out.push(public_view(t, "entity"));
            }
        }
        for t in pv.by_entity.get(&e).into_iter().flatten() {
            if t.address != address {
                out.push(private_view(t, "entity"));
            }
        }
    }
    out
}

pub(crate) fn exposure_of(
    tags: &[TagView],
    share_ppm: u32,
    value: Option<u64>,
    amount: Option<String>,
) -> Vec<Exposure> {
    tags.iter()
        .filter_map(|t| {
            let category = t.category.clone()?;
            Some(Exposure {
                category,
                share_ppm,
                hops: 0,
                value_sat: value,
                amount: amount.clone(),
                address: t.address.clone(),
                source: format!("{}: {}", t.source, t.label),
            })
        })
        .collect()
}

pub(crate) fn categories(items: &[Exposure]) -> Vec<String> {
    let mut c: Vec<String> = items.iter().map(|e| e.category.clone()).collect();
    c.sort();
    c.dedup();
    c
}

pub(crate) fn policy_name(p: &Policy) -> String {
    format!("{} v{}", p.name, p.version)
}

/// Screens a canonical address.
pub fn address(
    view: &ChainView,
    pv: &PrivateView,
    policy: &Policy,
    chain: ChainName,
    resolved: &crate::view::Resolved,
) -> AddressResult {
    let entity = resolved.entity.map(|(e, size)| EntityRef { id: e.0, size });
    let tags = tags_of(view, pv, &resolved.address, entity.as_ref().map(|e| e.id));
    let exposure = exposure_of(&tags, 1_000_000, None, None);
    let (risk, matched_rules) = policy.evaluate(Direction::Any, &exposure);
    AddressResult {
        screening_id: 0,
        chain,
        address: resolved.address.clone(),
        risk,
        sanctioned: tags.iter().any(|t| t.sanction),
        on_chain: resolved.id.is_some(),
        entity,
        categories: categories(&exposure),
        tags,
        exposure,
        matched_rules,
        policy: policy_name(policy),
    }
}

/// A transfer request resolved against the store.
pub struct ResolvedTransfer {
    /// The transaction.
    pub tx: chainhound_types::TxNum,
    /// Its id (display hex).
    pub txid: String,
    /// The screened outputs.
    pub vouts: Vec<u32>,
}

/// Finds the transaction and the screened outputs: `vout` if given, else
/// the outputs paying `address`.
pub fn resolve_transfer(
    view: &ChainView,
    txid: &str,
    vout: Option<u32>,
    address: Option<&str>,
    amount_sat: Option<u64>,
) -> Result<ResolvedTransfer, Problem> {
    let h = Hash32::from_display_hex(txid.trim())
        .map_err(|_| Problem::invalid(format!("txid must be 64 hex digits, got {txid:?}")))?;
    let store = view.store().ok_or_else(|| {
        Problem::not_found(format!(
            "transaction {txid}: this server has no Bitcoin chain data (no <data>/btc), so it screens Bitcoin addresses against the tags alone and cannot resolve transfers"
        ))
    })?;
    let tx = store
        .tx_by_txid(&h)
        .ok_or_else(|| Problem::not_found(format!("transaction {txid} is not in the store")))?;
    let info = store.tx(tx);
    let n = info.outputs.end - info.outputs.start;
    let want_addr = match address {
        Some(a) => Some(
            view.resolve(a)
                .map_err(|e| Problem::invalid(format!("address: {e}")))?,
        ),
        None => None,
    };
    let mut vouts = Vec::new();
    match (vout, &want_addr) {
        (Some(v), _) if v >= n => {
            return Err(Problem::invalid(format!(
                "vout {v} is out of range: transaction {txid} has {n} outputs"
            )))
        }
        (Some(v), Some(a)) => {
            let o = store.output(OutputId(info.outputs.start + v));
            if a.id != Some(o.addr) {
                return Err(Problem::invalid(format!(
                    "output {v} of {txid} does not pay {}",
                    a.address
                )));
            }
            vouts.push(v);
        }
        (Some(v), None) => vouts.push(v),
        (None, Some(a)) => {
            for v in 0..n {
                if Some(store.output(OutputId(info.outputs.start + v)).addr) == a.id {
                    vouts.push(v);
                }
            }
            if vouts.is_empty() {
                return Err(Problem::invalid(format!(
                    "transaction {txid} has no output paying {}",
                    a.address
                )));
            }
        }
        (None, None) => {
            return Err(Problem::invalid(
                "a transfer names its output: give vout, address or both",
            ))
        }
    }
    if let Some(want) = amount_sat {
        let got: u64 = vouts
            .iter()
            .map(|&v| store.output_value(OutputId(info.outputs.start + v)).0)
            .sum();
        if got != want {
            return Err(Problem::invalid(format!(
                "amount_sat {want} does not match the screened outputs' value {got}"
            )));
        }
    }
    Ok(ResolvedTransfer {
        tx,
        txid: info.txid.to_string(),
        vouts,
    })
}

/// The addresses a transfer screening looks at: senders for a deposit,
/// the screened outputs' addresses for a withdrawal; with the satoshis each
/// contributed.
pub fn counterparty_addrs(
    view: &ChainView,
    r: &ResolvedTransfer,
    direction: Direction,
) -> Vec<(chainhound_types::AddrId, u64)> {
    let Some(store) = view.store() else {
        return Vec::new();
    };
    let info = store.tx(r.tx);
    let mut by: BTreeMap<u32, u64> = BTreeMap::new();
    if direction == Direction::Deposit {
        for i in info.inputs.clone() {
            if let Funding::Output(o) = store.input(InputId(i)).funding {
                let out = store.output(o);
                *by.entry(out.addr.0).or_default() += out.value.0;
            }
        }
    } else {
        for &v in &r.vouts {
            let out = store.output(OutputId(info.outputs.start + v));
            *by.entry(out.addr.0).or_default() += out.value.0;
        }
    }
    by.into_iter()
        .map(|(a, v)| (chainhound_types::AddrId(a), v))
        .collect()
}

fn ppm(part: u64, total: u64) -> u32 {
    if total == 0 {
        0
    } else {
        ((u128::from(part) * 1_000_000 / u128::from(total)).min(1_000_000)) as u32
    }
}

/// Screens a resolved transfer.
pub fn transfer(
    view: &ChainView,
    pv: &PrivateView,
    policy: &Policy,
    chain: ChainName,
    asset: &str,
    direction: Direction,
    r: &ResolvedTransfer,
) -> TransferResult {
    let store = view
        .store()
        .expect("a resolved transfer comes from the view's store");
    let info = store.tx(r.tx);
    let value_sat: u64 = r
        .vouts
        .iter()
        .map(|&v| store.output_value(OutputId(info.outputs.start + v)).0)
        .sum();
    let cps = counterparty_addrs(view, r, direction);
    let cp_total: u64 = cps.iter().map(|(_, v)| v).sum();
    let mut counterparties = Vec::new();
    let mut direct = Vec::new();
    for (a, v) in &cps {
        let address = view.render(*a);
        let entity = view
            .entity_of(*a)
            .map(|(e, size)| EntityRef { id: e.0, size });
        let tags = tags_of(view, pv, &address, entity.as_ref().map(|e| e.id));
        let share = ppm(*v, cp_total);
        let exposed = u64::try_from(u128::from(value_sat) * u128::from(share) / 1_000_000)
            .unwrap_or(u64::MAX);
        direct.extend(exposure_of(&tags, share, Some(exposed), None));
        counterparties.push(Counterparty {
            address,
            value_sat: *v,
            amount: None,
            share_ppm: share,
            entity,
            tags,
        });
    }
    let Indirect {
        items: indirect,
        evidence,
        status,
    } = trace::indirect(view, r, direction, value_sat);
    let v = Verdict::of(policy, direction, &direct, &indirect, &counterparties);
    TransferResult {
        screening_id: 0,
        chain,
        asset: asset.to_string(),
        direction,
        txid: r.txid.clone(),
        height: info.height.0,
        vouts: r.vouts.clone(),
        value_sat,
        amount: None,
        risk: v.risk,
        sanctioned: v.sanctioned,
        counterparties,
        direct_exposure: direct,
        indirect_exposure: indirect,
        evidence,
        indirect: status,
        categories: v.categories,
        matched_rules: v.matched_rules,
        policy: policy_name(policy),
    }
}

/// The addresses and entities a subject's screening reads private tags of.
pub fn private_keys(view: &ChainView, subject: &Subject) -> (Vec<String>, Vec<u32>) {
    match subject {
        Subject::Address { chain, address } if view.evm(*chain).is_some() => {
            (vec![address.clone()], Vec::new())
        }
        Subject::Transfer {
            chain,
            asset,
            direction,
            txid,
            vouts,
        } if view.evm(*chain).is_some() => {
            let ev = view.evm(*chain).expect("an EVM chain");
            match ev.resolve_stored(txid, asset, vouts) {
                Some(r) => (
                    crate::screen_evm::counterparty_keys(ev, &r, *direction),
                    Vec::new(),
                ),
                None => (Vec::new(), Vec::new()),
            }
        }
        Subject::Address { chain, address } => {
            let e = view
                .resolve_on(*chain, address)
                .ok()
                .and_then(|r| r.entity.map(|(e, _)| e.0));
            (vec![address.clone()], e.into_iter().collect())
        }
        Subject::Transfer {
            txid,
            vouts,
            direction,
            ..
        } => {
            let Ok(h) = Hash32::from_display_hex(txid) else {
                return (Vec::new(), Vec::new());
            };
            let Some(tx) = view.store().and_then(|s| s.tx_by_txid(&h)) else {
                return (Vec::new(), Vec::new());
            };
            let r = ResolvedTransfer {
                tx,
                txid: txid.clone(),
                vouts: vouts.clone(),
            };
            let mut addrs = Vec::new();
            let mut ents = Vec::new();
            for (a, _) in counterparty_addrs(view, &r, *direction) {
                addrs.push(view.render(a));
                if let Some((e, _)) = view.entity_of(a) {
                    ents.push(e.0);
                }
            }
            (addrs, ents)
        }
    }
}

/// Re-evaluates a stored subject: its level and categories now, or `None`
/// when it no longer resolves (a reorg removed the transaction).
pub fn reevaluate(
    view: &ChainView,
    pv: &PrivateView,
    policy: &Policy,
    subject: &Subject,
) -> Option<(Level, Vec<String>)> {
    if let Some(ev) = view.evm(subject.chain()) {
        return match subject {
            Subject::Address { chain, address } => {
                let a = crate::screen_evm::address(ev, pv, policy, *chain, address).ok()?;
                Some((a.risk, a.categories))
            }
            Subject::Transfer {
                chain,
                asset,
                direction,
                txid,
                vouts,
            } => {
                let r = ev.resolve_stored(txid, asset, vouts)?;
                let t = crate::screen_evm::transfer(ev, pv, policy, *chain, *direction, &r);
                Some((t.risk, t.categories))
            }
        };
    }
    match subject {
        Subject::Address { chain, address } => {
            let r = view.resolve_on(*chain, address).ok()?;
            let a = self::address(view, pv, policy, *chain, &r);
            Some((a.risk, a.categories))
        }
        Subject::Transfer {
            chain,
            asset,
            direction,
            txid,
            vouts,
        } => {
            let h = Hash32::from_display_hex(txid).ok()?;
            let tx = view.store()?.tx_by_txid(&h)?;
            let r = ResolvedTransfer {
                tx,
                txid: txid.clone(),
                vouts: vouts.clone(),
            };
            let t = transfer(view, pv, policy, *chain, asset, *direction, &r);
            Some((t.risk, t.categories))
        }
    }
}
