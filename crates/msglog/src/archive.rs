//! Archive files (TT-3.8.4): time-stamped records of services whose policy says "archive"
//! are moved, in sequence order, into files of at most `archive_max_bytes`. Each file is a
//! ZIP in X-Road's archive layout — one ASiC-E container per message plus `linkinginfo` —
//! encrypted as a whole with the participant's current key:
//!
//! ```text
//! "EGOVMLA1" ‖ key-id length (2 bytes) ‖ key id ‖ nonce (12) ‖ AES-256-GCM(zip)
//! ```
//!
//! `linkinginfo` chains the files: its first line names the previous archive's last digest
//! and file (`-` for the first), then one line per container `digest name`, where
//! `digest = hex(SHA-256(previous digest hex ‖ hex(SHA-256(container))))` — X-Road's rule
//! with SHA-256. A removed, reordered or altered container or file breaks the chain.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sqlx::Row;

use crate::MsgLogError;
use crate::asic;
use crate::keys::Keyring;
use crate::log::{MessageLog, now_ms};
use crate::stored::TimeStampBatch;
use crate::verify::{ContainerReport, verify_container};

/// First bytes of an archive file.
pub const MAGIC: &[u8; 8] = b"EGOVMLA1";
const DAY_MS: i64 = 86_400_000;

/// An archive file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    /// Its path.
    pub path: PathBuf,
    /// Records in it.
    pub containers: usize,
    /// Its last linking digest.
    pub digest: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The linking digest after `prev_hex` for a container.
pub fn link(prev_hex: &str, container: &[u8]) -> String {
    let mut input = prev_hex.as_bytes().to_vec();
    input.extend_from_slice(hex(&egov_pki::xades::sha256(container)).as_bytes());
    hex(&egov_pki::xades::sha256(&input))
}

/// Encrypts an archive ZIP under the keyring's current key.
pub fn seal(keys: &Keyring, zip: &[u8]) -> Result<Vec<u8>, MsgLogError> {
    let id = keys.current_id().as_bytes();
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(id);
    let (_, nonce, ciphertext) = keys.seal(&aad, zip)?;
    let mut out = aad.clone();
    out.splice(8..8, (id.len() as u16).to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    Ok(out)
}

/// Decrypts an archive file (a truncated or altered file fails its authentication tag).
pub fn open(keys: &Keyring, bytes: &[u8]) -> Result<Vec<u8>, MsgLogError> {
    let bad = |m: &str| MsgLogError::Broken(format!("archive file: {m}"));
    let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| bad("not an egov message log archive (bad magic)"))?;
    if rest.len() < 2 {
        return Err(bad("truncated header"));
    }
    let id_len = u16::from_be_bytes([rest[0], rest[1]]) as usize;
    let rest = &rest[2..];
    if rest.len() < id_len + 12 + 16 {
        return Err(bad("truncated"));
    }
    let (id, rest) = rest.split_at(id_len);
    let (nonce, ciphertext) = rest.split_at(12);
    let id = std::str::from_utf8(id).map_err(|_| bad("key id is not UTF-8"))?;
    let mut aad = MAGIC.to_vec();
    aad.extend_from_slice(id.as_bytes());
    keys.open(id, nonce, &aad, ciphertext).map_err(|e| bad(&format!("{e} (or the file is truncated)")))
}

fn utc_stamp(ms: i64) -> String {
    egov_pki::xades::signing_time(ms).replace(['-', ':', 'T'], "").chars().take(14).collect()
}

fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), MsgLogError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| MsgLogError::io(&tmp, e))?;
    let full = |e: std::io::Error| {
        if e.raw_os_error() == Some(28) {
            MsgLogError::Full(format!("{}: {e}", tmp.display()))
        } else {
            MsgLogError::io(&tmp, e)
        }
    };
    f.write_all(bytes).map_err(full)?;
    f.sync_all().map_err(full)?;
    std::fs::rename(&tmp, path).map_err(|e| MsgLogError::io(path, e))?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

impl MessageLog {
    /// The ASiC-E container of record `seq`; refused while the record has no time-stamp.
    pub async fn container(&self, seq: i64) -> Result<Vec<u8>, MsgLogError> {
        let record = self.record(seq).await?;
        let batch_id = record.ts_batch.ok_or_else(|| {
            MsgLogError::NotFound(format!("record {seq} is not time-stamped yet; ask again after the next time-stamp"))
        })?;
        let batch = self.timestamp_batch(batch_id).await?;
        asic::build(&record, &record.contents(&self.keys())?, &batch)
    }

    /// The containers of a query id, named as X-Road names them in `queryId.zip`
    /// (`<queryId>-request-<seq>.asice`, `…-response-…`).
    pub async fn containers_of_query(&self, query_id: &str) -> Result<Vec<(String, Vec<u8>)>, MsgLogError> {
        let records = self.records_of_query(query_id).await?;
        if records.is_empty() {
            return Err(MsgLogError::NotFound(format!("no logged message has the query id '{query_id}'")));
        }
        let keys = self.keys();
        let mut out = Vec::with_capacity(records.len());
        for r in &records {
            let seq = r.header.seq;
            let batch_id = r.ts_batch.ok_or_else(|| {
                MsgLogError::NotFound(format!(
                    "record {seq} of '{query_id}' is not time-stamped yet; ask again after the next time-stamp"
                ))
            })?;
            let batch = self.timestamp_batch(batch_id).await?;
            let safe = asic::file_stem(query_id);
            out.push((
                format!("{safe}-{}-{seq}.asice", r.header.direction.as_str()),
                asic::build(r, &r.contents(&keys)?, &batch)?,
            ));
        }
        Ok(out)
    }

    /// Moves the next time-stamped records into one archive file; `None` when there was
    /// nothing to archive.
    pub async fn archive_once(&self) -> Result<Option<ArchiveFile>, MsgLogError> {
        self.caught_up().await?;
        let pool = self.inner.db.pool();
        let state = sqlx::query("SELECT last_seq, last_digest, last_file FROM archive_state WHERE id = 1")
            .fetch_one(pool)
            .await?;
        let last_seq: i64 = state.try_get(0)?;
        let prev_digest: Option<String> = state.try_get(1)?;
        let prev_file: Option<String> = state.try_get(2)?;
        let keys = self.keys();
        let max_bytes = self.inner.settings.archive_max_bytes;
        let mut containers: Vec<(String, Vec<u8>)> = Vec::new();
        let mut size = 0u64;
        let mut until = last_seq;
        let (mut first_time, mut last_time, mut expires) = (None, 0i64, 0i64);
        let mut batch: Option<TimeStampBatch> = None;
        'pages: loop {
            let page = self.records_from(until + 1, 500).await?;
            if page.is_empty() {
                break;
            }
            for r in page {
                let Some(batch_id) = r.ts_batch else { break 'pages };
                if r.header.seq != until + 1 {
                    return Err(MsgLogError::Broken(format!(
                        "record {} is missing from the log (found {} after it)",
                        until + 1,
                        r.header.seq
                    )));
                }
                if r.header.archive {
                    if batch.as_ref().is_none_or(|b| b.id != batch_id) {
                        batch = Some(self.timestamp_batch(batch_id).await?);
                    }
                    let Some(b) = batch.as_ref() else { break 'pages };
                    let bytes = asic::build(&r, &r.contents(&keys)?, b)?;
                    size += bytes.len() as u64;
                    first_time.get_or_insert(r.header.time_ms);
                    last_time = r.header.time_ms;
                    expires = expires.max(r.header.time_ms + r.header.retention_days * DAY_MS);
                    containers.push((
                        format!(
                            "{:012}-{}-{}.asice",
                            r.header.seq,
                            r.header.side.as_str(),
                            r.header.direction.as_str()
                        ),
                        bytes,
                    ));
                }
                until = r.header.seq;
                if size >= max_bytes {
                    break 'pages;
                }
            }
        }
        if until == last_seq {
            return Ok(None);
        }
        if containers.is_empty() {
            // only records that are not archived: just move past them
            sqlx::query("UPDATE archive_state SET last_seq = $1 WHERE id = 1").bind(until).execute(pool).await?;
            return Ok(None);
        }
        let mut linking =
            format!("{} {} SHA-256\n", prev_digest.as_deref().unwrap_or("-"), prev_file.as_deref().unwrap_or("-"));
        let mut digest = prev_digest.clone().unwrap_or_default();
        for (name, bytes) in &containers {
            digest = link(&digest, bytes);
            linking.push_str(&format!("{digest} {name}\n"));
        }
        let mut entries: Vec<(&str, Vec<u8>)> = containers.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
        entries.push(("linkinginfo", linking.into_bytes()));
        let zip = plain_zip(&entries)?;
        // X-Road's name with the first sequence number in front, so names sort in chain order
        let name = format!(
            "mlog-{:012}-{}-{}-{}.zip.enc",
            last_seq + 1,
            utc_stamp(first_time.unwrap_or(last_time)),
            utc_stamp(last_time),
            &digest[..16]
        );
        std::fs::create_dir_all(&self.inner.settings.archive_dir)
            .map_err(|e| MsgLogError::io(&self.inner.settings.archive_dir, e))?;
        let path = self.inner.settings.archive_dir.join(&name);
        write_durably(&path, &seal(&keys, &zip)?)?;
        let first_seq = last_seq + 1;
        let mut tx = self.inner.db.begin_write().await.map_err(MsgLogError::from_write)?;
        sqlx::query("UPDATE archive_state SET last_seq = $1, last_digest = $2, last_file = $3 WHERE id = 1")
            .bind(until)
            .bind(&digest)
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE log_record SET archived = 1 WHERE seq >= $1 AND seq <= $2 AND archive = 1")
            .bind(first_seq)
            .bind(until)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO archive_file (name, created_ms, first_seq, last_seq, expires_ms, digest) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&name)
        .bind(now_ms())
        .bind(first_seq)
        .bind(until)
        .bind(expires)
        .bind(&digest)
        .execute(&mut *tx)
        .await?;
        tx.commit().await.map_err(MsgLogError::from_write)?;
        tracing::info!(file = %name, containers = containers.len(), "message log archived");
        Ok(Some(ArchiveFile { path, containers: containers.len(), digest }))
    }

    /// Archives until nothing is left; returns the files written.
    pub async fn archive_all(&self) -> Result<Vec<ArchiveFile>, MsgLogError> {
        let mut files = Vec::new();
        while let Some(f) = self.archive_once().await? {
            files.push(f);
        }
        Ok(files)
    }
}

/// A ZIP of already-compressed entries (containers), stored.
pub fn plain_zip(entries: &[(&str, Vec<u8>)]) -> Result<Vec<u8>, MsgLogError> {
    use zip::write::SimpleFileOptions;
    let err = |e: String| MsgLogError::Invalid(format!("cannot write the archive: {e}"));
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // containers are already compressed ZIPs
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in entries {
        zip.start_file(*name, options).map_err(|e| err(e.to_string()))?;
        zip.write_all(bytes).map_err(|e| err(e.to_string()))?;
    }
    Ok(zip.finish().map_err(|e| err(e.to_string()))?.into_inner())
}

/// What a verified archive file holds.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveReport {
    /// The file.
    pub file: String,
    /// The previous archive's last digest it names (`-` for none).
    pub prev_digest: String,
    /// The previous archive's file name.
    pub prev_file: String,
    /// Its last linking digest.
    pub digest: String,
    /// Each container.
    pub containers: Vec<ContainerReport>,
}

/// Verifies one archive file: decrypts it, checks its linking chain, and verifies every
/// container. `expected_prev`, when known, is the digest the previous file ended with.
pub fn verify_archive(
    name: &str,
    bytes: &[u8],
    keys: &Keyring,
    cas: &[Vec<u8>],
    expected_prev: Option<&str>,
) -> Result<ArchiveReport, MsgLogError> {
    let broken = |m: String| MsgLogError::Broken(format!("{name}: {m}"));
    let zip = open(keys, bytes).map_err(|e| broken(e.to_string()))?;
    let (_, entries) = asic::read_zip(&zip).map_err(broken)?;
    let linking = entries.iter().find(|(n, _)| n == "linkinginfo").ok_or_else(|| broken("no linkinginfo".into()))?;
    let linking = std::str::from_utf8(&linking.1).map_err(|_| broken("linkinginfo is not UTF-8".into()))?;
    let mut lines = linking.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(' ').collect();
    let [prev_digest, prev_file, "SHA-256"] = header.as_slice() else {
        return Err(broken("linkinginfo's first line must be '<previous digest> <previous file> SHA-256'".into()));
    };
    if let Some(expected) = expected_prev
        && *prev_digest != expected
    {
        return Err(broken(format!(
            "links to a previous archive ending with {prev_digest}, but the previous file ends with {expected}"
        )));
    }
    let mut digest = if *prev_digest == "-" { String::new() } else { (*prev_digest).to_owned() };
    let mut containers = Vec::new();
    let mut listed = 0;
    for line in lines {
        let (want, file) = line.split_once(' ').ok_or_else(|| broken(format!("bad linkinginfo line {line:?}")))?;
        let bytes = entries
            .iter()
            .find(|(n, _)| n == file)
            .map(|(_, b)| b)
            .ok_or_else(|| broken(format!("{file} is listed in linkinginfo but missing")))?;
        digest = link(&digest, bytes);
        if digest != want {
            return Err(broken(format!("{file}: linking digest differs (container altered or reordered)")));
        }
        containers.push(verify_container(bytes, cas).map_err(|e| broken(format!("{file}: {e}")))?);
        listed += 1;
    }
    if listed + 1 != entries.len() {
        return Err(broken("holds containers not listed in linkinginfo".into()));
    }
    Ok(ArchiveReport {
        file: name.to_owned(),
        prev_digest: (*prev_digest).to_owned(),
        prev_file: (*prev_file).to_owned(),
        digest,
        containers,
    })
}

/// Verifies every archive file in `dir` in order, each against the one before.
pub fn verify_archive_dir(dir: &Path, keys: &Keyring, cas: &[Vec<u8>]) -> Result<Vec<ArchiveReport>, MsgLogError> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| MsgLogError::io(dir, e))?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("mlog-") && n.ends_with(".zip.enc"))
        .collect();
    names.sort();
    let mut reports: Vec<ArchiveReport> = Vec::new();
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(|e| MsgLogError::io(&path, e))?;
        let prev = reports.last().map(|r| r.digest.as_str());
        reports.push(verify_archive(&name, &bytes, keys, cas, prev)?);
    }
    Ok(reports)
}
