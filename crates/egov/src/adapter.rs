//! `egov adapter …`: run an adapter server from its mapping file, or check a mapping file.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `egov adapter` arguments.
#[derive(Args)]
pub struct AdapterArgs {
    #[command(subcommand)]
    command: AdapterCommand,
}

#[derive(Subcommand)]
enum AdapterCommand {
    /// Serve the services of a mapping file (HTTP or HTTPS, as the file says). The security
    /// server pushes new mappings to it with the token (`egov ss adapter connect`).
    Serve {
        /// The mapping file (TOML); rewritten when the security server pushes a new one.
        #[arg(long)]
        mapping: PathBuf,
        /// Token the security server presents when it pushes a mapping.
        #[arg(long, env = "EGOV_ADAPTER_TOKEN", hide_env_values = true)]
        token: Option<String>,
    },
    /// Check a mapping file and print the services it offers (errors name the line).
    Check {
        /// The mapping file.
        mapping: PathBuf,
        /// Print the generated WSDL too.
        #[arg(long)]
        wsdl: bool,
    },
}

/// Runs an `egov adapter` command.
pub async fn run(args: AdapterArgs, shutdown: impl std::future::Future<Output = ()>) -> anyhow::Result<()> {
    match args.command {
        AdapterCommand::Serve { mapping, token } => {
            let text = std::fs::read_to_string(&mapping)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", mapping.display()))?;
            if token.is_none() {
                eprintln!("note: no EGOV_ADAPTER_TOKEN: the security server cannot push mappings to this adapter");
            }
            let adapter =
                egov_adapter::start(text, egov_adapter::AdapterOptions { file: Some(mapping), admin_token: token })
                    .await?;
            let runtime = adapter.runtime();
            println!(
                "adapter {} serving {} services at {} (WSDL {}/wsdl)",
                runtime.mapping.name,
                runtime.mapping.services.len(),
                runtime.mapping.base_url,
                runtime.mapping.base_url
            );
            shutdown.await;
            adapter.stop().await;
            Ok(())
        }
        AdapterCommand::Check { mapping, wsdl } => {
            let text = std::fs::read_to_string(&mapping)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", mapping.display()))?;
            let parsed = egov_adapter::mapping::parse(&text, &mapping.display().to_string())?;
            println!("{}: adapter {} at {}", mapping.display(), parsed.name, parsed.base_url);
            for s in &parsed.services {
                let backend = match &s.backend {
                    egov_adapter::Backend::Rest(r) => format!("REST {} {}", r.method, r.url),
                    egov_adapter::Backend::Sql(_) => "SQL (read-only)".to_owned(),
                };
                let fields: Vec<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
                println!(
                    "  {}{}  fields: {}  → {backend}",
                    s.code,
                    s.version.as_ref().map(|v| format!("/{v}")).unwrap_or_default(),
                    fields.join(", ")
                );
            }
            if wsdl {
                println!("{}", egov_adapter::describe::wsdl(&parsed, &format!("{}/soap", parsed.base_url)));
            }
            Ok(())
        }
    }
}
