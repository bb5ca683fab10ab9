//! Anomalies injected into the stream (`--inject`), without a broker: drawn from the seed,
//! none before `--inject-from`, N per simulated day, each changing its source's readings in its
//! window as specified (and nothing else), valid under the server's own decoder, and logged in
//! the truth log before the first reading they change.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use ioc_protocol::preset::Preset;
use ioc_protocol::{Body, Domain, Message, decode};
use ioc_sim::{Anomaly, Change, Outgoing, Simulation, congestion_level, vn_aqi_pm25};
use serde_json::Value as Json;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Tuesday 2025-11-04, 00:00 in Ho Chi Minh City.
const TUESDAY: i64 = 1_762_189_200_000;

fn preset() -> &'static Preset {
    static PRESET: OnceLock<Preset> = OnceLock::new();
    PRESET.get_or_init(Preset::built_in)
}

/// A run, as the truth log would have it: the messages, and the anomalies with the index of
/// the message they were logged before (`messages.len()` for after the last one).
struct Run {
    messages: Vec<Outgoing>,
    anomalies: Vec<(usize, Anomaly)>,
}

impl Run {
    /// The lines of the truth log.
    fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut next = self.anomalies.iter().peekable();
        for (i, m) in self.messages.iter().enumerate() {
            while let Some((_, a)) = next.next_if(|(at, _)| *at <= i) {
                out.push(a.truth_line());
            }
            out.push(m.truth_line());
        }
        out.extend(next.map(|(_, a)| a.truth_line()));
        out
    }

    fn only_anomalies(&self) -> Vec<&Anomaly> {
        self.anomalies.iter().map(|(_, a)| a).collect()
    }
}

/// Steps a simulation message by message, as `ioc-sim` publishes it.
fn run(seed: u64, start: i64, span: i64, domains: &[Domain], inject: Option<(u32, i64)>) -> Run {
    let mut sim = Simulation::new(preset(), seed, 1, start);
    if !domains.is_empty() {
        sim = sim.only(domains);
    }
    if let Some((per_day, from)) = inject {
        sim = sim.inject(per_day, from, Some(start + span));
    }
    let mut out = Run {
        messages: Vec::new(),
        anomalies: Vec::new(),
    };
    while let Some(m) = sim.next_message(start + span) {
        for a in sim.take_started_anomalies() {
            out.anomalies.push((out.messages.len(), a));
        }
        out.messages.push(m);
    }
    for a in sim.take_started_anomalies() {
        out.anomalies.push((out.messages.len(), a));
    }
    out
}

fn decoded(m: &Outgoing) -> Message {
    decode(&m.topic, m.payload_json.as_bytes(), m.ts, |a| {
        preset().has_area(a)
    })
    .unwrap_or_else(|e| panic!("{} {}: {e}", m.topic, m.payload_json))
}

fn values(m: &Outgoing) -> serde_json::Map<String, Json> {
    let p: Json = serde_json::from_str(&m.payload_json).unwrap();
    p["values"].as_object().unwrap().clone()
}

fn num(v: &serde_json::Map<String, Json>, field: &str) -> f64 {
    v[field].as_f64().unwrap_or_else(|| panic!("{field}"))
}

/// Checks what the truth log says of every anomaly: its topic is a telemetry source's, its
/// fields and kind go with its domain, its window is 20 to 60 minutes within the run, and a
/// source's anomalies are at least 30 minutes apart.
fn check_anomalies(run: &Run, start: i64, end: i64) {
    let topics: BTreeSet<&str> = run.messages.iter().map(|m| m.topic.as_str()).collect();
    let mut by_topic: BTreeMap<&str, Vec<&Anomaly>> = BTreeMap::new();
    for a in run.only_anomalies() {
        assert!(topics.contains(a.topic.as_str()), "{}", a.topic);
        let minutes = (a.to_ms - a.from_ms) / MINUTE;
        assert!((20..=60).contains(&minutes), "{minutes} min");
        assert!(a.from_ms >= start && a.to_ms <= end);
        let (kind, fields): (&str, &[&str]) = match a.domain() {
            Domain::Traffic => ("jam", &["speed_kmh", "congestion", "occupancy_pct"]),
            Domain::Env => ("pollution", &["pm25_ugm3", "pm10_ugm3", "aqi"]),
            Domain::Flood => ("surge", &["water_level_cm"]),
            Domain::System => ("slow_platform", &["latency_ms", "error_pct"]),
            d => panic!("an anomaly in {d}"),
        };
        assert!(a.topic.starts_with(&format!("ioc/v1/{}/", a.domain())));
        let line: Json = serde_json::from_str(&a.truth_line()).unwrap();
        assert!(line.get("topic").is_none(), "not a message line");
        let expected = serde_json::json!({"anomaly": {
            "topic": a.topic, "fields": fields, "from": a.from_ms, "to": a.to_ms, "kind": kind,
        }});
        assert_eq!(line, expected);
        by_topic.entry(&a.topic).or_default().push(a);
    }
    for (topic, list) in by_topic {
        for w in list.windows(2) {
            assert!(w[0].from_ms <= w[1].from_ms, "{topic}: not in start order");
            assert!(
                w[1].from_ms >= w[0].to_ms + 30 * MINUTE,
                "{topic}: too close"
            );
        }
    }
    // In the order they start, each before the first message it changes.
    let starts: Vec<i64> = run.anomalies.iter().map(|(_, a)| a.from_ms).collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    for (at, a) in &run.anomalies {
        let first = run
            .messages
            .iter()
            .position(|m| m.topic == a.topic && a.covers(m.ts))
            .expect("an anomaly changes at least one reading");
        assert!(*at <= first, "{} logged after its first reading", a.topic);
        assert!(
            run.messages[..*at].iter().all(|m| m.ts <= a.from_ms),
            "{} logged late",
            a.topic
        );
    }
}

#[test]
fn without_injection_the_stream_is_unchanged() {
    let clean = run(5, TUESDAY, 3 * HOUR, &[], None);
    assert!(clean.anomalies.is_empty());
    // 0 per day, or anomalies only from after the end: the same stream, byte for byte.
    let none = run(5, TUESDAY, 3 * HOUR, &[], Some((0, TUESDAY)));
    let later = run(5, TUESDAY, 3 * HOUR, &[], Some((24, TUESDAY + 3 * HOUR)));
    assert!(none.anomalies.is_empty() && later.anomalies.is_empty());
    assert_eq!(none.lines(), clean.lines());
    assert_eq!(later.lines(), clean.lines());
}

#[test]
fn the_same_seed_gives_the_same_anomalies_and_another_seed_others() {
    let domains = [Domain::Env, Domain::Flood, Domain::System];
    let a = run(42, TUESDAY, DAY, &domains, Some((24, TUESDAY)));
    let b = run(42, TUESDAY, DAY, &domains, Some((24, TUESDAY)));
    assert!(a.anomalies.len() >= 20, "{} anomalies", a.anomalies.len());
    assert_eq!(a.lines(), b.lines());
    let c = run(43, TUESDAY, DAY, &domains, Some((24, TUESDAY)));
    assert_ne!(a.only_anomalies(), c.only_anomalies());
    // However the span is stepped, the same anomalies at the same places.
    let mut sim = Simulation::new(preset(), 42, 1, TUESDAY)
        .only(&domains)
        .inject(24, TUESDAY, Some(TUESDAY + DAY));
    let mut messages = Vec::new();
    let mut anomalies = Vec::new();
    let mut t = TUESDAY;
    while t < TUESDAY + DAY {
        t = (t + 17 * MINUTE + 321).min(TUESDAY + DAY);
        messages.extend(sim.step_until(t));
        anomalies.extend(sim.take_started_anomalies());
    }
    assert_eq!(messages, a.messages);
    assert_eq!(anomalies.iter().collect::<Vec<_>>(), a.only_anomalies());
    // Only the domains generated get anomalies, each of them.
    let got: BTreeSet<Domain> = a.only_anomalies().iter().map(|a| a.domain()).collect();
    assert_eq!(got, domains.into_iter().collect());
    check_anomalies(&a, TUESDAY, TUESDAY + DAY);
}

#[test]
fn none_starts_before_inject_from_and_each_day_gets_n() {
    // Four days; anomalies from 06:00 on the second.
    let from = TUESDAY + DAY + 6 * HOUR;
    let end = TUESDAY + 4 * DAY;
    let domains = [Domain::Flood, Domain::System];
    for per_day in [24, 5] {
        let r = run(11, TUESDAY, 4 * DAY, &domains, Some((per_day, from)));
        check_anomalies(&r, from, end);
        let mut per_local_day = [0u32; 4];
        for a in r.only_anomalies() {
            assert!(
                a.from_ms >= from,
                "an anomaly at {} before {from}",
                a.from_ms
            );
            per_local_day[((a.from_ms - TUESDAY) / DAY) as usize] += 1;
        }
        assert_eq!(per_local_day[0], 0, "{per_local_day:?}");
        // 18 hours of the second day: 3/4 of N.
        let partial = f64::from(per_day) * 0.75;
        assert!(
            (f64::from(per_local_day[1]) - partial).abs() <= 1.0,
            "{per_day}/day: {per_local_day:?}"
        );
        for n in &per_local_day[2..] {
            assert!(n.abs_diff(per_day) <= 1, "{per_day}/day: {per_local_day:?}");
        }
        // Before `from`, the stream is the clean one.
        let clean = run(11, TUESDAY, 4 * DAY, &domains, None);
        assert_eq!(r.messages.len(), clean.messages.len());
        let before = clean.messages.iter().filter(|m| m.ts < from).count();
        assert_eq!(r.messages[..before], clean.messages[..before]);
        // No platform is made slow while it is down or about to be.
        for a in r.only_anomalies() {
            if a.domain() != Domain::System {
                continue;
            }
            let down = clean.messages.iter().any(|m| {
                m.topic == a.topic
                    && (a.from_ms - 30 * MINUTE..a.to_ms + 30 * MINUTE).contains(&m.ts)
                    && values(m)["up"] == Json::Bool(false)
            });
            assert!(!down, "{} slow while down", a.topic);
        }
    }
}

/// Asserts `got` is `expected` to the rounding of one decimal.
fn close(what: &str, got: f64, expected: f64) {
    assert!(
        (got - expected).abs() <= 0.051 + 1e-9,
        "{what}: {got}, expected {expected}"
    );
}

#[test]
fn readings_in_a_window_change_as_specified_and_the_others_not_at_all() {
    // From 06:00, 12 hours of the whole city: rush hours, 48 anomalies a day.
    let start = TUESDAY + 6 * HOUR;
    let span = 12 * HOUR;
    let clean = run(7, start, span, &[], None);
    let dirty = run(7, start, span, &[], Some((48, start)));
    check_anomalies(&dirty, start, start + span);
    let anomalies = dirty.only_anomalies();
    assert!(
        (23..=25).contains(&anomalies.len()),
        "{} anomalies in 12 h",
        anomalies.len()
    );
    let kinds: BTreeSet<&str> = anomalies.iter().map(|a| a.kind()).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");

    assert_eq!(clean.messages.len(), dirty.messages.len());
    let mut changed: BTreeMap<(String, i64), usize> = BTreeMap::new();
    for (c, d) in clean.messages.iter().zip(&dirty.messages) {
        assert_eq!((&c.topic, c.ts, c.domain), (&d.topic, d.ts, d.domain));
        let Some(a) = anomalies
            .iter()
            .find(|a| a.topic == c.topic && a.covers(c.ts))
        else {
            assert_eq!(
                c.payload_json, d.payload_json,
                "{} outside a window",
                c.topic
            );
            continue;
        };
        *changed.entry((a.topic.clone(), a.from_ms)).or_default() += 1;
        // Valid under the contract, and the same `ts` and `seq`.
        let msg = decoded(d);
        assert!(matches!(msg.body, Body::Reading(_)));
        let (pc, pd): (Json, Json) = (
            serde_json::from_str(&c.payload_json).unwrap(),
            serde_json::from_str(&d.payload_json).unwrap(),
        );
        assert_eq!((&pc["ts"], &pc["seq"]), (&pd["ts"], &pd["seq"]));
        let (vc, vd) = (values(c), values(d));
        // The fields named change as the kind says; the others stay.
        let names: BTreeSet<&String> = vc.keys().collect();
        assert_eq!(names, vd.keys().collect(), "{}", c.topic);
        for (k, v) in &vc {
            if !a.fields().contains(&k.as_str()) {
                assert_eq!(v, &vd[k], "{} {k}", c.topic);
            }
        }
        match a.change {
            Change::Jam { speed_factor } => {
                assert!((0.25..=0.45).contains(&speed_factor));
                let speed = num(&vd, "speed_kmh");
                close("speed", speed, num(&vc, "speed_kmh") * speed_factor);
                assert!(speed > 0.0);
                let corridor = preset()
                    .corridors
                    .iter()
                    .find(|k| c.topic.ends_with(&format!("/{}", k.id)))
                    .expect("a corridor");
                assert_eq!(
                    num(&vd, "congestion") as u8,
                    congestion_level(speed, corridor.free_flow_kmh)
                );
                assert!(vd["congestion"].is_u64());
                // Slower with the same volume: denser, so more occupied.
                assert!(num(&vd, "occupancy_pct") >= num(&vc, "occupancy_pct"));
                assert!(num(&vd, "occupancy_pct") <= 100.0);
                assert!(vd.get("incident").is_none(), "a jam with an incident");
            }
            Change::Pollution { multiplier } => {
                assert!((3.0..=5.0).contains(&multiplier));
                for f in ["pm25_ugm3", "pm10_ugm3"] {
                    close(f, num(&vd, f), num(&vc, f) * multiplier + 40.0);
                }
                let aqi = vd["aqi"].as_u64().expect("an integer AQI");
                assert_eq!(aqi, vn_aqi_pm25(num(&vd, "pm25_ugm3")).round() as u64);
                assert!(aqi > vc["aqi"].as_u64().unwrap());
            }
            Change::Surge { rise_cm } => {
                assert!((50..=90).contains(&rise_cm));
                let level = vd["water_level_cm"].as_i64().expect("an integer level");
                assert_eq!(level, vc["water_level_cm"].as_i64().unwrap() + rise_cm);
            }
            Change::SlowPlatform {
                latency_factor,
                error_points,
            } => {
                assert!((5.0..=10.0).contains(&latency_factor));
                assert!((5.0..=15.0).contains(&error_points));
                assert_eq!(vd["up"], Json::Bool(true));
                close(
                    "latency",
                    num(&vd, "latency_ms"),
                    num(&vc, "latency_ms") * latency_factor,
                );
                let errors = num(&vd, "error_pct");
                assert!(
                    (errors - (num(&vc, "error_pct") + error_points).min(100.0)).abs() < 0.0051
                );
                assert!(errors <= 100.0);
            }
        }
    }
    // Every reading of the window changed: as many as the period allows.
    for a in &anomalies {
        let n = changed
            .get(&(a.topic.clone(), a.from_ms))
            .copied()
            .unwrap_or(0) as i64;
        let period = match a.domain() {
            Domain::Traffic => 30_000,
            Domain::System => 15_000,
            _ => 60_000,
        };
        let expected = (a.to_ms - a.from_ms) / period;
        assert!((n - expected).abs() <= 1, "{}: {n} of {expected}", a.topic);
    }
}
