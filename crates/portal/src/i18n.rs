//! The portal's texts in az, en and ru (`locales/*.ftl`, through `egov-i18n`). Azerbaijani is
//! the official language and the fallback; a key missing in a translation is reported by a
//! test, not shown to a user as a key.

pub use egov_i18n::Lang;
use egov_i18n::{LazyTexts, Texts, Value};

/// The portal's texts.
pub static TEXTS: LazyTexts = LazyTexts::new([
    include_str!("../locales/az.ftl"),
    include_str!("../locales/en.ftl"),
    include_str!("../locales/ru.ftl"),
]);

fn texts() -> &'static Texts {
    TEXTS.get()
}

/// Texts in one language, as templates call them (`page.tr.t(…)`).
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    /// The language.
    pub lang: Lang,
}

impl Tr {
    /// The text of `key`.
    pub fn t(&self, key: &str) -> String {
        texts().t(self.lang, key)
    }

    /// The text of `key` with a number (`$count`), in the language's plural form.
    pub fn n(&self, key: &str, count: usize) -> String {
        texts().with(self.lang, key, &[("count", Value::Number(count))])
    }

    /// The text of `key` with one named value.
    pub fn a(&self, key: &str, name: &str, value: &str) -> String {
        texts().with(self.lang, key, &[(name, Value::Text(value))])
    }

    /// "Page {page} of {pages}".
    pub fn page(&self, page: usize, pages: usize) -> String {
        texts().with(self.lang, "page-of", &[("page", Value::Number(page)), ("pages", Value::Number(pages))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Untranslated strings: every key exists in all three languages, and every key the
    /// templates and code use exists.
    #[test]
    fn every_text_is_translated() {
        let az = egov_i18n::check(TEXTS.sources()).unwrap_or_else(|e| panic!("{e}"));
        assert!(az.len() > 100, "{}", az.len());
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
        assert_eq!(Tr { lang: Lang::En }.page(2, 7), "Page 2 of 7");
    }
}
