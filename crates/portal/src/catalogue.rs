//! The catalogue as the portal serves it: a snapshot of the registries held in memory, with
//! search keys folded for Azerbaijani, English and Russian, so a page is rendered without a
//! database round trip. [`Catalogue::load`] builds a new snapshot; the portal swaps it in
//! when the registry changes.

use std::collections::{BTreeMap, HashMap};

use egov_registry::RegistryError;
use egov_registry::model::{Body, InformationSystem, ServiceKind, ServiceRecord, UserType};
use egov_registry::store::Registry;
use egov_registry::text::{fold, matches};
use time::Date;

use crate::i18n::Lang;

/// One service in the catalogue.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Registry number.
    pub number: String,
    /// The record.
    pub record: ServiceRecord,
    /// Last changed on.
    pub updated_on: Date,
    /// Folded names in az, en, ru (ranking: a match in the name comes first).
    name_keys: [String; 3],
    /// Folded names, contents and provider in every language.
    search_key: String,
}

/// What a visitor searches for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Words.
    pub text: String,
    /// Area 1–29.
    pub area: Option<u8>,
    /// Provider body number.
    pub body: Option<String>,
    /// User type.
    pub user: Option<UserType>,
}

/// The snapshot.
#[derive(Debug, Default)]
pub struct Catalogue {
    /// Registered services, by registry number.
    pub services: Vec<Entry>,
    by_number: HashMap<String, usize>,
    /// Bodies, by number.
    pub bodies: Vec<Body>,
    /// Information systems, by number.
    pub systems: Vec<InformationSystem>,
    /// Uses per service, by month (`YYYY-MM`), most used first.
    pub usage: BTreeMap<String, Vec<(String, i64)>>,
}

impl Catalogue {
    /// Reads the registries.
    pub async fn load(registry: &Registry) -> Result<Self, RegistryError> {
        let bodies = registry.bodies().await?;
        let systems = registry.systems().await?;
        let body_names: HashMap<&str, String> =
            bodies.iter().map(|b| (b.code.as_str(), format!("{} {} {}", b.name.az, b.name.en, b.name.ru))).collect();
        let mut services = Vec::new();
        for s in registry.services().await? {
            let r = &s.record;
            let provider = body_names.get(r.provider.as_str()).cloned().unwrap_or_default();
            let search_key = fold(&format!(
                "{} {} {} {} {} {} {} {}",
                r.name.az, r.name.en, r.name.ru, r.content.az, r.content.en, r.content.ru, provider, s.registry_number
            ));
            services.push(Entry {
                name_keys: [fold(&r.name.az), fold(&r.name.en), fold(&r.name.ru)],
                number: s.registry_number,
                record: s.record,
                updated_on: s.updated_on,
                search_key,
            });
        }
        let by_number = services.iter().enumerate().map(|(i, e)| (e.number.clone(), i)).collect();
        let mut usage = BTreeMap::new();
        for month in registry.usage_months().await? {
            let rows = registry.usage(&month).await?;
            usage.insert(month, rows);
        }
        Ok(Self { services, by_number, bodies, systems, usage })
    }

    /// A service by registry number.
    pub fn service(&self, number: &str) -> Option<&Entry> {
        self.by_number.get(number).map(|&i| &self.services[i])
    }

    /// A body by number.
    pub fn body(&self, code: &str) -> Option<&Body> {
        self.bodies.iter().find(|b| b.code == code)
    }

    /// An information system by number.
    pub fn system(&self, code: &str) -> Option<&InformationSystem> {
        self.systems.iter().find(|s| s.code == code)
    }

    /// The services matching `q`: those whose name matches first, then by name in `lang`.
    pub fn search(&self, q: &Query, lang: Lang) -> Vec<&Entry> {
        let words = fold(&q.text);
        let li = match lang {
            Lang::Az => 0,
            Lang::En => 1,
            Lang::Ru => 2,
        };
        let mut found: Vec<(bool, &Entry)> = self
            .services
            .iter()
            .filter(|e| q.area.is_none_or(|a| e.record.area == a))
            .filter(|e| q.body.as_deref().is_none_or(|b| e.record.provider == b))
            .filter(|e| q.user.is_none_or(|u| e.record.users.contains(&u)))
            .filter(|e| words.is_empty() || matches(&e.search_key, &words))
            .map(|e| (!words.is_empty() && e.name_keys.iter().any(|k| matches(k, &words)), e))
            .collect();
        found
            .sort_by(|(a_name, a), (b_name, b)| b_name.cmp(a_name).then_with(|| a.name_keys[li].cmp(&b.name_keys[li])));
        found.into_iter().map(|(_, e)| e).collect()
    }

    /// Number of services per area (index 0 = area 1).
    pub fn area_counts(&self) -> [usize; 29] {
        let mut counts = [0; 29];
        for e in &self.services {
            if let Some(c) = counts.get_mut(usize::from(e.record.area).wrapping_sub(1)) {
                *c += 1;
            }
        }
        counts
    }

    /// Services of a body.
    pub fn services_of(&self, body: &str) -> Vec<&Entry> {
        self.services.iter().filter(|e| e.record.provider == body).collect()
    }

    /// The statistics bulletin of `month` (B-1).
    pub fn bulletin(&self, month: &str) -> Bulletin<'_> {
        let uses = self.usage.get(month).map(Vec::as_slice).unwrap_or_default();
        let top = uses.iter().take(20).filter_map(|(n, u)| self.service(n).map(|e| (e, *u))).collect();
        let mut providers: BTreeMap<&str, (usize, i64)> = BTreeMap::new();
        for e in &self.services {
            providers.entry(e.record.provider.as_str()).or_default().0 += 1;
        }
        for (n, u) in uses {
            if let Some(e) = self.service(n) {
                providers.entry(e.record.provider.as_str()).or_default().1 += u;
            }
        }
        let mut per_provider: Vec<(&Body, usize, i64)> =
            providers.into_iter().filter_map(|(code, (s, u))| self.body(code).map(|b| (b, s, u))).collect();
        per_provider.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)));
        let integration = self
            .bodies
            .iter()
            .map(|b| {
                let mine = self.services_of(&b.code);
                let on_portal = mine.iter().filter(|e| e.record.web_address.contains("e-gov.az")).count();
                let interactive = mine.iter().filter(|e| e.record.kind == ServiceKind::Interactive).count();
                (b, mine.len(), on_portal, interactive)
            })
            .collect();
        Bulletin { month: month.to_owned(), total: uses.iter().map(|(_, u)| u).sum(), top, per_provider, integration }
    }
}

/// The monthly statistics bulletin (B-1).
#[derive(Debug)]
pub struct Bulletin<'a> {
    /// `YYYY-MM`.
    pub month: String,
    /// All uses in the month.
    pub total: i64,
    /// The 20 most used services with their uses.
    pub top: Vec<(&'a Entry, i64)>,
    /// Per provider: services and uses, most used first.
    pub per_provider: Vec<(&'a Body, usize, i64)>,
    /// Per body: services in the registry, on the portal, interactive through the gateway.
    pub integration: Vec<(&'a Body, usize, usize, usize)>,
}
