//! Back-office staff logins in the database (R-10; issue 13, items 10 and 13), on SQLite and
//! PostgreSQL: failures counted exactly when they arrive together, a one-time code that logs
//! in once however many logins race with it, no lock a stranger could trigger, and the
//! one-time-code secrets sealed at rest under a key kept outside the database.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use egov_registry::staff::{KEY_FILE, LoginError, StaffKey, current_code};
use egov_registry::store::Registry;
use sqlx::Row;

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn logins(registry: Registry, keys: &std::path::Path) {
    let key = Arc::new(StaffKey::open_or_create(keys).unwrap());
    let creds = registry.add_staff(&key, "l.aliyeva", "Leyla Əliyeva").await.unwrap();

    // 16 wrong passwords at once: every one is counted (a read-then-write count loses some)
    let results = all_at_once(16, || {
        let (registry, key) = (registry.clone(), key.clone());
        async move { registry.log_in(&key, "l.aliyeva", "guess", "123456", now()).await }
    })
    .await;
    assert!(results.iter().all(|r| *r == Err(LoginError::Wrong)));
    assert_eq!(registry.failed_logins("l.aliyeva").await.unwrap(), Some(16));
    assert_eq!(registry.failed_logins("nobody").await.unwrap(), None);

    // no lock: after all those failures the right password and code still log in, and the
    // count starts again
    let t = now();
    let code = current_code(&creds.totp_secret, t).unwrap();
    let staff = registry.log_in(&key, "l.aliyeva", &creds.password, &code, t).await.unwrap();
    assert_eq!(staff.name, "Leyla Əliyeva");
    assert_eq!(registry.failed_logins("l.aliyeva").await.unwrap(), Some(0));

    // the next code, sent by eight logins at the same moment: exactly one gets in
    // (RFC 6238 §5.2; a check-then-update lets several through)
    let t = t + 30;
    let code = current_code(&creds.totp_secret, t).unwrap();
    let results = all_at_once(8, || {
        let (registry, key, password, code) = (registry.clone(), key.clone(), creds.password.clone(), code.clone());
        async move { registry.log_in(&key, "l.aliyeva", &password, &code, t).await }
    })
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
    assert_eq!(registry.failed_logins("l.aliyeva").await.unwrap(), Some(7), "the replays count as failures");

    // at rest: the secret is not in the database, only sealed
    let stored: String = sqlx::query("SELECT totp_secret FROM staff WHERE login = 'l.aliyeva'")
        .fetch_one(registry.database().pool())
        .await
        .unwrap()
        .get(0);
    assert!(stored.starts_with("sealed:v1:") && !stored.contains(&creds.totp_secret), "{stored}");
    // the key is private from its creation, and the same key is found again
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(keys.join(KEY_FILE)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let again = StaffKey::open_or_create(keys).unwrap();
    let t = t + 30;
    let code = current_code(&creds.totp_secret, t).unwrap();
    registry.log_in(&again, "l.aliyeva", &creds.password, &code, t).await.unwrap();
    // another portal's key opens nothing (and says nothing more than "wrong")
    let other = tempfile::tempdir().unwrap();
    let other = StaffKey::open_or_create(other.path()).unwrap();
    let t = t + 30;
    let code = current_code(&creds.totp_secret, t).unwrap();
    assert_eq!(registry.log_in(&other, "l.aliyeva", &creds.password, &code, t).await, Err(LoginError::Wrong));
    // a sealed secret copied to another staff member's row does not open there
    let second = registry.add_staff(&key, "r.mammadov", "Rauf Məmmədov").await.unwrap();
    sqlx::query("UPDATE staff SET totp_secret = $1 WHERE login = 'r.mammadov'")
        .bind(&stored)
        .execute(registry.database().pool())
        .await
        .unwrap();
    let code = current_code(&creds.totp_secret, t).unwrap();
    assert_eq!(registry.log_in(&key, "r.mammadov", &second.password, &code, t).await, Err(LoginError::Wrong));

    // a secret an older version stored in clear is sealed on start, and still logs in
    sqlx::query("UPDATE staff SET totp_secret = $1 WHERE login = 'r.mammadov'")
        .bind(&second.totp_secret)
        .execute(registry.database().pool())
        .await
        .unwrap();
    assert_eq!(registry.seal_clear_secrets(&key).await.unwrap(), 1);
    assert_eq!(registry.seal_clear_secrets(&key).await.unwrap(), 0);
    let code = current_code(&second.totp_secret, t).unwrap();
    registry.log_in(&key, "r.mammadov", &second.password, &code, t).await.unwrap();
}

/// Runs `n` futures made by `make` on the runtime's threads, released together.
async fn all_at_once<T, F, Fut>(n: usize, make: F) -> Vec<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let start = Arc::new(tokio::sync::Barrier::new(n));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (start, attempt) = (start.clone(), make());
        set.spawn(async move {
            start.wait().await;
            attempt.await
        });
    }
    set.join_all().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn staff_logins_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&egov_store::sqlite_url(&dir.path().join("registry.db"))).await.unwrap();
    logins(registry, dir.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn staff_logins_on_postgres() {
    let Some(url) = egov_store::test_postgres_url("staff_logins_on_postgres").await else { return };
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&url).await.unwrap();
    logins(registry.clone(), dir.path()).await;
    registry.database().close().await;
    egov_store::drop_test_database(&url).await;
}
