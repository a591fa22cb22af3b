//! The one error type of this crate.

/// Why a key, certificate, CSR or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// Bytes that do not parse as what they claim to be.
    #[error("malformed input: {0}")]
    Malformed(String),
    /// Key generation or loading failed.
    #[error("key error: {0}")]
    Key(String),
    /// A CSR the CA will not sign (bad signature, wrong identity, unsupported content).
    #[error("certificate request refused: {0}")]
    CsrRejected(String),
    /// The certificate was not issued by a trusted CA.
    #[error("certificate is not issued by a trusted Certification Centre: {0}")]
    UntrustedIssuer(String),
    /// The certificate is outside its validity period.
    #[error("certificate is not valid at this time ({0})")]
    NotValidNow(String),
    /// The certificate has been revoked.
    #[error("certificate {0} has been revoked")]
    Revoked(String),
    /// The certificate exists for another purpose or identity.
    #[error("certificate profile mismatch: {0}")]
    WrongProfile(String),
    /// A signature does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// An OCSP response that cannot be relied on: not successful, signed by a responder the
    /// CA did not authorise, stale, or from the future (TT-2.3).
    #[error("OCSP response refused: {0}")]
    Ocsp(String),
    /// A time-stamp that cannot be relied on: refused by the TSA, not for the expected data,
    /// or from a TSA certificate the CA did not issue for time-stamping (TT-6.3).
    #[error("time-stamp refused: {0}")]
    TimeStamp(String),
}
