//! The registry's deadlines in working days (R-10: registration within 3, an amendment
//! within 1), on the Republic's calendar from `egov-workdays`: weekends, the fixed public
//! holidays, Ramazan and Qurban bayramı, and the days that replace holidays falling on a
//! rest day. A year whose religious holidays are not known is refused rather than guessed.

use egov_workdays::{RELIGIOUS_HOLIDAYS, WorkingCalendar, azerbaijan_days_off};
use time::Date;

/// Why a date cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The religious holidays of a year are not known yet.
    #[error("the public holidays of {0} are not in the calendar yet; add that year's religious holidays")]
    UnknownYear(i32),
}

/// The calendar of the years whose days off are known.
#[derive(Debug, Clone)]
pub struct Calendar {
    days: WorkingCalendar,
    years: std::ops::RangeInclusive<i32>,
}

impl Default for Calendar {
    fn default() -> Self {
        Self::azerbaijan()
    }
}

impl Calendar {
    /// The Republic's calendar for the years whose religious holidays are known.
    pub fn azerbaijan() -> Self {
        let first = RELIGIOUS_HOLIDAYS.first().map_or(0, |r| r.0);
        let last = RELIGIOUS_HOLIDAYS.last().map_or(0, |r| r.0);
        let days = WorkingCalendar::new((first..=last).filter_map(azerbaijan_days_off).flatten());
        Self { days, years: first..=last }
    }

    fn check(&self, d: Date) -> Result<(), CalendarError> {
        if self.years.contains(&d.year()) { Ok(()) } else { Err(CalendarError::UnknownYear(d.year())) }
    }

    /// Whether `d` is a working day.
    pub fn is_working_day(&self, d: Date) -> Result<bool, CalendarError> {
        self.check(d)?;
        Ok(self.days.is_working_day(d))
    }

    /// The day by which something filed on `filed` must be done, `n` working days later:
    /// the filing day does not count, the deadline day does.
    pub fn add_working_days(&self, filed: Date, n: u32) -> Result<Date, CalendarError> {
        self.check(filed)?;
        let due = self.days.add_working_days(filed, n).map_err(|_| CalendarError::UnknownYear(filed.year() + 1))?;
        self.check(due)?;
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn registry_deadlines() {
        let c = Calendar::azerbaijan();
        // filed Friday 7 Nov 2025; 10 and 11 Nov replace the weekend's holidays
        assert_eq!(c.add_working_days(date!(2025 - 11 - 07), 3).unwrap(), date!(2025 - 11 - 14));
        assert_eq!(c.add_working_days(date!(2025 - 12 - 30), 1).unwrap(), date!(2026 - 01 - 05));
        assert_eq!(c.add_working_days(date!(2026 - 03 - 19), 3).unwrap(), date!(2026 - 04 - 02));
        assert!(!c.is_working_day(date!(2026 - 05 - 27)).unwrap(), "Qurban bayramı");
        assert_eq!(c.add_working_days(date!(2031 - 05 - 05), 3), Err(CalendarError::UnknownYear(2031)));
        assert_eq!(c.add_working_days(date!(2027 - 12 - 30), 3), Err(CalendarError::UnknownYear(2028)));
    }
}
