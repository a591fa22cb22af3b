use super::*;
use proptest::prelude::*;

const EXAMPLE: &[u8] = include_bytes!("../../tests/data/example-request.xml");

fn request(header_extra: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:x="http://x-road.eu/xsd/xroad.xsd" xmlns:i="http://x-road.eu/xsd/identifiers">
<s:Header>
<x:client i:objectType="SUBSYSTEM"><i:xRoadInstance>AZ</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>1</i:memberCode><i:subsystemCode>portal</i:subsystemCode></x:client>
<x:service i:objectType="SERVICE"><i:xRoadInstance>AZ</i:xRoadInstance><i:memberClass>GOV</i:memberClass><i:memberCode>2</i:memberCode><i:subsystemCode>reg</i:subsystemCode><i:serviceCode>getPerson</i:serviceCode><i:serviceVersion>v1</i:serviceVersion></x:service>
<x:id>m-1</x:id>
{header_extra}<x:protocolVersion>4.0</x:protocolVersion>
</s:Header>
<s:Body>{body}</s:Body>
</s:Envelope>"#
    )
}

const BODY: &str = r#"<p:getPerson xmlns:p="urn:p"><p:fin>5ZX7K2P</p:fin></p:getPerson>"#;

#[test]
fn parses_the_reference_example() {
    let m = parse_request(EXAMPLE).unwrap();
    assert_eq!(m.header.client.to_string(), "XX-TEST/GOV/70000001/casework");
    assert_eq!(m.header.service.to_string(), "XX-TEST/GOV/70000002/population-register/getPersonAddress/v2");
    assert_eq!(m.header.id, "3f0c6a52-9b1e-4c55-8d0e-2a7f1c9e4b10");
    assert_eq!(m.header.user_id.as_deref(), Some("XX39001010000"));
    assert_eq!(m.body_element.local, "getPersonAddress");
    assert_eq!(m.body_element.namespace.as_deref(), Some("http://population.gov.example/v1"));
}

#[test]
fn resolves_namespaces_by_scope_not_prefix() {
    // default namespace for the X-Road header, and a prefix re-bound inside the body
    let xml = r#"<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Header xmlns="http://x-road.eu/xsd/xroad.xsd" xmlns:q="http://x-road.eu/xsd/identifiers">
<client q:objectType="MEMBER"><q:xRoadInstance>AZ</q:xRoadInstance><q:memberClass>GOV</q:memberClass><q:memberCode>1</q:memberCode></client>
<service q:objectType="SERVICE"><q:xRoadInstance>AZ</q:xRoadInstance><q:memberClass>GOV</q:memberClass><q:memberCode>2</q:memberCode><q:subsystemCode>reg</q:subsystemCode><q:serviceCode>getPerson</q:serviceCode></service>
<id>x</id><protocolVersion>4.0</protocolVersion></e:Header><e:Body><getPerson xmlns="urn:other"/></e:Body></e:Envelope>"#;
    let m = parse_request(xml.as_bytes()).unwrap();
    assert_eq!(m.header.client.object_type(), "MEMBER");
    assert_eq!(m.body_element.namespace.as_deref(), Some("urn:other"));

    // the right prefix bound to the wrong namespace is not an X-Road header
    let wrong = request("", BODY).replace("xmlns:x=\"http://x-road.eu/xsd/xroad.xsd\"", "xmlns:x=\"urn:not-xroad\"");
    assert_eq!(parse_request(wrong.as_bytes()).unwrap_err(), SoapError::MissingHeaderField("client"));
}

#[test]
fn refuses_dtd_and_entities() {
    let dtd = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE s:Envelope [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        request("", BODY).split_once("?>").unwrap().1
    );
    assert!(matches!(parse_request(dtd.as_bytes()), Err(SoapError::InvalidSoap(m)) if m.contains("DTD")));
    let entity = request("<x:userId>&x;</x:userId>", BODY);
    assert!(
        matches!(parse_request(entity.as_bytes()), Err(SoapError::InvalidSoap(m)) if m.contains("undefined entity"))
    );
    let ok = request("<x:userId>AZ&amp;&#65;</x:userId>", BODY);
    assert_eq!(parse_request(ok.as_bytes()).unwrap().header.user_id.as_deref(), Some("AZ&A"));
}

#[test]
fn refuses_malformed_xml() {
    for bad in [
        "",
        "not xml",
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">",
        "<Envelope/>",
        "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body></s:Envelop>",
    ] {
        assert!(matches!(parse_request(bad.as_bytes()), Err(SoapError::InvalidSoap(_))), "{bad:?}");
    }
    let not_utf8 = [b'<', 0xff, 0xfe, b'>'];
    assert!(matches!(parse_request(&not_utf8), Err(SoapError::InvalidSoap(m)) if m.contains("UTF-8")));
    let latin1 = request("", BODY).replace("UTF-8", "ISO-8859-1");
    assert!(matches!(parse_request(latin1.as_bytes()), Err(SoapError::InvalidSoap(_))));
    let pi = request("", BODY).replace("<s:Body>", "<s:Body><?php x?>");
    assert!(matches!(parse_request(pi.as_bytes()), Err(SoapError::InvalidSoap(_))));
    let deep = request("", &format!("<getPerson>{}{}</getPerson>", "<a>".repeat(70), "</a>".repeat(70)));
    assert!(matches!(parse_request(deep.as_bytes()), Err(SoapError::InvalidSoap(m)) if m.contains("nested")));
}

#[test]
fn header_field_errors() {
    let no_header =
        r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><a/></s:Body></s:Envelope>"#;
    assert_eq!(parse_request(no_header.as_bytes()).unwrap_err(), SoapError::MissingHeader);

    let no_id = request("", BODY).replace("<x:id>m-1</x:id>", "");
    assert_eq!(parse_request(no_id.as_bytes()).unwrap_err(), SoapError::MissingHeaderField("id"));

    let twice = request("<x:id>m-2</x:id>", BODY);
    assert_eq!(parse_request(twice.as_bytes()).unwrap_err(), SoapError::DuplicateHeaderField("id".into()));

    let v3 = request("", BODY).replace(">4.0<", ">3.1<");
    assert_eq!(parse_request(v3.as_bytes()).unwrap_err(), SoapError::InvalidProtocolVersion("3.1".into()));

    // contradictory: SUBSYSTEM without subsystemCode
    let contradictory = request("", BODY).replace("<i:subsystemCode>portal</i:subsystemCode>", "");
    assert!(matches!(parse_request(contradictory.as_bytes()), Err(SoapError::InvalidClientIdentifier(_))));

    let bad_chars = request("", BODY).replace(">portal<", ">por tal<");
    assert!(matches!(parse_request(bad_chars.as_bytes()), Err(SoapError::InvalidClientIdentifier(_))));

    let bad_service_type = request("", BODY).replace("i:objectType=\"SERVICE\"", "i:objectType=\"MEMBER\"");
    assert!(matches!(parse_request(bad_service_type.as_bytes()), Err(SoapError::InvalidServiceIdentifier(_))));
}

#[test]
fn body_errors() {
    let mismatch = request("", r#"<p:getOther xmlns:p="urn:p"/>"#);
    assert!(matches!(parse_request(mismatch.as_bytes()), Err(SoapError::InvalidBody(m)) if m.contains("getOther")));
    let two = request("", &format!("{BODY}{BODY}"));
    assert!(matches!(parse_request(two.as_bytes()), Err(SoapError::InvalidBody(_))));
    let empty = request("", "");
    assert_eq!(parse_request(empty.as_bytes()).unwrap_err(), SoapError::MissingBody);
    let text = request("", "hello");
    assert!(matches!(parse_request(text.as_bytes()), Err(SoapError::InvalidSoap(_))));
}

#[test]
fn request_hash_goes_right_after_id_and_replaces_any_existing_one() {
    let xml = request("<x:requestHash algorithmId=\"bogus\">AAAA</x:requestHash>", BODY);
    let m = match parse_response(xml.as_bytes()).unwrap() {
        SoapResponse::Message(m) => m,
        SoapResponse::Fault(_) => panic!("not a fault"),
    };
    let hash = RequestHash { algorithm: crate::hash::SHA512_URI.into(), value: "QUJD".into() };
    let out = String::from_utf8(with_request_hash(xml.as_bytes(), &m, &hash)).unwrap();
    assert!(out.contains(
        "<x:id>m-1</x:id><x:requestHash algorithmId=\"http://www.w3.org/2001/04/xmlenc#sha512\" xmlns:x=\"http://x-road.eu/xsd/xroad.xsd\">QUJD</x:requestHash>"
    ));
    assert!(!out.contains("bogus"));
    let reparsed = match parse_response(out.as_bytes()).unwrap() {
        SoapResponse::Message(m) => m,
        SoapResponse::Fault(_) => panic!("not a fault"),
    };
    assert_eq!(reparsed.header.request_hash.unwrap().value, "QUJD");
}

/// Found by the `soap_request` fuzz target's property: the namespace of `id` may be declared
/// on `id` itself, out of scope for the inserted sibling.
#[test]
fn request_hash_survives_locally_declared_namespaces() {
    let local_prefix = include_str!("../../../../fuzz/regressions/soap_id_local_prefix.xml");
    let default_ns = local_prefix.replace(
        "<x:id xmlns:x=\"http://x-road.eu/xsd/xroad.xsd\">m-1</x:id>",
        "<id xmlns=\"http://x-road.eu/xsd/xroad.xsd\">m-1</id>",
    );
    assert_ne!(default_ns, local_prefix);
    for xml in [local_prefix.to_owned(), default_ns] {
        let m = parse_request(xml.as_bytes()).unwrap();
        let hash = RequestHash { algorithm: crate::hash::SHA512_URI.into(), value: "QUJD".into() };
        let out = with_request_hash(xml.as_bytes(), &m, &hash);
        match parse_response(&out).unwrap() {
            SoapResponse::Message(r) => assert_eq!(r.header.request_hash.unwrap().value, "QUJD"),
            SoapResponse::Fault(_) => panic!("not a fault"),
        }
    }
}

#[test]
fn bom_is_tolerated_and_offsets_stay_right() {
    let mut xml = b"\xEF\xBB\xBF".to_vec();
    xml.extend_from_slice(request("", BODY).as_bytes());
    let m = parse_request(&xml).unwrap();
    let hash = RequestHash { algorithm: "a".into(), value: "v".into() };
    let out = String::from_utf8(with_request_hash(&xml, &m, &hash)).unwrap();
    assert!(out.contains("<x:id>m-1</x:id><x:requestHash"));
}

#[test]
fn faults_are_recognised() {
    let f = crate::fault::Fault::new("Server.ServerProxy.AccessDenied", "no");
    match parse_response(f.to_soap().as_bytes()).unwrap() {
        SoapResponse::Fault(sf) => {
            assert_eq!(sf.code, "Server.ServerProxy.AccessDenied");
            assert_eq!(sf.string, "no");
        }
        SoapResponse::Message(_) => panic!("expected a fault"),
    }
}

#[test]
fn built_envelope_parses_and_echo_check_works() {
    let m = parse_request(request("<x:userId>AZ123</x:userId><x:issue>c-9</x:issue>", BODY).as_bytes()).unwrap();
    let built = build_envelope(&m.header, BODY);
    let again = parse_request(built.as_bytes()).unwrap();
    assert_eq!(again.header, m.header);
    assert!(m.header.check_echoed_by(&again.header).is_ok());
    let mut other = again.header.clone();
    other.id = "different".into();
    assert!(m.header.check_echoed_by(&other).unwrap_err().contains("'id'"));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_request(&bytes);
        let _ = parse_response(&bytes);
    }

    #[test]
    fn never_panics_on_mutated_envelopes(pos in 0usize..1200, byte in any::<u8>()) {
        let mut xml = request("", BODY).into_bytes();
        let p = pos % xml.len();
        xml[p] = byte;
        if let Ok(m) = parse_request(&xml) {
            let hash = RequestHash { algorithm: "a".into(), value: "v".into() };
            let _ = with_request_hash(&xml, &m, &hash);
        }
    }
}

#[test]
fn soap_action_must_name_the_service() {
    assert_eq!(checked_soap_action(None, "getPerson").unwrap(), "\"\"");
    for ok in ["", "\"\"", "\"getPerson\"", "urn:getPerson", "\"http://agency.az/person#getPerson\"", " getPerson "] {
        assert_eq!(checked_soap_action(Some(ok), "getPerson").unwrap(), ok.trim(), "{ok:?}");
    }
    for bad in ["\"deletePerson\"", "urn:getPerson/delete", "getPersonX", "\"get\"Person\"", "a\nb"] {
        let e = checked_soap_action(Some(bad), "getPerson").unwrap_err();
        assert_eq!(e.code(), "InvalidSoapAction", "{bad:?}");
    }
}
