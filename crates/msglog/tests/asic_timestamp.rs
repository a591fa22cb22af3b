//! `META-INF/timestamp.tst` in an exported ASiC-E container is base64 text of the DER token,
//! as X-Road writes it; the verifier reads that and the raw DER of older egov containers
//! (issue 13 item 17, TT-3.8.4).

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

mod fixture;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use egov_msglog::verify::verify_container;
use fixture::World;

const ENTRY: &str = "META-INF/timestamp.tst";

/// The container with `ENTRY` replaced by `token`.
fn with_token(container: &[u8], token: &[u8]) -> Vec<u8> {
    let (_, entries) = egov_msglog::asic::read_zip(container).unwrap();
    let entries: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .filter(|(n, _)| n != "mimetype")
        .map(|(n, b)| (n.as_str(), if n == ENTRY { token.to_vec() } else { b.clone() }))
        .collect();
    egov_msglog::asic::write_zip(&entries).unwrap()
}

#[tokio::test]
async fn the_time_stamp_entry_is_base64_text_and_raw_der_still_verifies() {
    let world = World::new().await;
    let log = world.open(&egov_store::sqlite_url(&world.dir.path().join("log.db")), world.keys()).await;
    log.log(world.entry(0, "q0")).await.unwrap();
    log.timestamp_once(world.tsa.as_ref()).await.unwrap();
    let container = log.container(1).await.unwrap();

    // as X-Road writes it: base64 text (no line breaks) of a DER SEQUENCE
    let (_, entries) = egov_msglog::asic::read_zip(&container).unwrap();
    let written = entries.iter().find(|(n, _)| n == ENTRY).map(|(_, b)| b.clone()).unwrap();
    assert!(
        written.iter().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(b)),
        "{ENTRY} is not base64 text: {:?}",
        &written[..written.len().min(16)]
    );
    let der = STANDARD.decode(&written).unwrap();
    assert_eq!(der[0], 0x30, "the text holds a DER SEQUENCE");
    let report = verify_container(&container, &world.cas).unwrap();

    // an older container with the raw DER verifies the same
    let older = with_token(&container, &der);
    assert_eq!(verify_container(&older, &world.cas).unwrap().timestamp_time, report.timestamp_time);
    // base64 split over lines (as some tools write it) too
    let wrapped: Vec<u8> = written.chunks(64).flat_map(|c| [c, b"\r\n"].concat()).collect();
    verify_container(&with_token(&container, &wrapped), &world.cas).unwrap();

    // neither: refused, naming the entry
    let e = verify_container(&with_token(&container, b"not a token!"), &world.cas).unwrap_err().to_string();
    assert!(e.starts_with(ENTRY) && e.contains("base64"), "{e}");
    let e = verify_container(&with_token(&container, STANDARD.encode(b"hello").as_bytes()), &world.cas)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with(ENTRY), "{e}");
}
