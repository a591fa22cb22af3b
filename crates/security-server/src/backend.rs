//! Calls from the provider's security server to the provider's own services (information
//! systems or adapter servers), with the time budget of TT-5.3.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::conf::{AccessGranted, ServerConf};
use crate::error::GatewayError;
use crate::transport::signing::SignatureVerified;

/// Largest answer accepted from a service.
const MAX_SERVICE_RESPONSE: usize = 64 * 1024 * 1024;

/// A pooled HTTP/1.1 client, and an HTTPS client trusting only the certificates of the
/// adapters this server keeps (TT-4.2), rebuilt when the configuration changes.
#[derive(Debug, Clone)]
pub struct Backend {
    client: Client<HttpConnector, Full<Bytes>>,
    https: std::sync::Arc<std::sync::Mutex<Option<(i64, reqwest::Client)>>>,
}

/// A service's answer.
#[derive(Debug)]
pub struct ServiceResponse {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

impl Default for Backend {
    fn default() -> Self {
        Self::new()
    }
}

impl Backend {
    /// A client with keep-alive connections.
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(60)).build(connector);
        Self { client, https: Default::default() }
    }

    /// The HTTPS client for configuration `conf`.
    fn https_client(&self, conf: &ServerConf) -> Result<reqwest::Client, GatewayError> {
        let mut cached = self.https.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((version, client)) = cached.as_ref()
            && *version == conf.version
        {
            return Ok(client.clone());
        }
        if conf.service_tls_certs.is_empty() {
            return Err(GatewayError::ServiceMalformedUrl(
                "an HTTPS service URL, but no adapter certificate is trusted (egov ss adapter connect --ca)".into(),
            ));
        }
        let mut certs = Vec::with_capacity(conf.service_tls_certs.len());
        for der in &conf.service_tls_certs {
            certs.push(
                reqwest::Certificate::from_der(der)
                    .map_err(|e| GatewayError::ServiceMalformedUrl(format!("a trusted adapter certificate: {e}")))?,
            );
        }
        let client = reqwest::Client::builder()
            .tls_certs_only(certs)
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GatewayError::ServiceMalformedUrl(format!("HTTPS client: {e}")))?;
        *cached = Some((conf.version, client.clone()));
        Ok(client)
    }

    /// Calls a provider's service at `service_url` (its base URL). Only a request whose
    /// signature verified (TT-2.2.1) and whose access right was checked (TT-2.2.3) can be
    /// sent: the two proofs are required here, so code that skips a check does not compile.
    /// A REST request goes to the path the access check saw (carried in `granted`), never to
    /// one the caller could build differently. HTTPS URLs are verified against `conf`'s
    /// trusted adapter certificates.
    #[allow(clippy::too_many_arguments)] // each is one part of the call; the proofs must stay separate arguments
    pub async fn call_service(
        &self,
        conf: &ServerConf,
        service_url: &str,
        granted: AccessGranted,
        _signature: &SignatureVerified,
        method: Method,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<ServiceResponse, GatewayError> {
        let url = match granted.rest_path() {
            Some(path) => {
                let url = format!("{}{}", service_url.trim_end_matches('/'), path.forwarded());
                // the checked path starts with '/' or '?': it cannot name another host, and
                // this stays true whatever the base URL looks like
                let host =
                    |u: &str| u.parse::<http::Uri>().ok().and_then(|u| u.authority().map(|a| a.as_str().to_owned()));
                if host(&url) != host(service_url) {
                    return Err(GatewayError::BadRequest("the request path would leave the service's host".into()));
                }
                url
            }
            None => service_url.to_owned(),
        };
        if !url.starts_with("https://") {
            return self.call(method, &url, headers, body, timeout).await;
        }
        let client = self.https_client(conf)?;
        let call = async {
            let response = client.request(method, &url).headers(headers).body(body).send().await.map_err(|e| {
                tracing::warn!(%url, error = %e, "HTTPS service unreachable");
                GatewayError::ServiceUnreachable("the provider's service does not answer".into())
            })?;
            read_answer(&url, http::Response::from(response)).await
        };
        within(timeout, call).await
    }

    /// Fetches a service description (WSDL, OpenAPI) for the administrator who adds a
    /// service (`egov ss service add`): a GET to a URL they typed, never a message's path.
    pub async fn fetch_description(&self, url: &str, timeout: Duration) -> Result<ServiceResponse, GatewayError> {
        self.call(Method::GET, url, HeaderMap::new(), Bytes::new(), timeout).await
    }

    /// Sends a request over plain HTTP and reads the whole answer within `timeout`.
    async fn call(
        &self,
        method: Method,
        url: &str,
        headers: HeaderMap,
        body: Bytes,
        timeout: Duration,
    ) -> Result<ServiceResponse, GatewayError> {
        let uri: http::Uri = url.parse().map_err(|e| GatewayError::ServiceMalformedUrl(format!("'{url}': {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(GatewayError::ServiceMalformedUrl(format!("'{url}' is not an http:// URL")));
        }
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Full::new(body))
            .map_err(|e| GatewayError::ServiceMalformedUrl(e.to_string()))?;
        *request.headers_mut() = headers;
        let call = async {
            let response = self.client.request(request).await.map_err(|e| {
                // the details name internal hosts: they go to the log, not to other members
                let source = std::error::Error::source(&e).map(ToString::to_string).unwrap_or_default();
                tracing::warn!(%url, error = %e, %source, "service unreachable");
                GatewayError::ServiceUnreachable("the provider's service does not answer".into())
            })?;
            read_answer(url, response).await
        };
        within(timeout, call).await
    }
}

/// Reads a service's whole answer, at most [`MAX_SERVICE_RESPONSE`] bytes.
async fn read_answer<B>(url: &str, response: http::Response<B>) -> Result<ServiceResponse, GatewayError>
where
    B: hyper::body::Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (parts, body) = response.into_parts();
    let body = http_body_util::Limited::new(body, MAX_SERVICE_RESPONSE)
        .collect()
        .await
        .map_err(|e| {
            tracing::warn!(%url, error = %e, "reading the service's answer failed");
            GatewayError::ServiceUnreachable("the provider's service broke off its answer".into())
        })?
        .to_bytes();
    Ok(ServiceResponse { status: parts.status, headers: parts.headers, body })
}

/// `call` within the service's time budget (TT-5.3).
async fn within(
    timeout: Duration,
    call: impl std::future::Future<Output = Result<ServiceResponse, GatewayError>>,
) -> Result<ServiceResponse, GatewayError> {
    tokio::time::timeout(timeout, call).await.map_err(|_| GatewayError::ServiceTimeout(timeout.as_millis() as u64))?
}
