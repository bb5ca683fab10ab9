//! The engine: a queue of timed jobs, taken in time order.
//!
//! Every telemetry source is a job that, when its time comes, reads its model and schedules its
//! next reading one period later (each source at its own offset within its period, so that they
//! do not all speak at the same millisecond). Arrivals of complaints and dossiers are jobs that
//! draw the next candidate arrival; each complaint and dossier is a job that sends its next
//! status change and schedules the one after. Ties in time are broken by the order jobs were
//! scheduled in, which is itself deterministic: so the messages depend only on the preset, the
//! seed, the scale and the start time, however the simulated span is cut into steps.
//!
//! The socio-economic indicators ([`Simulation::with_indicators`]) are a feed of their own,
//! merged in time order: their reports of the years before the start come first (a report's
//! `ts` is when its unit sent it), then each new period's as the clock passes its sending time.
//! The other messages are the same with or without them.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use ioc_protocol::Domain;
use ioc_protocol::indicator::Catalogue;
use ioc_protocol::preset::Preset;
use serde_json::{Value as Json, json};

use crate::air::{self, AirSensor};
use crate::clock::{MINUTE_MS, local_day};
use crate::complaints::{Case, Desk};
use crate::flood::{self, Gauge};
use crate::indicators::{IndicatorFeed, IndicatorNote};
use crate::inject::{Anomaly, Blocker, Candidate, Change, Injector, Src};
use crate::outgoing::Outgoing;
use crate::platforms::{self, PlatformHealth};
use crate::rng::sub_seed;
use crate::services::{Dossier, Portal};
use crate::traffic::{self, TrafficSensor};
use crate::world::World;

/// What a job does when its time comes.
#[derive(Debug)]
enum Job {
    Traffic(usize),
    Air(usize),
    Flood(usize),
    Health(usize),
    ComplaintArrival,
    Complaint(Box<Case>),
    DossierArrival { online: bool },
    Dossier(Box<Dossier>),
}

impl Job {
    fn domain(&self) -> Domain {
        match self {
            Job::Traffic(_) => Domain::Traffic,
            Job::Air(_) => Domain::Env,
            Job::Flood(_) => Domain::Flood,
            Job::Health(_) => Domain::System,
            Job::ComplaintArrival | Job::Complaint(_) => Domain::Complaint,
            Job::DossierArrival { .. } | Job::Dossier(_) => Domain::Service,
        }
    }
}

#[derive(Debug)]
struct Pending {
    at: i64,
    /// Scheduling order: breaks ties in time, deterministically.
    order: u64,
    job: Job,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// Where the events of a domain are sent from: the preset's platform that publishes the
/// domain, or a default id when the preset has none.
fn event_source(preset: &Preset, domain: Domain, default: &str) -> (String, Option<usize>) {
    preset
        .platforms
        .iter()
        .position(|p| p.domains.contains(&domain))
        .map_or((default.to_owned(), None), |i| {
            (preset.platforms[i].id.clone(), Some(i))
        })
}

/// A simulated city: a deterministic stream of messages in time order.
///
/// ```
/// use ioc_protocol::preset::Preset;
/// use ioc_sim::Simulation;
///
/// let start = 1_762_448_400_000; // 2025-11-07 00:00 in Ho Chi Minh City
/// let mut sim = Simulation::new(&Preset::built_in(), 42, 1, start);
/// let first_hour = sim.step_until(start + 3_600_000);
/// assert!(first_hour.windows(2).all(|w| w[0].ts <= w[1].ts));
/// ```
#[derive(Debug)]
pub struct Simulation {
    /// Rain, incidents, outages: what all sources share.
    world: World,
    traffic: Vec<TrafficSensor>,
    air: Vec<AirSensor>,
    gauges: Vec<Gauge>,
    platforms: Vec<PlatformHealth>,
    desk: Desk,
    portal: Portal,
    queue: BinaryHeap<Reverse<Pending>>,
    /// The next job's scheduling order.
    order: u64,
    /// The simulated clock: the time of the last job taken, or the last `until` reached.
    now_ms: i64,
    /// The last `seq` of each topic.
    seqs: BTreeMap<String, u64>,
    /// The last local day seen, to forget older days of the world's plan.
    day: i64,
    seed: u64,
    /// The domains generated (see [`Simulation::only`]).
    domains: Vec<Domain>,
    /// The anomalies injected (see [`Simulation::inject`]), if any.
    injector: Option<Box<Injector>>,
    /// The socio-economic indicators (see [`Simulation::with_indicators`]), if published.
    indicators: Option<Box<IndicatorFeed>>,
}

impl Simulation {
    /// A city of `preset`, from `start_ms`, with `scale` sensors per place of the preset (at
    /// least 1) for traffic, air and flood; platforms, complaints and dossiers are not scaled.
    pub fn new(preset: &Preset, seed: u64, scale: u32, start_ms: i64) -> Simulation {
        let scale = scale.max(1);
        let (complaint_source, complaint_platform) =
            event_source(preset, Domain::Complaint, "tong-dai-1022");
        let (service_source, service_platform) =
            event_source(preset, Domain::Service, "dvc-portal");
        let mut sim = Simulation {
            world: World::new(preset, seed),
            traffic: Vec::new(),
            air: Vec::new(),
            gauges: Vec::new(),
            platforms: Vec::new(),
            desk: Desk::new(preset, &complaint_source, complaint_platform, seed),
            portal: Portal::new(preset, &service_source, service_platform, seed),
            queue: BinaryHeap::new(),
            order: 0,
            now_ms: start_ms,
            seqs: BTreeMap::new(),
            day: local_day(start_ms),
            seed,
            domains: Domain::ALL.to_vec(),
            injector: None,
            indicators: None,
        };
        for k in 1..=scale {
            for i in 0..preset.corridors.len() {
                sim.traffic.push(TrafficSensor::new(preset, i, k, seed));
            }
            for i in 0..preset.air_stations.len() {
                sim.air.push(AirSensor::new(preset, i, k, seed));
            }
            for i in 0..preset.flood_gauges.len() {
                sim.gauges.push(Gauge::new(preset, i, k, seed));
            }
        }
        for (i, p) in preset.platforms.iter().enumerate() {
            sim.platforms.push(PlatformHealth::new(p, i, seed));
        }
        // Each source's first reading at its own offset within its period.
        let first = |topic: &str, period: i64| {
            start_ms + (sub_seed(seed, &format!("phase/{topic}")) % period as u64) as i64
        };
        for i in 0..sim.traffic.len() {
            let at = first(&sim.traffic[i].topic, traffic::PERIOD_MS);
            sim.push(at, Job::Traffic(i));
        }
        for i in 0..sim.air.len() {
            let at = first(&sim.air[i].topic, air::PERIOD_MS);
            sim.push(at, Job::Air(i));
        }
        for i in 0..sim.gauges.len() {
            let at = first(&sim.gauges[i].topic, flood::PERIOD_MS);
            sim.push(at, Job::Flood(i));
        }
        for i in 0..sim.platforms.len() {
            let at = first(&sim.platforms[i].topic, platforms::PERIOD_MS);
            sim.push(at, Job::Health(i));
        }
        if !preset.areas.is_empty() {
            let at = sim.desk.next_candidate(start_ms);
            sim.push(at, Job::ComplaintArrival);
        }
        if sim.portal.has_agencies() {
            for online in [true, false] {
                let at = sim.portal.next_candidate(start_ms, online);
                sim.push(at, Job::DossierArrival { online });
            }
        }
        sim
    }

    /// Keeps only the messages of `domains`: the others are never generated. The messages kept
    /// are exactly those the whole city would send in these domains. Call it before stepping.
    pub fn only(mut self, domains: &[Domain]) -> Simulation {
        let queue = std::mem::take(&mut self.queue);
        self.queue = queue
            .into_iter()
            .filter(|Reverse(p)| domains.contains(&p.job.domain()))
            .collect();
        self.domains = domains.to_vec();
        self
    }

    /// Injects `per_day` anomalies per simulated day into the telemetry, none starting before
    /// `from_ms` (nor the start) and none ending after `until_ms` if the run ends there (see
    /// the `inject` module). `per_day` 0 injects nothing: the stream stays as it was. Otherwise
    /// only the readings of a source within one of its anomalies change; the anomalies are
    /// drawn from the seed, so the same seed gives the same ones. Call it before stepping; the
    /// anomalies started are taken with [`Simulation::take_started_anomalies`].
    pub fn inject(mut self, per_day: u32, from_ms: i64, until_ms: Option<i64>) -> Simulation {
        self.injector = (per_day > 0).then(|| {
            Box::new(Injector::new(
                self.seed,
                per_day,
                from_ms.max(self.now_ms),
                until_ms,
            ))
        });
        self
    }

    /// Publishes the city's socio-economic indicators of `catalogue` (validated against
    /// `preset`, the city simulated) too: every indicator at every area of its levels, for
    /// every period from January 2021. The reports of the periods that ended before the start
    /// come first, in the order their units sent them (years ago); then each new period's, as
    /// the clock passes the time its unit sends it, days after the period's end (or later: a
    /// late report). The seeded abnormal values and the late and missing reports are taken with
    /// [`Simulation::take_indicator_notes`]. The other messages are unchanged.
    pub fn with_indicators(mut self, catalogue: &Catalogue, preset: &Preset) -> Simulation {
        self.indicators = Some(Box::new(IndicatorFeed::new(catalogue, preset, self.seed)));
        self
    }

    /// The indicator notes whose time has come since the last call (by the simulated clock, as
    /// [`Simulation::take_started_anomalies`]): each abnormal value just before the report
    /// that carries it, each late or missing report at its deadline. Empty without
    /// [`Simulation::with_indicators`].
    pub fn take_indicator_notes(&mut self) -> Vec<IndicatorNote> {
        self.indicators
            .as_mut()
            .map(|f| f.take_notes())
            .unwrap_or_default()
    }

    /// The anomalies that started since the last call (by the simulated clock: every one
    /// starting at or before the last message given, or the last `until` reached), in the
    /// order they started. Empty without [`Simulation::inject`].
    pub fn take_started_anomalies(&mut self) -> Vec<Anomaly> {
        self.injector
            .as_mut()
            .map(|i| std::mem::take(&mut i.started))
            .unwrap_or_default()
    }

    /// Moves the injected anomalies' clock to `t`.
    fn advance_anomalies(&mut self, t: i64) {
        let Some(injector) = self.injector.as_mut() else {
            return;
        };
        if injector.groups.is_none() {
            let telemetry = |d: Domain| self.domains.contains(&d);
            let mut groups: Vec<Vec<Candidate>> = Vec::new();
            if telemetry(Domain::Traffic) {
                groups.push(
                    self.traffic
                        .iter()
                        .enumerate()
                        .map(|(i, s)| Candidate {
                            src: Src::Traffic(i),
                            topic: s.topic.clone(),
                            blocker: Blocker::Corridor(s.corridor),
                        })
                        .collect(),
                );
            }
            if telemetry(Domain::Env) {
                groups.push(
                    self.air
                        .iter()
                        .enumerate()
                        .map(|(i, s)| Candidate {
                            src: Src::Air(i),
                            topic: s.topic.clone(),
                            blocker: Blocker::None,
                        })
                        .collect(),
                );
            }
            if telemetry(Domain::Flood) {
                groups.push(
                    self.gauges
                        .iter()
                        .enumerate()
                        .map(|(i, s)| Candidate {
                            src: Src::Flood(i),
                            topic: s.topic.clone(),
                            blocker: Blocker::None,
                        })
                        .collect(),
                );
            }
            if telemetry(Domain::System) {
                groups.push(
                    self.platforms
                        .iter()
                        .enumerate()
                        .map(|(i, s)| Candidate {
                            src: Src::Health(i),
                            topic: s.topic.clone(),
                            blocker: Blocker::Platform(s.index),
                        })
                        .collect(),
                );
            }
            groups.retain(|g| !g.is_empty());
            injector.groups = Some(groups);
        }
        injector.advance(t, &mut self.world);
    }

    /// Applies the anomaly under way on `src` at `at`, if any, to its reading.
    fn inject_into(&self, src: Src, at: i64, values: &mut Json) {
        let Some(change) = self.injector.as_ref().and_then(|i| i.change_at(src, at)) else {
            return;
        };
        match (change, src) {
            (Change::Jam { speed_factor }, Src::Traffic(i)) => {
                self.traffic[i].jam(values, speed_factor);
            }
            (Change::Pollution { multiplier }, Src::Air(_)) => air::pollute(values, multiplier),
            (Change::Surge { rise_cm }, Src::Flood(_)) => flood::surge(values, rise_cm),
            (
                Change::SlowPlatform {
                    latency_factor,
                    error_points,
                },
                Src::Health(_),
            ) => platforms::slow(values, latency_factor, error_points),
            _ => {}
        }
    }

    /// The simulated clock: how far the simulation has gone.
    pub fn now_ms(&self) -> i64 {
        self.now_ms
    }

    /// The time of the next message, or a little before it (some jobs send nothing).
    pub fn next_due_ms(&self) -> Option<i64> {
        let job = self.queue.peek().map(|Reverse(p)| p.at);
        let feed = self.indicators.as_ref().and_then(|f| f.next_due_ms());
        match (job, feed) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The topics of the telemetry sources, by domain.
    pub fn telemetry_topics(&self) -> BTreeMap<Domain, Vec<String>> {
        let mut out: BTreeMap<Domain, Vec<String>> = BTreeMap::new();
        let mut add = |d: Domain, t: &String| out.entry(d).or_default().push(t.clone());
        self.traffic
            .iter()
            .for_each(|s| add(Domain::Traffic, &s.topic));
        self.air.iter().for_each(|s| add(Domain::Env, &s.topic));
        self.gauges
            .iter()
            .for_each(|s| add(Domain::Flood, &s.topic));
        self.platforms
            .iter()
            .for_each(|s| add(Domain::System, &s.topic));
        out
    }

    /// The next message with `ts <= until_ms`, or `None` when there is none before it (the
    /// clock then stands at `until_ms`).
    pub fn next_message(&mut self, until_ms: i64) -> Option<Outgoing> {
        loop {
            // An indicator report first, at a tie too: the feed's own order stands.
            let job_at = self.queue.peek().map(|Reverse(p)| p.at);
            let horizon = job_at.map_or(until_ms, |at| at.min(until_ms));
            if let Some(m) = self.indicators.as_mut().and_then(|f| f.next_until(horizon)) {
                self.now_ms = self.now_ms.max(m.ts);
                return Some(m);
            }
            match self.queue.peek() {
                Some(Reverse(p)) if p.at <= until_ms => {}
                _ => {
                    self.now_ms = self.now_ms.max(until_ms);
                    self.advance_anomalies(self.now_ms);
                    return None;
                }
            }
            let Reverse(Pending { at, job, .. }) = self.queue.pop()?;
            self.now_ms = at;
            let day = local_day(at);
            if day != self.day {
                self.day = day;
                self.world.forget_before(day - 2);
            }
            self.advance_anomalies(at);
            if let Some(out) = self.run(at, job) {
                return Some(out);
            }
        }
    }

    /// Every message with `ts <= until_ms`, in time order.
    pub fn step_until(&mut self, until_ms: i64) -> Vec<Outgoing> {
        std::iter::from_fn(|| self.next_message(until_ms)).collect()
    }

    fn push(&mut self, at: i64, job: Job) {
        debug_assert!(at >= self.now_ms, "a job scheduled in the past");
        self.order += 1;
        self.queue.push(Reverse(Pending {
            at,
            order: self.order,
            job,
        }));
    }

    fn next_seq(&mut self, topic: &str) -> u64 {
        match self.seqs.get_mut(topic) {
            Some(seq) => {
                *seq += 1;
                *seq
            }
            None => {
                self.seqs.insert(topic.to_owned(), 1);
                1
            }
        }
    }

    fn reading(&mut self, domain: Domain, topic: String, ts: i64, values: Json) -> Outgoing {
        let seq = self.next_seq(&topic);
        Outgoing {
            payload_json: json!({ "ts": ts, "seq": seq, "values": values }).to_string(),
            topic,
            ts,
            domain: domain.into(),
        }
    }

    fn run(&mut self, at: i64, job: Job) -> Option<Outgoing> {
        match job {
            Job::Traffic(i) => {
                let mut values = self.traffic[i].reading(at, &mut self.world);
                self.inject_into(Src::Traffic(i), at, &mut values);
                self.push(at + traffic::PERIOD_MS, job);
                let topic = self.traffic[i].topic.clone();
                Some(self.reading(Domain::Traffic, topic, at, values))
            }
            Job::Air(i) => {
                let mut values = self.air[i].reading(at, &mut self.world);
                self.inject_into(Src::Air(i), at, &mut values);
                self.push(at + air::PERIOD_MS, job);
                let topic = self.air[i].topic.clone();
                Some(self.reading(Domain::Env, topic, at, values))
            }
            Job::Flood(i) => {
                let mut values = self.gauges[i].reading(at, &mut self.world);
                self.inject_into(Src::Flood(i), at, &mut values);
                self.push(at + flood::PERIOD_MS, job);
                let topic = self.gauges[i].topic.clone();
                Some(self.reading(Domain::Flood, topic, at, values))
            }
            Job::Health(i) => {
                let mut values = self.platforms[i].reading(at, &mut self.world);
                self.inject_into(Src::Health(i), at, &mut values);
                self.push(at + platforms::PERIOD_MS, job);
                let topic = self.platforms[i].topic.clone();
                Some(self.reading(Domain::System, topic, at, values))
            }
            Job::ComplaintArrival => {
                if let Some(case) = self.desk.arrival(at, &mut self.world) {
                    self.push(at, Job::Complaint(Box::new(case)));
                }
                let next = self.desk.next_candidate(at);
                self.push(next, job);
                None
            }
            Job::Complaint(mut case) => {
                // The 1022 platform down: the change waits until it is back.
                if let Some(o) = self.desk.platform.and_then(|p| self.world.outage(p, at)) {
                    let later = o.end_ms + self.desk.backlog_delay();
                    self.push(later, Job::Complaint(case));
                    return None;
                }
                let status = case.steps[case.next].1;
                let topic = self.desk.topic(&case).to_owned();
                let seq = self.next_seq(&topic);
                let payload = json!({
                    "ts": at,
                    "seq": seq,
                    "id": case.id,
                    "category": case.category,
                    "channel": case.channel,
                    "status": status,
                    "due": case.due,
                    "lat": case.lat,
                    "lon": case.lon,
                });
                case.next += 1;
                if let Some(&(planned, _)) = case.steps.get(case.next) {
                    self.push(planned.max(at + MINUTE_MS), Job::Complaint(case));
                }
                Some(Outgoing {
                    topic,
                    payload_json: payload.to_string(),
                    ts: at,
                    domain: Domain::Complaint.into(),
                })
            }
            Job::DossierArrival { online } => {
                if let Some(d) = self.portal.arrival(at, online) {
                    self.push(at, Job::Dossier(Box::new(d)));
                }
                let next = self.portal.next_candidate(at, online);
                self.push(next, job);
                None
            }
            Job::Dossier(mut d) => {
                if let Some(o) = self.portal.platform.and_then(|p| self.world.outage(p, at)) {
                    let later = o.end_ms + self.portal.backlog_delay();
                    self.push(later, Job::Dossier(d));
                    return None;
                }
                let status = d.steps[d.next].1;
                let topic = self.portal.topic(&d).to_owned();
                let seq = self.next_seq(&topic);
                let payload = json!({
                    "ts": at,
                    "seq": seq,
                    "id": d.id,
                    "service": d.service,
                    "agency": self.portal.agency_code(&d),
                    "status": status,
                    "online": d.online,
                    "due": d.due,
                });
                d.next += 1;
                if let Some(&(planned, _)) = d.steps.get(d.next) {
                    self.push(planned.max(at + MINUTE_MS), Job::Dossier(d));
                }
                Some(Outgoing {
                    topic,
                    payload_json: payload.to_string(),
                    ts: at,
                    domain: Domain::Service.into(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{HOUR_MS, LocalTime};
    use crate::demand::demand_profile;

    /// Tuesday 2025-11-04, 00:00 local.
    const TUESDAY: i64 = 1_762_189_200_000;

    #[test]
    fn an_incident_slows_its_corridor_sharply_for_a_while() {
        let preset = Preset::built_in();
        let mut sim = Simulation::new(&preset, 7, 1, TUESDAY).only(&[Domain::Traffic]);
        let incident = sim
            .world
            .incidents(local_day(TUESDAY))
            .into_iter()
            .find(|i| {
                i.start_ms > TUESDAY + HOUR_MS && demand_profile(&LocalTime::at(i.start_ms)) > 0.6
            })
            .expect("a daytime incident on the Tuesday");
        let topic = format!(
            "ioc/v1/traffic/{}/{}",
            preset.corridors[incident.corridor].area, preset.corridors[incident.corridor].id
        );
        let msgs = sim.step_until(incident.end_ms);
        let speed = |from: i64, to: i64| {
            let speeds: Vec<f64> = msgs
                .iter()
                .filter(|m| m.topic == topic && (from..to).contains(&m.ts))
                .map(|m| {
                    let p: Json = serde_json::from_str(&m.payload_json).unwrap();
                    p["values"]["speed_kmh"].as_f64().unwrap()
                })
                .collect();
            speeds.iter().sum::<f64>() / speeds.len() as f64
        };
        let before = speed(incident.start_ms - 15 * MINUTE_MS, incident.start_ms);
        let mid = (incident.start_ms + incident.end_ms) / 2;
        let during = speed(mid - 5 * MINUTE_MS, mid + 5 * MINUTE_MS);
        assert!(
            during < 0.75 * before,
            "{topic}: {during:.1} km/h in the incident, {before:.1} before"
        );
    }
}
