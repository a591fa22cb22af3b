//! Load on adapted services in the demo federation (100,000 people): the same requests
//! three ways in one run — straight to the agency's own system, to its adapter, and
//! through both security servers — so the adapter's and the gateway's shares can be told
//! apart on the same machine at the same moment.
//!
//! `cargo run --release -p egov-demo --example adapted_services -- [REQUESTS] [CONCURRENCY]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

struct Run {
    label: &'static str,
    per_sec: f64,
    p50: Duration,
    p99: Duration,
    errors: usize,
}

async fn load(
    label: &'static str,
    http: &reqwest::Client,
    urls: &[(String, Option<&'static str>)],
    requests: usize,
    concurrency: usize,
) -> Run {
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(requests);
    for i in 0..requests {
        let (url, client) = urls[i % urls.len()].clone();
        let http = http.clone();
        let permit = gate.clone().acquire_owned().await.expect("semaphore open");
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let mut req = http.get(&url);
            if let Some(c) = client {
                req = req.header("X-Road-Client", c);
            }
            let ok = match req.send().await {
                Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                _ => false,
            };
            drop(permit);
            (t.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = 0;
    for t in tasks {
        let (d, ok) = t.await.expect("request task");
        latencies.push(d);
        errors += usize::from(!ok);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Run { label, per_sec: requests as f64 / elapsed.as_secs_f64(), p50: at(0.5), p99: at(0.99), errors }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let requests = args.first().copied().unwrap_or(5_000);
    let concurrency = args.get(1).copied().unwrap_or(32);
    let dir = tempfile::tempdir()?;
    let demo = egov_demo::demo::start(dir.path(), egov_demo::agency::people::DEMO_POPULATION).await?;
    let people = &demo.agencies.population.people;
    let fins: Vec<&str> = people.iter().step_by(97).take(200).map(|p| p.fin.as_str()).collect();
    let portal = Some("AZ/GOV/1400000001/portal");
    let client_url = demo.manifest["security_servers"][0]["client_url"].as_str().unwrap_or_default().to_owned();
    let adapter = |name: &str| {
        demo.agencies
            .adapters
            .iter()
            .find(|a| a.0.name == name)
            .map(|a| format!("http://{}", a.1.addr()))
            .unwrap_or_default()
    };
    let sspf = demo.agencies.legacy("social-protection-fund").map(|l| l.url.clone()).unwrap_or_default();
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;

    let mut runs = Vec::new();
    // SQL back end: personal data by FIN from the population registry's 100,000 rows
    let direct_sql: Vec<_> = fins
        .iter()
        .map(|f| (format!("{}/rest/getPersonByFin?fin={f}", adapter("ministry-of-justice")), None))
        .collect();
    let gateway_sql: Vec<_> = fins
        .iter()
        .map(|f| (format!("{client_url}/r1/AZ/GOV/1400000002/population-registry/getPersonByFin?fin={f}"), portal))
        .collect();
    // REST back end: pension capital from the Fund's own system
    let insured: Vec<&str> = people
        .iter()
        .filter(|p| egov_demo::agency::legacy::insurance(p).is_some())
        .step_by(53)
        .take(200)
        .map(|p| p.fin.as_str())
        .collect();
    let legacy_rest: Vec<_> = insured.iter().map(|f| (format!("{sspf}/insured/{f}/pension-capital"), None)).collect();
    let adapter_rest: Vec<_> = insured
        .iter()
        .map(|f| (format!("{}/rest/getPensionCapital?fin={f}", adapter("social-protection-fund")), None))
        .collect();
    let gateway_rest: Vec<_> = insured
        .iter()
        .map(|f| (format!("{client_url}/r1/AZ/GOV/1400000003/insurance/getPensionCapital?fin={f}"), portal))
        .collect();
    // warm-up: connections, pools, page cache
    load("warm-up", &http, &gateway_sql, 500, concurrency).await;
    runs.push(load("SQL: adapter alone", &http, &direct_sql, requests, concurrency).await);
    runs.push(load("SQL: consumer SS → provider SS → adapter", &http, &gateway_sql, requests, concurrency).await);
    runs.push(load("REST: the Fund's system alone", &http, &legacy_rest, requests, concurrency).await);
    runs.push(load("REST: adapter → the Fund's system", &http, &adapter_rest, requests, concurrency).await);
    runs.push(
        load("REST: consumer SS → provider SS → adapter → system", &http, &gateway_rest, requests, concurrency).await,
    );
    println!("{requests} requests per row, {concurrency} at a time, demo population {}", people.len());
    println!("| path | requests/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|");
    for r in runs {
        println!(
            "| {} | {:.0} | {:.1} | {:.1} | {} |",
            r.label,
            r.per_sec,
            r.p50.as_secs_f64() * 1000.0,
            r.p99.as_secs_f64() * 1000.0,
            r.errors
        );
    }
    demo.agencies.stop().await;
    demo.federation.stop().await;
    Ok(())
}
