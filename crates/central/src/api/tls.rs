//! The admin listener: HTTPS with a client certificate from the Certification Centre
//! required. Who the caller is (the operator, or a registered security server reporting an
//! incident) comes from that certificate, never from anything the caller says.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use egov_pki::{PrivateKey, TrustStore};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The remote end of an admin connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its address.
    pub addr: SocketAddr,
    /// Its client certificate (DER), checked against the CA during the handshake.
    pub cert: Option<Arc<Vec<u8>>>,
}

impl Connected<IncomingStream<'_, TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener that completes a TLS handshake (client certificate required) before it
/// hands a connection to the HTTP server.
pub struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").field("addr", &self.tcp.local_addr().ok()).finish()
    }
}

/// A handshake must finish within this time, or the connection is dropped (handshakes run
/// one at a time on this low-traffic port).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

impl TlsListener {
    /// Wraps `tcp` with a TLS server presenting `cert_der`/`key`, trusting client
    /// certificates issued by `ca_certs`.
    pub fn new(tcp: TcpListener, cert_der: Vec<u8>, key: &PrivateKey, ca_certs: &[Vec<u8>]) -> Result<Self, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        for ca in ca_certs {
            roots.add(CertificateDer::from(ca.clone())).map_err(|e| e.to_string())?;
        }
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .map_err(|e| e.to_string())?;
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from(cert_der)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der().to_vec())),
            )
            .map_err(|e| e.to_string())?;
        Ok(Self { tcp, acceptor: TlsAcceptor::from(Arc::new(config)) })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (tcp, addr) = match self.tcp.accept().await {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "admin listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let cert =
                        tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| Arc::new(c.to_vec()));
                    return (tls, Peer { addr, cert });
                }
                Ok(Err(e)) => tracing::info!(%addr, error = %e, "admin listener: TLS handshake refused"),
                Err(_) => tracing::info!(%addr, "admin listener: TLS handshake timed out"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer { addr: self.tcp.local_addr()?, cert: None })
    }
}

/// Who is calling, from the client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The operator's administrator (certificate profile `Operator`).
    Operator(String),
    /// A registered security server (its authentication certificate).
    SecurityServer(egov_xroad::SecurityServerId),
}

/// Identifies the caller from its certificate: chains to the CA, valid now, not revoked.
pub fn identify(trust: &TrustStore, peer: &Peer) -> Result<Caller, String> {
    let cert = peer.cert.as_ref().ok_or("no client certificate")?;
    let verified = trust.verify(cert, egov_pki::unix_now()).map_err(|e| format!("client certificate: {e}"))?;
    match &verified.profile {
        egov_pki::CertProfile::Operator(name) => Ok(Caller::Operator(name.clone())),
        egov_pki::CertProfile::Auth(server) => Ok(Caller::SecurityServer(server.clone())),
        other => Err(format!("a {other:?} certificate does not give access to the admin API")),
    }
}
