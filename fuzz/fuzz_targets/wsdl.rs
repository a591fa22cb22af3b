//! WSDL documents fetched from a provider's service: `egov_xroad::wsdl::parse` and the
//! endpoint rewriting `rewrite_address` applied before a WSDL is handed to a client.
//!
//! Asserted, for a WSDL that `parse` accepts: the rewritten document is still a WSDL with
//! the same operations, and its endpoint address is the replacement (the provider's real
//! address must never reach the client).

#![no_main]

use egov_xroad::wsdl::{parse, rewrite_address};
use libfuzzer_sys::fuzz_target;

const LOCATION: &str = "http://example.org/x";

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let parsed = parse(s);
    let rewritten = rewrite_address(s, LOCATION);
    if let (Ok(info), Ok(out)) = (parsed, rewritten) {
        let again = match parse(&out) {
            Ok(again) => again,
            Err(e) => panic!("the rewritten WSDL no longer parses: {e}\n{out}"),
        };
        assert_eq!(again.operations, info.operations, "rewriting changed the operations");
        assert_eq!(
            again.address.as_deref(),
            info.address.as_ref().map(|_| LOCATION),
            "the endpoint address was not rewritten"
        );
    }
});
