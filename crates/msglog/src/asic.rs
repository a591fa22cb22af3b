//! One logged message as an ASiC-E container in X-Road's layout
//! (shared/reference/xroad-protocol.md §6), so an auditor gets one self-contained file:
//!
//! | entry | what |
//! |---|---|
//! | `mimetype` | `application/vnd.etsi.asic-e+zip`, first and uncompressed (ETSI rule) |
//! | `message.xml` | SOAP envelope, or REST header part |
//! | `attachment1` | REST body, when there is one |
//! | `transport-meta.json` | egov: the signed transport metadata (ids, nonce, time) |
//! | `META-INF/signatures.xml` | XAdES signature (egov_pki::xades), with the stapled OCSP response |
//! | `sig-hashchainresult.xml`, `sig-hashchain.xml` | batch signature: root, and the path from this message |
//! | `ts-hashchainresult.xml`, `ts-hashchain.xml` | batch time-stamp: root, and the path from `signatures.xml` |
//! | `META-INF/timestamp.tst` | RFC 3161 token over `ts-hashchainresult.xml`, base64 text of the DER as X-Road writes it |
//! | `META-INF/ASiCManifest.xml` | names the token and what it covers |
//! | `META-INF/manifest.xml` | ODF manifest of the data files |
//! | `META-INF/egov-record.json` | egov: the record's place in the log's hash chain |
//!
//! Hash-chain files use X-Road's element names (`http://cyber.ee/hashchain`) with egov's
//! tree rules (egov_pki::batch: SHA-256, leaf prefix 0x00, node prefix 0x01); docs/msglog.md.

use std::io::{Cursor, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_pki::batch::ProofStep;
use egov_pki::xades::{NS_DS, NS_HASHCHAIN, SHA256};
use serde::{Deserialize, Serialize};
use zip::write::SimpleFileOptions;

use crate::MsgLogError;
use crate::record::RecordHeader;
use crate::stored::{Contents, StoredRecord, TimeStampBatch};

/// MIME type of an ASiC-E container.
pub const MIMETYPE: &str = "application/vnd.etsi.asic-e+zip";

/// `text` reduced to the characters safe in a file name on every system (ASCII letters,
/// digits, `-`, `_`, `.`): how a client's message id names its containers and exports. The
/// one place a query id becomes a file name.
pub fn file_stem(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c)).collect()
}
/// Largest entry read from a container (a message within TT-5.2 limits, with room).
const MAX_ENTRY_BYTES: u64 = 256 * 1024 * 1024;
const DATA_REFS: [&str; 3] = ["/transport-meta.json", "/message.xml", "/attachment1"];

/// The transport digest of a message's frames (docs/transport.md §8).
pub use egov_pki::batch::message_digest as transport_digest;

/// `META-INF/egov-record.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordInfo {
    /// The hashed fields.
    pub header: RecordHeader,
    /// The record's hash (base64).
    pub record_hash: String,
}

/// A hash-chain file: the path from a leaf to the root, root side first (X-Road's STEP0).
pub fn hashchain_xml(proof: &[ProofStep], data_refs: &[&str]) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<hashchain:HashChain xmlns:hashchain=\"{NS_HASHCHAIN}\" \
xmlns:ds=\"{NS_DS}\"><hashchain:DefaultDigestMethod Algorithm=\"{SHA256}\"/>"
    );
    let n = proof.len();
    for (k, step) in proof.iter().rev().enumerate() {
        let value = format!("<hashchain:HashValue>{}</hashchain:HashValue>", STANDARD.encode(&step.sibling));
        let next = format!("<hashchain:StepRef URI=\"#STEP{}\"/>", k + 1);
        let (a, b) = if step.left { (value, next) } else { (next, value) };
        out.push_str(&format!("<hashchain:HashStep id=\"STEP{k}\">{a}{b}</hashchain:HashStep>"));
    }
    out.push_str(&format!("<hashchain:HashStep id=\"STEP{n}\">"));
    for r in data_refs {
        out.push_str(&format!("<hashchain:DataRef URI=\"{r}\"/>"));
    }
    out.push_str("</hashchain:HashStep></hashchain:HashChain>\n");
    out
}

/// Reads a hash-chain file back into a proof (leaf side first) and its data references.
pub fn parse_hashchain_xml(xml: &str) -> Result<(Vec<ProofStep>, Vec<String>), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| e.to_string())?;
    let steps: Vec<_> = doc.descendants().filter(|n| n.has_tag_name((NS_HASHCHAIN, "HashStep"))).collect();
    let (last, inner) = steps.split_last().ok_or("no HashStep")?;
    if inner.len() > 64 {
        return Err("too many steps".into());
    }
    let mut proof = Vec::with_capacity(inner.len());
    for (k, step) in inner.iter().enumerate() {
        if step.attribute("id") != Some(format!("STEP{k}").as_str()) {
            return Err(format!("step {k} is not named STEP{k}"));
        }
        let children: Vec<_> = step.children().filter(|c| c.is_element()).collect();
        let [first, second] = children.as_slice() else {
            return Err(format!("STEP{k} must hold one HashValue and one StepRef"));
        };
        let (value, left) = match (first.tag_name().name(), second.tag_name().name()) {
            ("HashValue", "StepRef") => (first, true),
            ("StepRef", "HashValue") => (second, false),
            _ => return Err(format!("STEP{k} must hold one HashValue and one StepRef")),
        };
        let sibling = STANDARD.decode(value.text().unwrap_or("").trim()).map_err(|e| format!("STEP{k}: {e}"))?;
        if sibling.len() != 32 {
            return Err(format!("STEP{k}: hash value is not 32 bytes"));
        }
        proof.push(ProofStep { sibling, left });
    }
    proof.reverse();
    let refs = last
        .children()
        .filter(|c| c.has_tag_name((NS_HASHCHAIN, "DataRef")))
        .filter_map(|c| c.attribute("URI").map(str::to_owned))
        .collect();
    Ok((proof, refs))
}

fn manifest(files: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<manifest:manifest \
xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\" manifest:version=\"1.2\">\
<manifest:file-entry manifest:full-path=\"/\" manifest:media-type=\"application/vnd.etsi.asic-e+zip\"/>",
    );
    for (path, mime) in files {
        out.push_str(&format!("<manifest:file-entry manifest:full-path=\"{path}\" manifest:media-type=\"{mime}\"/>"));
    }
    out.push_str("</manifest:manifest>\n");
    out
}

fn asic_manifest(ts_result: &[u8]) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<asic:ASiCManifest xmlns:asic=\"{}\" xmlns:ds=\"{NS_DS}\">\
<asic:SigReference URI=\"META-INF/timestamp.tst\" MimeType=\"application/vnd.etsi.timestamp-token\"/>\
<asic:DataObjectReference URI=\"ts-hashchainresult.xml\" MimeType=\"text/xml\">\
<ds:DigestMethod Algorithm=\"{SHA256}\"/><ds:DigestValue>{}</ds:DigestValue></asic:DataObjectReference>\
</asic:ASiCManifest>\n",
        egov_pki::xades::NS_ASIC,
        STANDARD.encode(egov_pki::xades::sha256(ts_result))
    )
}

/// Builds the container of `record` (whose opened contents are `contents`), time-stamped
/// by `batch`.
pub fn build(record: &StoredRecord, contents: &Contents, batch: &TimeStampBatch) -> Result<Vec<u8>, MsgLogError> {
    let seq = record.header.seq;
    let digest = record.transport_digest()?;
    let signatures = record
        .signature
        .document(&digest)
        .map_err(|e| MsgLogError::Broken(format!("record {seq}: stored signature: {e}")))?;
    let sig_root = record.signature.root(&digest).map_err(|e| MsgLogError::Broken(format!("record {seq}: {e}")))?;
    let leaves: Vec<[u8; 32]> = batch.leaves.iter().map(|(_, l)| *l).collect();
    let index = batch
        .leaves
        .iter()
        .position(|(s, _)| *s == seq)
        .ok_or_else(|| MsgLogError::Broken(format!("record {seq} is not in time-stamp batch {}", batch.id)))?;
    let (ts_root, proofs) = egov_pki::batch::build(&leaves);
    let ts_result = egov_pki::xades::hashchain_result(&ts_root);
    let info = RecordInfo { header: record.header.clone(), record_hash: record.record_hash.clone() };
    let info = serde_json::to_string_pretty(&info).map_err(|e| MsgLogError::Invalid(e.to_string()))?;

    let mut data: Vec<(&str, &str)> = vec![("message.xml", "text/xml"), ("transport-meta.json", "application/json")];
    if !contents.body.is_empty() {
        data.push(("attachment1", "application/octet-stream"));
    }
    let mut entries: Vec<(&str, Vec<u8>)> =
        vec![("message.xml", contents.message.to_vec()), ("transport-meta.json", contents.meta.to_vec())];
    if !contents.body.is_empty() {
        entries.push(("attachment1", contents.body.to_vec()));
    }
    entries.extend([
        ("META-INF/signatures.xml", signatures.into_bytes()),
        ("sig-hashchainresult.xml", egov_pki::xades::hashchain_result(&sig_root).into_bytes()),
        ("sig-hashchain.xml", hashchain_xml(&record.signature.proof, &DATA_REFS).into_bytes()),
        ("ts-hashchain.xml", hashchain_xml(&proofs[index], &["/META-INF/signatures.xml"]).into_bytes()),
        ("META-INF/ASiCManifest.xml", asic_manifest(ts_result.as_bytes()).into_bytes()),
        ("ts-hashchainresult.xml", ts_result.into_bytes()),
        // X-Road writes the token as base64 text of its DER, and its verifier reads it so
        // (issue 13 item 17); timestamp_token reads this and the raw DER of older containers
        ("META-INF/timestamp.tst", STANDARD.encode(&batch.token).into_bytes()),
        ("META-INF/manifest.xml", manifest(&data).into_bytes()),
        ("META-INF/egov-record.json", info.into_bytes()),
    ]);
    write_zip(&entries)
}

/// The DER time-stamp token in a `META-INF/timestamp.tst` entry: base64 text of the DER (as
/// X-Road and egov write it now), or the raw DER that egov containers held before. A DER
/// token is an ASN.1 SEQUENCE, so raw DER starts with byte 0x30, while its base64 text starts
/// with `M` (0x30 is `001100…`): the first byte tells the two apart.
pub fn timestamp_token(entry: &[u8]) -> Result<Vec<u8>, String> {
    if entry.first() == Some(&0x30) {
        return Ok(entry.to_vec());
    }
    let text: Vec<u8> = entry.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let der = STANDARD.decode(&text).map_err(|e| format!("neither DER nor base64 text of a DER token ({e})"))?;
    if der.first() != Some(&0x30) {
        return Err("the base64 text does not hold a DER time-stamp token".into());
    }
    Ok(der)
}

/// Writes a ZIP with `mimetype` first and stored, every entry with a fixed date (the same
/// record always gives the same bytes).
pub fn write_zip(entries: &[(&str, Vec<u8>)]) -> Result<Vec<u8>, MsgLogError> {
    let zip_err = |e: zip::result::ZipError| MsgLogError::Invalid(format!("cannot write the container: {e}"));
    let io_err = |e: std::io::Error| MsgLogError::Invalid(format!("cannot write the container: {e}"));
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    zip.start_file("mimetype", stored).map_err(zip_err)?;
    zip.write_all(MIMETYPE.as_bytes()).map_err(io_err)?;
    for (name, bytes) in entries {
        zip.start_file(*name, deflated).map_err(zip_err)?;
        zip.write_all(bytes).map_err(io_err)?;
    }
    Ok(zip.finish().map_err(zip_err)?.into_inner())
}

/// The entries of a ZIP: (name, contents), in order.
pub type ZipEntries = Vec<(String, Vec<u8>)>;

/// Reads every entry of a ZIP (refusing oversized entries and duplicate names); the first
/// entry's name is returned separately.
pub fn read_zip(bytes: &[u8]) -> Result<(String, ZipEntries), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("not a readable ZIP: {e}"))?;
    let mut out: Vec<(String, Vec<u8>)> = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let file = zip.by_index(i).map_err(|e| format!("entry {i}: {e}"))?;
        let name = file.name().map_err(|e| format!("entry {i}: {e}"))?.into_owned();
        if file.size() > MAX_ENTRY_BYTES {
            return Err(format!("{name} is larger than {MAX_ENTRY_BYTES} bytes"));
        }
        let mut data = Vec::with_capacity(file.size() as usize);
        file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut data).map_err(|e| format!("{name}: {e}"))?;
        if out.iter().any(|(n, _)| *n == name) {
            return Err(format!("{name} appears twice"));
        }
        out.push((name, data));
    }
    let first = out.first().map(|(n, _)| n.clone()).unwrap_or_default();
    Ok((first, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hashchain_files_round_trip() {
        let leaves: Vec<[u8; 32]> = (0u8..5).map(|i| [i; 32]).collect();
        let (root, proofs) = egov_pki::batch::build(&leaves);
        for (leaf, proof) in leaves.iter().zip(&proofs) {
            let xml = hashchain_xml(proof, &DATA_REFS);
            let (back, refs) = parse_hashchain_xml(&xml).unwrap();
            assert_eq!(&back, proof);
            assert_eq!(refs, DATA_REFS);
            assert_eq!(egov_pki::batch::root_from_proof(leaf, &back), Some(root));
        }
    }

    #[test]
    fn mimetype_is_first_and_stored() {
        let zip = write_zip(&[("message.xml", b"<x/>".to_vec())]).unwrap();
        assert_eq!(&zip[30..38], b"mimetype");
        assert_eq!(&zip[38..38 + MIMETYPE.len()], MIMETYPE.as_bytes());
        let (first, entries) = read_zip(&zip).unwrap();
        assert_eq!(first, "mimetype");
        assert_eq!(entries[1], ("message.xml".to_owned(), b"<x/>".to_vec()));
    }

    proptest! {
        #[test]
        fn readers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = read_zip(&bytes);
            let _ = parse_hashchain_xml(&String::from_utf8_lossy(&bytes));
        }
    }
}
