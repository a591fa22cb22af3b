//! The dashboard's texts in Azerbaijani, English and Russian.

/// A supported language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Azərbaycan dili (default).
    Az,
    /// English.
    En,
    /// Русский.
    Ru,
}

impl Lang {
    /// From `?lang=`; Azerbaijani when absent or unknown.
    pub fn parse(s: Option<&str>) -> Self {
        match s {
            Some("en") => Lang::En,
            Some("ru") => Lang::Ru,
            _ => Lang::Az,
        }
    }

    /// The `lang` attribute value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Az => "az",
            Lang::En => "en",
            Lang::Ru => "ru",
        }
    }
}

/// Every text of the dashboard: (key, az, en, ru).
const TEXTS: &[(&str, &str, &str, &str)] = &[
    ("title", "Monitorinq stansiyası", "Monitoring station", "Станция мониторинга"),
    ("skip", "Əsas məzmuna keç", "Skip to main content", "Перейти к содержимому"),
    ("language", "Dil", "Language", "Язык"),
    (
        "metadata_only",
        "Stansiya yalnız metaməlumatları toplayır, mesajların məzmununu heç vaxt.",
        "The station collects metadata only, never message contents.",
        "Станция собирает только метаданные, никогда — содержимое сообщений.",
    ),
    ("updated", "Yeniləndi", "Updated", "Обновлено"),
    (
        "refresh_off",
        "Avtomatik yeniləməni söndür (hər 30 saniyə)",
        "Turn off automatic refresh (every 30 seconds)",
        "Отключить автообновление (каждые 30 секунд)",
    ),
    ("refresh_on", "Avtomatik yeniləməni yandır", "Turn on automatic refresh", "Включить автообновление"),
    ("servers", "Təhlükəsizlik serverləri", "Security servers", "Серверы безопасности"),
    ("server", "Server", "Server", "Сервер"),
    ("status", "Vəziyyət", "Status", "Состояние"),
    ("up", "işləyir", "up", "работает"),
    ("down", "əlçatmazdır", "down", "недоступен"),
    ("never", "hələ sorğu edilməyib", "not polled yet", "ещё не опрошен"),
    ("reason", "Səbəb", "Reason", "Причина"),
    ("last_poll", "Son sorğu", "Last poll", "Последний опрос"),
    ("data_from", "məlumat vaxtı", "data from", "данные от"),
    ("conf_age", "Qlobal konfiqurasiyanın yaşı", "Global configuration age", "Возраст глобальной конфигурации"),
    ("uptime", "İş müddəti", "Uptime", "Время работы"),
    ("ts_lag", "Vaxt möhürü gecikməsi", "Time-stamping lag", "Задержка штампа времени"),
    (
        "queues",
        "Növbələr (jurnal / möhür / insident)",
        "Queues (log / stamp / incident)",
        "Очереди (журнал / штамп / инцидент)",
    ),
    ("disk", "Jurnal diskində boş yer", "Free space on the log's disk", "Свободно на диске журнала"),
    ("refusing", "Trafik rədd edilir", "Refusing traffic", "Трафик отклоняется"),
    ("warnings", "Xəbərdarlıqlar", "Warnings", "Предупреждения"),
    (
        "expires_in",
        "sertifikatın müddəti bitir, qalan gün:",
        "certificate expires, days left:",
        "срок сертификата истекает, осталось дней:",
    ),
    ("expired", "sertifikatın müddəti bitib", "certificate has expired", "срок сертификата истёк"),
    ("ocsp_bad", "OCSP vəziyyəti:", "OCSP status:", "Статус OCSP:"),
    ("ocsp_none", "hələ OCSP cavabı yoxdur", "no OCSP answer yet", "ответа OCSP ещё нет"),
    (
        "conf_expired",
        "qlobal konfiqurasiyanın müddəti bitib",
        "the global configuration has expired",
        "срок глобальной конфигурации истёк",
    ),
    ("services", "Xidmətlər", "Services", "Сервисы"),
    ("service", "Xidmət", "Service", "Сервис"),
    ("clients", "Müştərilər", "Clients", "Клиенты"),
    ("client", "Müştəri", "Client", "Клиент"),
    ("last_hour", "son saat", "last hour", "последний час"),
    ("last_day", "son 24 saat", "last 24 hours", "последние 24 часа"),
    ("requests", "Sorğular", "Requests", "Запросы"),
    ("errors", "Xətalar (faiz)", "Errors (rate)", "Ошибки (доля)"),
    ("latency", "Gecikmə, ms", "Latency, ms", "Задержка, мс"),
    ("no_data", "Məlumat yoxdur", "No data", "Нет данных"),
    ("usage", "Aylıq istifadə statistikası", "Monthly usage statistics", "Ежемесячная статистика использования"),
    ("none", "yoxdur", "none", "нет"),
    ("unit_d", "gün", "d", "д"),
    ("unit_h", "saat", "h", "ч"),
    ("unit_min", "dəq", "min", "мин"),
    ("unit_s", "san", "s", "с"),
];

/// The text `key` in `lang` (`?` if unknown, so a missing text shows).
pub fn t(lang: Lang, key: &str) -> &'static str {
    TEXTS
        .iter()
        .find(|(k, ..)| *k == key)
        .map(|(_, az, en, ru)| match lang {
            Lang::Az => *az,
            Lang::En => *en,
            Lang::Ru => *ru,
        })
        .unwrap_or("?")
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
        for (key, az, en, ru) in TEXTS {
            assert!(!az.is_empty() && !en.is_empty() && !ru.is_empty(), "{key}");
        }
        assert_eq!(t(Lang::Ru, "servers"), "Серверы безопасности");
        assert_eq!(Lang::parse(Some("xx")), Lang::Az);
        let keys: Vec<_> = TEXTS.iter().map(|(k, ..)| k).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(!keys[..i].contains(k), "{k} twice");
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
