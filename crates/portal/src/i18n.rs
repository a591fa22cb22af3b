//! The portal's three languages (az, en, ru) in Project Fluent files (`locales/*.ftl`),
//! with plural rules per language. Azerbaijani is the official language and the fallback;
//! a key missing in a translation is reported by a test, not shown to a user as a key.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A portal language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Azerbaijani.
    Az,
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Lang {
    /// All, in the switcher's order.
    pub const ALL: [Lang; 3] = [Lang::Az, Lang::En, Lang::Ru];

    /// The language code (`az`, `en`, `ru`), as in URLs and `lang` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Az => "az",
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }

    /// The language of a code.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.code() == code)
    }

    /// The best language for an `Accept-Language` header (Azerbaijani when none fits).
    pub fn negotiate(accept: Option<&str>) -> Lang {
        let Some(accept) = accept else { return Lang::Az };
        let mut best = (0.0f32, Lang::Az);
        for part in accept.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces.find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.parse::<f32>().ok())).unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            if let Some(lang) = Lang::from_code(primary)
                && q > best.0
            {
                best = (q, lang);
            }
        }
        best.1
    }
}

/// The Fluent source of a language.
pub fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::Az => include_str!("../locales/az.ftl"),
        Lang::En => include_str!("../locales/en.ftl"),
        Lang::Ru => include_str!("../locales/ru.ftl"),
    }
}

fn bundles() -> &'static [FluentBundle<FluentResource>; 3] {
    static BUNDLES: OnceLock<[FluentBundle<FluentResource>; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        Lang::ALL.map(|lang| {
            let id = lang.code().parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // no Unicode isolation marks: the text goes into HTML, not into a UI toolkit
            bundle.set_use_isolating(false);
            let resource = FluentResource::try_new(source(lang).to_owned()).unwrap_or_else(|(partial, errors)| {
                tracing::error!(lang = lang.code(), ?errors, "locale file has errors");
                partial
            });
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!(lang = lang.code(), ?errors, "locale file has duplicate keys");
            }
            bundle
        })
    })
}

/// Texts in one language.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

impl Tr {
    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let all = bundles();
        for lang in [self.lang, Lang::Az] {
            let bundle = &all[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)];
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, args, &mut errors);
                return text.into_owned();
            }
        }
        tracing::warn!(key, "no text for this key");
        key.to_owned()
    }

    /// The text of `key`.
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The text of `key` with a number (`$count`), in the language's plural form.
    pub fn n(&self, key: &str, count: usize) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(count));
        self.format(key, Some(&args))
    }

    /// The text of `key` with one named value.
    pub fn a(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name.to_owned(), FluentValue::from(value.to_owned()));
        self.format(key, Some(&args))
    }

    /// "Page {page} of {pages}".
    pub fn page(&self, page: usize, pages: usize) -> String {
        let mut args = FluentArgs::new();
        args.set("page", FluentValue::from(page));
        args.set("pages", FluentValue::from(pages));
        self.format("page-of", Some(&args))
    }
}

/// The message keys of a Fluent source.
pub fn keys(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" ="))
        .filter_map(|l| l.split(" =").next().map(str::trim).map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Untranslated strings: every key exists in all three languages, and every key the
    /// templates and code use exists.
    #[test]
    fn every_text_is_translated() {
        let az = keys(source(Lang::Az));
        assert!(az.len() > 100, "{}", az.len());
        for lang in [Lang::En, Lang::Ru] {
            let other = keys(source(lang));
            let missing: Vec<&String> = az.iter().filter(|k| !other.contains(k)).collect();
            let extra: Vec<&String> = other.iter().filter(|k| !az.contains(k)).collect();
            assert!(missing.is_empty() && extra.is_empty(), "{}: missing {missing:?}, unknown {extra:?}", lang.code());
        }
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut used = Vec::new();
        for sub in ["templates", "src"] {
            for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
                let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
                for call in [".t(\"", ".n(\"", ".a(\""] {
                    for piece in text.split(call).skip(1) {
                        if let Some(key) =
                            piece.split('"').next().filter(|k| k.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
                        {
                            used.push(key.to_owned());
                        }
                    }
                }
            }
        }
        used.retain(|k| !k.is_empty());
        let unknown: Vec<&String> = used.iter().filter(|k| !az.contains(k)).collect();
        assert!(unknown.is_empty(), "keys used but not defined: {unknown:?}");
    }

    #[test]
    fn plurals_follow_each_language() {
        assert_eq!(Tr { lang: Lang::Ru }.n("services-count", 3), "3 услуги");
        assert_eq!(Tr { lang: Lang::Ru }.n("services-count", 5), "5 услуг");
        assert_eq!(Tr { lang: Lang::En }.n("services-count", 1), "1 service");
        assert_eq!(Tr { lang: Lang::Az }.n("search-count", 0), "Heç bir xidmət tapılmadı");
        assert_eq!(Lang::negotiate(Some("ru-RU,ru;q=0.9,en;q=0.8")), Lang::Ru);
        assert_eq!(Lang::negotiate(Some("de, en;q=0.5")), Lang::En);
        assert_eq!(Lang::negotiate(None), Lang::Az);
    }
}
