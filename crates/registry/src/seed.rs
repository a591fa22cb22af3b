//! The registry of state information resources as the seed documents give it: the 33
//! bodies and their systems and resources of Decision No. 118 (1 May 2014), annex 1
//! (`data/annex1.tsv`, names exactly as in the decision), with English and Russian names of
//! the bodies for the portal.

use crate::model::{Body, InformationSystem, Text};

const ANNEX: &str = include_str!("../data/annex1.tsv");

/// English and Russian names of the bodies, by their number in the annex.
const TRANSLATIONS: [(&str, &str); 33] = [
    ("Ministry of Internal Affairs", "Министерство внутренних дел"),
    ("Ministry of Justice", "Министерство юстиции"),
    ("Ministry of Economy and Industry", "Министерство экономики и промышленности"),
    ("Ministry of Taxes", "Министерство налогов"),
    ("Ministry of Energy", "Министерство энергетики"),
    ("Ministry of Labour and Social Protection of Population", "Министерство труда и социальной защиты населения"),
    ("Ministry of Culture and Tourism", "Министерство культуры и туризма"),
    ("Ministry of Education", "Министерство образования"),
    ("Ministry of Health", "Министерство здравоохранения"),
    ("Ministry of Transport", "Министерство транспорта"),
    ("Ministry of Defence Industry", "Министерство оборонной промышленности"),
    ("Ministry of Agriculture", "Министерство сельского хозяйства"),
    (
        "State Committee for Urban Planning and Architecture",
        "Государственный комитет по градостроительству и архитектуре",
    ),
    (
        "State Committee for Affairs of Refugees and Internally Displaced Persons",
        "Государственный комитет по делам беженцев и вынужденных переселенцев",
    ),
    ("State Customs Committee", "Государственный таможенный комитет"),
    ("State Land and Cartography Committee", "Государственный комитет по земле и картографии"),
    ("State Committee on Property Issues", "Государственный комитет по вопросам имущества"),
    (
        "State Committee for Family, Women and Children Affairs",
        "Государственный комитет по проблемам семьи, женщин и детей",
    ),
    ("State Statistical Committee", "Государственный статистический комитет"),
    (
        "State Committee for Standardisation, Metrology and Patents",
        "Государственный комитет по стандартизации, метрологии и патентам",
    ),
    ("State Social Protection Fund", "Государственный фонд социальной защиты"),
    (
        "Civil Service Commission under the President of the Republic of Azerbaijan",
        "Комиссия по вопросам государственной службы при Президенте Азербайджанской Республики",
    ),
    ("State Migration Service", "Государственная миграционная служба"),
    ("Copyright Agency", "Агентство по авторским правам"),
    ("State Procurement Agency", "Государственное агентство по закупкам"),
    (
        "State Agency for Alternative and Renewable Energy Sources",
        "Государственное агентство по альтернативным и возобновляемым источникам энергии",
    ),
    ("State Maritime Administration", "Государственная морская администрация"),
    ("State Civil Aviation Administration", "Государственная администрация гражданской авиации"),
    ("National Archive Department", "Национальное архивное управление"),
    ("Azərsu OJSC", "ОАО «Азерсу»"),
    ("Azərenerji OJSC", "ОАО «Азерэнержи»"),
    ("Bakıelektrikşəbəkə OJSC", "ОАО «Бакыэлектрикшебеке»"),
    ("Azəriqaz Production Union of SOCAR", "Производственное объединение «Азеригаз» ГНКАР"),
];

/// The gateway services the demo federation's agencies expose from these systems.
const GATEWAY_SERVICES: &[(&str, &[&str])] = &[
    (
        "1.2",
        &[
            "AZ/GOV/1400000004/traffic-police/getTrafficFines/v1",
            "AZ/GOV/1400000004/traffic-police/getPenaltyPoints/v1",
        ],
    ),
    (
        "2.1",
        &[
            "AZ/GOV/1400000002/population-registry/getPersonByFin/v1",
            "AZ/GOV/1400000002/population-registry/getNameInfo/v1",
        ],
    ),
    ("6.2", &["AZ/GOV/1400000007/disability-registry/getDisabilityStatus/v1"]),
    ("17.1", &["AZ/GOV/1400000008/real-estate-registry/getRealEstateExtract/v1"]),
    (
        "21.1",
        &[
            "AZ/GOV/1400000003/insurance/getInsuredPayments/v1",
            "AZ/GOV/1400000003/insurance/getPensionCapital/v1",
            "AZ/GOV/1400000003/insurance/registerInsuredPerson/v1",
        ],
    ),
    ("30.1", &["AZ/GOV/1400000006/billing/getWaterDebt/v1"]),
];

/// Words in a name that say the system holds data about people.
const PERSONAL: &[&str] = &[
    "əhali",
    "şəxs",
    "vətəndaş",
    "sığortaolunan",
    "pensiyaçı",
    "abunəçi",
    "abonent",
    "abunə",
    "köçkün",
    "sağlamlıq",
    "tibbi",
    "tibb kadr",
    "qulluqçu",
    "dənizçi",
    "uşaq",
    "məişət",
    "ailə",
    "giriş-çıxış",
    "miqrasiya",
    "notariat",
    "vətəndaşlıq",
    "təhsil məlumat",
    "vergi",
    "status sənəd",
    "yol polisi",
];

/// The bodies and systems of the annex. A name with "ehtiyat" (resource), "bank" or "baza"
/// is a resource, anything else a system; personal data are marked where the name says whom
/// the data are about (an operator corrects either in the registry).
pub fn annex() -> (Vec<Body>, Vec<InformationSystem>) {
    let mut bodies = Vec::new();
    let mut systems = Vec::new();
    for line in ANNEX.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let mut parts = line.splitn(3, '\t');
        let (Some(kind), Some(code), Some(name)) = (parts.next(), parts.next(), parts.next()) else { continue };
        match kind {
            "body" => {
                let (en, ru) = code
                    .parse::<usize>()
                    .ok()
                    .and_then(|n| TRANSLATIONS.get(n.wrapping_sub(1)))
                    .copied()
                    .unwrap_or(("", ""));
                bodies.push(Body {
                    code: code.to_owned(),
                    name: Text { az: name.to_owned(), en: en.to_owned(), ru: ru.to_owned() },
                    status: "active".into(),
                    successor: None,
                });
            }
            _ => {
                let lower = name.to_lowercase();
                let resource = ["ehtiyat", "bank", "baza"].iter().any(|w| lower.contains(w));
                systems.push(InformationSystem {
                    code: code.to_owned(),
                    owner: code.split('.').next().unwrap_or_default().to_owned(),
                    name: name.to_owned(),
                    kind: if resource { "resource" } else { "system" }.into(),
                    personal_data: PERSONAL.iter().any(|w| lower.contains(w)),
                    legal_basis: "Nazirlər Kabinetinin 2014-cü il 1 may tarixli 118 nömrəli qərarı, 1 nömrəli əlavə"
                        .into(),
                    purpose: String::new(),
                    services: GATEWAY_SERVICES
                        .iter()
                        .find(|(c, _)| *c == code)
                        .map(|(_, s)| s.iter().map(|x| (*x).to_owned()).collect())
                        .unwrap_or_default(),
                    status: "operating".into(),
                });
            }
        }
    }
    (bodies, systems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_annex_has_33_bodies_and_every_system_an_owner() {
        let (bodies, systems) = annex();
        assert_eq!(bodies.len(), 33);
        assert_eq!(systems.len(), 63);
        assert!(bodies.iter().all(|b| !b.name.en.is_empty() && !b.name.ru.is_empty()));
        for s in &systems {
            assert!(bodies.iter().any(|b| b.code == s.owner), "{} has no owner", s.code);
        }
        let population = systems.iter().find(|s| s.code == "2.1").unwrap();
        assert_eq!(population.name, "\"Əhalinin Dövlət Reyestri\" avtomatlaşdırılmış qeydiyyat informasiya sistemi");
        assert!(population.personal_data && population.kind == "system");
        assert_eq!(population.services.len(), 2, "the gateway services it exposes");
        for s in systems.iter().flat_map(|s| &s.services) {
            assert!(s.parse::<egov_xroad::ServiceId>().is_ok(), "{s}");
        }
        let tenders = systems.iter().find(|s| s.code == "25.1").unwrap();
        assert!(!tenders.personal_data && tenders.kind == "resource");
    }
}
