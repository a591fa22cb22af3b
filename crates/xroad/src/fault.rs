//! X-Road faults as they appear on the wire (PR-MESS §2.5, PR-REST §4.6).
//!
//! A technical error becomes a SOAP 1.1 `Fault` sent with HTTP 200 (SOAP clients), or a JSON
//! object `{type, message, detail}` with an `X-Road-Error` header and status 400 (`Client.*`)
//! or 500 (`Server.*`) for REST clients. `detail` carries a unique id that also appears in
//! the server's log, so an operator can find the cause of a fault a user reports.

use crate::xml::escape_text;

/// A fault ready to be sent to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Dotted fault code, e.g. `Server.ServerProxy.AccessDenied`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// Unique id correlating the fault with the server log.
    pub detail: String,
}

impl Fault {
    /// A fault with a fresh correlation id.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { code: code.into(), message: message.into(), detail: uuid::Uuid::new_v4().to_string() }
    }

    /// Whether the client (not a server) is at fault: decides REST status 400 vs 500.
    pub fn is_client_fault(&self) -> bool {
        self.code.starts_with("Client")
    }

    /// HTTP status for REST clients: 400 for `Client.*`, 500 otherwise (PR-REST §4.6).
    pub fn rest_status(&self) -> u16 {
        if self.is_client_fault() { 400 } else { 500 }
    }

    /// The SOAP 1.1 fault envelope X-Road sends (always with HTTP 200).
    pub fn to_soap(&self) -> String {
        let mut out = String::with_capacity(400 + self.message.len());
        out.push_str(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\
<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>",
        );
        escape_text(&self.code, &mut out);
        out.push_str("</faultcode><faultstring>");
        escape_text(&self.message, &mut out);
        out.push_str("</faultstring><faultactor></faultactor><detail><faultDetail xmlns=\"\">");
        escape_text(&self.detail, &mut out);
        out.push_str("</faultDetail></detail></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>");
        out
    }

    /// The REST error body (JSON).
    pub fn to_rest_json(&self) -> String {
        let mut out = String::with_capacity(100 + self.message.len());
        out.push_str("{\"type\":");
        crate::json::push_string(&self.code, &mut out);
        out.push_str(",\"message\":");
        crate::json::push_string(&self.message, &mut out);
        out.push_str(",\"detail\":");
        crate::json::push_string(&self.detail, &mut out);
        out.push('}');
        out
    }

    /// The REST error body in XML, for clients whose `Accept` asks for XML.
    pub fn to_rest_xml(&self) -> String {
        let mut out = String::from("<error><type>");
        escape_text(&self.code, &mut out);
        out.push_str("</type><message>");
        escape_text(&self.message, &mut out);
        out.push_str("</message><detail>");
        escape_text(&self.detail, &mut out);
        out.push_str("</detail></error>");
        out
    }
}

/// Converts a fault code in X-Road 7.8's lower-case snake form
/// (`server.clientproxy.access_denied`) to the classic CamelCase form
/// (`Server.ClientProxy.AccessDenied`); classic codes are returned unchanged.
pub fn normalize_fault_code(code: &str) -> String {
    if code.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
        return code.to_owned();
    }
    code.split('.')
        .map(|segment| match segment {
            "client" => "Client".to_owned(),
            "server" => "Server".to_owned(),
            "clientproxy" => "ClientProxy".to_owned(),
            "serverproxy" => "ServerProxy".to_owned(),
            "servicefailed" | "service_failed" => "ServiceFailed".to_owned(),
            "opmonitor" => "OpMonitor".to_owned(),
            other => other
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    match c.next() {
                        Some(first) => first.to_ascii_uppercase().to_string() + c.as_str(),
                        None => String::new(),
                    }
                })
                .collect(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn soap_fault_has_code_string_and_detail() {
        let f = Fault { code: "Server.ServerProxy.AccessDenied".into(), message: "a < b".into(), detail: "d-1".into() };
        let xml = f.to_soap();
        assert!(xml.contains("<faultcode>Server.ServerProxy.AccessDenied</faultcode>"));
        assert!(xml.contains("<faultstring>a &lt; b</faultstring>"));
        assert!(xml.contains("<faultDetail xmlns=\"\">d-1</faultDetail>"));
        assert_eq!(f.rest_status(), 500);
        assert_eq!(f.to_rest_json(), r#"{"type":"Server.ServerProxy.AccessDenied","message":"a < b","detail":"d-1"}"#);
    }

    #[test]
    fn normalizes_snake_case_codes() {
        assert_eq!(normalize_fault_code("server.clientproxy.access_denied"), "Server.ClientProxy.AccessDenied");
        assert_eq!(
            normalize_fault_code("server.clientproxy.ssl_authentication_failed"),
            "Server.ClientProxy.SslAuthenticationFailed"
        );
        assert_eq!(normalize_fault_code("Client.InvalidSoap"), "Client.InvalidSoap");
    }
}
