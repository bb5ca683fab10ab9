//! The calendar the city's economy follows, month by month: Tết (the lunar new year, whose
//! date moves between late January and mid-February) and the 2021 pandemic (Ho Chi Minh City's
//! lockdown of July to September 2021, the border closure to visitors).

use chrono::{Datelike, Months, NaiveDate};

/// Months are counted from January 2020 (month 0): the year before the first published period,
/// so that a year-on-year index has its base.
pub(super) const BASE_YEAR: i32 = 2020;

/// The month number (from January [`BASE_YEAR`] = 0) of a year and month 1 to 12.
pub(super) fn month_index(year: i32, month: u32) -> usize {
    usize::try_from((year - BASE_YEAR) * 12 + month as i32 - 1).unwrap_or(0)
}

/// The year and month (1 to 12) of a month number.
pub(super) fn year_month(index: usize) -> (i32, u32) {
    (BASE_YEAR + (index / 12) as i32, (index % 12) as u32 + 1)
}

/// The first day of Tết (Tết Nguyên Đán), 2020 to 2040; later years fall back to 5 February,
/// near the middle of its range.
pub(super) fn tet(year: i32) -> NaiveDate {
    const TET: [(u32, u32); 21] = [
        (1, 25), // 2020
        (2, 12),
        (2, 1),
        (1, 22),
        (2, 10),
        (1, 29), // 2025
        (2, 17),
        (2, 6),
        (1, 26),
        (2, 13),
        (2, 3), // 2030
        (1, 23),
        (2, 11),
        (1, 31),
        (2, 19),
        (2, 8), // 2035
        (1, 28),
        (2, 15),
        (2, 4),
        (1, 24),
        (2, 12), // 2040
    ];
    let (month, day) = usize::try_from(year - BASE_YEAR)
        .ok()
        .and_then(|i| TET.get(i).copied())
        .unwrap_or((2, 5));
    NaiveDate::from_ymd_opt(year, month, day).expect("a date of the table")
}

/// How Tết moves an indicator's month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TetEffect {
    /// Not at all.
    None,
    /// Shopping and travel: up in the three weeks before Tết, down in its first days.
    Consumption,
    /// Factories, ports and offices: down for the ten days of the holiday.
    Production,
}

/// Days from `from` (included) to `to` (excluded) that fall in a month.
fn days_within(from: NaiveDate, to: NaiveDate, year: i32, month: u32) -> f64 {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("a month");
    let next = first + Months::new(1);
    let (a, b) = (from.max(first), to.min(next));
    (b - a).num_days().max(0) as f64
}

fn days_in_month(year: i32, month: u32) -> f64 {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("a month");
    ((first + Months::new(1)) - first).num_days() as f64
}

/// Tết's factor on a month's activity (1: none), before the year's total is kept: the Tết of
/// this year and of the next (whose weeks before may fall in December).
pub(super) fn tet_factor(effect: TetEffect, year: i32, month: u32) -> f64 {
    let days = days_in_month(year, month);
    let mut f = 1.0;
    for t in [tet(year), tet(year + 1)] {
        let d = |from: i64, to: i64| {
            days_within(
                t + chrono::Duration::days(from),
                t + chrono::Duration::days(to),
                year,
                month,
            )
        };
        match effect {
            TetEffect::None => {}
            TetEffect::Consumption => {
                // A third more of a month's sales over the three weeks before, half of the
                // daily trade lost in the first six days.
                f += 0.35 * d(-21, 0) / 21.0 - 0.5 * d(0, 6) / days;
            }
            TetEffect::Production => {
                // Ten days of holiday (two before the first day, eight from it) at 60 %.
                f -= 0.4 * d(-2, 8) / days;
            }
        }
    }
    f
}

/// How deep the pandemic's restrictions were in a month, 0 (none) to 1 (the strict lockdown of
/// August 2021): the short stay-at-home of April 2020, the fourth wave from late May 2021,
/// Directive 16 from 9 July, the strict lockdown of 23 August to 30 September, reopening from
/// 1 October, and the recovery through 2022.
pub(super) fn lockdown_depth(year: i32, month: u32) -> f64 {
    const Y2020: [f64; 12] = [
        0.0, 0.05, 0.15, 0.35, 0.1, 0.05, 0.05, 0.05, 0.05, 0.03, 0.03, 0.03,
    ];
    const Y2021: [f64; 12] = [
        0.03, 0.05, 0.02, 0.02, 0.05, 0.2, 0.6, 1.0, 0.9, 0.45, 0.25, 0.15,
    ];
    const Y2022: [f64; 12] = [
        0.1, 0.08, 0.06, 0.05, 0.04, 0.03, 0.03, 0.02, 0.02, 0.01, 0.01, 0.01,
    ];
    let i = month.clamp(1, 12) as usize - 1;
    match year {
        2020 => Y2020[i],
        2021 => Y2021[i],
        2022 => Y2022[i],
        _ => 0.0,
    }
}

/// How closed the borders were to foreign visitors in a month, 0 to 1: from March 2020 to the
/// reopening of 15 March 2022.
pub(super) fn border_closure(year: i32, month: u32) -> f64 {
    match (year, month) {
        (2020, 1) => 0.0,
        (2020, 2) => 0.4,
        (2020, 3) => 0.8,
        (2020, _) | (2021, _) => 0.97,
        (2022, 1) => 0.9,
        (2022, 2) => 0.8,
        (2022, 3) => 0.5,
        (2022, 4) => 0.3,
        (2022, 5) => 0.15,
        (2022, 6) => 0.05,
        _ => 0.0,
    }
}

/// The months (year, month) of a period's first day to its last.
pub(super) fn months_of(period: ioc_protocol::indicator::Period) -> Vec<(i32, u32)> {
    let first = period.first_day();
    let last = period.last_day();
    (first.month()..=last.month())
        .map(|m| (first.year(), m))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_numbers_go_both_ways() {
        assert_eq!(month_index(2020, 1), 0);
        assert_eq!(month_index(2021, 8), 19);
        assert_eq!(year_month(19), (2021, 8));
        assert_eq!(year_month(month_index(2026, 12)), (2026, 12));
    }

    #[test]
    fn tet_moves_between_january_and_february() {
        assert_eq!(tet(2023), NaiveDate::from_ymd_opt(2023, 1, 22).unwrap());
        assert_eq!(tet(2026), NaiveDate::from_ymd_opt(2026, 2, 17).unwrap());
        // Factories slow in the holiday's month: January in 2023 (Tết on the 22nd), February
        // in 2024 (the 10th); shops are busiest in the weeks before.
        let production = |y, m| tet_factor(TetEffect::Production, y, m);
        assert!(production(2023, 1) < production(2023, 2));
        assert!(production(2024, 2) < 0.9 && production(2024, 1) == 1.0);
        assert_eq!(tet_factor(TetEffect::Production, 2024, 4), 1.0);
        assert!(tet_factor(TetEffect::Consumption, 2025, 1) > 1.25);
        assert!(tet_factor(TetEffect::Consumption, 2026, 2) > 1.1);
        assert_eq!(tet_factor(TetEffect::None, 2026, 2), 1.0);
    }

    #[test]
    fn the_lockdown_is_deepest_in_august_2021() {
        let deepest = (2020..=2023)
            .flat_map(|y| (1..=12).map(move |m| (y, m)))
            .max_by(|a, b| lockdown_depth(a.0, a.1).total_cmp(&lockdown_depth(b.0, b.1)));
        assert_eq!(deepest, Some((2021, 8)));
        assert_eq!(lockdown_depth(2023, 8), 0.0);
        assert!(border_closure(2021, 6) > 0.9 && border_closure(2022, 7) == 0.0);
    }
}
