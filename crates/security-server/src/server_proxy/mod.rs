//! The server side: where other security servers deliver requests for services hosted here.
//!
//! Order of checks (each with its own fault): TLS peer registered → transport message
//! well-formed → sender is the TLS peer and hosts the client → signature (certificate chain,
//! validity, revocation, member) → not a replay → provider hosted here → then, per protocol,
//! service exists, type matches, not disabled, access right → call the service → sign the
//! answer bound to the request.

mod meta;
mod rest;
mod soap;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use egov_msglog::{Direction, Side};
use egov_xroad::opmon::ServerType;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use egov_pki::CertProfile;

use crate::error::{GatewayError, Origin, UnknownMember};
use crate::gateway::{Gateway, log_entry, remote_fault_body, signature_error};
use crate::http::{Body, read_body, response};
use crate::incidents::Accused;
use crate::observe::Observation;
use crate::transport::message::{self, FAULT_CONTENT_TYPE, Protocol, RequestMeta, ResponseMeta, SignatureBlock};
use crate::transport::signing::SignatureVerified;

/// Room for the frames besides the client's message and body: metadata, signature, and a
/// REST header part's headers.
const TRANSPORT_OVERHEAD_BYTES: usize = 256 * 1024;

/// What a protocol handler produced.
pub(crate) struct Answer {
    pub content_type: Option<String>,
    pub message: Bytes,
    pub body: Bytes,
}

/// A request that passed authentication, signature and replay checks.
pub(crate) struct Accepted<'a> {
    pub meta: RequestMeta,
    pub meta_bytes: &'a [u8],
    pub message: &'a [u8],
    pub body: &'a [u8],
    pub digest: [u8; 32],
    pub block: SignatureBlock,
    /// Proof of the signature check: the call to a service requires it.
    pub signature: SignatureVerified,
    logged: AtomicBool,
    query_id: Mutex<Option<String>>,
    pending: Mutex<Option<egov_msglog::Pending>>,
}

impl Accepted<'_> {
    /// Notes the client's message id, for the log and the operational record.
    pub(crate) fn note_query_id(&self, query_id: Option<String>) {
        if let Ok(mut q) = self.query_id.lock() {
            *q = query_id;
        }
    }

    /// Hands the request to the message log (once) before it goes to the service
    /// (TT-2.2.2); the answer waits until it is on disk.
    pub(crate) async fn log(&self, gateway: &Gateway) -> Result<(), GatewayError> {
        if self.logged.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let query_id = self.query_id();
        let entry = log_entry(
            &self.meta,
            query_id,
            Direction::Request,
            Side::Provider,
            self.meta_bytes,
            self.message,
            self.body,
            self.digest,
            self.block.clone(),
        );
        let pending = gateway.submit_message(Origin::ServerProxy, entry).await?;
        if let Ok(mut p) = self.pending.lock() {
            *p = pending;
        }
        Ok(())
    }

    fn take_pending(&self) -> Option<egov_msglog::Pending> {
        self.pending.lock().ok().and_then(|mut p| p.take())
    }

    fn query_id(&self) -> Option<String> {
        self.query_id.lock().ok().and_then(|q| q.clone())
    }
}

/// What is known of a message's parties when it is refused, for the incident report
/// (TT-6.8). The TLS peer is authenticated first; the client and service a message names are
/// only a claim until its signature verified, and a forged claim must not be recorded
/// against the member it names (issue 13, item 8).
#[derive(Debug, Default)]
struct Parties {
    /// The security server at the other end of the TLS connection, once authenticated.
    peer: Option<egov_xroad::SecurityServerId>,
    /// The client and service the message names.
    claimed: Option<(egov_xroad::ClientId, egov_xroad::ServiceId)>,
    /// Whether the claimed client's signature verified.
    client_verified: bool,
}

impl Parties {
    /// Whom a refusal is held against; `certificate_owner` names the owner of the peer's
    /// certificate when the peer was refused before it was identified.
    fn accused(self, certificate_owner: impl FnOnce() -> Option<egov_xroad::ClientId>) -> Option<Accused> {
        let (claimed_client, service) = match self.claimed {
            Some((c, s)) => (Some(c), Some(s)),
            None => (None, None),
        };
        match (claimed_client, self.peer) {
            (Some(client), peer_server) if self.client_verified => {
                Some(Accused { client, service, peer_server, claimed_client: None })
            }
            // an unproven claim: the sending server's owner answers for it
            (claimed_client, Some(peer)) => {
                Some(Accused { client: peer.owner().clone(), service, peer_server: Some(peer), claimed_client })
            }
            (claimed_client, None) => {
                certificate_owner().map(|client| Accused { client, service: None, peer_server: None, claimed_client })
            }
        }
    }
}

/// Handles one transport message from a peer whose TLS certificate is `peer_cert`.
pub async fn handle(gateway: Arc<Gateway>, request: Request<Incoming>, peer_cert: Arc<Vec<u8>>) -> Response<Body> {
    let mut parties = Parties::default();
    let mut obs = Observation::start(ServerType::Producer, "SOAP");
    match process(&gateway, request, &peer_cert, &mut parties, &mut obs).await {
        Ok(r) => {
            obs.finish(&gateway, None, None);
            r
        }
        Err(e) => {
            // refused before the peer was identified: the owner its certificate names is the party
            if let Some(accused) = parties.accused(|| peer_owner(&gateway, &peer_cert)) {
                gateway.incidents.report(&e, accused);
            }
            // errors raised by shared code name the consumer side; here they are the provider's
            let e = match e {
                GatewayError::Internal(m) => GatewayError::ProviderInternal(m),
                other => other,
            };
            let fault = e.to_fault();
            obs.finish(&gateway, Some(&fault), None);
            tracing::info!(code = %fault.code, detail = %fault.detail, message = %fault.message, "refused request from a security server");
            response(StatusCode::OK, FAULT_CONTENT_TYPE, remote_fault_body(&fault))
        }
    }
}

/// The member owning the security server whose certificate `cert` is, if it names one.
fn peer_owner(gateway: &Gateway, cert: &[u8]) -> Option<egov_xroad::ClientId> {
    match gateway.trust.verify(cert, egov_pki::unix_now()).ok()?.profile.clone() {
        CertProfile::Auth(server) => Some(server.owner().clone()),
        _ => None,
    }
}

async fn process(
    gateway: &Gateway,
    request: Request<Incoming>,
    peer_cert: &[u8],
    parties: &mut Parties,
    obs: &mut Observation,
) -> Result<Response<Body>, GatewayError> {
    let now = egov_pki::unix_now();
    // 1. who is at the other end of the TLS connection (TT-6.3)
    let auth = gateway.trust.verify(peer_cert, now).map_err(|e| {
        GatewayError::SslAuthenticationFailed(Origin::ServerProxy, format!("client authentication certificate: {e}"))
    })?;
    let dir = gateway.directory.get();
    let peer = dir.server_by_auth_cert(&auth.sha256).ok_or_else(|| {
        GatewayError::SslAuthenticationFailed(
            Origin::ServerProxy,
            "the authentication certificate is not registered for any security server".into(),
        )
    })?;
    if auth.profile != CertProfile::Auth(peer.id.clone()) {
        return Err(GatewayError::SslAuthenticationFailed(
            Origin::ServerProxy,
            format!("certificate is not issued to {}", peer.id),
        ));
    }
    parties.peer = Some(peer.id.clone());
    // 2. the transport message
    if request.method() != Method::POST || request.uri().path() != message::PATH {
        return Err(GatewayError::InvalidMessage(Origin::ServerProxy, format!("expected POST {}", message::PATH)));
    }
    // a request carries at most the client's message and body, each within the TT-5.2 limit
    let limit = 2 * gateway.directory.get().limits().max_request_bytes + TRANSPORT_OVERHEAD_BYTES;
    let bytes = read_body(request.into_body(), limit, gateway.timeouts.client_body).await.map_err(|e| {
        GatewayError::InvalidMessage(Origin::ServerProxy, format!("cannot read the transport message: {e}"))
    })?;
    let frames = message::decode(&bytes).map_err(|e| GatewayError::InvalidMessage(Origin::ServerProxy, e))?;
    let meta: RequestMeta = frames.meta().map_err(|e| GatewayError::InvalidMessage(Origin::ServerProxy, e))?;
    parties.claimed = Some((meta.client.clone(), meta.service.clone()));
    obs.client = Some(meta.client.clone());
    obs.service = Some(meta.service.clone());
    obs.request_id = Some(meta.request_id.clone());
    obs.request_size = (frames.message.len() + frames.body.len()) as u64;
    if meta.protocol == Protocol::Rest {
        obs.service_type = "REST";
    }
    // 3. the sender is the TLS peer, and it hosts the client it speaks for
    if meta.sender != peer.id {
        return Err(GatewayError::SslAuthenticationFailed(
            Origin::ServerProxy,
            format!("message claims to come from {} but the connection is from {}", meta.sender, peer.id),
        ));
    }
    crate::gateway::check_federation(&dir, Origin::ServerProxy, &meta.client, meta.service.provider(), now)?;
    if !dir.hosts(&peer.id, &meta.client) {
        return Err(GatewayError::SslAuthenticationFailed(
            Origin::ServerProxy,
            format!("security server {} does not host client {}", peer.id, meta.client),
        ));
    }
    // 4. signature (TT-2.2.1) and 5. replay (TT-6.2)
    let digest = frames.digest();
    let block = frames.signature().map_err(|e| GatewayError::InvalidMessage(Origin::ServerProxy, e))?;
    let signature = gateway
        .verifier
        .verify(&digest, &block, &meta.client, now)
        .map_err(|e| signature_error(Origin::ServerProxy, e))?;
    parties.client_verified = true;
    gateway.check_ocsp(&dir, Origin::ServerProxy, &block, signature.signer_der(), Some(peer_cert), now)?;
    gateway.replay.check(&meta.nonce, meta.timestamp_ms, message::now_ms()).map_err(GatewayError::ReplayedMessage)?;
    // 6. the provider is ours
    if !gateway.conf.get().hosts(meta.service.provider()) {
        return Err(GatewayError::UnknownMember(
            Origin::ServerProxy,
            Box::new(UnknownMember::ProviderNotHosted(meta.service.provider().clone())),
        ));
    }
    gateway.check_log_accepting(Origin::ServerProxy)?;
    let protocol = meta.protocol;
    let request_id = meta.request_id.clone();
    let accepted = Accepted {
        meta,
        meta_bytes: frames.meta,
        message: frames.message,
        body: frames.body,
        digest,
        block,
        signature,
        logged: AtomicBool::new(false),
        query_id: Mutex::new(None),
        pending: Mutex::new(None),
    };
    obs.request_out = Some(message::now_ms());
    let answer = match protocol {
        Protocol::Soap => soap::serve(gateway, &accepted).await,
        Protocol::Rest => rest::serve(gateway, &accepted).await,
    };
    obs.response_in = Some(message::now_ms());
    obs.message_id = accepted.query_id();
    let answer = answer?;
    accepted.log(gateway).await?; // answered without a service (meta services)
    // 7. sign the answer, bound to this request
    let rmeta = ResponseMeta {
        request_id,
        request_digest: STANDARD.encode(digest),
        timestamp_ms: message::now_ms(),
        sender: gateway.id.clone(),
        protocol,
        content_type: answer.content_type,
    };
    let meta_bytes = serde_json::to_vec(&rmeta).map_err(|e| GatewayError::Internal(e.to_string()))?;
    let response_digest = message::digest(&meta_bytes, &answer.message, &answer.body);
    let block = gateway
        .signer
        .sign(response_digest)
        .await
        .map_err(|e| GatewayError::Internal(format!("signing failed: {e}")))?;
    let signature = serde_json::to_vec(&block).map_err(|e| GatewayError::Internal(e.to_string()))?;
    obs.response_size = (answer.message.len() + answer.body.len()) as u64;
    // the answer leaves this server only once it is logged
    let entry = egov_msglog::Entry {
        side: Side::Provider,
        direction: Direction::Response,
        request_id: accepted.meta.request_id.clone(),
        query_id: accepted.query_id(),
        client: accepted.meta.client.to_string(),
        service: accepted.meta.service.to_string(),
        protocol: crate::gateway::protocol_name(protocol).into(),
        meta: Bytes::copy_from_slice(&meta_bytes),
        message: answer.message.clone(),
        body: answer.body.clone(),
        transport_digest: response_digest,
        signature: block,
    };
    let response_logged = gateway.submit_message(Origin::ServerProxy, entry).await?;
    gateway.logged(Origin::ServerProxy, [accepted.take_pending(), response_logged]).await?;
    Ok(response(
        StatusCode::OK,
        message::CONTENT_TYPE,
        message::encode(&meta_bytes, &answer.message, &answer.body, &signature),
    ))
}

/// The time budget for a service (TT-5.3): its own if shorter, never longer than the
/// federation's, which is what consumers wait for.
pub(crate) fn service_timeout(gateway: &Gateway, own: Option<u64>) -> std::time::Duration {
    let federation = gateway.directory.get().limits().service_timeout_ms;
    std::time::Duration::from_millis(own.map_or(federation, |t| t.min(federation)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parties(verified: bool, peer: bool) -> Parties {
        Parties {
            peer: peer.then(|| "AZ/GOV/1400000066/ss-evil".parse().unwrap()),
            claimed: Some(("AZ/GOV/1400000002/registry".parse().unwrap(), "AZ/GOV/1400000003/x/svc".parse().unwrap())),
            client_verified: verified,
        }
    }

    /// Issue 13, item 8: a client named in a message that was refused before its signature
    /// verified is not held responsible; the server that sent it is.
    #[test]
    fn unproven_clients_are_not_accused() {
        let a = parties(false, true).accused(|| None).unwrap();
        assert_eq!(a.client.to_string(), "AZ/GOV/1400000066");
        assert_eq!(a.peer_server.unwrap().to_string(), "AZ/GOV/1400000066/ss-evil");
        assert_eq!(a.claimed_client.unwrap().to_string(), "AZ/GOV/1400000002/registry");
        let a = parties(true, true).accused(|| None).unwrap();
        assert_eq!(a.client.to_string(), "AZ/GOV/1400000002/registry");
        assert_eq!(a.claimed_client, None);
        // not even the peer identified: the owner its certificate names, if any
        let a = parties(false, false).accused(|| Some("AZ/GOV/1400000077".parse().unwrap())).unwrap();
        assert_eq!(a.client.to_string(), "AZ/GOV/1400000077");
        assert!(parties(false, false).accused(|| None).is_none());
    }
}
