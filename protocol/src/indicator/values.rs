//! The values as they stand: for each indicator and area, one [`Observation`] per period (the
//! latest revision's value, when and by whom it was reported, and when the period was first
//! reported). This is what the figures (`figures`, `abnormal`, `punctuality`, `board`) are
//! computed from; the server builds it from its store, a test from a truth log.
//!
//! [`Values::insert`] takes revisions in any order and keeps, for each period, the one received
//! last as the value and the earliest receipt as the first report: the same [`Values`] comes out
//! whatever order the store hands the revisions in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::period::Period;

/// One period's value of one indicator for one area, as it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    pub period: Period,
    /// The latest revision's value.
    pub value: f64,
    /// When the latest revision was received, epoch ms.
    pub reported_ms: i64,
    /// Who sent the latest revision: a user's name or a unit's code, as the server records it.
    pub reported_by: String,
    /// When the period was first reported (its first revision), epoch ms; `None`: the latest
    /// revision is the first. Punctuality judges this one: a report sent on time and revised
    /// after the deadline was on time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_reported_ms: Option<i64>,
}

impl Observation {
    /// When the period was first reported, epoch ms.
    pub fn first_ms(&self) -> i64 {
        self.first_reported_ms
            .map_or(self.reported_ms, |first| first.min(self.reported_ms))
    }
}

/// The observations of one indicator for one area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Series {
    pub indicator: String,
    /// `city`, a district's area code or a department's code.
    pub area: String,
    /// In any order; [`Values`] sorts them and keeps one per period.
    pub observations: Vec<Observation>,
}

/// Every series, by indicator and area: each one sorted by period, one observation per period.
/// Serialized as a list of [`Series`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Vec<Series>", into = "Vec<Series>")]
pub struct Values {
    series: BTreeMap<(String, String), Vec<Observation>>,
}

impl Values {
    pub fn new() -> Values {
        Values::default()
    }

    /// Adds a revision of a period's value. When the period already has one, the revision
    /// received last (the greater `reported_ms`; on a tie, this one) becomes the value, and the
    /// earlier of the two first reports is kept.
    pub fn insert(&mut self, indicator: &str, area: &str, observation: Observation) {
        let series = self
            .series
            .entry((indicator.to_owned(), area.to_owned()))
            .or_default();
        match series.binary_search_by(|o| o.period.cmp(&observation.period)) {
            Ok(i) => {
                let held = &mut series[i];
                let first = held.first_ms().min(observation.first_ms());
                if observation.reported_ms >= held.reported_ms {
                    *held = observation;
                }
                held.first_reported_ms = (first != held.reported_ms).then_some(first);
            }
            Err(i) => series.insert(i, observation),
        }
    }

    /// The observations of an indicator for an area, in period order; empty when there are none.
    pub fn series(&self, indicator: &str, area: &str) -> &[Observation] {
        self.series
            .get(&(indicator.to_owned(), area.to_owned()))
            .map_or(&[], Vec::as_slice)
    }

    /// Every series: indicator, area and observations in period order, sorted by indicator then
    /// area.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str, &[Observation])> {
        self.series
            .iter()
            .map(|((i, a), obs)| (i.as_str(), a.as_str(), obs.as_slice()))
    }

    /// How many observations there are in all.
    pub fn len(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.series.values().all(Vec::is_empty)
    }
}

impl FromIterator<Series> for Values {
    fn from_iter<T: IntoIterator<Item = Series>>(iter: T) -> Values {
        let mut values = Values::new();
        for s in iter {
            for o in s.observations {
                values.insert(&s.indicator, &s.area, o);
            }
        }
        values
    }
}

impl From<Vec<Series>> for Values {
    fn from(series: Vec<Series>) -> Values {
        series.into_iter().collect()
    }
}

impl From<Values> for Vec<Series> {
    fn from(values: Values) -> Vec<Series> {
        values
            .series
            .into_iter()
            .map(|((indicator, area), observations)| Series {
                indicator,
                area,
                observations,
            })
            .collect()
    }
}
