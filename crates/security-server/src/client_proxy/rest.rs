//! REST r1 requests from information systems (PR-REST): `/r1/{instance}/{class}/{member}/
//! {subsystem}/{service}/…` with `X-Road-Client`, any method.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use egov_xroad::ClientId;
use egov_xroad::rest::{self, RestTarget};

use egov_xroad::opmon::ServerType;

use crate::error::{GatewayError, Origin, UnknownMember};
use crate::gateway::Gateway;
use crate::http::{Body, read_body, response};
use crate::observe::Observation;
use crate::transport::message::Protocol;

/// Handles one REST request; failures become JSON (or XML) errors with `X-Road-Error`.
pub async fn handle(gateway: &Gateway, request: Request<Incoming>) -> Response<Body> {
    let wants_xml = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("xml") && !a.contains("json"));
    let mut obs = Observation::start(ServerType::Client, "REST");
    obs.rest_method = Some(request.method().to_string());
    match exchange(gateway, request, &mut obs).await {
        Ok(r) => {
            obs.finish(gateway, None, Some(r.status().as_u16()));
            r
        }
        Err(e) => {
            let r = error_response(&e, wants_xml);
            obs.finish(gateway, Some(&e.to_fault()), Some(r.status().as_u16()));
            r
        }
    }
}

/// The REST error response for `error` (PR-REST §4.6).
pub fn error_response(error: &GatewayError, xml: bool) -> Response<Body> {
    let fault = error.to_fault();
    tracing::info!(code = %fault.code, detail = %fault.detail, message = %fault.message, "REST error");
    let status = StatusCode::from_u16(fault.rest_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut r = if xml {
        response(status, "application/xml; charset=utf-8", fault.to_rest_xml())
    } else {
        response(status, "application/json; charset=utf-8", fault.to_rest_json())
    };
    if let Ok(v) = HeaderValue::from_str(&fault.code) {
        r.headers_mut().insert(HeaderName::from_static(rest::HEADER_ERROR), v);
    }
    r
}

async fn exchange(
    gateway: &Gateway,
    request: Request<Incoming>,
    obs: &mut Observation,
) -> Result<Response<Body>, GatewayError> {
    let path_and_query = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/").to_owned();
    let target = RestTarget::parse(&path_and_query).map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    // the provider accepts only RFC 3986 path and query characters: refuse others here,
    // before anything is signed or logged, with the same message
    rest::RequestPath::parse(&target.forwarded_path_and_query())
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let client = client_header(request.headers())?;
    if !gateway.conf.get().hosts(&client) {
        return Err(GatewayError::UnknownMember(
            Origin::ClientProxy,
            Box::new(UnknownMember::ClientNotHosted(client.clone())),
        ));
    }
    let method = request.method().clone();
    let content_type = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let meta = gateway.request_meta(client.clone(), target.service.clone(), Protocol::Rest, content_type, None);
    let request_id = meta.request_id.clone();
    let message_id = request
        .headers()
        .get(rest::HEADER_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut headers: Vec<(String, Vec<u8>)> = request
        .headers()
        .iter()
        .filter(|(n, _)| rest::is_forwarded_header(n.as_str()))
        .filter(|(n, _)| !matches!(n.as_str(), rest::HEADER_REQUEST_ID | rest::HEADER_ID | rest::HEADER_CLIENT))
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    headers.push((rest::HEADER_CLIENT.to_owned(), client.to_string().into_bytes()));
    headers.push((rest::HEADER_ID.to_owned(), message_id.clone().into_bytes()));
    headers.push((rest::HEADER_REQUEST_ID.to_owned(), request_id.clone().into_bytes()));
    let limit = gateway.directory.get().limits().max_request_bytes;
    let body = read_body(request.into_body(), limit, gateway.timeouts.client_body).await?;
    let header_part = rest::request_header_part(
        method.as_str(),
        &target.forwarded_path_and_query(),
        headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
    );
    obs.message_id = Some(message_id.clone());
    let answer = gateway.exchange(&meta, &header_part, &body, None, obs).await?;
    let rest::HeaderPart { first: status_line, headers: response_headers, .. } =
        rest::parse_header_part(&answer.message)
            .ok_or_else(|| GatewayError::InconsistentResponse("malformed REST response header part".into()))?;
    let status = status_line
        .parse::<u16>()
        .ok()
        .filter(|s| (200..600).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| GatewayError::InconsistentResponse(format!("bad status '{status_line}'")))?;
    let expected_hash = egov_xroad::hash::rest_request_hash(&header_part, Some(&body));
    let provided = response_headers.iter().find(|(n, _)| n == rest::HEADER_REQUEST_HASH).map(|(_, v)| v.as_slice());
    if provided != Some(expected_hash.as_bytes()) {
        return Err(GatewayError::InconsistentResponse("X-Road-Request-Hash does not match the request".into()));
    }
    let mut r = Response::new(http_body_util::Full::new(Bytes::clone(&answer.body)));
    *r.status_mut() = status;
    let out = r.headers_mut();
    for (name, value) in &response_headers {
        if name.starts_with("x-road-") || !rest::is_forwarded_header(name) {
            continue; // X-Road headers are set below by us; hop-by-hop ones are not forwarded
        }
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
            out.append(n, v);
        }
    }
    let set = |out: &mut HeaderMap, name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            out.insert(HeaderName::from_static(name), v);
        }
    };
    set(out, rest::HEADER_CLIENT, &client.to_string());
    set(out, rest::HEADER_SERVICE, &target.service.to_rest_form());
    set(out, rest::HEADER_ID, &message_id);
    set(out, rest::HEADER_REQUEST_ID, &request_id);
    set(out, rest::HEADER_REQUEST_HASH, &expected_hash);
    Ok(r)
}

/// `X-Road-Client` (if repeated, the last one wins, as in X-Road).
fn client_header(headers: &HeaderMap) -> Result<ClientId, GatewayError> {
    let value = headers
        .get_all(rest::HEADER_CLIENT)
        .iter()
        .next_back()
        .ok_or_else(|| GatewayError::BadRequest("the X-Road-Client header is missing".into()))?;
    let text =
        value.to_str().map_err(|_| GatewayError::InvalidClientIdentifier("X-Road-Client is not ASCII".into()))?;
    text.trim()
        .parse()
        .map_err(|e: egov_xroad::IdError| GatewayError::InvalidClientIdentifier(format!("X-Road-Client: {e}")))
}
