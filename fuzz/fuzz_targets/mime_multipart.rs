//! SOAP with attachments: `multipart/*` bodies split by `egov_xroad::mime::split`.
//! The first input byte picks a content type (and so a boundary), the rest is the body.
//! Checks that splitting never panics; each part's headers are read back.

#![no_main]

use libfuzzer_sys::fuzz_target;

const CONTENT_TYPES: &[&str] = &[
    "multipart/related; boundary=zz",
    "multipart/related; type=\"text/xml\"; charset=UTF-8; boundary=\"MIME-b0undary\"",
    "Multipart/Mixed; BOUNDARY=\"a\"",
    "multipart/related; boundary=-",
    "multipart/form-data; boundary=\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
    "multipart/related; start=\"<part0>\"; boundary=\"--\"",
    "multipart/related; boundary=\"\"",
    "text/xml; boundary=zz",
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    if let Ok(parts) = egov_xroad::mime::split(content_type, body) {
        for part in &parts {
            let _ = part.header("content-type");
        }
    }
});
