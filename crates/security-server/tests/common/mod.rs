//! A two-server federation on loopback for the integration tests, with a stub information
//! system behind each server, and small HTTP helpers.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use egov_demo::federation::{Federation, ParticipantSpec, RunningFederation};
use egov_demo::fixture;
use egov_security_server::Timeouts;
use egov_security_server::conf::Subject;
use egov_security_server::http::{Body, ShutdownTrigger, response, serve_http1, shutdown_pair};
use egov_xroad::soap::{XRoadHeader, build_envelope};
use egov_xroad::{ClientId, ServiceId};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;

pub const A: usize = 0;
pub const B: usize = 1;

pub struct World {
    pub fed: RunningFederation,
    pub dir: tempfile::TempDir,
    stubs: ShutdownTrigger,
    pub is_addr: SocketAddr,
    pub stub_addr: SocketAddr,
}

/// B's server as A's peer pool knows it.
pub fn peer_b(w: &World) -> egov_security_server::transport::client::PeerKey {
    let entry = w.fed.directory.server(&w.fed.servers[B].id).unwrap();
    egov_security_server::transport::client::PeerKey {
        server: entry.id.clone(),
        address: entry.address.clone(),
        auth_cert_sha256: entry.auth_cert_hash().unwrap(),
    }
}

pub fn client(s: &str) -> ClientId {
    s.parse().unwrap()
}

pub fn service(s: &str) -> ServiceId {
    s.parse().unwrap()
}

/// Extra stub behaviours for fault tests.
async fn stub(request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    if path.starts_with("/rest-echo") {
        // what the service was told: method, client header(s), path, query, body
        let method = request.method().to_string();
        let host = request.headers().get("host").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let query = request.uri().query().map(str::to_owned);
        let clients: Vec<String> =
            request.headers().get_all("x-road-client").iter().map(|v| v.to_str().unwrap_or("?").to_owned()).collect();
        let names: Vec<String> = request.headers().keys().map(|n| n.as_str().to_owned()).collect();
        let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let body = serde_json::json!({
            "method": method, "host": host, "x-road-client": clients, "path": path, "query": query,
            "body": String::from_utf8_lossy(&body), "headers": names,
        })
        .to_string();
        return response(StatusCode::CREATED, "application/json", body);
    }
    let action = request.headers().get("soapaction").map(|v| v.to_str().unwrap_or("?").to_owned());
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    match path.as_str() {
        // echoes the message with the SOAPAction it was given in place of the text ACTION
        "/action-echo" => {
            let seen = action.unwrap_or_else(|| "(none)".into()).replace('"', "&quot;");
            response(StatusCode::OK, "text/xml; charset=utf-8", String::from_utf8_lossy(&body).replace("ACTION", &seen))
        }
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(3)).await;
            response(StatusCode::OK, "text/xml", body)
        }
        "/garbage" => response(StatusCode::OK, "text/xml", "this is not XML"),
        "/wrong-id" => {
            let text = String::from_utf8_lossy(&body).replace(">m-", ">other-");
            response(StatusCode::OK, "text/xml", text)
        }
        "/echo" => response(StatusCode::OK, "text/xml; charset=utf-8", body),
        _ => response(StatusCode::NOT_FOUND, "text/plain", "no"),
    }
}

fn spec(name: &str, member: &str, server: &str) -> ParticipantSpec {
    ParticipantSpec {
        name: name.into(),
        member: member.parse().unwrap(),
        member_name: format!("Agency {name}"),
        subsystems: vec!["consumer".into(), "provider".into()],
        server_code: server.into(),
    }
}

fn op_wsdl(location: &str, op: &str) -> String {
    fixture::population_wsdl(location).replace("getPersonByFin", op)
}

/// Two agencies A (AZ/GOV/1) and B (AZ/GOV/2), each hosting a `consumer` and a `provider`
/// subsystem. Each provider offers `getPersonByFin` v1 (SOAP), `payments` (REST) and three
/// misbehaving SOAP services (`slowOp`, `garbageOp`, `wrongIdOp`) plus `echo` and `actionEcho`
/// (shows the SOAPAction it got); REST `whoami` (`/**`) and `files` (`GET /persons/*/payments`
/// and `GET /files/*.json`) show what they received. The other agency's consumer may call all of
/// them (REST `payments` only `GET /persons/*/payments`).
pub async fn world() -> World {
    let (stubs, rx) = shutdown_pair();
    let is_addr = fixture::start(rx.clone()).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stub_addr = listener.local_addr().unwrap();
    tokio::spawn(serve_http1(listener, |req, _| stub(req), Duration::from_secs(5), rx));

    let mut fed = Federation::new("AZ").unwrap();
    fed.limits.service_timeout_ms = 800;
    fed.timeouts = Timeouts {
        client_header: Duration::from_secs(1),
        client_body: Duration::from_secs(1),
        peer_margin: Duration::from_secs(2),
    };
    fed.add(spec("a", "AZ/GOV/1", "ss-a"), 0, 0).await.unwrap();
    fed.add(spec("b", "AZ/GOV/2", "ss-b"), 0, 0).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let fed = fed.start(move |s| egov_store::sqlite_url(&root.join(format!("{}.db", s.spec.name)))).await.unwrap();

    for (me, other) in [(A, "AZ/GOV/2/consumer"), (B, "AZ/GOV/1/consumer")] {
        let member = fed.servers[me].spec.member.clone();
        let provider = client(&format!("{member}/provider"));
        let store = fed.store(me);
        let caller = Subject::Client(client(other));
        let wsdl = fixture::population_wsdl(&format!("http://{is_addr}/population"));
        store.add_wsdl(&provider, "test", &wsdl, None).await.unwrap();
        store.grant(&provider.service("getPersonByFin", None).unwrap(), &caller, "*", "/**").await.unwrap();
        for (op, path) in [
            ("slowOp", "/slow"),
            ("garbageOp", "/garbage"),
            ("wrongIdOp", "/wrong-id"),
            ("echo", "/echo"),
            ("actionEcho", "/action-echo"),
        ] {
            let url = format!("http://{stub_addr}{path}");
            store.add_wsdl(&provider, "test", &op_wsdl(&url, op), None).await.unwrap();
            store.grant(&provider.service(op, None).unwrap(), &caller, "*", "/**").await.unwrap();
        }
        let payments = provider.service("payments", None).unwrap();
        store
            .add_rest_service(&payments, &format!("http://{is_addr}/sspf"), Some(&fixture::payments_openapi()))
            .await
            .unwrap();
        store.add_endpoint(&payments, "GET", "/persons/*/payments").await.unwrap();
        store.grant(&payments, &caller, "GET", "/persons/*/payments").await.unwrap();
        let whoami = provider.service("whoami", None).unwrap();
        store.add_rest_service(&whoami, &format!("http://{stub_addr}/rest-echo"), None).await.unwrap();
        store.grant(&whoami, &caller, "*", "/**").await.unwrap();
        // endpoint-level rights on a service that shows what it received
        let files = provider.service("files", None).unwrap();
        store.add_rest_service(&files, &format!("http://{stub_addr}/rest-echo"), None).await.unwrap();
        store.grant(&files, &caller, "GET", "/persons/*/payments").await.unwrap();
        store.grant(&files, &caller, "GET", "/files/*.json").await.unwrap();
        // a service nobody may call
        store
            .add_wsdl(&provider, "test", &op_wsdl(&format!("http://{stub_addr}/echo"), "secretOp"), None)
            .await
            .unwrap();
    }
    fed.reload_conf().await.unwrap();
    World { fed, dir, stubs, is_addr, stub_addr }
}

impl World {
    pub fn url(&self, i: usize) -> String {
        self.fed.client_url(i)
    }

    pub async fn stop(self) {
        self.stubs.trigger();
        self.fed.stop().await;
    }
}

/// A SOAP request from `from` to `to/service`, body wrapper `wrapper` (normally the code).
pub fn soap_request(from: &str, service: &str, body: &str) -> String {
    let header = XRoadHeader {
        client: client(from),
        service: self::service(service),
        id: "m-1".into(),
        user_id: Some("AZ5ZX7K2P".into()),
        issue: Some("case-17".into()),
        protocol_version: "4.0".into(),
        security_server: None,
        request_hash: None,
    };
    build_envelope(&header, body)
}

pub fn person_body(code: &str, fin: &str) -> String {
    format!("<p:{code} xmlns:p=\"{}\"><p:fin>{fin}</p:fin></p:{code}>", fixture::POPULATION_NS)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// The `faultcode` of a SOAP fault, if the body is one.
    pub fn fault_code(&self) -> Option<String> {
        let start = self.body.find("<faultcode>")? + "<faultcode>".len();
        let end = self.body[start..].find("</faultcode>")? + start;
        Some(self.body[start..end].to_owned())
    }
}

pub async fn send(method: &str, url: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Reply {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let mut request = Request::builder().method(method).uri(url);
    for (n, v) in headers {
        request = request.header(*n, *v);
    }
    let response = client.request(request.body(Full::new(body.into())).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = String::from_utf8_lossy(&response.into_body().collect().await.unwrap().to_bytes()).into_owned();
    Reply { status, headers, body }
}

pub async fn post_soap(url: &str, body: impl Into<Bytes>) -> Reply {
    send("POST", &format!("{url}/"), &[("content-type", "text/xml; charset=utf-8")], body).await
}
