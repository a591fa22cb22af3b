//! The adapter's listener (HTTP or HTTPS, TT-4.2) and its routes:
//!
//! | route | what |
//! |---|---|
//! | `POST /soap` | X-Road SOAP requests for every mapped service |
//! | `GET /wsdl` | the generated WSDL |
//! | `GET|POST /rest/{service}` | the REST side of a service |
//! | `GET /openapi/{service}` | its generated OpenAPI description |
//! | `GET|PUT /admin/mapping` | the mapping, read or replaced by the security server (TT-4.1.4.4) |
//! | `GET /health` | liveness |
//!
//! A mapping pushed to `PUT /admin/mapping` is validated whole before anything changes. When
//! it moves the adapter to another address or protocol, the new listener is bound first; if
//! that fails the old mapping stays in force and the push is refused.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::AdapterError;
use crate::backend::Caller;
use crate::front::Runtime;
use crate::mapping::{self, AdapterMapping, TlsFiles};

/// Largest request accepted (X-Road requests are at most 10 KB, TT-5.2; mapping files are
/// larger).
const MAX_REQUEST: usize = 1024 * 1024;

type Body = Full<Bytes>;

/// How an adapter is started.
#[derive(Debug, Clone, Default)]
pub struct AdapterOptions {
    /// The mapping file: read at start, rewritten when the security server pushes a new one.
    pub file: Option<PathBuf>,
    /// Token the security server presents to `/admin/mapping`; without one the admin
    /// routes are closed.
    pub admin_token: Option<String>,
}

struct Shared {
    runtime: RwLock<Arc<Runtime>>,
    listener: Mutex<(SocketAddr, watch::Sender<bool>)>,
    file: Option<PathBuf>,
    admin_token: Option<[u8; 32]>,
    /// Serialises pushes: two at once could bind two listeners.
    push: tokio::sync::Mutex<()>,
}

/// A running adapter.
#[derive(Clone)]
pub struct RunningAdapter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RunningAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningAdapter").field("addr", &self.addr()).finish_non_exhaustive()
    }
}

impl RunningAdapter {
    /// Where it listens now.
    pub fn addr(&self) -> SocketAddr {
        self.shared.listener.lock().unwrap_or_else(|p| p.into_inner()).0
    }

    /// The mapping in force.
    pub fn runtime(&self) -> Arc<Runtime> {
        self.shared.runtime.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops listening and closes back-end connections.
    pub async fn stop(&self) {
        let _ = self.shared.listener.lock().unwrap_or_else(|p| p.into_inner()).1.send(true);
        self.runtime().close().await;
    }
}

/// Starts an adapter serving the mapping `text`.
pub async fn start(text: String, options: AdapterOptions) -> Result<RunningAdapter, AdapterError> {
    let name = options.file.as_ref().map_or("mapping".to_owned(), |f| f.display().to_string());
    let mut mapping = mapping::parse(&text, &name)?;
    let (listener, tls) = bind(&mapping).await?;
    let addr = listener.local_addr().map_err(|e| AdapterError::Start(e.to_string()))?;
    settle_port(&mut mapping, addr);
    let (stop, stopped) = watch::channel(false);
    let shared = Arc::new(Shared {
        runtime: RwLock::new(Arc::new(Runtime::new(mapping, text))),
        listener: Mutex::new((addr, stop)),
        file: options.file,
        admin_token: options.admin_token.map(|t| Sha256::digest(t.as_bytes()).into()),
        push: tokio::sync::Mutex::new(()),
    });
    spawn_serve(listener, tls, shared.clone(), stopped);
    tracing::info!(%addr, "adapter listening");
    Ok(RunningAdapter { shared })
}

/// `listen` with port 0 means "any free port": the mapping records the port bound, and the
/// base URL derived from `listen` follows it.
fn settle_port(mapping: &mut AdapterMapping, bound: SocketAddr) {
    if mapping.listen.port() == 0 {
        let scheme = if mapping.tls.is_some() { "https" } else { "http" };
        if mapping.base_url == format!("{scheme}://{}", mapping.listen) {
            mapping.base_url = format!("{scheme}://{bound}");
        }
        mapping.listen = bound;
    }
}

/// Binds the mapping's address, with its TLS configuration when it serves HTTPS.
async fn bind(mapping: &AdapterMapping) -> Result<(TcpListener, Option<Arc<rustls::ServerConfig>>), AdapterError> {
    let tls = mapping.tls.as_ref().map(tls_config).transpose()?;
    let listener = TcpListener::bind(mapping.listen)
        .await
        .map_err(|e| AdapterError::Start(format!("cannot listen on {}: {e}", mapping.listen)))?;
    Ok((listener, tls))
}

fn tls_config(files: &TlsFiles) -> Result<Arc<rustls::ServerConfig>, AdapterError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.certificate)
        .and_then(|i| i.collect::<Result<Vec<_>, _>>())
        .map_err(|e| AdapterError::Start(format!("certificate {}: {e}", files.certificate.display())))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| AdapterError::Start(format!("key {}: {e}", files.key.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| AdapterError::Start(format!("TLS: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Spawns the accept loop (a plain function: a push spawns a new loop from inside a
/// request, and the loop's future must not contain itself).
fn spawn_serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: Arc<Shared>,
    stopped: watch::Receiver<bool>,
) {
    tokio::spawn(serve(listener, tls, shared, stopped));
}

async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => { tracing::warn!(error = %e, "accept failed"); tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
            _ = stopped.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let acceptor = acceptor.clone();
        let mut conn_stop = stopped.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(&shared, req).await) }
            });
            let builder = {
                let mut b = hyper::server::conn::http1::Builder::new();
                b.timer(TokioTimer::new()).header_read_timeout(Duration::from_secs(10));
                b
            };
            macro_rules! drive {
                ($io:expr) => {{
                    let conn = builder.serve_connection(TokioIo::new($io), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        res = conn.as_mut() => { if let Err(e) = res { tracing::debug!(error = %e, "connection ended"); } }
                        _ = conn_stop.changed() => {
                            conn.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
                        }
                    }
                }};
            }
            match acceptor {
                None => drive!(stream),
                Some(acceptor) => match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await {
                    Ok(Ok(tls)) => drive!(tls),
                    _ => tracing::debug!("TLS handshake failed"),
                },
            }
        });
    }
}

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

fn header(req: &Request<Incoming>, name: &str) -> Option<String> {
    req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

async fn route(shared: &Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let runtime = shared.runtime.read().unwrap_or_else(|p| p.into_inner()).clone();
    let path = req.uri().path().trim_end_matches('/').to_owned();
    let query = req.uri().query().map(str::to_owned);
    let method = req.method().clone();
    let caller = Caller {
        client: header(&req, egov_xroad::rest::HEADER_CLIENT),
        message_id: header(&req, egov_xroad::rest::HEADER_ID),
        user_id: header(&req, egov_xroad::rest::HEADER_USER_ID),
    };
    let authorised = authorised(shared, &req);
    let body = match Limited::new(req.into_body(), MAX_REQUEST).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            let e =
                AdapterError::BadRequest(format!("the request is unreadable or larger than {} KiB", MAX_REQUEST >> 10));
            return reply(400, "application/json", e.fault().to_rest_json());
        }
    };
    const XML: &str = "text/xml; charset=utf-8";
    const JSON: &str = "application/json";
    match (&method, path.as_str()) {
        (&Method::POST, "/soap") => reply(200, XML, runtime.soap(&body).await),
        (&Method::GET, "/wsdl") => reply(200, XML, runtime.wsdl.clone()),
        (&Method::GET, "/health") => reply(200, "text/plain", "ok"),
        (_, p) if p.starts_with("/rest/") => {
            let (status, json) =
                runtime.rest(method.as_str(), &p["/rest/".len()..], query.as_deref(), caller, &body).await;
            reply(status, JSON, json)
        }
        (&Method::GET, p) if p.starts_with("/openapi/") => match runtime.openapi(&p["/openapi/".len()..]) {
            Some(doc) => reply(200, JSON, doc.to_string()),
            None => {
                reply(404, JSON, AdapterError::UnknownService(p["/openapi/".len()..].into()).fault().to_rest_json())
            }
        },
        (_, "/admin/mapping") if !authorised => {
            reply(401, "text/plain; charset=utf-8", "the admin routes need the security server's adapter token\n")
        }
        (&Method::GET, "/admin/mapping") => reply(200, "application/toml; charset=utf-8", runtime.text.clone()),
        (&Method::PUT, "/admin/mapping") => match std::str::from_utf8(&body) {
            Err(_) => reply(400, "text/plain; charset=utf-8", "the mapping is not UTF-8\n"),
            Ok(text) => match replace(shared, text.to_owned()).await {
                Ok(addr) => {
                    let base_url = shared.runtime.read().unwrap_or_else(|p| p.into_inner()).mapping.base_url.clone();
                    let answer = serde_json::json!({"applied": true, "listen": addr.to_string(), "base_url": base_url});
                    reply(200, JSON, answer.to_string())
                }
                Err(e) => reply(400, "text/plain; charset=utf-8", format!("{e}\n")),
            },
        },
        _ => reply(404, "text/plain", "not found\n"),
    }
}

fn authorised(shared: &Shared, req: &Request<Incoming>) -> bool {
    let Some(expected) = &shared.admin_token else { return false };
    let given = header(req, "authorization").unwrap_or_default();
    let token = given.strip_prefix("Bearer ").unwrap_or("");
    // comparing digests: the time taken says nothing about the token
    let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
    !token.is_empty() && &digest == expected
}

/// Applies a pushed mapping: validated, a new listener bound if the address or protocol
/// changed (TT-4.2), the file rewritten, then swapped in. Returns the address in force.
async fn replace(shared: &Arc<Shared>, text: String) -> Result<SocketAddr, AdapterError> {
    let _one_at_a_time = shared.push.lock().await;
    let name = shared.file.as_ref().map_or("pushed mapping".to_owned(), |f| f.display().to_string());
    let mut new = mapping::parse(&text, &name)?;
    let current = shared.runtime.read().unwrap_or_else(|p| p.into_inner()).clone();
    let current_addr = shared.listener.lock().unwrap_or_else(|p| p.into_inner()).0;
    // port 0 asks for any port, which the current one is when the host is the same
    let same_place = new.listen == current.mapping.listen
        || (new.listen.port() == 0 && new.listen.ip() == current.mapping.listen.ip());
    let rebound = if !same_place || new.tls != current.mapping.tls {
        let (listener, tls) = bind(&new).await?;
        let addr = listener.local_addr().map_err(|e| AdapterError::Start(e.to_string()))?;
        settle_port(&mut new, addr);
        Some((addr, listener, tls))
    } else {
        new.listen = current.mapping.listen;
        new.base_url = current.mapping.base_url.clone();
        None
    };
    if let Some(file) = &shared.file {
        // a mapping names its databases' connection strings (passwords among them): the
        // owner's only, from creation on (issue 13, item 10)
        egov_pki::files::write_private(file, text.as_bytes())
            .map_err(|e| AdapterError::Start(format!("cannot save {}: {e}", file.display())))?;
    }
    let addr = match rebound {
        None => current_addr,
        Some((addr, listener, tls)) => {
            let (stop, stopped) = watch::channel(false);
            spawn_serve(listener, tls, shared.clone(), stopped);
            let (_, old_stop) =
                std::mem::replace(&mut *shared.listener.lock().unwrap_or_else(|p| p.into_inner()), (addr, stop));
            // the old listener stops accepting; its open connections finish their answers
            // (this push's among them) and close
            let _ = old_stop.send(true);
            tracing::info!(%addr, "adapter moved");
            addr
        }
    };
    *shared.runtime.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Runtime::new(new, text));
    tokio::spawn(async move { current.close().await });
    Ok(addr)
}

/// Pushes a mapping to a running adapter's admin route (the security server's side of
/// TT-4.1.4.4). `ca_pem` is the adapter's HTTPS certificate (or its CA) when it serves HTTPS.
pub async fn push(base_url: &str, token: &str, text: &str, ca_pem: Option<&[u8]>) -> Result<String, AdapterError> {
    let mut builder = reqwest::Client::builder().timeout(Duration::from_secs(10));
    if let Some(pem) = ca_pem {
        let cert = reqwest::Certificate::from_pem(pem)
            .map_err(|e| AdapterError::Start(format!("adapter certificate: {e}")))?;
        builder = builder.tls_certs_only([cert]);
    }
    let client = builder.build().map_err(|e| AdapterError::Start(e.to_string()))?;
    let response = client
        .put(format!("{}/admin/mapping", base_url.trim_end_matches('/')))
        .bearer_auth(token)
        .header(reqwest::header::CONTENT_TYPE, "application/toml")
        .body(text.to_owned())
        .send()
        .await
        .map_err(|e| AdapterError::Start(format!("the adapter at {base_url} does not answer: {e}")))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        Err(AdapterError::Mapping(format!(
            "the adapter refused the mapping (HTTP {}): {}",
            status.as_u16(),
            body.trim()
        )))
    }
}
