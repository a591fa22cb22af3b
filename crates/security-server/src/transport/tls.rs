//! Mutual TLS 1.3 between security servers (TT-2.2.4, TT-6.3).
//!
//! Both sides present their authentication certificate issued by the Certification Centre.
//! The accepting side requires a client certificate chaining to the CA and then looks its
//! hash up in the federation directory; the connecting side accepts only the one
//! certificate registered for the server it meant to reach (hash pinning on top of the CA
//! chain), so neither host names nor DNS are trusted.

use std::sync::Arc;

use egov_pki::tls::{ExpectedPeer, PeerVerifier};
use egov_pki::{PrivateKey, TrustStore};
use egov_xroad::SecurityServerId;
use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;

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
    let verifier = PeerVerifier::trusted(trust, ExpectedPeer::SecurityServer { server, pin: expected })?;
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
    let verifier = PeerVerifier::trusted(trust, ExpectedPeer::CentralServer)?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_client_auth_cert(vec![CertificateDer::from(keys.auth_cert.clone())], key_der(&keys.auth_key))?;
    Ok(Arc::new(config))
}

/// The name sent in SNI; identity is established by certificate pinning, not by name.
pub fn server_name() -> ServerName<'static> {
    ServerName::try_from("security-server.egov.invalid")
        .unwrap_or(ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()))
}
