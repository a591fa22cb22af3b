//! Plain-HTTP calls to the central server's public listener: configuration download and
//! registration. Both carry content whose integrity does not depend on the channel (a
//! signed configuration; public keys and certificates checked against the anchor), as in
//! X-Road, so no TLS trust has to exist before the server is registered.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// An HTTP client for the central server.
#[derive(Debug, Clone)]
pub struct CentralHttp {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for CentralHttp {
    fn default() -> Self {
        Self::new()
    }
}

/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

impl CentralHttp {
    /// A new client.
    pub fn new() -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(3)));
        Self { client: Client::builder(TokioExecutor::new()).build(connector) }
    }

    /// `GET url`; the status and at most `limit` bytes of body.
    pub async fn get(&self, url: &str, limit: usize) -> Result<(http::StatusCode, Bytes), String> {
        self.send(http::Method::GET, url, None, limit).await
    }

    /// `POST url` with a JSON body.
    pub async fn post_json(
        &self,
        url: &str,
        body: &serde_json::Value,
        limit: usize,
    ) -> Result<(http::StatusCode, Bytes), String> {
        let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
        self.send(http::Method::POST, url, Some(Bytes::from(bytes)), limit).await
    }

    /// `POST url` with `body` of `content_type`.
    pub async fn post(
        &self,
        url: &str,
        content_type: &str,
        body: Vec<u8>,
        limit: usize,
    ) -> Result<(http::StatusCode, Bytes), String> {
        self.send_typed(http::Method::POST, url, Some((content_type, Bytes::from(body))), limit).await
    }

    async fn send(
        &self,
        method: http::Method,
        url: &str,
        body: Option<Bytes>,
        limit: usize,
    ) -> Result<(http::StatusCode, Bytes), String> {
        self.send_typed(method, url, body.map(|b| ("application/json", b)), limit).await
    }

    async fn send_typed(
        &self,
        method: http::Method,
        url: &str,
        body: Option<(&str, Bytes)>,
        limit: usize,
    ) -> Result<(http::StatusCode, Bytes), String> {
        let uri: http::Uri = url.parse().map_err(|e| format!("bad address '{url}': {e}"))?;
        if uri.scheme_str() != Some("http") {
            return Err(format!("'{url}': only http:// addresses are used for the central server's public services"));
        }
        let mut request = http::Request::builder().method(method).uri(uri);
        let body = match body {
            Some((content_type, bytes)) => {
                request = request.header(http::header::CONTENT_TYPE, content_type);
                bytes
            }
            None => Bytes::new(),
        };
        let request = request.body(Full::new(body)).map_err(|e| e.to_string())?;
        let call = async {
            let response = self.client.request(request).await.map_err(|e| format!("cannot reach {url}: {e}"))?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), limit)
                .collect()
                .await
                .map_err(|e| format!("reading the answer from {url}: {e}"))?;
            Ok((status, body.to_bytes()))
        };
        tokio::time::timeout(CALL_TIMEOUT, call).await.map_err(|_| format!("{url} did not answer in time"))?
    }
}
