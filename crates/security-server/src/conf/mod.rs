//! The security server's own configuration: hosted clients, services, access rights.

pub mod model;
pub mod store;

use std::time::Duration;

pub use model::{AccessGranted, ServerConf, ServiceKind, Subject};
pub use store::{ConfError, ConfStore};

/// The live configuration: a snapshot read on every message, swapped when the database's
/// version moves (changes made by `egov ss …` take effect within the poll interval).
pub type LiveConf = crate::shared::Shared<ServerConf>;

impl LiveConf {
    /// Reads the configuration from `store` now, instead of at the next poll.
    pub async fn reload(&self, store: &ConfStore) -> Result<(), ConfError> {
        self.set(store.load().await?);
        Ok(())
    }

    /// Polls `store` every `interval` and reloads when its version changed. Runs until
    /// the task is aborted.
    pub async fn follow(self, store: ConfStore, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        loop {
            ticker.tick().await;
            match store.version().await {
                Ok(v) if v != self.get().version => match store.load().await {
                    Ok(conf) => {
                        tracing::info!(version = conf.version, "server configuration reloaded");
                        self.set(conf);
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot reload server configuration; keeping the previous one")
                    }
                },
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read configuration version"),
            }
        }
    }
}
