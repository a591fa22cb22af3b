//! Operational and health monitoring data (TT-2.6, TT-2.7): what a security server tells a
//! monitoring station about its traffic — never message contents.
//!
//! Field names follow X-Road's operational monitoring protocol (PR-OPMON, JSON records of
//! `getSecurityServerOperationalData`) so that existing X-Road monitoring tools can read
//! them; fields X-Road has no name for are marked as ours. No field here can carry a
//! message body, a header value other than the ids, or a user's data: the monitoring
//! station's view is limited by the type itself (shared/DESIGN.md, local monitoring).

use serde::{Deserialize, Serialize};

/// Which side of an exchange a record describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerType {
    /// The consumer's security server (X-Road: `Client`).
    Client,
    /// The provider's security server (X-Road: `Producer`).
    Producer,
}

/// One exchange as one security server handled it (PR-OPMON record). Times are
/// milliseconds since the Unix epoch, sizes are bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationalRecord {
    /// Ours: the record's sequence number on its security server (strictly increasing), the
    /// cursor a monitoring station resumes from.
    pub record_id: i64,
    /// When the record was stored (seconds since the Unix epoch).
    pub monitoring_data_ts: i64,
    /// The security server that wrote the record (`INSTANCE/CLASS/CODE/SERVER`).
    pub security_server_id: String,
    /// Client or provider side.
    pub security_server_type: ServerType,
    /// Request received (from the information system, or from the peer server).
    pub request_in_ts: i64,
    /// Request sent on (to the peer server, or to the service); absent if it never left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_out_ts: Option<i64>,
    /// Response received; absent if none came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_in_ts: Option<i64>,
    /// Response (or fault) sent back.
    pub response_out_ts: i64,
    /// The client, `INSTANCE/CLASS/CODE[/SUBSYSTEM]`; absent when the request was refused
    /// before it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// The service, `INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]`; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// `X-Road-Id` / SOAP `id` of the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Ours, X-Road's `xRequestId`: the id both security servers share for one exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_request_id: Option<String>,
    /// `SOAP` or `REST` (X-Road: `serviceType`).
    pub service_type: String,
    /// REST method, for REST services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_method: Option<String>,
    /// Size of the request (message and body).
    pub request_size: u64,
    /// Size of the response (message and body); 0 when none.
    pub response_size: u64,
    /// Whether the exchange succeeded (no fault).
    pub succeeded: bool,
    /// The fault code, when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault_code: Option<String>,
    /// HTTP status returned to the caller (REST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

impl OperationalRecord {
    /// Wall time from request in to response out, milliseconds.
    pub fn duration_ms(&self) -> i64 {
        (self.response_out_ts - self.request_in_ts).max(0)
    }
}

/// One page of operational records (`GET /monitoring/v1/operational`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperationalData {
    /// How many records this page holds.
    pub records_count: usize,
    /// The records, oldest first.
    pub records: Vec<OperationalRecord>,
    /// Ours: ask again with `after=` this to continue; absent when the page was the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i64>,
}

/// Validity of one of the security server's certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateHealth {
    /// `auth` (TLS between servers) or `sign` (message signatures).
    pub usage: String,
    /// Certificate serial number, hex.
    pub serial: String,
    /// End of validity (seconds since the Unix epoch).
    pub not_after: i64,
    /// Last OCSP answer for it: `good`, `revoked`, `unknown`, or absent when none yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_status: Option<String>,
    /// When that answer was produced (seconds since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp_produced_at: Option<i64>,
}

/// Free and total space of the disk holding the message log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiskHealth {
    /// The directory measured.
    pub path: String,
    /// Bytes available to the security server.
    pub free_bytes: u64,
    /// Size of the file system.
    pub total_bytes: u64,
}

/// Lengths of the security server's internal queues.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueDepths {
    /// Messages waiting to be written to the message log.
    pub message_log_writer: u64,
    /// Logged messages not yet time-stamped.
    pub timestamp_pending: u64,
    /// Incident reports waiting to be sent to the central server.
    pub incidents: u64,
}

/// Per-service statistics of the last period (X-Road `serviceEvents`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ServiceEvents {
    /// The service id.
    pub service: String,
    /// Last successful request (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_request_timestamp: Option<i64>,
    /// Last failed request (ms since the Unix epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_unsuccessful_request_timestamp: Option<i64>,
    /// Successful requests in the period.
    pub successful_request_count: u64,
    /// Failed requests in the period.
    pub unsuccessful_request_count: u64,
    /// Shortest request duration in the period (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_min_duration: Option<i64>,
    /// Mean request duration in the period (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_average_duration: Option<f64>,
    /// Longest request duration in the period (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_max_duration: Option<i64>,
}

/// Health of one security server (`GET /monitoring/v1/health`; X-Road
/// `getSecurityServerHealthData` plus environmental data).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HealthData {
    /// The security server (`INSTANCE/CLASS/CODE/SERVER`).
    pub security_server_id: String,
    /// When the data was taken (seconds since the Unix epoch).
    pub taken_at: i64,
    /// When monitoring started (ms since the Unix epoch, X-Road's name).
    pub monitoring_startup_timestamp: i64,
    /// Length of the statistics period (seconds).
    pub statistics_period_seconds: u64,
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// Serial of the global configuration in use.
    pub global_conf_serial: u64,
    /// Age of the global configuration in use (seconds since it was generated).
    pub global_conf_age_seconds: i64,
    /// When it expires (seconds since the Unix epoch), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub global_conf_expires_at: Option<i64>,
    /// The server's certificates.
    pub certificates: Vec<CertificateHealth>,
    /// The message log's disk, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disk: Option<DiskHealth>,
    /// Queue lengths.
    pub queues: QueueDepths,
    /// Age of the oldest logged message without a time-stamp (seconds); 0 when none.
    pub timestamp_lag_seconds: i64,
    /// Whether the server is refusing traffic, and why (e.g. time-stamping failed too long).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusing_traffic: Option<String>,
    /// Per-service statistics of the last period.
    pub services_events: Vec<ServiceEvents>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_use_x_road_field_names() {
        let r = OperationalRecord {
            record_id: 7,
            monitoring_data_ts: 1_767_225_600,
            security_server_id: "AZ/GOV/1/ss1".into(),
            security_server_type: ServerType::Producer,
            request_in_ts: 1_767_225_600_000,
            request_out_ts: Some(1_767_225_600_001),
            response_in_ts: Some(1_767_225_600_010),
            response_out_ts: 1_767_225_600_011,
            client: Some("AZ/GOV/2/portal".into()),
            service: Some("AZ/GOV/1/reg/person".into()),
            message_id: Some("m1".into()),
            x_request_id: Some("r1".into()),
            service_type: "SOAP".into(),
            rest_method: None,
            request_size: 100,
            response_size: 200,
            succeeded: true,
            fault_code: None,
            status_code: None,
        };
        let json = serde_json::to_value(&r).unwrap();
        for field in ["requestInTs", "responseOutTs", "securityServerType", "serviceType", "succeeded"] {
            assert!(json.get(field).is_some(), "{field}");
        }
        assert_eq!(json["securityServerType"], "Producer");
        assert_eq!(r.duration_ms(), 11);
        let back: OperationalRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn unknown_fields_are_refused() {
        // a record that grew a body field would be refused, not silently carried
        let err = serde_json::from_str::<OperationalData>(r#"{"recordsCount":0,"records":[],"body":"x"}"#);
        assert!(err.is_err());
    }
}
