//! `egov ss …`: run a security server and manage its configuration (TT-2.2.3, TT-3.8.3,
//! TT-4.1.3, TT-6.7). Management commands change the server's database; a running server
//! picks the change up within a second.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use egov_globalconf::Directory;
use egov_pki::PrivateKey;
use egov_security_server::conf::Subject;
use egov_security_server::{ConfStore, DirectoryHandle, ServerKeys, Settings, Timeouts};
use egov_xroad::{ClientId, SecurityServerId, ServiceId};

#[derive(Args)]
pub struct Db {
    /// The security server's configuration database (sqlite://FILE or postgres://…).
    #[arg(long, env = "EGOV_SS_DB", default_value = "sqlite://serverconf.db", global = true)]
    db: String,
}

#[derive(Subcommand)]
pub enum SsCommand {
    /// Run a security server.
    Serve {
        /// This server's id, INSTANCE/CLASS/CODE/SERVER.
        #[arg(long)]
        id: SecurityServerId,
        /// Directory holding auth.key.pem, auth.crt.pem, sign.key.pem, sign.crt.pem.
        #[arg(long)]
        keys_dir: PathBuf,
        /// Federation directory (JSON); re-read when it changes.
        #[arg(long)]
        directory: PathBuf,
        /// Where information systems connect.
        #[arg(long, default_value = "127.0.0.1:8080")]
        client_listen: SocketAddr,
        /// Where other security servers connect.
        #[arg(long, default_value = "0.0.0.0:5500")]
        peer_listen: SocketAddr,
        #[command(flatten)]
        db: Db,
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
    /// Print the configuration.
    Show {
        #[command(flatten)]
        db: Db,
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
    /// Allow a subject (client id or group:CODE) to call a service.
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
        SsCommand::Serve { id, keys_dir, directory, client_listen, peer_listen, db } => {
            serve(id, &keys_dir, &directory, client_listen, peer_listen, &db.db, shutdown).await
        }
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
            .call(http::Method::GET, source, http::HeaderMap::new(), bytes::Bytes::new(), Duration::from_secs(10))
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

fn read_pem(dir: &Path, name: &str) -> anyhow::Result<String> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
}

fn load_keys(dir: &Path) -> anyhow::Result<ServerKeys> {
    let cert = |name: &str| -> anyhow::Result<Vec<u8>> {
        Ok(egov_pki::from_pem("CERTIFICATE", &read_pem(dir, name)?)?.remove(0))
    };
    Ok(ServerKeys {
        auth_key: PrivateKey::from_pem(&read_pem(dir, "auth.key.pem")?).context("auth.key.pem")?,
        auth_cert: cert("auth.crt.pem")?,
        sign_key: PrivateKey::from_pem(&read_pem(dir, "sign.key.pem")?).context("sign.key.pem")?,
        sign_cert: cert("sign.crt.pem")?,
    })
}

async fn serve(
    id: SecurityServerId,
    keys_dir: &Path,
    directory_path: &Path,
    client_listen: SocketAddr,
    peer_listen: SocketAddr,
    db: &str,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let keys = load_keys(keys_dir)?;
    let directory = Directory::load(directory_path)?;
    let Some(entry) = directory.server(&id) else {
        bail!("security server {id} is not in the federation directory {}", directory_path.display());
    };
    let own_hash = egov_globalconf::hash_hex(&egov_pki::cert_sha256(&keys.auth_cert));
    if own_hash != entry.auth_cert_sha256 {
        bail!(
            "the authentication certificate in {} (SHA-256 {own_hash}) is not the one registered for {id} ({});              other security servers would refuse this server",
            keys_dir.display(),
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
    };
    let server = egov_security_server::start(settings, store, DirectoryHandle::new(directory)).await?;
    println!(
        "security server {id}: information systems on http://{}, security servers on {}",
        server.client_addr, server.peer_addr
    );
    let gateway = server.gateway.clone();
    let path = directory_path.to_owned();
    let reload = tokio::spawn(async move {
        let mut last = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let now = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if now != last {
                last = now;
                match Directory::load(&path) {
                    Ok(d) => {
                        gateway.update_directory(d);
                        tracing::info!("federation directory reloaded");
                    }
                    Err(e) => tracing::error!(error = %e, "new federation directory refused; keeping the previous one"),
                }
            }
        }
    });
    shutdown.await;
    reload.abort();
    server.stop().await;
    Ok(())
}
