//! The global configuration on the security server's side (TT-4.1.2; X-Road's confclient,
//! shared/reference/xroad-protocol.md §7).
//!
//! The server downloads the signed configuration from the addresses in its anchor,
//! verifies it against the anchor's keys, refuses an older generation than the one it holds
//! (no rollback to a configuration from before a block or revocation), keeps a copy on disk
//! so it can start while the central server is down, and installs each new generation in
//! the running gateway. When it cannot refresh before the configuration expires, every
//! exchange is refused with `OutdatedGlobalConf` (see `gateway::check_federation`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use egov_globalconf::{Anchor, ConfError, Directory, GlobalConf};

use crate::central_http::CentralHttp;
use crate::gateway::Gateway;

/// Why no configuration could be obtained.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfClientError {
    /// No source answered with a valid configuration.
    #[error("no configuration source answered: {0}")]
    Unreachable(String),
    /// A configuration arrived but was refused.
    #[error(transparent)]
    Refused(#[from] ConfError),
    /// An older generation than the one in use was offered.
    #[error("generation {offered} is older than generation {current} in use (rollback refused)")]
    Rollback {
        /// Offered serial.
        offered: u64,
        /// Serial in use.
        current: u64,
    },
    /// The local copy could not be written.
    #[error("cannot save the configuration to {path}: {source}")]
    Save {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
}

/// Downloads, verifies and saves the global configuration.
#[derive(Debug, Clone)]
pub struct ConfClient {
    anchor: Arc<Anchor>,
    cache: PathBuf,
    http: CentralHttp,
}

impl ConfClient {
    /// A client for `anchor`, keeping its copy at `cache`.
    pub fn new(anchor: Anchor, cache: &Path) -> Self {
        Self { anchor: Arc::new(anchor), cache: cache.to_owned(), http: CentralHttp::new() }
    }

    /// The anchor.
    pub fn anchor(&self) -> &Anchor {
        &self.anchor
    }

    /// The saved copy, if any (verified against the anchor, possibly expired).
    pub fn saved(&self) -> Result<Option<GlobalConf>, ConfError> {
        match std::fs::read(&self.cache) {
            Ok(bytes) => self.anchor.verify_signature(&bytes).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ConfError::Read { path: self.cache.display().to_string(), source }),
        }
    }

    /// Downloads the newest configuration from the first source that gives a valid one.
    pub async fn download(&self) -> Result<(GlobalConf, Bytes), ConfClientError> {
        let mut failures = Vec::new();
        for source in &self.anchor.sources {
            match self.fetch(source).await {
                Ok(bytes) => match self.anchor.verify(&bytes, egov_pki::unix_now()) {
                    Ok(conf) => return Ok((conf, bytes)),
                    Err(e) => {
                        // a source serving a bad document is worth a loud log: it is either
                        // broken or under attack; the next source may still be good
                        tracing::warn!(%source, error = %e, "global configuration refused");
                        failures.push(format!("{source}: {e}"));
                    }
                },
                Err(e) => failures.push(format!("{source}: {e}")),
            }
        }
        Err(ConfClientError::Unreachable(failures.join("; ")))
    }

    async fn fetch(&self, url: &str) -> Result<Bytes, String> {
        let (status, body) = self.http.get(url, egov_globalconf::signed::MAX_DOCUMENT_BYTES).await?;
        if status != http::StatusCode::OK {
            return Err(format!("HTTP {status}"));
        }
        Ok(body)
    }

    /// Downloads a newer generation than `current` (serial), saves it and returns it as a
    /// directory; `None` when the source still has the same generation.
    pub async fn refresh(&self, current: Option<u64>) -> Result<Option<Directory>, ConfClientError> {
        let (conf, bytes) = self.download().await?;
        match current {
            Some(c) if conf.serial < c => return Err(ConfClientError::Rollback { offered: conf.serial, current: c }),
            Some(c) if conf.serial == c => return Ok(None),
            _ => {}
        }
        let directory = Directory::new(conf)?;
        self.save(&bytes)?;
        Ok(Some(directory))
    }

    /// The configuration to start with: a fresh download, else the saved copy (which may
    /// have expired: the server then starts but refuses exchanges until it can refresh).
    ///
    /// A download older than the saved copy is refused here as [`refresh`](Self::refresh)
    /// refuses it for a running server: otherwise a replayed, still unexpired generation
    /// from before a block or revocation would be installed by a restart (issue 13, item 7).
    /// The saved copy is then kept and used.
    pub async fn initial(&self) -> Result<Directory, ConfClientError> {
        let saved = match self.saved() {
            Ok(saved) => saved,
            Err(e) => {
                // an unreadable or forged copy is no floor to compare against: start from a
                // download, as a new server does
                tracing::warn!(error = %e, "the saved global configuration is not usable");
                None
            }
        };
        let floor = saved.as_ref().map(|c| c.serial);
        match self.refresh(floor).await {
            Ok(Some(d)) => Ok(d),
            Err(download) => match saved {
                Some(conf) => {
                    tracing::warn!(error = %download, serial = conf.serial, "starting with the saved global configuration");
                    Ok(Directory::new(conf)?)
                }
                None => Err(download),
            },
            // the source has the generation already saved
            Ok(None) => match saved {
                Some(conf) => Ok(Directory::new(conf)?),
                None => Err(ConfClientError::Unreachable("no configuration".into())),
            },
        }
    }

    fn save(&self, bytes: &[u8]) -> Result<(), ConfClientError> {
        let err = |source| ConfClientError::Save { path: self.cache.display().to_string(), source };
        let tmp = self.cache.with_extension("download");
        std::fs::write(&tmp, bytes).map_err(err)?;
        std::fs::rename(&tmp, &self.cache).map_err(err)
    }

    /// Refreshes the gateway's configuration every `conf_refresh_secs` (from the
    /// configuration itself) until the task is dropped.
    pub async fn follow(self, gateway: Arc<Gateway>) {
        loop {
            let every = gateway.directory.get().limits().conf_refresh_secs.max(1);
            tokio::time::sleep(Duration::from_secs(every)).await;
            self.refresh_gateway(&gateway).await;
        }
    }

    /// One refresh of a running gateway; failures are logged (the configuration in use
    /// stays until it expires).
    pub async fn refresh_gateway(&self, gateway: &Gateway) {
        let current = gateway.directory.get().conf().serial;
        match self.refresh(Some(current)).await {
            Ok(Some(directory)) => {
                tracing::info!(serial = directory.conf().serial, "global configuration updated");
                gateway.update_directory(directory);
            }
            Ok(None) => {}
            Err(e) => tracing::error!(error = %e, "global configuration not refreshed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use egov_globalconf::{SignedConf, VerificationKey};
    use egov_pki::{CertificationAuthority, KeyAlgorithm, PrivateKey};

    /// A central server stand-in that serves whatever document `served` holds.
    async fn source(served: Arc<std::sync::Mutex<String>>) -> (String, crate::http::ShutdownTrigger) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/globalconf", listener.local_addr().unwrap());
        let (trigger, shutdown) = crate::http::shutdown_pair();
        tokio::spawn(crate::http::serve_http1(
            listener,
            move |_, _| {
                let doc = served.lock().unwrap().clone();
                async move { crate::http::response(http::StatusCode::OK, "application/json", doc) }
            },
            Duration::from_secs(5),
            shutdown,
        ));
        (url, trigger)
    }

    /// A signing key, a source serving `served`, and a client for it keeping its copy in a
    /// temporary directory.
    struct Fixture {
        key: PrivateKey,
        ca: CertificationAuthority,
        served: Arc<std::sync::Mutex<String>>,
        client: ConfClient,
        dir: tempfile::TempDir,
        _stop: crate::http::ShutdownTrigger,
    }

    impl Fixture {
        async fn new() -> Self {
            let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
            let ca = CertificationAuthority::generate("AZ", "CA").unwrap();
            let served = Arc::new(std::sync::Mutex::new(String::new()));
            let (url, stop) = source(served.clone()).await;
            let anchor = Anchor {
                instance: "AZ".into(),
                environment: "production".into(),
                sources: vec![url],
                registration_url: "http://127.0.0.1:1/registration".into(),
                verification_keys: vec![VerificationKey::of(&key).unwrap()],
                ca_certs_pem: vec![ca.certificate_pem()],
                generated_at: egov_pki::unix_now(),
            };
            let dir = tempfile::tempdir().unwrap();
            let client = ConfClient::new(anchor, &dir.path().join("globalconf.json"));
            let f = Self { key, ca, served, client, dir, _stop: stop };
            f.serve(5);
            f
        }

        /// Generation `serial`, unexpired, signed with the anchor's key.
        fn generation(&self, serial: u64, key: &PrivateKey) -> String {
            let now = egov_pki::unix_now();
            let mut conf = GlobalConf::new("AZ", vec![self.ca.certificate_pem()]);
            conf.serial = serial;
            conf.generated_at = now;
            conf.expires_at = Some(now + 600);
            SignedConf::sign(&conf, key).unwrap()
        }

        fn serve(&self, serial: u64) {
            *self.served.lock().unwrap() = self.generation(serial, &self.key);
        }

        /// A new client over the same anchor and saved copy: the server restarted.
        fn restart(&self) -> ConfClient {
            ConfClient::new(self.client.anchor().clone(), &self.dir.path().join("globalconf.json"))
        }
    }

    #[tokio::test]
    async fn downloads_saves_and_refuses_rollback_and_forgery() {
        let f = Fixture::new().await;
        let client = &f.client;
        let first = client.initial().await.unwrap();
        assert_eq!(first.conf().serial, 5);
        assert_eq!(client.saved().unwrap().unwrap().serial, 5);
        assert!(client.refresh(Some(5)).await.unwrap().is_none(), "same generation: nothing to install");

        // an older generation (a replayed document from before a block) is refused
        f.serve(4);
        assert!(matches!(client.refresh(Some(5)).await, Err(ConfClientError::Rollback { offered: 4, current: 5 })));

        // a document signed by another key is refused, and the saved copy stays
        *f.served.lock().unwrap() = f.generation(6, &PrivateKey::generate(KeyAlgorithm::Ed25519).unwrap());
        assert!(
            matches!(client.refresh(Some(5)).await, Err(ConfClientError::Unreachable(m)) if m.contains("does not trust"))
        );
        assert_eq!(client.saved().unwrap().unwrap().serial, 5);

        // the source is down: the server starts from its saved copy
        *f.served.lock().unwrap() = "not a configuration".into();
        assert_eq!(client.initial().await.unwrap().conf().serial, 5);
    }

    /// Issue 13, item 7: a replayed older generation, still unexpired, is refused at start
    /// as it is while running; the saved copy is kept and used.
    #[tokio::test]
    async fn a_restart_refuses_a_generation_older_than_the_saved_copy() {
        let f = Fixture::new().await;
        f.serve(5);
        assert_eq!(f.client.initial().await.unwrap().conf().serial, 5);
        f.serve(4);
        let restarted = f.restart();
        assert_eq!(restarted.initial().await.unwrap().conf().serial, 5, "the replayed generation 4 was installed");
        assert_eq!(restarted.saved().unwrap().unwrap().serial, 5, "the saved copy was overwritten");
        // the same generation at start: the saved copy; a newer one is installed and saved
        f.serve(5);
        assert_eq!(f.restart().initial().await.unwrap().conf().serial, 5);
        f.serve(7);
        assert_eq!(f.restart().initial().await.unwrap().conf().serial, 7);
        assert_eq!(f.restart().saved().unwrap().unwrap().serial, 7);
        // a saved copy that no longer verifies is no floor: the download is used
        std::fs::write(f.dir.path().join("globalconf.json"), "garbage").unwrap();
        f.serve(6);
        assert_eq!(f.restart().initial().await.unwrap().conf().serial, 6);
    }
}
