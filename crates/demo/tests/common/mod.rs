//! The federation the operator-side tests share: a consumer (AZ/GOV/1400000011/portal) and a
//! provider (AZ/GOV/1400000012/insurance with the Social Protection Fund's REST payments
//! service), both registered through the central server.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it

use egov_demo::federation::{Federation, ParticipantSpec, RunningFederation};
use egov_demo::fixture;
use egov_globalconf::Limits;
use egov_security_server::conf::Subject;
use egov_security_server::server_files::MsgLogFile;
use egov_xroad::{ClientId, ServiceId};

pub const CONSUMER: usize = 0;
pub const PROVIDER: usize = 1;

pub fn spec(name: &str, member: &str, server: &str, subsystem: &str) -> ParticipantSpec {
    ParticipantSpec {
        name: name.into(),
        member: member.parse().unwrap(),
        member_name: format!("Agency {name}"),
        subsystems: vec![subsystem.into()],
        server_code: server.into(),
    }
}

pub struct Setup {
    pub fed: RunningFederation,
    pub data: tempfile::TempDir,
    _agencies: egov_security_server::http::ShutdownTrigger,
}

/// The federation; `validity_secs` is the life of each configuration generation; with
/// `message_log`, every server keeps one (in `<data>/msglog`) with that `msglog.json`.
pub async fn setup_federation(validity_secs: i64, limits: Limits, message_log: Option<MsgLogFile>) -> Setup {
    let data = tempfile::tempdir().unwrap();
    let (trigger, rx) = egov_security_server::http::shutdown_pair();
    let is_addr = fixture::start(rx).await.unwrap();
    let mut fed = Federation::with_central("AZ", data.path(), limits, validity_secs).await.unwrap();
    fed.message_log = message_log.map(|file| (data.path().join("msglog"), file));
    fed.add(spec("consumer", "AZ/GOV/1400000011", "ss-c", "portal"), 0, 0).await.unwrap();
    fed.add(spec("provider", "AZ/GOV/1400000012", "ss-p", "insurance"), 0, 0).await.unwrap();
    let root = data.path().to_owned();
    let fed = fed.start(move |s| egov_store::sqlite_url(&root.join(format!("{}.db", s.spec.name)))).await.unwrap();
    let payments: ServiceId = "AZ/GOV/1400000012/insurance/payments".parse().unwrap();
    let store = fed.store(PROVIDER);
    store.add_rest_service(&payments, &format!("http://{is_addr}/sspf"), None).await.unwrap();
    store.add_endpoint(&payments, "GET", "/persons/*/payments").await.unwrap();
    let portal: ClientId = "AZ/GOV/1400000011/portal".parse().unwrap();
    store.grant(&payments, &Subject::Client(portal), "GET", "/persons/*/payments").await.unwrap();
    fed.reload_conf().await.unwrap();
    Setup { fed, data, _agencies: trigger }
}
