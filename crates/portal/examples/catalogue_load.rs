//! Page views of the catalogue under load (issue 6: ≥ 2,000 page views/s, p99 ≤ 50 ms with
//! ≥ 1,000 services on the 2-core machine). A mix of what visitors open — home, searches in
//! three languages, service pages, body pages, the statistics bulletin — against a portal
//! over a SQLite registry of 1,013 services; the stylesheet (a static answer from the same
//! server) is measured in the same run as the baseline.
//!
//! `cargo run --release -p egov-portal --example catalogue_load -- [VIEWS] [CONCURRENCY]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

async fn load(
    http: &reqwest::Client,
    urls: &[String],
    views: usize,
    concurrency: usize,
) -> (f64, Duration, Duration, usize) {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(views);
    for i in 0..views {
        let url = urls[i % urls.len()].clone();
        let http = http.clone();
        let permit = gate.clone().acquire_owned().await.expect("semaphore open");
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = match http.get(&url).send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            drop(permit);
            (t.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(views);
    let mut errors = 0;
    for t in tasks {
        let (d, ok) = t.await.expect("task");
        latencies.push(d);
        errors += usize::from(!ok);
    }
    let rate = views as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    (rate, at(0.5), at(0.99), errors)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let views = args.first().copied().unwrap_or(20_000);
    let concurrency = args.get(1).copied().unwrap_or(32);
    let dir = tempfile::tempdir()?;
    let registry = egov_registry::store::Registry::open(&egov_store::sqlite_url(&dir.path().join("r.db"))).await?;
    registry.seed_resources().await?;
    let mut services = egov_registry::catalogue_seed::named_services();
    services.extend(egov_registry::catalogue_seed::generated_services(1000));
    let day = time::Date::from_calendar_date(2025, time::Month::January, 15)?;
    let numbers = registry.import(&services, "load test", day).await?;
    registry.record_usage_many(&egov_registry::catalogue_seed::demo_usage(&numbers, &["2025-10"])).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let key = egov_registry::staff::StaffKey::open_or_create(dir.path())?;
    let portal = egov_portal::start(listener, registry, key, Duration::from_secs(3600)).await?;
    let base = format!("http://{}", portal.addr);

    let mut mix = Vec::new();
    for (i, n) in numbers.iter().enumerate().step_by(7) {
        let lang = ["az", "en", "ru"][i % 3];
        mix.push(format!("{base}/{lang}/services/{n}"));
    }
    for q in
        ["pensiya", "imei", "su+borcu", "arayis", "lisenziya", "pension", "licence", "справка", "qeydiyyat", "emek"]
    {
        for lang in ["az", "en", "ru"] {
            mix.push(format!("{base}/{lang}/search?q={q}"));
        }
    }
    for lang in ["az", "en", "ru"] {
        mix.push(format!("{base}/{lang}/"));
        mix.push(format!("{base}/{lang}/search?area=22&page=2"));
        mix.push(format!("{base}/{lang}/bodies/21"));
        mix.push(format!("{base}/{lang}/statistics"));
    }
    // every 10th view a page of the mix, in a fixed shuffled order
    let mut urls = Vec::with_capacity(mix.len());
    let mut k = 0usize;
    for _ in 0..mix.len() {
        k = (k + 7919) % mix.len();
        urls.push(mix[k].clone());
    }
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    load(&http, &urls, 2_000, concurrency).await; // warm-up
    let baseline = load(&http, &[format!("{base}/static/portal.css")], views, concurrency).await;
    let pages = load(&http, &urls, views, concurrency).await;
    println!("{views} views, {concurrency} at a time, {} services, {} distinct pages", numbers.len(), urls.len());
    println!("| what | views/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|");
    for (label, (rate, p50, p99, errors)) in [("stylesheet (baseline)", baseline), ("catalogue pages", pages)] {
        println!(
            "| {label} | {rate:.0} | {:.1} | {:.1} | {errors} |",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
    portal.stop();
    Ok(())
}
