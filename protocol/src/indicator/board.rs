//! The board: every figure of every indicator of the catalogue at every area of its levels
//! ([`IndicatorFigures`], each area's [`AreaFigures`]), the ranks of the districts among the
//! districts and of the departments among the departments, each group's tally of its
//! indicators at city level ([`GroupTally`]), and the late reports and punctuality table of
//! `punctuality`. [`Board::compute`] is the one entry point the server's API and alerts, the
//! screens and the acceptance test all use, so that they cannot disagree.
//!
//! The board is computed as of `now_ms`: a period first reported after `now_ms` is not known
//! yet. Only the values of the indicator's periodicity that are finite numbers are read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::abnormal;
use super::catalogue::{Catalogue, Direction, Indicator, Level};
use super::figures::{AreaFigures, Rank, Status};
use super::period::Period;
use super::punctuality::{self, LateReport, Punctuality, Reporting};
use super::values::{Observation, Values};

/// Every figure of one indicator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorFigures {
    pub indicator: String,
    /// Its group's code.
    pub group: String,
    /// Each area of its levels: the city, then the districts, then the departments, in the
    /// preset's order.
    pub areas: Vec<AreaFigures>,
}

/// A group's indicators at city level: how many stand where against their targets, and how
/// many carry a flag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupTally {
    pub group: String,
    /// Its indicators.
    pub indicators: u16,
    pub on_track: u16,
    pub at_risk: u16,
    pub behind: u16,
    /// Without a status: no value yet, or no target for the latest period's year.
    pub no_status: u16,
    /// With an abnormal sign on the latest period.
    pub abnormal: u16,
    /// With a late or missing report.
    pub late: u16,
    /// With either flag (an indicator with both counts once).
    pub flagged: u16,
}

/// Every figure of the catalogue, as of `now_ms`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Board {
    /// The instant the board was computed for, epoch ms.
    pub now_ms: i64,
    /// In the catalogue's order.
    pub indicators: Vec<IndicatorFigures>,
    /// In the catalogue's order.
    pub groups: Vec<GroupTally>,
    /// Every late or missing report of the punctuality window ([`Reporting::late`]'s order).
    pub late: Vec<LateReport>,
    /// Each reporting unit's punctuality, the least punctual first.
    pub punctuality: Vec<Punctuality>,
}

/// One period of an indicator's series on its chart: the value as it stands and the period's
/// abnormal score, when it can be scored ([`abnormal::signs`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChartPoint {
    pub period: Period,
    pub value: f64,
    /// When its latest revision was received, epoch ms.
    pub reported_ms: i64,
    pub reported_by: String,
    /// `None`: less than three years of history before it.
    pub abnormal: Option<super::abnormal::AbnormalSign>,
}

/// `GET /api/v1/indicators/figures?indicator=CODE` (200): one indicator's figures at every
/// area (as the board holds them) and its city series for the chart, each period with its
/// abnormal score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FiguresAnswer {
    /// The instant the figures were computed for, epoch ms (the board's).
    pub now_ms: i64,
    pub figures: IndicatorFigures,
    /// The city's series, oldest period first; empty when the indicator is not reported at
    /// city level or has no value yet.
    pub chart: Vec<ChartPoint>,
}

/// The chart of a series as of `now_ms`: the periods the figures read (of the indicator's
/// periodicity, finite, first reported by `now_ms`), each with its abnormal score.
pub fn chart(indicator: &Indicator, series: &[Observation], now_ms: i64) -> Vec<ChartPoint> {
    let series = known_series(indicator, series, now_ms);
    let mut signs = abnormal::signs(indicator, &series, &[])
        .into_iter()
        .peekable();
    series
        .into_iter()
        .map(|o| {
            let abnormal = signs.next_if(|s| s.period == o.period);
            ChartPoint {
                period: o.period,
                value: o.value,
                reported_ms: o.reported_ms,
                reported_by: o.reported_by,
                abnormal,
            }
        })
        .collect()
}

impl Board {
    /// Every figure of every indicator of the catalogue at every area of its levels, from the
    /// values as they stand, as of `now_ms`.
    pub fn compute(catalogue: &Catalogue, values: &Values, now_ms: i64) -> Board {
        let indicators: Vec<IndicatorFigures> = catalogue
            .indicators
            .iter()
            .map(|i| IndicatorFigures::compute(catalogue, i, values, now_ms))
            .collect();
        let groups = catalogue
            .groups
            .iter()
            .map(|g| GroupTally::of(&g.code, &indicators))
            .collect();
        let Reporting { late, punctuality } = Reporting::compute(catalogue, values, now_ms);
        Board {
            now_ms,
            indicators,
            groups,
            late,
            punctuality,
        }
    }

    /// The figures of an indicator.
    pub fn indicator(&self, code: &str) -> Option<&IndicatorFigures> {
        self.indicators.iter().find(|i| i.indicator == code)
    }
}

impl IndicatorFigures {
    /// Every figure of one indicator at every area of its levels, as of `now_ms`: what the
    /// board holds for it, for a caller that needs one indicator.
    pub fn compute(
        catalogue: &Catalogue,
        indicator: &Indicator,
        values: &Values,
        now_ms: i64,
    ) -> IndicatorFigures {
        let mut areas = Vec::new();
        let mut series_of = Vec::new();
        let mut levels = Vec::new();
        for (level, area) in catalogue.areas_of(indicator) {
            let series = known_series(indicator, values.series(&indicator.code, area), now_ms);
            let mut figures = AreaFigures::of_series(indicator, area, level, &series, |year| {
                catalogue.target(&indicator.code, area, year)
            });
            figures.late = punctuality::flag_of(catalogue, indicator, area, &series, now_ms);
            areas.push(figures);
            series_of.push(series);
            levels.push(level);
        }
        // Each area's latest period scored against the other areas of its level.
        for (i, figures) in areas.iter_mut().enumerate() {
            let others: Vec<&[Observation]> = if figures.level == Level::City {
                Vec::new()
            } else {
                (0..series_of.len())
                    .filter(|&j| j != i && levels[j] == figures.level)
                    .map(|j| series_of[j].as_slice())
                    .collect()
            };
            let series = &series_of[i];
            figures.abnormal = series
                .len()
                .checked_sub(1)
                .and_then(|last| abnormal::score(indicator, series, last, &others));
        }
        for level in [Level::District, Level::Department] {
            let at_level: Vec<usize> = (0..areas.len())
                .filter(|&i| areas[i].level == level)
                .collect();
            let series: Vec<&[Observation]> =
                at_level.iter().map(|&i| series_of[i].as_slice()).collect();
            let Some(period) = ranking_period(&series) else {
                continue;
            };
            let period_values: Vec<Option<f64>> = series
                .iter()
                .map(|s| super::figures::value_at(s, period))
                .collect();
            let ranks = rank_values(indicator.good, &period_values);
            let of = ranks.iter().flatten().count() as u16;
            for (&i, rank) in at_level.iter().zip(ranks) {
                areas[i].rank = rank.map(|rank| Rank { period, rank, of });
            }
        }
        IndicatorFigures {
            indicator: indicator.code.clone(),
            group: indicator.group.clone(),
            areas,
        }
    }

    /// The figures of one area.
    pub fn area(&self, area: &str) -> Option<&AreaFigures> {
        self.areas.iter().find(|a| a.area == area)
    }
}

/// The observations of a series that count as of `now_ms`: of the indicator's periodicity, a
/// finite value, first reported at or before `now_ms`.
fn known_series(indicator: &Indicator, series: &[Observation], now_ms: i64) -> Vec<Observation> {
    series
        .iter()
        .filter(|o| {
            o.period.periodicity() == indicator.periodicity
                && o.value.is_finite()
                && o.first_ms() <= now_ms
        })
        .cloned()
        .collect()
}

/// The period the areas of a level are ranked for: the latest period with a value from at
/// least half (rounded up) of the areas that have any value. `None` when no area has one.
pub fn ranking_period(series: &[&[Observation]]) -> Option<Period> {
    let reporting = series.iter().filter(|s| !s.is_empty()).count();
    let mut counts: BTreeMap<Period, usize> = BTreeMap::new();
    for s in series {
        for o in s.iter() {
            *counts.entry(o.period).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .rev()
        .find(|&(_, n)| 2 * n >= reporting)
        .map(|(p, _)| p)
}

/// The rank of each value among the values given, 1 the best in the good direction; equal
/// values share the better rank and the next rank skips (1, 2, 2, 4). `None` stays `None`.
pub fn rank_values(good: Direction, values: &[Option<f64>]) -> Vec<Option<u16>> {
    let better = |a: f64, b: f64| match good {
        Direction::Up => a > b,
        Direction::Down => a < b,
    };
    values
        .iter()
        .map(|v| {
            v.map(|v| {
                1 + values
                    .iter()
                    .flatten()
                    .filter(|&&other| better(other, v))
                    .count() as u16
            })
        })
        .collect()
}

impl GroupTally {
    /// The tally of a group's indicators at city level.
    fn of(group: &str, indicators: &[IndicatorFigures]) -> GroupTally {
        let mut tally = GroupTally {
            group: group.to_owned(),
            indicators: 0,
            on_track: 0,
            at_risk: 0,
            behind: 0,
            no_status: 0,
            abnormal: 0,
            late: 0,
            flagged: 0,
        };
        for figures in indicators.iter().filter(|i| i.group == group) {
            tally.indicators += 1;
            let Some(city) = figures.area(crate::topic::CITY_AREA) else {
                tally.no_status += 1;
                continue;
            };
            match city.status() {
                Some(Status::OnTrack) => tally.on_track += 1,
                Some(Status::AtRisk) => tally.at_risk += 1,
                Some(Status::Behind) => tally.behind += 1,
                None => tally.no_status += 1,
            }
            let abnormal = city.abnormal.as_ref().is_some_and(|a| a.flagged);
            tally.abnormal += u16::from(abnormal);
            tally.late += u16::from(city.late.is_some());
            tally.flagged += u16::from(city.is_flagged());
        }
        tally
    }
}
