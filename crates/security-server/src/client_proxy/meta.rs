//! Meta services answered on the client side (PR-META): `listClients` and `GET /wsdl`.

use http::{Request, Response, StatusCode, header};
use hyper::body::Incoming;

use egov_xroad::soap::{self, XRoadHeader};
use egov_xroad::xml::escaped;
use egov_xroad::{ClientId, ServiceId};

use super::soap::fault_response;
use crate::error::GatewayError;
use crate::gateway::Gateway;
use crate::http::{Body, query_param, response};
use crate::transport::message::Protocol;

/// `GET /listClients[?xRoadInstance=…]`: members and subsystems of the federation, XML by
/// default, JSON when `Accept` asks for it.
pub fn list_clients(gateway: &Gateway, request: Request<Incoming>) -> Response<Body> {
    let dir = gateway.directory.get();
    let instance = query_param(request.uri().query(), "xRoadInstance");
    let wants_json =
        request.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("json"));
    let clients: Vec<(ClientId, &str)> =
        dir.clients().into_iter().filter(|(c, _)| instance.as_deref().is_none_or(|i| c.instance() == i)).collect();
    if wants_json {
        let members: Vec<serde_json::Value> = clients
            .iter()
            .map(|(c, name)| {
                serde_json::json!({
                    "id": {
                        "object_type": c.object_type(),
                        "xroad_instance": c.instance(),
                        "member_class": c.member_class(),
                        "member_code": c.member_code(),
                        "subsystem_code": c.subsystem_code(),
                    },
                    "name": name,
                })
            })
            .collect();
        return response(StatusCode::OK, "application/json", serde_json::json!({ "member": members }).to_string());
    }
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><xrd:clientList xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\" xmlns:id=\"http://x-road.eu/xsd/identifiers\">",
    );
    for (c, name) in &clients {
        xml.push_str("<xrd:member>");
        soap::write_client(&mut xml, "id", c);
        xml.push_str(&format!("<xrd:name>{}</xrd:name></xrd:member>", escaped(name)));
    }
    xml.push_str("</xrd:clientList>");
    response(StatusCode::OK, "text/xml; charset=utf-8", xml)
}

/// `GET /wsdl?xRoadInstance=…&memberClass=…&memberCode=…&subsystemCode=…&serviceCode=…&version=…`:
/// asks the provider's security server for the service's WSDL (a `getWsdl` call on behalf
/// of this server's owner) and returns it with its endpoint address rewritten.
pub async fn wsdl(gateway: &Gateway, request: Request<Incoming>) -> Response<Body> {
    match fetch_wsdl(gateway, request.uri().query()).await {
        Ok(r) => r,
        Err(e) => fault_response(&e),
    }
}

async fn fetch_wsdl(gateway: &Gateway, query: Option<&str>) -> Result<Response<Body>, GatewayError> {
    let param = |name: &str| {
        query_param(query, name).ok_or_else(|| GatewayError::BadRequest(format!("query parameter '{name}' is missing")))
    };
    let provider = ClientId::subsystem(
        &param("xRoadInstance")?,
        &param("memberClass")?,
        &param("memberCode")?,
        &param("subsystemCode")?,
    )
    .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let service_code = param("serviceCode")?;
    let version = query_param(query, "version");
    ServiceId::new(provider.clone(), &service_code, version.as_deref())
        .map_err(|e| GatewayError::BadRequest(e.to_string()))?;
    let header = XRoadHeader {
        client: gateway.id.owner().clone(),
        service: provider.service("getWsdl", None).map_err(|e| GatewayError::Internal(e.to_string()))?,
        id: uuid::Uuid::new_v4().to_string(),
        user_id: None,
        issue: None,
        protocol_version: soap::PROTOCOL_VERSION.into(),
        security_server: None,
        request_hash: None,
    };
    let mut body = format!("<xrd:getWsdl><xrd:serviceCode>{}</xrd:serviceCode>", escaped(&service_code));
    if let Some(v) = &version {
        body.push_str(&format!("<xrd:serviceVersion>{}</xrd:serviceVersion>", escaped(v)));
    }
    body.push_str("</xrd:getWsdl>");
    let envelope = soap::build_envelope(&header, &body);
    let meta = gateway.request_meta(
        header.client.clone(),
        header.service.clone(),
        Protocol::Soap,
        Some("text/xml; charset=utf-8".into()),
        None,
    );
    let mut obs = crate::observe::Observation::start(egov_xroad::opmon::ServerType::Client, "SOAP");
    obs.message_id = Some(header.id.clone());
    let answer = gateway.exchange(&meta, envelope.as_bytes(), b"", None, &mut obs).await;
    obs.finish(gateway, answer.as_ref().err().map(|e| e.to_fault()).as_ref(), None);
    let answer = answer?;
    let content_type = answer.meta.content_type.clone().unwrap_or_default();
    super::soap::check_response(&header, envelope.as_bytes(), &content_type, &answer.message)?;
    if !content_type.to_ascii_lowercase().starts_with("multipart/") {
        // a SOAP Fault from the provider's side: hand it on
        return Ok(response(StatusCode::OK, "text/xml; charset=utf-8", answer.message));
    }
    let parts = egov_xroad::mime::split(&content_type, &answer.message).map_err(GatewayError::InconsistentResponse)?;
    let wsdl = parts
        .get(1)
        .ok_or_else(|| GatewayError::InconsistentResponse("getWsdl response has no WSDL attachment".into()))?;
    Ok(response(StatusCode::OK, "text/xml; charset=utf-8", bytes::Bytes::copy_from_slice(wsdl.body)))
}
