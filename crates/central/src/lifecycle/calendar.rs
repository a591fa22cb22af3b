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
use time::{Date, Month, Weekday};

use super::timefmt::{format_date, parse_date};
use crate::{CentralError, CentralStore};

/// The working-day calendar: weekends (Saturday, Sunday) and a set of public holidays.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    holidays: BTreeSet<Date>,
}

impl WorkingCalendar {
    /// A calendar with these public holidays (weekends are always days off).
    pub fn new(holidays: impl IntoIterator<Item = Date>) -> Self {
        Self { holidays: holidays.into_iter().collect() }
    }

    /// Whether `date` is a public holiday.
    pub fn is_holiday(&self, date: Date) -> bool {
        self.holidays.contains(&date)
    }

    /// Whether `date` is a working day: Monday–Friday and not a holiday.
    pub fn is_working_day(&self, date: Date) -> bool {
        !matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) && !self.is_holiday(date)
    }

    /// The date `n` working days after `date`: the day the `n`-th working day following
    /// `date` falls on. `date` itself is never counted (an application filed on a Thursday
    /// starts its count on Friday), and for `n ≥ 1` the result is always a working day;
    /// `n = 0` returns `date` unchanged.
    pub fn add_working_days(&self, date: Date, n: u32) -> Result<Date, CentralError> {
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day = day
                .next_day()
                .ok_or_else(|| CentralError::Invalid(format!("{n} working days after {date} is out of range")))?;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// How many working days lie after `from` up to and including `to` (0 when `to ≤ from`):
    /// `working_days_between(d, add_working_days(d, n)) == n`.
    pub fn working_days_between(&self, from: Date, to: Date) -> u32 {
        let mut count = 0;
        let mut day = from;
        while day < to {
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
            if self.is_working_day(day) {
                count += 1;
            }
        }
        count
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
    const FIXED: &[(Month, u8, &str)] = &[
        (Month::January, 1, "Yeni il (New Year)"),
        (Month::January, 2, "Yeni il (New Year)"),
        (Month::March, 8, "Qadınlar günü (International Women's Day)"),
        (Month::March, 20, "Novruz bayramı"),
        (Month::March, 21, "Novruz bayramı"),
        (Month::March, 22, "Novruz bayramı"),
        (Month::March, 23, "Novruz bayramı"),
        (Month::March, 24, "Novruz bayramı"),
        (Month::May, 9, "Faşizm üzərində qələbə günü (Victory over Fascism Day)"),
        (Month::May, 28, "Müstəqillik günü (Independence Day)"),
        (Month::June, 15, "Milli qurtuluş günü (National Salvation Day)"),
        (Month::June, 26, "Silahlı qüvvələr günü (Armed Forces Day)"),
        (Month::November, 8, "Zəfər günü (Victory Day)"),
        (Month::November, 9, "Dövlət bayrağı günü (State Flag Day)"),
        (Month::December, 31, "Dünya azərbaycanlılarının həmrəyliyi günü (Solidarity Day)"),
    ];
    FIXED
        .iter()
        .map(|&(month, day, name)| {
            Date::from_calendar_date(year, month, day)
                .map(|date| Holiday { date, name: name.to_owned() })
                .map_err(|e| CentralError::Invalid(format!("year {year} is out of range: {e}")))
        })
        .collect()
}

/// The working calendar with every holiday in the store.
pub async fn load(store: &CentralStore) -> Result<WorkingCalendar, CentralError> {
    let rows = sqlx::query("SELECT date FROM holidays").fetch_all(store.pool()).await?;
    let mut holidays = BTreeSet::new();
    for row in rows {
        let text: String = row.try_get(0)?;
        holidays.insert(parse_date("holiday", &text).map_err(|e| super::corrupt("holiday", e))?);
    }
    Ok(WorkingCalendar { holidays })
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

    fn novruz_2026() -> WorkingCalendar {
        WorkingCalendar::new(default_holidays(2026).unwrap().into_iter().map(|h| h.date))
    }

    #[test]
    fn seven_working_days_across_novruz() {
        // TT-3.3: filed Thursday 19 March 2026. Fri 20 (Novruz), Sat 21, Sun 22, Mon 23 and
        // Tue 24 (Novruz) are days off; then Wed 25 (1), Thu 26 (2), Fri 27 (3), Mon 30 (4),
        // Tue 31 (5), Wed 1 April (6), Thu 2 April (7).
        let cal = novruz_2026();
        assert_eq!(cal.add_working_days(date!(2026 - 03 - 19), 7).unwrap(), date!(2026 - 04 - 02));
        assert_eq!(cal.working_days_between(date!(2026 - 03 - 19), date!(2026 - 04 - 02)), 7);
        // without holidays it would be Tuesday 31 March (weekends only)
        let plain = WorkingCalendar::default();
        assert_eq!(plain.add_working_days(date!(2026 - 03 - 19), 7).unwrap(), date!(2026 - 03 - 30));
    }

    #[test]
    fn weekends_and_edges() {
        let cal = WorkingCalendar::default();
        // Friday + 1 = Monday; Saturday + 1 = Monday; n = 0 is the date itself
        assert_eq!(cal.add_working_days(date!(2026 - 05 - 01), 1).unwrap(), date!(2026 - 05 - 04));
        assert_eq!(cal.add_working_days(date!(2026 - 05 - 02), 1).unwrap(), date!(2026 - 05 - 04));
        assert_eq!(cal.add_working_days(date!(2026 - 05 - 02), 0).unwrap(), date!(2026 - 05 - 02));
        assert_eq!(cal.working_days_between(date!(2026 - 05 - 04), date!(2026 - 05 - 01)), 0);
        // New Year 2027: Thu 31 Dec 2026 and Fri 1 Jan 2027 are holidays, Sat 2 Jan too
        let cal = WorkingCalendar::new(
            default_holidays(2026).unwrap().into_iter().chain(default_holidays(2027).unwrap()).map(|h| h.date),
        );
        assert_eq!(cal.add_working_days(date!(2026 - 12 - 30), 1).unwrap(), date!(2027 - 01 - 04));
        assert!(cal.add_working_days(Date::MAX, 1).is_err());
    }

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

    fn any_calendar() -> impl Strategy<Value = WorkingCalendar> {
        // default holidays of a few years plus random extra days off (lunar holidays, transfers)
        proptest::collection::vec(any_date(), 0..40).prop_map(|extra| {
            let fixed = (2020..2036).flat_map(|y| default_holidays(y).unwrap()).map(|h| h.date);
            WorkingCalendar::new(fixed.chain(extra))
        })
    }

    proptest! {
        #[test]
        fn add_working_days_properties(cal in any_calendar(), start in any_date(), n in 1u32..60) {
            let end = cal.add_working_days(start, n).unwrap();
            prop_assert!(cal.is_working_day(end), "{end} is not a working day");
            prop_assert!(end > start);
            prop_assert_eq!(cal.working_days_between(start, end), n);
            // and it is the first such day: one day earlier has only n-1 working days
            prop_assert_eq!(cal.working_days_between(start, end.previous_day().unwrap()), n - 1);
        }

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
