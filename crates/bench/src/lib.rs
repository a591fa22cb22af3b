//! `egov bench gateway`: how fast is a round trip through two security servers, compared
//! with a plain double reverse proxy forwarding the same bytes in the same run (issue 2's
//! budget: ≥ 5,000 round trips/s, ratio ≥ 0.5, p99 added ≤ 5 ms at 1,000 req/s).
//!
//! Everything runs in this process on loopback: a stub service that echoes the SOAP request
//! (a valid X-Road response: same headers, body), the two security servers, the two plain
//! proxies, and the load generator. Closed-loop phases measure throughput; fixed-rate phases
//! measure latency at 1,000 req/s, timed from each request's scheduled start so a slow
//! answer cannot hide the requests queued behind it.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::{TcpListener, TcpStream};

use egov_demo::federation::{Federation, ParticipantSpec};
use egov_security_server::conf::Subject;
use egov_security_server::http::{Body, Shutdown, ShutdownTrigger, response, serve_http1, shutdown_pair};
use egov_xroad::soap::{XRoadHeader, build_envelope};

/// Options of `egov bench gateway`.
#[derive(Debug, Clone, clap::Args)]
pub struct GatewayBenchArgs {
    /// Seconds of each throughput phase.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Concurrent clients in the throughput phases.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Request rate of the latency phases (requests per second).
    #[arg(long, default_value_t = 1000)]
    pub rate: u64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Run only the gateway's throughput phase (for profiling; prints no ratio).
    #[arg(long)]
    pub gateway_only: bool,
    /// Set the federation up through the operator's central services (registration, signed
    /// global configuration, OCSP stapled to every message and checked by the receiver)
    /// instead of a bare CA and an in-process directory.
    #[arg(long)]
    pub central: bool,
    /// Run the security servers without their message logs (the log is on by default, as
    /// in production: every message stored, group-committed, before it is released).
    #[arg(long)]
    pub no_msglog: bool,
}

/// Results of one phase.
#[derive(Debug, Clone, Copy, Default)]
pub struct PhaseResult {
    /// Completed requests per second.
    pub rps: f64,
    /// Median latency (ms).
    pub p50_ms: f64,
    /// 99th percentile latency (ms).
    pub p99_ms: f64,
    /// Requests that failed or returned a fault.
    pub errors: u64,
    /// Requests completed.
    pub completed: u64,
}

/// Runs the benchmark and prints the result.
pub async fn gateway(args: GatewayBenchArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.duration == 0 || args.rate == 0 {
        anyhow::bail!("--duration, --concurrency and --rate must be positive");
    }
    let setup = Setup::start(args.central, !args.no_msglog).await?;
    let duration = Duration::from_secs(args.duration);
    let latency_duration = Duration::from_secs(args.duration.clamp(2, 10));
    let body = Bytes::from(setup.request.clone());

    // warm up both paths (connections, caches)
    closed_loop(setup.gateway_url, body.clone(), args.concurrency, Duration::from_secs(1)).await;
    closed_loop(setup.baseline_url, body.clone(), args.concurrency, Duration::from_secs(1)).await;

    if args.gateway_only {
        let gateway = closed_loop(setup.gateway_url, body.clone(), args.concurrency, duration).await;
        setup.stop().await;
        println!(
            "gateway only: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors",
            gateway.rps, gateway.p50_ms, gateway.p99_ms, gateway.errors
        );
        return Ok(());
    }
    let baseline = closed_loop(setup.baseline_url, body.clone(), args.concurrency, duration).await;
    let gateway = closed_loop(setup.gateway_url, body.clone(), args.concurrency, duration).await;
    let baseline_fixed = fixed_rate(setup.baseline_url, body.clone(), args.rate, latency_duration).await;
    let gateway_fixed = fixed_rate(setup.gateway_url, body.clone(), args.rate, latency_duration).await;
    setup.stop().await;

    let ratio = if baseline.rps > 0.0 { gateway.rps / baseline.rps } else { 0.0 };
    let added = gateway_fixed.p99_ms - baseline_fixed.p99_ms;
    if args.json {
        let out = serde_json::json!({
            "rps": round(gateway.rps), "p50_ms": round(gateway.p50_ms), "p99_ms": round(gateway.p99_ms),
            "errors": gateway.errors,
            "baseline_rps": round(baseline.rps), "baseline_p50_ms": round(baseline.p50_ms), "baseline_p99_ms": round(baseline.p99_ms),
            "baseline_errors": baseline.errors,
            "ratio": round(ratio),
            "rate": args.rate,
            "p50_ms_at_rate": round(gateway_fixed.p50_ms), "p99_ms_at_rate": round(gateway_fixed.p99_ms),
            "baseline_p99_ms_at_rate": round(baseline_fixed.p99_ms),
            "p99_added_ms_at_rate": round(added),
            "concurrency": args.concurrency, "duration_s": args.duration, "msglog": !args.no_msglog,
            "request_bytes": body.len(),
        });
        println!("{out}");
    } else {
        println!(
            "gateway benchmark: {} s per phase, {} concurrent clients, {}-byte SOAP request, message log {}",
            args.duration,
            args.concurrency,
            body.len(),
            if args.no_msglog { "off" } else { "on" }
        );
        println!("{:<44} {:>10} {:>9} {:>9} {:>7}", "path", "req/s", "p50 ms", "p99 ms", "errors");
        let row = |name: &str, r: &PhaseResult| {
            println!("{:<44} {:>10.0} {:>9.2} {:>9.2} {:>7}", name, r.rps, r.p50_ms, r.p99_ms, r.errors);
        };
        row("consumer SS -> provider SS -> stub", &gateway);
        row("plain double reverse proxy -> stub", &baseline);
        row(&format!("gateway at {} req/s", args.rate), &gateway_fixed);
        row(&format!("baseline at {} req/s", args.rate), &baseline_fixed);
        println!("ratio gateway/baseline: {ratio:.2}; p99 added at {} req/s: {added:.2} ms", args.rate);
    }
    if gateway.completed == 0 || gateway.errors > gateway.completed / 100 {
        anyhow::bail!(
            "the gateway path failed: {} errors in {} requests",
            gateway.errors,
            gateway.completed + gateway.errors
        );
    }
    Ok(())
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

struct Setup {
    gateway_url: SocketAddr,
    baseline_url: SocketAddr,
    request: String,
    federation: egov_demo::federation::RunningFederation,
    plain: ShutdownTrigger,
    _dir: tempfile::TempDir,
}

impl Setup {
    async fn start(central: bool, msglog: bool) -> anyhow::Result<Self> {
        let (plain, plain_rx) = shutdown_pair();
        let stub = serve(plain_rx.clone(), |req| async move { echo(req).await }).await?;
        let proxy2 = start_proxy(stub, plain_rx.clone()).await?;
        let proxy1 = start_proxy(proxy2, plain_rx).await?;

        let dir = tempfile::tempdir()?;
        let limits = egov_globalconf::Limits { max_request_bytes: 10 * 1024, ..Default::default() };
        let mut fed = if central {
            Federation::with_central("BENCH", dir.path(), limits, 600).await?
        } else {
            let mut fed = Federation::new("BENCH")?;
            fed.limits = limits;
            fed
        };
        if msglog {
            fed.message_log = Some((dir.path().join("msglog"), Default::default()));
        }
        fed.add(spec("consumer", "BENCH/GOV/1000000001", "client", "ss1")?, 0, 0).await?;
        fed.add(spec("provider", "BENCH/GOV/1000000002", "provider", "ss2")?, 0, 0).await?;
        let root = dir.path().to_owned();
        let federation = fed.start(move |s| egov_store::sqlite_url(&root.join(format!("{}.db", s.spec.name)))).await?;
        let provider_store = federation.store(1);
        let provider: egov_xroad::ClientId = "BENCH/GOV/1000000002/provider".parse()?;
        let wsdl = egov_demo::fixture::population_wsdl(&format!("http://{stub}/")).replace("getPersonByFin", "echo");
        provider_store.add_wsdl(&provider, "bench", &wsdl, None).await?;
        let service = provider.service("echo", Some("v1"))?;
        provider_store.grant(&service, &Subject::Client("BENCH/GOV/1000000001/client".parse()?), "*", "/**").await?;
        federation.reload_conf().await?;
        let header = XRoadHeader {
            client: "BENCH/GOV/1000000001/client".parse()?,
            service,
            id: "bench-0001".into(),
            user_id: Some("AZ5ZX7K2P".into()),
            issue: None,
            protocol_version: "4.0".into(),
            security_server: None,
            request_hash: None,
        };
        let request = build_envelope(
            &header,
            "<pr:echo xmlns:pr=\"http://justice.gov.az/population-registry/v1\"><pr:fin>5ZX7K2P</pr:fin>\
<pr:purpose>eligibility check for a social benefit application</pr:purpose></pr:echo>",
        );
        Ok(Self {
            gateway_url: federation.running[0].0.client_addr,
            baseline_url: proxy1,
            request,
            federation,
            plain,
            _dir: dir,
        })
    }

    async fn stop(self) {
        self.plain.trigger();
        self.federation.stop().await;
    }
}

fn spec(name: &str, member: &str, subsystem: &str, server: &str) -> anyhow::Result<ParticipantSpec> {
    Ok(ParticipantSpec {
        name: name.into(),
        member: member.parse()?,
        member_name: name.into(),
        subsystems: vec![subsystem.into()],
        server_code: server.into(),
    })
}

async fn serve<H, F>(shutdown: Shutdown, handler: H) -> anyhow::Result<SocketAddr>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(serve_http1(listener, move |req, _| handler(req), Duration::from_secs(10), shutdown));
    Ok(addr)
}

/// The stub service: answers with the request itself (same X-Road headers, same body).
async fn echo(request: Request<Incoming>) -> Response<Body> {
    match request.into_body().collect().await {
        Ok(b) => response(StatusCode::OK, "text/xml; charset=utf-8", b.to_bytes()),
        Err(_) => response(StatusCode::BAD_REQUEST, "text/plain", "unreadable"),
    }
}

/// A plain reverse proxy: forwards method, headers and body to `upstream` and the answer back.
async fn start_proxy(upstream: SocketAddr, shutdown: Shutdown) -> anyhow::Result<SocketAddr> {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let client = Arc::new(client);
    serve(shutdown, move |req: Request<Incoming>| {
        let client = client.clone();
        async move {
            let (parts, body) = req.into_parts();
            let Ok(body) = body.collect().await else {
                return response(StatusCode::BAD_REQUEST, "text/plain", "unreadable");
            };
            let mut forward = Request::new(Full::new(body.to_bytes()));
            *forward.method_mut() = parts.method;
            *forward.headers_mut() = parts.headers;
            *forward.uri_mut() = match format!("http://{upstream}{}", parts.uri.path()).parse() {
                Ok(u) => u,
                Err(_) => return response(StatusCode::BAD_REQUEST, "text/plain", "bad uri"),
            };
            match client.request(forward).await {
                Ok(r) => {
                    let (parts, body) = r.into_parts();
                    match body.collect().await {
                        Ok(b) => Response::from_parts(parts, Full::new(b.to_bytes())),
                        Err(_) => response(StatusCode::BAD_GATEWAY, "text/plain", "upstream body"),
                    }
                }
                Err(_) => response(StatusCode::BAD_GATEWAY, "text/plain", "upstream"),
            }
        }
    })
    .await
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Option<Sender> {
    let tcp = TcpStream::connect(addr).await.ok()?;
    let _ = tcp.set_nodelay(true);
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.ok()?;
    tokio::spawn(conn);
    Some(sender)
}

/// One request; `true` when it succeeded with a non-fault answer.
async fn one(sender: &mut Sender, addr: SocketAddr, body: &Bytes) -> bool {
    if sender.ready().await.is_err() {
        return false;
    }
    let request = Request::post(format!("http://{addr}/"))
        .header(header::CONTENT_TYPE, "text/xml; charset=utf-8")
        .header(header::HOST, addr.to_string())
        .body(Full::new(body.clone()));
    let Ok(request) = request else { return false };
    match sender.send_request(request).await {
        Ok(r) if r.status() == StatusCode::OK => match r.into_body().collect().await {
            Ok(b) => {
                let b = b.to_bytes();
                !b.windows(7).any(|w| w == b":Fault>")
            }
            Err(_) => false,
        },
        _ => false,
    }
}

fn summarize(mut latencies_us: Vec<u32>, errors: u64, elapsed: Duration) -> PhaseResult {
    latencies_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(latencies_us[i]) / 1000.0
    };
    PhaseResult {
        rps: latencies_us.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        errors,
        completed: latencies_us.len() as u64,
    }
}

/// `concurrency` clients, each sending its next request as soon as the previous answer came.
pub async fn closed_loop(addr: SocketAddr, body: Bytes, concurrency: usize, duration: Duration) -> PhaseResult {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(8192);
            let mut errors = 0u64;
            let mut sender = connect(addr).await;
            while Instant::now() < deadline {
                let Some(s) = sender.as_mut() else {
                    errors += 1;
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    sender = connect(addr).await;
                    continue;
                };
                let t = Instant::now();
                if one(s, addr, &body).await {
                    latencies.push(t.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                } else {
                    errors += 1;
                    sender = connect(addr).await;
                }
            }
            (latencies, errors)
        }));
    }
    collect(tasks, start).await
}

/// Requests at a fixed total rate, spread over 50 connections; latency counts from the
/// scheduled start of each request.
pub async fn fixed_rate(addr: SocketAddr, body: Bytes, rate: u64, duration: Duration) -> PhaseResult {
    let workers = 50u64.min(rate.max(1));
    let interval = Duration::from_secs_f64(workers as f64 / rate as f64);
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for w in 0..workers {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            let mut sender = connect(addr).await;
            let mut scheduled = start + interval.mul_f64(w as f64 / workers as f64);
            while scheduled < deadline {
                tokio::time::sleep_until(scheduled.into()).await;
                let ok = match sender.as_mut() {
                    Some(s) => one(s, addr, &body).await,
                    None => false,
                };
                if ok {
                    latencies.push(scheduled.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                } else {
                    errors += 1;
                    sender = connect(addr).await;
                }
                scheduled += interval;
            }
            (latencies, errors)
        }));
    }
    collect(tasks, start).await
}

async fn collect(tasks: Vec<tokio::task::JoinHandle<(Vec<u32>, u64)>>, start: Instant) -> PhaseResult {
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            all.extend(l);
            errors += e;
        }
    }
    summarize(all, errors, start.elapsed())
}
