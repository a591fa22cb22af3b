//! The security server's own configuration: hosted clients, services, access rights.

pub mod model;
pub mod store;

use std::sync::{Arc, RwLock};
use std::time::Duration;

pub use model::{AccessGranted, ServerConf, ServiceKind, Subject};
pub use store::{ConfError, ConfStore};

/// The live configuration: a snapshot read on every message, swapped when the database's
/// version moves (changes made by `egov ss …` take effect within the poll interval).
#[derive(Debug, Clone)]
pub struct LiveConf {
    current: Arc<RwLock<Arc<ServerConf>>>,
}

impl LiveConf {
    /// Wraps an initial snapshot.
    pub fn new(conf: ServerConf) -> Self {
        Self { current: Arc::new(RwLock::new(Arc::new(conf))) }
    }

    /// The current snapshot.
    pub fn get(&self) -> Arc<ServerConf> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the snapshot.
    pub fn set(&self, conf: ServerConf) {
        match self.current.write() {
            Ok(mut c) => *c = Arc::new(conf),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(conf),
        }
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
                    Err(e) => tracing::error!(error = %e, "cannot reload server configuration; keeping the previous one"),
                },
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot read configuration version"),
            }
        }
    }
}
