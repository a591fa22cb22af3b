//! Certificate profiles: how a certificate names the security server or member it belongs
//! to, so a verifier can bind a TLS peer or a message signature to an X-Road identity.
//!
//! Subject of an **authentication** certificate (TLS between security servers):
//! `CN=<INSTANCE/CLASS/CODE/SERVER>, OU=security-server-auth, O=<INSTANCE>`.
//! Subject of a **signing** certificate (message signatures, member level as in X-Road):
//! `CN=<INSTANCE/CLASS/CODE>, OU=member-signing, O=<INSTANCE>`.

use egov_xroad::{ClientId, SecurityServerId};

use crate::PkiError;

/// OU of authentication certificates.
pub const OU_AUTH: &str = "security-server-auth";
/// OU of signing certificates.
pub const OU_SIGN: &str = "member-signing";

/// What a certificate is for and whom it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertProfile {
    /// TLS authentication of a security server (TT-2.2.4, TT-6.3).
    Auth(SecurityServerId),
    /// Message signatures of a member (TT-2.2.1).
    Sign(ClientId),
}

impl CertProfile {
    /// The subject's common name.
    pub fn common_name(&self) -> String {
        match self {
            CertProfile::Auth(s) => s.to_string(),
            CertProfile::Sign(m) => m.member_id().to_string(),
        }
    }

    fn ou(&self) -> &'static str {
        match self {
            CertProfile::Auth(_) => OU_AUTH,
            CertProfile::Sign(_) => OU_SIGN,
        }
    }

    fn instance(&self) -> &str {
        match self {
            CertProfile::Auth(s) => s.owner().instance(),
            CertProfile::Sign(m) => m.instance(),
        }
    }

    /// The subject distinguished name of this profile.
    pub fn distinguished_name(&self) -> rcgen::DistinguishedName {
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::OrganizationName, self.instance());
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
            other => Err(PkiError::WrongProfile(format!("unknown certificate profile OU {other:?}"))),
        }
    }
}
