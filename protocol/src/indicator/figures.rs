//! The figures of one indicator for one area, from its series alone: the latest period's
//! value ([`Latest`]), the change on the same period a year earlier ([`Change`]), a flow's
//! year-to-date sum ([`YearToDate`]), and the progress towards the year's target against the
//! progress expected by now, with its [`Status`] ([`Progress`]). [`AreaFigures`] carries them
//! with the rank, the abnormal sign and the late report that `board` adds.
//!
//! Every formula is in `docs/indicators.md`; the thresholds are [`ON_TRACK_POINTS`] and
//! [`AT_RISK_POINTS`].

use serde::{Deserialize, Serialize};

use super::abnormal::AbnormalSign;
use super::catalogue::{Direction, Indicator, Kind, Level};
use super::period::Period;
use super::punctuality::LateReport;
use super::values::Observation;

/// On track: progress at least this many points below the progress expected by now.
pub const ON_TRACK_POINTS: f64 = 5.0;
/// At risk: progress less than [`ON_TRACK_POINTS`] but at least this many points below the
/// progress expected by now; further below is behind.
pub const AT_RISK_POINTS: f64 = 15.0;

/// How close to a boundary counts as on it: a gap computed as −5.000000000001 points is −5.
const BOUNDARY_SLACK: f64 = 1e-9;

/// Below this size a base (the year earlier's value) counts as zero: no relative change.
const ZERO_BASE: f64 = 1e-9;

/// Where an indicator stands against the year's target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Progress at least the expected minus [`ON_TRACK_POINTS`].
    OnTrack,
    /// Progress from the expected minus [`AT_RISK_POINTS`] to the expected minus
    /// [`ON_TRACK_POINTS`].
    AtRisk,
    /// Progress more than [`AT_RISK_POINTS`] below the expected.
    Behind,
}

impl Status {
    pub const ALL: [Status; 3] = [Status::OnTrack, Status::AtRisk, Status::Behind];

    /// The status of a gap: progress minus the progress expected by now, in points of
    /// percentage, in the good direction (negative is short of the expected).
    pub fn of_gap(gap_points: f64) -> Status {
        if gap_points >= -ON_TRACK_POINTS - BOUNDARY_SLACK {
            Status::OnTrack
        } else if gap_points >= -AT_RISK_POINTS - BOUNDARY_SLACK {
            Status::AtRisk
        } else {
            Status::Behind
        }
    }

    /// `on_track`, `at_risk` or `behind`, as the wire writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OnTrack => "on_track",
            Status::AtRisk => "at_risk",
            Status::Behind => "behind",
        }
    }
}

/// The latest period with a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latest {
    pub period: Period,
    pub value: f64,
    /// When its latest revision was received, epoch ms.
    pub reported_ms: i64,
    /// Who sent its latest revision.
    pub reported_by: String,
}

/// The change of the latest period's value on the same period a year earlier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    /// The same period a year earlier.
    pub period: Period,
    /// Its value.
    pub value: f64,
    /// Latest minus the year earlier's value, in the indicator's unit (points for a `%`).
    pub absolute: f64,
    /// `absolute / |year earlier's value| × 100`, in %; `None` when the year earlier's value is
    /// zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relative: Option<f64>,
}

/// A flow's sum over the periods of the latest period's year, up to and including it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearToDate {
    /// The last period summed: the latest period with a value.
    pub through: Period,
    pub sum: f64,
    /// How many of the year's periods up to `through` have a value (the sum counts a missing
    /// one as nothing).
    pub periods: u8,
    /// How many periods of the year there are up to `through`: `through`'s index in its year.
    pub of: u8,
}

/// Progress towards the year's target, against the progress expected by now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Progress {
    /// What is measured against the target: a flow's year-to-date sum, a level's latest value.
    pub achieved: f64,
    /// Progress, in %: for a flow, `achieved / target × 100` (of a Down flow, the share of the
    /// year's ceiling used so far); for a level, how far the value has come towards the target
    /// in the good direction, 100 at the target (`docs/indicators.md`).
    pub percent: f64,
    /// The progress expected by now, in %: for a flow, the share of the year's target due by the
    /// end of the latest period (seasonal profile, or periods passed); for a level, 100.
    pub expected: f64,
    /// `percent − expected` in the good direction, in points (for a Down flow,
    /// `expected − percent`): negative is short of the expected.
    pub gap: f64,
    pub status: Status,
}

/// A district's rank among the districts (a department's among the departments).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rank {
    /// The period ranked: the latest period reported by at least half the level's areas.
    pub period: Period,
    /// 1 is the best in the good direction; equal values share a rank (1, 2, 2, 4).
    pub rank: u16,
    /// How many areas were ranked.
    pub of: u16,
}

/// Every figure of one indicator for one area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaFigures {
    /// `city`, a district's area code or a department's code.
    pub area: String,
    pub level: Level,
    /// `None`: nothing reported yet; then every figure below is `None`.
    pub latest: Option<Latest>,
    /// `None` without a value for the same period a year earlier.
    pub change: Option<Change>,
    /// A flow's; `None` for a level.
    pub ytd: Option<YearToDate>,
    /// The target of the latest period's year for this area, if the plan sets one.
    pub target: Option<f64>,
    /// `None` without a target, or for a flow whose target is not above zero.
    pub progress: Option<Progress>,
    /// A district's or a department's; `None` for the city, and when the area has no value for
    /// the ranked period.
    pub rank: Option<Rank>,
    /// The latest period's abnormal score; `None` when it cannot be scored (less than three
    /// years of history before it).
    pub abnormal: Option<AbnormalSign>,
    /// The most recent report in the punctuality window that is missing, or, when none is, the
    /// most recent due report if it came late; `None` when the reports are on time.
    pub late: Option<LateReport>,
}

impl AreaFigures {
    /// Whether the figure carries a flag: an abnormal sign or a late report.
    pub fn is_flagged(&self) -> bool {
        self.abnormal.as_ref().is_some_and(|a| a.flagged) || self.late.is_some()
    }

    /// The status against the target, if there is one.
    pub fn status(&self) -> Option<Status> {
        self.progress.as_ref().map(|p| p.status)
    }
}

/// The latest observation of a series in period order, as a [`Latest`].
pub fn latest(series: &[Observation]) -> Option<Latest> {
    series.last().map(|o| Latest {
        period: o.period,
        value: o.value,
        reported_ms: o.reported_ms,
        reported_by: o.reported_by.clone(),
    })
}

/// The value of a period in a series in period order.
pub fn value_at(series: &[Observation], period: Period) -> Option<f64> {
    series
        .binary_search_by(|o| o.period.cmp(&period))
        .ok()
        .map(|i| series[i].value)
}

/// The change of `period`'s value on the same period a year earlier.
pub fn change(series: &[Observation], period: Period) -> Option<Change> {
    let value = value_at(series, period)?;
    let earlier = period.year_earlier()?;
    let base = value_at(series, earlier)?;
    let absolute = value - base;
    Some(Change {
        period: earlier,
        value: base,
        absolute,
        relative: (base.abs() >= ZERO_BASE).then(|| absolute / base.abs() * 100.0),
    })
}

/// The sum of the values of `through`'s year up to and including `through`.
pub fn year_to_date(series: &[Observation], through: Period) -> YearToDate {
    let mut sum = 0.0;
    let mut periods = 0;
    for o in series.iter().filter(|o| {
        o.period.periodicity() == through.periodicity()
            && o.period.year() == through.year()
            && o.period <= through
    }) {
        sum += o.value;
        periods += 1;
    }
    YearToDate {
        through,
        sum,
        periods,
        of: through.index_in_year(),
    }
}

/// A level's progress towards its target, in %, in the good direction: 100 at the target,
/// `100 × (1 + (value − target) / |target|)` for Up and `100 × (1 + (target − value) /
/// |target|)` for Down; with a target of zero, 100 when the value is at or beyond it in the
/// good direction, 0 otherwise.
pub fn level_progress(good: Direction, value: f64, target: f64) -> f64 {
    let ahead = match good {
        Direction::Up => value - target,
        Direction::Down => target - value,
    };
    if target == 0.0 {
        if ahead >= 0.0 { 100.0 } else { 0.0 }
    } else {
        100.0 * (1.0 + ahead / target.abs())
    }
}

/// The progress of an indicator towards its target for the latest period's year: `None` when
/// a flow's target is not above zero. `series` is in period order and `latest` is its last
/// period.
pub fn progress(
    indicator: &Indicator,
    series: &[Observation],
    latest: &Latest,
    target: f64,
) -> Option<Progress> {
    let (achieved, percent, expected, gap) = match indicator.kind {
        Kind::Flow => {
            if target <= 0.0 {
                return None;
            }
            let achieved = year_to_date(series, latest.period).sum;
            let percent = achieved / target * 100.0;
            let expected = indicator.expected_share(latest.period) * 100.0;
            let gap = match indicator.good {
                Direction::Up => percent - expected,
                Direction::Down => expected - percent,
            };
            (achieved, percent, expected, gap)
        }
        Kind::Level => {
            let percent = level_progress(indicator.good, latest.value, target);
            (latest.value, percent, 100.0, percent - 100.0)
        }
    };
    Some(Progress {
        achieved,
        percent,
        expected,
        gap,
        status: Status::of_gap(gap),
    })
}

impl AreaFigures {
    /// The figures of an indicator for one area from its series alone (in period order, of the
    /// indicator's periodicity) and the target of the latest period's year (`target(year)`):
    /// latest, change, year to date, target and progress. The rank, the abnormal sign and the
    /// late report are `board`'s to fill.
    pub fn of_series(
        indicator: &Indicator,
        area: &str,
        level: Level,
        series: &[Observation],
        target: impl Fn(i32) -> Option<f64>,
    ) -> AreaFigures {
        let latest = latest(series);
        let target = latest.as_ref().and_then(|l| target(l.period.year()));
        AreaFigures {
            area: area.to_owned(),
            level,
            change: latest.as_ref().and_then(|l| change(series, l.period)),
            ytd: latest
                .as_ref()
                .filter(|_| indicator.kind == Kind::Flow)
                .map(|l| year_to_date(series, l.period)),
            progress: latest
                .as_ref()
                .zip(target)
                .and_then(|(l, t)| progress(indicator, series, l, t)),
            target,
            latest,
            rank: None,
            abnormal: None,
            late: None,
        }
    }
}
