//! The Certification Centre on HTTP (TT-2.3, TT-6.3): the OCSP responder (RFC 6960
//! appendix A: POST, and GET with the base64 request in the path), the TSA (RFC 3161 §3.4)
//! and the CA and TSA certificates for download.
//!
//! Request bodies are limited to [`MAX_BODY_BYTES`]; a body with the wrong media type is
//! answered 415 with a text message. OCSP and TSA errors about the request itself are
//! answered inside the protocol (malformedRequest, rejection) with HTTP 200, as the RFCs
//! want.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;

use crate::CertificationCentre;

/// Largest OCSP or time-stamp request accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Media type of OCSP requests.
pub const OCSP_REQUEST: &str = "application/ocsp-request";
/// Media type of OCSP responses.
pub const OCSP_RESPONSE: &str = "application/ocsp-response";
/// Media type of time-stamp requests.
pub const TIMESTAMP_QUERY: &str = "application/timestamp-query";
/// Media type of time-stamp responses.
pub const TIMESTAMP_REPLY: &str = "application/timestamp-reply";
const PEM: &str = "application/x-pem-file";

/// The Centre's HTTP routes: `POST /ocsp`, `GET /ocsp/{base64}`, `POST /tsa`, `GET /ca.crt`,
/// `GET /tsa.crt`.
pub fn router(cc: Arc<CertificationCentre>) -> Router {
    Router::new()
        .route("/ocsp", post(ocsp_post))
        .route("/ocsp/{*request}", get(ocsp_get))
        .route("/tsa", post(tsa_post))
        .route("/ca.crt", get(ca_crt))
        .route("/tsa.crt", get(tsa_crt))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(cc)
}

/// Serves [`router`] on `listener` until `shutdown` completes, then lets open requests
/// finish.
pub async fn serve(
    cc: Arc<CertificationCentre>,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(cc)).with_graceful_shutdown(shutdown).await
}

/// The 415 answer when the media type is not `expected` (parameters and case ignored).
fn wrong_type(headers: &HeaderMap, expected: &str) -> Option<Response> {
    let got = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = got.split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case(expected) {
        return None;
    }
    let got = if got.is_empty() { "none".to_owned() } else { format!("'{got}'") };
    Some((StatusCode::UNSUPPORTED_MEDIA_TYPE, format!("expected Content-Type {expected}, got {got}\n")).into_response())
}

fn der(media_type: &'static str, body: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, media_type)], body).into_response()
}

async fn ocsp_post(State(cc): State<Arc<CertificationCentre>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = wrong_type(&headers, OCSP_REQUEST) {
        return r;
    }
    der(OCSP_RESPONSE, cc.ocsp_response(&body).await)
}

async fn ocsp_get(State(cc): State<Arc<CertificationCentre>>, Path(encoded): Path<String>) -> Response {
    // RFC 6960 appendix A.1: url-encoding of base64 of the DER request (axum already
    // percent-decoded the path); be lenient about padding and the URL-safe alphabet
    let text = encoded.trim_matches('/');
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
        base64::engine::general_purpose::URL_SAFE,
        base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ];
    let request = if text.len() > MAX_BODY_BYTES * 2 {
        Vec::new()
    } else {
        engines.iter().find_map(|e| e.decode(text).ok()).unwrap_or_default()
    };
    // an undecodable request is answered malformedRequest, like a bad POST body
    let mut response = der(OCSP_RESPONSE, cc.ocsp_response(&request).await);
    // GET answers may be cached by HTTP proxies until they expire (RFC 5019 §6.2)
    if let Ok(v) =
        HeaderValue::from_str(&format!("max-age={}, public, no-transform, must-revalidate", cc.ocsp_validity_secs()))
    {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}

async fn tsa_post(State(cc): State<Arc<CertificationCentre>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(r) = wrong_type(&headers, TIMESTAMP_QUERY) {
        return r;
    }
    der(TIMESTAMP_REPLY, cc.timestamp(&body))
}

async fn ca_crt(State(cc): State<Arc<CertificationCentre>>) -> Response {
    ([(header::CONTENT_TYPE, PEM)], cc.ca_cert_pem()).into_response()
}

async fn tsa_crt(State(cc): State<Arc<CertificationCentre>>) -> Response {
    ([(header::CONTENT_TYPE, PEM)], cc.tsa_cert_pem()).into_response()
}
