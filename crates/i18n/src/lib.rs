//! The platform's three languages — Azerbaijani (official, the fallback), English and
//! Russian — for every web interface (the portal, the monitoring station). Texts live in
//! Project Fluent files, one per language, so translators work on standard files and each
//! language gets its own plural rules; [`check`] reports keys missing in a translation.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language of the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Azərbaycan dili (official; the fallback).
    Az,
    /// English.
    En,
    /// Русский.
    Ru,
}

impl Lang {
    /// All, in the switchers' order.
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

    /// The language's own name, for a switcher.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::Az => "Azərbaycanca",
            Lang::En => "English",
            Lang::Ru => "Русский",
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::Az => 0,
            Lang::En => 1,
            Lang::Ru => 2,
        }
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

/// The texts of one interface in the three languages.
pub struct Texts {
    bundles: [FluentBundle<FluentResource>; 3],
}

impl std::fmt::Debug for Texts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Texts").finish_non_exhaustive()
    }
}

impl Texts {
    /// Texts from the Fluent sources of az, en and ru (in that order). Errors in a file are
    /// logged and the good messages kept; [`check`] in a test catches them first.
    pub fn new(sources: [&str; 3]) -> Self {
        let bundles = std::array::from_fn(|i| {
            let lang = Lang::ALL[i];
            let id = lang.code().parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![id]);
            // no Unicode isolation marks: the text goes into HTML, not into a UI toolkit
            bundle.set_use_isolating(false);
            let resource = FluentResource::try_new(sources[i].to_owned()).unwrap_or_else(|(partial, errors)| {
                tracing::error!(lang = lang.code(), ?errors, "locale file has errors");
                partial
            });
            if let Err(errors) = bundle.add_resource(resource) {
                tracing::error!(lang = lang.code(), ?errors, "locale file has duplicate keys");
            }
            bundle
        });
        Self { bundles }
    }

    /// The text of `key` in `lang` with `args`, falling back to Azerbaijani; the key itself
    /// (logged) when no language has it.
    pub fn format(&self, lang: Lang, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        for l in [lang, Lang::Az] {
            let bundle = &self.bundles[l.index()];
            if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                return bundle.format_pattern(pattern, args, &mut errors).into_owned();
            }
        }
        tracing::warn!(key, "no text for this key");
        key.to_owned()
    }

    /// The text of `key`.
    pub fn t(&self, lang: Lang, key: &str) -> String {
        self.format(lang, key, None)
    }

    /// The text of `key` with named values (numbers choose the plural form).
    pub fn with(&self, lang: Lang, key: &str, values: &[(&str, Value<'_>)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            match value {
                Value::Number(n) => args.set(name.to_string(), FluentValue::from(*n)),
                Value::Text(t) => args.set(name.to_string(), FluentValue::from(t.to_string())),
            }
        }
        self.format(lang, key, Some(&args))
    }
}

/// An interface's texts, declared once as a `static` from its three Fluent files and parsed
/// on first use:
///
/// ```ignore
/// static TEXTS: egov_i18n::LazyTexts = egov_i18n::LazyTexts::new([
///     include_str!("../locales/az.ftl"), include_str!("../locales/en.ftl"), include_str!("../locales/ru.ftl"),
/// ]);
/// ```
#[derive(Debug)]
pub struct LazyTexts {
    sources: [&'static str; 3],
    texts: std::sync::OnceLock<Texts>,
}

impl LazyTexts {
    /// From the az, en and ru sources.
    pub const fn new(sources: [&'static str; 3]) -> Self {
        Self { sources, texts: std::sync::OnceLock::new() }
    }

    /// The parsed texts.
    pub fn get(&self) -> &Texts {
        self.texts.get_or_init(|| Texts::new(self.sources))
    }

    /// The Fluent source of `lang`.
    pub fn source(&self, lang: Lang) -> &'static str {
        self.sources[lang.index()]
    }

    /// The three sources, for [`check`].
    pub fn sources(&self) -> [&'static str; 3] {
        self.sources
    }
}

/// A value for a text's placeable.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    /// A number (plural forms follow it).
    Number(usize),
    /// Text.
    Text(&'a str),
}

/// The message keys of a Fluent source.
pub fn keys(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" ="))
        .filter_map(|l| l.split(" =").next().map(str::trim).map(str::to_owned))
        .collect()
}

/// For tests: every key of the Azerbaijani source exists in the other two and none is
/// extra, the sources parse, and none defines a key twice. The error lists what is wrong.
pub fn check(sources: [&str; 3]) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for (i, source) in sources.iter().enumerate() {
        if let Err((_, errors)) = FluentResource::try_new((*source).to_owned()) {
            problems.push(format!("{}: {} syntax errors", Lang::ALL[i].code(), errors.len()));
        }
        let keys = keys(source);
        for (j, k) in keys.iter().enumerate() {
            if keys[..j].contains(k) {
                problems.push(format!("{}: {k} twice", Lang::ALL[i].code()));
            }
        }
    }
    let az = keys(sources[0]);
    for (source, lang) in sources.iter().zip(Lang::ALL).skip(1) {
        let other = keys(source);
        let code = lang.code();
        problems.extend(az.iter().filter(|k| !other.contains(k)).map(|k| format!("{code}: {k} is not translated")));
        problems.extend(other.iter().filter(|k| !az.contains(k)).map(|k| format!("{code}: {k} is not in az")));
    }
    if problems.is_empty() { Ok(az) } else { Err(problems.join("; ")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AZ: &str = "hello = Salam\nitems = { $count } element\n";
    const EN: &str = "hello = Hello\nitems = { $count ->\n    [one] { $count } item\n   *[other] { $count } items\n}\n";
    const RU: &str = "hello = Привет\nitems = { $count ->\n    [one] { $count } элемент\n    [few] { $count } элемента\n   *[other] { $count } элементов\n}\n";

    #[test]
    fn plurals_fallback_and_checks() {
        let texts = Texts::new([AZ, EN, RU]);
        assert_eq!(texts.with(Lang::Ru, "items", &[("count", Value::Number(3))]), "3 элемента");
        assert_eq!(texts.with(Lang::En, "items", &[("count", Value::Number(1))]), "1 item");
        assert_eq!(texts.t(Lang::En, "missing"), "missing");
        assert_eq!(check([AZ, EN, RU]).unwrap(), ["hello", "items"]);
        assert!(check([AZ, "hello = Hi\n", RU]).unwrap_err().contains("en: items is not translated"));
        assert_eq!(Lang::negotiate(Some("ru-RU,ru;q=0.9,en;q=0.8")), Lang::Ru);
        assert_eq!(Lang::negotiate(Some("de, en;q=0.5")), Lang::En);
        assert_eq!(Lang::negotiate(None), Lang::Az);
    }
}
