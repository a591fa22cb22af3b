//! SOAP requests from information systems (TT-5.1, TT-5.2): validate, forward through the
//! provider's security server, check that the answer belongs to the request.

use http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;

use egov_xroad::soap::{self, SoapResponse};

use egov_xroad::opmon::ServerType;

use crate::error::{GatewayError, Origin, UnknownMember};
use crate::gateway::Gateway;
use crate::http::{Body, read_body, response};
use crate::observe::Observation;
use crate::transport::message::Protocol;

/// Handles one SOAP request; every failure becomes a SOAP Fault with HTTP 200.
pub async fn handle(gateway: &Gateway, request: Request<Incoming>) -> Response<Body> {
    let mut obs = Observation::start(ServerType::Client, "SOAP");
    match exchange(gateway, request, &mut obs).await {
        Ok(r) => {
            obs.finish(gateway, None, None);
            r
        }
        Err(e) => {
            obs.finish(gateway, Some(&e.to_fault()), None);
            fault_response(&e)
        }
    }
}

/// A SOAP Fault response for `error`, logged with its correlation id.
pub fn fault_response(error: &GatewayError) -> Response<Body> {
    let fault = error.to_fault();
    tracing::info!(code = %fault.code, detail = %fault.detail, message = %fault.message, "SOAP fault");
    response(StatusCode::OK, "text/xml; charset=utf-8", fault.to_soap())
}

async fn exchange(
    gateway: &Gateway,
    request: Request<Incoming>,
    obs: &mut Observation,
) -> Result<Response<Body>, GatewayError> {
    if request.method() != Method::POST {
        return Err(GatewayError::InvalidHttpMethod(request.method().to_string()));
    }
    let content_type = header_str(&request, header::CONTENT_TYPE).unwrap_or_default().to_owned();
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if media != "text/xml" {
        return Err(GatewayError::InvalidContentType(content_type.chars().take(80).collect()));
    }
    let soap_action = header_str(&request, http::HeaderName::from_static("soapaction")).map(str::to_owned);
    let limit = gateway.directory.get().limits().max_request_bytes;
    if let Some(len) = header_str(&request, header::CONTENT_LENGTH).and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(GatewayError::RequestTooLarge { limit });
    }
    let bytes = read_body(request.into_body(), limit, gateway.timeouts.client_body).await?;
    let parsed = soap::parse_request(&bytes).map_err(GatewayError::ClientSoap)?;
    let header = &parsed.header;
    if !gateway.conf.get().hosts(&header.client) {
        return Err(GatewayError::UnknownMember(
            Origin::ClientProxy,
            Box::new(UnknownMember::ClientNotHosted(header.client.clone())),
        ));
    }
    check_target_server(gateway, header)?;
    // refused here already, with the client's own fault, rather than by the provider
    soap::checked_soap_action(soap_action.as_deref(), header.service.service_code())
        .map_err(GatewayError::ClientSoap)?;
    let meta = gateway.request_meta(
        header.client.clone(),
        header.service.clone(),
        Protocol::Soap,
        Some(content_type),
        soap_action,
    );
    obs.message_id = Some(header.id.clone());
    let answer = gateway.exchange(&meta, &bytes, b"", header.security_server.as_ref(), obs).await?;
    let answer_type = answer.meta.content_type.clone().unwrap_or_else(|| "text/xml; charset=utf-8".into());
    check_response(header, &bytes, &answer_type, &answer.message)?;
    Ok(response(StatusCode::OK, &answer_type, answer.message))
}

fn header_str<K: header::AsHeaderName>(request: &Request<Incoming>, name: K) -> Option<&str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The `securityServer` header, if present, must name the server hosting the provider.
pub(crate) fn check_target_server(gateway: &Gateway, header: &soap::XRoadHeader) -> Result<(), GatewayError> {
    if let Some(target) = &header.security_server {
        let dir = gateway.directory.get();
        if !dir.hosts(target, header.service.provider()) {
            return Err(GatewayError::InvalidSecurityServer(
                Origin::ClientProxy,
                format!("security server {target} does not serve {}", header.service.provider()),
            ));
        }
    }
    Ok(())
}

/// The answer must be a fault, or echo the request's headers and carry the hash of exactly
/// the bytes we sent (PR-MESS §2.3).
pub(crate) fn check_response(
    request: &soap::XRoadHeader,
    request_bytes: &[u8],
    content_type: &str,
    message: &[u8],
) -> Result<(), GatewayError> {
    let soap_part = if content_type.trim().to_ascii_lowercase().starts_with("multipart/") {
        egov_xroad::mime::split(content_type, message)
            .map_err(|e| GatewayError::InconsistentResponse(format!("malformed multipart response: {e}")))?
            .first()
            .map(|p| p.body)
            .unwrap_or_default()
    } else {
        message
    };
    match soap::parse_response(soap_part) {
        Err(e) => Err(GatewayError::InconsistentResponse(format!("the response is not a valid X-Road message: {e}"))),
        Ok(SoapResponse::Fault(_)) => Ok(()),
        Ok(SoapResponse::Message(m)) => {
            request.check_echoed_by(&m.header).map_err(GatewayError::InconsistentResponse)?;
            let expected = egov_xroad::hash::soap_request_hash(request_bytes);
            match &m.header.request_hash {
                Some(h) if h.value == expected.value && h.algorithm == expected.algorithm => Ok(()),
                Some(_) => Err(GatewayError::InconsistentResponse("requestHash does not match the request".into())),
                None => Err(GatewayError::InconsistentResponse("the response has no requestHash".into())),
            }
        }
    }
}
