//! The dashboard's texts in Azerbaijani, English and Russian (`locales/*.ftl`, through
//! `egov-i18n`, as the portal's), and the formatting of durations, moments and sizes.

pub use egov_i18n::Lang;
use egov_i18n::LazyTexts;

/// The dashboard's texts.
pub static TEXTS: LazyTexts = LazyTexts::new([
    include_str!("../locales/az.ftl"),
    include_str!("../locales/en.ftl"),
    include_str!("../locales/ru.ftl"),
]);

/// The language of `?lang=`; Azerbaijani when absent or unknown.
pub fn parse_lang(s: Option<&str>) -> Lang {
    s.and_then(Lang::from_code).unwrap_or(Lang::Az)
}

/// The text `key` in `lang` (Azerbaijani when a translation lacks it).
pub fn t(lang: Lang, key: &str) -> String {
    TEXTS.get().t(lang, key)
}

/// A span of seconds for people: the two largest units, e.g. `3 d 4 h`, `5 min 2 s`.
pub fn duration(lang: Lang, seconds: i64) -> String {
    let sign = if seconds < 0 { "−" } else { "" };
    let s = seconds.unsigned_abs();
    let parts = [(s / 86_400, "unit_d"), (s / 3600 % 24, "unit_h"), (s / 60 % 60, "unit_min"), (s % 60, "unit_s")];
    let first = parts.iter().position(|(v, _)| *v > 0).unwrap_or(3);
    let shown: Vec<String> = parts[first..(first + 2).min(4)]
        .iter()
        .enumerate()
        .filter(|(i, (v, _))| *i == 0 || *v > 0)
        .map(|(_, (v, unit))| format!("{v} {}", t(lang, unit)))
        .collect();
    format!("{sign}{}", shown.join(" "))
}

/// A moment (ms since the Unix epoch) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn moment(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// Bytes for people: `12.3 GiB`.
pub fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < units.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{n} B") } else { format!("{v:.1} {}", units[i]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_exists_in_every_language() {
        let keys = egov_i18n::check(TEXTS.sources()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(keys.len(), 44);
        assert_eq!(t(Lang::Ru, "servers"), "Серверы безопасности");
        assert_eq!(parse_lang(Some("xx")), Lang::Az);
        // every key the dashboard uses exists
        let web = include_str!("web.rs");
        for piece in web.split("t(lang, \"").skip(1) {
            let key = piece.split('"').next().unwrap_or_default();
            assert!(keys.iter().any(|k| k == key), "{key} is used but not defined");
        }
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Lang::En, 0), "0 s");
        assert_eq!(duration(Lang::En, 59), "59 s");
        assert_eq!(duration(Lang::En, 62), "1 min 2 s");
        assert_eq!(duration(Lang::En, 3600), "1 h");
        assert_eq!(duration(Lang::En, 3 * 86_400 + 4 * 3600 + 5), "3 d 4 h");
        assert_eq!(duration(Lang::Ru, 90), "1 мин 30 с");
        assert_eq!(duration(Lang::Az, 86_400), "1 gün");
        assert_eq!(duration(Lang::En, -5), "−5 s");
    }

    #[test]
    fn moments_and_sizes() {
        assert_eq!(moment(1_767_225_600_000), "2026-01-01 00:00:00 UTC");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }
}
