//! Reading records back: by sequence number, by query id, by time-stamp batch; and opening
//! their encrypted contents.

use bytes::Bytes;
use egov_pki::xades::SignatureBlock;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::MsgLogError;
use crate::keys::Keyring;
use crate::log::{IndexEntry, MessageLog, unb64};
use crate::record::{RecordHeader, unframe_contents};
use crate::segment::{Frame, FramePosition};

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
    /// AES-GCM nonce.
    pub nonce: Vec<u8>,
    /// Encrypted contents.
    pub ciphertext: Vec<u8>,
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

/// The index columns [`IndexRow::from_row`] reads, in its order (a macro so queries stay
/// static strings).
macro_rules! columns {
    () => {
        "seq, time_ms, query_id, signature_xml_sha256, record_hash, archive, retention_days, segment, \
         frame_offset, frame_len, ts_batch, archived FROM log_record"
    };
}

/// A record's row in the database: what queries need, where its frame is, and its
/// time-stamp and archive state.
struct IndexRow {
    entry: IndexEntry,
    ts_batch: Option<i64>,
    archived: bool,
}

impl IndexRow {
    fn from_row(r: &AnyRow) -> Result<Self, MsgLogError> {
        Ok(Self {
            entry: IndexEntry {
                seq: r.try_get(0)?,
                time_ms: r.try_get(1)?,
                query_id: r.try_get(2)?,
                signature_xml_sha256: r.try_get(3)?,
                record_hash: r.try_get(4)?,
                archive: r.try_get::<i64, _>(5)? != 0,
                retention_days: r.try_get(6)?,
                at: FramePosition { segment: r.try_get(7)?, offset: r.try_get(8)?, len: r.try_get(9)? },
            },
            ts_batch: r.try_get(10)?,
            archived: r.try_get::<i64, _>(11)? != 0,
        })
    }

    /// The index must say what the frame says: a difference is a changed database (or a
    /// frame put in another's place), named by its field.
    fn check(&self, frame: &Frame) -> Result<(), MsgLogError> {
        let h = &frame.meta.header;
        let e = &self.entry;
        let differs = if h.seq != e.seq {
            Some(format!("its index points at the frame of record {}", h.seq))
        } else if h.time_ms != e.time_ms {
            Some("time".into())
        } else if h.query_id != e.query_id {
            Some("query id".into())
        } else if h.signature_xml_sha256 != e.signature_xml_sha256 {
            Some("signature hash".into())
        } else if frame.meta.record_hash != e.record_hash {
            Some("record hash".into())
        } else if h.archive != e.archive || h.retention_days != e.retention_days {
            Some("retention".into())
        } else {
            None
        };
        match differs {
            None => Ok(()),
            Some(field) => Err(MsgLogError::Broken(format!(
                "record {}: altered: the database and the segment file disagree ({field})",
                e.seq
            ))),
        }
    }
}

impl MessageLog {
    /// Reads the frames of `rows` from the segment files and joins each with its index row
    /// and its certificate and OCSP response.
    async fn assemble(&self, rows: &[AnyRow]) -> Result<Vec<StoredRecord>, MsgLogError> {
        let index: Vec<IndexRow> = rows.iter().map(IndexRow::from_row).collect::<Result<_, _>>()?;
        if index.is_empty() {
            return Ok(Vec::new());
        }
        let positions: Vec<FramePosition> = index.iter().map(|i| i.entry.at).collect();
        let dir = self.inner.segment_dir.clone();
        let frames = tokio::task::spawn_blocking(move || crate::segment::read_frames(&dir, &positions))
            .await
            .map_err(|_| MsgLogError::Stopped)??;
        let mut out = Vec::with_capacity(index.len());
        for (row, frame) in index.into_iter().zip(frames) {
            row.check(&frame)?;
            let seq = row.entry.seq;
            let broken = |m: String| MsgLogError::Broken(format!("record {seq}: {m}"));
            let mut signature: SignatureBlock = frame.meta.signature;
            signature.certificate = self
                .signature_part(&frame.meta.cert_ref)
                .await?
                .ok_or_else(|| broken("its certificate is missing".into()))?;
            signature.ocsp = match &frame.meta.ocsp_ref {
                Some(r) => {
                    Some(self.signature_part(r).await?.ok_or_else(|| broken("its OCSP response is missing".into()))?)
                }
                None => None,
            };
            out.push(StoredRecord {
                header: frame.meta.header,
                record_hash: frame.meta.record_hash,
                signature,
                key_id: frame.meta.key_id,
                nonce: frame.nonce,
                ciphertext: frame.ciphertext,
                ts_batch: row.ts_batch,
                archived: row.archived,
            });
        }
        Ok(out)
    }

    /// A stored certificate or OCSP response by its hash (cached: a few repeat in every record).
    async fn signature_part(&self, sha256: &str) -> Result<Option<String>, MsgLogError> {
        if let Some(data) = self.inner.read_parts.lock().ok().and_then(|c| c.get(sha256).cloned()) {
            return Ok(Some(data));
        }
        let data: Option<String> = sqlx::query_scalar("SELECT data FROM signature_part WHERE sha256 = $1")
            .bind(sha256)
            .fetch_optional(self.inner.db.pool())
            .await?;
        if let (Some(d), Ok(mut cache)) = (&data, self.inner.read_parts.lock()) {
            if cache.len() > 1000 {
                cache.clear();
            }
            cache.insert(sha256.to_owned(), d.clone());
        }
        Ok(data)
    }
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
            .open(&self.key_id, &self.nonce, &self.header.aad(), &self.ciphertext)
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
        self.caught_up().await?;
        let row = sqlx::query(concat!("SELECT ", columns!(), " WHERE seq = $1"))
            .bind(seq)
            .fetch_optional(self.inner.db.pool())
            .await?
            .ok_or_else(|| MsgLogError::NotFound(format!("no message log record {seq}")))?;
        self.assemble(std::slice::from_ref(&row)).await?.pop().ok_or(MsgLogError::Stopped)
    }

    /// Records whose query id is `query_id`, in sequence order.
    pub async fn records_of_query(&self, query_id: &str) -> Result<Vec<StoredRecord>, MsgLogError> {
        self.caught_up().await?;
        let rows = sqlx::query(concat!("SELECT ", columns!(), " WHERE query_id = $1 ORDER BY seq"))
            .bind(query_id)
            .fetch_all(self.inner.db.pool())
            .await?;
        self.assemble(&rows).await
    }

    /// Up to `limit` records from `first_seq` on.
    pub async fn records_from(&self, first_seq: i64, limit: i64) -> Result<Vec<StoredRecord>, MsgLogError> {
        self.caught_up().await?;
        let rows = sqlx::query(concat!("SELECT ", columns!(), " WHERE seq >= $1 ORDER BY seq LIMIT $2"))
            .bind(first_seq)
            .bind(limit)
            .fetch_all(self.inner.db.pool())
            .await?;
        self.assemble(&rows).await
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
