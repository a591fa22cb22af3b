//! The issuing side of the Certification Centre (TT-2.3, TT-4.1.2, P-4.1.8): a CA key and
//! certificate that turn PKCS#10 requests into authentication and signing certificates,
//! and into the Centre's own time-stamping and OCSP responder certificates.
//!
//! Only the identity the CA has decided on ends up in a certificate: the request's subject
//! must name that identity, and everything else in the request (extensions, alternative
//! names) is replaced by the profile.
//!
//! The CA key is used only through [`Signer`], so a key held in an HSM can issue too
//! ([`CertificationAuthority::from_signer`]).

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
    KeyUsagePurpose, SerialNumber,
};

use crate::keys::{KeyAlgorithm, PrivateKey, Signer};
use crate::{CertProfile, PkiError};

/// The CA key as rcgen sees it: every signature goes through [`Signer`].
struct IssuingKey {
    signer: Arc<dyn Signer>,
    public_key: Vec<u8>,
    algorithm: KeyAlgorithm,
}

impl IssuingKey {
    fn new(signer: Arc<dyn Signer>) -> Self {
        Self { public_key: signer.public_key(), algorithm: signer.algorithm(), signer }
    }
}

impl rcgen::PublicKeyData for IssuingKey {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm.rcgen()
    }
}

impl rcgen::SigningKey for IssuingKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.signer.sign(msg).map_err(|_| rcgen::Error::RemoteKeyError)
    }
}

/// A certification authority: its key and self-signed certificate.
pub struct CertificationAuthority {
    issuer: Issuer<'static, IssuingKey>,
    key: Option<PrivateKey>,
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
        let signer: Arc<dyn Signer> = Arc::new(key.signer()?);
        Ok(Self { issuer: Issuer::new(params, IssuingKey::new(signer)), key: Some(key), cert_der: cert.der().to_vec() })
    }

    /// Loads a CA from its certificate and key (PEM).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = PrivateKey::from_pem(key_pem)?;
        let cert_der = crate::from_pem("CERTIFICATE", cert_pem)?.remove(0);
        Self::from_key(cert_der, key)
    }

    /// Loads a CA from its certificate (DER) and a software key (for instance one decrypted
    /// with [`PrivateKey::from_encrypted_pem`]).
    pub fn from_key(cert_der: Vec<u8>, key: PrivateKey) -> Result<Self, PkiError> {
        let mut ca = Self::from_signer(cert_der, Arc::new(key.signer()?))?;
        ca.key = Some(key);
        Ok(ca)
    }

    /// Loads a CA from its certificate (DER) and a key reachable only through [`Signer`]
    /// (an HSM). Refused when the key is not the certificate's.
    pub fn from_signer(cert_der: Vec<u8>, signer: Arc<dyn Signer>) -> Result<Self, PkiError> {
        let cert = crate::parse_cert(&cert_der, "CA certificate")?;
        if cert.public_key().subject_public_key.data.as_ref() != signer.public_key().as_slice() {
            return Err(PkiError::Key("the CA key does not belong to the CA certificate".into()));
        }
        let issuer = Issuer::from_ca_cert_der(&cert_der.clone().into(), IssuingKey::new(signer))
            .map_err(|e| PkiError::Malformed(format!("CA certificate: {e}")))?;
        Ok(Self { issuer, key: None, cert_der })
    }

    /// The CA certificate (DER).
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The CA certificate (PEM).
    pub fn certificate_pem(&self) -> String {
        crate::to_pem("CERTIFICATE", &self.cert_der)
    }

    /// The CA key (PEM), for storing the CA; `None` when the key is outside this process
    /// ([`CertificationAuthority::from_signer`]).
    pub fn key_pem(&self) -> Option<String> {
        self.key.as_ref().map(PrivateKey::to_pem)
    }

    /// The CA key as a software key, when it is one.
    pub fn private_key(&self) -> Option<&PrivateKey> {
        self.key.as_ref()
    }

    /// The CA's signing key (it also signs OCSP responses, RFC 6960 §4.2.2.2).
    pub fn signer(&self) -> Arc<dyn Signer> {
        self.issuer.key().signer.clone()
    }

    /// Issues a certificate for `profile` from a PKCS#10 request, valid for `days` days.
    ///
    /// Refused: a request whose signature does not verify (so the requester does not hold
    /// the key), or whose subject common name is not the profile's identity.
    pub fn issue(&self, csr_der: &[u8], profile: &CertProfile, days: i64) -> Result<Vec<u8>, PkiError> {
        if let CertProfile::TimeStamping(name)
        | CertProfile::OcspSigning(name)
        | CertProfile::Operator(name)
        | CertProfile::CentralServer(name) = profile
            && (name.trim().is_empty() || name.chars().count() > 64)
        {
            return Err(PkiError::CsrRejected(format!("certificate name '{name}' must be 1 to 64 characters")));
        }
        let mut csr = crate::csr::parse_for(csr_der, profile)?;
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
        params.custom_extensions.clear();
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
            CertProfile::TimeStamping(_) => {
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::ContentCommitment];
                // RFC 3161 §2.3: the one EKU id-kp-timeStamping, marked critical (OpenSSL's
                // `ts -verify` checks both); rcgen writes EKUs non-critical, hence by hand
                let mut eku = CustomExtension::from_oid_content(
                    &[2, 5, 29, 37],
                    vec![0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08],
                );
                eku.set_criticality(true);
                params.custom_extensions.push(eku);
            }
            CertProfile::Operator(_) => {
                // an operator's administrator authenticates to the admin API, nothing else
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
            }
            CertProfile::CentralServer(_) => {
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            }
            CertProfile::OcspSigning(_) => {
                params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
                params.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
                // id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1): the responder's own certificate
                // is not itself checked through OCSP; keep its validity short instead
                params
                    .custom_extensions
                    .push(CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 48, 1, 5], vec![0x05, 0x00]));
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
        let again = CertificationAuthority::from_pem(&ca.certificate_pem(), &ca.key_pem().unwrap()).unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let profile = CertProfile::Sign("AZ/GOV/1400000001".parse().unwrap());
        let cert = again.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();
        let trust = TrustStore::new(vec![ca.certificate_der().to_vec()]);
        assert_eq!(trust.verify(&cert, crate::unix_now()).unwrap().profile, profile);
    }
}

#[cfg(test)]
mod service_profile_tests {
    use super::*;
    use crate::TrustStore;
    use x509_parser::prelude::{FromDer, X509Certificate};

    #[test]
    fn issues_time_stamping_and_ocsp_signing_certificates() {
        let ca = CertificationAuthority::generate("AZ", "Test CA").unwrap();
        let trust = TrustStore::new(vec![ca.certificate_der().to_vec()]);
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();

        let tsa = CertProfile::TimeStamping("AZ Time-Stamping Authority".into());
        let der = ca.issue(&key.certificate_request(&tsa).unwrap(), &tsa, 365).unwrap();
        assert_eq!(trust.verify(&der, crate::unix_now()).unwrap().profile, tsa);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        let eku = cert.extended_key_usage().unwrap().unwrap();
        assert!(eku.critical, "RFC 3161 §2.3: the EKU is critical");
        assert!(eku.value.time_stamping && !eku.value.server_auth && !eku.value.client_auth);
        assert!(eku.value.other.is_empty());

        let ocsp = CertProfile::OcspSigning("AZ OCSP Responder".into());
        let der = ca.issue(&key.certificate_request(&ocsp).unwrap(), &ocsp, 30).unwrap();
        assert_eq!(trust.verify(&der, crate::unix_now()).unwrap().profile, ocsp);
        let (_, cert) = X509Certificate::from_der(&der).unwrap();
        assert!(cert.extended_key_usage().unwrap().unwrap().value.ocsp_signing);
        assert!(cert.extensions().iter().any(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.48.1.5"), "ocsp-nocheck");
    }

    #[test]
    fn refuses_service_names_that_are_empty_or_too_long() {
        let ca = CertificationAuthority::generate("AZ", "Test CA").unwrap();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        for name in [" ".to_string(), "x".repeat(65)] {
            let p = CertProfile::TimeStamping(name);
            let csr = key.certificate_request(&p).unwrap_or_default();
            assert!(matches!(ca.issue(&csr, &p, 1), Err(PkiError::CsrRejected(_))));
        }
    }

    #[test]
    fn a_ca_key_behind_the_signer_seam_issues_and_a_foreign_key_is_refused() {
        let ca = CertificationAuthority::generate("AZ", "Test CA").unwrap();
        let seam = CertificationAuthority::from_signer(ca.certificate_der().to_vec(), ca.signer()).unwrap();
        assert!(seam.key_pem().is_none());
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let profile = CertProfile::Sign("AZ/GOV/1400000001".parse().unwrap());
        let cert = seam.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();
        let trust = TrustStore::new(vec![ca.certificate_der().to_vec()]);
        assert_eq!(trust.verify(&cert, crate::unix_now()).unwrap().profile, profile);

        let other = CertificationAuthority::generate("AZ", "Test CA").unwrap();
        let refused = CertificationAuthority::from_signer(ca.certificate_der().to_vec(), other.signer());
        assert!(matches!(refused, Err(PkiError::Key(_))));
    }
}
