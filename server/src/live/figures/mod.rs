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

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ioc_protocol::aqi::StationAqi;
use ioc_protocol::live::{
    ComplaintCounts, ComplaintFigures, CorridorFigure, EnvArea, EnvFigures, FloodFigures,
    GaugeFigure, Incident, PlatformFigure, ServiceCounts, ServiceFigures, StationFigure,
    SystemFigures, TrafficArea, TrafficFigures,
};
use ioc_protocol::{Body, Domain, DomainFigures, Event, Freshness, Message, Reading, Topic, Value};

use crate::city::City;
use crate::config::LiveConfig;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Closed complaints and dossiers are kept this long after their last change, so that a late
/// duplicate (the contract accepts readings up to 7 days old) finds them and changes nothing.
const KEEP_CLOSED_MS: i64 = 8 * DAY_MS;
/// Offline sources listed by name in the System figures, at most.
const MAX_OFFLINE_LISTED: usize = 50;
/// Air stations listed in the figures, the worst first (the preset has 24).
pub const MAX_STATIONS_LISTED: usize = 30;

/// Local midnight (Asia/Ho_Chi_Minh, UTC+7 all year) at or before `now_ms`.
pub fn local_midnight_ms(now_ms: i64) -> i64 {
    const OFFSET: i64 = 7 * 3_600_000;
    (now_ms + OFFSET).div_euclid(DAY_MS) * DAY_MS - OFFSET
}

/// The newest telemetry reading of one source: numbers, and text fields (an incident's kind).
#[derive(Debug, Clone, Default)]
struct Latest {
    ts: i64,
    numbers: BTreeMap<String, f64>,
    texts: BTreeMap<String, String>,
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

const COMPLAINT_ORDER: [&str; 5] = [
    "received",
    "assigned",
    "in_progress",
    "resolved",
    "rejected",
];
const COMPLAINT_OPEN: [&str; 3] = ["received", "assigned", "in_progress"];
const DOSSIER_ORDER: [&str; 4] = ["received", "processing", "done", "returned"];
const DOSSIER_OPEN: [&str; 2] = ["received", "processing"];

/// Platform health readings of the day.
#[derive(Debug, Clone, Default)]
struct Uptime {
    day: i64,
    up: u32,
    total: u32,
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

    /// Takes in one accepted message. Returns the domain whose figures it may change.
    pub fn apply(&mut self, msg: &Message) -> Domain {
        let t = &msg.topic;
        match &msg.body {
            Body::Reading(values) => {
                // Entries are looked up by the message's own topic and keys cloned only for a
                // new source: this runs for every message.
                if t.domain == Domain::Env {
                    // Every reading counts towards its hour, even one older than the newest.
                    match self.stations.get_mut(t) {
                        Some(st) => {
                            st.push_reading(msg.ts, values);
                        }
                        None => {
                            let mut st = StationAqi::default();
                            st.push_reading(msg.ts, values);
                            self.stations.insert(t.clone(), st);
                        }
                    }
                }
                if t.domain == Domain::Flood
                    && let Some(level) = values.get("water_level_cm").and_then(Value::as_number)
                {
                    // The day's peak takes every reading, even one older than the newest: a
                    // restart rebuilds it from the day's readings in the store.
                    let day = local_midnight_ms(msg.ts);
                    match self.flood_peak.get_mut(&t.source) {
                        Some(peak) if peak.0 < day => *peak = (day, level),
                        Some(peak) if peak.0 == day => peak.1 = peak.1.max(level),
                        Some(_) => {}
                        None => {
                            self.flood_peak.insert(t.source.clone(), (day, level));
                        }
                    }
                }
                match self.latest.get_mut(t) {
                    Some(l) if l.ts > msg.ts => return t.domain,
                    Some(l) => l.update(msg.ts, values),
                    None => {
                        let mut l = Latest::default();
                        l.update(msg.ts, values);
                        self.latest.insert(t.clone(), l);
                    }
                }
                match t.domain {
                    Domain::Traffic => {
                        let incident = values
                            .get("incident")
                            .is_some_and(|v| matches!(v, Value::Text(s) if !s.is_empty()));
                        if !incident {
                            self.incident_since.remove(t);
                        } else if !self.incident_since.contains_key(t) {
                            self.incident_since.insert(t.clone(), msg.ts);
                        }
                    }
                    Domain::System => {
                        if let Some(up) = values.get("up").and_then(Value::as_number) {
                            let day = local_midnight_ms(msg.ts);
                            let u = match self.uptime.get_mut(&t.source) {
                                Some(u) => u,
                                None => self.uptime.entry(t.source.clone()).or_default(),
                            };
                            if u.day != day {
                                *u = Uptime {
                                    day,
                                    ..Uptime::default()
                                };
                            }
                            u.total += 1;
                            u.up += u32::from(up > 0.5);
                        }
                    }
                    _ => {}
                }
            }
            Body::Event(event) => {
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
                let at = case.statuses.entry(status.clone()).or_insert(msg.ts);
                *at = (*at).min(msg.ts);
                self.newest_event[slot] = self.newest_event[slot].max(msg.ts);
            }
        }
        msg.topic.domain
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
            Domain::Env => DomainFigures::Env(self.env(now)),
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

    fn traffic(&self, now: i64) -> TrafficFigures {
        let window = self.window_ms(Domain::Traffic);
        let preset = self.city.preset();
        let corridor_of = |source: &str| {
            preset
                .corridors
                .iter()
                .find(|c| is_sensor_of(source, &c.id))
        };
        let mut by_corridor: BTreeMap<&str, Vec<(&str, &Latest)>> = BTreeMap::new();
        let mut by_area: BTreeMap<&str, Vec<&Latest>> = BTreeMap::new();
        for (area, source, l) in self.sources(Domain::Traffic) {
            if let Some(c) = corridor_of(source) {
                by_corridor.entry(&c.id).or_default().push((source, l));
            }
            by_area.entry(area).or_default().push(l);
        }
        let mut corridors = Vec::new();
        let mut incidents = Vec::new();
        for c in &preset.corridors {
            let sensors = by_corridor.get(c.id.as_str()).cloned().unwrap_or_default();
            let newest = sensors.iter().map(|(_, l)| l.ts).max().unwrap_or(0);
            let f = fresh(newest, now, window);
            let live: Vec<&(&str, &Latest)> = sensors
                .iter()
                .filter(|(_, l)| f.stale || now - l.ts <= window)
                .collect();
            let incident = live
                .iter()
                .filter_map(|(s, l)| Some((*s, l.texts.get("incident")?)))
                .find(|(_, k)| !k.is_empty());
            if let Some((s, kind)) = incident
                && !f.stale
            {
                incidents.push(Incident {
                    corridor: c.id.clone(),
                    area: c.area.clone(),
                    kind: kind.clone(),
                    since: self
                        .incident_since
                        .get(&Topic::new(Domain::Traffic, c.area.as_str(), s))
                        .copied()
                        .unwrap_or(newest),
                });
            }
            corridors.push(CorridorFigure {
                id: c.id.clone(),
                area: c.area.clone(),
                speed_kmh: mean(live.iter().filter_map(|(_, l)| l.get("speed_kmh"))),
                congestion: mean(live.iter().filter_map(|(_, l)| l.get("congestion"))),
                volume_vph: mean(live.iter().filter_map(|(_, l)| l.get("volume_vph"))),
                free_flow_kmh: c.free_flow_kmh,
                incident: incident.map(|(_, k)| k.clone()),
                fresh: f,
            });
        }
        let area_figure = |area: &str, readings: &[&Latest], corridors: u32| {
            let newest = readings.iter().map(|l| l.ts).max().unwrap_or(0);
            let f = fresh(newest, now, window);
            let live: Vec<&&Latest> = readings
                .iter()
                .filter(|l| f.stale || now - l.ts <= window)
                .collect();
            TrafficArea {
                area: area.to_owned(),
                speed_kmh: mean(live.iter().filter_map(|l| l.get("speed_kmh"))),
                congestion: mean(live.iter().filter_map(|l| l.get("congestion"))),
                corridors,
                fresh: f,
            }
        };
        let areas: Vec<TrafficArea> = by_area
            .iter()
            .map(|(area, ls)| {
                let n = preset.corridors.iter().filter(|c| c.area == *area).count() as u32;
                area_figure(area, ls, n)
            })
            .collect();
        let all: Vec<&Latest> = by_area.values().flatten().copied().collect();
        let city =
            (!all.is_empty()).then(|| area_figure("city", &all, preset.corridors.len() as u32));
        let mut ranked: Vec<&CorridorFigure> = corridors
            .iter()
            .filter(|c| !c.fresh.stale && c.congestion.is_some())
            .collect();
        let share = |c: &CorridorFigure| c.speed_kmh.unwrap_or(0.0) / c.free_flow_kmh.max(1.0);
        ranked.sort_by(|a, b| {
            b.congestion
                .partial_cmp(&a.congestion)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(share(a).total_cmp(&share(b)))
                .then(a.id.cmp(&b.id))
        });
        TrafficFigures {
            city,
            areas,
            hotspots: ranked.iter().take(5).map(|c| c.id.clone()).collect(),
            corridors,
            incidents,
        }
    }

    fn env(&self, now: i64) -> EnvFigures {
        let window = self.window_ms(Domain::Env);
        let mut stations = Vec::new();
        for (area, source, l) in self.sources(Domain::Env) {
            let station = self.stations.get(&Topic::new(Domain::Env, area, source));
            let now_h = station.map(|st| st.hourly(now));
            let hour_ago = station.map(|st| st.hourly(now - HOUR_MS));
            let official = now_h.and_then(|h| h.aqi);
            let pm25 =
                |h: Option<ioc_protocol::aqi::StationHourly>| h.and_then(|h| h.concentrations.pm25);
            stations.push(StationFigure {
                id: source.to_owned(),
                area: area.to_owned(),
                aqi: official.map(|a| a.aqi),
                dominant: official.map(|a| a.dominant.field().to_owned()),
                sensor_aqi: l.get("aqi").map(|v| v.round().clamp(0.0, 500.0) as u32),
                pm25_ugm3: l.get("pm25_ugm3"),
                pm25_nowcast: pm25(now_h),
                pm25_trend: pm25(now_h).zip(pm25(hour_ago)).map(|(a, b)| a - b),
                fresh: fresh(l.ts, now, window),
            });
        }
        let summary = |area: &str, list: &[&StationFigure]| {
            let newest = list.iter().map(|s| s.fresh.newest_ts).max().unwrap_or(0);
            let f = fresh(newest, now, window);
            let live: Vec<&&StationFigure> =
                list.iter().filter(|s| f.stale || !s.fresh.stale).collect();
            EnvArea {
                area: area.to_owned(),
                aqi: live.iter().filter_map(|s| s.aqi).max(),
                pm25_ugm3: mean(live.iter().filter_map(|s| s.pm25_ugm3)),
                pm25_trend: mean(live.iter().filter_map(|s| s.pm25_trend)),
                stations: list.len() as u32,
                fresh: f,
            }
        };
        let mut by_area: BTreeMap<&str, Vec<&StationFigure>> = BTreeMap::new();
        for s in &stations {
            by_area.entry(&s.area).or_default().push(s);
        }
        let areas = by_area.iter().map(|(a, l)| summary(a, l)).collect();
        let all: Vec<&StationFigure> = stations.iter().collect();
        let city = (!all.is_empty()).then(|| summary("city", &all));
        // Every screen gets these figures at every change: their size must not grow with the
        // number of stations (a city with a thousand low-cost sensors would send 150 KB to
        // every browser ten times a second). The worst ones are listed, the areas and the
        // city count them all.
        let pm25 = |s: &StationFigure| s.pm25_ugm3.unwrap_or(f64::NEG_INFINITY);
        stations.sort_by(|a, b| {
            (b.aqi, b.sensor_aqi)
                .cmp(&(a.aqi, a.sensor_aqi))
                .then_with(|| pm25(b).total_cmp(&pm25(a)))
                .then_with(|| a.id.cmp(&b.id))
        });
        stations.truncate(MAX_STATIONS_LISTED);
        EnvFigures {
            city,
            areas,
            stations,
        }
    }

    fn flood(&self, now: i64) -> FloodFigures {
        let window = self.window_ms(Domain::Flood);
        let today = local_midnight_ms(now);
        let preset = self.city.preset();
        let mut gauges = Vec::new();
        for g in &preset.flood_gauges {
            // The newest reading of the gauge's sensors.
            let l = self
                .sources(Domain::Flood)
                .filter(|(a, s, _)| *a == g.area && is_sensor_of(s, &g.id))
                .map(|(_, _, l)| l)
                .max_by_key(|l| l.ts);
            let level = l.and_then(|l| l.get("water_level_cm"));
            gauges.push(GaugeFigure {
                id: g.id.clone(),
                area: g.area.clone(),
                water_level_cm: level,
                rain_mmh: l.and_then(|l| l.get("rain_mmh")),
                alarm: level.map_or(0, |v| g.alarm_level(v)),
                bd1_cm: f64::from(g.bd1_cm),
                bd2_cm: f64::from(g.bd2_cm),
                bd3_cm: f64::from(g.bd3_cm),
                peak_today_cm: self
                    .flood_peak
                    .iter()
                    .filter(|(s, (day, _))| *day == today && is_sensor_of(s, &g.id))
                    .map(|(_, (_, v))| *v)
                    .max_by(f64::total_cmp),
                fresh: fresh(l.map_or(0, |l| l.ts), now, window),
            });
        }
        let live: Vec<&GaugeFigure> = gauges.iter().filter(|g| !g.fresh.stale).collect();
        let newest = gauges.iter().map(|g| g.fresh.newest_ts).max().unwrap_or(0);
        FloodFigures {
            max_alarm: live.iter().map(|g| g.alarm).max().unwrap_or(0),
            at_alarm: live.iter().filter(|g| g.alarm > 0).count() as u32,
            max_rain_mmh: live
                .iter()
                .filter_map(|g| g.rain_mmh)
                .max_by(f64::total_cmp),
            fresh: fresh(newest, now, window),
            gauges,
        }
    }

    fn complaints(&self, now: i64) -> ComplaintFigures {
        let today = local_midnight_ms(now);
        let mut city = ComplaintCounts {
            area: "city".into(),
            ..ComplaintCounts::default()
        };
        let mut areas: BTreeMap<String, ComplaintCounts> = self
            .city
            .areas
            .iter()
            .map(|a| {
                (
                    a.code.clone(),
                    ComplaintCounts {
                        area: a.code.clone(),
                        ..ComplaintCounts::default()
                    },
                )
            })
            .collect();
        let mut on_time: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        let mut by_category = BTreeMap::new();
        let mut by_channel = BTreeMap::new();
        for c in self.complaints.values() {
            let status = c.status(&COMPLAINT_ORDER);
            let received_today = c.at("received").is_some_and(|t| t >= today);
            let resolved = c.at("resolved").filter(|t| *t >= today);
            let open = COMPLAINT_OPEN.contains(&status);
            let overdue = open && c.due.is_some_and(|d| d < now);
            for counts in [Some(&mut city), areas.get_mut(&c.area)]
                .into_iter()
                .flatten()
            {
                counts.received += u32::from(received_today);
                counts.resolved += u32::from(resolved.is_some());
                counts.open += u32::from(open);
                counts.in_progress += u32::from(status == "in_progress");
                counts.overdue += u32::from(overdue);
            }
            if let (Some(at), Some(due)) = (resolved, c.due) {
                for key in ["city", c.area.as_str()] {
                    let e = on_time.entry(key.to_owned()).or_default();
                    e.0 += u32::from(at <= due);
                    e.1 += 1;
                }
            }
            if received_today {
                *by_category.entry(c.kind.clone()).or_insert(0) += 1;
                *by_channel.entry(c.channel.clone()).or_insert(0) += 1;
            }
        }
        let rate = |key: &str| on_time.get(key).and_then(|(ok, n)| ratio(*ok, *n));
        city.on_time_rate = rate("city");
        let areas = areas
            .into_values()
            .map(|mut a| {
                a.on_time_rate = rate(&a.area);
                a.per_10k = self
                    .city
                    .preset()
                    .area(&a.area)
                    .filter(|p| p.population > 0)
                    .map(|p| f64::from(a.received) * 10_000.0 / f64::from(p.population));
                a
            })
            .collect();
        ComplaintFigures {
            city,
            areas,
            by_category,
            by_channel,
            fresh: fresh(self.newest_event[0], now, self.window_ms(Domain::Complaint)),
        }
    }

    fn services(&self, now: i64) -> ServiceFigures {
        let today = local_midnight_ms(now);
        #[derive(Default)]
        struct Acc {
            c: ServiceCounts,
            online: u32,
        }
        impl Acc {
            fn add(&mut self, o: &Acc) {
                self.c.received += o.c.received;
                self.c.done += o.c.done;
                self.c.done_on_time += o.c.done_on_time;
                self.c.returned += o.c.returned;
                self.c.backlog += o.c.backlog;
                self.c.overdue += o.c.overdue;
                self.online += o.online;
            }
        }
        let mut city = Acc::default();
        let mut agencies: BTreeMap<String, Acc> = BTreeMap::new();
        let mut areas: BTreeMap<String, Acc> = BTreeMap::new();
        for d in self.dossiers.values() {
            let status = d.status(&DOSSIER_ORDER);
            let received_today = d.at("received").is_some_and(|t| t >= today);
            let done = d.at("done").filter(|t| *t >= today);
            let returned = d.at("returned").is_some_and(|t| t >= today);
            let open = DOSSIER_OPEN.contains(&status);
            let overdue = open && d.due.is_some_and(|due| due < now);
            let on_time = done.is_some_and(|t| d.due.is_none_or(|due| t <= due));
            let one = Acc {
                c: ServiceCounts {
                    received: u32::from(received_today),
                    done: u32::from(done.is_some()),
                    done_on_time: u32::from(on_time),
                    returned: u32::from(returned),
                    backlog: u32::from(open),
                    overdue: u32::from(overdue),
                    ..ServiceCounts::default()
                },
                online: u32::from(received_today && d.online),
            };
            for acc in [
                &mut city,
                agencies.entry(d.kind.clone()).or_default(),
                areas.entry(d.area.clone()).or_default(),
            ] {
                acc.add(&one);
            }
        }
        let finish = |key: &str, acc: Acc| ServiceCounts {
            key: key.to_owned(),
            online_share: ratio(acc.online, acc.c.received),
            on_time_rate: ratio(acc.c.done_on_time, acc.c.done),
            ..acc.c
        };
        let window = self.window_ms(Domain::System);
        let platforms = self
            .city
            .preset()
            .platforms
            .iter()
            .map(|p| {
                let l = self
                    .sources(Domain::System)
                    .find(|(_, s, _)| *s == p.id)
                    .map(|(_, _, l)| l);
                let today_uptime = self.uptime.get(&p.id).filter(|u| u.day == today);
                PlatformFigure {
                    id: p.id.clone(),
                    up: l.and_then(|l| l.get("up")).map(|v| v > 0.5),
                    latency_ms: l.and_then(|l| l.get("latency_ms")),
                    error_pct: l.and_then(|l| l.get("error_pct")),
                    availability_today: today_uptime.and_then(|u| ratio(u.up, u.total)),
                    fresh: fresh(l.map_or(0, |l| l.ts), now, window),
                }
            })
            .collect();
        ServiceFigures {
            city: finish("city", city),
            agencies: agencies.into_iter().map(|(k, a)| finish(&k, a)).collect(),
            areas: areas.into_iter().map(|(k, a)| finish(&k, a)).collect(),
            platforms,
            fresh: fresh(self.newest_event[1], now, self.window_ms(Domain::Service)),
        }
    }

    /// Every telemetry source with the time of its newest reading, and whether that is within
    /// its domain's expected interval.
    pub fn sources_seen(&self, now: i64) -> Vec<SourceSeen> {
        self.latest
            .iter()
            .map(|(t, l)| SourceSeen {
                domain: t.domain,
                area: t.area.clone(),
                source: t.source.clone(),
                ts: l.ts,
                online: now - l.ts <= self.window_ms(t.domain),
            })
            .collect()
    }

    fn system(&self, now: i64, intake: &SystemFigures) -> SystemFigures {
        let mut online = 0;
        let mut offline = Vec::new();
        for (t, l) in &self.latest {
            if now - l.ts <= self.window_ms(t.domain) {
                online += 1;
            } else {
                offline.push(format!("{}/{}/{}", t.domain, t.area, t.source));
            }
        }
        let sources_offline = offline.len() as u32;
        offline.truncate(MAX_OFFLINE_LISTED);
        SystemFigures {
            sources_online: online,
            sources_offline,
            offline,
            ..intake.clone()
        }
    }
}

/// One telemetry source as `/metrics` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceSeen {
    pub domain: Domain,
    pub area: String,
    pub source: String,
    /// Its newest reading's `ts`, epoch ms.
    pub ts: i64,
    pub online: bool,
}

#[cfg(test)]
mod tests;
