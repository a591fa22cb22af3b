//! The security server keeps only a digest of an adapter's push token (issue 13 item 10,
//! TT-4.2): the token is nowhere in its database files, and connecting again with the token
//! still pushes the mapping, while another token is refused by the adapter.

#![allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test

use egov_demo::federation::{Federation, ParticipantSpec};

/// Every byte of the server's SQLite database, with its journal files.
fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("agency.db") {
            all.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(!all.is_empty(), "no database in {}", dir.display());
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_push_token_is_kept_only_as_a_digest_and_still_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    let mut fed = Federation::new("AZ").unwrap();
    fed.add(
        ParticipantSpec {
            name: "agency".into(),
            member: "AZ/GOV/1400000008".parse().unwrap(),
            member_name: "agency".into(),
            subsystems: vec!["real-estate-registry".into()],
            server_code: "ss-agency".into(),
        },
        0,
        0,
    )
    .await
    .unwrap();
    let root = dir.path().to_owned();
    let fed = fed.start(move |s| egov_store::sqlite_url(&root.join(format!("{}.db", s.spec.name)))).await.unwrap();
    let client: egov_xroad::ClientId = "AZ/GOV/1400000008/real-estate-registry".parse().unwrap();

    let mapping = include_str!("../mappings/property.toml")
        .replace("${LISTEN}", "127.0.0.1:0")
        .replace("${BACKEND}", "http://127.0.0.1:9");
    // as an administrator makes one: 256 random bits, hex
    let token = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let options = egov_adapter::AdapterOptions { file: None, admin_token: Some(token.clone()) };
    let adapter = egov_adapter::start(mapping.clone(), options).await.unwrap();
    let base = format!("http://{}", adapter.addr());
    let store = fed.store(0);
    let stored =
        egov_security_server::adapters::connect(store, &client, &mapping, Some(&base), &token, None).await.unwrap();

    let bytes = database_bytes(dir.path());
    assert!(!bytes.windows(token.len()).any(|w| w == token.as_bytes()), "the token is in the database");
    assert_eq!(store.adapter_token_matches(&stored.name, &token).await.unwrap(), Some(true));
    assert_eq!(store.adapter_token_matches(&stored.name, "another-token").await.unwrap(), Some(false));
    assert_eq!(store.adapter_token_matches("no-such-adapter", &token).await.unwrap(), None);

    // the push still authenticates with the token the administrator holds; another is refused
    let changed = mapping.replace("max_length = 11", "max_length = 12");
    egov_security_server::adapters::connect(store, &client, &changed, None, &token, None).await.unwrap();
    let refused =
        egov_security_server::adapters::connect(store, &client, &changed, None, "wrong-token", None).await.unwrap_err();
    assert!(refused.to_string().contains("token"), "{refused}");
    assert_eq!(store.adapter_token_matches(&stored.name, &token).await.unwrap(), Some(true), "a refused push keeps it");

    // a database from before tokens were hashed: the clear token is hashed when it is opened
    let url = egov_store::sqlite_url(&dir.path().join("agency.db"));
    sqlx::query("UPDATE adapters SET token = $1").bind(&token).execute(store.database().pool()).await.unwrap();
    assert!(database_bytes(dir.path()).windows(token.len()).any(|w| w == token.as_bytes()), "the old row is written");
    let reopened = egov_security_server::conf::ConfStore::open(&url).await.unwrap();
    assert_eq!(reopened.adapter_token_matches(&stored.name, &token).await.unwrap(), Some(true));
    let kept: String =
        sqlx::query_scalar("SELECT token FROM adapters").fetch_one(store.database().pool()).await.unwrap();
    assert!(kept.starts_with("sha256:") && !kept.contains(&token), "{kept}");

    adapter.stop().await;
    fed.stop().await;
}
