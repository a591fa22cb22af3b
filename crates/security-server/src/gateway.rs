//! The state one security server shares between its two sides, and the consumer-side step
//! that every request takes: sign, send to the provider's security server, verify the answer.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use egov_globalconf::Directory;
use egov_msglog::{Direction, Side};
use egov_pki::TrustStore;
use egov_xroad::{Fault, SecurityServerId};

use crate::backend::Backend;
use crate::conf::LiveConf;
use crate::error::{GatewayError, Origin, UnknownMember};
use crate::transport::client::{PeerKey, PeerPool};
use crate::transport::message::{self, FAULT_CONTENT_TYPE, RequestMeta, ResponseMeta};
use crate::transport::ocsp::{OcspChecker, OcspStapler};
use crate::transport::replay::ReplayGuard;
use crate::transport::signing::{BatchSigner, SignatureError, SignatureVerified, SignatureVerifier};
use crate::transport::tls::ServerKeys;

/// Timeouts of one security server.
#[derive(Debug, Clone)]
pub struct Timeouts {
    /// An information system must send its request headers within this time.
    pub client_header: Duration,
    /// … and its whole body within this time.
    pub client_body: Duration,
    /// Extra time the consumer side waits beyond the service budget, for the network and
    /// the provider's security server.
    pub peer_margin: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            client_header: Duration::from_secs(10),
            client_body: Duration::from_secs(10),
            peer_margin: Duration::from_secs(3),
        }
    }
}

/// The federation directory as currently trusted, shared and replaceable.
pub type DirectoryHandle = crate::shared::Shared<Directory>;

/// Everything the message path needs.
#[derive(Debug)]
pub struct Gateway {
    /// This security server.
    pub id: SecurityServerId,
    /// The federation directory.
    pub directory: DirectoryHandle,
    /// Hosted clients, services and access rights.
    pub conf: LiveConf,
    /// Certificates trusted for signatures and TLS.
    pub trust: Arc<TrustStore>,
    /// Signs outgoing messages.
    pub signer: BatchSigner,
    /// Verifies incoming messages.
    pub verifier: SignatureVerifier,
    /// Refuses replayed requests.
    pub replay: ReplayGuard,
    /// Connections to other security servers.
    pub pool: PeerPool,
    /// HTTP client for the provider's services.
    pub backend: Backend,
    /// Timeouts.
    pub timeouts: Timeouts,
    /// Reports security incidents to the operator (TT-6.8).
    pub incidents: crate::incidents::IncidentReporter,
    /// Fetches this server's OCSP response, stapled to every signature.
    pub stapler: OcspStapler,
    /// Checks the OCSP responses peers staple.
    pub ocsp: OcspChecker,
    /// The message log (TT-2.2.2); `None` only where a test or benchmark runs without it.
    pub msglog: Option<egov_msglog::MessageLog>,
    /// Who may read the message log and the monitoring data (token holders and roles).
    pub users: crate::shared::Shared<crate::users::Users>,
    /// How many refused archive reads per source are recorded one by one.
    pub refusals: crate::refusals::RefusalLimiter,
    /// When this server started (ms since the Unix epoch).
    pub started_ms: i64,
}

/// A provider's answer whose signature verified and which belongs to our request.
#[derive(Debug)]
pub struct VerifiedResponse {
    /// Its metadata.
    pub meta: ResponseMeta,
    /// SOAP message or REST response header part.
    pub message: Bytes,
    /// REST body.
    pub body: Bytes,
    /// Proof of the signature check.
    pub signature: SignatureVerified,
}

impl Gateway {
    /// Builds the shared state; the signer task starts on the current runtime.
    pub fn new(
        id: SecurityServerId,
        keys: ServerKeys,
        directory: DirectoryHandle,
        conf: LiveConf,
        timeouts: Timeouts,
    ) -> Result<Self, GatewayError> {
        let dir = directory.get();
        let trust = Arc::new(TrustStore::new(dir.ca_certs_der().to_vec()));
        trust.set_revoked(dir.conf().revoked_serials.iter().cloned());
        let stapler = OcspStapler::new(keys.auth_cert.clone(), keys.sign_cert.clone());
        let signer = BatchSigner::start(
            keys.sign_key.signer().map_err(|e| GatewayError::Internal(e.to_string()))?,
            keys.sign_cert.clone(),
            stapler.current(),
        );
        let incidents = crate::incidents::IncidentReporter::start(id.clone(), &keys, trust.clone(), directory.clone())?;
        Ok(Self {
            incidents,
            stapler,
            ocsp: OcspChecker::new(),
            id,
            verifier: SignatureVerifier::new(trust.clone()),
            replay: ReplayGuard::new(dir.limits().replay_window_secs),
            pool: PeerPool::new(keys, trust.clone()),
            trust,
            signer,
            directory,
            conf,
            backend: Backend::new(),
            timeouts,
            msglog: None,
            users: crate::shared::Shared::new(crate::users::Users::default()),
            refusals: Default::default(),
            started_ms: message::now_ms(),
        })
    }

    /// Metadata of a new request from this server: fresh request id, nonce and timestamp.
    pub fn request_meta(
        &self,
        client: egov_xroad::ClientId,
        service: egov_xroad::ServiceId,
        protocol: message::Protocol,
        content_type: Option<String>,
        soap_action: Option<String>,
    ) -> RequestMeta {
        RequestMeta {
            request_id: uuid::Uuid::new_v4().to_string(),
            nonce: message::new_nonce(),
            timestamp_ms: message::now_ms(),
            sender: self.id.clone(),
            client,
            service,
            protocol,
            content_type,
            soap_action,
        }
    }

    /// Installs a new directory (revocations and blocks take effect immediately).
    ///
    /// Open connections to other security servers are dropped only when what they were
    /// authenticated against changed (servers, certificates, revocations): a new generation
    /// arrives every refresh interval and usually changes nothing else.
    pub fn update_directory(&self, directory: Directory) {
        let old = self.directory.get();
        let (before, after) = (old.conf(), directory.conf());
        if before.ca_certs_pem != after.ca_certs_pem {
            tracing::warn!("the Certification Centre's certificates changed: restart this server to trust them");
        }
        let peers_changed =
            before.security_servers != after.security_servers || before.revoked_serials != after.revoked_serials;
        self.trust.set_revoked(after.revoked_serials.iter().cloned());
        self.directory.set(directory);
        if peers_changed {
            self.pool.clear();
        }
    }

    /// Hands a signed message to the message log without waiting for the disk; the caller
    /// must [`Gateway::logged`] the result before releasing any answer that depends on it.
    pub async fn submit_message(
        &self,
        origin: Origin,
        entry: egov_msglog::Entry,
    ) -> Result<Option<egov_msglog::Pending>, GatewayError> {
        match &self.msglog {
            Some(log) => log.submit(entry).await.map(Some).map_err(|e| GatewayError::from_msglog(origin, e)),
            None => Ok(None),
        }
    }

    /// Waits until every submitted message is durable (one group commit usually covers all).
    pub async fn logged(
        &self,
        origin: Origin,
        pending: impl IntoIterator<Item = Option<egov_msglog::Pending>>,
    ) -> Result<(), GatewayError> {
        for p in pending.into_iter().flatten() {
            p.durable().await.map_err(|e| GatewayError::from_msglog(origin, e))?;
        }
        Ok(())
    }

    /// Refuses new traffic while the message log cannot accept it (time-stamping failed for
    /// too long).
    pub fn check_log_accepting(&self, origin: Origin) -> Result<(), GatewayError> {
        match &self.msglog {
            Some(log) => log.check_accepting().map_err(|e| GatewayError::from_msglog(origin, e)),
            None => Ok(()),
        }
    }

    /// Consumer side: signs `message`/`body` with `meta`, logs it, sends it to the security
    /// server hosting the service, and returns the verified (and logged) answer.
    /// `target` is the security server the client named (`securityServer` header), if any;
    /// `obs` collects the exchange's operational data (its `message_id` is the query id).
    pub async fn exchange(
        &self,
        meta: &RequestMeta,
        message: &[u8],
        body: &[u8],
        target: Option<&SecurityServerId>,
        obs: &mut crate::observe::Observation,
    ) -> Result<VerifiedResponse, GatewayError> {
        obs.client = Some(meta.client.clone());
        obs.service = Some(meta.service.clone());
        obs.request_id = Some(meta.request_id.clone());
        obs.request_size = (message.len() + body.len()) as u64;
        self.check_log_accepting(Origin::ClientProxy)?;
        if meta.client.member_id() != *self.id.owner() {
            // one signing key per server, the owner's: signing for another member would be
            // refused by every provider (IncorrectCertificate), so say it here, clearly
            return Err(GatewayError::UnknownMember(
                Origin::ClientProxy,
                Box::new(UnknownMember::ClientOfAnotherMember {
                    owner: self.id.owner().clone(),
                    client: meta.client.clone(),
                }),
            ));
        }
        let dir = self.directory.get();
        if let Err(e) =
            check_federation(&dir, Origin::ClientProxy, &meta.client, meta.service.provider(), egov_pki::unix_now())
        {
            // the client is hosted here and speaks through this server: it is the party
            let accused = crate::incidents::Accused {
                client: meta.client.clone(),
                service: Some(meta.service.clone()),
                peer_server: None,
                claimed_client: None,
            };
            self.incidents.report(&e, accused);
            return Err(e);
        }
        let provider_ss = match target {
            Some(t) => dir.server(t).filter(|s| s.clients.contains(meta.service.provider())),
            None => dir.server_of(meta.service.provider()),
        }
        .ok_or_else(|| {
            GatewayError::UnknownMember(
                Origin::ClientProxy,
                Box::new(UnknownMember::ProviderNowhere(meta.service.provider().clone())),
            )
        })?;
        let peer = PeerKey {
            server: provider_ss.id.clone(),
            address: provider_ss.address.clone(),
            auth_cert_sha256: provider_ss
                .auth_cert_hash()
                .ok_or_else(|| GatewayError::Internal(format!("bad certificate hash for {}", provider_ss.id)))?,
        };
        let meta_bytes = serde_json::to_vec(meta).map_err(|e| GatewayError::Internal(e.to_string()))?;
        let digest = message::digest(&meta_bytes, message, body);
        let block =
            self.signer.sign(digest).await.map_err(|e| GatewayError::Internal(format!("signing failed: {e}")))?;
        let signature = serde_json::to_vec(&block).map_err(|e| GatewayError::Internal(e.to_string()))?;
        let encoded = message::encode(&meta_bytes, message, body, &signature);
        // the request is logged in parallel with the exchange; the answer waits for both records
        let request_entry = log_entry(
            meta,
            obs.message_id.clone(),
            Direction::Request,
            Side::Client,
            &meta_bytes,
            message,
            body,
            digest,
            block,
        );
        let request_logged = self.submit_message(Origin::ClientProxy, request_entry).await?;
        let timeout = Duration::from_millis(dir.limits().service_timeout_ms) + self.timeouts.peer_margin;
        obs.request_out = Some(message::now_ms());
        let answer = self.pool.send(&peer, encoded, timeout).await;
        obs.response_in = Some(message::now_ms());
        let answer = answer?;

        if answer.content_type == FAULT_CONTENT_TYPE {
            return Err(GatewayError::Remote(parse_remote_fault(&answer.body)));
        }
        if answer.status != http::StatusCode::OK || answer.content_type != message::CONTENT_TYPE {
            return Err(GatewayError::InvalidMessage(
                Origin::ClientProxy,
                format!(
                    "the provider's security server answered HTTP {} with '{}'",
                    answer.status, answer.content_type
                ),
            ));
        }
        let frames = message::decode(&answer.body).map_err(|e| GatewayError::InvalidMessage(Origin::ClientProxy, e))?;
        let rmeta: ResponseMeta = frames.meta().map_err(|e| GatewayError::InvalidMessage(Origin::ClientProxy, e))?;
        if rmeta.request_id != meta.request_id || rmeta.request_digest != STANDARD.encode(digest) {
            return Err(GatewayError::InconsistentResponse("the response is bound to another request".into()));
        }
        if rmeta.protocol != meta.protocol {
            return Err(GatewayError::InconsistentResponse("the response is for another protocol".into()));
        }
        if rmeta.sender != provider_ss.id {
            return Err(GatewayError::InconsistentResponse(format!(
                "the response was sent by {}, not {}",
                rmeta.sender, provider_ss.id
            )));
        }
        let block = frames.signature().map_err(|e| GatewayError::InvalidMessage(Origin::ClientProxy, e))?;
        let now = egov_pki::unix_now();
        let verified = self
            .verifier
            .verify(&frames.digest(), &block, meta.service.provider(), now)
            .map_err(|e| signature_error(Origin::ClientProxy, e))?;
        self.check_ocsp(&dir, Origin::ClientProxy, &block, verified.signer_der(), None, now)?;
        let (message, body) = (answer.body.slice_ref(frames.message), answer.body.slice_ref(frames.body));
        obs.response_size = (message.len() + body.len()) as u64;
        let entry = egov_msglog::Entry {
            side: Side::Client,
            direction: Direction::Response,
            request_id: meta.request_id.clone(),
            query_id: obs.message_id.clone(),
            client: meta.client.to_string(),
            service: meta.service.to_string(),
            protocol: protocol_name(meta.protocol).into(),
            meta: answer.body.slice_ref(frames.meta),
            message: message.clone(),
            body: body.clone(),
            transport_digest: frames.digest(),
            signature: block,
        };
        // the answer is released to the client only once it and its request are on disk
        let response_logged = self.submit_message(Origin::ClientProxy, entry).await?;
        self.logged(Origin::ClientProxy, [request_logged, response_logged]).await?;
        Ok(VerifiedResponse { meta: rmeta, message, body, signature: verified })
    }
}

impl Gateway {
    /// When the federation runs an OCSP responder, the peer must staple a fresh response
    /// saying *good* for the certificate that signed `block` and, on the provider side, for
    /// the TLS certificate it connected with (`peer_auth_cert`).
    pub fn check_ocsp(
        &self,
        dir: &Directory,
        origin: Origin,
        block: &message::SignatureBlock,
        signing_cert: &[u8],
        peer_auth_cert: Option<&[u8]>,
        now: i64,
    ) -> Result<(), GatewayError> {
        if dir.conf().services.ocsp_url.is_none() {
            return Ok(());
        }
        let max_age = dir.limits().ocsp_freshness_secs as i64;
        let staple = block.ocsp.as_deref();
        self.ocsp
            .check(staple, signing_cert, dir.ca_certs_der(), now, max_age)
            .map_err(|e| GatewayError::InvalidCertPath(origin, format!("signing certificate: {e}")))?;
        if let Some(auth) = peer_auth_cert {
            self.ocsp.check(staple, auth, dir.ca_certs_der(), now, max_age).map_err(|e| {
                GatewayError::SslAuthenticationFailed(origin, format!("authentication certificate: {e}"))
            })?;
        }
        Ok(())
    }
}

/// Refuses an exchange when this server's global configuration has expired, or when the
/// operator has blocked the client's or the provider's member (TT-3.7) — checked on both
/// sides, so a block takes effect as soon as either server has the new configuration.
pub fn check_federation(
    dir: &Directory,
    origin: Origin,
    client: &egov_xroad::ClientId,
    provider: &egov_xroad::ClientId,
    now: i64,
) -> Result<(), GatewayError> {
    if let Some(expired) = dir.expired_at(now) {
        return Err(GatewayError::OutdatedGlobalConf(
            origin,
            format!(
                "generation {} expired at {}; the central server has not been reachable since",
                dir.conf().serial,
                egov_pki::rfc3339(expired)
            ),
        ));
    }
    for (role, who) in [("client", client), ("provider", provider)] {
        if dir.is_blocked(who) {
            return Err(GatewayError::MemberBlocked(
                origin,
                format!("the {role}'s member {} is blocked by the operator", who.member_id()),
            ));
        }
    }
    Ok(())
}

/// `soap` or `rest`, as the message log names the protocol.
pub fn protocol_name(protocol: message::Protocol) -> &'static str {
    match protocol {
        message::Protocol::Soap => "soap",
        message::Protocol::Rest => "rest",
    }
}

/// A message-log entry for a request's (or its answer's) frames.
#[allow(clippy::too_many_arguments)] // one entry's fields, named at each call site
pub fn log_entry(
    meta: &RequestMeta,
    query_id: Option<String>,
    direction: Direction,
    side: Side,
    meta_bytes: &[u8],
    message: &[u8],
    body: &[u8],
    digest: [u8; 32],
    signature: message::SignatureBlock,
) -> egov_msglog::Entry {
    egov_msglog::Entry {
        side,
        direction,
        request_id: meta.request_id.clone(),
        query_id,
        client: meta.client.to_string(),
        service: meta.service.to_string(),
        protocol: protocol_name(meta.protocol).into(),
        meta: Bytes::copy_from_slice(meta_bytes),
        message: Bytes::copy_from_slice(message),
        body: Bytes::copy_from_slice(body),
        transport_digest: digest,
        signature,
    }
}

/// Maps a signature failure to its fault.
pub fn signature_error(origin: Origin, e: SignatureError) -> GatewayError {
    match e {
        SignatureError::Malformed(m) => GatewayError::InvalidMessage(origin, format!("malformed signature: {m}")),
        SignatureError::CertPath(m) => GatewayError::InvalidCertPath(origin, m),
        SignatureError::WrongSigner(m) => GatewayError::IncorrectCertificate(origin, m),
        SignatureError::BadValue => GatewayError::InvalidSignatureValue(
            origin,
            "the signature does not match the message (altered in transit?)".into(),
        ),
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct WireFault {
    code: String,
    message: String,
    detail: String,
}

/// Body of a fault raised by the provider's security server.
pub fn remote_fault_body(fault: &Fault) -> Vec<u8> {
    serde_json::to_vec(&WireFault {
        code: fault.code.clone(),
        message: fault.message.clone(),
        detail: fault.detail.clone(),
    })
    .unwrap_or_default()
}

fn parse_remote_fault(body: &[u8]) -> Fault {
    match serde_json::from_slice::<WireFault>(body) {
        Ok(f) => Fault { code: egov_xroad::fault::normalize_fault_code(&f.code), message: f.message, detail: f.detail },
        Err(e) => Fault::new(
            "Server.ClientProxy.InvalidMessage",
            format!("unreadable fault from the provider's security server: {e}"),
        ),
    }
}
