//! One poller per security server: health now, and every operational record since the last
//! one stored (pages of up to 10,000, X-Road's limit). A server that cannot be reached, refuses
//! the token or answers something unreadable is shown as down with the reason.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use egov_store::Database;
use egov_xroad::opmon::{HealthData, OperationalData};
use serde::Serialize;

use crate::MonitorError;
use crate::config::{ServerEntry, StationConfig};
use crate::store::CounterKey;

/// Most records asked for in one page (X-Road's limit).
pub const PAGE_LIMIT: usize = 10_000;
/// Most pages fetched in one poll; the rest waits for the next poll, so that health stays fresh
/// while a long backlog is read.
pub const MAX_PAGES_PER_POLL: usize = 100;
/// How long one request to a security server may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long connecting to a security server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the station knows about one server.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerStatus {
    /// The server's last health data (kept while it is down, with `health_at_ms`).
    pub health: Option<HealthData>,
    /// When that health data was fetched (ms since the Unix epoch).
    pub health_at_ms: Option<i64>,
    /// When the last poll finished (ms since the Unix epoch).
    pub last_poll_ms: Option<i64>,
    /// When the last successful poll finished.
    pub last_success_ms: Option<i64>,
    /// Why the last poll failed, if it did.
    pub error: Option<String>,
    /// New records stored since the station started.
    pub records_collected: u64,
    /// The last record id stored.
    pub cursor: i64,
}

impl ServerStatus {
    /// Up: the last poll succeeded.
    pub fn up(&self) -> bool {
        self.last_poll_ms.is_some() && self.error.is_none()
    }
}

/// Shared by the pollers and the web handlers.
#[derive(Debug)]
pub struct StationState {
    /// The configuration.
    pub config: StationConfig,
    /// The database.
    pub db: Database,
    /// Status per server name.
    pub status: Mutex<BTreeMap<String, ServerStatus>>,
    /// Requests stored, by server, service, client and outcome (`egov_requests_total`).
    pub(crate) totals: Mutex<BTreeMap<CounterKey, u64>>,
    /// Moves whenever new records are stored (the statistics cache's key).
    pub(crate) generation: AtomicU64,
    pub(crate) cache: tokio::sync::Mutex<Option<Arc<crate::web::Window>>>,
    http: reqwest::Client,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A readable account of a failed HTTP request: the error and its causes.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", REQUEST_TIMEOUT.as_secs());
    }
    let mut out = String::new();
    let mut source: Option<&dyn std::error::Error> = Some(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

fn snippet(body: &str) -> String {
    let body = body.trim();
    let mut s: String = body.chars().take(200).collect();
    if s.len() < body.len() {
        s.push('…');
    }
    s
}

impl StationState {
    /// State for `config` over `db`.
    pub fn new(config: StationConfig, db: Database) -> Self {
        let status = config.servers.iter().map(|s| (s.name.clone(), ServerStatus::default())).collect();
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("egov-monitor/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Self {
            config,
            db,
            status: Mutex::new(status),
            totals: Mutex::new(BTreeMap::new()),
            generation: AtomicU64::new(0),
            cache: tokio::sync::Mutex::new(None),
            http,
        }
    }

    /// Reads what the database already holds: the request counters and every cursor.
    pub async fn load(&self) -> Result<(), MonitorError> {
        let totals = crate::store::totals(&self.db).await?;
        if let Ok(mut t) = self.totals.lock() {
            *t = totals;
        }
        for server in &self.config.servers {
            let cursor = crate::store::cursor(&self.db, &server.name).await?;
            if let Ok(mut s) = self.status.lock() {
                s.entry(server.name.clone()).or_default().cursor = cursor.after;
            }
        }
        Ok(())
    }

    /// A copy of every server's status.
    pub fn snapshot(&self) -> BTreeMap<String, ServerStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// A copy of the request counters.
    pub fn totals(&self) -> BTreeMap<CounterKey, u64> {
        self.totals.lock().map(|t| t.clone()).unwrap_or_default()
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, server: &ServerEntry, path: &str) -> Result<T, String> {
        let url = format!("{}{path}", server.url.trim_end_matches('/'));
        let response = self
            .http
            .get(&url)
            .bearer_auth(&server.token)
            .send()
            .await
            .map_err(|e| format!("unreachable: {}", describe(&e)))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| format!("reading the answer to {path}: {}", describe(&e)))?;
        match status.as_u16() {
            200 => serde_json::from_str(&body).map_err(|e| format!("unreadable answer to {path}: {e}")),
            401 => Err(format!("HTTP 401: the token is not accepted ({})", snippet(&body))),
            403 => Err(format!("HTTP 403: the token is not a monitor's ({})", snippet(&body))),
            other => Err(format!("HTTP {other} from {path}: {}", snippet(&body))),
        }
    }

    /// Polls `server` once: health, then the records after its cursor. Returns how many records
    /// were new.
    pub async fn poll(&self, server: &ServerEntry) -> Result<u64, String> {
        let health: HealthData = self.get(server, "/monitoring/v1/health").await?;
        let health_at = now_ms();
        let db_error = |e: MonitorError| format!("station database: {e}");
        let cursor = crate::store::cursor(&self.db, &server.name).await.map_err(db_error)?;
        match &cursor.server_id {
            Some(known) if *known != health.security_server_id => {
                return Err(format!(
                    "answers as {}, but the name {:?} belongs to {known}: give a different server a new name",
                    health.security_server_id, server.name
                ));
            }
            Some(_) => {}
            None => crate::store::set_server_id(&self.db, &server.name, &health.security_server_id, health_at)
                .await
                .map_err(db_error)?,
        }
        if let Ok(mut s) = self.status.lock() {
            let entry = s.entry(server.name.clone()).or_default();
            entry.health = Some(health);
            entry.health_at_ms = Some(health_at);
        }
        let mut after = cursor.after;
        let mut collected = 0u64;
        for _ in 0..MAX_PAGES_PER_POLL {
            let page: OperationalData =
                self.get(server, &format!("/monitoring/v1/operational?after={after}&limit={PAGE_LIMIT}")).await?;
            let last = page.records.iter().map(|r| r.record_id).max();
            let next = [Some(after), last, page.next_after].into_iter().flatten().max().unwrap_or(after);
            let new = crate::store::insert_page(&self.db, &server.name, &page.records, next, now_ms())
                .await
                .map_err(db_error)?;
            collected += new.len() as u64;
            if !new.is_empty() {
                if let Ok(mut totals) = self.totals.lock() {
                    for r in &new {
                        let key = (
                            server.name.clone(),
                            r.service.clone().unwrap_or_default(),
                            r.client.clone().unwrap_or_default(),
                            r.succeeded,
                        );
                        *totals.entry(key).or_default() += 1;
                    }
                }
                self.generation.fetch_add(1, Ordering::Relaxed);
            }
            if let Ok(mut s) = self.status.lock() {
                let entry = s.entry(server.name.clone()).or_default();
                entry.records_collected += new.len() as u64;
                entry.cursor = next;
            }
            // the last page, or a server that does not move on
            if page.next_after.is_none() || next <= after {
                break;
            }
            after = next;
        }
        Ok(collected)
    }

    /// Polls `server` once and records the outcome in its status.
    pub async fn poll_and_record(&self, server: &ServerEntry) {
        let result = self.poll(server).await;
        let now = now_ms();
        if let Ok(mut s) = self.status.lock() {
            let entry = s.entry(server.name.clone()).or_default();
            entry.last_poll_ms = Some(now);
            match result {
                Ok(_) => {
                    entry.last_success_ms = Some(now);
                    if entry.error.take().is_some() {
                        tracing::info!(server = %server.name, "security server answers again");
                    }
                }
                Err(e) => {
                    if entry.error.as_ref() != Some(&e) {
                        tracing::warn!(server = %server.name, error = %e, "monitoring poll failed");
                    }
                    entry.error = Some(e);
                }
            }
        }
    }

    /// Polls every server once, one after the other, recording each outcome.
    pub async fn poll_all(&self) {
        for server in &self.config.servers {
            self.poll_and_record(server).await;
        }
    }

    /// Checks that `server` answers with this token, without storing anything: its health and
    /// at most one record.
    pub async fn check(&self, server: &ServerEntry) -> Result<HealthData, String> {
        let health: HealthData = self.get(server, "/monitoring/v1/health").await?;
        let _: OperationalData = self.get(server, "/monitoring/v1/operational?after=0&limit=1").await?;
        Ok(health)
    }
}

/// Starts one poller per server, each polling at once and then every `poll_interval_secs`.
pub fn spawn_all(state: Arc<StationState>) -> Vec<tokio::task::JoinHandle<()>> {
    let period = Duration::from_secs(state.config.poll_interval_secs);
    state
        .config
        .servers
        .iter()
        .cloned()
        .map(|server| {
            let state = state.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(period);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tick.tick().await;
                    state.poll_and_record(&server).await;
                }
            })
        })
        .collect()
}
