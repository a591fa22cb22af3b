//! SOAP 1.1 envelopes with X-Road message protocol 4.0 headers (PR-MESS; TT-5.1).
//!
//! The parser is a single streaming pass over the exact bytes the client sent (those bytes
//! are hashed for `requestHash`, so they are never re-serialised). It resolves namespaces by
//! scope, never by prefix, and refuses what a gateway must not process:
//! DTDs (and so external entities and entity expansion), undefined entities, processing
//! instructions, non-UTF-8 input, more than one body element, and deep nesting.

use std::ops::Range;

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

use crate::id::{ClientId, IdError, SecurityServerId, ServiceId};
use crate::xml::{escape_text, escaped};

/// SOAP 1.1 envelope namespace.
pub const SOAP_ENV_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// X-Road header namespace.
pub const XROAD_NS: &str = "http://x-road.eu/xsd/xroad.xsd";
/// X-Road identifier namespace.
pub const IDENTIFIERS_NS: &str = "http://x-road.eu/xsd/identifiers";
/// The only message protocol version we speak.
pub const PROTOCOL_VERSION: &str = "4.0";
/// Deepest element nesting accepted; real envelopes stay well below it.
pub const MAX_DEPTH: usize = 64;

/// Why an envelope was refused. Each variant maps to the X-Road fault code suffix returned
/// by [`SoapError::code`]; the security server adds the `Client.` or
/// `Server.ClientProxy.ServiceFailed.` origin depending on who sent the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SoapError {
    /// Not well-formed XML, not UTF-8, a DTD, an undefined entity, a processing instruction,
    /// or not a SOAP 1.1 envelope.
    #[error("invalid SOAP message: {0}")]
    InvalidSoap(String),
    /// The envelope has no `Header`.
    #[error("the SOAP envelope has no Header with X-Road header fields")]
    MissingHeader,
    /// A mandatory header field is missing or empty.
    #[error("required X-Road header field '{0}' is missing")]
    MissingHeaderField(&'static str),
    /// A header field appears twice.
    #[error("X-Road header field '{0}' appears more than once")]
    DuplicateHeaderField(String),
    /// A header field has content it must not have.
    #[error("X-Road header field '{0}' is malformed: {1}")]
    InvalidHeaderField(&'static str, String),
    /// `protocolVersion` is not `4.0`.
    #[error("unsupported X-Road protocol version '{0}', expected '4.0'")]
    InvalidProtocolVersion(String),
    /// The `client` header is not a valid member or subsystem identifier.
    #[error("invalid client identifier: {0}")]
    InvalidClientIdentifier(String),
    /// The `service` header is not a valid service identifier.
    #[error("invalid service identifier: {0}")]
    InvalidServiceIdentifier(String),
    /// The `securityServer` header is not a valid security server identifier.
    #[error("invalid security server identifier: {0}")]
    InvalidSecurityServerIdentifier(String),
    /// The envelope has no `Body`, or the body has no element.
    #[error("the SOAP envelope has no Body element")]
    MissingBody,
    /// The body is not what the header announces.
    #[error("invalid SOAP body: {0}")]
    InvalidBody(String),
    /// The HTTP `SOAPAction` names another operation than the `service` header.
    #[error(
        "SOAPAction {0:?} does not name the service '{1}'; send an empty SOAPAction or one ending in the service code"
    )]
    InvalidSoapAction(String, String),
}

impl SoapError {
    /// The X-Road fault code suffix (e.g. `InvalidSoap`).
    pub fn code(&self) -> &'static str {
        match self {
            SoapError::InvalidSoap(_) => "InvalidSoap",
            SoapError::MissingHeader => "MissingHeader",
            SoapError::MissingHeaderField(_) => "MissingHeaderField",
            SoapError::DuplicateHeaderField(_) => "DuplicateHeaderField",
            SoapError::InvalidHeaderField(..) => "InvalidHeaderField",
            SoapError::InvalidProtocolVersion(_) => "InvalidProtocolVersion",
            SoapError::InvalidClientIdentifier(_) => "InvalidClientIdentifier",
            SoapError::InvalidServiceIdentifier(_) => "InvalidServiceIdentifier",
            SoapError::InvalidSecurityServerIdentifier(_) => "InvalidSecurityServerIdentifier",
            SoapError::MissingBody => "MissingBody",
            SoapError::InvalidBody(_) => "InvalidBody",
            SoapError::InvalidSoapAction(..) => "InvalidSoapAction",
        }
    }
}

/// The `SOAPAction` a service receives for a request to `service_code`: the client's
/// when it is empty or names that operation (its last part after `/`, `#` or `:`, as in
/// `"urn:getPerson"` or `"http://agency/getPerson"`), `""` when the client sent none.
/// Anything else is refused: services that dispatch on `SOAPAction` must not be steered to
/// an operation other than the one the access right was checked for (issue 13, item 3).
pub fn checked_soap_action(action: Option<&str>, service_code: &str) -> Result<String, SoapError> {
    let Some(raw) = action else { return Ok("\"\"".to_owned()) };
    let bare = raw.trim();
    let bare = bare.strip_prefix('"').and_then(|b| b.strip_suffix('"')).unwrap_or(bare);
    let refused = || SoapError::InvalidSoapAction(raw.chars().take(120).collect(), service_code.to_owned());
    if bare.contains('"') || raw.chars().any(char::is_control) {
        return Err(refused());
    }
    if bare.is_empty() || bare.rsplit(['/', '#', ':']).next() == Some(service_code) {
        Ok(raw.trim().to_owned())
    } else {
        Err(refused())
    }
}

/// The `requestHash` header of a response: algorithm URI and base64 digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHash {
    /// XML-DSig digest algorithm URI (`http://www.w3.org/2001/04/xmlenc#sha512`).
    pub algorithm: String,
    /// Base64 digest of the exact request bytes.
    pub value: String,
}

/// The X-Road header fields of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XRoadHeader {
    /// Who sends the request.
    pub client: ClientId,
    /// The service called.
    pub service: ServiceId,
    /// The client's message id (may repeat between requests: the client's business).
    pub id: String,
    /// The end user (authorised official, TT-6.6), if given.
    pub user_id: Option<String>,
    /// Case or document reference, if given.
    pub issue: Option<String>,
    /// Always `4.0` after validation.
    pub protocol_version: String,
    /// Targeted security server, if given.
    pub security_server: Option<SecurityServerId>,
    /// Only in responses: hash of the request, added by the provider's security server.
    pub request_hash: Option<RequestHash>,
}

impl XRoadHeader {
    /// Checks that a response header echoes this request header (PR-MESS §2.3): same
    /// client, service, id, userId, issue and protocol version.
    pub fn check_echoed_by(&self, response: &XRoadHeader) -> Result<(), String> {
        let mismatch = |field: &str| Err(format!("response header '{field}' differs from the request"));
        if response.client != self.client {
            return mismatch("client");
        }
        if response.service != self.service {
            return mismatch("service");
        }
        if response.id != self.id {
            return mismatch("id");
        }
        if response.user_id != self.user_id {
            return mismatch("userId");
        }
        if response.issue != self.issue {
            return mismatch("issue");
        }
        if response.protocol_version != self.protocol_version {
            return mismatch("protocolVersion");
        }
        Ok(())
    }

    /// Writes the header fields as SOAP header XML with the `xrd`/`id` prefixes, which the
    /// caller must bind (see [`build_envelope`]).
    pub fn write_xml(&self, out: &mut String) {
        write_client(out, "client", &self.client);
        write_service(out, "service", &self.service);
        push_text_element(out, "xrd:id", &self.id);
        if let Some(h) = &self.request_hash {
            out.push_str("<xrd:requestHash algorithmId=\"");
            escape_text(&h.algorithm, out);
            out.push_str("\">");
            escape_text(&h.value, out);
            out.push_str("</xrd:requestHash>");
        }
        if let Some(u) = &self.user_id {
            push_text_element(out, "xrd:userId", u);
        }
        if let Some(i) = &self.issue {
            push_text_element(out, "xrd:issue", i);
        }
        if let Some(s) = &self.security_server {
            out.push_str("<xrd:securityServer id:objectType=\"SERVER\">");
            write_id_parts(out, s.owner());
            push_text_element(out, "id:serverCode", s.server_code());
            out.push_str("</xrd:securityServer>");
        }
        push_text_element(out, "xrd:protocolVersion", &self.protocol_version);
    }
}

/// Writes `<xrd:{element} id:objectType="SERVICE">` with the service's identifier parts.
pub fn write_service(out: &mut String, element: &str, service: &ServiceId) {
    out.push_str("<xrd:");
    out.push_str(element);
    out.push_str(" id:objectType=\"SERVICE\">");
    write_id_parts(out, service.provider());
    push_text_element(out, "id:serviceCode", service.service_code());
    if let Some(v) = service.version() {
        push_text_element(out, "id:serviceVersion", v);
    }
    out.push_str("</xrd:");
    out.push_str(element);
    out.push('>');
}

/// Writes `<xrd:{element} id:objectType="MEMBER|SUBSYSTEM">` with the identifier parts.
pub fn write_client(out: &mut String, element: &str, id: &ClientId) {
    out.push_str("<xrd:");
    out.push_str(element);
    out.push_str(" id:objectType=\"");
    out.push_str(id.object_type());
    out.push_str("\">");
    write_id_parts(out, id);
    out.push_str("</xrd:");
    out.push_str(element);
    out.push('>');
}

/// Writes the `id:` parts of a member or subsystem identifier (prefix `id` must be bound).
pub fn write_id_parts(out: &mut String, id: &ClientId) {
    push_text_element(out, "id:xRoadInstance", id.instance());
    push_text_element(out, "id:memberClass", id.member_class());
    push_text_element(out, "id:memberCode", id.member_code());
    if let Some(s) = id.subsystem_code() {
        push_text_element(out, "id:subsystemCode", s);
    }
}

fn push_text_element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    escape_text(text, out);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Builds a complete envelope: `header` plus `body_xml` (the body's child element, as XML
/// text in which the caller declares its own namespaces).
pub fn build_envelope(header: &XRoadHeader, body_xml: &str) -> String {
    let mut out = String::with_capacity(1024 + body_xml.len());
    out.push_str(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" \
xmlns:xrd=\"http://x-road.eu/xsd/xroad.xsd\" xmlns:id=\"http://x-road.eu/xsd/identifiers\"><SOAP-ENV:Header>",
    );
    header.write_xml(&mut out);
    out.push_str("</SOAP-ENV:Header><SOAP-ENV:Body>");
    out.push_str(body_xml);
    out.push_str("</SOAP-ENV:Body></SOAP-ENV:Envelope>");
    out
}

/// A namespace-qualified element name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementName {
    /// Namespace URI, if the element is in one.
    pub namespace: Option<String>,
    /// Local name.
    pub local: String,
}

/// A SOAP Fault found in a body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SoapFault {
    /// `faultcode` text.
    pub code: String,
    /// `faultstring` text.
    pub string: String,
}

/// A validated X-Road message (request or response) and where its parts sit in the bytes.
#[derive(Debug, Clone)]
pub struct SoapMessage {
    /// The header fields.
    pub header: XRoadHeader,
    /// The body's single child element.
    pub body_element: ElementName,
    /// Byte offset just after the `</id>` end tag, where `requestHash` is inserted.
    id_end: usize,
    /// The prefix written on the `id` element, reused for `requestHash`.
    id_prefix: Option<String>,
    /// Byte range of an existing `requestHash` element, removed when the provider's
    /// security server writes its own.
    request_hash_span: Option<Range<usize>>,
}

/// What a service (or a provider's security server) answered.
#[derive(Debug, Clone)]
pub enum SoapResponse {
    /// A normal X-Road response.
    Message(Box<SoapMessage>),
    /// A SOAP Fault, passed to the client unchanged.
    Fault(SoapFault),
}

/// Parses and validates a client's request: headers present and consistent, protocol 4.0,
/// exactly one body element whose local name equals the service code.
pub fn parse_request(bytes: &[u8]) -> Result<SoapMessage, SoapError> {
    let raw = scan(bytes)?;
    let body = raw.body.clone().ok_or(SoapError::MissingBody)?;
    if let Body::Fault(_) = body {
        return Err(SoapError::InvalidBody("a request body must not be a SOAP Fault".into()));
    }
    let message = raw.into_message()?;
    if message.body_element.local != message.header.service.service_code() {
        return Err(SoapError::InvalidBody(format!(
            "body element '{}' does not match service code '{}'",
            message.body_element.local,
            message.header.service.service_code()
        )));
    }
    Ok(message)
}

/// Parses a response: either a SOAP Fault (passed through) or a message with headers.
pub fn parse_response(bytes: &[u8]) -> Result<SoapResponse, SoapError> {
    let raw = scan(bytes)?;
    if let Some(Body::Fault(f)) = &raw.body {
        return Ok(SoapResponse::Fault(f.clone()));
    }
    Ok(SoapResponse::Message(Box::new(raw.into_message()?)))
}

/// Returns `bytes` with the provider's `requestHash` written right after the `id` element
/// (as X-Road's provider security server does), replacing any `requestHash` the service
/// itself put there.
///
/// The element declares its own namespace: the `id` element's prefix (or default namespace)
/// may have been declared on `id` itself, and so be out of scope for a sibling.
pub fn with_request_hash(bytes: &[u8], message: &SoapMessage, hash: &RequestHash) -> Vec<u8> {
    let (prefix, declaration) = match message.id_prefix.as_deref() {
        Some(p) => (format!("{p}:"), format!("xmlns:{p}=\"{XROAD_NS}\"")),
        None => (String::new(), format!("xmlns=\"{XROAD_NS}\"")),
    };
    let element = format!(
        "<{prefix}requestHash algorithmId=\"{}\" {declaration}>{}</{prefix}requestHash>",
        escaped(&hash.algorithm),
        escaped(&hash.value)
    );
    let mut out = Vec::with_capacity(bytes.len() + element.len());
    let insert_at = message.id_end.min(bytes.len());
    let skip = message.request_hash_span.clone().unwrap_or(insert_at..insert_at);
    // The two edits are disjoint (requestHash and id are sibling elements): apply in order.
    let mut edits = [(skip.start, skip.end, None), (insert_at, insert_at, Some(element.as_bytes()))];
    edits.sort_by_key(|(start, _, _)| *start);
    let mut pos = 0;
    for (start, end, insert) in edits {
        let start = start.clamp(pos, bytes.len());
        out.extend_from_slice(&bytes[pos..start]);
        if let Some(text) = insert {
            out.extend_from_slice(text);
        }
        pos = end.clamp(start, bytes.len());
    }
    out.extend_from_slice(&bytes[pos..]);
    out
}

// ---------------------------------------------------------------------------------------
// The scanner: one pass over the events, collecting header fields and body facts.

#[derive(Debug, Clone)]
enum Body {
    Element(ElementName),
    Fault(SoapFault),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Client,
    Service,
    Id,
    UserId,
    Issue,
    ProtocolVersion,
    RequestHash,
    SecurityServer,
}

impl Field {
    fn from_local(local: &str) -> Option<Field> {
        Some(match local {
            "client" => Field::Client,
            "service" => Field::Service,
            "id" => Field::Id,
            "userId" => Field::UserId,
            "issue" => Field::Issue,
            "protocolVersion" => Field::ProtocolVersion,
            "requestHash" => Field::RequestHash,
            "securityServer" => Field::SecurityServer,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Field::Client => "client",
            Field::Service => "service",
            Field::Id => "id",
            Field::UserId => "userId",
            Field::Issue => "issue",
            Field::ProtocolVersion => "protocolVersion",
            Field::RequestHash => "requestHash",
            Field::SecurityServer => "securityServer",
        }
    }

    fn is_identifier(self) -> bool {
        matches!(self, Field::Client | Field::Service | Field::SecurityServer)
    }
}

/// Identifier parts collected from one `client`/`service`/`securityServer` element.
#[derive(Debug, Default, Clone)]
struct IdParts {
    object_type: Option<String>,
    parts: Vec<(String, String)>,
}

impl IdParts {
    fn get(&self, name: &str) -> Option<&str> {
        self.parts.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn require(&self, name: &'static str) -> Result<&str, String> {
        self.get(name).ok_or_else(|| format!("'{name}' is missing"))
    }

    fn client(&self) -> Result<ClientId, String> {
        let kind = self.object_type.as_deref().ok_or("attribute id:objectType is missing")?;
        let inst = self.require("xRoadInstance")?;
        let class = self.require("memberClass")?;
        let code = self.require("memberCode")?;
        let sub = self.get("subsystemCode");
        self.only(&["xRoadInstance", "memberClass", "memberCode", "subsystemCode"])?;
        match (kind, sub) {
            ("MEMBER", None) => ClientId::member(inst, class, code).map_err(id_err),
            ("MEMBER", Some(_)) => Err("objectType MEMBER must not have a subsystemCode".into()),
            ("SUBSYSTEM", Some(s)) => ClientId::subsystem(inst, class, code, s).map_err(id_err),
            ("SUBSYSTEM", None) => Err("objectType SUBSYSTEM requires a subsystemCode".into()),
            (other, _) => Err(format!("objectType '{other}' is not MEMBER or SUBSYSTEM")),
        }
    }

    fn service(&self) -> Result<ServiceId, String> {
        match self.object_type.as_deref() {
            Some("SERVICE") => {}
            Some(other) => return Err(format!("objectType '{other}' is not SERVICE")),
            None => return Err("attribute id:objectType is missing".into()),
        }
        self.only(&["xRoadInstance", "memberClass", "memberCode", "subsystemCode", "serviceCode", "serviceVersion"])?;
        let provider = ClientId::subsystem(
            self.require("xRoadInstance")?,
            self.require("memberClass")?,
            self.require("memberCode")?,
            self.require("subsystemCode")?,
        )
        .map_err(id_err)?;
        ServiceId::new(provider, self.require("serviceCode")?, self.get("serviceVersion")).map_err(id_err)
    }

    fn security_server(&self) -> Result<SecurityServerId, String> {
        match self.object_type.as_deref() {
            Some("SERVER") => {}
            Some(other) => return Err(format!("objectType '{other}' is not SERVER")),
            None => return Err("attribute id:objectType is missing".into()),
        }
        self.only(&["xRoadInstance", "memberClass", "memberCode", "serverCode"])?;
        let owner =
            ClientId::member(self.require("xRoadInstance")?, self.require("memberClass")?, self.require("memberCode")?)
                .map_err(id_err)?;
        SecurityServerId::new(owner, self.require("serverCode")?).map_err(id_err)
    }

    fn only(&self, allowed: &[&str]) -> Result<(), String> {
        match self.parts.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
            Some((n, _)) => Err(format!("unexpected element '{n}'")),
            None => Ok(()),
        }
    }
}

fn id_err(e: IdError) -> String {
    e.to_string()
}

#[derive(Debug, Default)]
struct RawEnvelope {
    saw_header: bool,
    texts: Vec<(Field, String)>,
    ids: Vec<(Field, IdParts)>,
    request_hash_algorithm: Option<String>,
    body: Option<Body>,
    id_end: Option<usize>,
    id_prefix: Option<String>,
    request_hash_span: Option<Range<usize>>,
}

impl RawEnvelope {
    fn text(&self, f: Field) -> Option<&str> {
        self.texts.iter().find(|(k, _)| *k == f).map(|(_, v)| v.as_str())
    }

    fn ids(&self, f: Field) -> Option<&IdParts> {
        self.ids.iter().find(|(k, _)| *k == f).map(|(_, v)| v)
    }

    fn into_message(self) -> Result<SoapMessage, SoapError> {
        if !self.saw_header {
            return Err(SoapError::MissingHeader);
        }
        let client = self
            .ids(Field::Client)
            .ok_or(SoapError::MissingHeaderField("client"))?
            .client()
            .map_err(SoapError::InvalidClientIdentifier)?;
        let service = self
            .ids(Field::Service)
            .ok_or(SoapError::MissingHeaderField("service"))?
            .service()
            .map_err(SoapError::InvalidServiceIdentifier)?;
        let security_server = match self.ids(Field::SecurityServer) {
            Some(parts) => Some(parts.security_server().map_err(SoapError::InvalidSecurityServerIdentifier)?),
            None => None,
        };
        let id = self.text(Field::Id).filter(|s| !s.trim().is_empty()).ok_or(SoapError::MissingHeaderField("id"))?;
        let protocol_version =
            self.text(Field::ProtocolVersion).ok_or(SoapError::MissingHeaderField("protocolVersion"))?;
        if protocol_version.trim() != PROTOCOL_VERSION {
            return Err(SoapError::InvalidProtocolVersion(protocol_version.chars().take(40).collect()));
        }
        let request_hash = match self.text(Field::RequestHash) {
            Some(v) => Some(RequestHash {
                algorithm: self.request_hash_algorithm.clone().unwrap_or_default(),
                value: v.trim().to_owned(),
            }),
            None => None,
        };
        let body_element = match self.body.clone() {
            Some(Body::Element(e)) => e,
            Some(Body::Fault(_)) => return Err(SoapError::InvalidBody("unexpected SOAP Fault".into())),
            None => return Err(SoapError::MissingBody),
        };
        Ok(SoapMessage {
            header: XRoadHeader {
                client,
                service,
                id: id.to_owned(),
                user_id: self.text(Field::UserId).map(str::to_owned),
                issue: self.text(Field::Issue).map(str::to_owned),
                protocol_version: PROTOCOL_VERSION.to_owned(),
                security_server,
                request_hash,
            },
            body_element,
            id_end: self.id_end.unwrap_or(0),
            id_prefix: self.id_prefix,
            request_hash_span: self.request_hash_span,
        })
    }
}

/// Where the scanner is inside the envelope.
#[derive(Debug)]
enum Frame {
    Envelope,
    Header,
    /// A text-only header field; the string collects its content.
    TextField(Field, String, usize),
    /// An identifier header field and its parts.
    IdField(Field, IdParts),
    /// One part of an identifier (`id:memberCode`, …).
    IdPart(String, String),
    Body,
    /// The body's child element; the number counts nested elements within it.
    BodyContent,
    Fault,
    FaultText(&'static str, String),
    /// An element we do not interpret (other headers, nested body content).
    Other,
}

fn scan(bytes: &[u8]) -> Result<RawEnvelope, SoapError> {
    let (offset, bytes) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (3, rest),
        None => (0, bytes),
    };
    let text = std::str::from_utf8(bytes)
        .map_err(|e| SoapError::InvalidSoap(format!("message is not valid UTF-8 (byte {})", e.valid_up_to())))?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().trim_text(false);
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = false;

    let mut env = RawEnvelope::default();
    let mut stack: Vec<Frame> = Vec::with_capacity(16);
    let mut finished = false;
    let mut fault = SoapFault::default();

    loop {
        let start_pos = offset + reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| SoapError::InvalidSoap(format!("malformed XML at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::Decl(decl) => {
                if let Some(enc) = decl.encoding() {
                    let enc = enc.map_err(|e| SoapError::InvalidSoap(format!("bad XML declaration: {e}")))?;
                    if !enc.eq_ignore_ascii_case("utf-8") {
                        return Err(SoapError::InvalidSoap(format!("encoding '{enc}' is not supported, use UTF-8")));
                    }
                }
            }
            Event::DocType(_) => {
                return Err(SoapError::InvalidSoap("a DTD (<!DOCTYPE>) is not allowed in a SOAP message".into()));
            }
            Event::PI(_) => {
                return Err(SoapError::InvalidSoap("processing instructions are not allowed in a SOAP message".into()));
            }
            Event::Comment(_) => {}
            Event::Start(e) => {
                check_attributes(&e)?;
                if finished {
                    return Err(SoapError::InvalidSoap("content after the end of the Envelope".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(SoapError::InvalidSoap(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let frame = open_element(&reader, &e, &mut stack, &mut env, start_pos)?;
                stack.push(frame);
            }
            Event::Empty(e) => {
                check_attributes(&e)?;
                if finished {
                    return Err(SoapError::InvalidSoap("content after the end of the Envelope".into()));
                }
                let frame = open_element(&reader, &e, &mut stack, &mut env, start_pos)?;
                let end = offset + reader.buffer_position() as usize;
                close_element(frame, &mut stack, &mut env, &mut fault, end)?;
                if stack.is_empty() {
                    finished = true;
                }
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or_else(|| SoapError::InvalidSoap("unbalanced end tag".into()))?;
                let end = offset + reader.buffer_position() as usize;
                close_element(frame, &mut stack, &mut env, &mut fault, end)?;
                if stack.is_empty() {
                    finished = true;
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&mut stack, &content)?;
            }
            Event::CData(c) => {
                let content: &str = &c;
                push_text(&mut stack, content)?;
            }
            Event::GeneralRef(r) => {
                let ch = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| SoapError::InvalidSoap(format!("bad character reference: {e}")))?
                        .ok_or_else(|| SoapError::InvalidSoap("bad character reference".into()))?
                } else {
                    let name = r.xml10_content();
                    match name.as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(SoapError::InvalidSoap(format!(
                                "undefined entity '&{}' (entities other than the five predefined ones are refused)",
                                other.chars().take(40).collect::<String>()
                            )));
                        }
                    }
                };
                push_text(&mut stack, ch.encode_utf8(&mut [0u8; 4]))?;
            }
            Event::Eof => break,
        }
    }
    if !stack.is_empty() || !finished {
        return Err(SoapError::InvalidSoap("the document ends before the Envelope is closed".into()));
    }
    if let Some(Body::Fault(_)) = &env.body {
        env.body = Some(Body::Fault(fault));
    }
    Ok(env)
}

/// Refuses malformed or duplicate attributes and undefined entities inside attribute values.
fn check_attributes(e: &BytesStart<'_>) -> Result<(), SoapError> {
    for attr in e.attributes() {
        let attr = attr.map_err(|err| SoapError::InvalidSoap(format!("malformed attribute: {err}")))?;
        attr.normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| SoapError::InvalidSoap(format!("bad attribute value: {err}")))?;
    }
    Ok(())
}

fn resolve_ns(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> Result<Option<String>, SoapError> {
    let (ns, _) = reader.resolver().resolve_element(e.name());
    match ns {
        ResolveResult::Bound(ns) => Ok(Some(AsRef::<str>::as_ref(&ns).to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(SoapError::InvalidSoap(format!("namespace prefix '{p}' is not declared"))),
    }
}

fn local_name(e: &BytesStart<'_>) -> String {
    AsRef::<str>::as_ref(&e.local_name()).to_owned()
}

fn object_type(reader: &NsReader<&[u8]>, e: &BytesStart<'_>) -> Result<Option<String>, SoapError> {
    for attr in e.attributes().flatten() {
        let (ns, local) = reader.resolver().resolve_attribute(attr.key);
        let in_id_ns = matches!(ns, ResolveResult::Bound(n) if AsRef::<str>::as_ref(&n) == IDENTIFIERS_NS);
        if in_id_ns && AsRef::<str>::as_ref(&local) == "objectType" {
            let v = attr
                .normalized_value(XmlVersion::Implicit1_0)
                .map_err(|err| SoapError::InvalidSoap(err.to_string()))?;
            return Ok(Some(v.into_owned()));
        }
    }
    Ok(None)
}

fn open_element(
    reader: &NsReader<&[u8]>,
    e: &BytesStart<'_>,
    stack: &mut [Frame],
    env: &mut RawEnvelope,
    start_pos: usize,
) -> Result<Frame, SoapError> {
    let ns = resolve_ns(reader, e)?;
    let local = local_name(e);
    let is = |want_ns: &str, want_local: &str| ns.as_deref() == Some(want_ns) && local == want_local;
    let Some(parent) = stack.last_mut() else {
        if is(SOAP_ENV_NS, "Envelope") {
            return Ok(Frame::Envelope);
        }
        return Err(SoapError::InvalidSoap(format!(
            "the root element must be a SOAP 1.1 Envelope ({SOAP_ENV_NS}), found '{local}'"
        )));
    };
    Ok(match parent {
        Frame::Envelope => {
            if is(SOAP_ENV_NS, "Header") && !env.saw_header && env.body.is_none() {
                env.saw_header = true;
                Frame::Header
            } else if is(SOAP_ENV_NS, "Body") && env.body.is_none() {
                Frame::Body
            } else {
                return Err(SoapError::InvalidSoap(format!("unexpected element '{local}' in the Envelope")));
            }
        }
        Frame::Header => {
            let field = if ns.as_deref() == Some(XROAD_NS) { Field::from_local(&local) } else { None };
            match field {
                Some(f) => {
                    let seen = env.texts.iter().any(|(k, _)| *k == f) || env.ids.iter().any(|(k, _)| *k == f);
                    if seen {
                        return Err(SoapError::DuplicateHeaderField(f.name().to_owned()));
                    }
                    if f == Field::Id {
                        env.id_prefix = e.name().prefix().map(|p| AsRef::<str>::as_ref(&p).to_owned());
                    }
                    if f == Field::RequestHash {
                        for attr in e.attributes().flatten() {
                            if AsRef::<str>::as_ref(&attr.key) == "algorithmId" {
                                let v = attr
                                    .normalized_value(XmlVersion::Implicit1_0)
                                    .map_err(|err| SoapError::InvalidSoap(err.to_string()))?;
                                env.request_hash_algorithm = Some(v.into_owned());
                            }
                        }
                    }
                    if f.is_identifier() {
                        Frame::IdField(f, IdParts { object_type: object_type(reader, e)?, parts: vec![] })
                    } else {
                        Frame::TextField(f, String::new(), start_pos)
                    }
                }
                None => Frame::Other,
            }
        }
        Frame::IdField(field, parts) => {
            if ns.as_deref() != Some(IDENTIFIERS_NS) {
                return Err(identifier_error(
                    *field,
                    format!("element '{local}' is not in the identifiers namespace {IDENTIFIERS_NS}"),
                ));
            }
            if parts.parts.iter().any(|(n, _)| *n == local) {
                return Err(identifier_error(*field, format!("'{local}' appears more than once")));
            }
            Frame::IdPart(local, String::new())
        }
        Frame::TextField(f, ..) => {
            return Err(SoapError::InvalidHeaderField(f.name(), "must contain text only".into()));
        }
        Frame::IdPart(name, _) => {
            return Err(SoapError::InvalidSoap(format!("identifier part '{name}' must contain text only")));
        }
        Frame::Body => {
            if env.body.is_some() {
                return Err(SoapError::InvalidBody("the Body must contain exactly one element".into()));
            }
            if is(SOAP_ENV_NS, "Fault") {
                env.body = Some(Body::Fault(SoapFault::default()));
                Frame::Fault
            } else {
                env.body = Some(Body::Element(ElementName { namespace: ns, local }));
                Frame::BodyContent
            }
        }
        Frame::Fault => match local.as_str() {
            "faultcode" => Frame::FaultText("faultcode", String::new()),
            "faultstring" => Frame::FaultText("faultstring", String::new()),
            _ => Frame::Other,
        },
        Frame::BodyContent | Frame::FaultText(..) | Frame::Other => Frame::Other,
    })
}

fn identifier_error(field: Field, msg: String) -> SoapError {
    match field {
        Field::Client => SoapError::InvalidClientIdentifier(msg),
        Field::Service => SoapError::InvalidServiceIdentifier(msg),
        _ => SoapError::InvalidSecurityServerIdentifier(msg),
    }
}

fn close_element(
    frame: Frame,
    stack: &mut [Frame],
    env: &mut RawEnvelope,
    fault: &mut SoapFault,
    end: usize,
) -> Result<(), SoapError> {
    match frame {
        Frame::TextField(field, text, start) => {
            if field == Field::Id {
                env.id_end = Some(end);
            }
            if field == Field::RequestHash {
                env.request_hash_span = Some(start..end);
            }
            env.texts.push((field, text));
        }
        Frame::IdField(field, parts) => env.ids.push((field, parts)),
        Frame::IdPart(name, text) => {
            if let Some(Frame::IdField(_, parts)) = stack.last_mut() {
                parts.parts.push((name, text));
            }
        }
        Frame::FaultText(which, text) => {
            if which == "faultcode" {
                fault.code = text.trim().to_owned();
            } else {
                fault.string = text;
            }
        }
        Frame::Body if env.body.is_none() => return Err(SoapError::MissingBody),
        _ => {}
    }
    Ok(())
}

fn push_text(stack: &mut [Frame], content: &str) -> Result<(), SoapError> {
    match stack.last_mut() {
        Some(Frame::TextField(_, s, _)) | Some(Frame::IdPart(_, s)) | Some(Frame::FaultText(_, s)) => {
            s.push_str(content);
            Ok(())
        }
        Some(Frame::BodyContent) | Some(Frame::Other) | Some(Frame::Fault) => Ok(()),
        Some(Frame::IdField(..)) | Some(Frame::Envelope) | Some(Frame::Header) | Some(Frame::Body) | None => {
            if content.chars().all(char::is_whitespace) {
                Ok(())
            } else {
                Err(SoapError::InvalidSoap(format!(
                    "unexpected text '{}' outside of elements",
                    content.trim().chars().take(40).collect::<String>()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests;
