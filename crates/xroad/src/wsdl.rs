//! WSDL service descriptions: which operations (service codes and versions) a WSDL offers,
//! and the endpoint-address rewriting X-Road applies before handing a WSDL to a client.

use crate::xml::escaped;

const WSDL_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
const SOAP11_BINDING_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap/";
const SOAP12_BINDING_NS: &str = "http://schemas.xmlsoap.org/wsdl/soap12/";
const XROAD_NS: &str = crate::soap::XROAD_NS;

/// The address X-Road writes into WSDLs it serves: clients must send requests to their own
/// security server, never to the provider's real endpoint.
pub const XROAD_ENDPOINT_PLACEHOLDER: &str = "http://example.org/xroad-endpoint";

/// Why a WSDL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WsdlError {
    /// Not well-formed XML (DTDs are refused too).
    #[error("WSDL is not well-formed XML: {0}")]
    Malformed(String),
    /// The root element is not `wsdl:definitions`.
    #[error("not a WSDL 1.1 document (root element must be wsdl:definitions)")]
    NotWsdl,
    /// No binding operation found.
    #[error("the WSDL defines no operations")]
    NoOperations,
}

/// One operation of a WSDL binding: an X-Road service code and its `xrd:version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsdlOperation {
    /// Operation name = service code.
    pub name: String,
    /// `xrd:version` of the operation, if present.
    pub version: Option<String>,
}

/// What a WSDL describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsdlInfo {
    /// Binding operations, in document order, without duplicates.
    pub operations: Vec<WsdlOperation>,
    /// The first `soap:address/@location`, the service's real endpoint.
    pub address: Option<String>,
}

/// Reads the operations and endpoint of a WSDL 1.1 document.
pub fn parse(wsdl: &str) -> Result<WsdlInfo, WsdlError> {
    let doc = roxmltree::Document::parse(wsdl).map_err(|e| WsdlError::Malformed(e.to_string()))?;
    let root = doc.root_element();
    if root.tag_name().namespace() != Some(WSDL_NS) || root.tag_name().name() != "definitions" {
        return Err(WsdlError::NotWsdl);
    }
    let mut operations: Vec<WsdlOperation> = Vec::new();
    for binding in root.children().filter(|n| is(n, WSDL_NS, "binding")) {
        for op in binding.children().filter(|n| is(n, WSDL_NS, "operation")) {
            let Some(name) = op.attribute("name") else { continue };
            let version =
                op.children().find(|n| is(n, XROAD_NS, "version")).and_then(|v| v.text()).map(|t| t.trim().to_owned());
            let operation = WsdlOperation { name: name.to_owned(), version };
            if !operations.contains(&operation) {
                operations.push(operation);
            }
        }
    }
    if operations.is_empty() {
        return Err(WsdlError::NoOperations);
    }
    let address = doc
        .descendants()
        .find(|n| is(n, SOAP11_BINDING_NS, "address") || is(n, SOAP12_BINDING_NS, "address"))
        .and_then(|n| n.attribute("location"))
        .map(str::to_owned);
    Ok(WsdlInfo { operations, address })
}

/// Returns the WSDL with every `soap:address/@location` replaced by `location`.
pub fn rewrite_address(wsdl: &str, location: &str) -> Result<String, WsdlError> {
    let doc = roxmltree::Document::parse(wsdl).map_err(|e| WsdlError::Malformed(e.to_string()))?;
    let mut ranges: Vec<std::ops::Range<usize>> = doc
        .descendants()
        .filter(|n| is(n, SOAP11_BINDING_NS, "address") || is(n, SOAP12_BINDING_NS, "address"))
        .filter_map(|n| n.attribute_node("location").and_then(|a| value_range(wsdl, a.range())))
        .collect();
    ranges.sort_by_key(|r| r.start);
    let replacement = escaped(location);
    let mut out = String::with_capacity(wsdl.len());
    let mut pos = 0;
    for r in ranges {
        out.push_str(&wsdl[pos..r.start]);
        out.push_str(&replacement);
        pos = r.end;
    }
    out.push_str(&wsdl[pos..]);
    Ok(out)
}

/// The value's byte range inside a whole-attribute range (`name = "value"`), found in the
/// text itself: roxmltree's own `range_value` is wrong when more than 255 whitespace
/// characters surround `=` (found by the `wsdl` fuzz target).
fn value_range(text: &str, attribute: std::ops::Range<usize>) -> Option<std::ops::Range<usize>> {
    let attr = text.get(attribute.clone())?;
    let eq = attr.find('=')?;
    let open = eq + 1 + attr[eq + 1..].find(['"', '\''])?;
    let quote = attr[open..].chars().next()?;
    let close = open + 1 + attr[open + 1..].find(quote)?;
    Some(attribute.start + open + 1..attribute.start + close)
}

fn is(n: &roxmltree::Node<'_, '_>, ns: &str, local: &str) -> bool {
    n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == local
}

#[cfg(test)]
mod tests {
    use super::*;

    const WSDL: &str = r#"<?xml version="1.0"?>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd" name="p">
  <wsdl:binding name="b" type="x">
    <wsdl:operation name="getPersonByFin"><xrd:version>v1</xrd:version></wsdl:operation>
    <wsdl:operation name="listPersons"/>
  </wsdl:binding>
  <wsdl:service name="s"><wsdl:port name="p" binding="b"><soap:address location="http://10.0.0.5/real"/></wsdl:port></wsdl:service>
</wsdl:definitions>"#;

    #[test]
    fn reads_operations_and_address() {
        let info = parse(WSDL).unwrap();
        assert_eq!(info.operations.len(), 2);
        assert_eq!(info.operations[0].version.as_deref(), Some("v1"));
        assert_eq!(info.address.as_deref(), Some("http://10.0.0.5/real"));
    }

    #[test]
    fn rewrites_address() {
        let out = rewrite_address(WSDL, XROAD_ENDPOINT_PLACEHOLDER).unwrap();
        assert!(out.contains(r#"location="http://example.org/xroad-endpoint""#));
        assert!(!out.contains("10.0.0.5"));
    }

    #[test]
    fn rewrites_address_whatever_the_spacing() {
        let spaced = include_str!("../../../fuzz/regressions/wsdl_spaces_around_eq.xml");
        let out = rewrite_address(spaced, XROAD_ENDPOINT_PLACEHOLDER).unwrap();
        assert_eq!(parse(&out).unwrap().address.as_deref(), Some(XROAD_ENDPOINT_PLACEHOLDER));
        let single = WSDL.replace("location=\"http://10.0.0.5/real\"", "location = 'http://10.0.0.5/real'");
        let out = rewrite_address(&single, XROAD_ENDPOINT_PLACEHOLDER).unwrap();
        assert_eq!(parse(&out).unwrap().address.as_deref(), Some(XROAD_ENDPOINT_PLACEHOLDER));
    }

    #[test]
    fn refuses_dtd_and_non_wsdl() {
        assert!(matches!(parse("<!DOCTYPE x [<!ENTITY a 'b'>]><x/>"), Err(WsdlError::Malformed(_))));
        assert_eq!(parse("<x/>"), Err(WsdlError::NotWsdl));
    }
}
