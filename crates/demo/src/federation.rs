//! Builds a federation on loopback: a Certification Centre, security servers with keys and
//! certificates obtained through the CSR path (TT-4.1.2: generate keys, make certificate
//! requests, hand them to the CA), and the federation directory naming them all.
//!
//! Used by `egov demo`, the integration tests and the benchmark. Until the central server
//! exists (issue 3) the directory is assembled here instead of being downloaded.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use egov_globalconf::{Directory, GlobalConf, Limits, Member, SecurityServer};
use egov_pki::{CertProfile, CertificationAuthority, KeyAlgorithm, PrivateKey};
use egov_security_server::{ConfStore, DirectoryHandle, RunningServer, ServerKeys, Settings, Timeouts};
use egov_xroad::{ClientId, SecurityServerId};
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
}

/// Issues an authentication (P-256) and a signing (Ed25519) certificate to a security
/// server through certificate requests, as a new server would.
pub fn issue_server_keys(ca: &CertificationAuthority, id: &SecurityServerId) -> anyhow::Result<ServerKeys> {
    let auth_key = PrivateKey::generate(KeyAlgorithm::EcdsaP256)?;
    let auth_profile = CertProfile::Auth(id.clone());
    let auth_cert = ca.issue(&auth_key.certificate_request(&auth_profile)?, &auth_profile, 730)?;
    let sign_key = PrivateKey::generate(KeyAlgorithm::Ed25519)?;
    let sign_profile = CertProfile::Sign(id.owner().clone());
    let sign_cert = ca.issue(&sign_key.certificate_request(&sign_profile)?, &sign_profile, 730)?;
    Ok(ServerKeys { auth_key, auth_cert, sign_key, sign_cert })
}

/// A federation being assembled: CA, servers with pre-bound listeners, directory.
pub struct Federation {
    /// Instance identifier.
    pub instance: String,
    /// The Certification Centre.
    pub ca: CertificationAuthority,
    /// Servers, in the order added.
    pub servers: Vec<IssuedServer>,
    listeners: Vec<(TcpListener, TcpListener)>,
    /// Federation limits.
    pub limits: Limits,
    /// Timeouts of every server.
    pub timeouts: Timeouts,
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
            ca: CertificationAuthority::generate(instance, &format!("{instance} e-Government Certification Centre"))?,
            servers: Vec::new(),
            listeners: Vec::new(),
            limits: Limits::default(),
            timeouts: Timeouts::default(),
        })
    }

    /// Adds a participant: issues its server's keys and binds its two listeners on
    /// 127.0.0.1 (`client_port`/`peer_port` 0 = any free port).
    pub async fn add(&mut self, spec: ParticipantSpec, client_port: u16, peer_port: u16) -> anyhow::Result<usize> {
        let id = SecurityServerId::new(spec.member.clone(), &spec.server_code)?;
        let keys = issue_server_keys(&self.ca, &id)?;
        let client = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], client_port))).await?;
        let peer = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], peer_port))).await?;
        self.servers.push(IssuedServer { spec, id, keys });
        self.listeners.push((client, peer));
        Ok(self.servers.len() - 1)
    }

    /// The directory naming every server added so far.
    pub fn directory(&self) -> anyhow::Result<Directory> {
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
        let mut conf = GlobalConf::new(&self.instance, vec![self.ca.certificate_pem()]);
        conf.members = members;
        conf.security_servers = security_servers;
        conf.limits = self.limits.clone();
        Ok(Directory::new(conf)?)
    }

    /// Starts every server; `db_url(i)` gives each its configuration database.
    pub async fn start(self, db_url: impl Fn(&IssuedServer) -> String) -> anyhow::Result<RunningFederation> {
        let directory = self.directory()?;
        let mut running = Vec::new();
        let mut specs = Vec::new();
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
            let settings = Settings {
                id: server.id.clone(),
                client_listen: client.local_addr()?,
                peer_listen: peer.local_addr()?,
                keys: server.keys.clone(),
                timeouts: self.timeouts.clone(),
                conf_poll: Duration::from_millis(500),
            };
            let handle = DirectoryHandle::new(directory.clone());
            let started = egov_security_server::start_on(settings, client, peer, store.clone(), handle).await?;
            running.push((started, store));
            specs.push(server);
        }
        Ok(RunningFederation { ca: self.ca, servers: specs, running, directory })
    }
}

/// A started federation.
pub struct RunningFederation {
    /// The Certification Centre.
    pub ca: CertificationAuthority,
    /// Issued servers (same order as `running`).
    pub servers: Vec<IssuedServer>,
    /// Running servers and their configuration stores.
    pub running: Vec<(RunningServer, ConfStore)>,
    /// The directory they share.
    pub directory: Directory,
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

    /// Stops every server.
    pub async fn stop(self) {
        for (server, store) in self.running {
            server.stop().await;
            store.database().close().await;
        }
    }
}

/// A scratch directory for databases when the caller gave none.
pub fn scratch_dir() -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("egov-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
