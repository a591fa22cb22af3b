//! Mutual TLS 1.3 between security servers (TT-2.2.4, TT-6.3).
//!
//! Both sides present their authentication certificate issued by the Certification Centre.
//! The accepting side requires a client certificate chaining to the CA and then looks its
//! hash up in the federation directory; the connecting side accepts only the one
//! certificate registered for the server it meant to reach (hash pinning on top of the CA
//! chain), so neither host names nor DNS are trusted.

use std::sync::Arc;

use egov_pki::{CertProfile, PrivateKey, TrustStore};
use egov_xroad::SecurityServerId;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A security server's keys and certificates.
#[derive(Debug, Clone)]
pub struct ServerKeys {
    /// Authentication (TLS) key.
    pub auth_key: PrivateKey,
    /// Authentication certificate (DER).
    pub auth_cert: Vec<u8>,
    /// Signing key.
    pub sign_key: PrivateKey,
    /// Signing certificate (DER).
    pub sign_cert: Vec<u8>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(ca_certs: &[Vec<u8>]) -> Result<RootCertStore, rustls::Error> {
    let mut roots = RootCertStore::empty();
    for ca in ca_certs {
        roots.add(CertificateDer::from(ca.clone()))?;
    }
    Ok(roots)
}

fn key_der(key: &PrivateKey) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der().to_vec()))
}

/// TLS configuration of the peer-facing listener: client certificates from the CA required.
pub fn server_config(keys: &ServerKeys, ca_certs: &[Vec<u8>]) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca_certs)?), provider())
        .build()
        .map_err(|e| rustls::Error::General(e.to_string()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(keys.auth_cert.clone())], key_der(&keys.auth_key))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// TLS configuration for connecting to security server `server`, whose registered
/// authentication certificate has SHA-256 `expected`.
pub fn client_config(
    keys: &ServerKeys,
    trust: Arc<TrustStore>,
    server: SecurityServerId,
    expected: [u8; 32],
) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = provider();
    let verifier = PinnedPeerVerifier {
        roots: Arc::new(roots(trust.ca_certs())?),
        trust,
        expect: Expect::SecurityServer { server, pin: expected },
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(vec![CertificateDer::from(keys.auth_cert.clone())], key_der(&keys.auth_key))?;
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

/// TLS configuration for calling the central server's admin listener (incident reports,
/// TT-6.8) with this server's authentication certificate; the central server must present a
/// certificate of the central-server profile from the Certification Centre.
pub fn central_client_config(
    keys: &ServerKeys,
    trust: Arc<TrustStore>,
) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = provider();
    let verifier = PinnedPeerVerifier {
        roots: Arc::new(roots(trust.ca_certs())?),
        trust,
        expect: Expect::CentralServer,
        algorithms: provider.signature_verification_algorithms,
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(vec![CertificateDer::from(keys.auth_cert.clone())], key_der(&keys.auth_key))?;
    Ok(Arc::new(config))
}

/// Whom a connection is meant to reach.
#[derive(Debug)]
enum Expect {
    /// A security server, by id and registered certificate hash.
    SecurityServer {
        /// Its id.
        server: SecurityServerId,
        /// SHA-256 of its registered authentication certificate.
        pin: [u8; 32],
    },
    /// The operator's central server.
    CentralServer,
}

/// The name sent in SNI; identity is established by certificate pinning, not by name.
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from("security-server.egov.invalid")
        .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()))
}

/// Chain to the CA (signature, validity, key usage), the registered certificate hash, and
/// the trust store's view (not revoked, issued to that very server).
#[derive(Debug)]
struct PinnedPeerVerifier {
    roots: Arc<RootCertStore>,
    trust: Arc<TrustStore>,
    expect: Expect,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedPeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &cert,
            &self.roots,
            intermediates,
            now,
            self.algorithms.all,
        )?;
        let verified = self
            .trust
            .verify(end_entity, now.as_secs() as i64)
            .map_err(|e| rustls::Error::General(format!("the peer's certificate: {e}")))?;
        match &self.expect {
            Expect::SecurityServer { server, pin } => {
                if egov_pki::cert_sha256(end_entity) != *pin {
                    return Err(rustls::Error::General(
                        "the peer's certificate is not the authentication certificate registered for that security \
                         server"
                            .into(),
                    ));
                }
                if verified.profile != CertProfile::Auth(server.clone()) {
                    return Err(rustls::Error::General(format!("the peer's certificate is not issued to {server}")));
                }
            }
            Expect::CentralServer => {
                if !matches!(verified.profile, CertProfile::CentralServer(_)) {
                    return Err(rustls::Error::General("the peer is not the operator's central server".into()));
                }
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
        Err(rustls::Error::General("TLS 1.2 is not used between security servers".into()))
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
