//! Builds a federation on loopback: security servers with keys and certificates obtained
//! through certificate requests (TT-4.1.2), and the directory naming them all.
//!
//! Two ways to trust:
//! - [`Federation::with_central`]: the operator's central services run (Certification
//!   Centre, central server); every server is set up as a real one is — keys and CSRs in a
//!   server directory, a registration request, the operator's approval over the admin API —
//!   and downloads the signed global configuration. `egov demo` and the end-to-end tests.
//! - [`Federation::new`]: a bare CA and a directory built in-process, for tests of the
//!   message path and the benchmark, which need no central server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use std::path::Path;

use egov_central::api::client::{AdminClient, OperatorCredentials, path_segment};
use egov_central::operator::{CentralDir, InitOptions};
use egov_central::service::{CentralSettings, RunningCentral};
use egov_globalconf::{Directory, GlobalConf, Limits, Member, SecurityServer};
use egov_pki::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey};
use egov_security_server::enrolment::ServerDir;
use egov_security_server::server_files::MsgLogFile;
use egov_security_server::users::{Role, Users, UsersSource};
use egov_security_server::{ConfStore, DirectoryHandle, RunningServer, ServerKeys, Settings, Timeouts};
use egov_xroad::{ClientId, SecurityServerId};
use serde_json::json;
use tokio::net::TcpListener;

/// One participant: a member, its subsystems, and the security server it runs.
#[derive(Debug, Clone)]
pub struct ParticipantSpec {
    /// Short name used for directories and logs.
    pub name: String,
    /// Member identifier.
    pub member: ClientId,
    /// Official name.
    pub member_name: String,
    /// Subsystems hosted on its security server.
    pub subsystems: Vec<String>,
    /// Server code of its security server.
    pub server_code: String,
}

/// Keys and certificates issued to one security server.
#[derive(Debug, Clone)]
pub struct IssuedServer {
    /// Participant.
    pub spec: ParticipantSpec,
    /// Security server id.
    pub id: SecurityServerId,
    /// Keys and certificates.
    pub keys: ServerKeys,
    /// Its server directory, when it was set up through the central server.
    pub dir: Option<ServerDir>,
}

/// Issues an authentication and a signing certificate (both P-256) to a security
/// server through certificate requests, as a new server would.
pub fn issue_server_keys(ca: &CertificationAuthority, id: &SecurityServerId) -> anyhow::Result<ServerKeys> {
    let auth_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let auth_profile = CertProfile::Auth(id.clone());
    let auth_cert = ca.issue(&auth_key.certificate_request(&auth_profile)?, &auth_profile, 730)?;
    let sign_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let sign_profile = CertProfile::Sign(id.owner().clone());
    let sign_cert = ca.issue(&sign_key.certificate_request(&sign_profile)?, &sign_profile, 730)?;
    Ok(ServerKeys { auth_key, auth_cert, sign_key, sign_cert })
}

/// The operator's side of a federation set up through the central server.
pub struct Operator {
    /// The central services' directory.
    pub central: CentralDir,
    /// The running central server.
    pub running: RunningCentral,
    /// The operator's admin API client.
    pub admin: AdminClient,
    /// Where the central services and server directories live.
    pub data_dir: PathBuf,
}

impl std::fmt::Debug for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operator").field("data_dir", &self.data_dir).finish_non_exhaustive()
    }
}

/// Passphrase of the demo's key files. A demo federation is thrown away at exit; a real
/// deployment takes its passphrases from the environment (`EGOV_CENTRAL_PASSPHRASE`,
/// `EGOV_SS_PASSPHRASE`).
pub const DEMO_PASSPHRASE: &str = "demo-only-passphrase";

/// Where trust comes from.
pub enum Trust {
    /// A bare Certification Authority; the directory is built in-process.
    Local(Box<CertificationAuthority>),
    /// The operator's central services.
    Central(Box<Operator>),
}

impl Operator {
    /// Registers `spec`'s member and sets up its security server in `dir` the way a new
    /// server is set up (TT-4.1.2): keys and CSRs, a registration request, the operator's
    /// approval, the certificates collected; its subsystems become clients of the server.
    pub async fn enrol(
        &self,
        spec: &ParticipantSpec,
        id: &SecurityServerId,
        address: &str,
    ) -> anyhow::Result<(ServerDir, ServerKeys)> {
        let member = spec.member.member_id();
        let admin = |method: &'static str, path: String, body: Option<serde_json::Value>| async move {
            self.admin.ok(method, &path, body.as_ref()).await.map_err(anyhow::Error::msg)
        };
        admin(
            "POST",
            "/api/v1/members".into(),
            Some(json!({
                "id": member.to_string(),
                "name": spec.member_name,
                "tax_id": member.member_code(),
                "legal_status": "central-executive",
                "subsystems": spec.subsystems,
            })),
        )
        .await?;
        let anchor = admin("GET", "/api/v1/anchor?environment=production".into(), None).await?;
        let dir_path = self.data_dir.join(&spec.name);
        let _ = std::fs::remove_dir_all(&dir_path); // a demo server is always set up anew
        let dir = ServerDir::new(&dir_path, Some(DEMO_PASSPHRASE.into()));
        dir.init(&serde_json::to_string_pretty(&anchor)?, id, egov_security_server::enrolment::KeyStorage::Encrypted)?;
        // the operator adds the member's server: a single-use enrolment code, handed to the
        // agency, which its registration request must carry (issue 13, item 5)
        let issued = admin(
            "POST",
            format!("/api/v1/security-servers/{}/enrolment-code", path_segment(&id.to_string())),
            Some(json!({})),
        )
        .await?;
        let code = issued["code"].as_str().ok_or_else(|| anyhow::anyhow!("no enrolment code in {issued}"))?;
        let request = dir.register(address, "production", Some(code)).await?;
        // an informed approval: the request's keys are the ones this server generated
        let fingerprints = dir.key_fingerprints()?;
        let pending = admin("GET", "/api/v1/registrations?state=pending".into(), None).await?;
        let listed = pending
            .as_array()
            .and_then(|all| all.iter().find(|r| r["id"] == json!(request.id)))
            .ok_or_else(|| anyhow::anyhow!("registration {} is not pending", request.id))?;
        anyhow::ensure!(
            listed["auth_key_sha256"] == json!(fingerprints.auth)
                && listed["sign_key_sha256"] == json!(fingerprints.sign),
            "registration {} carries other keys than {id} generated",
            request.id
        );
        admin("POST", format!("/api/v1/registrations/{}/approve", path_segment(&request.id)), None).await?;
        let approved = dir.register(address, "production", None).await?;
        anyhow::ensure!(approved.state == "approved", "registration of {id} is {}", approved.state);
        for s in &spec.subsystems {
            let client = ClientId::subsystem(member.instance(), member.member_class(), member.member_code(), s)?;
            admin(
                "POST",
                format!("/api/v1/security-servers/{}/clients", path_segment(&id.to_string())),
                Some(json!({ "client": client.to_string() })),
            )
            .await?;
        }
        let keys = dir.keys()?;
        Ok((dir, keys))
    }
}

/// A federation being assembled: trust, servers with pre-bound listeners.
pub struct Federation {
    /// Instance identifier.
    pub instance: String,
    /// Where certificates and the directory come from.
    pub trust: Trust,
    /// Servers, in the order added.
    pub servers: Vec<IssuedServer>,
    listeners: Vec<(TcpListener, TcpListener)>,
    /// Federation limits.
    pub limits: Limits,
    /// Timeouts of every server.
    pub timeouts: Timeouts,
    /// When set, every server keeps a message log and serves monitoring (TT-2.2.2, TT-2.6):
    /// servers set up through the central server in their own directories, the others in
    /// `<base>/<server code>`; the file is each server's `msglog.json`.
    pub message_log: Option<(PathBuf, MsgLogFile)>,
}

/// Tokens every server of a federation with a message log accepts.
#[derive(Debug, Clone)]
pub struct FederationTokens {
    /// Role `monitor`.
    pub monitor: String,
    /// Role `archive-reader`.
    pub archive_reader: String,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation").field("instance", &self.instance).field("servers", &self.servers.len()).finish()
    }
}

impl Federation {
    /// A new federation with its own Certification Centre.
    pub fn new(instance: &str) -> anyhow::Result<Self> {
        Ok(Self {
            instance: instance.to_owned(),
            trust: Trust::Local(Box::new(CertificationAuthority::generate(
                instance,
                &format!("{instance} e-Government Certification Centre"),
            )?)),
            servers: Vec::new(),
            listeners: Vec::new(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
            message_log: None,
        })
    }

    /// A federation whose operator's central services (Certification Centre and central
    /// server, created anew in `data_dir/central`) start now; `limits` are published in the
    /// global configuration, which expires `validity_secs` after each generation.
    pub async fn with_central(
        instance: &str,
        data_dir: &Path,
        limits: Limits,
        validity_secs: i64,
    ) -> anyhow::Result<Self> {
        let central_dir = data_dir.join("central");
        let _ = std::fs::remove_dir_all(&central_dir); // the demo's operator starts anew each time
        let public = TcpListener::bind("127.0.0.1:0").await?;
        let admin = TcpListener::bind("127.0.0.1:0").await?;
        let admin_address = admin.local_addr()?.to_string();
        let options = InitOptions { instance: instance.into(), admin_address, passphrase: DEMO_PASSPHRASE.into() };
        let created = CentralDir::init(&central_dir, &options).await?;
        let central = CentralDir::open(&central_dir, DEMO_PASSPHRASE, None).await?;
        let settings = CentralSettings {
            instance: instance.into(),
            validity_secs,
            generation_interval: Duration::from_secs((validity_secs / 3).max(1) as u64),
            limits: limits.clone(),
            public_url: None,
        };
        let running = central.start(public, admin, settings).await?;
        let creds: OperatorCredentials = serde_json::from_str(&std::fs::read_to_string(created.operator_file())?)?;
        let admin = AdminClient::new(&creds).map_err(anyhow::Error::msg)?;
        Ok(Self {
            instance: instance.to_owned(),
            trust: Trust::Central(Box::new(Operator { central, running, admin, data_dir: data_dir.to_owned() })),
            servers: Vec::new(),
            listeners: Vec::new(),
            limits,
            timeouts: Timeouts::default(),
            message_log: None,
        })
    }

    /// The operator's side, when the federation has a central server.
    pub fn operator(&self) -> Option<&Operator> {
        match &self.trust {
            Trust::Central(op) => Some(op),
            Trust::Local(_) => None,
        }
    }

    /// Adds a participant: issues its server's keys and binds its two listeners on
    /// 127.0.0.1 (`client_port`/`peer_port` 0 = any free port).
    pub async fn add(&mut self, spec: ParticipantSpec, client_port: u16, peer_port: u16) -> anyhow::Result<usize> {
        let id = SecurityServerId::new(spec.member.clone(), &spec.server_code)?;
        let client = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], client_port))).await?;
        let peer = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], peer_port))).await?;
        let (keys, dir) = match &self.trust {
            Trust::Local(ca) => (issue_server_keys(ca, &id)?, None),
            Trust::Central(op) => {
                let (dir, keys) = op.enrol(&spec, &id, &peer.local_addr()?.to_string()).await?;
                (keys, Some(dir))
            }
        };
        self.servers.push(IssuedServer { spec, id, keys, dir });
        self.listeners.push((client, peer));
        Ok(self.servers.len() - 1)
    }

    /// The directory naming every server added so far (built in-process: a federation
    /// without central server).
    pub fn directory(&self) -> anyhow::Result<Directory> {
        let Trust::Local(ca) = &self.trust else {
            anyhow::bail!("a federation with a central server downloads its directory");
        };
        let mut security_servers = Vec::new();
        let mut members = Vec::new();
        for (server, (_, peer)) in self.servers.iter().zip(&self.listeners) {
            let member = server.spec.member.member_id();
            let mut clients = vec![member.clone()];
            for s in &server.spec.subsystems {
                clients.push(ClientId::subsystem(member.instance(), member.member_class(), member.member_code(), s)?);
            }
            members.push(Member {
                id: member,
                name: server.spec.member_name.clone(),
                subsystems: server.spec.subsystems.clone(),
                blocked: false,
            });
            security_servers.push(SecurityServer {
                id: server.id.clone(),
                address: peer.local_addr()?.to_string(),
                auth_cert_sha256: egov_globalconf::hash_hex(&egov_pki::cert_sha256(&server.keys.auth_cert)),
                clients,
            });
        }
        let mut conf = GlobalConf::new(&self.instance, vec![ca.certificate_pem()]);
        conf.members = members;
        conf.security_servers = security_servers;
        conf.limits = self.limits.clone();
        Ok(Directory::new(conf)?)
    }

    /// Starts every server; `db_url(i)` gives each its configuration database.
    pub async fn start(self, db_url: impl Fn(&IssuedServer) -> String) -> anyhow::Result<RunningFederation> {
        let local = match &self.trust {
            Trust::Local(_) => Some(self.directory()?),
            Trust::Central(_) => None,
        };
        let mut running = Vec::new();
        let mut specs = Vec::new();
        let mut users = Users::default();
        let tokens = FederationTokens {
            monitor: users.add("monitoring-station", Role::Monitor).map_err(anyhow::Error::msg)?,
            archive_reader: users.add("auditor", Role::ArchiveReader).map_err(anyhow::Error::msg)?,
        };
        for (server, (client, peer)) in self.servers.into_iter().zip(self.listeners) {
            let store = ConfStore::open(&db_url(&server)).await?;
            for s in &server.spec.subsystems {
                store
                    .add_client(&ClientId::subsystem(
                        &self.instance,
                        server.spec.member.member_class(),
                        server.spec.member.member_code(),
                        s,
                    )?)
                    .await?;
            }
            let (directory, conf_client) = match (&local, &server.dir) {
                (Some(d), _) => (d.clone(), None),
                (None, Some(dir)) => {
                    let client = dir.conf_client()?;
                    (client.initial().await?, Some(client))
                }
                (None, None) => anyhow::bail!("security server {} has neither directory nor anchor", server.id),
            };
            let mut users_source = UsersSource::Fixed(users.clone());
            let message_log = match &self.message_log {
                None => None,
                Some((base, file)) => {
                    let dir = match &server.dir {
                        Some(d) => d.clone(),
                        None => ServerDir::new(&base.join(server.id.server_code()), Some(DEMO_PASSPHRASE.into())),
                    };
                    let path = dir.file(egov_security_server::server_files::SETTINGS_FILE);
                    std::fs::create_dir_all(path.parent().unwrap_or(base))?;
                    std::fs::write(&path, serde_json::to_string_pretty(file)?)?;
                    dir.save_users(&users)?;
                    // as `egov ss serve` does: the file is followed while the server runs
                    users_source = UsersSource::File(dir.file(egov_security_server::server_files::USERS_FILE));
                    Some(dir.message_log().await?)
                }
            };
            let settings = Settings {
                id: server.id.clone(),
                client_listen: client.local_addr()?,
                peer_listen: peer.local_addr()?,
                keys: server.keys.clone(),
                timeouts: self.timeouts.clone(),
                conf_poll: Duration::from_millis(500),
                conf_client,
                monitoring_listen: message_log.as_ref().map(|_| SocketAddr::from(([127, 0, 0, 1], 0))),
                message_log,
                users: users_source,
            };
            let handle = DirectoryHandle::new(directory);
            let started = egov_security_server::start_on(settings, client, peer, store.clone(), handle).await?;
            running.push((started, store));
            specs.push(server);
        }
        let directory = match local {
            Some(d) => d,
            None => running
                .first()
                .map(|(s, _): &(RunningServer, ConfStore)| s.gateway.directory.get().as_ref().clone())
                .ok_or_else(|| anyhow::anyhow!("no security server"))?,
        };
        let operator = match self.trust {
            Trust::Central(op) => Some(op),
            Trust::Local(_) => None,
        };
        Ok(RunningFederation { operator, servers: specs, running, directory, tokens })
    }
}

/// A started federation.
pub struct RunningFederation {
    /// The operator's central services, when the federation has them.
    pub operator: Option<Box<Operator>>,
    /// Issued servers (same order as `running`).
    pub servers: Vec<IssuedServer>,
    /// Running servers and their configuration stores.
    pub running: Vec<(RunningServer, ConfStore)>,
    /// The directory they share.
    pub directory: Directory,
    /// Tokens for the monitoring interface and the message log.
    pub tokens: FederationTokens,
}

impl std::fmt::Debug for RunningFederation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningFederation").field("servers", &self.servers.len()).finish()
    }
}

impl RunningFederation {
    /// Client-side URL of server `i`.
    pub fn client_url(&self, i: usize) -> String {
        format!("http://{}", self.running[i].0.client_addr)
    }

    /// Configuration store of server `i`.
    pub fn store(&self, i: usize) -> &ConfStore {
        &self.running[i].1
    }

    /// Makes every server read its configuration now (instead of at the next poll).
    pub async fn reload_conf(&self) -> Result<(), egov_security_server::conf::ConfError> {
        for (server, store) in &self.running {
            server.gateway.conf.reload(store).await?;
        }
        Ok(())
    }

    /// Gives every server a new directory (e.g. with revocations).
    pub fn update_directory(&mut self, directory: Directory) {
        for (server, _) in &self.running {
            server.gateway.update_directory(directory.clone());
        }
        self.directory = directory;
    }

    /// Makes every server download the global configuration now (instead of at its next
    /// refresh).
    pub async fn refresh_globalconf(&self) -> anyhow::Result<()> {
        for ((server, _), spec) in self.running.iter().zip(&self.servers) {
            if let Some(dir) = &spec.dir {
                dir.conf_client()?.refresh_gateway(&server.gateway).await;
            }
        }
        Ok(())
    }

    /// Stops every server, then the central services.
    pub async fn stop(self) {
        for (server, store) in self.running {
            server.stop().await;
            store.database().close().await;
        }
        if let Some(op) = self.operator {
            op.running.stop().await;
            op.central.store().database().close().await;
            op.central.ca().close().await;
        }
    }
}

/// A scratch directory for databases when the caller gave none.
pub fn scratch_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("egov-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
