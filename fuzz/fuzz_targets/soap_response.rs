//! SOAP responses as a provider's service, or the provider's security server, sends them
//! (`egov_xroad::soap::parse_response`). Checks only that parsing never panics, loops or
//! exhausts memory.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = egov_xroad::soap::parse_response(data);
});
