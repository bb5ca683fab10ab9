//! Abnormal signs: a value that departs from its series' own history. A period is scored by its
//! change on the same period of an earlier year, against the change its recent history leads to
//! expect, in robust standard deviations of the series' own year-on-year changes (median and
//! MAD): [`score`] for one period, [`signs`] for every period of a series. A period is scored
//! only with at least [`HISTORY_YEARS`] years of history before it, and flagged when its score
//! is at least [`ABNORMAL_SCORE`] in size. A district or a department is scored on its values
//! relative to the other areas of its level (their common movement, the median of their
//! centred values, where at least [`MIN_OTHERS`] have one): a move of the whole city, and the
//! city's own noise its districts share, are no area's departure.
//!
//! What the rules guard against (`docs/indicators.md` has the formulas and worked examples):
//! an abnormal value in one year must not make the same period of the next year look abnormal
//! (the base is the latest earlier year whose value was not itself a spike in the history, or
//! the middle of three); a dip and its rebound (2021, 2022) must not hide later anomalies (the
//! scale is measured on period-to-period differences of the year-on-year changes, which a dip
//! lasting months hardly moves); a growth that changes at a year's turn (a new plan) must not
//! flag the whole year (the growth now is the median of the last three changes, and an earlier
//! year is grown by the changes of the years between, not by this year's growth); a month
//! whose change swings every year (Tết moving between January and February) is measured
//! against its own swings; a rate in `%` is scored on differences in points, anything else on
//! ratios (logarithms), and a series with a zero or a negative value on differences too, so
//! that nothing divides by zero. A yearly series, too short for robust statistics, is flagged
//! only when it departs from every plain reading of its last three years.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalogue::Indicator;
use super::period::Period;
use super::values::Observation;

/// A period is flagged when its score is at least this, in robust standard deviations.
pub const ABNORMAL_SCORE: f64 = 4.0;

/// The years of history a period needs before it to be scored: the series must have a value
/// for a period at or before the same period three years earlier.
pub const HISTORY_YEARS: u8 = 3;

/// The fewest other areas of the same level with a value for a period for a series to be
/// scored against their common movement at it.
pub const MIN_OTHERS: usize = 4;

/// The smallest scale a score is measured in, on a ratio: 5 % of the value (0.05 in
/// logarithm), and on a difference of a series that is not a rate: 5 % of the median size of
/// its history's values. A series smoother than this does not make a change of a few percent
/// abnormal.
pub const SCALE_FLOOR: f64 = 0.05;

/// The smallest scale of a rate in `%`, as a share of its plausible range's width: 1.5 % (1.5
/// points for a share from 0 to 100 %, 0.3 point for a price index from 95 to 115). A rate's
/// level says little of how much it moves (a price index near 100 moves by tenths); its range
/// does.
pub const RATE_FLOOR: f64 = 0.015;

/// The smallest scale of a yearly rate in `%`, as a share of its plausible range's width: 3 %.
/// A yearly series is too short to measure its own noise, and a rate's yearly figure moves by
/// a point or two from one year to the next (a share from 80 to 100 %, 0.6 point).
pub const YEARLY_RATE_FLOOR: f64 = 0.03;

/// A history value whose year-on-year change stands out by this many of the history's own
/// robust standard deviations from its neighbours' (and is not the mirror of the year before's
/// spike) is not taken as a base.
const BASE_SPIKE: f64 = 2.5;

/// The earlier years of the same period whose changes it takes to measure a period of the
/// year's own swings.
const SEASON_YEARS: usize = 3;

/// How many of the latest year-on-year changes the growth now is the median of.
const GROWTH_PERIODS: usize = 3;

/// How many of the latest year-on-year changes the growth now is the median of, for a series
/// scored against the other areas' common movement: its growth relative to them is steady (a
/// plan cut, a new policy move every area together), so a year of changes measures it with
/// less noise than three.
const RELATIVE_GROWTH_PERIODS: usize = 12;

/// How many periods on each side the neighbours of a history value's change reach.
const NEIGHBOURS: i64 = 2;

/// The standard deviation of a normal distribution is its MAD times this.
const MAD_TO_SD: f64 = 1.482_6;

/// Scores are shown up to this size: a series of zeros that turns 5 would score in the billions.
const MAX_SCORE: f64 = 1000.0;

/// How a series' values are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    /// By ratios: the logarithms of the values (any unit but `%`, every value above zero).
    Ratio,
    /// By differences, in the indicator's unit: a rate in `%` (points), or a series with a zero
    /// or a negative value.
    Difference,
}

/// The abnormal score of one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbnormalSign {
    pub period: Period,
    /// How far the value is from the expected, in robust standard deviations of the series'
    /// year-on-year changes; positive above. Within ±1000.
    pub score: f64,
    /// `|score| >= ABNORMAL_SCORE`.
    pub flagged: bool,
    /// The value the history leads to expect, in the indicator's unit.
    pub expected: f64,
    pub scale: Scale,
}

/// The median of some numbers (the mean of the middle two of an even count); `None` for none.
fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// The robust standard deviation of some numbers: their median absolute deviation from their
/// median, times [`MAD_TO_SD`]; `None` for fewer than two.
fn robust_sd(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let centre = median(&mut values.to_vec())?;
    let mut deviations: Vec<f64> = values.iter().map(|v| (v - centre).abs()).collect();
    Some(MAD_TO_SD * median(&mut deviations)?)
}

/// A period's place on one line of periods: consecutive periods are one apart.
fn ordinal(period: Period) -> i64 {
    i64::from(period.year()) * i64::from(period.per_year()) + i64::from(period.index_in_year())
}

/// The same period `years` years earlier.
fn years_earlier(period: Period, years: u8) -> Option<Period> {
    (0..years).try_fold(period, |p, _| p.year_earlier())
}

/// The same period a year later.
fn year_later(period: Period) -> Option<Period> {
    Period::new(
        period.periodicity(),
        period.year() + 1,
        period.index_in_year(),
    )
    .ok()
}

/// The history before the scored period, transformed to its scale.
struct History {
    scale: Scale,
    /// Values on the scale (logarithms for a ratio), by period; less the other areas' common
    /// movement when the series is scored against it (only the periods that have it).
    x: BTreeMap<Period, f64>,
    /// The other areas' common movement at the scored period, when scored against it.
    common_now: Option<f64>,
    /// The year-on-year changes of the history, in period order: `x(t) − x(t − 1 year)`.
    changes: Vec<(Period, f64)>,
    /// The smallest scale, on the scale: [`SCALE_FLOOR`] or [`RATE_FLOOR`].
    floor: f64,
}

impl History {
    fn new(
        indicator: &Indicator,
        history: &[Observation],
        scored: &Observation,
        common: &Common,
    ) -> History {
        let rate = indicator.unit.trim() == "%";
        let width = indicator.range.max - indicator.range.min;
        let difference = rate
            || history
                .iter()
                .chain([scored])
                .any(|o| o.value <= 0.0 || !o.value.is_finite());
        let scale = if difference {
            Scale::Difference
        } else {
            Scale::Ratio
        };
        // The other areas' common movement, on this scale: none for a series on differences
        // that is not a rate (its areas' sizes differ), or without it at the scored period.
        let reference = match scale {
            Scale::Ratio => Some(&common.ratio),
            Scale::Difference if rate => Some(&common.points),
            Scale::Difference => None,
        }
        .filter(|r| r.contains_key(&scored.period));
        let x: BTreeMap<Period, f64> = history
            .iter()
            .filter_map(|o| {
                let v = transform(scale, o.value);
                match reference {
                    Some(r) => Some((o.period, v - r.get(&o.period)?)),
                    None => Some((o.period, v)),
                }
            })
            .collect();
        let common_now = reference.and_then(|r| r.get(&scored.period).copied());
        let changes = x
            .iter()
            .filter_map(|(&t, &v)| Some((t, v - x.get(&t.year_earlier()?)?)))
            .collect();
        let floor = match scale {
            Scale::Ratio => SCALE_FLOOR,
            Scale::Difference if rate && width.is_finite() && width > 0.0 => {
                if scored.period.per_year() == 1 {
                    YEARLY_RATE_FLOOR * width
                } else {
                    RATE_FLOOR * width
                }
            }
            Scale::Difference => {
                let mut sizes: Vec<f64> = history.iter().map(|o| o.value.abs()).collect();
                (SCALE_FLOOR * median(&mut sizes).unwrap_or(0.0)).max(1e-9)
            }
        };
        History {
            scale,
            x,
            common_now,
            changes,
            floor,
        }
    }

    /// A value on the scale, relative to the other areas' common movement when scored against
    /// it.
    fn relative(&self, value: f64) -> f64 {
        transform(self.scale, value) - self.common_now.unwrap_or(0.0)
    }

    /// A relative value back in the indicator's unit.
    fn absolute(&self, x: f64) -> f64 {
        untransform(self.scale, x + self.common_now.unwrap_or(0.0))
    }

    /// The typical year-on-year change now: the median of the last [`GROWTH_PERIODS`] changes.
    /// A series' growth changes from one year to the next (a plan, a new policy): the last
    /// year's changes would lag behind it for months. Against the other areas' common
    /// movement, the last [`RELATIVE_GROWTH_PERIODS`].
    fn growth(&self) -> Option<f64> {
        let n = if self.common_now.is_some() {
            RELATIVE_GROWTH_PERIODS
        } else {
            GROWTH_PERIODS
        };
        let start = self.changes.len().saturating_sub(n);
        median(
            &mut self.changes[start..]
                .iter()
                .map(|c| c.1)
                .collect::<Vec<_>>(),
        )
    }

    /// The scale of the year-on-year changes' noise: the robust standard deviation of the
    /// differences between consecutive changes, over √2; at least the floor.
    fn noise(&self) -> f64 {
        let steps: Vec<f64> = self.changes.windows(2).map(|w| w[1].1 - w[0].1).collect();
        robust_sd(&steps).map_or(self.floor, |sd| {
            (sd / std::f64::consts::SQRT_2).max(self.floor)
        })
    }

    /// How much each history change stands out from its neighbours' (up to [`NEIGHBOURS`]
    /// periods on each side).
    fn spikes(&self) -> Spikes {
        let n = self.changes.len();
        let mut residuals = BTreeMap::new();
        let mut neighbours = BTreeMap::new();
        for i in 0..n {
            let (t, c) = self.changes[i];
            let near = ordinal(t);
            let lo = i.saturating_sub(NEIGHBOURS as usize);
            let hi = (i + NEIGHBOURS as usize + 1).min(n);
            let mut around: Vec<f64> = (lo..hi)
                .filter(|&j| j != i && (ordinal(self.changes[j].0) - near).abs() <= NEIGHBOURS)
                .map(|j| self.changes[j].1)
                .collect();
            if around.len() >= 2 {
                let typical = median(&mut around).unwrap_or(c);
                residuals.insert(t, c - typical);
                neighbours.insert(t, typical);
            }
        }
        let values: Vec<f64> = residuals.values().copied().collect();
        let sd = robust_sd(&values).map_or(self.floor, |sd| sd.max(self.floor));
        Spikes {
            residuals,
            neighbours,
            sd,
        }
    }
}

/// How much each history change stands out from its neighbours': the change minus the median
/// of its neighbours' changes.
struct Spikes {
    residuals: BTreeMap<Period, f64>,
    /// The median of each history change's neighbours' changes: the period's year-on-year
    /// change without its own spike.
    neighbours: BTreeMap<Period, f64>,
    /// Their robust standard deviation, at least the floor.
    sd: f64,
}

impl Spikes {
    /// How much a period's change stands out, in robust standard deviations.
    fn standard(&self, period: Option<Period>) -> Option<f64> {
        period
            .and_then(|p| self.residuals.get(&p))
            .map(|r| r / self.sd)
    }

    /// How much the changes of the same period of the year stood out in each of the last
    /// [`SEASON_YEARS`] years, as a standard deviation: the least of them, times
    /// [`MAD_TO_SD`]. A month whose change swings every year (Tết falls in January one year and
    /// in February the next) is measured against its own swings; one spike or one rebound
    /// among those years does not count. `None` with fewer years.
    fn season_spread(&self, index_in_year: u8) -> Option<f64> {
        let sizes: Vec<f64> = self
            .residuals
            .iter()
            .rev()
            .filter(|(p, _)| p.index_in_year() == index_in_year)
            .take(SEASON_YEARS)
            .map(|(_, r)| r.abs())
            .collect();
        if sizes.len() < SEASON_YEARS {
            return None;
        }
        Some(MAD_TO_SD * sizes.into_iter().fold(f64::INFINITY, f64::min))
    }
}

fn transform(scale: Scale, value: f64) -> f64 {
    match scale {
        Scale::Ratio => value.ln(),
        Scale::Difference => value,
    }
}

fn untransform(scale: Scale, x: f64) -> f64 {
    match scale {
        Scale::Ratio => x.exp(),
        Scale::Difference => x,
    }
}

/// Whether a history value was a spike, and so no base: its year-on-year change stands out
/// from its neighbours' by [`BASE_SPIKE`] and is not the mirror of the year before's (a spike a
/// year earlier makes this year's change stand out the other way); with no change of its own
/// (its year is the history's first), the next year's change stands out and is not the mirror
/// of the year after's.
fn is_spike(spikes: &Spikes, period: Period) -> bool {
    let stands_out = |own: f64, mirror: Option<f64>| {
        own.abs() >= BASE_SPIKE && mirror.is_none_or(|m| (own + m).abs() >= BASE_SPIKE)
    };
    match spikes.standard(Some(period)) {
        Some(own) => stands_out(own, spikes.standard(period.year_earlier())),
        None => {
            let next = year_later(period);
            spikes
                .standard(next)
                .is_some_and(|n| stands_out(n, spikes.standard(next.and_then(year_later))))
        }
    }
}

/// The abnormal score of the observation at `index` of a series (of the indicator's
/// periodicity, in period order, one per period), from the observations before it alone, and
/// the other areas' of the same level (`others`, without this series; empty for the city):
/// `None` when it cannot be scored (no value at or before the same period [`HISTORY_YEARS`]
/// years earlier, or no year-on-year change in its history).
pub fn score(
    indicator: &Indicator,
    series: &[Observation],
    index: usize,
    others: &[&[Observation]],
) -> Option<AbnormalSign> {
    score_against(indicator, series, index, &Common::of(others))
}

fn score_against(
    indicator: &Indicator,
    series: &[Observation],
    index: usize,
    common: &Common,
) -> Option<AbnormalSign> {
    let scored = series.get(index)?;
    let period = scored.period;
    let history = &series[..index];
    if history.first()?.period > years_earlier(period, HISTORY_YEARS)? {
        return None;
    }
    let per_year = period.per_year();
    let h = History::new(indicator, history, scored, common);
    let growth = h.growth()?;
    let x = h.relative(scored.value);
    // The same period of each earlier year with a value, latest first, with its distance in
    // years.
    let candidates: Vec<(Period, f64, f64)> =
        std::iter::successors(period.year_earlier(), |p| p.year_earlier())
            .take_while(|p| *p >= history[0].period)
            .zip(1u16..)
            .filter_map(|(p, k)| Some((p, f64::from(k), *h.x.get(&p)?)))
            .collect();
    let (expected, noise) = if per_year == 1 {
        (yearly_expected(&candidates, growth, x)?, h.floor)
    } else {
        let spikes = h.spikes();
        // Each earlier year grown to now: by the changes of the years between, each without
        // its own spike (the median of its neighbours'), then by the growth now.
        let mut between = 0.0;
        let grown: Vec<(Period, f64)> = candidates
            .iter()
            .map(|&(p, _, v)| {
                let e = v + between + growth;
                between += spikes.neighbours.get(&p).copied().unwrap_or(growth);
                (p, e)
            })
            .collect();
        let clean: Vec<f64> = grown
            .iter()
            .filter(|(p, _)| !is_spike(&spikes, *p))
            .map(|&(_, e)| e)
            .collect();
        let expected = match clean.len() {
            // Every earlier year stands out: the middle of the last three.
            0 => median(&mut grown.iter().take(3).map(|g| g.1).collect::<Vec<_>>())?,
            // The latest that does not.
            1 | 2 => clean[0],
            // The middle of the last three that do not.
            _ => median(&mut clean[..3].to_vec())?,
        };
        // Against the other areas, a swing of the period of the year (Tết) is common: no
        // seasonal swing.
        let season = match h.common_now {
            Some(_) => 0.0,
            None => spikes.season_spread(period.index_in_year()).unwrap_or(0.0),
        };
        (expected, h.noise().max(season))
    };
    let score = ((x - expected) / noise).clamp(-MAX_SCORE, MAX_SCORE);
    Some(AbnormalSign {
        period,
        score,
        flagged: score.abs() >= ABNORMAL_SCORE,
        expected: h.absolute(expected),
        scale: h.scale,
    })
}

/// A yearly series is too short for robust statistics (three to five values): the expected is
/// the reading of its last three years closest to the value, among each year as it was, each
/// year grown by the typical change, and the line through each two of them; a sign only when
/// the value departs from every one.
fn yearly_expected(candidates: &[(Period, f64, f64)], growth: f64, x: f64) -> Option<f64> {
    let last = &candidates[..candidates.len().min(3)];
    let mut readings: Vec<f64> = Vec::new();
    for (i, &(_, ki, vi)) in last.iter().enumerate() {
        readings.push(vi);
        readings.push(vi + ki * growth);
        for &(_, kj, vj) in &last[i + 1..] {
            // The line through (−ki, vi) and (−kj, vj), at 0.
            readings.push(vi + (vi - vj) / (kj - ki) * ki);
        }
    }
    readings
        .into_iter()
        .min_by(|a, b| (x - a).abs().total_cmp(&(x - b).abs()))
}

/// The abnormal score of every period of a series that can be scored, in period order, against
/// the other areas of its level (`others`, as for [`score`]): each from the observations up to
/// it alone, so a period's score does not change when later periods come.
pub fn signs(
    indicator: &Indicator,
    series: &[Observation],
    others: &[&[Observation]],
) -> Vec<AbnormalSign> {
    let common = Common::of(others);
    (0..series.len())
        .filter_map(|i| score_against(indicator, series, i, &common))
        .collect()
}

/// The other areas' common movement, by period: the median of their values each less its own
/// centre (the median of its first year's values), on each scale (logarithms, and the values
/// themselves for a rate), where at least [`MIN_OTHERS`] areas have a value. A move of the
/// whole city (a plan cut for every district, a share every district raises by 3 points) and
/// the city's own noise, which its districts share, are common; an area's own departure is
/// not.
#[derive(Debug, Default)]
struct Common {
    ratio: BTreeMap<Period, f64>,
    points: BTreeMap<Period, f64>,
}

impl Common {
    fn of(others: &[&[Observation]]) -> Common {
        let common = |scale: Scale| {
            let mut at: BTreeMap<Period, Vec<f64>> = BTreeMap::new();
            for other in others {
                let x: Vec<(Period, f64)> = other
                    .iter()
                    .filter(|o| {
                        o.value.is_finite() && (scale == Scale::Difference || o.value > 0.0)
                    })
                    .map(|o| (o.period, transform(scale, o.value)))
                    .collect();
                let Some(first) = x.first().map(|(p, _)| p.year()) else {
                    continue;
                };
                let mut first_year: Vec<f64> = x
                    .iter()
                    .filter(|(p, _)| p.year() == first)
                    .map(|(_, v)| *v)
                    .collect();
                let Some(centre) = median(&mut first_year) else {
                    continue;
                };
                for (p, v) in x {
                    at.entry(p).or_default().push(v - centre);
                }
            }
            at.into_iter()
                .filter(|(_, v)| v.len() >= MIN_OTHERS)
                .filter_map(|(p, mut v)| Some((p, median(&mut v)?)))
                .collect()
        };
        Common {
            ratio: common(Scale::Ratio),
            points: common(Scale::Difference),
        }
    }
}
