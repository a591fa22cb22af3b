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
}
