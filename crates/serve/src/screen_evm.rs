//! Screening on EVM chains: the same answers as Bitcoin's
//! ([`AddressResult`], [`TransferResult`]) from the account store and model
//! of `chainhound-evm` ([`crate::evm::EvmView`]). Amounts are base units in
//! the `amount` fields (decimal strings); the `_sat` fields are 0.

use crate::error::Problem;
use crate::evm::{self, ppm, EvmTransfer, EvmView};
use crate::policy::{Direction, Policy};
use crate::screen::{
    categories, exposure_of, policy_name, AddressResult, Counterparty, PrivateView, TransferResult,
    Verdict,
};
use crate::tenant::ChainName;

/// Parses an address into its canonical (lower-case) spelling: the key
/// of private tags and subjects.
pub fn canonical_address(address: &str) -> Result<String, Problem> {
    evm::parse_address(address)
        .map(|a| evm::canonical(&a))
        .map_err(|e| Problem::invalid(format!("address: {e}")))
}

/// Screens an address: public tags (sanctions lists match whatever the
/// case), deposit-address detection, private tags, policy.
pub fn address(
    ev: &EvmView,
    pv: &PrivateView,
    policy: &Policy,
    chain: ChainName,
    address: &str,
) -> Result<AddressResult, Problem> {
    let a = evm::parse_address(address).map_err(|e| Problem::invalid(format!("address: {e}")))?;
    let canonical = evm::canonical(&a);
    let mut tags = ev.tags_of(&a);
    tags.extend(pv.of_address(&canonical));
    let exposure = exposure_of(&tags, 1_000_000, None, None);
    let (risk, matched_rules) = policy.evaluate(Direction::Any, &exposure);
    Ok(AddressResult {
        screening_id: 0,
        chain,
        address: canonical,
        risk,
        sanctioned: tags.iter().any(|t| t.sanction),
        on_chain: ev.on_chain(&a),
        entity: None,
        categories: categories(&exposure),
        tags,
        exposure,
        matched_rules,
        policy: policy_name(policy),
    })
}

/// The canonical addresses of a transfer's counterparties.
pub fn counterparty_keys(ev: &EvmView, r: &EvmTransfer, direction: Direction) -> Vec<String> {
    ev.counterparties(r, direction == Direction::Deposit)
        .iter()
        .map(|(a, _)| evm::canonical(a))
        .collect()
}

/// Screens a resolved transfer.
pub fn transfer(
    ev: &EvmView,
    pv: &PrivateView,
    policy: &Policy,
    chain: ChainName,
    direction: Direction,
    r: &EvmTransfer,
) -> TransferResult {
    let (block, value) = ev.summary(r);
    let cps = ev.counterparties(r, direction == Direction::Deposit);
    let mut counterparties = Vec::new();
    let mut direct = Vec::new();
    for (a, v) in &cps {
        let address = evm::canonical(a);
        let mut tags = ev.tags_of(a);
        tags.extend(pv.of_address(&address));
        let share = ppm(*v, value);
        direct.extend(exposure_of(&tags, share, None, Some(v.to_string())));
        counterparties.push(Counterparty {
            address,
            value_sat: 0,
            amount: Some(v.to_string()),
            share_ppm: share,
            entity: None,
            tags,
        });
    }
    let ind = ev.indirect(r, direction == Direction::Deposit);
    let v = Verdict::of(policy, direction, &direct, &ind.items, &counterparties);
    TransferResult {
        screening_id: 0,
        chain,
        asset: r.asset_name.clone(),
        direction,
        txid: r.txid.clone(),
        height: u32::try_from(block).unwrap_or(u32::MAX),
        vouts: r.positions.clone(),
        value_sat: 0,
        amount: Some(value.to_string()),
        risk: v.risk,
        sanctioned: v.sanctioned,
        counterparties,
        direct_exposure: direct,
        indirect_exposure: ind.items,
        evidence: ind.evidence,
        indirect: ind.status,
        categories: v.categories,
        matched_rules: v.matched_rules,
        policy: policy_name(policy),
    }
}
