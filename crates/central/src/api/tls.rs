//! The admin listener: HTTPS with a client certificate from the Certification Centre
//! required. Who the caller is (the operator, or a registered security server reporting an
//! incident) comes from that certificate, never from anything the caller says.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use egov_pki::{PrivateKey, TrustStore};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
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
///
/// axum's accept loop takes one connection at a time, so the handshake must not happen in
/// [`accept`](axum::serve::Listener::accept): one silent TCP connection would stall the
/// admin API for the whole handshake timeout, repeatably (issue 13, item 6). Connections
/// are accepted by a task of their own; each handshake runs in its own task, at most
/// [`MAX_HANDSHAKES`] at once and within [`HANDSHAKE_TIMEOUT`]; one address holds at most
/// [`MAX_CONNECTIONS_PER_ADDRESS`] connections (in handshake or established) at a time.
/// Finished handshakes reach `accept` through a channel.
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(AdminConnection, Peer)>,
    acceptor_task: tokio::task::AbortHandle,
}

impl std::fmt::Debug for TlsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsListener").field("addr", &self.local).finish()
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // the accepting task owns the TCP listener: the port is released with it
        self.acceptor_task.abort();
    }
}

/// A handshake must finish within this time, or the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Handshakes in progress at once; a connection beyond this is closed at once.
pub const MAX_HANDSHAKES: usize = 256;

/// Connections one IP address may hold open at once (the operator's tools and a few
/// security servers reporting incidents need far fewer); more are closed at once, so one
/// address cannot take every handshake slot.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 64;

/// Open connections per IP address.
#[derive(Debug, Default)]
struct PerAddress(Mutex<HashMap<IpAddr, usize>>);

impl PerAddress {
    /// Counts a new connection from `ip`, unless it already has the maximum.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddressSlot> {
        let mut counts = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(ip).or_insert(0);
        if *n >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(AddressSlot { counts: self.clone(), ip })
    }
}

/// One connection's place in its address's count, given back when the connection ends.
#[derive(Debug)]
struct AddressSlot {
    counts: Arc<PerAddress>,
    ip: IpAddr,
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// An admin connection after its handshake; it holds its address's slot until closed.
#[derive(Debug)]
pub struct AdminConnection {
    tls: TlsStream<TcpStream>,
    _slot: AddressSlot,
}

impl AsyncRead for AdminConnection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_read(cx, buf)
    }
}

impl AsyncWrite for AdminConnection {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tls).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().tls).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.tls.is_write_vectored()
    }
}

impl TlsListener {
    /// Wraps `tcp` with a TLS server presenting `cert_der`/`key`, trusting client
    /// certificates issued by `ca_certs`, and starts accepting (call it inside a Tokio
    /// runtime).
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
        let local = tcp.local_addr().map_err(|e| e.to_string())?;
        let (ready_tx, ready) = mpsc::channel(64);
        let task = tokio::spawn(accept_connections(tcp, TlsAcceptor::from(Arc::new(config)), ready_tx));
        Ok(Self { local, ready, acceptor_task: task.abort_handle() })
    }
}

/// Accepts TCP connections and starts one handshake task per connection, within the
/// limits; stops when the listener is dropped.
async fn accept_connections(tcp: TcpListener, acceptor: TlsAcceptor, ready: mpsc::Sender<(AdminConnection, Peer)>) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    let per_address = Arc::new(PerAddress::default());
    loop {
        let (stream, addr) = match tcp.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "admin listener: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(slot) = per_address.admit(addr.ip()) else {
            tracing::info!(%addr, limit = MAX_CONNECTIONS_PER_ADDRESS, "admin listener: too many connections from this address");
            continue;
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            tracing::warn!(%addr, limit = MAX_HANDSHAKES, "admin listener: too many handshakes in progress");
            continue;
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
            drop(permit);
            match handshake {
                Ok(Ok(tls)) => {
                    let cert =
                        tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| Arc::new(c.to_vec()));
                    // the listener is gone when this fails: the connection just closes
                    let _ = ready.send((AdminConnection { tls, _slot: slot }, Peer { addr, cert })).await;
                }
                Ok(Err(e)) => tracing::info!(%addr, error = %e, "admin listener: TLS handshake refused"),
                Err(_) => tracing::info!(%addr, "admin listener: TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = AdminConnection;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // the accepting task ended (only when aborted): no connection will come
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer { addr: self.local, cert: None })
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
