//! `egov monitor …`: the local monitoring station (TT-2.6, TT-2.7).

use std::future::Future;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use egov_monitor::StationConfig;

#[derive(Args)]
pub struct MonitorArgs {
    #[command(subcommand)]
    command: MonitorCommand,
}

#[derive(Subcommand)]
enum MonitorCommand {
    /// Run the station: poll the security servers in the configuration, serve the dashboard,
    /// /metrics and /api/v1/usage.
    Serve {
        /// The configuration (JSON): listen, servers [{name, url, token}], poll_interval_secs.
        #[arg(long)]
        config: PathBuf,
    },
    /// Print the usage statistics of one month from the station's database.
    Usage {
        #[arg(long)]
        config: PathBuf,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        /// csv or json.
        #[arg(long, default_value = "csv")]
        format: String,
    },
}

pub async fn run(args: MonitorArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    match args.command {
        MonitorCommand::Serve { config } => {
            let config = StationConfig::load(&config)?;
            let station = egov_monitor::start(config, None).await?;
            println!("monitoring station on http://{}", station.addr);
            shutdown.await;
            station.stop();
            Ok(())
        }
        MonitorCommand::Usage { config, month, format } => {
            let config = StationConfig::load(&config)?;
            let db = egov_monitor::store::open(&config.database_url()).await.context("opening the station database")?;
            let state = egov_monitor::poller::StationState::new(config, db);
            let rows = egov_monitor::web::monthly(&state, &month).await?;
            match format.as_str() {
                "csv" => print!("{}", egov_monitor::stats::monthly_csv(&rows)),
                "json" => println!("{}", serde_json::to_string_pretty(&rows)?),
                other => anyhow::bail!("--format must be csv or json, not {other:?}"),
            }
            Ok(())
        }
    }
}
