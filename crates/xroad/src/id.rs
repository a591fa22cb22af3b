//! X-Road identifiers: members, subsystems, services and security servers.
//!
//! An identifier is a path of validated parts: `INSTANCE/CLASS/CODE[/SUBSYSTEM]` for a
//! client, `…/SUBSYSTEM/SERVICE[/VERSION]` for a service. The same value is written in SOAP
//! headers (one element per part, `id:objectType` attribute) and in REST headers and paths
//! (slash-separated). Parsing validates every part, so a value of these types is always
//! well-formed ("parse, don't validate").

use std::fmt;
use std::str::FromStr;

/// Longest identifier part we accept; X-Road's database columns are 255 characters wide.
pub const MAX_PART_LEN: usize = 255;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// A part is empty.
    #[error("{part} is empty")]
    EmptyPart {
        /// Which part (e.g. `memberCode`).
        part: &'static str,
    },
    /// A part is longer than [`MAX_PART_LEN`].
    #[error("{part} is longer than {MAX_PART_LEN} characters")]
    TooLong {
        /// Which part.
        part: &'static str,
    },
    /// A part contains a character outside X-Road's strict identifier alphabet.
    #[error("{part} contains the character {ch:?}; allowed are A-Z a-z 0-9 and ' ( ) + , - . = ?")]
    InvalidCharacter {
        /// Which part.
        part: &'static str,
        /// The first offending character.
        ch: char,
    },
    /// The slash-separated form has the wrong number of parts.
    #[error("{kind} identifier {value:?} must have the form {form}")]
    WrongShape {
        /// What was being parsed (client, service, security server).
        kind: &'static str,
        /// The offending text (truncated).
        value: String,
        /// The expected form.
        form: &'static str,
    },
}

/// Validates one identifier part against X-Road's strict alphabet (PR-MESS §2.7):
/// `A–Z a–z 0–9 ' ( ) + , - . = ?`.
pub fn validate_part(part: &'static str, value: &str) -> Result<(), IdError> {
    if value.is_empty() {
        return Err(IdError::EmptyPart { part });
    }
    if value.len() > MAX_PART_LEN {
        return Err(IdError::TooLong { part });
    }
    if let Some(ch) = value.chars().find(|c| !is_allowed_char(*c)) {
        return Err(IdError::InvalidCharacter { part, ch });
    }
    Ok(())
}

fn is_allowed_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '\'' | '(' | ')' | '+' | ',' | '-' | '.' | '=' | '?')
}

fn shorten(value: &str) -> String {
    value.chars().take(120).collect()
}

/// A member (`INSTANCE/CLASS/CODE`) or one of its subsystems (`…/SUBSYSTEM`): the party that
/// sends requests (`client`) or provides services.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId {
    instance: String,
    member_class: String,
    member_code: String,
    subsystem: Option<String>,
}

impl ClientId {
    /// A member identifier.
    pub fn member(instance: &str, member_class: &str, member_code: &str) -> Result<Self, IdError> {
        validate_part("xRoadInstance", instance)?;
        validate_part("memberClass", member_class)?;
        validate_part("memberCode", member_code)?;
        Ok(Self {
            instance: instance.to_owned(),
            member_class: member_class.to_owned(),
            member_code: member_code.to_owned(),
            subsystem: None,
        })
    }

    /// A subsystem identifier.
    pub fn subsystem(instance: &str, member_class: &str, member_code: &str, subsystem: &str) -> Result<Self, IdError> {
        let mut id = Self::member(instance, member_class, member_code)?;
        validate_part("subsystemCode", subsystem)?;
        id.subsystem = Some(subsystem.to_owned());
        Ok(id)
    }

    /// The X-Road instance (federation) this party belongs to.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The member class (e.g. `GOV`).
    pub fn member_class(&self) -> &str {
        &self.member_class
    }

    /// The member code (for Azerbaijani bodies, the tax id VÖEN).
    pub fn member_code(&self) -> &str {
        &self.member_code
    }

    /// The subsystem code, if this is a subsystem.
    pub fn subsystem_code(&self) -> Option<&str> {
        self.subsystem.as_deref()
    }

    /// `MEMBER` or `SUBSYSTEM`, as in the `id:objectType` attribute.
    pub fn object_type(&self) -> &'static str {
        if self.subsystem.is_some() { "SUBSYSTEM" } else { "MEMBER" }
    }

    /// The member this identifier belongs to (itself, if it is a member).
    pub fn member_id(&self) -> ClientId {
        ClientId { subsystem: None, ..self.clone() }
    }

    /// A service of this subsystem.
    pub fn service(&self, service_code: &str, version: Option<&str>) -> Result<ServiceId, IdError> {
        ServiceId::new(self.clone(), service_code, version)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.instance, self.member_class, self.member_code)?;
        if let Some(sub) = &self.subsystem {
            write!(f, "/{sub}")?;
        }
        Ok(())
    }
}

/// Parses the REST form `INSTANCE/CLASS/CODE[/SUBSYSTEM]` (the `X-Road-Client` header).
impl FromStr for ClientId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [i, c, m] => Self::member(i, c, m),
            [i, c, m, sub] => Self::subsystem(i, c, m, sub),
            _ => {
                Err(IdError::WrongShape { kind: "client", value: shorten(s), form: "INSTANCE/CLASS/CODE[/SUBSYSTEM]" })
            }
        }
    }
}

impl TryFrom<String> for ClientId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<ClientId> for String {
    fn from(id: ClientId) -> String {
        id.to_string()
    }
}

/// A service: provider subsystem, service code and optional version.
///
/// Services are always provided by a subsystem (as in X-Road since 6.x); a member-level
/// service is refused when parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServiceId {
    provider: ClientId,
    service_code: String,
    version: Option<String>,
}

impl ServiceId {
    /// A service of `provider`, which must be a subsystem.
    pub fn new(provider: ClientId, service_code: &str, version: Option<&str>) -> Result<Self, IdError> {
        if provider.subsystem.is_none() {
            return Err(IdError::WrongShape {
                kind: "service",
                value: provider.to_string(),
                form: "INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION] (services belong to subsystems)",
            });
        }
        validate_part("serviceCode", service_code)?;
        if let Some(v) = version {
            validate_part("serviceVersion", v)?;
        }
        Ok(Self { provider, service_code: service_code.to_owned(), version: version.map(str::to_owned) })
    }

    /// The subsystem that provides the service.
    pub fn provider(&self) -> &ClientId {
        &self.provider
    }

    /// The service code (the SOAP body wrapper's local name).
    pub fn service_code(&self) -> &str {
        &self.service_code
    }

    /// The service version, if given.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The same service without a version, as used for access rights (X-Road ignores
    /// versions there) and in REST.
    pub fn without_version(&self) -> ServiceId {
        ServiceId { version: None, ..self.clone() }
    }

    /// The REST form `INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE` (`X-Road-Service` header).
    pub fn to_rest_form(&self) -> String {
        format!("{}/{}", self.provider, self.service_code)
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.provider, self.service_code)?;
        if let Some(v) = &self.version {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// Parses `INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]`.
impl FromStr for ServiceId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [i, c, m, sub, svc] => ServiceId::new(ClientId::subsystem(i, c, m, sub)?, svc, None),
            [i, c, m, sub, svc, v] => ServiceId::new(ClientId::subsystem(i, c, m, sub)?, svc, Some(v)),
            _ => Err(IdError::WrongShape {
                kind: "service",
                value: shorten(s),
                form: "INSTANCE/CLASS/CODE/SUBSYSTEM/SERVICE[/VERSION]",
            }),
        }
    }
}

impl TryFrom<String> for ServiceId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<ServiceId> for String {
    fn from(id: ServiceId) -> String {
        id.to_string()
    }
}

/// A security server: its owner member and a server code (`INSTANCE/CLASS/CODE/SERVER`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SecurityServerId {
    owner: ClientId,
    server_code: String,
}

impl SecurityServerId {
    /// The security server `server_code` owned by member `owner`.
    pub fn new(owner: ClientId, server_code: &str) -> Result<Self, IdError> {
        validate_part("serverCode", server_code)?;
        Ok(Self { owner: owner.member_id(), server_code: server_code.to_owned() })
    }

    /// The owner member.
    pub fn owner(&self) -> &ClientId {
        &self.owner
    }

    /// The server code.
    pub fn server_code(&self) -> &str {
        &self.server_code
    }
}

impl fmt::Display for SecurityServerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.server_code)
    }
}

impl FromStr for SecurityServerId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            [i, c, m, server] => Self::new(ClientId::member(i, c, m)?, server),
            _ => Err(IdError::WrongShape {
                kind: "security server",
                value: shorten(s),
                form: "INSTANCE/CLASS/CODE/SERVER",
            }),
        }
    }
}

impl TryFrom<String> for SecurityServerId {
    type Error = IdError;
    fn try_from(s: String) -> Result<Self, IdError> {
        s.parse()
    }
}

impl From<SecurityServerId> for String {
    fn from(id: SecurityServerId) -> String {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn client_round_trips_through_rest_form() {
        let id: ClientId = "AZ/GOV/1400000001/portal".parse().unwrap();
        assert_eq!(id.object_type(), "SUBSYSTEM");
        assert_eq!(id.to_string(), "AZ/GOV/1400000001/portal");
        assert_eq!(id.member_id().to_string(), "AZ/GOV/1400000001");
    }

    #[test]
    fn refuses_bad_characters_and_shapes() {
        assert!(matches!(
            "AZ/GOV/14 00/portal".parse::<ClientId>(),
            Err(IdError::InvalidCharacter { part: "memberCode", ch: ' ' })
        ));
        assert!(matches!("AZ/GOV".parse::<ClientId>(), Err(IdError::WrongShape { .. })));
        assert!(matches!("AZ//1/x".parse::<ClientId>(), Err(IdError::EmptyPart { part: "memberClass" })));
        // a member-level service is not a service here
        assert!("AZ/GOV/1/svc".parse::<ServiceId>().is_err());
    }

    #[test]
    fn service_with_and_without_version() {
        let s: ServiceId = "AZ/GOV/1/reg/getPerson/v1".parse().unwrap();
        assert_eq!(s.version(), Some("v1"));
        assert_eq!(s.to_rest_form(), "AZ/GOV/1/reg/getPerson");
        assert_eq!(s.without_version().to_string(), "AZ/GOV/1/reg/getPerson");
    }

    fn part() -> impl Strategy<Value = String> {
        "[A-Za-z0-9'()+,\\-.=?]{1,12}"
    }

    proptest! {
        #[test]
        fn any_valid_service_round_trips(i in part(), c in part(), m in part(), s in part(), code in part(), v in proptest::option::of(part())) {
            let id = ServiceId::new(ClientId::subsystem(&i, &c, &m, &s).unwrap(), &code, v.as_deref()).unwrap();
            let back: ServiceId = id.to_string().parse().unwrap();
            prop_assert_eq!(back, id);
        }

        #[test]
        fn parsing_never_panics(s in "\\PC{0,80}") {
            let _ = s.parse::<ClientId>();
            let _ = s.parse::<ServiceId>();
            let _ = s.parse::<SecurityServerId>();
        }
    }
}
