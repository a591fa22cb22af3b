//! What the provider's security server talks to: an X-Road SOAP 4.0 request answered with
//! an envelope echoing its header, or a REST request (`GET /rest/{service}?field=…`, or a
//! JSON body `POST` for services that write) answered with JSON. Either way the request's
//! fields are checked first and every refusal is a fault naming the field or the cause.

use std::borrow::Cow;

use egov_xroad::soap;

use crate::AdapterError;
use crate::backend::{Answer, Backends, Caller};
use crate::describe;
use crate::fields::{self, Values};
use crate::mapping::{AdapterMapping, ServiceMapping};

/// A loaded mapping with its back ends and generated WSDL: what serves requests. A new
/// mapping pushed by the security server replaces it as a whole.
#[derive(Debug)]
pub struct Runtime {
    /// The mapping.
    pub mapping: AdapterMapping,
    /// The mapping file's text as pushed or read.
    pub text: String,
    /// The generated WSDL.
    pub wsdl: String,
    namespace: String,
    backends: Backends,
}

impl Runtime {
    /// Builds the runtime of a validated mapping.
    pub fn new(mapping: AdapterMapping, text: String) -> Self {
        let wsdl = describe::wsdl(&mapping, &format!("{}/soap", mapping.base_url));
        let namespace = describe::namespace(&mapping);
        Self { mapping, text, wsdl, namespace, backends: Backends::default() }
    }

    /// Closes back-end connections.
    pub async fn close(&self) {
        self.backends.close().await;
    }

    /// The OpenAPI document of a service's REST side.
    pub fn openapi(&self, code: &str) -> Option<serde_json::Value> {
        let s = self.mapping.services.iter().find(|s| s.code == code)?;
        Some(describe::openapi(&self.mapping, s, &rest_url(&self.mapping, code)))
    }

    async fn answer(&self, service: &ServiceMapping, values: &Values, caller: &Caller) -> Result<Answer, AdapterError> {
        if service.user_required && caller.user_id.as_deref().is_none_or(|u| u.trim().is_empty()) {
            return Err(AdapterError::UserRequired(service.code.clone()));
        }
        self.backends.call(service, values, caller).await
    }

    /// Answers a SOAP request: always a SOAP envelope, the answer or a fault.
    pub async fn soap(&self, body: &[u8]) -> String {
        match self.soap_answer(body).await {
            Ok(envelope) => envelope,
            Err(e) => e.fault().to_soap(),
        }
    }

    async fn soap_answer(&self, body: &[u8]) -> Result<String, AdapterError> {
        let request = soap::parse_request(body).map_err(|e| AdapterError::BadRequest(e.to_string()))?;
        let header = &request.header;
        let code = header.service.service_code();
        let service = self
            .mapping
            .services
            .iter()
            .find(|s| s.code == code && s.version.as_deref() == header.service.version())
            .ok_or_else(|| AdapterError::UnknownService(header.service.to_string()))?;
        let text =
            std::str::from_utf8(body).map_err(|_| AdapterError::BadRequest("the request is not UTF-8".into()))?;
        let values = soap_fields(service, text)?;
        let caller = Caller {
            client: Some(header.client.to_string()),
            message_id: Some(header.id.clone()),
            user_id: header.user_id.clone(),
        };
        let answer = self.answer(service, &values, &caller).await?;
        let mut xml = format!("<a:{code}Response xmlns:a=\"{}\">", egov_xroad::xml::escaped(&self.namespace));
        answer.write_xml("a", &mut xml);
        xml.push_str(&format!("</a:{code}Response>"));
        Ok(soap::build_envelope(header, &xml))
    }

    /// Answers a REST request for service `code`: status and JSON body.
    pub async fn rest(
        &self,
        method: &str,
        code: &str,
        query: Option<&str>,
        caller: Caller,
        body: &[u8],
    ) -> (u16, String) {
        match self.rest_answer(method, code, query, &caller, body).await {
            Ok(answer) => (200, answer.to_json().to_string()),
            Err(e) => (e.rest_status(), e.fault().to_rest_json()),
        }
    }

    async fn rest_answer(
        &self,
        method: &str,
        code: &str,
        query: Option<&str>,
        caller: &Caller,
        body: &[u8],
    ) -> Result<Answer, AdapterError> {
        let service = self
            .mapping
            .services
            .iter()
            .find(|s| s.code == code)
            .ok_or_else(|| AdapterError::UnknownService(code.to_owned()))?;
        let values = match (service.is_write(), method) {
            (false, "GET") => {
                let pairs = url::form_urlencoded::parse(query.unwrap_or("").as_bytes()).collect::<Vec<_>>();
                fields::check(&service.fields, pairs.iter().map(|(k, v)| (k.as_ref(), Cow::Borrowed(v.as_ref()))))?
            }
            (true, "POST") => {
                let value: serde_json::Value = serde_json::from_slice(body)
                    .map_err(|e| AdapterError::BadRequest(format!("the request body is not JSON: {e}")))?;
                let object = value.as_object().ok_or_else(|| {
                    AdapterError::BadRequest("the request body must be a JSON object of fields".into())
                })?;
                fields::check_json(&service.fields, object)?
            }
            (false, _) => {
                return Err(AdapterError::BadRequest(format!("{code} is read with GET and query parameters")));
            }
            (true, _) => {
                return Err(AdapterError::BadRequest(format!("{code} takes POST with a JSON object of fields")));
            }
        };
        self.answer(service, &values, caller).await
    }
}

/// Where the REST side of a service answers.
pub fn rest_url(mapping: &AdapterMapping, code: &str) -> String {
    format!("{}/rest/{code}", mapping.base_url)
}

/// The request fields of a SOAP body: the children of the service element, each text only
/// (public for the fuzz target).
pub fn soap_fields(service: &ServiceMapping, text: &str) -> Result<Values, AdapterError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| AdapterError::BadRequest(format!("not XML: {e}")))?;
    let body = doc
        .root_element()
        .children()
        .find(|n| {
            n.is_element() && n.tag_name().name() == "Body" && n.tag_name().namespace() == Some(soap::SOAP_ENV_NS)
        })
        .ok_or_else(|| AdapterError::BadRequest("the envelope has no Body".into()))?;
    let operation =
        body.children().find(|n| n.is_element()).ok_or_else(|| AdapterError::BadRequest("the Body is empty".into()))?;
    let mut raw = Vec::new();
    for child in operation.children().filter(|n| n.is_element()) {
        let name = child.tag_name().name();
        if child.children().any(|n| n.is_element()) {
            return Err(AdapterError::field(name, "must hold text, not elements"));
        }
        let value: String = child.children().filter_map(|n| n.text()).collect();
        raw.push((name, Cow::Owned(value)));
    }
    fields::check(&service.fields, raw)
}
