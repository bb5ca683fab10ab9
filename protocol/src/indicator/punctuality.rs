//! Late reports and punctuality: for each indicator and area, each period whose reporting
//! deadline passed in the last [`WINDOW_DAYS`] days is on time (first reported before its
//! deadline), late (first reported at or after it) or missing (not reported by now). The late
//! and missing ones are listed ([`LateReport`]); each reporting unit's counts make the
//! punctuality table ([`Punctuality`]).
//!
//! The deadline is [`Catalogue::due_ms`]: the first instant a report is late. The unit is
//! [`Catalogue::reporting_unit`]: the indicator's reporting unit at city level, the district or
//! the department itself below.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalogue::{Catalogue, Indicator};
use super::period::Period;
use super::values::{Observation, Values};
use crate::time::DAY_MS;

/// The window of punctuality: the periods whose deadline passed in the last 365 days.
pub const WINDOW_DAYS: i64 = 365;

/// Whether a period's report came by its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Timeliness {
    /// First reported before the deadline.
    OnTime,
    /// First reported at or after the deadline.
    Late,
    /// Not reported by now, and the deadline has passed.
    Missing,
}

impl Timeliness {
    /// How a report due at `due_ms` and first reported at `first_ms` (`None`: not reported)
    /// stands at `now_ms`, once its deadline has passed (`now_ms >= due_ms`). A report
    /// received after `now_ms` is not known yet: missing.
    pub fn of(due_ms: i64, first_ms: Option<i64>, now_ms: i64) -> Timeliness {
        match first_ms.filter(|&t| t <= now_ms) {
            None => Timeliness::Missing,
            Some(t) if t < due_ms => Timeliness::OnTime,
            Some(_) => Timeliness::Late,
        }
    }
}

/// A report that came late or has not come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LateReport {
    /// The unit that reports it ([`Catalogue::reporting_unit`]).
    pub unit: String,
    pub indicator: String,
    pub area: String,
    pub period: Period,
    /// The first instant it was late, epoch ms.
    pub due_ms: i64,
    /// When it was first reported, epoch ms; `None` when it is missing.
    pub reported_ms: Option<i64>,
    /// [`Timeliness::Late`] or [`Timeliness::Missing`].
    pub timeliness: Timeliness,
}

/// One reporting unit's punctuality over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Punctuality {
    pub unit: String,
    /// Reports due in the window: `on_time + late + missing`.
    pub due: u32,
    pub on_time: u32,
    pub late: u32,
    pub missing: u32,
    /// `on_time / due × 100`, in %.
    pub on_time_share: f64,
}

/// The periods of an indicator whose deadline passed in the window ending at `now_ms`, oldest
/// first, each with its deadline (epoch ms): `now_ms − 365 days < due_ms <= now_ms`.
pub fn due_periods(
    catalogue: &Catalogue,
    indicator: &Indicator,
    now_ms: i64,
) -> Vec<(Period, i64)> {
    let since = now_ms - WINDOW_DAYS * DAY_MS;
    let mut out = Vec::new();
    let mut period = Some(indicator.periodicity.period_at(now_ms));
    while let Some(p) = period {
        let due = catalogue.due_ms(indicator, p);
        if due <= since {
            break;
        }
        if due <= now_ms {
            out.push((p, due));
        }
        period = p.prev();
    }
    out.reverse();
    out
}

/// How each report due in the window stands for one indicator and area: period, deadline,
/// first report (`None`: none by now) and timeliness, oldest first. `series` is in period
/// order.
pub fn timeliness_of(
    catalogue: &Catalogue,
    indicator: &Indicator,
    series: &[Observation],
    now_ms: i64,
) -> Vec<(Period, i64, Option<i64>, Timeliness)> {
    due_periods(catalogue, indicator, now_ms)
        .into_iter()
        .map(|(period, due)| {
            let first = series
                .binary_search_by(|o| o.period.cmp(&period))
                .ok()
                .map(|i| series[i].first_ms())
                .filter(|&t| t <= now_ms);
            (period, due, first, Timeliness::of(due, first, now_ms))
        })
        .collect()
}

/// The late report a figure is flagged with: the most recent missing report of the window, or,
/// when none is missing, the most recent due report if it came late.
pub fn flag_of(
    catalogue: &Catalogue,
    indicator: &Indicator,
    area: &str,
    series: &[Observation],
    now_ms: i64,
) -> Option<LateReport> {
    let checks = timeliness_of(catalogue, indicator, series, now_ms);
    let chosen = checks
        .iter()
        .rev()
        .find(|c| c.3 == Timeliness::Missing)
        .or_else(|| checks.last().filter(|c| c.3 == Timeliness::Late))?;
    Some(late_report(catalogue, indicator, area, chosen))
}

fn late_report(
    catalogue: &Catalogue,
    indicator: &Indicator,
    area: &str,
    &(period, due_ms, reported_ms, timeliness): &(Period, i64, Option<i64>, Timeliness),
) -> LateReport {
    LateReport {
        unit: unit_of(catalogue, indicator, area),
        indicator: indicator.code.clone(),
        area: area.to_owned(),
        period,
        due_ms,
        reported_ms,
        timeliness,
    }
}

fn unit_of(catalogue: &Catalogue, indicator: &Indicator, area: &str) -> String {
    catalogue
        .reporting_unit(&indicator.code, area)
        .unwrap_or(area)
        .to_owned()
}

/// The reports of the window, for every indicator of the catalogue at every area of its levels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reporting {
    /// Every late or missing report, the most recent deadline first, then by unit, indicator
    /// and area.
    pub late: Vec<LateReport>,
    /// Every unit with a report due in the window, the least punctual first (by share on time,
    /// then most missing, then unit code).
    pub punctuality: Vec<Punctuality>,
}

impl Reporting {
    /// The late reports and the punctuality table at `now_ms`.
    pub fn compute(catalogue: &Catalogue, values: &Values, now_ms: i64) -> Reporting {
        let mut late = Vec::new();
        let mut table: BTreeMap<String, [u32; 3]> = BTreeMap::new();
        for indicator in &catalogue.indicators {
            for (_, area) in catalogue.areas_of(indicator) {
                let series = values.series(&indicator.code, area);
                let unit = unit_of(catalogue, indicator, area);
                for check in timeliness_of(catalogue, indicator, series, now_ms) {
                    let counts = table.entry(unit.clone()).or_default();
                    match check.3 {
                        Timeliness::OnTime => counts[0] += 1,
                        Timeliness::Late => counts[1] += 1,
                        Timeliness::Missing => counts[2] += 1,
                    }
                    if check.3 != Timeliness::OnTime {
                        late.push(late_report(catalogue, indicator, area, &check));
                    }
                }
            }
        }
        late.sort_by(|a, b| {
            b.due_ms.cmp(&a.due_ms).then_with(|| {
                (&a.unit, &a.indicator, &a.area).cmp(&(&b.unit, &b.indicator, &b.area))
            })
        });
        let mut punctuality: Vec<Punctuality> = table
            .into_iter()
            .map(|(unit, [on_time, late, missing])| {
                let due = on_time + late + missing;
                Punctuality {
                    unit,
                    due,
                    on_time,
                    late,
                    missing,
                    on_time_share: f64::from(on_time) / f64::from(due) * 100.0,
                }
            })
            .collect();
        punctuality.sort_by(|a, b| {
            a.on_time_share
                .total_cmp(&b.on_time_share)
                .then(b.missing.cmp(&a.missing))
                .then_with(|| a.unit.cmp(&b.unit))
        });
        Reporting { late, punctuality }
    }
}
