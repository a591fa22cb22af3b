//! Runs the central server: the public listener (configuration download, registration, and
//! the Certification Centre's OCSP responder and TSA when they are hosted here), the admin
//! listener, and the periodic configuration generation.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use egov_globalconf::{CentralServices, Limits};
use egov_pki::{PrivateKey, TrustStore};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::api::{CentralState, admin_router, public_router, tls::TlsListener};
use crate::publish::{PublishSettings, Publisher};
use crate::registration::CertificateIssuer;
use crate::{CentralError, CentralStore};

/// How the central server runs.
#[derive(Debug, Clone)]
pub struct CentralSettings {
    /// Instance identifier.
    pub instance: String,
    /// How long a configuration generation stays valid, seconds.
    pub validity_secs: i64,
    /// How often a new generation is made even without changes.
    pub generation_interval: Duration,
    /// Federation-wide limits published to every security server.
    pub limits: Limits,
    /// Base URL security servers use for the public listener; `http://<bound address>` if
    /// `None`.
    pub public_url: Option<String>,
}

/// The central server's keys.
#[derive(Debug, Clone)]
pub struct CentralKeys {
    /// Signs the global configuration.
    pub conf_signing: PrivateKey,
    /// TLS certificate of the admin listener (DER).
    pub admin_cert: Vec<u8>,
    /// Its key.
    pub admin_key: PrivateKey,
}

/// A running central server.
pub struct RunningCentral {
    /// Shared state (for the demo and tests).
    pub state: CentralState,
    /// Bound public address.
    pub public_addr: SocketAddr,
    /// Bound admin address.
    pub admin_addr: SocketAddr,
    /// Base URL of the public listener.
    pub public_url: String,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningCentral {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningCentral").field("public", &self.public_addr).field("admin", &self.admin_addr).finish()
    }
}

/// Starts the central server on listeners bound by the caller. `ca_routes` (the
/// Certification Centre's `/ocsp` and `/tsa`) are served on the public listener, and their
/// addresses published in the configuration, when given.
pub async fn start_on(
    public: TcpListener,
    admin: TcpListener,
    store: CentralStore,
    issuer: Arc<dyn CertificateIssuer>,
    keys: CentralKeys,
    settings: CentralSettings,
    ca_routes: Option<axum::Router>,
) -> Result<RunningCentral, CentralError> {
    let io = |e: std::io::Error| CentralError::Invalid(format!("listener: {e}"));
    let public_addr = public.local_addr().map_err(io)?;
    let admin_addr = admin.local_addr().map_err(io)?;
    let public_url = settings.public_url.clone().unwrap_or_else(|| format!("http://{public_addr}"));
    let base = public_url.trim_end_matches('/').to_owned();
    let services = CentralServices {
        ocsp_url: ca_routes.as_ref().map(|_| format!("{base}/ocsp")),
        tsa_url: ca_routes.as_ref().map(|_| format!("{base}/tsa")),
        incidents_url: Some(format!("https://{admin_addr}/api/v1/incidents")),
    };
    let publish_settings = PublishSettings {
        instance: settings.instance.clone(),
        validity_secs: settings.validity_secs,
        services,
        limits: settings.limits.clone(),
        public_url: base.clone(),
    };
    let ca_der: Vec<Vec<u8>> =
        issuer.ca_certs_pem().iter().filter_map(|pem| egov_pki::from_pem("CERTIFICATE", pem).ok()).flatten().collect();
    let trust = Arc::new(TrustStore::new(ca_der.clone()));
    trust.set_revoked(issuer.revoked_serials().await?);
    let publisher =
        Arc::new(Publisher::new(store.clone(), issuer.clone(), keys.conf_signing.clone(), publish_settings));
    publisher.publish_all().await?;
    let state = CentralState { store, publisher: publisher.clone(), issuer, trust };

    let (shutdown, watch) = tokio::sync::watch::channel(false);
    let stopped = |mut w: tokio::sync::watch::Receiver<bool>| async move {
        let _ = w.wait_for(|s| *s).await;
    };
    let mut public_app = public_router(state.clone());
    if let Some(ca) = ca_routes {
        public_app = public_app.merge(ca);
    }
    let admin_listener =
        TlsListener::new(admin, keys.admin_cert.clone(), &keys.admin_key, &ca_der).map_err(CentralError::Invalid)?;
    let admin_app = admin_router(state.clone()).into_make_service_with_connect_info::<crate::api::tls::Peer>();
    let mut tasks = Vec::new();
    let w = watch.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(public, public_app).with_graceful_shutdown(stopped(w)).await {
            tracing::error!(error = %e, "central public listener stopped");
        }
    }));
    let w = watch.clone();
    tasks.push(tokio::spawn(async move {
        if let Err(e) = axum::serve(admin_listener, admin_app).with_graceful_shutdown(stopped(w)).await {
            tracing::error!(error = %e, "central admin listener stopped");
        }
    }));
    let deadlines = tokio::spawn(enforce_deadlines(state.store.clone(), publisher.clone()));
    let generation = tokio::spawn(publisher.run(settings.generation_interval));
    tasks.push(deadlines);
    tasks.push(generation);
    tracing::info!(public = %public_addr, admin = %admin_addr, "central server started");
    Ok(RunningCentral { state, public_addr, admin_addr, public_url: base, shutdown, tasks })
}

/// How often the lifecycle deadlines are enforced.
const DEADLINE_CHECK: Duration = Duration::from_secs(3600);

/// Enforces the lifecycle deadlines as they pass (hourly; both steps are idempotent):
/// participants whose breach-notice deadline passed unremedied are disconnected (TT-3.6),
/// services whose announced retirement date came are retired (TT-3.12, TT-3.14); a change
/// is published at once.
async fn enforce_deadlines(store: CentralStore, publisher: Arc<Publisher>) {
    let mut tick = tokio::time::interval(DEADLINE_CHECK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = time::OffsetDateTime::now_utc();
        let disconnected = crate::lifecycle::participants::disconnect_overdue(&store, Some("deadline"), now).await;
        let retired = crate::lifecycle::services::retire_due(&store, now).await;
        match (&disconnected, &retired) {
            (Ok(d), Ok(r)) if d.is_empty() && r.is_empty() => continue,
            (Ok(d), Ok(r)) => tracing::info!(disconnected = d.len(), retired = r.len(), "lifecycle deadlines enforced"),
            _ => {
                for e in [disconnected.err(), retired.err()].into_iter().flatten() {
                    tracing::error!(error = %e, "lifecycle deadlines not enforced");
                }
            }
        }
        if let Err(e) = publisher.publish_all().await {
            tracing::error!(error = %e, "configuration not republished after deadlines");
        }
    }
}

impl RunningCentral {
    /// Stops the listeners (open requests finish, up to 5 s) and the generation task.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let mut tasks = self.tasks;
        // the last two are the periodic jobs: they hold no connection open
        for _ in 0..2 {
            if let Some(job) = tasks.pop() {
                job.abort();
            }
        }
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }
}
