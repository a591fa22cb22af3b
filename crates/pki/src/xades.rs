//! Message signatures as XAdES documents (TT-2.2.1, TT-2.2.2): what a security server signs
//! is an XML-DSig `SignedInfo`, so the stored evidence of an exchange is a standard signature
//! that any XML-DSig tool (e.g. `xmlsec1`) verifies — the `META-INF/signatures.xml` of
//! X-Road's ASiC-E layout (shared/reference/xroad-protocol.md §5, §6).
//!
//! Why XML-DSig on the wire at all: the transport between security servers is our own
//! (shared/DESIGN.md decision 3), but the message log must hold a signature an auditor can
//! check without our software. Signing the canonical `SignedInfo` directly costs one string
//! format per batch and makes the wire signature and the archived one the same bytes.
//!
//! Shape (one `ds:Signature`, exclusive canonicalisation, SHA-256 digests):
//! - reference 1: `/sig-hashchainresult.xml` — a small XML file naming the batch root
//!   (X-Road's batch-signature form; a batch of one is a tree of one leaf);
//! - reference 2: `#signed-properties` — XAdES `SigningTime` and `SigningCertificateV2`;
//! - unsigned: the stapled OCSP response (`RevocationValues`).
//!
//! Every XML text here is produced directly in its canonical form (no whitespace between
//! elements, explicit end tags, namespaces where exclusive C14N renders them), so the bytes
//! we hash and sign are what a C14N implementation computes from the document. The verifier
//! rebuilds those bytes from the values it reads and never canonicalises untrusted XML.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::batch::ProofStep;

use crate::{KeyAlgorithm, PkiError};

/// Namespace of XML-DSig.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Namespace of XAdES 1.3.2.
pub const NS_XADES: &str = "http://uri.etsi.org/01903/v1.3.2#";
/// Namespace of ASiC signature containers.
pub const NS_ASIC: &str = "http://uri.etsi.org/02918/v1.2.1#";
/// Namespace of X-Road's hash chains.
pub const NS_HASHCHAIN: &str = "http://cyber.ee/hashchain";
/// Exclusive XML canonicalisation.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// SHA-256 as an XML digest method.
pub const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
/// Name of the batch-root file in a container.
pub const SIG_HASHCHAIN_RESULT: &str = "/sig-hashchainresult.xml";
/// Id of the hash-chain reference.
const HASHCHAIN_REF_ID: &str = "hashchain-ref";

/// XML-DSig signature method of a key algorithm.
pub fn signature_method(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::EcdsaP256 => "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
        // RFC 9231
        KeyAlgorithm::Ed25519 => "http://www.w3.org/2021/04/xmldsig-more#eddsa-ed25519",
    }
}

fn algorithm_of_method(uri: &str) -> Option<KeyAlgorithm> {
    [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519].into_iter().find(|a| signature_method(*a) == uri)
}

/// SHA-256.
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref());
    out
}

/// `SigningTime` of a signature made at `unix_ms`: UTC, millisecond precision.
pub fn signing_time(unix_ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(unix_ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A `SigningTime` is accepted only in the form [`signing_time`] writes, so the signed bytes
/// can be rebuilt exactly; returns it as milliseconds since the Unix epoch.
pub fn parse_signing_time(text: &str) -> Result<i64, PkiError> {
    let bad = || PkiError::Malformed(format!("signing time {:?} is not of the form 2026-01-31T12:00:00.000Z", text));
    let t = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|_| bad())?;
    let ms = (t.unix_timestamp_nanos() / 1_000_000) as i64;
    if signing_time(ms) != text {
        return Err(bad());
    }
    Ok(ms)
}

/// The batch-root file (`/sig-hashchainresult.xml`): the root of the hash tree whose leaves
/// are the messages signed together.
pub fn hashchain_result(root: &[u8; 32]) -> String {
    format!(
        "<hashchain:HashChainResult xmlns:hashchain=\"{NS_HASHCHAIN}\" URI=\"/sig-hashchain.xml#STEP0\">\
<ds:DigestMethod xmlns:ds=\"{NS_DS}\" Algorithm=\"{SHA256}\"></ds:DigestMethod>\
<ds:DigestValue xmlns:ds=\"{NS_DS}\">{}</ds:DigestValue></hashchain:HashChainResult>",
        STANDARD.encode(root)
    )
}

/// Canonical `xades:SignedProperties`.
pub fn signed_properties(signing_time: &str, cert_sha256: &[u8; 32]) -> String {
    format!(
        "<xades:SignedProperties xmlns:xades=\"{NS_XADES}\" Id=\"signed-properties\">\
<xades:SignedSignatureProperties><xades:SigningTime>{signing_time}</xades:SigningTime>\
<xades:SigningCertificateV2><xades:Cert><xades:CertDigest>\
<ds:DigestMethod xmlns:ds=\"{NS_DS}\" Algorithm=\"{SHA256}\"></ds:DigestMethod>\
<ds:DigestValue xmlns:ds=\"{NS_DS}\">{}</ds:DigestValue>\
</xades:CertDigest></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties>\
<xades:SignedDataObjectProperties><xades:DataObjectFormat ObjectReference=\"#{HASHCHAIN_REF_ID}\">\
<xades:MimeType>text/xml</xades:MimeType></xades:DataObjectFormat></xades:SignedDataObjectProperties>\
</xades:SignedProperties>",
        STANDARD.encode(cert_sha256)
    )
}

/// What a signature covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed<'a> {
    /// Key algorithm of the signer.
    pub algorithm: KeyAlgorithm,
    /// Root of the batch hash tree.
    pub root: &'a [u8; 32],
    /// `SigningTime` (see [`signing_time`]).
    pub signing_time: &'a str,
    /// SHA-256 of the signer's certificate.
    pub cert_sha256: &'a [u8; 32],
}

impl Signed<'_> {
    /// The canonical `ds:SignedInfo`: the bytes the private key signs.
    pub fn signed_info(&self) -> String {
        format!(
            "<ds:SignedInfo xmlns:ds=\"{NS_DS}\">\
<ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"></ds:CanonicalizationMethod>\
<ds:SignatureMethod Algorithm=\"{}\"></ds:SignatureMethod>\
<ds:Reference Id=\"{HASHCHAIN_REF_ID}\" URI=\"{SIG_HASHCHAIN_RESULT}\">\
<ds:DigestMethod Algorithm=\"{SHA256}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference>\
<ds:Reference Type=\"http://uri.etsi.org/01903#SignedProperties\" URI=\"#signed-properties\">\
<ds:Transforms><ds:Transform Algorithm=\"{EXC_C14N}\"></ds:Transform></ds:Transforms>\
<ds:DigestMethod Algorithm=\"{SHA256}\"></ds:DigestMethod><ds:DigestValue>{}</ds:DigestValue></ds:Reference>\
</ds:SignedInfo>",
            signature_method(self.algorithm),
            STANDARD.encode(sha256(hashchain_result(self.root).as_bytes())),
            STANDARD.encode(sha256(signed_properties(self.signing_time, self.cert_sha256).as_bytes())),
        )
    }

    /// The whole `META-INF/signatures.xml` for a signature `value` (XML-DSig form: raw r‖s
    /// for ECDSA) by `cert_der`, with the signer's stapled OCSP response if any.
    pub fn document(&self, value: &[u8], cert_der: &[u8], ocsp_der: Option<&[u8]>) -> String {
        let revocation = ocsp_der.map_or(String::new(), |ocsp| {
            format!(
                "<xades:UnsignedProperties><xades:UnsignedSignatureProperties><xades:RevocationValues>\
<xades:OCSPValues><xades:EncapsulatedOCSPValue>{}</xades:EncapsulatedOCSPValue></xades:OCSPValues>\
</xades:RevocationValues></xades:UnsignedSignatureProperties></xades:UnsignedProperties>",
                STANDARD.encode(ocsp)
            )
        });
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
<asic:XAdESSignatures xmlns:asic=\"{NS_ASIC}\" xmlns:ds=\"{NS_DS}\" xmlns:xades=\"{NS_XADES}\">\
<ds:Signature Id=\"signature\">{}<ds:SignatureValue Id=\"signature-value\">{}</ds:SignatureValue>\
<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>\
<ds:Object><xades:QualifyingProperties Target=\"#signature\">{}{revocation}</xades:QualifyingProperties>\
</ds:Object></ds:Signature></asic:XAdESSignatures>\n",
            self.signed_info(),
            STANDARD.encode(value),
            STANDARD.encode(cert_der),
            signed_properties(self.signing_time, self.cert_sha256),
        )
    }
}

/// A signature as it travels between security servers (the signature frame of the transport
/// message, docs/transport.md) and as the message log stores it: everything needed to
/// rebuild `signatures.xml` for one message of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureBlock {
    /// `ed25519` or `ecdsa-p256-sha256`.
    pub algorithm: String,
    /// The signer's certificate (DER, base64).
    pub certificate: String,
    /// Path from this message's leaf to the signed batch root (empty: batch of one).
    pub proof: Vec<ProofStep>,
    /// Signature over the XAdES `SignedInfo` naming the batch root (egov_pki::xades), base64;
    /// ECDSA as raw r‖s.
    pub value: String,
    /// XAdES `SigningTime` of the batch, e.g. `2026-01-31T12:00:00.000Z`; signed.
    pub signing_time: String,
    /// The signer's stapled OCSP response (DER, base64) about its signing and
    /// authentication certificates, when the federation runs an OCSP responder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<String>,
}

impl SignatureBlock {
    /// The key algorithm named by `algorithm`.
    pub fn key_algorithm(&self) -> Result<KeyAlgorithm, PkiError> {
        [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519]
            .into_iter()
            .find(|a| a.name() == self.algorithm)
            .ok_or_else(|| PkiError::Malformed(format!("unknown signature algorithm {:?}", self.algorithm)))
    }

    /// The batch root this block signs for the message whose transport digest is `digest`.
    pub fn root(&self, digest: &[u8; 32]) -> Result<[u8; 32], PkiError> {
        if self.proof.len() > 32 {
            return Err(PkiError::Malformed("batch proof is too long".into()));
        }
        crate::batch::root_from_proof(digest, &self.proof).ok_or(PkiError::Malformed("bad batch proof".into()))
    }

    /// `META-INF/signatures.xml` of the message whose transport digest is `digest`.
    pub fn document(&self, digest: &[u8; 32]) -> Result<String, PkiError> {
        let b64 =
            |s: &str, what: &str| STANDARD.decode(s).map_err(|e| PkiError::Malformed(format!("signature {what}: {e}")));
        let certificate = b64(&self.certificate, "certificate")?;
        let value = b64(&self.value, "value")?;
        let ocsp = self.ocsp.as_deref().map(|o| b64(o, "OCSP response")).transpose()?;
        let root = self.root(digest)?;
        let signed = Signed {
            algorithm: self.key_algorithm()?,
            root: &root,
            signing_time: &self.signing_time,
            cert_sha256: &crate::cert_sha256(&certificate),
        };
        Ok(signed.document(&value, &certificate, ocsp.as_deref()))
    }
}

/// What [`parse_document`] reads from a `signatures.xml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedSignature {
    /// Key algorithm named by the signature method.
    pub algorithm: KeyAlgorithm,
    /// `SigningTime`.
    pub signing_time: String,
    /// Signature value (XML-DSig form).
    pub value: Vec<u8>,
    /// Signer's certificate.
    pub certificate: Vec<u8>,
    /// Stapled OCSP response.
    pub ocsp: Option<Vec<u8>>,
    /// Digest the document gives for `/sig-hashchainresult.xml`.
    pub hashchain_result_digest: Vec<u8>,
}

/// Reads a `signatures.xml` written by [`Signed::document`]. Only values are taken; checking
/// them is [`verify_document`]'s job.
pub fn parse_document(xml: &str) -> Result<ParsedSignature, PkiError> {
    let bad = |m: &str| PkiError::Malformed(format!("signatures.xml: {m}"));
    let doc = roxmltree::Document::parse(xml).map_err(|e| bad(&e.to_string()))?;
    let find = |ns: &str, name: &str| doc.descendants().find(|n| n.has_tag_name((ns, name)));
    let text = |ns: &str, name: &str| -> Result<String, PkiError> {
        Ok(find(ns, name).ok_or_else(|| bad(&format!("no {name}")))?.text().unwrap_or("").trim().to_owned())
    };
    let b64 = |s: String, what: &str| -> Result<Vec<u8>, PkiError> {
        STANDARD.decode(s.split_whitespace().collect::<String>()).map_err(|e| bad(&format!("{what}: {e}")))
    };
    if doc.descendants().filter(|n| n.has_tag_name((NS_DS, "Signature"))).count() != 1 {
        return Err(bad("expected exactly one ds:Signature"));
    }
    let method = find(NS_DS, "SignatureMethod").and_then(|n| n.attribute("Algorithm")).unwrap_or("");
    let algorithm =
        algorithm_of_method(method).ok_or_else(|| bad(&format!("unsupported signature method {method:?}")))?;
    let hashchain_ref = doc
        .descendants()
        .find(|n| n.has_tag_name((NS_DS, "Reference")) && n.attribute("URI") == Some(SIG_HASHCHAIN_RESULT))
        .ok_or_else(|| bad("no reference to /sig-hashchainresult.xml"))?;
    let digest = hashchain_ref
        .descendants()
        .find(|n| n.has_tag_name((NS_DS, "DigestValue")))
        .and_then(|n| n.text())
        .unwrap_or("")
        .to_owned();
    Ok(ParsedSignature {
        algorithm,
        signing_time: text(NS_XADES, "SigningTime")?,
        value: b64(text(NS_DS, "SignatureValue")?, "SignatureValue")?,
        certificate: b64(text(NS_DS, "X509Certificate")?, "X509Certificate")?,
        ocsp: match find(NS_XADES, "EncapsulatedOCSPValue") {
            Some(n) => Some(b64(n.text().unwrap_or("").to_owned(), "EncapsulatedOCSPValue")?),
            None => None,
        },
        hashchain_result_digest: b64(digest, "hash chain digest")?,
    })
}

/// Verifies a `signatures.xml` over the batch root `root` with the signer's public key:
/// the document must be exactly what the signer's values produce (so what `xmlsec1` checks
/// and what we check are the same bytes), and the signature value must verify.
pub fn verify_document(xml: &str, root: &[u8; 32], public_key: &[u8]) -> Result<ParsedSignature, PkiError> {
    let parsed = parse_document(xml)?;
    parse_signing_time(&parsed.signing_time)?;
    let cert_sha256 = crate::cert_sha256(&parsed.certificate);
    let signed =
        Signed { algorithm: parsed.algorithm, root, signing_time: &parsed.signing_time, cert_sha256: &cert_sha256 };
    if parsed.hashchain_result_digest != sha256(hashchain_result(root).as_bytes()) {
        return Err(PkiError::Malformed("signatures.xml is for another batch root".into()));
    }
    if signed.document(&parsed.value, &parsed.certificate, parsed.ocsp.as_deref()) != xml {
        return Err(PkiError::Malformed("signatures.xml is not in canonical egov form (altered?)".into()));
    }
    verify_value(parsed.algorithm, public_key, signed.signed_info().as_bytes(), &parsed.value)?;
    Ok(parsed)
}

/// Verifies an XML-DSig signature value (ECDSA as raw r‖s).
pub fn verify_value(
    algorithm: KeyAlgorithm,
    public_key: &[u8],
    signed_info: &[u8],
    value: &[u8],
) -> Result<(), PkiError> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, ED25519, UnparsedPublicKey};
    let result = match algorithm {
        KeyAlgorithm::Ed25519 => UnparsedPublicKey::new(&ED25519, public_key).verify(signed_info, value),
        KeyAlgorithm::EcdsaP256 => {
            UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key).verify(signed_info, value)
        }
    };
    result.map_err(|_| PkiError::BadSignature)
}

/// Converts a DER `Ecdsa-Sig-Value` (what the signer produces) to XML-DSig's raw r‖s.
pub fn ecdsa_der_to_fixed(der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let bad = || PkiError::Malformed("ECDSA signature is not a DER SEQUENCE of two INTEGERs".into());
    let (seq, rest) = der_tlv(der, 0x30).ok_or_else(bad)?;
    if !rest.is_empty() {
        return Err(bad());
    }
    let (r, after_r) = der_tlv(seq, 0x02).ok_or_else(bad)?;
    let (s, after_s) = der_tlv(after_r, 0x02).ok_or_else(bad)?;
    if !after_s.is_empty() {
        return Err(bad());
    }
    let mut out = Vec::with_capacity(64);
    for int in [r, s] {
        let int = match int {
            [0, rest @ ..] => rest,
            other => other,
        };
        if int.len() > 32 {
            return Err(bad());
        }
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
    }
    Ok(out)
}

/// One DER TLV with a short or one-byte long length: (contents, rest).
fn der_tlv(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = bytes.split_first()?;
    if t != tag {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = match len {
        0..=0x7f => (len as usize, rest),
        0x81 => {
            let (&l, rest) = rest.split_first()?;
            (l as usize, rest)
        }
        _ => return None,
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PrivateKey;

    fn sign(alg: KeyAlgorithm) -> (String, [u8; 32], Vec<u8>) {
        let key = PrivateKey::generate(alg).unwrap();
        let signer = key.signer().unwrap();
        let root = sha256(b"root");
        let cert = b"not really a certificate".to_vec();
        let time = signing_time(1_767_225_600_123);
        let signed =
            Signed { algorithm: alg, root: &root, signing_time: &time, cert_sha256: &crate::cert_sha256(&cert) };
        let mut value = signer.sign(signed.signed_info().as_bytes()).unwrap();
        if alg == KeyAlgorithm::EcdsaP256 {
            value = ecdsa_der_to_fixed(&value).unwrap();
        }
        (signed.document(&value, &cert, Some(b"ocsp")), root, signer.public_key())
    }

    #[test]
    fn documents_verify_and_alterations_are_named() {
        for alg in [KeyAlgorithm::EcdsaP256, KeyAlgorithm::Ed25519] {
            let (xml, root, public) = sign(alg);
            let parsed = verify_document(&xml, &root, &public).unwrap();
            assert_eq!(parsed.signing_time, "2026-01-01T00:00:00.123Z");
            assert_eq!(parsed.ocsp.as_deref(), Some(&b"ocsp"[..]));
            assert!(verify_document(&xml, &sha256(b"other"), &public).unwrap_err().to_string().contains("another"));
            let altered = xml.replace("00:00:00.123Z", "00:00:01.123Z");
            assert!(verify_document(&altered, &root, &public).unwrap_err().to_string().contains("altered"));
            let parsed = parse_document(&xml).unwrap();
            let mut value = parsed.value.clone();
            value[5] ^= 1;
            let cert_sha256 = crate::cert_sha256(&parsed.certificate);
            let signed =
                Signed { algorithm: alg, root: &root, signing_time: &parsed.signing_time, cert_sha256: &cert_sha256 };
            let forged = signed.document(&value, &parsed.certificate, parsed.ocsp.as_deref());
            assert_eq!(verify_document(&forged, &root, &public), Err(PkiError::BadSignature));
        }
    }

    #[test]
    fn signing_times_round_trip_only_in_canonical_form() {
        assert_eq!(parse_signing_time("2026-01-01T00:00:00.123Z").unwrap(), 1_767_225_600_123);
        assert!(parse_signing_time("2026-01-01T00:00:00Z").is_err());
        assert!(parse_signing_time("yesterday").is_err());
    }

    #[test]
    fn der_to_fixed_pads_and_strips() {
        let der = [0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x02, 0x02, 0x01, 0x02];
        let fixed = ecdsa_der_to_fixed(&der).unwrap();
        assert_eq!(fixed.len(), 64);
        assert_eq!((fixed[31], fixed[62], fixed[63]), (0x80, 0x01, 0x02));
        assert!(ecdsa_der_to_fixed(&der[..5]).is_err());
    }
}
