//! The figures of every domain, by area and for the city, kept as messages arrive and
//! computed on demand: traffic by corridor with hotspots and incidents, air quality by station,
//! flood gauges against their alarm levels, complaints and dossiers of the day, platform
//! health, and the center's own sources.
//!
//! Counts of the day are not counters that a midnight job resets: each complaint and dossier
//! keeps the times of its status changes, and "today" is computed from them against the local
//! midnight (Asia/Ho_Chi_Minh) of the moment. So a status change that arrives twice or out of
//! order changes nothing twice, a restart that replays the stored events rebuilds the same
//! counts, and midnight needs no special case.
//!
//! The figures are cut by domain, each file with what it takes from a message and what it
//! computes: `traffic`, `air`, `flood`, `complaints`, `services` (dossiers and the
//! platforms), `system` (the center's own sources). This file holds what they share: the
//! newest reading of each source and when it was last heard from ([`Arrival`]: by the
//! server's clock, live or as history), the complaints' and dossiers' cases, and the
//! freshness of a figure.

mod air;
mod complaints;
mod flood;
mod services;
mod system;
mod traffic;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ioc_protocol::aqi::StationAqi;
use ioc_protocol::live::SystemFigures;
use ioc_protocol::{Body, Domain, DomainFigures, Event, Freshness, Message, Reading, Topic, Value};

use crate::city::City;
use crate::config::LiveConfig;

pub use air::MAX_STATIONS_LISTED;
use complaints::{COMPLAINT_OPEN, COMPLAINT_ORDER};
use services::{DOSSIER_OPEN, DOSSIER_ORDER, Uptime};

use ioc_protocol::time::DAY_MS;
const HOUR_MS: i64 = 3_600_000;
/// Closed complaints and dossiers are kept this long after their last change, so that a late
/// duplicate (the contract accepts readings up to 7 days old) finds them and changes nothing.
const KEEP_CLOSED_MS: i64 = 8 * DAY_MS;

/// Local midnight (Asia/Ho_Chi_Minh, UTC+7 all year) at or before a time: the wire's.
pub use ioc_protocol::time::local_midnight_ms;

/// How a message reaches the live picture, by the server's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Arrived at this time (epoch ms) from a way in. A reading whose `ts` is within its
    /// domain's window (`live.stale_after_s`) of it arrives live; an older one arrives as
    /// history (the simulator's replay of the day, a backfill, a gateway's backlog).
    At(i64),
    /// Read back from the store when the server started at this time: the source counts as
    /// heard live then, so it has its window from the start to be heard from again.
    Restored(i64),
}

/// The newest telemetry reading of one source: numbers, and text fields (an incident's kind);
/// and when the server last heard from the source.
#[derive(Debug, Clone, Default)]
struct Latest {
    ts: i64,
    numbers: BTreeMap<String, f64>,
    texts: BTreeMap<String, String>,
    /// When any message of the source last arrived, by the server's clock.
    heard_at: i64,
    /// A reading of it has arrived live (or was restored): from then on its silence past its
    /// window is an outage. A source only ever heard as history is never called offline.
    live: bool,
}

impl Latest {
    fn get(&self, field: &str) -> Option<f64> {
        self.numbers.get(field).copied()
    }

    /// Takes a newer reading's fields, keeping the keys it had.
    fn update(&mut self, ts: i64, values: &Reading) {
        self.ts = ts;
        sync_fields(&mut self.numbers, values, Value::as_number);
        sync_fields(&mut self.texts, values, |v| match v {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        });
    }
}

/// Makes `map` hold exactly the fields of `values` that `pick` gives a value for. A source
/// sends the same fields reading after reading, so the keys stay and only the values change:
/// no allocation per field and message, which under load was a good part of ingest's CPU.
pub(crate) fn sync_fields<T>(
    map: &mut BTreeMap<String, T>,
    values: &Reading,
    pick: impl Fn(&Value) -> Option<T>,
) {
    let mut picked = 0;
    for (k, v) in values {
        if let Some(x) = pick(v) {
            picked += 1;
            match map.get_mut(k) {
                Some(old) => *old = x,
                None => {
                    map.insert(k.clone(), x);
                }
            }
        }
    }
    // Only a field the source stopped sending is left to remove, which is rare.
    if map.len() != picked {
        map.retain(|k, _| values.get(k).and_then(&pick).is_some());
    }
}

/// A complaint or dossier: the time of each status it reached (the first time it did).
#[derive(Debug, Clone, Default)]
struct Case {
    area: String,
    /// Category and channel (complaints), or service agency (dossiers).
    kind: String,
    channel: String,
    online: bool,
    due: Option<i64>,
    /// Status -> the earliest ts it was reported at.
    statuses: BTreeMap<String, i64>,
}

impl Case {
    /// The current status: the one reported last (by ts; a tie goes to the later stage).
    fn status(&self, order: &[&str]) -> &str {
        self.statuses
            .iter()
            .max_by_key(|(s, ts)| (**ts, order.iter().position(|o| o == s)))
            .map_or("", |(s, _)| s.as_str())
    }

    fn at(&self, status: &str) -> Option<i64> {
        self.statuses.get(status).copied()
    }

    fn last_ts(&self) -> i64 {
        self.statuses.values().copied().max().unwrap_or(0)
    }
}

/// Everything the figures are computed from.
#[derive(Debug)]
pub struct Figures {
    city: Arc<City>,
    config: LiveConfig,
    /// Newest reading per telemetry source (by topic: domain, area, source).
    latest: BTreeMap<Topic, Latest>,
    /// When each traffic source's open incident was first reported.
    incident_since: HashMap<Topic, i64>,
    /// Highest water level of the day per gauge: (day start, level).
    flood_peak: HashMap<String, (i64, f64)>,
    uptime: HashMap<String, Uptime>,
    complaints: HashMap<String, Case>,
    dossiers: HashMap<String, Case>,
    newest_event: [i64; 2],
    /// Hourly averages of each air station's pollutants, for the official VN_AQI.
    stations: HashMap<Topic, StationAqi>,
}

/// Whether `source` is one of the sensors of the preset's `id` (a corridor, a gauge): the id
/// itself, or `{id}-{n}` when there are several (the simulator's `--scale`).
fn is_sensor_of(source: &str, id: &str) -> bool {
    source == id
        || source
            .strip_prefix(id)
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn fresh(newest_ts: i64, now: i64, window_ms: i64) -> Freshness {
    Freshness {
        newest_ts,
        stale: newest_ts == 0 || now - newest_ts > window_ms,
    }
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

fn ratio(part: u32, whole: u32) -> Option<f64> {
    (whole > 0).then(|| f64::from(part) / f64::from(whole))
}

impl Figures {
    pub fn new(city: Arc<City>, config: LiveConfig) -> Figures {
        Figures {
            city,
            config,
            latest: BTreeMap::new(),
            incident_since: HashMap::new(),
            flood_peak: HashMap::new(),
            uptime: HashMap::new(),
            complaints: HashMap::new(),
            dossiers: HashMap::new(),
            newest_event: [0, 0],
            stations: HashMap::new(),
        }
    }

    fn window_ms(&self, domain: Domain) -> i64 {
        self.config.stale_after(domain).as_millis() as i64
    }

    /// Takes in one accepted message, arrived as `arrival` says. Returns the domain whose
    /// figures it may change.
    pub fn apply(&mut self, msg: &Message, arrival: Arrival) -> Domain {
        let t = &msg.topic;
        match &msg.body {
            Body::Reading(values) => {
                // Entries are looked up by the message's own topic and keys cloned only for a
                // new source: this runs for every message. The air stations' hours and the
                // gauges' peaks take every reading, even one older than the newest.
                match t.domain {
                    Domain::Env => self.air_reading(t, msg.ts, values),
                    Domain::Flood => self.flood_reading(t, msg.ts, values),
                    _ => {}
                }
                let window = self.window_ms(t.domain);
                let (heard_at, live) = match arrival {
                    Arrival::At(now) => (now, now - msg.ts <= window),
                    Arrival::Restored(start) => (start, true),
                };
                let l = match self.latest.get_mut(t) {
                    Some(l) => l,
                    None => self.latest.entry(t.clone()).or_default(),
                };
                // Even a reading older than the newest says the source is there.
                l.heard_at = l.heard_at.max(heard_at);
                l.live |= live;
                if l.ts > msg.ts {
                    return t.domain;
                }
                l.update(msg.ts, values);
                match t.domain {
                    Domain::Traffic => self.traffic_reading(t, msg.ts, values),
                    Domain::System => self.platform_reading(t, msg.ts, values),
                    _ => {}
                }
            }
            Body::Event(event) => self.case_event(t, msg.ts, event),
        }
        msg.topic.domain
    }

    /// Takes in a complaint's or a dossier's status change.
    fn case_event(&mut self, t: &Topic, ts: i64, event: &Event) {
        let (cases, slot, id, status) = match event {
            Event::Complaint(c) => (&mut self.complaints, 0, &c.id, &c.status),
            Event::Dossier(d) => (&mut self.dossiers, 1, &d.id, &d.status),
        };
        let case = cases.entry(id.clone()).or_default();
        case.area = t.area.clone();
        match event {
            Event::Complaint(c) => {
                case.kind = c.category.clone();
                case.channel = c.channel.clone();
                if c.due.is_some() {
                    case.due = c.due;
                }
            }
            Event::Dossier(d) => {
                case.kind = d.agency.clone();
                case.online = d.online;
                if d.due.is_some() {
                    case.due = d.due;
                }
            }
        }
        let at = case.statuses.entry(status.clone()).or_insert(ts);
        *at = (*at).min(ts);
        self.newest_event[slot] = self.newest_event[slot].max(ts);
    }

    /// Forgets complaints and dossiers closed long ago. Returns how many were dropped.
    pub fn prune(&mut self, now: i64) -> usize {
        let before = self.complaints.len() + self.dossiers.len();
        let keep = |c: &Case, open: &[&str], order: &[&str]| {
            open.contains(&c.status(order)) || now - c.last_ts() < KEEP_CLOSED_MS
        };
        self.complaints
            .retain(|_, c| keep(c, &COMPLAINT_OPEN, &COMPLAINT_ORDER));
        self.dossiers
            .retain(|_, c| keep(c, &DOSSIER_OPEN, &DOSSIER_ORDER));
        before - self.complaints.len() - self.dossiers.len()
    }

    /// The figures of one domain now. `system` carries the intake figures the hub does not
    /// keep itself (rates and websocket clients).
    pub fn compute(&self, domain: Domain, now: i64, system: &SystemFigures) -> DomainFigures {
        match domain {
            Domain::Traffic => DomainFigures::Traffic(self.traffic(now)),
            Domain::Env => DomainFigures::Env(self.air(now)),
            Domain::Flood => DomainFigures::Flood(self.flood(now)),
            Domain::Complaint => DomainFigures::Complaint(self.complaints(now)),
            Domain::Service => DomainFigures::Service(self.services(now)),
            Domain::System => DomainFigures::System(self.system(now, system)),
        }
    }

    /// The sources of one domain: (area, source) -> newest reading.
    fn sources(&self, domain: Domain) -> impl Iterator<Item = (&str, &str, &Latest)> {
        self.latest
            .range(Topic::new(domain, "", "")..)
            .take_while(move |(t, _)| t.domain == domain)
            .map(|(t, l)| (t.area.as_str(), t.source.as_str(), l))
    }
}

/// One telemetry source as `/metrics`, the System tile and the offline rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSeen {
    pub domain: Domain,
    pub area: String,
    pub source: String,
    /// Its newest reading's `ts`, epoch ms.
    pub ts: i64,
    /// When it was last heard from (any message's arrival), by the server's clock.
    pub heard_at: i64,
    /// Heard from within its domain's window (by the server's clock, not the readings' `ts`:
    /// a replay of the day reports, however old its readings).
    pub online: bool,
    /// It has been heard live (see [`Arrival`]): its silence past the window is an outage
    /// that raises an offline alert. A source only heard as history is not watched.
    pub live: bool,
}

#[cfg(test)]
mod tests;
