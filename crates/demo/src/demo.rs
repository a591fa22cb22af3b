//! `egov demo`: a whole federation on loopback in one process (shared/DESIGN.md decision 1).
//!
//! Eight participants, each with its own security server: the portal operator (consumer of
//! everything) and the seven agencies of [`crate::agency`], whose own systems answer through
//! adapter servers. Each agency's security server keeps its adapter's mapping and pushes it
//! (TT-4.1.4.4), which registers the SOAP and REST services; access rights follow the
//! contracts. Keys and certificates come from a Certification Centre created at start-up,
//! through certificate requests.

use std::future::Future;
use std::path::{Path, PathBuf};

use egov_monitor::{ServerEntry, StationConfig};
use egov_security_server::conf::Subject;
use egov_security_server::server_files::MsgLogFile;
use egov_xroad::ClientId;
use serde_json::json;

use crate::agency::{self, RunningAgencies};
use crate::federation::{Federation, ParticipantSpec, RunningFederation};
use egov_globalconf::Limits;

/// Validity of each global configuration generation in the demo (X-Road's default 600 s).
const CONF_VALIDITY_SECS: i64 = 600;

/// Instance identifier of the demo federation.
pub const INSTANCE: &str = "AZ";

/// Options of `egov demo`.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Where to keep databases, keys and `demo.json`; a temporary directory if `None`.
    pub data_dir: Option<PathBuf>,
    /// People in the synthetic population ([`agency::people::DEMO_POPULATION`] if `None`).
    pub population: Option<usize>,
}

fn id<T: std::str::FromStr>(s: &str) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    Ok(s.parse::<T>()?)
}

/// The demo's participants: the portal operator, then the seven agencies.
pub fn participants() -> anyhow::Result<Vec<ParticipantSpec>> {
    std::iter::once(&agency::PORTAL).chain(agency::AGENCIES).map(|a| a.participant(INSTANCE)).collect()
}

/// Runs the demo until `shutdown` completes.
pub async fn run(options: DemoOptions, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let (data_dir, scratch) = match options.data_dir {
        Some(d) => (d, false),
        None => (crate::federation::scratch_dir()?, true),
    };
    std::fs::create_dir_all(&data_dir)?;
    let demo = start(&data_dir, options.population.unwrap_or(agency::people::DEMO_POPULATION)).await?;
    println!("{}", demo.summary);
    shutdown.await;
    println!("stopping the demo federation…");
    demo.station.stop();
    demo.federation.stop().await;
    demo.portal.stop();
    demo.agencies.stop().await;
    if scratch {
        // nothing the user asked to keep: leave no keys or databases behind
        let _ = std::fs::remove_dir_all(&data_dir);
    }
    println!("stopped");
    Ok(())
}

/// A started demo.
pub struct Demo {
    /// The federation.
    pub federation: RunningFederation,
    /// `demo.json` content.
    pub manifest: serde_json::Value,
    /// Human-readable summary.
    pub summary: String,
    /// The agencies' own systems and adapters.
    pub agencies: RunningAgencies,
    /// The citizen portal.
    pub portal: egov_portal::RunningPortal,
    station: egov_monitor::RunningStation,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo").finish_non_exhaustive()
    }
}

/// The registries in `data_dir/portal/registry.db`: the resources of Decision No. 118, the
/// bulletins' services and 1,000 generated ones, six months of generated usage — loaded
/// once; then the portal serving them.
async fn start_portal(data_dir: &Path) -> anyhow::Result<(egov_portal::RunningPortal, serde_json::Value)> {
    let dir = data_dir.join("portal");
    std::fs::create_dir_all(&dir)?;
    let registry = egov_registry::store::Registry::open(&egov_store::sqlite_url(&dir.join("registry.db"))).await?;
    registry.seed_resources().await?;
    if registry.services().await?.is_empty() {
        let mut services = egov_registry::catalogue_seed::named_services();
        services.extend(egov_registry::catalogue_seed::generated_services(1000));
        let day = time::Date::from_calendar_date(2025, time::Month::January, 15)?;
        let numbers = registry.import(&services, "initial load (demo)", day).await?;
        let months = ["2025-05", "2025-06", "2025-07", "2025-08", "2025-09", "2025-10"];
        registry.record_usage_many(&egov_registry::catalogue_seed::demo_usage(&numbers, &months)).await?;
    }
    // a registry officer for the back office, and applications waiting for them
    let staff_key = egov_registry::staff::StaffKey::open_or_create(&dir)?;
    let staff_file = dir.join("staff.json");
    let staff: serde_json::Value = match std::fs::read_to_string(&staff_file) {
        Ok(text) => serde_json::from_str(&text)?,
        Err(_) => {
            let c = registry.add_staff(&staff_key, "registry.officer", "Demo registry officer").await?;
            let v = json!({"login": c.login, "password": c.password, "totp_secret": c.totp_secret, "otpauth_url": c.otpauth_url});
            std::fs::write(&staff_file, serde_json::to_string_pretty(&v)?)?;
            v
        }
    };
    if registry.pending().await?.is_empty()
        && let Err(e) = file_demo_applications(&registry).await
    {
        // e.g. a year whose religious holidays the calendar does not know yet
        tracing::warn!(error = %e, "the demo's back-office applications were not filed");
    }
    let listener = tokio::net::TcpListener::bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    Ok((egov_portal::start(listener, registry, staff_key, std::time::Duration::from_secs(5)).await?, staff))
}

/// Two applications for the back office: a registration filed two weeks ago (overdue) and
/// an amendment filed today.
async fn file_demo_applications(registry: &egov_registry::store::Registry) -> anyhow::Result<()> {
    let today = egov_workdays::today();
    let mut late = egov_registry::catalogue_seed::named_services().remove(11);
    late.name.en = "Mortgage registration application (filed on paper)".into();
    let early = today - time::Duration::days(14);
    let applicant = "State Committee on Property Issues";
    registry.file(egov_registry::store::Request::Register(Box::new(late)), applicant, early).await?;
    let mut fresh = egov_registry::catalogue_seed::named_services().remove(2);
    fresh.regulation.execution_time = "1 iş günü".into();
    let number = registry
        .services()
        .await?
        .into_iter()
        .find(|s| s.record.name.az == fresh.name.az)
        .map(|s| s.registry_number)
        .ok_or_else(|| anyhow::anyhow!("the pension calculator is not registered"))?;
    let request = egov_registry::store::Request::Amend {
        registry_number: number,
        record: Box::new(fresh),
        changed_on: Some(today),
    };
    registry.file(request, "State Social Protection Fund", today).await?;
    Ok(())
}

/// Starts the demo federation with a population of `people` and writes
/// `data_dir/demo.json` once everything is ready.
pub async fn start(data_dir: &Path, people: usize) -> anyhow::Result<Demo> {
    // the agencies' own systems first: databases, REST services, and an adapter each
    let agencies = agency::start(data_dir, agency::people::DEMO_SEED, people).await?;

    // the operator: Certification Centre and central server; then every agency's security
    // server comes in through registration (TT-4.1.2)
    let mut federation = Federation::with_central(INSTANCE, data_dir, Limits::default(), CONF_VALIDITY_SECS).await?;
    // every server keeps a message log; time-stamps every 5 s so /asic answers soon
    federation.message_log = Some((
        data_dir.join("msglog"),
        MsgLogFile { timestamp_interval_secs: Some(5), archive_interval_secs: Some(600), ..Default::default() },
    ));
    for spec in participants()? {
        federation.add(spec, 0, 0).await?;
    }
    let db_root = data_dir.to_owned();
    let running =
        federation.start(move |s| egov_store::sqlite_url(&db_root.join(&s.spec.name).join("serverconf.db"))).await?;
    let operator = running.operator.as_ref().ok_or_else(|| anyhow::anyhow!("the demo runs a central server"))?;
    let ca_pem = operator.central.ca().ca_cert_pem();
    std::fs::write(data_dir.join("ca.pem"), &ca_pem)?;
    let central_dir = data_dir.join("central");

    // each agency's security server keeps its adapter's mapping and pushes it (TT-4.1.4.4),
    // which registers the adapter's SOAP and REST services
    let portal: ClientId = id(&agency::PORTAL.client(INSTANCE))?;
    let mut services = Vec::new();
    for (i, (def, adapter, text, token)) in agencies.adapters.iter().enumerate() {
        let store = running.store(i + 1);
        let client: ClientId = id(&def.client(INSTANCE))?;
        let base = format!("http://{}", adapter.addr());
        egov_security_server::adapters::connect(store, &client, text, Some(&base), token, None).await?;
        for s in &adapter.runtime().mapping.services {
            let service = client.service(&s.code, s.version.as_deref())?;
            // the portal operator may call everything; the agencies what their contracts list
            let mut consumers = vec![portal.clone()];
            for (consumer, provider, code) in agency::CONTRACTS {
                if *provider == def.name && *code == s.code {
                    let c = agency::AGENCIES.iter().find(|a| a.name == *consumer).map(|a| a.client(INSTANCE));
                    consumers.push(id(&c.unwrap_or_default())?);
                }
            }
            for c in &consumers {
                store.grant(&service, &Subject::Client(c.clone()), "*", "/**").await?;
            }
            services.push((*def, s.clone(), service));
        }
    }
    running.reload_conf().await?;

    // the local monitoring station, watching every server through its monitoring listener
    let station = egov_monitor::start(
        StationConfig {
            listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            database: Some(egov_store::sqlite_url(&data_dir.join("monitor.db"))),
            poll_interval_secs: 5,
            certificate_warning_days: 30,
            servers: running
                .servers
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    let addr = running.running[i].0.monitoring_addr?;
                    Some(ServerEntry {
                        name: s.spec.name.clone(),
                        url: format!("http://{addr}"),
                        token: running.tokens.monitor.clone(),
                    })
                })
                .collect(),
            base_dir: data_dir.to_owned(),
        },
        None,
    )
    .await?;
    let monitoring_url = format!("http://{}", station.addr);

    // the portal, over the registries (seeded once per data directory)
    let (citizen_portal, staff) = start_portal(data_dir).await?;
    let portal_url = format!("http://{}", citizen_portal.addr);

    let servers: Vec<serde_json::Value> = running
        .servers
        .iter()
        .enumerate()
        .map(|(i, s)| {
            json!({
                "name": s.spec.name,
                "id": s.id.to_string(),
                "member": s.spec.member.to_string(),
                "member_name": s.spec.member_name,
                "client_url": running.client_url(i),
                "peer_address": running.running[i].0.peer_addr.to_string(),
                "monitoring_url": running.running[i].0.monitoring_addr.map(|a| format!("http://{a}")),
                "asic_url": format!("{}/asic?queryId=QUERY_ID", running.client_url(i)),
            })
        })
        .collect();
    let samples = agency::samples(&agencies.population);
    let mut service_list = Vec::new();
    for (def, s, service) in &services {
        let Some((_, params)) = samples.iter().find(|(code, _)| *code == s.code) else { continue };
        let namespace = format!(
            "urn:egov:adapter:{}",
            agencies
                .adapters
                .iter()
                .find(|a| a.0.name == def.name)
                .map(|a| a.1.runtime().mapping.name.clone())
                .unwrap_or_default()
        );
        let user_id = s.user_required.then_some("AZ-FIN-5ZX7K2P");
        let rest_id = service.without_version();
        let rest_url = format!("{}/r1/{}", running.client_url(0), rest_id);
        let (method, url, body) = if s.is_write() {
            ("POST", rest_url, Some(params.clone()))
        } else {
            let query: Vec<String> = params
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            // percent-encoded: a phone number's '+' must not arrive as a space
                            let text = v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string());
                            let value =
                                percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC);
                            format!("{k}={value}")
                        })
                        .collect()
                })
                .unwrap_or_default();
            ("GET", format!("{rest_url}?{}", query.join("&")), None)
        };
        service_list.push(
            json!({"id": service.to_string(), "protocol": "soap", "provider": def.name, "title": s.title,
            "client": portal.to_string(), "client_url": running.client_url(0), "params": params, "namespace": namespace,
            "user_id": user_id}),
        );
        service_list.push(json!({"id": rest_id.to_string(), "protocol": "rest", "provider": def.name, "title": s.title,
            "client": portal.to_string(), "client_url": running.client_url(0), "method": method, "url": url, "body": body,
            "user_id": user_id}));
    }
    let (denied_consumer, denied_provider, denied_code) = agency::NOT_GRANTED;
    let consumer_index = 1 + agency::AGENCIES.iter().position(|a| a.name == denied_consumer).unwrap_or(0);
    let provider =
        agency::AGENCIES.iter().find(|a| a.name == denied_provider).map(|a| a.client(INSTANCE)).unwrap_or_default();
    let denied_fin = samples.iter().find(|(c, _)| *c == denied_code).map(|(_, p)| p["fin"].clone()).unwrap_or_default();
    let access_denied = json!({
        "explanation": "Azərsu has no contract with the population registry: the call is refused with Server.ServerProxy.AccessDenied",
        "client": agency::AGENCIES.iter().find(|a| a.name == denied_consumer).map(|a| a.client(INSTANCE)),
        "client_url": running.client_url(consumer_index),
        "url": format!("{}/r1/{provider}/{denied_code}?fin={}", running.client_url(consumer_index), denied_fin.as_str().unwrap_or("")),
    });
    let contracts: Vec<serde_json::Value> =
        agency::CONTRACTS.iter().map(|(c, p, s)| json!({"consumer": c, "provider": p, "service": s})).collect();
    let adapters: Vec<serde_json::Value> = agencies
        .adapters
        .iter()
        .map(|(def, a, _, _)| json!({"agency": def.name, "url": format!("http://{}", a.addr()), "wsdl": format!("http://{}/wsdl", a.addr())}))
        .collect();
    let legacy: serde_json::Map<String, serde_json::Value> =
        agencies.legacy.iter().map(|(n, l)| ((*n).to_owned(), json!(l.url))).collect();
    let manifest = json!({
        "instance": INSTANCE,
        "data_dir": data_dir.display().to_string(),
        "ca_certificate": data_dir.join("ca.pem").display().to_string(),
        "central": {
            "public_url": operator.running.public_url,
            "globalconf_url": format!("{}/globalconf", operator.running.public_url),
            "registration_url": format!("{}/registration", operator.running.public_url),
            "ocsp_url": format!("{}/ocsp", operator.running.public_url),
            "tsa_url": format!("{}/tsa", operator.running.public_url),
            "admin_url": format!("https://{}", operator.running.admin_addr),
            "operator_credentials": central_dir.join("operator.json").display().to_string(),
            "anchor": data_dir.join(&running.servers[0].spec.name).join("anchor.json").display().to_string(),
            "key_passphrase": crate::federation::DEMO_PASSPHRASE,
        },
        "security_servers": servers,
        "portal": {
            "url": format!("{portal_url}/az/"),
            "search_url": format!("{portal_url}/en/search?q=pension"),
            "statistics_url": format!("{portal_url}/en/statistics"),
            "open_data": format!("{portal_url}/api/v1/openapi.json"),
            "registry_database": data_dir.join("portal").join("registry.db").display().to_string(),
            "backoffice": {
                "url": format!("{portal_url}/en/backoffice/"),
                "login": staff["login"],
                "password": staff["password"],
                "totp_secret": staff["totp_secret"],
                "otpauth_url": staff["otpauth_url"],
                "current_code": "egov portal code --secret TOTP_SECRET (or add otpauth_url to an authenticator app)",
            },
        },
        "monitoring": {
            "url": monitoring_url,
            "metrics_url": format!("{monitoring_url}/metrics"),
            "usage_url": format!("{monitoring_url}/api/v1/usage?month=YYYY-MM&format=csv"),
            "monitor_token": running.tokens.monitor,
        },
        "message_log": {
            "archive_reader_token": running.tokens.archive_reader,
            "how": "curl -H 'Authorization: Bearer TOKEN' 'CLIENT_URL/asic?queryId=QUERY_ID' -o q.zip; egov msglog verify q.zip --ca CA",
        },
        "services": service_list,
        "access_denied_example": access_denied,
        "contracts": contracts,
        "population": {"people": agencies.population.people.len(), "seed": format!("{:#x}", agency::people::DEMO_SEED)},
        "adapters": adapters,
        "information_systems": {
            "rest": legacy,
            "databases": {
                "population_registry": agencies.databases.population.display().to_string(),
                "azersu": agencies.databases.azersu.display().to_string(),
                "labour": agencies.databases.labour.display().to_string(),
            },
        },
        "wsdl_url": format!("{}/wsdl?xRoadInstance=AZ&memberClass=GOV&memberCode=1400000002&subsystemCode=population-registry&serviceCode=getPersonByFin&version=v1", running.client_url(0)),
    });
    // write atomically: a reader never sees a half-written file
    let tmp = data_dir.join("demo.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(&manifest)?)?;
    std::fs::rename(&tmp, data_dir.join("demo.json"))?;

    let mut summary = format!(
        "egov demo federation is running (instance AZ)\n\ncentral server: {} (global configuration, registration, OCSP, TSA); \
         admin API https://{} (EGOV_OPERATOR={})\n\nsecurity servers:\n",
        operator.running.public_url,
        operator.running.admin_addr,
        central_dir.join("operator.json").display()
    );
    for (i, s) in running.servers.iter().enumerate() {
        summary.push_str(&format!(
            "  {:<24} {:<28} clients: {}   peers: {}\n",
            s.spec.name,
            s.id.to_string(),
            running.client_url(i),
            running.running[i].0.peer_addr
        ));
    }
    summary.push_str(&format!(
        "\nmonitoring station: {monitoring_url} (metrics {monitoring_url}/metrics)\n{} agencies behind adapters, {} people in their registers; every service with a sample request is in demo.json\n\
\ntry:\n  curl -s -H 'X-Road-Client: AZ/GOV/1400000001/portal' '{}'\n\
\x20 curl -s '{}'\n\nwritten: {}\nCtrl-C stops the federation.",
        agencies.adapters.len(),
        agencies.population.people.len(),
        service_list.iter().find(|s| s["protocol"] == "rest" && s["method"] == "GET").and_then(|s| s["url"].as_str()).unwrap_or(""),
        manifest["wsdl_url"].as_str().unwrap_or_default(),
        data_dir.join("demo.json").display()
    ));
    summary
        .push_str(&format!("\nportal: {portal_url}/az/ (also /en/, /ru/; open data {portal_url}/api/v1/openapi.json)"));
    Ok(Demo { federation: running, manifest, summary, agencies, portal: citizen_portal, station })
}
