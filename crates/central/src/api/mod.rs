//! The central server's HTTP interfaces.
//!
//! - **Public** (plain HTTP, like X-Road's configuration download port): the signed global
//!   configuration (`GET /globalconf`, `GET /globalconf/test`) and the registration service
//!   a new security server talks to before it has any certificate (`POST /registration`,
//!   `GET /registration/{id}`). Nothing here needs secrecy: the configuration is signed and
//!   a registration request only proposes public keys; the operator decides.
//! - **Admin** (HTTPS, client certificate required, [`tls`]): the operator's JSON API
//!   (`/api/v1/…`, described by `GET /api/openapi.json`), and incident reports from
//!   registered security servers (TT-6.8).

pub mod admin;
pub mod client;
pub mod lifecycle;
pub mod public;
pub mod tls;

use std::sync::Arc;

use axum::Json;
use axum::extract::FromRef;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use egov_pki::TrustStore;

use crate::publish::Publisher;
use crate::registration::CertificateIssuer;
use crate::{CentralError, CentralStore};

/// Everything the handlers share.
#[derive(Clone)]
pub struct CentralState {
    /// The registry and lifecycles.
    pub store: CentralStore,
    /// Makes configuration generations.
    pub publisher: Arc<Publisher>,
    /// The Certification Centre.
    pub issuer: Arc<dyn CertificateIssuer>,
    /// Verifies client certificates of admin callers (CA certificates, revocations).
    pub trust: Arc<TrustStore>,
}

impl std::fmt::Debug for CentralState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CentralState").finish_non_exhaustive()
    }
}

impl FromRef<CentralState> for CentralStore {
    fn from_ref(state: &CentralState) -> Self {
        state.store.clone()
    }
}

impl IntoResponse for CentralError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self, "central server error");
        }
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

/// The public router.
pub fn public_router(state: CentralState) -> axum::Router {
    public::routes().with_state(state)
}

/// The admin router (serve it on a [`tls::TlsListener`] with
/// `into_make_service_with_connect_info::<tls::Peer>()`).
pub fn admin_router(state: CentralState) -> axum::Router {
    admin::routes(state.clone()).with_state(state)
}
