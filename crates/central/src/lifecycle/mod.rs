//! Participant and service lifecycles (TT-3.1–3.14, P-6.1): applications and their
//! compliance checks, contracts, breach notices, blocking, disconnection, e-service connection,
//! versions and retirements; the working-day calendar their deadlines are counted in; notices
//! to participants and the maintenance/retirement calendar (P-5.1.7).
//!
//! Calendar dates (deadlines, holidays, retirement days) are dates in Baku time (UTC+4, no
//! daylight saving since 2016): "7 working days" and "one month" are counted in the days the
//! participants live in, not in UTC.

/// Declares a closed set of values written as fixed strings (database and JSON): the enum,
/// `ALL`, `as_str`, `Display`, and a `FromStr` whose error lists the known values.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The stored and JSON form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::CentralError;

            fn from_str(s: &str) -> Result<Self, $crate::CentralError> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let known: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::CentralError::Invalid(format!(
                        "unknown {} '{}'; known: {}",
                        $what,
                        $crate::lifecycle::quote(s),
                        known.join(", ")
                    ))
                })
            }
        }
    };
}
pub(crate) use text_enum;

pub mod calendar;
pub mod ical;
pub mod notices;
pub mod participants;
pub mod services;
pub mod timefmt;

use egov_store::StoreError;
use time::{Date, OffsetDateTime};

use crate::CentralError;

/// Azerbaijan's time zone and the Baku date of an instant (shared with the registry).
pub use egov_workdays::{BAKU, local_date};

/// Who a change is attributed to when the caller names nobody.
pub const OPERATOR: &str = "operator";

/// The instant a Baku calendar day begins (00:00 UTC+4).
pub fn start_of_day(date: Date) -> OffsetDateTime {
    date.midnight().assume_offset(BAKU)
}

/// `t` without its fraction of a second: what the database keeps (unix seconds), so that what
/// an operation returns equals what a later read returns.
pub(crate) fn whole_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// A unique-index violation means a concurrent request got there first: a conflict with the
/// current state, reported as `message`; any other database error stays a store failure.
pub(crate) fn conflict_on_unique(e: sqlx::Error, message: impl FnOnce() -> String) -> CentralError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        return CentralError::Conflict(message());
    }
    e.into()
}

/// A new time-ordered identifier (UUID v7): sorts by creation time on both backends.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// A one-line text field: trimmed, non-empty, at most `max` characters, no control characters.
pub(crate) fn line(field: &str, value: &str, max: usize) -> Result<String, CentralError> {
    let value = value.trim();
    if value.chars().any(char::is_control) {
        return Err(CentralError::Invalid(format!("{field} must be a single line without control characters")));
    }
    text(field, value, max)
}

/// A free text field (may span lines): trimmed, non-empty, at most `max` characters.
pub(crate) fn text(field: &str, value: &str, max: usize) -> Result<String, CentralError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(CentralError::Invalid(format!("{field} is required")));
    }
    if value.chars().count() > max {
        return Err(CentralError::Invalid(format!("{field} is longer than {max} characters")));
    }
    if value.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(CentralError::Invalid(format!("{field} contains control characters")));
    }
    Ok(value.to_owned())
}

/// The actor a change is attributed to: the caller's name, or [`OPERATOR`].
pub(crate) fn actor(actor: Option<&str>) -> Result<String, CentralError> {
    match actor {
        None => Ok(OPERATOR.to_owned()),
        Some(a) if a.trim().is_empty() => Ok(OPERATOR.to_owned()),
        Some(a) => line("actor", a, 200),
    }
}

/// A value read back from the database does not parse: the database was changed behind our
/// back. Reported as a store failure (HTTP 500), not as the caller's mistake.
pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> CentralError {
    CentralError::Store(StoreError::Query(sqlx::Error::Decode(format!("stored {what} is invalid: {e}").into())))
}

/// Unix seconds back to an instant.
pub(crate) fn from_unix(what: &str, secs: i64) -> Result<OffsetDateTime, CentralError> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| corrupt(what, e))
}

/// Shortens user-supplied text quoted in an error message.
pub(crate) fn quote(value: &str) -> String {
    let mut s: String = value.chars().take(80).collect();
    if value.chars().count() > 80 {
        s.push('…');
    }
    s
}

/// Serialises a list for a JSON TEXT column.
pub(crate) fn to_json_text<T: serde::Serialize>(value: &T) -> Result<String, CentralError> {
    serde_json::to_string(value).map_err(|e| CentralError::Invalid(format!("cannot encode value: {e}")))
}

/// Reads a JSON TEXT column.
pub(crate) fn from_json_text<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, CentralError> {
    serde_json::from_str(text).map_err(|e| corrupt(what, e))
}

#[cfg(test)]
mod store_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn baku_dates() {
        // 21:00 UTC on 19 March is already 20 March in Baku
        assert_eq!(local_date(datetime!(2026-03-19 21:00 UTC)), date!(2026 - 03 - 20));
        assert_eq!(local_date(datetime!(2026-03-19 19:59 UTC)), date!(2026 - 03 - 19));
        assert_eq!(start_of_day(date!(2026 - 03 - 20)), datetime!(2026-03-19 20:00 UTC));
    }

    #[test]
    fn text_fields() {
        assert_eq!(line("name", "  Ministry  ", 10).unwrap(), "Ministry");
        assert!(line("name", "   ", 10).unwrap_err().to_string().contains("name is required"));
        assert!(line("name", "a\nb", 10).unwrap_err().to_string().contains("single line"));
        assert!(line("name", "ləğv edildi", 5).unwrap_err().to_string().contains("longer than 5"));
        assert_eq!(text("body", "a\nb", 10).unwrap(), "a\nb");
        assert!(text("body", "a\u{7}b", 10).is_err());
        assert_eq!(actor(None).unwrap(), OPERATOR);
        assert_eq!(actor(Some("anar")).unwrap(), "anar");
    }
}
