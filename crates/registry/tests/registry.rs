//! The registries on SQLite and on PostgreSQL: the R-10 workflow with its working-day
//! deadlines, history and overdue list; the registry of resources with its duplicate check
//! and succession (P-3.4).

#![allow(clippy::unwrap_used)]

use egov_registry::RegistryError;
use egov_registry::model::*;
use egov_registry::store::{Registry, Request};
use time::macros::date;

fn record(name: &str) -> ServiceRecord {
    ServiceRecord {
        provider: "17".into(),
        other_executors: vec![],
        name: Text {
            az: name.into(), en: "Real-estate register extract".into(), ru: "Выписка из реестра".into()
        },
        content: Text { az: "Daşınmaz əmlak reyestrindən çıxarışın verilməsi".into(), ..Default::default() },
        legal_basis: "Daşınmaz əmlakın dövlət reyestri haqqında Qanun".into(),
        kind: ServiceKind::Interactive,
        fee: Some(Fee {
            amount_azn: 2.0,
            legal_basis: "Dövlət rüsumu haqqında Qanun".into(),
            bank_details: "Dövlət Xəzinədarlıq Agentliyi".into(),
            payment_methods: vec!["bank card".into()],
        }),
        users: vec![UserType::NaturalPersons, UserType::LegalPersons],
        web_address: "https://e-gov.az/services/real-estate-extract".into(),
        area: 6,
        xroad_service: Some("AZ/GOV/1400000008/real-estate-registry/getRealEstateExtract/v1".into()),
        regulation: Regulation {
            automation: Automation::Full,
            execution_time: "1 working day".into(),
            result: Text { az: "Çıxarış".into(), en: "Extract".into(), ru: "Выписка".into() },
            information_channels: vec!["portal".into(), "call centre 195".into()],
            documents: vec![RequiredDocument {
                name: Text { az: "Şəxsiyyət vəsiqəsi".into(), ..Default::default() },
                source: DocumentSource::StateSystem { system: "2.1".into(), identifier: "FIN".into() },
            }],
            request: Text { az: "Portalda elektron forma ilə".into(), ..Default::default() },
            refusal_grounds: vec![Text { az: "Əmlak reyestrdə yoxdur".into(), ..Default::default() }],
            steps: vec![Step {
                action: Text { az: "Sorğunun qəbulu".into(), ..Default::default() },
                responsible: "Reyestr şöbəsi".into(),
                deadline: "1 working day".into(),
                other_bodies: vec![],
            }],
            control: Text { az: "Komitənin nəzarət şöbəsi".into(), ..Default::default() },
            complaints: Complaints {
                procedure: Text { az: "Komitəyə və ya məhkəməyə".into(), ..Default::default() },
                deadline: "1 month".into(),
            },
        },
    }
}

async fn workflow(registry: Registry) {
    registry.seed_resources().await.unwrap();
    registry.seed_resources().await.unwrap(); // a second time changes nothing
    assert_eq!(registry.bodies().await.unwrap().len(), 33);
    assert_eq!(registry.systems().await.unwrap().len(), 63);

    // registration: filed on Friday 7 Nov 2025, due three working days later
    let app = registry
        .file(Request::Register(Box::new(record("Çıxarış"))), "Əmlak Komitəsi", date!(2025 - 11 - 07))
        .await
        .unwrap();
    assert_eq!(app.due_on, date!(2025 - 11 - 14), "8–9 Nov are holidays on a weekend: 10 and 11 are off");
    assert_eq!(app.status, "pending");
    assert_eq!(registry.overdue(date!(2025 - 11 - 14)).await.unwrap(), vec![]);
    assert_eq!(registry.overdue(date!(2025 - 11 - 17)).await.unwrap().len(), 1, "flagged once past due");
    let number = registry.approve(app.id, "operator A. Əliyev", date!(2025 - 11 - 13)).await.unwrap();
    assert_eq!(number, "06-000001");
    assert!(matches!(registry.approve(app.id, "x", date!(2025 - 11 - 13)).await, Err(RegistryError::Conflict(_))));
    let decided = registry.application(app.id).await.unwrap();
    assert!(!decided.late(date!(2025 - 12 - 01)));
    assert_eq!(decided.registry_number.as_deref(), Some("06-000001"));

    // a second service gets the next number
    let mut other = record("Torpaq sahəsi haqqında arayış");
    other.area = 27;
    let second = registry.file(Request::Register(Box::new(other)), "Komitə", date!(2025 - 11 - 10)).await.unwrap();
    assert_eq!(registry.approve(second.id, "operator", date!(2025 - 11 - 12)).await.unwrap(), "27-000002");

    // an amendment: due the next working day; applied late here, which the record shows
    let mut amended = record("Daşınmaz əmlak reyestrindən çıxarış");
    amended.regulation.execution_time = "2 hours".into();
    let amend = registry
        .file(
            Request::Amend {
                registry_number: number.clone(),
                record: Box::new(amended),
                changed_on: Some(date!(2025 - 12 - 19)),
            },
            "Komitə",
            date!(2025 - 12 - 30),
        )
        .await
        .unwrap();
    assert_eq!(amend.due_on, date!(2026 - 01 - 05), "31 Dec, 1–2 Jan and the weekend are off");
    assert!(amend.requested_late, "changed on 19 Dec, requested on 30 Dec: more than 3 working days (R-10)");
    assert_eq!(amend.changed_on, Some(date!(2025 - 12 - 19)));
    registry.approve(amend.id, "operator", date!(2026 - 01 - 06)).await.unwrap();
    assert!(registry.application(amend.id).await.unwrap().late(date!(2026 - 01 - 06)));
    let service = registry.service(&number).await.unwrap();
    assert_eq!((service.version, service.record.regulation.execution_time.as_str()), (2, "2 hours"));

    // deregistration keeps the history
    let gone = registry
        .file(
            Request::Deregister { registry_number: number.clone(), reason: "replaced by a new service".into() },
            "Komitə",
            date!(2026 - 02 - 02),
        )
        .await
        .unwrap();
    registry.approve(gone.id, "operator", date!(2026 - 02 - 03)).await.unwrap();
    let history = registry.history(&number).await.unwrap();
    let changes: Vec<&str> = history.iter().map(|h| h.change.as_str()).collect();
    assert_eq!(changes, ["register", "amend", "deregister"]);
    assert_eq!(history[0].record.regulation.execution_time, "1 working day");
    assert_eq!(registry.services().await.unwrap().len(), 1, "a deregistered service leaves the list");
    let again = registry
        .file(Request::Deregister { registry_number: number.clone(), reason: "x".into() }, "K", date!(2026 - 02 - 04))
        .await;
    assert!(matches!(again, Err(RegistryError::Conflict(_))), "{again:?}");

    // refusals and bad applications name the problem
    let refused =
        registry.file(Request::Register(Box::new(record("Başqa xidmət"))), "K", date!(2026 - 02 - 04)).await.unwrap();
    assert!(registry.refuse(refused.id, "operator", " ", date!(2026 - 02 - 05)).await.is_err());
    registry.refuse(refused.id, "operator", "duplicates 27-000002", date!(2026 - 02 - 05)).await.unwrap();
    assert_eq!(registry.application(refused.id).await.unwrap().status, "refused");
    let mut bad = record("X");
    bad.xroad_service = None;
    let e = registry.file(Request::Register(Box::new(bad)), "K", date!(2026 - 02 - 04)).await.unwrap_err();
    assert!(e.to_string().contains("xroad_service"), "{e}");
    let mut bad = record("X");
    bad.area = 30;
    assert!(
        registry
            .file(Request::Register(Box::new(bad)), "K", date!(2026 - 02 - 04))
            .await
            .unwrap_err()
            .to_string()
            .contains("area 30")
    );
    let mut bad = record("X");
    bad.provider = "99".into();
    assert!(matches!(
        registry.file(Request::Register(Box::new(bad)), "K", date!(2026 - 02 - 04)).await,
        Err(RegistryError::NotFound(_))
    ));
    assert!(matches!(
        registry.file(Request::Register(Box::new(record("X"))), "K", date!(2031 - 02 - 04)).await,
        Err(RegistryError::Calendar(_))
    ));

    // the registry of resources: a near-duplicate is flagged, succession moves systems
    let proposal = InformationSystem {
        code: String::new(),
        owner: "6".into(),
        name: "Əlilliyi olan şəxslərin informasiya sistemi".into(),
        purpose: "Əlilliyi olan şəxslərin uçotu".into(),
        kind: "system".into(),
        personal_data: true,
        legal_basis: "draft".into(),
        services: vec![],
        status: String::new(),
    };
    match registry.propose_system(proposal.clone(), false).await {
        Err(RegistryError::Similar(list)) => assert_eq!(list[0].0, "6.2", "{list:?}"),
        other => panic!("not flagged: {other:?}"),
    }
    let added = registry.propose_system(proposal, true).await.unwrap();
    assert_eq!((added.code.as_str(), added.status.as_str()), ("6.5", "proposed"));
    // a different name with the same purpose is flagged too
    let same_purpose = InformationSystem {
        code: String::new(),
        owner: "9".into(),
        name: "Sağlamlıq imkanları məhdud vətəndaşlar portalı".into(),
        purpose: "Əlilliyi olan şəxslərin uçotu".into(),
        kind: "system".into(),
        personal_data: true,
        legal_basis: "draft".into(),
        services: vec![],
        status: String::new(),
    };
    match registry.propose_system(same_purpose, false).await {
        Err(RegistryError::Similar(list)) => assert_eq!(list[0].0, "6.5", "{list:?}"),
        other => panic!("not flagged by purpose: {other:?}"),
    }
    registry.liquidate_body("5", "3").await.unwrap();
    let moved = registry.systems().await.unwrap().into_iter().find(|s| s.code == "5.1").unwrap();
    assert_eq!(moved.owner, "3");
    let body = registry.bodies().await.unwrap().into_iter().find(|b| b.code == "5").unwrap();
    assert_eq!((body.status.as_str(), body.successor.as_deref()), ("liquidated", Some("3")));
    assert!(registry.liquidate_body("5", "3").await.is_err());

    // the initial load and usage statistics (B-1)
    let mut seeded = egov_registry::catalogue_seed::named_services();
    seeded.extend(egov_registry::catalogue_seed::generated_services(1000));
    let numbers = registry.import(&seeded, "initial load", date!(2025 - 01 - 15)).await.unwrap();
    assert_eq!(numbers.len(), 1013);
    assert_eq!(registry.services().await.unwrap().len(), 1014);
    registry.record_usage(&numbers[0], "2025-05", 40).await.unwrap();
    registry.record_usage(&numbers[0], "2025-05", 2).await.unwrap();
    registry.record_usage(&numbers[1], "2025-05", 7).await.unwrap();
    assert_eq!(registry.usage("2025-05").await.unwrap(), vec![(numbers[0].clone(), 42), (numbers[1].clone(), 7)]);
    assert!(registry.usage("2025-13").await.is_err());
    assert_eq!(registry.usage_months().await.unwrap(), ["2025-05"]);
}

#[tokio::test]
async fn registries_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("egov-registry-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("registry.db");
    let _ = std::fs::remove_file(&path);
    workflow(Registry::open(&egov_store::sqlite_url(&path)).await.unwrap()).await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn registries_on_postgres() {
    let Some(url) = egov_store::test_postgres_url("registries_on_postgres").await else { return };
    let registry = Registry::open(&url).await.unwrap();
    workflow(registry.clone()).await;
    registry.database().close().await;
    egov_store::drop_test_database(&url).await;
}
