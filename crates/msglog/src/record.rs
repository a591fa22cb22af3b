//! One logged message: what the gateway hands over ([`Entry`]), how its contents are framed
//! for encryption, and the hash that chains it to the record before it (TT-2.2.2).

use bytes::Bytes;
use egov_pki::xades::SignatureBlock;
use serde::{Deserialize, Serialize};

/// Which security server of the exchange wrote the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The consumer's security server.
    Client,
    /// The provider's security server.
    Provider,
}

/// Request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The client's request.
    Request,
    /// The provider's answer.
    Response,
}

impl Side {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Client => "client",
            Side::Provider => "provider",
        }
    }
}

impl Direction {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }
}

/// A signed message to log, exactly as it travelled between the security servers.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Which side logs it.
    pub side: Side,
    /// Request or response.
    pub direction: Direction,
    /// `X-Road-Request-Id`, shared by both servers for one exchange.
    pub request_id: String,
    /// The client's message id (SOAP `id`, REST `X-Road-Id`): the `queryId` of `/asic`.
    pub query_id: Option<String>,
    /// The client, `INSTANCE/CLASS/CODE[/SUBSYSTEM]`.
    pub client: String,
    /// The service, `INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]`.
    pub service: String,
    /// `soap` or `rest`.
    pub protocol: String,
    /// Transport metadata (JSON), signed with the message.
    pub meta: Bytes,
    /// SOAP envelope or REST header part.
    pub message: Bytes,
    /// REST body (empty for SOAP).
    pub body: Bytes,
    /// SHA-256 the signature covers (docs/transport.md: domain, then each frame with its length).
    pub transport_digest: [u8; 32],
    /// The signature.
    pub signature: SignatureBlock,
}

/// Frames metadata, message and body for encryption: each preceded by its length (8 bytes,
/// big-endian).
pub fn frame_contents(meta: &[u8], message: &[u8], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + meta.len() + message.len() + body.len());
    for part in [meta, message, body] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// Splits what [`frame_contents`] wrote.
pub fn unframe_contents(bytes: &[u8]) -> Option<(Bytes, Bytes, Bytes)> {
    let mut rest = bytes;
    let mut parts = Vec::with_capacity(3);
    for _ in 0..3 {
        if rest.len() < 8 {
            return None;
        }
        let (len, after) = rest.split_at(8);
        let len = usize::try_from(u64::from_be_bytes(len.try_into().ok()?)).ok()?;
        if after.len() < len {
            return None;
        }
        let (part, after) = after.split_at(len);
        parts.push(Bytes::copy_from_slice(part));
        rest = after;
    }
    if !rest.is_empty() {
        return None;
    }
    let body = parts.pop()?;
    let message = parts.pop()?;
    let meta = parts.pop()?;
    Some((meta, message, body))
}

/// The fields of a record that its hash covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordHeader {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// When it was logged (ms since the Unix epoch).
    pub time_ms: i64,
    /// Request id.
    pub request_id: String,
    /// Query id.
    pub query_id: Option<String>,
    /// Side.
    pub side: Side,
    /// Direction.
    pub direction: Direction,
    /// Client.
    pub client: String,
    /// Service.
    pub service: String,
    /// Protocol.
    pub protocol: String,
    /// What the signature covers (base64).
    pub transport_digest: String,
    /// SHA-256 of `signatures.xml` (base64): the time-stamp tree's leaf.
    pub signature_xml_sha256: String,
    /// Goes to the archive.
    pub archive: bool,
    /// Days the record is kept.
    pub retention_days: i64,
    /// Hash of the previous record (base64; 32 zero bytes before the first).
    pub prev_hash: String,
}

const RECORD_DOMAIN: &[u8] = b"egov-msglog-record-v1\0";

/// Associated data of a record's ciphertext: its signed digest (unique per message: it
/// covers the request id, nonce and time) and which side logged which direction — so a
/// ciphertext moved to another record fails to decrypt. It does not include the sequence
/// number, so contents can be encrypted by the exchange's own task, before the writer
/// assigns the record its place (shared/DESIGN.md decision 5: no serial work that can run
/// in parallel).
pub fn contents_aad(transport_digest_b64: &str, side: Side, direction: Direction) -> Vec<u8> {
    let mut v = b"egov-msglog-contents-v1\0".to_vec();
    v.extend_from_slice(transport_digest_b64.as_bytes());
    v.push(0);
    v.extend_from_slice(side.as_str().as_bytes());
    v.push(0);
    v.extend_from_slice(direction.as_str().as_bytes());
    v
}

impl RecordHeader {
    /// The record's hash: SHA-256 over a domain tag, the previous hash, and every field
    /// (integers big-endian, strings and digests with a 4-byte length) — so a changed,
    /// removed or reordered record breaks every hash after it.
    pub fn hash(&self) -> [u8; 32] {
        let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        ctx.update(RECORD_DOMAIN);
        let mut field = |bytes: &[u8]| {
            ctx.update(&(bytes.len() as u32).to_be_bytes());
            ctx.update(bytes);
        };
        field(self.prev_hash.as_bytes());
        field(&self.seq.to_be_bytes());
        field(&self.time_ms.to_be_bytes());
        field(self.request_id.as_bytes());
        field(self.query_id.as_deref().unwrap_or("").as_bytes());
        field(&[u8::from(self.query_id.is_some())]);
        field(self.side.as_str().as_bytes());
        field(self.direction.as_str().as_bytes());
        field(self.client.as_bytes());
        field(self.service.as_bytes());
        field(self.protocol.as_bytes());
        field(self.transport_digest.as_bytes());
        field(self.signature_xml_sha256.as_bytes());
        field(&[u8::from(self.archive)]);
        field(&self.retention_days.to_be_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// Associated data binding a record's ciphertext to the record (see [`contents_aad`]).
    pub fn aad(&self) -> Vec<u8> {
        contents_aad(&self.transport_digest, self.side, self.direction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn framing_round_trips(meta in proptest::collection::vec(any::<u8>(), 0..50),
                               message in proptest::collection::vec(any::<u8>(), 0..50),
                               body in proptest::collection::vec(any::<u8>(), 0..50)) {
            let framed = frame_contents(&meta, &message, &body);
            let (m, msg, b) = unframe_contents(&framed).unwrap();
            prop_assert_eq!((&m[..], &msg[..], &b[..]), (&meta[..], &message[..], &body[..]));
            prop_assert!(unframe_contents(&framed[..framed.len().saturating_sub(1)]).is_none() || framed.is_empty());
        }

        #[test]
        fn unframe_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = unframe_contents(&bytes);
        }
    }
}
