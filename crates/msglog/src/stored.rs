//! Reading records back: by sequence number, by query id, by time-stamp batch; and opening
//! their encrypted contents.

use bytes::Bytes;
use egov_pki::xades::SignatureBlock;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::MsgLogError;
use crate::keys::Keyring;
use crate::log::{MessageLog, unb64};
use crate::record::{Direction, RecordHeader, Side, unframe_contents};

/// A record as stored.
#[derive(Debug, Clone)]
pub struct StoredRecord {
    /// The hashed fields.
    pub header: RecordHeader,
    /// Its stored hash (base64).
    pub record_hash: String,
    /// The signature.
    pub signature: SignatureBlock,
    /// Key that encrypted the contents.
    pub key_id: String,
    /// AES-GCM nonce (base64).
    pub nonce: String,
    /// Encrypted contents (base64).
    pub ciphertext: String,
    /// The time-stamp batch covering it.
    pub ts_batch: Option<i64>,
    /// Whether it is in an archive file.
    pub archived: bool,
}

/// The opened contents of a record.
#[derive(Debug, Clone)]
pub struct Contents {
    /// Transport metadata (JSON).
    pub meta: Bytes,
    /// SOAP envelope or REST header part.
    pub message: Bytes,
    /// REST body.
    pub body: Bytes,
}

/// The columns [`from_row`] reads, in its order (a macro so queries stay static strings).
macro_rules! columns {
    () => {
        "r.seq, r.time_ms, r.request_id, r.query_id, r.side, r.direction, r.client, r.service, r.protocol, \
    r.transport_digest, r.signature, r.signature_xml_sha256, r.key_id, r.nonce, r.ciphertext, r.prev_hash, \
    r.record_hash, r.archive, r.retention_days, r.ts_batch, r.archived, c.data, o.data \
    FROM log_record r LEFT JOIN signature_part c ON c.sha256 = r.cert_ref \
    LEFT JOIN signature_part o ON o.sha256 = r.ocsp_ref"
    };
}

pub(crate) fn from_row(r: &AnyRow) -> Result<StoredRecord, MsgLogError> {
    let seq: i64 = r.try_get(0)?;
    let broken = |m: String| MsgLogError::Broken(format!("record {seq}: {m}"));
    let side = match r.try_get::<&str, _>(4)? {
        "client" => Side::Client,
        "provider" => Side::Provider,
        other => return Err(broken(format!("unknown side {other:?}"))),
    };
    let direction = match r.try_get::<&str, _>(5)? {
        "request" => Direction::Request,
        "response" => Direction::Response,
        other => return Err(broken(format!("unknown direction {other:?}"))),
    };
    let mut signature: SignatureBlock = serde_json::from_str(r.try_get::<&str, _>(10)?)
        .map_err(|e| broken(format!("stored signature is not readable: {e}")))?;
    signature.certificate =
        r.try_get::<Option<String>, _>(21)?.ok_or_else(|| broken("its certificate is missing".into()))?;
    signature.ocsp = r.try_get(22)?;
    Ok(StoredRecord {
        header: RecordHeader {
            seq,
            time_ms: r.try_get(1)?,
            request_id: r.try_get(2)?,
            query_id: r.try_get(3)?,
            side,
            direction,
            client: r.try_get(6)?,
            service: r.try_get(7)?,
            protocol: r.try_get(8)?,
            transport_digest: r.try_get(9)?,
            signature_xml_sha256: r.try_get(11)?,
            prev_hash: r.try_get(15)?,
            archive: r.try_get::<i64, _>(17)? != 0,
            retention_days: r.try_get(18)?,
        },
        signature,
        key_id: r.try_get(12)?,
        nonce: r.try_get(13)?,
        ciphertext: r.try_get(14)?,
        record_hash: r.try_get(16)?,
        ts_batch: r.try_get(19)?,
        archived: r.try_get::<i64, _>(20)? != 0,
    })
}

impl StoredRecord {
    /// The transport digest.
    pub fn transport_digest(&self) -> Result<[u8; 32], MsgLogError> {
        unb64(&self.header.transport_digest, "transport digest")?
            .try_into()
            .map_err(|_| MsgLogError::Broken(format!("record {}: transport digest is not 32 bytes", self.header.seq)))
    }

    /// Decrypts the contents and checks they are what the signature covers.
    pub fn contents(&self, keys: &Keyring) -> Result<Contents, MsgLogError> {
        let seq = self.header.seq;
        let plain = keys
            .open(
                &self.key_id,
                &unb64(&self.nonce, "nonce")?,
                &self.header.aad(),
                &unb64(&self.ciphertext, "contents")?,
            )
            .map_err(|e| MsgLogError::Crypto(format!("record {seq}: {e}")))?;
        let (meta, message, body) = unframe_contents(&plain)
            .ok_or_else(|| MsgLogError::Broken(format!("record {seq}: decrypted contents are not framed")))?;
        if crate::asic::transport_digest(&meta, &message, &body) != self.transport_digest()? {
            return Err(MsgLogError::Broken(format!("record {seq}: contents do not match the signed digest")));
        }
        Ok(Contents { meta, message, body })
    }
}

/// A time-stamp and the leaves it covers.
#[derive(Debug, Clone)]
pub struct TimeStampBatch {
    /// Batch id.
    pub id: i64,
    /// The RFC 3161 token (DER).
    pub token: Vec<u8>,
    /// `signature_xml_sha256` of each record, in sequence order.
    pub leaves: Vec<(i64, [u8; 32])>,
}

impl MessageLog {
    /// The record `seq`.
    pub async fn record(&self, seq: i64) -> Result<StoredRecord, MsgLogError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " WHERE r.seq = $1"))
            .bind(seq)
            .fetch_optional(self.inner.db.pool())
            .await?
            .ok_or_else(|| MsgLogError::NotFound(format!("no message log record {seq}")))?;
        from_row(&row)
    }

    /// Records whose query id is `query_id`, in sequence order.
    pub async fn records_of_query(&self, query_id: &str) -> Result<Vec<StoredRecord>, MsgLogError> {
        let rows = sqlx::query(concat!("SELECT ", columns!(), " WHERE r.query_id = $1 ORDER BY r.seq"))
            .bind(query_id)
            .fetch_all(self.inner.db.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Up to `limit` records from `first_seq` on.
    pub async fn records_from(&self, first_seq: i64, limit: i64) -> Result<Vec<StoredRecord>, MsgLogError> {
        let rows = sqlx::query(concat!("SELECT ", columns!(), " WHERE r.seq >= $1 ORDER BY r.seq LIMIT $2"))
            .bind(first_seq)
            .bind(limit)
            .fetch_all(self.inner.db.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// The time-stamp batch `id` with its leaves.
    pub async fn timestamp_batch(&self, id: i64) -> Result<TimeStampBatch, MsgLogError> {
        let token: String = sqlx::query_scalar("SELECT token FROM ts_batch WHERE id = $1")
            .bind(id)
            .fetch_optional(self.inner.db.pool())
            .await?
            .ok_or_else(|| MsgLogError::Broken(format!("time-stamp batch {id} is missing")))?;
        let rows = sqlx::query("SELECT seq, signature_xml_sha256 FROM log_record WHERE ts_batch = $1 ORDER BY seq")
            .bind(id)
            .fetch_all(self.inner.db.pool())
            .await?;
        let mut leaves = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get(0)?;
            let leaf: [u8; 32] = unb64(r.try_get(1)?, "leaf")?
                .try_into()
                .map_err(|_| MsgLogError::Broken(format!("record {seq}: signature hash is not 32 bytes")))?;
            leaves.push((seq, leaf));
        }
        Ok(TimeStampBatch { id, token: unb64(&token, "time-stamp token")?, leaves })
    }
}
