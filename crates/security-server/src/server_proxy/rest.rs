//! REST requests on the provider's side: endpoint-level access check on the normalised path,
//! call the service, return status, headers and body, with `X-Road-Request-Hash`.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};

use egov_xroad::rest;

use super::{Accepted, Answer, meta, service_timeout};
use crate::conf::ServiceKind;
use crate::error::GatewayError;
use crate::gateway::Gateway;

pub(crate) async fn serve(gateway: &Gateway, request: &Accepted<'_>) -> Result<Answer, GatewayError> {
    let rest::HeaderPart { first: method, second: path_and_query, headers } = rest::parse_header_part(request.message)
        .ok_or_else(|| GatewayError::BadRequest("malformed REST request header part".into()))?;
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| GatewayError::BadRequest(format!("bad method '{method}'")))?;
    let query = path_and_query.split_once('?').map(|(_, q)| q);
    let query_id = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(rest::HEADER_ID))
        .and_then(|(_, v)| String::from_utf8(v.clone()).ok());
    request.note_query_id(query_id);
    let client = &request.meta.client;
    let service = &request.meta.service;
    let request_hash = egov_xroad::hash::rest_request_hash(request.message, Some(request.body));

    let (status, content_type, mut response_headers, body) =
        if let Some((status, content_type, body)) = meta::rest(gateway, client, service, query)? {
            request.log(gateway).await?;
            (status, Some(content_type.clone()), vec![("content-type".to_owned(), content_type.into_bytes())], body)
        } else {
            let conf = gateway.conf.get();
            let (entry, description) = conf.service(service)?;
            if description.kind.service_kind() != ServiceKind::Rest {
                return Err(GatewayError::ServiceType(format!("{service} is a SOAP service; call it with SOAP")));
            }
            if let Some(notice) = &description.disabled_notice {
                return Err(GatewayError::ServiceDisabled(notice.clone()));
            }
            // the path is parsed and checked here, once (every byte a valid path character);
            // the proof carries it on to the call
            let granted = conf.check_access(
                client,
                service,
                method.as_str(),
                Some(&path_and_query),
                gateway.directory.get().as_ref(),
            )?;
            // only a request that may reach the service is logged in full (TT-2.2.2); a refused
            // one leaves its operational record (observe.rs), not its contents (issue 13, item 11)
            request.log(gateway).await?;
            let mut out = HeaderMap::new();
            for (name, value) in &headers {
                if name.eq_ignore_ascii_case(rest::HEADER_CLIENT) || !rest::is_forwarded_header(name) {
                    // the client comes from the signed metadata only; hop-by-hop and host
                    // headers are not a peer's to set (a Host could steer a reverse proxy)
                    continue;
                }
                if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
                    out.append(n, v);
                }
            }
            if let Ok(v) = HeaderValue::from_str(&client.to_string()) {
                out.insert(HeaderName::from_static(rest::HEADER_CLIENT), v);
            }
            let timeout = service_timeout(gateway, entry.timeout_ms);
            let reply = gateway
                .backend
                .call_service(
                    &conf,
                    &entry.url,
                    granted,
                    &request.signature,
                    method,
                    out,
                    Bytes::copy_from_slice(request.body),
                    timeout,
                )
                .await?;
            let content_type =
                reply.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let headers = reply
                .headers
                .iter()
                .filter(|(n, _)| rest::is_forwarded_header(n.as_str()) && !n.as_str().starts_with("x-road-"))
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            (reply.status.as_u16(), content_type, headers, reply.body)
        };
    response_headers.push((rest::HEADER_REQUEST_HASH.to_owned(), request_hash.into_bytes()));
    let reason = http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
    let header_part =
        rest::response_header_part(status, reason, response_headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())));
    Ok(Answer { content_type, message: Bytes::from(header_part), body })
}
