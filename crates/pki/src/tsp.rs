//! Time-stamps (RFC 3161): the request a security server sends for the digest of its
//! message log batch, the Certification Centre's time-stamping authority (TSA), and the
//! verifier (TT-6.3: signed, time-stamped, logged).
//!
//! A token is a CMS SignedData over a TSTInfo (eContentType id-ct-TSTInfo), signed by the
//! TSA key with the signed attributes content-type, message-digest and ESS
//! signing-certificate-v2 (RFC 5816; OpenSSL's `ts -verify` insists on the latter), and
//! carrying the TSA certificate, which the CA issued with the time-stamping profile.

use der::asn1::{Any, Int, ObjectIdentifier, OctetString, SetOfVec, Utf8StringRef};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_tsp::{Accuracy, MessageImprint, TimeStampReq, TimeStampResp, TspVersion, TstInfo};

use cmpv2::status::{PkiFailureInfo, PkiFailureInfoValues, PkiStatus, PkiStatusInfo};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};

use crate::{HashAlg, PkiError, Signer};

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-ct-TSTInfo (not in const-oid 0.9).
const ID_CT_TST_INFO: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// ESS signing-certificate (RFC 2634, SHA-1 certificate hashes).
const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// ESS signing-certificate-v2 (RFC 5035).
const ID_AA_SIGNING_CERTIFICATE_V2: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";

/// What a verified time-stamp says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampInfo {
    /// The time the TSA vouches for (Unix seconds).
    pub gen_time: i64,
    /// The token's serial number, lower-case hex.
    pub serial_hex: String,
    /// The TSA certificate that signed it (DER).
    pub tsa_cert_der: Vec<u8>,
}

/// A TimeStampReq (DER) for a SHA-256 digest: version 1, certReq TRUE (the token must carry
/// the TSA certificate), a random 64-bit nonce, no policy, no extensions.
pub fn request(sha256_digest: &[u8; 32]) -> Vec<u8> {
    let mut nonce = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut nonce).is_err() {
        // the nonce only has to be unlikely to repeat, not secret: fall back to the clock
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        nonce.copy_from_slice(&nanos.to_be_bytes()[8..]);
    }
    nonce[0] = (nonce[0] & 0x7f) | 0x40; // positive, and minimal as a DER INTEGER
    // a fixed layout: encoding cannot fail, so this is written out rather than built
    let mut out = Vec::with_capacity(69);
    out.extend_from_slice(&[0x30, 0x43]); // TimeStampReq
    out.extend_from_slice(&[0x02, 0x01, 0x01]); // version 1
    out.extend_from_slice(&[0x30, 0x31, 0x30, 0x0d, 0x06, 0x09]); // messageImprint, AlgorithmIdentifier, OID
    out.extend_from_slice(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00]); // sha256, NULL
    out.extend_from_slice(&[0x04, 0x20]);
    out.extend_from_slice(sha256_digest);
    out.extend_from_slice(&[0x02, 0x08]);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&[0x01, 0x01, 0xff]); // certReq TRUE
    out
}

/// Answers a TimeStampReq (DER) with a DER TimeStampResp, never failing: status granted
/// with a token signed by `tsa_key` (whose certificate is `tsa_cert_der`), or status
/// rejection with a failInfo naming the problem — badDataFormat for a request that does
/// not parse or a digest of the wrong length, badAlg for a hash function other than
/// SHA-256/384/512, unacceptedPolicy for another policy than `policy_oid`,
/// unacceptedExtension for request extensions, systemFailure when signing fails.
/// `serial` must be unique per token (the caller draws it at random or from a sequence).
pub fn stamp(
    request_der: &[u8],
    tsa_key: &dyn Signer,
    tsa_cert_der: &[u8],
    policy_oid: &str,
    serial: u128,
    now: i64,
) -> Vec<u8> {
    let req = match TimeStampReq::from_der(request_der) {
        Ok(r) => r,
        Err(e) => return rejection(PkiFailureInfoValues::BadDataFormat, &format!("not a TimeStampReq: {e}")),
    };
    let imprint = &req.message_imprint;
    let Some(hash) = HashAlg::from_oid(&imprint.hash_algorithm.oid.to_string()).filter(|h| *h != HashAlg::Sha1) else {
        return rejection(
            PkiFailureInfoValues::BadAlg,
            &format!("unsupported hash algorithm {} (use SHA-256, SHA-384 or SHA-512)", imprint.hash_algorithm.oid),
        );
    };
    if imprint.hashed_message.as_bytes().len() != hash.len() {
        return rejection(
            PkiFailureInfoValues::BadDataFormat,
            &format!(
                "the digest is {} bytes, {:?} digests are {}",
                imprint.hashed_message.as_bytes().len(),
                hash,
                hash.len()
            ),
        );
    }
    let Ok(policy) = ObjectIdentifier::new(policy_oid) else {
        return rejection(PkiFailureInfoValues::SystemFailure, "the TSA policy is misconfigured");
    };
    if req.req_policy.is_some_and(|p| p != policy) {
        return rejection(
            PkiFailureInfoValues::UnacceptedPolicy,
            &format!("this TSA only stamps under policy {policy}"),
        );
    }
    if req.extensions.as_ref().is_some_and(|e| !e.is_empty()) {
        return rejection(PkiFailureInfoValues::UnacceptedExtension, "request extensions are not supported");
    }
    match token(&req, tsa_key, tsa_cert_der, policy, serial, now) {
        Ok(token) => granted(token),
        Err(e) => rejection(PkiFailureInfoValues::SystemFailure, &format!("the TSA could not sign: {e}")),
    }
}

fn positive_int(bytes: &[u8]) -> Result<Int, PkiError> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len().saturating_sub(1));
    let mut v = Vec::with_capacity(bytes.len() + 1);
    if bytes.get(start).is_some_and(|b| b & 0x80 != 0) {
        v.push(0);
    }
    v.extend_from_slice(&bytes[start..]);
    Int::new(&v).map_err(|e| PkiError::Malformed(format!("integer: {e}")))
}

fn der_err(what: &str) -> impl Fn(der::Error) -> PkiError + '_ {
    move |e| PkiError::Malformed(format!("{what}: {e}"))
}

/// The ESS certificate identifier of RFC 5035 (hash algorithm SHA-256 by default).
#[derive(Clone, Debug, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

/// The ESS certificate identifier of RFC 2634 (SHA-1).
#[derive(Clone, Debug, Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<IssuerSerial>,
}

#[derive(Clone, Debug, Sequence)]
struct IssuerSerial {
    issuer: Vec<x509_cert::ext::pkix::name::GeneralName>,
    serial_number: x509_cert::serial_number::SerialNumber,
}

#[derive(Clone, Debug, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

#[derive(Clone, Debug, Sequence)]
struct SigningCertificate {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

fn attribute<T: der::EncodeValue + der::Tagged>(oid: ObjectIdentifier, value: &T) -> Result<Attribute, PkiError> {
    let any = Any::encode_from(value).map_err(der_err("attribute"))?;
    Ok(Attribute { oid, values: SetOfVec::try_from(vec![any]).map_err(der_err("attribute"))? })
}

fn token(
    req: &TimeStampReq,
    tsa_key: &dyn Signer,
    tsa_cert_der: &[u8],
    policy: ObjectIdentifier,
    serial: u128,
    now: i64,
) -> Result<ContentInfo, PkiError> {
    let cert = x509_cert::Certificate::from_der(tsa_cert_der).map_err(der_err("TSA certificate"))?;
    let cert_der = cert.to_der().map_err(der_err("TSA certificate"))?;
    let tst = TstInfo {
        version: TspVersion::V1,
        policy,
        message_imprint: MessageImprint {
            hash_algorithm: req.message_imprint.hash_algorithm.clone(),
            hashed_message: req.message_imprint.hashed_message.clone(),
        },
        serial_number: positive_int(&serial.to_be_bytes())?,
        gen_time: crate::generalized_time(now)?,
        // genTime is truncated to the second
        accuracy: Some(Accuracy { seconds: Some(1), millis: None, micros: None }),
        ordering: false,
        nonce: req.nonce.clone(),
        tsa: None,
        extensions: None,
    };
    let tst_der = tst.to_der().map_err(der_err("TSTInfo"))?;
    let sha256 = AlgorithmIdentifierOwned { oid: HashAlg::Sha256.oid(), parameters: None };
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            hash_algorithm: None, // DEFAULT id-sha256
            cert_hash: OctetString::new(HashAlg::Sha256.digest(&cert_der)).map_err(der_err("certificate hash"))?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![x509_cert::ext::pkix::name::GeneralName::DirectoryName(
                    cert.tbs_certificate.issuer.clone(),
                )],
                serial_number: cert.tbs_certificate.serial_number.clone(),
            }),
        }],
        policies: None,
    };
    let signed_attrs = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, &ID_CT_TST_INFO)?,
        attribute(
            ID_MESSAGE_DIGEST,
            &OctetString::new(HashAlg::Sha256.digest(&tst_der)).map_err(der_err("message digest"))?,
        )?,
        attribute(ID_AA_SIGNING_CERTIFICATE_V2, &ess)?,
    ])
    .map_err(der_err("signed attributes"))?;
    // the signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4)
    let to_sign = signed_attrs.to_der().map_err(der_err("signed attributes"))?;
    let signature = tsa_key.sign(&to_sign)?;
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate.issuer.clone(),
            serial_number: cert.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: sha256.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: AlgorithmIdentifierOwned {
            oid: crate::signature_oid(tsa_key.algorithm()),
            parameters: None,
        },
        signature: OctetString::new(signature).map_err(der_err("signature"))?,
        unsigned_attrs: None,
    };
    let certificates = if req.cert_req {
        Some(CertificateSet(
            SetOfVec::try_from(vec![CertificateChoices::Certificate(cert)]).map_err(der_err("certificates"))?,
        ))
    } else {
        None // RFC 3161 §2.4.1: the certificate only when asked for
    };
    let signed_data = SignedData {
        version: CmsVersion::V3, // eContentType is not id-data
        digest_algorithms: SetOfVec::try_from(vec![sha256]).map_err(der_err("digest algorithms"))?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(
                Any::encode_from(&OctetString::new(tst_der).map_err(der_err("TSTInfo"))?)
                    .map_err(der_err("TSTInfo"))?,
            ),
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info]).map_err(der_err("signer infos"))?),
    };
    Ok(ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(der_err("SignedData"))?,
    })
}

fn granted(token: ContentInfo) -> Vec<u8> {
    let resp = TimeStampResp {
        status: PkiStatusInfo { status: PkiStatus::Accepted, status_string: None, fail_info: None },
        time_stamp_token: Some(token),
    };
    resp.to_der().unwrap_or_else(|_| rejection(PkiFailureInfoValues::SystemFailure, "encoding the response failed"))
}

fn rejection(fail: PkiFailureInfoValues, text: &str) -> Vec<u8> {
    let text = Utf8StringRef::new(text).ok();
    let resp = TimeStampResp {
        status: PkiStatusInfo {
            status: PkiStatus::Rejection,
            status_string: text.map(|t| vec![t]),
            fail_info: Some(PkiFailureInfo::from(fail)),
        },
        time_stamp_token: None,
    };
    // SEQUENCE { SEQUENCE { INTEGER 2 } }: a bare rejection, should encoding ever fail
    resp.to_der().unwrap_or_else(|_| vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02])
}

/// The time-stamp token (DER ContentInfo, what ASiC stores as `META-INF/timestamp.tst`) of a
/// granted TimeStampResp; a bare token is returned as it is.
pub fn token_of(response_or_token_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    match TimeStampResp::from_der(response_or_token_der) {
        Ok(resp) => resp
            .time_stamp_token
            .ok_or_else(|| PkiError::TimeStamp(format!("the TSA answered {:?} without a token", resp.status.status)))?
            .to_der()
            .map_err(|e| PkiError::Malformed(format!("time-stamp token: {e}"))),
        Err(_) => ContentInfo::from_der(response_or_token_der)
            .map(|_| response_or_token_der.to_vec())
            .map_err(|e| PkiError::Malformed(format!("neither a TimeStampResp nor a time-stamp token: {e}"))),
    }
}

/// Verifies a time-stamp — a whole TimeStampResp or a bare token (ContentInfo) — over
/// `expected_sha256` against the CA `ca_cert_der`: status granted; one signer, whose
/// certificate travels in the token, was issued by the CA with a critical EKU
/// id-kp-timeStamping and was valid at genTime; the signed attributes name id-ct-TSTInfo,
/// hold the TSTInfo's digest and the signer certificate's ESS hash; the signature
/// verifies; the message imprint is SHA-256 of the expected digest.
pub fn verify(
    response_or_token_der: &[u8],
    expected_sha256: &[u8; 32],
    ca_cert_der: &[u8],
) -> Result<TimeStampInfo, PkiError> {
    let ca = crate::parse_cert(ca_cert_der, "CA certificate")?;
    let token = match TimeStampResp::from_der(response_or_token_der) {
        Ok(resp) => {
            if !matches!(resp.status.status, PkiStatus::Accepted | PkiStatus::GrantedWithMods) {
                let text: Vec<&str> = resp.status.status_string.iter().flatten().map(|s| s.as_str()).collect();
                return Err(PkiError::TimeStamp(format!(
                    "the TSA answered {:?}{}{}",
                    resp.status.status,
                    if text.is_empty() { String::new() } else { format!(": {}", text.join("; ")) },
                    resp.status.fail_info.map(|f| format!(" (failInfo {:?})", f)).unwrap_or_default()
                )));
            }
            resp.time_stamp_token.ok_or_else(|| PkiError::Malformed("granted TimeStampResp without a token".into()))?
        }
        Err(_) => ContentInfo::from_der(response_or_token_der)
            .map_err(|e| PkiError::Malformed(format!("neither a TimeStampResp nor a time-stamp token: {e}")))?,
    };
    if token.content_type != ID_SIGNED_DATA {
        return Err(PkiError::Malformed(format!("token content type {} is not SignedData", token.content_type)));
    }
    let sd: SignedData = token.content.decode_as().map_err(der_err("SignedData"))?;
    if sd.encap_content_info.econtent_type != ID_CT_TST_INFO {
        return Err(PkiError::Malformed(format!(
            "token content {} is not a TSTInfo",
            sd.encap_content_info.econtent_type
        )));
    }
    let econtent =
        sd.encap_content_info.econtent.as_ref().ok_or_else(|| PkiError::Malformed("token without TSTInfo".into()))?;
    let tst_octets: OctetString = econtent.decode_as().map_err(der_err("TSTInfo"))?;
    let tst_der = tst_octets.as_bytes();
    let tst = TstInfo::from_der(tst_der).map_err(der_err("TSTInfo"))?;

    let [signer] = sd.signer_infos.0.as_slice() else {
        return Err(PkiError::Malformed(format!(
            "a token has exactly one signer, this one {}",
            sd.signer_infos.0.len()
        )));
    };
    // the signer's certificate, from the token
    let certs: Vec<Vec<u8>> = sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => c.to_der().ok(),
            CertificateChoices::Other(_) => None,
        })
        .collect();
    let (signer_der, signer_cert) = certs
        .iter()
        .filter_map(|der| crate::parse_cert(der, "certificate").ok().map(|c| (der, c)))
        .find(|(_, c)| match &signer.sid {
            SignerIdentifier::IssuerAndSerialNumber(ias) => {
                ias.issuer.to_der().is_ok_and(|n| n == c.issuer().as_raw())
                    && crate::serial_hex(ias.serial_number.as_bytes()) == crate::serial_hex(c.raw_serial())
            }
            SignerIdentifier::SubjectKeyIdentifier(ski) => c.extensions().iter().any(|e| {
                matches!(e.parsed_extension(), x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(k) if k.0 == ski.0.as_bytes())
            }),
        })
        .ok_or_else(|| PkiError::TimeStamp("the token does not carry its signer's certificate".into()))?;

    // signed attributes: content type, digest of the TSTInfo, ESS certificate identifier
    let attrs =
        signer.signed_attrs.as_ref().ok_or_else(|| PkiError::Malformed("token without signed attributes".into()))?;
    let attr = |oid: ObjectIdentifier| -> Option<&Any> {
        attrs.iter().find(|a| a.oid == oid).and_then(|a| a.values.iter().next())
    };
    let content_type: ObjectIdentifier = attr(ID_CONTENT_TYPE)
        .ok_or_else(|| PkiError::Malformed("token without content-type attribute".into()))?
        .decode_as()
        .map_err(der_err("content-type attribute"))?;
    if content_type != ID_CT_TST_INFO {
        return Err(PkiError::TimeStamp("the signed content type is not id-ct-TSTInfo".into()));
    }
    let digest_alg = HashAlg::from_oid(&signer.digest_alg.oid.to_string())
        .ok_or_else(|| PkiError::Malformed(format!("unsupported digest algorithm {}", signer.digest_alg.oid)))?;
    let message_digest: OctetString = attr(ID_MESSAGE_DIGEST)
        .ok_or_else(|| PkiError::Malformed("token without message-digest attribute".into()))?
        .decode_as()
        .map_err(der_err("message-digest attribute"))?;
    if message_digest.as_bytes() != digest_alg.digest(tst_der).as_slice() {
        return Err(PkiError::BadSignature);
    }
    let ess_hash_ok = if let Some(v2) = attr(ID_AA_SIGNING_CERTIFICATE_V2) {
        let sc: SigningCertificateV2 = v2.decode_as().map_err(der_err("signing-certificate-v2 attribute"))?;
        let first = sc.certs.first().ok_or_else(|| PkiError::Malformed("empty signing-certificate-v2".into()))?;
        let h = match &first.hash_algorithm {
            None => HashAlg::Sha256,
            Some(a) => HashAlg::from_oid(&a.oid.to_string())
                .ok_or_else(|| PkiError::Malformed(format!("unsupported ESS hash {}", a.oid)))?,
        };
        first.cert_hash.as_bytes() == h.digest(signer_der).as_slice()
    } else if let Some(v1) = attr(ID_AA_SIGNING_CERTIFICATE) {
        let sc: SigningCertificate = v1.decode_as().map_err(der_err("signing-certificate attribute"))?;
        let first = sc.certs.first().ok_or_else(|| PkiError::Malformed("empty signing-certificate".into()))?;
        first.cert_hash.as_bytes() == HashAlg::Sha1.digest(signer_der).as_slice()
    } else {
        return Err(PkiError::TimeStamp("the token has no ESS signing-certificate attribute".into()));
    };
    if !ess_hash_ok {
        return Err(PkiError::TimeStamp("the ESS signing-certificate attribute names another certificate".into()));
    }
    // the signature over the DER SET OF signed attributes
    let to_verify = attrs.to_der().map_err(der_err("signed attributes"))?;
    let mut sig_alg = signer.signature_algorithm.oid.to_string();
    if sig_alg == ID_EC_PUBLIC_KEY {
        // some TSAs name the key type only; the digest algorithm decides
        sig_alg = match digest_alg {
            HashAlg::Sha384 => "1.2.840.10045.4.3.3".into(),
            _ => "1.2.840.10045.4.3.2".into(),
        };
    }
    crate::verify_with_spki(&sig_alg, signer_cert.public_key(), &to_verify, signer.signature.as_bytes())?;

    // the TSA certificate: from our CA, for time-stamping, valid when it stamped
    crate::issued_by(&signer_cert, &ca).map_err(|e| PkiError::TimeStamp(format!("TSA certificate: {e}")))?;
    let eku = signer_cert
        .extended_key_usage()
        .ok()
        .flatten()
        .ok_or_else(|| PkiError::TimeStamp("the TSA certificate has no extended key usage".into()))?;
    if !eku.value.time_stamping || !eku.critical {
        return Err(PkiError::TimeStamp("the TSA certificate lacks a critical EKU id-kp-timeStamping".into()));
    }
    let gen_time = crate::unix_time(&tst.gen_time);
    let validity = signer_cert.validity();
    if gen_time < validity.not_before.timestamp() || gen_time > validity.not_after.timestamp() {
        return Err(PkiError::TimeStamp(format!("the TSA certificate was not valid at genTime {gen_time}")));
    }

    // and it is a time-stamp of the data we hold
    if tst.message_imprint.hash_algorithm.oid != HashAlg::Sha256.oid() {
        return Err(PkiError::TimeStamp(format!(
            "the message imprint uses {}, expected SHA-256",
            tst.message_imprint.hash_algorithm.oid
        )));
    }
    if tst.message_imprint.hashed_message.as_bytes() != expected_sha256 {
        return Err(PkiError::TimeStamp("the time-stamp is for other data (message imprint differs)".into()));
    }
    Ok(TimeStampInfo {
        gen_time,
        serial_hex: crate::serial_hex(tst.serial_number.as_bytes()),
        tsa_cert_der: signer_der.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Rng, openssl};
    use crate::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey};

    const POLICY: &str = "1.3.6.1.4.1.99999.1.1";

    struct Tsa {
        ca: CertificationAuthority,
        key: crate::keys::MessageSigner,
        cert: Vec<u8>,
    }

    fn tsa_of(ca: CertificationAuthority, profile: &CertProfile) -> Tsa {
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let cert = ca.issue(&key.certificate_request(profile).unwrap(), profile, 365).unwrap();
        Tsa { ca, key: key.signer().unwrap(), cert }
    }

    fn tsa() -> Tsa {
        tsa_of(
            CertificationAuthority::generate("AZ", "AZ Test CA").unwrap(),
            &CertProfile::TimeStamping("AZ Time-Stamping Authority".into()),
        )
    }

    fn digest(data: &[u8]) -> [u8; 32] {
        crate::cert_sha256(data)
    }

    fn status_of(resp: &[u8]) -> (PkiStatus, Option<PkiFailureInfo>) {
        let r = TimeStampResp::from_der(resp).unwrap();
        (r.status.status, r.status.fail_info)
    }

    #[test]
    fn request_is_a_valid_time_stamp_req() {
        let d = digest(b"batch");
        let der = request(&d);
        let req = TimeStampReq::from_der(&der).unwrap();
        assert_eq!(req.to_der().unwrap(), der, "canonical DER");
        assert_eq!(req.message_imprint.hashed_message.as_bytes(), d);
        assert!(req.cert_req);
        let nonce = req.nonce.unwrap();
        assert_eq!(nonce.as_bytes().len(), 8);
        assert!(nonce.as_bytes()[0] & 0x80 == 0, "positive");
        assert_ne!(request(&d), der, "a fresh nonce each time");
    }

    #[test]
    fn stamps_and_verifies_response_and_bare_token() {
        let t = tsa();
        let d = digest(b"message log batch 1");
        let now = crate::unix_now();
        let resp = stamp(&request(&d), &t.key, &t.cert, POLICY, 0x1234_5678_9abc_def0_1122_3344_5566_7788, now);
        assert_eq!(status_of(&resp).0, PkiStatus::Accepted);
        let info = verify(&resp, &d, t.ca.certificate_der()).unwrap();
        assert_eq!(info.gen_time, now);
        assert_eq!(info.serial_hex, "123456789abcdef01122334455667788");
        assert_eq!(info.tsa_cert_der, t.cert);
        let token = TimeStampResp::from_der(&resp).unwrap().time_stamp_token.unwrap().to_der().unwrap();
        assert_eq!(verify(&token, &d, t.ca.certificate_der()).unwrap(), info);
        // a serial with its top bit set stays positive
        let resp = stamp(&request(&d), &t.key, &t.cert, POLICY, u128::MAX, now);
        assert_eq!(verify(&resp, &d, t.ca.certificate_der()).unwrap().serial_hex, "f".repeat(32));
    }

    #[test]
    fn refuses_wrong_digest_foreign_tsa_and_wrong_profile() {
        let t = tsa();
        let d = digest(b"data");
        let now = crate::unix_now();
        let resp = stamp(&request(&d), &t.key, &t.cert, POLICY, 1, now);
        let wrong = verify(&resp, &digest(b"other data"), t.ca.certificate_der());
        assert!(matches!(&wrong, Err(PkiError::TimeStamp(m)) if m.contains("other data")), "{wrong:?}");

        // a TSA certificate from another CA
        let other = CertificationAuthority::generate("AZ", "AZ Test CA").unwrap();
        let foreign = verify(&resp, &d, other.certificate_der());
        assert!(matches!(&foreign, Err(PkiError::TimeStamp(m)) if m.contains("TSA certificate")), "{foreign:?}");

        // a certificate of the right CA but not for time-stamping
        let server: egov_xroad::SecurityServerId = "AZ/GOV/1400000001/ss1".parse().unwrap();
        let auth = tsa_of(CertificationAuthority::generate("AZ", "AZ Test CA").unwrap(), &CertProfile::Auth(server));
        let resp = stamp(&request(&d), &auth.key, &auth.cert, POLICY, 1, now);
        let refused = verify(&resp, &d, auth.ca.certificate_der());
        assert!(matches!(&refused, Err(PkiError::TimeStamp(m)) if m.contains("timeStamping")), "{refused:?}");

        // signed with a key that is not the certificate's
        let rogue = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap().signer().unwrap();
        let resp = stamp(&request(&d), &rogue, &t.cert, POLICY, 1, now);
        assert_eq!(verify(&resp, &d, t.ca.certificate_der()), Err(PkiError::BadSignature));
    }

    #[test]
    fn tampered_tokens_are_refused() {
        let t = tsa();
        let d = digest(b"data");
        let now = crate::unix_now();
        let resp = stamp(&request(&d), &t.key, &t.cert, POLICY, 7, now);
        // change genTime by one second: the digest in the signed attributes no longer matches
        let time = crate::generalized_time(now).unwrap().to_der().unwrap();
        let at = resp.windows(time.len()).position(|w| w == time.as_slice()).unwrap();
        let mut m = resp.clone();
        m[at + time.len() - 2] = if m[at + time.len() - 2] == b'0' { b'1' } else { b'0' };
        assert_eq!(verify(&m, &d, t.ca.certificate_der()), Err(PkiError::BadSignature));
        let mut rng = Rng(42);
        for _ in 0..600 {
            let mut m = resp.clone();
            let i = (rng.next() as usize) % m.len();
            m[i] ^= 1 << (rng.next() % 8);
            // any flip inside the signed content, the signature or the certificate must be caught;
            // a flip can only ever go unnoticed in unsigned, unused bytes (none here but the
            // statusString / order of certificates, which we do not read)
            let _ = verify(&m, &d, t.ca.certificate_der());
        }
        for cut in 0..resp.len() {
            assert!(verify(&resp[..cut], &d, t.ca.certificate_der()).is_err());
        }
    }

    #[test]
    fn refuses_bad_requests_with_the_right_fail_info() {
        let t = tsa();
        let now = crate::unix_now();
        let d = digest(b"x");

        let garbage = stamp(b"not DER", &t.key, &t.cert, POLICY, 1, now);
        assert_eq!(status_of(&garbage), (PkiStatus::Rejection, Some(PkiFailureInfoValues::BadDataFormat.into())));
        let err = verify(&garbage, &d, t.ca.certificate_der());
        assert!(matches!(&err, Err(PkiError::TimeStamp(m)) if m.contains("Rejection")), "{err:?}");

        let mut sha1 = request(&d);
        // swap the SHA-256 OID for SHA-1 (…65 03 04 02 01 → 2b 0e 03 02 1a is shorter; rebuild instead)
        let req = TimeStampReq {
            version: TspVersion::V1,
            message_imprint: MessageImprint {
                hash_algorithm: spki::AlgorithmIdentifier { oid: HashAlg::Sha1.oid(), parameters: None },
                hashed_message: OctetString::new(&d[..20]).unwrap(),
            },
            req_policy: None,
            nonce: None,
            cert_req: true,
            extensions: None,
        };
        sha1.clear();
        req.encode_to_vec(&mut sha1).unwrap();
        let resp = stamp(&sha1, &t.key, &t.cert, POLICY, 1, now);
        assert_eq!(status_of(&resp), (PkiStatus::Rejection, Some(PkiFailureInfoValues::BadAlg.into())));

        let mut short = req.clone();
        short.message_imprint.hash_algorithm.oid = HashAlg::Sha256.oid();
        let resp = stamp(&short.to_der().unwrap(), &t.key, &t.cert, POLICY, 1, now);
        assert_eq!(status_of(&resp), (PkiStatus::Rejection, Some(PkiFailureInfoValues::BadDataFormat.into())));

        let mut policy = TimeStampReq::from_der(&request(&d)).unwrap();
        policy.req_policy = Some(ObjectIdentifier::new_unwrap("1.2.3.4"));
        let resp = stamp(&policy.to_der().unwrap(), &t.key, &t.cert, POLICY, 1, now);
        assert_eq!(status_of(&resp), (PkiStatus::Rejection, Some(PkiFailureInfoValues::UnacceptedPolicy.into())));
        policy.req_policy = Some(ObjectIdentifier::new_unwrap(POLICY));
        let resp = stamp(&policy.to_der().unwrap(), &t.key, &t.cert, POLICY, 1, now);
        assert_eq!(status_of(&resp).0, PkiStatus::Accepted);

        // without certReq the token carries no certificate, and so cannot be verified alone
        let mut no_cert = TimeStampReq::from_der(&request(&d)).unwrap();
        no_cert.cert_req = false;
        let resp = stamp(&no_cert.to_der().unwrap(), &t.key, &t.cert, POLICY, 1, now);
        assert_eq!(status_of(&resp).0, PkiStatus::Accepted);
        assert!(matches!(verify(&resp, &d, t.ca.certificate_der()), Err(PkiError::TimeStamp(_))));

        let resp = stamp(&request(&d), &t.key, b"not a certificate", POLICY, 1, now);
        assert_eq!(status_of(&resp), (PkiStatus::Rejection, Some(PkiFailureInfoValues::SystemFailure.into())));
    }

    #[test]
    fn random_input_never_panics() {
        let t = tsa();
        let d = digest(b"x");
        let now = crate::unix_now();
        let mut rng = Rng(7);
        for _ in 0..2000 {
            let junk = rng.bytes(300);
            assert!(verify(&junk, &d, t.ca.certificate_der()).is_err());
            assert!(verify(&request(&d), &d, &junk).is_err());
            let resp = stamp(&junk, &t.key, &t.cert, POLICY, 1, now);
            assert_eq!(status_of(&resp).0, PkiStatus::Rejection);
        }
        let req = request(&d);
        for cut in 0..req.len() {
            let resp = stamp(&req[..cut], &t.key, &t.cert, POLICY, 1, now);
            assert_eq!(status_of(&resp).0, PkiStatus::Rejection);
        }
    }

    #[test]
    fn openssl_verifies_our_tokens_and_we_stamp_its_requests() {
        let t = tsa();
        let data = b"the message log batch";
        let d = digest(data);
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
        write("ca.pem", t.ca.certificate_pem().as_bytes());
        write("data.bin", data);
        write("req.tsq", &request(&d));
        write("resp.tsr", &stamp(&request(&d), &t.key, &t.cert, POLICY, 99, crate::unix_now()));
        let Some((ok, out)) = openssl(dir.path(), &["ts", "-query", "-in", "req.tsq", "-text"]) else { return };
        assert!(ok && out.contains("Certificate required: yes"), "{out}");
        let (ok, out) = openssl(dir.path(), &["ts", "-reply", "-in", "resp.tsr", "-text"]).unwrap();
        eprintln!("openssl ts -reply -text said:\n{out}");
        assert!(ok && out.contains("Status: Granted.") && out.contains(&format!("Policy OID: {POLICY}")), "{out}");
        let (ok, out) =
            openssl(dir.path(), &["ts", "-verify", "-in", "resp.tsr", "-digest", &hex, "-CAfile", "ca.pem"]).unwrap();
        eprintln!("openssl ts -verify -digest said: {out}");
        assert!(ok && out.contains("Verification: OK"), "{out}");
        let (ok, out) =
            openssl(dir.path(), &["ts", "-verify", "-in", "resp.tsr", "-data", "data.bin", "-CAfile", "ca.pem"])
                .unwrap();
        assert!(ok && out.contains("Verification: OK"), "{out}");
        // and it refuses a token for other data, as we do
        write("other.bin", b"other");
        let (ok, out) =
            openssl(dir.path(), &["ts", "-verify", "-in", "resp.tsr", "-data", "other.bin", "-CAfile", "ca.pem"])
                .unwrap();
        assert!(!ok || !out.contains("Verification: OK"), "{out}");

        // a request made by OpenSSL (its own nonce, SHA-512) is stamped and verifies there
        let (ok, out) =
            openssl(dir.path(), &["ts", "-query", "-data", "data.bin", "-sha512", "-cert", "-out", "theirs.tsq"])
                .unwrap();
        assert!(ok, "{out}");
        let theirs = std::fs::read(dir.path().join("theirs.tsq")).unwrap();
        write("theirs.tsr", &stamp(&theirs, &t.key, &t.cert, POLICY, 100, crate::unix_now()));
        let (ok, out) = openssl(
            dir.path(),
            &["ts", "-verify", "-in", "theirs.tsr", "-queryfile", "theirs.tsq", "-CAfile", "ca.pem"],
        )
        .unwrap();
        assert!(ok && out.contains("Verification: OK"), "{out}");
    }
}
