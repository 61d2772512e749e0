//! [`App`]: the state every handler shares (cheap to clone), and the
//! watcher that follows changes of the registry, the chain data and the
//! tags.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use crate::audit::Draft;
use crate::auth::{Auth, Caller};
use crate::error::{Problem, Result, ServeError};
use crate::journal::{Batch, Journal};
use crate::registry::serve_dir;
use crate::screen::{self, PrivateView};
use crate::tenant::now_ms;
use crate::tenant::{Alert, Event, TenantState};
use crate::view::{ChainView, DataDir};

/// How the service is set up.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The data directory (`<data>/btc`, `<data>/intel`, `<data>/serve`).
    pub data: PathBuf,
    /// How often the registry and the data are checked for changes.
    pub watch_interval: Duration,
    /// Largest request body in bytes.
    pub max_body: usize,
}

impl ServeOptions {
    /// Defaults for `data`.
    pub fn new(data: PathBuf) -> ServeOptions {
        ServeOptions {
            data,
            watch_interval: Duration::from_secs(1),
            max_body: 1 << 20,
        }
    }
}

pub(crate) struct Inner {
    pub opts: ServeOptions,
    pub data: DataDir,
    pub dir: PathBuf,
    _lock: std::fs::File,
    view: RwLock<Arc<ChainView>>,
    tenants: Mutex<HashMap<String, Arc<Mutex<TenantState>>>>,
    pub auth: Auth,
    pub journal: Journal,
    pub jobs: crate::api::traces::Jobs,
    /// Serializes re-screening passes.
    rescreen: tokio::sync::Mutex<()>,
}

/// The service's shared state.
#[derive(Clone)]
pub struct App(pub(crate) Arc<Inner>);

impl App {
    /// Opens the data, the registry and the audit log. One server per data
    /// directory (a file lock in `<data>/serve`).
    pub fn open(opts: ServeOptions) -> Result<App> {
        let data = DataDir {
            root: opts.data.clone(),
        };
        let dir = serve_dir(&opts.data);
        std::fs::create_dir_all(&dir).map_err(|e| ServeError::io(&dir, e))?;
        let lock_path = dir.join("server.lock");
        let lock = std::fs::File::create(&lock_path).map_err(|e| ServeError::io(&lock_path, e))?;
        if lock.try_lock().is_err() {
            return Err(ServeError::Invalid(format!(
                "another server is running over {}",
                opts.data.display()
            )));
        }
        let view = ChainView::open(&data)?;
        let auth = Auth::open(dir.clone())?;
        let journal = Journal::start(&dir)?;
        let app = App(Arc::new(Inner {
            opts,
            data,
            dir,
            _lock: lock,
            view: RwLock::new(Arc::new(view)),
            tenants: Mutex::new(HashMap::new()),
            auth,
            journal,
            jobs: Default::default(),
            rescreen: tokio::sync::Mutex::new(()),
        }));
        app.audit_registry_changes();
        // Replay every tenant's log now, not on its first request.
        let names: Vec<String> = app.0.auth.registry().tenants.keys().cloned().collect();
        for n in names {
            let t = std::time::Instant::now();
            let mut ts = TenantState::load(&app.0.dir, &n)?;
            index_entities(&app.view(), &mut ts);
            app.0
                .tenants
                .lock()
                .expect("tenants lock")
                .insert(n.clone(), Arc::new(Mutex::new(ts)));
            tracing::info!("tenant {n} loaded in {:.1}s", t.elapsed().as_secs_f64());
        }
        Ok(app)
    }

    /// Syncs the audit and event logs to disk (on shutdown).
    pub fn sync(&self) {
        self.0.journal.sync();
    }

    /// The current chain view.
    pub fn view(&self) -> Arc<ChainView> {
        self.0.view.read().expect("view lock").clone()
    }

    /// The serve directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.0.dir
    }

    /// A tenant's state, loaded on first use.
    pub(crate) fn tenant(&self, name: &str) -> Result<Arc<Mutex<TenantState>>, Problem> {
        let mut g = self.0.tenants.lock().expect("tenants lock");
        if let Some(t) = g.get(name) {
            return Ok(t.clone());
        }
        let mut t = TenantState::load(&self.0.dir, name).map_err(Problem::from)?;
        index_entities(&self.view(), &mut t);
        let t = Arc::new(Mutex::new(t));
        g.insert(name.to_string(), t.clone());
        Ok(t)
    }

    /// Writes a request's events and audit entry; fails the request when
    /// the disk does.
    pub(crate) async fn commit(
        &self,
        caller: &Caller,
        action: &str,
        target: &str,
        status: u16,
        events: Vec<String>,
    ) -> Result<(), Problem> {
        let ok = self.0.journal.commit(Batch {
            events: events
                .into_iter()
                .map(|l| (caller.tenant.clone(), l))
                .collect(),
            audit: Some(Draft {
                tenant: caller.tenant.clone(),
                key: caller.key.clone(),
                role: caller.role.as_str().to_string(),
                action: action.to_string(),
                target: target.chars().take(300).collect(),
                status,
                change: None,
            }),
        });
        if ok {
            Ok(())
        } else {
            Err(Problem::internal(&"the journal could not write"))
        }
    }

    /// Audits registry changes made from the command line that the log
    /// does not record yet (one atomic load when there are none).
    pub(crate) fn audit_registry_changes(&self) {
        let reg = self.0.auth.registry();
        if !self.0.journal.audit_changes(&reg.changes) {
            tracing::error!("could not audit registry changes; will retry");
        }
    }

    /// Checks the registry and the data for changes; on a data change,
    /// opens a new view and re-screens every loaded tenant.
    pub async fn poll(&self) {
        self.0.auth.reload_if_changed(false);
        self.audit_registry_changes();
        let stamp = {
            let data = self.0.data.clone();
            tokio::task::spawn_blocking(move || data.stamp()).await
        };
        let Ok(stamp) = stamp else { return };
        if &stamp == self.view().stamp() {
            return;
        }
        let data = self.0.data.clone();
        match tokio::task::spawn_blocking(move || ChainView::open(&data)).await {
            Ok(Ok(v)) => {
                tracing::info!("chain data or tags changed: new view");
                *self.0.view.write().expect("view lock") = Arc::new(v);
                let names: Vec<String> = self
                    .0
                    .tenants
                    .lock()
                    .expect("tenants lock")
                    .keys()
                    .cloned()
                    .collect();
                for n in names {
                    if let Err(e) = self.rescreen(&n, "chain data or public tags changed").await {
                        tracing::error!("re-screening {n}: {}", e.detail);
                    }
                }
            }
            Ok(Err(e)) => tracing::error!("reopening the data: {e}"),
            Err(e) => tracing::error!("reopening the data: {e}"),
        }
    }

    /// Runs [`App::poll`] every `watch_interval` until the runtime stops.
    pub fn spawn_watcher(&self) {
        let app = self.clone();
        tokio::spawn(async move {
            let mut t = tokio::time::interval(app.0.opts.watch_interval);
            loop {
                t.tick().await;
                app.poll().await;
            }
        });
    }

    /// Re-evaluates every past screening of `tenant`; each one whose level
    /// changes is updated and raises an alert. Returns (re-evaluated,
    /// alerts raised).
    pub(crate) async fn rescreen(
        &self,
        tenant: &str,
        reason: &str,
    ) -> Result<(u64, Vec<Alert>), Problem> {
        let _g = self.0.rescreen.lock().await;
        let t = self.tenant(tenant)?;
        let view = self.view();
        {
            let mut g = t.lock().expect("tenant lock");
            index_entities(&view, &mut g);
        }
        let reason = reason.to_string();
        let t2 = t.clone();
        let (n, events, alerts) = tokio::task::spawn_blocking(move || {
            let (subjects, policy) = {
                let g = t2.lock().expect("tenant lock");
                let s: Vec<_> = g
                    .screenings
                    .iter()
                    .map(|s| (s.id, s.subject.clone(), s.current_level))
                    .collect();
                (s, g.policy.clone())
            };
            let mut cache: HashMap<
                crate::tenant::Subject,
                Option<(crate::policy::Level, Vec<String>)>,
            > = HashMap::new();
            let mut changed = Vec::new();
            for (id, subject, level) in &subjects {
                let r = cache
                    .entry(subject.clone())
                    .or_insert_with(|| {
                        let (addrs, ents) = screen::private_keys(&view, subject);
                        let pv = {
                            let g = t2.lock().expect("tenant lock");
                            PrivateView::collect(&g, addrs.iter().map(String::as_str), ents)
                        };
                        screen::reevaluate(&view, &pv, &policy, subject)
                    })
                    .clone();
                if let Some((new, cats)) = r {
                    if new != *level {
                        changed.push((*id, subject.clone(), *level, new, cats));
                    }
                }
            }
            let mut g = t2.lock().expect("tenant lock");
            let mut events = Vec::new();
            let mut alerts = Vec::new();
            let pname = format!("{} v{}", policy.name, policy.version);
            for (id, subject, old, new, cats) in changed {
                let ev = Event::Rescreened {
                    id,
                    level: new,
                    categories: cats,
                    policy: pname.clone(),
                };
                events.push(ev.line());
                g.apply(ev);
                let a = Alert {
                    id: g.next_alert(),
                    ts: now_ms(),
                    screening: id,
                    subject,
                    old_level: old,
                    new_level: new,
                    reason: reason.clone(),
                    acked: None,
                };
                let ev = Event::AlertRaised(a.clone());
                events.push(ev.line());
                g.apply(ev);
                alerts.push(a);
            }
            (subjects.len() as u64, events, alerts)
        })
        .await
        .map_err(|e| Problem::internal(&e))?;
        if !events.is_empty() {
            let caller = Caller {
                tenant: tenant.to_string(),
                key: "server".into(),
                role: crate::registry::Role::Admin,
            };
            self.commit(
                &caller,
                "rescreen",
                &format!("{} alerts", alerts.len()),
                200,
                events,
            )
            .await?;
        }
        Ok((n, alerts))
    }
}

/// Rebuilds a tenant's entity → private tag index against `view`.
pub(crate) fn index_entities(view: &ChainView, t: &mut TenantState) {
    t.tags_by_entity.clear();
    for (id, tag) in &t.tags {
        if tag.chain != crate::tenant::ChainName::Bitcoin {
            continue; // no entities on account chains
        }
        if let Ok(r) = view.resolve(&tag.address) {
            if let Some((e, _)) = r.entity {
                t.tags_by_entity.entry(e.0).or_default().push(*id);
            }
        }
    }
}
