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
}
