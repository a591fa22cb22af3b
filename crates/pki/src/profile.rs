//! Certificate profiles: how a certificate names the security server or member it belongs
//! to, so a verifier can bind a TLS peer or a message signature to an X-Road identity.
//!
//! Subject of an **authentication** certificate (TLS between security servers):
//! `CN=<INSTANCE/CLASS/CODE/SERVER>, OU=security-server-auth, O=<INSTANCE>`.
//! Subject of a **signing** certificate (message signatures, member level as in X-Road):
//! `CN=<INSTANCE/CLASS/CODE>, OU=member-signing, O=<INSTANCE>`.
//! Subject of the Certification Centre's own service certificates (TT-2.3):
//! `CN=<name>, OU=time-stamping` (the TSA) and `CN=<name>, OU=ocsp-signing` (a delegated
//! OCSP responder).

use egov_xroad::{ClientId, SecurityServerId};

use crate::PkiError;

/// OU of authentication certificates.
pub const OU_AUTH: &str = "security-server-auth";
/// OU of signing certificates.
pub const OU_SIGN: &str = "member-signing";
/// OU of time-stamping authority certificates.
pub const OU_TSA: &str = "time-stamping";
/// OU of delegated OCSP responder certificates.
pub const OU_OCSP: &str = "ocsp-signing";
/// OU of the operator's administrators (client certificates for the central admin API).
pub const OU_OPERATOR: &str = "operator";
/// OU of the central server's admin listener (TLS server certificate).
pub const OU_CENTRAL: &str = "central-server";

/// What a certificate is for and whom it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProfile {
    /// TLS authentication of a security server (TT-2.2.4, TT-6.3).
    Auth(SecurityServerId),
    /// Message signatures of a member (TT-2.2.1).
    Sign(ClientId),
    /// The Certification Centre's time-stamping authority, named by its common name
    /// (RFC 3161; TT-6.3: time-stamped message log). EKU id-kp-timeStamping, critical.
    TimeStamping(String),
    /// A delegated OCSP responder of the Certification Centre, named by its common name
    /// (RFC 6960 §4.2.2.2; TT-2.3). EKU id-kp-OCSPSigning.
    OcspSigning(String),
    /// An administrator of the operator, named by its common name: the only client
    /// certificate the central server's admin API accepts for changes (P-4.1).
    Operator(String),
    /// The central server's admin listener (TLS server), named by its common name.
    CentralServer(String),
}

impl CertProfile {
    /// The subject's common name.
    pub fn common_name(&self) -> String {
        match self {
            CertProfile::Auth(s) => s.to_string(),
            CertProfile::Sign(m) => m.member_id().to_string(),
            CertProfile::TimeStamping(name)
            | CertProfile::OcspSigning(name)
            | CertProfile::Operator(name)
            | CertProfile::CentralServer(name) => name.clone(),
        }
    }

    fn ou(&self) -> &'static str {
        match self {
            CertProfile::Auth(_) => OU_AUTH,
            CertProfile::Sign(_) => OU_SIGN,
            CertProfile::TimeStamping(_) => OU_TSA,
            CertProfile::OcspSigning(_) => OU_OCSP,
            CertProfile::Operator(_) => OU_OPERATOR,
            CertProfile::CentralServer(_) => OU_CENTRAL,
        }
    }

    fn instance(&self) -> Option<&str> {
        match self {
            CertProfile::Auth(s) => Some(s.owner().instance()),
            CertProfile::Sign(m) => Some(m.instance()),
            CertProfile::TimeStamping(_)
            | CertProfile::OcspSigning(_)
            | CertProfile::Operator(_)
            | CertProfile::CentralServer(_) => None,
        }
    }

    /// Short name of the profile's kind: `auth`, `sign`, `tsa` or `ocsp` (as the
    /// Certification Centre's register records it).
    pub fn kind(&self) -> &'static str {
        match self {
            CertProfile::Auth(_) => "auth",
            CertProfile::Sign(_) => "sign",
            CertProfile::TimeStamping(_) => "tsa",
            CertProfile::OcspSigning(_) => "ocsp",
            CertProfile::Operator(_) => "operator",
            CertProfile::CentralServer(_) => "central",
        }
    }

    /// The subject distinguished name of this profile.
    pub fn distinguished_name(&self) -> rcgen::DistinguishedName {
        let mut dn = rcgen::DistinguishedName::new();
        if let Some(instance) = self.instance() {
            dn.push(rcgen::DnType::OrganizationName, instance);
        }
        dn.push(rcgen::DnType::OrganizationalUnitName, self.ou());
        dn.push(rcgen::DnType::CommonName, self.common_name());
        dn
    }

    /// Reads the profile back from a certificate's OU and CN.
    pub fn from_subject(ou: Option<&str>, cn: Option<&str>) -> Result<Self, PkiError> {
        let cn = cn.ok_or_else(|| PkiError::WrongProfile("subject has no common name".into()))?;
        match ou {
            Some(OU_AUTH) => cn
                .parse::<SecurityServerId>()
                .map(CertProfile::Auth)
                .map_err(|e| PkiError::WrongProfile(format!("authentication certificate CN: {e}"))),
            Some(OU_SIGN) => cn
                .parse::<ClientId>()
                .ok()
                .filter(|m| m.subsystem_code().is_none())
                .map(CertProfile::Sign)
                .ok_or_else(|| PkiError::WrongProfile(format!("signing certificate CN '{cn}' is not a member"))),
            Some(OU_TSA) => Ok(CertProfile::TimeStamping(cn.to_owned())),
            Some(OU_OCSP) => Ok(CertProfile::OcspSigning(cn.to_owned())),
            Some(OU_OPERATOR) => Ok(CertProfile::Operator(cn.to_owned())),
            Some(OU_CENTRAL) => Ok(CertProfile::CentralServer(cn.to_owned())),
            other => Err(PkiError::WrongProfile(format!("unknown certificate profile OU {other:?}"))),
        }
    }
}
