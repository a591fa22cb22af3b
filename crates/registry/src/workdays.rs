//! Working days in the Republic of Azerbaijan, for the registry's legal deadlines (R-10:
//! registration within 3 working days, an amendment within 1).
//!
//! Saturdays and Sundays are rest days. Public holidays are the fixed ones of the Labour
//! Code (article 105) and the two religious holidays whose dates follow the lunar calendar
//! and are announced each year; those are kept in a table per year. When a holiday falls on
//! a rest day, the next working day is a day off instead (article 105.5). A year whose
//! religious holidays are not in the table is refused rather than guessed.

use std::collections::BTreeSet;

use time::{Date, Duration, Month, Weekday};

/// Fixed public holidays: (month, day, name).
const FIXED: &[(Month, u8, &str)] = &[
    (Month::January, 1, "New Year"),
    (Month::January, 2, "New Year"),
    (Month::March, 8, "Women's Day"),
    (Month::March, 20, "Novruz"),
    (Month::March, 21, "Novruz"),
    (Month::March, 22, "Novruz"),
    (Month::March, 23, "Novruz"),
    (Month::March, 24, "Novruz"),
    (Month::May, 9, "Victory over Fascism Day"),
    (Month::May, 28, "Independence Day"),
    (Month::June, 15, "National Salvation Day"),
    (Month::June, 26, "Armed Forces Day"),
    (Month::November, 8, "Victory Day"),
    (Month::November, 9, "State Flag Day"),
    (Month::December, 31, "Solidarity Day of World Azerbaijanis"),
];

/// Ramazan and Qurban bayramı: two days each, as announced for each year.
const RELIGIOUS: &[(i32, [(Month, u8); 4])] = &[
    (2024, [(Month::April, 10), (Month::April, 11), (Month::June, 16), (Month::June, 17)]),
    (2025, [(Month::March, 30), (Month::March, 31), (Month::June, 6), (Month::June, 7)]),
    (2026, [(Month::March, 20), (Month::March, 21), (Month::May, 27), (Month::May, 28)]),
    (2027, [(Month::March, 10), (Month::March, 11), (Month::May, 16), (Month::May, 17)]),
];

/// Why a date cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The religious holidays of a year are not known yet.
    #[error("the public holidays of {0} are not in the calendar yet; add that year's religious holidays")]
    UnknownYear(i32),
}

/// The calendar of non-working days.
#[derive(Debug, Clone)]
pub struct Calendar {
    days_off: BTreeSet<Date>,
    years: std::ops::RangeInclusive<i32>,
}

impl Default for Calendar {
    fn default() -> Self {
        Self::azerbaijan()
    }
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl Calendar {
    /// The Republic's calendar for the years whose religious holidays are known.
    pub fn azerbaijan() -> Self {
        let years = RELIGIOUS.first().map_or(0, |r| r.0)..=RELIGIOUS.last().map_or(0, |r| r.0);
        // every holiday occurrence, twice where two fall on one day (Novruz and Ramazan in 2026)
        let mut occurrences: Vec<Date> = Vec::new();
        for (year, religious) in RELIGIOUS {
            let fixed = FIXED.iter().map(|(m, d, _)| (*m, *d));
            for (m, d) in fixed.chain(religious.iter().copied()) {
                if let Ok(date) = Date::from_calendar_date(*year, m, d) {
                    occurrences.push(date);
                }
            }
        }
        occurrences.sort();
        let holidays: BTreeSet<Date> = occurrences.iter().copied().collect();
        let mut days_off = BTreeSet::new();
        for h in occurrences {
            // a holiday on a rest day, or on a day already off for another holiday, gives the
            // next working day off instead (Labour Code 105.5)
            if is_weekend(h) || days_off.contains(&h) {
                let mut next = h + Duration::days(1);
                while is_weekend(next) || holidays.contains(&next) || days_off.contains(&next) {
                    next += Duration::days(1);
                }
                days_off.insert(next);
            }
            days_off.insert(h);
        }
        Self { days_off, years }
    }

    fn check(&self, d: Date) -> Result<(), CalendarError> {
        if self.years.contains(&d.year()) { Ok(()) } else { Err(CalendarError::UnknownYear(d.year())) }
    }

    /// Whether `d` is a working day.
    pub fn is_working_day(&self, d: Date) -> Result<bool, CalendarError> {
        self.check(d)?;
        Ok(!is_weekend(d) && !self.days_off.contains(&d))
    }

    /// The day by which something filed on `filed` must be done, `n` working days later:
    /// the filing day does not count, the deadline day does.
    pub fn add_working_days(&self, filed: Date, n: u32) -> Result<Date, CalendarError> {
        let mut day = filed;
        let mut left = n;
        while left > 0 {
            day += Duration::days(1);
            if self.is_working_day(day)? {
                left -= 1;
            }
        }
        Ok(day)
    }

    /// Working days after `from` up to and including `to` (0 when `to` is not later).
    pub fn working_days_between(&self, from: Date, to: Date) -> Result<u32, CalendarError> {
        let mut n = 0;
        let mut day = from;
        while day < to {
            day += Duration::days(1);
            if self.is_working_day(day)? {
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn weekends_and_holidays_are_skipped() {
        let c = Calendar::azerbaijan();
        // filed on Friday 2025-11-07: Nov 8 (Sat, Victory Day) and Nov 9 (Sun, Flag Day)
        // move to Mon 10 and Tue 11; three working days end on Friday 14
        assert!(!c.is_working_day(date!(2025 - 11 - 10)).unwrap());
        assert!(!c.is_working_day(date!(2025 - 11 - 11)).unwrap());
        assert_eq!(c.add_working_days(date!(2025 - 11 - 07), 3).unwrap(), date!(2025 - 11 - 14));
        // an ordinary week: Monday + 3 = Thursday; Friday + 1 = Monday
        assert_eq!(c.add_working_days(date!(2025 - 10 - 06), 3).unwrap(), date!(2025 - 10 - 09));
        assert_eq!(c.add_working_days(date!(2025 - 10 - 10), 1).unwrap(), date!(2025 - 10 - 13));
    }

    #[test]
    fn novruz_and_ramazan_together_in_2026() {
        let c = Calendar::azerbaijan();
        // 20–24 March are Novruz and 20–21 March Ramazan too: Ramazan's 20th (already off),
        // Novruz's and Ramazan's 21st (a Saturday) and Novruz's 22nd (a Sunday) each give the
        // next free working day off: 25, 26, 27 and 30 March
        for d in [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30] {
            assert!(!c.is_working_day(Date::from_calendar_date(2026, Month::March, d).unwrap()).unwrap(), "{d}");
        }
        assert!(c.is_working_day(date!(2026 - 03 - 31)).unwrap());
        assert_eq!(c.add_working_days(date!(2026 - 03 - 19), 3).unwrap(), date!(2026 - 04 - 02));
    }

    #[test]
    fn new_year_and_counting_back() {
        let c = Calendar::azerbaijan();
        // Wed 31 Dec 2025, Thu 1 and Fri 2 Jan 2026 are off: filed Tue 30 Dec, due Wed 7 Jan
        assert_eq!(c.add_working_days(date!(2025 - 12 - 30), 3).unwrap(), date!(2026 - 01 - 07));
        assert_eq!(c.working_days_between(date!(2025 - 12 - 30), date!(2026 - 01 - 07)).unwrap(), 3);
        assert_eq!(c.working_days_between(date!(2026 - 01 - 07), date!(2025 - 12 - 30)).unwrap(), 0);
    }

    #[test]
    fn an_unknown_year_is_refused() {
        let c = Calendar::azerbaijan();
        assert_eq!(c.add_working_days(date!(2031 - 05 - 05), 3), Err(CalendarError::UnknownYear(2031)));
    }
}
