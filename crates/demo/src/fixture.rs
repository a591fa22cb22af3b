//! Fixture information systems for the security server's tests and the benchmark — small,
//! fixed and fast, so message-path tests do not depend on the demo agencies' generated data
//! (the demo itself runs the agencies of [`crate::agency`] behind adapters):
//!
//! - the Ministry of Justice **population registry**: SOAP service `getPersonByFin` (v1),
//!   personal data by FIN, the 7-character personal identification number (B-2);
//! - the State Social Protection Fund: REST service `payments` with an insured person's
//!   payments (`/persons/{fin}/payments?year=…`) and pension capital
//!   (`/persons/{fin}/pension-capital`) (B-2: insured-person registration, pension calculator).
//!
//! Data are fictitious.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio::net::TcpListener;

use egov_security_server::http::{Body, Shutdown, response, serve_http1};
use egov_xroad::soap;
use egov_xroad::xml::escaped;

/// Namespace of the population registry's messages.
pub const POPULATION_NS: &str = "http://justice.gov.az/population-registry/v1";

/// A person in the demo population registry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Person {
    /// Personal identification number (FIN).
    pub fin: &'static str,
    /// Given name.
    pub first_name: &'static str,
    /// Family name.
    pub last_name: &'static str,
    /// Patronymic.
    pub patronymic: &'static str,
    /// Date of birth (ISO).
    pub birth_date: &'static str,
    /// Registered address.
    pub address: &'static str,
}

/// The demo registry's people.
pub const PEOPLE: &[Person] = &[
    Person {
        fin: "5ZX7K2P",
        first_name: "Aysel",
        last_name: "Məmmədova",
        patronymic: "Rauf qızı",
        birth_date: "1988-03-14",
        address: "Bakı ş., Nəsimi r., Rəşid Behbudov küç. 25, m. 14",
    },
    Person {
        fin: "3JH8LQ1",
        first_name: "Elvin",
        last_name: "Quliyev",
        patronymic: "Kamran oğlu",
        birth_date: "1975-11-02",
        address: "Gəncə ş., Nizami r., Atatürk pr. 7",
    },
    Person {
        fin: "9PLM4TR",
        first_name: "Günel",
        last_name: "Hüseynova",
        patronymic: "Tofiq qızı",
        birth_date: "1961-06-30",
        address: "Sumqayıt ş., 9-cu mkr., ev 12, m. 40",
    },
];

/// The population registry's WSDL; `location` is where the service answers.
pub fn population_wsdl(location: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd"
    xmlns:tns="{ns}" targetNamespace="{ns}" name="populationRegistry">
  <wsdl:types>
    <xs:schema targetNamespace="{ns}" elementFormDefault="qualified">
      <xs:element name="getPersonByFin">
        <xs:complexType><xs:sequence><xs:element name="fin" type="xs:string"/></xs:sequence></xs:complexType>
      </xs:element>
      <xs:element name="getPersonByFinResponse">
        <xs:complexType><xs:sequence>
          <xs:element name="found" type="xs:boolean"/>
          <xs:element name="person" minOccurs="0">
            <xs:complexType><xs:sequence>
              <xs:element name="fin" type="xs:string"/>
              <xs:element name="firstName" type="xs:string"/>
              <xs:element name="lastName" type="xs:string"/>
              <xs:element name="patronymic" type="xs:string"/>
              <xs:element name="birthDate" type="xs:date"/>
              <xs:element name="address" type="xs:string"/>
            </xs:sequence></xs:complexType>
          </xs:element>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:schema>
  </wsdl:types>
  <wsdl:message name="getPersonByFin"><wsdl:part name="body" element="tns:getPersonByFin"/></wsdl:message>
  <wsdl:message name="getPersonByFinResponse"><wsdl:part name="body" element="tns:getPersonByFinResponse"/></wsdl:message>
  <wsdl:portType name="populationRegistryPortType">
    <wsdl:operation name="getPersonByFin">
      <wsdl:input message="tns:getPersonByFin"/>
      <wsdl:output message="tns:getPersonByFinResponse"/>
    </wsdl:operation>
  </wsdl:portType>
  <wsdl:binding name="populationRegistryBinding" type="tns:populationRegistryPortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <wsdl:operation name="getPersonByFin">
      <soap:operation soapAction="" style="document"/>
      <xrd:version>v1</xrd:version>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>
  </wsdl:binding>
  <wsdl:service name="populationRegistryService">
    <wsdl:port name="populationRegistryPort" binding="tns:populationRegistryBinding">
      <soap:address location="{location}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#,
        ns = POPULATION_NS,
        location = escaped(location)
    )
}

/// The payments service's OpenAPI description.
pub fn payments_openapi() -> String {
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "State Social Protection Fund: insured persons", "version": "1"},
        "paths": {
            "/persons/{fin}/payments": {"get": {
                "summary": "Social insurance payments of an insured person",
                "parameters": [
                    {"name": "fin", "in": "path", "required": true, "schema": {"type": "string"}},
                    {"name": "year", "in": "query", "required": false, "schema": {"type": "integer"}}
                ],
                "responses": {"200": {"description": "payments"}, "404": {"description": "unknown person"}}
            }},
            "/persons/{fin}/pension-capital": {"get": {
                "summary": "Accumulated pension capital",
                "parameters": [{"name": "fin", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"200": {"description": "pension capital"}, "404": {"description": "unknown person"}}
            }}
        }
    })
    .to_string()
}

/// Starts both information systems on one listener; returns its address.
pub async fn start(shutdown: Shutdown) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let location = Arc::new(format!("http://{addr}/population"));
    tokio::spawn(serve_http1(
        listener,
        move |req, _| handle(req, location.clone()),
        std::time::Duration::from_secs(10),
        shutdown,
    ));
    Ok(addr)
}

async fn handle(request: Request<Incoming>, location: Arc<String>) -> Response<Body> {
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    match (request.method().clone(), path.as_str()) {
        (Method::GET, "/population/wsdl") => {
            response(StatusCode::OK, "text/xml; charset=utf-8", population_wsdl(&location))
        }
        (Method::POST, "/population") => match request.into_body().collect().await {
            Ok(body) => population(&body.to_bytes()),
            Err(_) => response(StatusCode::BAD_REQUEST, "text/plain", "unreadable body"),
        },
        (Method::GET, "/sspf/openapi.json") => response(StatusCode::OK, "application/json", payments_openapi()),
        (Method::GET, p) if p.starts_with("/sspf/persons/") => sspf(&p["/sspf".len()..], query.as_deref()),
        _ => response(StatusCode::NOT_FOUND, "text/plain", "not found"),
    }
}

/// The population registry: answers `getPersonByFin`, echoing the X-Road header.
fn population(body: &Bytes) -> Response<Body> {
    let request = match soap::parse_request(body) {
        Ok(r) => r,
        Err(e) => {
            let fault = egov_xroad::Fault::new("Client.InvalidRequest", e.to_string());
            return response(StatusCode::INTERNAL_SERVER_ERROR, "text/xml; charset=utf-8", fault.to_soap());
        }
    };
    let fin = std::str::from_utf8(body)
        .ok()
        .and_then(|t| {
            roxmltree::Document::parse(t).ok().and_then(|d| {
                d.descendants()
                    .find(|n| n.is_element() && n.tag_name().name() == "fin")
                    .and_then(|n| n.text())
                    .map(|s| s.trim().to_owned())
            })
        })
        .unwrap_or_default();
    let person = PEOPLE.iter().find(|p| p.fin.eq_ignore_ascii_case(&fin));
    let mut out = format!("<pr:getPersonByFinResponse xmlns:pr=\"{POPULATION_NS}\">");
    match person {
        Some(p) => out.push_str(&format!(
            "<pr:found>true</pr:found><pr:person><pr:fin>{}</pr:fin><pr:firstName>{}</pr:firstName><pr:lastName>{}</pr:lastName>\
<pr:patronymic>{}</pr:patronymic><pr:birthDate>{}</pr:birthDate><pr:address>{}</pr:address></pr:person>",
            escaped(p.fin),
            escaped(p.first_name),
            escaped(p.last_name),
            escaped(p.patronymic),
            escaped(p.birth_date),
            escaped(p.address)
        )),
        None => out.push_str("<pr:found>false</pr:found>"),
    }
    out.push_str("</pr:getPersonByFinResponse>");
    response(StatusCode::OK, "text/xml; charset=utf-8", soap::build_envelope(&request.header, &out))
}

/// Fictitious monthly contributions per person.
fn monthly_amount(fin: &str) -> f64 {
    let seed: u32 = fin.bytes().map(u32::from).sum();
    120.0 + f64::from(seed % 200)
}

/// The social protection fund: payments and pension capital by FIN.
fn sspf(path: &str, query: Option<&str>) -> Response<Body> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (fin, what) = match segments.as_slice() {
        ["persons", fin, what] => (*fin, *what),
        _ => return json(StatusCode::NOT_FOUND, serde_json::json!({"error": "unknown resource"})),
    };
    let Some(person) = PEOPLE.iter().find(|p| p.fin.eq_ignore_ascii_case(fin)) else {
        return json(
            StatusCode::NOT_FOUND,
            serde_json::json!({"error": "no insured person with this FIN", "fin": fin}),
        );
    };
    let monthly = monthly_amount(person.fin);
    match what {
        "payments" => {
            let year = match egov_security_server::http::query_param(query, "year") {
                None => 2025,
                Some(y) => match y.parse::<u32>() {
                    Ok(y) if (2000..=2030).contains(&y) => y,
                    _ => {
                        return json(
                            StatusCode::BAD_REQUEST,
                            serde_json::json!({"error": "year must be between 2000 and 2030"}),
                        );
                    }
                },
            };
            let payments: Vec<serde_json::Value> = (1..=12)
                .map(|m| serde_json::json!({"month": format!("{year}-{m:02}"), "amount_azn": monthly, "type": "social insurance contribution"}))
                .collect();
            json(
                StatusCode::OK,
                serde_json::json!({"fin": person.fin, "year": year, "payments": payments, "total_azn": monthly * 12.0}),
            )
        }
        "pension-capital" => json(
            StatusCode::OK,
            serde_json::json!({"fin": person.fin, "pension_capital_azn": (monthly * 12.0 * 9.5).round(), "as_of": "2025-12-31"}),
        ),
        _ => json(StatusCode::NOT_FOUND, serde_json::json!({"error": "unknown resource"})),
    }
}

fn json(status: StatusCode, value: serde_json::Value) -> Response<Body> {
    let mut r = Response::new(Full::new(Bytes::from(value.to_string())));
    *r.status_mut() = status;
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    r
}
