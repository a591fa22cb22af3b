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
    ("servers", "Təhlükəsizlik serverləri", "Security servers", "Серверы безопасности"),
    ("server", "Server", "Server", "Сервер"),
    ("status", "Vəziyyət", "Status", "Состояние"),
    ("up", "işləyir", "up", "работает"),
    ("down", "əlçatmazdır", "down", "недоступен"),
    ("never", "hələ sorğu edilməyib", "not polled yet", "ещё не опрошен"),
    ("reason", "Səbəb", "Reason", "Причина"),
    ("conf_age", "Qlobal konfiqurasiyanın yaşı", "Global configuration age", "Возраст глобальной конфигурации"),
    ("uptime", "İş müddəti", "Uptime", "Время работы"),
    ("ts_lag", "Vaxt möhürü gecikməsi", "Time-stamping lag", "Задержка штампа времени"),
    (
        "queues",
        "Növbələr (jurnal / möhür / insident)",
        "Queues (log / stamp / incident)",
        "Очереди (журнал / штамп / инцидент)",
    ),
    ("refusing", "Trafik rədd edilir", "Refusing traffic", "Трафик отклоняется"),
    ("certificates", "Sertifikatlar", "Certificates", "Сертификаты"),
    ("warnings", "Xəbərdarlıqlar", "Warnings", "Предупреждения"),
    (
        "expires_in",
        "sertifikatın müddəti bitir, qalan gün:",
        "certificate expires, days left:",
        "срок сертификата истекает, осталось дней:",
    ),
    ("expired", "sertifikatın müddəti bitib", "certificate has expired", "срок сертификата истёк"),
    ("ocsp_bad", "OCSP vəziyyəti:", "OCSP status:", "Статус OCSP:"),
    ("services", "Xidmətlər", "Services", "Сервисы"),
    ("clients", "Müştərilər", "Clients", "Клиенты"),
    ("last_hour", "son saat", "last hour", "последний час"),
    ("last_day", "son 24 saat", "last 24 hours", "последние 24 часа"),
    ("requests", "Sorğular", "Requests", "Запросы"),
    ("errors", "Xətalar", "Errors", "Ошибки"),
    ("no_data", "Məlumat yoxdur", "No data", "Нет данных"),
    ("usage", "Aylıq istifadə statistikası", "Monthly usage statistics", "Ежемесячная статистика использования"),
    ("none", "yoxdur", "none", "нет"),
];

/// The text `key` in `lang` (the key itself if unknown, so a missing text shows).
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
    }
}
