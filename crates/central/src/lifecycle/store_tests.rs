//! The lifecycles against a real database, on SQLite and on PostgreSQL: one scenario with
//! concrete dates, so every deadline is one a person can check with a calendar.

use egov_xroad::{ClientId, ServiceId};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

use super::calendar;
use super::ical;
use super::notices::{self, MaintenanceAnnouncement, NoticeKind};
use super::participants::{self, ApplicationState, BreachState, ContractTerms, MemberState, ParticipantAction};
use super::services::{self, DisconnectionAnnouncement, ServiceApplicationForm, ServiceState, VersionAnnouncement};
use crate::{CentralError, CentralStore};

fn terms() -> ContractTerms {
    ContractTerms {
        authorised_officials: vec![participants::Official {
            name: "Rashad Aliyev".into(),
            position: "deputy minister".into(),
        }],
        provided_services: vec!["getPerson".into()],
        data_used: vec!["tax registry".into()],
        server_administrator: participants::ContactPerson {
            name: "Anar Mammadov".into(),
            position: "administrator".into(),
            role: participants::ContactRole::Technical,
            phone: "+994 12 000 00 01".into(),
            email: String::new(),
        },
        request_structures: vec!["getPerson.wsdl".into()],
        restricted_data_rules: "Personal data only for the purposes in the regulation.".into(),
    }
}

fn member(id: &str) -> ClientId {
    id.parse().unwrap()
}

fn service_form(id: &str, name: &str) -> ServiceApplicationForm {
    ServiceApplicationForm {
        service_id: id.parse().unwrap(),
        service_name: name.into(),
        regulation_number: "R-2026-0042".into(),
        responsible_person: "Leyla Hasanova".into(),
    }
}

async fn count(store: &CentralStore, table: &str) -> i64 {
    use sqlx::Row;
    let sql = format!("SELECT COUNT(*) FROM {table}");
    sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(store.pool()).await.unwrap().try_get::<i64, _>(0).unwrap()
}

fn invalid(r: Result<impl std::fmt::Debug, CentralError>, needle: &str) {
    match r {
        Err(CentralError::Invalid(m)) => assert!(m.contains(needle), "message {m:?} lacks {needle:?}"),
        other => panic!("expected Invalid({needle}), got {other:?}"),
    }
}

fn conflict(r: Result<impl std::fmt::Debug, CentralError>, needle: &str) {
    match r {
        Err(CentralError::Conflict(m)) => assert!(m.contains(needle), "message {m:?} lacks {needle:?}"),
        other => panic!("expected Conflict({needle}), got {other:?}"),
    }
}

fn not_found(r: Result<impl std::fmt::Debug, CentralError>, needle: &str) {
    match r {
        Err(CentralError::NotFound(m)) => assert!(m.contains(needle), "message {m:?} lacks {needle:?}"),
        other => panic!("expected NotFound({needle}), got {other:?}"),
    }
}

async fn holidays(store: &CentralStore) {
    assert_eq!(calendar::seed_default_holidays(store, 2026).await.unwrap(), 15);
    assert_eq!(calendar::seed_default_holidays(store, 2026).await.unwrap(), 0); // idempotent
    assert_eq!(calendar::list_holidays(store, Some(2026)).await.unwrap().len(), 15);
    assert!(calendar::list_holidays(store, Some(2027)).await.unwrap().is_empty());
    let h = calendar::add_holiday(store, date!(2026 - 05 - 27), "Qurban bayramı").await.unwrap();
    assert_eq!(h.name, "Qurban bayramı");
    conflict(calendar::add_holiday(store, date!(2026 - 05 - 27), "again").await, "2026-05-27 is already a holiday");
    invalid(calendar::add_holiday(store, date!(2026 - 05 - 29), " ").await, "holiday name is required");
    calendar::remove_holiday(store, date!(2026 - 05 - 27)).await.unwrap();
    not_found(calendar::remove_holiday(store, date!(2026 - 05 - 27)).await, "2026-05-27 is not a holiday");
    assert_eq!(calendar::list_holidays(store, None).await.unwrap().len(), 15);
    let cal = calendar::load(store).await.unwrap();
    assert!(!cal.is_working_day(date!(2026 - 03 - 23)));
}

async fn scenario(store: &CentralStore) {
    holidays(store).await;
    let a = member("AZ/GOV/1400000001");
    let b = member("AZ/GOV/1400000002");
    let c = member("AZ/GOV/1400000003");

    // --- application A on Thursday 19 March 2026, 10:00 Baku: Novruz (20–24 March) and the
    // weekend are skipped, the check is due Thursday 2 April (TT-3.3)
    let filed = datetime!(2026-03-19 10:00 +04:00);
    let app = participants::submit(store, &participants::tests::sample_form("AZ/GOV/1400000001"), filed).await.unwrap();
    assert_eq!(app.state, ApplicationState::Submitted);
    assert_eq!(app.check_due, date!(2026 - 04 - 02));
    assert!(!app.overdue);
    assert_eq!(app.submitted_at, filed);
    conflict(
        participants::submit(store, &participants::tests::sample_form("AZ/GOV/1400000001"), filed).await,
        "already pending",
    );
    let mut bad = participants::tests::sample_form("AZ/GOV/1400000009");
    bad.tax_id = "123".into();
    invalid(participants::submit(store, &bad, filed).await, "must be exactly 10 digits");
    assert_eq!(count(store, "participant_applications").await, 1);

    // listed as overdue once 2 April (Baku) has passed without a decision
    let late = datetime!(2026-04-03 09:00 +04:00);
    assert!(participants::list_applications(store, None, late).await.unwrap()[0].overdue);
    assert!(!participants::application(store, &app.id, filed).await.unwrap().overdue);
    not_found(participants::application(store, "nope", filed).await, "application nope does not exist");

    // bad contract terms: nothing is written
    let mut no_officials = terms();
    no_officials.authorised_officials.clear();
    invalid(participants::approve(store, &app.id, &no_officials, None, late).await, "authorised_officials");
    assert_eq!(count(store, "members").await, 0);

    // approved on 1 April: contract, member active with its subsystem, decision notice
    let approved_at = datetime!(2026-04-01 15:00 +04:00);
    let contract = participants::approve(store, &app.id, &terms(), Some("operator-anna"), approved_at).await.unwrap();
    assert_eq!(contract.member_id, a);
    assert_eq!(participants::contract(store, &a).await.unwrap().unwrap(), contract);
    let status = participants::member_status(store, &a).await.unwrap();
    assert_eq!((status.state, status.name.as_str()), (MemberState::Active, "Ministry of Examples"));
    assert_eq!(count(store, "subsystems").await, 1);
    let app = participants::application(store, &app.id, late).await.unwrap();
    assert_eq!(app.state, ApplicationState::Approved);
    assert!(!app.overdue, "decided on 1 April, before the 2 April deadline");
    assert_eq!(app.decided_by.as_deref(), Some("operator-anna"));
    conflict(participants::approve(store, &app.id, &terms(), None, late).await, "is already approved");
    conflict(
        participants::submit(store, &participants::tests::sample_form("AZ/GOV/1400000001"), late).await,
        "already a registered member",
    );
    let notices_a = notices::notices_for(store, &a, 50).await.unwrap();
    assert_eq!(notices_a.len(), 1);
    assert_eq!(notices_a[0].kind, NoticeKind::Decision);

    // application B: refused with a reasoned opinion on 6 April (after its due date)
    let mut form_b = participants::tests::sample_form("AZ/GOV/1400000002");
    form_b.tax_id = "1400000002".into();
    let app_b = participants::submit(store, &form_b, datetime!(2026-03-26 11:00 +04:00)).await.unwrap();
    assert_eq!(app_b.check_due, date!(2026 - 04 - 06)); // Fri 27, Mon 30, Tue 31, Wed 1, Thu 2, Fri 3, Mon 6
    invalid(participants::refuse(store, &app_b.id, "  ", None, late).await, "reasoned opinion is required");
    let refused_at = datetime!(2026-04-07 10:00 +04:00);
    let app_b = participants::refuse(store, &app_b.id, "No security assessment.", None, refused_at).await.unwrap();
    assert_eq!(app_b.state, ApplicationState::Refused);
    assert!(app_b.copied_to_state_agency);
    assert!(app_b.overdue);
    assert_eq!(app_b.refusal_reason.as_deref(), Some("No security assessment."));
    assert!(notices::notices_for(store, &b, 10).await.unwrap()[0].body.contains("State Agency"));
    assert_eq!(participants::list_applications(store, Some(ApplicationState::Refused), late).await.unwrap().len(), 1);

    // application C approved while C was registered meanwhile by other means: conflict, and
    // the whole approval is rolled back
    let mut form_c = participants::tests::sample_form("AZ/GOV/1400000003");
    form_c.subsystems = vec!["portal".into()];
    let app_c = participants::submit(store, &form_c, approved_at).await.unwrap();
    sqlx::query("INSERT INTO members (id, name, tax_id, legal_status, state, created_at) VALUES ($1, 'C', '1400000003', 'other', 'active', 0)")
        .bind(c.to_string())
        .execute(store.pool())
        .await
        .unwrap();
    conflict(participants::approve(store, &app_c.id, &terms(), None, approved_at).await, "already a registered member");
    assert_eq!(count(store, "contracts").await, 1);
    assert_eq!(participants::application(store, &app_c.id, late).await.unwrap().state, ApplicationState::Submitted);

    // the database itself keeps one pending application per member id (concurrent filings)
    let race = sqlx::query("UPDATE participant_applications SET member_id = $1, state = 'submitted' WHERE id = $2")
        .bind(c.to_string())
        .bind(&app_b.id)
        .execute(store.pool())
        .await
        .unwrap_err();
    conflict(Err::<(), _>(super::conflict_on_unique(race, || "pending twice".into())), "pending twice");
    let other = sqlx::query("SELECT nothing FROM participant_applications").execute(store.pool()).await.unwrap_err();
    assert!(matches!(super::conflict_on_unique(other, String::new), CentralError::Store(_)));

    // --- services of A (the subsystem 'registry' came with the application)
    let v1: ServiceId = "AZ/GOV/1400000001/registry/getPerson/v1".parse().unwrap();
    let v2: ServiceId = "AZ/GOV/1400000001/registry/getPerson/v2".parse().unwrap();
    let tax: ServiceId = "AZ/GOV/1400000001/registry/getTax".parse().unwrap();
    let applied = datetime!(2026-04-02 09:00 +04:00);
    let s1 =
        services::submit(store, &service_form(&v1.to_string(), "Person data"), Some("leyla"), applied).await.unwrap();
    assert_eq!(s1.state, ServiceState::Applied);
    assert_eq!(s1.connect_due, date!(2026 - 04 - 13)); // TT-3.9: Fri 3 … Mon 13 April
    conflict(services::submit(store, &service_form(&v1.to_string(), "again"), None, applied).await, "already applied");
    not_found(
        services::submit(store, &service_form("AZ/GOV/1400000009/x/getX", "X"), None, applied).await,
        "provider AZ/GOV/1400000009 is not a registered member",
    );
    not_found(
        services::submit(store, &service_form("AZ/GOV/1400000001/other/getX", "X"), None, applied).await,
        "subsystem AZ/GOV/1400000001/other is not registered",
    );
    let mut blank = service_form(&tax.to_string(), "Tax");
    blank.regulation_number = "".into();
    invalid(services::submit(store, &blank, None, applied).await, "regulation_number is required");
    conflict(services::connect(store, &s1.id, None, applied).await, "it must be testing to become connected");

    let testing = services::start_testing(store, &s1.id, None, applied).await.unwrap();
    assert_eq!(testing.state, ServiceState::Testing);
    let in_test = services::services_in_environment(store, "test", applied).await.unwrap();
    assert_eq!(in_test.iter().map(|s| &s.service_id).collect::<Vec<_>>(), [&v1]);
    assert!(services::services_in_environment(store, "production", applied).await.unwrap().is_empty());
    invalid(services::services_in_environment(store, "staging", applied).await, "unknown environment 'staging'");

    let connected_at = datetime!(2026-04-14 10:00 +04:00);
    let s1 = services::connect(store, &s1.id, Some("operator-anna"), connected_at).await.unwrap();
    assert_eq!(s1.state, ServiceState::Connected);
    assert!(s1.overdue, "connected on 14 April, after the 13 April deadline");
    assert!(services::services_in_environment(store, "test", connected_at).await.unwrap().is_empty());
    assert_eq!(services::services_in_environment(store, "production", connected_at).await.unwrap().len(), 1);

    let s_tax = services::submit(store, &service_form(&tax.to_string(), "Tax debt"), None, applied).await.unwrap();
    services::start_testing(store, &s_tax.id, None, applied).await.unwrap();
    services::connect(store, &s_tax.id, None, applied).await.unwrap();
    let s_refused = services::submit(store, &service_form("AZ/GOV/1400000001/registry/getBad", "Bad"), None, applied)
        .await
        .unwrap();
    invalid(services::refuse(store, &s_refused.id, "", None, applied).await, "reason is required");
    let s_refused = services::refuse(store, &s_refused.id, "No regulation approved.", None, applied).await.unwrap();
    assert_eq!(s_refused.state, ServiceState::Refused);
    conflict(services::start_testing(store, &s_refused.id, None, applied).await, "is refused");

    // --- new version (TT-3.11–3.12): v2 applied and tested; all active members (A and C) told
    let now = datetime!(2026-04-10 12:00 +04:00);
    let announce = |stops| VersionAnnouncement {
        old_service_id: v1.clone(),
        new_service_id: v2.clone(),
        old_stops_on: stops,
        note: Some("v2 adds the patronymic".into()),
    };
    conflict(
        services::announce_version(store, &announce(date!(2026 - 05 - 01)), None, now).await,
        "has no service application",
    );
    let s2 = services::submit(store, &service_form(&v2.to_string(), "Person data v2"), None, now).await.unwrap();
    services::start_testing(store, &s2.id, None, now).await.unwrap();
    invalid(
        services::announce_version(store, &announce(date!(2026 - 04 - 10)), None, now).await,
        "must be in the future",
    );
    let same = VersionAnnouncement { new_service_id: tax.clone(), ..announce(date!(2026 - 05 - 01)) };
    invalid(services::announce_version(store, &same, None, now).await, "must be the same service");
    let done = services::announce_version(store, &announce(date!(2026 - 05 - 01)), None, now).await.unwrap();
    assert_eq!(done.members_told, 2);
    assert_eq!(done.service.retirement.as_ref().unwrap().successor.as_ref(), Some(&v2));
    conflict(services::announce_version(store, &announce(date!(2026 - 05 - 02)), None, now).await, "already announced");
    let told_c = notices::notices_for(store, &c, 10).await.unwrap();
    assert_eq!(told_c[0].kind, NoticeKind::VersionRetirement);
    assert_eq!(told_c[0].starts_at, Some(datetime!(2026-05-01 00:00 +04:00)));
    assert!(notices::notices_for(store, &b, 10).await.unwrap().iter().all(|n| n.kind != NoticeKind::VersionRetirement));

    // --- disconnection (TT-3.13–3.14): at least one calendar month ahead
    let disconnect = |on| DisconnectionAnnouncement {
        service_id: tax.clone(),
        reason: "The tax registry moves to a new system.".into(),
        disconnect_on: on,
    };
    invalid(
        services::announce_disconnection(store, &disconnect(date!(2026 - 05 - 09)), None, now).await,
        "the earliest allowed date is 2026-05-10",
    );
    let mut no_reason = disconnect(date!(2026 - 05 - 10));
    no_reason.reason = " ".into();
    invalid(services::announce_disconnection(store, &no_reason, None, now).await, "reason is required");
    not_found(
        services::announce_disconnection(
            store,
            &DisconnectionAnnouncement { service_id: v2.clone(), ..disconnect(date!(2026 - 06 - 01)) },
            None,
            now,
        )
        .await,
        "is not connected",
    );
    let done =
        services::announce_disconnection(store, &disconnect(date!(2026 - 05 - 10)), Some("leyla"), now).await.unwrap();
    assert_eq!(done.members_told, 2);

    // --- maintenance (P-5.1.7): at least 48 hours ahead
    let window = |starts: OffsetDateTime| MaintenanceAnnouncement {
        announced_by: Some(a.clone()),
        service_id: Some(v2.clone()),
        title: "Registry database upgrade".into(),
        description: "The registry answers with Server.ServiceFailed during the window; retry later.".into(),
        starts_at: starts,
        ends_at: starts + Duration::hours(4),
    };
    invalid(
        notices::announce_maintenance(store, &window(now + Duration::hours(48) - Duration::seconds(1)), now).await,
        "at least 48 hours before it starts",
    );
    let mut backwards = window(now + Duration::days(3));
    backwards.ends_at = backwards.starts_at;
    invalid(notices::announce_maintenance(store, &backwards, now).await, "must end after it starts");
    let mut stranger = window(now + Duration::days(3));
    stranger.announced_by = Some(member("AZ/GOV/1400000009"));
    invalid(notices::announce_maintenance(store, &stranger, now).await, "is not provided by");
    stranger.service_id = None;
    not_found(notices::announce_maintenance(store, &stranger, now).await, "is not registered");
    let m = notices::announce_maintenance(store, &window(now + Duration::hours(48)), now).await.unwrap();
    assert_eq!(m.recipient, None);
    assert_eq!(m.sender, a.to_string());
    // every member sees it, also one that is not active, exactly as it was returned
    let seen = notices::notices_for(store, &b, 10).await.unwrap();
    assert_eq!(seen.iter().find(|n| n.id == m.id), Some(&m));

    // --- the calendar: the window, v1's last day, getTax's disconnection
    let events = ical::load_events(store, now).await.unwrap();
    let kinds: Vec<NoticeKind> = events.iter().map(|e| e.kind).collect();
    assert_eq!(kinds, [NoticeKind::Maintenance, NoticeKind::VersionRetirement, NoticeKind::ServiceDisconnection]);
    assert_eq!(events[1].start, datetime!(2026-05-01 00:00 +04:00));
    assert_eq!(events[1].end, datetime!(2026-05-02 00:00 +04:00));
    let ics = ical::to_ical(&events);
    assert!(ics.contains("DTSTART:20260430T200000Z\r\n"));
    assert_eq!(ics.matches("BEGIN:VEVENT").count(), 3);
    // later than all of them: nothing
    assert!(ical::load_events(store, datetime!(2026-06-01 00:00 UTC)).await.unwrap().is_empty());

    // --- retirement when due: v1 leaves production on 1 May even before retire_due runs
    let may_first = datetime!(2026-05-01 08:00 +04:00);
    let production = services::services_in_environment(store, "production", may_first).await.unwrap();
    assert_eq!(production.iter().map(|s| &s.service_id).collect::<Vec<_>>(), [&tax]);
    assert!(services::retire_due(store, datetime!(2026-04-30 23:00 +04:00)).await.unwrap().is_empty());
    let retired = services::retire_due(store, may_first).await.unwrap();
    assert_eq!(retired.len(), 1);
    assert_eq!((retired[0].service_id.clone(), retired[0].state), (v1.clone(), ServiceState::Retired));
    assert_eq!(services::list(store, Some(ServiceState::Retired), may_first).await.unwrap().len(), 1);

    // --- block and unblock A (TT-3.7)
    let t = datetime!(2026-04-15 10:00 +04:00);
    not_found(participants::block(store, &member("AZ/GOV/1400000009"), "x", None, t).await, "is not registered");
    invalid(participants::block(store, &member("AZ/GOV/1400000001/registry"), "x", None, t).await, "is a subsystem");
    invalid(participants::block(store, &a, "", None, t).await, "reason is required");
    let s = participants::block(store, &a, "Personal data leak through the registry.", Some("operator-anna"), t)
        .await
        .unwrap();
    assert_eq!(s.state, MemberState::Blocked);
    assert_eq!(participants::member_status(store, &a).await.unwrap().state, MemberState::Blocked);
    conflict(participants::block(store, &a, "again", None, t).await, "already blocked");
    conflict(
        services::submit(store, &service_form("AZ/GOV/1400000001/registry/getNew", "New"), None, t).await,
        "is blocked; only active members connect services",
    );
    let s = participants::unblock(store, &a, Some("Leak closed, audit passed."), None, t).await.unwrap();
    assert_eq!((s.state, s.reason), (MemberState::Active, None));
    conflict(participants::unblock(store, &a, None, None, t).await, "is not blocked (state active)");

    // --- breach notices (TT-3.6): one month, then disconnection
    let issued = datetime!(2026-04-20 10:00 +04:00);
    let n1 = participants::issue_breach_notice(store, &a, "Request logs are not archived (TT-3.8).", None, issued)
        .await
        .unwrap();
    assert_eq!(n1.remedy_deadline, date!(2026 - 05 - 20));
    conflict(
        participants::disconnect_for_breach(store, &n1.id, None, datetime!(2026-05-20 23:00 +04:00)).await,
        "can be disconnected from 2026-05-21",
    );
    assert!(
        participants::disconnect_overdue(store, None, datetime!(2026-05-20 23:00 +04:00)).await.unwrap().is_empty()
    );
    let n1 = participants::mark_remedied(store, &n1.id, None, datetime!(2026-05-02 10:00 +04:00)).await.unwrap();
    assert_eq!(n1.state, BreachState::Remedied);
    conflict(participants::mark_remedied(store, &n1.id, None, issued).await, "already closed (remedied)");
    not_found(participants::mark_remedied(store, "nope", None, issued).await, "breach notice nope does not exist");

    // issued on 31 May: the month ends on 30 June (clamped); the daily run on 1 July disconnects
    let n2 = participants::issue_breach_notice(
        store,
        &a,
        "Security server certificate expired.",
        None,
        datetime!(2026-05-31 10:00 +04:00),
    )
    .await
    .unwrap();
    assert_eq!(n2.remedy_deadline, date!(2026 - 06 - 30));
    assert!(
        participants::disconnect_overdue(store, None, datetime!(2026-06-30 23:59 +04:00)).await.unwrap().is_empty()
    );
    let closed =
        participants::disconnect_overdue(store, Some("daily"), datetime!(2026-07-01 00:05 +04:00)).await.unwrap();
    assert_eq!(closed.len(), 1);
    assert_eq!((closed[0].id.as_str(), closed[0].state), (n2.id.as_str(), BreachState::Disconnected));
    let s = participants::member_status(store, &a).await.unwrap();
    assert_eq!(s.state, MemberState::Disconnected);
    assert!(s.reason.unwrap().contains("breach not remedied by 2026-06-30"));
    conflict(participants::issue_breach_notice(store, &a, "x", None, issued).await, "is disconnected");
    assert_eq!(participants::breach_notices(store, &a).await.unwrap().len(), 2);

    // --- liquidation without successor (TT-3.5)
    let s = participants::liquidate(store, &c, "Abolished by decree No. 1.", None, t).await.unwrap();
    assert_eq!(s.state, MemberState::Disconnected);
    assert!(s.reason.unwrap().starts_with("liquidated without successor"));
    conflict(participants::liquidate(store, &c, "again", None, t).await, "already disconnected");
    conflict(participants::block(store, &c, "x", None, t).await, "is disconnected");

    // --- A's history: who, when, what, why
    let history = participants::history(store, &a).await.unwrap();
    let actions: Vec<ParticipantAction> = history.iter().map(|e| e.action).collect();
    use ParticipantAction::*;
    assert_eq!(actions, [Applied, Approved, Blocked, Unblocked, BreachNotice, Remedied, BreachNotice, Disconnected]);
    assert_eq!(history[1].actor, "operator-anna");
    assert_eq!(history[2].reason.as_deref(), Some("Personal data leak through the registry."));
    assert_eq!((history[2].from_state, history[2].to_state), (Some(MemberState::Active), Some(MemberState::Blocked)));
    assert_eq!(history[7].actor, "daily");

    // A's notices, newest first: disconnection … decision
    let kinds: Vec<NoticeKind> = notices::notices_for(store, &a, 100).await.unwrap().iter().map(|n| n.kind).collect();
    assert_eq!(kinds.first(), Some(&NoticeKind::Disconnection));
    assert_eq!(kinds.last(), Some(&NoticeKind::Decision));
    for k in [
        NoticeKind::Block,
        NoticeKind::Unblock,
        NoticeKind::Breach,
        NoticeKind::Maintenance,
        NoticeKind::VersionRetirement,
        NoticeKind::ServiceDisconnection,
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    assert!(notices::all_notices(store, 1000).await.unwrap().len() > kinds.len());
}

#[tokio::test]
async fn sqlite_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let store = CentralStore::open(&egov_store::sqlite_url(&dir.path().join("central.db"))).await.unwrap();
    scenario(&store).await;
}

#[tokio::test]
async fn postgres_lifecycle() {
    if let Some(url) = egov_store::test_postgres_url("central_lifecycle").await {
        let store = CentralStore::open(&url).await.unwrap();
        scenario(&store).await;
        store.database().close().await;
        egov_store::drop_test_database(&url).await;
    }
}
