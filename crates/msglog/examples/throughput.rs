//! Message log write throughput on its own: N concurrent writers, each logging one record
//! and waiting for it to be durable, for a few seconds (docs/performance.md).
//!
//! `cargo run --release -p egov-msglog --example throughput -- [writers] [seconds] [db-url]`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use egov_msglog::{Direction, Entry, Keyring, LogSettings, MessageLog, Side};
use egov_pki::xades::SignatureBlock;

fn entry(i: u64) -> Entry {
    let meta = Bytes::from(format!(r#"{{"request_id":"r{i}"}}"#));
    let message = Bytes::from(vec![b'm'; 1000]);
    let digest = egov_msglog::asic::transport_digest(&meta, &message, b"");
    Entry {
        side: Side::Provider,
        direction: Direction::Request,
        request_id: format!("r{i}"),
        query_id: Some(format!("q{i}")),
        client: "AZ/GOV/1400000001/portal".into(),
        service: "AZ/GOV/1400000003/insurance/payments".into(),
        protocol: "soap".into(),
        meta,
        message,
        body: Bytes::new(),
        transport_digest: digest,
        signature: SignatureBlock {
            algorithm: "ecdsa-p256-sha256".into(),
            certificate: STANDARD.encode(vec![0x30u8; 600]),
            proof: vec![],
            value: STANDARD.encode([1u8; 64]),
            signing_time: "2026-01-01T00:00:00.000Z".into(),
            ocsp: Some(STANDARD.encode(vec![0x30u8; 800])),
        },
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let writers: u64 = args.get(1).map_or(Ok(64), |a| a.parse())?;
    let seconds: u64 = args.get(2).map_or(Ok(5), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let url = args.get(3).cloned().unwrap_or_else(|| egov_store::sqlite_url(&dir.path().join("log.db")));
    let log = MessageLog::open(
        &url,
        Keyring::generate(0)?,
        LogSettings::new(dir.path().join("archive"), dir.path().join("segments")),
    )
    .await?;
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (log, done) = (log.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w * 1_000_000_000;
            while Instant::now() < deadline {
                log.log(entry(i)).await.expect("logged");
                done.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let n = done.load(Ordering::Relaxed);
    println!("{writers} writers, {seconds} s: {n} records, {:.0} records/s", n as f64 / seconds as f64);
    Ok(())
}
