//! What an adapter server reads from the network: request fields from a SOAP body, a JSON
//! object or a query string, and mapping files pushed by the security server.
//!
//! Asserted: nothing panics; a refusal of fields always names a field or the request; an
//! accepted request holds every required field and only declared ones.

#![no_main]

use std::borrow::Cow;

use egov_adapter::{AdapterError, fields, front, mapping};
use libfuzzer_sys::fuzz_target;

const MAPPING: &str = r#"
[adapter]
name = "fuzz"
listen = "127.0.0.1:1"

[[service]]
code = "svc"
request = { fin = { type = "string", max_length = 7 }, year = { type = "integer", required = false }, amount = { type = "decimal", required = false }, on = { type = "date", required = false }, yes = { type = "boolean", required = false } }
rest = { url = "http://h/{fin}", query = { y = "{year}" } }
response = { a = "/a" }
"#;

fn check(result: Result<fields::Values, AdapterError>, service: &mapping::ServiceMapping) {
    match result {
        Ok(values) => {
            for f in &service.fields {
                assert!(!f.required || values.contains_key(&f.name), "required field {} missing", f.name);
            }
            assert!(values.keys().all(|k| service.fields.iter().any(|f| &f.name == k)), "undeclared field accepted");
        }
        Err(AdapterError::Field { .. } | AdapterError::BadRequest(_)) => {}
        Err(other) => panic!("unexpected refusal: {other}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = mapping::parse(text, "pushed.toml");
    let Ok(m) = mapping::parse(MAPPING, "fuzz.toml") else { panic!("the fixed mapping must parse") };
    let service = &m.services[0];
    check(front::soap_fields(service, text), service);
    if let Ok(serde_json::Value::Object(o)) = serde_json::from_str::<serde_json::Value>(text) {
        check(fields::check_json(&service.fields, &o), service);
    }
    let pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = url::form_urlencoded::parse(data).collect();
    check(fields::check(&service.fields, pairs.iter().map(|(k, v)| (k.as_ref(), Cow::Borrowed(v.as_ref())))), service);
});
