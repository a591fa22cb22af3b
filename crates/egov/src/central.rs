//! `egov central …`: the operator's central server (TT-3.x, TT-4.1.2, TT-6.8, P-4.1).
//!
//! `init` creates the Certification Centre, the configuration-signing key, the admin
//! listener's certificate and the operator's credentials; `serve` runs the central server
//! with the Certification Centre's OCSP responder and TSA on its public listener. Every
//! other command is a call to the admin API, authenticated by the operator's certificate.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use egov_central::api::client::{AdminClient, OperatorCredentials, path_segment};
use egov_central::operator::{CentralDir, InitOptions};
use serde_json::{Value, json};

#[derive(Args)]
pub struct Operator {
    /// The operator's credentials (operator.json written by `egov central init`).
    #[arg(long, env = "EGOV_OPERATOR", global = true, default_value = "operator.json")]
    operator: PathBuf,
}

impl Operator {
    fn client(&self) -> anyhow::Result<AdminClient> {
        let text = std::fs::read_to_string(&self.operator)
            .with_context(|| format!("reading the operator's credentials {}", self.operator.display()))?;
        let creds: OperatorCredentials = serde_json::from_str(&text)
            .with_context(|| format!("{} is not operator credentials", self.operator.display()))?;
        AdminClient::new(&creds).map_err(anyhow::Error::msg)
    }
}

#[derive(Args)]
pub struct CentralArgs {
    #[command(subcommand)]
    command: CentralCommand,
}

#[derive(Subcommand)]
enum CentralCommand {
    /// Create the operator's central services in a directory: Certification Centre,
    /// configuration-signing key, admin listener certificate, operator credentials.
    Init {
        /// The directory (must not hold a central server yet).
        #[arg(long)]
        dir: PathBuf,
        /// Instance identifier, e.g. AZ.
        #[arg(long)]
        instance: String,
        /// Where the admin API will listen (written into the operator's credentials).
        #[arg(long, default_value = "127.0.0.1:4000")]
        admin_address: String,
        /// Passphrase protecting the key files.
        #[arg(long, env = "EGOV_CENTRAL_PASSPHRASE", hide_env_values = true)]
        passphrase: String,
    },
    /// Run the central server.
    Serve {
        /// The directory made by `init`.
        #[arg(long)]
        dir: PathBuf,
        /// Passphrase of the key files.
        #[arg(long, env = "EGOV_CENTRAL_PASSPHRASE", hide_env_values = true)]
        passphrase: String,
        /// Configuration download, registration, OCSP and time-stamping (plain HTTP).
        #[arg(long, default_value = "127.0.0.1:8800")]
        public_listen: SocketAddr,
        /// The admin API (HTTPS, client certificate required).
        #[arg(long, default_value = "127.0.0.1:4000")]
        admin_listen: SocketAddr,
        /// URL security servers use for the public listener (default http://PUBLIC_LISTEN).
        #[arg(long)]
        public_url: Option<String>,
        /// The central server's database (default: sqlite file in --dir).
        #[arg(long, env = "EGOV_CENTRAL_DB")]
        db: Option<String>,
        /// Validity of each configuration generation, seconds.
        #[arg(long, default_value_t = 600)]
        validity: i64,
        /// A new generation at least this often, seconds.
        #[arg(long, default_value_t = 60)]
        generation_interval: u64,
    },
    /// Print the configuration anchor security servers are installed with.
    Anchor {
        /// production or test.
        #[arg(long, default_value = "production")]
        environment: String,
        #[command(flatten)]
        op: Operator,
    },
    /// Members.
    Members {
        #[command(subcommand)]
        command: MembersCommand,
    },
    /// Security servers: list them, or add a member's server (an enrolment code for it).
    Servers {
        #[command(subcommand)]
        command: Option<ServersCommand>,
        #[command(flatten)]
        op: Operator,
    },
    /// Registration requests of new security servers (with both keys' fingerprints, to
    /// compare with what `egov ss register` printed on the agency's side).
    Registrations {
        #[command(subcommand)]
        command: RegistrationsCommand,
    },
    /// Revoke a certificate (its serial in hex).
    Revoke {
        serial: String,
        /// RFC 5280 reason: keyCompromise, affiliationChanged, superseded, cessationOfOperation, …
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        op: Operator,
    },
    /// Block a member at once (TT-3.7): its traffic is refused federation-wide at the next
    /// configuration refresh.
    Block {
        member: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        op: Operator,
    },
    /// Lift a block.
    Unblock {
        member: String,
        #[command(flatten)]
        op: Operator,
    },
    /// Notices to participants (maintenance, version retirements, disconnections).
    Notices {
        /// Only those for this member.
        #[arg(long)]
        member: Option<String>,
        #[command(flatten)]
        op: Operator,
    },
    /// Recorded information-security incidents (TT-6.8).
    Incidents {
        /// Only this kind (authentication-failure, access-denied, signature-failure, replay, blocked).
        #[arg(long)]
        kind: Option<String>,
        /// Only those involving this member.
        #[arg(long)]
        member: Option<String>,
        #[command(flatten)]
        op: Operator,
    },
    /// Any admin API call: `egov central api POST /api/v1/… --data '{…}'`.
    Api {
        method: String,
        path: String,
        #[arg(long)]
        data: Option<String>,
        #[command(flatten)]
        op: Operator,
    },
}

#[derive(Subcommand)]
enum MembersCommand {
    /// List members.
    List {
        #[command(flatten)]
        op: Operator,
    },
    /// Register a member.
    Add {
        /// INSTANCE/CLASS/CODE.
        #[arg(long)]
        id: String,
        #[arg(long)]
        name: String,
        /// VÖEN (ten digits).
        #[arg(long)]
        tax_id: String,
        /// central-executive, local-executive, municipality or other.
        #[arg(long)]
        legal_status: String,
        /// Subsystem codes.
        #[arg(long = "subsystem")]
        subsystems: Vec<String>,
        #[command(flatten)]
        op: Operator,
    },
}

#[derive(Subcommand)]
enum ServersCommand {
    /// Add a member's security server: issue the single-use enrolment code its registration
    /// request must carry (TT-4.1.2). It is shown only now; hand it to the agency out of
    /// band. Run again for a fresh code (the old one stops working), e.g. after a refusal.
    Add {
        /// INSTANCE/CLASS/CODE/SERVER.
        id: String,
        /// How long the code can be used, days (1–90).
        #[arg(long, default_value_t = 7)]
        valid_days: i64,
    },
}

#[derive(Subcommand)]
enum RegistrationsCommand {
    /// List requests (all, or in one state).
    List {
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        op: Operator,
    },
    /// Approve a request: certificates are issued and the server is registered.
    Approve {
        id: String,
        #[command(flatten)]
        op: Operator,
    },
    /// Refuse a request with a reason.
    Refuse {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        op: Operator,
    },
}

fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

async fn call(op: &Operator, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
    op.client()?.ok(method, path, body.as_ref()).await.map_err(anyhow::Error::msg)
}

fn query(pairs: &[(&str, &Option<String>)]) -> String {
    let q: Vec<String> =
        pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", path_segment(v)))).collect();
    if q.is_empty() { String::new() } else { format!("?{}", q.join("&")) }
}

pub async fn run(args: CentralArgs, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    match args.command {
        CentralCommand::Init { dir, instance, admin_address, passphrase } => {
            let created = CentralDir::init(&dir, &InitOptions { instance, admin_address, passphrase }).await?;
            println!(
                "central services created in {}: Certification Centre, configuration-signing key, \
                 operator credentials {}",
                dir.display(),
                created.operator_file().display()
            );
            Ok(())
        }
        CentralCommand::Serve {
            dir,
            passphrase,
            public_listen,
            admin_listen,
            public_url,
            db,
            validity,
            generation_interval,
        } => {
            serve(
                &dir,
                &passphrase,
                public_listen,
                admin_listen,
                public_url,
                db,
                validity,
                generation_interval,
                shutdown,
            )
            .await
        }
        CentralCommand::Anchor { environment, op } => {
            print(
                &call(&op, "GET", &format!("/api/v1/anchor?environment={}", path_segment(&environment)), None).await?,
            );
            Ok(())
        }
        CentralCommand::Members { command: MembersCommand::List { op } } => {
            print(&call(&op, "GET", "/api/v1/members", None).await?);
            Ok(())
        }
        CentralCommand::Members { command: MembersCommand::Add { id, name, tax_id, legal_status, subsystems, op } } => {
            let body = json!({"id": id, "name": name, "tax_id": tax_id, "legal_status": legal_status, "subsystems": subsystems});
            print(&call(&op, "POST", "/api/v1/members", Some(body)).await?);
            Ok(())
        }
        CentralCommand::Servers { command: None, op } => {
            print(&call(&op, "GET", "/api/v1/security-servers", None).await?);
            Ok(())
        }
        CentralCommand::Servers { command: Some(ServersCommand::Add { id, valid_days }), op } => {
            let path = format!("/api/v1/security-servers/{}/enrolment-code", path_segment(&id));
            let issued = call(&op, "POST", &path, Some(json!({ "valid_days": valid_days }))).await?;
            let code = issued["code"].as_str().context("the answer carries no enrolment code")?;
            let until = issued["expires_at"].as_i64().unwrap_or_default();
            let until = time::OffsetDateTime::from_unix_timestamp(until)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_else(|| until.to_string());
            println!(
                "security server {id} added; its enrolment code (single use, valid until {until}; shown only now):\n\
                 {code}\nthe agency passes it with: egov ss register --enrolment-code CODE"
            );
            Ok(())
        }
        CentralCommand::Registrations { command: RegistrationsCommand::List { state, op } } => {
            print(&call(&op, "GET", &format!("/api/v1/registrations{}", query(&[("state", &state)])), None).await?);
            Ok(())
        }
        CentralCommand::Registrations { command: RegistrationsCommand::Approve { id, op } } => {
            let r = call(&op, "POST", &format!("/api/v1/registrations/{}/approve", path_segment(&id)), None).await?;
            println!(
                "registration {id} approved: security server {} registered",
                r["server_id"].as_str().unwrap_or("?")
            );
            Ok(())
        }
        CentralCommand::Registrations { command: RegistrationsCommand::Refuse { id, reason, op } } => {
            let path = format!("/api/v1/registrations/{}/refuse", path_segment(&id));
            call(&op, "POST", &path, Some(json!({ "reason": reason }))).await?;
            println!("registration {id} refused");
            Ok(())
        }
        CentralCommand::Revoke { serial, reason, op } => {
            let path = format!("/api/v1/certificates/{}/revoke", path_segment(&serial));
            call(&op, "POST", &path, Some(json!({ "reason": reason }))).await?;
            println!("certificate {serial} revoked ({reason}); security servers refuse it from their next refresh");
            Ok(())
        }
        CentralCommand::Block { member, reason, op } => {
            let path = format!("/api/v1/members/{}/block", path_segment(&member));
            call(&op, "POST", &path, Some(json!({ "reason": reason }))).await?;
            println!("member {member} blocked; its traffic is refused from the next configuration refresh");
            Ok(())
        }
        CentralCommand::Unblock { member, op } => {
            call(&op, "POST", &format!("/api/v1/members/{}/unblock", path_segment(&member)), Some(json!({}))).await?;
            println!("member {member} unblocked");
            Ok(())
        }
        CentralCommand::Notices { member, op } => {
            print(&call(&op, "GET", &format!("/api/v1/notices{}", query(&[("member", &member)])), None).await?);
            Ok(())
        }
        CentralCommand::Incidents { kind, member, op } => {
            let q = query(&[("kind", &kind), ("member", &member)]);
            print(&call(&op, "GET", &format!("/api/v1/incidents{q}"), None).await?);
            Ok(())
        }
        CentralCommand::Api { method, path, data, op } => {
            let body = data.map(|d| serde_json::from_str::<Value>(&d)).transpose().context("--data is not JSON")?;
            let r = op
                .client()?
                .call(&method.to_ascii_uppercase(), &path, body.as_ref())
                .await
                .map_err(anyhow::Error::msg)?;
            print(&r.body);
            if !(200..300).contains(&r.status) {
                bail!("HTTP {}", r.status);
            }
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn serve(
    dir: &Path,
    passphrase: &str,
    public_listen: SocketAddr,
    admin_listen: SocketAddr,
    public_url: Option<String>,
    db: Option<String>,
    validity: i64,
    generation_interval: u64,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    if validity < 60 || generation_interval == 0 || generation_interval as i64 * 2 > validity {
        bail!("--generation-interval must be at least 1 s and at most half of --validity (at least 60 s)");
    }
    let central = CentralDir::open(dir, passphrase, db.as_deref()).await?;
    let public =
        tokio::net::TcpListener::bind(public_listen).await.with_context(|| format!("binding {public_listen}"))?;
    let admin = tokio::net::TcpListener::bind(admin_listen).await.with_context(|| format!("binding {admin_listen}"))?;
    let settings = egov_central::service::CentralSettings {
        instance: central.instance().to_owned(),
        validity_secs: validity,
        generation_interval: Duration::from_secs(generation_interval),
        limits: egov_globalconf::Limits::default(),
        public_url,
    };
    let running = central.start(public, admin, settings).await?;
    println!("central server: public services on {}, admin API on https://{}", running.public_url, running.admin_addr);
    shutdown.await;
    running.stop().await;
    Ok(())
}
