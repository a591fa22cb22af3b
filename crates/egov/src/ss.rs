//! `egov ss …`: run a security server and manage its configuration (TT-2.2.3, TT-3.8.3,
//! TT-4.1.3, TT-6.7). Management commands change the server's database; a running server
//! picks the change up within a second.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use egov_security_server::conf::Subject;
use egov_security_server::enrolment::{KeyStorage, ServerDir};
use egov_security_server::{ConfStore, DirectoryHandle, Settings, Timeouts};
use egov_xroad::{ClientId, SecurityServerId, ServiceId};

#[derive(Args)]
pub struct Db {
    /// The security server's configuration database (sqlite://FILE or postgres://…).
    #[arg(long, env = "EGOV_SS_DB", default_value = "sqlite://serverconf.db", global = true)]
    db: String,
}

#[derive(Args)]
pub struct ServerDirArgs {
    /// The server directory: anchor, keys, certificates, saved global configuration, message log.
    #[arg(long = "dir")]
    path: PathBuf,
    /// Passphrase of the key files (it also seals the message log's keys).
    #[arg(long, env = "EGOV_SS_PASSPHRASE", hide_env_values = true)]
    passphrase: Option<String>,
}

impl ServerDirArgs {
    pub(crate) fn open(&self) -> ServerDir {
        ServerDir::new(&self.path, self.passphrase.clone())
    }
}

#[derive(Subcommand)]
pub enum SsCommand {
    /// Set up a new security server (TT-4.1.2): install the configuration anchor, generate
    /// the authentication and signing keys, write the certificate requests.
    Init {
        #[command(flatten)]
        dir: ServerDirArgs,
        /// The configuration anchor (JSON) from the operator.
        #[arg(long)]
        anchor: PathBuf,
        /// This server's id, INSTANCE/CLASS/CODE/SERVER.
        #[arg(long)]
        id: SecurityServerId,
        /// Write the private keys in clear when no passphrase is given (a throwaway test
        /// server only; without it, init refuses to run without EGOV_SS_PASSPHRASE).
        #[arg(long)]
        insecure_keys: bool,
    },
    /// Submit the registration request to the central server; run again to see its state
    /// and, once the operator approved it, install the certificates.
    Register {
        #[command(flatten)]
        dir: ServerDirArgs,
        /// host:port where other security servers will reach this one.
        #[arg(long)]
        address: String,
        /// production or test (the test environment, TT-3.8).
        #[arg(long, default_value = "production")]
        environment: String,
        /// Keep asking until the request is decided, at most this many seconds.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        /// The single-use enrolment code the operator issued for this server id (`egov
        /// central servers add`); needed to submit the request.
        #[arg(long, env = "EGOV_SS_ENROLMENT_CODE", hide_env_values = true)]
        enrolment_code: Option<String>,
    },
    /// Run a security server.
    Serve {
        #[command(flatten)]
        dir: ServerDirArgs,
        /// Where information systems connect.
        #[arg(long, default_value = "127.0.0.1:8080")]
        client_listen: SocketAddr,
        /// Where other security servers connect.
        #[arg(long, default_value = "0.0.0.0:5500")]
        peer_listen: SocketAddr,
        /// Where the monitoring station connects (monitoring data only; `monitor` tokens).
        #[arg(long, default_value = "127.0.0.1:8091")]
        monitoring_listen: SocketAddr,
        #[command(flatten)]
        db: Db,
    },
    /// Holders of monitoring and archive-reading tokens (TT-2.7, TT-3.8.4).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Register a member or subsystem as a client of this server.
    Client {
        #[command(subcommand)]
        command: ClientCommand,
    },
    /// Services provided through this server.
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// Local groups (subjects of access rights).
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Access rights.
    Acl {
        #[command(subcommand)]
        command: AclCommand,
    },
    /// Adapter servers whose mappings this server keeps and pushes (TT-4.1.4, TT-4.2).
    Adapter {
        #[command(subcommand)]
        command: AdapterCommand,
    },
    /// Print the configuration.
    Show {
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub enum AdapterCommand {
    /// Keep a mapping, push it to the adapter and register its SOAP and REST services for
    /// the client. Run again with a changed file to change the adapter (its address or
    /// protocol too): the push goes to where the adapter runs now.
    Connect {
        /// The subsystem whose services the adapter answers.
        #[arg(long)]
        client: ClientId,
        /// The mapping file (TOML).
        #[arg(long)]
        mapping: PathBuf,
        /// Where the adapter runs now (default: where this server last pushed, else the
        /// mapping's own address).
        #[arg(long)]
        url: Option<String>,
        /// The adapter's push token.
        #[arg(long, env = "EGOV_ADAPTER_TOKEN", hide_env_values = true)]
        token: String,
        /// The adapter's HTTPS certificate (PEM), when it serves HTTPS.
        #[arg(long)]
        ca: Option<PathBuf>,
        #[command(flatten)]
        db: Db,
    },
    /// List the adapters this server keeps.
    List {
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a token holder; prints the token once (only its hash is kept).
    Add {
        #[command(flatten)]
        dir: ServerDirArgs,
        /// A name for the read log, e.g. "monitoring-station" or "auditor J. Məmmədov".
        #[arg(long)]
        name: String,
        /// monitor (operational and health data) or archive-reader (the message log's contents).
        #[arg(long)]
        role: egov_security_server::users::Role,
    },
    /// Remove a token holder.
    Remove {
        #[command(flatten)]
        dir: ServerDirArgs,
        #[arg(long)]
        name: String,
    },
    /// List token holders.
    List {
        #[command(flatten)]
        dir: ServerDirArgs,
    },
}

#[derive(Subcommand)]
pub enum ClientCommand {
    /// Add a client.
    Add {
        /// INSTANCE/CLASS/CODE[/SUBSYSTEM].
        client: ClientId,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub enum ServiceCommand {
    /// Add the SOAP services of a WSDL (file path or http:// URL).
    AddWsdl {
        /// Provider subsystem.
        #[arg(long)]
        client: ClientId,
        /// WSDL file or URL.
        #[arg(long)]
        wsdl: String,
        /// Service URL (default: the WSDL's soap:address).
        #[arg(long)]
        url: Option<String>,
        #[command(flatten)]
        db: Db,
    },
    /// Add a REST service.
    AddRest {
        /// INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE.
        #[arg(long)]
        service: ServiceId,
        /// Base URL of the service.
        #[arg(long)]
        url: String,
        /// OpenAPI 3 document (JSON file).
        #[arg(long)]
        openapi: Option<PathBuf>,
        #[command(flatten)]
        db: Db,
    },
    /// Declare a REST endpoint.
    Endpoint {
        #[arg(long)]
        service: ServiceId,
        #[arg(long)]
        method: String,
        #[arg(long)]
        path: String,
        #[command(flatten)]
        db: Db,
    },
    /// Set a service's timeout in milliseconds (omit --ms for the federation default).
    Timeout {
        #[arg(long)]
        service: ServiceId,
        #[arg(long)]
        ms: Option<u64>,
        #[command(flatten)]
        db: Db,
    },
    /// Disable a service with a notice shown to callers (omit --notice to enable).
    Disable {
        #[arg(long)]
        service: ServiceId,
        #[arg(long)]
        notice: Option<String>,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub enum GroupCommand {
    /// Create a local group owned by a subsystem.
    Add {
        #[arg(long)]
        owner: ClientId,
        #[arg(long)]
        code: String,
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        db: Db,
    },
    /// Add a member or subsystem to a local group.
    Member {
        #[arg(long)]
        owner: ClientId,
        #[arg(long)]
        code: String,
        #[arg(long)]
        member: ClientId,
        #[command(flatten)]
        db: Db,
    },
}

#[derive(Subcommand)]
pub enum AclCommand {
    /// Allow a subject (client id, group:CODE for a local group, or globalgroup:CODE for a global
    /// group of the federation) to call a service.
    Grant {
        #[arg(long)]
        service: ServiceId,
        #[arg(long)]
        subject: String,
        #[arg(long, default_value = "*")]
        method: String,
        #[arg(long, default_value = "/**")]
        path: String,
        #[command(flatten)]
        db: Db,
    },
    /// Remove a subject's rights on a service.
    Revoke {
        #[arg(long)]
        service: ServiceId,
        #[arg(long)]
        subject: String,
        #[arg(long)]
        method: Option<String>,
        #[arg(long)]
        path: Option<String>,
        #[command(flatten)]
        db: Db,
    },
}

pub async fn run(command: SsCommand, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    match command {
        SsCommand::Init { dir, anchor, id, insecure_keys } => {
            let text = std::fs::read_to_string(&anchor).with_context(|| format!("reading {}", anchor.display()))?;
            let storage = if insecure_keys { KeyStorage::ClearAllowed } else { KeyStorage::Encrypted };
            let server = dir.open();
            server.init(&text, &id, storage)?;
            if server.passphrase_set() {
                println!("private keys encrypted with the server passphrase (EGOV_SS_PASSPHRASE)");
            } else {
                eprintln!(
                    "WARNING: --insecure-keys: the private keys are written in clear; use this server for tests only"
                );
            }
            println!(
                "security server {id}: keys generated in {}; certificate requests auth.csr.pem and sign.csr.pem; \
                 next: egov ss register --dir {} --address HOST:PORT --enrolment-code CODE (from the operator)",
                dir.path.display(),
                dir.path.display()
            );
            Ok(())
        }
        SsCommand::Register { dir, address, environment, wait, enrolment_code } => {
            let server = dir.open();
            let deadline = std::time::Instant::now() + Duration::from_secs(wait);
            let keys = server.key_fingerprints()?;
            // the operator compares these with the listing before approving (issue 13)
            let fingerprints = format!(
                "key fingerprints (SHA-256 of the public key, as the operator's listing shows them):\n  \
                 authentication {}\n  signing        {}",
                keys.auth, keys.sign
            );
            let mut shown = false;
            loop {
                let state = server.register(&address, &environment, enrolment_code.as_deref()).await?;
                if !shown {
                    println!("registration {}: {fingerprints}", state.id);
                    shown = true;
                }
                match state.state.as_str() {
                    "approved" => {
                        println!(
                            "registration {} approved; certificates installed in {}",
                            state.id,
                            dir.path.display()
                        );
                        return Ok(());
                    }
                    "refused" => {
                        bail!(
                            "registration {} refused by the operator: {}; the enrolment code was used: ask the \
                             operator for a new one and run egov ss register --enrolment-code again",
                            state.id,
                            state.reason.unwrap_or_default()
                        )
                    }
                    _ if std::time::Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(500)).await,
                    other => {
                        println!("registration {} is {other}; the operator must approve it", state.id);
                        return Ok(());
                    }
                }
            }
        }
        SsCommand::Serve { dir, client_listen, peer_listen, monitoring_listen, db } => {
            serve(&dir.open(), [client_listen, peer_listen, monitoring_listen], &db.db, shutdown).await
        }
        SsCommand::User { command } => user(command),
        SsCommand::Client { command: ClientCommand::Add { client, db } } => {
            open(&db).await?.add_client(&client).await?;
            println!("client {client} added");
            Ok(())
        }
        SsCommand::Service { command } => service(command).await,
        SsCommand::Group { command: GroupCommand::Add { owner, code, description, db } } => {
            open(&db).await?.add_local_group(&owner, &code, &description).await?;
            println!("local group {code} of {owner} created");
            Ok(())
        }
        SsCommand::Group { command: GroupCommand::Member { owner, code, member, db } } => {
            open(&db).await?.add_group_member(&owner, &code, &member).await?;
            println!("{member} added to local group {code}");
            Ok(())
        }
        SsCommand::Acl { command: AclCommand::Grant { service, subject, method, path, db } } => {
            let subject = Subject::parse(&subject).map_err(anyhow::Error::msg).context("--subject")?;
            open(&db).await?.grant(&service, &subject, &method, &path).await?;
            println!("{subject} may call {service} ({method} {path})");
            Ok(())
        }
        SsCommand::Acl { command: AclCommand::Revoke { service, subject, method, path, db } } => {
            let subject = Subject::parse(&subject).map_err(anyhow::Error::msg).context("--subject")?;
            let n = open(&db).await?.revoke(&service, &subject, method.as_deref(), path.as_deref()).await?;
            println!("{n} access right(s) removed");
            Ok(())
        }
        SsCommand::Adapter { command: AdapterCommand::Connect { client, mapping, url, token, ca, db } } => {
            let text = std::fs::read_to_string(&mapping).with_context(|| format!("reading {}", mapping.display()))?;
            let ca = ca.map(|p| std::fs::read(&p).with_context(|| format!("reading {}", p.display()))).transpose()?;
            let store = open(&db).await?;
            let stored =
                egov_security_server::adapters::connect(&store, &client, &text, url.as_deref(), &token, ca.as_deref())
                    .await?;
            println!(
                "adapter {} at {} connected for {client}; its services are registered",
                stored.name, stored.base_url
            );
            Ok(())
        }
        SsCommand::Adapter { command: AdapterCommand::List { db } } => {
            for a in open(&db).await?.adapters().await? {
                println!("{}  {}  {}", a.name, a.client, a.base_url);
            }
            Ok(())
        }
        SsCommand::Show { db } => show(&open(&db).await?).await,
    }
}

async fn open(db: &Db) -> anyhow::Result<ConfStore> {
    ConfStore::open(&db.db).await.with_context(|| format!("opening the security server database {}", db.db))
}

async fn service(command: ServiceCommand) -> anyhow::Result<()> {
    match command {
        ServiceCommand::AddWsdl { client, wsdl, url, db } => {
            let text = read_document(&wsdl).await?;
            let services = open(&db).await?.add_wsdl(&client, &wsdl, &text, url.as_deref()).await?;
            for s in services {
                println!("service {s} added");
            }
        }
        ServiceCommand::AddRest { service, url, openapi, db } => {
            let doc = match &openapi {
                Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?),
                None => None,
            };
            open(&db).await?.add_rest_service(&service, &url, doc.as_deref()).await?;
            println!("REST service {service} added at {url}");
        }
        ServiceCommand::Endpoint { service, method, path, db } => {
            open(&db).await?.add_endpoint(&service, &method, &path).await?;
            println!("endpoint {method} {path} of {service} added");
        }
        ServiceCommand::Timeout { service, ms, db } => {
            open(&db).await?.set_timeout(&service, ms).await?;
            println!(
                "timeout of {service} set to {}",
                ms.map(|m| format!("{m} ms")).unwrap_or_else(|| "the federation default".into())
            );
        }
        ServiceCommand::Disable { service, notice, db } => {
            open(&db).await?.set_disabled(&service, notice.as_deref()).await?;
            println!("{service} {}", if notice.is_some() { "disabled" } else { "enabled" });
        }
    }
    Ok(())
}

async fn read_document(source: &str) -> anyhow::Result<String> {
    if source.starts_with("http://") {
        let backend = egov_security_server::backend::Backend::new();
        let reply = backend
            .fetch_description(source, Duration::from_secs(10))
            .await
            .map_err(|e| anyhow::anyhow!("fetching {source}: {e}"))?;
        if !reply.status.is_success() {
            bail!("fetching {source}: HTTP {}", reply.status);
        }
        return String::from_utf8(reply.body.to_vec()).with_context(|| format!("{source} is not UTF-8"));
    }
    std::fs::read_to_string(source).with_context(|| format!("reading {source}"))
}

async fn show(store: &ConfStore) -> anyhow::Result<()> {
    let conf = store.load().await?;
    println!("configuration version {}", conf.version);
    let mut clients: Vec<_> = conf.clients.iter().map(ToString::to_string).collect();
    clients.sort();
    println!("clients:");
    for c in clients {
        println!("  {c}");
    }
    println!("services:");
    let mut keys: Vec<_> = conf.services.keys().collect();
    keys.sort();
    for key in keys {
        for s in &conf.services[key] {
            let d = &conf.descriptions[&s.description_id];
            println!(
                "  {} [{}] -> {}{}",
                s.id,
                d.kind.as_str(),
                s.url,
                d.disabled_notice.as_ref().map(|n| format!(" (disabled: {n})")).unwrap_or_default()
            );
        }
        for r in conf.access.get(key).into_iter().flatten() {
            println!("      allow {} {} {}", r.subject, r.method, r.path);
        }
    }
    Ok(())
}

fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add { dir, name, role } => {
            let server = dir.open();
            let mut users = server.users()?;
            let token = users.add(&name, role).map_err(anyhow::Error::msg)?;
            server.save_users(&users)?;
            println!("{name} ({}) added; token (shown once): {token}", role.as_str());
        }
        UserCommand::Remove { dir, name } => {
            let server = dir.open();
            let mut users = server.users()?;
            users.remove(&name).map_err(anyhow::Error::msg)?;
            server.save_users(&users)?;
            println!("{name} removed");
        }
        UserCommand::List { dir } => {
            for u in dir.open().users()?.users {
                println!("{}\t{}", u.name, u.role.as_str());
            }
        }
    }
    Ok(())
}

async fn serve(
    dir: &ServerDir,
    [client_listen, peer_listen, monitoring_listen]: [SocketAddr; 3],
    db: &str,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let id = dir.id()?;
    let keys = dir.keys()?;
    let conf_client = dir.conf_client()?;
    let directory = conf_client.initial().await.context("no global configuration")?;
    let Some(entry) = directory.server(&id) else {
        bail!("security server {id} is not in the global configuration (not registered, or removed by the operator)");
    };
    let own_hash = egov_globalconf::hash_hex(&egov_pki::cert_sha256(&keys.auth_cert));
    if own_hash != entry.auth_cert_sha256 {
        bail!(
            "the authentication certificate of this server (SHA-256 {own_hash}) is not the one registered for {id} \
             ({}); other security servers would refuse this server",
            entry.auth_cert_sha256
        );
    }
    let store = ConfStore::open(db).await.with_context(|| format!("opening {db}"))?;
    let settings = Settings {
        id: id.clone(),
        client_listen,
        peer_listen,
        keys,
        timeouts: Timeouts::default(),
        conf_poll: Duration::from_secs(1),
        conf_client: Some(conf_client),
        message_log: Some(dir.message_log().await.context("opening the message log")?),
        monitoring_listen: Some(monitoring_listen),
        // followed while the server runs: `egov ss user remove` takes effect within a second
        users: egov_security_server::users::UsersSource::File(dir.file(egov_security_server::server_files::USERS_FILE)),
    };
    let server = egov_security_server::start(settings, store, DirectoryHandle::new(directory)).await?;
    println!(
        "security server {id}: information systems on http://{}, security servers on {}, monitoring on http://{}",
        server.client_addr,
        server.peer_addr,
        server.monitoring_addr.map(|a| a.to_string()).unwrap_or_default()
    );
    shutdown.await;
    server.stop().await;
    Ok(())
}
