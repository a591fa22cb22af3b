//! `egov portal …`: the citizen portal over the registries (P-3.6, R-10, P-3.4).

use egov_workdays::today;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use egov_registry::staff::StaffKey;
use egov_registry::store::Registry;

#[derive(Args)]
pub struct PortalArgs {
    #[command(subcommand)]
    command: PortalCommand,
}

#[derive(Args)]
struct RegistryDb {
    /// The registries' database (sqlite://FILE or postgres://…).
    #[arg(long, env = "EGOV_REGISTRY_DB", default_value = "sqlite://registry.db")]
    db: String,
}

#[derive(Args)]
struct DataDir {
    /// The portal's data directory, where the key that seals the staff's one-time-code
    /// secrets is kept (staff-codes.key, made with mode 0600 when missing). Default: the
    /// directory of a sqlite:// database; required with PostgreSQL.
    #[arg(long, env = "EGOV_PORTAL_DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDir {
    /// The staff-code key for the registries at `db` (issue 13, item 10: not in the database).
    fn staff_key(&self, db: &str) -> anyhow::Result<StaffKey> {
        let dir = match (&self.data_dir, db.strip_prefix("sqlite://")) {
            (Some(dir), _) => dir.clone(),
            (None, Some(file)) if !file.is_empty() && !file.starts_with(':') => {
                let file = Path::new(file.split('?').next().unwrap_or(file));
                match file.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                    _ => PathBuf::from("."),
                }
            }
            (None, _) => anyhow::bail!(
                "--data-dir (or EGOV_PORTAL_DIR) is required with this database: it names where the key \
                 sealing the staff's one-time-code secrets is kept"
            ),
        };
        Ok(StaffKey::open_or_create(&dir)?)
    }
}

#[derive(Subcommand)]
enum PortalCommand {
    /// Serve the portal: catalogue, bodies, registry of resources, statistics, open data.
    Serve {
        #[command(flatten)]
        db: RegistryDb,
        #[command(flatten)]
        dir: DataDir,
        /// Where to listen.
        #[arg(long, default_value = "127.0.0.1:8088")]
        listen: SocketAddr,
        /// How often to re-read the registries, in seconds.
        #[arg(long, default_value_t = 5)]
        refresh_secs: u64,
        /// The portal is reached over HTTPS (a TLS-terminating proxy in front): the back
        /// office's session cookie is marked Secure.
        #[arg(long)]
        behind_https: bool,
    },
    /// Load the registry of state information resources (Decision 118 annex 1) if empty,
    /// and, with --services FILE (a JSON array of service records), register them.
    Seed {
        #[command(flatten)]
        db: RegistryDb,
        /// Service records to load (JSON array), registered on --on.
        #[arg(long)]
        services: Option<PathBuf>,
        /// Load the bulletins' services and this many generated ones (demo and load tests).
        #[arg(long)]
        demo_services: Option<usize>,
        /// Registration date, YYYY-MM-DD (default: today).
        #[arg(long)]
        on: Option<String>,
    },
    /// Add a back-office staff member; prints the password and the one-time-code secret once.
    StaffAdd {
        #[command(flatten)]
        db: RegistryDb,
        #[command(flatten)]
        dir: DataDir,
        /// Login.
        #[arg(long)]
        login: String,
        /// Full name.
        #[arg(long)]
        name: String,
    },
    /// Print the current one-time code of a secret (a stand-in for an authenticator app in
    /// the demo and in tests).
    Code {
        /// The base32 secret.
        #[arg(long)]
        secret: String,
    },
    /// File an application to the e-services registry: register a service, amend one,
    /// or deregister one; prints its number and due date. Staff decide it in the back office.
    Apply {
        #[command(flatten)]
        db: RegistryDb,
        /// register, amend or deregister.
        #[arg(long)]
        kind: String,
        /// The service record (JSON), for register and amend.
        #[arg(long)]
        record: Option<PathBuf>,
        /// The service's registry number, for amend and deregister.
        #[arg(long)]
        service: Option<String>,
        /// Why, for deregister.
        #[arg(long)]
        reason: Option<String>,
        /// When the service changed, for amend (YYYY-MM-DD): the request is due within 3
        /// working days of it.
        #[arg(long)]
        changed_on: Option<String>,
        /// The applying body (as it signs).
        #[arg(long)]
        applicant: String,
    },
    /// List pending registry applications; overdue ones are marked.
    Pending {
        #[command(flatten)]
        db: RegistryDb,
    },
}

/// A date argument, `YYYY-MM-DD`; the error names the flag.
fn day(flag: &str, text: &str) -> anyhow::Result<time::Date> {
    time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| anyhow::anyhow!("{flag}: '{text}' is not YYYY-MM-DD"))
}

pub async fn run(args: PortalArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    match args.command {
        PortalCommand::Serve { db, dir, listen, refresh_secs, behind_https } => {
            let key = dir.staff_key(&db.db)?;
            let registry = Registry::open(&db.db).await.context("opening the registries")?;
            let listener =
                tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
            let portal = egov_portal::start(listener, registry, key, Duration::from_secs(refresh_secs.max(1))).await?;
            portal.portal.set_secure_cookies(behind_https);
            println!("portal on http://{}/az/ (also /en/, /ru/; open data /api/v1/openapi.json)", portal.addr);
            shutdown.await;
            portal.stop();
            Ok(())
        }
        PortalCommand::Seed { db, services, demo_services, on } => {
            let registry = Registry::open(&db.db).await.context("opening the registries")?;
            registry.seed_resources().await?;
            let on = match on {
                Some(d) => day("--on", &d)?,
                None => today(),
            };
            let mut records = Vec::new();
            if let Some(path) = services {
                let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                let parsed: Vec<egov_registry::model::ServiceRecord> = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a JSON array of service records", path.display()))?;
                records.extend(parsed);
            }
            if let Some(n) = demo_services {
                records.extend(egov_registry::catalogue_seed::named_services());
                records.extend(egov_registry::catalogue_seed::generated_services(n));
            }
            let numbers = registry.import(&records, "egov portal seed", on).await?;
            println!(
                "{} bodies, {} information systems, {} services registered now",
                registry.bodies().await?.len(),
                registry.systems().await?.len(),
                numbers.len()
            );
            Ok(())
        }
        PortalCommand::StaffAdd { db, dir, login, name } => {
            let key = dir.staff_key(&db.db)?;
            let registry = Registry::open(&db.db).await.context("opening the registries")?;
            let c = registry.add_staff(&key, &login, &name).await?;
            println!(
                "staff member {} added; hand over once:\n  password: {}\n  one-time-code secret: {}\n  {}",
                c.login, c.password, c.totp_secret, c.otpauth_url
            );
            Ok(())
        }
        PortalCommand::Code { secret } => {
            let now = time::OffsetDateTime::now_utc().unix_timestamp();
            println!("{}", egov_registry::staff::current_code(&secret, now)?);
            Ok(())
        }
        PortalCommand::Apply { db, kind, record, service, reason, changed_on, applicant } => {
            let registry = Registry::open(&db.db).await.context("opening the registries")?;
            let read_record = || -> anyhow::Result<Box<egov_registry::model::ServiceRecord>> {
                let path = record.as_ref().ok_or_else(|| anyhow::anyhow!("--record FILE is required for {kind}"))?;
                let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                Ok(Box::new(
                    serde_json::from_str(&text)
                        .with_context(|| format!("{} is not a service record (JSON)", path.display()))?,
                ))
            };
            let number = || service.clone().ok_or_else(|| anyhow::anyhow!("--service NUMBER is required for {kind}"));
            let request = match kind.as_str() {
                "register" => egov_registry::store::Request::Register(read_record()?),
                "amend" => egov_registry::store::Request::Amend {
                    registry_number: number()?,
                    record: read_record()?,
                    changed_on: changed_on.as_deref().map(|d| day("--changed-on", d)).transpose()?,
                },
                "deregister" => egov_registry::store::Request::Deregister {
                    registry_number: number()?,
                    reason: reason.clone().ok_or_else(|| anyhow::anyhow!("--reason is required for deregister"))?,
                },
                other => anyhow::bail!("--kind '{other}' is not register, amend or deregister"),
            };
            let a = registry.file(request, &applicant, today()).await?;
            println!("application {} filed on {}; due {} (working days, R-10)", a.id, a.filed_on, a.due_on);
            if a.requested_late {
                println!("note: requested more than 3 working days after the change (R-10); the record shows it");
            }
            Ok(())
        }
        PortalCommand::Pending { db } => {
            let registry = Registry::open(&db.db).await.context("opening the registries")?;
            let today = today();
            for a in registry.pending().await? {
                println!(
                    "{:>6}  {:<10}  {:<12}  filed {}  due {}{}  {}",
                    a.id,
                    a.kind,
                    a.registry_number.as_deref().unwrap_or("-"),
                    a.filed_on,
                    a.due_on,
                    if a.due_on < today { "  OVERDUE" } else { "" },
                    a.applicant
                );
            }
            Ok(())
        }
    }
}
