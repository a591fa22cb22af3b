//! The demo agencies (issue 5, B-2): seven state bodies whose existing systems — REST/JSON
//! services or SQL databases of their own design — join the gateway through an adapter
//! server each, configured by a mapping file in `crates/demo/mappings/` and nothing else.
//!
//! All of them draw on one synthetic population ([`people`]), so the same FIN has a
//! population record, payments, fines, a water account or a property where life would
//! give them.

pub mod databases;
pub mod legacy;
pub mod people;

use std::path::Path;
use std::sync::Arc;

use egov_adapter::{AdapterOptions, RunningAdapter};

use crate::federation::ParticipantSpec;
use legacy::LegacySystem;
use people::Population;

/// One demo agency.
#[derive(Debug, Clone, Copy)]
pub struct AgencyDef {
    /// Short name (directories, logs, `demo.json`).
    pub name: &'static str,
    /// Member code.
    pub member_code: &'static str,
    /// Official name.
    pub member_name: &'static str,
    /// The subsystem its services belong to.
    pub subsystem: &'static str,
    /// Its security server's code.
    pub server_code: &'static str,
    /// Its adapter's mapping file, with `${LISTEN}`, `${BACKEND}` or `${DATABASE}` to fill.
    pub mapping: &'static str,
}

/// The portal operator: consumer of every service.
pub const PORTAL: AgencyDef = AgencyDef {
    name: "portal-operator",
    member_code: "1400000001",
    member_name: "Electronic Government portal operator",
    subsystem: "portal",
    server_code: "ss-portal",
    mapping: "",
};

/// The seven agencies, in the order their security servers are set up.
pub const AGENCIES: &[AgencyDef] = &[
    AgencyDef {
        name: "ministry-of-justice",
        member_code: "1400000002",
        member_name: "Ministry of Justice of the Republic of Azerbaijan",
        subsystem: "population-registry",
        server_code: "ss-justice",
        mapping: include_str!("../../mappings/population-registry.toml"),
    },
    AgencyDef {
        name: "social-protection-fund",
        member_code: "1400000003",
        member_name: "State Social Protection Fund",
        subsystem: "insurance",
        server_code: "ss-sspf",
        mapping: include_str!("../../mappings/social-protection-fund.toml"),
    },
    AgencyDef {
        name: "internal-affairs",
        member_code: "1400000004",
        member_name: "Ministry of Internal Affairs",
        subsystem: "traffic-police",
        server_code: "ss-mia",
        mapping: include_str!("../../mappings/internal-affairs.toml"),
    },
    AgencyDef {
        name: "transport",
        member_code: "1400000005",
        member_name: "Ministry of Transport, Communications and High Technologies",
        subsystem: "imei-registry",
        server_code: "ss-mincom",
        mapping: include_str!("../../mappings/transport.toml"),
    },
    AgencyDef {
        name: "azersu",
        member_code: "1400000006",
        member_name: "Azərsu OJSC",
        subsystem: "billing",
        server_code: "ss-azersu",
        mapping: include_str!("../../mappings/azersu.toml"),
    },
    AgencyDef {
        name: "labour",
        member_code: "1400000007",
        member_name: "Ministry of Labour and Social Protection of Population",
        subsystem: "disability-registry",
        server_code: "ss-labour",
        mapping: include_str!("../../mappings/labour.toml"),
    },
    AgencyDef {
        name: "property",
        member_code: "1400000008",
        member_name: "State Committee on Property Issues",
        subsystem: "real-estate-registry",
        server_code: "ss-property",
        mapping: include_str!("../../mappings/property.toml"),
    },
];

impl AgencyDef {
    /// Its participant in the federation.
    pub fn participant(&self, instance: &str) -> anyhow::Result<ParticipantSpec> {
        Ok(ParticipantSpec {
            name: self.name.into(),
            member: format!("{instance}/GOV/{}", self.member_code).parse()?,
            member_name: self.member_name.into(),
            subsystems: vec![self.subsystem.into()],
            server_code: self.server_code.into(),
        })
    }

    /// Its subsystem's id.
    pub fn client(&self, instance: &str) -> String {
        format!("{instance}/GOV/{}/{}", self.member_code, self.subsystem)
    }
}

/// Who may call what, as the agencies' contracts say (the portal operator may call every
/// service; `(consumer, provider, service code)` lists the rest). Azərsu has no contract
/// with the population registry: its calls are refused with `AccessDenied`.
pub const CONTRACTS: &[(&str, &str, &str)] = &[
    ("social-protection-fund", "ministry-of-justice", "getPersonByFin"),
    ("social-protection-fund", "labour", "getDisabilityStatus"),
    ("internal-affairs", "ministry-of-justice", "getPersonByFin"),
    ("transport", "ministry-of-justice", "getPersonByFin"),
    ("property", "ministry-of-justice", "getPersonByFin"),
    ("labour", "ministry-of-justice", "getPersonByFin"),
    ("labour", "social-protection-fund", "getPensionCapital"),
];

/// The pair deliberately not granted: (consumer, provider, service).
pub const NOT_GRANTED: (&str, &str, &str) = ("azersu", "ministry-of-justice", "getPersonByFin");

/// The agencies' own systems and their adapters, running.
#[derive(Debug)]
pub struct RunningAgencies {
    /// The population everything derives from.
    pub population: Arc<Population>,
    /// The REST systems by agency name.
    pub legacy: Vec<(&'static str, LegacySystem)>,
    /// The database files.
    pub databases: databases::Databases,
    /// Each agency's adapter, with the mapping text it was started with and its push token.
    pub adapters: Vec<(AgencyDef, RunningAdapter, String, String)>,
}

impl RunningAgencies {
    /// An agency's REST system.
    pub fn legacy(&self, name: &str) -> Option<&LegacySystem> {
        self.legacy.iter().find(|(n, _)| *n == name).map(|(_, l)| l)
    }

    /// Stops adapters and REST systems.
    pub async fn stop(&self) {
        for (_, a, _, _) in &self.adapters {
            a.stop().await;
        }
        for (_, l) in &self.legacy {
            l.stop();
        }
    }
}

/// Generates the population (`count` people from `seed`), writes the databases into
/// `dir`, starts the REST systems and one adapter per agency (mapping files in `dir`).
pub async fn start(dir: &Path, seed: u64, count: usize) -> anyhow::Result<RunningAgencies> {
    let population = Arc::new(Population::generate(seed, count));
    let databases = databases::prepare(&dir.join("databases"), seed, &population).await?;
    let legacy = vec![
        ("social-protection-fund", legacy::social_protection_fund(population.clone()).await?),
        ("internal-affairs", legacy::internal_affairs(population.clone()).await?),
        ("transport", legacy::transport(population.clone()).await?),
        ("property", legacy::property(population.clone()).await?),
    ];
    let mut adapters = Vec::new();
    let mapping_dir = dir.join("adapters");
    std::fs::create_dir_all(&mapping_dir)?;
    for agency in AGENCIES {
        let database = match agency.name {
            "ministry-of-justice" => Some(&databases.population),
            "azersu" => Some(&databases.azersu),
            "labour" => Some(&databases.labour),
            _ => None,
        };
        let backend = legacy.iter().find(|(n, _)| *n == agency.name).map(|(_, l)| l.url.clone());
        let text = agency
            .mapping
            .replace("${LISTEN}", "127.0.0.1:0")
            .replace("${DATABASE}", &database.map(|d| egov_store::sqlite_url(d)).unwrap_or_default())
            .replace("${BACKEND}", &backend.unwrap_or_default());
        let file = mapping_dir.join(format!("{}.toml", agency.name));
        std::fs::write(&file, &text)?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let adapter =
            egov_adapter::start(text.clone(), AdapterOptions { file: Some(file), admin_token: Some(token.clone()) })
                .await?;
        adapters.push((*agency, adapter, text, token));
    }
    Ok(RunningAgencies { population, legacy, databases, adapters })
}

/// A sample request for each service that succeeds on this population: (service code,
/// fields). The first person who has the record is chosen, so samples follow the seed.
pub fn samples(population: &Population) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let people = &population.people;
    let first = |pred: &dyn Fn(usize, &people::Person) -> bool| {
        people.iter().enumerate().find(|(i, p)| pred(*i, p)).map(|(i, p)| (i, p.clone()))
    };
    let mut out = Vec::new();
    let adult = first(&|_, p| legacy::insurance(p).is_some());
    if let Some((_, p)) = &adult {
        out.push(("getPersonByFin", json!({"fin": p.fin})));
        out.push(("getNameInfo", json!({"name": p.first_name})));
        out.push(("getInsuredPayments", json!({"fin": p.fin, "year": 2025})));
        out.push(("getPensionCapital", json!({"fin": p.fin})));
    }
    if let Some((_, p)) = first(&|_, p| p.age() >= 18 && legacy::insurance(p).is_none()) {
        out.push((
            "registerInsuredPerson",
            json!({"fin": p.fin, "employerTin": "1400057421", "position": "mühəndis", "startDate": "2026-11-01"}),
        ));
    }
    if let Some((i, p)) = first(&|i, p| legacy::plate(i, p).is_some()) {
        out.push(("getTrafficFines", json!({"vehicle": legacy::plate(i, &p)})));
        out.push(("getPenaltyPoints", json!({"fin": p.fin})));
    }
    if let Some((i, p)) = first(&|_, _| true) {
        out.push(("checkImei", json!({"imei": legacy::handset(i, &p).0})));
        out.push(("searchByPhone", json!({"phone": p.phone})));
        // a new handset: the same type code with a serial no person has
        let body = "35332811999999";
        let imei = format!("{body}{}", people::luhn_digit(body).unwrap_or(0));
        out.push(("registerImei", json!({"imei": imei, "fin": p.fin, "phone": p.phone})));
    }
    if let Some((i, p)) = first(&|i, p| databases::water_account(i, p).is_some()) {
        let code = databases::water_account(i, &p).map(|a| a.code).unwrap_or_default();
        out.push(("getWaterDebt", json!({"subscriberCode": code})));
    }
    if let Some((_, p)) = first(&|_, p| databases::disability(p).is_some()) {
        out.push(("getDisabilityStatus", json!({"fin": p.fin})));
    }
    if let Some((i, p)) = first(&|i, p| legacy::registry_number(i, p).is_some()) {
        out.push(("getRealEstateExtract", json!({"registryNumber": legacy::registry_number(i, &p)})));
    }
    out
}
