//! The issuing side of the Certification Centre (TT-2.3, TT-4.1.2): a CA key and
//! certificate that turn PKCS#10 requests into authentication and signing certificates.
//!
//! Only the identity the CA has decided on ends up in a certificate: the request's subject
//! must name that identity, and everything else in the request (extensions, alternative
//! names) is replaced by the profile.

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyUsagePurpose, SerialNumber,
};
use x509_parser::prelude::FromDer;

use crate::keys::{KeyAlgorithm, PrivateKey};
use crate::{CertProfile, PkiError};

/// A certification authority: its key and self-signed certificate.
pub struct CertificationAuthority {
    issuer: Issuer<'static, rcgen::KeyPair>,
    key: PrivateKey,
    cert_der: Vec<u8>,
}

impl std::fmt::Debug for CertificationAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificationAuthority").finish_non_exhaustive()
    }
}

impl CertificationAuthority {
    /// Creates a new root CA named `common_name` for `instance`, valid for ten years.
    pub fn generate(instance: &str, common_name: &str) -> Result<Self, PkiError> {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::OrganizationName, instance);
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::days(3650);
        params.serial_number = Some(random_serial()?);
        let kp = key.rcgen_key_pair()?;
        let cert = params.self_signed(&kp).map_err(|e| PkiError::Key(e.to_string()))?;
        Ok(Self { issuer: Issuer::new(params, kp), key, cert_der: cert.der().to_vec() })
    }

    /// Loads a CA from its certificate and key (PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = PrivateKey::from_pem(key_pem)?;
        let cert_der = crate::from_pem("CERTIFICATE", cert_pem)?.remove(0);
        let issuer = Issuer::from_ca_cert_der(&cert_der.clone().into(), key.rcgen_key_pair()?)
            .map_err(|e| PkiError::Malformed(format!("CA certificate: {e}")))?;
        Ok(Self { issuer, key, cert_der })
    }

    /// The CA certificate (DER).
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA certificate (PEM).
    pub fn certificate_pem(&self) -> String {
        crate::to_pem("CERTIFICATE", &self.cert_der)
    }

    /// The CA key (PEM), for storing the CA.
    pub fn key_pem(&self) -> String {
        self.key.to_pem()
    }

    /// Issues a certificate for `profile` from a PKCS#10 request, valid for `days` days.
    ///
    /// Refused: a request whose signature does not verify (so the requester does not hold
    /// the key), or whose subject common name is not the profile's identity.
    pub fn issue(&self, csr_der: &[u8], profile: &CertProfile, days: i64) -> Result<Vec<u8>, PkiError> {
        let (_, parsed) = x509_parser::certification_request::X509CertificationRequest::from_der(csr_der)
            .map_err(|e| PkiError::CsrRejected(format!("not a PKCS#10 request: {e}")))?;
        let requested_cn = parsed
            .certification_request_info
            .subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| PkiError::CsrRejected("the request's subject has no common name".into()))?;
        if requested_cn != profile.common_name() {
            return Err(PkiError::CsrRejected(format!(
                "the request names '{requested_cn}' but the certificate is for '{}'",
                profile.common_name()
            )));
        }
        let mut csr = CertificateSigningRequestParams::from_der(&csr_der.to_vec().into())
            .map_err(|e| PkiError::CsrRejected(e.to_string()))?;
        let params = &mut csr.params;
        params.distinguished_name = profile.distinguished_name();
        params.subject_alt_names.clear();
        params.is_ca = IsCa::ExplicitNoCa;
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::minutes(5);
        params.not_after = now + time::Duration::days(days);
        params.serial_number = Some(random_serial()?);
        params.use_authority_key_identifier_extension = true;
        params.extended_key_usages.clear();
        match profile {
            CertProfile::Auth(_) => {
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
                params.extended_key_usages =
                    vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
            }
            CertProfile::Sign(_) => {
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
                // an explicit EKU without clientAuth/serverAuth: a signing certificate can
                // never open a TLS connection between security servers (id-kp-documentSigning)
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![1, 3, 6, 1, 5, 5, 7, 3, 36])];
            }
        }
        let cert = csr.signed_by(&self.issuer).map_err(|e| PkiError::CsrRejected(e.to_string()))?;
        Ok(cert.der().to_vec())
    }
}

fn random_serial() -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Key("no randomness".into()))?;
    bytes[0] &= 0x7f; // positive INTEGER
    bytes[0] |= 0x01; // no leading zero byte to strip
    Ok(SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TrustStore;

    fn server() -> egov_xroad::SecurityServerId {
        "AZ/GOV/1400000001/ss1".parse().unwrap()
    }

    #[test]
    fn issues_from_csr_and_binds_identity() {
        let ca = CertificationAuthority::generate("AZ", "Test CA").unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let profile = CertProfile::Auth(server());
        let csr = key.certificate_request(&profile).unwrap();
        let cert = ca.issue(&csr, &profile, 365).unwrap();
        let trust = TrustStore::new(vec![ca.certificate_der().to_vec()]);
        let v = trust.verify(&cert, crate::unix_now()).unwrap();
        assert_eq!(v.profile, profile);
    }

    #[test]
    fn refuses_csr_for_another_identity_and_garbage() {
        let ca = CertificationAuthority::generate("AZ", "Test CA").unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let csr = key.certificate_request(&CertProfile::Auth(server())).unwrap();
        let other = CertProfile::Auth("AZ/GOV/1400000009/ss1".parse().unwrap());
        assert!(matches!(ca.issue(&csr, &other, 1), Err(PkiError::CsrRejected(_))));
        assert!(matches!(ca.issue(b"garbage", &other, 1), Err(PkiError::CsrRejected(_))));
        let mut tampered = csr.clone();
        let n = tampered.len();
        tampered[n - 5] ^= 0xff; // inside the signature
        assert!(matches!(ca.issue(&tampered, &CertProfile::Auth(server()), 1), Err(PkiError::CsrRejected(_))));
    }

    #[test]
    fn reloads_from_pem() {
        let ca = CertificationAuthority::generate("AZ", "Test CA").unwrap();
        let again = CertificationAuthority::from_pem(&ca.certificate_pem(), &ca.key_pem()).unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let profile = CertProfile::Sign("AZ/GOV/1400000001".parse().unwrap());
        let cert = again.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();
        let trust = TrustStore::new(vec![ca.certificate_der().to_vec()]);
        assert_eq!(trust.verify(&cert, crate::unix_now()).unwrap().profile, profile);
    }
}
