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
                    let served = openapi_without_addresses(doc, &target)?;
                    Ok(Some((200, "application/json".into(), Bytes::from(served))))
                }
                _ => Err(GatewayError::ServiceType(format!("{target} has no OpenAPI description"))),
            }
        }
        _ => Ok(None),
    }
}

/// The stored OpenAPI document with every server address replaced by the service's path on
/// the client's own security server (`/r1/INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE`, relative,
/// so it resolves against the security server the client asked): the back end's real
/// address must not leave this server, as `getWsdl` rewrites `soap:address` (PR-MREST,
/// issue 13 item 15). `servers` is replaced at the top, in every path item and in every
/// operation; a Swagger 2 document loses `host` and `schemes` and gets that `basePath`.
fn openapi_without_addresses(document: &str, service: &ServiceId) -> Result<String, GatewayError> {
    let mut doc: serde_json::Value = serde_json::from_str(document)
        .map_err(|e| GatewayError::Internal(format!("stored OpenAPI document is not JSON: {e}")))?;
    let provider = service.provider();
    // each identifier part one path segment (PR-REST §3.1), RFC 3986 unreserved kept
    const PART: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
    let segment = |s: &str| percent_encoding::utf8_percent_encode(s, PART).to_string();
    let mut path = format!(
        "/r1/{}/{}/{}",
        segment(provider.instance()),
        segment(provider.member_class()),
        segment(provider.member_code())
    );
    if let Some(sub) = provider.subsystem_code() {
        path.push('/');
        path.push_str(&segment(sub));
    }
    path.push('/');
    path.push_str(&segment(service.service_code()));
    let servers = serde_json::json!([{ "url": path }]);
    let Some(root) = doc.as_object_mut() else {
        return Err(GatewayError::Internal("stored OpenAPI document is not a JSON object".into()));
    };
    if root.contains_key("swagger") {
        root.remove("host");
        root.remove("schemes");
        root.insert("basePath".into(), path.clone().into());
    }
    root.insert("servers".into(), servers.clone());
    if let Some(paths) = root.get_mut("paths").and_then(serde_json::Value::as_object_mut) {
        for item in paths.values_mut().filter_map(serde_json::Value::as_object_mut) {
            if item.contains_key("servers") {
                item.insert("servers".into(), servers.clone());
            }
            for operation in item.values_mut().filter_map(serde_json::Value::as_object_mut) {
                if operation.contains_key("servers") {
                    operation.insert("servers".into(), servers.clone());
                }
            }
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// No back-end address survives, wherever the document names servers (issue 13 item 15).
    #[test]
    fn openapi_servers_name_the_service_path_not_the_back_end() {
        let service: ServiceId = "AZ/GOV/1400000012/insurance/payments".parse().unwrap();
        let stored = serde_json::json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "servers": [{"url": "http://10.1.2.3:8080/internal"}, {"url": "https://backend.local/api"}],
            "paths": {"/persons/{id}": {
                "servers": [{"url": "http://10.1.2.3:8081"}],
                "get": {"servers": [{"url": "http://10.1.2.3:8082"}], "responses": {}},
                "parameters": []
            }}
        })
        .to_string();
        let served = openapi_without_addresses(&stored, &service).unwrap();
        for internal in ["10.1.2.3", "backend.local"] {
            assert!(!served.contains(internal), "{served}");
        }
        let doc: serde_json::Value = serde_json::from_str(&served).unwrap();
        let expected = serde_json::json!([{"url": "/r1/AZ/GOV/1400000012/insurance/payments"}]);
        assert_eq!(doc["servers"], expected);
        assert_eq!(doc["paths"]["/persons/{id}"]["servers"], expected);
        assert_eq!(doc["paths"]["/persons/{id}"]["get"]["servers"], expected);
        // the rest of the document is as stored
        assert_eq!(doc["info"]["title"], "t");
        assert!(doc["paths"]["/persons/{id}"]["get"]["responses"].is_object());

        let swagger = r#"{"swagger":"2.0","host":"10.1.2.3:8080","schemes":["http"],"basePath":"/x","paths":{}}"#;
        let served = openapi_without_addresses(swagger, &service).unwrap();
        assert!(!served.contains("10.1.2.3"), "{served}");
        assert!(served.contains(r#""basePath":"/r1/AZ/GOV/1400000012/insurance/payments""#), "{served}");
    }
}
