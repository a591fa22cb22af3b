//! How a TLS client of this platform decides that the server at the other end is the one it
//! meant to reach (TT-2.2.4, TT-6.3): never by host name or DNS, always by what the
//! Certification Centre issued — the certificate registered for that security server
//! (pinned by hash, chained to the CA, unrevoked, of that server's profile), the operator's
//! central server (its profile), or one certificate pinned by hash (the operator's
//! credentials for the admin API). Only TLS 1.3 is used.

use std::sync::Arc;

use egov_xroad::SecurityServerId;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::{CertProfile, TrustStore};

/// Whom a connection is meant to reach.
#[derive(Debug, Clone)]
pub enum ExpectedPeer {
    /// A security server, by id and the SHA-256 of its registered authentication certificate.
    SecurityServer {
        /// Its id.
        server: SecurityServerId,
        /// SHA-256 of its registered authentication certificate.
        pin: [u8; 32],
    },
    /// The operator's central server (certificate profile `central-server`).
    CentralServer,
    /// Exactly the certificate with this SHA-256, whoever issued it.
    Pinned([u8; 32]),
}

/// A rustls server-certificate verifier for [`ExpectedPeer`].
#[derive(Debug)]
pub struct PeerVerifier {
    trusted: Option<(Arc<RootCertStore>, Arc<TrustStore>)>,
    expect: ExpectedPeer,
    algorithms: WebPkiSupportedAlgorithms,
}

impl PeerVerifier {
    /// A peer whose certificate must chain to a CA of `trust` (and pass its validity,
    /// revocation and profile checks) and be `expect`.
    pub fn trusted(trust: Arc<TrustStore>, expect: ExpectedPeer) -> Result<Self, rustls::Error> {
        let mut roots = RootCertStore::empty();
        for ca in trust.ca_certs() {
            roots.add(CertificateDer::from(ca.clone()))?;
        }
        Ok(Self { trusted: Some((Arc::new(roots), trust)), expect, algorithms: algorithms() })
    }

    /// A peer presenting exactly the certificate whose SHA-256 is `pin`.
    pub fn pinned(pin: [u8; 32]) -> Self {
        Self { trusted: None, expect: ExpectedPeer::Pinned(pin), algorithms: algorithms() }
    }
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
}

fn refuse(msg: impl Into<String>) -> rustls::Error {
    rustls::Error::General(msg.into())
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let profile = match &self.trusted {
            Some((roots, trust)) => {
                let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_cert_signed_by_trust_anchor(
                    &cert,
                    roots,
                    intermediates,
                    now,
                    self.algorithms.all,
                )?;
                let verified = trust
                    .verify(end_entity, now.as_secs() as i64)
                    .map_err(|e| refuse(format!("the peer's certificate: {e}")))?;
                Some(verified.profile.clone())
            }
            None => None,
        };
        let hash = crate::cert_sha256(end_entity);
        match (&self.expect, profile) {
            (ExpectedPeer::SecurityServer { server, pin }, Some(profile)) => {
                if hash != *pin {
                    return Err(refuse(
                        "the peer's certificate is not the authentication certificate registered for that security \
                         server",
                    ));
                }
                if profile != CertProfile::Auth(server.clone()) {
                    return Err(refuse(format!("the peer's certificate is not issued to {server}")));
                }
            }
            (ExpectedPeer::CentralServer, Some(CertProfile::CentralServer(_))) => {}
            (ExpectedPeer::CentralServer, _) => return Err(refuse("the peer is not the operator's central server")),
            (ExpectedPeer::Pinned(pin), _) => {
                if hash != *pin {
                    return Err(refuse("the peer's certificate is not the pinned one (pin mismatch)"));
                }
            }
            (ExpectedPeer::SecurityServer { .. }, None) => {
                return Err(refuse("a security server is verified against the Certification Centre"));
            }
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(refuse("TLS 1.2 is not used on this platform"))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
