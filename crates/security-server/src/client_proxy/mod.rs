//! The client side: where an agency's information system sends X-Road SOAP 4.0 and REST r1
//! requests (any path, also in absolute-URI proxy form), plus `/wsdl` and `listClients`.

mod meta;
mod rest;
mod soap;

use std::net::SocketAddr;
use std::sync::Arc;

use http::{Method, Request, Response};
use hyper::body::Incoming;

use crate::gateway::Gateway;
use crate::http::Body;

/// Routes one request from an information system.
pub async fn handle(gateway: Arc<Gateway>, request: Request<Incoming>, peer: SocketAddr) -> Response<Body> {
    let path = request.uri().path().to_owned();
    tracing::debug!(%peer, method = %request.method(), %path, "request from information system");
    if is_rest_path(&path) {
        return rest::handle(&gateway, request).await;
    }
    match (request.method(), path.as_str()) {
        (&Method::GET, "/wsdl") => meta::wsdl(&gateway, request).await,
        (&Method::GET, "/listClients") => meta::list_clients(&gateway, request),
        // the message log's contents, to archive readers only (TT-3.8.4)
        (&Method::GET, "/asic") => crate::monitoring::asic(&gateway, request, peer.ip()).await,
        _ => soap::handle(&gateway, request).await,
    }
}

/// `/r1/…` (or another `/rN/` version, refused with a clear error).
fn is_rest_path(path: &str) -> bool {
    let mut chars = path.chars();
    chars.next() == Some('/') && chars.next() == Some('r') && chars.next().is_some_and(|c| c.is_ascii_digit())
}
