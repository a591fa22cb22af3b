//! The security server: each agency's gateway node (TT-2.2, TT-5, TT-6.2–6.3).
//!
//! A request from an agency's information system arrives on the **client side**
//! ([`client_proxy`]), is validated, signed and sent over mutual TLS ([`transport`]) to the
//! provider's security server, whose **server side** ([`server_proxy`]) authenticates the
//! peer, verifies the signature, refuses replays, checks access rights ([`conf`]) and calls
//! the service ([`backend`]); the signed answer travels back and is checked against the
//! request before the client sees it. ARCHITECTURE.md walks this path file by file.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod adapters;
pub mod backend;
pub mod central_http;
pub mod client_proxy;
pub mod conf;
pub mod conf_client;
pub mod enrolment;
pub mod error;
pub mod gateway;
pub mod http;
pub mod incidents;
pub mod monitoring;
pub mod observe;
pub mod refusals;
pub mod server_files;
pub mod server_proxy;
pub mod shared;
pub mod transport;
pub mod tsa;
pub mod users;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use conf::{ConfStore, LiveConf};
pub use error::GatewayError;
pub use gateway::{DirectoryHandle, Gateway, Timeouts};
pub use transport::tls::ServerKeys;

/// How to run one security server.
#[derive(Debug, Clone)]
pub struct Settings {
    /// This server's identity.
    pub id: egov_xroad::SecurityServerId,
    /// Where information systems connect (plain HTTP, X-Road's port 8080).
    pub client_listen: SocketAddr,
    /// Where other security servers connect (mutual TLS, X-Road's port 5500).
    pub peer_listen: SocketAddr,
    /// Keys and certificates.
    pub keys: ServerKeys,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// How often to look for configuration changes.
    pub conf_poll: Duration,
    /// Downloads the signed global configuration (`None`: the directory is managed by the
    /// caller, as in tests that build a federation in-process).
    pub conf_client: Option<conf_client::ConfClient>,
    /// The message log (TT-2.2.2); `None` runs without one (tests and baselines only).
    pub message_log: Option<egov_msglog::MessageLog>,
    /// Where the monitoring-only interface listens (TT-2.6), if anywhere.
    pub monitoring_listen: Option<SocketAddr>,
    /// Holders of monitoring and archive-reading tokens.
    pub users: users::UsersSource,
}

/// A started security server.
#[derive(Debug)]
pub struct RunningServer {
    /// The shared state (for tests and the demo).
    pub gateway: Arc<Gateway>,
    /// Bound client-side address.
    pub client_addr: SocketAddr,
    /// Bound peer-side address.
    pub peer_addr: SocketAddr,
    /// Address of the monitoring interface, when it runs.
    pub monitoring_addr: Option<SocketAddr>,
    shutdown: http::ShutdownTrigger,
    /// Listeners: drained on stop.
    tasks: Vec<JoinHandle<()>>,
    /// Followers of configuration changes: aborted on stop.
    background: Vec<JoinHandle<()>>,
}

/// Errors starting a server.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A listener could not bind.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Configuration could not be loaded.
    #[error(transparent)]
    Conf(#[from] conf::ConfError),
    /// TLS set-up failed.
    #[error("TLS configuration: {0}")]
    Tls(String),
    /// The token holders could not be read.
    #[error("token holders: {0}")]
    Users(String),
    /// Other start-up failure.
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

/// Starts a security server on the current runtime, binding the addresses in `settings`.
pub async fn start(
    settings: Settings,
    store: ConfStore,
    directory: DirectoryHandle,
) -> Result<RunningServer, StartError> {
    let client_listener = TcpListener::bind(settings.client_listen)
        .await
        .map_err(|source| StartError::Bind { addr: settings.client_listen, source })?;
    let peer_listener = TcpListener::bind(settings.peer_listen)
        .await
        .map_err(|source| StartError::Bind { addr: settings.peer_listen, source })?;
    start_on(settings, client_listener, peer_listener, store, directory).await
}

/// Starts a security server on listeners bound by the caller (who may need the peer address
/// for the federation directory before the server exists).
pub async fn start_on(
    settings: Settings,
    client_listener: TcpListener,
    peer_listener: TcpListener,
    store: ConfStore,
    directory: DirectoryHandle,
) -> Result<RunningServer, StartError> {
    // the owner member is always a client of its own server (it makes /wsdl and meta calls)
    store.add_client(settings.id.owner()).await?;
    let live = LiveConf::new(store.load().await?);
    let dir = directory.get();
    let tls = transport::tls::server_config(&settings.keys, dir.ca_certs_der())
        .map_err(|e| StartError::Tls(e.to_string()))?;
    let mut gateway =
        Gateway::new(settings.id.clone(), settings.keys.clone(), directory, live.clone(), settings.timeouts.clone())?;
    gateway.msglog = settings.message_log.clone();
    gateway.users.set(settings.users.load().map_err(StartError::Users)?);
    let gateway = Arc::new(gateway);
    let monitoring_listener = match settings.monitoring_listen {
        Some(addr) => Some(TcpListener::bind(addr).await.map_err(|source| StartError::Bind { addr, source })?),
        None => None,
    };
    let client_addr =
        client_listener.local_addr().map_err(|source| StartError::Bind { addr: settings.client_listen, source })?;
    let peer_addr =
        peer_listener.local_addr().map_err(|source| StartError::Bind { addr: settings.peer_listen, source })?;

    let (trigger, shutdown) = http::shutdown_pair();
    let mut tasks = Vec::new();
    let g = gateway.clone();
    tasks.push(tokio::spawn(http::serve_http1(
        client_listener,
        move |req, peer| client_proxy::handle(g.clone(), req, peer),
        settings.timeouts.client_header,
        shutdown.clone(),
    )));
    let mut monitoring_addr = None;
    if let Some(listener) = monitoring_listener {
        monitoring_addr = listener.local_addr().ok();
        let g = gateway.clone();
        tasks.push(tokio::spawn(http::serve_http1(
            listener,
            move |req, _| {
                let g = g.clone();
                async move { monitoring::handle(&g, req).await }
            },
            settings.timeouts.client_header,
            shutdown.clone(),
        )));
    }
    let g = gateway.clone();
    tasks.push(tokio::spawn(http::serve_tls_h2(
        peer_listener,
        tls,
        move |req, cert| server_proxy::handle(g.clone(), req, cert),
        shutdown,
    )));
    let mut background = vec![tokio::spawn(live.follow(store, settings.conf_poll))];
    // a token removed with `egov ss user remove` stops working while the server runs
    if let users::UsersSource::File(path) = &settings.users {
        background.push(tokio::spawn(users::follow(gateway.users.clone(), path.clone(), users::FOLLOW_INTERVAL)));
    }
    // the first staple before anything is sent (the loop below keeps it fresh)
    if let Err(e) = gateway.stapler.refresh(&gateway.directory).await {
        tracing::warn!(error = %e, "no OCSP response yet; peers refuse this server's messages until one arrives");
    }
    background.push(tokio::spawn(gateway.stapler.clone().run_after(gateway.directory.clone())));
    if let Some(client) = settings.conf_client {
        background.push(tokio::spawn(client.follow(gateway.clone())));
    }
    if let Some(log) = &gateway.msglog {
        if gateway.directory.get().conf().services.tsa_url.is_some() {
            background.push(log.spawn_timestamper(Arc::new(tsa::HttpTsa::new(gateway.directory.clone()))));
        } else {
            tracing::warn!("the federation names no time-stamping authority: messages are logged but not time-stamped");
        }
        background.push(log.spawn_maintenance());
    }
    tracing::info!(server = %settings.id, client = %client_addr, peer = %peer_addr, "security server started");
    Ok(RunningServer { gateway, client_addr, peer_addr, monitoring_addr, shutdown: trigger, tasks, background })
}

impl RunningServer {
    /// Stops accepting, lets open exchanges finish (up to 5 s), and ends the tasks.
    pub async fn stop(self) {
        self.shutdown.trigger();
        for b in self.background {
            b.abort();
        }
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(6), t).await;
        }
    }
}
