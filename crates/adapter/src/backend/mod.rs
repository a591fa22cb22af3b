//! The back ends an adapter calls — a REST/JSON service or a read-only SQL query — and the
//! answer they give, already mapped to the service's response elements.

pub mod rest;
pub mod sql;

use crate::AdapterError;
use crate::fields::Values;
use crate::mapping::{Backend, ServiceMapping};

/// Who is asking, passed on to a REST back end so the legacy system can keep its own
/// audit trail (X-Road headers of the request).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The X-Road client (`INSTANCE/CLASS/CODE/SUBSYSTEM`).
    pub client: Option<String>,
    /// The message id.
    pub message_id: Option<String>,
    /// The signing user (TT-6.6).
    pub user_id: Option<String>,
}

/// One entry of an answer: response element → scalar JSON value (`null` = absent).
pub type Entry = Vec<(String, serde_json::Value)>;

/// A back end's answer in the service's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The entries: exactly one unless the service repeats.
    pub entries: Vec<Entry>,
    /// The element name of each repeated entry, when the service repeats.
    pub repeat: Option<String>,
}

impl Answer {
    /// The answer as a JSON object: `{element: value, …}`, or `{repeat: [{…}, …]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let entry = |e: &Entry| {
            serde_json::Value::Object(
                e.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect(),
            )
        };
        match &self.repeat {
            Some(r) => serde_json::json!({ r: self.entries.iter().map(entry).collect::<Vec<_>>() }),
            None => self.entries.first().map(entry).unwrap_or_else(|| serde_json::json!({})),
        }
    }

    /// The answer as XML elements with prefix `p` (bound by the caller).
    pub fn write_xml(&self, p: &str, out: &mut String) {
        let write_entry = |e: &Entry, out: &mut String| {
            for (name, value) in e {
                let text = match value {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.push_str(&format!("<{p}:{name}>"));
                egov_xroad::xml::escape_text(&text, out);
                out.push_str(&format!("</{p}:{name}>"));
            }
        };
        match &self.repeat {
            Some(r) => {
                for e in &self.entries {
                    out.push_str(&format!("<{p}:{r}>"));
                    write_entry(e, out);
                    out.push_str(&format!("</{p}:{r}>"));
                }
            }
            None => {
                if let Some(e) = self.entries.first() {
                    write_entry(e, out);
                }
            }
        }
    }
}

/// The back ends of one mapping, with their connections.
#[derive(Debug, Default)]
pub struct Backends {
    rest: rest::RestCaller,
    sql: sql::SqlPools,
}

impl Backends {
    /// Calls the service's back end with checked `values`.
    pub async fn call(
        &self,
        service: &ServiceMapping,
        values: &Values,
        caller: &Caller,
    ) -> Result<Answer, AdapterError> {
        match &service.backend {
            Backend::Rest(r) => self.rest.call(service, r, values, caller).await,
            Backend::Sql(s) => self.sql.call(service, s, values).await,
        }
    }

    /// Closes database connections.
    pub async fn close(&self) {
        self.sql.close().await;
    }
}
