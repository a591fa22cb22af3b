//! SOAP requests on the provider's side: access check, call the service, add `requestHash`.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header};

use egov_xroad::hash::soap_request_hash;
use egov_xroad::soap::{self, SoapResponse};

use super::{Accepted, Answer, meta, service_timeout};
use crate::conf::ServiceKind;
use crate::error::GatewayError;
use crate::gateway::Gateway;

pub(crate) async fn serve(gateway: &Gateway, request: &Accepted<'_>) -> Result<Answer, GatewayError> {
    let parsed = soap::parse_request(request.message).map_err(GatewayError::ClientSoap)?;
    let header = &parsed.header;
    if header.client != request.meta.client || header.service != request.meta.service {
        return Err(GatewayError::InconsistentHeaders(
            "SOAP header and transport metadata name different parties".into(),
        ));
    }
    if let Some(target) = &header.security_server
        && *target != gateway.id
    {
        return Err(GatewayError::InvalidSecurityServer(
            crate::error::Origin::ServerProxy,
            format!("the request names security server {target}, this is {}", gateway.id),
        ));
    }
    request.note_query_id(Some(header.id.clone()));
    if let Some(answer) = meta::soap(gateway, request, &parsed)? {
        request.log(gateway).await?;
        return Ok(answer);
    }
    let conf = gateway.conf.get();
    let (entry, description) = conf.service(&header.service)?;
    if description.kind.service_kind() != ServiceKind::Soap {
        return Err(GatewayError::ServiceType(format!("{} is a REST service; call it with REST", header.service)));
    }
    if let Some(notice) = &description.disabled_notice {
        return Err(GatewayError::ServiceDisabled(notice.clone()));
    }
    let granted = conf.check_access(&header.client, &header.service, "POST", None, gateway.directory.get().as_ref())?;
    // a patched consumer's server could send any SOAPAction: it must name this service
    let action = soap::checked_soap_action(request.meta.soap_action.as_deref(), header.service.service_code())
        .map_err(GatewayError::ClientSoap)?;
    // only a request that may reach the service is logged in full (TT-2.2.2); a refused one
    // leaves its operational record (observe.rs), not its contents (issue 13, item 11)
    request.log(gateway).await?;

    let mut headers = HeaderMap::new();
    let content_type = request.meta.content_type.as_deref().unwrap_or("text/xml; charset=utf-8");
    if let Ok(v) = HeaderValue::from_str(content_type) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Ok(action) = HeaderValue::from_str(&action) {
        headers.insert(http::HeaderName::from_static("soapaction"), action);
    }
    let timeout = service_timeout(gateway, entry.timeout_ms);
    let reply = gateway
        .backend
        .call_service(
            &conf,
            &entry.url,
            granted,
            &request.signature,
            Method::POST,
            headers,
            Bytes::copy_from_slice(request.message),
            timeout,
        )
        .await?;
    let reply_type = reply
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("text/xml; charset=utf-8")
        .to_owned();
    if !reply_type.to_ascii_lowercase().starts_with("text/xml") {
        return Err(GatewayError::ServiceSoap(soap::SoapError::InvalidSoap(format!(
            "the service answered HTTP {} with content type '{reply_type}'",
            reply.status
        ))));
    }
    let message = match soap::parse_response(&reply.body).map_err(GatewayError::ServiceSoap)? {
        SoapResponse::Fault(_) => reply.body, // a business fault from the service goes back unchanged
        SoapResponse::Message(m) => {
            header.check_echoed_by(&m.header).map_err(GatewayError::ServiceInconsistent)?;
            Bytes::from(soap::with_request_hash(&reply.body, &m, &soap_request_hash(request.message)))
        }
    };
    Ok(Answer { content_type: Some(reply_type), message, body: Bytes::new() })
}
