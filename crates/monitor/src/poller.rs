//! One poller per security server: health now, and every operational record since the last
//! one stored (pages of up to 10,000, X-Road's limit). A server that cannot be reached, or
//! refuses the token, is shown as down with the reason.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use egov_store::Database;
use egov_xroad::opmon::{HealthData, OperationalData};

use crate::MonitorError;
use crate::config::{ServerEntry, StationConfig};

/// What the station knows about one server.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServerStatus {
    /// The server's last health data.
    pub health: Option<HealthData>,
    /// When the last poll finished (ms since the Unix epoch).
    pub last_poll_ms: Option<i64>,
    /// Why the last poll failed, if it did.
    pub error: Option<String>,
    /// New records stored since the station started.
    pub records_collected: u64,
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
    http: reqwest::Client,
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

impl StationState {
    /// State for `config` over `db`.
    pub fn new(config: StationConfig, db: Database) -> Self {
        let status = config.servers.iter().map(|s| (s.name.clone(), ServerStatus::default())).collect();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_default();
        Self { config, db, status: Mutex::new(status), http }
    }

    /// A copy of every server's status.
    pub fn snapshot(&self) -> BTreeMap<String, ServerStatus> {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, server: &ServerEntry, path: &str) -> Result<T, String> {
        let url = format!("{}{path}", server.url.trim_end_matches('/'));
        let response =
            self.http.get(&url).bearer_auth(&server.token).send().await.map_err(|e| format!("unreachable: {e}"))?;
        let status = response.status();
        let body = response.text().await.map_err(|e| format!("reading the answer: {e}"))?;
        match status.as_u16() {
            200 => serde_json::from_str(&body).map_err(|e| format!("unreadable answer from {path}: {e}")),
            401 => Err(format!("HTTP 401: the token is not accepted ({})", body.trim())),
            403 => Err(format!("HTTP 403: the token is not a monitor's ({})", body.trim())),
            other => Err(format!("HTTP {other} from {path}: {}", body.trim().chars().take(200).collect::<String>())),
        }
    }

    /// Polls `server` once.
    pub async fn poll(&self, server: &ServerEntry) -> Result<u64, String> {
        let health: HealthData = self.get(server, "/monitoring/v1/health").await?;
        let mut after = crate::store::cursor(&self.db, &server.name).await.map_err(|e| e.to_string())?;
        let mut collected = 0u64;
        loop {
            let page: OperationalData =
                self.get(server, &format!("/monitoring/v1/operational?after={after}&limit=10000")).await?;
            collected +=
                crate::store::insert(&self.db, &server.name, &page.records).await.map_err(|e| e.to_string())?;
            match (page.next_after, page.records.last()) {
                (Some(next), _) if next > after => after = next,
                _ => break,
            }
        }
        if let Ok(mut s) = self.status.lock() {
            let entry = s.entry(server.name.clone()).or_default();
            entry.health = Some(health);
            entry.records_collected += collected;
        }
        Ok(collected)
    }

    /// Polls every server once, recording each outcome.
    pub async fn poll_all(&self) {
        for server in &self.config.servers {
            let result = self.poll(server).await;
            if let Ok(mut s) = self.status.lock() {
                let entry = s.entry(server.name.clone()).or_default();
                entry.last_poll_ms = Some(now_ms());
                entry.error = result.err();
                if let Some(e) = &entry.error {
                    tracing::warn!(server = %server.name, error = %e, "monitoring poll failed");
                }
            }
        }
    }
}

/// Starts polling every `poll_interval_secs`.
pub fn spawn_all(state: Arc<StationState>) -> Vec<tokio::task::JoinHandle<()>> {
    vec![tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(state.config.poll_interval_secs));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            state.poll_all().await;
        }
    })]
}

/// Polls once now (for `egov monitor usage` and tests).
pub async fn poll_once(state: &StationState) -> Result<(), MonitorError> {
    state.poll_all().await;
    Ok(())
}
