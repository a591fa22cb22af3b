//! openapi.json against the route tables, in the direction the unit test
//! (`api/lifecycle/tests.rs::every_route_is_in_openapi`) does not check: every operation it
//! describes is served, and its security matches its audience (mutual TLS on the admin
//! listener, none on the public one; P-4.1).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use egov_central::api::lifecycle::{Audience, Endpoint};
use serde_json::Value;

fn served() -> Vec<Endpoint> {
    let mut all = egov_central::api::lifecycle::endpoints();
    all.extend(egov_central::api::admin::endpoints());
    all.extend(egov_central::api::public::endpoints());
    all
}

fn doc() -> Value {
    serde_json::from_str(egov_central::api::admin::OPENAPI).unwrap()
}

const METHODS: [&str; 8] = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

#[test]
fn every_described_operation_is_served() {
    let doc = doc();
    let served = served();
    let mut described = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap().iter().filter(|(m, _)| METHODS.contains(&m.as_str())) {
            described += 1;
            assert!(
                served.iter().any(|e| e.path == path && e.method.as_str().eq_ignore_ascii_case(method)),
                "openapi.json describes {} {path}, which is not served",
                method.to_uppercase()
            );
        }
    }
    // one description per route, none twice
    assert_eq!(described, served.len());
    let mut keys: Vec<_> = served.iter().map(|e| (e.method.as_str(), e.path)).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), served.len(), "a route is in two tables");
}

#[test]
fn security_follows_the_audience() {
    let doc = doc();
    assert_eq!(doc["components"]["securitySchemes"]["mutualTLS"]["type"], "mutualTLS");
    // the default for every operation: a client certificate
    assert_eq!(doc["security"], serde_json::json!([{"mutualTLS": []}]));
    for e in served() {
        let op = &doc["paths"][e.path][e.method.as_str().to_ascii_lowercase()];
        let what = format!("{} {}", e.method.as_str(), e.path);
        match e.audience {
            Audience::Public => assert_eq!(op["security"], serde_json::json!([]), "{what}: public, needs no security"),
            Audience::Operator | Audience::SecurityServer => {
                assert!(op.get("security").is_none(), "{what}: must keep the mutual-TLS default")
            }
        }
        // every operation answers something documented, errors as {"error": …}
        let responses = op["responses"].as_object().unwrap_or_else(|| panic!("{what}: no responses"));
        assert!(responses.keys().any(|s| s.starts_with('2')), "{what}: no success response");
        for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('4') || s.starts_with('5')) {
            let response = match response["$ref"].as_str() {
                Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
                None => response,
            };
            // the one exception: the configuration download's "not generated yet" is plain
            // text (api/public.rs `conf`)
            if status == "503" && e.path.starts_with("/globalconf") {
                assert!(response["content"]["text/plain"].is_object(), "{what}: 503 is plain text");
                continue;
            }
            let schema = &response["content"]["application/json"]["schema"];
            assert_eq!(schema["$ref"], "#/components/schemas/Error", "{what}: {status} is not described as an Error");
        }
    }
}
