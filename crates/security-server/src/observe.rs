//! Operational monitoring (TT-2.6): one record per exchange and side, with times, parties,
//! ids, sizes and outcome — never contents. Handlers fill an [`Observation`] as the
//! exchange goes; [`Observation::finish`] hands the record to the message log's writer,
//! which stores it without making the exchange wait.

use egov_xroad::opmon::{OperationalRecord, ServerType};
use egov_xroad::{ClientId, Fault, ServiceId};

use crate::gateway::Gateway;
use crate::transport::message::now_ms;

/// What is known so far about one exchange on this server.
#[derive(Debug, Clone)]
pub struct Observation {
    side: ServerType,
    request_in: i64,
    /// When the request left for the peer server or the service.
    pub request_out: Option<i64>,
    /// When the answer came back.
    pub response_in: Option<i64>,
    /// The client.
    pub client: Option<ClientId>,
    /// The service.
    pub service: Option<ServiceId>,
    /// The client's message id (SOAP `id`, REST `X-Road-Id`).
    pub message_id: Option<String>,
    /// `X-Road-Request-Id`.
    pub request_id: Option<String>,
    /// `SOAP` or `REST`.
    pub service_type: &'static str,
    /// REST method.
    pub rest_method: Option<String>,
    /// Bytes of the request.
    pub request_size: u64,
    /// Bytes of the response.
    pub response_size: u64,
}

impl Observation {
    /// Starts observing an exchange that arrived now.
    pub fn start(side: ServerType, service_type: &'static str) -> Self {
        Self {
            side,
            request_in: now_ms(),
            request_out: None,
            response_in: None,
            client: None,
            service: None,
            message_id: None,
            request_id: None,
            service_type,
            rest_method: None,
            request_size: 0,
            response_size: 0,
        }
    }

    /// Records the outcome: `fault` when it failed, `status` for REST.
    pub fn finish(self, gateway: &Gateway, fault: Option<&Fault>, status: Option<u16>) {
        let Some(log) = &gateway.msglog else { return };
        log.record_operational(OperationalRecord {
            record_id: 0,
            monitoring_data_ts: 0,
            security_server_id: gateway.id.to_string(),
            security_server_type: self.side,
            request_in_ts: self.request_in,
            request_out_ts: self.request_out,
            response_in_ts: self.response_in,
            response_out_ts: now_ms(),
            client: self.client.map(|c| c.to_string()),
            service: self.service.map(|s| s.to_string()),
            message_id: self.message_id,
            x_request_id: self.request_id,
            service_type: self.service_type.to_owned(),
            rest_method: self.rest_method,
            request_size: self.request_size,
            response_size: self.response_size,
            succeeded: fault.is_none(),
            fault_code: fault.map(|f| f.code.clone()),
            status_code: status,
        });
    }
}
