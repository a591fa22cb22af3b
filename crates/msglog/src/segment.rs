//! Segment files: the records themselves, appended in chain order beside the database
//! (shared/DESIGN.md, storage: "message-log payloads may live in segment files beside the
//! database").
//!
//! Why: storing a whole record (about 3 KB: encrypted contents, signature block) as a row
//! through SQL cost about 75 µs of CPU per record and capped the gateway at a third of its
//! speed; appending the same bytes to a file costs a few µs, and the database keeps a lean
//! index row (sequence number, query id, time-stamp and archive state, where the frame is)
//! that costs about 3 µs (docs/performance.md, issue 4). The writer appends a group's frames
//! and `fdatasync`s the segment, then commits the group's index rows: the database stays the
//! authority on what was logged, and a frame is never referenced before it is on disk.
//!
//! A frame (integers little-endian):
//!
//! ```text
//! "EGF1" | body length N (u32) | body (N bytes) | SHA-256 of everything before it (32 bytes)
//! body = seq (i64) | meta length (u32) | meta (JSON: header, hash, signature, key id)
//!        | nonce length (u32) | nonce | ciphertext length (u32) | ciphertext
//! ```
//!
//! The checksum finds a torn or damaged frame (an interrupted write, a bad disk block); the
//! record hash chain and the time-stamps, checked by [`crate::verify`], find deliberate
//! changes. Files are `NNNNNNNNNN.seg` in a directory named after the database's log id, so
//! two databases pointed at one segment directory cannot mix their records.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::MsgLogError;
use crate::record::RecordHeader;

const MAGIC: &[u8; 4] = b"EGF1";
const PREFIX: usize = 8;
const CHECKSUM: usize = 32;
/// Largest frame body accepted when reading (a record's contents are bounded by the
/// gateway's message size limit; this only stops a damaged length from allocating wildly).
const MAX_BODY: usize = 1 << 30;

/// The non-binary part of a frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameMeta {
    /// The hashed fields.
    pub header: RecordHeader,
    /// The record's hash (base64).
    pub record_hash: String,
    /// The signature block without its certificate and OCSP response.
    pub signature: egov_pki::xades::SignatureBlock,
    /// SHA-256 (base64) of the signing certificate, stored once in `signature_part`.
    pub cert_ref: String,
    /// SHA-256 (base64) of the stapled OCSP response, stored once in `signature_part`.
    pub ocsp_ref: Option<String>,
    /// Key that encrypted the contents.
    pub key_id: String,
}

/// One record as framed in a segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Its fields.
    pub meta: FrameMeta,
    /// AES-GCM nonce.
    pub nonce: Vec<u8>,
    /// Encrypted contents.
    pub ciphertext: Vec<u8>,
}

/// Why bytes are not a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer bytes than the frame declares: a write that did not finish.
    #[error("the frame is incomplete ({have} of {need} bytes)")]
    Truncated {
        /// Bytes present.
        have: usize,
        /// Bytes the frame needs.
        need: usize,
    },
    /// The bytes do not start a frame.
    #[error("no frame starts here")]
    BadMagic,
    /// The frame's checksum does not match its bytes.
    #[error("the frame's checksum does not match (damaged)")]
    Checksum,
    /// The checksum matches but the body is not a record.
    #[error("the frame is not a record: {0}")]
    Malformed(String),
}

/// Where a frame is: segment number, byte offset, length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FramePosition {
    /// Segment number (from 1).
    pub segment: i64,
    /// Offset of the frame's first byte.
    pub offset: i64,
    /// The frame's length in bytes.
    pub len: i64,
}

impl Frame {
    /// Appends the encoded frame to `out`; returns its length.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<usize, MsgLogError> {
        let meta = serde_json::to_vec(&self.meta).map_err(|e| MsgLogError::Invalid(e.to_string()))?;
        let body_len = 8 + 4 + meta.len() + 4 + self.nonce.len() + 4 + self.ciphertext.len();
        let too_big = || MsgLogError::Invalid(format!("a record of {body_len} bytes is too large to log"));
        if body_len > MAX_BODY {
            return Err(too_big());
        }
        let start = out.len();
        out.reserve(PREFIX + body_len + CHECKSUM);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&u32::try_from(body_len).map_err(|_| too_big())?.to_le_bytes());
        out.extend_from_slice(&self.meta.header.seq.to_le_bytes());
        for part in [&meta[..], &self.nonce, &self.ciphertext] {
            out.extend_from_slice(&u32::try_from(part.len()).map_err(|_| too_big())?.to_le_bytes());
            out.extend_from_slice(part);
        }
        let sum = egov_pki::xades::sha256(&out[start..]);
        out.extend_from_slice(&sum);
        Ok(out.len() - start)
    }

    /// Reads the frame at the start of `bytes`; returns it and its length.
    pub fn decode(bytes: &[u8]) -> Result<(Frame, usize), FrameError> {
        let need_prefix = FrameError::Truncated { have: bytes.len(), need: PREFIX };
        let prefix = bytes.get(..PREFIX).ok_or(need_prefix)?;
        if &prefix[..4] != MAGIC {
            return Err(FrameError::BadMagic);
        }
        let body_len = u32::from_le_bytes([prefix[4], prefix[5], prefix[6], prefix[7]]) as usize;
        if body_len > MAX_BODY {
            return Err(FrameError::Malformed(format!("declared length {body_len} is too large")));
        }
        let total = PREFIX + body_len + CHECKSUM;
        let frame = bytes.get(..total).ok_or(FrameError::Truncated { have: bytes.len(), need: total })?;
        let (signed, sum) = frame.split_at(PREFIX + body_len);
        if egov_pki::xades::sha256(signed)[..] != sum[..] {
            return Err(FrameError::Checksum);
        }
        let mut body = &signed[PREFIX..];
        let seq = i64::from_le_bytes(take(&mut body, 8)?.try_into().map_err(|_| malformed("sequence number"))?);
        let mut part = || -> Result<&[u8], FrameError> {
            let len = take(&mut body, 4)?;
            let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
            take(&mut body, len)
        };
        let meta: FrameMeta = serde_json::from_slice(part()?).map_err(|e| malformed(&format!("fields: {e}")))?;
        let nonce = part()?.to_vec();
        let ciphertext = part()?.to_vec();
        if !body.is_empty() {
            return Err(malformed("bytes after the contents"));
        }
        if meta.header.seq != seq {
            return Err(malformed(&format!("frame of record {seq} holds the fields of record {}", meta.header.seq)));
        }
        Ok((Frame { meta, nonce, ciphertext }, total))
    }
}

fn malformed(what: &str) -> FrameError {
    FrameError::Malformed(what.to_owned())
}

fn take<'a>(body: &mut &'a [u8], n: usize) -> Result<&'a [u8], FrameError> {
    if body.len() < n {
        return Err(malformed("a part is longer than the frame"));
    }
    let (head, rest) = body.split_at(n);
    *body = rest;
    Ok(head)
}

/// The segment file `number` in `dir`.
pub fn segment_path(dir: &Path, number: i64) -> PathBuf {
    dir.join(format!("{number:010}.seg"))
}

/// Segment numbers present in `dir`, ascending.
pub fn segment_numbers(dir: &Path) -> Result<Vec<i64>, MsgLogError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(MsgLogError::io(dir, e)),
    };
    let mut numbers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| MsgLogError::io(dir, e))?;
        let name = entry.file_name();
        if let Some(n) = name.to_str().and_then(|n| n.strip_suffix(".seg")).and_then(|n| n.parse::<i64>().ok()) {
            numbers.push(n);
        }
    }
    numbers.sort_unstable();
    Ok(numbers)
}

/// Reads the frames at `positions` (blocking; call from `spawn_blocking`).
pub fn read_frames(dir: &Path, positions: &[FramePosition]) -> Result<Vec<Frame>, MsgLogError> {
    let mut open: Option<(i64, File)> = None;
    let mut frames = Vec::with_capacity(positions.len());
    for p in positions {
        let path = segment_path(dir, p.segment);
        if open.as_ref().is_none_or(|(n, _)| *n != p.segment) {
            let file = File::open(&path).map_err(|e| {
                MsgLogError::Broken(format!(
                    "segment file {} cannot be opened ({e}): the records in it are lost",
                    path.display()
                ))
            })?;
            open = Some((p.segment, file));
        }
        let Some((_, file)) = &open else { continue };
        let at = |m: String| MsgLogError::Broken(format!("{} at offset {}: {m}", path.display(), p.offset));
        let len = usize::try_from(p.len).map_err(|_| at(format!("bad frame length {}", p.len)))?;
        let offset = u64::try_from(p.offset).map_err(|_| at("bad offset".into()))?;
        let mut buf = vec![0u8; len];
        file.read_exact_at(&mut buf, offset).map_err(|e| at(format!("the frame cannot be read ({e})")))?;
        let (frame, used) = Frame::decode(&buf).map_err(|e| at(e.to_string()))?;
        if used != len {
            return Err(at(format!("the frame is {used} bytes, the index says {len}")));
        }
        frames.push(frame);
    }
    Ok(frames)
}

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct SegmentWriter {
    dir: PathBuf,
    number: i64,
    file: File,
    /// Bytes that are durable: the file is cut back to this after a failed write.
    len: u64,
    max_bytes: u64,
    /// The file is longer than `len` after a failure that could not be undone.
    dirty: bool,
}

impl SegmentWriter {
    /// Opens segment `number` for appending at `len` (the end of its last good frame).
    pub(crate) fn open(dir: &Path, number: i64, len: u64, max_bytes: u64) -> Result<Self, MsgLogError> {
        std::fs::create_dir_all(dir).map_err(|e| MsgLogError::io(dir, e))?;
        let file = open_for_writing(dir, number)?;
        let mut w = Self { dir: dir.to_owned(), number, file, len, max_bytes, dirty: true };
        w.cut_back()?;
        sync_dir(dir)?;
        Ok(w)
    }

    /// Appends `frames` (already encoded) and waits for them to be on disk; returns the
    /// segment number and the offset of their first byte. Starts a new segment first when
    /// this one is full. On failure the segment is cut back to where it was.
    pub(crate) fn append(&mut self, frames: &[u8]) -> Result<(i64, u64), MsgLogError> {
        if self.dirty {
            self.cut_back()?;
        }
        if self.len >= self.max_bytes {
            self.rotate()?;
        }
        let offset = self.len;
        let path = segment_path(&self.dir, self.number);
        // at the offset this writer knows to be the end of its last good frame, whatever
        // else may have been appended
        let written = self.file.write_all_at(frames, offset).and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            self.dirty = true;
            let _ = self.cut_back();
            return Err(MsgLogError::io(&path, e));
        }
        self.len += frames.len() as u64;
        Ok((self.number, offset))
    }

    fn cut_back(&mut self) -> Result<(), MsgLogError> {
        let path = segment_path(&self.dir, self.number);
        self.file.set_len(self.len).and_then(|()| self.file.sync_data()).map_err(|e| MsgLogError::io(&path, e))?;
        self.dirty = false;
        Ok(())
    }

    fn rotate(&mut self) -> Result<(), MsgLogError> {
        let number = self.number + 1;
        let file = open_for_writing(&self.dir, number)?;
        file.set_len(0).map_err(|e| MsgLogError::io(&segment_path(&self.dir, number), e))?;
        sync_dir(&self.dir)?;
        tracing::info!(segment = number, "message log: new segment file");
        *self = Self { dir: self.dir.clone(), number, file, len: 0, max_bytes: self.max_bytes, dirty: false };
        Ok(())
    }
}

/// Segment `number`, created if missing, never truncated (its length is the writer's to set).
fn open_for_writing(dir: &Path, number: i64) -> Result<File, MsgLogError> {
    let path = segment_path(dir, number);
    OpenOptions::new().create(true).write(true).truncate(false).open(&path).map_err(|e| MsgLogError::io(&path, e))
}

/// Makes a new directory entry durable.
fn sync_dir(dir: &Path) -> Result<(), MsgLogError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(|e| MsgLogError::io(dir, e))
}

/// Frames found after the database's last record: written and flushed, but their index rows
/// not committed (a crash between the two steps, or a database restored from an older
/// backup than the segments).
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    /// Frames to index again, in order, with their positions.
    pub frames: Vec<(Frame, FramePosition)>,
    /// Where appending continues.
    pub segment: i64,
    /// Offset where appending continues.
    pub len: u64,
}

/// Scans the segments from `from` (segment, offset) to their end. A damaged or unfinished
/// frame at the end of the last segment (a write cut off by a crash) is moved aside into
/// `NNN.seg.torn-<ms>` and cut off; damage anywhere else is refused, as frames after it
/// may be records somebody was told were logged.
pub(crate) fn scan_after(dir: &Path, from: (i64, u64)) -> Result<Recovered, MsgLogError> {
    let numbers: Vec<i64> = segment_numbers(dir)?.into_iter().filter(|n| *n >= from.0).collect();
    if from.1 > 0 && numbers.first() != Some(&from.0) {
        return Err(MsgLogError::Broken(format!(
            "segment file {} is missing, but the database has records in it: restore the segment \
             directory from the backup that goes with the database (or point segment_dir at it)",
            segment_path(dir, from.0).display()
        )));
    }
    let mut out = Recovered { frames: Vec::new(), segment: from.0, len: from.1 };
    let last = numbers.last().copied();
    for number in numbers {
        let path = segment_path(dir, number);
        let bytes = std::fs::read(&path).map_err(|e| MsgLogError::io(&path, e))?;
        let mut pos = if number == from.0 { from.1 as usize } else { 0 };
        if pos > bytes.len() {
            return Err(MsgLogError::Broken(format!(
                "{} is {} bytes, but the database has records up to byte {pos}: the segment was truncated",
                path.display(),
                bytes.len()
            )));
        }
        while pos < bytes.len() {
            match Frame::decode(&bytes[pos..]) {
                Ok((frame, used)) => {
                    let at = FramePosition { segment: number, offset: pos as i64, len: used as i64 };
                    out.frames.push((frame, at));
                    pos += used;
                }
                Err(e) if Some(number) == last && is_torn_tail(&bytes[pos..], &e) => {
                    let aside = dir.join(format!("{number:010}.seg.torn-{}", crate::log::now_ms()));
                    std::fs::write(&aside, &bytes[pos..]).map_err(|e| MsgLogError::io(&aside, e))?;
                    tracing::warn!(
                        segment = %path.display(), offset = pos, bytes = bytes.len() - pos, kept_in = %aside.display(),
                        "message log: an unfinished frame at the end of the last segment was moved aside ({e})"
                    );
                    let file = OpenOptions::new().write(true).open(&path).map_err(|e| MsgLogError::io(&path, e))?;
                    file.set_len(pos as u64).and_then(|()| file.sync_all()).map_err(|e| MsgLogError::io(&path, e))?;
                    break;
                }
                Err(e) => {
                    return Err(MsgLogError::Broken(format!(
                        "{} at offset {pos}: {e}; the records after it cannot be trusted — restore the segment from a backup",
                        path.display()
                    )));
                }
            }
        }
        out.segment = number;
        out.len = pos as u64;
    }
    Ok(out)
}

/// Whether `rest`, which does not start with a good frame, is what a crash during the last
/// write leaves: a frame cut short, a last frame whose bytes did not all reach the disk, or
/// zeros where the file was extended but not written. Anything followed by more data is not.
fn is_torn_tail(rest: &[u8], error: &FrameError) -> bool {
    match error {
        FrameError::Truncated { .. } => true,
        FrameError::Checksum => {
            let declared = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            PREFIX + declared + CHECKSUM >= rest.len()
        }
        FrameError::BadMagic | FrameError::Malformed(_) => rest.iter().all(|b| *b == 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Direction, Side};
    use std::io::Write;

    fn frame(seq: i64, size: usize) -> Frame {
        Frame {
            meta: FrameMeta {
                header: RecordHeader {
                    seq,
                    time_ms: 1,
                    request_id: format!("r{seq}"),
                    query_id: Some("q".into()),
                    side: Side::Client,
                    direction: Direction::Request,
                    client: "AZ/GOV/1/c".into(),
                    service: "AZ/GOV/2/s/x".into(),
                    protocol: "soap".into(),
                    transport_digest: "d".into(),
                    signature_xml_sha256: "s".into(),
                    archive: true,
                    retention_days: 10,
                    prev_hash: "p".into(),
                },
                record_hash: "h".into(),
                signature: egov_pki::xades::SignatureBlock {
                    algorithm: "ecdsa-p256-sha256".into(),
                    certificate: String::new(),
                    proof: vec![],
                    value: "v".into(),
                    signing_time: "2026-01-01T00:00:00.000Z".into(),
                    ocsp: None,
                },
                cert_ref: "c".into(),
                ocsp_ref: None,
                key_id: "k1".into(),
            },
            nonce: vec![7; 12],
            ciphertext: vec![9; size],
        }
    }

    #[test]
    fn frames_round_trip_and_damage_is_named() {
        let mut buf = Vec::new();
        let n = frame(5, 100).encode(&mut buf).unwrap();
        assert_eq!(n, buf.len());
        let (f, used) = Frame::decode(&buf).unwrap();
        assert_eq!((f, used), (frame(5, 100), n));
        assert!(matches!(Frame::decode(&buf[..n - 1]), Err(FrameError::Truncated { .. })));
        let mut bad = buf.clone();
        bad[40] ^= 1;
        assert_eq!(Frame::decode(&bad).unwrap_err(), FrameError::Checksum);
        bad[0] = b'X';
        assert_eq!(Frame::decode(&bad).unwrap_err(), FrameError::BadMagic);
    }

    #[test]
    fn a_torn_tail_is_moved_aside_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::open(dir.path(), 1, 0, 1 << 20).unwrap();
        let mut buf = Vec::new();
        let a = frame(1, 10).encode(&mut buf).unwrap();
        frame(2, 10).encode(&mut buf).unwrap();
        w.append(&buf).unwrap();
        // a third frame cut off half-way, as by a crash during the write
        let mut third = Vec::new();
        frame(3, 10).encode(&mut third).unwrap();
        let path = segment_path(dir.path(), 1);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&third[..third.len() / 2]).unwrap();
        let r = scan_after(dir.path(), (1, a as u64)).unwrap();
        assert_eq!(r.frames.len(), 1);
        assert_eq!(r.frames[0].0.meta.header.seq, 2);
        assert_eq!(r.len as usize, buf.len());
        assert_eq!(std::fs::metadata(&path).unwrap().len() as usize, buf.len());
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("torn"))
            .collect();
        assert_eq!(aside.len(), 1, "the torn bytes are kept for inspection");
    }

    #[test]
    fn damage_before_the_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::open(dir.path(), 1, 0, 1 << 20).unwrap();
        let mut buf = Vec::new();
        frame(1, 10).encode(&mut buf).unwrap();
        frame(2, 10).encode(&mut buf).unwrap();
        w.append(&buf).unwrap();
        let path = segment_path(dir.path(), 1);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[30] ^= 0xff;
        std::fs::write(&path, &bytes).unwrap();
        let e = scan_after(dir.path(), (1, 0)).unwrap_err().to_string();
        assert!(e.contains("offset 0") && e.contains("checksum"), "{e}");
    }

    #[test]
    fn a_full_segment_rotates() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SegmentWriter::open(dir.path(), 1, 0, 10).unwrap();
        let mut buf = Vec::new();
        frame(1, 10).encode(&mut buf).unwrap();
        assert_eq!(w.append(&buf).unwrap(), (1, 0));
        let mut buf2 = Vec::new();
        frame(2, 10).encode(&mut buf2).unwrap();
        let at = w.append(&buf2).unwrap();
        assert_eq!(at, (2, 0), "segment 1 was full");
        assert_eq!(segment_numbers(dir.path()).unwrap(), vec![1, 2]);
        let read = read_frames(dir.path(), &[FramePosition { segment: 1, offset: 0, len: buf.len() as i64 }]).unwrap();
        assert_eq!(read[0].meta.header.seq, 1);
    }

    proptest::proptest! {
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = Frame::decode(&bytes);
        }
    }
}
