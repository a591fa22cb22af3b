//! Checks on a PKCS#10 certificate request before anyone acts on it (TT-4.1.2): the
//! requester holds the key (the request's self-signature verifies) and asks for the identity
//! it is registering, so a request for the wrong identity is refused when it is submitted,
//! not when the operator approves it.

use x509_parser::prelude::FromDer;

use crate::{CertProfile, PkiError};

/// The common name a request asks for; refuses anything that is not a PKCS#10 request with
/// a valid self-signature.
pub fn requested_common_name(csr_der: &[u8]) -> Result<String, PkiError> {
    parse(csr_der).map(|(cn, _)| cn)
}

/// Checks that `csr_der` is a well-formed, self-signed request for `profile`'s identity.
pub fn check_request(csr_der: &[u8], profile: &CertProfile) -> Result<(), PkiError> {
    parse_for(csr_der, profile).map(|_| ())
}

/// The fingerprint of the public key a request carries: SHA-256 of its DER
/// SubjectPublicKeyInfo, upper-case hex pairs joined by colons. The operator's listing of
/// registration requests and `egov ss register` print it, so the two sides can compare it
/// out of band before the operator approves (TT-4.1.2). The request is not checked here.
pub fn key_fingerprint(csr_der: &[u8]) -> Result<String, PkiError> {
    let (_, parsed) = x509_parser::certification_request::X509CertificationRequest::from_der(csr_der)
        .map_err(|e| PkiError::CsrRejected(format!("not a PKCS#10 request: {e}")))?;
    let spki = parsed.certification_request_info.subject_pki.raw;
    let digest = crate::cert_sha256(spki);
    Ok(digest.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":"))
}

/// The request, checked for `profile`, as the CA signs it.
pub(crate) fn parse_for(
    csr_der: &[u8],
    profile: &CertProfile,
) -> Result<rcgen::CertificateSigningRequestParams, PkiError> {
    let (requested, params) = parse(csr_der)?;
    if requested != profile.common_name() {
        return Err(PkiError::CsrRejected(format!(
            "the request names '{requested}' but the certificate is for '{}'",
            profile.common_name()
        )));
    }
    Ok(params)
}

fn parse(csr_der: &[u8]) -> Result<(String, rcgen::CertificateSigningRequestParams), PkiError> {
    let (rest, parsed) = x509_parser::certification_request::X509CertificationRequest::from_der(csr_der)
        .map_err(|e| PkiError::CsrRejected(format!("not a PKCS#10 request: {e}")))?;
    if !rest.is_empty() {
        return Err(PkiError::CsrRejected("trailing bytes after the request".into()));
    }
    let cn = parsed
        .certification_request_info
        .subject
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .ok_or_else(|| PkiError::CsrRejected("the request's subject has no common name".into()))?;
    // rcgen checks the self-signature (proof of possession of the key)
    let params = rcgen::CertificateSigningRequestParams::from_der(&csr_der.to_vec().into())
        .map_err(|e| PkiError::CsrRejected(format!("the request's signature does not verify: {e}")))?;
    Ok((cn, params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyAlgorithm, PrivateKey};

    #[test]
    fn accepts_own_identity_refuses_other_and_garbage() {
        let profile = CertProfile::Auth("AZ/GOV/1400000001/ss1".parse().unwrap());
        let csr = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap().certificate_request(&profile).unwrap();
        check_request(&csr, &profile).unwrap();
        let other = CertProfile::Auth("AZ/GOV/1400000001/ss2".parse().unwrap());
        assert!(matches!(check_request(&csr, &other), Err(PkiError::CsrRejected(m)) if m.contains("ss2")));
        assert!(check_request(b"\x30\x03\x02\x01\x00", &profile).is_err());
        let mut tampered = csr.clone();
        let n = tampered.len();
        tampered[n - 5] ^= 0xff;
        assert!(matches!(check_request(&tampered, &profile), Err(PkiError::CsrRejected(_))));
    }

    #[test]
    fn a_key_fingerprint_is_the_sha256_of_the_public_key_info() {
        let profile = CertProfile::Auth("AZ/GOV/1400000001/ss1".parse().unwrap());
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let one = key_fingerprint(&key.certificate_request(&profile).unwrap()).unwrap();
        // the same key in another request: the same fingerprint; another key: another one
        let other_profile = CertProfile::Auth("AZ/GOV/1400000001/ss2".parse().unwrap());
        assert_eq!(key_fingerprint(&key.certificate_request(&other_profile).unwrap()).unwrap(), one);
        let other = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        assert_ne!(key_fingerprint(&other.certificate_request(&profile).unwrap()).unwrap(), one);
        assert_eq!(one.len(), 32 * 3 - 1);
        assert!(
            one.split(':').all(|p| p.len() == 2 && p.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()))
        );
        assert!(key_fingerprint(b"garbage").is_err());
    }

    /// Known answer: an OpenSSL-made request (fuzz/seeds/csr/auth-p256.der), its
    /// fingerprint as `openssl req -pubkey -noout | openssl pkey -pubin -outform DER |
    /// openssl dgst -sha256 -c` prints it (in lower case), so an operator can check it with
    /// OpenSSL too.
    #[test]
    fn a_key_fingerprint_matches_openssl() {
        use base64::Engine;
        let csr = base64::engine::general_purpose::STANDARD.decode("MIHbMIGCAgEAMCAxHjAcBgNVBAMMFUFaL0dPVi8xNDAwMDAwMDAxL3NzMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABHwGYmE2MMekoqyC7/jHN2ntZPjGfZHF0EpM9u9k6A2/ZK2NOg9uLv9VJhNgYqkm6TIJrrfhPzjNkBpv+HW6X12gADAKBggqhkjOPQQDAgNIADBFAiEAy9ohKB1mcAOFWKdtmPw5OwWu54zHvZtihWJioezg0PcCICqdAEVi7Cx8E/JUPdSytivcSsEdri9iEN9cOy8XwlsK").unwrap();
        assert_eq!(
            key_fingerprint(&csr).unwrap().to_lowercase(),
            "da:07:d7:e2:27:76:d9:ca:79:f0:29:99:2d:d9:2a:ae:ca:42:e7:ee:81:e1:67:6d:f7:8a:4b:38:25:d2:64:4d"
        );
    }
}
