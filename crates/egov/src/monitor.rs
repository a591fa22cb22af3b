//! `egov monitor …`: the local monitoring station (TT-2.6, TT-2.7; docs/monitoring.md).

use std::future::Future;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use egov_monitor::StationConfig;

#[derive(Args)]
pub struct MonitorArgs {
    #[command(subcommand)]
    command: MonitorCommand,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Csv,
    Json,
}

#[derive(Subcommand)]
enum MonitorCommand {
    /// Run the station: poll the security servers in the configuration, serve the dashboard,
    /// /metrics, /api/v1/usage and /api/v1/servers.
    Serve {
        /// The configuration (JSON): listen, servers [{name, url, token}], poll_interval_secs,
        /// database (default: monitor.db beside the file).
        #[arg(long)]
        config: PathBuf,
    },
    /// Check the configuration, open the database, and check that every server answers with its
    /// token; stores no records.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the usage statistics of one month (per service) from the station's database.
    Usage {
        #[arg(long)]
        config: PathBuf,
        /// The month, YYYY-MM (UTC).
        #[arg(long)]
        month: String,
        #[arg(long, value_enum, default_value = "csv")]
        format: Format,
    },
}

pub async fn run(args: MonitorArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    match args.command {
        MonitorCommand::Serve { config } => {
            let config = StationConfig::load(&config)?;
            let station = egov_monitor::start(config, None).await?;
            println!("monitoring station on http://{}", station.addr);
            shutdown.await;
            station.shutdown().await;
            Ok(())
        }
        MonitorCommand::Check { config } => {
            let config = StationConfig::load(&config)?;
            let db = egov_monitor::store::open(&config.database_url()).await.context("opening the station database")?;
            let state = egov_monitor::poller::StationState::new(config.clone(), db);
            let mut down = 0;
            for server in &config.servers {
                match state.check(server).await {
                    Ok(h) => println!("{}: up ({}, uptime {} s)", server.name, h.security_server_id, h.uptime_seconds),
                    Err(e) => {
                        down += 1;
                        println!("{}: DOWN: {e}", server.name);
                    }
                }
            }
            state.db.close().await;
            anyhow::ensure!(down == 0, "{down} of {} security servers do not answer", config.servers.len());
            Ok(())
        }
        MonitorCommand::Usage { config, month, format } => {
            // a bad month is refused before the database is opened
            egov_monitor::stats::month_range(&month).map_err(anyhow::Error::msg)?;
            let config = StationConfig::load(&config)?;
            let db = egov_monitor::store::open(&config.database_url()).await.context("opening the station database")?;
            let rows = egov_monitor::web::monthly(&db, &month).await?;
            db.close().await;
            match format {
                Format::Csv => print!("{}", egov_monitor::stats::monthly_csv(&rows)),
                Format::Json => {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::json!({ "month": month, "services": rows }))?
                    )
                }
            }
            Ok(())
        }
    }
}
