//! The portal in a real browser (issue 6, "Done when"): headless Chromium driven through
//! chromedriver by `tests/browser/browser.py` — search, open a service, switch language,
//! screenshots — with axe-core injected into the home, search, service, body, statistics
//! and resources pages; any serious or critical violation fails. `.ci/run` installs
//! chromium, chromium-driver (Debian), selenium (PyPI) and axe-core (npm).

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use time::macros::date;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_in_headless_chromium_is_usable_and_accessible() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let axe = here.join("node_modules/axe-core/axe.min.js");
    assert!(axe.exists(), "axe-core is missing: run `npm ci --prefix crates/portal/tests/browser` (.ci/run does)");

    let dir = tempfile::tempdir().unwrap();
    let registry =
        egov_registry::store::Registry::open(&egov_store::sqlite_url(&dir.path().join("r.db"))).await.unwrap();
    registry.seed_resources().await.unwrap();
    let mut services = egov_registry::catalogue_seed::named_services();
    services.extend(egov_registry::catalogue_seed::generated_services(1000));
    let numbers = registry.import(&services, "test", date!(2025 - 01 - 15)).await.unwrap();
    registry.record_usage_many(&egov_registry::catalogue_seed::demo_usage(&numbers, &["2025-10"])).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let key = egov_registry::staff::StaffKey::open_or_create(dir.path()).unwrap();
    let portal = egov_portal::start(listener, registry, key, Duration::from_secs(3600)).await.unwrap();

    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portal-screenshots");
    let base = format!("http://{}", portal.addr);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3").arg(here.join("browser.py")).arg(&base).arg(&shots).arg(&axe).output()
    })
    .await
    .unwrap()
    .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "the browser test failed (it needs chromium, chromium-driver and selenium, as .ci/run installs):\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("browser: all checks passed"), "{stdout}");
    portal.stop();
}
