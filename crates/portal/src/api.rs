//! Open data (issue 6): the catalogue as JSON (described by OpenAPI), the services as
//! CPSV-AP JSON-LD (the EU's Core Public Service Vocabulary Application Profile), one JSON
//! document per information system. All open, without login (P-3.6).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use egov_registry::model::{ServiceKind, area_name};

use crate::Portal;
use crate::catalogue::Entry;
use crate::i18n::Lang;
use crate::web::{PAGE_SIZE, parse_search};

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn service_json(e: &Entry) -> Value {
    json!({
        "registryNumber": e.number,
        "updatedOn": e.updated_on.to_string(),
        "area": { "number": e.record.area, "az": area_name(e.record.area, "az"), "en": area_name(e.record.area, "en"), "ru": area_name(e.record.area, "ru") },
        "record": e.record,
    })
}

/// `GET /api/v1/services?q=&area=&body=&user=&page=`.
pub async fn services(State(portal): State<Arc<Portal>>, Query(params): Query<HashMap<String, String>>) -> Response {
    let (q, page) = match parse_search(&params) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let c = portal.catalogue();
    let found = c.search(&q, Lang::Az);
    let items: Vec<Value> =
        found.iter().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE).map(|e| service_json(e)).collect();
    Json(json!({ "total": found.len(), "page": page, "pageSize": PAGE_SIZE, "services": items })).into_response()
}

/// `GET /api/v1/services/{number}`.
pub async fn service(State(portal): State<Arc<Portal>>, Path(number): Path<String>) -> Response {
    match portal.catalogue().service(&number) {
        Some(e) => Json(service_json(e)).into_response(),
        None => error(StatusCode::NOT_FOUND, "no service with this registry number"),
    }
}

/// `GET /api/v1/services.jsonld`: every service in CPSV-AP.
pub async fn services_jsonld(State(portal): State<Arc<Portal>>, headers: axum::http::HeaderMap) -> Response {
    let c = portal.catalogue();
    // identifiers are absolute URLs of this portal, as the visitor reaches it
    let scheme = if portal.secure_cookies() { "https" } else { "http" };
    let base =
        headers.get(header::HOST).and_then(|h| h.to_str().ok()).map(|h| format!("{scheme}://{h}")).unwrap_or_default();
    let text = |t: &egov_registry::model::Text| {
        let mut v = vec![json!({"@language": "az", "@value": t.az})];
        if !t.en.is_empty() {
            v.push(json!({"@language": "en", "@value": t.en}));
        }
        if !t.ru.is_empty() {
            v.push(json!({"@language": "ru", "@value": t.ru}));
        }
        v
    };
    let graph: Vec<Value> = c
        .services
        .iter()
        .map(|e| {
            let r = &e.record;
            let mut s = json!({
                "@id": format!("{base}/api/v1/services/{}", e.number),
                "@type": "PublicService",
                "identifier": e.number,
                "name": text(&r.name),
                "description": text(&r.content),
                "hasCompetentAuthority": {
                    "@id": format!("{base}/api/v1/bodies/{}", r.provider),
                    "@type": "PublicOrganisation",
                    "prefLabel": c.body(&r.provider).map(|b| text(&b.name)).unwrap_or_default(),
                },
                "sector": area_name(r.area, "en"),
                "thematicArea": area_name(r.area, "az"),
                "hasLegalResource": { "@type": "LegalResource", "description": r.legal_basis },
                "hasInput": r.regulation.documents.iter().map(|d| json!({"@type": "Evidence", "name": text(&d.name)})).collect::<Vec<_>>(),
                "produces": { "@type": "Output", "name": text(&r.regulation.result) },
                "hasChannel": r.regulation.information_channels.iter().map(|ch| json!({"@type": "Channel", "type": ch})).collect::<Vec<_>>(),
                "processingTime": r.regulation.execution_time,
                "homepage": r.web_address,
                "keyword": if r.kind == ServiceKind::Interactive { "interactive" } else { "informative" },
            });
            if let Some(f) = &r.fee {
                s["hasCost"] = json!({"@type": "Cost", "value": f.amount_azn, "currency": "AZN", "description": f.legal_basis});
            }
            s
        })
        .collect();
    let doc = json!({
        "@context": {
            "@vocab": "http://data.europa.eu/m8g/",
            "name": "http://purl.org/dc/terms/title",
            "description": "http://purl.org/dc/terms/description",
            "identifier": "http://purl.org/dc/terms/identifier",
            "homepage": "http://xmlns.com/foaf/0.1/homepage",
            "keyword": "http://www.w3.org/ns/dcat#keyword",
            "prefLabel": "http://www.w3.org/2004/02/skos/core#prefLabel",
            "PublicService": "http://purl.org/vocab/cpsv#PublicService",
            "produces": "http://purl.org/vocab/cpsv#produces",
            "hasInput": "http://purl.org/vocab/cpsv#hasInput",
            "LegalResource": "http://data.europa.eu/eli/ontology#LegalResource"
        },
        "@graph": graph,
    });
    ([(header::CONTENT_TYPE, "application/ld+json")], doc.to_string()).into_response()
}

/// `GET /api/v1/bodies`, `/api/v1/bodies/{code}`.
pub async fn bodies(State(portal): State<Arc<Portal>>) -> Response {
    let c = portal.catalogue();
    let list: Vec<Value> =
        c.bodies.iter().map(|b| json!({"body": b, "services": c.services_of(&b.code).len()})).collect();
    Json(json!({ "bodies": list })).into_response()
}

/// One body with its services' numbers and systems.
pub async fn body(State(portal): State<Arc<Portal>>, Path(code): Path<String>) -> Response {
    let c = portal.catalogue();
    match c.body(&code) {
        Some(b) => Json(json!({
            "body": b,
            "services": c.services_of(&code).iter().map(|e| e.number.clone()).collect::<Vec<_>>(),
            "systems": c.systems.iter().filter(|s| s.owner == code).map(|s| s.code.clone()).collect::<Vec<_>>(),
        }))
        .into_response(),
        None => error(StatusCode::NOT_FOUND, "no body with this number"),
    }
}

/// `GET /api/v1/systems`: the registry of state information resources.
pub async fn systems(State(portal): State<Arc<Portal>>) -> Response {
    Json(json!({ "systems": portal.catalogue().systems })).into_response()
}

/// `GET /api/v1/systems/{code}`: one JSON document per information system.
pub async fn system(State(portal): State<Arc<Portal>>, Path(code): Path<String>) -> Response {
    let c = portal.catalogue();
    match c.system(&code) {
        Some(s) => Json(json!({ "system": s, "owner": c.body(&s.owner) })).into_response(),
        None => error(StatusCode::NOT_FOUND, "no information system with this number"),
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> Response {
    let query = |name: &str, desc: &str, schema: Value| json!({"name": name, "in": "query", "required": false, "description": desc, "schema": schema});
    let error = json!({"description": "refused; `error` names the parameter", "content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}}});
    let not_found = json!({"description": "not found", "content": {"application/json": {"schema": {"type": "object", "properties": {"error": {"type": "string"}}}}}});
    let ok = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"type": "object"}}}});
    Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "Electronic Government portal: open data", "version": "1",
                 "description": "The public catalogue of e-services (R-10 registry with R-9 regulations), public bodies and the registry of state information resources (P-3.4)."},
        "paths": {
            "/api/v1/services": {"get": {"summary": "Search the e-services registry",
                "parameters": [
                    query("q", "words, any of az/en/ru; Azerbaijani letters may be typed without marks", json!({"type": "string", "maxLength": 200})),
                    query("area", "area 1–29 (R-3.1)", json!({"type": "integer", "minimum": 1, "maximum": 29})),
                    query("body", "provider body number", json!({"type": "string"})),
                    query("user", "user type", json!({"type": "string", "enum": ["natural-persons", "legal-persons", "state-bodies", "others"]})),
                    query("page", "page (20 per page)", json!({"type": "integer", "minimum": 1}))],
                "responses": {"200": ok("total, page and services"), "400": error.clone()}}},
            "/api/v1/services/{number}": {"get": {"summary": "One e-service with its administrative regulation",
                "parameters": [{"name": "number", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": ok("the service"), "404": not_found.clone()}}},
            "/api/v1/services.jsonld": {"get": {"summary": "Every service in CPSV-AP JSON-LD",
                "responses": {"200": {"description": "JSON-LD", "content": {"application/ld+json": {"schema": {"type": "object"}}}}}}},
            "/api/v1/bodies": {"get": {"summary": "Public bodies", "responses": {"200": ok("bodies")}}},
            "/api/v1/bodies/{code}": {"get": {"summary": "One body with its services and systems",
                "parameters": [{"name": "code", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": ok("the body"), "404": not_found.clone()}}},
            "/api/v1/systems": {"get": {"summary": "The registry of state information resources", "responses": {"200": ok("systems")}}},
            "/api/v1/systems/{code}": {"get": {"summary": "One information system or resource",
                "parameters": [{"name": "code", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": ok("the system"), "404": not_found}}}
        }
    }))
    .into_response()
}
