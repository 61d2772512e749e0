//! Tenant-private tags.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{answer, Body, PathParam};
use crate::auth::Caller;
use crate::error::Problem;
use crate::registry::Perm;
use crate::state::App;
use crate::tenant::now_ms;
use crate::tenant::{ChainName, Event, PrivateTag};

/// A new private tag.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTag {
    /// Chain.
    pub chain: ChainName,
    /// Address (checksums verified; EVM addresses are keyed lower case, so
    /// a tag matches whatever the case of a later screening).
    pub address: String,
    /// Category (`sanction`, `theft`, `exchange`, …: `[a-z0-9_]`, 1-64).
    #[schema(min_length = 1, max_length = 64, pattern = "^[a-z0-9_]+$")]
    pub category: String,
    /// Label (1-200 characters).
    #[schema(min_length = 1, max_length = 200)]
    pub label: String,
}

/// This tenant's private tags.
#[derive(Serialize, ToSchema)]
pub struct TagList {
    /// Tags by id.
    pub tags: Vec<PrivateTag>,
}

/// What adding or deleting a tag changed.
#[derive(Serialize, ToSchema)]
pub struct TagChange {
    /// The tag.
    pub tag: PrivateTag,
    /// Past screenings re-evaluated.
    pub rescreened: u64,
    /// Alerts raised by the change.
    pub alerts_raised: u64,
}

/// Adds a private tag (seen only by this tenant) and re-screens.
#[utoipa::path(post, path = "/v1/tags", tag = "tags", request_body = NewTag,
    responses((status = 201, description = "Added", body = TagChange)))]
pub(crate) async fn add(
    State(app): State<App>,
    caller: Caller,
    Body(req): Body<NewTag>,
) -> Result<Response, Problem> {
    caller.require(Perm::Write)?;
    let cat_ok = !req.category.is_empty()
        && req.category.len() <= 64
        && req
            .category
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !cat_ok {
        return Err(Problem::invalid(format!(
            "category {:?} must be 1-64 characters of a-z, 0-9 and '_'",
            req.category
        )));
    }
    if req.label.is_empty() || req.label.chars().count() > 200 {
        return Err(Problem::invalid("label must be 1-200 characters"));
    }
    let view = app.view();
    let r = match view.evm(req.chain) {
        Some(_) => crate::view::Resolved {
            address: crate::screen_evm::canonical_address(&req.address)?,
            id: None,
            entity: None,
        },
        None => view
            .resolve_on(req.chain, &req.address)
            .map_err(|e| Problem::invalid(format!("address: {e}")))?,
    };
    let t = app.tenant(&caller.tenant)?;
    let (tag, line) = {
        let mut t = t.lock().expect("tenant lock");
        if t.tags.len() >= 100_000 {
            return Err(Problem::conflict(
                "a tenant holds at most 100,000 private tags",
            ));
        }
        let tag = PrivateTag {
            id: t.next_tag,
            ts: now_ms(),
            chain: req.chain,
            address: r.address.clone(),
            category: req.category,
            label: req.label,
            key: caller.key.clone(),
        };
        let ev = Event::TagAdded(tag.clone());
        let line = ev.line();
        t.apply(ev);
        if let Some((e, _)) = r.entity {
            t.tags_by_entity.entry(e.0).or_default().push(tag.id);
        }
        (tag, line)
    };
    app.commit(
        &caller,
        "tags.add",
        &format!("{} {}", tag.id, tag.address),
        201,
        vec![line],
    )
    .await?;
    let (n, alerts) = app
        .rescreen(&caller.tenant, &format!("private tag {} added", tag.id))
        .await?;
    Ok(answer(
        StatusCode::CREATED,
        &TagChange {
            tag,
            rescreened: n,
            alerts_raised: alerts.len() as u64,
        },
    ))
}

/// Lists this tenant's private tags.
#[utoipa::path(get, path = "/v1/tags", tag = "tags",
    responses((status = 200, description = "Tags", body = TagList)))]
pub(crate) async fn list(State(app): State<App>, caller: Caller) -> Result<Response, Problem> {
    caller.require(Perm::Read)?;
    let t = app.tenant(&caller.tenant)?;
    let tags = t
        .lock()
        .expect("tenant lock")
        .tags
        .values()
        .cloned()
        .collect();
    app.commit(&caller, "tags.list", "", 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &TagList { tags }))
}

/// Deletes a private tag and re-screens.
#[utoipa::path(delete, path = "/v1/tags/{id}", tag = "tags",
    params(("id" = u64, Path, description = "Tag id")),
    responses((status = 200, description = "Deleted", body = TagChange)))]
pub(crate) async fn remove(
    State(app): State<App>,
    caller: Caller,
    PathParam(id): PathParam<u64>,
) -> Result<Response, Problem> {
    caller.require(Perm::Write)?;
    let t = app.tenant(&caller.tenant)?;
    let (tag, line) = {
        let mut t = t.lock().expect("tenant lock");
        let tag = t
            .tags
            .get(&id)
            .cloned()
            .ok_or_else(|| Problem::not_found(format!("no private tag {id}")))?;
        let ev = Event::TagDeleted { id };
        let line = ev.line();
        t.apply(ev);
        (tag, line)
    };
    app.commit(&caller, "tags.delete", &id.to_string(), 200, vec![line])
        .await?;
    let (n, alerts) = app
        .rescreen(&caller.tenant, &format!("private tag {id} deleted"))
        .await?;
    Ok(answer(
        StatusCode::OK,
        &TagChange {
            tag,
            rescreened: n,
            alerts_raised: alerts.len() as u64,
        },
    ))
}
