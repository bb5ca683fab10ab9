//! The city's socio-economic indicators (issue 21): every indicator of the catalogue, at every
//! area of every level it is reported at, for every month, quarter or year from January 2021,
//! reported by its unit over MQTT (`ioc/v1/indicator/{area}/{unit}`, a `Report`), with the
//! ground truth of what was seeded: the abnormal values, the late and the missing reports.
//!
//! - `calendar`: Tết and the pandemic, month by month;
//! - `behaviour`: how each indicator moves (its shape, the pandemic, Tết, its districts);
//! - `series`: the values of an indicator, period by period, at each of its areas;
//! - `abnormal`: the seeded abnormal values;
//! - `delivery`: when each report is sent (on time, late, never).
//!
//! [`IndicatorFeed`] runs them: when a period ends, it computes the period's values, groups
//! them into reports (one per unit, area, period and deadline: at city level the indicator's
//! reporting unit, below it the district or department itself) and schedules each report at
//! the time it is sent, and each late or missing report's note at its deadline. Everything is
//! drawn from the seed and the names of what is drawn (an indicator, an area, a period), and
//! periods are computed in order from 2021 whatever the start: the same seed gives the same
//! values, reports and times, however far the run goes.

mod abnormal;
mod behaviour;
mod calendar;
mod delivery;
mod series;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use ioc_protocol::indicator::{Catalogue, Level, MAX_REPORT_VALUES, Period, Periodicity, Report};
use ioc_protocol::preset::Preset;
use ioc_protocol::topic::IndicatorTopic;
use serde_json::json;

use crate::outgoing::{Outgoing, Stream};

pub use abnormal::{ABNORMAL_CHANCE, ABNORMAL_FROM_YEAR, ABNORMAL_GAP_YEARS, AbnormalChange};
pub use delivery::{MAX_LATE_MS, MISSING_CHANCE};

use abnormal::AbnormalSeeds;
use delivery::{Delivery, delivery, late_chance};
use series::{IndicatorModel, WeightedAreas};

/// The first year of the indicators' history.
pub const FIRST_YEAR: i32 = 2021;

/// A value seeded abnormal.
#[derive(Debug, Clone, PartialEq)]
pub struct AbnormalValue {
    pub indicator: String,
    pub area: String,
    /// The unit whose report carries it.
    pub unit: String,
    pub period: Period,
    /// The value the series would have had.
    pub normal: f64,
    /// The value reported.
    pub value: f64,
    pub change: AbnormalChange,
}

/// A report not sent by its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueReport {
    pub area: String,
    pub unit: String,
    pub period: Period,
    /// The first instant the report is late (`Period::due_ms`), epoch ms.
    pub due_ms: i64,
    /// When it is sent after all; `None`: never (missing).
    pub sent_ms: Option<i64>,
    /// The indicators it holds (or would have held), in code order.
    pub indicators: Vec<String>,
}

/// What the truth log says of the indicators besides the reports sent.
#[derive(Debug, Clone, PartialEq)]
pub enum IndicatorNote {
    /// Written just before the report that carries the value.
    Abnormal(AbnormalValue),
    /// Written when the deadline passes.
    Overdue(OverdueReport),
}

impl IndicatorNote {
    /// The note as a line of the truth log, without the newline:
    /// `{"indicator_abnormal":{"indicator","area","unit","period","normal","value","factor"}}`
    /// (`"points"` instead of `"factor"` for a rate), `{"indicator_late":{"area","unit",
    /// "period","due","reported","indicators"}}` or `{"indicator_missing":{"area","unit",
    /// "period","due","indicators"}}` (times in epoch ms).
    pub fn truth_line(&self) -> String {
        match self {
            IndicatorNote::Abnormal(a) => {
                let mut body = json!({
                    "indicator": a.indicator,
                    "area": a.area,
                    "unit": a.unit,
                    "period": a.period,
                    "normal": a.normal,
                    "value": a.value,
                });
                let (key, x) = match a.change {
                    AbnormalChange::Factor(f) => ("factor", (f * 1000.0).round() / 1000.0),
                    AbnormalChange::Points(p) => ("points", (p * 100.0).round() / 100.0),
                };
                body[key] = json!(x);
                json!({ "indicator_abnormal": body }).to_string()
            }
            IndicatorNote::Overdue(o) => {
                let mut body = json!({
                    "area": o.area,
                    "unit": o.unit,
                    "period": o.period,
                    "due": o.due_ms,
                });
                let key = match o.sent_ms {
                    Some(t) => {
                        body["reported"] = json!(t);
                        "indicator_late"
                    }
                    None => "indicator_missing",
                };
                body["indicators"] = json!(o.indicators);
                json!({ key: body }).to_string()
            }
        }
    }
}

#[derive(Debug)]
enum Event {
    /// A message, with the abnormal values it carries (noted just before it).
    Send(Outgoing, Vec<AbnormalValue>),
    Note(IndicatorNote),
}

#[derive(Debug)]
struct Scheduled {
    at: i64,
    /// Scheduling order: breaks ties in time.
    order: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// The indicators of a period, one report at a time (see the module's doc).
#[derive(Debug)]
pub(crate) struct IndicatorFeed {
    seed: u64,
    models: Vec<IndicatorModel>,
    /// Of each indicator (in the order of `models`): the unit that reports its city figure,
    /// its periodicity and its deadline.
    reporting_unit: Vec<Option<String>>,
    periodicity: Vec<Periodicity>,
    deadline: Vec<ioc_protocol::indicator::Deadline>,
    /// The next period to compute, of each periodicity the catalogue has.
    next: BTreeMap<Periodicity, Period>,
    /// The earliest end of those periods (asked before every message of the simulation).
    next_end: Option<i64>,
    events: BinaryHeap<Reverse<Scheduled>>,
    order: u64,
    abnormal: AbnormalSeeds,
    /// Each unit's chance of reporting late.
    late_chance: BTreeMap<String, f64>,
    /// Notes whose time has come, for the truth log.
    notes: Vec<IndicatorNote>,
}

impl IndicatorFeed {
    /// The feed of `catalogue` (validated against `preset`, whose districts' populations weigh
    /// their shares) under the run's `seed`.
    pub(crate) fn new(catalogue: &Catalogue, preset: &Preset, seed: u64) -> IndicatorFeed {
        let mut targets: BTreeMap<&str, BTreeMap<String, BTreeMap<i32, f64>>> = BTreeMap::new();
        for t in &catalogue.targets {
            targets
                .entry(t.indicator.as_str())
                .or_default()
                .entry(t.area.clone())
                .or_default()
                .insert(t.year, t.value);
        }
        let population = |code: &str| {
            preset
                .areas
                .iter()
                .find(|a| a.code == code)
                .map_or(1.0, |a| f64::from(a.population))
        };
        let areas: Vec<(Level, &str, f64)> = [Level::District, Level::Department]
            .into_iter()
            .flat_map(|level| {
                catalogue
                    .areas
                    .areas(level)
                    .into_iter()
                    .map(move |a| (level, a))
            })
            .map(|(level, a)| (level, a, population(a)))
            .collect();
        let areas: &WeightedAreas<'_> = &areas;
        let none = BTreeMap::new();
        let mut feed = IndicatorFeed {
            seed,
            models: Vec::new(),
            reporting_unit: Vec::new(),
            periodicity: Vec::new(),
            deadline: Vec::new(),
            next: BTreeMap::new(),
            next_end: None,
            events: BinaryHeap::new(),
            order: 0,
            abnormal: AbnormalSeeds::default(),
            late_chance: BTreeMap::new(),
            notes: Vec::new(),
        };
        for i in &catalogue.indicators {
            let of = targets.get(i.code.as_str()).unwrap_or(&none);
            feed.models.push(IndicatorModel::new(i, seed, of, areas));
            feed.reporting_unit.push(i.reporting_unit.clone());
            feed.periodicity.push(i.periodicity);
            feed.deadline.push(catalogue.deadline(i));
            feed.next.entry(i.periodicity).or_insert_with(|| {
                Period::new(i.periodicity, FIRST_YEAR, 1).expect("a valid first period")
            });
        }
        feed.next_end = feed.next.values().map(|p| p.end_ms()).min();
        feed
    }

    /// The time of the next event, or a little before it (a period's end, when its reports
    /// are drawn).
    pub(crate) fn next_due_ms(&self) -> Option<i64> {
        let scheduled = self.events.peek().map(|Reverse(s)| s.at);
        match (scheduled, self.next_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The next message sent at or before `until_ms`, if any; the notes due by then are kept
    /// for [`IndicatorFeed::take_notes`].
    pub(crate) fn next_until(&mut self, until_ms: i64) -> Option<Outgoing> {
        if self.next_due_ms().is_none_or(|t| t > until_ms) {
            return None;
        }
        self.compute_until(until_ms);
        while self
            .events
            .peek()
            .is_some_and(|Reverse(s)| s.at <= until_ms)
        {
            let Reverse(s) = self.events.pop()?;
            match s.event {
                Event::Note(n) => self.notes.push(n),
                Event::Send(m, abnormal) => {
                    self.notes
                        .extend(abnormal.into_iter().map(IndicatorNote::Abnormal));
                    return Some(m);
                }
            }
        }
        None
    }

    /// The notes whose time has come since the last call, in time order.
    pub(crate) fn take_notes(&mut self) -> Vec<IndicatorNote> {
        std::mem::take(&mut self.notes)
    }

    /// Computes every period that has ended by `until_ms`: its events are all at or after its
    /// end.
    fn compute_until(&mut self, until_ms: i64) {
        let due: Vec<Periodicity> = self.next.keys().copied().collect();
        for periodicity in due {
            while let Some(&period) = self.next.get(&periodicity) {
                if period.end_ms() > until_ms {
                    break;
                }
                self.compute(period);
                match period.next() {
                    Some(next) => self.next.insert(periodicity, next),
                    None => self.next.remove(&periodicity),
                };
            }
        }
        self.next_end = self.next.values().map(|p| p.end_ms()).min();
    }

    fn push(&mut self, at: i64, event: Event) {
        self.order += 1;
        self.events.push(Reverse(Scheduled {
            at,
            order: self.order,
            event,
        }));
    }

    /// A period's values, grouped into reports, each scheduled when it is sent.
    fn compute(&mut self, period: Period) {
        type Key = (String, String, i64);
        let mut reports: BTreeMap<Key, (BTreeMap<String, f64>, Vec<AbnormalValue>)> =
            BTreeMap::new();
        for i in 0..self.models.len() {
            if self.periodicity[i] != period.periodicity() {
                continue;
            }
            let due = period.due_ms(self.deadline[i]);
            let model = &mut self.models[i];
            for v in model.values(period) {
                let unit = match v.level {
                    Level::City => match &self.reporting_unit[i] {
                        Some(u) => u.clone(),
                        None => continue,
                    },
                    Level::District | Level::Department => v.area.clone(),
                };
                let traits = &model.traits;
                let (value, abnormal) = match self.abnormal.seed(traits, &v.area, period, v.value) {
                    Some((value, change)) => (
                        value,
                        Some(AbnormalValue {
                            indicator: traits.code.clone(),
                            area: v.area.clone(),
                            unit: unit.clone(),
                            period,
                            normal: v.value,
                            value,
                            change,
                        }),
                    ),
                    None => (v.value, None),
                };
                let report = reports.entry((unit, v.area, due)).or_default();
                report.0.insert(traits.code.clone(), value);
                report.1.extend(abnormal);
            }
        }
        for ((unit, area, due), (values, abnormal)) in reports {
            let chance = *self
                .late_chance
                .entry(unit.clone())
                .or_insert_with(|| late_chance(self.seed, &unit));
            let label = format!("{unit}/{area}/{period}/{due}");
            let (sent, overdue) = match delivery(self.seed, &label, period.end_ms(), due, chance) {
                Delivery::OnTime(t) => (Some(t), false),
                Delivery::Late(t) => (Some(t), true),
                Delivery::Missing => (None, true),
            };
            if overdue {
                let note = OverdueReport {
                    area: area.clone(),
                    unit: unit.clone(),
                    period,
                    due_ms: due,
                    sent_ms: sent,
                    indicators: values.keys().cloned().collect(),
                };
                self.push(due, Event::Note(IndicatorNote::Overdue(note)));
            }
            let Some(ts) = sent else { continue };
            let topic = IndicatorTopic::new(area.as_str(), unit.as_str()).to_string();
            let codes: Vec<(String, f64)> = values.into_iter().collect();
            for chunk in codes.chunks(MAX_REPORT_VALUES) {
                let values: BTreeMap<String, f64> = chunk.iter().cloned().collect();
                let carried = abnormal
                    .iter()
                    .filter(|a| values.contains_key(&a.indicator))
                    .cloned()
                    .collect();
                let report = Report { ts, period, values };
                let message = Outgoing {
                    topic: topic.clone(),
                    payload_json: report.encode(),
                    ts,
                    domain: Stream::Indicator,
                };
                self.push(ts, Event::Send(message, carried));
            }
        }
    }
}
