//! The catalogue of indicators, as data: its groups, its indicators and what each one is (unit,
//! periodicity, levels, kind, good direction, plausible range, reporting unit, deadline,
//! seasonal profile), the yearly targets ([`Target`], their rule in `target`), and the key
//! indicators of the wall's panel.
//!
//! This module is the model and the questions asked of it; loading it from TOML and the rules
//! it must hold are `validate`'s (cargo feature `preset`). A [`Catalogue`] from
//! [`Catalogue::parse`] or [`Catalogue::built_in`] has been validated against a city preset and
//! knows that city's areas ([`AreaLevels`]); one read back from JSON (the app) is taken as the
//! server sent it.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::period::{Deadline, Period, Periodicity};
use super::target::Target;
use crate::topic::CITY_AREA;

/// The catalogue of indicators of a city.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The catalogue's code (`hcmc-2022-indicators`): `[a-z0-9][a-z0-9-]{0,63}`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// The deadline of each periodicity, for indicators that do not set their own.
    pub deadlines: Deadlines,
    /// Units that report city-level figures and are neither a department of the city preset nor
    /// a district (the statistics office, the tax department...).
    #[serde(default)]
    pub offices: Vec<Office>,
    /// The groups of fields, in the order the screens show them.
    pub groups: Vec<Group>,
    /// The indicators, grouped by [`Indicator::group`], in the order the screens show them.
    pub indicators: Vec<Indicator>,
    /// The indicators of the wall's panel, in its order.
    #[serde(default)]
    pub key_indicators: Vec<String>,
    /// The yearly targets: the city's plan, and the districts' and departments' where they
    /// have one.
    #[serde(default)]
    pub targets: Vec<Target>,
    /// The areas of each level: from the city preset when the catalogue is loaded, never from
    /// the catalogue's file.
    #[serde(default)]
    pub areas: AreaLevels,
}

/// The deadline of each periodicity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub month: Deadline,
    pub quarter: Deadline,
    pub year: Deadline,
}

impl Deadlines {
    pub fn of(&self, periodicity: Periodicity) -> Deadline {
        match periodicity {
            Periodicity::Month => self.month,
            Periodicity::Quarter => self.quarter,
            Periodicity::Year => self.year,
        }
    }
}

/// A unit that reports city-level figures without being a department of the preset or a
/// district: `cuc-thong-ke`, the city's statistics office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Office {
    /// `[a-z0-9][a-z0-9_-]{0,63}`, the unit in `ioc/v1/indicator/{area}/{unit}`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// A group of fields (`ngành, lĩnh vực`): "Kinh tế tổng quát (GRDP)", "Thu chi ngân sách"...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// `[a-z][a-z0-9_]{0,63}`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
}

/// Where an indicator is reported: for the whole city, for each district, for each department.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// One area, `city` ([`CITY_AREA`]), reported by the indicator's reporting unit.
    City,
    /// Each area of the city preset (`q1`, `thu-duc`...), reported by the district itself.
    District,
    /// Each department of the city preset (`so-yt`...), reported by the department itself.
    Department,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::City, Level::District, Level::Department];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::City => "city",
            Level::District => "district",
            Level::Department => "department",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an indicator's values add up over a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Summed over the year (budget revenue, retail sales, exports): the year's figure is the
    /// year-to-date sum, and its target is a year's sum.
    Flow,
    /// A level or a rate (the unemployment rate, the online share, an index): the year's figure
    /// is the latest value, and its target a value to reach.
    Level,
}

/// Which way is good for an indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// More is better (revenue, the online share).
    Up,
    /// Less is better (the unemployment rate, traffic deaths).
    Down,
}

/// The plausible values of one period's report, `[min, max]` in the catalogue: a value outside
/// is refused as a mistake. Wide enough for every level the indicator is reported at and for
/// bad years.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(from = "[f64; 2]", into = "[f64; 2]")]
pub struct ValueRange {
    pub min: f64,
    pub max: f64,
}

impl ValueRange {
    /// Whether a value is plausible: finite, and from `min` to `max`.
    pub fn contains(self, value: f64) -> bool {
        value.is_finite() && (self.min..=self.max).contains(&value)
    }
}

impl From<[f64; 2]> for ValueRange {
    fn from([min, max]: [f64; 2]) -> Self {
        ValueRange { min, max }
    }
}

impl From<ValueRange> for [f64; 2] {
    fn from(r: ValueRange) -> Self {
        [r.min, r.max]
    }
}

/// One indicator of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// `[a-z][a-z0-9_]{0,63}`: the key in `values` of an MQTT report, and in every API.
    pub code: String,
    /// The code of its [`Group`].
    pub group: String,
    pub name_vi: String,
    pub name_en: String,
    /// The unit as the Vietnamese screen shows it: `tỷ đồng`, `%`, `người`, `điểm`.
    pub unit: String,
    /// The unit as the English screen shows it: `billion VND`, `%`, `persons`, `points`.
    pub unit_en: String,
    pub periodicity: Periodicity,
    /// Where it is reported; never empty.
    pub levels: BTreeSet<Level>,
    pub kind: Kind,
    /// The direction that is good.
    pub good: Direction,
    /// The plausible value of one period's report, at any of its levels.
    pub range: ValueRange,
    /// The unit that reports the city-level figure: a department of the city preset or one of
    /// the catalogue's [`Office`]s. Set exactly when the indicator is reported at city level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_unit: Option<String>,
    /// Its own deadline; `None`: the catalogue's for its periodicity
    /// ([`Catalogue::deadline`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Deadline>,
    /// For a monthly or quarterly flow, the share of the year's total each period is expected
    /// to bring (12 or 4 shares, summing to 1): retail sales peak before Tết. `None`: every
    /// period the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seasonal: Option<Vec<f64>>,
}

impl Indicator {
    /// Whether it is reported at a level.
    pub fn has_level(&self, level: Level) -> bool {
        self.levels.contains(&level)
    }

    /// The share of the year's target expected to be reached when `period` (of the indicator's
    /// periodicity) ends: the seasonal profile's shares up to and including the period, or, with
    /// no profile, the share of the year's periods that have ended ([`Period::share_of_year`]).
    pub fn expected_share(&self, period: Period) -> f64 {
        match &self.seasonal {
            Some(shares) => shares
                .iter()
                .take(usize::from(period.index_in_year()))
                .sum::<f64>()
                .min(1.0),
            None => period.share_of_year(),
        }
    }

    /// Whether `value` is better than `than` in the indicator's good direction (equal is not).
    pub fn is_better(&self, value: f64, than: f64) -> bool {
        match self.good {
            Direction::Up => value > than,
            Direction::Down => value < than,
        }
    }
}

/// The areas of each level, as the city preset has them: `city` alone at city level, the
/// preset's areas at district level, its departments at department level.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaLevels {
    /// The codes of the preset's areas, in its order.
    pub districts: Vec<String>,
    /// The codes of the preset's agencies of kind `department`, in its order.
    pub departments: Vec<String>,
}

impl AreaLevels {
    /// The level an area is at: `city`, a district, or a department; `None` for any other code.
    pub fn level_of(&self, area: &str) -> Option<Level> {
        if area == CITY_AREA {
            Some(Level::City)
        } else if self.districts.iter().any(|d| d == area) {
            Some(Level::District)
        } else if self.departments.iter().any(|d| d == area) {
            Some(Level::Department)
        } else {
            None
        }
    }

    /// The areas of a level, in the preset's order.
    pub fn areas(&self, level: Level) -> Vec<&str> {
        match level {
            Level::City => vec![CITY_AREA],
            Level::District => self.districts.iter().map(String::as_str).collect(),
            Level::Department => self.departments.iter().map(String::as_str).collect(),
        }
    }
}

impl Catalogue {
    /// The indicator of a code.
    pub fn indicator(&self, code: &str) -> Option<&Indicator> {
        self.indicators.iter().find(|i| i.code == code)
    }

    /// The group of a code.
    pub fn group(&self, code: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.code == code)
    }

    /// The indicators of a group, in the catalogue's order.
    pub fn indicators_of<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Indicator> {
        self.indicators.iter().filter(move |i| i.group == group)
    }

    /// The office of a code.
    pub fn office(&self, code: &str) -> Option<&Office> {
        self.offices.iter().find(|o| o.code == code)
    }

    /// The deadline of an indicator: its own, or the catalogue's for its periodicity.
    pub fn deadline(&self, indicator: &Indicator) -> Deadline {
        indicator
            .deadline
            .unwrap_or_else(|| self.deadlines.of(indicator.periodicity))
    }

    /// The first instant (epoch ms) at which a report of `period` for an indicator is late.
    pub fn due_ms(&self, indicator: &Indicator, period: Period) -> i64 {
        period.due_ms(self.deadline(indicator))
    }

    /// The areas an indicator is reported for, level by level (city, districts, departments).
    pub fn areas_of(&self, indicator: &Indicator) -> Vec<(Level, &str)> {
        indicator
            .levels
            .iter()
            .flat_map(|&level| self.areas.areas(level).into_iter().map(move |a| (level, a)))
            .collect()
    }

    /// The level at which an indicator is reported for an area: `None` when the area is not an
    /// area of the city, or the indicator is not reported at its level.
    pub fn level_of(&self, indicator: &Indicator, area: &str) -> Option<Level> {
        self.areas
            .level_of(area)
            .filter(|&level| indicator.has_level(level))
    }

    /// The unit that may report an indicator for an area: at city level the indicator's
    /// reporting unit; at district level the district itself (its area code); at department
    /// level the department itself. `None` when the indicator is unknown or not reported for
    /// that area. A `reporter` account may submit only where this is its unit.
    pub fn reporting_unit(&self, indicator: &str, area: &str) -> Option<&str> {
        let indicator = self.indicator(indicator)?;
        match self.level_of(indicator, area)? {
            Level::City => indicator.reporting_unit.as_deref(),
            Level::District | Level::Department => self
                .areas
                .districts
                .iter()
                .chain(&self.areas.departments)
                .find(|a| *a == area)
                .map(String::as_str),
        }
    }

    /// Every unit that reports something: the offices and departments that report city-level
    /// figures, the districts and departments that report their own; each once, sorted.
    pub fn units(&self) -> BTreeSet<&str> {
        let mut units = BTreeSet::new();
        for i in &self.indicators {
            if let Some(u) = &i.reporting_unit {
                units.insert(u.as_str());
            }
            for level in [Level::District, Level::Department] {
                if i.has_level(level) {
                    units.extend(self.areas.areas(level));
                }
            }
        }
        units
    }
}
