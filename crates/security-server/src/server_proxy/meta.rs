//! Meta services answered by the provider's security server itself (PR-META, PR-MREST):
//! `listMethods`, `allowedMethods`, `getWsdl` (SOAP) and `listMethods`, `allowedMethods`,
//! `getOpenAPI` (REST). Their codes are reserved: no service may use them.

use bytes::Bytes;

use egov_xroad::hash::soap_request_hash;
use egov_xroad::soap::{self, SoapMessage};
use egov_xroad::xml::escaped;
use egov_xroad::{ClientId, ServiceId, wsdl};

use super::{Accepted, Answer};
use crate::conf::ServiceKind;
use crate::conf::model::DescriptionKind;
use crate::error::GatewayError;
use crate::gateway::Gateway;

/// SOAP meta service, if `parsed` calls one.
pub(crate) fn soap(
    gateway: &Gateway,
    request: &Accepted<'_>,
    parsed: &SoapMessage,
) -> Result<Option<Answer>, GatewayError> {
    let code = parsed.header.service.service_code();
    if !matches!(code, "listMethods" | "allowedMethods" | "getWsdl") {
        return Ok(None);
    }
    let conf = gateway.conf.get();
    let provider = parsed.header.service.provider();
    let mut header = parsed.header.clone();
    header.request_hash = Some(soap_request_hash(request.message));
    if code == "getWsdl" {
        let (service_code, version) = wsdl_request(request.message)?;
        let target =
            provider.service(&service_code, version.as_deref()).map_err(|e| GatewayError::BadRequest(e.to_string()))?;
        let (_, description) = conf.service(&target)?;
        let document = match (description.kind, &description.document) {
            (DescriptionKind::Wsdl, Some(doc)) => doc,
            _ => return Err(GatewayError::ServiceType(format!("{target} is not described by a WSDL"))),
        };
        let rewritten = wsdl::rewrite_address(document, wsdl::XROAD_ENDPOINT_PLACEHOLDER)
            .map_err(|e| GatewayError::Internal(format!("stored WSDL: {e}")))?;
        let mut body = format!("<xrd:getWsdlResponse><xrd:serviceCode>{}</xrd:serviceCode>", escaped(&service_code));
        if let Some(v) = &version {
            body.push_str(&format!("<xrd:serviceVersion>{}</xrd:serviceVersion>", escaped(v)));
        }
        body.push_str("</xrd:getWsdlResponse>");
        let envelope = soap::build_envelope(&header, &body);
        let (content_type, message) = egov_xroad::mime::build_related(&[
            ("text/xml; charset=UTF-8", envelope.as_bytes()),
            ("text/xml; charset=UTF-8", rewritten.as_bytes()),
        ]);
        return Ok(Some(Answer {
            content_type: Some(content_type),
            message: Bytes::from(message),
            body: Bytes::new(),
        }));
    }
    let caller = (code == "allowedMethods").then_some(&parsed.header.client);
    let mut body = format!("<xrd:{code}Response>");
    for entry in conf.list_services(provider, ServiceKind::Soap, caller, gateway.directory.get().as_ref()) {
        soap::write_service(&mut body, "service", &entry.id);
    }
    body.push_str(&format!("</xrd:{code}Response>"));
    let envelope = soap::build_envelope(&header, &body);
    Ok(Some(Answer {
        content_type: Some("text/xml; charset=utf-8".into()),
        message: Bytes::from(envelope),
        body: Bytes::new(),
    }))
}

/// `serviceCode` and `serviceVersion` from a `getWsdl` body.
fn wsdl_request(message: &[u8]) -> Result<(String, Option<String>), GatewayError> {
    let text =
        std::str::from_utf8(message).map_err(|_| GatewayError::BadRequest("getWsdl request is not UTF-8".into()))?;
    let doc =
        roxmltree::Document::parse(text).map_err(|e| GatewayError::BadRequest(format!("getWsdl request: {e}")))?;
    let body = doc
        .descendants()
        .find(|n| n.tag_name().name() == "Body" && n.tag_name().namespace() == Some(soap::SOAP_ENV_NS))
        .ok_or_else(|| GatewayError::BadRequest("getWsdl request has no Body".into()))?;
    let child_text = |name: &str| {
        body.descendants()
            .find(|n| n.is_element() && n.tag_name().name() == name)
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    let code = child_text("serviceCode")
        .ok_or_else(|| GatewayError::BadRequest("getWsdl request has no serviceCode".into()))?;
    Ok((code, child_text("serviceVersion").filter(|v| !v.is_empty())))
}

/// REST meta service, if the request calls one (`…/SUBSYSTEM/listMethods` etc.).
pub(crate) fn rest(
    gateway: &Gateway,
    client: &ClientId,
    service: &ServiceId,
    query: Option<&str>,
) -> Result<Option<(u16, String, Bytes)>, GatewayError> {
    let code = service.service_code();
    let conf = gateway.conf.get();
    let provider = service.provider();
    match code {
        "listMethods" | "allowedMethods" => {
            let caller = (code == "allowedMethods").then_some(client);
            let services: Vec<serde_json::Value> = conf
                .list_services(provider, ServiceKind::Rest, caller, gateway.directory.get().as_ref())
                .into_iter()
                .map(|entry| {
                    let key = (provider.clone(), entry.id.service_code().to_owned());
                    let kind = conf.descriptions.get(&entry.description_id).map(|d| d.kind);
                    let endpoints: Vec<serde_json::Value> = conf
                        .endpoints
                        .get(&key)
                        .map(|eps| {
                            eps.iter().map(|e| serde_json::json!({"method": e.method, "path": e.path})).collect()
                        })
                        .unwrap_or_default();
                    serde_json::json!({
                        "object_type": "SERVICE",
                        "xroad_instance": provider.instance(),
                        "member_class": provider.member_class(),
                        "member_code": provider.member_code(),
                        "subsystem_code": provider.subsystem_code(),
                        "service_code": entry.id.service_code(),
                        "service_type": if kind == Some(DescriptionKind::OpenApi) { "OPENAPI" } else { "REST" },
                        "endpoint_list": endpoints,
                    })
                })
                .collect();
            let body = serde_json::json!({ "service": services }).to_string();
            Ok(Some((200, "application/json".into(), Bytes::from(body))))
        }
        "getOpenAPI" => {
            let wanted = crate::http::query_param(query, "serviceCode")
                .ok_or_else(|| GatewayError::BadRequest("getOpenAPI needs the query parameter serviceCode".into()))?;
            let target = provider.service(&wanted, None).map_err(|e| GatewayError::BadRequest(e.to_string()))?;
            let (_, description) = conf.service(&target)?;
            match (&description.kind, &description.document) {
                (DescriptionKind::OpenApi, Some(doc)) => {
                    Ok(Some((200, "application/json".into(), Bytes::from(doc.clone()))))
                }
                _ => Err(GatewayError::ServiceType(format!("{target} has no OpenAPI description"))),
            }
        }
        _ => Ok(None),
    }
}
