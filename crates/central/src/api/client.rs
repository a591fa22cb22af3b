//! A client of the admin API: the `egov central` command and the demo use it. It presents
//! the operator's certificate and accepts only the admin listener's own certificate
//! (pinned by SHA-256 in the operator's credentials file), so no host name or public CA is
//! trusted.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use egov_pki::PrivateKey;
use http_body_util::{BodyExt, Full};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use serde::{Deserialize, Serialize};

/// What an operator needs to call the admin API (written by `egov central init`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorCredentials {
    /// `host:port` of the admin listener.
    pub admin_address: String,
    /// SHA-256 (hex) of the admin listener's certificate.
    pub admin_cert_sha256: String,
    /// The operator's certificate (PEM).
    pub cert_pem: String,
    /// The operator's key (PKCS#8 PEM).
    pub key_pem: String,
}

/// Calls the admin API.
#[derive(Clone)]
pub struct AdminClient {
    address: String,
    tls: tokio_rustls::TlsConnector,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient").field("address", &self.address).finish()
    }
}

/// An answer from the admin API.
#[derive(Debug, Clone)]
pub struct AdminResponse {
    /// HTTP status.
    pub status: u16,
    /// JSON body (or `{"error": text}` for a non-JSON body).
    pub body: serde_json::Value,
}

impl AdminClient {
    /// A client with the operator's credentials.
    pub fn new(creds: &OperatorCredentials) -> Result<Self, String> {
        let key = PrivateKey::from_pem(&creds.key_pem).map_err(|e| format!("operator key: {e}"))?;
        let cert = egov_pki::from_pem("CERTIFICATE", &creds.cert_pem)
            .map_err(|e| format!("operator certificate: {e}"))?
            .remove(0);
        let pin =
            egov_globalconf::parse_hash(&creds.admin_cert_sha256).ok_or("admin_cert_sha256 is not 64 hex digits")?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = egov_pki::tls::PeerVerifier::pinned(pin);
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_client_auth_cert(
                vec![CertificateDer::from(cert)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der().to_vec())),
            )
            .map_err(|e| e.to_string())?;
        Ok(Self { address: creds.admin_address.clone(), tls: tokio_rustls::TlsConnector::from(Arc::new(config)) })
    }

    /// Sends `method path` with an optional JSON body.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<AdminResponse, String> {
        let call = async {
            let tcp = tokio::net::TcpStream::connect(&self.address)
                .await
                .map_err(|e| format!("cannot connect to the admin API at {}: {e}", self.address))?;
            let name = ServerName::try_from("central.egov.invalid").map_err(|e| e.to_string())?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| format!("TLS with the admin API: {e}"))?;
            let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(conn);
            let bytes = match body {
                Some(b) => Bytes::from(serde_json::to_vec(b).map_err(|e| e.to_string())?),
                None => Bytes::new(),
            };
            let request = http::Request::builder()
                .method(method)
                .uri(path)
                .header(http::header::HOST, &self.address)
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(bytes))
                .map_err(|e| e.to_string())?;
            let response = sender.send_request(request).await.map_err(|e| format!("admin API: {e}"))?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
            let body = serde_json::from_slice(&body)
                .unwrap_or_else(|_| serde_json::json!({ "error": String::from_utf8_lossy(&body) }));
            Ok(AdminResponse { status, body })
        };
        tokio::time::timeout(Duration::from_secs(30), call)
            .await
            .map_err(|_| "the admin API did not answer".to_string())?
    }

    /// Like [`call`](Self::call), but a non-2xx answer is an error carrying its message.
    pub async fn ok(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<serde_json::Value, String> {
        let r = self.call(method, path, body).await?;
        if (200..300).contains(&r.status) {
            Ok(r.body)
        } else {
            let msg = r.body.get("error").and_then(|e| e.as_str()).map(str::to_owned).unwrap_or(r.body.to_string());
            Err(format!("HTTP {}: {msg}", r.status))
        }
    }
}

/// Percent-encodes an identifier for use as one path segment (`/` → `%2F`).
pub fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn encodes_identifiers_as_one_segment() {
        assert_eq!(super::path_segment("AZ/GOV/1400000001"), "AZ%2FGOV%2F1400000001");
        assert_eq!(super::path_segment("a b"), "a%20b");
    }
}
