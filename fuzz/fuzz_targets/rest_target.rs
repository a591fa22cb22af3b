//! REST r1: request targets (`RestTarget::parse`), access-right path normalisation
//! (`normalize_path`), the path a provider's security server checks and forwards
//! (`RequestPath`), and the serialised header part carried between security servers
//! (`parse_header_part`).
//!
//! Asserted: a normalised path starts with '/' and has no "." or ".." segment (what keeps
//! access rights from being bypassed by traversal, XRDDEV-3054); a path accepted as a
//! `RequestPath` has no byte outside RFC 3986's path and query characters, and what it
//! forwards parses back to exactly the segments and query that were checked, with nothing a
//! URL parser would cut off or resolve (issue 13, item 1).

#![no_main]

use egov_xroad::rest::{RequestPath, RestTarget, normalize_path, parse_header_part};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_header_part(data);
    let Ok(s) = std::str::from_utf8(data) else { return };
    let _ = RestTarget::parse(s);
    if let Ok(p) = normalize_path(s) {
        assert!(p.starts_with('/'), "normalized path {p:?} does not start with '/'");
        assert!(
            p.split('/').all(|segment| segment != "." && segment != ".."),
            "normalized path {p:?} has a dot segment"
        );
    }
    if let Ok(checked) = RequestPath::parse(s) {
        assert!(!s.contains('#') && !s.contains(' ') && s.is_ascii(), "accepted {s:?}");
        let forwarded = checked.forwarded();
        let again = RequestPath::parse(&forwarded).expect("the forwarded path parses again");
        assert_eq!(again.segments(), checked.segments(), "{s:?} forwarded as {forwarded:?}");
        assert_eq!(again.query(), checked.query(), "{s:?} forwarded as {forwarded:?}");
        assert_eq!(again.normalized(), checked.normalized());
        let url = url::Url::parse(&format!("http://service.local/base{forwarded}")).expect("a URL");
        assert_eq!(url.fragment(), None);
        assert_eq!(url.host_str(), Some("service.local"));
        let seen: Vec<String> = url
            .path_segments()
            .into_iter()
            .flatten()
            .skip(1)
            .filter(|s| !s.is_empty())
            .map(|s| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned())
            .collect();
        assert_eq!(seen, checked.segments(), "{s:?}: the service would see another path");
    }
});

