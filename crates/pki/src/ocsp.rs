//! Certificate status over OCSP (RFC 6960): the request a security server sends, the
//! Certification Centre's responder, and the verifier a security server runs on the answer
//! before it trusts a peer's certificate (TT-2.3, TT-6.3).
//!
//! Requests name certificates by CertID with SHA-256 and carry no nonce: X-Road security
//! servers never send one, so an answer can be cached and passed along with a message. The
//! responder still echoes a nonce when a client (such as `openssl ocsp`) sends one.
//!
//! Responses are signed directly by the CA's key, or by a delegated responder certificate
//! (OCSP-signing profile) the CA issued and that travels in the response.

use std::str::FromStr;

use der::asn1::{AnyRef, BitString, BitStringRef, Null, ObjectIdentifier, OctetString};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::CrlReason;
use x509_ocsp::{
    BasicOcspResponse, CertId, OcspGeneralizedTime, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, TbsRequest, Version,
};
use x509_parser::certificate::X509Certificate;

use crate::{HashAlg, PkiError, Signer};

const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const ID_PKIX_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");

/// Clock difference tolerated between responder and verifier.
pub const CLOCK_SKEW_SECS: i64 = 60;
/// Most certificates answered in one request (larger requests are answered
/// `malformedRequest`): a security server asks about a handful at a time.
pub const MAX_REQUESTS: usize = 100;
/// Longest nonce echoed (RFC 8954 allows 1 to 32 octets; some clients send more).
const MAX_NONCE_LEN: usize = 128;

/// Why a certificate was revoked (RFC 5280 §5.3.1 CRLReason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RevocationReason {
    /// unspecified (0)
    Unspecified,
    /// keyCompromise (1)
    KeyCompromise,
    /// cACompromise (2)
    CaCompromise,
    /// affiliationChanged (3)
    AffiliationChanged,
    /// superseded (4)
    Superseded,
    /// cessationOfOperation (5)
    CessationOfOperation,
    /// certificateHold (6)
    CertificateHold,
    /// removeFromCRL (8)
    RemoveFromCrl,
    /// privilegeWithdrawn (9)
    PrivilegeWithdrawn,
    /// aACompromise (10)
    AaCompromise,
}

impl RevocationReason {
    /// Every reason, in code order.
    pub const ALL: [RevocationReason; 10] = [
        Self::Unspecified,
        Self::KeyCompromise,
        Self::CaCompromise,
        Self::AffiliationChanged,
        Self::Superseded,
        Self::CessationOfOperation,
        Self::CertificateHold,
        Self::RemoveFromCrl,
        Self::PrivilegeWithdrawn,
        Self::AaCompromise,
    ];

    /// The RFC 5280 name (`keyCompromise`, `cACompromise`, …), as [`std::fmt::Display`] writes it.
    pub fn rfc_name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "keyCompromise",
            Self::CaCompromise => "cACompromise",
            Self::AffiliationChanged => "affiliationChanged",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessationOfOperation",
            Self::CertificateHold => "certificateHold",
            Self::RemoveFromCrl => "removeFromCRL",
            Self::PrivilegeWithdrawn => "privilegeWithdrawn",
            Self::AaCompromise => "aACompromise",
        }
    }

    /// The kebab-case name (`key-compromise`, …), as serde writes it.
    pub fn kebab_name(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified",
            Self::KeyCompromise => "key-compromise",
            Self::CaCompromise => "ca-compromise",
            Self::AffiliationChanged => "affiliation-changed",
            Self::Superseded => "superseded",
            Self::CessationOfOperation => "cessation-of-operation",
            Self::CertificateHold => "certificate-hold",
            Self::RemoveFromCrl => "remove-from-crl",
            Self::PrivilegeWithdrawn => "privilege-withdrawn",
            Self::AaCompromise => "aa-compromise",
        }
    }

    /// The CRLReason code.
    pub fn code(self) -> u8 {
        self.to_asn1() as u8
    }

    fn to_asn1(self) -> CrlReason {
        match self {
            Self::Unspecified => CrlReason::Unspecified,
            Self::KeyCompromise => CrlReason::KeyCompromise,
            Self::CaCompromise => CrlReason::CaCompromise,
            Self::AffiliationChanged => CrlReason::AffiliationChanged,
            Self::Superseded => CrlReason::Superseded,
            Self::CessationOfOperation => CrlReason::CessationOfOperation,
            Self::CertificateHold => CrlReason::CertificateHold,
            Self::RemoveFromCrl => CrlReason::RemoveFromCRL,
            Self::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
            Self::AaCompromise => CrlReason::AaCompromise,
        }
    }

    fn from_asn1(reason: CrlReason) -> Self {
        match reason {
            CrlReason::Unspecified => Self::Unspecified,
            CrlReason::KeyCompromise => Self::KeyCompromise,
            CrlReason::CaCompromise => Self::CaCompromise,
            CrlReason::AffiliationChanged => Self::AffiliationChanged,
            CrlReason::Superseded => Self::Superseded,
            CrlReason::CessationOfOperation => Self::CessationOfOperation,
            CrlReason::CertificateHold => Self::CertificateHold,
            CrlReason::RemoveFromCRL => Self::RemoveFromCrl,
            CrlReason::PrivilegeWithdrawn => Self::PrivilegeWithdrawn,
            CrlReason::AaCompromise => Self::AaCompromise,
        }
    }
}

impl std::fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.rfc_name())
    }
}

impl FromStr for RevocationReason {
    type Err = PkiError;

    /// Accepts the RFC 5280 name in any case (`keyCompromise`, `KEYCOMPROMISE`) and the
    /// kebab-case name (`key-compromise`).
    fn from_str(s: &str) -> Result<Self, PkiError> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.rfc_name().eq_ignore_ascii_case(wanted) || r.kebab_name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|r| r.rfc_name()).collect();
                PkiError::Malformed(format!("unknown revocation reason '{s}' (one of: {})", names.join(", ")))
            })
    }
}

/// The status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status")]
pub enum CertStatus {
    /// Not revoked.
    Good,
    /// Revoked at `at` (Unix seconds).
    Revoked {
        /// When the certificate was revoked (Unix seconds).
        at: i64,
        /// Why, when the CA said.
        reason: Option<RevocationReason>,
    },
    /// The responder does not know the certificate.
    Unknown,
}

/// Builds one OCSPRequest (DER) asking about `certs` (DER), all issued by `issuer_der`.
/// CertIDs use SHA-256; there is no nonce (see the module documentation).
pub fn request(certs: &[&[u8]], issuer_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    if certs.is_empty() {
        return Err(PkiError::Malformed("an OCSP request needs at least one certificate".into()));
    }
    if certs.len() > MAX_REQUESTS {
        return Err(PkiError::Malformed(format!("at most {MAX_REQUESTS} certificates per OCSP request")));
    }
    let issuer = crate::parse_cert(issuer_der, "issuer certificate")?;
    let name_hash = HashAlg::Sha256.digest(issuer.subject().as_raw());
    let key_hash = HashAlg::Sha256.digest(&issuer.public_key().subject_public_key.data);
    let mut request_list = Vec::with_capacity(certs.len());
    for (i, der) in certs.iter().enumerate() {
        let cert = crate::parse_cert(der, &format!("certificate {}", i + 1))?;
        if cert.issuer().as_raw() != issuer.subject().as_raw() {
            return Err(PkiError::UntrustedIssuer(format!(
                "certificate {} was issued by '{}', not by '{}'",
                i + 1,
                cert.issuer(),
                issuer.subject()
            )));
        }
        let serial = x509_cert::serial_number::SerialNumber::new(cert.raw_serial())
            .map_err(|e| PkiError::Malformed(format!("certificate {} serial number: {e}", i + 1)))?;
        let cert_id = CertId {
            hash_algorithm: AlgorithmIdentifierOwned { oid: HashAlg::Sha256.oid(), parameters: Some(Null.into()) },
            issuer_name_hash: octets(&name_hash)?,
            issuer_key_hash: octets(&key_hash)?,
            serial_number: serial,
        };
        request_list.push(Request { req_cert: cert_id, single_request_extensions: None });
    }
    let req = OcspRequest {
        tbs_request: TbsRequest { version: Version::V1, requestor_name: None, request_list, request_extensions: None },
        optional_signature: None,
    };
    req.to_der().map_err(|e| PkiError::Malformed(format!("encoding the OCSP request: {e}")))
}

/// The serial numbers (lower-case hex) an OCSP request asks about, in order, so a
/// responder can look their statuses up (in a database) before calling [`respond`].
pub fn requested_serials(request_der: &[u8]) -> Result<Vec<String>, PkiError> {
    let req = OcspRequest::from_der(request_der).map_err(|e| PkiError::Malformed(format!("OCSP request: {e}")))?;
    Ok(req.tbs_request.request_list.iter().map(|r| crate::serial_hex(r.req_cert.serial_number.as_bytes())).collect())
}

/// An OCSP responder for one CA: the CA certificate whose certificates it answers for, the
/// key that signs, and the certificate of that key (the CA's own, or a delegated responder
/// certificate with the OCSP-signing profile, which is then sent along in `certs`).
pub struct Responder {
    signer: std::sync::Arc<dyn Signer>,
    responder_name: x509_cert::name::Name,
    delegated_cert: Option<x509_cert::Certificate>,
    ca_name_der: Vec<u8>,
    ca_key_bits: Vec<u8>,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder").field("responder", &self.responder_name.to_string()).finish_non_exhaustive()
    }
}

impl Responder {
    /// A responder signing with the CA's own key.
    pub fn new(ca_cert_der: &[u8], ca_signer: std::sync::Arc<dyn Signer>) -> Result<Self, PkiError> {
        Self::build(ca_cert_der, ca_cert_der, ca_signer, false)
    }

    /// A responder signing with a delegated responder key whose certificate
    /// (`responder_cert_der`, OCSP-signing profile) the CA issued.
    pub fn delegated(
        ca_cert_der: &[u8],
        responder_cert_der: &[u8],
        signer: std::sync::Arc<dyn Signer>,
    ) -> Result<Self, PkiError> {
        Self::build(ca_cert_der, responder_cert_der, signer, true)
    }

    fn build(
        ca_cert_der: &[u8],
        signer_cert_der: &[u8],
        signer: std::sync::Arc<dyn Signer>,
        delegated: bool,
    ) -> Result<Self, PkiError> {
        let ca = crate::parse_cert(ca_cert_der, "CA certificate")?;
        let signer_cert = crate::parse_cert(signer_cert_der, "responder certificate")?;
        if signer_cert.public_key().subject_public_key.data.as_ref() != signer.public_key().as_slice() {
            return Err(PkiError::Key("the OCSP signing key does not belong to the responder certificate".into()));
        }
        if delegated {
            crate::issued_by(&signer_cert, &ca)?;
            if !has_ocsp_signing_eku(&signer_cert) {
                return Err(PkiError::WrongProfile("the responder certificate lacks EKU id-kp-OCSPSigning".into()));
            }
        }
        let responder_name = x509_cert::name::Name::from_der(signer_cert.subject().as_raw())
            .map_err(|e| PkiError::Malformed(format!("responder name: {e}")))?;
        let delegated_cert = if delegated {
            Some(
                x509_cert::Certificate::from_der(signer_cert_der)
                    .map_err(|e| PkiError::Malformed(format!("responder certificate: {e}")))?,
            )
        } else {
            None
        };
        Ok(Self {
            signer,
            responder_name,
            delegated_cert,
            ca_name_der: ca.subject().as_raw().to_vec(),
            ca_key_bits: ca.public_key().subject_public_key.data.to_vec(),
        })
    }

    /// Answers `request_der` (see [`respond`]).
    pub fn respond(
        &self,
        request_der: &[u8],
        lookup: impl Fn(&str) -> CertStatus,
        now: i64,
        validity_secs: i64,
    ) -> Vec<u8> {
        let req = match OcspRequest::from_der(request_der) {
            Ok(r) if !r.tbs_request.request_list.is_empty() && r.tbs_request.request_list.len() <= MAX_REQUESTS => r,
            _ => return status_only(OcspResponseStatus::MalformedRequest),
        };
        let nonce =
            req.tbs_request.request_extensions.iter().flatten().find(|e| e.extn_id == ID_PKIX_OCSP_NONCE).cloned();
        if nonce.as_ref().is_some_and(|n| n.extn_value.as_bytes().len() > MAX_NONCE_LEN) {
            return status_only(OcspResponseStatus::MalformedRequest);
        }
        match self.sign_response(&req, nonce, &lookup, now, validity_secs) {
            Ok(der) => der,
            Err(_) => status_only(OcspResponseStatus::InternalError),
        }
    }

    fn sign_response(
        &self,
        req: &OcspRequest,
        nonce: Option<x509_cert::ext::Extension>,
        lookup: &dyn Fn(&str) -> CertStatus,
        now: i64,
        validity_secs: i64,
    ) -> Result<Vec<u8>, PkiError> {
        let this_update = OcspGeneralizedTime(crate::generalized_time(now)?);
        let next_update = OcspGeneralizedTime(crate::generalized_time(now.saturating_add(validity_secs.max(0)))?);
        let mut responses = Vec::with_capacity(req.tbs_request.request_list.len());
        for r in &req.tbs_request.request_list {
            let id = &r.req_cert;
            // only certificates of this CA are answered: a CertID naming another issuer (or a
            // hash function we do not know) is `unknown`, whatever its serial number
            let ours = HashAlg::from_oid(&id.hash_algorithm.oid.to_string()).is_some_and(|h| {
                h.digest(&self.ca_name_der) == id.issuer_name_hash.as_bytes()
                    && h.digest(&self.ca_key_bits) == id.issuer_key_hash.as_bytes()
            });
            let status =
                if ours { lookup(&crate::serial_hex(id.serial_number.as_bytes())) } else { CertStatus::Unknown };
            let cert_status = match status {
                CertStatus::Good => x509_ocsp::CertStatus::good(),
                CertStatus::Unknown => x509_ocsp::CertStatus::unknown(),
                CertStatus::Revoked { at, reason } => x509_ocsp::CertStatus::Revoked(RevokedInfo {
                    revocation_time: OcspGeneralizedTime(crate::generalized_time(at)?),
                    revocation_reason: reason.map(RevocationReason::to_asn1),
                }),
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update,
                next_update: Some(next_update),
                single_extensions: None,
            });
        }
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByName(self.responder_name.clone()),
            produced_at: this_update,
            responses,
            response_extensions: nonce.map(|n| vec![n]),
        };
        let tbs = data.to_der().map_err(|e| PkiError::Malformed(format!("encoding the response: {e}")))?;
        let signature = self.signer.sign(&tbs)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: crate::signature_oid(self.signer.algorithm()),
                parameters: None,
            },
            signature: BitString::from_bytes(&signature)
                .map_err(|e| PkiError::Malformed(format!("signature bits: {e}")))?,
            certs: self.delegated_cert.clone().map(|c| vec![c]),
        };
        let bytes = basic.to_der().map_err(|e| PkiError::Malformed(format!("encoding the response: {e}")))?;
        OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(x509_ocsp::ResponseBytes {
                response_type: ID_PKIX_OCSP_BASIC,
                response: octets(&bytes)?,
            }),
        }
        .to_der()
        .map_err(|e| PkiError::Malformed(format!("encoding the response: {e}")))
    }
}

/// Answers an OCSP request (DER) with a DER OCSPResponse, never failing: each certificate
/// of this CA gets the status `lookup` gives for its serial number (lower-case hex); a
/// CertID naming another issuer gets `unknown`. thisUpdate = producedAt = `now`,
/// nextUpdate = `now + validity_secs`; the responder is named by name. A request that does
/// not parse, or asks about no (or more than [`MAX_REQUESTS`]) certificates, is answered
/// `malformedRequest`; a signing failure `internalError`.
pub fn respond(
    request_der: &[u8],
    lookup: impl Fn(&str) -> CertStatus,
    responder: &Responder,
    now: i64,
    validity_secs: i64,
) -> Vec<u8> {
    responder.respond(request_der, lookup, now, validity_secs)
}

/// The unsigned OCSPResponse `tryLater` (RFC 6960 §2.3): what a responder answers when it
/// cannot reach the statuses (its database) for the moment.
pub fn try_later() -> Vec<u8> {
    status_only(OcspResponseStatus::TryLater)
}

/// An OCSPResponse with only a status (no signed body), for every error status.
fn status_only(status: OcspResponseStatus) -> Vec<u8> {
    OcspResponse { response_status: status, response_bytes: None }
        .to_der()
        .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, status as u8])
}

fn octets(bytes: &[u8]) -> Result<OctetString, PkiError> {
    OctetString::new(bytes).map_err(|e| PkiError::Malformed(format!("octet string: {e}")))
}

fn has_ocsp_signing_eku(cert: &X509Certificate<'_>) -> bool {
    cert.extended_key_usage().ok().flatten().is_some_and(|eku| eku.value.ocsp_signing)
}

/// What a verified OCSP response says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspResponseInfo {
    /// When the response was signed (Unix seconds).
    pub produced_at: i64,
    /// One entry per certificate answered.
    pub statuses: Vec<SingleStatus>,
}

/// The status of one certificate in a verified response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleStatus {
    /// Serial number, lower-case hex without leading zero bytes.
    pub serial_hex: String,
    /// The status.
    pub status: CertStatus,
    /// thisUpdate (Unix seconds).
    pub this_update: i64,
    /// nextUpdate (Unix seconds), when given.
    pub next_update: Option<i64>,
    hash: Option<HashAlg>,
    issuer_name_hash: Vec<u8>,
    issued_by_ca: bool,
}

impl OcspResponseInfo {
    /// The status the response gives for `cert_der`, matched by serial number and by the
    /// issuer's name and key hashes (so an answer about a namesake certificate of another
    /// CA, or about another certificate, never answers for this one). `None` when the
    /// response does not speak about this certificate, or it does not parse.
    pub fn status_of(&self, cert_der: &[u8]) -> Option<&CertStatus> {
        let cert = crate::parse_cert(cert_der, "certificate").ok()?;
        let serial = crate::serial_hex(cert.raw_serial());
        self.statuses
            .iter()
            .find(|s| {
                s.issued_by_ca
                    && s.serial_hex == serial
                    && s.hash.is_some_and(|h| h.digest(cert.issuer().as_raw()) == s.issuer_name_hash)
            })
            .map(|s| &s.status)
    }
}

/// BasicOCSPResponse with the signed part kept as the exact bytes received.
#[derive(Sequence)]
struct RawBasicResponse<'a> {
    tbs: AnyRef<'a>,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitStringRef<'a>,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    certs: Option<Vec<AnyRef<'a>>>,
}

/// Verifies an OCSP response (DER) for certificates of the CA `ca_cert_der` at `now_unix`:
/// the response is `successful`; it is signed by the CA itself or by a delegated responder
/// certificate in it that the CA issued with EKU id-kp-OCSPSigning and that is valid now;
/// producedAt and every thisUpdate are at most `max_age_secs` old and not in the future,
/// and no nextUpdate has passed ([`CLOCK_SKEW_SECS`] tolerated either way).
pub fn verify_response(
    response_der: &[u8],
    ca_cert_der: &[u8],
    now_unix: i64,
    max_age_secs: i64,
) -> Result<OcspResponseInfo, PkiError> {
    let ca = crate::parse_cert(ca_cert_der, "CA certificate")?;
    let resp = OcspResponse::from_der(response_der).map_err(|e| PkiError::Malformed(format!("OCSP response: {e}")))?;
    if resp.response_status != OcspResponseStatus::Successful {
        return Err(PkiError::Ocsp(format!("the responder answered {:?}", resp.response_status)));
    }
    let bytes =
        resp.response_bytes.ok_or_else(|| PkiError::Malformed("successful OCSP response without a body".into()))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(PkiError::Malformed(format!("unsupported OCSP response type {}", bytes.response_type)));
    }
    let raw = RawBasicResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| PkiError::Malformed(format!("BasicOCSPResponse: {e}")))?;
    let tbs = raw.tbs.to_der().map_err(|e| PkiError::Malformed(format!("ResponseData: {e}")))?;
    let data = ResponseData::from_der(&tbs).map_err(|e| PkiError::Malformed(format!("ResponseData: {e}")))?;
    let signature = raw
        .signature
        .as_bytes()
        .ok_or_else(|| PkiError::Malformed("OCSP signature is not a whole number of bytes".into()))?;
    let sig_alg = raw.signature_algorithm.oid.to_string();

    // who signed: the CA itself, or a delegated responder certificate carried along
    let names_ca = match &data.responder_id {
        ResponderId::ByName(name) => name.to_der().is_ok_and(|n| n == ca.subject().as_raw()),
        ResponderId::ByKey(hash) => HashAlg::Sha1.digest(&ca.public_key().subject_public_key.data) == hash.as_bytes(),
    };
    if names_ca {
        crate::verify_with_spki(&sig_alg, ca.public_key(), &tbs, signature)?;
    } else {
        let certs: Vec<Vec<u8>> = raw.certs.iter().flatten().filter_map(|c| c.to_der().ok()).collect();
        let responder = certs
            .iter()
            .filter_map(|der| crate::parse_cert(der, "responder certificate").ok())
            .find(|c| match &data.responder_id {
                ResponderId::ByName(name) => name.to_der().is_ok_and(|n| n == c.subject().as_raw()),
                ResponderId::ByKey(hash) => {
                    HashAlg::Sha1.digest(&c.public_key().subject_public_key.data) == hash.as_bytes()
                }
            })
            .ok_or_else(|| {
                PkiError::Ocsp("signed by a responder that is neither the CA nor carried in the response".into())
            })?;
        crate::issued_by(&responder, &ca).map_err(|e| PkiError::Ocsp(format!("responder certificate: {e}")))?;
        if !has_ocsp_signing_eku(&responder) {
            return Err(PkiError::Ocsp(
                "the responder certificate is not authorised for OCSP signing (no EKU id-kp-OCSPSigning)".into(),
            ));
        }
        let (from, to) = (responder.validity().not_before.timestamp(), responder.validity().not_after.timestamp());
        if now_unix < from - CLOCK_SKEW_SECS || now_unix > to + CLOCK_SKEW_SECS {
            return Err(PkiError::Ocsp(format!(
                "the responder certificate is valid from {from} to {to}, now {now_unix}"
            )));
        }
        crate::verify_with_spki(&sig_alg, responder.public_key(), &tbs, signature)?;
    }

    let check_time = |what: &str, t: i64| -> Result<(), PkiError> {
        if t > now_unix + CLOCK_SKEW_SECS {
            return Err(PkiError::Ocsp(format!("{what} {t} is in the future (now {now_unix})")));
        }
        if now_unix - t > max_age_secs {
            return Err(PkiError::Ocsp(format!("{what} {t} is older than {max_age_secs} s (now {now_unix})")));
        }
        Ok(())
    };
    let produced_at = crate::unix_time(&data.produced_at.0);
    check_time("producedAt", produced_at)?;

    let ca_key_bits = &ca.public_key().subject_public_key.data;
    let mut statuses = Vec::with_capacity(data.responses.len());
    for single in &data.responses {
        let this_update = crate::unix_time(&single.this_update.0);
        check_time("thisUpdate", this_update)?;
        let next_update = single.next_update.map(|t| crate::unix_time(&t.0));
        if let Some(next) = next_update
            && now_unix > next + CLOCK_SKEW_SECS
        {
            return Err(PkiError::Ocsp(format!("nextUpdate {next} has passed (now {now_unix})")));
        }
        let id = &single.cert_id;
        let hash = HashAlg::from_oid(&id.hash_algorithm.oid.to_string());
        let issued_by_ca = hash.is_some_and(|h| {
            h.digest(ca.subject().as_raw()) == id.issuer_name_hash.as_bytes()
                && h.digest(ca_key_bits) == id.issuer_key_hash.as_bytes()
        });
        let status = match single.cert_status {
            x509_ocsp::CertStatus::Good(_) => CertStatus::Good,
            x509_ocsp::CertStatus::Unknown(_) => CertStatus::Unknown,
            x509_ocsp::CertStatus::Revoked(info) => CertStatus::Revoked {
                at: crate::unix_time(&info.revocation_time.0),
                reason: info.revocation_reason.map(RevocationReason::from_asn1),
            },
        };
        statuses.push(SingleStatus {
            serial_hex: crate::serial_hex(id.serial_number.as_bytes()),
            status,
            this_update,
            next_update,
            hash,
            issuer_name_hash: id.issuer_name_hash.as_bytes().to_vec(),
            issued_by_ca,
        });
    }
    Ok(OcspResponseInfo { produced_at, statuses })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::testutil::{Rng, openssl};
    use crate::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey};

    fn ca(name: &str) -> CertificationAuthority {
        CertificationAuthority::generate("AZ", name).unwrap()
    }

    fn member_cert(ca: &CertificationAuthority, code: &str) -> Vec<u8> {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        let profile = CertProfile::Sign(format!("AZ/GOV/{code}").parse().unwrap());
        ca.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap()
    }

    fn serial_of(der: &[u8]) -> String {
        crate::serial_hex(crate::parse_cert(der, "c").unwrap().raw_serial())
    }

    const REVOKED_AT: i64 = 1_700_000_000;

    /// `good` is good, `revoked` revoked for key compromise, anything else unknown.
    fn lookup<'a>(good: &'a str, revoked: &'a str) -> impl Fn(&str) -> CertStatus + 'a {
        move |serial: &str| {
            if serial == good {
                CertStatus::Good
            } else if serial == revoked {
                CertStatus::Revoked { at: REVOKED_AT, reason: Some(RevocationReason::KeyCompromise) }
            } else {
                CertStatus::Unknown
            }
        }
    }

    #[test]
    fn answers_good_revoked_and_unknown_and_verifies() {
        let ca = ca("AZ Test CA");
        let (a, b, c) = (member_cert(&ca, "1"), member_cert(&ca, "2"), member_cert(&ca, "3"));
        let req = request(&[&a, &b, &c], ca.certificate_der()).unwrap();
        assert_eq!(requested_serials(&req).unwrap(), vec![serial_of(&a), serial_of(&b), serial_of(&c)]);
        let responder = Responder::new(ca.certificate_der(), ca.signer()).unwrap();
        let now = crate::unix_now();
        let resp = respond(&req, lookup(&serial_of(&a), &serial_of(&b)), &responder, now, 600);
        let info = verify_response(&resp, ca.certificate_der(), now, 300).unwrap();
        assert_eq!(info.produced_at, now);
        assert_eq!(info.statuses.len(), 3);
        assert_eq!(info.statuses[0].this_update, now);
        assert_eq!(info.statuses[0].next_update, Some(now + 600));
        assert_eq!(info.status_of(&a), Some(&CertStatus::Good));
        assert_eq!(
            info.status_of(&b),
            Some(&CertStatus::Revoked { at: REVOKED_AT, reason: Some(RevocationReason::KeyCompromise) })
        );
        assert_eq!(info.status_of(&c), Some(&CertStatus::Unknown));
        // a response about a, b, c says nothing about d
        assert_eq!(info.status_of(&member_cert(&ca, "4")), None);
        assert_eq!(info.status_of(b"junk"), None);
    }

    #[test]
    fn certificates_of_another_issuer_are_unknown() {
        let ours = ca("AZ Test CA");
        let theirs = ca("Other CA");
        let foreign = member_cert(&theirs, "1");
        let req = request(&[&foreign], theirs.certificate_der()).unwrap();
        let responder = Responder::new(ours.certificate_der(), ours.signer()).unwrap();
        let now = crate::unix_now();
        // even a lookup that says "good" for everything is not asked
        let resp = respond(&req, |_: &str| CertStatus::Good, &responder, now, 600);
        let info = verify_response(&resp, ours.certificate_der(), now, 300).unwrap();
        assert_eq!(info.statuses[0].status, CertStatus::Unknown);
        assert_eq!(info.status_of(&foreign), None, "not issued by the CA the response was verified for");
        // and a request mixing issuers is refused on the client side
        let mine = member_cert(&ours, "2");
        assert!(matches!(request(&[&mine, &foreign], ours.certificate_der()), Err(PkiError::UntrustedIssuer(_))));
        assert!(request(&[], ours.certificate_der()).is_err());
    }

    #[test]
    fn refuses_responses_signed_by_another_ca() {
        let ca1 = ca("AZ Test CA");
        let namesake = ca("AZ Test CA"); // same name, other key
        let other = ca("Other CA");
        let cert = member_cert(&ca1, "1");
        let req = request(&[&cert], ca1.certificate_der()).unwrap();
        let now = crate::unix_now();
        let forged = respond(
            &req,
            |_: &str| CertStatus::Good,
            &Responder::new(namesake.certificate_der(), namesake.signer()).unwrap(),
            now,
            600,
        );
        assert_eq!(verify_response(&forged, ca1.certificate_der(), now, 300), Err(PkiError::BadSignature));
        let foreign = respond(
            &req,
            |_: &str| CertStatus::Good,
            &Responder::new(other.certificate_der(), other.signer()).unwrap(),
            now,
            600,
        );
        assert!(matches!(verify_response(&foreign, ca1.certificate_der(), now, 300), Err(PkiError::Ocsp(_))));
        // a responder key that is not the certificate's is refused up front
        assert!(matches!(Responder::new(ca1.certificate_der(), other.signer()), Err(PkiError::Key(_))));
    }

    #[test]
    fn refuses_tampered_stale_future_and_expired_responses() {
        let ca = ca("AZ Test CA");
        let cert = member_cert(&ca, "1");
        let req = request(&[&cert], ca.certificate_der()).unwrap();
        let responder = Responder::new(ca.certificate_der(), ca.signer()).unwrap();
        let now = crate::unix_now();
        let resp = respond(&req, |_: &str| CertStatus::Good, &responder, now, 600);

        // "good" turned into "unknown": [0] IMPLICIT NULL (80 00) becomes [2] (82 00)
        let pos = resp.windows(2).position(|w| w == [0x80, 0x00]).unwrap();
        let mut tampered = resp.clone();
        tampered[pos] = 0x82;
        assert_eq!(verify_response(&tampered, ca.certificate_der(), now, 300), Err(PkiError::BadSignature));
        let mut tampered = resp.clone();
        let n = tampered.len();
        tampered[n - 3] ^= 0x01; // inside the signature
        assert!(verify_response(&tampered, ca.certificate_der(), now, 300).is_err());

        let stale = verify_response(&resp, ca.certificate_der(), now + 301, 300);
        assert!(matches!(&stale, Err(PkiError::Ocsp(m)) if m.contains("older")), "{stale:?}");
        let future = verify_response(&resp, ca.certificate_der(), now - 61, 300);
        assert!(matches!(&future, Err(PkiError::Ocsp(m)) if m.contains("future")), "{future:?}");
        let short = respond(&req, |_: &str| CertStatus::Good, &responder, now, 10);
        let expired = verify_response(&short, ca.certificate_der(), now + 71, 3600);
        assert!(matches!(&expired, Err(PkiError::Ocsp(m)) if m.contains("nextUpdate")), "{expired:?}");
        assert!(verify_response(&short, ca.certificate_der(), now + 69, 3600).is_ok(), "within the skew");
    }

    #[test]
    fn delegated_responder_needs_the_ocsp_signing_profile() {
        let ca = ca("AZ Test CA");
        let cert = member_cert(&ca, "1");
        let req = request(&[&cert], ca.certificate_der()).unwrap();
        let now = crate::unix_now();
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let profile = CertProfile::OcspSigning("AZ OCSP Responder".into());
        let responder_cert = ca.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();
        let responder =
            Responder::delegated(ca.certificate_der(), &responder_cert, Arc::new(key.signer().unwrap())).unwrap();
        let resp = respond(&req, |_: &str| CertStatus::Good, &responder, now, 600);
        let info = verify_response(&resp, ca.certificate_der(), now, 300).unwrap();
        assert_eq!(info.status_of(&cert), Some(&CertStatus::Good));

        // a certificate of another profile cannot be made a responder
        let sign_profile = CertProfile::Sign("AZ/GOV/9".parse().unwrap());
        let sign_cert = ca.issue(&key.certificate_request(&sign_profile).unwrap(), &sign_profile, 30).unwrap();
        let refused = Responder::delegated(ca.certificate_der(), &sign_cert, Arc::new(key.signer().unwrap()));
        assert!(matches!(refused, Err(PkiError::WrongProfile(_))));
        // nor a responder certificate from another CA
        let other = CertificationAuthority::generate("AZ", "Other CA").unwrap();
        let foreign_cert = other.issue(&key.certificate_request(&profile).unwrap(), &profile, 30).unwrap();
        let refused = Responder::delegated(ca.certificate_der(), &foreign_cert, Arc::new(key.signer().unwrap()));
        assert!(matches!(refused, Err(PkiError::UntrustedIssuer(_))));
        // a response signed by that foreign "responder" is refused by the verifier
        let foreign =
            Responder::delegated(other.certificate_der(), &foreign_cert, Arc::new(key.signer().unwrap())).unwrap();
        let resp = respond(&req, |_: &str| CertStatus::Good, &foreign, now, 600);
        assert!(matches!(verify_response(&resp, ca.certificate_der(), now, 300), Err(PkiError::Ocsp(_))));
    }

    #[test]
    fn malformed_requests_get_a_malformed_request_status() {
        let ca = ca("AZ Test CA");
        let responder = Responder::new(ca.certificate_der(), ca.signer()).unwrap();
        let now = crate::unix_now();
        for junk in [&b""[..], b"\x30\x00", b"garbage", b"\x30\x03\x30\x01\x00"] {
            let resp = respond(junk, |_: &str| CertStatus::Good, &responder, now, 600);
            assert_eq!(resp, vec![0x30, 0x03, 0x0a, 0x01, 0x01]);
            let err = verify_response(&resp, ca.certificate_der(), now, 300);
            assert!(matches!(&err, Err(PkiError::Ocsp(m)) if m.contains("MalformedRequest")), "{err:?}");
        }
    }

    #[test]
    fn reasons_parse_and_print() {
        for r in RevocationReason::ALL {
            assert_eq!(r.to_string().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(r.kebab_name().parse::<RevocationReason>().unwrap(), r);
            assert_eq!(serde_json::to_string(&r).unwrap(), format!("\"{}\"", r.kebab_name()));
            assert_eq!(RevocationReason::from_asn1(r.to_asn1()), r);
        }
        assert_eq!("KEYCOMPROMISE".parse::<RevocationReason>().unwrap(), RevocationReason::KeyCompromise);
        assert_eq!(RevocationReason::RemoveFromCrl.code(), 8);
        let err = "stolen".parse::<RevocationReason>().unwrap_err().to_string();
        assert!(err.contains("stolen") && err.contains("keyCompromise"), "{err}");
    }

    #[test]
    fn random_and_mangled_input_never_panics() {
        let ca = ca("AZ Test CA");
        let cert = member_cert(&ca, "1");
        let req = request(&[&cert], ca.certificate_der()).unwrap();
        let responder = Responder::new(ca.certificate_der(), ca.signer()).unwrap();
        let now = crate::unix_now();
        let resp = respond(&req, |_: &str| CertStatus::Good, &responder, now, 600);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..2000 {
            let junk = rng.bytes(300);
            assert!(verify_response(&junk, ca.certificate_der(), now, 300).is_err());
            assert!(requested_serials(&junk).is_err() || junk.first() == Some(&0x30));
            let answer = respond(&junk, |_: &str| CertStatus::Good, &responder, now, 600);
            assert!(OcspResponse::from_der(&answer).is_ok());
            assert!(request(&[&junk], ca.certificate_der()).is_err());
            assert!(request(&[&cert], &junk).is_err());
        }
        for input in [&req, &resp] {
            for cut in 0..input.len() {
                assert!(verify_response(&input[..cut], ca.certificate_der(), now, 300).is_err());
                let _ = respond(&input[..cut], |_: &str| CertStatus::Good, &responder, now, 600);
            }
            for _ in 0..500 {
                let mut m = input.clone();
                let i = (rng.next() as usize) % m.len();
                m[i] ^= 1 << (rng.next() % 8);
                let _ = verify_response(&m, ca.certificate_der(), now, 300);
                let _ = respond(&m, |_: &str| CertStatus::Good, &responder, now, 600);
                let _ = requested_serials(&m);
            }
        }
    }

    #[test]
    fn openssl_verifies_our_responses() {
        let ca = ca("AZ Test CA");
        let (a, b) = (member_cert(&ca, "1"), member_cert(&ca, "2"));
        let req = request(&[&a, &b], ca.certificate_der()).unwrap();
        let responder = Responder::new(ca.certificate_der(), ca.signer()).unwrap();
        let resp = respond(&req, lookup(&serial_of(&a), &serial_of(&b)), &responder, crate::unix_now(), 600);
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, data: &[u8]| std::fs::write(dir.path().join(name), data).unwrap();
        write("ca.pem", ca.certificate_pem().as_bytes());
        write("a.pem", crate::to_pem("CERTIFICATE", &a).as_bytes());
        write("b.pem", crate::to_pem("CERTIFICATE", &b).as_bytes());
        write("req.der", &req);
        write("resp.der", &resp);
        let Some((ok, out)) = openssl(dir.path(), &["ocsp", "-reqin", "req.der", "-req_text"]) else { return };
        assert!(ok && out.contains("Hash Algorithm: sha256"), "{out}");
        let (ok, out) = openssl(
            dir.path(),
            &[
                "ocsp",
                "-respin",
                "resp.der",
                "-resp_text",
                "-CAfile",
                "ca.pem",
                "-issuer",
                "ca.pem",
                "-sha256",
                "-cert",
                "a.pem",
                "-cert",
                "b.pem",
                "-no_nonce",
            ],
        )
        .unwrap();
        eprintln!("openssl ocsp said:\n{out}");
        assert!(ok, "{out}");
        assert!(out.contains("Response verify OK"), "{out}");
        assert!(out.contains("a.pem: good"), "{out}");
        assert!(out.contains("b.pem: revoked"), "{out}");
        assert!(out.contains("Reason: keyCompromise"), "{out}");
    }
}
