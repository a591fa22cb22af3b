//! The participant lifecycle (TT-3.1–3.7, P-6.1, P-4.1.9):
//!
//! ```text
//! application (TT-3.1 annex-1 form) ── compliance check, 7 working days (TT-3.3) ──┬─ approved: contract + member 'active'
//!                                                                                 └─ refused: reasoned opinion, copy to the State Agency (P-6.1.4)
//! member 'active' ── breach notice, one month to remedy (TT-3.6) ── remedied | not remedied → 'disconnected'
//!                 ── harmful action, security or personal-data breach (TT-3.7) → 'blocked' at once ── unblock → 'active'
//!                 ── liquidated without successor (TT-3.5) → 'disconnected'
//! ```
//!
//! The state lives in `members.state`, which the global configuration publisher reads at its
//! next generation: a block takes effect in the federation as soon as security servers fetch
//! that configuration. Every change writes a row in `participant_events` (who, when, what,
//! why; P-2.1.7) and, where the participant must be told, a [notice](super::notices).

use std::collections::BTreeSet;

use egov_xroad::ClientId;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::{Date, OffsetDateTime};

use super::calendar::{self, add_months};
use super::notices::{self, NewNotice, NoticeKind};
use super::timefmt::{format_date, parse_date};
use super::{corrupt, from_json_text, from_unix, line, local_date, new_id, quote, start_of_day, to_json_text};
use crate::{CentralError, CentralStore};

/// Working days the operator has for the compliance check of an application (TT-3.3).
pub const CHECK_WORKING_DAYS: u32 = 7;

/// Calendar months a participant has to remedy a breach (TT-3.6).
pub const REMEDY_MONTHS: u32 = 1;

super::text_enum! {
    /// The applicant's legal status (TT-3.1 form).
    pub enum LegalStatus("legal status") {
        /// A central executive body.
        CentralExecutive = "central-executive",
        /// A local executive body.
        LocalExecutive = "local-executive",
        /// A municipality.
        Municipality = "municipality",
        /// Any other body.
        Other = "other",
    }
}

super::text_enum! {
    /// What a contact person is the contact for.
    pub enum ContactRole("contact role") {
        /// Technical contact (TT-3.1 requires at least two).
        Technical = "technical",
        /// Administrative or legal contact.
        Administrative = "administrative",
        /// Anything else.
        Other = "other",
    }
}

super::text_enum! {
    /// Where an application stands.
    pub enum ApplicationState("application state") {
        /// Filed, the compliance check is running.
        Submitted = "submitted",
        /// Approved: contract concluded, member registered.
        Approved = "approved",
        /// Refused with a reasoned opinion.
        Refused = "refused",
    }
}

super::text_enum! {
    /// A member's state in the registry (`members.state`), read by the configuration publisher.
    pub enum MemberState("member state") {
        /// Takes part in the exchange.
        Active = "active",
        /// Blocked at once after harmful actions or a breach (TT-3.7).
        Blocked = "blocked",
        /// Disconnected: breach not remedied (TT-3.6) or liquidated without successor (TT-3.5).
        Disconnected = "disconnected",
    }
}

super::text_enum! {
    /// What happened to a participant (`participant_events.action`).
    pub enum ParticipantAction("participant action") {
        /// An application was filed.
        Applied = "applied",
        /// The application was approved and the member registered.
        Approved = "approved",
        /// The application was refused.
        Refused = "refused",
        /// A written breach notice was issued.
        BreachNotice = "breach-notice",
        /// A breach was remedied.
        Remedied = "remedied",
        /// The member was disconnected after an unremedied breach.
        Disconnected = "disconnected",
        /// The member was blocked.
        Blocked = "blocked",
        /// The block was lifted.
        Unblocked = "unblocked",
        /// The member was liquidated without successor and disconnected.
        Liquidated = "liquidated",
    }
}

super::text_enum! {
    /// Where a breach notice stands.
    pub enum BreachState("breach notice state") {
        /// Issued, the remedy period is running or has run out.
        Open = "open",
        /// The participant remedied the breach.
        Remedied = "remedied",
        /// Not remedied: the participant was disconnected.
        Disconnected = "disconnected",
    }
}

/// A contact person of the applicant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactPerson {
    /// Full name.
    pub name: String,
    /// Position.
    #[serde(default)]
    pub position: String,
    /// What the person is the contact for.
    pub role: ContactRole,
    /// Telephone.
    #[serde(default)]
    pub phone: String,
    /// E-mail address.
    #[serde(default)]
    pub email: String,
}

/// An official: the person and the position that authorises them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Official {
    /// Full name.
    pub name: String,
    /// Position.
    pub position: String,
}

/// The application form to connect an information system (TT-3.1, annex 1), with the member
/// identifier and subsystems it asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationForm {
    /// The member identifier asked for, `INSTANCE/CLASS/CODE`.
    pub member_id: ClientId,
    /// Subsystem codes to register with the member.
    #[serde(default)]
    pub subsystems: Vec<String>,
    /// The organisation's name.
    pub organisation_name: String,
    /// Tax id (VÖEN): 10 digits.
    pub tax_id: String,
    /// Legal status.
    pub legal_status: LegalStatus,
    /// Legal address.
    pub legal_address: String,
    /// Actual address.
    pub actual_address: String,
    /// The legal basis of the information system.
    pub legal_basis: String,
    /// The information system's name.
    pub information_system: String,
    /// The names of its information resources.
    pub resource_names: Vec<String>,
    /// Number of the extract from the registry of state information resources (P-3.4).
    pub registry_extract_number: String,
    /// Date of the information-security assessment.
    #[serde(with = "super::timefmt::date")]
    pub assessment_date: Date,
    /// Result of the assessment.
    pub assessment_result: String,
    /// Contact persons; at least two technical contacts.
    pub contact_persons: Vec<ContactPerson>,
    /// The official authorised to act for the organisation.
    pub authorised_official: Official,
}

/// An application and the state of its compliance check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantApplication {
    /// Identifier (UUID v7).
    pub id: String,
    /// Where it stands.
    pub state: ApplicationState,
    /// The form as filed (trimmed).
    pub form: ApplicationForm,
    /// When it was filed.
    #[serde(with = "super::timefmt::rfc3339")]
    pub submitted_at: OffsetDateTime,
    /// The last day of the compliance check: 7 working days after filing (TT-3.3).
    #[serde(with = "super::timefmt::date")]
    pub check_due: Date,
    /// Decided after `check_due`, or still undecided after it.
    pub overdue: bool,
    /// When it was decided.
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub decided_at: Option<OffsetDateTime>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// The reasoned opinion of a refusal (P-6.1).
    pub refusal_reason: Option<String>,
    /// The refusal was copied to the State Agency (P-6.1.4).
    pub copied_to_state_agency: bool,
}

/// The contract's terms, settled when an application is approved (TT-3.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractTerms {
    /// Officials authorised to use the exchange for the participant (at least one).
    pub authorised_officials: Vec<Official>,
    /// The e-services the participant provides.
    #[serde(default)]
    pub provided_services: Vec<String>,
    /// The data the participant uses from other participants.
    #[serde(default)]
    pub data_used: Vec<String>,
    /// The administrator of the participant's security server.
    pub server_administrator: ContactPerson,
    /// The structures of the requests exchanged (e.g. WSDL or OpenAPI references).
    #[serde(default)]
    pub request_structures: Vec<String>,
    /// The rules for data of restricted access.
    pub restricted_data_rules: String,
}

/// A contract concluded with a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contract {
    /// Identifier (UUID v7).
    pub id: String,
    /// The approved application.
    pub application_id: String,
    /// The member registered.
    pub member_id: ClientId,
    /// The terms.
    pub terms: ContractTerms,
    /// When it was concluded.
    #[serde(with = "super::timefmt::rfc3339")]
    pub concluded_at: OffsetDateTime,
    /// Who concluded it for the operator.
    pub concluded_by: String,
}

/// A member's state in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemberStatus {
    /// The member.
    pub member_id: ClientId,
    /// Its name.
    pub name: String,
    /// Its state.
    pub state: MemberState,
    /// Why it is blocked or disconnected.
    pub reason: Option<String>,
}

/// One entry of a participant's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantEvent {
    /// Identifier (UUID v7).
    pub id: String,
    /// The member (or the member id an application asked for).
    pub member_id: ClientId,
    /// What happened.
    pub action: ParticipantAction,
    /// The member's state before, if it was a member.
    pub from_state: Option<MemberState>,
    /// The member's state after, if it is a member.
    pub to_state: Option<MemberState>,
    /// Why.
    pub reason: Option<String>,
    /// Who did it.
    pub actor: String,
    /// When.
    #[serde(with = "super::timefmt::rfc3339")]
    pub at: OffsetDateTime,
}

/// A written breach notice (TT-3.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachNotice {
    /// Identifier (UUID v7).
    pub id: String,
    /// The member notified.
    pub member_id: ClientId,
    /// The breach and what must be remedied.
    pub description: String,
    /// When it was issued.
    #[serde(with = "super::timefmt::rfc3339")]
    pub issued_at: OffsetDateTime,
    /// Who issued it.
    pub issued_by: String,
    /// The last day to remedy: one month after issue (TT-3.6).
    #[serde(with = "super::timefmt::date")]
    pub remedy_deadline: Date,
    /// Where it stands.
    pub state: BreachState,
    /// When it was closed (remedied or disconnected).
    #[serde(with = "super::timefmt::option_rfc3339")]
    pub closed_at: Option<OffsetDateTime>,
    /// Who closed it.
    pub closed_by: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// validation

const MAX_LINE: usize = 500;
const MAX_TEXT: usize = 4000;
const MAX_ITEMS: usize = 100;

fn contact(field: &str, c: &ContactPerson) -> Result<ContactPerson, CentralError> {
    let name = line(&format!("{field} name"), &c.name, 200)?;
    let optional = |what: &str, value: &str, max: usize| -> Result<String, CentralError> {
        if value.trim().is_empty() { Ok(String::new()) } else { line(&format!("{field} {what}"), value, max) }
    };
    let position = optional("position", &c.position, 200)?;
    let phone = optional("phone", &c.phone, 40)?;
    let email = optional("email", &c.email, 254)?;
    if phone.is_empty() && email.is_empty() {
        return Err(CentralError::Invalid(format!("{field} ({name}) needs a phone or an e-mail address")));
    }
    if !phone.is_empty() && !phone.chars().all(|ch| ch.is_ascii_digit() || " +()-".contains(ch)) {
        return Err(CentralError::Invalid(format!(
            "{field} phone '{}' may contain only digits, spaces and + ( ) -",
            quote(&phone)
        )));
    }
    if !email.is_empty() {
        let ok = email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.starts_with('.'))
            && !email.contains(char::is_whitespace);
        if !ok {
            return Err(CentralError::Invalid(format!("{field} e-mail '{}' is not an e-mail address", quote(&email))));
        }
    }
    Ok(ContactPerson { name, position, role: c.role, phone, email })
}

fn official(field: &str, o: &Official) -> Result<Official, CentralError> {
    Ok(Official {
        name: line(&format!("{field} name"), &o.name, 200)?,
        position: line(&format!("{field} position"), &o.position, 200)?,
    })
}

fn items(field: &str, values: &[String], at_least: usize) -> Result<Vec<String>, CentralError> {
    if values.len() < at_least {
        return Err(CentralError::Invalid(format!("{field} needs at least {at_least} entry")));
    }
    if values.len() > MAX_ITEMS {
        return Err(CentralError::Invalid(format!("{field} has more than {MAX_ITEMS} entries")));
    }
    values.iter().enumerate().map(|(i, v)| line(&format!("{field}[{i}]"), v, MAX_LINE)).collect()
}

/// Checks a tax id (VÖEN): exactly 10 digits.
pub fn check_tax_id(tax_id: &str) -> Result<String, CentralError> {
    let t = tax_id.trim();
    if t.len() != 10 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CentralError::Invalid(format!("tax_id (VÖEN) '{}' must be exactly 10 digits", quote(t))));
    }
    Ok(t.to_owned())
}

impl ApplicationForm {
    /// Checks the form (TT-3.1) and returns it trimmed: a member id (not a subsystem), valid
    /// distinct subsystem codes, a 10-digit VÖEN, every required field filled, an assessment
    /// not dated after `today`, and at least two technical contacts.
    pub fn validated(&self, today: Date) -> Result<ApplicationForm, CentralError> {
        if self.member_id.subsystem_code().is_some() {
            return Err(CentralError::Invalid(format!(
                "member_id {} is a subsystem; give the member id INSTANCE/CLASS/CODE and list subsystems separately",
                self.member_id
            )));
        }
        if self.subsystems.len() > MAX_ITEMS {
            return Err(CentralError::Invalid(format!("subsystems has more than {MAX_ITEMS} entries")));
        }
        let mut seen = BTreeSet::new();
        let mut subsystems = Vec::new();
        for s in &self.subsystems {
            let s = s.trim();
            egov_xroad::id::validate_part("subsystemCode", s)
                .map_err(|e| CentralError::Invalid(format!("subsystem '{}': {e}", quote(s))))?;
            if !seen.insert(s.to_owned()) {
                return Err(CentralError::Invalid(format!("subsystem {s} is listed twice")));
            }
            subsystems.push(s.to_owned());
        }
        if self.assessment_date > today {
            return Err(CentralError::Invalid(format!(
                "assessment_date {} is in the future; give the date the assessment was made",
                format_date(self.assessment_date)
            )));
        }
        if self.contact_persons.len() > MAX_ITEMS {
            return Err(CentralError::Invalid(format!("contact_persons has more than {MAX_ITEMS} entries")));
        }
        let contacts = self
            .contact_persons
            .iter()
            .enumerate()
            .map(|(i, c)| contact(&format!("contact_persons[{i}]"), c))
            .collect::<Result<Vec<_>, _>>()?;
        let technical = contacts.iter().filter(|c| c.role == ContactRole::Technical).count();
        if technical < 2 {
            return Err(CentralError::Invalid(format!(
                "contact_persons must include at least two technical contacts (TT-3.1); {technical} given"
            )));
        }
        Ok(ApplicationForm {
            member_id: self.member_id.clone(),
            subsystems,
            organisation_name: line("organisation_name", &self.organisation_name, MAX_LINE)?,
            tax_id: check_tax_id(&self.tax_id)?,
            legal_status: self.legal_status,
            legal_address: line("legal_address", &self.legal_address, MAX_LINE)?,
            actual_address: line("actual_address", &self.actual_address, MAX_LINE)?,
            legal_basis: super::text("legal_basis", &self.legal_basis, MAX_TEXT)?,
            information_system: line("information_system", &self.information_system, MAX_LINE)?,
            resource_names: items("resource_names", &self.resource_names, 1)?,
            registry_extract_number: line("registry_extract_number", &self.registry_extract_number, 100)?,
            assessment_date: self.assessment_date,
            assessment_result: super::text("assessment_result", &self.assessment_result, MAX_TEXT)?,
            contact_persons: contacts,
            authorised_official: official("authorised_official", &self.authorised_official)?,
        })
    }
}

impl ContractTerms {
    /// Checks the terms (TT-3.3) and returns them trimmed: at least one authorised official, a
    /// reachable server administrator, and the restricted-data rules.
    pub fn validated(&self) -> Result<ContractTerms, CentralError> {
        if self.authorised_officials.is_empty() {
            return Err(CentralError::Invalid("authorised_officials needs at least one official (TT-3.3)".into()));
        }
        if self.authorised_officials.len() > MAX_ITEMS {
            return Err(CentralError::Invalid(format!("authorised_officials has more than {MAX_ITEMS} entries")));
        }
        Ok(ContractTerms {
            authorised_officials: self
                .authorised_officials
                .iter()
                .enumerate()
                .map(|(i, o)| official(&format!("authorised_officials[{i}]"), o))
                .collect::<Result<_, _>>()?,
            provided_services: items("provided_services", &self.provided_services, 0)?,
            data_used: items("data_used", &self.data_used, 0)?,
            server_administrator: contact("server_administrator", &self.server_administrator)?,
            request_structures: items("request_structures", &self.request_structures, 0)?,
            restricted_data_rules: super::text("restricted_data_rules", &self.restricted_data_rules, MAX_TEXT)?,
        })
    }
}

fn member_only(member: &ClientId) -> Result<(), CentralError> {
    if member.subsystem_code().is_some() {
        return Err(CentralError::Invalid(format!("{member} is a subsystem; give the member id INSTANCE/CLASS/CODE")));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// applications

type Tx = sqlx::Transaction<'static, sqlx::Any>;

const APPLICATION_COLUMNS: &str = "id, state, member_id, subsystems, organisation_name, tax_id, legal_status, \
    legal_address, actual_address, legal_basis, information_system, resource_names, registry_extract_number, \
    assessment_date, assessment_result, contact_persons, official_name, official_position, submitted_at, check_due, \
    decided_at, decided_by, refusal_reason, copied_to_state_agency";

fn overdue(check_due: Date, decided_at: Option<OffsetDateTime>, now: OffsetDateTime) -> bool {
    local_date(decided_at.unwrap_or(now)) > check_due
}

fn application_from_row(row: &sqlx::any::AnyRow, now: OffsetDateTime) -> Result<ParticipantApplication, CentralError> {
    let get_text = |i: usize| -> Result<String, CentralError> { Ok(row.try_get::<String, _>(i)?) };
    let member: String = get_text(2)?;
    let check_due = parse_date("check_due", &get_text(19)?).map_err(|e| corrupt("check_due", e))?;
    let decided_at: Option<i64> = row.try_get(20)?;
    let decided_at = decided_at.map(|t| from_unix("decision time", t)).transpose()?;
    let copied: i64 = row.try_get(23)?;
    Ok(ParticipantApplication {
        id: get_text(0)?,
        state: get_text(1)?.parse().map_err(|e| corrupt("application state", e))?,
        form: ApplicationForm {
            member_id: member.parse().map_err(|e| corrupt("application member id", e))?,
            subsystems: from_json_text("subsystems", &get_text(3)?)?,
            organisation_name: get_text(4)?,
            tax_id: get_text(5)?,
            legal_status: get_text(6)?.parse().map_err(|e| corrupt("legal status", e))?,
            legal_address: get_text(7)?,
            actual_address: get_text(8)?,
            legal_basis: get_text(9)?,
            information_system: get_text(10)?,
            resource_names: from_json_text("resource names", &get_text(11)?)?,
            registry_extract_number: get_text(12)?,
            assessment_date: parse_date("assessment_date", &get_text(13)?)
                .map_err(|e| corrupt("assessment date", e))?,
            assessment_result: get_text(14)?,
            contact_persons: from_json_text("contact persons", &get_text(15)?)?,
            authorised_official: Official { name: get_text(16)?, position: get_text(17)? },
        },
        submitted_at: from_unix("submission time", row.try_get(18)?)?,
        check_due,
        overdue: overdue(check_due, decided_at, now),
        decided_at,
        decided_by: row.try_get(21)?,
        refusal_reason: row.try_get(22)?,
        copied_to_state_agency: copied != 0,
    })
}

async fn record_event(
    tx: &mut Tx,
    member: &ClientId,
    action: ParticipantAction,
    (from, to): (Option<MemberState>, Option<MemberState>),
    reason: Option<&str>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), CentralError> {
    sqlx::query(
        "INSERT INTO participant_events (id, member_id, action, from_state, to_state, reason, actor, recorded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(new_id())
    .bind(member.to_string())
    .bind(action.as_str())
    .bind(from.map(MemberState::as_str))
    .bind(to.map(MemberState::as_str))
    .bind(reason)
    .bind(actor)
    .bind(now.unix_timestamp())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn operator_notice(kind: NoticeKind, title: String, body: String) -> NewNotice {
    NewNotice {
        sender: super::OPERATOR.to_owned(),
        kind,
        title,
        body,
        service_id: None,
        starts_at: None,
        ends_at: None,
    }
}

/// Files an application (TT-3.1). The compliance check is due 7 working days after the day it
/// is filed (TT-3.3, Baku calendar with the stored holidays). Refused when the form is
/// invalid, the member is already registered, or an application for it is pending.
pub async fn submit(
    store: &CentralStore,
    form: &ApplicationForm,
    now: OffsetDateTime,
) -> Result<ParticipantApplication, CentralError> {
    let form = form.validated(local_date(now))?;
    let check_due = calendar::load(store).await?.add_working_days(local_date(now), CHECK_WORKING_DAYS)?;
    let member = form.member_id.to_string();
    let mut tx = store.database().begin_write().await?;
    if let Some(row) =
        sqlx::query("SELECT state FROM members WHERE id = $1").bind(&member).fetch_optional(&mut *tx).await?
    {
        let state: String = row.try_get(0)?;
        return Err(CentralError::Conflict(format!("{member} is already a registered member (state {state})")));
    }
    if let Some(row) =
        sqlx::query("SELECT id FROM participant_applications WHERE member_id = $1 AND state = 'submitted'")
            .bind(&member)
            .fetch_optional(&mut *tx)
            .await?
    {
        let id: String = row.try_get(0)?;
        return Err(CentralError::Conflict(format!("an application for {member} is already pending: {id}")));
    }
    let id = new_id();
    let sql = format!(
        "INSERT INTO participant_applications ({APPLICATION_COLUMNS}) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&id)
        .bind(ApplicationState::Submitted.as_str())
        .bind(&member)
        .bind(to_json_text(&form.subsystems)?)
        .bind(&form.organisation_name)
        .bind(&form.tax_id)
        .bind(form.legal_status.as_str())
        .bind(&form.legal_address)
        .bind(&form.actual_address)
        .bind(&form.legal_basis)
        .bind(&form.information_system)
        .bind(to_json_text(&form.resource_names)?)
        .bind(&form.registry_extract_number)
        .bind(format_date(form.assessment_date))
        .bind(&form.assessment_result)
        .bind(to_json_text(&form.contact_persons)?)
        .bind(&form.authorised_official.name)
        .bind(&form.authorised_official.position)
        .bind(now.unix_timestamp())
        .bind(format_date(check_due))
        .bind(None::<i64>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(0_i64)
        .execute(&mut *tx)
        .await
        .map_err(|e| super::conflict_on_unique(e, || format!("an application for {member} is already pending")))?;
    let actor = form.authorised_official.name.clone();
    record_event(&mut tx, &form.member_id, ParticipantAction::Applied, (None, None), None, &actor, now).await?;
    let app = load_application(&mut tx, &id, now).await?;
    tx.commit().await?;
    Ok(app)
}

async fn load_application(tx: &mut Tx, id: &str, now: OffsetDateTime) -> Result<ParticipantApplication, CentralError> {
    let sql = format!("SELECT {APPLICATION_COLUMNS} FROM participant_applications WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
    match row {
        Some(row) => application_from_row(&row, now),
        None => Err(CentralError::NotFound(format!("application {} does not exist", quote(id)))),
    }
}

/// One application; `overdue` is judged at `now`.
pub async fn application(
    store: &CentralStore,
    id: &str,
    now: OffsetDateTime,
) -> Result<ParticipantApplication, CentralError> {
    let sql = format!("SELECT {APPLICATION_COLUMNS} FROM participant_applications WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(store.pool()).await?;
    match row {
        Some(row) => application_from_row(&row, now),
        None => Err(CentralError::NotFound(format!("application {} does not exist", quote(id)))),
    }
}

/// The applications (in `state`, or all), oldest first; `overdue` is judged at `now`.
pub async fn list_applications(
    store: &CentralStore,
    state: Option<ApplicationState>,
    now: OffsetDateTime,
) -> Result<Vec<ParticipantApplication>, CentralError> {
    let sql = format!(
        "SELECT {APPLICATION_COLUMNS} FROM participant_applications WHERE ($1 IS NULL OR state = $1) \
         ORDER BY submitted_at, id"
    );
    let rows =
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(state.map(ApplicationState::as_str)).fetch_all(store.pool()).await?;
    rows.iter().map(|r| application_from_row(r, now)).collect()
}

async fn decide(
    tx: &mut Tx,
    id: &str,
    to: ApplicationState,
    reason: Option<&str>,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), CentralError> {
    let done = sqlx::query(
        "UPDATE participant_applications SET state = $1, decided_at = $2, decided_by = $3, refusal_reason = $4, \
         copied_to_state_agency = $5 WHERE id = $6 AND state = 'submitted'",
    )
    .bind(to.as_str())
    .bind(now.unix_timestamp())
    .bind(actor)
    .bind(reason)
    .bind(i64::from(to == ApplicationState::Refused))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(CentralError::Conflict(format!("application {id} was decided meanwhile")));
    }
    Ok(())
}

/// Approves an application after the compliance check (TT-3.3, P-6.1): concludes the contract
/// and registers the member (and its subsystems) as `active`, in one transaction. Refused when
/// the application is already decided or the member already exists. A decision after
/// `check_due` is allowed; the application stays marked `overdue`.
pub async fn approve(
    store: &CentralStore,
    id: &str,
    terms: &ContractTerms,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<Contract, CentralError> {
    let terms = terms.validated()?;
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let app = load_application(&mut tx, id, now).await?;
    if app.state != ApplicationState::Submitted {
        return Err(CentralError::Conflict(format!("application {id} is already {}", app.state)));
    }
    let member = &app.form.member_id;
    crate::registry::insert_member(
        &mut tx,
        member,
        &app.form.organisation_name,
        &app.form.tax_id,
        app.form.legal_status,
        &app.form.subsystems,
        now.unix_timestamp(),
    )
    .await?;
    let contract = Contract {
        id: new_id(),
        application_id: app.id.clone(),
        member_id: member.clone(),
        terms,
        concluded_at: super::whole_seconds(now),
        concluded_by: actor.clone(),
    };
    sqlx::query(
        "INSERT INTO contracts (id, application_id, member_id, authorised_officials, provided_services, data_used, \
         server_administrator, request_structures, restricted_data_rules, concluded_at, concluded_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&contract.id)
    .bind(&contract.application_id)
    .bind(member.to_string())
    .bind(to_json_text(&contract.terms.authorised_officials)?)
    .bind(to_json_text(&contract.terms.provided_services)?)
    .bind(to_json_text(&contract.terms.data_used)?)
    .bind(to_json_text(&contract.terms.server_administrator)?)
    .bind(to_json_text(&contract.terms.request_structures)?)
    .bind(&contract.terms.restricted_data_rules)
    .bind(now.unix_timestamp())
    .bind(&actor)
    .execute(&mut *tx)
    .await?;
    decide(&mut tx, id, ApplicationState::Approved, None, &actor, now).await?;
    record_event(&mut tx, member, ParticipantAction::Approved, (None, Some(MemberState::Active)), None, &actor, now)
        .await?;
    let notice = operator_notice(
        NoticeKind::Decision,
        format!("Application approved: {member} is connected"),
        format!(
            "The compliance check of application {id} is complete (TT-3.3). Contract {} is concluded and {} ({member}) \
             is registered as an active participant.",
            contract.id, app.form.organisation_name
        ),
    );
    notices::insert(&mut tx, Some(member), &notice, now).await?;
    tx.commit().await?;
    Ok(contract)
}

/// Refuses an application with a reasoned opinion (P-6.1), which is marked as copied to the
/// State Agency (P-6.1.4). The opinion is mandatory.
pub async fn refuse(
    store: &CentralStore,
    id: &str,
    reasoned_opinion: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<ParticipantApplication, CentralError> {
    let reason = super::text("reasoned opinion", reasoned_opinion, MAX_TEXT)?;
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let app = load_application(&mut tx, id, now).await?;
    if app.state != ApplicationState::Submitted {
        return Err(CentralError::Conflict(format!("application {id} is already {}", app.state)));
    }
    decide(&mut tx, id, ApplicationState::Refused, Some(&reason), &actor, now).await?;
    let member = &app.form.member_id;
    record_event(&mut tx, member, ParticipantAction::Refused, (None, None), Some(&reason), &actor, now).await?;
    let notice = operator_notice(
        NoticeKind::Decision,
        format!("Application refused: {member}"),
        format!(
            "Application {id} does not meet the requirements and is refused (P-6.1). Reasoned opinion:\n{reason}\n\
             A copy of this opinion is sent to the State Agency (P-6.1.4)."
        ),
    );
    notices::insert(&mut tx, Some(member), &notice, now).await?;
    let app = load_application(&mut tx, id, now).await?;
    tx.commit().await?;
    Ok(app)
}

/// The contract concluded with `member`, if any.
pub async fn contract(store: &CentralStore, member: &ClientId) -> Result<Option<Contract>, CentralError> {
    let row = sqlx::query(
        "SELECT id, application_id, authorised_officials, provided_services, data_used, server_administrator, \
         request_structures, restricted_data_rules, concluded_at, concluded_by FROM contracts WHERE member_id = $1 \
         ORDER BY concluded_at DESC, id DESC",
    )
    .bind(member.member_id().to_string())
    .fetch_optional(store.pool())
    .await?;
    let Some(row) = row else { return Ok(None) };
    let json = |i: usize| -> Result<String, CentralError> { Ok(row.try_get::<String, _>(i)?) };
    Ok(Some(Contract {
        id: row.try_get(0)?,
        application_id: row.try_get(1)?,
        member_id: member.member_id(),
        terms: ContractTerms {
            authorised_officials: from_json_text("authorised officials", &json(2)?)?,
            provided_services: from_json_text("provided services", &json(3)?)?,
            data_used: from_json_text("data used", &json(4)?)?,
            server_administrator: from_json_text("server administrator", &json(5)?)?,
            request_structures: from_json_text("request structures", &json(6)?)?,
            restricted_data_rules: row.try_get(7)?,
        },
        concluded_at: from_unix("contract time", row.try_get(8)?)?,
        concluded_by: row.try_get(9)?,
    }))
}

// ---------------------------------------------------------------------------------------------
// member state

async fn current_state(tx: &mut Tx, member: &ClientId) -> Result<(MemberState, String, Option<String>), CentralError> {
    member_only(member)?;
    let row = sqlx::query("SELECT state, name, state_reason FROM members WHERE id = $1")
        .bind(member.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| CentralError::NotFound(format!("member {member} is not registered")))?;
    let state: String = row.try_get(0)?;
    Ok((state.parse().map_err(|e| corrupt("member state", e))?, row.try_get(1)?, row.try_get(2)?))
}

async fn set_state(
    tx: &mut Tx,
    member: &ClientId,
    from: MemberState,
    to: MemberState,
    reason: Option<&str>,
) -> Result<(), CentralError> {
    let done = sqlx::query("UPDATE members SET state = $1, state_reason = $2 WHERE id = $3 AND state = $4")
        .bind(to.as_str())
        .bind(reason)
        .bind(member.to_string())
        .bind(from.as_str())
        .execute(&mut **tx)
        .await?;
    if done.rows_affected() != 1 {
        return Err(CentralError::Conflict(format!("the state of {member} changed meanwhile; try again")));
    }
    Ok(())
}

/// A member's state and its reason (what the configuration publisher reads from
/// `members.state`).
pub async fn member_status(store: &CentralStore, member: &ClientId) -> Result<MemberStatus, CentralError> {
    member_only(member)?;
    let row = sqlx::query("SELECT state, name, state_reason FROM members WHERE id = $1")
        .bind(member.to_string())
        .fetch_optional(store.pool())
        .await?
        .ok_or_else(|| CentralError::NotFound(format!("member {member} is not registered")))?;
    let state: String = row.try_get(0)?;
    Ok(MemberStatus {
        member_id: member.clone(),
        name: row.try_get(1)?,
        state: state.parse().map_err(|e| corrupt("member state", e))?,
        reason: row.try_get(2)?,
    })
}

/// Blocks a member at once (TT-3.7: harmful actions, a security or personal-data breach). The
/// registry changes now; security servers stop accepting it when they fetch the next global
/// configuration. Refused for a member already blocked or disconnected.
pub async fn block(
    store: &CentralStore,
    member: &ClientId,
    reason: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<MemberStatus, CentralError> {
    let reason = super::text("reason", reason, MAX_TEXT)?;
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let (state, name, current_reason) = current_state(&mut tx, member).await?;
    match state {
        MemberState::Active => {}
        MemberState::Blocked => {
            return Err(CentralError::Conflict(format!(
                "{member} is already blocked: {}",
                current_reason.unwrap_or_default()
            )));
        }
        MemberState::Disconnected => {
            return Err(CentralError::Conflict(format!("{member} is disconnected; there is nothing to block")));
        }
    }
    set_state(&mut tx, member, state, MemberState::Blocked, Some(&reason)).await?;
    record_event(
        &mut tx,
        member,
        ParticipantAction::Blocked,
        (Some(state), Some(MemberState::Blocked)),
        Some(&reason),
        &actor,
        now,
    )
    .await?;
    let mut notice = operator_notice(
        NoticeKind::Block,
        format!("{member} is blocked"),
        format!(
            "Access of {name} ({member}) to the exchange is blocked with immediate effect (TT-3.7). Reason:\n{reason}"
        ),
    );
    notice.starts_at = Some(now);
    notices::insert(&mut tx, Some(member), &notice, now).await?;
    tx.commit().await?;
    Ok(MemberStatus { member_id: member.clone(), name, state: MemberState::Blocked, reason: Some(reason) })
}

/// Lifts a block: the member is active again. Refused when it is not blocked.
pub async fn unblock(
    store: &CentralStore,
    member: &ClientId,
    reason: Option<&str>,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<MemberStatus, CentralError> {
    let reason = match reason {
        Some(r) if !r.trim().is_empty() => Some(super::text("reason", r, MAX_TEXT)?),
        _ => None,
    };
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let (state, name, _) = current_state(&mut tx, member).await?;
    if state != MemberState::Blocked {
        return Err(CentralError::Conflict(format!("{member} is not blocked (state {state})")));
    }
    set_state(&mut tx, member, state, MemberState::Active, None).await?;
    record_event(
        &mut tx,
        member,
        ParticipantAction::Unblocked,
        (Some(state), Some(MemberState::Active)),
        reason.as_deref(),
        &actor,
        now,
    )
    .await?;
    let mut notice = operator_notice(
        NoticeKind::Unblock,
        format!("{member} is unblocked"),
        format!(
            "The block of {name} ({member}) is lifted; access resumes with the next global configuration.{}",
            reason.as_deref().map(|r| format!("\n{r}")).unwrap_or_default()
        ),
    );
    notice.starts_at = Some(now);
    notices::insert(&mut tx, Some(member), &notice, now).await?;
    tx.commit().await?;
    Ok(MemberStatus { member_id: member.clone(), name, state: MemberState::Active, reason: None })
}

/// Disconnects a member liquidated without a successor (TT-3.5, P-4.1.9). Refused when it is
/// already disconnected. (With a successor, the registry's ownership change applies instead.)
pub async fn liquidate(
    store: &CentralStore,
    member: &ClientId,
    reason: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<MemberStatus, CentralError> {
    let reason = super::text("reason", reason, MAX_TEXT)?;
    let actor = super::actor(actor)?;
    let state_reason = format!("liquidated without successor (TT-3.5): {reason}");
    let mut tx = store.database().begin_write().await?;
    let (state, name, _) = current_state(&mut tx, member).await?;
    if state == MemberState::Disconnected {
        return Err(CentralError::Conflict(format!("{member} is already disconnected")));
    }
    set_state(&mut tx, member, state, MemberState::Disconnected, Some(&state_reason)).await?;
    record_event(
        &mut tx,
        member,
        ParticipantAction::Liquidated,
        (Some(state), Some(MemberState::Disconnected)),
        Some(&reason),
        &actor,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(MemberStatus { member_id: member.clone(), name, state: MemberState::Disconnected, reason: Some(state_reason) })
}

/// The history of `member` (including its application), oldest first.
pub async fn history(store: &CentralStore, member: &ClientId) -> Result<Vec<ParticipantEvent>, CentralError> {
    member_only(member)?;
    let rows = sqlx::query(
        "SELECT id, action, from_state, to_state, reason, actor, recorded_at FROM participant_events \
         WHERE member_id = $1 ORDER BY recorded_at, id",
    )
    .bind(member.to_string())
    .fetch_all(store.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let action: String = row.try_get(1)?;
            let state = |i: usize| -> Result<Option<MemberState>, CentralError> {
                let s: Option<String> = row.try_get(i)?;
                s.map(|s| s.parse().map_err(|e| corrupt("member state", e))).transpose()
            };
            Ok(ParticipantEvent {
                id: row.try_get(0)?,
                member_id: member.clone(),
                action: action.parse().map_err(|e| corrupt("participant action", e))?,
                from_state: state(2)?,
                to_state: state(3)?,
                reason: row.try_get(4)?,
                actor: row.try_get(5)?,
                at: from_unix("event time", row.try_get(6)?)?,
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// breach notices

const BREACH_COLUMNS: &str =
    "id, member_id, description, issued_at, issued_by, remedy_deadline, state, closed_at, closed_by";

fn breach_from_row(row: &sqlx::any::AnyRow) -> Result<BreachNotice, CentralError> {
    let member: String = row.try_get(1)?;
    let deadline: String = row.try_get(5)?;
    let state: String = row.try_get(6)?;
    let closed: Option<i64> = row.try_get(7)?;
    Ok(BreachNotice {
        id: row.try_get(0)?,
        member_id: member.parse().map_err(|e| corrupt("breach notice member", e))?,
        description: row.try_get(2)?,
        issued_at: from_unix("breach notice time", row.try_get(3)?)?,
        issued_by: row.try_get(4)?,
        remedy_deadline: parse_date("remedy_deadline", &deadline).map_err(|e| corrupt("remedy deadline", e))?,
        state: state.parse().map_err(|e| corrupt("breach notice state", e))?,
        closed_at: closed.map(|t| from_unix("breach closing time", t)).transpose()?,
        closed_by: row.try_get(8)?,
    })
}

async fn load_breach(tx: &mut Tx, id: &str) -> Result<BreachNotice, CentralError> {
    let sql = format!("SELECT {BREACH_COLUMNS} FROM breach_notices WHERE id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
    match row {
        Some(row) => breach_from_row(&row),
        None => Err(CentralError::NotFound(format!("breach notice {} does not exist", quote(id)))),
    }
}

/// Issues a written breach notice (TT-3.6): the member has until the same day next month
/// (clamped to month end) to remedy it, then it is disconnected. The member is told.
pub async fn issue_breach_notice(
    store: &CentralStore,
    member: &ClientId,
    description: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<BreachNotice, CentralError> {
    let description = super::text("description", description, MAX_TEXT)?;
    let actor = super::actor(actor)?;
    let deadline = add_months(local_date(now), REMEDY_MONTHS)?;
    let mut tx = store.database().begin_write().await?;
    let (state, name, _) = current_state(&mut tx, member).await?;
    if state == MemberState::Disconnected {
        return Err(CentralError::Conflict(format!("{member} is disconnected; a breach notice has no effect")));
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO breach_notices (id, member_id, description, issued_at, issued_by, remedy_deadline, state) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open')",
    )
    .bind(&id)
    .bind(member.to_string())
    .bind(&description)
    .bind(now.unix_timestamp())
    .bind(&actor)
    .bind(format_date(deadline))
    .execute(&mut *tx)
    .await?;
    record_event(
        &mut tx,
        member,
        ParticipantAction::BreachNotice,
        (Some(state), Some(state)),
        Some(&description),
        &actor,
        now,
    )
    .await?;
    let mut notice = operator_notice(
        NoticeKind::Breach,
        format!("Breach notice: remedy by {}", format_date(deadline)),
        format!(
            "{name} ({member}) has breached the requirements (TT-3.6):\n{description}\n\
             The breach must be remedied by {} inclusive; otherwise {member} will be disconnected.",
            format_date(deadline)
        ),
    );
    notice.starts_at = Some(now);
    notice.ends_at = start_of_day(deadline).checked_add(time::Duration::DAY);
    notices::insert(&mut tx, Some(member), &notice, now).await?;
    let breach = load_breach(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(breach)
}

/// The breach notices of `member`, newest first.
pub async fn breach_notices(store: &CentralStore, member: &ClientId) -> Result<Vec<BreachNotice>, CentralError> {
    member_only(member)?;
    let sql =
        format!("SELECT {BREACH_COLUMNS} FROM breach_notices WHERE member_id = $1 ORDER BY issued_at DESC, id DESC");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(member.to_string()).fetch_all(store.pool()).await?;
    rows.iter().map(breach_from_row).collect()
}

/// Closes an open breach notice as remedied.
pub async fn mark_remedied(
    store: &CentralStore,
    id: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<BreachNotice, CentralError> {
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let breach = load_breach(&mut tx, id).await?;
    if breach.state != BreachState::Open {
        return Err(CentralError::Conflict(format!("breach notice {id} is already closed ({})", breach.state)));
    }
    close_breach(&mut tx, id, BreachState::Remedied, &actor, now).await?;
    let member = &breach.member_id;
    let (state, _, _) = current_state(&mut tx, member).await?;
    record_event(&mut tx, member, ParticipantAction::Remedied, (Some(state), Some(state)), None, &actor, now).await?;
    let notice = operator_notice(
        NoticeKind::Breach,
        "Breach remedied".to_owned(),
        format!("The breach of breach notice {id} is recorded as remedied; the notice is closed."),
    );
    notices::insert(&mut tx, Some(member), &notice, now).await?;
    let breach = load_breach(&mut tx, id).await?;
    tx.commit().await?;
    Ok(breach)
}

async fn close_breach(
    tx: &mut Tx,
    id: &str,
    to: BreachState,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), CentralError> {
    let done = sqlx::query(
        "UPDATE breach_notices SET state = $1, closed_at = $2, closed_by = $3 WHERE id = $4 AND state = 'open'",
    )
    .bind(to.as_str())
    .bind(now.unix_timestamp())
    .bind(actor)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(CentralError::Conflict(format!("breach notice {id} was closed meanwhile")));
    }
    Ok(())
}

/// Disconnects for `breach` inside `tx`: closes the notice and, unless the member is already
/// disconnected, sets it `disconnected`, records the event and tells it.
async fn disconnect_in(
    tx: &mut Tx,
    breach: &BreachNotice,
    actor: &str,
    now: OffsetDateTime,
) -> Result<(), CentralError> {
    close_breach(tx, &breach.id, BreachState::Disconnected, actor, now).await?;
    let member = &breach.member_id;
    let (state, name, _) = current_state(tx, member).await?;
    if state == MemberState::Disconnected {
        return Ok(());
    }
    let deadline = format_date(breach.remedy_deadline);
    let reason = format!("breach not remedied by {deadline} (TT-3.6, notice {}): {}", breach.id, breach.description);
    set_state(tx, member, state, MemberState::Disconnected, Some(&reason)).await?;
    record_event(
        tx,
        member,
        ParticipantAction::Disconnected,
        (Some(state), Some(MemberState::Disconnected)),
        Some(&reason),
        actor,
        now,
    )
    .await?;
    let mut notice = operator_notice(
        NoticeKind::Disconnection,
        format!("{member} is disconnected"),
        format!("{name} ({member}) is disconnected from the exchange: {reason}"),
    );
    notice.starts_at = Some(now);
    notices::insert(tx, Some(member), &notice, now).await?;
    Ok(())
}

/// Disconnects the member of an open breach notice whose remedy deadline has passed (TT-3.6).
/// Refused before the day after the deadline, with the first day it becomes possible.
pub async fn disconnect_for_breach(
    store: &CentralStore,
    id: &str,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<BreachNotice, CentralError> {
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let breach = load_breach(&mut tx, id).await?;
    if breach.state != BreachState::Open {
        return Err(CentralError::Conflict(format!("breach notice {id} is already closed ({})", breach.state)));
    }
    if local_date(now) <= breach.remedy_deadline {
        let first = breach.remedy_deadline.next_day().map(format_date).unwrap_or_default();
        return Err(CentralError::Conflict(format!(
            "the remedy period of breach notice {id} runs until {} inclusive (TT-3.6); {} can be disconnected from {first}",
            format_date(breach.remedy_deadline),
            breach.member_id
        )));
    }
    disconnect_in(&mut tx, &breach, &actor, now).await?;
    let breach = load_breach(&mut tx, id).await?;
    tx.commit().await?;
    Ok(breach)
}

/// Disconnects every member with an open breach notice whose remedy deadline has passed
/// (TT-3.6), in one transaction; run daily. Returns the notices closed.
pub async fn disconnect_overdue(
    store: &CentralStore,
    actor: Option<&str>,
    now: OffsetDateTime,
) -> Result<Vec<BreachNotice>, CentralError> {
    let actor = super::actor(actor)?;
    let mut tx = store.database().begin_write().await?;
    let sql = format!(
        "SELECT {BREACH_COLUMNS} FROM breach_notices WHERE state = 'open' AND remedy_deadline < $1 ORDER BY issued_at, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(format_date(local_date(now))).fetch_all(&mut *tx).await?;
    let due = rows.iter().map(breach_from_row).collect::<Result<Vec<_>, _>>()?;
    let mut closed = Vec::new();
    for breach in &due {
        disconnect_in(&mut tx, breach, &actor, now).await?;
        closed.push(load_breach(&mut tx, &breach.id).await?);
    }
    tx.commit().await?;
    Ok(closed)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use time::macros::date;

    pub(crate) fn sample_form(member: &str) -> ApplicationForm {
        let tech = |name: &str| ContactPerson {
            name: name.into(),
            position: "engineer".into(),
            role: ContactRole::Technical,
            phone: "+994 12 000 00 00".into(),
            email: format!("{}@example.az", name.to_lowercase()),
        };
        ApplicationForm {
            member_id: member.parse().unwrap(),
            subsystems: vec!["registry".into()],
            organisation_name: "Ministry of Examples".into(),
            tax_id: "1400000001".into(),
            legal_status: LegalStatus::CentralExecutive,
            legal_address: "Baku, 1 Example St".into(),
            actual_address: "Baku, 1 Example St".into(),
            legal_basis: "Statute of the Ministry".into(),
            information_system: "Example Registry".into(),
            resource_names: vec!["persons".into()],
            registry_extract_number: "RIR-2026-001".into(),
            assessment_date: date!(2026 - 03 - 01),
            assessment_result: "compliant".into(),
            contact_persons: vec![tech("Anar"), tech("Leyla")],
            authorised_official: Official { name: "Rashad Aliyev".into(), position: "deputy minister".into() },
        }
    }

    #[test]
    fn form_validation_names_the_problem() {
        let today = date!(2026 - 03 - 19);
        let ok = sample_form("AZ/GOV/1400000001");
        assert!(ok.validated(today).is_ok());
        let err = |f: ApplicationForm| f.validated(today).unwrap_err().to_string();

        let mut f = ok.clone();
        f.tax_id = "14000000".into();
        assert!(err(f).contains("tax_id (VÖEN) '14000000' must be exactly 10 digits"));
        let mut f = ok.clone();
        f.tax_id = "14000000O1".into();
        assert!(err(f).contains("10 digits"));
        let mut f = ok.clone();
        f.member_id = "AZ/GOV/1400000001/registry".parse().unwrap();
        assert!(err(f).contains("is a subsystem"));
        let mut f = ok.clone();
        f.contact_persons[1].role = ContactRole::Administrative;
        assert!(err(f).contains("at least two technical contacts (TT-3.1); 1 given"));
        let mut f = ok.clone();
        f.contact_persons[0].phone = String::new();
        f.contact_persons[0].email = String::new();
        assert!(err(f).contains("contact_persons[0] (Anar) needs a phone or an e-mail"));
        let mut f = ok.clone();
        f.contact_persons[0].email = "anar".into();
        assert!(err(f).contains("is not an e-mail address"));
        let mut f = ok.clone();
        f.legal_basis = "  ".into();
        assert!(err(f).contains("legal_basis is required"));
        let mut f = ok.clone();
        f.resource_names.clear();
        assert!(err(f).contains("resource_names needs at least 1"));
        let mut f = ok.clone();
        f.subsystems = vec!["a".into(), "a".into()];
        assert!(err(f).contains("subsystem a is listed twice"));
        let mut f = ok.clone();
        f.subsystems = vec!["bad/code".into()];
        assert!(err(f).contains("subsystem 'bad/code'"));
        let mut f = ok.clone();
        f.assessment_date = date!(2026 - 03 - 20);
        assert!(err(f).contains("assessment_date 2026-03-20 is in the future"));

        // JSON: unknown legal status and unknown fields are refused by name
        let mut v = serde_json::to_value(&ok).unwrap();
        v["legal_status"] = "ngo".into();
        let e = serde_json::from_value::<ApplicationForm>(v).unwrap_err().to_string();
        assert!(e.contains("unknown variant `ngo`"), "{e}");
        let mut v = serde_json::to_value(&ok).unwrap();
        v["extra"] = 1.into();
        assert!(
            serde_json::from_value::<ApplicationForm>(v).unwrap_err().to_string().contains("unknown field `extra`")
        );
    }

    #[test]
    fn overdue_is_judged_in_baku_days() {
        use time::macros::datetime;
        let due = date!(2026 - 04 - 02);
        assert!(!overdue(due, None, datetime!(2026-04-02 19:59 UTC)));
        assert!(overdue(due, None, datetime!(2026-04-02 20:00 UTC))); // 00:00 on 3 April in Baku
        assert!(overdue(due, Some(datetime!(2026-04-03 08:00 UTC)), datetime!(2026-04-01 00:00 UTC)));
        assert!(!overdue(due, Some(datetime!(2026-04-01 08:00 UTC)), datetime!(2026-05-01 00:00 UTC)));
    }
}
