//! The operator's time-stamping authority over HTTP (RFC 3161 §3.4: POST
//! `application/timestamp-query`), at the address the global configuration names
//! (`services.tsa_url`), trusted through the configuration's CA certificates.

use egov_msglog::timestamper::{BoxFuture, TimeStampAuthority};

use crate::central_http::CentralHttp;
use crate::gateway::DirectoryHandle;

/// Largest time-stamp response accepted.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// The federation's TSA.
#[derive(Debug)]
pub struct HttpTsa {
    directory: DirectoryHandle,
    http: CentralHttp,
}

impl HttpTsa {
    /// A TSA client following the configuration in `directory`.
    pub fn new(directory: DirectoryHandle) -> Self {
        Self { directory, http: CentralHttp::new() }
    }
}

impl TimeStampAuthority for HttpTsa {
    fn stamp<'a>(&'a self, request_der: Vec<u8>) -> BoxFuture<'a, Result<Vec<u8>, String>> {
        Box::pin(async move {
            let url = self
                .directory
                .get()
                .conf()
                .services
                .tsa_url
                .clone()
                .ok_or("the global configuration names no time-stamping authority")?;
            let (status, body) =
                self.http.post(&url, "application/timestamp-query", request_der, MAX_RESPONSE_BYTES).await?;
            if !status.is_success() {
                return Err(format!("{url} answered HTTP {status}"));
            }
            Ok(body.to_vec())
        })
    }

    fn trusted_cas(&self) -> Vec<Vec<u8>> {
        self.directory.get().ca_certs_der().to_vec()
    }
}
