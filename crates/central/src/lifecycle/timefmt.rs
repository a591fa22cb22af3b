//! The JSON forms of calendar dates (`YYYY-MM-DD`) and instants (RFC 3339, written in UTC),
//! as serde helpers (`#[serde(with = "…")]`) and as parsers with errors that name the field.

use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::CentralError;

const DATE: &[BorrowedFormatItem<'static>] = time::macros::format_description!("[year]-[month]-[day]");

/// `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    date.format(DATE).unwrap_or_else(|_| date.to_string())
}

/// RFC 3339 in UTC (`2026-03-19T08:00:00Z`).
pub fn format_instant(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses `YYYY-MM-DD`, naming `field` in the error.
pub fn parse_date(field: &str, value: &str) -> Result<Date, CentralError> {
    Date::parse(value.trim(), DATE)
        .map_err(|e| CentralError::Invalid(format!("{field} '{}' is not a date YYYY-MM-DD: {e}", super::quote(value))))
}

/// Parses an RFC 3339 instant (`2026-03-19T12:00:00+04:00`), naming `field` in the error.
pub fn parse_instant(field: &str, value: &str) -> Result<OffsetDateTime, CentralError> {
    OffsetDateTime::parse(value.trim(), &Rfc3339).map_err(|e| {
        CentralError::Invalid(format!(
            "{field} '{}' is not an RFC 3339 date-time like 2026-03-19T12:00:00+04:00: {e}",
            super::quote(value)
        ))
    })
}

/// Serde for a [`Date`] as `YYYY-MM-DD`.
pub mod date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    /// Writes `YYYY-MM-DD`.
    pub fn serialize<S: Serializer>(date: &Date, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_date(*date))
    }

    /// Reads `YYYY-MM-DD`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_date("date", &text).map_err(serde::de::Error::custom)
    }
}

/// Serde for an optional [`Date`] as `YYYY-MM-DD` or `null`.
pub mod option_date {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::Date;

    /// Writes `YYYY-MM-DD` or `null`.
    pub fn serialize<S: Serializer>(date: &Option<Date>, s: S) -> Result<S::Ok, S::Error> {
        match date {
            Some(d) => s.serialize_str(&super::format_date(*d)),
            None => s.serialize_none(),
        }
    }

    /// Reads `YYYY-MM-DD` or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse_date("date", &text).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

/// Serde for an [`OffsetDateTime`] as RFC 3339 (written in UTC).
pub mod rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes RFC 3339 in UTC.
    pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_instant(*t))
    }

    /// Reads RFC 3339 with any offset.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
        let text = String::deserialize(d)?;
        super::parse_instant("date-time", &text).map_err(serde::de::Error::custom)
    }
}

/// Serde for an optional [`OffsetDateTime`] as RFC 3339 or `null`.
pub mod option_rfc3339 {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;

    /// Writes RFC 3339 in UTC, or `null`.
    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&super::format_instant(*t)),
            None => s.serialize_none(),
        }
    }

    /// Reads RFC 3339 or `null`.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(text) => super::parse_instant("date-time", &text).map(Some).map_err(serde::de::Error::custom),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn round_trips() {
        assert_eq!(format_date(date!(2026 - 03 - 09)), "2026-03-09");
        assert_eq!(parse_date("d", "2026-03-09").unwrap(), date!(2026 - 03 - 09));
        let e = parse_date("assessment_date", "09.03.2026").unwrap_err().to_string();
        assert!(e.contains("assessment_date '09.03.2026' is not a date YYYY-MM-DD"), "{e}");
        assert!(parse_date("d", "2026-02-30").is_err());
        let t = parse_instant("starts_at", "2026-03-19T12:00:00+04:00").unwrap();
        assert_eq!(t, datetime!(2026-03-19 08:00 UTC));
        assert_eq!(format_instant(t), "2026-03-19T08:00:00Z");
        assert!(parse_instant("starts_at", "2026-03-19 12:00").unwrap_err().to_string().contains("starts_at"));
    }
}
