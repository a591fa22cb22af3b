//! Batch time-stamping (TT-2.2.2, X-Road's asynchronous mode): every interval, the records
//! without a time-stamp are put in a hash tree whose leaves are their `signatures.xml`
//! hashes; one RFC 3161 time-stamp from the operator's TSA covers the tree's root (via
//! `ts-hashchainresult.xml`, as in X-Road's ASiC layout). Failures are retried at the next
//! interval; after the grace period the log refuses new messages (see
//! [`MessageLog::check_accepting`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use sqlx::Row;

use crate::MsgLogError;
use crate::log::{MessageLog, b64, now_ms, unb64};

/// A boxed future (object-safe async trait methods).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The operator's time-stamping authority, as the security server reaches it.
pub trait TimeStampAuthority: Send + Sync {
    /// Sends a time-stamp request (DER) and returns the DER TimeStampResp.
    fn stamp<'a>(&'a self, request_der: Vec<u8>) -> BoxFuture<'a, Result<Vec<u8>, String>>;
    /// CA certificates a time-stamp must chain to.
    fn trusted_cas(&self) -> Vec<Vec<u8>>;
}

/// Checks `token` (a TimeStampResp or bare token) over `imprint` against any of `cas`.
pub fn verify_token(token: &[u8], imprint: &[u8; 32], cas: &[Vec<u8>]) -> Result<egov_pki::tsp::TimeStampInfo, String> {
    let mut last = String::from("no CA certificate to check the time-stamp against");
    for ca in cas {
        match egov_pki::tsp::verify(token, imprint, ca) {
            Ok(info) => return Ok(info),
            Err(e) => last = e.to_string(),
        }
    }
    Err(last)
}

impl MessageLog {
    /// Time-stamps the oldest waiting records (at most one batch); returns how many.
    pub async fn timestamp_once(&self, tsa: &dyn TimeStampAuthority) -> Result<usize, MsgLogError> {
        self.inner.timestamping.store(true, Ordering::Relaxed);
        self.caught_up().await?;
        let result = self.stamp_batch(tsa).await;
        if let Ok(mut e) = self.inner.last_ts_error.lock() {
            *e = result.as_ref().err().map(|e| e.to_string());
        }
        result
    }

    async fn stamp_batch(&self, tsa: &dyn TimeStampAuthority) -> Result<usize, MsgLogError> {
        let pool = self.inner.db.pool();
        let rows = sqlx::query(
            "SELECT seq, signature_xml_sha256 FROM log_record WHERE ts_batch IS NULL ORDER BY seq LIMIT $1",
        )
        .bind(self.inner.settings.timestamp_batch as i64)
        .fetch_all(pool)
        .await?;
        if rows.is_empty() {
            self.inner.oldest_unstamped_ms.store(0, Ordering::Relaxed);
            return Ok(0);
        }
        let mut leaves = Vec::with_capacity(rows.len());
        for r in &rows {
            let leaf: [u8; 32] = unb64(r.try_get(1)?, "leaf")?
                .try_into()
                .map_err(|_| MsgLogError::Broken("a signature hash is not 32 bytes".into()))?;
            leaves.push(leaf);
        }
        let (first, last): (i64, i64) = (rows[0].try_get(0)?, rows[rows.len() - 1].try_get(0)?);
        let (root, _) = egov_pki::batch::build(&leaves);
        let imprint = egov_pki::xades::sha256(egov_pki::xades::hashchain_result(&root).as_bytes());
        let response = tsa
            .stamp(egov_pki::tsp::request(&imprint))
            .await
            .map_err(|e| MsgLogError::Invalid(format!("time-stamping authority: {e}")))?;
        // never store a token that does not prove what we asked
        verify_token(&response, &imprint, &tsa.trusted_cas())
            .map_err(|e| MsgLogError::Invalid(format!("the time-stamp was refused: {e}")))?;
        let token = egov_pki::tsp::token_of(&response).map_err(|e| MsgLogError::Invalid(e.to_string()))?;
        let mut tx = self.inner.db.begin_write().await.map_err(MsgLogError::from_write)?;
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM ts_batch").fetch_one(&mut *tx).await?;
        sqlx::query("INSERT INTO ts_batch (id, time_ms, root, token) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(now_ms())
            .bind(b64(&root))
            .bind(b64(&token))
            .execute(&mut *tx)
            .await
            .map_err(MsgLogError::from_write)?;
        sqlx::query("UPDATE log_record SET ts_batch = $1 WHERE seq >= $2 AND seq <= $3")
            .bind(id)
            .bind(first)
            .bind(last)
            .execute(&mut *tx)
            .await
            .map_err(MsgLogError::from_write)?;
        tx.commit().await.map_err(MsgLogError::from_write)?;
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(time_ms) FROM log_record WHERE ts_batch IS NULL").fetch_one(pool).await?;
        self.inner.oldest_unstamped_ms.store(oldest.unwrap_or(0), Ordering::Relaxed);
        tracing::debug!(batch = id, records = leaves.len(), "message log time-stamped");
        Ok(leaves.len())
    }

    /// Time-stamps every interval until the runtime stops; a full batch is followed at once
    /// by the next.
    pub fn spawn_timestamper(&self, tsa: Arc<dyn TimeStampAuthority>) -> tokio::task::JoinHandle<()> {
        let log = self.clone();
        log.inner.timestamping.store(true, Ordering::Relaxed);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(log.inner.settings.timestamp_interval).await;
                loop {
                    match log.timestamp_once(tsa.as_ref()).await {
                        Ok(n) if n >= log.inner.settings.timestamp_batch => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "time-stamping failed; retrying at the next interval");
                            break;
                        }
                    }
                }
            }
        })
    }
}
