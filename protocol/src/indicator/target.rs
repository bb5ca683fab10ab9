//! Yearly targets: the plan's value for an indicator in an area for a year, the rule a target
//! must hold (the same for the catalogue's file and for an admin's change through the API), and
//! finding and replacing one.

use serde::{Deserialize, Serialize};

use super::catalogue::{Catalogue, Kind};
use super::period::Period;

/// A yearly target: the value the plan sets for an indicator in an area for a year. For a flow,
/// a year's sum; for a level, the value to reach by the year's end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub indicator: String,
    /// `city`, a district's area code, or a department's code: an area at one of the
    /// indicator's levels.
    pub area: String,
    pub year: i32,
    pub value: f64,
}

/// Why a target cannot be set.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("{0:?} is not an indicator of the catalogue")]
    UnknownIndicator(String),
    #[error("{indicator} is not reported for {area:?} (it is reported at: {levels})")]
    AreaNotReported {
        indicator: String,
        area: String,
        levels: String,
    },
    #[error("year {0} is not 1 to 9999")]
    Year(i32),
    #[error("the target of {indicator} is not a finite number")]
    NotFinite { indicator: String },
    #[error("the target {value} of {indicator} is outside {min} to {max}{}", flow_note(*.flow))]
    OutOfRange {
        indicator: String,
        value: f64,
        min: f64,
        max: f64,
        flow: bool,
    },
}

fn flow_note(flow: bool) -> &'static str {
    if flow {
        " (a flow's target is a year's sum: its range times the periods of a year)"
    } else {
        ""
    }
}

impl Catalogue {
    /// Whether a target may be set: a known indicator, an area at one of its levels, a year of
    /// the calendar, and a plausible value: within the indicator's range for a level, within
    /// its range times the periods of a year for a flow.
    pub fn check_target(&self, target: &Target) -> Result<(), TargetError> {
        let indicator = self
            .indicator(&target.indicator)
            .ok_or_else(|| TargetError::UnknownIndicator(target.indicator.clone()))?;
        if self.level_of(indicator, &target.area).is_none() {
            let levels: Vec<&str> = indicator.levels.iter().map(|l| l.as_str()).collect();
            return Err(TargetError::AreaNotReported {
                indicator: indicator.code.clone(),
                area: target.area.clone(),
                levels: levels.join(", "),
            });
        }
        if Period::of_year(target.year).is_err() {
            return Err(TargetError::Year(target.year));
        }
        if !target.value.is_finite() {
            return Err(TargetError::NotFinite {
                indicator: indicator.code.clone(),
            });
        }
        let flow = indicator.kind == Kind::Flow;
        let times = if flow {
            f64::from(indicator.periodicity.per_year())
        } else {
            1.0
        };
        let (min, max) = (indicator.range.min * times, indicator.range.max * times);
        if !(min..=max).contains(&target.value) {
            return Err(TargetError::OutOfRange {
                indicator: indicator.code.clone(),
                value: target.value,
                min,
                max,
                flow,
            });
        }
        Ok(())
    }

    /// The target of an indicator for an area and a year, if the plan sets one.
    pub fn target(&self, indicator: &str, area: &str, year: i32) -> Option<f64> {
        self.targets
            .iter()
            .find(|t| t.indicator == indicator && t.area == area && t.year == year)
            .map(|t| t.value)
    }

    /// The targets of an indicator for an area, by year.
    pub fn targets_of<'a>(
        &'a self,
        indicator: &'a str,
        area: &'a str,
    ) -> impl Iterator<Item = &'a Target> {
        self.targets
            .iter()
            .filter(move |t| t.indicator == indicator && t.area == area)
    }

    /// Sets a target after checking it, replacing the one of the same indicator, area and year.
    pub fn set_target(&mut self, target: Target) -> Result<(), TargetError> {
        self.check_target(&target)?;
        match self.targets.iter_mut().find(|t| {
            t.indicator == target.indicator && t.area == target.area && t.year == target.year
        }) {
            Some(t) => t.value = target.value,
            None => self.targets.push(target),
        }
        Ok(())
    }
}
