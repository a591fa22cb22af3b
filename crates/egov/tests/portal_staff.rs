//! `egov portal staff-add` and `egov portal code` (R-10; issue 13, item 10): the one-time-code
//! secret is handed over once and stored only sealed, under a key made with mode 0600 in the
//! portal's data directory (by default the SQLite database's own directory); with a database
//! that has no directory the command asks for `--data-dir` instead of guessing.

#![allow(clippy::unwrap_used)]

use std::process::Command;

fn egov(db: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_egov")).args(args).env("EGOV_REGISTRY_DB", db).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

fn after<'a>(out: &'a str, label: &str) -> &'a str {
    out.split(label).nth(1).unwrap().split_whitespace().next().unwrap()
}

#[test]
fn staff_add_seals_the_code_secret_under_a_private_key_beside_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("registry.db");
    let db = egov_store::sqlite_url(&db_path);
    let (ok, out) = egov(&db, &["portal", "staff-add", "--login", "l.aliyeva", "--name", "Leyla Əliyeva"]);
    assert!(ok, "{out}");
    let (password, secret) = (after(&out, "password:"), after(&out, "one-time-code secret:"));
    assert!(out.contains("otpauth://totp/"), "{out}");

    // the key, private from its creation, beside the database
    let key_file = dir.path().join(egov_registry::staff::KEY_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // the database file does not hold the secret
    let bytes = std::fs::read(&db_path).unwrap();
    assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "the secret is in the database in clear");

    // `egov portal code` still turns the handed-over secret into the code that logs in
    let (ok, code) = egov(&db, &["portal", "code", "--secret", secret]);
    assert!(ok && code.trim().len() == 6, "{code}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let registry = egov_registry::store::Registry::open(&db).await.unwrap();
        let key = egov_registry::staff::StaffKey::open_or_create(dir.path()).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let code = egov_registry::staff::current_code(secret, now).unwrap();
        registry.log_in(&key, "l.aliyeva", password, &code, now).await.unwrap();
    });

    // a second member in the same directory uses the same key
    let (ok, out) = egov(&db, &["portal", "staff-add", "--login", "r.mammadov", "--name", "Rauf"]);
    assert!(ok, "{out}");

    // a key others may read is refused, naming the file
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let (ok, out) = egov(&db, &["portal", "staff-add", "--login", "x.y", "--name", "X"]);
        assert!(!ok && out.contains("staff-codes.key") && out.contains("readable by others"), "{out}");
    }

    // PostgreSQL has no directory of its own: --data-dir is asked for (before connecting)
    let (ok, out) = egov("postgres://127.0.0.1:9/none", &["portal", "staff-add", "--login", "a.b", "--name", "A"]);
    assert!(!ok && out.contains("--data-dir"), "{out}");
}
