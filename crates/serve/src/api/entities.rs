//! Entity lookup.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;
use utoipa::ToSchema;

use super::{answer, PathParam};
use crate::auth::Caller;
use crate::error::Problem;
use crate::registry::Perm;
use crate::screen::{PrivateView, TagView};
use crate::state::App;
use crate::tenant::ChainName;

/// An entity: the cluster of addresses one party controls.
#[derive(Serialize, ToSchema)]
pub struct EntityView {
    /// Chain.
    pub chain: ChainName,
    /// The address asked about, canonical.
    pub address: String,
    /// Entity id (its smallest address id); absent when the clusters do not
    /// cover the address.
    pub entity: Option<u32>,
    /// Addresses in the entity.
    pub size: u32,
    /// A sanctions listing on any member.
    pub sanctioned: bool,
    /// Distinct categories of its tags.
    pub categories: Vec<String>,
    /// Tags on its members (public and this tenant's private tags).
    pub tags: Vec<TagView>,
    /// Up to 25 member addresses, the entity's own address first.
    pub members: Vec<String>,
}

/// Looks up the entity of an address.
#[utoipa::path(get, path = "/v1/entities/{chain}/{address}", tag = "entities",
    params(("chain" = ChainName, Path, description = "Chain"), ("address" = String, Path, description = "An address of the entity")),
    responses((status = 200, description = "The entity", body = EntityView)))]
pub(crate) async fn entity(
    State(app): State<App>,
    caller: Caller,
    PathParam((chain, address)): PathParam<(ChainName, String)>,
) -> Result<Response, Problem> {
    caller.require(Perm::Investigate)?;
    let view = app.view();
    if let Some(ev) = view.evm(chain) {
        // Accounts are not clustered: the "entity" is the account itself,
        // with its tags and detected roles.
        let canonical = crate::screen_evm::canonical_address(&address)?;
        let t = app.tenant(&caller.tenant)?;
        let (pv, policy) = {
            let t = t.lock().expect("tenant lock");
            (
                PrivateView::collect(&t, [canonical.as_str()], None),
                t.policy.clone(),
            )
        };
        let a = crate::screen_evm::address(ev, &pv, &policy, chain, &address)?;
        if !a.on_chain {
            return Err(Problem::not_found(format!(
                "address {canonical} does not appear in the {chain:?} store"
            )));
        }
        let v = EntityView {
            chain,
            address: canonical.clone(),
            entity: None,
            size: 1,
            sanctioned: a.sanctioned,
            categories: a.categories,
            tags: a.tags,
            members: vec![canonical.clone()],
        };
        app.commit(&caller, "entity.lookup", &canonical, 200, Vec::new())
            .await?;
        return Ok(answer(StatusCode::OK, &v));
    }
    if chain == ChainName::Tron {
        return Err(Problem::invalid(
            "entities are not available on tron: this server has no TRON chain data; screen the address (POST /v1/screen/address) for its tags",
        ));
    }
    let r = view
        .resolve(&address)
        .map_err(|e| Problem::invalid(format!("address: {e}")))?;
    if r.id.is_none() {
        return Err(Problem::not_found(format!(
            "address {} does not appear on the stored chain",
            r.address
        )));
    }
    let t = app.tenant(&caller.tenant)?;
    let e = r.entity.map(|(e, _)| e.0);
    let pv = {
        let t = t.lock().expect("tenant lock");
        PrivateView::collect(&t, [r.address.as_str()], e)
    };
    let a = crate::screen::address(
        &view,
        &pv,
        &t.lock().expect("tenant lock").policy.clone(),
        chain,
        &r,
    );
    let members = match (view.clusters(), r.entity) {
        (Some(c), Some((e, _))) => c.members(e).take(25).map(|m| view.render(m)).collect(),
        _ => vec![r.address.clone()],
    };
    let v = EntityView {
        chain,
        address: r.address.clone(),
        entity: e,
        size: r.entity.map_or(1, |(_, s)| s),
        sanctioned: a.sanctioned,
        categories: a.categories,
        tags: a.tags,
        members,
    };
    app.commit(&caller, "entity.lookup", &r.address, 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &v))
}
