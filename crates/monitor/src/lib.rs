//! The local monitoring station (TT-2.6, TT-2.7): collects operational and health data from
//! security servers through their monitoring-only interface (a `monitor` token; the data
//! types of egov_xroad::opmon have no field for contents), stores the operational records,
//! and shows them: a dashboard (az / en / ru), Prometheus metrics, and usage statistics per
//! service and month as CSV or JSON for the statistics bulletin. docs/monitoring.md.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod poller;
pub mod stats;
pub mod store;
mod text;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::{ServerEntry, StationConfig};

/// Why the station failed.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The configuration is invalid.
    #[error("monitoring station configuration: {0}")]
    Config(String),
    /// The database failed.
    #[error("monitoring station database: {0}")]
    Store(#[from] egov_store::StoreError),
    /// A query failed.
    #[error("monitoring station database: {0}")]
    Query(#[from] sqlx::Error),
    /// The listener could not be opened.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Bad input to a query.
    #[error("{0}")]
    Invalid(String),
}

/// A running station.
#[derive(Debug)]
pub struct RunningStation {
    /// Where the dashboard listens.
    pub addr: SocketAddr,
    /// Shared state.
    pub state: Arc<poller::StationState>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl RunningStation {
    /// Stops polling and serving (the database pool closes when the last handle goes).
    pub fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Stops polling and serving, waits for the tasks to end and closes the database.
    pub async fn shutdown(self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
        self.state.db.close().await;
    }
}

/// Opens the database, starts one poller per security server and the web listener (on
/// `listener` when given, else on the configuration's `listen`).
pub async fn start(
    config: StationConfig,
    listener: Option<tokio::net::TcpListener>,
) -> Result<RunningStation, MonitorError> {
    config.validate()?;
    let db = store::open(&config.database_url()).await?;
    let state = Arc::new(poller::StationState::new(config.clone(), db));
    state.load().await?;
    let listener = match listener {
        Some(l) => l,
        None => tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| MonitorError::Bind { addr: config.listen, source })?,
    };
    let addr = listener.local_addr().map_err(|source| MonitorError::Bind { addr: config.listen, source })?;
    let mut tasks = poller::spawn_all(state.clone());
    let app = web::router(state.clone());
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "monitoring station listener stopped");
        }
    }));
    tracing::info!(%addr, servers = config.servers.len(), "monitoring station started");
    Ok(RunningStation { addr, state, tasks })
}
