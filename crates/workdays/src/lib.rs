//! Working days in the Republic of Azerbaijan, the unit of legal deadlines: the operator's
//! compliance check and test-and-connect (TT-3.3, TT-3.9: 7 working days), the e-services
//! registry's registration and amendment (R-10: 3 and 1 working days).
//!
//! A working day is a Monday–Friday that is not a day off. The days off are the Labour
//! Code's fixed public holidays ([`FIXED_HOLIDAYS`], art. 105), Ramazan and Qurban bayramı
//! (lunar, announced each year: [`RELIGIOUS_HOLIDAYS`] holds the years known here), and the
//! working days that replace holidays falling on a rest day (art. 105.5), which
//! [`azerbaijan_days_off`] computes. Services that let an operator keep the list themselves
//! (the central server) build a [`WorkingCalendar`] from their own table instead.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

use std::collections::BTreeSet;

use time::{Date, Month, OffsetDateTime, UtcOffset, Weekday};

/// Azerbaijan's time zone: UTC+4 all year. Deadlines are counted in Baku calendar days.
pub const BAKU: UtcOffset = time::macros::offset!(+4);

/// The calendar date in Baku at instant `t`.
pub fn local_date(t: OffsetDateTime) -> Date {
    t.to_offset(BAKU).date()
}

/// Today's date in Baku.
pub fn today() -> Date {
    local_date(OffsetDateTime::now_utc())
}

/// The Labour Code's fixed-date public holidays: (month, day, name).
pub const FIXED_HOLIDAYS: &[(Month, u8, &str)] = &[
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

/// Ramazan and Qurban bayramı (two days each) of the years whose dates are announced.
pub const RELIGIOUS_HOLIDAYS: &[(i32, [(Month, u8); 4])] = &[
    (2024, [(Month::April, 10), (Month::April, 11), (Month::June, 16), (Month::June, 17)]),
    (2025, [(Month::March, 30), (Month::March, 31), (Month::June, 6), (Month::June, 7)]),
    (2026, [(Month::March, 20), (Month::March, 21), (Month::May, 27), (Month::May, 28)]),
    (2027, [(Month::March, 10), (Month::March, 11), (Month::May, 16), (Month::May, 17)]),
];

/// A date beyond what the calendar can count to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{n} working days after {date} is out of range")]
pub struct OutOfRange {
    /// The start.
    pub date: Date,
    /// The working days asked for.
    pub n: u32,
}

/// The fixed holidays of `year`.
pub fn fixed_holidays(year: i32) -> Vec<(Date, &'static str)> {
    FIXED_HOLIDAYS
        .iter()
        .filter_map(|&(m, d, name)| Date::from_calendar_date(year, m, d).ok().map(|date| (date, name)))
        .collect()
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

/// Every day off of `year` that is not a weekend day: holidays and the working days that
/// replace holidays falling on a rest day or on another holiday (Novruz and Ramazan share
/// 20–21 March 2026). `None` when the year's religious holidays are not known.
pub fn azerbaijan_days_off(year: i32) -> Option<BTreeSet<Date>> {
    let (_, religious) = RELIGIOUS_HOLIDAYS.iter().find(|(y, _)| *y == year)?;
    let mut occurrences: Vec<Date> = fixed_holidays(year).into_iter().map(|(d, _)| d).collect();
    occurrences.extend(religious.iter().filter_map(|&(m, d)| Date::from_calendar_date(year, m, d).ok()));
    occurrences.sort();
    let holidays: BTreeSet<Date> = occurrences.iter().copied().collect();
    let mut off = BTreeSet::new();
    for h in occurrences {
        if is_weekend(h) || off.contains(&h) {
            // the next day that is neither a rest day, a holiday nor already off
            let mut next = h.next_day()?;
            while is_weekend(next) || holidays.contains(&next) || off.contains(&next) {
                next = next.next_day()?;
            }
            off.insert(next);
        }
        off.insert(h);
    }
    Some(off)
}

/// The working-day calendar: weekends and a set of days off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    holidays: BTreeSet<Date>,
}

impl WorkingCalendar {
    /// A calendar with these days off (weekends are always off).
    pub fn new(holidays: impl IntoIterator<Item = Date>) -> Self {
        Self { holidays: holidays.into_iter().collect() }
    }

    /// Whether `date` is a holiday (or a day off replacing one).
    pub fn is_holiday(&self, date: Date) -> bool {
        self.holidays.contains(&date)
    }

    /// Whether `date` is a working day: Monday–Friday and not a holiday.
    pub fn is_working_day(&self, date: Date) -> bool {
        !is_weekend(date) && !self.is_holiday(date)
    }

    /// The date `n` working days after `date`: `date` itself is never counted (an
    /// application filed on a Thursday starts its count on Friday), and for `n ≥ 1` the
    /// result is always a working day; `n = 0` returns `date` unchanged.
    pub fn add_working_days(&self, date: Date, n: u32) -> Result<Date, OutOfRange> {
        let mut day = date;
        let mut left = n;
        while left > 0 {
            day = day.next_day().ok_or(OutOfRange { date, n })?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    fn fixed_only(years: std::ops::Range<i32>) -> WorkingCalendar {
        WorkingCalendar::new(years.flat_map(fixed_holidays).map(|(d, _)| d))
    }

    fn azerbaijan(years: std::ops::RangeInclusive<i32>) -> WorkingCalendar {
        WorkingCalendar::new(years.flat_map(|y| azerbaijan_days_off(y).unwrap()))
    }

    #[test]
    fn seven_working_days_across_novruz_fixed_holidays_only() {
        // TT-3.3 with the fixed holidays alone: filed Thursday 19 March 2026; Fri 20 – Tue
        // 24 off; Wed 25 (1) … Thu 2 April (7)
        let cal = fixed_only(2026..2027);
        assert_eq!(cal.add_working_days(date!(2026 - 03 - 19), 7).unwrap(), date!(2026 - 04 - 02));
        assert_eq!(cal.working_days_between(date!(2026 - 03 - 19), date!(2026 - 04 - 02)), 7);
        let plain = WorkingCalendar::default();
        assert_eq!(plain.add_working_days(date!(2026 - 03 - 19), 7).unwrap(), date!(2026 - 03 - 30));
    }

    #[test]
    fn weekends_and_edges() {
        let cal = WorkingCalendar::default();
        assert_eq!(cal.add_working_days(date!(2026 - 05 - 01), 1).unwrap(), date!(2026 - 05 - 04));
        assert_eq!(cal.add_working_days(date!(2026 - 05 - 02), 1).unwrap(), date!(2026 - 05 - 04));
        assert_eq!(cal.add_working_days(date!(2026 - 05 - 02), 0).unwrap(), date!(2026 - 05 - 02));
        assert_eq!(cal.working_days_between(date!(2026 - 05 - 04), date!(2026 - 05 - 01)), 0);
        let cal = fixed_only(2026..2028);
        assert_eq!(cal.add_working_days(date!(2026 - 12 - 30), 1).unwrap(), date!(2027 - 01 - 04));
        assert!(cal.add_working_days(Date::MAX, 1).is_err());
    }

    #[test]
    fn holidays_on_rest_days_move_to_the_next_working_day() {
        let cal = azerbaijan(2025..=2026);
        // Sat 8 and Sun 9 Nov 2025 (Victory Day, Flag Day): Mon 10 and Tue 11 are off
        assert!(!cal.is_working_day(date!(2025 - 11 - 10)) && !cal.is_working_day(date!(2025 - 11 - 11)));
        assert_eq!(cal.add_working_days(date!(2025 - 11 - 07), 3).unwrap(), date!(2025 - 11 - 14));
        // 2026: Novruz 20–24 March and Ramazan 20–21 March: Ramazan's 20th (already off),
        // the two 21sts (a Saturday) and Novruz's 22nd (a Sunday) give 25, 26, 27 and 30 off
        for d in [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30] {
            assert!(!cal.is_working_day(Date::from_calendar_date(2026, Month::March, d).unwrap()), "{d}");
        }
        assert!(cal.is_working_day(date!(2026 - 03 - 31)));
        assert_eq!(cal.add_working_days(date!(2026 - 03 - 19), 3).unwrap(), date!(2026 - 04 - 02));
        // New Year: 31 Dec 2025 and 1–2 Jan 2026 off; filed Tue 30 Dec, 3 working days → Wed 7 Jan
        assert_eq!(cal.add_working_days(date!(2025 - 12 - 30), 3).unwrap(), date!(2026 - 01 - 07));
        assert_eq!(azerbaijan_days_off(2031), None, "a year whose lunar holidays are not known");
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (2020i32..2035, 1u16..=365).prop_map(|(y, d)| Date::from_ordinal_date(y, d).unwrap())
    }

    fn any_calendar() -> impl Strategy<Value = WorkingCalendar> {
        proptest::collection::vec(any_date(), 0..40).prop_map(|extra| {
            let fixed = (2020..2036).flat_map(fixed_holidays).map(|(d, _)| d);
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
            prop_assert_eq!(cal.working_days_between(start, end.previous_day().unwrap()), n - 1);
        }

        #[test]
        fn computed_days_off_are_never_weekends_twice(year in 2024i32..=2027) {
            let off = azerbaijan_days_off(year).unwrap();
            let fixed = fixed_holidays(year).len();
            // every holiday and every replacement is one distinct day
            prop_assert!(off.len() >= fixed + 2);
        }
    }
}
