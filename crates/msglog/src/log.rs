//! The message log of one security server: a handle the gateway logs through, and the
//! writer task behind it.
//!
//! Durability without a disk flush per message (TT-2.2.2, shared/DESIGN.md decision 5): every
//! exchange hands its record to one writer task and waits; the writer takes everything that
//! is waiting, appends the records to the current segment file, `fdatasync`s it once
//! ([`crate::segment`]) and only then answers all of them. An answer therefore means the
//! record is on disk, and a `kill -9` loses only messages nobody was told were logged. The
//! records' lean index rows are committed behind the writer by the [`indexer`]; readers
//! wait for it ([`MessageLog::caught_up`]), and frames flushed but not yet indexed are
//! indexed at the next start.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_store::{Database, Migrations};
use egov_xroad::opmon::OperationalRecord;
use sqlx::Row;
use tokio::sync::{mpsc, oneshot};

use crate::MsgLogError;
use crate::keys::Keyring;
use crate::policy::LogSettings;
use crate::record::{Entry, RecordHeader, frame_contents};
use crate::segment::{Frame, FrameMeta, FramePosition, SegmentWriter};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The message log's schema in both dialects.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// Most jobs written in one transaction.
const MAX_GROUP: usize = 1024;

enum Job {
    Message(Box<PreparedRecord>, oneshot::Sender<Result<i64, MsgLogError>>),
}

/// A message handed to the writer, not yet known to be durable: await [`Pending::durable`]
/// before telling anyone the message was logged.
#[derive(Debug)]
pub struct Pending {
    reply: oneshot::Receiver<Result<i64, MsgLogError>>,
}

impl Pending {
    /// Waits for the group commit; the record's sequence number once it is on disk.
    pub async fn durable(self) -> Result<i64, MsgLogError> {
        self.reply.await.map_err(|_| MsgLogError::Stopped)?
    }
}

/// Why the database refuses the index rows, kept while it does (the indexer retries).
/// Each carries the error's text as logged.
#[derive(Debug, Clone)]
pub(crate) enum IndexRefusal {
    /// The disk or database is full: new messages are refused as [`MsgLogError::Full`].
    DiskFull(String),
    /// Any other database failure: new messages are refused as [`MsgLogError::Invalid`].
    Failed(String),
}

/// Shared state of the log.
pub(crate) struct Inner {
    pub(crate) db: Database,
    /// This database's segment files (`segment_dir/<log id>`).
    pub(crate) segment_dir: std::path::PathBuf,
    /// Last record acknowledged (durable in its segment).
    pub(crate) written_seq: AtomicI64,
    /// Last record whose index row is committed; readers wait for it to reach
    /// `written_seq` (see [`MessageLog::caught_up`]).
    pub(crate) indexed_seq: AtomicI64,
    /// Woken whenever the indexer commits or fails.
    pub(crate) indexed: tokio::sync::Notify,
    /// A reader is waiting: the indexer commits what it has without waiting for more.
    pub(crate) flush_index: tokio::sync::Notify,
    /// Why the indexer cannot write (it retries; new messages are refused meanwhile).
    pub(crate) index_error: Mutex<Option<IndexRefusal>>,
    /// Certificates and OCSP responses read back, by hash (readers resolve the references
    /// in every frame; the same few repeat).
    pub(crate) read_parts: Mutex<std::collections::HashMap<String, String>>,
    pub(crate) keys: RwLock<Arc<Keyring>>,
    pub(crate) settings: LogSettings,
    queue: mpsc::Sender<Job>,
    queued: AtomicU64,
    /// Operational records, written in batches about twice a second (not evidence: they
    /// need not be durable before an answer, and batching keeps them off the writer).
    op_queue: mpsc::Sender<OperationalRecord>,
    /// Time of the oldest record without a time-stamp (ms), 0 when none.
    pub(crate) oldest_unstamped_ms: AtomicI64,
    /// Why the last time-stamping attempt failed, if it did.
    pub(crate) last_ts_error: Mutex<Option<String>>,
    /// Whether time-stamping runs at all (a federation without a TSA cannot).
    pub(crate) timestamping: std::sync::atomic::AtomicBool,
    /// The last signature document's hash: every message of a signing batch has the same
    /// `signatures.xml` (it names the batch root, not the message), so under load most
    /// records skip formatting and hashing it.
    last_signature: Mutex<Option<(SignatureKey, String)>>,
    /// Hashes of the certificates and OCSP responses already in `signature_part`.
    known_parts: Mutex<std::collections::HashSet<String>>,
    /// The last certificates and OCSP responses seen, with their hashes.
    recent_parts: Mutex<Vec<(String, String)>>,
}

impl Inner {
    /// (SHA-256, data) of a certificate or OCSP response; the hashes of the last few are kept,
    /// as the same two or three repeat in every record.
    fn part(&self, data: &str) -> (String, String) {
        if let Ok(recent) = self.recent_parts.lock()
            && let Some((h, _)) = recent.iter().find(|(_, d)| d == data)
        {
            return (h.clone(), data.to_owned());
        }
        let h = b64(&egov_pki::xades::sha256(data.as_bytes()));
        if let Ok(mut recent) = self.recent_parts.lock() {
            if recent.len() >= 4 {
                recent.remove(0);
            }
            recent.push((h.clone(), data.to_owned()));
        }
        (h, data.to_owned())
    }
}

/// What determines a `signatures.xml`: the batch root, the signature value (which covers the
/// signing time and certificate) and the stapled OCSP response.
#[derive(Clone, PartialEq, Eq)]
struct SignatureKey {
    root: [u8; 32],
    value: String,
    ocsp: Option<String>,
}

/// Handle to the message log; cheap to clone.
#[derive(Clone)]
pub struct MessageLog {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for MessageLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageLog").field("backend", &self.inner.db.backend()).finish_non_exhaustive()
    }
}

/// The last record of the chain.
#[derive(Debug, Clone)]
struct Head {
    seq: i64,
    hash: String,
    op_id: i64,
}

/// Figures for health reporting.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Messages waiting for the writer.
    pub writer_queue: u64,
    /// Age of the oldest record without a time-stamp (s); 0 when none.
    pub timestamp_lag_secs: i64,
    /// Why new messages are refused, if they are.
    pub refusing: Option<String>,
}

pub(crate) fn b64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub(crate) fn unb64(text: &str, what: &str) -> Result<Vec<u8>, MsgLogError> {
    STANDARD.decode(text).map_err(|e| MsgLogError::Broken(format!("{what} is not base64: {e}")))
}

pub(crate) use egov_pki::unix_now_ms as now_ms;

impl MessageLog {
    /// Opens the log in the database at `url` (creating its tables), resumes the chain
    /// where it ended, and starts the writer task on the current runtime.
    pub async fn open(url: &str, keys: Keyring, settings: LogSettings) -> Result<Self, MsgLogError> {
        settings.policy.validate()?;
        let db = Database::open(url, &MIGRATIONS).await?;
        let segment_dir = settings.segment_dir.join(log_id(&db).await?);
        let (mut head, indexed_end) = load_head(&db).await?;
        // frames flushed after the last committed index rows: index them now
        let scan_dir = segment_dir.clone();
        let mut recovered = tokio::task::spawn_blocking(move || crate::segment::scan_after(&scan_dir, indexed_end))
            .await
            .map_err(|_| MsgLogError::Stopped)??;
        if !recovered.frames.is_empty() {
            head = replay(&db, head, std::mem::take(&mut recovered.frames)).await?;
        }
        let writer_dir = segment_dir.clone();
        let max = settings.segment_max_bytes;
        let (segment, len) = (recovered.segment, recovered.len);
        let segments = tokio::task::spawn_blocking(move || SegmentWriter::open(&writer_dir, segment, len, max))
            .await
            .map_err(|_| MsgLogError::Stopped)??;
        tracing::info!(seq = head.seq, segments = %segment_dir.display(), "message log opened");
        let oldest: Option<i64> = sqlx::query_scalar("SELECT MIN(time_ms) FROM log_record WHERE ts_batch IS NULL")
            .fetch_one(db.pool())
            .await?;
        let (queue, rx) = mpsc::channel(8192);
        let (op_queue, op_rx) = mpsc::channel(100_000);
        let (index_queue, index_rx) = mpsc::channel(INDEX_BACKLOG_GROUPS);
        let inner = Arc::new(Inner {
            db,
            segment_dir,
            written_seq: AtomicI64::new(head.seq),
            indexed_seq: AtomicI64::new(head.seq),
            indexed: tokio::sync::Notify::new(),
            flush_index: tokio::sync::Notify::new(),
            index_error: Mutex::new(None),
            read_parts: Mutex::new(std::collections::HashMap::new()),
            keys: RwLock::new(Arc::new(keys)),
            settings,
            queue,
            queued: AtomicU64::new(0),
            op_queue,
            oldest_unstamped_ms: AtomicI64::new(oldest.unwrap_or(0)),
            last_ts_error: Mutex::new(None),
            timestamping: std::sync::atomic::AtomicBool::new(false),
            last_signature: Mutex::new(None),
            known_parts: Mutex::new(std::collections::HashSet::new()),
            recent_parts: Mutex::new(Vec::new()),
        });
        let op_id = head.op_id;
        tokio::spawn(writer(inner.clone(), rx, head, segments, index_queue));
        tokio::spawn(indexer(inner.clone(), index_rx));
        tokio::spawn(operational_writer(inner.clone(), op_rx, op_id));
        Ok(Self { inner })
    }

    /// Where this log's segment files are.
    pub fn segment_dir(&self) -> &std::path::Path {
        &self.inner.segment_dir
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    /// The settings.
    pub fn settings(&self) -> &LogSettings {
        &self.inner.settings
    }

    /// The keyring in use.
    pub fn keys(&self) -> Arc<Keyring> {
        self.inner.keys.read().map(|k| k.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replaces the keyring (after a rotation); new records use its current key.
    pub fn set_keys(&self, keys: Keyring) {
        match self.inner.keys.write() {
            Ok(mut k) => *k = Arc::new(keys),
            Err(p) => *p.into_inner() = Arc::new(keys),
        }
    }

    /// Refuses new traffic when time-stamping has failed for longer than the grace period
    /// (TT-2.2.2: better no message than an unprovable one). Called before a message is sent.
    pub fn check_accepting(&self) -> Result<(), MsgLogError> {
        if let Some(e) = self.index_refusal() {
            return Err(e);
        }
        let limit = self.inner.settings.timestamp_grace_secs;
        if limit <= 0 || !self.inner.timestamping.load(Ordering::Relaxed) {
            return Ok(());
        }
        let oldest = self.inner.oldest_unstamped_ms.load(Ordering::Relaxed);
        if oldest == 0 {
            return Ok(());
        }
        let age_secs = (now_ms() - oldest) / 1000;
        if age_secs > limit {
            let last_error = self
                .inner
                .last_ts_error
                .lock()
                .ok()
                .and_then(|e| e.clone())
                .unwrap_or_else(|| "no time-stamp received yet".into());
            return Err(MsgLogError::TimestampingFailed { age_secs, limit_secs: limit, last_error });
        }
        Ok(())
    }

    /// Why the database refuses the index rows, while it does.
    fn index_refusal(&self) -> Option<MsgLogError> {
        let refusal = self.inner.index_error.lock().ok().and_then(|e| e.clone())?;
        Some(match refusal {
            IndexRefusal::DiskFull(text) => MsgLogError::Full(text),
            IndexRefusal::Failed(text) => {
                MsgLogError::Invalid(format!("the message log's database refuses writes: {text}"))
            }
        })
    }

    /// Waits until every record acknowledged so far has its index row, so a read sees every
    /// message whose `log` returned. Fails while the database refuses the index rows (the
    /// records are safe in their segments and are indexed once it accepts them again, or at
    /// the next start).
    pub async fn caught_up(&self) -> Result<(), MsgLogError> {
        let target = self.inner.written_seq.load(Ordering::Acquire);
        loop {
            let woken = self.inner.indexed.notified();
            if self.inner.indexed_seq.load(Ordering::Acquire) >= target {
                return Ok(());
            }
            if let Some(e) = self.index_refusal() {
                return Err(e);
            }
            self.inner.flush_index.notify_one();
            let _ = tokio::time::timeout(std::time::Duration::from_millis(200), woken).await;
        }
    }

    /// Logs one message; returns its sequence number once it is durably stored.
    pub async fn log(&self, entry: Entry) -> Result<i64, MsgLogError> {
        self.submit(entry).await?.durable().await
    }

    /// Hands one message to the writer: signature document, digests and encryption are done
    /// here, on the caller's task (so many exchanges prepare in parallel); the writer only
    /// chains and stores. Records are written in submission order.
    pub async fn submit(&self, entry: Entry) -> Result<Pending, MsgLogError> {
        self.check_accepting()?;
        let record = prepare(&self.inner, &entry)?;
        let (tx, rx) = oneshot::channel();
        self.inner.queued.fetch_add(1, Ordering::Relaxed);
        let sent = self.inner.queue.send(Job::Message(Box::new(record), tx)).await;
        if sent.is_err() {
            self.inner.queued.fetch_sub(1, Ordering::Relaxed);
            return Err(MsgLogError::Stopped);
        }
        Ok(Pending { reply: rx })
    }

    /// Stores an operational monitoring record (no wait: metadata is not evidence). Its
    /// `record_id` is assigned by the writer.
    pub fn record_operational(&self, record: OperationalRecord) {
        if self.inner.op_queue.try_send(record).is_err() {
            tracing::warn!("message log queue full: operational monitoring record dropped");
        }
    }

    /// Figures for health reporting.
    pub fn stats(&self) -> LogStats {
        let oldest = self.inner.oldest_unstamped_ms.load(Ordering::Relaxed);
        LogStats {
            writer_queue: self.inner.queued.load(Ordering::Relaxed),
            timestamp_lag_secs: if oldest == 0 { 0 } else { ((now_ms() - oldest) / 1000).max(0) },
            refusing: self.check_accepting().err().map(|e| e.to_string()),
        }
    }

    /// Records a read of the log's contents (TT-3.8.4: every read of the archive is logged).
    pub async fn log_read(&self, reader: &str, action: &str, target: &str, outcome: &str) -> Result<(), MsgLogError> {
        sqlx::query("INSERT INTO archive_read (time_ms, reader, action, target, outcome) VALUES ($1, $2, $3, $4, $5)")
            .bind(now_ms())
            .bind(reader)
            .bind(action)
            .bind(target)
            .bind(outcome)
            .execute(self.inner.db.pool())
            .await
            .map_err(MsgLogError::from_write)?;
        Ok(())
    }

    /// The reads of the log, newest first.
    pub async fn reads(&self, limit: i64) -> Result<Vec<ReadRecord>, MsgLogError> {
        let rows =
            sqlx::query("SELECT time_ms, reader, action, target, outcome FROM archive_read ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(self.inner.db.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(ReadRecord {
                    time_ms: r.try_get(0)?,
                    reader: r.try_get(1)?,
                    action: r.try_get(2)?,
                    target: r.try_get(3)?,
                    outcome: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Operational records with `record_id > after`, oldest first, at most `limit`.
    pub async fn operational(&self, after: i64, limit: i64) -> Result<Vec<OperationalRecord>, MsgLogError> {
        let rows = sqlx::query("SELECT record FROM op_record WHERE record_id > $1 ORDER BY record_id LIMIT $2")
            .bind(after)
            .bind(limit)
            .fetch_all(self.inner.db.pool())
            .await?;
        operational_records(&rows)
    }

    /// Operational records stored at or after `since_ms`.
    pub async fn operational_since(&self, since_ms: i64) -> Result<Vec<OperationalRecord>, MsgLogError> {
        let rows = sqlx::query("SELECT record FROM op_record WHERE time_ms >= $1 ORDER BY record_id")
            .bind(since_ms)
            .fetch_all(self.inner.db.pool())
            .await?;
        operational_records(&rows)
    }

    /// Number of records, and of those not yet time-stamped.
    pub async fn counts(&self) -> Result<(i64, i64), MsgLogError> {
        self.caught_up().await?;
        let all: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_record").fetch_one(self.inner.db.pool()).await?;
        let unstamped: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM log_record WHERE ts_batch IS NULL")
            .fetch_one(self.inner.db.pool())
            .await?;
        Ok((all, unstamped))
    }
}

fn operational_records(rows: &[sqlx::any::AnyRow]) -> Result<Vec<OperationalRecord>, MsgLogError> {
    rows.iter()
        .map(|r| {
            serde_json::from_str(r.try_get::<&str, _>(0)?)
                .map_err(|e| MsgLogError::Broken(format!("stored operational record: {e}")))
        })
        .collect()
}

/// One read of the log.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReadRecord {
    /// When (ms since the Unix epoch).
    pub time_ms: i64,
    /// Who.
    pub reader: String,
    /// What kind of read (`asic`, `export`, `verify`).
    pub action: String,
    /// What was asked for.
    pub target: String,
    /// `allowed`, `refused: …`, `not found`.
    pub outcome: String,
}

/// The log's id: names its directory of segment files (created with the database).
async fn log_id(db: &Database) -> Result<String, MsgLogError> {
    if let Some(id) = sqlx::query_scalar::<_, String>("SELECT log_id FROM segment_store WHERE id = 1")
        .fetch_optional(db.pool())
        .await?
    {
        return Ok(id);
    }
    let mut bytes = [0u8; 8];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| MsgLogError::Crypto("no random bytes for the log id".into()))?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    sqlx::query("INSERT INTO segment_store (id, log_id) VALUES (1, $1) ON CONFLICT (id) DO NOTHING")
        .bind(&id)
        .execute(db.pool())
        .await
        .map_err(MsgLogError::from_write)?;
    Ok(sqlx::query_scalar("SELECT log_id FROM segment_store WHERE id = 1").fetch_one(db.pool()).await?)
}

/// The last record of the chain, and where its frame ends: (segment, offset).
async fn load_head(db: &Database) -> Result<(Head, (i64, u64)), MsgLogError> {
    let row = sqlx::query(
        "SELECT seq, record_hash, segment, frame_offset, frame_len FROM log_record ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    let op_id: Option<i64> = sqlx::query_scalar("SELECT MAX(record_id) FROM op_record").fetch_one(db.pool()).await?;
    let op_id = op_id.unwrap_or(0);
    Ok(match row {
        Some(r) => {
            let (offset, len): (i64, i64) = (r.try_get(3)?, r.try_get(4)?);
            let end = (r.try_get(2)?, u64::try_from(offset + len).unwrap_or(0));
            (Head { seq: r.try_get(0)?, hash: r.try_get(1)?, op_id }, end)
        }
        None => (Head { seq: 0, hash: b64(&[0u8; 32]), op_id }, (1, 0)),
    })
}

/// Indexes frames that were flushed but not indexed before a crash, after checking that each
/// continues the chain (a frame that does not means the segments and the database come from
/// different backups: better to refuse than to index a forked chain).
async fn replay(db: &Database, mut head: Head, frames: Vec<(Frame, FramePosition)>) -> Result<Head, MsgLogError> {
    let mut rows = Vec::with_capacity(frames.len());
    for (mut frame, at) in frames {
        let h = &frame.meta.header;
        if h.seq != head.seq + 1 || h.prev_hash != head.hash || b64(&h.hash()) != frame.meta.record_hash {
            return Err(MsgLogError::Broken(format!(
                "segment {} at offset {} holds record {}, which does not continue the database's chain at record {}: \
                 the segments and the database disagree (restore both from the same backup)",
                at.segment, at.offset, h.seq, head.seq
            )));
        }
        head.seq = h.seq;
        head.hash.clone_from(&frame.meta.record_hash);
        rows.push(IndexEntry::take(&mut frame.meta, at));
    }
    insert_index(db, &rows, false).await?;
    tracing::warn!(records = rows.len(), last = head.seq, "message log: records flushed before a crash were indexed");
    Ok(head)
}

/// A record ready to store; `header.seq`, `header.time_ms`, `header.prev_hash` and the
/// record hash are set by the writer.
struct PreparedRecord {
    frame: Frame,
    /// (SHA-256, base64 data) of the certificate and the OCSP response.
    certificate: (String, String),
    ocsp: Option<(String, String)>,
}

fn prepare(inner: &Inner, entry: &Entry) -> Result<PreparedRecord, MsgLogError> {
    let rule = inner.settings.policy.for_service(&entry.service);
    let bad = |e: egov_pki::PkiError| MsgLogError::Invalid(format!("the message's signature cannot be stored: {e}"));
    let key = SignatureKey {
        root: entry.signature.root(&entry.transport_digest).map_err(bad)?,
        value: entry.signature.value.clone(),
        ocsp: entry.signature.ocsp.clone(),
    };
    let cached =
        inner.last_signature.lock().ok().and_then(|c| c.as_ref().filter(|(k, _)| *k == key).map(|(_, h)| h.clone()));
    let signature_xml_sha256 = match cached {
        Some(h) => h,
        None => {
            let document = entry.signature.document(&entry.transport_digest).map_err(bad)?;
            let h = b64(&egov_pki::xades::sha256(document.as_bytes()));
            if let Ok(mut c) = inner.last_signature.lock() {
                *c = Some((key, h.clone()));
            }
            h
        }
    };
    let header = RecordHeader {
        seq: 0,
        time_ms: 0,
        request_id: entry.request_id.clone(),
        query_id: entry.query_id.clone(),
        side: entry.side,
        direction: entry.direction,
        client: entry.client.clone(),
        service: entry.service.clone(),
        protocol: entry.protocol.clone(),
        transport_digest: b64(&entry.transport_digest),
        signature_xml_sha256,
        archive: rule.archive,
        retention_days: i64::from(rule.retention_days),
        prev_hash: String::new(),
    };
    let keys = inner.keys.read().map(|k| k.clone()).unwrap_or_else(|p| p.into_inner().clone());
    let (key_id, nonce, ciphertext) =
        keys.seal(&header.aad(), &frame_contents(&entry.meta, &entry.message, &entry.body))?;
    // certificate and OCSP response are stored once each, by hash (they repeat in every record)
    let certificate = inner.part(&entry.signature.certificate);
    let ocsp = entry.signature.ocsp.as_deref().map(|o| inner.part(o));
    let s = &entry.signature;
    let signature = egov_pki::xades::SignatureBlock {
        algorithm: s.algorithm.clone(),
        certificate: String::new(),
        proof: s.proof.clone(),
        value: s.value.clone(),
        signing_time: s.signing_time.clone(),
        ocsp: None,
    };
    Ok(PreparedRecord {
        frame: Frame {
            meta: FrameMeta {
                header,
                record_hash: String::new(),
                signature,
                cert_ref: certificate.0.clone(),
                ocsp_ref: ocsp.as_ref().map(|o| o.0.clone()),
                key_id,
            },
            nonce: nonce.to_vec(),
            ciphertext,
        },
        certificate,
        ocsp,
    })
}

/// Where the writer stores groups.
struct Output {
    /// The segment being appended to (`None` only while a blocking thread has it).
    segments: Option<SegmentWriter>,
    /// The frames of a group, reused (a fresh buffer per group is a large allocation the
    /// system must zero every time).
    buffer: Vec<u8>,
}

async fn writer(
    inner: Arc<Inner>,
    mut rx: mpsc::Receiver<Job>,
    mut head: Head,
    segments: SegmentWriter,
    index: mpsc::Sender<Vec<IndexEntry>>,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    let mut out = Output { segments: Some(segments), buffer: Vec::new() };
    while let Some(first) = rx.recv().await {
        jobs.push(first);
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let n = jobs.len() as u64;
        let result = write_group(&inner, &head, &mut jobs, &mut out).await;
        inner.queued.fetch_sub(n, Ordering::Relaxed);
        let (entries, error) = match result {
            Ok((h, time_ms, entries)) => {
                if inner.oldest_unstamped_ms.load(Ordering::Relaxed) == 0 {
                    inner.oldest_unstamped_ms.store(time_ms, Ordering::Relaxed);
                }
                head = h;
                inner.written_seq.store(head.seq, Ordering::Release);
                (entries, None)
            }
            Err(e) => {
                tracing::error!(error = %e, "message log write failed; the messages were refused");
                (Vec::new(), Some(e))
            }
        };
        for Job::Message(record, reply) in jobs.drain(..) {
            let r = match &error {
                None => Ok(record.frame.meta.header.seq),
                Some(MsgLogError::Full(text)) => Err(MsgLogError::Full(text.clone())),
                Some(MsgLogError::Stopped) => Err(MsgLogError::Stopped),
                Some(e) => Err(MsgLogError::Invalid(e.to_string())),
            };
            let _ = reply.send(r);
        }
        // the records are durable and answered; their index rows follow (a full backlog
        // waits here, which holds the next group back)
        if !entries.is_empty() && index.send(entries).await.is_err() {
            tracing::error!("message log indexer stopped; records are indexed at the next start");
        }
    }
}

/// Writes operational records in batches: what arrives within half a second goes in one
/// transaction. A failed batch is dropped with a warning (monitoring data, not evidence).
async fn operational_writer(inner: Arc<Inner>, mut rx: mpsc::Receiver<OperationalRecord>, mut op_id: i64) {
    while let Some(first) = rx.recv().await {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mut batch = vec![first];
        while batch.len() < 50_000 {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let time_ms = now_ms();
        for r in &mut batch {
            op_id += 1;
            r.record_id = op_id;
            r.monitoring_data_ts = time_ms / 1000;
        }
        if let Err(e) = insert_operational(&inner.db, &batch, time_ms).await {
            op_id -= batch.len() as i64;
            tracing::warn!(error = %e, records = batch.len(), "operational monitoring records not stored");
        }
    }
}

/// Stores one group: new certificates and OCSP responses first (committed, so a frame never
/// refers to a part that a crash could lose), then the frames into the segment (one
/// `fdatasync`: from here the records are durable, and the messages are answered). Their
/// index rows go to the [`indexer`]. On failure nothing of the group is kept and every
/// message in it gets the error. Returns the new head, the group's time and the index rows.
async fn write_group(
    inner: &Inner,
    head: &Head,
    jobs: &mut [Job],
    out: &mut Output,
) -> Result<(Head, i64, Vec<IndexEntry>), MsgLogError> {
    let records: Vec<&PreparedRecord> = jobs
        .iter()
        .map(|j| match j {
            Job::Message(r, _) => &**r,
        })
        .collect();
    store_new_parts(inner, &records).await?;
    let time_ms = now_ms();
    let mut next = head.clone();
    let mut frames = std::mem::take(&mut out.buffer);
    frames.clear();
    let mut spans = Vec::with_capacity(jobs.len());
    for job in jobs.iter_mut() {
        let Job::Message(record, _) = job;
        // the chain: the only serial work, one SHA-256 over the header per record
        let meta = &mut record.frame.meta;
        next.seq += 1;
        meta.header.seq = next.seq;
        meta.header.time_ms = time_ms;
        meta.header.prev_hash = std::mem::take(&mut next.hash);
        meta.record_hash = b64(&meta.header.hash());
        next.hash.clone_from(&meta.record_hash);
        let start = frames.len();
        let len = record.frame.encode(&mut frames)?;
        spans.push((start, len));
    }
    let mut writer = out.segments.take().ok_or(MsgLogError::Stopped)?;
    let (writer, frames, appended) = tokio::task::spawn_blocking(move || {
        let r = writer.append(&frames);
        (writer, frames, r)
    })
    .await
    .map_err(|_| MsgLogError::Stopped)?;
    out.segments = Some(writer);
    if frames.capacity() <= 64 << 20 {
        out.buffer = frames;
    }
    let (segment, offset) = appended?;
    let entries = jobs
        .iter_mut()
        .zip(&spans)
        .map(|(Job::Message(r, _), (start, len))| {
            let at = FramePosition { segment, offset: (offset + *start as u64) as i64, len: *len as i64 };
            IndexEntry::take(&mut r.frame.meta, at)
        })
        .collect();
    Ok((next, time_ms, entries))
}

/// How many groups may wait for their index rows before the writer waits for the indexer.
const INDEX_BACKLOG_GROUPS: usize = 1024;

/// The indexer waits up to this long for more rows before a transaction ...
const INDEX_BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(25);
/// ... unless it has this many.
const INDEX_BATCH_ROWS: usize = 512;

/// A record's index row as written (the indexer runs after the record is answered; reads
/// add the time-stamp and archive state, `stored::IndexRow`).
pub(crate) struct IndexEntry {
    pub(crate) seq: i64,
    pub(crate) time_ms: i64,
    pub(crate) query_id: Option<String>,
    pub(crate) signature_xml_sha256: String,
    pub(crate) record_hash: String,
    pub(crate) archive: bool,
    pub(crate) retention_days: i64,
    pub(crate) at: FramePosition,
}

impl IndexEntry {
    /// The index row of a record whose frame is stored (its strings are moved out: the
    /// record is dropped once answered).
    fn take(meta: &mut FrameMeta, at: FramePosition) -> Self {
        let h = &mut meta.header;
        Self {
            seq: h.seq,
            time_ms: h.time_ms,
            query_id: h.query_id.take(),
            signature_xml_sha256: std::mem::take(&mut h.signature_xml_sha256),
            record_hash: std::mem::take(&mut meta.record_hash),
            archive: h.archive,
            retention_days: h.retention_days,
            at,
        }
    }
}

/// Commits index rows behind the writer, as many groups per transaction as are waiting (so
/// the busier the log, the fewer commits per record). Readers wait for it through
/// [`MessageLog::caught_up`]. When the database refuses (full), the rows are kept and
/// retried every second, and new messages are refused meanwhile; the records themselves
/// are safe in their segment.
async fn indexer(inner: Arc<Inner>, mut rx: mpsc::Receiver<Vec<IndexEntry>>) {
    let mut pending: Vec<IndexEntry> = Vec::new();
    loop {
        if pending.is_empty() {
            match rx.recv().await {
                Some(group) => pending = group,
                None => return,
            }
        }
        if pending.len() < INDEX_BATCH_ROWS {
            // let more groups arrive: a transaction costs several round trips to the
            // database thread, each a thread wake-up; per row, a batch of hundreds costs a
            // fraction of one per group (docs/performance.md). Readers cut the wait short.
            tokio::select! {
                () = tokio::time::sleep(INDEX_BATCH_WAIT) => {}
                () = inner.flush_index.notified() => {}
            }
        }
        while pending.len() < 16_384 {
            match rx.try_recv() {
                Ok(group) => pending.extend(group),
                Err(_) => break,
            }
        }
        match insert_index(&inner.db, &pending, true).await {
            Ok(()) => {
                if let Some(last) = pending.last() {
                    inner.indexed_seq.store(last.seq, Ordering::Release);
                }
                pending.clear();
                if let Ok(mut e) = inner.index_error.lock()
                    && e.take().is_some()
                {
                    tracing::info!("message log index writes again; traffic accepted");
                }
                inner.indexed.notify_waiters();
            }
            Err(e) => {
                tracing::error!(error = %e, rows = pending.len(), "message log index rows not stored; new messages refused until they are");
                if let Ok(mut slot) = inner.index_error.lock() {
                    *slot = Some(match e {
                        MsgLogError::Full(_) => IndexRefusal::DiskFull(e.to_string()),
                        _ => IndexRefusal::Failed(e.to_string()),
                    });
                }
                inner.indexed.notify_waiters();
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}

/// Stores the certificates and OCSP responses of `records` not stored before.
async fn store_new_parts(inner: &Inner, records: &[&PreparedRecord]) -> Result<(), MsgLogError> {
    let mut parts: Vec<&(String, String)> = Vec::new();
    {
        let known = inner.known_parts.lock().map_err(|_| MsgLogError::Stopped)?;
        for r in records {
            for p in std::iter::once(&r.certificate).chain(r.ocsp.as_ref()) {
                if !known.contains(&p.0) && !parts.iter().any(|q| q.0 == p.0) {
                    parts.push(p);
                }
            }
        }
    }
    if parts.is_empty() {
        return Ok(());
    }
    let mut tx = inner.db.begin_write().await.map_err(MsgLogError::from_write)?;
    for (hash, data) in &parts {
        sqlx::query("INSERT INTO signature_part (sha256, data) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING")
            .bind(hash.as_str())
            .bind(data.as_str())
            .execute(&mut *tx)
            .await
            .map_err(MsgLogError::from_write)?;
    }
    tx.commit().await.map_err(MsgLogError::from_write)?;
    if let Ok(mut known) = inner.known_parts.lock() {
        if known.len() > 10_000 {
            known.clear(); // bounded: staples change every refresh
        }
        known.extend(parts.iter().map(|p| p.0.clone()));
    }
    Ok(())
}

/// `prefix` followed by `rows` groups of `columns` placeholders: numbered for PostgreSQL
/// (`($1, $2), ($3, $4)`), anonymous `?` for SQLite, whose lookup of a numbered parameter's
/// name scans every name before it (quadratic in a long statement: 8 % of the writer's time
/// in a profile). Built from constants only; the values are bound.
fn multi_row_insert(backend: egov_store::Backend, prefix: &str, columns: usize, rows: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 6);
    sql.push_str(prefix);
    for row in 0..rows {
        sql.push_str(if row == 0 { "(" } else { ", (" });
        for col in 0..columns {
            if col > 0 {
                sql.push_str(", ");
            }
            match backend {
                egov_store::Backend::Sqlite => sql.push('?'),
                egov_store::Backend::Postgres => {
                    sql.push('$');
                    sql.push_str(&(row * columns + col + 1).to_string());
                }
            }
        }
        sql.push(')');
    }
    sql
}

/// Rows per INSERT statement: index rows are small, and 64 per statement measured 30 %
/// cheaper per row than 16 (3.1 against 4.4 µs); a fixed size keeps prepared statements few.
const ROWS_PER_STATEMENT: usize = 64;

/// Commits the index rows of stored frames in one transaction. With `relaxed`, the commit
/// does not wait for the disk (SQLite `synchronous = NORMAL` in WAL mode, PostgreSQL
/// `synchronous_commit = off`, for this transaction only): the writer flushed the frames to
/// their segment before, and index rows that a power cut takes back are indexed again from
/// the segments at the next start ([`replay`]). A process crash loses nothing either way,
/// and any later commit that flushes (a time-stamp, an archive) flushes these rows too. One
/// fsync per group instead of two.
async fn insert_index(db: &Database, rows: &[IndexEntry], relaxed: bool) -> Result<(), MsgLogError> {
    let sqlite = db.backend() == egov_store::Backend::Sqlite;
    let mut conn = db.pool().acquire().await.map_err(MsgLogError::from_write)?;
    if relaxed && sqlite {
        sqlx::query("PRAGMA synchronous = NORMAL").execute(&mut *conn).await?;
    }
    let inserted = insert_index_rows(db, &mut conn, rows, relaxed).await;
    if relaxed && sqlite && sqlx::query("PRAGMA synchronous = FULL").execute(&mut *conn).await.is_err() {
        // never hand a relaxed connection back to the pool
        conn.close_on_drop();
    }
    inserted
}

async fn insert_index_rows(
    db: &Database,
    conn: &mut sqlx::AnyConnection,
    rows: &[IndexEntry],
    relaxed: bool,
) -> Result<(), MsgLogError> {
    let mut tx = db.begin_write_on(conn).await.map_err(MsgLogError::from_write)?;
    if relaxed && db.backend() == egov_store::Backend::Postgres {
        sqlx::query("SET LOCAL synchronous_commit = off").execute(&mut *tx).await?;
    }
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = multi_row_insert(
            db.backend(),
            "INSERT INTO log_record (seq, time_ms, query_id, signature_xml_sha256, record_hash, archive, \
             retention_days, segment, frame_offset, frame_len) VALUES ",
            10,
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r.seq)
                .bind(r.time_ms)
                .bind(r.query_id.as_deref())
                .bind(r.signature_xml_sha256.as_str())
                .bind(r.record_hash.as_str())
                .bind(i64::from(r.archive))
                .bind(r.retention_days)
                .bind(r.at.segment)
                .bind(r.at.offset)
                .bind(r.at.len);
        }
        q.execute(&mut *tx).await.map_err(MsgLogError::from_write)?;
    }
    tx.commit().await.map_err(MsgLogError::from_write)?;
    Ok(())
}

async fn insert_operational(db: &Database, ops: &[OperationalRecord], time_ms: i64) -> Result<(), MsgLogError> {
    let mut tx = db.begin_write().await.map_err(MsgLogError::from_write)?;
    for chunk in ops.chunks(ROWS_PER_STATEMENT) {
        let mut encoded = Vec::with_capacity(chunk.len());
        for op in chunk {
            encoded.push((op.record_id, serde_json::to_string(op).map_err(|e| MsgLogError::Invalid(e.to_string()))?));
        }
        let sql = multi_row_insert(
            db.backend(),
            "INSERT INTO op_record (record_id, time_ms, record) VALUES ",
            3,
            chunk.len(),
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, json) in &encoded {
            q = q.bind(*id).bind(time_ms).bind(json.as_str());
        }
        q.execute(&mut *tx).await.map_err(MsgLogError::from_write)?;
    }
    tx.commit().await.map_err(MsgLogError::from_write)?;
    Ok(())
}
