//! Information-security incidents reported to the operator (TT-6.8): authentication
//! failures, access denials, signature failures, replays and blocked participants, with
//! time, parties and reason — never message contents.
//!
//! Reports leave the message path through a bounded queue: a refused request never waits
//! for the central server, and a flood of refusals (an attack) cannot exhaust memory; what
//! does not fit is counted and logged instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use egov_pki::TrustStore;
use egov_xroad::{ClientId, SecurityServerId, ServiceId};
use http_body_util::{BodyExt, Full};
use tokio::sync::mpsc;

use crate::error::GatewayError;
use crate::gateway::DirectoryHandle;
use crate::transport::tls::{self, ServerKeys};

/// Reports waiting to be sent.
const QUEUE: usize = 1024;

/// One incident.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IncidentReport {
    /// authentication-failure, access-denied, signature-failure, replay, blocked.
    pub kind: &'static str,
    /// When it happened (RFC 3339).
    pub occurred_at: String,
    /// This security server.
    pub reporter: SecurityServerId,
    /// The party the refusal is held against: the client a message came from once its
    /// signature verified, else the owner of the server that sent it.
    pub client_id: ClientId,
    /// The service called.
    pub service_id: Option<ServiceId>,
    /// The security server that sent the message, as its TLS certificate proved it.
    pub peer_server: Option<SecurityServerId>,
    /// The peer's address, when known.
    pub peer_address: Option<String>,
    /// What happened (the fault text).
    pub reason: String,
}

/// Whom a refused message is held against (TT-6.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accused {
    /// The client a message came from once its signature verified; before that, the owner
    /// of the security server that sent it (a name in a message proves nothing).
    pub client: ClientId,
    /// The service it called.
    pub service: Option<ServiceId>,
    /// The security server that sent it, as its TLS certificate proved it.
    pub peer_server: Option<SecurityServerId>,
    /// The client the message named, when that was not proven.
    pub claimed_client: Option<ClientId>,
}

/// The kind of incident a refusal is, if it is one.
pub fn kind_of(error: &GatewayError) -> Option<&'static str> {
    Some(match error {
        GatewayError::SslAuthenticationFailed(..) => "authentication-failure",
        GatewayError::AccessDenied(_) => "access-denied",
        GatewayError::InvalidSignatureValue(..)
        | GatewayError::InvalidCertPath(..)
        | GatewayError::IncorrectCertificate(..) => "signature-failure",
        GatewayError::ReplayedMessage(_) => "replay",
        GatewayError::MemberBlocked(..) => "blocked",
        _ => return None,
    })
}

/// Sends incident reports to the central server in the background.
#[derive(Debug)]
pub struct IncidentReporter {
    id: SecurityServerId,
    queue: mpsc::Sender<IncidentReport>,
    dropped: AtomicU64,
}

impl IncidentReporter {
    /// Starts the sender; reports go to the address the global configuration names
    /// (`services.incidents_url`), over TLS with this server's authentication certificate.
    pub fn start(
        id: SecurityServerId,
        keys: &ServerKeys,
        trust: Arc<TrustStore>,
        directory: DirectoryHandle,
    ) -> Result<Self, GatewayError> {
        let tls = tls::central_client_config(keys, trust).map_err(|e| GatewayError::Internal(e.to_string()))?;
        let (queue, mut rx) = mpsc::channel::<IncidentReport>(QUEUE);
        let connector = tokio_rustls::TlsConnector::from(tls);
        tokio::spawn(async move {
            while let Some(report) = rx.recv().await {
                let Some(url) = directory.get().conf().services.incidents_url.clone() else {
                    tracing::warn!(kind = report.kind, reason = %report.reason, "incident not reported: no central address");
                    continue;
                };
                if let Err(e) = send(&connector, &url, &report).await {
                    tracing::warn!(error = %e, kind = report.kind, reason = %report.reason, "incident not reported");
                }
            }
        });
        Ok(Self { id, queue, dropped: AtomicU64::new(0) })
    }

    /// Reports waiting to be sent.
    pub fn pending(&self) -> u64 {
        (self.queue.max_capacity() - self.queue.capacity()) as u64
    }

    /// Queues a report of `error` if it is an incident.
    pub fn report(&self, error: &GatewayError, accused: Accused) {
        let Some(kind) = kind_of(error) else { return };
        let reason = match &accused.claimed_client {
            Some(claimed) if *claimed != accused.client => {
                format!("{error} (the message named client {claimed}, which its signature did not prove)")
            }
            _ => error.to_string(),
        };
        let report = IncidentReport {
            kind,
            occurred_at: egov_pki::rfc3339(egov_pki::unix_now()),
            reporter: self.id.clone(),
            client_id: accused.client,
            service_id: accused.service,
            peer_server: accused.peer_server,
            peer_address: None,
            reason,
        };
        if self.queue.try_send(report).is_err() {
            let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_power_of_two() {
                tracing::error!(dropped = n, "incident queue full: reports dropped");
            }
        }
    }
}

async fn send(connector: &tokio_rustls::TlsConnector, url: &str, report: &IncidentReport) -> Result<(), String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("incidents address '{url}': {e}"))?;
    let authority = uri.authority().ok_or_else(|| format!("incidents address '{url}' has no host"))?.to_string();
    let call = async {
        let tcp = tokio::net::TcpStream::connect(&authority).await.map_err(|e| format!("connect {authority}: {e}"))?;
        let tls = connector.connect(tls::server_name(), tcp).await.map_err(|e| format!("TLS: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let body = serde_json::to_vec(report).map_err(|e| e.to_string())?;
        let request = http::Request::post(uri.path())
            .header(http::header::HOST, &authority)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| e.to_string())?;
        let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("central server answered HTTP {status}: {}", String::from_utf8_lossy(&body)))
        }
    };
    tokio::time::timeout(Duration::from_secs(10), call).await.map_err(|_| "timed out".to_string())?
}
