//! `egov ca …`: the operator's Certification Centre (TT-2.3, TT-4.1.2, TT-6.3, P-4.1.8):
//! set it up, issue certificates from CSRs, revoke them, list the register, and serve the
//! OCSP responder and the TSA.
//!
//! The key passphrase comes from `--passphrase-file` (its first line) or the environment
//! variable `EGOV_CA_PASSPHRASE`, never from the command line (which other users can see).

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use egov_ca::{CertificationCentre, Register};
use egov_pki::CertProfile;
use egov_pki::ocsp::{CertStatus, RevocationReason};
use egov_xroad::{ClientId, SecurityServerId};

/// Environment variable holding the key passphrase.
const PASSPHRASE_ENV: &str = "EGOV_CA_PASSPHRASE";

#[derive(Args)]
pub struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
    /// The Certification Centre's directory (CA and TSA keys and certificates).
    #[arg(long, env = "EGOV_CA_DIR", default_value = "ca", global = true)]
    dir: PathBuf,
    /// The register database (sqlite://FILE or postgres://…); default: ca.db in --dir.
    #[arg(long, env = "EGOV_CA_DB", global = true)]
    db: Option<String>,
    /// File whose first line is the key passphrase (otherwise EGOV_CA_PASSPHRASE).
    #[arg(long, global = true)]
    passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once at start-up; boxing would only add noise
pub enum CaCommand {
    /// Create the Certification Centre: CA key and certificate, TSA key and certificate.
    Init {
        /// The X-Road instance the CA serves (e.g. AZ).
        #[arg(long)]
        instance: String,
    },
    /// Issue a certificate from a PKCS#10 request (PEM or DER).
    #[command(group(clap::ArgGroup::new("profile").required(true).args(["auth", "sign"])))]
    Issue {
        /// The certificate signing request.
        #[arg(long)]
        csr: PathBuf,
        /// An authentication certificate for this security server (INSTANCE/CLASS/CODE/SERVER).
        #[arg(long, value_name = "SERVER_ID")]
        auth: Option<SecurityServerId>,
        /// A signing certificate for this member (INSTANCE/CLASS/CODE).
        #[arg(long, value_name = "MEMBER_ID")]
        sign: Option<ClientId>,
        /// Validity in days.
        #[arg(long, default_value_t = 365)]
        days: i64,
        /// Where to write the certificate (PEM); an existing file is not overwritten.
        #[arg(long)]
        out: PathBuf,
    },
    /// Revoke a certificate issued here.
    Revoke {
        /// Its serial number (hex; colons and 0x are fine).
        serial: String,
        /// Why (RFC 5280 name: keyCompromise, superseded, cessationOfOperation, …).
        #[arg(long, default_value = "unspecified")]
        reason: RevocationReason,
    },
    /// List the certificates issued here.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Serve OCSP (POST /ocsp, GET /ocsp/{base64}), the TSA (POST /tsa), /ca.crt and /tsa.crt.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8899")]
        listen: SocketAddr,
        /// OCSP validity (nextUpdate − thisUpdate), seconds.
        #[arg(long, default_value_t = egov_ca::DEFAULT_OCSP_VALIDITY_SECS)]
        ocsp_validity: i64,
        /// Time-stamp policy OID written into tokens.
        #[arg(long, default_value = egov_ca::DEFAULT_TSA_POLICY)]
        tsa_policy: String,
    },
}

pub async fn run(args: CaArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let db = args.db.clone().unwrap_or_else(|| egov_store::sqlite_url(&args.dir.join(egov_ca::DEFAULT_DB_FILE)));
    match &args.command {
        CaCommand::Init { instance } => {
            let passphrase = passphrase(&args)?;
            let cc = CertificationCentre::create(&args.dir, instance, &passphrase, &db)
                .await
                .with_context(|| format!("creating the Certification Centre in {}", args.dir.display()))?;
            println!("Certification Centre for {instance} created in {}", args.dir.display());
            println!("  CA certificate:  {}", args.dir.join(egov_ca::CA_CERT_FILE).display());
            println!("  TSA certificate: {}", args.dir.join(egov_ca::TSA_CERT_FILE).display());
            println!("  register:        {db}");
            cc.close().await;
            Ok(())
        }
        CaCommand::Issue { csr, auth, sign, days, out } => {
            let profile = match (auth, sign) {
                (Some(server), None) => CertProfile::Auth(server.clone()),
                (None, Some(member)) if member.subsystem_code().is_none() => CertProfile::Sign(member.clone()),
                (None, Some(member)) => {
                    bail!("--sign takes a member (INSTANCE/CLASS/CODE); {member} is a subsystem")
                }
                _ => bail!("give exactly one of --auth SERVER_ID or --sign MEMBER_ID"),
            };
            if out.exists() {
                bail!("{} already exists; refusing to overwrite it", out.display());
            }
            let csr_der = read_csr(csr)?;
            let cc = open(&args, &db).await?;
            let issued = cc.issue(&csr_der, &profile, *days).await;
            cc.close().await;
            let issued = issued.with_context(|| format!("issuing a certificate from {}", csr.display()))?;
            write_new(out, egov_pki::to_pem("CERTIFICATE", &issued.der).as_bytes())?;
            println!(
                "issued {} certificate {} for {} ({days} days) to {}",
                profile.kind(),
                issued.serial_hex,
                profile.common_name(),
                out.display()
            );
            Ok(())
        }
        CaCommand::Revoke { serial, reason } => {
            // the register alone: revoking needs no key, and OCSP answers from the register
            let register = register(&args, &db).await?;
            let result = register.revoke(serial, *reason, egov_pki::unix_now()).await;
            register.close().await;
            result.with_context(|| format!("revoking {serial}"))?;
            println!("certificate {serial} revoked ({reason}); OCSP answers revoked from now on");
            Ok(())
        }
        CaCommand::List { json } => {
            let register = register(&args, &db).await?;
            let records = register.list().await;
            register.close().await;
            let records = records.context("reading the register")?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&records)?);
                return Ok(());
            }
            println!("{:<34} {:<5} {:<8} {:<20} SUBJECT", "SERIAL", "KIND", "STATUS", "NOT AFTER");
            for r in &records {
                let status = match r.status {
                    CertStatus::Good => "good".to_owned(),
                    CertStatus::Revoked { reason, .. } => {
                        format!("revoked{}", reason.map(|r| format!(" ({r})")).unwrap_or_default())
                    }
                    CertStatus::Unknown => "unknown".to_owned(),
                };
                println!(
                    "{:<34} {:<5} {:<8} {:<20} {}",
                    r.serial_hex,
                    r.kind,
                    status,
                    egov_pki::rfc3339(r.not_after),
                    r.subject
                );
            }
            println!("{} certificate(s)", records.len());
            Ok(())
        }
        CaCommand::Serve { listen, ocsp_validity, tsa_policy } => {
            let cc = open(&args, &db)
                .await?
                .with_ocsp_validity(*ocsp_validity)
                .context("--ocsp-validity")?
                .with_tsa_policy(tsa_policy)
                .context("--tsa-policy")?;
            let cc = Arc::new(cc);
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
            let addr = listener.local_addr().unwrap_or(*listen);
            println!("Certification Centre: OCSP http://{addr}/ocsp, TSA http://{addr}/tsa, CA http://{addr}/ca.crt");
            // the caller's shutdown future need not be Send: relay it through a channel
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(egov_ca::http::serve(cc.clone(), listener, async move {
                let _ = stopped.await;
            }));
            tokio::select! {
                result = server => {
                    cc.close().await;
                    return match result {
                        Ok(r) => r.context("the Certification Centre's HTTP server stopped"),
                        Err(e) => Err(anyhow::anyhow!("the Certification Centre's HTTP server failed: {e}")),
                    };
                }
                () = shutdown => {}
            }
            let _ = stop.send(());
            cc.close().await;
            Ok(())
        }
    }
}

/// The key passphrase: `--passphrase-file` (first line) or `EGOV_CA_PASSPHRASE`.
fn passphrase(args: &CaArgs) -> anyhow::Result<String> {
    if let Some(path) = &args.passphrase_file {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let line = text.lines().next().unwrap_or("").to_owned();
        if line.is_empty() {
            bail!("{} is empty: its first line must be the key passphrase", path.display());
        }
        return Ok(line);
    }
    match std::env::var(PASSPHRASE_ENV) {
        Ok(p) if !p.is_empty() => Ok(p),
        _ => bail!("the CA key passphrase is needed: set {PASSPHRASE_ENV} or use --passphrase-file FILE"),
    }
}

fn require_centre(dir: &Path) -> anyhow::Result<()> {
    if !dir.join(egov_ca::CA_CERT_FILE).is_file() {
        bail!("no Certification Centre in {} (create one with `egov ca init --dir {0} --instance …`)", dir.display());
    }
    Ok(())
}

async fn open(args: &CaArgs, db: &str) -> anyhow::Result<CertificationCentre> {
    require_centre(&args.dir)?;
    let passphrase = passphrase(args)?;
    CertificationCentre::open(&args.dir, &passphrase, db)
        .await
        .with_context(|| format!("opening the Certification Centre in {}", args.dir.display()))
}

async fn register(args: &CaArgs, db: &str) -> anyhow::Result<Register> {
    require_centre(&args.dir)?;
    Register::open(db).await.with_context(|| format!("opening the register {db}"))
}

/// A CSR file, PEM (`CERTIFICATE REQUEST` or `NEW CERTIFICATE REQUEST`) or DER.
fn read_csr(path: &Path) -> anyhow::Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let Ok(text) = std::str::from_utf8(&bytes) else { return Ok(bytes) };
    if !text.contains("-----BEGIN") {
        return Ok(bytes);
    }
    for label in ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"] {
        if let Ok(mut ders) = egov_pki::from_pem(label, text) {
            return Ok(ders.remove(0));
        }
    }
    bail!("{} holds no PEM block labelled CERTIFICATE REQUEST", path.display())
}

/// Writes a new file; refuses to replace an existing one.
fn write_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
