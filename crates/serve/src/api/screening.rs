//! Screening endpoints: address, transfer, batch; past screenings.

use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{answer, Body, PathParam, QueryParam};
use crate::auth::Caller;
use crate::error::Problem;
use crate::policy::Direction;
use crate::registry::Perm;
use crate::screen::{self, AddressResult, PrivateView, TransferResult};
use crate::screen_evm;
use crate::state::App;
use crate::tenant::now_ms;
use crate::tenant::{ChainName, Event, Screening, Subject};
use axum::extract::State;

/// Maximum items of a batch.
pub const MAX_BATCH: usize = 1000;

/// Screen one address.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressRequest {
    /// Chain: `bitcoin`, `ethereum` and the other EVM chains (`bsc`,
    /// `polygon`, `arbitrum`, `optimism`, `base`, `avalanche`), or `tron`
    /// (screened against the tags alone); others are refused with 422.
    pub chain: ChainName,
    /// The address; checksums are verified (base58check, bech32; EIP-55
    /// when an EVM address is mixed case).
    #[schema(min_length = 1, max_length = 200)]
    pub address: String,
}

/// Which way a screened transfer goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransferDirection {
    /// Funds arriving: their sources are screened.
    Deposit,
    /// Funds leaving: the beneficiary is screened.
    Withdrawal,
}

/// Screen one deposit or withdrawal.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// Chain: `bitcoin`, `ethereum` or another EVM chain (`bsc`, …);
    /// `tron` is refused with 422, as there is no TRON chain data.
    pub chain: ChainName,
    /// Asset: `BTC` on bitcoin; on an EVM chain its native coin (`ETH`;
    /// `BNB` on bsc, `POL` on polygon, `AVAX` on avalanche), a token symbol
    /// naming one stored token (`USDT`), or a token contract address.
    pub asset: String,
    /// Deposit or withdrawal.
    pub direction: TransferDirection,
    /// Transaction id (64 hex digits, as explorers show it; on ethereum the
    /// transaction hash, `0x` optional).
    pub txid: String,
    /// Bitcoin: the output screened (the deposit address's output, or the
    /// withdrawal's payment). Give `vout`, `address` or both. Refused on
    /// ethereum.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub vout: Option<u32>,
    /// The deposit address or beneficiary; all its outputs in the
    /// transaction are screened when `vout` is absent. On ethereum: the
    /// transfers of `asset` to it (every transfer of `asset` in the
    /// transaction when absent).
    #[serde(default)]
    pub address: Option<String>,
    /// Bitcoin: expected value of the screened outputs in satoshis
    /// (integer); a mismatch is refused.
    #[serde(default)]
    #[schema(minimum = 0)]
    pub amount_sat: Option<u64>,
    /// EVM chains: expected value of the screened transfers in the asset's
    /// base units (decimal integer string, e.g. wei); a mismatch is refused.
    #[serde(default)]
    #[schema(max_length = 78, pattern = "^[0-9]+$")]
    pub amount: Option<String>,
}

/// One batch item: an address or a transfer, told apart by `kind`; the
/// other fields are those of the single-item requests.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum BatchItem {
    /// An address.
    Address {
        /// Chain.
        chain: ChainName,
        /// The address.
        #[schema(min_length = 1, max_length = 200)]
        address: String,
    },
    /// A transfer.
    Transfer {
        /// Chain.
        chain: ChainName,
        /// Asset (`BTC`).
        asset: String,
        /// Deposit or withdrawal.
        direction: TransferDirection,
        /// Transaction id.
        txid: String,
        /// Output index.
        #[serde(default)]
        #[schema(minimum = 0)]
        vout: Option<u32>,
        /// Deposit address or beneficiary.
        #[serde(default)]
        address: Option<String>,
        /// Expected value in satoshis.
        #[serde(default)]
        #[schema(minimum = 0)]
        amount_sat: Option<u64>,
        /// EVM chains: expected value in base units (decimal string).
        #[serde(default)]
        #[schema(max_length = 78, pattern = "^[0-9]+$")]
        amount: Option<String>,
    },
}

enum Item {
    Address(AddressRequest),
    Transfer(TransferRequest),
}

impl From<BatchItem> for Item {
    fn from(b: BatchItem) -> Item {
        match b {
            BatchItem::Address { chain, address } => {
                Item::Address(AddressRequest { chain, address })
            }
            BatchItem::Transfer {
                chain,
                asset,
                direction,
                txid,
                vout,
                address,
                amount_sat,
                amount,
            } => Item::Transfer(TransferRequest {
                chain,
                asset,
                direction,
                txid,
                vout,
                address,
                amount_sat,
                amount,
            }),
        }
    }
}

/// Up to 1,000 screenings in one request.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    /// Items (1 to 1,000).
    #[schema(min_items = 1, max_items = 1000)]
    pub items: Vec<BatchItem>,
}

/// A batch item's result: exactly one of `address`, `transfer`, `problem`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchResult {
    /// Position in the request.
    pub index: usize,
    /// The status the item would have had alone.
    pub status: u16,
    /// Address result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<AddressResult>,
    /// Transfer result.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferResult>,
    /// Why the item failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<Problem>,
}

/// The batch answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchResponse {
    /// One result per item, in order.
    pub results: Vec<BatchResult>,
}

enum Outcome {
    Address(AddressResult),
    Transfer(TransferResult),
}

/// Evaluates one item and records it in the tenant (not yet on disk).
fn run_one(app: &App, caller: &Caller, item: Item) -> Result<(Outcome, String), Problem> {
    let view = app.view();
    let tenant = app.tenant(&caller.tenant)?;
    let chain = match &item {
        Item::Address(r) => r.chain,
        Item::Transfer(r) => r.chain,
    };
    let (outcome, subject) = match (view.evm(chain), item) {
        (Some(ev), Item::Address(req)) => {
            let canonical = screen_evm::canonical_address(&req.address)?;
            let (pv, policy) = {
                let t = tenant.lock().expect("tenant lock");
                (
                    PrivateView::collect(&t, [canonical.as_str()], None),
                    t.policy.clone(),
                )
            };
            let a = screen_evm::address(ev, &pv, &policy, req.chain, &req.address)?;
            let subject = Subject::Address {
                chain: req.chain,
                address: a.address.clone(),
            };
            (Outcome::Address(a), subject)
        }
        (Some(ev), Item::Transfer(req)) => {
            if req.vout.is_some() || req.amount_sat.is_some() {
                return Err(Problem::invalid(
                    "vout and amount_sat are Bitcoin's: on an EVM chain name the transfer by address and asset, and its value by amount (base units)",
                ));
            }
            let direction = match req.direction {
                TransferDirection::Deposit => Direction::Deposit,
                TransferDirection::Withdrawal => Direction::Withdrawal,
            };
            let r = ev.resolve_transfer(
                &req.txid,
                &req.asset,
                req.address.as_deref(),
                req.amount.as_deref(),
            )?;
            let subject = Subject::Transfer {
                chain: req.chain,
                asset: r.asset_name.clone(),
                direction,
                txid: r.txid.clone(),
                vouts: r.positions.clone(),
            };
            let keys = screen_evm::counterparty_keys(ev, &r, direction);
            let (pv, policy) = {
                let t = tenant.lock().expect("tenant lock");
                (
                    PrivateView::collect(&t, keys.iter().map(String::as_str), None),
                    t.policy.clone(),
                )
            };
            let t = screen_evm::transfer(ev, &pv, &policy, req.chain, direction, &r);
            (Outcome::Transfer(t), subject)
        }
        (None, Item::Address(req)) => {
            let r = view
                .resolve_on(req.chain, &req.address)
                .map_err(|e| Problem::invalid(format!("address: {e}")))?;
            let (pv, policy) = {
                let t = tenant.lock().expect("tenant lock");
                let e = r.entity.map(|(e, _)| e.0);
                (
                    PrivateView::collect(&t, [r.address.as_str()], e),
                    t.policy.clone(),
                )
            };
            let a = screen::address(&view, &pv, &policy, req.chain, &r);
            let subject = Subject::Address {
                chain: req.chain,
                address: a.address.clone(),
            };
            (Outcome::Address(a), subject)
        }
        (None, Item::Transfer(req)) => {
            if req.chain == ChainName::Tron {
                return Err(Problem::invalid(
                    "TRON transfers cannot be screened: this server has no TRON chain data; screen the counterparty's address (POST /v1/screen/address with chain tron)",
                ));
            }
            if req.amount.is_some() {
                return Err(Problem::invalid(
                    "amount is for EVM chains: on bitcoin give amount_sat (an integer)",
                ));
            }
            if req.asset != "BTC" {
                return Err(Problem::invalid(format!(
                    "asset {:?} is not an asset of chain bitcoin (BTC)",
                    req.asset
                )));
            }
            let direction = match req.direction {
                TransferDirection::Deposit => Direction::Deposit,
                TransferDirection::Withdrawal => Direction::Withdrawal,
            };
            let r = screen::resolve_transfer(
                &view,
                &req.txid,
                req.vout,
                req.address.as_deref(),
                req.amount_sat,
            )?;
            let subject = Subject::Transfer {
                chain: req.chain,
                asset: req.asset.clone(),
                direction,
                txid: r.txid.clone(),
                vouts: r.vouts.clone(),
            };
            let (addrs, ents) = screen::private_keys(&view, &subject);
            let (pv, policy) = {
                let t = tenant.lock().expect("tenant lock");
                (
                    PrivateView::collect(&t, addrs.iter().map(String::as_str), ents),
                    t.policy.clone(),
                )
            };
            let t = screen::transfer(&view, &pv, &policy, req.chain, &req.asset, direction, &r);
            (Outcome::Transfer(t), subject)
        }
    };
    let (level, cats, policy) = match &outcome {
        Outcome::Address(a) => (a.risk, a.categories.clone(), a.policy.clone()),
        Outcome::Transfer(t) => (t.risk, t.categories.clone(), t.policy.clone()),
    };
    let mut t = tenant.lock().expect("tenant lock");
    let id = t.next_screening();
    let s = Screening {
        id,
        ts: now_ms(),
        key: caller.key.clone(),
        subject,
        level,
        current_level: level,
        categories: cats,
        policy,
    };
    let ev = Event::Screening(s);
    let line = ev.line();
    t.apply(ev);
    drop(t);
    let outcome = match outcome {
        Outcome::Address(mut a) => {
            a.screening_id = id;
            Outcome::Address(a)
        }
        Outcome::Transfer(mut x) => {
            x.screening_id = id;
            Outcome::Transfer(x)
        }
    };
    Ok((outcome, line))
}

/// Screens an address: sanctions, entity, categories, risk level.
#[utoipa::path(post, path = "/v1/screen/address", tag = "screening", request_body = AddressRequest,
    responses((status = 200, description = "The screening", body = AddressResult)))]
pub(crate) async fn screen_address(
    State(app): State<App>,
    caller: Caller,
    Body(req): Body<AddressRequest>,
) -> Result<Response, Problem> {
    caller.require(Perm::Screen)?;
    let (o, line) = run_one(&app, &caller, Item::Address(req))?;
    let Outcome::Address(a) = o else {
        unreachable!("an address item")
    };
    app.commit(&caller, "screen.address", &a.address, 200, vec![line])
        .await?;
    Ok(answer(StatusCode::OK, &a))
}

/// Screens a deposit or withdrawal: direct and indirect exposure with the
/// evidence paths, and a risk level.
#[utoipa::path(post, path = "/v1/screen/transfer", tag = "screening", request_body = TransferRequest,
    responses((status = 200, description = "The screening", body = TransferResult)))]
pub(crate) async fn screen_transfer(
    State(app): State<App>,
    caller: Caller,
    Body(req): Body<TransferRequest>,
) -> Result<Response, Problem> {
    caller.require(Perm::Screen)?;
    let a2 = app.clone();
    let c2 = caller.clone();
    let (o, line) = tokio::task::spawn_blocking(move || run_one(&a2, &c2, Item::Transfer(req)))
        .await
        .map_err(|e| Problem::internal(&e))??;
    let Outcome::Transfer(t) = o else {
        unreachable!("a transfer item")
    };
    let target = format!("{}:{:?}", t.txid, t.vouts);
    app.commit(&caller, "screen.transfer", &target, 200, vec![line])
        .await?;
    Ok(answer(StatusCode::OK, &t))
}

/// Screens up to 1,000 addresses and transfers; each item succeeds or
/// fails on its own.
#[utoipa::path(post, path = "/v1/screen/batch", tag = "screening", request_body = BatchRequest,
    responses((status = 200, description = "One result per item", body = BatchResponse)))]
pub(crate) async fn screen_batch(
    State(app): State<App>,
    caller: Caller,
    Body(req): Body<BatchRequest>,
) -> Result<Response, Problem> {
    caller.require(Perm::Screen)?;
    if req.items.is_empty() || req.items.len() > MAX_BATCH {
        return Err(Problem::invalid(format!(
            "a batch holds 1 to {MAX_BATCH} items, got {}",
            req.items.len()
        )));
    }
    let n = req.items.len();
    let a2 = app.clone();
    let c2 = caller.clone();
    let (results, lines) = tokio::task::spawn_blocking(move || {
        let mut results = Vec::with_capacity(req.items.len());
        let mut lines = Vec::new();
        for (index, item) in req.items.into_iter().enumerate() {
            match run_one(&a2, &c2, item.into()) {
                Ok((o, line)) => {
                    lines.push(line);
                    let (address, transfer) = match o {
                        Outcome::Address(a) => (Some(a), None),
                        Outcome::Transfer(t) => (None, Some(t)),
                    };
                    results.push(BatchResult {
                        index,
                        status: 200,
                        address,
                        transfer,
                        problem: None,
                    });
                }
                Err(p) => results.push(BatchResult {
                    index,
                    status: p.status,
                    address: None,
                    transfer: None,
                    problem: Some(p),
                }),
            }
        }
        (results, lines)
    })
    .await
    .map_err(|e| Problem::internal(&e))?;
    app.commit(&caller, "screen.batch", &format!("{n} items"), 200, lines)
        .await?;
    Ok(answer(StatusCode::OK, &BatchResponse { results }))
}

/// Paging.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Items to return (1-1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Items to skip, newest first.
    #[param(minimum = 0)]
    pub offset: Option<u64>,
}

impl Page {
    pub(crate) fn bounds(&self) -> Result<(usize, usize), Problem> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=1000).contains(&limit) {
            return Err(Problem::invalid(format!(
                "limit must be 1-1000, got {limit}"
            )));
        }
        Ok((
            limit as usize,
            usize::try_from(self.offset.unwrap_or(0)).unwrap_or(usize::MAX),
        ))
    }
}

/// A page of screenings.
#[derive(Serialize, ToSchema)]
pub struct ScreeningList {
    /// Screenings of this tenant, newest first.
    pub screenings: Vec<Screening>,
    /// All of them.
    pub total: u64,
}

/// Lists this tenant's screenings, newest first.
#[utoipa::path(get, path = "/v1/screenings", tag = "screening", params(Page),
    responses((status = 200, description = "Screenings", body = ScreeningList)))]
pub(crate) async fn list_screenings(
    State(app): State<App>,
    caller: Caller,
    QueryParam(page): QueryParam<Page>,
) -> Result<Response, Problem> {
    caller.require(Perm::Read)?;
    let (limit, offset) = page.bounds()?;
    let t = app.tenant(&caller.tenant)?;
    let list = {
        let t = t.lock().expect("tenant lock");
        ScreeningList {
            total: t.screenings.len() as u64,
            screenings: t
                .screenings
                .iter()
                .rev()
                .skip(offset)
                .take(limit)
                .cloned()
                .collect(),
        }
    };
    app.commit(&caller, "screenings.list", "", 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &list))
}

/// One of this tenant's screenings.
#[utoipa::path(get, path = "/v1/screenings/{id}", tag = "screening",
    params(("id" = u64, Path, description = "Screening id")),
    responses((status = 200, description = "The screening", body = Screening)))]
pub(crate) async fn get_screening(
    State(app): State<App>,
    caller: Caller,
    PathParam(id): PathParam<u64>,
) -> Result<Response, Problem> {
    caller.require(Perm::Read)?;
    let t = app.tenant(&caller.tenant)?;
    let s = {
        let t = t.lock().expect("tenant lock");
        id.checked_sub(1)
            .and_then(|i| t.screenings.get(usize::try_from(i).ok()?))
            .cloned()
    };
    let s = s.ok_or_else(|| Problem::not_found(format!("no screening {id}")))?;
    app.commit(&caller, "screenings.get", &id.to_string(), 200, Vec::new())
        .await?;
    Ok(answer(StatusCode::OK, &s))
}

/// What a re-screening did.
#[derive(Serialize, ToSchema)]
pub struct RescreenReport {
    /// Screenings re-evaluated.
    pub screenings: u64,
    /// Alerts raised (levels that changed).
    pub alerts: Vec<crate::tenant::Alert>,
}

/// Re-evaluates every past screening of this tenant now (it also happens by
/// itself when the tags or the tenant's private tags or policy change).
#[utoipa::path(post, path = "/v1/rescreen", tag = "screening",
    responses((status = 200, description = "What changed", body = RescreenReport)))]
pub(crate) async fn rescreen(State(app): State<App>, caller: Caller) -> Result<Response, Problem> {
    caller.require(Perm::Write)?;
    let (n, alerts) = app
        .rescreen(&caller.tenant, "re-screening requested")
        .await?;
    app.commit(
        &caller,
        "rescreen",
        &format!("{n} screenings"),
        200,
        Vec::new(),
    )
    .await?;
    Ok(answer(
        StatusCode::OK,
        &RescreenReport {
            screenings: n,
            alerts,
        },
    ))
}
