//! `egov`: one binary for every component; it only parses the command line and wires the
//! library crates together (shared/DESIGN.md decision 1).

mod adapter;
mod ca;
mod central;
mod monitor;
mod msglog;
mod portal;
mod ss;

/// mimalloc instead of the system allocator: the message path allocates and frees many
/// short-lived buffers, and glibc's malloc showed as a fifth of the gateway's CPU time in the
/// profile (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "egov", version, about = "Electronic Government platform: gateway, registries, portal")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start-up; boxing would only add noise
enum Command {
    /// Start a whole demo federation on loopback (Ctrl-C stops it).
    Demo {
        /// Where to keep databases, keys and demo.json (a temporary directory by default).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// People in the agencies' synthetic registers (100,000 by default).
        #[arg(long)]
        population: Option<usize>,
    },
    /// Security server: run it, and manage its clients, services and access rights.
    Ss {
        #[command(subcommand)]
        command: ss::SsCommand,
    },
    /// The operator's central server: registry, registration, signed global configuration,
    /// lifecycles, notices, incidents (with the Certification Centre's OCSP and TSA).
    Central(central::CentralArgs),
    /// The Certification Centre on its own: CA, register, OCSP responder, time-stamping.
    Ca(ca::CaArgs),
    /// The message log offline: export, verify, rotate the key, archive, list reads.
    Msglog(msglog::MsgLogArgs),
    /// Adapter server: join an existing REST/JSON service or SQL database by a mapping file.
    Adapter(adapter::AdapterArgs),
    /// The citizen portal: public catalogue over the e-services registry and the registry of
    /// state information resources.
    Portal(portal::PortalArgs),
    /// The local monitoring station: usage and health of security servers, never contents.
    Monitor(monitor::MonitorArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Round trips through consumer and provider security servers, against a plain double
    /// reverse proxy measured in the same run.
    Gateway(egov_bench::GatewayBenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Demo { data_dir, population } => {
                egov_demo::run(egov_demo::DemoOptions { data_dir, population }, shutdown_signal()).await
            }
            Command::Adapter(args) => adapter::run(args, shutdown_signal()).await,
            Command::Portal(args) => portal::run(args, shutdown_signal()).await,
            Command::Ss { command } => ss::run(command, shutdown_signal()).await,
            Command::Central(args) => central::run(args, shutdown_signal()).await,
            Command::Ca(args) => ca::run(args, shutdown_signal()).await,
            Command::Msglog(args) => msglog::run(args).await,
            Command::Monitor(args) => monitor::run(args, shutdown_signal()).await,
            Command::Bench { command: BenchCommand::Gateway(args) } => egov_bench::gateway(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
