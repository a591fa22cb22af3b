//! The registries in the database (SQLite or PostgreSQL).
//!
//! An e-service enters, changes and leaves the registry only through an application the
//! operator decides: registration and deregistration are due within 3 working days of
//! filing, an amendment within 1. Approval gives a registration its unique registry number;
//! every change keeps the whole record as a new version in the history. Pending applications
//! past their due date are listed as overdue.

use egov_store::{Database, Migrations};
use sqlx::Row;
use time::Date;

use crate::RegistryError;
use crate::model::{Body, InformationSystem, ServiceRecord, Text};
use crate::text;
use crate::workdays::Calendar;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The registries' schema.
pub static MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// Working days to register or deregister a service.
pub const REGISTER_DAYS: u32 = 3;
/// Working days to apply an amendment.
pub const AMEND_DAYS: u32 = 1;
/// Working days a provider has to request an amendment after the service changed.
pub const REQUEST_AMEND_DAYS: u32 = 3;
/// Similarity from which a proposed system is flagged as a possible duplicate (P-3.4).
pub const SIMILAR: f64 = 0.55;

/// What an application asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Register a new service.
    Register(Box<ServiceRecord>),
    /// Replace a registered service's record.
    Amend {
        /// The service.
        registry_number: String,
        /// Its new record.
        record: Box<ServiceRecord>,
        /// When the service changed; the request is due within 3 working days of it.
        changed_on: Option<Date>,
    },
    /// Take a service off the registry.
    Deregister {
        /// The service.
        registry_number: String,
        /// Why.
        reason: String,
    },
}

/// An application as filed and (perhaps) decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// Its number.
    pub id: i64,
    /// `register`, `amend` or `deregister`.
    pub kind: String,
    /// The service concerned (after approval, for a registration).
    pub registry_number: Option<String>,
    /// Who filed it.
    pub applicant: String,
    /// When.
    pub filed_on: Date,
    /// When it must be decided.
    pub due_on: Date,
    /// `pending`, `approved` or `refused`.
    pub status: String,
    /// When it was decided.
    pub decided_on: Option<Date>,
    /// By whom.
    pub decided_by: Option<String>,
    /// The refusal's reason or the approval's note.
    pub decision_note: Option<String>,
    /// For an amendment: when the service changed.
    pub changed_on: Option<Date>,
    /// For an amendment: requested later than 3 working days after the change.
    pub requested_late: bool,
}

impl Application {
    /// Decided after its due date, or still pending past it on `today`.
    pub fn late(&self, today: Date) -> bool {
        self.decided_on.unwrap_or(today) > self.due_on
    }
}

/// A registered (or deregistered) service.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredService {
    /// Its registry number.
    pub registry_number: String,
    /// `registered` or `deregistered`.
    pub status: String,
    /// The current version.
    pub version: i64,
    /// Registered on.
    pub registered_on: Date,
    /// Last changed on.
    pub updated_on: Date,
    /// The record.
    pub record: ServiceRecord,
}

/// One version in a service's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    /// Version number (1 = registration).
    pub version: i64,
    /// `register`, `amend` or `deregister`.
    pub change: String,
    /// When.
    pub changed_on: Date,
    /// The application that made it.
    pub application_id: i64,
    /// The record as of this version.
    pub record: ServiceRecord,
}

fn iso(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_date(s: &str) -> Result<Date, RegistryError> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| RegistryError::Invalid(format!("stored date '{s}' is not YYYY-MM-DD")))
}

/// The registries.
#[derive(Debug, Clone)]
pub struct Registry {
    db: Database,
    calendar: Calendar,
}

impl Registry {
    /// Opens (and migrates) the registries at `url`.
    pub async fn open(url: &str) -> Result<Self, RegistryError> {
        Ok(Self { db: Database::open(url, &MIGRATIONS).await?, calendar: Calendar::azerbaijan() })
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The calendar deadlines are counted in.
    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// Loads the bodies and systems of the annex when the registry of resources is empty.
    pub async fn seed_resources(&self) -> Result<(), RegistryError> {
        let count: i64 = sqlx::query_scalar("SELECT count(*) FROM bodies").fetch_one(self.db.pool()).await?;
        if count > 0 {
            return Ok(());
        }
        let (bodies, systems) = crate::seed::annex();
        let mut tx = self.db.begin_write().await?;
        for b in &bodies {
            sqlx::query("INSERT INTO bodies (code, name_az, name_en, name_ru) VALUES ($1, $2, $3, $4)")
                .bind(&b.code)
                .bind(&b.name.az)
                .bind(&b.name.en)
                .bind(&b.name.ru)
                .execute(&mut *tx)
                .await?;
        }
        for s in &systems {
            insert_system(&mut tx, s).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every body.
    pub async fn bodies(&self) -> Result<Vec<Body>, RegistryError> {
        let rows = sqlx::query("SELECT code, name_az, name_en, name_ru, status, successor FROM bodies")
            .fetch_all(self.db.pool())
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(Body {
                    code: r.try_get(0)?,
                    name: Text { az: r.try_get(1)?, en: r.try_get(2)?, ru: r.try_get(3)? },
                    status: r.try_get(4)?,
                    successor: r.try_get(5)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        out.sort_by_key(|b| b.code.parse::<u32>().unwrap_or(u32::MAX));
        Ok(out)
    }

    /// Every information system and resource.
    pub async fn systems(&self) -> Result<Vec<InformationSystem>, RegistryError> {
        let rows = sqlx::query(
            "SELECT code, owner, name, kind, personal_data, legal_basis, services, status, purpose FROM information_systems",
        )
        .fetch_all(self.db.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let services: String = r.try_get(6)?;
            out.push(InformationSystem {
                code: r.try_get(0)?,
                owner: r.try_get(1)?,
                name: r.try_get(2)?,
                kind: r.try_get(3)?,
                personal_data: r.try_get::<i32, _>(4)? != 0,
                legal_basis: r.try_get(5)?,
                services: serde_json::from_str(&services)?,
                status: r.try_get(7)?,
                purpose: r.try_get(8)?,
            });
        }
        out.sort_by_key(|s| system_order(&s.code));
        Ok(out)
    }

    /// Existing systems whose name or purpose looks like the proposal's (P-3.4 duplicate
    /// check): number, name, similarity, most alike first.
    pub async fn similar_systems(
        &self,
        name: &str,
        purpose: &str,
    ) -> Result<Vec<(String, String, f64)>, RegistryError> {
        let mut similar: Vec<(String, String, f64)> = self
            .systems()
            .await?
            .into_iter()
            .filter(|s| s.status != "retired")
            .map(|s| {
                let by_name = text::similarity(name, &s.name);
                let by_purpose = if purpose.trim().is_empty() || s.purpose.trim().is_empty() {
                    0.0
                } else {
                    text::similarity(purpose, &s.purpose)
                };
                (s.code, s.name, by_name.max(by_purpose))
            })
            .filter(|(_, _, score)| *score >= SIMILAR)
            .collect();
        similar.sort_by(|a, b| b.2.total_cmp(&a.2));
        Ok(similar)
    }

    /// Proposes a new system (status `proposed`, numbered after its owner's last). Refused
    /// with the similar ones listed unless `despite_similar` — the proposer has looked and
    /// says it is not a duplicate.
    pub async fn propose_system(
        &self,
        mut system: InformationSystem,
        despite_similar: bool,
    ) -> Result<InformationSystem, RegistryError> {
        if system.name.trim().is_empty() {
            return Err(RegistryError::Invalid("name is required".into()));
        }
        if !["system", "resource"].contains(&system.kind.as_str()) {
            return Err(RegistryError::Invalid("kind must be system or resource".into()));
        }
        let similar = self.similar_systems(&system.name, &system.purpose).await?;
        if !similar.is_empty() && !despite_similar {
            return Err(RegistryError::Similar(similar));
        }
        let mut tx = self.db.begin_write().await?;
        let owner: Option<String> = sqlx::query_scalar("SELECT status FROM bodies WHERE code = $1")
            .bind(&system.owner)
            .fetch_optional(&mut *tx)
            .await?;
        match owner.as_deref() {
            None => return Err(RegistryError::NotFound(format!("no body {}", system.owner))),
            Some("liquidated") => {
                return Err(RegistryError::Conflict(format!("body {} is liquidated", system.owner)));
            }
            _ => {}
        }
        let codes: Vec<String> = sqlx::query_scalar("SELECT code FROM information_systems WHERE owner = $1")
            .bind(&system.owner)
            .fetch_all(&mut *tx)
            .await?;
        let next = codes.iter().filter_map(|c| c.split('.').nth(1)?.parse::<u32>().ok()).max().unwrap_or(0) + 1;
        system.code = format!("{}.{next}", system.owner);
        system.status = "proposed".into();
        insert_system(&mut tx, &system).await?;
        tx.commit().await?;
        Ok(system)
    }

    /// Records that a body was liquidated: its systems pass to `successor` (P-3.4).
    pub async fn liquidate_body(&self, code: &str, successor: &str) -> Result<(), RegistryError> {
        if code == successor {
            return Err(RegistryError::Invalid("a body cannot succeed itself".into()));
        }
        let mut tx = self.db.begin_write().await?;
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM bodies WHERE code = $1")
            .bind(successor)
            .fetch_optional(&mut *tx)
            .await?;
        if status.as_deref() != Some("active") {
            return Err(RegistryError::NotFound(format!("no active body {successor} to succeed it")));
        }
        let changed = sqlx::query(
            "UPDATE bodies SET status = 'liquidated', successor = $1 WHERE code = $2 AND status = 'active'",
        )
        .bind(successor)
        .bind(code)
        .execute(&mut *tx)
        .await?;
        if changed.rows_affected() == 0 {
            return Err(RegistryError::NotFound(format!("no active body {code}")));
        }
        sqlx::query("UPDATE information_systems SET owner = $1 WHERE owner = $2")
            .bind(successor)
            .bind(code)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Files an application on `filed_on`; its due date follows R-10 in working days.
    pub async fn file(&self, request: Request, applicant: &str, filed_on: Date) -> Result<Application, RegistryError> {
        if applicant.trim().is_empty() {
            return Err(RegistryError::Invalid("applicant is required".into()));
        }
        let (kind, number, record, reason, days, changed) = match &request {
            Request::Register(r) => {
                r.validate()?;
                self.require_body(&r.provider).await?;
                ("register", None, Some(serde_json::to_string(r)?), String::new(), REGISTER_DAYS, None)
            }
            Request::Amend { registry_number, record, changed_on } => {
                record.validate()?;
                if changed_on.is_some_and(|c| c > filed_on) {
                    return Err(RegistryError::Invalid("changed_on cannot be after the filing date".into()));
                }
                self.require_registered(registry_number).await?;
                self.require_body(&record.provider).await?;
                let text = serde_json::to_string(record)?;
                ("amend", Some(registry_number.clone()), Some(text), String::new(), AMEND_DAYS, *changed_on)
            }
            Request::Deregister { registry_number, reason } => {
                if reason.trim().is_empty() {
                    return Err(RegistryError::Invalid("the reason for deregistration is required".into()));
                }
                self.require_registered(registry_number).await?;
                ("deregister", Some(registry_number.clone()), None, reason.clone(), REGISTER_DAYS, None)
            }
        };
        let due_on = self.calendar.add_working_days(filed_on, days)?;
        let mut tx = self.db.begin_write().await?;
        let id = next_value(&mut tx, "application").await?;
        sqlx::query(
            "INSERT INTO applications (id, kind, registry_number, record, reason, applicant, filed_on, due_on, changed_on) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(kind)
        .bind(&number)
        .bind(&record)
        .bind(&reason)
        .bind(applicant)
        .bind(iso(filed_on))
        .bind(iso(due_on))
        .bind(changed.map(iso))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.application(id).await
    }

    async fn require_registered(&self, number: &str) -> Result<(), RegistryError> {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM services WHERE registry_number = $1")
            .bind(number)
            .fetch_optional(self.db.pool())
            .await?;
        match status.as_deref() {
            Some("registered") => Ok(()),
            Some(_) => Err(RegistryError::Conflict(format!("service {number} is deregistered"))),
            None => Err(RegistryError::NotFound(format!("no service {number} in the registry"))),
        }
    }

    async fn require_body(&self, code: &str) -> Result<(), RegistryError> {
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM bodies WHERE code = $1")
            .bind(code)
            .fetch_optional(self.db.pool())
            .await?;
        match status.as_deref() {
            Some("active") => Ok(()),
            Some(_) => Err(RegistryError::Conflict(format!("provider {code} is liquidated"))),
            None => Err(RegistryError::NotFound(format!("provider {code} is not a body in the registry"))),
        }
    }

    /// One application.
    pub async fn application(&self, id: i64) -> Result<Application, RegistryError> {
        let row = sqlx::query(
            "SELECT id, kind, registry_number, applicant, filed_on, due_on, status, decided_on, decided_by, decision_note, \
             changed_on FROM applications WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no application {id}")))?;
        application(&row, &self.calendar)
    }

    /// The service record an application carries (registrations and amendments).
    pub async fn application_record(&self, id: i64) -> Result<Option<ServiceRecord>, RegistryError> {
        let text: Option<Option<String>> = sqlx::query_scalar("SELECT record FROM applications WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        let text = text.ok_or_else(|| RegistryError::NotFound(format!("no application {id}")))?;
        Ok(text.map(|t| serde_json::from_str(&t)).transpose()?)
    }

    /// The reason an application gives (deregistrations).
    pub async fn application_reason(&self, id: i64) -> Result<String, RegistryError> {
        sqlx::query_scalar("SELECT reason FROM applications WHERE id = $1")
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("no application {id}")))
    }

    /// Pending applications, oldest first.
    pub async fn pending(&self) -> Result<Vec<Application>, RegistryError> {
        let rows = sqlx::query(
            "SELECT id, kind, registry_number, applicant, filed_on, due_on, status, decided_on, decided_by, decision_note, \
             changed_on FROM applications WHERE status = 'pending' ORDER BY due_on, id",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(|r| application(r, &self.calendar)).collect()
    }

    /// Pending applications past their due date on `today`.
    pub async fn overdue(&self, today: Date) -> Result<Vec<Application>, RegistryError> {
        Ok(self.pending().await?.into_iter().filter(|a| a.due_on < today).collect())
    }

    /// Approves a pending application on `on`: the registry changes and the history grows
    /// in one transaction. Returns the service's registry number.
    pub async fn approve(&self, id: i64, operator: &str, on: Date) -> Result<String, RegistryError> {
        let mut tx = self.db.begin_write().await?;
        let row = sqlx::query("SELECT kind, registry_number, record, status, filed_on FROM applications WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| RegistryError::NotFound(format!("no application {id}")))?;
        let (kind, number, record, status): (String, Option<String>, Option<String>, String) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
        if status != "pending" {
            return Err(RegistryError::Conflict(format!("application {id} is already {status}")));
        }
        if on < parse_date(&row.try_get::<String, _>(4)?)? {
            return Err(RegistryError::Invalid("an application cannot be decided before it was filed".into()));
        }
        let day = iso(on);
        let number = match kind.as_str() {
            "register" => {
                let text = record.ok_or_else(|| RegistryError::Invalid("a registration without a record".into()))?;
                let record: ServiceRecord = serde_json::from_str(&text)?;
                register_service(&mut tx, &record, &text, &day, id).await?
            }
            "amend" | "deregister" => {
                let number = number.ok_or_else(|| RegistryError::Invalid("an application without a service".into()))?;
                let current = sqlx::query("SELECT status, version, record FROM services WHERE registry_number = $1")
                    .bind(&number)
                    .fetch_optional(&mut *tx)
                    .await?
                    .ok_or_else(|| RegistryError::NotFound(format!("no service {number}")))?;
                if current.try_get::<String, _>(0)? != "registered" {
                    return Err(RegistryError::Conflict(format!("service {number} is deregistered")));
                }
                let version: i64 = current.try_get::<i64, _>(1)? + 1;
                let (text, status) = if kind == "amend" {
                    let text = record.ok_or_else(|| RegistryError::Invalid("an amendment without a record".into()))?;
                    let parsed: ServiceRecord = serde_json::from_str(&text)?;
                    sqlx::query("UPDATE services SET area = $1, provider = $2 WHERE registry_number = $3")
                        .bind(i32::from(parsed.area))
                        .bind(&parsed.provider)
                        .bind(&number)
                        .execute(&mut *tx)
                        .await?;
                    (text, "registered")
                } else {
                    (current.try_get::<String, _>(2)?, "deregistered")
                };
                sqlx::query(
                    "UPDATE services SET record = $1, status = $2, version = $3, updated_on = $4 WHERE registry_number = $5",
                )
                .bind(&text)
                .bind(status)
                .bind(version)
                .bind(&day)
                .bind(&number)
                .execute(&mut *tx)
                .await?;
                history(&mut tx, &number, version, &day, id, &kind, &text).await?;
                number
            }
            other => return Err(RegistryError::Invalid(format!("unknown application kind {other}"))),
        };
        sqlx::query(
            "UPDATE applications SET status = 'approved', registry_number = $1, decided_on = $2, decided_by = $3 WHERE id = $4",
        )
        .bind(&number)
        .bind(&day)
        .bind(operator)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(number)
    }

    /// Refuses a pending application with its reason.
    pub async fn refuse(&self, id: i64, operator: &str, reason: &str, on: Date) -> Result<(), RegistryError> {
        if reason.trim().is_empty() {
            return Err(RegistryError::Invalid("a refusal states its reason".into()));
        }
        let done = sqlx::query(
            "UPDATE applications SET status = 'refused', decided_on = $1, decided_by = $2, decision_note = $3 \
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(iso(on))
        .bind(operator)
        .bind(reason)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        if done.rows_affected() == 0 {
            self.application(id).await?;
            return Err(RegistryError::Conflict(format!("application {id} is already decided")));
        }
        Ok(())
    }

    /// Loads services that are already registered elsewhere (the initial load of an
    /// existing registry) in one transaction: each gets an approved application, a registry
    /// number and its first history version. Returns the numbers.
    pub async fn import(
        &self,
        records: &[ServiceRecord],
        applicant: &str,
        on: Date,
    ) -> Result<Vec<String>, RegistryError> {
        for (i, r) in records.iter().enumerate() {
            r.validate().map_err(|e| RegistryError::Invalid(format!("service {}: {e}", i + 1)))?;
        }
        let day = iso(on);
        let mut numbers = Vec::with_capacity(records.len());
        let mut tx = self.db.begin_write().await?;
        for r in records {
            let text = serde_json::to_string(r)?;
            let id = next_value(&mut tx, "application").await?;
            let number = register_service(&mut tx, r, &text, &day, id).await?;
            sqlx::query(
                "INSERT INTO applications (id, kind, registry_number, record, applicant, filed_on, due_on, status, decided_on, decided_by) \
                 VALUES ($1, 'register', $2, $3, $4, $5, $5, 'approved', $5, 'import')",
            )
            .bind(id)
            .bind(&number)
            .bind(&text)
            .bind(applicant)
            .bind(&day)
            .execute(&mut *tx)
            .await?;
            numbers.push(number);
        }
        tx.commit().await?;
        Ok(numbers)
    }

    /// Records `uses` of a service in `month` (`YYYY-MM`), adding to what is there (B-1).
    pub async fn record_usage(&self, number: &str, month: &str, uses: i64) -> Result<(), RegistryError> {
        self.record_usage_many(&[(number.to_owned(), month.to_owned(), uses)]).await
    }

    /// Records many (service, month, uses) counts in one transaction.
    pub async fn record_usage_many(&self, counts: &[(String, String, i64)]) -> Result<(), RegistryError> {
        for (_, month, uses) in counts {
            check_month(month)?;
            if *uses < 0 {
                return Err(RegistryError::Invalid("uses cannot be negative".into()));
            }
        }
        let mut tx = self.db.begin_write().await?;
        for (number, month, uses) in counts {
            sqlx::query(
                "INSERT INTO service_usage (registry_number, month, uses) VALUES ($1, $2, $3) \
                 ON CONFLICT (registry_number, month) DO UPDATE SET uses = service_usage.uses + excluded.uses",
            )
            .bind(number)
            .bind(month)
            .bind(uses)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Uses per service in `month`, most used first.
    pub async fn usage(&self, month: &str) -> Result<Vec<(String, i64)>, RegistryError> {
        check_month(month)?;
        let rows = sqlx::query(
            "SELECT registry_number, uses FROM service_usage WHERE month = $1 ORDER BY uses DESC, registry_number",
        )
        .bind(month)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// The months with recorded usage, newest first.
    pub async fn usage_months(&self) -> Result<Vec<String>, RegistryError> {
        Ok(sqlx::query_scalar("SELECT DISTINCT month FROM service_usage ORDER BY month DESC")
            .fetch_all(self.db.pool())
            .await?)
    }

    /// A service by registry number.
    pub async fn service(&self, number: &str) -> Result<RegisteredService, RegistryError> {
        let row = sqlx::query(
            "SELECT registry_number, status, version, registered_on, updated_on, record FROM services WHERE registry_number = $1",
        )
        .bind(number)
        .fetch_optional(self.db.pool())
        .await?
        .ok_or_else(|| RegistryError::NotFound(format!("no service {number} in the registry")))?;
        registered(&row)
    }

    /// Every registered service (deregistered ones stay in the history only).
    pub async fn services(&self) -> Result<Vec<RegisteredService>, RegistryError> {
        let rows = sqlx::query(
            "SELECT registry_number, status, version, registered_on, updated_on, record FROM services \
             WHERE status = 'registered' ORDER BY registry_number",
        )
        .fetch_all(self.db.pool())
        .await?;
        rows.iter().map(registered).collect()
    }

    /// A service's versions, oldest first.
    pub async fn history(&self, number: &str) -> Result<Vec<HistoryEntry>, RegistryError> {
        let rows = sqlx::query(
            "SELECT version, change, changed_on, application_id, record FROM service_history \
             WHERE registry_number = $1 ORDER BY version",
        )
        .bind(number)
        .fetch_all(self.db.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    version: r.try_get(0)?,
                    change: r.try_get(1)?,
                    changed_on: parse_date(&r.try_get::<String, _>(2)?)?,
                    application_id: r.try_get(3)?,
                    record: serde_json::from_str(&r.try_get::<String, _>(4)?)?,
                })
            })
            .collect()
    }
}

/// Checks a month as `YYYY-MM` (01–12).
pub fn check_month(month: &str) -> Result<(), RegistryError> {
    let ok = month.len() == 7
        && month.as_bytes()[4] == b'-'
        && month[..4].bytes().all(|b| b.is_ascii_digit())
        && matches!(month[5..].parse::<u8>(), Ok(1..=12));
    if ok { Ok(()) } else { Err(RegistryError::Invalid(format!("month '{month}' is not YYYY-MM"))) }
}

/// `2.10` after `2.9`.
fn system_order(code: &str) -> (u32, u32) {
    let mut parts = code.split('.').map(|p| p.parse::<u32>().unwrap_or(u32::MAX));
    (parts.next().unwrap_or(u32::MAX), parts.next().unwrap_or(0))
}

async fn insert_system<'c>(
    tx: &mut sqlx::Transaction<'c, sqlx::Any>,
    s: &InformationSystem,
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO information_systems (code, owner, name, kind, personal_data, legal_basis, services, status, purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&s.code)
    .bind(&s.owner)
    .bind(&s.name)
    .bind(&s.kind)
    .bind(i32::from(s.personal_data))
    .bind(&s.legal_basis)
    .bind(serde_json::to_string(&s.services)?)
    .bind(&s.status)
    .bind(&s.purpose)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The next value of a counter (`application`, `registry_number`), inside `tx`.
async fn next_value<'c>(tx: &mut sqlx::Transaction<'c, sqlx::Any>, counter: &str) -> Result<i64, RegistryError> {
    Ok(sqlx::query_scalar("UPDATE counters SET value = value + 1 WHERE name = $1 RETURNING value")
        .bind(counter)
        .fetch_one(&mut **tx)
        .await?)
}

/// Enters a service in the registry as version 1 of its history (an approved registration
/// or an imported one); returns its new registry number.
async fn register_service<'c>(
    tx: &mut sqlx::Transaction<'c, sqlx::Any>,
    record: &ServiceRecord,
    text: &str,
    day: &str,
    application: i64,
) -> Result<String, RegistryError> {
    let seq = next_value(tx, "registry_number").await?;
    // area and a sequence: unique, and says where the service belongs
    let number = format!("{:02}-{seq:06}", record.area);
    sqlx::query(
        "INSERT INTO services (registry_number, provider, area, kind, record, status, version, registered_on, updated_on) \
         VALUES ($1, $2, $3, $4, $5, 'registered', 1, $6, $6)",
    )
    .bind(&number)
    .bind(&record.provider)
    .bind(i32::from(record.area))
    .bind(serde_json::to_value(record.kind)?.as_str().unwrap_or_default().to_owned())
    .bind(text)
    .bind(day)
    .execute(&mut **tx)
    .await?;
    history(tx, &number, 1, day, application, "register", text).await?;
    Ok(number)
}

async fn history<'c>(
    tx: &mut sqlx::Transaction<'c, sqlx::Any>,
    number: &str,
    version: i64,
    day: &str,
    application: i64,
    change: &str,
    record: &str,
) -> Result<(), RegistryError> {
    sqlx::query(
        "INSERT INTO service_history (registry_number, version, changed_on, application_id, change, record) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(number)
    .bind(version)
    .bind(day)
    .bind(application)
    .bind(change)
    .bind(record)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn application(r: &sqlx::any::AnyRow, calendar: &Calendar) -> Result<Application, RegistryError> {
    let decided: Option<String> = r.try_get(7)?;
    let changed_on = r.try_get::<Option<String>, _>(10)?.as_deref().map(parse_date).transpose()?;
    let filed_on = parse_date(&r.try_get::<String, _>(4)?)?;
    // a change in a year the calendar does not know cannot be judged late
    let requested_late = changed_on
        .and_then(|c| calendar.add_working_days(c, REQUEST_AMEND_DAYS).ok())
        .is_some_and(|due| filed_on > due);
    Ok(Application {
        changed_on,
        requested_late,
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        registry_number: r.try_get(2)?,
        applicant: r.try_get(3)?,
        filed_on,
        due_on: parse_date(&r.try_get::<String, _>(5)?)?,
        status: r.try_get(6)?,
        decided_on: decided.as_deref().map(parse_date).transpose()?,
        decided_by: r.try_get(8)?,
        decision_note: r.try_get(9)?,
    })
}

fn registered(r: &sqlx::any::AnyRow) -> Result<RegisteredService, RegistryError> {
    Ok(RegisteredService {
        registry_number: r.try_get(0)?,
        status: r.try_get(1)?,
        version: r.try_get(2)?,
        registered_on: parse_date(&r.try_get::<String, _>(3)?)?,
        updated_on: parse_date(&r.try_get::<String, _>(4)?)?,
        record: serde_json::from_str(&r.try_get::<String, _>(5)?)?,
    })
}
