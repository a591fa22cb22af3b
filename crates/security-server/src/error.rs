//! The security server's one error type, sorted by who is at fault, and its single mapping
//! to X-Road fault codes (shared/reference/xroad-protocol.md §2.5).

use egov_xroad::ClientId;
use egov_xroad::Fault;
use egov_xroad::soap::SoapError;

/// Where in the exchange an error was detected; decides the fault code's origin prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The information system sent something invalid: `Client.*`.
    Client,
    /// The consumer's security server: `Server.ClientProxy.*`.
    ClientProxy,
    /// The provider's security server: `Server.ServerProxy.*`.
    ServerProxy,
}

impl Origin {
    fn prefix(self) -> &'static str {
        match self {
            Origin::Client => "Client",
            Origin::ClientProxy => "Server.ClientProxy",
            Origin::ServerProxy => "Server.ServerProxy",
        }
    }
}

/// Which member is unknown and why: the text of an `UnknownMember` fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnknownMember {
    /// The client of a request is not a client of this security server.
    #[error("client '{0}' is not registered on this security server")]
    ClientNotHosted(ClientId),
    /// The client belongs to another member than the server's owner, whose key alone it
    /// signs with (a provider would refuse the signature as `IncorrectCertificate`).
    #[error("this security server signs only for its owner {owner}; client {client} belongs to another member")]
    ClientOfAnotherMember {
        /// The member that owns this security server.
        owner: ClientId,
        /// The client named in the request.
        client: ClientId,
    },
    /// No security server in the federation hosts the provider (consumer side).
    #[error("no security server in the federation hosts the provider {0}")]
    ProviderNowhere(ClientId),
    /// The provider of a request that arrived here is not a client of this server.
    #[error("provider {0} is not registered on this security server")]
    ProviderNotHosted(ClientId),
}

/// Everything that can go wrong on the message path.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// The client's SOAP message is invalid (`Client.<code>`).
    #[error("{0}")]
    ClientSoap(SoapError),
    /// A service's SOAP response is invalid (`Server.ServerProxy.ServiceFailed.<code>`).
    #[error("the service returned an invalid response: {0}")]
    ServiceSoap(SoapError),
    /// Not POST (SOAP).
    #[error("must use POST request method instead of {0}")]
    InvalidHttpMethod(String),
    /// Unsupported request content type.
    #[error("invalid content type '{0}': SOAP requests must be text/xml")]
    InvalidContentType(String),
    /// Request body over the limit (TT-5.2).
    #[error("request of more than {limit} bytes refused (TT-5.2: a request is at most {limit} bytes)")]
    RequestTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The client did not send its request in time.
    #[error("request not received completely within {0} ms")]
    RequestTimeout(u64),
    /// Malformed REST request.
    #[error("{0}")]
    BadRequest(String),
    /// A header value that is not a valid identifier.
    #[error("{0}")]
    InvalidClientIdentifier(String),
    /// The client (consumer side) or provider (provider side) is not registered here.
    #[error("{1}")]
    /// (Boxed: the ids would make every `Result<_, GatewayError>` large.)
    UnknownMember(Origin, Box<UnknownMember>),
    /// The `securityServer` header names a server that does not serve the provider.
    #[error("{1}")]
    InvalidSecurityServer(Origin, String),
    /// Service not configured on the provider's security server.
    #[error("unknown service: {0}")]
    UnknownService(String),
    /// REST service called through SOAP or vice versa.
    #[error("{0}")]
    ServiceType(String),
    /// Access right missing (TT-2.2.3).
    #[error("request is not allowed: {0}")]
    AccessDenied(String),
    /// Service disabled with a notice.
    #[error("service is disabled: {0}")]
    ServiceDisabled(String),
    /// TLS authentication between security servers failed (TT-2.2.4, TT-6.3).
    #[error("{1}")]
    SslAuthenticationFailed(Origin, String),
    /// Could not reach the peer security server.
    #[error("could not connect to the provider's security server: {0}")]
    NetworkError(String),
    /// The provider's answer does not belong to the request (headers, hash, binding).
    #[error("inconsistent response: {0}")]
    InconsistentResponse(String),
    /// Request fields of transport and SOAP disagree.
    #[error("inconsistent headers: {0}")]
    InconsistentHeaders(String),
    /// The transport message cannot be decoded.
    #[error("invalid transport message: {1}")]
    InvalidMessage(Origin, String),
    /// A signature does not verify (TT-2.2.1).
    #[error("signature is not valid: {1}")]
    InvalidSignatureValue(Origin, String),
    /// The signing certificate is not trusted (chain, validity, revocation).
    #[error("signing certificate is not valid: {1}")]
    InvalidCertPath(Origin, String),
    /// The signing certificate belongs to someone else than the sender.
    #[error("signing certificate does not belong to the sender: {1}")]
    IncorrectCertificate(Origin, String),
    /// A transport message was replayed or is outside the time window (TT-6.2).
    #[error("replayed or stale message refused: {0}")]
    ReplayedMessage(String),
    /// The service's response does not echo the request's headers.
    #[error("the service's response does not match the request: {0}")]
    ServiceInconsistent(String),
    /// The provider's service did not answer in time (TT-5.3).
    #[error("the service did not answer within {0} ms")]
    ServiceTimeout(u64),
    /// The provider's service could not be reached.
    #[error("cannot reach the service: {0}")]
    ServiceUnreachable(String),
    /// A malformed service URL.
    #[error("service URL is malformed: {0}")]
    ServiceMalformedUrl(String),
    /// The provider's security server did not answer in time.
    #[error("the provider's security server did not answer within {0} ms")]
    ProviderTimeout(u64),
    /// The global configuration has expired: this server no longer knows whom to trust
    /// (shared/reference/xroad-protocol.md §2 faults; TT-4.1.2).
    #[error("the global configuration is outdated: {1}")]
    OutdatedGlobalConf(Origin, String),
    /// The operator has blocked a participant of the exchange (TT-3.7).
    #[error("{1}")]
    MemberBlocked(Origin, String),
    /// The message could not be stored in the message log, so it was not sent on (TT-2.2.2:
    /// no exchange without evidence): disk full, database down.
    #[error("the message could not be logged: {1}")]
    LoggingFailed(Origin, String),
    /// Time-stamping has failed for longer than the allowed period; new messages are refused
    /// until the TSA answers again (X-Road `acceptable-timestamp-failure-period`).
    #[error("{1}")]
    TimestamperFailed(Origin, String),
    /// A fault the peer security server reported; passed to the client unchanged.
    #[error("{}", .0.message)]
    Remote(Fault),
    /// Something broke inside this server (consumer side).
    #[error("internal error: {0}")]
    Internal(String),
    /// Something broke inside the provider's security server.
    #[error("internal error: {0}")]
    ProviderInternal(String),
}

impl GatewayError {
    /// The X-Road fault code.
    pub fn code(&self) -> String {
        use GatewayError::*;
        match self {
            ClientSoap(e) => format!("Client.{}", e.code()),
            ServiceSoap(e) => format!("Server.ServerProxy.ServiceFailed.{}", e.code()),
            InvalidHttpMethod(_) => "Client.InvalidHttpMethod".into(),
            InvalidContentType(_) => "Client.InvalidContentType".into(),
            RequestTooLarge { .. } => "Client.RequestTooLarge".into(),
            RequestTimeout(_) => "Client.RequestTimeout".into(),
            BadRequest(_) => "Client.BadRequest".into(),
            InvalidClientIdentifier(_) => "Client.InvalidClientIdentifier".into(),
            UnknownMember(o, _) => format!("{}.UnknownMember", o.prefix()),
            InvalidSecurityServer(o, _) => format!("{}.InvalidSecurityServer", o.prefix()),
            UnknownService(_) => "Server.ServerProxy.UnknownService".into(),
            ServiceType(_) => "Server.ServerProxy.ServiceType".into(),
            AccessDenied(_) => "Server.ServerProxy.AccessDenied".into(),
            ServiceDisabled(_) => "Server.ServerProxy.ServiceDisabled".into(),
            SslAuthenticationFailed(o, _) => format!("{}.SslAuthenticationFailed", o.prefix()),
            NetworkError(_) => "Server.ClientProxy.NetworkError".into(),
            InconsistentResponse(_) => "Server.ClientProxy.InconsistentResponse".into(),
            InconsistentHeaders(_) => "Server.ServerProxy.InconsistentHeaders".into(),
            InvalidMessage(o, _) => format!("{}.InvalidMessage", o.prefix()),
            InvalidSignatureValue(o, _) => format!("{}.InvalidSignatureValue", o.prefix()),
            InvalidCertPath(o, _) => format!("{}.InvalidCertPath", o.prefix()),
            IncorrectCertificate(o, _) => format!("{}.IncorrectCertificate", o.prefix()),
            ReplayedMessage(_) => "Server.ServerProxy.ReplayedMessage".into(),
            ServiceInconsistent(_) => "Server.ServerProxy.ServiceFailed.InconsistentHeaders".into(),
            ServiceTimeout(_) => "Server.ServerProxy.ServiceFailed.Timeout".into(),
            ServiceUnreachable(_) => "Server.ServerProxy.ServiceFailed.NetworkError".into(),
            ServiceMalformedUrl(_) => "Server.ServerProxy.ServiceMalformedUrl".into(),
            ProviderTimeout(_) => "Server.ClientProxy.NetworkError.Timeout".into(),
            OutdatedGlobalConf(o, _) => format!("{}.OutdatedGlobalConf", o.prefix()),
            MemberBlocked(o, _) => format!("{}.MemberBlocked", o.prefix()),
            LoggingFailed(o, _) => format!("{}.LoggingFailed", o.prefix()),
            TimestamperFailed(o, _) => format!("{}.TimestamperFailed", o.prefix()),
            Remote(f) => f.code.clone(),
            Internal(_) => "Server.ClientProxy.InternalError".into(),
            ProviderInternal(_) => "Server.ServerProxy.InternalError".into(),
        }
    }

    /// The fault sent to the client. Remote faults keep their code, text and id.
    pub fn to_fault(&self) -> Fault {
        match self {
            GatewayError::Remote(f) => f.clone(),
            other => Fault::new(other.code(), other.to_string()),
        }
    }
}

impl GatewayError {
    /// Maps a message log failure on `origin`'s side.
    pub fn from_msglog(origin: Origin, e: egov_msglog::MsgLogError) -> Self {
        match e {
            egov_msglog::MsgLogError::TimestampingFailed { .. } => {
                GatewayError::TimestamperFailed(origin, e.to_string())
            }
            other => GatewayError::LoggingFailed(origin, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_xroad_naming() {
        assert_eq!(GatewayError::AccessDenied("x".into()).code(), "Server.ServerProxy.AccessDenied");
        assert_eq!(GatewayError::ClientSoap(SoapError::MissingBody).code(), "Client.MissingBody");
        assert_eq!(
            GatewayError::UnknownMember(
                Origin::ClientProxy,
                Box::new(UnknownMember::ProviderNowhere("X/GOV/1/A".parse().expect("client id")))
            )
            .code(),
            "Server.ClientProxy.UnknownMember"
        );
        assert_eq!(
            GatewayError::SslAuthenticationFailed(Origin::ServerProxy, "x".into()).code(),
            "Server.ServerProxy.SslAuthenticationFailed"
        );
        let f = GatewayError::RequestTooLarge { limit: 10240 }.to_fault();
        assert!(f.is_client_fault());
        assert_eq!(f.rest_status(), 400);
    }

    /// The fault strings of an unknown member are those the gateway wrote as text before the
    /// reason became a type (clients and tests match on them).
    #[test]
    fn unknown_member_fault_strings_are_unchanged() {
        let id = |s: &str| -> ClientId { s.parse().expect("client id") };
        let fault = |m: UnknownMember| GatewayError::UnknownMember(Origin::ClientProxy, Box::new(m)).to_string();
        assert_eq!(
            fault(UnknownMember::ClientNotHosted(id("EE/GOV/1/A"))),
            "client 'EE/GOV/1/A' is not registered on this security server"
        );
        assert_eq!(
            fault(UnknownMember::ClientOfAnotherMember { owner: id("EE/GOV/1"), client: id("EE/GOV/2/B") }),
            "this security server signs only for its owner EE/GOV/1; client EE/GOV/2/B belongs to another member"
        );
        assert_eq!(
            fault(UnknownMember::ProviderNowhere(id("EE/GOV/3/C"))),
            "no security server in the federation hosts the provider EE/GOV/3/C"
        );
        assert_eq!(
            fault(UnknownMember::ProviderNotHosted(id("EE/GOV/3/C"))),
            "provider EE/GOV/3/C is not registered on this security server"
        );
    }
}
