//! `egov msglog …`: the message log offline (TT-2.2.2, TT-3.8.4, TT-6.3) — export one
//! exchange as ASiC-E, verify containers, archives and the database, rotate the content key,
//! archive now, and list who read the log. Every export is itself recorded as a read.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use egov_msglog::archive::{verify_archive, verify_archive_dir};
use egov_msglog::verify::{ContainerReport, verify_container};
use egov_security_server::enrolment::ServerDir;

use crate::ss::ServerDirArgs;

#[derive(Args)]
pub struct MsgLogArgs {
    #[command(subcommand)]
    command: MsgLogCommand,
}

#[derive(Subcommand)]
enum MsgLogCommand {
    /// Export the messages of one query id as X-Road's `queryId.zip` of ASiC-E containers.
    Export {
        #[command(flatten)]
        dir: ServerDirArgs,
        /// The client's message id (SOAP `id`, REST `X-Road-Id`).
        #[arg(long)]
        query_id: String,
        /// Where to write (default `<queryId>.zip` here).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Who is reading, for the read record (default: the login name).
        #[arg(long)]
        reader: Option<String>,
    },
    /// Verify ASiC-E containers (`.asice`), `queryId.zip` files, archive files
    /// (`mlog-….zip.enc`, needs --dir for the keys) or a directory of archive files; with
    /// only --dir, the whole message log database.
    Verify {
        /// Files or directories to verify.
        paths: Vec<PathBuf>,
        /// The server directory (its anchor's CA certificates; its keys for archives and
        /// the database).
        #[arg(long = "dir")]
        dir: Option<PathBuf>,
        /// Passphrase sealing the message log's keys.
        #[arg(long, env = "EGOV_SS_PASSPHRASE", hide_env_values = true)]
        passphrase: Option<String>,
        /// CA certificates (PEM) instead of the server directory's anchor.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Print reports as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Add a new content key and make it current (older keys stay to read older records).
    RotateKey {
        #[command(flatten)]
        dir: ServerDirArgs,
    },
    /// Move time-stamped records into archive files now.
    Archive {
        #[command(flatten)]
        dir: ServerDirArgs,
    },
    /// Who read the message log (newest first).
    Reads {
        #[command(flatten)]
        dir: ServerDirArgs,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

pub async fn run(args: MsgLogArgs) -> anyhow::Result<()> {
    match args.command {
        MsgLogCommand::Export { dir, query_id, out, reader } => {
            let server = dir.open();
            let log = server.message_log().await?;
            let reader = reader
                .or_else(|| std::env::var("USER").ok())
                .map(|r| format!("cli:{r}"))
                .unwrap_or_else(|| "cli".into());
            let containers = match log.containers_of_query(&query_id).await {
                Ok(c) => c,
                Err(e) => {
                    log.log_read(&reader, "export", &query_id, &format!("failed: {e}")).await?;
                    return Err(e.into());
                }
            };
            log.log_read(&reader, "export", &query_id, "allowed").await?;
            let entries: Vec<(&str, Vec<u8>)> = containers.iter().map(|(n, b)| (n.as_str(), b.clone())).collect();
            let zip = egov_msglog::archive::plain_zip(&entries)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{}.zip", egov_msglog::asic::file_stem(&query_id))));
            std::fs::write(&out, zip).with_context(|| format!("writing {}", out.display()))?;
            println!("{} message(s) of {query_id} written to {}", containers.len(), out.display());
            Ok(())
        }
        MsgLogCommand::Verify { paths, dir, passphrase, ca, json } => {
            let server = dir.as_ref().map(|d| ServerDir::new(d, passphrase.clone()));
            let cas = trusted_cas(ca.as_deref(), server.as_ref())?;
            if paths.is_empty() {
                let Some(server) = server else { bail!("give files to verify, or --dir to verify the database") };
                let log = server.message_log().await?;
                let report = log.verify_database(Some(&log.keys()), &cas).await?;
                print(json, &report, || {
                    format!(
                        "database OK: records {} to {} ({} checked, contents of {} decrypted, {} time-stamps, {} not yet stamped)",
                        report.first_seq,
                        report.last_seq,
                        report.records,
                        report.contents_checked,
                        report.timestamps_checked,
                        report.unstamped
                    )
                })?;
                return Ok(());
            }
            for path in paths {
                verify_path(&path, server.as_ref(), &cas, json)
                    .with_context(|| format!("{}: verification FAILED", path.display()))?;
            }
            Ok(())
        }
        MsgLogCommand::RotateKey { dir } => {
            let id = dir.open().rotate_msglog_key()?;
            println!("new message log key {id} is current; restart the security server to use it");
            Ok(())
        }
        MsgLogCommand::Archive { dir } => {
            let log = dir.open().message_log().await?;
            let files = log.archive_all().await?;
            for f in &files {
                println!("{} ({} messages)", f.path.display(), f.containers);
            }
            if files.is_empty() {
                println!("nothing to archive (records must be time-stamped first)");
            }
            Ok(())
        }
        MsgLogCommand::Reads { dir, limit } => {
            let log = dir.open().message_log().await?;
            for r in log.reads(limit).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    egov_pki::xades::signing_time(r.time_ms),
                    r.reader,
                    r.action,
                    r.target,
                    r.outcome
                );
            }
            Ok(())
        }
    }
}

fn trusted_cas(ca: Option<&Path>, server: Option<&ServerDir>) -> anyhow::Result<Vec<Vec<u8>>> {
    let pems: Vec<String> = match (ca, server) {
        (Some(path), _) => vec![std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?],
        (None, Some(server)) => server.anchor()?.ca_certs_pem,
        (None, None) => bail!("give --ca CA.pem or --dir SERVER_DIR (its anchor names the CA)"),
    };
    let mut cas = Vec::new();
    for pem in pems {
        cas.extend(egov_pki::from_pem("CERTIFICATE", &pem)?);
    }
    Ok(cas)
}

fn print<T: serde::Serialize>(json: bool, value: &T, text: impl FnOnce() -> String) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(value)?);
    } else {
        println!("{}", text());
    }
    Ok(())
}

fn describe(name: &str, r: &ContainerReport) -> String {
    format!(
        "{name}: OK — record {} ({} {} side), {} → {}, signed by {} at {}{}, time-stamped {}",
        r.seq,
        r.direction,
        r.side,
        r.client,
        r.service,
        r.signer,
        r.signing_time,
        if r.ocsp_good { " (OCSP good)" } else { "" },
        egov_pki::xades::signing_time(r.timestamp_time * 1000)
    )
}

fn verify_path(path: &Path, server: Option<&ServerDir>, cas: &[Vec<u8>], json: bool) -> anyhow::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_owned();
    let keys = || -> anyhow::Result<egov_msglog::Keyring> {
        let server = server.context("archive files are encrypted: give --dir SERVER_DIR for the keys")?;
        Ok(server.msglog_keys()?)
    };
    if path.is_dir() {
        let reports = verify_archive_dir(path, &keys()?, cas)?;
        return print(json, &reports, || {
            let containers: usize = reports.iter().map(|r| r.containers.len()).sum();
            let start = reports.first().map(|r| r.prev_digest.clone()).unwrap_or_default();
            format!(
                "{}: OK — {} archive file(s), {containers} message(s), chain linked{}",
                path.display(),
                reports.len(),
                if start == "-" {
                    " from the first archive".to_owned()
                } else {
                    format!(" from digest {start} (earlier archives removed)")
                }
            )
        });
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if bytes.starts_with(egov_msglog::archive::MAGIC) {
        let report = verify_archive(&name, &bytes, &keys()?, cas, None)?;
        return print(json, &report, || {
            format!("{name}: OK — {} message(s), linking digest {}", report.containers.len(), report.digest)
        });
    }
    let (first, entries) = egov_msglog::asic::read_zip(&bytes).map_err(|e| anyhow::anyhow!("container: {e}"))?;
    if first == "mimetype" {
        let report = verify_container(&bytes, cas)?;
        return print(json, &report, || describe(&name, &report));
    }
    // X-Road's queryId.zip: one container per message
    let mut reports = Vec::new();
    for (inner, container) in &entries {
        let report = verify_container(container, cas).with_context(|| inner.clone())?;
        reports.push((inner.clone(), report));
    }
    if reports.is_empty() {
        bail!("{name} holds no container");
    }
    let texts: Vec<String> = reports.iter().map(|(n, r)| describe(n, r)).collect();
    let values: Vec<&ContainerReport> = reports.iter().map(|(_, r)| r).collect();
    print(json, &values, || texts.join("\n"))
}
