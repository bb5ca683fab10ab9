//! The calendar of indicators: a [`Periodicity`] (month, quarter, year), a [`Period`] of one
//! ("2026-10", "2026-Q3", "2026"), and a reporting [`Deadline`] ("day 10 of the month after
//! the period ends").
//!
//! Periods are local (Asia/Ho_Chi_Minh): October 2026 runs from local midnight on 1 October to
//! local midnight on 1 November, and a report due "on the 10th" is late from local midnight at
//! the end of the 10th. A period's text is its one form on every wire, in the store and in a
//! spreadsheet: `YYYY-MM` (a month, two digits), `YYYY-Qn` (a quarter) or `YYYY` (a year).

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Months, NaiveDate};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::time;

/// How often an indicator is reported: each month, each quarter or each year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Periodicity {
    Month,
    Quarter,
    Year,
}

impl Periodicity {
    pub const ALL: [Periodicity; 3] = [Periodicity::Month, Periodicity::Quarter, Periodicity::Year];

    /// `month`, `quarter` or `year`, as the catalogue writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Periodicity::Month => "month",
            Periodicity::Quarter => "quarter",
            Periodicity::Year => "year",
        }
    }

    /// Periods in a year: 12, 4 or 1.
    pub fn per_year(self) -> u8 {
        match self {
            Periodicity::Month => 12,
            Periodicity::Quarter => 4,
            Periodicity::Year => 1,
        }
    }

    /// Months in one period: 1, 3 or 12.
    pub fn months(self) -> u8 {
        12 / self.per_year()
    }

    /// The periods of a year, in order.
    pub fn periods_of(self, year: i32) -> impl Iterator<Item = Period> {
        (1..=self.per_year()).filter_map(move |i| Period::new(self, year, i).ok())
    }

    /// The period of this periodicity that holds a local date. Years outside 1 to 9999 are
    /// taken as the nearest of the two.
    pub fn period_of_date(self, date: NaiveDate) -> Period {
        let year = date.year().clamp(Period::MIN_YEAR, Period::MAX_YEAR);
        let index = (date.month0() as u8) / self.months() + 1;
        Period {
            year,
            periodicity: self,
            index,
        }
    }

    /// The period of this periodicity that holds an instant (epoch ms), in local time.
    pub fn period_at(self, epoch_ms: i64) -> Period {
        self.period_of_date(time::local_date(epoch_ms))
    }
}

impl fmt::Display for Periodicity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One month, quarter or year. Built only valid: a month 1 to 12, a quarter 1 to 4, a year
/// 1 to 9999. Serialized as its text (`"2026-10"`, `"2026-Q3"`, `"2026"`).
///
/// Periods sort by their first day, then the shorter first (`2026-01` < `2026-Q1` < `2026`
/// < `2026-02`); periods of one periodicity sort in calendar order, which is what a series
/// needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    year: i32,
    periodicity: Periodicity,
    /// 1-based: the month (1 to 12), the quarter (1 to 4), or 1 for a year.
    index: u8,
}

/// Why a text or numbers are not a period.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error(
        "{0:?} is not a period: write a year (2026), a quarter (2026-Q3) or a month with two digits (2026-10)"
    )]
    Shape(String),
    #[error("{text:?} is not a period: month {month} is not 01 to 12")]
    Month { text: String, month: u32 },
    #[error("{text:?} is not a period: quarter Q{quarter} is not Q1 to Q4")]
    Quarter { text: String, quarter: u32 },
    #[error("year {0} is not 1 to 9999")]
    Year(i32),
}

impl Period {
    pub const MIN_YEAR: i32 = 1;
    pub const MAX_YEAR: i32 = 9999;

    /// The `index`th period (1-based) of `year`: a month 1 to 12, a quarter 1 to 4, or 1 for
    /// the year itself.
    pub fn new(periodicity: Periodicity, year: i32, index: u8) -> Result<Period, PeriodError> {
        if !(Self::MIN_YEAR..=Self::MAX_YEAR).contains(&year) {
            return Err(PeriodError::Year(year));
        }
        if !(1..=periodicity.per_year()).contains(&index) {
            let text = format!("{year}-{index}");
            return Err(match periodicity {
                Periodicity::Month => PeriodError::Month {
                    text,
                    month: index.into(),
                },
                Periodicity::Quarter => PeriodError::Quarter {
                    text,
                    quarter: index.into(),
                },
                Periodicity::Year => PeriodError::Shape(text),
            });
        }
        Ok(Period {
            year,
            periodicity,
            index,
        })
    }

    /// A month, 1 to 12.
    pub fn of_month(year: i32, month: u8) -> Result<Period, PeriodError> {
        Period::new(Periodicity::Month, year, month)
    }

    /// A quarter, 1 to 4.
    pub fn of_quarter(year: i32, quarter: u8) -> Result<Period, PeriodError> {
        Period::new(Periodicity::Quarter, year, quarter)
    }

    /// A whole year.
    pub fn of_year(year: i32) -> Result<Period, PeriodError> {
        Period::new(Periodicity::Year, year, 1)
    }

    pub fn year(self) -> i32 {
        self.year
    }

    pub fn periodicity(self) -> Periodicity {
        self.periodicity
    }

    /// The period's place in its year, 1-based: the month (1 to 12), the quarter (1 to 4), or 1
    /// for a year. It is also how many of the year's periods have ended when this one ends.
    pub fn index_in_year(self) -> u8 {
        self.index
    }

    /// Periods in this period's year: 12, 4 or 1.
    pub fn per_year(self) -> u8 {
        self.periodicity.per_year()
    }

    /// The share of the year's periods that have ended when this one ends: 10/12 for October,
    /// 3/4 for Q3, 1 for a year.
    pub fn share_of_year(self) -> f64 {
        f64::from(self.index) / f64::from(self.per_year())
    }

    /// The same period a year earlier (`2025-10` for `2026-10`); `None` before year 1.
    pub fn year_earlier(self) -> Option<Period> {
        Period::new(self.periodicity, self.year - 1, self.index).ok()
    }

    /// The period after this one (`2027-01` after `2026-12`); `None` after year 9999.
    pub fn next(self) -> Option<Period> {
        if self.index < self.per_year() {
            Period::new(self.periodicity, self.year, self.index + 1).ok()
        } else {
            Period::new(self.periodicity, self.year + 1, 1).ok()
        }
    }

    /// The period before this one (`2026-Q4` before `2027-Q1`); `None` before year 1.
    pub fn prev(self) -> Option<Period> {
        if self.index > 1 {
            Period::new(self.periodicity, self.year, self.index - 1).ok()
        } else {
            Period::new(self.periodicity, self.year - 1, self.per_year()).ok()
        }
    }

    /// The first month of the period, 1 to 12.
    fn first_month(self) -> u32 {
        u32::from(self.index - 1) * u32::from(self.periodicity.months()) + 1
    }

    /// The last month of the period, 1 to 12.
    fn last_month(self) -> u32 {
        u32::from(self.index) * u32::from(self.periodicity.months())
    }

    /// The period's first day.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.first_month(), 1).expect("a valid period")
    }

    /// The period's last day.
    pub fn last_day(self) -> NaiveDate {
        last_day_of_month(self.year, self.last_month())
    }

    /// Local midnight at the start of the period, epoch ms.
    pub fn start_ms(self) -> i64 {
        time::local_midnight_of(self.first_day())
    }

    /// Local midnight at the end of the period (the start of the next), epoch ms: the period
    /// is `start_ms() .. end_ms()`.
    pub fn end_ms(self) -> i64 {
        time::local_midnight_of(self.last_day()) + time::DAY_MS
    }

    /// Whether an instant (epoch ms) falls in the period.
    pub fn contains_ms(self, epoch_ms: i64) -> bool {
        (self.start_ms()..self.end_ms()).contains(&epoch_ms)
    }

    /// The last day on which a report of this period is on time, by a deadline rule.
    pub fn due_date(self, deadline: Deadline) -> NaiveDate {
        let month = self.last_day().with_day(1).expect("day 1 exists")
            + Months::new(u32::from(deadline.months_after));
        let last = last_day_of_month(month.year(), month.month());
        month
            .with_day(u32::from(deadline.day).clamp(1, last.day()))
            .expect("a day of the month")
    }

    /// The first instant (epoch ms) at which a report of this period is late: local midnight
    /// at the end of its [`Period::due_date`].
    pub fn due_ms(self, deadline: Deadline) -> i64 {
        time::local_midnight_of(self.due_date(deadline)) + time::DAY_MS
    }
}

/// The last day of a month.
fn last_day_of_month(year: i32, month: u32) -> NaiveDate {
    let first = NaiveDate::from_ymd_opt(year, month, 1).expect("a valid month");
    (first + Months::new(1)).pred_opt().expect("a day before")
}

impl Ord for Period {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.year, self.first_month(), self.periodicity.months()).cmp(&(
            other.year,
            other.first_month(),
            other.periodicity.months(),
        ))
    }
}

impl PartialOrd for Period {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.periodicity {
            Periodicity::Month => write!(f, "{:04}-{:02}", self.year, self.index),
            Periodicity::Quarter => write!(f, "{:04}-Q{}", self.year, self.index),
            Periodicity::Year => write!(f, "{:04}", self.year),
        }
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`, exactly: four digits of year, two of month, a capital Q.
    fn from_str(text: &str) -> Result<Period, PeriodError> {
        let shape = || PeriodError::Shape(crate::topic::truncate(text, 40));
        let digits = |s: &str, n: usize| {
            (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse::<u32>().ok())
                .flatten()
        };
        let (year, rest) = match text.split_once('-') {
            Some((y, rest)) => (y, Some(rest)),
            None => (text, None),
        };
        let year = digits(year, 4).ok_or_else(shape)? as i32;
        let period = match rest {
            None => Period::of_year(year),
            Some(q) if q.starts_with('Q') => {
                let quarter = digits(&q[1..], 1).ok_or_else(shape)?;
                if !(1..=4).contains(&quarter) {
                    return Err(PeriodError::Quarter {
                        text: text.to_owned(),
                        quarter,
                    });
                }
                Period::of_quarter(year, quarter as u8)
            }
            Some(m) => {
                let month = digits(m, 2).ok_or_else(shape)?;
                if !(1..=12).contains(&month) {
                    return Err(PeriodError::Month {
                        text: text.to_owned(),
                        month,
                    });
                }
                Period::of_month(year, month as u8)
            }
        };
        period.map_err(|_| shape())
    }
}

impl Serialize for Period {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Period, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// When a period's report is due: day `day` of the `months_after`th month after the month the
/// period ends in. `{ months_after = 1, day = 10 }` is "the 10th of the next month" (October's
/// report by 10 November, Q3's by 10 October, 2026's by 10 January 2027). A day past the end of
/// its month is the month's last day (`day = 31` in February is the 28th or 29th).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadline {
    /// 1 to 12: a report is never due before its period ends.
    pub months_after: u8,
    /// 1 to 31.
    pub day: u8,
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let day = self.day;
        match self.months_after {
            1 => write!(f, "day {day} of the month after the period"),
            2 => write!(f, "day {day} of the 2nd month after the period"),
            3 => write!(f, "day {day} of the 3rd month after the period"),
            n => write!(f, "day {day} of the {n}th month after the period"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Period {
        text.parse().unwrap()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn periods_print_as_they_parse() {
        for text in [
            "2026-10", "2026-01", "2026-Q3", "2026-Q1", "2026", "0999", "9999-12",
        ] {
            assert_eq!(p(text).to_string(), text);
        }
        assert_eq!(p("2026-10"), Period::of_month(2026, 10).unwrap());
        assert_eq!(p("2026-Q3"), Period::of_quarter(2026, 3).unwrap());
        assert_eq!(p("2026"), Period::of_year(2026).unwrap());
        assert_eq!(p("2026-Q3").periodicity(), Periodicity::Quarter);
        assert_eq!(p("2026-10").year(), 2026);
        assert_eq!(p("2026-10").index_in_year(), 10);
        assert_eq!(p("2026-Q3").index_in_year(), 3);
        assert_eq!(p("2026").index_in_year(), 1);
        let json = serde_json::to_string(&p("2026-Q3")).unwrap();
        assert_eq!(json, "\"2026-Q3\"");
        assert_eq!(serde_json::from_str::<Period>(&json).unwrap(), p("2026-Q3"));
    }

    #[test]
    fn what_is_not_a_period_says_why() {
        let cases: [(&str, &str); 14] = [
            ("2026-13", "month 13 is not 01 to 12"),
            ("2026-00", "month 0 is not 01 to 12"),
            ("2026-Q5", "quarter Q5 is not Q1 to Q4"),
            ("2026-Q0", "quarter Q0 is not Q1 to Q4"),
            ("26-10", "write a year (2026)"),
            ("2026-1", "write a year (2026)"),
            ("2026-q3", "write a year (2026)"),
            ("2026-Q", "write a year (2026)"),
            ("2026-Q12", "write a year (2026)"),
            ("2026-10-01", "write a year (2026)"),
            ("", "write a year (2026)"),
            (" 2026", "write a year (2026)"),
            ("+202", "write a year (2026)"),
            ("0000", "write a year (2026)"),
        ];
        for (text, why) in cases {
            let e = text.parse::<Period>().unwrap_err().to_string();
            assert!(e.contains(why), "{text:?}: {e}");
            assert!(e.contains(&format!("{text:?}")), "{text:?} is quoted: {e}");
        }
        let e = serde_json::from_str::<Period>("\"2026-13\"").unwrap_err();
        assert!(e.to_string().contains("month 13"), "{e}");
        assert_eq!(
            Period::of_month(2026, 13),
            Err(PeriodError::Month {
                text: "2026-13".into(),
                month: 13
            })
        );
        assert_eq!(Period::of_year(10_000), Err(PeriodError::Year(10_000)));
    }

    #[test]
    fn periods_sort_in_calendar_order() {
        let mut v = vec![p("2026-02"), p("2025-12"), p("2026-01"), p("2025-11")];
        v.sort();
        assert_eq!(v, [p("2025-11"), p("2025-12"), p("2026-01"), p("2026-02")]);
        assert!(p("2025-Q4") < p("2026-Q1"));
        assert!(p("2025") < p("2026"));
        assert!(
            p("2026-01") < p("2026-Q1") && p("2026-Q1") < p("2026") && p("2026") < p("2026-02")
        );
    }

    #[test]
    fn neighbours_and_a_year_earlier() {
        assert_eq!(p("2026-12").next(), Some(p("2027-01")));
        assert_eq!(p("2027-01").prev(), Some(p("2026-12")));
        assert_eq!(p("2026-Q4").next(), Some(p("2027-Q1")));
        assert_eq!(p("2026-Q1").prev(), Some(p("2025-Q4")));
        assert_eq!(p("2026").next(), Some(p("2027")));
        assert_eq!(p("2026-10").year_earlier(), Some(p("2025-10")));
        assert_eq!(p("2026-Q3").year_earlier(), Some(p("2025-Q3")));
        assert_eq!(p("2026").year_earlier(), Some(p("2025")));
        assert_eq!(p("0001-01").prev(), None);
        assert_eq!(p("9999-12").next(), None);
        assert_eq!(p("0001").year_earlier(), None);
        let months: Vec<String> = Periodicity::Quarter
            .periods_of(2026)
            .map(|q| q.to_string())
            .collect();
        assert_eq!(months, ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]);
        assert_eq!(Periodicity::Month.periods_of(2026).count(), 12);
        assert_eq!(p("2026-10").share_of_year(), 10.0 / 12.0);
        assert_eq!(p("2026-Q3").share_of_year(), 0.75);
    }

    #[test]
    fn a_period_runs_from_its_first_local_midnight_to_the_next_periods() {
        assert_eq!(p("2024-02").first_day(), date(2024, 2, 1));
        assert_eq!(p("2024-02").last_day(), date(2024, 2, 29));
        assert_eq!(p("2026-Q3").first_day(), date(2026, 7, 1));
        assert_eq!(p("2026-Q3").last_day(), date(2026, 9, 30));
        assert_eq!(p("2026").last_day(), date(2026, 12, 31));
        // 2026-10-01 00:00 in Ho Chi Minh City is 2026-09-30 17:00 UTC.
        let start = p("2026-10").start_ms();
        assert_eq!(start, 1_790_787_600_000);
        assert_eq!(p("2026-10").end_ms(), p("2026-11").start_ms());
        assert!(p("2026-10").contains_ms(start) && !p("2026-10").contains_ms(start - 1));
        assert_eq!(Periodicity::Month.period_at(start), p("2026-10"));
        assert_eq!(Periodicity::Month.period_at(start - 1), p("2026-09"));
        assert_eq!(Periodicity::Quarter.period_at(start), p("2026-Q4"));
        assert_eq!(Periodicity::Year.period_at(start - 1), p("2026"));
    }

    #[test]
    fn deadlines_fall_on_the_day_after_the_period_and_end_at_local_midnight() {
        let tenth = Deadline {
            months_after: 1,
            day: 10,
        };
        assert_eq!(p("2026-10").due_date(tenth), date(2026, 11, 10));
        assert_eq!(p("2026-12").due_date(tenth), date(2027, 1, 10));
        assert_eq!(p("2026-Q3").due_date(tenth), date(2026, 10, 10));
        assert_eq!(p("2026").due_date(tenth), date(2027, 1, 10));
        let end_of_march = Deadline {
            months_after: 3,
            day: 31,
        };
        assert_eq!(p("2026").due_date(end_of_march), date(2027, 3, 31));
        // The day is the month's last when the month is shorter.
        let day_31 = Deadline {
            months_after: 1,
            day: 31,
        };
        assert_eq!(p("2027-01").due_date(day_31), date(2027, 2, 28));
        assert_eq!(p("2028-01").due_date(day_31), date(2028, 2, 29));
        // Late from local midnight at the end of 10 November: 10 Nov 17:00 UTC.
        let due = p("2026-10").due_ms(tenth);
        assert_eq!(due, time::local_midnight_of(date(2026, 11, 11)));
        assert_eq!(time::local_date(due - 1), date(2026, 11, 10));
        assert_eq!(tenth.to_string(), "day 10 of the month after the period");
        assert_eq!(
            end_of_march.to_string(),
            "day 31 of the 3rd month after the period"
        );
    }
}
