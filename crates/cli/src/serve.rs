//! `serve`, `keys`, `tenants` and `audit`: the screening service and its
//! administration from the command line.

use std::net::SocketAddr;

use anyhow::{bail, Context, Result};
use chainhound_serve::audit;
use chainhound_serve::registry::{serve_dir, Registry, Role, DEFAULT_RATE};
use chainhound_serve::ServeOptions;
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::query::emit;
use crate::Ctx;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    pub max_body: usize,
}

#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Create an API key; its secret is printed once and never stored.
    Create {
        /// Tenant (created if it does not exist).
        #[arg(long)]
        tenant: String,
        /// Role: admin, analyst or integration.
        #[arg(long)]
        role: String,
        /// A note for people.
        #[arg(long, default_value = "")]
        label: String,
        /// Sustained requests per second (burst twice that).
        #[arg(long, default_value_t = DEFAULT_RATE)]
        rate: u32,
    },
    /// Revoke a key by id; a running server stops accepting it within a second.
    Revoke {
        /// Key id (the 16 hex digits after `chk_`).
        id: String,
    },
    /// List keys (never their secrets).
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TenantsCmd {
    /// Create a tenant.
    Create {
        /// Name: 1-64 characters of a-z, 0-9, '-' and '_'.
        name: String,
    },
    /// List tenants.
    List,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Check the audit log's hash chain; fails naming the first bad entry.
    Verify,
    /// Print audit entries (newest last).
    Show {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
        /// At most this many (the newest).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
}

pub fn serve(ctx: &Ctx, a: ServeArgs) -> Result<()> {
    // A long-running process: keep what traces free for the next request.
    chainhound_trace::keep_freed_memory();
    serve_then(ctx, a, |_| String::new())
}

/// Serves; `banner` gets the bound address and returns text printed after
/// the listening line.
fn serve_then(ctx: &Ctx, a: ServeArgs, banner: impl FnOnce(SocketAddr) -> String) -> Result<()> {
    let mut opts = ServeOptions::new(ctx.data.clone());
    opts.max_body = a.max_body;
    let quiet = ctx.quiet;
    chainhound_serve::run(opts, a.bind, |addr, app| {
        let v = app.view();
        // Tests and scripts read the address from stdout's first line.
        println!("chainhound serve: listening on http://{addr}");
        print!("{}", banner(addr));
        if !quiet {
            eprintln!(
                "  data {} ({} txs, {} resolvable tags, tracing {})",
                ctx.data.display(),
                v.store().map_or(0, |s| s.counts().txs),
                v.tag_count(),
                if v.engine().is_some() {
                    "on"
                } else {
                    "off: no clusters"
                }
            );
            let tags = v
                .evm(chainhound_serve::tenant::ChainName::Ethereum)
                .map_or(0, |e| e.tag_count());
            let mut stores = 0;
            for (chain, e) in v.evm_stores() {
                stores += 1;
                eprintln!(
                    "  {chain:?}: account store loaded in {:.2} s, {tags} EVM tags",
                    e.load_time.as_secs_f64()
                );
            }
            if stores == 0 {
                eprintln!("  EVM chains: no account store; addresses screened from the {tags} EVM tags only");
            }
            eprintln!(
                "  docs http://{addr}/docs  ·  OpenAPI http://{addr}/openapi.json  ·  Ctrl-C stops"
            );
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
    })
    .with_context(|| format!("serving {} on {}", ctx.data.display(), a.bind))
}

#[derive(Serialize)]
struct KeyJson {
    id: String,
    tenant: String,
    role: String,
    label: String,
    created: i64,
    revoked: Option<i64>,
    rate: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

fn key_json(k: &chainhound_serve::registry::KeyRecord, plaintext: Option<String>) -> KeyJson {
    KeyJson {
        id: k.id.clone(),
        tenant: k.tenant.clone(),
        role: k.role.as_str().into(),
        label: k.label.clone(),
        created: k.created,
        revoked: k.revoked,
        rate: k.rate,
        key: plaintext,
    }
}

pub fn keys(ctx: &Ctx, c: KeysCmd) -> Result<()> {
    let dir = serve_dir(&ctx.data);
    match c {
        KeysCmd::Create {
            tenant,
            role,
            label,
            rate,
        } => {
            let role: Role = role.parse()?;
            let (k, created_tenant) = Registry::update(&dir, |r| {
                let created = !r.tenants.contains_key(&tenant);
                if created {
                    r.create_tenant(&tenant)?;
                    r.record("tenants.create", &tenant, &tenant);
                }
                let k = r.create_key(&tenant, role, &label, rate)?;
                let what = format!("{} role {} rate {}", k.record.id, role.as_str(), rate);
                r.record("keys.create", &tenant, &what);
                Ok((k, created))
            })?;
            if created_tenant && !ctx.quiet {
                eprintln!("created tenant {tenant}");
            }
            let j = key_json(&k.record, Some(k.plaintext.clone()));
            emit(ctx, &j, || {
                format!(
                    "{}\n\nkey {} for tenant {} with role {} ({} req/s).\nStore it now: the secret is not shown again.\n",
                    k.plaintext,
                    k.record.id,
                    k.record.tenant,
                    k.record.role.as_str(),
                    k.record.rate
                )
            })
        }
        KeysCmd::Revoke { id } => {
            let k = Registry::update(&dir, |r| {
                let k = r.revoke(&id, None)?;
                r.record("keys.revoke", &k.tenant, &k.id);
                Ok(k)
            })?;
            emit(ctx, &key_json(&k, None), || {
                format!("revoked key {} of tenant {}\n", k.id, k.tenant)
            })
        }
        KeysCmd::List { tenant } => {
            let r = Registry::load(&dir)?;
            let keys: Vec<KeyJson> = r
                .keys
                .values()
                .filter(|k| tenant.as_ref().is_none_or(|t| &k.tenant == t))
                .map(|k| key_json(k, None))
                .collect();
            emit(ctx, &keys, || {
                let mut s = String::new();
                for k in &keys {
                    s += &format!(
                        "{}  {:<16} {:<11} {:>6} req/s  {}{}\n",
                        k.id,
                        k.tenant,
                        k.role,
                        k.rate,
                        if k.revoked.is_some() { "REVOKED " } else { "" },
                        k.label
                    );
                }
                if keys.is_empty() {
                    s += "no keys\n";
                }
                s
            })
        }
    }
}

pub fn tenants(ctx: &Ctx, c: TenantsCmd) -> Result<()> {
    let dir = serve_dir(&ctx.data);
    match c {
        TenantsCmd::Create { name } => {
            Registry::update(&dir, |r| {
                r.create_tenant(&name)?;
                r.record("tenants.create", &name, &name);
                Ok(())
            })?;
            emit(ctx, &name, || format!("created tenant {name}\n"))
        }
        TenantsCmd::List => {
            let r = Registry::load(&dir)?;
            let names: Vec<&String> = r.tenants.keys().collect();
            emit(ctx, &names, || {
                names.iter().map(|n| format!("{n}\n")).collect::<String>()
            })
        }
    }
}

#[derive(Serialize)]
struct VerifyJson {
    ok: bool,
    entries: u64,
    head: String,
    /// Command-line registry changes no audit entry records yet.
    registry_changes_pending: usize,
}

pub fn audit(ctx: &Ctx, c: AuditCmd) -> Result<()> {
    let dir = serve_dir(&ctx.data);
    match c {
        AuditCmd::Verify => {
            let v = match audit::verify(&dir) {
                Ok(v) => v,
                Err(e) => bail!("audit log FAILS verification: {e}"),
            };
            // Key and tenant changes made here reach the log through the
            // server: say how many it has not written yet.
            let pending = Registry::load(&dir)?
                .changes
                .iter()
                .filter(|c| c.seq > v.registry_changes)
                .count();
            emit(
                ctx,
                &VerifyJson {
                    ok: true,
                    entries: v.entries,
                    head: v.head.clone(),
                    registry_changes_pending: pending,
                },
                || {
                    let mut s = format!(
                        "audit log OK: {} entries, hash chain intact, head {}\n",
                        v.entries, v.head
                    );
                    if pending > 0 {
                        s += &format!(
                            "{pending} key or tenant change(s) made from the command line are not in the log yet: a running server writes them within seconds, otherwise the next one to start\n"
                        );
                    }
                    s
                },
            )
        }
        AuditCmd::Show { tenant, limit } => {
            let mut all = audit::read(&dir)?;
            all.retain(|e| tenant.as_ref().is_none_or(|t| &e.tenant == t));
            let skip = all.len().saturating_sub(limit);
            let shown = &all[skip..];
            emit(ctx, &shown, || {
                shown
                    .iter()
                    .map(|e| {
                        format!(
                            "{:>6} {} {:<10} {} {:<18} {} {}\n",
                            e.seq,
                            crate::fmt::utc((e.ts / 1000) as u32),
                            e.tenant,
                            e.key,
                            e.action,
                            e.status,
                            e.target
                        )
                    })
                    .collect()
            })
        }
    }
}

// ---- demo --serve ----

/// Imports the simulation's attribution and the case's tags, creates a
/// `demo` tenant with an analyst key, prints example requests and serves.
pub fn demo(
    ctx: &Ctx,
    chain_dir: &std::path::Path,
    truth: &chainhound_sim::Truth,
    bind: SocketAddr,
) -> Result<()> {
    use chainhound_btc::{render, Network};
    use chainhound_intel::import::csv::{load, CsvOptions};
    use chainhound_intel::{ImportOptions, TagWriter};
    use chainhound_types::{Hash32, OutputId};

    let intel = ctx.data.join("intel");
    let import = |path: &std::path::Path, source: &str| -> Result<()> {
        let edition = load(path, &CsvOptions::new(source))
            .with_context(|| format!("reading {}", path.display()))?;
        TagWriter::open(&intel)?.import(edition, &ImportOptions::default())?;
        Ok(())
    };
    import(
        &chain_dir.join(chainhound_sim::ATTRIBUTION_FILE),
        "sim-attribution",
    )?;
    // What the robbed exchange knows and shares: the addresses its stolen
    // coins were paid to.
    let inc = &truth.incident;
    let (store, _) = crate::query::open(ctx)?;
    let mut case = String::from("address,label,category,actor,country\n");
    let mut thief = Vec::new();
    for txid in &inc.theft_txids {
        let h = Hash32::from_display_hex(txid).context("theft txid")?;
        let Some(t) = store.tx_by_txid(&h) else {
            continue;
        };
        for o in store.tx(t).outputs {
            let a = render(
                &store.addr_key(store.output(OutputId(o)).addr),
                Network::Regtest,
            );
            if !inc.hot_wallet_addresses.contains(&a) {
                case += &format!(
                    "{a},theft from {} (simulated case),theft,simulated thief,KP\n",
                    inc.victim_name
                );
                thief.push(a);
            }
        }
    }
    drop(store);
    let case_path = chain_dir.join("case-tags.csv");
    std::fs::write(&case_path, case).with_context(|| format!("writing {}", case_path.display()))?;
    import(&case_path, "demo-case")?;
    let dir = serve_dir(&ctx.data);
    let k = Registry::update(&dir, |r| {
        if !r.tenants.contains_key("demo") {
            r.create_tenant("demo")?;
            r.record("tenants.create", "demo", "demo");
        }
        let k = r.create_key("demo", Role::Analyst, "demo --serve", 1000)?;
        let what = format!("{} role analyst rate 1000", k.record.id);
        r.record("keys.create", "demo", &what);
        Ok(k)
    })?;
    let first_thief = thief.first().cloned().unwrap_or_default();
    let cashout = inc.cashouts.first().cloned();
    let plaintext = k.plaintext.clone();
    serve_then(
        ctx,
        ServeArgs {
            bind,
            max_body: 1 << 20,
        },
        move |addr| {
            let base = format!("http://{addr}");
            let mut t = String::new();
            t += "\nScreening API over the demo case (tenant demo, analyst key):\n\n";
            t += &format!("  export CHAINHOUND_KEY={plaintext}\n");
            t += "\n  # the thief's first address (tagged 'theft' by the victim):\n";
            t += &format!(
                "  curl -s -H \"Authorization: Bearer $CHAINHOUND_KEY\" -H 'content-type: application/json' \\\n    {base}/v1/screen/address -d '{{\"chain\":\"bitcoin\",\"address\":\"{first_thief}\"}}'\n"
            );
            if let Some(c) = &cashout {
                t += &format!(
                    "\n  # a deposit of laundered coins at {} ({}):\n",
                    c.name, c.country
                );
                t += &format!(
                    "  curl -s -H \"Authorization: Bearer $CHAINHOUND_KEY\" -H 'content-type: application/json' \\\n    {base}/v1/screen/transfer -d '{{\"chain\":\"bitcoin\",\"asset\":\"BTC\",\"direction\":\"deposit\",\"txid\":\"{}\",\"vout\":{}}}'\n",
                    c.txid, c.vout
                );
            }
            t += &format!(
                "\n  # API docs (browser: any user name, the key as password): {base}/docs\n\n"
            );
            t
        },
    )
}
