//! Service descriptions generated from the mapping: one WSDL for the SOAP side (every
//! service an operation, with `xrd:version`) and an OpenAPI 3 document per service for the
//! REST side, so the security server's `getWsdl` and `getOpenAPI` work for adapted services
//! exactly as for native ones.
//!
//! The WSDL declares the X-Road header as X-Road services do (PR-MESS §2.2): a header message
//! whose parts are the `xrd:client`, `xrd:service`, `xrd:id`, `xrd:userId` and
//! `xrd:protocolVersion` elements, bound with `soap:header` in every operation's input and
//! output (the output also has the `xrd:requestHash` the provider's security server adds).
//! WSDL-driven clients (zeep, pyxroad's `XClient`) then fill the header from the WSDL. The
//! header schema is inlined in `wsdl:types` — no `schemaLocation` — so a client without
//! internet access loads the WSDL (issue 13 item 16).

use egov_xroad::xml::escaped;

use crate::mapping::{AdapterMapping, FieldType, ServiceMapping};

/// Target namespace of an adapter's messages.
pub fn namespace(mapping: &AdapterMapping) -> String {
    format!("urn:egov:adapter:{}", mapping.name)
}

fn xsd_type(kind: FieldType) -> &'static str {
    match kind {
        FieldType::String => "xs:string",
        FieldType::Integer => "xs:long",
        FieldType::Decimal => "xs:decimal",
        FieldType::Boolean => "xs:boolean",
        FieldType::Date => "xs:date",
    }
}

fn title(s: &ServiceMapping) -> Option<&String> {
    s.title.get("en").or_else(|| s.title.get("az")).or_else(|| s.title.values().next())
}

/// The X-Road header parts every request carries, in the order X-Road writes them.
pub const HEADER_PARTS: [&str; 5] = ["client", "service", "id", "userId", "protocolVersion"];

/// Name of the WSDL message holding the header parts.
const HEADER_MESSAGE: &str = "xroadHeader";

/// The X-Road header schemas (namespaces `http://x-road.eu/xsd/identifiers` and
/// `http://x-road.eu/xsd/xroad.xsd`), written from PR-MESS §2.2 Table 1: identifier parts
/// in order, `id:objectType` as a qualified attribute, the header elements as strings.
const HEADER_SCHEMAS: &str = r#"    <xs:schema targetNamespace="http://x-road.eu/xsd/identifiers" elementFormDefault="qualified">
      <xs:simpleType name="XRoadObjectType"><xs:restriction base="xs:string">
        <xs:enumeration value="MEMBER"/><xs:enumeration value="SUBSYSTEM"/><xs:enumeration value="SERVER"/>
        <xs:enumeration value="GLOBALGROUP"/><xs:enumeration value="LOCALGROUP"/><xs:enumeration value="SERVICE"/>
      </xs:restriction></xs:simpleType>
      <xs:attribute name="objectType" type="id:XRoadObjectType"/>
      <xs:element name="xRoadInstance" type="xs:string"/>
      <xs:element name="memberClass" type="xs:string"/>
      <xs:element name="memberCode" type="xs:string"/>
      <xs:element name="subsystemCode" type="xs:string"/>
      <xs:element name="serviceCode" type="xs:string"/>
      <xs:element name="serviceVersion" type="xs:string"/>
      <xs:complexType name="XRoadClientIdentifierType">
        <xs:sequence>
          <xs:element ref="id:xRoadInstance"/><xs:element ref="id:memberClass"/><xs:element ref="id:memberCode"/>
          <xs:element ref="id:subsystemCode" minOccurs="0"/>
        </xs:sequence>
        <xs:attribute ref="id:objectType" use="required"/>
      </xs:complexType>
      <xs:complexType name="XRoadServiceIdentifierType">
        <xs:sequence>
          <xs:element ref="id:xRoadInstance"/><xs:element ref="id:memberClass"/><xs:element ref="id:memberCode"/>
          <xs:element ref="id:subsystemCode" minOccurs="0"/><xs:element ref="id:serviceCode"/>
          <xs:element ref="id:serviceVersion" minOccurs="0"/>
        </xs:sequence>
        <xs:attribute ref="id:objectType" use="required"/>
      </xs:complexType>
    </xs:schema>
    <xs:schema targetNamespace="http://x-road.eu/xsd/xroad.xsd" elementFormDefault="qualified">
      <xs:import namespace="http://x-road.eu/xsd/identifiers"/>
      <xs:element name="client" type="id:XRoadClientIdentifierType"/>
      <xs:element name="service" type="id:XRoadServiceIdentifierType"/>
      <xs:element name="id" type="xs:string"/>
      <xs:element name="userId" type="xs:string"/>
      <xs:element name="issue" type="xs:string"/>
      <xs:element name="protocolVersion" type="xs:string"/>
      <xs:element name="requestHash"><xs:complexType><xs:simpleContent><xs:extension base="xs:string">
        <xs:attribute name="algorithmId" type="xs:string"/>
      </xs:extension></xs:simpleContent></xs:complexType></xs:element>
    </xs:schema>
"#;

/// `soap:header` bindings for `parts` of the header message.
fn soap_headers(parts: &[&str]) -> String {
    parts
        .iter()
        .map(|p| format!("<soap:header message=\"tns:{HEADER_MESSAGE}\" part=\"{p}\" use=\"literal\"/>"))
        .collect()
}

/// The WSDL of every service; `location` is where the SOAP side answers.
pub fn wsdl(mapping: &AdapterMapping, location: &str) -> String {
    let ns = escaped(&namespace(mapping));
    let name = escaped(&mapping.name);
    let mut types = String::new();
    let mut messages = String::new();
    let mut port_ops = String::new();
    let mut binding_ops = String::new();
    let input_headers = soap_headers(&HEADER_PARTS);
    let output_headers = soap_headers(&[&HEADER_PARTS[..], &["requestHash"]].concat());
    for s in &mapping.services {
        let code = &s.code;
        types.push_str(&format!("      <xs:element name=\"{code}\"><xs:complexType><xs:sequence>\n"));
        for f in &s.fields {
            let min = if f.required { "" } else { " minOccurs=\"0\"" };
            types.push_str(&format!("        <xs:element name=\"{}\" type=\"{}\"{min}/>\n", f.name, xsd_type(f.kind)));
        }
        types.push_str("      </xs:sequence></xs:complexType></xs:element>\n");
        types.push_str(&format!("      <xs:element name=\"{code}Response\"><xs:complexType><xs:sequence>\n"));
        let elements: String = s
            .response
            .iter()
            .map(|(e, _)| format!("<xs:element name=\"{e}\" type=\"xs:string\" minOccurs=\"0\"/>"))
            .collect();
        match &s.repeat {
            Some(r) => types.push_str(&format!(
                "        <xs:element name=\"{r}\" minOccurs=\"0\" maxOccurs=\"unbounded\"><xs:complexType><xs:sequence>{elements}</xs:sequence></xs:complexType></xs:element>\n"
            )),
            None => types.push_str(&format!("        {elements}\n")),
        }
        types.push_str("      </xs:sequence></xs:complexType></xs:element>\n");
        messages.push_str(&format!(
            "  <wsdl:message name=\"{code}\"><wsdl:part name=\"body\" element=\"tns:{code}\"/></wsdl:message>\n  \
<wsdl:message name=\"{code}Response\"><wsdl:part name=\"body\" element=\"tns:{code}Response\"/></wsdl:message>\n"
        ));
        let doc =
            title(s).map(|t| format!("<wsdl:documentation>{}</wsdl:documentation>", escaped(t))).unwrap_or_default();
        port_ops.push_str(&format!(
            "    <wsdl:operation name=\"{code}\">{doc}<wsdl:input message=\"tns:{code}\"/><wsdl:output message=\"tns:{code}Response\"/></wsdl:operation>\n"
        ));
        let version =
            s.version.as_ref().map(|v| format!("<xrd:version>{}</xrd:version>", escaped(v))).unwrap_or_default();
        binding_ops.push_str(&format!(
            "    <wsdl:operation name=\"{code}\"><soap:operation soapAction=\"\" style=\"document\"/>{version}\
<wsdl:input><soap:body parts=\"body\" use=\"literal\"/>{input_headers}</wsdl:input>\
<wsdl:output><soap:body parts=\"body\" use=\"literal\"/>{output_headers}</wsdl:output></wsdl:operation>\n"
        ));
    }
    let header_parts: String = HEADER_PARTS
        .iter()
        .chain(&["requestHash"])
        .map(|p| format!("<wsdl:part name=\"{p}\" element=\"xrd:{p}\"/>"))
        .collect();
    messages.insert_str(0, &format!("  <wsdl:message name=\"{HEADER_MESSAGE}\">{header_parts}</wsdl:message>\n"));
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd"
    xmlns:id="http://x-road.eu/xsd/identifiers" xmlns:tns="{ns}" targetNamespace="{ns}" name="{name}">
  <wsdl:types>
{HEADER_SCHEMAS}    <xs:schema targetNamespace="{ns}" elementFormDefault="qualified">
{types}    </xs:schema>
  </wsdl:types>
{messages}  <wsdl:portType name="{name}PortType">
{port_ops}  </wsdl:portType>
  <wsdl:binding name="{name}Binding" type="tns:{name}PortType">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
{binding_ops}  </wsdl:binding>
  <wsdl:service name="{name}Service">
    <wsdl:port name="{name}Port" binding="tns:{name}Binding"><soap:address location="{location}"/></wsdl:port>
  </wsdl:service>
</wsdl:definitions>
"#,
        location = escaped(location)
    )
}

fn json_type(kind: FieldType) -> serde_json::Value {
    match kind {
        FieldType::String => serde_json::json!({"type": "string"}),
        FieldType::Integer => serde_json::json!({"type": "integer", "format": "int64"}),
        FieldType::Decimal => serde_json::json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}),
        FieldType::Boolean => serde_json::json!({"type": "boolean"}),
        FieldType::Date => serde_json::json!({"type": "string", "format": "date"}),
    }
}

/// The OpenAPI 3 description of one service's REST side, answered at `server_url`: `GET /`
/// with query parameters, or `POST /` with a JSON body for services that write.
pub fn openapi(mapping: &AdapterMapping, service: &ServiceMapping, server_url: &str) -> serde_json::Value {
    let entry = serde_json::json!({
        "type": "object",
        "properties": service.response.iter().map(|(e, _)| (e.clone(), serde_json::json!({}))).collect::<serde_json::Map<_, _>>(),
    });
    let answer = match &service.repeat {
        Some(r) => serde_json::json!({"type": "object", "properties": {r: {"type": "array", "items": entry}}}),
        None => entry,
    };
    let error = serde_json::json!({"description": "refused: the message names the field or the cause",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut operation = serde_json::json!({
        "operationId": service.code,
        "summary": title(service).cloned().unwrap_or_else(|| service.code.clone()),
        "responses": {
            "200": {"description": "the answer", "content": {"application/json": {"schema": answer}}},
            "400": error.clone(), "404": error.clone(), "502": error.clone(), "504": error,
        },
    });
    if service.user_required {
        operation["description"] = "Needs the signing user: send X-Road-UserId (TT-6.6).".into();
    }
    let required: Vec<&str> = service.fields.iter().filter(|f| f.required).map(|f| f.name.as_str()).collect();
    if service.is_write() {
        let properties: serde_json::Map<_, _> =
            service.fields.iter().map(|f| (f.name.clone(), json_type(f.kind))).collect();
        operation["requestBody"] = serde_json::json!({"required": true, "content": {"application/json": {"schema": {
            "type": "object", "properties": properties, "required": required, "additionalProperties": false}}}});
    } else {
        operation["parameters"] = service
            .fields
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "in": "query", "required": f.required, "schema": json_type(f.kind)}))
            .collect();
    }
    let method = if service.is_write() { "post" } else { "get" };
    serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": format!("{}: {}", mapping.name, title(service).unwrap_or(&service.code)), "version": service.version.clone().unwrap_or_else(|| "1".into())},
        "servers": [{"url": server_url}],
        "paths": {"/": {method: operation}},
        "components": {"schemas": {"Error": {"type": "object", "properties": {
            "type": {"type": "string"}, "message": {"type": "string"}, "detail": {"type": "string"}}}}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPPING: &str = r#"
[adapter]
name = "population"
listen = "127.0.0.1:8600"

[[service]]
code = "getPersonByFin"
version = "v1"
title = { en = "Personal data by FIN" }
request = { fin = "string", year = { type = "integer", required = false } }
sql = { database = "sqlite:///p.db", query = "SELECT * FROM p WHERE fin = :fin" }
response = { firstName = "first_name" }
repeat = "person"

[[service]]
code = "registerInsured"
request = { fin = "string" }
rest = { method = "POST", url = "http://h/insured", body = { fin = "{fin}" } }
response = { number = "/number" }
user_required = true
"#;

    #[test]
    fn the_generated_wsdl_is_one_the_security_server_accepts() {
        let m = crate::mapping::parse(MAPPING, "m.toml").unwrap();
        let text = wsdl(&m, "http://127.0.0.1:8600/soap");
        let info = egov_xroad::wsdl::parse(&text).unwrap();
        let ops: Vec<(String, Option<String>)> = info.operations.into_iter().map(|o| (o.name, o.version)).collect();
        assert_eq!(ops, [("getPersonByFin".into(), Some("v1".into())), ("registerInsured".into(), None)]);
        assert_eq!(info.address.as_deref(), Some("http://127.0.0.1:8600/soap"));
        assert!(text.contains(r#"<xs:element name="year" type="xs:long" minOccurs="0"/>"#));
    }

    /// Every operation's input and output binds each X-Road header part to the header
    /// message, whose parts are elements the inlined X-Road schemas define (issue 13 item 16).
    #[test]
    fn the_wsdl_declares_the_xroad_header_and_is_self_contained() {
        const WSDL: &str = "http://schemas.xmlsoap.org/wsdl/";
        const SOAP: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
        const XS: &str = "http://www.w3.org/2001/XMLSchema";
        let m = crate::mapping::parse(MAPPING, "m.toml").unwrap();
        let text = wsdl(&m, "http://127.0.0.1:8600/soap");
        let doc = roxmltree::Document::parse(&text).unwrap();
        fn named<'a, 'i>(
            doc: &'a roxmltree::Document<'i>,
            ns: &'static str,
            tag: &'static str,
        ) -> impl Iterator<Item = roxmltree::Node<'a, 'i>> {
            doc.descendants().filter(move |n| n.tag_name().namespace() == Some(ns) && n.tag_name().name() == tag)
        }
        // nothing to fetch: no schemaLocation, no include, no wsdl:import
        assert!(!text.contains("schemaLocation") && named(&doc, XS, "include").next().is_none(), "{text}");
        assert!(named(&doc, WSDL, "import").next().is_none());
        // the schemas define the header elements in their namespaces
        let defined = |ns: &str, name: &str| {
            named(&doc, XS, "schema").any(|schema| {
                schema.attribute("targetNamespace") == Some(ns)
                    && schema.children().any(|e| e.tag_name().name() == "element" && e.attribute("name") == Some(name))
            })
        };
        for part in HEADER_PARTS.iter().chain(&["requestHash"]) {
            assert!(defined("http://x-road.eu/xsd/xroad.xsd", part), "xrd:{part} is not defined");
        }
        for part in ["xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion"] {
            assert!(defined("http://x-road.eu/xsd/identifiers", part), "id:{part} is not defined");
        }
        // the header message: one part per header element
        let message = named(&doc, WSDL, "message").find(|n| n.attribute("name") == Some(HEADER_MESSAGE)).unwrap();
        let parts: Vec<(&str, &str)> = message
            .children()
            .filter(|n| n.is_element())
            .map(|n| (n.attribute("name").unwrap(), n.attribute("element").unwrap()))
            .collect();
        assert_eq!(
            parts,
            [
                ("client", "xrd:client"),
                ("service", "xrd:service"),
                ("id", "xrd:id"),
                ("userId", "xrd:userId"),
                ("protocolVersion", "xrd:protocolVersion"),
                ("requestHash", "xrd:requestHash")
            ]
        );
        // each operation binds them in its input and output
        let binding = named(&doc, WSDL, "binding").next().unwrap();
        let operations: Vec<_> = binding.children().filter(|n| n.tag_name().name() == "operation").collect();
        assert_eq!(operations.len(), m.services.len());
        for op in operations {
            for (direction, expected) in [("input", 5), ("output", 6)] {
                let side = op.children().find(|n| n.tag_name().name() == direction).unwrap();
                let headers: Vec<&str> = side
                    .children()
                    .filter(|n| n.tag_name().namespace() == Some(SOAP) && n.tag_name().name() == "header")
                    .inspect(|h| assert_eq!(h.attribute("message"), Some("tns:xroadHeader")))
                    .map(|h| h.attribute("part").unwrap())
                    .collect();
                assert_eq!(headers.len(), expected, "{direction} of {:?}", op.attribute("name"));
                assert_eq!(headers[..5], HEADER_PARTS, "{direction}");
            }
        }
    }

    #[test]
    fn openapi_takes_reads_as_get_and_writes_as_post() {
        let m = crate::mapping::parse(MAPPING, "m.toml").unwrap();
        let read = openapi(&m, &m.services[0], "http://a/rest/getPersonByFin");
        assert_eq!(read["paths"]["/"]["get"]["parameters"][0]["name"], "fin");
        assert_eq!(
            read["paths"]["/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["person"]
                ["type"],
            "array"
        );
        let write = openapi(&m, &m.services[1], "http://a/rest/registerInsured");
        assert_eq!(
            write["paths"]["/"]["post"]["requestBody"]["content"]["application/json"]["schema"]["required"][0],
            "fin"
        );
    }
}
