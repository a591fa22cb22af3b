//! SOAP requests as a client's information system sends them to the consumer's security
//! server (`egov_xroad::soap::parse_request`), then the provider-side `requestHash`
//! insertion (`with_request_hash`) applied to whatever parsed.
//!
//! Asserted: a valid request with the request hash inserted still parses, as a message (the
//! body is untouched, so never a Fault) whose header still echoes the request's header.
//! (This failed until `with_request_hash` declared its namespace; regression input in
//! `fuzz/regressions/soap_id_local_prefix.xml`.)

#![no_main]

use egov_xroad::hash::soap_request_hash;
use egov_xroad::soap::{SoapResponse, parse_request, parse_response, with_request_hash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(request) = parse_request(data) else { return };
    let with_hash = with_request_hash(data, &request, &soap_request_hash(data));
    match parse_response(&with_hash) {
        Ok(SoapResponse::Message(response)) => {
            if let Err(e) = request.header.check_echoed_by(&response.header) {
                panic!("inserting requestHash changed the header: {e}");
            }
        }
        Ok(SoapResponse::Fault(_)) => panic!("inserting requestHash turned a request into a SOAP Fault"),
        Err(e) => panic!("a valid request with requestHash inserted no longer parses: {e}"),
    }
});
