//! Offline verification of ASiC-E containers and archive files (TT-2.2.2, TT-3.8.4): every
//! check names what it checks, and the first failure is reported as the broken link.

use egov_pki::xades;
use egov_pki::{CertProfile, TrustStore};
use serde::Serialize;

use crate::MsgLogError;
use crate::asic::{self, MIMETYPE, RecordInfo};
use crate::record::Direction;
use crate::timestamper::verify_token;

/// How stale an OCSP answer may be relative to the signing time it vouches for (the
/// gateway already enforced the federation's freshness when it accepted the message).
const OCSP_MAX_AGE_SECS: i64 = 24 * 3600;

/// What a verified container proves.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ContainerReport {
    /// Position in the writing server's log.
    pub seq: i64,
    /// Client or provider side.
    pub side: String,
    /// Request or response.
    pub direction: String,
    /// The client.
    pub client: String,
    /// The service.
    pub service: String,
    /// The client's message id.
    pub query_id: Option<String>,
    /// Member whose signing certificate signed.
    pub signer: String,
    /// `SigningTime`.
    pub signing_time: String,
    /// Whether a *good* OCSP answer was stapled.
    pub ocsp_good: bool,
    /// Time of the time-stamp (Unix seconds).
    pub timestamp_time: i64,
    /// The record's hash (base64), and the previous record's.
    pub record_hash: String,
    /// Previous record's hash.
    pub prev_hash: String,
}

fn broken(what: &str, why: impl std::fmt::Display) -> MsgLogError {
    MsgLogError::Broken(format!("{what}: {why}"))
}

fn entry<'a>(entries: &'a [(String, Vec<u8>)], name: &str) -> Result<&'a [u8], MsgLogError> {
    entries.iter().find(|(n, _)| n == name).map(|(_, d)| d.as_slice()).ok_or_else(|| broken(name, "missing"))
}

fn text<'a>(entries: &'a [(String, Vec<u8>)], name: &str) -> Result<&'a str, MsgLogError> {
    std::str::from_utf8(entry(entries, name)?).map_err(|_| broken(name, "not UTF-8"))
}

fn root_of(result_xml: &str, what: &str) -> Result<[u8; 32], MsgLogError> {
    let doc = roxmltree::Document::parse(result_xml).map_err(|e| broken(what, e))?;
    let value = doc
        .descendants()
        .find(|n| n.has_tag_name((xades::NS_DS, "DigestValue")))
        .and_then(|n| n.text())
        .ok_or_else(|| broken(what, "no DigestValue"))?;
    let root: [u8; 32] = crate::log::unb64(value.trim(), what)?.try_into().map_err(|_| broken(what, "not 32 bytes"))?;
    if xades::hashchain_result(&root) != result_xml {
        return Err(broken(what, "not in the form egov writes (altered?)"));
    }
    Ok(root)
}

/// Verifies one container against the Certification Centre's certificates `cas`.
pub fn verify_container(bytes: &[u8], cas: &[Vec<u8>]) -> Result<ContainerReport, MsgLogError> {
    let (first, entries) = asic::read_zip(bytes).map_err(|e| broken("container", e))?;
    if first != "mimetype" || entry(&entries, "mimetype")? != MIMETYPE.as_bytes() {
        return Err(broken("mimetype", format!("the first entry must be 'mimetype' holding {MIMETYPE}")));
    }
    let info: RecordInfo = serde_json::from_slice(entry(&entries, "META-INF/egov-record.json")?)
        .map_err(|e| broken("META-INF/egov-record.json", e))?;
    let h = &info.header;

    // 1. the message is what was signed
    let body = entries.iter().find(|(n, _)| n == "attachment1").map_or(&[][..], |(_, d)| d.as_slice());
    let digest = asic::transport_digest(entry(&entries, "transport-meta.json")?, entry(&entries, "message.xml")?, body);
    if crate::log::b64(&digest) != h.transport_digest {
        return Err(broken("message.xml", "the message, its metadata or attachment was altered (digest differs)"));
    }
    let manifest = text(&entries, "META-INF/manifest.xml")?;
    for name in ["message.xml", "transport-meta.json"].into_iter().chain((!body.is_empty()).then_some("attachment1")) {
        if !manifest.contains(&format!("manifest:full-path=\"{name}\"")) {
            return Err(broken("META-INF/manifest.xml", format!("does not list {name}")));
        }
    }

    // 2. the batch signature: path from the message to the signed root
    let (proof, _) =
        asic::parse_hashchain_xml(text(&entries, "sig-hashchain.xml")?).map_err(|e| broken("sig-hashchain.xml", e))?;
    let sig_root = egov_pki::batch::root_from_proof(&digest, &proof)
        .ok_or_else(|| broken("sig-hashchain.xml", "bad hash value"))?;
    if root_of(text(&entries, "sig-hashchainresult.xml")?, "sig-hashchainresult.xml")? != sig_root {
        return Err(broken("sig-hashchain.xml", "does not lead from the message to the signed root"));
    }

    // 3. the signature, its certificate and OCSP answer at signing time
    let signatures = text(&entries, "META-INF/signatures.xml")?;
    let parsed = xades::parse_document(signatures).map_err(|e| broken("META-INF/signatures.xml", e))?;
    let signing_ms =
        xades::parse_signing_time(&parsed.signing_time).map_err(|e| broken("META-INF/signatures.xml", e))?;
    let trust = TrustStore::new(cas.to_vec());
    let cert = trust
        .verify(&parsed.certificate, signing_ms / 1000)
        .map_err(|e| broken("signing certificate", format!("{e} (at signing time {})", parsed.signing_time)))?;
    let expected_signer = match h.direction {
        Direction::Request => h.client.parse::<egov_xroad::ClientId>().map(|c| c.member_id()),
        Direction::Response => h.service.parse::<egov_xroad::ServiceId>().map(|s| s.provider().member_id()),
    }
    .map_err(|e| broken("META-INF/egov-record.json", e))?;
    let signer = match &cert.profile {
        CertProfile::Sign(m) if *m == expected_signer => m.to_string(),
        other => {
            return Err(broken(
                "signing certificate",
                format!("issued for {other:?}, but the {} is signed by {expected_signer}", h.direction.as_str()),
            ));
        }
    };
    xades::verify_document(signatures, &sig_root, &cert.public_key)
        .map_err(|e| broken("META-INF/signatures.xml", e))?;
    let mut ocsp_good = false;
    if let Some(ocsp) = &parsed.ocsp {
        let info = cas
            .iter()
            .find_map(|ca| egov_pki::ocsp::verify_response(ocsp, ca, signing_ms / 1000, OCSP_MAX_AGE_SECS).ok())
            .ok_or_else(|| broken("OCSP response", "not signed by the CA, or not fresh at signing time"))?;
        match info.status_of(&parsed.certificate) {
            Some(egov_pki::ocsp::CertStatus::Good) => ocsp_good = true,
            other => return Err(broken("OCSP response", format!("says {other:?} for the signing certificate"))),
        }
    }

    // 4. the record's place in the log
    if crate::log::b64(&xades::sha256(signatures.as_bytes())) != h.signature_xml_sha256 {
        return Err(broken("META-INF/egov-record.json", "names another signatures.xml"));
    }
    if crate::log::b64(&h.hash()) != info.record_hash {
        return Err(broken("META-INF/egov-record.json", "record hash does not match its fields"));
    }

    // 5. the time-stamp over the batch of signatures
    let (ts_proof, _) =
        asic::parse_hashchain_xml(text(&entries, "ts-hashchain.xml")?).map_err(|e| broken("ts-hashchain.xml", e))?;
    let ts_root = egov_pki::batch::root_from_proof(&xades::sha256(signatures.as_bytes()), &ts_proof)
        .ok_or_else(|| broken("ts-hashchain.xml", "bad hash value"))?;
    let ts_result = text(&entries, "ts-hashchainresult.xml")?;
    if root_of(ts_result, "ts-hashchainresult.xml")? != ts_root {
        return Err(broken("ts-hashchain.xml", "does not lead from signatures.xml to the time-stamped root"));
    }
    let imprint = xades::sha256(ts_result.as_bytes());
    let token = asic::timestamp_token(entry(&entries, "META-INF/timestamp.tst")?)
        .map_err(|e| broken("META-INF/timestamp.tst", e))?;
    let ts = verify_token(&token, &imprint, cas).map_err(|e| broken("META-INF/timestamp.tst", e))?;
    if !text(&entries, "META-INF/ASiCManifest.xml")?.contains(&crate::log::b64(&imprint)) {
        return Err(broken("META-INF/ASiCManifest.xml", "does not name ts-hashchainresult.xml's digest"));
    }
    if ts.gen_time + egov_pki::ocsp::CLOCK_SKEW_SECS < signing_ms / 1000 {
        return Err(broken("META-INF/timestamp.tst", "the time-stamp is older than the signature"));
    }
    Ok(ContainerReport {
        seq: h.seq,
        side: h.side.as_str().into(),
        direction: h.direction.as_str().into(),
        client: h.client.clone(),
        service: h.service.clone(),
        query_id: h.query_id.clone(),
        signer,
        signing_time: parsed.signing_time,
        ocsp_good,
        timestamp_time: ts.gen_time,
        record_hash: info.record_hash.clone(),
        prev_hash: h.prev_hash.clone(),
    })
}

/// What [`MessageLog::verify_database`] found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DatabaseReport {
    /// First record still in the database (older ones were cleaned).
    pub first_seq: i64,
    /// Last record.
    pub last_seq: i64,
    /// Records checked.
    pub records: u64,
    /// Records whose contents were decrypted and matched their signed digest.
    pub contents_checked: u64,
    /// Time-stamp batches whose token verified.
    pub timestamps_checked: u64,
    /// Records not yet time-stamped.
    pub unstamped: u64,
}

impl crate::MessageLog {
    /// Verifies the whole database: the hash chain from the oldest remaining record to the
    /// newest, each record's signature document, its contents (when `keys` is given) and
    /// every time-stamp token (against `cas`). Fails at the first broken link, naming it.
    pub async fn verify_database(
        &self,
        keys: Option<&crate::Keyring>,
        cas: &[Vec<u8>],
    ) -> Result<DatabaseReport, MsgLogError> {
        let mut report = DatabaseReport::default();
        let mut prev: Option<(i64, String)> = None;
        let mut checked_batches = std::collections::HashSet::new();
        loop {
            let from = prev.as_ref().map_or(0, |(s, _)| s + 1);
            let page = self.records_from(from, 1000).await?;
            if page.is_empty() {
                break;
            }
            for r in page {
                let h = &r.header;
                let at = |m: String| MsgLogError::Broken(format!("record {}: {m}", h.seq));
                match &prev {
                    None => report.first_seq = h.seq,
                    Some((seq, hash)) => {
                        if h.seq != seq + 1 {
                            return Err(MsgLogError::Broken(format!(
                                "record {} is missing (record {} follows record {seq})",
                                seq + 1,
                                h.seq
                            )));
                        }
                        if &h.prev_hash != hash {
                            return Err(at(format!("does not link to record {seq} (previous hash differs)")));
                        }
                    }
                }
                if crate::log::b64(&h.hash()) != r.record_hash {
                    return Err(at("altered: its fields do not match its hash".into()));
                }
                let digest = r.transport_digest()?;
                let document = r.signature.document(&digest).map_err(|e| at(format!("signature: {e}")))?;
                if crate::log::b64(&xades::sha256(document.as_bytes())) != h.signature_xml_sha256 {
                    return Err(at("altered: the stored signature is not the one chained".into()));
                }
                if let Some(keys) = keys {
                    r.contents(keys)?;
                    report.contents_checked += 1;
                }
                match r.ts_batch {
                    None => report.unstamped += 1,
                    Some(id) if !checked_batches.contains(&id) => {
                        let batch = self.timestamp_batch(id).await?;
                        // a batch covers consecutive records: a gap is a removed record
                        if let Some(w) = batch.leaves.windows(2).find(|w| w[1].0 != w[0].0 + 1) {
                            return Err(MsgLogError::Broken(format!(
                                "record {} is missing (time-stamp batch {id} covers records {} to {})",
                                w[0].0 + 1,
                                batch.leaves.first().map_or(0, |l| l.0),
                                batch.leaves.last().map_or(0, |l| l.0),
                            )));
                        }
                        let leaves: Vec<[u8; 32]> = batch.leaves.iter().map(|(_, l)| *l).collect();
                        let (root, _) = egov_pki::batch::build(&leaves);
                        let imprint = xades::sha256(xades::hashchain_result(&root).as_bytes());
                        verify_token(&batch.token, &imprint, cas)
                            .map_err(|e| {
                                at(format!("time-stamp batch {id} does not prove its records (a record removed or altered, or a token for other data): {e}"))
                            })?;
                        checked_batches.insert(id);
                        report.timestamps_checked += 1;
                    }
                    Some(_) => {}
                }
                report.records += 1;
                report.last_seq = h.seq;
                prev = Some((h.seq, r.record_hash.clone()));
            }
        }
        Ok(report)
    }
}
