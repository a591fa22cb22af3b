//! OCSP stapling between security servers (TT-2.3, TT-6.3; X-Road keeps the same scheme:
//! a server fetches the status of its own certificates and sends it along).
//!
//! - [`OcspStapler`]: asks the Certification Centre's responder (the `ocsp_url` of the global
//!   configuration) about this server's authentication and signing certificates in one
//!   request, every `ocsp_refresh_secs`, verifies the answer and keeps it; the batch signer
//!   puts it into every signature block it makes.
//! - [`OcspChecker`]: the receiver's side. A stapled response must be signed by the CA's
//!   responder, not older than `ocsp_freshness_secs`, and say *good* for the certificates in
//!   use; verified responses are cached by their hash and only their freshness is
//!   re-checked, so a busy server parses each response once.
//!
//! A revoked certificate stops being accepted within one OCSP refresh interval for a server
//! that refreshes honestly (its next staple says *revoked*), and within
//! `ocsp_freshness_secs` for one that keeps stapling an old answer; the revoked serials of
//! the next global configuration generation are a second, independent path.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_pki::ocsp::{self, CertStatus};

use crate::central_http::CentralHttp;
use crate::gateway::DirectoryHandle;
use crate::shared::Shared;

/// Largest OCSP response accepted from the responder.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// Fetches and holds this server's OCSP response.
#[derive(Debug, Clone)]
pub struct OcspStapler {
    auth_cert: Vec<u8>,
    sign_cert: Vec<u8>,
    current: Shared<Option<String>>,
    http: CentralHttp,
}

impl OcspStapler {
    /// A stapler for this server's certificates (nothing stapled until the first refresh).
    pub fn new(auth_cert: Vec<u8>, sign_cert: Vec<u8>) -> Self {
        Self { auth_cert, sign_cert, current: Shared::new(None), http: CentralHttp::new() }
    }

    /// This server's certificates, by usage (`auth`, `sign`).
    pub fn certificates(&self) -> [(&'static str, &[u8]); 2] {
        [("auth", &self.auth_cert), ("sign", &self.sign_cert)]
    }

    /// The OCSP response held now (base64 DER), shared with the signer.
    pub fn current(&self) -> Shared<Option<String>> {
        self.current.clone()
    }

    /// Asks the responder now. `Ok(false)` when the federation names no OCSP responder.
    pub async fn refresh(&self, directory: &DirectoryHandle) -> Result<bool, String> {
        let dir = directory.get();
        let Some(url) = dir.conf().services.ocsp_url.clone() else {
            return Ok(false);
        };
        let freshness = dir.limits().ocsp_freshness_secs as i64;
        let mut failures = Vec::new();
        for ca in dir.ca_certs_der() {
            let request = match ocsp::request(&[&self.auth_cert, &self.sign_cert], ca) {
                Ok(r) => r,
                Err(e) => {
                    failures.push(e.to_string());
                    continue; // not this CA's certificates
                }
            };
            let (status, body) = self.http.post(&url, "application/ocsp-request", request, MAX_RESPONSE_BYTES).await?;
            if !status.is_success() {
                return Err(format!("OCSP responder answered HTTP {status}"));
            }
            let info = ocsp::verify_response(&body, ca, egov_pki::unix_now(), freshness)
                .map_err(|e| format!("OCSP response refused: {e}"))?;
            for (what, cert) in [("authentication", &self.auth_cert), ("signing", &self.sign_cert)] {
                match info.status_of(cert) {
                    Some(CertStatus::Good) => {}
                    Some(other) => {
                        // staple it anyway: receivers must refuse, and say why
                        tracing::error!(certificate = what, status = ?other, "the Certification Centre says this server's certificate is not good");
                    }
                    None => return Err(format!("the OCSP response does not cover the {what} certificate")),
                }
            }
            self.current.set(Some(STANDARD.encode(&body)));
            return Ok(true);
        }
        Err(format!("no OCSP request could be made: {}", failures.join("; ")))
    }

    /// Fetches now, then every `ocsp_refresh_secs` (sooner after a failure) until dropped.
    async fn run(self, directory: DirectoryHandle) {
        let mut retry = Duration::from_secs(1);
        loop {
            let every = Duration::from_secs(directory.get().limits().ocsp_refresh_secs.max(1));
            let wait = match self.refresh(&directory).await {
                Ok(_) => {
                    retry = Duration::from_secs(1);
                    every
                }
                Err(e) => {
                    tracing::warn!(error = %e, "OCSP response not refreshed");
                    let wait = retry.min(every);
                    retry = (retry * 2).min(every);
                    wait
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

impl OcspStapler {
    /// Keeps the staple fresh until dropped: the first fetch comes one refresh interval
    /// from now (the caller fetched before the server started sending, so its first
    /// messages are not refused), or after a second when the caller's fetch failed.
    pub async fn run_after(self, directory: DirectoryHandle) {
        let every = Duration::from_secs(directory.get().limits().ocsp_refresh_secs.max(1));
        let first = if self.current.get().is_some() { every } else { Duration::from_secs(1) };
        tokio::time::sleep(first).await;
        self.run(directory).await;
    }
}

/// A status read from a verified response, with what its freshness depends on.
#[derive(Debug, Clone)]
struct Checked {
    status: CertStatus,
    /// The older of producedAt and the certificate's thisUpdate.
    oldest: i64,
    next_update: Option<i64>,
}

/// SHA-256 of the stapled response (base64) and of the certificate asked about.
type CacheKey = ([u8; 32], [u8; 32]);

/// Entries kept before the cache is cleared (responses change every refresh interval).
const CACHE_LIMIT: usize = 4096;

/// Verifies stapled responses for receivers.
#[derive(Debug, Default)]
pub struct OcspChecker {
    cache: Mutex<HashMap<CacheKey, Checked>>,
}

impl OcspChecker {
    /// A checker with an empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks that `staple` (base64 DER, as carried in a signature block) is a fresh
    /// response of a CA in `ca_certs` saying *good* for `cert_der`; the error says why not.
    pub fn check(
        &self,
        staple: Option<&str>,
        cert_der: &[u8],
        ca_certs: &[Vec<u8>],
        now: i64,
        max_age: i64,
    ) -> Result<(), String> {
        let staple = staple.ok_or("no OCSP response is stapled")?;
        let key = (egov_pki::cert_sha256(staple.as_bytes()), egov_pki::cert_sha256(cert_der));
        let cached = self.cache.lock().ok().and_then(|c| c.get(&key).cloned());
        let checked = match cached {
            Some(c) => c,
            None => {
                let c = Self::verify(staple, cert_der, ca_certs, now, max_age)?;
                if let Ok(mut cache) = self.cache.lock() {
                    if cache.len() >= CACHE_LIMIT {
                        cache.clear();
                    }
                    cache.insert(key, c.clone());
                }
                c
            }
        };
        if now - checked.oldest > max_age {
            return Err(format!("the stapled OCSP response is {} s old (at most {max_age} s)", now - checked.oldest));
        }
        if checked.next_update.is_some_and(|n| now > n + ocsp::CLOCK_SKEW_SECS) {
            return Err("the stapled OCSP response is past its nextUpdate".into());
        }
        match checked.status {
            CertStatus::Good => Ok(()),
            CertStatus::Revoked { at, reason } => Err(format!(
                "the certificate is revoked (since {}{})",
                egov_pki::rfc3339(at),
                reason.map(|r| format!(", {r}")).unwrap_or_default()
            )),
            CertStatus::Unknown => Err("the OCSP responder does not know the certificate".into()),
        }
    }

    fn verify(staple: &str, cert_der: &[u8], ca_certs: &[Vec<u8>], now: i64, max_age: i64) -> Result<Checked, String> {
        let der = STANDARD.decode(staple).map_err(|e| format!("the stapled OCSP response is not base64: {e}"))?;
        let mut last = String::from("no CA certificate");
        for ca in ca_certs {
            match ocsp::verify_response(&der, ca, now, max_age) {
                Ok(info) => {
                    let Some(status) = info.status_of(cert_der) else {
                        return Err("the stapled OCSP response does not cover the certificate".into());
                    };
                    // freshness of the whole response: its oldest thisUpdate, its nearest nextUpdate
                    let oldest = info.statuses.iter().map(|s| s.this_update).fold(info.produced_at, i64::min);
                    let next_update = info.statuses.iter().filter_map(|s| s.next_update).min();
                    return Ok(Checked { status: *status, oldest, next_update });
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("stapled OCSP response refused: {last}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_pki::ocsp::{Responder, RevocationReason};
    use egov_pki::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey};

    fn issue(ca: &CertificationAuthority, profile: &CertProfile) -> Vec<u8> {
        let key = PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap();
        ca.issue(&key.certificate_request(profile).unwrap(), profile, 30).unwrap()
    }

    /// A response signed by `signer` to a request about `certs` (issued by `ca`), each with
    /// `status`, made at `at`.
    fn answer(
        ca: &CertificationAuthority,
        signer: &CertificationAuthority,
        certs: &[&[u8]],
        status: CertStatus,
        at: i64,
    ) -> String {
        let responder = Responder::new(signer.certificate_der(), signer.signer()).unwrap();
        let request = ocsp::request(certs, ca.certificate_der()).unwrap();
        STANDARD.encode(responder.respond(&request, |_| status, at, 600))
    }

    fn staple(ca: &CertificationAuthority, certs: &[&[u8]], status: CertStatus, at: i64) -> String {
        answer(ca, ca, certs, status, at)
    }

    #[test]
    fn accepts_only_fresh_good_answers_of_the_ca_about_that_certificate() {
        let ca = CertificationAuthority::generate("AZ", "CA").unwrap();
        let other_ca = CertificationAuthority::generate("AZ", "Other CA").unwrap();
        let sign = issue(&ca, &CertProfile::Sign("AZ/GOV/1".parse().unwrap()));
        let auth = issue(&ca, &CertProfile::Auth("AZ/GOV/1/ss".parse().unwrap()));
        let unrelated = issue(&ca, &CertProfile::Sign("AZ/GOV/2".parse().unwrap()));
        let cas = vec![ca.certificate_der().to_vec()];
        let now = egov_pki::unix_now();
        let checker = OcspChecker::new();

        let good = staple(&ca, &[&sign, &auth], CertStatus::Good, now);
        checker.check(Some(&good), &sign, &cas, now, 60).unwrap();
        checker.check(Some(&good), &auth, &cas, now, 60).unwrap();
        // cached, but freshness is judged again at every use
        let err = checker.check(Some(&good), &sign, &cas, now + 120, 60).unwrap_err();
        assert!(err.contains("old"), "{err}");

        assert_eq!(checker.check(None, &sign, &cas, now, 60).unwrap_err(), "no OCSP response is stapled");
        let err = checker.check(Some(&good), &unrelated, &cas, now, 60).unwrap_err();
        assert!(err.contains("does not cover"), "{err}");
        let forged = answer(&ca, &other_ca, &[&sign], CertStatus::Good, now);
        let err = checker.check(Some(&forged), &sign, &cas, now, 60).unwrap_err();
        assert!(err.contains("refused"), "{err}");
        let err = checker.check(Some("!!"), &sign, &cas, now, 60).unwrap_err();
        assert!(err.contains("base64"), "{err}");

        let revoked = staple(
            &ca,
            &[&sign],
            CertStatus::Revoked { at: now - 10, reason: Some(RevocationReason::KeyCompromise) },
            now,
        );
        let err = checker.check(Some(&revoked), &sign, &cas, now, 60).unwrap_err();
        assert!(err.contains("revoked") && err.contains("keyCompromise"), "{err}");
        let unknown = staple(&ca, &[&sign], CertStatus::Unknown, now);
        assert!(checker.check(Some(&unknown), &sign, &cas, now, 60).unwrap_err().contains("does not know"));
    }
}
