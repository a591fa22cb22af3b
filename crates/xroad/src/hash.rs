//! Request hashes that bind a response to its request (PR-MESS §2.3, PR-REST §4.4).

use aws_lc_rs::digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::soap::RequestHash;

/// XML-DSig URI of SHA-512, the algorithm X-Road uses for request hashes.
pub const SHA512_URI: &str = "http://www.w3.org/2001/04/xmlenc#sha512";

/// SHA-512 of `bytes`.
pub fn sha512(bytes: &[u8]) -> [u8; 64] {
    let d = digest::digest(&digest::SHA512, bytes);
    let mut out = [0u8; 64];
    out.copy_from_slice(d.as_ref());
    out
}

/// The `requestHash` of a SOAP request: SHA-512 over the exact bytes the client sent.
pub fn soap_request_hash(request: &[u8]) -> RequestHash {
    RequestHash { algorithm: SHA512_URI.to_owned(), value: STANDARD.encode(sha512(request)) }
}

/// `X-Road-Request-Hash` of a REST request: base64(SHA-512(SHA-512(header part) ‖
/// SHA-512(body))), or base64(SHA-512(header part)) when there is no body.
pub fn rest_request_hash(header_part: &[u8], body: Option<&[u8]>) -> String {
    match body {
        Some(body) if !body.is_empty() => {
            let mut both = Vec::with_capacity(128);
            both.extend_from_slice(&sha512(header_part));
            both.extend_from_slice(&sha512(body));
            STANDARD.encode(sha512(&both))
        }
        _ => STANDARD.encode(sha512(header_part)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_test_vector() {
        // shared/reference/xroad-protocol.md §2: the 1228-byte example request.
        let bytes = include_bytes!("../tests/data/example-request.xml");
        assert_eq!(bytes.len(), 1228);
        assert_eq!(
            soap_request_hash(bytes).value,
            "KiuyTANEpCXfAaAPal9xewAsS1WtFWV7LAMXKVZMMTS+FUqnOpcX7DY1qj24Gt4fsnkwD0rMpJOZYQC11Ufruw=="
        );
    }

    #[test]
    fn rest_hash_depends_on_body() {
        let a = rest_request_hash(b"GET\r\n/x\r\n", None);
        let b = rest_request_hash(b"GET\r\n/x\r\n", Some(b"{}"));
        assert_ne!(a, b);
        assert_eq!(a, rest_request_hash(b"GET\r\n/x\r\n", Some(b"")));
    }
}
