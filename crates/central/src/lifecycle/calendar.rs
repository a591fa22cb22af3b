//! Working days, the unit of the operator's deadlines: the compliance check of an application
//! (TT-3.3) and the test-and-connect of an e-service (TT-3.9) take at most 7 working days.
//!
//! A working day is a Monday–Friday that is not a public holiday. Holidays live in the
//! `holidays` table. [`seed_default_holidays`] enters the fixed-date holidays of the Labour
//! Code (art. 105); the lunar ones (Ramazan and Qurban bayramı) and the rest days the Cabinet
//! moves each year when a holiday falls on a weekend are entered by the operator, because they
//! cannot be computed reliably in advance.
//!
//! Calendar months (TT-3.6 remedy period, TT-3.14 disconnection notice) use [`add_months`].

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::{Date, Month};

use super::timefmt::{format_date, parse_date};
use crate::{CentralError, CentralStore};

/// The working-day calendar (shared with the e-services registry).
pub use egov_workdays::WorkingCalendar;

impl From<egov_workdays::OutOfRange> for CentralError {
    fn from(e: egov_workdays::OutOfRange) -> Self {
        CentralError::Invalid(e.to_string())
    }
}

/// `date` plus `months` calendar months, clamped to the end of a shorter month
/// (31 January + 1 month = 28 or 29 February).
pub fn add_months(date: Date, months: u32) -> Result<Date, CentralError> {
    let out_of_range = || CentralError::Invalid(format!("{date} plus {months} months is out of range"));
    let index = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).map_err(|_| out_of_range())?;
    let month = u8::try_from(index.rem_euclid(12) + 1).map_err(|_| out_of_range())?;
    let month = Month::try_from(month).map_err(|_| out_of_range())?;
    let day = date.day().min(month.length(year));
    Date::from_calendar_date(year, month, day).map_err(|_| out_of_range())
}

/// A public holiday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holiday {
    /// The day off.
    #[serde(with = "super::timefmt::date")]
    pub date: Date,
    /// Its name, e.g. "Novruz bayramı".
    pub name: String,
}

/// Azerbaijan's fixed-date public holidays of `year` (Labour Code art. 105). Lunar holidays
/// and transferred rest days are not included: the operator enters them.
pub fn default_holidays(year: i32) -> Result<Vec<Holiday>, CentralError> {
    let holidays = egov_workdays::fixed_holidays(year);
    if holidays.len() != egov_workdays::FIXED_HOLIDAYS.len() {
        return Err(CentralError::Invalid(format!("year {year} is out of range")));
    }
    Ok(holidays.into_iter().map(|(date, name)| Holiday { date, name: name.to_owned() }).collect())
}

/// The working calendar with every holiday in the store.
pub async fn load(store: &CentralStore) -> Result<WorkingCalendar, CentralError> {
    let rows = sqlx::query("SELECT date FROM holidays").fetch_all(store.pool()).await?;
    let mut holidays = BTreeSet::new();
    for row in rows {
        let text: String = row.try_get(0)?;
        holidays.insert(parse_date("holiday", &text).map_err(|e| super::corrupt("holiday", e))?);
    }
    Ok(WorkingCalendar::new(holidays))
}

/// The holidays (of `year`, or all), by date.
pub async fn list_holidays(store: &CentralStore, year: Option<i32>) -> Result<Vec<Holiday>, CentralError> {
    // dates are YYYY-MM-DD text, so a year is a prefix range
    let (from, to) = match year {
        Some(y) => (format!("{y:04}-"), format!("{y:04}-~")),
        None => (String::new(), "~".to_owned()),
    };
    let rows = sqlx::query("SELECT date, name FROM holidays WHERE date >= $1 AND date <= $2 ORDER BY date")
        .bind(from)
        .bind(to)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|row| {
            let date: String = row.try_get(0)?;
            Ok(Holiday {
                date: parse_date("holiday", &date).map_err(|e| super::corrupt("holiday", e))?,
                name: row.try_get(1)?,
            })
        })
        .collect()
}

/// Adds a public holiday (or a transferred rest day). A date already listed is a conflict.
pub async fn add_holiday(store: &CentralStore, date: Date, name: &str) -> Result<Holiday, CentralError> {
    let name = super::line("holiday name", name, 200)?;
    let mut tx = store.database().begin_write().await?;
    let done = sqlx::query("INSERT INTO holidays (date, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(format_date(date))
        .bind(&name)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(CentralError::Conflict(format!("{} is already a holiday", format_date(date))));
    }
    tx.commit().await?;
    Ok(Holiday { date, name })
}

/// Removes a holiday.
pub async fn remove_holiday(store: &CentralStore, date: Date) -> Result<(), CentralError> {
    let mut tx = store.database().begin_write().await?;
    let done = sqlx::query("DELETE FROM holidays WHERE date = $1").bind(format_date(date)).execute(&mut *tx).await?;
    if done.rows_affected() == 0 {
        return Err(CentralError::NotFound(format!("{} is not a holiday", format_date(date))));
    }
    tx.commit().await?;
    Ok(())
}

/// Enters [`default_holidays`] of `year`, keeping any holiday already entered on those dates.
/// Returns how many were added.
pub async fn seed_default_holidays(store: &CentralStore, year: i32) -> Result<u64, CentralError> {
    let holidays = default_holidays(year)?;
    let mut tx = store.database().begin_write().await?;
    let mut added = 0;
    for h in holidays {
        added += sqlx::query("INSERT INTO holidays (date, name) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(format_date(h.date))
            .bind(&h.name)
            .execute(&mut *tx)
            .await?
            .rows_affected();
    }
    tx.commit().await?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn months_clamp_to_month_end() {
        assert_eq!(add_months(date!(2026 - 01 - 31), 1).unwrap(), date!(2026 - 02 - 28));
        assert_eq!(add_months(date!(2028 - 01 - 31), 1).unwrap(), date!(2028 - 02 - 29));
        assert_eq!(add_months(date!(2026 - 03 - 31), 1).unwrap(), date!(2026 - 04 - 30));
        assert_eq!(add_months(date!(2026 - 12 - 15), 1).unwrap(), date!(2027 - 01 - 15));
        assert_eq!(add_months(date!(2026 - 03 - 19), 0).unwrap(), date!(2026 - 03 - 19));
        assert_eq!(add_months(date!(2026 - 11 - 30), 14).unwrap(), date!(2028 - 01 - 30));
        assert!(add_months(Date::MAX, 1).is_err());
    }

    #[test]
    fn default_set() {
        let h = default_holidays(2026).unwrap();
        assert_eq!(h.len(), 15);
        assert!(h.iter().any(|h| h.date == date!(2026 - 06 - 15)));
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (2020i32..2035, 1u16..=365).prop_map(|(y, d)| Date::from_ordinal_date(y, d).unwrap())
    }

    proptest! {
        #[test]
        fn add_months_properties(start in any_date(), m in 0u32..30) {
            let end = add_months(start, m).unwrap();
            prop_assert!(end >= start);
            prop_assert!(end.day() <= start.day());
            let months = (end.year() - start.year()) * 12 + i32::from(u8::from(end.month())) - i32::from(u8::from(start.month()));
            prop_assert_eq!(months, m as i32);
        }
    }
}
