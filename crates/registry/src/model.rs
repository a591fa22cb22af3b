//! What the registries hold: an e-service as the registry form describes it (R-10, annex 2)
//! with its administrative regulation, the 29 areas of, and the state bodies and
//! information systems of the registry of state information resources (P-3.4).

use serde::{Deserialize, Serialize};

use crate::RegistryError;

/// Text in the portal's three languages; `az` is the official one and always present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Text {
    /// Azerbaijani.
    pub az: String,
    /// English.
    #[serde(default)]
    pub en: String,
    /// Russian.
    #[serde(default)]
    pub ru: String,
}

impl Text {
    /// The text in `lang`, falling back to Azerbaijani where a translation is missing.
    pub fn get(&self, lang: &str) -> &str {
        let t = match lang {
            "en" => &self.en,
            "ru" => &self.ru,
            _ => &self.az,
        };
        if t.is_empty() { &self.az } else { t }
    }
}

/// The 29 areas of e-services (R-3.1; Decision No. 191, rules 3.1.1–3.1.29).
pub const AREAS: [(&str, &str, &str); 29] = [
    ("ailə, qadın, uşaq problemləri", "family, women and children", "семья, женщины, дети"),
    ("arxitektura və tikinti", "architecture and construction", "архитектура и строительство"),
    ("dini qurumlarla iş", "work with religious organisations", "работа с религиозными организациями"),
    ("dövlət qulluğu", "civil service", "государственная служба"),
    ("əmək və məşğulluq", "labour and employment", "труд и занятость"),
    ("əmlak münasibətləri", "property relations", "имущественные отношения"),
    ("gömrük işi", "customs", "таможенное дело"),
    ("hüquqi xidmətlər", "legal services", "юридические услуги"),
    ("hüquq mühafizə", "law enforcement", "правоохранительная деятельность"),
    ("idman və bədən tərbiyəsi", "sport and physical education", "спорт и физическое воспитание"),
    ("kənd təsərrüfatı", "agriculture", "сельское хозяйство"),
    ("kommunal xidmətlər", "utilities", "коммунальные услуги"),
    ("konsulluq xidmətləri", "consular services", "консульские услуги"),
    (
        "qaçqınlar və məcburi köçkünlərlə iş",
        "refugees and internally displaced persons",
        "беженцы и вынужденные переселенцы",
    ),
    ("maliyyə, qiymətli kağızlar, audit", "finance, securities, audit", "финансы, ценные бумаги, аудит"),
    ("mədəniyyət, turizm", "culture, tourism", "культура, туризм"),
    ("müdafiə", "defence", "оборона"),
    ("nəqliyyat", "transport", "транспорт"),
    (
        "rabitə və informasiya texnologiyaları",
        "communications and information technology",
        "связь и информационные технологии",
    ),
    ("səhiyyə", "health", "здравоохранение"),
    ("sənaye, ticarət", "industry, trade", "промышленность, торговля"),
    (
        "sosial müdafiə, sosial təminat",
        "social protection, social security",
        "социальная защита, социальное обеспечение",
    ),
    ("standartlaşdırma və metrologiya", "standardisation and metrology", "стандартизация и метрология"),
    ("statistika", "statistics", "статистика"),
    ("təbii resurslar və ekologiya", "natural resources and ecology", "природные ресурсы и экология"),
    ("təhsil və elm", "education and science", "образование и наука"),
    ("torpaq və xəritəçəkmə", "land and cartography", "земля и картография"),
    ("vergilər", "taxes", "налоги"),
    ("vətəndaşlıq, miqrasiya", "citizenship, migration", "гражданство, миграция"),
];

/// How many areas there are: valid area numbers are `1..=AREA_COUNT`. Derived from
/// [`AREAS`] so the bound and the table cannot disagree.
pub const AREA_COUNT: u8 = AREAS.len() as u8;
// The cast above cannot truncate: checked at compile time.
const _: () = assert!(AREAS.len() <= u8::MAX as usize);

/// An area's name in `lang` (`area` is 1-based, as in the rules).
pub fn area_name(area: u8, lang: &str) -> Option<&'static str> {
    let (az, en, ru) = AREAS.get(usize::from(area).checked_sub(1)?)?;
    Some(match lang {
        "en" => en,
        "ru" => ru,
        _ => az,
    })
}

/// Informative (open, no identification) or interactive (identification, an exchange with
/// the provider's system) (R-4.2–4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceKind {
    /// Information only.
    Informative,
    /// A request answered by the provider's system.
    Interactive,
}

/// Who may use a service (R-10 form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum UserType {
    /// Natural persons.
    NaturalPersons,
    /// Legal persons.
    LegalPersons,
    /// State bodies.
    StateBodies,
    /// Others.
    Others,
}

impl UserType {
    /// Every user type, in form order.
    pub const ALL: [UserType; 4] =
        [UserType::NaturalPersons, UserType::LegalPersons, UserType::StateBodies, UserType::Others];

    /// The slug used in URLs and data.
    pub fn slug(self) -> &'static str {
        match self {
            UserType::NaturalPersons => "natural-persons",
            UserType::LegalPersons => "legal-persons",
            UserType::StateBodies => "state-bodies",
            UserType::Others => "others",
        }
    }
}

/// The fee of a paid service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fee {
    /// Amount in AZN.
    pub amount_azn: f64,
    /// The act that sets it.
    pub legal_basis: String,
    /// Where to pay (bank, account, beneficiary).
    pub bank_details: String,
    /// How one may pay (card, bank transfer, payment terminal, …).
    pub payment_methods: Vec<String>,
}

/// Where a required document comes from: a state information system — then the
/// person gives only its identifier and the portal fetches it (once-only) — or a scanned copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum DocumentSource {
    /// Held in a state information system (its number in the registry of resources).
    StateSystem {
        /// The system's number, e.g. `2.1`.
        system: String,
        /// The identifier the person gives (FIN, registry number, …).
        identifier: String,
    },
    /// Brought as a scanned copy.
    ScannedCopy,
}

/// A document the applicant must provide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequiredDocument {
    /// Its name.
    pub name: Text,
    /// Where it comes from.
    #[serde(flatten)]
    pub source: DocumentSource,
}

/// One step of the procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What is done.
    pub action: Text,
    /// The unit (or official) responsible.
    pub responsible: String,
    /// How long it may take (e.g. "1 working day").
    pub deadline: String,
    /// Other bodies involved.
    #[serde(default)]
    pub other_bodies: Vec<String>,
}

/// The administrative regulation of a service: every field of the R-9 template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Regulation {
    /// `full` or `partial` automation.
    pub automation: Automation,
    /// How long the service takes.
    pub execution_time: String,
    /// What the user receives (certificate, permit, licence, information, …).
    pub result: Text,
    /// How information about the service is given (portal, call centre, …).
    pub information_channels: Vec<String>,
    /// Documents required.
    pub documents: Vec<RequiredDocument>,
    /// How the request is formed and accepted.
    pub request: Text,
    /// Grounds for refusal.
    pub refusal_grounds: Vec<Text>,
    /// The numbered steps, in order.
    pub steps: Vec<Step>,
    /// How execution is controlled.
    pub control: Text,
    /// How to complain, and within how long.
    pub complaints: Complaints,
}

/// Full or partial automation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Automation {
    /// Fully electronic.
    Full,
    /// Partly on paper or in person.
    Partial,
}

/// Complaints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Complaints {
    /// To whom and how.
    pub procedure: Text,
    /// Within how long a complaint is answered.
    pub deadline: String,
}

/// An e-service as registered: the R-10 form with its regulation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRecord {
    /// The providing body (its number in the registry of resources, e.g. `2`).
    pub provider: String,
    /// Other executors.
    #[serde(default)]
    pub other_executors: Vec<String>,
    /// Name.
    pub name: Text,
    /// What the service gives.
    pub content: Text,
    /// Legal basis.
    pub legal_basis: String,
    /// Informative or interactive.
    pub kind: ServiceKind,
    /// The fee; `None` = free.
    pub fee: Option<Fee>,
    /// Who may use it.
    pub users: Vec<UserType>,
    /// Web address.
    pub web_address: String,
    /// Area (1–29, R-3.1).
    pub area: u8,
    /// The gateway service an interactive service uses (`INSTANCE/CLASS/CODE/SUB/SERVICE[/v]`).
    pub xroad_service: Option<String>,
    /// The administrative regulation.
    pub regulation: Regulation,
}

impl ServiceRecord {
    /// Checks what the form requires; the error names the field.
    pub fn validate(&self) -> Result<(), RegistryError> {
        let missing = |field: &str| Err(RegistryError::Invalid(format!("{field} is required")));
        if self.name.az.trim().is_empty() {
            return missing("name (az)");
        }
        if self.content.az.trim().is_empty() {
            return missing("content (az)");
        }
        if self.legal_basis.trim().is_empty() {
            return missing("legal basis");
        }
        if self.provider.trim().is_empty() {
            return missing("provider");
        }
        if self.users.is_empty() {
            return missing("users");
        }
        if !(1..=AREA_COUNT).contains(&self.area) {
            return Err(RegistryError::Invalid(format!(
                "area {} is not one of the {AREA_COUNT} areas (1–{AREA_COUNT})",
                self.area
            )));
        }
        if let Some(fee) = &self.fee
            && (!(fee.amount_azn > 0.0 && fee.amount_azn.is_finite()) || fee.legal_basis.trim().is_empty())
        {
            return Err(RegistryError::Invalid("a paid service needs a positive amount and its legal basis".into()));
        }
        match (self.kind, &self.xroad_service) {
            (ServiceKind::Interactive, None) => {
                return Err(RegistryError::Invalid(
                    "an interactive service names the gateway service it uses (xroad_service)".into(),
                ));
            }
            (_, Some(s)) if s.parse::<egov_xroad::ServiceId>().is_err() => {
                return Err(RegistryError::Invalid(format!("xroad_service '{s}' is not a service identifier")));
            }
            _ => {}
        }
        check_web_address(&self.web_address)?;
        if self.regulation.steps.is_empty() {
            return missing("regulation: at least one step");
        }
        if self.regulation.complaints.deadline.trim().is_empty() {
            return missing("regulation: the complaints deadline");
        }
        Ok(())
    }
}

/// Checks a service's web address, which the portal puts in a link (issue 13, item 12): only
/// `https:` with a host name, no user name or password in it. A `javascript:` or `data:`
/// address approved once would otherwise run in the portal's origin, where the back office's
/// sessions live. Plain `http:` is accepted only for a loopback host (`localhost`,
/// `127.0.0.0/8`, `[::1]`): a service run on the same machine for a demonstration or a test,
/// which cannot have a certificate and which no visitor but the machine's own user reaches.
/// The demo's own records are all `https:`. A rule tied to the address itself needs no
/// setting that could be left on in production.
pub fn check_web_address(address: &str) -> Result<(), RegistryError> {
    let refuse = |why: &str| Err(RegistryError::Invalid(format!("web address '{address}': {why}")));
    if address.len() > 2000 {
        return refuse("longer than 2,000 characters");
    }
    let Ok(url) = url::Url::parse(address) else {
        return refuse("not an absolute URL (https://…)");
    };
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return refuse("it names no host"),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return refuse("plain http is allowed only for a loopback host; use https"),
        _ => return refuse("only https addresses are allowed"),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return refuse("it must not carry a user name or password");
    }
    Ok(())
}

/// A state body in the registry of state information resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// Its number in Decision No. 118, annex 1.
    pub code: String,
    /// Its name.
    pub name: Text,
    /// `active` or `liquidated`.
    pub status: String,
    /// The body that took over its systems, when liquidated.
    pub successor: Option<String>,
}

/// An information system or resource (P-3.4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InformationSystem {
    /// Its number (`2.1`).
    pub code: String,
    /// The owner body's number.
    pub owner: String,
    /// Its name as in the seed.
    pub name: String,
    /// What it is for (compared with proposals to find duplicates).
    #[serde(default)]
    pub purpose: String,
    /// `system` or `resource`.
    pub kind: String,
    /// Whether it holds personal data.
    pub personal_data: bool,
    /// The act that establishes it.
    pub legal_basis: String,
    /// The gateway services it exposes.
    pub services: Vec<String>,
    /// `operating`, `proposed` or `retired`.
    pub status: String,
}

#[cfg(test)]
mod tests {
    /// Issue 13, item 12: a web address that would run script, or leave TLS, in the
    /// portal's link is refused when the record is filed.
    #[test]
    fn web_addresses_are_https_or_loopback_http_only() {
        let mut record = crate::catalogue_seed::named_services().remove(0);
        for bad in [
            "javascript:alert(document.cookie)",
            "JavaScript:alert(1)",
            " javascript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox(1)",
            "http://e-gov.az/services/1",
            "https://user:pass@e-gov.az/",
            "ftp://e-gov.az/",
            "//e-gov.az/services/1",
            "/az/services/1",
            "",
        ] {
            record.web_address = bad.into();
            let e = record.validate().expect_err(bad);
            assert!(e.to_string().contains("web address"), "{bad}: {e}");
        }
        for good in
            ["https://www.e-gov.az/az/services/1", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/"]
        {
            record.web_address = good.into();
            record.validate().unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }
}
