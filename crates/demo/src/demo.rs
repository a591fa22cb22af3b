//! `egov demo`: a whole federation on loopback in one process (shared/DESIGN.md decision 1).
//!
//! Three participants, each with its own security server: the portal operator (consumer),
//! the Ministry of Justice population registry (SOAP provider) and the State Social
//! Protection Fund (REST provider, and consumer of the registry). Keys and certificates
//! come from a Certification Centre created at start-up, through certificate requests.

use std::future::Future;
use std::path::{Path, PathBuf};

use egov_monitor::{ServerEntry, StationConfig};
use egov_security_server::conf::Subject;
use egov_security_server::server_files::MsgLogFile;
use egov_xroad::{ClientId, ServiceId};
use serde_json::json;

use crate::agencies;
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
}

fn id<T: std::str::FromStr>(s: &str) -> anyhow::Result<T>
where
    T::Err: std::error::Error + Send + Sync + 'static,
{
    Ok(s.parse::<T>()?)
}

/// The demo's participants.
pub fn participants() -> anyhow::Result<Vec<ParticipantSpec>> {
    Ok(vec![
        ParticipantSpec {
            name: "portal-operator".into(),
            member: id("AZ/GOV/1400000001")?,
            member_name: "Electronic Government portal operator".into(),
            subsystems: vec!["portal".into()],
            server_code: "ss-portal".into(),
        },
        ParticipantSpec {
            name: "ministry-of-justice".into(),
            member: id("AZ/GOV/1400000002")?,
            member_name: "Ministry of Justice of the Republic of Azerbaijan".into(),
            subsystems: vec!["population-registry".into()],
            server_code: "ss-justice".into(),
        },
        ParticipantSpec {
            name: "social-protection-fund".into(),
            member: id("AZ/GOV/1400000003")?,
            member_name: "State Social Protection Fund".into(),
            subsystems: vec!["insurance".into()],
            server_code: "ss-sspf".into(),
        },
    ])
}

/// Runs the demo until `shutdown` completes.
pub async fn run(options: DemoOptions, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let (data_dir, scratch) = match options.data_dir {
        Some(d) => (d, false),
        None => (crate::federation::scratch_dir()?, true),
    };
    std::fs::create_dir_all(&data_dir)?;
    let demo = start(&data_dir).await?;
    println!("{}", demo.summary);
    shutdown.await;
    println!("stopping the demo federation…");
    demo.station.stop();
    demo.federation.stop().await;
    demo.agencies_shutdown.trigger();
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
    agencies_shutdown: egov_security_server::http::ShutdownTrigger,
    station: egov_monitor::RunningStation,
}

impl std::fmt::Debug for Demo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Demo").finish_non_exhaustive()
    }
}

/// Starts the demo federation and writes `data_dir/demo.json` once everything is ready.
pub async fn start(data_dir: &Path) -> anyhow::Result<Demo> {
    let (agencies_shutdown, agencies_rx) = egov_security_server::http::shutdown_pair();
    let is_addr = agencies::start(agencies_rx).await?;

    // the operator first: Certification Centre and central server; then every agency's
    // security server comes in through registration (TT-4.1.2)
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

    let portal: ClientId = id("AZ/GOV/1400000001/portal")?;
    let registry: ClientId = id("AZ/GOV/1400000002/population-registry")?;
    let insurance: ClientId = id("AZ/GOV/1400000003/insurance")?;
    let get_person: ServiceId = id("AZ/GOV/1400000002/population-registry/getPersonByFin/v1")?;
    let payments: ServiceId = id("AZ/GOV/1400000003/insurance/payments")?;

    // Ministry of Justice: the population registry's WSDL service, for the portal and the fund
    let justice = running.store(1);
    let wsdl = agencies::population_wsdl(&format!("http://{is_addr}/population"));
    justice.add_wsdl(&registry, &format!("http://{is_addr}/population/wsdl"), &wsdl, None).await?;
    justice.grant(&get_person, &Subject::Client(portal.clone()), "*", "/**").await?;
    justice.grant(&get_person, &Subject::Client(insurance.clone()), "*", "/**").await?;

    // Social Protection Fund: REST payments, endpoint-level rights for the portal
    let sspf = running.store(2);
    sspf.add_rest_service(&payments, &format!("http://{is_addr}/sspf"), Some(&agencies::payments_openapi())).await?;
    for path in ["/persons/*/payments", "/persons/*/pension-capital"] {
        sspf.add_endpoint(&payments, "GET", path).await?;
        sspf.grant(&payments, &Subject::Client(portal.clone()), "GET", path).await?;
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
    let services = json!([
        {"id": get_person.to_string(), "protocol": "soap", "client": portal.to_string(), "client_url": running.client_url(0),
         "params": {"fin": "5ZX7K2P"}, "namespace": agencies::POPULATION_NS},
        {"id": get_person.to_string(), "protocol": "soap", "client": insurance.to_string(), "client_url": running.client_url(2),
         "params": {"fin": "3JH8LQ1"}, "namespace": agencies::POPULATION_NS},
        {"id": payments.to_string(), "protocol": "rest", "client": portal.to_string(), "client_url": running.client_url(0),
         "params": {"year": "2025"}, "rest_path": "/persons/5ZX7K2P/payments", "method": "GET"},
        {"id": payments.to_string(), "protocol": "rest", "client": portal.to_string(), "client_url": running.client_url(0),
         "params": {}, "rest_path": "/persons/9PLM4TR/pension-capital", "method": "GET"},
    ]);
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
        "services": services,
        "information_systems": {
            "population_registry": format!("http://{is_addr}/population"),
            "social_protection_fund": format!("http://{is_addr}/sspf"),
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
        "\nmonitoring station: {monitoring_url} (metrics {monitoring_url}/metrics)\ninformation systems: population registry http://{is_addr}/population, social protection fund http://{is_addr}/sspf\n\
\ntry:\n  curl -s -H 'X-Road-Client: AZ/GOV/1400000001/portal' '{}/r1/AZ/GOV/1400000003/insurance/payments/persons/5ZX7K2P/payments?year=2025'\n\
\x20 curl -s '{}'\n\nwritten: {}\nCtrl-C stops the federation.",
        running.client_url(0),
        manifest["wsdl_url"].as_str().unwrap_or_default(),
        data_dir.join("demo.json").display()
    ));
    Ok(Demo { federation: running, manifest, summary, agencies_shutdown, station })
}
