//! The signed global configuration (TT-4.1.2; shared/reference/xroad-protocol.md §7).
//!
//! Each generation is built from the registry, signed with the central server's
//! configuration-signing key and stored; security servers download the newest one. A
//! generation expires `validity` after it was made, so a server cut off from the central
//! server stops serving (`OutdatedGlobalConf`) instead of trusting a stale view of the
//! federation: blocks (TT-3.7), revocations and removed servers reach every server within
//! one download interval or the server stops. Generations are made on every change and
//! periodically, well before the previous one expires.

use std::sync::Arc;
use std::time::Duration;

use egov_globalconf::{
    Anchor, CentralServices, Directory, GlobalConf, GlobalGroup, Limits, Member, SecurityServer, SignedConf,
    VerificationKey,
};
use egov_pki::PrivateKey;
use sqlx::Row;

use crate::registration::CertificateIssuer;
use crate::registry::check_environment;
use crate::store::now;
use crate::{CentralError, CentralStore};

/// What every generation carries besides the registry.
#[derive(Debug, Clone)]
pub struct PublishSettings {
    /// Instance identifier.
    pub instance: String,
    /// How long a generation stays valid, seconds (X-Road's `confExpireIntervalSeconds`).
    pub validity_secs: i64,
    /// Where the operator's services are reached.
    pub services: CentralServices,
    /// Federation-wide limits.
    pub limits: Limits,
    /// Base URL of the public listener (`http://host:port`), named in anchors.
    pub public_url: String,
}

/// Generations kept per environment (older ones are pruned).
const KEEP_GENERATIONS: i64 = 50;

/// Builds, signs and stores configuration generations.
pub struct Publisher {
    store: CentralStore,
    issuer: Arc<dyn CertificateIssuer>,
    key: PrivateKey,
    settings: PublishSettings,
    lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher").field("instance", &self.settings.instance).finish_non_exhaustive()
    }
}

impl Publisher {
    /// A publisher signing with `key`.
    pub fn new(
        store: CentralStore,
        issuer: Arc<dyn CertificateIssuer>,
        key: PrivateKey,
        settings: PublishSettings,
    ) -> Self {
        Self { store, issuer, key, settings, lock: tokio::sync::Mutex::new(()) }
    }

    /// The settings.
    pub fn settings(&self) -> &PublishSettings {
        &self.settings
    }

    /// The configuration anchor security servers of `environment` are installed with.
    pub fn anchor(&self, environment: &str) -> Result<Anchor, CentralError> {
        check_environment(environment)?;
        let base = self.settings.public_url.trim_end_matches('/');
        let source = match environment {
            "production" => format!("{base}/globalconf"),
            other => format!("{base}/globalconf/{other}"),
        };
        Ok(Anchor {
            instance: self.settings.instance.clone(),
            environment: environment.to_owned(),
            sources: vec![source],
            registration_url: format!("{base}/registration"),
            verification_keys: vec![VerificationKey::of(&self.key).map_err(|e| CentralError::Invalid(e.to_string()))?],
            ca_certs_pem: self.issuer.ca_certs_pem(),
            generated_at: now(),
        })
    }

    /// The configuration of `environment` as the registry says now (unsigned, no serial).
    pub async fn build(&self, environment: &str) -> Result<GlobalConf, CentralError> {
        check_environment(environment)?;
        let mut conf = GlobalConf::new(&self.settings.instance, self.issuer.ca_certs_pem());
        conf.environment = environment.to_owned();
        conf.services = self.settings.services.clone();
        conf.limits = self.settings.limits.clone();
        let mut revoked = self.issuer.revoked_serials().await?;
        revoked.sort();
        conf.revoked_serials = revoked;
        let members = self.store.members().await?;
        // disconnected participants (TT-3.5, TT-3.6) leave the configuration entirely;
        // blocked ones (TT-3.7) stay, flagged, so every server can say why it refuses them
        let connected: Vec<_> = members.iter().filter(|m| m.state != "disconnected").collect();
        conf.members = connected
            .iter()
            .map(|m| Member {
                id: m.id.clone(),
                name: m.name.clone(),
                subsystems: m.subsystems.clone(),
                blocked: m.state == "blocked",
            })
            .collect();
        let is_connected = |c: &egov_xroad::ClientId| connected.iter().any(|m| m.id == c.member_id());
        for s in self.store.servers(Some(environment)).await? {
            if !is_connected(s.id.owner()) {
                continue;
            }
            conf.security_servers.push(SecurityServer {
                id: s.id,
                address: s.address,
                auth_cert_sha256: s.auth_cert_sha256,
                clients: s.clients.into_iter().filter(|c| is_connected(c)).collect(),
            });
        }
        conf.global_groups = self
            .store
            .groups()
            .await?
            .into_iter()
            .map(|g| GlobalGroup {
                code: g.code,
                description: g.description,
                members: g.members.into_iter().filter(|c| is_connected(c)).collect(),
            })
            .collect();
        // what security servers would refuse must never be published
        Directory::new(conf.clone())
            .map_err(|e| CentralError::Conflict(format!("the registry is inconsistent: {e}")))?;
        Ok(conf)
    }

    /// Makes, signs and stores a new generation of `environment`; returns its serial.
    pub async fn publish(&self, environment: &str) -> Result<u64, CentralError> {
        let _one_at_a_time = self.lock.lock().await;
        let mut conf = self.build(environment).await?;
        let last = sqlx::query("SELECT MAX(serial) FROM conf_generations WHERE environment = $1")
            .bind(environment)
            .fetch_one(self.store.pool())
            .await?
            .try_get::<Option<i64>, _>(0)?
            .unwrap_or(0);
        let serial = last + 1;
        let generated_at = now();
        conf.serial = serial as u64;
        conf.generated_at = generated_at;
        conf.expires_at = Some(generated_at + self.settings.validity_secs);
        let document = SignedConf::sign(&conf, &self.key).map_err(|e| CentralError::Invalid(e.to_string()))?;
        let mut tx = self.store.database().begin_write().await?;
        sqlx::query(
            "INSERT INTO conf_generations (environment, serial, generated_at, expires_at, document) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(environment)
        .bind(serial)
        .bind(generated_at)
        .bind(generated_at + self.settings.validity_secs)
        .bind(&document)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM conf_generations WHERE environment = $1 AND serial <= $2")
            .bind(environment)
            .bind(serial - KEEP_GENERATIONS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        tracing::debug!(environment, serial, "global configuration generated");
        Ok(serial as u64)
    }

    /// Publishes every environment; used after each registry change.
    pub async fn publish_all(&self) -> Result<(), CentralError> {
        for env in crate::registry::ENVIRONMENTS {
            self.publish(env).await?;
        }
        Ok(())
    }

    /// The newest signed document of `environment`, if any generation exists.
    pub async fn latest(&self, environment: &str) -> Result<Option<String>, CentralError> {
        check_environment(environment)?;
        let row =
            sqlx::query("SELECT document FROM conf_generations WHERE environment = $1 ORDER BY serial DESC LIMIT 1")
                .bind(environment)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Publishes every environment every `interval` until the task is dropped; failures
    /// are logged and retried at the next tick (the previous generation stays served).
    pub async fn run(self: Arc<Self>, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.publish_all().await {
                tracing::error!(error = %e, "global configuration not generated");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registration::tests::{TestIssuer, enrolled};
    use egov_pki::{CertificationAuthority, KeyAlgorithm};

    async fn exercise(store: CentralStore) {
        let issuer = Arc::new(TestIssuer(CertificationAuthority::generate("AZ", "CA").unwrap(), Default::default()));
        let key = PrivateKey::generate(KeyAlgorithm::EcdsaP256).unwrap();
        let settings = PublishSettings {
            instance: "AZ".into(),
            validity_secs: 600,
            services: CentralServices::default(),
            limits: Limits::default(),
            public_url: "http://x".into(),
        };
        let publisher = Publisher::new(store.clone(), issuer.clone(), key, settings);
        let anchor = publisher.anchor("production").unwrap();
        assert_eq!(anchor.sources, vec!["http://x/globalconf".to_string()]);
        assert!(publisher.latest("production").await.unwrap().is_none());
        assert!(publisher.latest("staging").await.is_err());

        store.add_member(&crate::registry::tests::ministry()).await.unwrap();
        let r = store.submit_registration(&enrolled(&store, "AZ/GOV/1400000002/ss1").await).await.unwrap();
        store.approve_registration(&r.id, issuer.as_ref()).await.unwrap();
        issuer.1.lock().unwrap().push("0abc".into());
        assert_eq!(publisher.publish("production").await.unwrap(), 1);
        assert_eq!(publisher.publish("production").await.unwrap(), 2);
        let doc = publisher.latest("production").await.unwrap().unwrap();
        let conf = anchor.verify(doc.as_bytes(), now()).unwrap();
        assert_eq!(conf.serial, 2);
        assert_eq!(conf.security_servers.len(), 1);
        assert_eq!(conf.revoked_serials, vec!["0abc".to_string()]);
        assert!(!conf.members[0].blocked);

        // the test environment has no production servers; a production anchor refuses it
        publisher.publish("test").await.unwrap();
        let test_doc = publisher.latest("test").await.unwrap().unwrap();
        assert!(anchor.verify(test_doc.as_bytes(), now()).is_err());

        // a server registered for the test environment (TT-3.8) is in the test
        // configuration only: production servers never learn of it
        let mut test_req = enrolled(&store, "AZ/GOV/1400000002/ss-test").await;
        test_req.environment = "test".into();
        let r = store.submit_registration(&test_req).await.unwrap();
        store.approve_registration(&r.id, issuer.as_ref()).await.unwrap();
        let test_conf = publisher.build("test").await.unwrap();
        assert_eq!(test_conf.environment, "test");
        assert_eq!(test_conf.security_servers.len(), 1);
        assert_eq!(test_conf.security_servers[0].id.to_string(), "AZ/GOV/1400000002/ss-test");
        assert!(
            publisher
                .build("production")
                .await
                .unwrap()
                .security_servers
                .iter()
                .all(|s| s.id.to_string() != "AZ/GOV/1400000002/ss-test")
        );
        let test_anchor = publisher.anchor("test").unwrap();
        assert_eq!(test_anchor.sources, vec!["http://x/globalconf/test".to_string()]);
        publisher.publish("test").await.unwrap();
        let doc = publisher.latest("test").await.unwrap().unwrap();
        assert_eq!(test_anchor.verify(doc.as_bytes(), now()).unwrap().security_servers.len(), 1);

        // a block reaches the configuration; a disconnection removes member and server
        let member: egov_xroad::ClientId = "AZ/GOV/1400000002".parse().unwrap();
        store.set_member_state(&member, "blocked", Some("TT-3.7")).await.unwrap();
        assert!(publisher.build("production").await.unwrap().members[0].blocked);
        store.set_member_state(&member, "disconnected", Some("TT-3.5")).await.unwrap();
        let conf = publisher.build("production").await.unwrap();
        assert!(conf.members.is_empty() && conf.security_servers.is_empty());
    }

    #[tokio::test]
    async fn publishes_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        exercise(CentralStore::open(&egov_store::sqlite_url(&dir.path().join("c.db"))).await.unwrap()).await;
    }

    #[tokio::test]
    async fn publishes_on_postgres() {
        let Some(url) = egov_store::test_postgres_url("central_publish").await else { return };
        let store = CentralStore::open(&url).await.unwrap();
        exercise(store.clone()).await;
        store.database().close().await;
        egov_store::drop_test_database(&url).await;
    }
}
