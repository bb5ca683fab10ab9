//! The one set of rules every way in applies to an indicator value (an MQTT report, a JSON
//! POST, a spreadsheet row): a [`Submission`] checked against the catalogue
//! ([`Catalogue::check`]), and the unit that may report it ([`Catalogue::check_reporter`]).
//!
//! Every refusal is a [`SubmissionError`] with a stable machine [`SubmissionError::reason`]
//! (what the server counts by) and an English sentence naming what is wrong. The errors of
//! decoding a report or a POST body (`report`) are of the same type, so that one list of
//! reasons counts them all.

use serde::{Deserialize, Serialize};

use super::catalogue::{Catalogue, Level};
use super::period::{Period, PeriodError, Periodicity};
use crate::topic::TopicError;

/// One value of one indicator, for one area and one period: what every way in produces, and
/// the item of `POST /api/v1/indicators` (`{"indicator", "area", "period", "value"}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// The indicator's code (`grdp_growth`).
    pub indicator: String,
    /// `city`, a district's area code (`q1`) or a department's code (`so-yt`).
    pub area: String,
    /// A period of the indicator's periodicity.
    pub period: Period,
    pub value: f64,
}

/// Why a submission, or the report or body that carried it, is refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SubmissionError {
    // The catalogue's rules (`Catalogue::check`).
    #[error("{0:?} is not an indicator of the catalogue")]
    UnknownIndicator(String),
    #[error(
        "{0:?} is not an area of the city: write `city`, a district's code or a department's code"
    )]
    UnknownArea(String),
    #[error("{indicator} is not reported for {area:?}, a {level} (it is reported at: {levels})")]
    AreaNotReported {
        indicator: String,
        area: String,
        level: Level,
        levels: String,
    },
    #[error("{indicator} is reported each {expected}, and {period} is a {given}")]
    WrongPeriodicity {
        indicator: String,
        period: Period,
        expected: Periodicity,
        given: Periodicity,
    },
    #[error("{period} has not begun: the current {periodicity} is {current}")]
    FuturePeriod {
        period: Period,
        periodicity: Periodicity,
        current: Period,
    },
    #[error("the value of {indicator} is not a finite number")]
    NotFinite { indicator: String },
    #[error("{value} {unit} is not a plausible value of {indicator} ({min} to {max})")]
    OutOfRange {
        indicator: String,
        value: f64,
        min: f64,
        max: f64,
        unit: String,
    },
    // Who sends (`Catalogue::check_reporter`).
    #[error("unit {unit:?} may not report {indicator} for {area:?}: {}", expected_unit(.expected))]
    NotReportingUnit {
        unit: String,
        indicator: String,
        area: String,
        expected: Option<String>,
    },
    // Decoding (`report`).
    #[error("{0}")]
    BadTopic(TopicError),
    #[error("the payload is {0} bytes, the limit is {limit}", limit = crate::ingest::MAX_PAYLOAD_BYTES)]
    TooLarge(usize),
    #[error("not valid JSON: {0}")]
    NotJson(String),
    #[error("{0}")]
    BadItem(String),
    #[error("{0}")]
    BadTs(String),
    #[error("\"ts\" is {0} s ahead of the server's clock (at most 3600 s)")]
    TsInFuture(i64),
    #[error("{0}")]
    BadPeriod(#[from] PeriodError),
    #[error("a report needs a non-empty \"values\" object")]
    MissingValues,
    #[error("{0}")]
    BadValue(String),
}

fn expected_unit(expected: &Option<String>) -> String {
    match expected {
        Some(u) => format!("that is {u:?}'s to report"),
        None => "no unit reports it there".to_owned(),
    }
}

impl SubmissionError {
    /// Every reason, in the order of the variants: what the server's counters start from.
    pub const REASONS: [&'static str; 17] = [
        "unknown_indicator",
        "unknown_area",
        "area_not_reported",
        "wrong_periodicity",
        "future_period",
        "not_finite",
        "out_of_range",
        "not_reporting_unit",
        "bad_topic",
        "too_large",
        "not_json",
        "bad_item",
        "bad_ts",
        "ts_in_future",
        "bad_period",
        "missing_values",
        "bad_value",
    ];

    /// The stable machine name of the reason, which refusals are counted by.
    pub fn reason(&self) -> &'static str {
        match self {
            SubmissionError::UnknownIndicator(_) => "unknown_indicator",
            SubmissionError::UnknownArea(_) => "unknown_area",
            SubmissionError::AreaNotReported { .. } => "area_not_reported",
            SubmissionError::WrongPeriodicity { .. } => "wrong_periodicity",
            SubmissionError::FuturePeriod { .. } => "future_period",
            SubmissionError::NotFinite { .. } => "not_finite",
            SubmissionError::OutOfRange { .. } => "out_of_range",
            SubmissionError::NotReportingUnit { .. } => "not_reporting_unit",
            SubmissionError::BadTopic(_) => "bad_topic",
            SubmissionError::TooLarge(_) => "too_large",
            SubmissionError::NotJson(_) => "not_json",
            SubmissionError::BadItem(_) => "bad_item",
            SubmissionError::BadTs(_) => "bad_ts",
            SubmissionError::TsInFuture(_) => "ts_in_future",
            SubmissionError::BadPeriod(_) => "bad_period",
            SubmissionError::MissingValues => "missing_values",
            SubmissionError::BadValue(_) => "bad_value",
        }
    }
}

impl Catalogue {
    /// Checks a submission against the catalogue and the city's areas, at `now_ms` (epoch ms):
    /// a known indicator; an area of the city at one of the indicator's levels; a period of the
    /// indicator's periodicity that has begun (the current period is accepted, a later one is
    /// not); a finite value in the indicator's plausible range.
    pub fn check(&self, s: &Submission, now_ms: i64) -> Result<(), SubmissionError> {
        let indicator = self.indicator(&s.indicator).ok_or_else(|| {
            SubmissionError::UnknownIndicator(crate::topic::truncate(&s.indicator, 64))
        })?;
        let level = self
            .areas
            .level_of(&s.area)
            .ok_or_else(|| SubmissionError::UnknownArea(crate::topic::truncate(&s.area, 64)))?;
        if !indicator.has_level(level) {
            let levels: Vec<&str> = indicator.levels.iter().map(|l| l.as_str()).collect();
            return Err(SubmissionError::AreaNotReported {
                indicator: indicator.code.clone(),
                area: s.area.clone(),
                level,
                levels: levels.join(", "),
            });
        }
        if s.period.periodicity() != indicator.periodicity {
            return Err(SubmissionError::WrongPeriodicity {
                indicator: indicator.code.clone(),
                period: s.period,
                expected: indicator.periodicity,
                given: s.period.periodicity(),
            });
        }
        let current = indicator.periodicity.period_at(now_ms);
        if s.period > current {
            return Err(SubmissionError::FuturePeriod {
                period: s.period,
                periodicity: indicator.periodicity,
                current,
            });
        }
        if !s.value.is_finite() {
            return Err(SubmissionError::NotFinite {
                indicator: indicator.code.clone(),
            });
        }
        if !indicator.range.contains(s.value) {
            return Err(SubmissionError::OutOfRange {
                indicator: indicator.code.clone(),
                value: s.value,
                min: indicator.range.min,
                max: indicator.range.max,
                unit: indicator.unit_en.clone(),
            });
        }
        Ok(())
    }

    /// Checks that `unit` is the unit that reports the submission's indicator for its area
    /// ([`Catalogue::reporting_unit`]): what a `reporter` account, or the unit of an MQTT
    /// topic, is held to.
    pub fn check_reporter(&self, s: &Submission, unit: &str) -> Result<(), SubmissionError> {
        let expected = self.reporting_unit(&s.indicator, &s.area);
        if expected == Some(unit) {
            return Ok(());
        }
        Err(SubmissionError::NotReportingUnit {
            unit: crate::topic::truncate(unit, 64),
            indicator: crate::topic::truncate(&s.indicator, 64),
            area: crate::topic::truncate(&s.area, 64),
            expected: expected.map(str::to_owned),
        })
    }
}
