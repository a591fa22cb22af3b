//! The server configuration in the database (SQLite or PostgreSQL), changed by `egov ss …`
//! commands and read into a [`ServerConf`] snapshot by the running server.

use std::collections::HashMap;

use egov_store::{Database, Migrations, StoreError};
use egov_xroad::{ClientId, ServiceId, wsdl};
use sqlx::Row;

use super::model::{AccessRight, Description, DescriptionKind, Endpoint, ServerConf, ServiceEntry, Subject};

/// What is kept of an adapter's push token: its SHA-256. The token is meant to be a long
/// random secret (docs/adapter.md; the demo draws 128 random bits), so an unsalted digest
/// cannot be turned back into it, and a copy of the database does not let anyone push
/// mappings to the adapter (issue 13 item 10).
fn adapter_token_digest(token: &str) -> String {
    format!("sha256:{}", egov_globalconf::hash_hex(&egov_pki::xades::sha256(token.as_bytes())))
}

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The security server configuration schema.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// Why a configuration change was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfError {
    /// Database failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Invalid input, with a message naming the problem.
    #[error("{0}")]
    Invalid(String),
    /// Something that must exist does not.
    #[error("{0}")]
    NotFound(String),
}

impl From<sqlx::Error> for ConfError {
    fn from(e: sqlx::Error) -> Self {
        ConfError::Store(StoreError::Query(e))
    }
}

/// Server configuration store.
#[derive(Debug, Clone)]
pub struct ConfStore {
    db: Database,
}

impl ConfStore {
    /// Opens the store at `url`, creating and migrating the schema as needed.
    pub async fn open(url: &str) -> Result<Self, ConfError> {
        let store = Self { db: Database::open(url, &MIGRATIONS).await? };
        store.hash_clear_adapter_tokens().await?;
        Ok(store)
    }

    /// Rows written before adapter tokens were hashed hold the token itself: from the first
    /// open on, they hold its digest only (issue 13 item 10).
    async fn hash_clear_adapter_tokens(&self) -> Result<(), ConfError> {
        let rows = sqlx::query("SELECT name, token FROM adapters WHERE token NOT LIKE 'sha256:%'")
            .fetch_all(self.db.pool())
            .await?;
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.db.begin_write().await?;
        for row in rows {
            let (name, token): (String, String) = (row.try_get(0)?, row.try_get(1)?);
            sqlx::query("UPDATE adapters SET token = $1 WHERE name = $2 AND token = $3")
                .bind(adapter_token_digest(&token))
                .bind(&name)
                .bind(&token)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Current configuration version.
    pub async fn version(&self) -> Result<i64, ConfError> {
        let row = sqlx::query("SELECT version FROM conf_version WHERE id = 1").fetch_one(self.db.pool()).await?;
        Ok(row.try_get::<i64, _>(0)?)
    }

    async fn bump<'c>(tx: &mut sqlx::Transaction<'c, sqlx::Any>) -> Result<(), ConfError> {
        sqlx::query("UPDATE conf_version SET version = version + 1 WHERE id = 1").execute(&mut **tx).await?;
        Ok(())
    }

    /// Registers a member or subsystem as hosted by this security server.
    pub async fn add_client(&self, client: &ClientId) -> Result<(), ConfError> {
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query("INSERT INTO clients (id) VALUES ($1) ON CONFLICT DO NOTHING")
            .bind(client.to_string())
            .execute(&mut *tx)
            .await?;
        if inserted.rows_affected() > 0 {
            Self::bump(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn require_group<'c>(
        tx: &mut sqlx::Transaction<'c, sqlx::Any>,
        owner: &ClientId,
        code: &str,
    ) -> Result<(), ConfError> {
        let exists = sqlx::query("SELECT 1 FROM local_groups WHERE client_id = $1 AND code = $2")
            .bind(owner.to_string())
            .bind(code)
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_none() {
            return Err(ConfError::NotFound(format!("local group {code} of {owner} does not exist")));
        }
        Ok(())
    }

    async fn require_client<'c>(tx: &mut sqlx::Transaction<'c, sqlx::Any>, client: &ClientId) -> Result<(), ConfError> {
        let exists = sqlx::query("SELECT 1 FROM clients WHERE id = $1")
            .bind(client.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_none() {
            return Err(ConfError::NotFound(format!(
                "client {client} is not registered on this security server (egov ss client add)"
            )));
        }
        Ok(())
    }

    /// Adds a WSDL description: every binding operation becomes a service of `client`,
    /// answered at `service_url` (or the WSDL's own `soap:address`). Returns the services.
    pub async fn add_wsdl(
        &self,
        client: &ClientId,
        wsdl_url: &str,
        wsdl_text: &str,
        service_url: Option<&str>,
    ) -> Result<Vec<ServiceId>, ConfError> {
        let info = wsdl::parse(wsdl_text).map_err(|e| ConfError::Invalid(e.to_string()))?;
        let url = service_url
            .map(str::to_owned)
            .or(info.address.clone())
            .ok_or_else(|| ConfError::Invalid("the WSDL has no soap:address; give the service URL".into()))?;
        check_service_url(&url)?;
        let mut services = Vec::new();
        for op in &info.operations {
            services.push(
                client
                    .service(&op.name, op.version.as_deref())
                    .map_err(|e| ConfError::Invalid(format!("operation '{}': {e}", op.name)))?,
            );
        }
        let mut tx = self.db.begin_write().await?;
        Self::require_client(&mut tx, client).await?;
        let description_id =
            insert_description(&mut tx, client, DescriptionKind::Wsdl, wsdl_url, Some(wsdl_text)).await?;
        for s in &services {
            insert_service(&mut tx, s, description_id, &url).await?;
        }
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(services)
    }

    /// Adds a REST service (`openapi` document optional) answered at `base_url`.
    pub async fn add_rest_service(
        &self,
        service: &ServiceId,
        base_url: &str,
        openapi: Option<&str>,
    ) -> Result<(), ConfError> {
        check_service_url(base_url)?;
        if let Some(doc) = openapi {
            serde_json::from_str::<serde_json::Value>(doc)
                .map_err(|e| ConfError::Invalid(format!("the OpenAPI document is not valid JSON: {e}")))?;
        }
        let kind = if openapi.is_some() { DescriptionKind::OpenApi } else { DescriptionKind::Rest };
        let mut tx = self.db.begin_write().await?;
        Self::require_client(&mut tx, service.provider()).await?;
        let description_id = insert_description(&mut tx, service.provider(), kind, base_url, openapi).await?;
        insert_service(&mut tx, service, description_id, base_url).await?;
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers an adapter's services for `client` in one transaction: the descriptions an
    /// earlier mapping registered (at `old_base` or `base`) go, the new WSDL's SOAP services
    /// and each REST service with its one endpoint (`/`) come in. Access rights, kept by
    /// service code, stay.
    pub async fn replace_adapter_services(
        &self,
        client: &ClientId,
        base: &str,
        old_base: Option<&str>,
        services: &crate::adapters::AdapterServices,
    ) -> Result<(), ConfError> {
        let (wsdl_url, wsdl_text) = &services.wsdl;
        let info = wsdl::parse(wsdl_text).map_err(|e| ConfError::Invalid(e.to_string()))?;
        let soap_url = info.address.clone().ok_or_else(|| ConfError::Invalid("the WSDL has no soap:address".into()))?;
        check_service_url(&soap_url)?;
        let mut tx = self.db.begin_write().await?;
        Self::require_client(&mut tx, client).await?;
        for prefix in [Some(base), old_base].into_iter().flatten() {
            let like = format!("{}/%", prefix.trim_end_matches('/').replace('%', "\\%").replace('_', "\\_"));
            let gone: Vec<String> = sqlx::query_scalar(
                "SELECT DISTINCT s.service_code FROM services s JOIN service_descriptions d ON d.id = s.description_id \
                 WHERE d.client_id = $1 AND d.url LIKE $2 ESCAPE '\\'",
            )
            .bind(client.to_string())
            .bind(&like)
            .fetch_all(&mut *tx)
            .await?;
            for code in gone {
                sqlx::query("DELETE FROM endpoints WHERE client_id = $1 AND service_code = $2")
                    .bind(client.to_string())
                    .bind(code)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("DELETE FROM services WHERE description_id IN (SELECT id FROM service_descriptions WHERE client_id = $1 AND url LIKE $2 ESCAPE '\\')")
                .bind(client.to_string())
                .bind(&like)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM service_descriptions WHERE client_id = $1 AND url LIKE $2 ESCAPE '\\'")
                .bind(client.to_string())
                .bind(&like)
                .execute(&mut *tx)
                .await?;
        }
        let description_id =
            insert_description(&mut tx, client, DescriptionKind::Wsdl, wsdl_url, Some(wsdl_text)).await?;
        for op in &info.operations {
            let id = client
                .service(&op.name, op.version.as_deref())
                .map_err(|e| ConfError::Invalid(format!("operation '{}': {e}", op.name)))?;
            insert_service(&mut tx, &id, description_id, &soap_url).await?;
        }
        for (code, url, openapi, method) in &services.rest {
            check_service_url(url)?;
            let id = client.service(code, None).map_err(|e| ConfError::Invalid(format!("service '{code}': {e}")))?;
            let description_id =
                insert_description(&mut tx, client, DescriptionKind::OpenApi, url, Some(openapi)).await?;
            insert_service(&mut tx, &id, description_id, url).await?;
            sqlx::query("INSERT INTO endpoints (client_id, service_code, method, path) VALUES ($1, $2, $3, '/')")
                .bind(client.to_string())
                .bind(code)
                .bind(*method)
                .execute(&mut *tx)
                .await?;
        }
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps an adapter's mapping, address, the SHA-256 of its push token (never the token:
    /// issue 13 item 10) and HTTPS certificate.
    pub async fn save_adapter(
        &self,
        adapter: &crate::adapters::StoredAdapter,
        token: &str,
        certificate: Option<&str>,
    ) -> Result<(), ConfError> {
        if let Some(pem) = certificate {
            pem_certificates(pem).map_err(|e| ConfError::Invalid(format!("the adapter's certificate: {e}")))?;
        }
        let now =
            time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO adapters (name, client_id, base_url, mapping, token, certificate, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (name) DO UPDATE SET client_id = excluded.client_id, base_url = excluded.base_url, \
             mapping = excluded.mapping, token = excluded.token, certificate = excluded.certificate, \
             updated_at = excluded.updated_at",
        )
        .bind(&adapter.name)
        .bind(adapter.client.to_string())
        .bind(&adapter.base_url)
        .bind(&adapter.mapping)
        .bind(adapter_token_digest(token))
        .bind(certificate)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// An adapter this server keeps, by name.
    pub async fn adapter(&self, name: &str) -> Result<Option<crate::adapters::StoredAdapter>, ConfError> {
        Ok(self.adapters().await?.into_iter().find(|a| a.name == name))
    }

    /// Whether `token` is the push token adapter `name` was last connected with (`None`: no
    /// such adapter). Only the token's digest is kept; digests are compared in constant time.
    pub async fn adapter_token_matches(&self, name: &str, token: &str) -> Result<Option<bool>, ConfError> {
        let stored: Option<String> = sqlx::query_scalar("SELECT token FROM adapters WHERE name = $1")
            .bind(name)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(stored.map(|kept| {
            aws_lc_rs::constant_time::verify_slices_are_equal(kept.as_bytes(), adapter_token_digest(token).as_bytes())
                .is_ok()
        }))
    }

    /// Every adapter this server keeps.
    pub async fn adapters(&self) -> Result<Vec<crate::adapters::StoredAdapter>, ConfError> {
        let rows = sqlx::query("SELECT name, client_id, base_url, mapping FROM adapters ORDER BY name")
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter()
            .map(|r| {
                let client: String = r.try_get(1)?;
                Ok(crate::adapters::StoredAdapter {
                    name: r.try_get(0)?,
                    client: client.parse().map_err(|e| ConfError::Invalid(format!("stored adapter client: {e}")))?,
                    base_url: r.try_get(2)?,
                    mapping: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// Declares a REST endpoint of a service (shown by `listMethods`).
    pub async fn add_endpoint(&self, service: &ServiceId, method: &str, path: &str) -> Result<(), ConfError> {
        let (method, path) = check_endpoint(method, path)?;
        let mut tx = self.db.begin_write().await?;
        require_service(&mut tx, service).await?;
        sqlx::query("INSERT INTO endpoints (client_id, service_code, method, path) VALUES ($1, $2, $3, $4)")
            .bind(service.provider().to_string())
            .bind(service.service_code())
            .bind(&method)
            .bind(&path)
            .execute(&mut *tx)
            .await?;
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets or clears a per-service timeout.
    pub async fn set_timeout(&self, service: &ServiceId, timeout_ms: Option<u64>) -> Result<(), ConfError> {
        let mut tx = self.db.begin_write().await?;
        require_service(&mut tx, service).await?;
        sqlx::query("UPDATE services SET timeout_ms = $1 WHERE client_id = $2 AND service_code = $3")
            .bind(timeout_ms.map(|t| t as i64))
            .bind(service.provider().to_string())
            .bind(service.service_code())
            .execute(&mut *tx)
            .await?;
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Disables (with a notice shown to callers) or re-enables a service's description.
    pub async fn set_disabled(&self, service: &ServiceId, notice: Option<&str>) -> Result<(), ConfError> {
        let mut tx = self.db.begin_write().await?;
        require_service(&mut tx, service).await?;
        sqlx::query(
            "UPDATE service_descriptions SET disabled_notice = $1 WHERE id IN \
             (SELECT description_id FROM services WHERE client_id = $2 AND service_code = $3)",
        )
        .bind(notice)
        .bind(service.provider().to_string())
        .bind(service.service_code())
        .execute(&mut *tx)
        .await?;
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a local group owned by a hosted subsystem.
    pub async fn add_local_group(&self, owner: &ClientId, code: &str, description: &str) -> Result<(), ConfError> {
        egov_xroad::id::validate_part("groupCode", code).map_err(|e| ConfError::Invalid(e.to_string()))?;
        let mut tx = self.db.begin_write().await?;
        Self::require_client(&mut tx, owner).await?;
        sqlx::query("INSERT INTO local_groups (client_id, code, description) VALUES ($1, $2, $3)")
            .bind(owner.to_string())
            .bind(code)
            .bind(description)
            .execute(&mut *tx)
            .await?;
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a member or subsystem to a local group.
    pub async fn add_group_member(&self, owner: &ClientId, code: &str, member: &ClientId) -> Result<(), ConfError> {
        let mut tx = self.db.begin_write().await?;
        Self::require_group(&mut tx, owner, code).await?;
        sqlx::query("INSERT INTO local_group_members (client_id, group_code, member_id) VALUES ($1, $2, $3)")
            .bind(owner.to_string())
            .bind(code)
            .bind(member.to_string())
            .execute(&mut *tx)
            .await?;
        Self::bump(&mut tx).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grants `subject` the right to call `service` (version ignored) with `method` on
    /// paths matching `path` (`*`, `/**` for the whole service).
    pub async fn grant(
        &self,
        service: &ServiceId,
        subject: &Subject,
        method: &str,
        path: &str,
    ) -> Result<(), ConfError> {
        let (method, path) = check_endpoint(method, path)?;
        let mut tx = self.db.begin_write().await?;
        require_service(&mut tx, service).await?;
        if let Subject::LocalGroup(g) = subject {
            Self::require_group(&mut tx, service.provider(), g).await?;
        }
        let inserted = sqlx::query(
            "INSERT INTO access_rights (client_id, service_code, subject, method, path) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT DO NOTHING",
        )
        .bind(service.provider().to_string())
        .bind(service.service_code())
        .bind(subject.to_string())
        .bind(&method)
        .bind(&path)
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() > 0 {
            Self::bump(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Removes access rights of `subject` on `service` (all endpoints when `method`/`path`
    /// are `None`). Returns how many were removed.
    pub async fn revoke(
        &self,
        service: &ServiceId,
        subject: &Subject,
        method: Option<&str>,
        path: Option<&str>,
    ) -> Result<u64, ConfError> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "DELETE FROM access_rights WHERE client_id = $1 AND service_code = $2 AND subject = $3 \
             AND ($4 IS NULL OR method = $4) AND ($5 IS NULL OR path = $5)",
        )
        .bind(service.provider().to_string())
        .bind(service.service_code())
        .bind(subject.to_string())
        .bind(method)
        .bind(path)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() > 0 {
            Self::bump(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Loads the whole configuration into a snapshot.
    pub async fn load(&self) -> Result<ServerConf, ConfError> {
        let pool = self.db.pool();
        let mut conf = ServerConf { version: self.version().await?, ..Default::default() };
        let bad = |what: &str, e: &dyn std::fmt::Display| ConfError::Invalid(format!("stored {what} is invalid: {e}"));
        for row in sqlx::query("SELECT id FROM clients").fetch_all(pool).await? {
            let id: String = row.try_get(0)?;
            conf.clients.insert(id.parse().map_err(|e| bad("client", &e))?);
        }
        for row in sqlx::query("SELECT id, kind, url, document, disabled_notice FROM service_descriptions")
            .fetch_all(pool)
            .await?
        {
            let kind: String = row.try_get(1)?;
            let d = Description {
                id: row.try_get(0)?,
                kind: DescriptionKind::parse(&kind).ok_or_else(|| bad("description kind", &kind))?,
                url: row.try_get(2)?,
                document: row.try_get(3)?,
                disabled_notice: row.try_get(4)?,
            };
            conf.descriptions.insert(d.id, d);
        }
        for row in sqlx::query("SELECT client_id, service_code, version, description_id, url, timeout_ms FROM services")
            .fetch_all(pool)
            .await?
        {
            let client: String = row.try_get(0)?;
            let code: String = row.try_get(1)?;
            let version: String = row.try_get(2)?;
            let client: ClientId = client.parse().map_err(|e| bad("service provider", &e))?;
            let id = client
                .service(&code, if version.is_empty() { None } else { Some(&version) })
                .map_err(|e| bad("service", &e))?;
            let timeout: Option<i64> = row.try_get(5)?;
            conf.services.entry((client, code)).or_default().push(ServiceEntry {
                id,
                description_id: row.try_get(3)?,
                url: row.try_get(4)?,
                timeout_ms: timeout.map(|t| t.max(0) as u64),
            });
        }
        for row in sqlx::query("SELECT client_id, service_code, method, path FROM endpoints").fetch_all(pool).await? {
            let client: String = row.try_get(0)?;
            let key = (client.parse().map_err(|e| bad("endpoint", &e))?, row.try_get::<String, _>(1)?);
            conf.endpoints.entry(key).or_default().push(Endpoint { method: row.try_get(2)?, path: row.try_get(3)? });
        }
        for row in sqlx::query("SELECT client_id, service_code, subject, method, path FROM access_rights")
            .fetch_all(pool)
            .await?
        {
            let client: String = row.try_get(0)?;
            let subject: String = row.try_get(2)?;
            let key = (client.parse().map_err(|e| bad("access right", &e))?, row.try_get::<String, _>(1)?);
            conf.access.entry(key).or_default().push(AccessRight {
                subject: Subject::parse(&subject).map_err(|e| bad("access right subject", &e))?,
                method: row.try_get(3)?,
                path: row.try_get(4)?,
            });
        }
        let mut groups: HashMap<(ClientId, String), _> = HashMap::new();
        for row in sqlx::query("SELECT client_id, code FROM local_groups").fetch_all(pool).await? {
            let client: String = row.try_get(0)?;
            groups.insert((client.parse().map_err(|e| bad("local group", &e))?, row.try_get(1)?), Default::default());
        }
        for row in
            sqlx::query("SELECT client_id, group_code, member_id FROM local_group_members").fetch_all(pool).await?
        {
            let client: String = row.try_get(0)?;
            let member: String = row.try_get(2)?;
            let key = (client.parse().map_err(|e| bad("local group", &e))?, row.try_get::<String, _>(1)?);
            let set: &mut std::collections::HashSet<ClientId> = groups.entry(key).or_default();
            set.insert(member.parse().map_err(|e| bad("local group member", &e))?);
        }
        conf.local_groups = groups;
        for row in
            sqlx::query("SELECT name, certificate FROM adapters WHERE certificate IS NOT NULL").fetch_all(pool).await?
        {
            let name: String = row.try_get(0)?;
            let pem: String = row.try_get(1)?;
            let ders = pem_certificates(&pem).map_err(|e| bad(&format!("certificate of adapter {name}"), &e))?;
            conf.service_tls_certs.extend(ders);
        }
        Ok(conf)
    }
}

async fn insert_description<'c>(
    tx: &mut sqlx::Transaction<'c, sqlx::Any>,
    client: &ClientId,
    kind: DescriptionKind,
    url: &str,
    document: Option<&str>,
) -> Result<i64, ConfError> {
    let row = sqlx::query(
        "INSERT INTO service_descriptions (client_id, kind, url, document) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(client.to_string())
    .bind(kind.as_str())
    .bind(url)
    .bind(document)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

async fn insert_service<'c>(
    tx: &mut sqlx::Transaction<'c, sqlx::Any>,
    service: &ServiceId,
    description_id: i64,
    url: &str,
) -> Result<(), ConfError> {
    let exists = sqlx::query("SELECT 1 FROM services WHERE client_id = $1 AND service_code = $2 AND version = $3")
        .bind(service.provider().to_string())
        .bind(service.service_code())
        .bind(service.version().unwrap_or(""))
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_some() {
        return Err(ConfError::Invalid(format!("service {service} already exists")));
    }
    sqlx::query(
        "INSERT INTO services (client_id, service_code, version, description_id, url) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(service.provider().to_string())
    .bind(service.service_code())
    .bind(service.version().unwrap_or(""))
    .bind(description_id)
    .bind(url)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn require_service<'c>(tx: &mut sqlx::Transaction<'c, sqlx::Any>, service: &ServiceId) -> Result<(), ConfError> {
    let exists = sqlx::query("SELECT 1 FROM services WHERE client_id = $1 AND service_code = $2")
        .bind(service.provider().to_string())
        .bind(service.service_code())
        .fetch_optional(&mut **tx)
        .await?;
    if exists.is_none() {
        return Err(ConfError::NotFound(format!(
            "service {} is not configured on this security server",
            service.without_version()
        )));
    }
    Ok(())
}

/// The certificates (DER) in a PEM text; at least one.
fn pem_certificates(pem: &str) -> Result<Vec<Vec<u8>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(|c| c.map(|c| c.to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM: {e}"))?;
    if certs.is_empty() {
        return Err("no CERTIFICATE block in the PEM text".into());
    }
    Ok(certs)
}

fn check_service_url(url: &str) -> Result<(), ConfError> {
    let uri: http::Uri =
        url.parse().map_err(|e| ConfError::Invalid(format!("service URL '{url}' is malformed: {e}")))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http"), Some(_)) => Ok(()),
        // HTTPS is verified against the certificates of connected adapters (TT-4.2)
        (Some("https"), Some(_)) => Ok(()),
        _ => Err(ConfError::Invalid(format!("service URL '{url}' must be http://host[:port]/path"))),
    }
}

fn check_endpoint(method: &str, path: &str) -> Result<(String, String), ConfError> {
    let method = method.to_ascii_uppercase();
    let known = ["*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"];
    if !known.contains(&method.as_str()) {
        return Err(ConfError::Invalid(format!("unknown HTTP method '{method}'")));
    }
    if !path.starts_with('/') || path.chars().any(char::is_control) || path.contains("..") {
        return Err(ConfError::Invalid(format!("path pattern '{path}' must start with '/' and contain no '..'")));
    }
    Ok((method, path.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WSDL: &str = r#"<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" xmlns:xrd="http://x-road.eu/xsd/xroad.xsd">
<wsdl:binding name="b" type="t"><wsdl:operation name="getPerson"><xrd:version>v1</xrd:version></wsdl:operation></wsdl:binding>
<wsdl:service name="s"><wsdl:port name="p" binding="b"><soap:address location="http://127.0.0.1:9/p"/></wsdl:port></wsdl:service></wsdl:definitions>"#;

    async fn exercise(url: &str) -> ConfStore {
        let store = ConfStore::open(url).await.unwrap();
        let provider: ClientId = "AZ/GOV/2/reg".parse().unwrap();
        let portal: ClientId = "AZ/GOV/1/portal".parse().unwrap();
        let svc: ServiceId = "AZ/GOV/2/reg/getPerson/v1".parse().unwrap();
        // refused before the client exists
        assert!(matches!(store.add_wsdl(&provider, "file:x", WSDL, None).await, Err(ConfError::NotFound(_))));
        store.add_client(&provider).await.unwrap();
        store.add_client(&provider).await.unwrap(); // idempotent
        assert_eq!(store.add_wsdl(&provider, "file:x", WSDL, None).await.unwrap(), vec![svc.clone()]);
        assert!(matches!(store.add_wsdl(&provider, "file:x", WSDL, None).await, Err(ConfError::Invalid(_))));
        assert!(matches!(store.add_wsdl(&provider, "file:x", "<x/>", None).await, Err(ConfError::Invalid(_))));
        store.grant(&svc, &Subject::Client(portal.clone()), "*", "/**").await.unwrap();
        store.add_local_group(&provider, "auditors", "Auditors").await.unwrap();
        store.add_group_member(&provider, "auditors", &"AZ/GOV/9/audit".parse().unwrap()).await.unwrap();
        assert!(matches!(
            store.grant(&svc, &Subject::LocalGroup("nope".into()), "*", "/**").await,
            Err(ConfError::NotFound(_))
        ));
        assert!(matches!(
            store.grant(&svc, &Subject::Client(portal.clone()), "FETCH", "/**").await,
            Err(ConfError::Invalid(_))
        ));

        let rest: ServiceId = "AZ/GOV/2/reg/payments".parse().unwrap();
        assert!(matches!(store.add_rest_service(&rest, "ftp://x", None).await, Err(ConfError::Invalid(_))));
        store.add_rest_service(&rest, "http://127.0.0.1:9/api", Some("{\"openapi\":\"3.0.0\"}")).await.unwrap();
        store.add_endpoint(&rest, "get", "/persons/*").await.unwrap();
        store.grant(&rest, &Subject::Client(portal.clone()), "GET", "/persons/*").await.unwrap();

        let conf = store.load().await.unwrap();
        assert!(conf.hosts(&provider));
        assert_eq!(conf.service(&svc).unwrap().0.url, "http://127.0.0.1:9/p");
        assert!(conf.check_access(&portal, &svc, "POST", None, &crate::conf::model::NoGlobalGroups).is_ok());
        assert!(
            conf.check_access(&portal, &rest, "GET", Some("/persons/1"), &crate::conf::model::NoGlobalGroups).is_ok()
        );
        assert_eq!(conf.endpoints[&(provider.clone(), "payments".into())][0].method, "GET");
        let v = conf.version;

        assert_eq!(store.revoke(&svc, &Subject::Client(portal.clone()), None, None).await.unwrap(), 1);
        let conf = store.load().await.unwrap();
        assert!(conf.version > v);
        assert!(conf.check_access(&portal, &svc, "POST", None, &crate::conf::model::NoGlobalGroups).is_err());
        store
    }

    #[tokio::test]
    async fn sqlite_store() {
        let dir = tempfile::tempdir().unwrap();
        exercise(&egov_store::sqlite_url(&dir.path().join("conf.db"))).await;
    }

    #[tokio::test]
    async fn postgres_store() {
        if let Some(url) = egov_store::test_postgres_url("security-server conf store").await {
            exercise(&url).await.database().close().await;
            egov_store::drop_test_database(&url).await;
        }
    }
}
