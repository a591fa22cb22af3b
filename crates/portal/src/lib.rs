//! The citizen portal (P-1.2, P-3.6, R-11): its informative part, open without login — the
//! catalogue of e-services from the e-services registry, the public bodies, the registry of
//! state information resources, the statistics bulletin (B-1) and open data — in
//! Azerbaijani, English and Russian, built to WCAG 2.1 AA and usable without JavaScript.
//!
//! A request goes: [`router`] → a page handler in [`web`] (or [`api`] for open data) → the
//! in-memory [`catalogue::Catalogue`] snapshot → an askama template in `templates/` with
//! texts from [`i18n`].

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod api;
pub mod backoffice;
pub mod catalogue;
pub mod i18n;
pub mod throttle;
pub mod web;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use egov_registry::RegistryError;
use egov_registry::staff::StaffKey;
use egov_registry::store::Registry;

use catalogue::Catalogue;

/// The running portal's state: the registries and the catalogue snapshot pages read.
#[derive(Debug)]
pub struct Portal {
    registry: Registry,
    catalogue: RwLock<Arc<Catalogue>>,
    sessions: backoffice::Sessions,
    secure_cookies: std::sync::atomic::AtomicBool,
    staff_key: StaffKey,
    /// Sign-in attempts per source and account (the back office now, citizens later).
    sign_ins: throttle::Throttle<(IpAddr, String)>,
}

impl Portal {
    /// Loads the catalogue from `registry`; the back office opens the staff's one-time-code
    /// secrets with `staff_key` (secrets an older version left in clear are sealed now).
    pub async fn new(registry: Registry, staff_key: StaffKey) -> Result<Arc<Self>, RegistryError> {
        let sealed = registry.seal_clear_secrets(&staff_key).await?;
        if sealed > 0 {
            tracing::info!(sealed, "one-time-code secrets stored in clear are now sealed");
        }
        let catalogue = Catalogue::load(&registry).await?;
        Ok(Arc::new(Self {
            registry,
            catalogue: RwLock::new(Arc::new(catalogue)),
            sessions: Default::default(),
            secure_cookies: Default::default(),
            staff_key,
            sign_ins: throttle::Throttle::new(throttle::Backoff::SIGN_IN),
        }))
    }

    /// The snapshot pages are rendered from.
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads the registries again and swaps the new snapshot in.
    pub async fn refresh(&self) -> Result<(), RegistryError> {
        let fresh = Catalogue::load(&self.registry).await?;
        *self.catalogue.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(fresh);
        Ok(())
    }

    /// Says the portal is reached over HTTPS (behind a TLS-terminating proxy): the back
    /// office's session cookie is marked `Secure`, and open data names `https://` URLs.
    pub fn set_secure_cookies(&self, on: bool) {
        self.secure_cookies.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn secure_cookies(&self) -> bool {
        self.secure_cookies.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The registries.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn staff_key(&self) -> &StaffKey {
        &self.staff_key
    }

    pub(crate) fn sign_ins(&self) -> &throttle::Throttle<(IpAddr, String)> {
        &self.sign_ins
    }
}

/// The Content-Security-Policy of every response (issue 13, item 12): the pages use only
/// their own stylesheet and forms — no script at all, no inline style, no frames, no
/// plugins — so anything injected would not run; `frame-ancestors 'none'` forbids framing
/// (clickjacking of the back office's buttons).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The headers every response carries, whatever route (or error, or 404) produced it.
/// `Referrer-Policy: same-origin` keeps the portal's URLs (a back-office application's
/// number, a search) from other sites, yet still lets the browser send `Origin` on the
/// back office's own forms, which `same_origin` checks; `no-referrer` would turn it into
/// `null`.
pub const SECURITY_HEADERS: [(&str, &str); 6] = [
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("cross-origin-opener-policy", "same-origin"),
];

/// One layer around the whole router, so no route, fallback or error response can miss the
/// security headers. Behind HTTPS it adds HSTS; the back office's pages are never cached.
async fn security_headers(State(portal): State<Arc<Portal>>, request: Request, next: Next) -> Response {
    let back_office = request.uri().path().split('/').nth(2) == Some("backoffice");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    if portal.secure_cookies() {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=31536000"));
    }
    if back_office {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Every route of the portal, inside the security-headers layer. Serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` (as [`start`] does): the sign-in
/// throttle keys attempts by the peer's address.
pub fn router(portal: Arc<Portal>) -> Router {
    Router::new()
        .route("/", get(web::root))
        .route("/static/portal.css", get(web::stylesheet))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/services", get(api::services))
        .route("/api/v1/services.jsonld", get(api::services_jsonld))
        .route("/api/v1/services/{number}", get(api::service))
        .route("/api/v1/bodies", get(api::bodies))
        .route("/api/v1/bodies/{code}", get(api::body))
        .route("/api/v1/systems", get(api::systems))
        .route("/api/v1/systems/{code}", get(api::system))
        .route("/{lang}/", get(web::home))
        .route("/{lang}/search", get(web::search))
        .route("/{lang}/services/{number}", get(web::service))
        .route("/{lang}/bodies", get(web::bodies))
        .route("/{lang}/bodies/{code}", get(web::body))
        .route("/{lang}/resources", get(web::resources))
        .route("/{lang}/resources/{code}", get(web::resource))
        .route("/{lang}/statistics", get(web::statistics))
        .route("/{lang}/statistics.csv", get(web::statistics_csv))
        .route("/{lang}/open-data", get(web::open_data))
        .route("/{lang}/backoffice/", get(backoffice::list))
        .route("/{lang}/backoffice/login", get(backoffice::login_page).post(backoffice::log_in))
        .route("/{lang}/backoffice/logout", axum::routing::post(backoffice::log_out))
        .route("/{lang}/backoffice/applications/{id}", get(backoffice::application))
        .route("/{lang}/backoffice/applications/{id}/{decision}", axum::routing::post(backoffice::decide))
        .fallback(web::fallback)
        .layer(axum::middleware::from_fn_with_state(portal.clone(), security_headers))
        .with_state(portal)
}

/// A running portal.
#[derive(Debug)]
pub struct RunningPortal {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its state.
    pub portal: Arc<Portal>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl RunningPortal {
    /// Stops serving.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

/// Serves the portal on `listener`, re-reading the registries every `refresh`; the back
/// office opens the staff's one-time-code secrets with `staff_key`.
pub async fn start(
    listener: tokio::net::TcpListener,
    registry: Registry,
    staff_key: StaffKey,
    refresh: Duration,
) -> Result<RunningPortal, RegistryError> {
    let portal = Portal::new(registry, staff_key).await?;
    let addr = listener.local_addr().map_err(|e| RegistryError::Invalid(format!("listener: {e}")))?;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let app = router(portal.clone());
    let mut stopped_too = stopped.clone();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.changed().await;
        };
        if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "portal stopped");
        }
    });
    let watched = portal.clone();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(refresh) => {}
                _ = stopped_too.changed() => return,
            }
            if let Err(e) = watched.refresh().await {
                tracing::warn!(error = %e, "the catalogue could not be refreshed; serving the previous one");
            }
        }
    });
    Ok(RunningPortal { addr, portal, stop })
}
