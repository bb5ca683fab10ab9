//! What the server keeps of each indicator value, and the bodies of the indicators' API.
//!
//! Every value accepted is kept as a [`Revision`]: what was sent (indicator, area, period,
//! value), when (`reported_ms`, `received_ms`), for which unit, by whom and which way
//! ([`Way`]). A later value of the same indicator, area and period is a new revision: the
//! latest counts ([`SeriesPoint`]), and every one stays readable ([`RevisionsAnswer`]).
//!
//! The answers here are those of `/api/v1/indicators/...` (`docs/ingest.md` lists them):
//! [`SubmitAnswer`] for a POST of values or targets, [`ImportAnswer`] for a spreadsheet,
//! [`SeriesAnswer`] and [`RevisionsAnswer`] for reading back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::period::Period;

/// How a value came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Way {
    /// An MQTT report on `ioc/v1/indicator/{area}/{unit}`.
    Mqtt,
    /// `POST /api/v1/indicators`.
    Api,
    /// A spreadsheet, `POST /api/v1/indicators/import`.
    Import,
}

impl Way {
    pub const ALL: [Way; 3] = [Way::Mqtt, Way::Api, Way::Import];

    pub fn as_str(self) -> &'static str {
        match self {
            Way::Mqtt => "mqtt",
            Way::Api => "api",
            Way::Import => "import",
        }
    }
}

impl fmt::Display for Way {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Way {
    type Err = String;
    fn from_str(s: &str) -> Result<Way, String> {
        Way::ALL
            .into_iter()
            .find(|w| w.as_str() == s)
            .ok_or_else(|| format!("{s:?} is not a way in: mqtt, api or import"))
    }
}

/// One value as it was received and kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    pub indicator: String,
    pub area: String,
    pub period: Period,
    pub value: f64,
    /// When the sender reported it, epoch ms: an MQTT report's `ts`; for the API and a
    /// spreadsheet, when the server received it.
    pub reported_ms: i64,
    /// When the server received and stored it, epoch ms.
    pub received_ms: i64,
    /// The unit whose figure it is (`Catalogue::reporting_unit` of its indicator and area).
    pub unit: String,
    /// Who sent it: the user's name (API, spreadsheet); over MQTT, the gateway's name, or the
    /// topic's unit when gateways are not authenticated.
    pub by: String,
    pub way: Way,
}

/// One period of a series: the latest revision's value, who sent it and when, and how many
/// revisions the period has.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesPoint {
    pub period: Period,
    /// The latest revision's value: the one that counts.
    pub value: f64,
    /// The latest revision's `reported_ms`, `received_ms`, `by` and `way`.
    pub reported_ms: i64,
    pub received_ms: i64,
    pub by: String,
    pub way: Way,
    /// How many revisions the period has (1: never revised).
    pub revisions: u32,
    /// The first revision's `reported_ms`: when the period was first reported (punctuality).
    pub first_reported_ms: i64,
}

/// `GET /api/v1/indicators/values?indicator=&area=` (200): the series, one point per period
/// reported, oldest period first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesAnswer {
    pub indicator: String,
    pub area: String,
    pub points: Vec<SeriesPoint>,
}

/// `GET /api/v1/indicators/revisions?indicator=&area=&period=` (200): every revision of one
/// period, oldest first; the last one counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RevisionsAnswer {
    pub indicator: String,
    pub area: String,
    pub period: Period,
    pub revisions: Vec<Revision>,
}

/// One item of a request refused: its place (`index`, 0-based, in a JSON array), why (a
/// stable `reason`, as counted) and what is wrong, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemProblem {
    pub index: usize,
    pub reason: String,
    pub error: String,
}

/// The answer of `POST /api/v1/indicators` and `PUT /api/v1/indicators/targets`: 200 with
/// `stored` and no problems; 400 with `error`, `stored: 0` and every bad item's problem (all
/// or nothing: nothing is stored when any item is bad).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubmitAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub stored: usize,
    pub problems: Vec<ItemProblem>,
}

/// One row of a spreadsheet refused: its `line` (the spreadsheet's row number, 1-based: the
/// header is line 1), why and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    pub line: u64,
    pub reason: String,
    pub error: String,
}

/// The answer of `POST /api/v1/indicators/import`: with `dry_run`, 200 and every row's
/// problem, nothing stored; without, 200 and `stored` = `rows` when every row is good, else
/// 400 with `error`, `stored: 0` and every problem (all or nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImportAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub dry_run: bool,
    /// Data rows read (the header not counted, blank rows skipped).
    pub rows: usize,
    pub stored: usize,
    pub problems: Vec<RowProblem>,
}

/// The series of every indicator and area from their revisions in the order they were
/// received: [`latest_by_period`] for each (indicator, area), as the store's latest values.
pub fn latest_by_series(
    revisions: impl IntoIterator<Item = Revision>,
) -> std::collections::BTreeMap<(String, String), Vec<SeriesPoint>> {
    let mut by_key: std::collections::BTreeMap<(String, String), Vec<Revision>> =
        Default::default();
    for r in revisions {
        by_key
            .entry((r.indicator.clone(), r.area.clone()))
            .or_default()
            .push(r);
    }
    by_key
        .into_iter()
        .map(|(key, revs)| (key, latest_by_period(&revs)))
        .collect()
}

/// The series of one indicator and area from its revisions in the order they were received:
/// per period, the latest revision with the count and the first one's `reported_ms`, oldest
/// period first.
pub fn latest_by_period<'a>(revisions: impl IntoIterator<Item = &'a Revision>) -> Vec<SeriesPoint> {
    let mut points: std::collections::BTreeMap<Period, SeriesPoint> = Default::default();
    for r in revisions {
        points
            .entry(r.period)
            .and_modify(|p| {
                p.value = r.value;
                p.reported_ms = r.reported_ms;
                p.received_ms = r.received_ms;
                p.by.clone_from(&r.by);
                p.way = r.way;
                p.revisions += 1;
            })
            .or_insert_with(|| SeriesPoint {
                period: r.period,
                value: r.value,
                reported_ms: r.reported_ms,
                received_ms: r.received_ms,
                by: r.by.clone(),
                way: r.way,
                revisions: 1,
                first_reported_ms: r.reported_ms,
            });
    }
    points.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(period: &str, value: f64, at: i64, by: &str) -> Revision {
        Revision {
            indicator: "budget_revenue".into(),
            area: "q1".into(),
            period: period.parse().unwrap(),
            value,
            reported_ms: at,
            received_ms: at + 5,
            unit: "q1".into(),
            by: by.into(),
            way: Way::Api,
        }
    }

    #[test]
    fn the_latest_revision_of_each_period_counts() {
        let revs = [
            rev("2026-02", 10.0, 100, "a"),
            rev("2026-01", 7.0, 50, "a"),
            rev("2026-02", 12.5, 300, "b"),
        ];
        let series = latest_by_period(&revs);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].period.to_string(), "2026-01");
        assert_eq!((series[0].value, series[0].revisions), (7.0, 1));
        let feb = &series[1];
        assert_eq!((feb.value, feb.revisions, feb.by.as_str()), (12.5, 2, "b"));
        assert_eq!((feb.reported_ms, feb.first_reported_ms), (300, 100));
    }

    #[test]
    fn ways_read_back_from_their_names() {
        for w in Way::ALL {
            assert_eq!(w.as_str().parse::<Way>().unwrap(), w);
            assert_eq!(serde_json::to_string(&w).unwrap(), format!("\"{w}\""));
        }
        assert!("email".parse::<Way>().is_err());
    }
}
