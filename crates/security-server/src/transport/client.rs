//! Outgoing connections to other security servers: HTTP/2 over mutual TLS, pooled per peer
//! and reused (shared/DESIGN.md decision 5). The pool is keyed by the peer's full identity —
//! server id, address and pinned certificate hash — so a directory change never reuses a
//! connection to the wrong peer.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use super::message::{CONTENT_TYPE, PATH};
use super::tls::{ServerKeys, client_config, server_name};
use crate::error::{GatewayError, Origin};

/// Connections kept per peer: two, so both cores can encrypt at once.
const CONNECTIONS_PER_PEER: usize = 2;
/// Largest response accepted from a peer.
const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// Full identity of a peer connection.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerKey {
    /// The peer security server.
    pub server: egov_xroad::SecurityServerId,
    /// `host:port`.
    pub address: String,
    /// SHA-256 of its registered authentication certificate.
    pub auth_cert_sha256: [u8; 32],
}

struct Peer {
    tls: tokio_rustls::TlsConnector,
    connections: Mutex<Vec<SendRequest<Full<Bytes>>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer").finish_non_exhaustive()
    }
}

/// A response from a peer.
#[derive(Debug)]
pub struct PeerResponse {
    /// HTTP status.
    pub status: StatusCode,
    /// Content type.
    pub content_type: String,
    /// Body.
    pub body: Bytes,
}

/// The pool of peer connections.
#[derive(Debug)]
pub struct PeerPool {
    keys: ServerKeys,
    trust: Arc<egov_pki::TrustStore>,
    peers: std::sync::Mutex<HashMap<PeerKey, Arc<Peer>>>,
    connect_timeout: Duration,
}

impl PeerPool {
    /// A pool presenting `keys` and checking peers against `trust`.
    pub fn new(keys: ServerKeys, trust: Arc<egov_pki::TrustStore>) -> Self {
        Self { keys, trust, peers: Default::default(), connect_timeout: Duration::from_secs(5) }
    }

    /// Drops every pooled connection: after a directory change (revocations, new addresses
    /// or certificates) each peer is authenticated again on its next connection.
    pub fn clear(&self) {
        if let Ok(mut peers) = self.peers.lock() {
            peers.clear();
        }
    }

    fn peer(&self, key: &PeerKey) -> Result<Arc<Peer>, GatewayError> {
        let mut peers = self.peers.lock().map_err(|_| GatewayError::Internal("peer pool poisoned".into()))?;
        if let Some(p) = peers.get(key) {
            return Ok(p.clone());
        }
        let config = client_config(&self.keys, self.trust.clone(), key.server.clone(), key.auth_cert_sha256)
            .map_err(|e| GatewayError::Internal(format!("TLS client configuration: {e}")))?;
        let peer = Arc::new(Peer {
            tls: tokio_rustls::TlsConnector::from(config),
            connections: Mutex::new(Vec::new()),
            next: AtomicUsize::new(0),
        });
        peers.insert(key.clone(), peer.clone());
        Ok(peer)
    }

    async fn connect(&self, key: &PeerKey, peer: &Peer) -> Result<SendRequest<Full<Bytes>>, GatewayError> {
        let tcp = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&key.address))
            .await
            .map_err(|_| {
                GatewayError::NetworkError(format!("connecting to {} ({}) timed out", key.server, key.address))
            })?
            .map_err(|e| {
                GatewayError::NetworkError(format!("cannot connect to {} ({}): {e}", key.server, key.address))
            })?;
        let _ = tcp.set_nodelay(true);
        let tls = tokio::time::timeout(self.connect_timeout, peer.tls.connect(server_name(), tcp))
            .await
            .map_err(|_| GatewayError::NetworkError(format!("TLS handshake with {} timed out", key.server)))?
            .map_err(|e| {
                GatewayError::SslAuthenticationFailed(
                    Origin::ClientProxy,
                    format!("TLS authentication of security server {} failed: {e}", key.server),
                )
            })?;
        let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(Duration::from_secs(30))
            .handshake(TokioIo::new(tls))
            .await
            .map_err(|e| GatewayError::NetworkError(format!("HTTP/2 handshake with {} failed: {e}", key.server)))?;
        let server = key.server.clone();
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%server, error = %e, "connection to security server closed");
            }
        });
        Ok(send)
    }

    async fn sender(&self, key: &PeerKey) -> Result<SendRequest<Full<Bytes>>, GatewayError> {
        let peer = self.peer(key)?;
        let mut conns = peer.connections.lock().await;
        conns.retain(|c| !c.is_closed());
        if conns.len() < CONNECTIONS_PER_PEER {
            let fresh = self.connect(key, &peer).await?;
            conns.push(fresh.clone());
            return Ok(fresh);
        }
        let i = peer.next.fetch_add(1, Ordering::Relaxed) % conns.len();
        Ok(conns[i].clone())
    }

    /// Sends a transport message to `key` and waits up to `timeout` for the whole answer.
    pub async fn send(&self, key: &PeerKey, message: Vec<u8>, timeout: Duration) -> Result<PeerResponse, GatewayError> {
        let exchange = async {
            let mut sender = self.sender(key).await?;
            sender.ready().await.map_err(|e| classify(key, e))?;
            let request = Request::post(PATH)
                .header(header::CONTENT_TYPE, CONTENT_TYPE)
                .body(Full::new(Bytes::from(message)))
                .map_err(|e| GatewayError::Internal(e.to_string()))?;
            let response = sender.send_request(request).await.map_err(|e| classify(key, e))?;
            let status = response.status();
            let content_type =
                response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
            let body = http_body_util::Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| GatewayError::NetworkError(format!("reading the answer of {}: {e}", key.server)))?
                .to_bytes();
            Ok(PeerResponse { status, content_type, body })
        };
        tokio::time::timeout(timeout, exchange)
            .await
            .map_err(|_| GatewayError::ProviderTimeout(timeout.as_millis() as u64))?
    }
}

/// A TLS 1.3 client learns that its certificate was refused only on its first read after
/// the handshake (rust-crates.md pitfall 6): report that as an authentication failure.
fn classify(key: &PeerKey, e: hyper::Error) -> GatewayError {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    if text.contains("alert") || text.contains("certificate") {
        GatewayError::SslAuthenticationFailed(
            Origin::ClientProxy,
            format!("security server {} refused our authentication certificate: {text}", key.server),
        )
    } else {
        GatewayError::NetworkError(format!("exchange with {} failed: {text}", key.server))
    }
}
