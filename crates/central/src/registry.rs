//! Members, subsystems, security servers and global groups (TT-3.1, TT-4.1.2, P-4.1.8): the
//! registry the global configuration is generated from.

use egov_xroad::{ClientId, SecurityServerId};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::store::now;
use crate::{CentralError, CentralStore};

pub use crate::lifecycle::participants::LegalStatus;

/// A member as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    /// `INSTANCE/CLASS/CODE`.
    pub id: ClientId,
    /// Official name.
    pub name: String,
    /// Tax identification number (VÖEN).
    pub tax_id: String,
    /// Legal status.
    pub legal_status: LegalStatus,
    /// `active`, `blocked` or `disconnected`.
    pub state: String,
    /// Why it is blocked or disconnected.
    pub state_reason: Option<String>,
    /// Subsystem codes.
    pub subsystems: Vec<String>,
}

/// A new member.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewMember {
    /// `INSTANCE/CLASS/CODE`.
    pub id: String,
    /// Official name.
    pub name: String,
    /// VÖEN: ten digits.
    pub tax_id: String,
    /// Legal status.
    pub legal_status: LegalStatus,
    /// Subsystem codes.
    #[serde(default)]
    pub subsystems: Vec<String>,
}

/// A registered security server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerRecord {
    /// `INSTANCE/CLASS/CODE/SERVER`.
    pub id: SecurityServerId,
    /// `production` or `test`.
    pub environment: String,
    /// `host:port` for other security servers.
    pub address: String,
    /// SHA-256 (hex) of the registered authentication certificate.
    pub auth_cert_sha256: String,
    /// Members and subsystems it hosts.
    pub clients: Vec<ClientId>,
}

/// A global group and its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// Group code.
    pub code: String,
    /// Description.
    pub description: String,
    /// Members and subsystems.
    pub members: Vec<ClientId>,
}

/// The environments a configuration is published for (TT-3.8: a separate test environment).
pub const ENVIRONMENTS: [&str; 2] = ["production", "test"];

/// Checks an environment name.
pub fn check_environment(environment: &str) -> Result<(), CentralError> {
    if ENVIRONMENTS.contains(&environment) {
        Ok(())
    } else {
        Err(CentralError::Invalid(format!("environment '{environment}': expected production or test")))
    }
}

/// Checks a VÖEN (Azerbaijan's tax identification number): ten digits.
pub fn check_tax_id(tax_id: &str) -> Result<(), CentralError> {
    if tax_id.len() == 10 && tax_id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(CentralError::Invalid(format!("tax id (VÖEN) '{tax_id}' must be ten digits")))
    }
}

fn parse<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, CentralError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| CentralError::Invalid(format!("{what} '{s}': {e}")))
}

/// A member identifier (not a subsystem).
pub fn parse_member(s: &str) -> Result<ClientId, CentralError> {
    let id: ClientId = parse("member", s)?;
    if id.subsystem_code().is_some() {
        return Err(CentralError::Invalid(format!("'{s}' names a subsystem, not a member")));
    }
    Ok(id)
}

impl CentralStore {
    /// Registers a member with its subsystems.
    pub async fn add_member(&self, m: &NewMember) -> Result<ClientId, CentralError> {
        let id = parse_member(&m.id)?;
        if m.name.trim().is_empty() {
            return Err(CentralError::Invalid("a member needs its official name".into()));
        }
        check_tax_id(&m.tax_id)?;
        for s in &m.subsystems {
            ClientId::subsystem(id.instance(), id.member_class(), id.member_code(), s)
                .map_err(|e| CentralError::Invalid(format!("subsystem '{s}': {e}")))?;
        }
        let mut tx = self.database().begin_write().await?;
        insert_member(&mut tx, &id, m.name.trim(), &m.tax_id, m.legal_status, &m.subsystems, now()).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Adds a subsystem to a registered member.
    pub async fn add_subsystem(&self, member: &ClientId, code: &str) -> Result<ClientId, CentralError> {
        let sub = ClientId::subsystem(member.instance(), member.member_class(), member.member_code(), code)
            .map_err(|e| CentralError::Invalid(format!("subsystem '{code}': {e}")))?;
        self.member(member).await?;
        sqlx::query("INSERT INTO subsystems (member_id, code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(member.to_string())
            .bind(code)
            .execute(self.pool())
            .await?;
        Ok(sub)
    }

    /// One member.
    pub async fn member(&self, id: &ClientId) -> Result<MemberRecord, CentralError> {
        self.members()
            .await?
            .into_iter()
            .find(|m| m.id == id.member_id())
            .ok_or_else(|| CentralError::NotFound(format!("member {} is not registered", id.member_id())))
    }

    /// Every member, by identifier.
    pub async fn members(&self) -> Result<Vec<MemberRecord>, CentralError> {
        let rows = sqlx::query("SELECT id, name, tax_id, legal_status, state, state_reason FROM members ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        let subs = sqlx::query("SELECT member_id, code FROM subsystems ORDER BY member_id, code")
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let id: String = r.try_get(0)?;
            let subsystems = subs
                .iter()
                .filter(|s| s.try_get::<String, _>(0).is_ok_and(|m| m == id))
                .filter_map(|s| s.try_get::<String, _>(1).ok())
                .collect();
            out.push(MemberRecord {
                id: parse("stored member", &id)?,
                name: r.try_get(1)?,
                tax_id: r.try_get(2)?,
                legal_status: r.try_get::<String, _>(3)?.parse()?,
                state: r.try_get(4)?,
                state_reason: r.try_get(5)?,
                subsystems,
            });
        }
        Ok(out)
    }

    /// Sets a member's state (`active`, `blocked`, `disconnected`) with the reason; the
    /// change reaches every security server with the next configuration generation.
    pub async fn set_member_state(&self, id: &ClientId, state: &str, reason: Option<&str>) -> Result<(), CentralError> {
        if !["active", "blocked", "disconnected"].contains(&state) {
            return Err(CentralError::Invalid(format!("member state '{state}'")));
        }
        let done = sqlx::query("UPDATE members SET state = $1, state_reason = $2 WHERE id = $3")
            .bind(state)
            .bind(reason)
            .bind(id.member_id().to_string())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(CentralError::NotFound(format!("member {} is not registered", id.member_id())));
        }
        Ok(())
    }

    /// Every registered security server of `environment` (all environments if `None`).
    pub async fn servers(&self, environment: Option<&str>) -> Result<Vec<ServerRecord>, CentralError> {
        let rows = sqlx::query("SELECT id, environment, address, auth_cert_sha256 FROM security_servers ORDER BY id")
            .fetch_all(self.pool())
            .await?;
        let clients = sqlx::query("SELECT server_id, client_id FROM server_clients ORDER BY server_id, client_id")
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let env: String = r.try_get(1)?;
            if environment.is_some_and(|e| e != env) {
                continue;
            }
            let id: String = r.try_get(0)?;
            let mut hosted = Vec::new();
            for c in clients.iter().filter(|c| c.try_get::<String, _>(0).is_ok_and(|s| s == id)) {
                hosted.push(parse("stored client", &c.try_get::<String, _>(1)?)?);
            }
            out.push(ServerRecord {
                id: parse("stored security server", &id)?,
                environment: env,
                address: r.try_get(2)?,
                auth_cert_sha256: r.try_get(3)?,
                clients: hosted,
            });
        }
        Ok(out)
    }

    /// Lets security server `server` host `client` (a member or subsystem of its owner, or of
    /// another registered member).
    pub async fn add_server_client(&self, server: &SecurityServerId, client: &ClientId) -> Result<(), CentralError> {
        let member = self.member(client).await?;
        if let Some(sub) = client.subsystem_code()
            && !member.subsystems.iter().any(|s| s == sub)
        {
            return Err(CentralError::NotFound(format!("subsystem {client} is not registered")));
        }
        let known = sqlx::query("SELECT 1 FROM security_servers WHERE id = $1")
            .bind(server.to_string())
            .fetch_optional(self.pool())
            .await?;
        if known.is_none() {
            return Err(CentralError::NotFound(format!("security server {server} is not registered")));
        }
        sqlx::query("INSERT INTO server_clients (server_id, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(server.to_string())
            .bind(client.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Changes the address other security servers reach `server` at.
    pub async fn set_server_address(&self, server: &SecurityServerId, address: &str) -> Result<(), CentralError> {
        check_address(address)?;
        let done = sqlx::query("UPDATE security_servers SET address = $1 WHERE id = $2")
            .bind(address)
            .bind(server.to_string())
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(CentralError::NotFound(format!("security server {server} is not registered")));
        }
        Ok(())
    }

    /// Removes a security server from the registry (its certificate stops being accepted
    /// with the next configuration generation).
    pub async fn remove_server(&self, server: &SecurityServerId) -> Result<(), CentralError> {
        let mut tx = self.database().begin_write().await?;
        sqlx::query("DELETE FROM server_clients WHERE server_id = $1")
            .bind(server.to_string())
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM security_servers WHERE id = $1")
            .bind(server.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(CentralError::NotFound(format!("security server {server} is not registered")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates a global group.
    pub async fn add_group(&self, code: &str, description: &str) -> Result<(), CentralError> {
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
            return Err(CentralError::Invalid(format!("group code '{code}': letters, digits, '-', '_', '.' only")));
        }
        let done = sqlx::query("INSERT INTO global_groups (code, description) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(code)
            .bind(description)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(CentralError::Conflict(format!("global group {code} already exists")));
        }
        Ok(())
    }

    /// Adds a member or subsystem to a global group.
    pub async fn add_group_member(&self, code: &str, client: &ClientId) -> Result<(), CentralError> {
        self.member(client).await?;
        let known =
            sqlx::query("SELECT 1 FROM global_groups WHERE code = $1").bind(code).fetch_optional(self.pool()).await?;
        if known.is_none() {
            return Err(CentralError::NotFound(format!("global group {code} does not exist")));
        }
        sqlx::query("INSERT INTO global_group_members (group_code, client_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(code)
            .bind(client.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Every global group with its members.
    pub async fn groups(&self) -> Result<Vec<GroupRecord>, CentralError> {
        let groups =
            sqlx::query("SELECT code, description FROM global_groups ORDER BY code").fetch_all(self.pool()).await?;
        let members = sqlx::query("SELECT group_code, client_id FROM global_group_members ORDER BY client_id")
            .fetch_all(self.pool())
            .await?;
        let mut out = Vec::new();
        for g in groups {
            let code: String = g.try_get(0)?;
            let mut list = Vec::new();
            for m in members.iter().filter(|m| m.try_get::<String, _>(0).is_ok_and(|c| c == code)) {
                list.push(parse("stored group member", &m.try_get::<String, _>(1)?)?);
            }
            out.push(GroupRecord { code, description: g.try_get(1)?, members: list });
        }
        Ok(out)
    }
}

/// Inserts an active member and its subsystems inside the caller's transaction (direct
/// registration, or approval of an application, TT-3.3); a member already registered is a
/// conflict.
pub(crate) async fn insert_member(
    tx: &mut sqlx::AnyConnection,
    id: &ClientId,
    name: &str,
    tax_id: &str,
    legal_status: LegalStatus,
    subsystems: &[String],
    now: i64,
) -> Result<(), CentralError> {
    let inserted = sqlx::query(
        "INSERT INTO members (id, name, tax_id, legal_status, state, state_reason, created_at) \
         VALUES ($1, $2, $3, $4, 'active', NULL, $5) ON CONFLICT DO NOTHING",
    )
    .bind(id.to_string())
    .bind(name)
    .bind(tax_id)
    .bind(legal_status.as_str())
    .bind(now)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() != 1 {
        return Err(CentralError::Conflict(format!("{id} is already a registered member")));
    }
    for code in subsystems {
        sqlx::query("INSERT INTO subsystems (member_id, code) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id.to_string())
            .bind(code)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Checks a `host:port` address.
pub fn check_address(address: &str) -> Result<(), CentralError> {
    let ok = address.rsplit_once(':').is_some_and(|(host, port)| {
        !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok_and(|p| p > 0)
    });
    if ok { Ok(()) } else { Err(CentralError::Invalid(format!("address '{address}': expected host:port"))) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn ministry() -> NewMember {
        NewMember {
            id: "AZ/GOV/1400000002".into(),
            name: "Ministry of Justice".into(),
            tax_id: "1400000002".into(),
            legal_status: LegalStatus::CentralExecutive,
            subsystems: vec!["population-registry".into()],
        }
    }

    async fn exercise(store: CentralStore) {
        let id = store.add_member(&ministry()).await.unwrap();
        assert!(matches!(store.add_member(&ministry()).await, Err(CentralError::Conflict(_))));
        let mut bad = ministry();
        bad.tax_id = "12AB".into();
        assert!(matches!(store.add_member(&bad).await, Err(CentralError::Invalid(m)) if m.contains("VÖEN")));
        bad = ministry();
        bad.id = "AZ/GOV/1400000002/sub".into();
        assert!(matches!(store.add_member(&bad).await, Err(CentralError::Invalid(m)) if m.contains("subsystem")));
        store.add_subsystem(&id, "archive").await.unwrap();
        let m = store.member(&id).await.unwrap();
        assert_eq!(m.subsystems, vec!["archive".to_string(), "population-registry".to_string()]);
        assert_eq!(m.state, "active");
        store.set_member_state(&id, "blocked", Some("breach")).await.unwrap();
        assert_eq!(store.member(&id).await.unwrap().state, "blocked");
        assert!(store.set_member_state(&"AZ/GOV/9".parse().unwrap(), "blocked", None).await.is_err());

        store.add_group("security-server-owners", "Owners").await.unwrap();
        assert!(matches!(store.add_group("security-server-owners", "x").await, Err(CentralError::Conflict(_))));
        store.add_group_member("security-server-owners", &id).await.unwrap();
        assert!(store.add_group_member("nope", &id).await.is_err());
        assert_eq!(store.groups().await.unwrap()[0].members, vec![id.clone()]);
        let ss: SecurityServerId = "AZ/GOV/1400000002/ss1".parse().unwrap();
        assert!(matches!(store.add_server_client(&ss, &id).await, Err(CentralError::NotFound(_))));
        assert!(check_address("127.0.0.1:5500").is_ok());
        assert!(check_address("http://x:1").is_err() && check_address("host").is_err());
    }

    #[tokio::test]
    async fn registry_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let store = CentralStore::open(&egov_store::sqlite_url(&dir.path().join("c.db"))).await.unwrap();
        exercise(store).await;
    }

    #[tokio::test]
    async fn registry_on_postgres() {
        let Some(url) = egov_store::test_postgres_url("central_registry").await else { return };
        let store = CentralStore::open(&url).await.unwrap();
        exercise(store.clone()).await;
        store.database().close().await;
        egov_store::drop_test_database(&url).await;
    }
}
