//! The simulated city's message stream, without a broker: deterministic, valid under the
//! server's own decoder, and shaped like the city (rush hours, tides, complaints by population,
//! outages).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use ioc_protocol::preset::Preset;
use ioc_protocol::{Body, Domain, Event, Message, decode};
use ioc_sim::{Outgoing, Simulation};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
/// Tuesday 2025-11-04, 00:00 in Ho Chi Minh City.
const TUESDAY: i64 = 1_762_189_200_000;
/// Mondays of November 2025, 00:00 local: the 3rd, 10th, 17th and 24th (springs and neaps).
const NOVEMBER_MONDAYS: [i64; 4] = [
    1_762_102_800_000,
    1_762_707_600_000,
    1_763_312_400_000,
    1_763_917_200_000,
];
/// Tuesday 2025-04-15, 00:00 local: the end of the dry season, low tides.
const APRIL: i64 = 1_744_650_000_000;

fn preset() -> &'static Preset {
    static PRESET: OnceLock<Preset> = OnceLock::new();
    PRESET.get_or_init(Preset::built_in)
}

fn run(seed: u64, scale: u32, start: i64, span: i64, domains: &[Domain]) -> Vec<Outgoing> {
    let mut sim = Simulation::new(preset(), seed, scale, start);
    if !domains.is_empty() {
        sim = sim.only(domains);
    }
    sim.step_until(start + span)
}

/// A whole Tuesday of the city, every domain, seed 7: shared by the tests of its shape.
fn tuesday() -> &'static [(Outgoing, Message)] {
    static DAY_OF_CITY: OnceLock<Vec<(Outgoing, Message)>> = OnceLock::new();
    DAY_OF_CITY.get_or_init(|| {
        run(7, 1, TUESDAY, DAY, &[])
            .into_iter()
            .map(|m| {
                let decoded = decoded(&m);
                (m, decoded)
            })
            .collect()
    })
}

fn decoded(m: &Outgoing) -> Message {
    decode(&m.topic, m.payload_json.as_bytes(), m.ts, |a| {
        preset().has_area(a)
    })
    .unwrap_or_else(|e| panic!("{} {}: {e}", m.topic, m.payload_json))
}

fn number(m: &Message, field: &str) -> f64 {
    match &m.body {
        Body::Reading(r) => r[field].as_f64().unwrap_or_else(|| panic!("{field}")),
        Body::Event(_) => panic!("not a reading"),
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = xs.fold((0.0, 0), |(s, n), x| (s + x, n + 1));
    assert!(n > 0, "no values");
    sum / f64::from(n)
}

#[test]
fn the_same_seed_gives_the_same_stream_and_another_seed_another() {
    let a = run(42, 1, TUESDAY, 6 * HOUR, &[]);
    let b = run(42, 1, TUESDAY, 6 * HOUR, &[]);
    assert!(a.len() > 30_000, "{} messages in 6 h", a.len());
    let lines = |s: &[Outgoing]| s.iter().map(Outgoing::truth_line).collect::<Vec<_>>();
    assert_eq!(lines(&a), lines(&b));
    let c = run(43, 1, TUESDAY, 6 * HOUR, &[]);
    assert_ne!(lines(&a), lines(&c));
    // Only the values differ: the same sources speak, at their own times.
    let topics = |s: &[Outgoing]| s.iter().map(|m| m.topic.clone()).collect::<BTreeSet<_>>();
    let telemetry = |s: &[Outgoing]| s.iter().filter(|m| m.domain.is_telemetry()).count();
    assert_eq!(telemetry(&a), telemetry(&c));
    assert!(topics(&a).len() > 60);
}

#[test]
fn the_stream_does_not_depend_on_how_it_is_stepped_or_filtered() {
    let whole = run(5, 2, TUESDAY, 3 * HOUR, &[]);
    let mut sim = Simulation::new(preset(), 5, 2, TUESDAY);
    let mut pieces = Vec::new();
    let mut t = TUESDAY;
    while t < TUESDAY + 3 * HOUR {
        t += 7 * 60_000 + 123;
        pieces.extend(sim.step_until(t.min(TUESDAY + 3 * HOUR)));
    }
    assert_eq!(whole, pieces);
    assert_eq!(sim.now_ms(), TUESDAY + 3 * HOUR);
    // A domain alone is exactly that domain's part of the whole city.
    for domain in [Domain::Flood, Domain::Complaint, Domain::Service] {
        let alone = run(5, 2, TUESDAY, 3 * HOUR, &[domain]);
        let part: Vec<Outgoing> = whole
            .iter()
            .filter(|m| m.domain == domain)
            .cloned()
            .collect();
        assert!(!alone.is_empty(), "{domain}");
        assert_eq!(alone, part, "{domain}");
    }
}

#[test]
fn every_message_passes_the_servers_decoder() {
    // The whole Tuesday at scale 1 (decoded by `tuesday()`), and an hour at scale 3.
    let day = tuesday();
    for domain in Domain::ALL {
        assert!(day.iter().any(|(m, _)| m.domain == domain), "no {domain}");
    }
    let scaled = run(9, 3, TUESDAY + 8 * HOUR, HOUR, &[]);
    let mut sources = BTreeSet::new();
    for m in &scaled {
        let msg = decoded(m);
        assert_eq!(msg.topic.domain, m.domain);
        assert_eq!(msg.ts, m.ts);
        sources.insert(msg.topic.source);
    }
    assert!(sources.contains("tc-ql1a-3") && sources.contains("aqs-q1-01-2"));
    assert!(sources.contains("fg-phu-an-3"));
    // Platforms are not scaled.
    assert!(!sources.contains("lgsp-2"));
}

#[test]
fn messages_come_in_time_order_with_seq_rising_from_1_per_topic() {
    let day = tuesday();
    assert!(day.windows(2).all(|w| w[0].0.ts <= w[1].0.ts));
    assert!(
        day.iter()
            .all(|(m, _)| (TUESDAY..=TUESDAY + DAY).contains(&m.ts))
    );
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for (m, msg) in day {
        let seq = msg.seq.expect("every message has a seq");
        let prev = last.insert(&m.topic, seq).unwrap_or(0);
        assert_eq!(seq, prev + 1, "{}", m.topic);
    }
    // Telemetry at its period: traffic 30 s, env and flood 60 s, system 15 s.
    let count = |d: Domain| day.iter().filter(|(m, _)| m.domain == d).count();
    let p = preset();
    assert_eq!(count(Domain::Traffic), p.corridors.len() * 2880);
    assert_eq!(count(Domain::Env), p.air_stations.len() * 1440);
    assert_eq!(count(Domain::Flood), p.flood_gauges.len() * 1440);
    assert_eq!(count(Domain::System), p.platforms.len() * 5760);
}

/// The status changes of each complaint or dossier id, in stream order.
fn courses(stream: &[Outgoing]) -> BTreeMap<String, Vec<(i64, Event, String)>> {
    let mut out: BTreeMap<String, Vec<(i64, Event, String)>> = BTreeMap::new();
    for m in stream {
        let msg = decoded(m);
        let Body::Event(event) = msg.body else {
            panic!("{} is not an event", m.topic)
        };
        let id = match &event {
            Event::Complaint(c) => c.id.clone(),
            Event::Dossier(d) => d.id.clone(),
        };
        out.entry(id)
            .or_default()
            .push((msg.ts, event, m.topic.clone()));
    }
    out
}

#[test]
fn complaints_and_dossiers_never_go_backwards() {
    // Four days of events, from a Friday: weekends and deadlines included.
    let stream = run(
        11,
        1,
        TUESDAY + 3 * DAY,
        4 * DAY,
        &[Domain::Complaint, Domain::Service],
    );
    let courses = courses(&stream);
    let complaint_rank = |s: &str| match s {
        "received" => 0,
        "assigned" => 1,
        "in_progress" => 2,
        "resolved" | "rejected" => 3,
        other => panic!("complaint status {other}"),
    };
    let dossier_rank = |s: &str| match s {
        "received" => 0,
        "processing" => 1,
        "done" | "returned" => 2,
        other => panic!("dossier status {other}"),
    };
    let (mut complaints, mut dossiers, mut finished, mut online) = (0, 0, 0, 0);
    for (id, course) in &courses {
        assert!(
            course.windows(2).all(|w| w[0].0 < w[1].0),
            "{id}: ts not rising"
        );
        // One topic, one deadline, one of everything but the status.
        assert!(
            course.iter().all(|c| c.2 == course[0].2),
            "{id}: topic changed"
        );
        let statuses: Vec<&str> = course
            .iter()
            .map(|(_, e, _)| match e {
                Event::Complaint(c) => c.status.as_str(),
                Event::Dossier(d) => d.status.as_str(),
            })
            .collect();
        assert_eq!(statuses[0], "received", "{id}");
        let ranks: Vec<u8> = match &course[0].1 {
            Event::Complaint(first) => {
                complaints += 1;
                assert!(id.starts_with("PA-202511") && id.len() == "PA-20251107-00001".len());
                assert!(first.due.is_some_and(|due| due > course[0].0));
                for (_, e, _) in course {
                    let Event::Complaint(c) = e else {
                        panic!("{id}")
                    };
                    assert_eq!(
                        (&c.category, &c.channel, c.due),
                        (&first.category, &first.channel, first.due)
                    );
                }
                statuses.iter().map(|s| complaint_rank(s)).collect()
            }
            Event::Dossier(first) => {
                dossiers += 1;
                online += usize::from(first.online);
                assert!(id.starts_with("HS-202511") && id.len() == "HS-20251107-000001".len());
                let agency = preset().agency(&first.agency).expect("a preset agency");
                let n: u32 = first
                    .service
                    .strip_prefix(&format!("{}-dv-", agency.code))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("service {}", first.service));
                assert!((1..=agency.online_services).contains(&n));
                let area = agency
                    .area
                    .as_deref()
                    .filter(|_| agency.kind == ioc_protocol::preset::AgencyKind::District);
                assert_eq!(
                    course[0].2,
                    format!("ioc/v1/service/{}/dvc-portal", area.unwrap_or("city"))
                );
                statuses.iter().map(|s| dossier_rank(s)).collect()
            }
        };
        assert!(ranks.windows(2).all(|w| w[0] < w[1]), "{id}: {statuses:?}");
        let terminal = ranks
            .iter()
            .filter(|&&r| r == *ranks.iter().max().unwrap())
            .count();
        assert_eq!(terminal, 1, "{id}: {statuses:?}");
        if matches!(
            *statuses.last().unwrap(),
            "resolved" | "rejected" | "done" | "returned"
        ) {
            finished += 1;
        }
    }
    assert!(complaints > 1000, "{complaints} complaints in 4 days");
    assert!(dossiers > 5000, "{dossiers} dossiers in 4 days");
    assert!(finished > 2000, "{finished} finished");
    let online_share = online as f64 / dossiers as f64;
    assert!(
        (0.7..=0.85).contains(&online_share),
        "{online_share} online"
    );
}

#[test]
fn weekday_rush_hour_is_slower_than_the_night_on_every_corridor() {
    let day = tuesday();
    let speed = |source: &str, from_h: f64, to_h: f64| {
        mean(
            day.iter()
                .filter(|(m, msg)| {
                    let h = (m.ts - TUESDAY) as f64 / HOUR as f64;
                    msg.topic.domain == Domain::Traffic
                        && msg.topic.source == source
                        && (from_h..to_h).contains(&h)
                })
                .map(|(_, msg)| number(msg, "speed_kmh")),
        )
    };
    for c in &preset().corridors {
        let night = speed(&c.id, 3.0, 3.5);
        let rush = speed(&c.id, 8.0, 8.5);
        assert!(
            night > 0.9 * c.free_flow_kmh,
            "{}: {night:.1} km/h at 03:00",
            c.id
        );
        assert!(
            rush < 0.85 * night,
            "{}: {rush:.1} at 08:00, {night:.1} at 03:00",
            c.id
        );
    }
    // Congestion levels agree with the speeds, and rush hour reaches level 3 somewhere.
    let levels: BTreeSet<u64> = day
        .iter()
        .filter(|(m, _)| m.domain == Domain::Traffic)
        .map(|(_, msg)| number(msg, "congestion") as u64)
        .collect();
    assert!(
        levels.contains(&0) && levels.iter().any(|&l| l >= 3),
        "{levels:?}"
    );
}

#[test]
fn pm25_is_worse_at_rush_hour_than_at_3am() {
    let day = tuesday();
    let pm25 = |from_h: f64, to_h: f64| {
        mean(
            day.iter()
                .filter(|(m, _)| {
                    let h = (m.ts - TUESDAY) as f64 / HOUR as f64;
                    m.domain == Domain::Env && (from_h..to_h).contains(&h)
                })
                .map(|(_, msg)| number(msg, "pm25_ugm3")),
        )
    };
    let (night, morning, evening) = (pm25(2.5, 3.5), pm25(7.0, 8.5), pm25(17.5, 19.0));
    assert!(
        morning > 1.1 * night,
        "{morning:.1} at 07-08:30, {night:.1} at 03:00"
    );
    assert!(
        evening > night,
        "{evening:.1} at 17:30-19:00, {night:.1} at 03:00"
    );
    // Noise peaks at rush hour too, and O3 after noon.
    let field = |f: &str, h: f64| {
        mean(
            day.iter()
                .filter(|(m, _)| m.domain == Domain::Env && ((m.ts - TUESDAY) / HOUR) as f64 == h)
                .map(|(_, msg)| number(msg, f)),
        )
    };
    assert!(field("noise_dba", 8.0) > field("noise_dba", 3.0) + 10.0);
    assert!(field("o3_ugm3", 13.0) > 2.0 * field("o3_ugm3", 3.0));
    assert!(field("temp_c", 14.0) > field("temp_c", 5.0) + 4.0);
}

/// The highest alarm level each gauge reached over a day from `start`.
fn alarm_levels(start: i64) -> BTreeMap<String, u8> {
    let mut out = BTreeMap::new();
    for m in run(3, 1, start, DAY, &[Domain::Flood]) {
        let msg = decoded(&m);
        let gauge = preset()
            .flood_gauges
            .iter()
            .find(|g| g.id == msg.topic.source)
            .expect("a preset gauge");
        let level = gauge.alarm_level(number(&msg, "water_level_cm"));
        let e = out.entry(gauge.id.clone()).or_insert(0);
        *e = (*e).max(level);
    }
    out
}

#[test]
fn november_high_tides_cross_the_alarm_levels_and_april_ones_do_not() {
    let mut highest = Vec::new();
    for start in NOVEMBER_MONDAYS {
        let levels = alarm_levels(start);
        let top = levels.values().copied().max().unwrap_or(0);
        assert!(
            top >= 1,
            "no gauge reached BĐ1 on the day from {start}: {levels:?}"
        );
        highest.push(top);
    }
    assert!(
        highest.iter().any(|&l| l >= 2),
        "never BĐ2 in November: {highest:?}"
    );
    let april = alarm_levels(APRIL);
    assert!(april.values().all(|&l| l == 0), "{april:?}");
}

#[test]
fn complaints_come_from_each_area_by_its_population_and_by_day() {
    let stream = run(21, 1, TUESDAY, 3 * DAY, &[Domain::Complaint]);
    let mut by_area: BTreeMap<String, f64> = BTreeMap::new();
    let mut by_hour = [0.0; 24];
    let mut channels: BTreeMap<String, usize> = BTreeMap::new();
    for m in &stream {
        let msg = decoded(m);
        let Body::Event(Event::Complaint(c)) = &msg.body else {
            panic!()
        };
        if c.status == "received" {
            *by_area.entry(msg.topic.area.clone()).or_default() += 1.0;
            by_hour[(((m.ts - TUESDAY) % DAY) / HOUR) as usize] += 1.0;
            *channels.entry(c.channel.clone()).or_default() += 1;
            assert_eq!(msg.topic.source, "tong-dai-1022");
        }
    }
    let total: f64 = by_area.values().sum();
    let population: f64 = preset().areas.iter().map(|a| f64::from(a.population)).sum();
    assert!(total > 900.0, "{total} complaints in 3 days");
    for a in &preset().areas {
        let expected = total * f64::from(a.population) / population;
        let got = by_area.get(&a.code).copied().unwrap_or(0.0);
        // Within 4 standard deviations of a Poisson count, and 3 complaints.
        assert!(
            (got - expected).abs() <= 4.0 * expected.sqrt() + 3.0,
            "{}: {got} complaints, {expected:.0} expected",
            a.code
        );
    }
    let night: f64 = by_hour[1..5].iter().sum();
    let morning: f64 = by_hour[8..12].iter().sum();
    assert!(
        morning > 6.0 * night,
        "{morning} at 08-12, {night} at 01-05"
    );
    assert_eq!(channels.len(), 4, "{channels:?}");
}

#[test]
fn platforms_go_down_for_a_few_minutes_a_day() {
    let day = tuesday();
    let mut down: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    for (m, msg) in day.iter().filter(|(m, _)| m.domain == Domain::System) {
        let Body::Reading(r) = &msg.body else {
            panic!()
        };
        if r["up"] == ioc_protocol::Value::Bool(false) {
            down.entry(&msg.topic.source).or_default().push(m.ts);
        }
    }
    assert!(!down.is_empty(), "no outage in a day");
    for (platform, times) in &down {
        let minutes = times.len() as f64 * 15.0 / 60.0;
        assert!(
            (1.0..=60.0).contains(&minutes),
            "{platform} down {minutes} min"
        );
    }
    // Up the rest of the day.
    let readings = day
        .iter()
        .filter(|(m, _)| m.domain == Domain::System)
        .count();
    let down_readings: usize = down.values().map(Vec::len).sum();
    assert!(down_readings * 50 < readings);
}

#[test]
fn incidents_are_reported_while_they_slow_their_corridor() {
    let day = tuesday();
    // (corridor, minutes reported with an incident, mean speed with it, mean speed without)
    let mut by_corridor: BTreeMap<&str, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let mut kinds = std::collections::BTreeSet::new();
    for (_, msg) in day.iter().filter(|(m, _)| m.domain == Domain::Traffic) {
        let Body::Reading(r) = &msg.body else {
            panic!()
        };
        // Daytime only, so that the comparison is not night against rush hour.
        let hour = ioc_sim::clock::LocalTime::at(msg.ts).hour;
        if !(7.0..20.0).contains(&hour) {
            continue;
        }
        let e = by_corridor.entry(&msg.topic.source).or_default();
        match &r.get("incident") {
            Some(ioc_protocol::Value::Text(kind)) => {
                kinds.insert(kind.clone());
                e.0.push(number(msg, "speed_kmh"));
            }
            Some(other) => panic!("incident {other:?}"),
            None => e.1.push(number(msg, "speed_kmh")),
        }
    }
    let hit: Vec<_> = by_corridor
        .iter()
        .filter(|(_, (with, without))| !with.is_empty() && !without.is_empty())
        .collect();
    assert!(!hit.is_empty(), "no incident reported in a day");
    assert!(!kinds.is_empty() && kinds.iter().all(|k| !k.is_empty()));
    // Over the corridors hit, the incident's readings are slower.
    let slower = hit
        .iter()
        .filter(|(_, (with, without))| mean(with.iter().copied()) < mean(without.iter().copied()))
        .count();
    assert!(
        slower * 4 >= hit.len() * 3,
        "{slower} of {} slower",
        hit.len()
    );
}
