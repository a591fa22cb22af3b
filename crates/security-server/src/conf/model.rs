//! The in-memory copy of the server configuration that the message path reads, and the
//! access-right check (TT-2.2.3, TT-3.8.3, TT-6.7).

use std::collections::{HashMap, HashSet};

use egov_xroad::{ClientId, ServiceId, rest};

use crate::error::GatewayError;

/// How a service is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceKind {
    /// SOAP, described by a WSDL.
    Soap,
    /// REST (plain base URL or OpenAPI description).
    Rest,
}

/// Kind of a service description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DescriptionKind {
    /// A WSDL document.
    Wsdl,
    /// A REST base URL.
    Rest,
    /// An OpenAPI 3 document.
    OpenApi,
}

impl DescriptionKind {
    /// Database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            DescriptionKind::Wsdl => "wsdl",
            DescriptionKind::Rest => "rest",
            DescriptionKind::OpenApi => "openapi",
        }
    }

    /// Parses the database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "wsdl" => DescriptionKind::Wsdl,
            "rest" => DescriptionKind::Rest,
            "openapi" => DescriptionKind::OpenApi,
            _ => return None,
        })
    }

    /// The kind of services it describes.
    pub fn service_kind(self) -> ServiceKind {
        if self == DescriptionKind::Wsdl { ServiceKind::Soap } else { ServiceKind::Rest }
    }
}

/// A service description (WSDL or REST/OpenAPI) of a hosted subsystem.
#[derive(Debug, Clone)]
pub struct Description {
    /// Row id.
    pub id: i64,
    /// Kind.
    pub kind: DescriptionKind,
    /// Where it was read from.
    pub url: String,
    /// The WSDL or OpenAPI text, if any.
    pub document: Option<String>,
    /// When set, every service of this description is disabled with this notice.
    pub disabled_notice: Option<String>,
}

/// One configured service version.
#[derive(Debug, Clone)]
pub struct ServiceEntry {
    /// The service (with version, if any).
    pub id: ServiceId,
    /// The description it belongs to.
    pub description_id: i64,
    /// Where the provider's information system (or adapter server) answers.
    pub url: String,
    /// Per-service timeout; the federation default applies otherwise.
    pub timeout_ms: Option<u64>,
}

/// A subject of an access right.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    /// A member or subsystem.
    Client(ClientId),
    /// A local group of the provider subsystem.
    LocalGroup(String),
    /// A global group of the federation (defined by the operator, published in the global
    /// configuration, e.g. `security-server-owners`).
    GlobalGroup(String),
}

/// Membership of the federation's global groups (the global configuration's).
pub trait GlobalGroups {
    /// Whether `client` is in global group `code`.
    fn contains(&self, code: &str, client: &ClientId) -> bool;
}

impl GlobalGroups for egov_globalconf::Directory {
    fn contains(&self, code: &str, client: &ClientId) -> bool {
        self.in_global_group(code, client)
    }
}

/// No global groups (tests, tools without a configuration).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoGlobalGroups;

impl GlobalGroups for NoGlobalGroups {
    fn contains(&self, _: &str, _: &ClientId) -> bool {
        false
    }
}

impl Subject {
    /// Parses `INST/CLASS/CODE[/SUB]`, `group:CODE` (local) or `globalgroup:CODE`.
    pub fn parse(s: &str) -> Result<Self, String> {
        if let Some(code) = s.strip_prefix("globalgroup:") {
            egov_xroad::id::validate_part("groupCode", code).map_err(|e| e.to_string())?;
            return Ok(Subject::GlobalGroup(code.to_owned()));
        }
        match s.strip_prefix("group:") {
            Some(code) => {
                egov_xroad::id::validate_part("groupCode", code).map_err(|e| e.to_string())?;
                Ok(Subject::LocalGroup(code.to_owned()))
            }
            None => s.parse().map(Subject::Client).map_err(|e: egov_xroad::IdError| e.to_string()),
        }
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Client(c) => write!(f, "{c}"),
            Subject::LocalGroup(g) => write!(f, "group:{g}"),
            Subject::GlobalGroup(g) => write!(f, "globalgroup:{g}"),
        }
    }
}

/// One access right: subject may call the service with `method` on paths matching `path`.
/// The service-level right is method `*`, path `/**`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRight {
    /// Who.
    pub subject: Subject,
    /// HTTP method or `*`.
    pub method: String,
    /// Path pattern (`*` within a segment, `**` across segments).
    pub path: String,
}

/// A REST endpoint declared for a service (for `listMethods`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// HTTP method or `*`.
    pub method: String,
    /// Path pattern.
    pub path: String,
}

/// Proof that the access check passed (TT-2.2.3). The call to the service
/// ([`crate::backend::Backend::call_service`]) requires it, and for REST it carries the very
/// path that was checked, so that what the service receives cannot differ from it.
#[derive(Debug)]
pub struct AccessGranted {
    path: Option<rest::RequestPath>,
}

impl AccessGranted {
    /// The REST path and query the right was checked for (`None` for SOAP).
    pub fn rest_path(&self) -> Option<&rest::RequestPath> {
        self.path.as_ref()
    }
}

/// The configuration snapshot.
#[derive(Debug, Default, Clone)]
pub struct ServerConf {
    /// Version it was loaded at.
    pub version: i64,
    /// Hosted members and subsystems.
    pub clients: HashSet<ClientId>,
    /// Descriptions by id.
    pub descriptions: HashMap<i64, Description>,
    /// Services by provider and code (all versions).
    pub services: HashMap<(ClientId, String), Vec<ServiceEntry>>,
    /// Declared REST endpoints by provider and code.
    pub endpoints: HashMap<(ClientId, String), Vec<Endpoint>>,
    /// Access rights by provider and code.
    pub access: HashMap<(ClientId, String), Vec<AccessRight>>,
    /// Local group members by owner and group code.
    pub local_groups: HashMap<(ClientId, String), HashSet<ClientId>>,
    /// Certificates (DER) trusted for HTTPS service URLs: those of the adapters this server
    /// keeps (TT-4.2). Nothing else is trusted on the service side.
    pub service_tls_certs: Vec<Vec<u8>>,
}

impl ServerConf {
    /// Whether `client` is hosted here.
    pub fn hosts(&self, client: &ClientId) -> bool {
        self.clients.contains(client)
    }

    /// Finds the configured service for a request: the exact version, or, when the request
    /// names none, the service's only (or unversioned) entry.
    pub fn service(&self, id: &ServiceId) -> Result<(&ServiceEntry, &Description), GatewayError> {
        let key = (id.provider().clone(), id.service_code().to_owned());
        let entries = self.services.get(&key).ok_or_else(|| GatewayError::UnknownService(id.to_string()))?;
        let entry = match id.version() {
            Some(v) => entries.iter().find(|e| e.id.version() == Some(v)),
            None => entries.iter().find(|e| e.id.version().is_none()).or(if entries.len() == 1 {
                entries.first()
            } else {
                None
            }),
        }
        .ok_or_else(|| GatewayError::UnknownService(id.to_string()))?;
        let description = self
            .descriptions
            .get(&entry.description_id)
            .ok_or_else(|| GatewayError::Internal(format!("service {id} has no description")))?;
        Ok((entry, description))
    }

    /// Checks that `client` may call `service` with `method` on `rest_path` (REST: the path
    /// and query as received, `None` for SOAP, where only service-level rights apply).
    /// Versions are ignored, as in X-Road. The path is parsed once, here, and travels on in
    /// the proof: the service is called with what was checked.
    pub fn check_access(
        &self,
        client: &ClientId,
        service: &ServiceId,
        method: &str,
        rest_path: Option<&str>,
        global_groups: &dyn GlobalGroups,
    ) -> Result<AccessGranted, GatewayError> {
        let key = (service.provider().clone(), service.service_code().to_owned());
        let denied = || GatewayError::AccessDenied(format!("{client} may not call {}", service.without_version()));
        let rights = self.access.get(&key).ok_or_else(denied)?;
        let path = match rest_path {
            Some(raw) => Some(rest::RequestPath::parse(raw).map_err(|e| GatewayError::BadRequest(e.to_string()))?),
            None => None,
        };
        let normalized = path.as_ref().map(rest::RequestPath::normalized);
        let allowed = rights.iter().any(|right| {
            let subject_ok = self.is_subject(&right.subject, service.provider(), client, global_groups);
            let method_ok = right.method == "*" || right.method.eq_ignore_ascii_case(method);
            let path_ok = match &normalized {
                Some(p) => rest::path_matches(&right.path, p),
                None => right.path == "/**",
            };
            subject_ok && method_ok && path_ok
        });
        if allowed { Ok(AccessGranted { path }) } else { Err(denied()) }
    }

    /// Whether `client` is `subject` for a service of `provider`.
    fn is_subject(
        &self,
        subject: &Subject,
        provider: &ClientId,
        client: &ClientId,
        global_groups: &dyn GlobalGroups,
    ) -> bool {
        match subject {
            Subject::Client(c) => c == client,
            Subject::LocalGroup(g) => {
                self.local_groups.get(&(provider.clone(), g.clone())).is_some_and(|members| members.contains(client))
            }
            Subject::GlobalGroup(g) => global_groups.contains(g, client),
        }
    }

    /// Services of `provider` of the given kind, for `listMethods` (all) or
    /// `allowedMethods` (only those `caller` may use at service level).
    pub fn list_services(
        &self,
        provider: &ClientId,
        kind: ServiceKind,
        caller: Option<&ClientId>,
        global_groups: &dyn GlobalGroups,
    ) -> Vec<&ServiceEntry> {
        let mut out: Vec<&ServiceEntry> = self
            .services
            .iter()
            .filter(|((p, _), _)| p == provider)
            .flat_map(|(_, entries)| entries.iter())
            .filter(|e| self.descriptions.get(&e.description_id).is_some_and(|d| d.kind.service_kind() == kind))
            .filter(|e| match caller {
                None => true,
                Some(c) => {
                    let key = (provider.clone(), e.id.service_code().to_owned());
                    self.access.get(&key).is_some_and(|rights| {
                        rights.iter().any(|r| self.is_subject(&r.subject, provider, c, global_groups))
                    })
                }
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf() -> ServerConf {
        let provider: ClientId = "AZ/GOV/2/insurance".parse().unwrap();
        let portal: ClientId = "AZ/GOV/1/portal".parse().unwrap();
        let mut c = ServerConf::default();
        c.clients.insert(provider.clone());
        c.descriptions.insert(
            1,
            Description {
                id: 1,
                kind: DescriptionKind::Rest,
                url: "http://x".into(),
                document: None,
                disabled_notice: None,
            },
        );
        let key = (provider.clone(), "payments".to_owned());
        c.services.insert(
            key.clone(),
            vec![ServiceEntry {
                id: provider.service("payments", None).unwrap(),
                description_id: 1,
                url: "http://x".into(),
                timeout_ms: None,
            }],
        );
        c.access.insert(
            key,
            vec![
                AccessRight {
                    subject: Subject::Client(portal),
                    method: "GET".into(),
                    path: "/persons/*/payments".into(),
                },
                AccessRight { subject: Subject::LocalGroup("auditors".into()), method: "*".into(), path: "/**".into() },
            ],
        );
        c.local_groups.insert((provider, "auditors".into()), ["AZ/GOV/9/audit".parse().unwrap()].into());
        c
    }

    #[test]
    fn endpoint_level_rights() {
        let c = conf();
        let svc: ServiceId = "AZ/GOV/2/insurance/payments".parse().unwrap();
        let portal: ClientId = "AZ/GOV/1/portal".parse().unwrap();
        assert!(c.check_access(&portal, &svc, "GET", Some("/persons/5ZX7K2P/payments"), &NoGlobalGroups).is_ok());
        assert!(c.check_access(&portal, &svc, "POST", Some("/persons/5ZX7K2P/payments"), &NoGlobalGroups).is_err());
        assert!(c.check_access(&portal, &svc, "GET", Some("/persons/5ZX7K2P/capital"), &NoGlobalGroups).is_err());
        // traversal cannot reach a granted pattern from elsewhere, nor the reverse
        assert!(c.check_access(&portal, &svc, "GET", Some("/persons/x/%2e%2e/payments"), &NoGlobalGroups).is_err());
        // SOAP-style (service-level) check needs a service-level right
        assert!(c.check_access(&portal, &svc, "POST", None, &NoGlobalGroups).is_err());
        let auditor: ClientId = "AZ/GOV/9/audit".parse().unwrap();
        assert!(c.check_access(&auditor, &svc, "DELETE", Some("/anything"), &NoGlobalGroups).is_ok());
        assert!(c.check_access(&auditor, &svc, "POST", None, &NoGlobalGroups).is_ok());
        let stranger: ClientId = "AZ/GOV/7/x".parse().unwrap();
        assert!(matches!(
            c.check_access(&stranger, &svc, "GET", Some("/"), &NoGlobalGroups),
            Err(GatewayError::AccessDenied(_))
        ));
    }

    /// Issue 13, item 1: a granted `/persons/*/payments` must not open `/persons/ID` through
    /// a `#` (cut off by every URL parser after the check), and a granted `*.json` must not
    /// open another file; the proof carries the path the service will receive.
    #[test]
    fn checked_path_is_the_forwarded_path() {
        let mut c = conf();
        let svc: ServiceId = "AZ/GOV/2/insurance/payments".parse().unwrap();
        let portal: ClientId = "AZ/GOV/1/portal".parse().unwrap();
        let denied =
            |c: &ServerConf, path: &str| match c.check_access(&portal, &svc, "GET", Some(path), &NoGlobalGroups) {
                Ok(granted) => panic!("{path} granted, forwarded as {:?}", granted.rest_path().map(|p| p.forwarded())),
                Err(e) => e,
            };
        assert!(matches!(denied(&c, "/persons/ID#/payments"), GatewayError::BadRequest(m) if m.contains("'#'")));
        assert!(matches!(denied(&c, "/persons/ID%23/payments/x"), GatewayError::AccessDenied(_)));
        let granted =
            c.check_access(&portal, &svc, "GET", Some("/persons/I%44/payments?y=1"), &NoGlobalGroups).unwrap();
        assert_eq!(granted.rest_path().unwrap().forwarded(), "/persons/ID/payments?y=1");
        // a '#' that arrived encoded stays inside its segment
        let granted = c.check_access(&portal, &svc, "GET", Some("/persons/ID%23/payments"), &NoGlobalGroups).unwrap();
        assert_eq!(granted.rest_path().unwrap().forwarded(), "/persons/ID%23/payments");

        let key = (svc.provider().clone(), svc.service_code().to_owned());
        c.access.insert(
            key,
            vec![AccessRight {
                subject: Subject::Client(portal.clone()),
                method: "GET".into(),
                path: "/files/*.json".into(),
            }],
        );
        assert!(c.check_access(&portal, &svc, "GET", Some("/files/report.json"), &NoGlobalGroups).is_ok());
        for escape in ["/files/secret.xml#.json", "/files/secret.xml?.json", "/files/a/..%2F..%2Fsecret.json"] {
            assert!(!matches!(denied(&c, escape), GatewayError::AccessDenied(_)) || escape.contains('?'), "{escape}");
        }
        // "?" starts the query: the path is /files/secret.xml, which is not *.json
        assert!(matches!(denied(&c, "/files/secret.xml?.json"), GatewayError::AccessDenied(_)));
        // an encoded '?' or ';' reaches the service encoded: one file named like that, not secret.xml
        for (path, forwarded) in [
            ("/files/secret.xml%3F.json", "/files/secret.xml%3F.json"),
            ("/files/secret.xml;.json", "/files/secret.xml%3B.json"),
        ] {
            let granted = c.check_access(&portal, &svc, "GET", Some(path), &NoGlobalGroups).unwrap();
            assert_eq!(granted.rest_path().unwrap().forwarded(), forwarded);
        }
    }

    #[test]
    fn allowed_methods_follow_rights() {
        let c = conf();
        let provider: ClientId = "AZ/GOV/2/insurance".parse().unwrap();
        assert_eq!(c.list_services(&provider, ServiceKind::Rest, None, &NoGlobalGroups).len(), 1);
        let stranger: ClientId = "AZ/GOV/7/x".parse().unwrap();
        assert!(c.list_services(&provider, ServiceKind::Rest, Some(&stranger), &NoGlobalGroups).is_empty());
        assert!(c.list_services(&provider, ServiceKind::Soap, None, &NoGlobalGroups).is_empty());
    }

    /// A right granted to a global group follows the group's membership in the global
    /// configuration, and the subject round-trips through its stored text.
    #[test]
    fn global_group_rights_follow_the_configuration() {
        struct Owners;
        impl GlobalGroups for Owners {
            fn contains(&self, code: &str, client: &ClientId) -> bool {
                code == "security-server-owners" && client.to_string() == "AZ/GOV/7/x"
            }
        }
        let mut c = conf();
        let svc: ServiceId = "AZ/GOV/2/insurance/payments".parse().unwrap();
        let subject = Subject::parse("globalgroup:security-server-owners").unwrap();
        assert_eq!(subject.to_string(), "globalgroup:security-server-owners");
        assert!(Subject::parse("globalgroup:bad code").is_err());
        let key = (svc.provider().clone(), svc.service_code().to_owned());
        c.access.entry(key).or_default().push(AccessRight { subject, method: "GET".into(), path: "/**".into() });
        let member: ClientId = "AZ/GOV/7/x".parse().unwrap();
        assert!(c.check_access(&member, &svc, "GET", Some("/persons/1"), &Owners).is_ok());
        assert!(c.check_access(&member, &svc, "GET", Some("/persons/1"), &NoGlobalGroups).is_err());
        let provider: ClientId = "AZ/GOV/2/insurance".parse().unwrap();
        assert_eq!(c.list_services(&provider, ServiceKind::Rest, Some(&member), &Owners).len(), 1);
    }
}
