//! The adapter's one error type, and how each error reaches a caller: a SOAP fault or a
//! REST error object whose code and message name the field or the cause — never a stack
//! trace, an internal address or a connection string.

use std::time::Duration;

use egov_xroad::Fault;

/// What went wrong in the adapter.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// The mapping file cannot be used; the message names the file, the line and the problem.
    #[error("{0}")]
    Mapping(String),
    /// No service of this code (and version) is mapped.
    #[error("this adapter has no service {0}")]
    UnknownService(String),
    /// The request itself is unreadable (not XML, not a JSON object, …).
    #[error("{0}")]
    BadRequest(String),
    /// A request field is missing, unknown, too long or of the wrong type.
    #[error("field '{field}': {problem}")]
    Field {
        /// The field's name.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The service changes records on someone's behalf and the caller named no signing
    /// user (TT-6.6).
    #[error("service {0} needs the signing user: send the X-Road userId of the official who signs the request")]
    UserRequired(String),
    /// The back end has no record for the request.
    #[error("not found: {0}")]
    NotFound(String),
    /// The back end refused the request (HTTP 4xx).
    #[error("the back end refused the request (HTTP {status}){}", detail(message))]
    Refused {
        /// HTTP status the back end answered.
        status: u16,
        /// The back end's own explanation, when it gave one.
        message: Option<String>,
    },
    /// The back end did not answer within the service's time budget (TT-5.3).
    #[error("the back end did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    /// The back end cannot be reached.
    #[error("the back end is not reachable")]
    Unavailable,
    /// The back end failed (HTTP 5xx, a SQL error).
    #[error("the back end failed: {0}")]
    Failed(String),
    /// The back end answered something the mapping cannot read.
    #[error("the back end's answer is unusable: {0}")]
    Garbage(String),
    /// The adapter cannot listen or read its files.
    #[error("{0}")]
    Start(String),
}

fn detail(message: &Option<String>) -> String {
    message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
}

impl AdapterError {
    /// The fault code callers see.
    pub fn code(&self) -> &'static str {
        match self {
            AdapterError::UnknownService(_) => "Client.UnknownService",
            AdapterError::BadRequest(_) => "Client.InvalidRequest",
            AdapterError::Field { .. } => "Client.InvalidField",
            AdapterError::UserRequired(_) => "Client.UserRequired",
            AdapterError::NotFound(_) => "Client.NotFound",
            AdapterError::Refused { .. } => "Client.BackendRefused",
            AdapterError::Timeout(_) => "Server.BackendTimeout",
            AdapterError::Unavailable => "Server.BackendUnavailable",
            AdapterError::Failed(_) => "Server.BackendFailed",
            AdapterError::Garbage(_) => "Server.BackendInvalidResponse",
            AdapterError::Mapping(_) | AdapterError::Start(_) => "Server.AdapterMisconfigured",
        }
    }

    /// The fault sent to the caller; its detail id is also written to the adapter's log.
    pub fn fault(&self) -> Fault {
        let fault = Fault::new(self.code(), self.to_string());
        tracing::info!(code = %fault.code, message = %fault.message, detail = %fault.detail, "request refused");
        fault
    }

    /// HTTP status of the REST error.
    pub fn rest_status(&self) -> u16 {
        match self {
            AdapterError::UnknownService(_) | AdapterError::NotFound(_) => 404,
            AdapterError::Refused { status, .. } if (400..500).contains(status) => *status,
            AdapterError::BadRequest(_) | AdapterError::Field { .. } | AdapterError::Refused { .. } => 400,
            AdapterError::UserRequired(_) => 403,
            AdapterError::Timeout(_) => 504,
            AdapterError::Unavailable | AdapterError::Failed(_) | AdapterError::Garbage(_) => 502,
            AdapterError::Mapping(_) | AdapterError::Start(_) => 500,
        }
    }

    pub(crate) fn field(field: &str, problem: impl Into<String>) -> Self {
        AdapterError::Field { field: field.to_owned(), problem: problem.into() }
    }
}
