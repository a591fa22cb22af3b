//! HTTP plumbing shared by the listeners: bounded body reading, responses, accept loops.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::error::GatewayError;

/// Response body type used everywhere.
pub type Body = Full<Bytes>;

/// A response with a content type.
pub fn response(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(content_type) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

/// Reads a whole body, refusing more than `limit` bytes or a sender slower than `timeout`.
pub async fn read_body(body: Incoming, limit: usize, timeout: Duration) -> Result<Bytes, GatewayError> {
    let limited = Limited::new(body, limit);
    match tokio::time::timeout(timeout, limited.collect()).await {
        Err(_) => Err(GatewayError::RequestTimeout(timeout.as_millis() as u64)),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(GatewayError::RequestTooLarge { limit })
        }
        Ok(Err(e)) => Err(GatewayError::BadRequest(format!("cannot read the request body: {e}"))),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// A signal to stop listeners.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// The sending half of [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// Creates a shutdown pair.
pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Tells every listener to stop accepting.
    pub fn trigger(&self) {
        let _ = self.tx.send(true);
    }

    /// A receiver for another listener.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown { rx: self.tx.subscribe() }
    }
}

impl Shutdown {
    /// Completes when shutdown was requested.
    pub async fn wait(&mut self) {
        while !*self.rx.borrow() {
            if self.rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// The next connection (TCP_NODELAY set), or `None` once shutdown is requested. Accept
/// errors (e.g. out of file descriptors) are logged and retried after a pause.
async fn accept(listener: &TcpListener, shutdown: &mut Shutdown) -> Option<(tokio::net::TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            _ = shutdown.wait() => return None,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    return Some((stream, peer));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
}

/// Serves plain HTTP/1.1 on `listener` until shutdown: the information-system side.
/// Slow clients are cut off: headers must arrive within `header_timeout`.
pub async fn serve_http1<H, F>(listener: TcpListener, handler: H, header_timeout: Duration, mut shutdown: Shutdown)
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    loop {
        let Some((stream, peer)) = accept(&listener, &mut shutdown).await else { return };
        let handler = handler.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let fut = handler(req, peer);
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                res = conn.as_mut() => { if let Err(e) = res { tracing::debug!(error = %e, "client connection ended"); } }
                _ = conn_shutdown.wait() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
}

/// Serves HTTP/2 over TLS on `listener` until shutdown: the security-server side. The
/// handler also receives the peer's certificate (DER), present for every accepted
/// connection because the TLS configuration requires one.
pub async fn serve_tls_h2<H, F>(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    handler: H,
    mut shutdown: Shutdown,
) where
    H: Fn(Request<Incoming>, Arc<Vec<u8>>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Some((stream, peer)) = accept(&listener, &mut shutdown).await else { return };
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        let mut conn_shutdown = shutdown.clone();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::warn!(%peer, error = %e, "TLS handshake with a security server failed");
                    return;
                }
                Err(_) => {
                    tracing::warn!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let Some(cert) = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| Arc::new(c.to_vec()))
            else {
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let fut = handler(req, cert.clone());
                async move { Ok::<_, Infallible>(fut.await) }
            });
            let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .timer(TokioTimer::new())
                // a peer that stops answering PINGs is dropped instead of holding the socket
                .keep_alive_interval(Some(Duration::from_secs(30)))
                .keep_alive_timeout(Duration::from_secs(20))
                .max_concurrent_streams(256)
                .serve_connection(TokioIo::new(tls), service);
            tokio::pin!(conn);
            tokio::select! {
                res = conn.as_mut() => { if let Err(e) = res { tracing::debug!(error = %e, "peer connection ended"); } }
                _ = conn_shutdown.wait() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                }
            }
        });
    }
}

/// A decoded query parameter.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == name).then(|| percent_encoding::percent_decode_str(&v.replace('+', " ")).decode_utf8_lossy().into_owned())
    })
}
