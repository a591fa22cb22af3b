//! The message log end to end: logging, time-stamping, export, verification, tampering,
//! wrong keys, archives, retention, time-stamping failure and a full disk (TT-2.2.2,
//! TT-3.8.4, TT-6.3). On SQLite and, for the main path, PostgreSQL.

#![allow(clippy::unwrap_used)]

mod fixture;

use std::sync::atomic::Ordering;

use egov_msglog::segment::{Frame, FramePosition};
use egov_msglog::verify::verify_container;
use egov_msglog::{MessageLog, MsgLogError};
use fixture::World;

async fn log_many(log: &MessageLog, world: &World, n: usize) -> Vec<i64> {
    let mut tasks = Vec::new();
    for i in 0..n {
        let (log, entry) = (log.clone(), world.entry(i, &format!("q{}", i % 5)));
        tasks.push(tokio::spawn(async move { log.log(entry).await.unwrap() }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.unwrap());
    }
    seqs.sort();
    seqs
}

async fn logs_stamps_exports_and_verifies(url: &str, world: &World) -> MessageLog {
    let log = world.open(url, world.keys()).await;
    let seqs = log_many(&log, world, 20).await;
    assert_eq!(seqs, (1..=20).collect::<Vec<_>>(), "every message acknowledged once, in one chain");
    assert!(log.containers_of_query("q1").await.unwrap_err().to_string().contains("not time-stamped yet"));
    assert_eq!(log.timestamp_once(world.tsa.as_ref()).await.unwrap(), 20);
    assert_eq!(log.counts().await.unwrap(), (20, 0));

    let containers = log.containers_of_query("q1").await.unwrap();
    assert_eq!(containers.len(), 4);
    for (name, bytes) in &containers {
        assert!(name.starts_with("q1-request-") && name.ends_with(".asice"), "{name}");
        let report = verify_container(bytes, &world.cas).unwrap();
        assert_eq!(report.signer, "AZ/GOV/1400000001");
        assert_eq!(report.query_id.as_deref(), Some("q1"));
    }
    let report = log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();
    assert_eq!((report.first_seq, report.last_seq, report.records, report.contents_checked), (1, 20, 20, 20));
    assert_eq!(report.timestamps_checked, 1);
    assert!(matches!(log.containers_of_query("nope").await, Err(MsgLogError::NotFound(_))));
    log
}

#[tokio::test]
async fn sqlite_logs_stamps_exports_and_verifies_and_stores_no_plaintext() {
    let world = World::new().await;
    let path = world.dir.path().join("log.db");
    let log = logs_stamps_exports_and_verifies(&egov_store::sqlite_url(&path), &world).await;
    // TT-6.3: the database file, its WAL and the segment files hold no message contents
    let segments = std::fs::read_dir(log.segment_dir()).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
    assert!(!segments.is_empty());
    for file in [path.clone(), path.with_extension("db-wal")].into_iter().chain(segments) {
        if let Ok(bytes) = std::fs::read(&file) {
            assert!(!bytes.windows(13).any(|w| w == b"personal data"), "{} holds plaintext", file.display());
        }
    }
}

#[tokio::test]
async fn postgres_logs_stamps_exports_and_verifies() {
    let Some(url) = egov_store::test_postgres_url("msglog_main").await else { return };
    let world = World::new().await;
    let log = logs_stamps_exports_and_verifies(&url, &world).await;
    log.database().close().await;
    egov_store::drop_test_database(&url).await;
}

#[tokio::test]
async fn exported_signature_verifies_with_xmlsec1() {
    let world = World::new().await;
    let log = world.open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys()).await;
    log.log(world.entry(1, "x1")).await.unwrap();
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let (_, container) = log.containers_of_query("x1").await.unwrap().remove(0);
    let (_, entries) = egov_msglog::asic::read_zip(&container).unwrap();
    let out = world.dir.path().join("x");
    std::fs::create_dir_all(&out).unwrap();
    for (name, bytes) in &entries {
        let p = out.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    std::fs::write(out.join("ca.pem"), egov_pki::to_pem("CERTIFICATE", &world.cas[0])).unwrap();
    let run = std::process::Command::new("xmlsec1")
        .arg("--verify")
        .args(["--trusted-pem", out.join("ca.pem").to_str().unwrap()])
        .args(["--id-attr:Id", "http://uri.etsi.org/01903/v1.3.2#:SignedProperties"])
        .args(["--url-map:/sig-hashchainresult.xml", out.join("sig-hashchainresult.xml").to_str().unwrap()])
        .arg(out.join("META-INF/signatures.xml"))
        .output()
        .expect("xmlsec1 is not installed (.ci/run installs it)");
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
}

#[tokio::test]
async fn tampering_is_found_and_named() {
    let world = World::new().await;
    let url = egov_store::sqlite_url(&world.dir.path().join("log.db"));
    let log = world.open(&url, world.keys()).await;
    log_many(&log, &world, 10).await;
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let pool = log.database().pool();
    log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();

    // a field changed in the database index
    sqlx::query("UPDATE log_record SET query_id = 'other' WHERE seq = 4").execute(pool).await.unwrap();
    let e = log.verify_database(None, &world.cas).await.unwrap_err().to_string();
    assert!(e.contains("record 4") && e.contains("altered") && e.contains("query id"), "{e}");
    sqlx::query("UPDATE log_record SET query_id = 'q3' WHERE seq = 4").execute(pool).await.unwrap();
    log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();

    // a field changed in the record itself, by someone who rewrote the frame with a valid checksum
    let original = forge_frame(&log, 4, |f| f.meta.header.client = "AZ/GOV/666/evil".into()).await;
    let e = log.verify_database(None, &world.cas).await.unwrap_err().to_string();
    assert!(e.contains("record 4") && e.contains("altered"), "{e}");
    point_index(&log, 4, original).await;
    log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();

    // a damaged byte in a segment file (bad disk block): the frame's checksum names the place
    let at = position(&log, 5).await;
    let path = egov_msglog::segment::segment_path(log.segment_dir(), at.segment);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at.offset as usize + 20] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let e = log.verify_database(None, &world.cas).await.unwrap_err().to_string();
    assert!(e.contains("checksum") && e.contains(&format!("offset {}", at.offset)), "{e}");
    bytes[at.offset as usize + 20] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();

    // contents swapped between records: the AEAD binding refuses them
    let second = egov_msglog::segment::read_frames(log.segment_dir(), &[position(&log, 2).await]).unwrap().remove(0);
    forge_frame(&log, 3, |f| (f.nonce, f.ciphertext) = (second.nonce, second.ciphertext)).await;
    let e = log.verify_database(Some(&log.keys()), &world.cas).await.unwrap_err().to_string();
    assert!(e.contains("record 3") && e.contains("altered"), "{e}");

    // a wrong key
    let e = log.verify_database(Some(&world.keys()), &world.cas).await.unwrap_err().to_string();
    assert!(e.contains("record 1") && e.contains("wrong key"), "{e}");

    // a record removed
    sqlx::query("DELETE FROM log_record WHERE seq = 7").execute(pool).await.unwrap();
    let e = log.verify_database(None, &world.cas).await.unwrap_err().to_string();
    assert!(e.contains("record 7 is missing"), "{e}");

    // a time-stamp for another hash
    let other = world.tsa.centre.timestamp(&egov_pki::tsp::request(&[7u8; 32]));
    let token = egov_pki::tsp::token_of(&other).unwrap();
    sqlx::query("UPDATE ts_batch SET token = $1").bind(base64_encode(&token)).execute(pool).await.unwrap();
    let e = log.verify_database(None, &world.cas).await.unwrap_err().to_string();
    assert!(e.contains("time-stamp batch 1"), "{e}");
}

async fn position(log: &MessageLog, seq: i64) -> FramePosition {
    let (segment, offset, len): (i64, i64, i64) =
        sqlx::query_as("SELECT segment, frame_offset, frame_len FROM log_record WHERE seq = $1")
            .bind(seq)
            .fetch_one(log.database().pool())
            .await
            .unwrap();
    FramePosition { segment, offset, len }
}

async fn point_index(log: &MessageLog, seq: i64, at: FramePosition) {
    sqlx::query("UPDATE log_record SET segment = $1, frame_offset = $2, frame_len = $3 WHERE seq = $4")
        .bind(at.segment)
        .bind(at.offset)
        .bind(at.len)
        .bind(seq)
        .execute(log.database().pool())
        .await
        .unwrap();
}

/// Rewrites record `seq`'s frame with `change` applied — re-encoded with a valid checksum, as
/// someone who knows the format would — into a segment file of its own, and points the
/// index at it; returns where the original frame is.
async fn forge_frame(log: &MessageLog, seq: i64, change: impl FnOnce(&mut Frame)) -> FramePosition {
    let original = position(log, seq).await;
    let mut frame = egov_msglog::segment::read_frames(log.segment_dir(), &[original]).unwrap().remove(0);
    change(&mut frame);
    let mut bytes = Vec::new();
    let len = frame.encode(&mut bytes).unwrap();
    let forged = FramePosition { segment: 900 + seq, offset: 0, len: len as i64 };
    std::fs::write(egov_msglog::segment::segment_path(log.segment_dir(), forged.segment), &bytes).unwrap();
    point_index(log, seq, forged).await;
    original
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

#[tokio::test]
async fn containers_name_the_first_broken_link() {
    let world = World::new().await;
    let log = world.open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys()).await;
    log_many(&log, &world, 3).await;
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let container = log.container(2).await.unwrap();
    verify_container(&container, &world.cas).unwrap();
    let (_, entries) = egov_msglog::asic::read_zip(&container).unwrap();
    let rebuild = |name: &str, f: &dyn Fn(&[u8]) -> Vec<u8>| {
        let e: Vec<(&str, Vec<u8>)> = entries
            .iter()
            .filter(|(n, _)| n != "mimetype")
            .map(|(n, b)| (n.as_str(), if n == name { f(b) } else { b.clone() }))
            .collect();
        egov_msglog::asic::write_zip(&e).unwrap()
    };
    let cases: [(&str, &str); 4] = [
        ("message.xml", "message.xml"),
        ("META-INF/signatures.xml", "META-INF/signatures.xml"),
        ("META-INF/timestamp.tst", "META-INF/timestamp.tst"),
        ("ts-hashchain.xml", "ts-hashchain.xml"),
    ];
    for (entry, named) in cases {
        let altered = rebuild(entry, &|b: &[u8]| {
            let mut b = b.to_vec();
            let i = b.len() / 2;
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            b
        });
        let e = verify_container(&altered, &world.cas).unwrap_err().to_string();
        let named_ok = e.starts_with(named) || (entry.contains("signatures") && e.starts_with("signing certificate"));
        assert!(named_ok, "altering {entry}: {e}");
    }
    let e = verify_container(&container[..container.len() / 2], &world.cas).unwrap_err().to_string();
    assert!(e.contains("container"), "{e}");
    let foreign = vec![World::new().await.cas[0].clone()];
    let e = verify_container(&container, &foreign).unwrap_err().to_string();
    assert!(e.contains("signing certificate"), "{e}");
}

#[tokio::test]
async fn archives_link_and_detect_truncation_and_gaps() {
    let world = World::new().await;
    let mut settings = world.settings();
    settings.archive_max_bytes = 20_000; // a few containers per file
    let log = MessageLog::open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys(), settings)
        .await
        .unwrap();
    log_many(&log, &world, 12).await;
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let files = log.archive_all().await.unwrap();
    assert!(files.len() >= 2, "{} files", files.len());
    assert_eq!(files.iter().map(|f| f.containers).sum::<usize>(), 12);
    let dir = &log.settings().archive_dir;
    let reports = egov_msglog::archive::verify_archive_dir(dir, &log.keys(), &world.cas).unwrap();
    assert_eq!(reports.len(), files.len());
    assert_eq!(reports[1].prev_digest, reports[0].digest, "each file links to the one before");
    assert!(log.archive_all().await.unwrap().is_empty(), "nothing archived twice");

    // more traffic continues the chain across archives
    log_many(&log, &world, 2).await;
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let more = log.archive_all().await.unwrap();
    let reports = egov_msglog::archive::verify_archive_dir(dir, &log.keys(), &world.cas).unwrap();
    assert_eq!(reports.last().unwrap().digest, more.last().unwrap().digest);

    // a wrong key, a truncated file, a missing file
    assert!(
        egov_msglog::archive::verify_archive_dir(dir, &world.keys(), &world.cas)
            .unwrap_err()
            .to_string()
            .contains("wrong key")
    );
    let second = &files[1].path;
    let bytes = std::fs::read(second).unwrap();
    std::fs::write(second, &bytes[..bytes.len() - 100]).unwrap();
    let e = egov_msglog::archive::verify_archive_dir(dir, &log.keys(), &world.cas).unwrap_err().to_string();
    assert!(e.contains(second.file_name().unwrap().to_str().unwrap()) && e.contains("truncated"), "{e}");
    std::fs::remove_file(second).unwrap();
    let e = egov_msglog::archive::verify_archive_dir(dir, &log.keys(), &world.cas).unwrap_err().to_string();
    assert!(e.contains("previous"), "{e}");
}

#[tokio::test]
async fn retention_cleans_archived_records_and_expired_archives() {
    let world = World::new().await;
    let mut settings = world.settings();
    settings
        .policy
        .services
        .push((fixture::SERVICE.into(), egov_msglog::ServicePolicy { archive: true, retention_days: 60 }));
    settings.segment_max_bytes = 1; // a new segment file for every group
    let log = MessageLog::open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys(), settings)
        .await
        .unwrap();
    log_many(&log, &world, 5).await;
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    log_many(&log, &world, 1).await; // the chain head stays
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let now = egov_pki::unix_now() * 1000;
    assert_eq!(log.clean_once(now + 40 * 86_400_000).await.unwrap().records, 0, "not archived yet: kept");
    let files = log.archive_all().await.unwrap();
    assert_eq!(log.clean_once(now).await.unwrap().records, 0, "within 30 days: kept");
    let r = log.clean_once(now + 40 * 86_400_000).await.unwrap();
    assert_eq!((r.records, r.archive_files), (5, 0));
    assert_eq!(log.counts().await.unwrap().0, 1);
    // the segment files of the removed records went with them; the head's stays
    assert!(r.segment_files >= 1, "{r:?}");
    let left = egov_msglog::segment::segment_numbers(log.segment_dir()).unwrap();
    assert_eq!(left, vec![position(&log, 6).await.segment]);
    let report = log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();
    assert_eq!(report.first_seq, 6);
    assert!(files[0].path.exists());
    let r = log.clean_once(now + 61 * 86_400_000).await.unwrap();
    assert!(r.archive_files >= 1);
    assert!(!files[0].path.exists());
}

#[tokio::test]
async fn timestamping_failure_refuses_traffic_after_the_grace_period() {
    let world = World::new().await;
    let mut settings = world.settings();
    settings.timestamp_grace_secs = 1;
    let log = MessageLog::open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys(), settings)
        .await
        .unwrap();
    world.tsa.fail.store(true, Ordering::Relaxed);
    log.log(world.entry(1, "a")).await.unwrap();
    assert!(log.timestamp_once(world.tsa.as_ref()).await.is_err());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let e = log.log(world.entry(2, "b")).await.unwrap_err();
    assert!(matches!(e, MsgLogError::TimestampingFailed { .. }), "{e}");
    assert!(e.to_string().contains("connection refused"), "{e}");
    assert!(log.stats().refusing.is_some());
    world.tsa.fail.store(false, Ordering::Relaxed);
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    log.log(world.entry(3, "c")).await.unwrap();
    assert_eq!(log.counts().await.unwrap().0, 2, "the refused message was not logged");
}

#[tokio::test]
async fn a_full_database_refuses_new_messages_and_keeps_acknowledged_ones() {
    let world = World::new().await;
    let log = world.open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys()).await;
    log_many(&log, &world, 5).await;
    // cap every pooled connection at the pages already used: the next write finds the disk full
    let pool = log.database().pool();
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut c = pool.acquire().await.unwrap();
        let pages: i64 = sqlx::query_scalar("PRAGMA page_count").fetch_one(&mut *c).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {pages}"))).execute(&mut *c).await.unwrap();
        held.push(c);
    }
    drop(held);
    // the index row that needs a new page fails: the records are durable in their segment
    // (acknowledged), but from then on new messages are refused with a clear fault
    let mut acknowledged = 5;
    let refused = loop {
        match log.log(world.entry(100 + acknowledged, "more")).await {
            Ok(_) => acknowledged += 1,
            Err(e) => break e,
        }
        assert!(acknowledged < 10_000, "the database never filled up");
    };
    assert!(matches!(refused, MsgLogError::Full(_)), "{refused}");
    assert!(refused.to_string().contains("nothing was logged"), "{refused}");
    assert!(log.stats().refusing.is_some());
    let e = log.verify_database(None, &world.cas).await.unwrap_err();
    assert!(matches!(e, MsgLogError::Full(_)), "readers are told, not shown a partial log: {e}");
    // space freed (here: a restart without the cap): every acknowledged message is there
    let url = egov_store::sqlite_url(&world.dir.path().join("log.db"));
    let keys = Keyring::from_sealed_json(&log.keys().to_sealed_json("p", 1000).unwrap(), "p").unwrap();
    log.database().close().await;
    drop(log);
    let log = world.open(&url, keys).await;
    assert_eq!(log.counts().await.unwrap().0, acknowledged as i64);
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let report = log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();
    assert_eq!(report.records, acknowledged as u64, "acknowledged messages are intact");
    assert!(log.stats().refusing.is_none());
}

#[tokio::test]
async fn key_rotation_keeps_old_records_readable() {
    let world = World::new().await;
    let log = world.open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys()).await;
    log_many(&log, &world, 3).await;
    let mut keys = Keyring::from_sealed_json(&log.keys().to_sealed_json("p", 1000).unwrap(), "p").unwrap();
    let new = keys.rotate(2).unwrap();
    log.set_keys(keys);
    log.log(world.entry(10, "after")).await.unwrap();
    assert_eq!(log.record(4).await.unwrap().key_id, new);
    assert_ne!(log.record(1).await.unwrap().key_id, new);
    let r = log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();
    assert_eq!(r.contents_checked, 4);
}

#[tokio::test]
async fn reopening_continues_the_chain() {
    let world = World::new().await;
    let url = egov_store::sqlite_url(&world.dir.path().join("log.db"));
    let keys = world.keys();
    let sealed = keys.to_sealed_json("p", 1000).unwrap();
    let log = world.open(&url, keys).await;
    log_many(&log, &world, 3).await;
    log.database().close().await;
    drop(log);
    let log = world.open(&url, Keyring::from_sealed_json(&sealed, "p").unwrap()).await;
    assert_eq!(log.log(world.entry(5, "z")).await.unwrap(), 4);
    log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();

    // a crash after the segment was flushed but before the index rows were committed (the
    // rows removed here), and a write cut off half-way at the end of the segment: at the next
    // start the flushed records are indexed again and the torn bytes moved aside
    sqlx::query("DELETE FROM log_record WHERE seq >= 3").execute(log.database().pool()).await.unwrap();
    let last = position(&log, 2).await;
    let path = egov_msglog::segment::segment_path(log.segment_dir(), last.segment);
    let whole = std::fs::read(&path).unwrap();
    let mut torn = whole.clone();
    torn.extend_from_slice(&whole[..100]);
    std::fs::write(&path, &torn).unwrap();
    log.database().close().await;
    drop(log);
    let log = world.open(&url, Keyring::from_sealed_json(&sealed, "p").unwrap()).await;
    assert_eq!(log.counts().await.unwrap().0, 4, "records 3 and 4 indexed from the segment");
    assert_eq!(std::fs::read(&path).unwrap(), whole, "the torn tail is cut off");
    let aside = std::fs::read_dir(log.segment_dir())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".torn-"));
    assert_eq!(aside.count(), 1, "and kept aside for inspection");
    assert_eq!(log.log(world.entry(6, "y")).await.unwrap(), 5);
    let report = log.verify_database(Some(&log.keys()), &world.cas).await.unwrap();
    assert_eq!((report.first_seq, report.last_seq, report.contents_checked), (1, 5, 5));

    // a database whose segments are gone is refused at start, not silently continued
    log.database().close().await;
    let dir = log.segment_dir().to_owned();
    drop(log);
    std::fs::remove_dir_all(&dir).unwrap();
    let e =
        MessageLog::open(&url, Keyring::from_sealed_json(&sealed, "p").unwrap(), world.settings()).await.unwrap_err();
    assert!(e.to_string().contains("segment"), "{e}");
}

use egov_msglog::Keyring;
