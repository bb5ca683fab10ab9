//! Every figure against cases worked out by hand.

use super::*;
use ioc_protocol::live::ComplaintFigures;
use ioc_protocol::{Complaint, Dossier, Topic};

/// 2026-11-22 00:00 in Ho Chi Minh City (2026-11-21 17:00 UTC).
const MIDNIGHT: i64 = 1_795_280_400_000;
const H: i64 = 3_600_000;

fn figures() -> Figures {
    Figures::new(Arc::new(City::built_in()), LiveConfig::default())
}

impl Figures {
    /// Takes in a message as if it arrived at its own `ts` (live).
    fn apply_on_time(&mut self, msg: &Message) -> Domain {
        self.apply(msg, Arrival::At(msg.ts))
    }
}

fn complaint(area: &str, id: &str, status: &str, ts: i64, due: i64) -> Message {
    Message {
        topic: Topic::new(Domain::Complaint, area, "tong-dai-1022"),
        ts,
        seq: None,
        body: Body::Event(Event::Complaint(Complaint {
            id: id.into(),
            category: "flooding".into(),
            channel: if id.ends_with('z') { "zalo" } else { "hotline" }.into(),
            status: status.into(),
            ward: None,
            due: Some(due),
            lat: None,
            lon: None,
        })),
    }
}

fn dossier(area: &str, id: &str, status: &str, ts: i64, due: i64, online: bool) -> Message {
    Message {
        topic: Topic::new(Domain::Service, area, "dvc-portal"),
        ts,
        seq: None,
        body: Body::Event(Event::Dossier(Dossier {
            id: id.into(),
            service: "stp-dv-1".into(),
            agency: "so-tu-phap".into(),
            status: status.into(),
            online,
            due: Some(due),
        })),
    }
}

fn reading(domain: Domain, area: &str, source: &str, ts: i64, values: &[(&str, Value)]) -> Message {
    Message {
        topic: Topic::new(domain, area, source),
        ts,
        seq: None,
        body: Body::Reading(
            values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ),
    }
}

fn complaints(f: &Figures, now: i64) -> ComplaintFigures {
    match f.compute(Domain::Complaint, now, &SystemFigures::default()) {
        DomainFigures::Complaint(c) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn local_midnight_is_at_17_utc() {
    assert_eq!(local_midnight_ms(MIDNIGHT), MIDNIGHT);
    assert_eq!(local_midnight_ms(MIDNIGHT + 23 * H), MIDNIGHT);
    assert_eq!(local_midnight_ms(MIDNIGHT - 1), MIDNIGHT - DAY_MS);
}

#[test]
fn complaint_counts_of_the_day() {
    let mut f = figures();
    let now = MIDNIGHT + 10 * H;
    // Yesterday, still open at midnight and resolved this morning, on time.
    f.apply_on_time(&complaint(
        "q1",
        "a",
        "received",
        MIDNIGHT - 5 * H,
        MIDNIGHT + 12 * H,
    ));
    f.apply_on_time(&complaint(
        "q1",
        "a",
        "resolved",
        MIDNIGHT + 2 * H,
        MIDNIGHT + 12 * H,
    ));
    // Today: received and in progress, overdue (due 9:00, now 10:00).
    f.apply_on_time(&complaint(
        "q1",
        "b",
        "received",
        MIDNIGHT + H,
        MIDNIGHT + 9 * H,
    ));
    f.apply_on_time(&complaint(
        "q1",
        "b",
        "in_progress",
        MIDNIGHT + 3 * H,
        MIDNIGHT + 9 * H,
    ));
    // Today, resolved late (due 4:00, resolved 5:00).
    f.apply_on_time(&complaint(
        "q3",
        "cz",
        "received",
        MIDNIGHT + H,
        MIDNIGHT + 4 * H,
    ));
    f.apply_on_time(&complaint(
        "q3",
        "cz",
        "resolved",
        MIDNIGHT + 5 * H,
        MIDNIGHT + 4 * H,
    ));
    // Yesterday, resolved yesterday: counts nowhere today.
    f.apply_on_time(&complaint(
        "q3",
        "d",
        "received",
        MIDNIGHT - 9 * H,
        MIDNIGHT,
    ));
    f.apply_on_time(&complaint(
        "q3",
        "d",
        "resolved",
        MIDNIGHT - 8 * H,
        MIDNIGHT,
    ));
    let c = complaints(&f, now);
    assert_eq!(
        (
            c.city.received,
            c.city.resolved,
            c.city.open,
            c.city.in_progress,
            c.city.overdue
        ),
        (2, 2, 1, 1, 1)
    );
    // Two resolved today, one on time.
    assert_eq!(c.city.on_time_rate, Some(0.5));
    let q1 = c.areas.iter().find(|a| a.area == "q1").unwrap();
    assert_eq!((q1.received, q1.resolved, q1.open), (1, 1, 1));
    assert_eq!(q1.on_time_rate, Some(1.0));
    // Quận 1 has 142,625 inhabitants in the preset: 1 complaint is 0.0701 per 10,000.
    let pop = f64::from(f.city.preset().area("q1").unwrap().population);
    assert!((q1.per_10k.unwrap() - 10_000.0 / pop).abs() < 1e-9);
    assert_eq!(c.by_channel["zalo"], 1);
    assert_eq!(c.by_channel["hotline"], 1);
    assert_eq!(c.by_category["flooding"], 2);
    // Every area is listed, with zeros where nothing happened.
    assert_eq!(c.areas.len(), 22);
    assert_eq!(
        c.areas
            .iter()
            .find(|a| a.area == "cu-chi")
            .unwrap()
            .received,
        0
    );
}

#[test]
fn counts_restart_at_local_midnight() {
    let mut f = figures();
    f.apply_on_time(&complaint(
        "q1",
        "a",
        "received",
        MIDNIGHT - H,
        MIDNIGHT + 48 * H,
    ));
    // At 23:59 one was received that day; at 01:00 another one, the next day.
    let before = complaints(&f, MIDNIGHT - 60_000);
    assert_eq!((before.city.received, before.city.open), (1, 1));
    f.apply_on_time(&complaint(
        "q1",
        "b",
        "received",
        MIDNIGHT + H,
        MIDNIGHT + 48 * H,
    ));
    let after = complaints(&f, MIDNIGHT + 2 * H);
    assert_eq!((after.city.received, after.city.open), (1, 2));
}

#[test]
fn one_complaint_out_of_order_or_twice_counts_once() {
    let mut f = figures();
    let due = MIDNIGHT + 20 * H;
    let msgs = [
        complaint("q5", "x", "resolved", MIDNIGHT + 6 * H, due),
        complaint("q5", "x", "received", MIDNIGHT + H, due),
        complaint("q5", "x", "in_progress", MIDNIGHT + 3 * H, due),
        complaint("q5", "x", "received", MIDNIGHT + H, due),
        complaint("q5", "x", "assigned", MIDNIGHT + 2 * H, due),
        complaint("q5", "x", "resolved", MIDNIGHT + 6 * H, due),
    ];
    for m in &msgs {
        f.apply_on_time(m);
    }
    let c = complaints(&f, MIDNIGHT + 10 * H);
    // The last status by time is resolved, whatever order they came in.
    assert_eq!(
        (
            c.city.received,
            c.city.resolved,
            c.city.open,
            c.city.in_progress
        ),
        (1, 1, 0, 0)
    );
    assert_eq!(c.city.on_time_rate, Some(1.0));
    // Replaying everything again (a restart rebuilding from the store) changes nothing.
    for m in msgs.iter().rev() {
        f.apply_on_time(m);
    }
    assert_eq!(complaints(&f, MIDNIGHT + 10 * H), c);
}

#[test]
fn dossiers_on_time_online_share_and_backlog() {
    let mut f = figures();
    let now = MIDNIGHT + 15 * H;
    // Received today online, done on time.
    f.apply_on_time(&dossier(
        "city",
        "d1",
        "received",
        MIDNIGHT + 8 * H,
        MIDNIGHT + 14 * H,
        true,
    ));
    f.apply_on_time(&dossier(
        "city",
        "d1",
        "processing",
        MIDNIGHT + 9 * H,
        MIDNIGHT + 14 * H,
        true,
    ));
    f.apply_on_time(&dossier(
        "city",
        "d1",
        "done",
        MIDNIGHT + 13 * H,
        MIDNIGHT + 14 * H,
        true,
    ));
    // Received today on paper, done late.
    f.apply_on_time(&dossier(
        "q1",
        "d2",
        "received",
        MIDNIGHT + 8 * H,
        MIDNIGHT + 10 * H,
        false,
    ));
    f.apply_on_time(&dossier(
        "q1",
        "d2",
        "done",
        MIDNIGHT + 11 * H,
        MIDNIGHT + 10 * H,
        false,
    ));
    // Received yesterday, still processing and overdue.
    f.apply_on_time(&dossier(
        "q1",
        "d3",
        "received",
        MIDNIGHT - 20 * H,
        MIDNIGHT + 12 * H,
        true,
    ));
    f.apply_on_time(&dossier(
        "q1",
        "d3",
        "processing",
        MIDNIGHT - 19 * H,
        MIDNIGHT + 12 * H,
        true,
    ));
    // Received today, returned.
    f.apply_on_time(&dossier(
        "q1",
        "d4",
        "received",
        MIDNIGHT + 9 * H,
        MIDNIGHT + 40 * H,
        true,
    ));
    f.apply_on_time(&dossier(
        "q1",
        "d4",
        "returned",
        MIDNIGHT + 10 * H,
        MIDNIGHT + 40 * H,
        true,
    ));
    let DomainFigures::Service(s) = f.compute(Domain::Service, now, &SystemFigures::default())
    else {
        panic!()
    };
    let c = &s.city;
    assert_eq!(
        (
            c.received,
            c.done,
            c.done_on_time,
            c.returned,
            c.backlog,
            c.overdue
        ),
        (3, 2, 1, 1, 1, 1)
    );
    assert_eq!(c.on_time_rate, Some(0.5));
    // Two of the three received today were filed online.
    assert!((c.online_share.unwrap() - 2.0 / 3.0).abs() < 1e-12);
    let q1 = s.areas.iter().find(|a| a.key == "q1").unwrap();
    assert_eq!((q1.received, q1.done, q1.backlog), (2, 1, 1));
    assert_eq!(s.agencies[0].key, "so-tu-phap");
    assert_eq!(s.agencies[0].received, 3);
}

#[test]
fn flood_gauges_against_alarm_levels_and_the_days_peak() {
    let mut f = figures();
    let g = f.city.preset().flood_gauges[0].clone();
    let (bd1, bd2, bd3) = (
        f64::from(g.bd1_cm),
        f64::from(g.bd2_cm),
        f64::from(g.bd3_cm),
    );
    let now = MIDNIGHT + 10 * H;
    let level = |f: &mut Figures, ts: i64, cm: f64| {
        f.apply_on_time(&reading(
            Domain::Flood,
            &g.area,
            &g.id,
            ts,
            &[
                ("water_level_cm", Value::Number(cm)),
                ("rain_mmh", Value::Number(12.0)),
            ],
        ));
    };
    level(&mut f, MIDNIGHT - H, bd3 + 50.0); // yesterday's peak: not today's
    level(&mut f, now - 120_000, bd2 + 1.0);
    level(&mut f, now - 60_000, bd1 - 1.0);
    let DomainFigures::Flood(fl) = f.compute(Domain::Flood, now, &SystemFigures::default()) else {
        panic!()
    };
    let gauge = fl.gauges.iter().find(|x| x.id == g.id).unwrap();
    assert_eq!(gauge.alarm, 0);
    assert_eq!(gauge.peak_today_cm, Some(bd2 + 1.0));
    assert_eq!(
        (fl.max_alarm, fl.at_alarm, fl.max_rain_mmh),
        (0, 0, Some(12.0))
    );
    level(&mut f, now, bd2);
    let DomainFigures::Flood(fl) = f.compute(Domain::Flood, now, &SystemFigures::default()) else {
        panic!()
    };
    assert_eq!((fl.max_alarm, fl.at_alarm), (2, 1));
    // Gauges that never reported are listed, stale, with no level.
    assert!(
        fl.gauges
            .iter()
            .any(|x| x.water_level_cm.is_none() && x.fresh.stale)
    );
}

#[test]
fn traffic_hotspots_and_incidents() {
    let mut f = figures();
    let now = MIDNIGHT + 8 * H;
    let corridors: Vec<_> = f.city.preset().corridors.iter().take(7).cloned().collect();
    for (i, c) in corridors.iter().enumerate() {
        let mut values = vec![
            (
                "speed_kmh",
                Value::Number(c.free_flow_kmh * (1.0 - i as f64 / 10.0)),
            ),
            ("congestion", Value::Number(i.min(5) as f64)),
        ];
        if i == 2 {
            values.push(("incident", Value::Text("accident".into())));
        }
        f.apply_on_time(&reading(
            Domain::Traffic,
            &c.area,
            &c.id,
            now - 1000,
            &values,
        ));
    }
    // A second sensor on corridor 0 (`{id}-2`) is averaged with the first.
    let c0 = &corridors[0];
    f.apply_on_time(&reading(
        Domain::Traffic,
        &c0.area,
        &format!("{}-2", c0.id),
        now - 500,
        &[
            ("speed_kmh", Value::Number(c0.free_flow_kmh - 20.0)),
            ("congestion", Value::Number(2.0)),
        ],
    ));
    let DomainFigures::Traffic(t) = f.compute(Domain::Traffic, now, &SystemFigures::default())
    else {
        panic!()
    };
    let fig0 = t.corridors.iter().find(|x| x.id == c0.id).unwrap();
    assert_eq!(fig0.speed_kmh, Some(c0.free_flow_kmh - 10.0));
    assert_eq!(fig0.congestion, Some(1.0));
    // Congestion 5 twice (i = 5, 6): the slower share of free flow first.
    assert_eq!(
        t.hotspots,
        vec![
            corridors[6].id.clone(),
            corridors[5].id.clone(),
            corridors[4].id.clone(),
            corridors[3].id.clone(),
            corridors[2].id.clone()
        ]
    );
    assert_eq!(t.incidents.len(), 1);
    assert_eq!(t.incidents[0].corridor, corridors[2].id);
    assert_eq!(
        (t.incidents[0].kind.as_str(), t.incidents[0].since),
        ("accident", now - 1000)
    );
    // Reported again, the incident keeps the time it was first seen.
    let c2 = &corridors[2];
    f.apply_on_time(&reading(
        Domain::Traffic,
        &c2.area,
        &c2.id,
        now - 500,
        &[
            ("speed_kmh", Value::Number(30.0)),
            ("congestion", Value::Number(2.0)),
            ("incident", Value::Text("accident".into())),
        ],
    ));
    let DomainFigures::Traffic(t) = f.compute(Domain::Traffic, now, &SystemFigures::default())
    else {
        panic!()
    };
    assert_eq!(t.incidents[0].since, now - 1000);
    // The incident clears when the corridor reports without it, and so does a field the
    // corridor no longer sends.
    f.apply_on_time(&reading(
        Domain::Traffic,
        &c2.area,
        &c2.id,
        now,
        &[("speed_kmh", Value::Number(40.0))],
    ));
    let DomainFigures::Traffic(t) = f.compute(Domain::Traffic, now, &SystemFigures::default())
    else {
        panic!()
    };
    assert!(t.incidents.is_empty());
    let fig2 = t.corridors.iter().find(|x| x.id == c2.id).unwrap();
    assert_eq!((fig2.speed_kmh, fig2.congestion), (Some(40.0), None));
    let city = t.city.unwrap();
    assert!(!city.fresh.stale && city.speed_kmh.is_some());
    // Ten minutes of silence: every figure is stale, and no hotspot is claimed.
    let DomainFigures::Traffic(t) =
        f.compute(Domain::Traffic, now + 600_000, &SystemFigures::default())
    else {
        panic!()
    };
    assert!(t.city.unwrap().fresh.stale);
    assert!(t.hotspots.is_empty());
}

#[test]
fn platform_availability_and_offline_sources() {
    let mut f = figures();
    let now = MIDNIGHT + 5 * H;
    let p = f.city.preset().platforms[0].id.clone();
    for (i, up) in [true, true, false, true].into_iter().enumerate() {
        f.apply_on_time(&reading(
            Domain::System,
            "city",
            &p,
            now - 60_000 + i as i64 * 15_000,
            &[
                ("up", Value::Bool(up)),
                ("latency_ms", Value::Number(120.0)),
            ],
        ));
    }
    f.apply_on_time(&reading(
        Domain::Env,
        "q1",
        "old-station",
        now - 2 * H,
        &[("aqi", Value::Number(50.0))],
    ));
    let DomainFigures::Service(s) = f.compute(Domain::Service, now, &SystemFigures::default())
    else {
        panic!()
    };
    let pf = s.platforms.iter().find(|x| x.id == p).unwrap();
    assert_eq!((pf.up, pf.availability_today), (Some(true), Some(0.75)));
    let intake = SystemFigures {
        readings_per_s: 12.5,
        websocket_clients: 3,
        ..SystemFigures::default()
    };
    let DomainFigures::System(sys) = f.compute(Domain::System, now, &intake) else {
        panic!()
    };
    assert_eq!((sys.sources_online, sys.sources_offline), (1, 1));
    assert_eq!(sys.offline, vec!["env/q1/old-station".to_owned()]);
    assert_eq!((sys.readings_per_s, sys.websocket_clients), (12.5, 3));
}

#[test]
fn a_source_past_its_domains_interval_is_offline_in_metrics_too() {
    let mut f = figures();
    let now = MIDNIGHT + 10 * H;
    // Air: 600 s by default. One 9 minutes old (online), one 11 minutes old (offline).
    for (source, age_s) in [("fresh", 540), ("late", 660)] {
        f.apply_on_time(&reading(
            Domain::Env,
            "q3",
            source,
            now - age_s * 1000,
            &[("aqi", Value::Number(80.0))],
        ));
    }
    let seen = f.sources_seen(now);
    let state = |s: &str| {
        seen.iter()
            .find(|x| x.source == s)
            .map(|x| (x.online, x.ts))
    };
    assert_eq!(state("fresh"), Some((true, now - 540_000)));
    assert_eq!(state("late"), Some((false, now - 660_000)));
    // The System tile counts the same.
    let DomainFigures::System(sys) = f.compute(Domain::System, now, &SystemFigures::default())
    else {
        panic!()
    };
    assert_eq!((sys.sources_online, sys.sources_offline), (1, 1));
}

#[test]
fn closed_cases_are_forgotten_after_eight_days_open_ones_never() {
    let mut f = figures();
    f.apply_on_time(&complaint(
        "q1",
        "old",
        "received",
        MIDNIGHT - 10 * DAY_MS,
        MIDNIGHT,
    ));
    f.apply_on_time(&complaint(
        "q1",
        "old",
        "resolved",
        MIDNIGHT - 9 * DAY_MS,
        MIDNIGHT,
    ));
    f.apply_on_time(&complaint(
        "q1",
        "open",
        "received",
        MIDNIGHT - 10 * DAY_MS,
        MIDNIGHT,
    ));
    assert_eq!(f.prune(MIDNIGHT), 1);
    assert_eq!(complaints(&f, MIDNIGHT).city.open, 1);
}

#[test]
fn station_aqi_is_computed_from_concentrations_by_vn_aqi() {
    let mut f = figures();
    let now = MIDNIGHT + 10 * H;
    // Three hours of one reading a minute: PM2.5 40 µg/m³, PM10 60, NO2 80; the sensor claims 12.
    for m in 0..180 {
        f.apply_on_time(&reading(
            Domain::Env,
            "q1",
            "q1-station",
            now - 3 * H + m * 60_000,
            &[
                ("pm25_ugm3", Value::Number(40.0)),
                ("pm10_ugm3", Value::Number(60.0)),
                ("no2_ugm3", Value::Number(80.0)),
                ("aqi", Value::Number(12.0)),
            ],
        ));
    }
    let DomainFigures::Env(e) = f.compute(Domain::Env, now, &SystemFigures::default()) else {
        panic!()
    };
    let s = &e.stations[0];
    // PM2.5 NowCast of a constant 40 is 40: 50 + (40 - 25) * 50 / 25 = 80.
    // PM10 60: 50 + (60 - 50) * 50 / 100 = 55. NO2 80: 80 * 50 / 100 = 40. The largest wins.
    assert_eq!(s.aqi, Some(80));
    assert_eq!(s.dominant.as_deref(), Some("pm25_ugm3"));
    assert_eq!(s.sensor_aqi, Some(12));
    assert_eq!(s.pm25_nowcast, Some(40.0));
    assert_eq!(s.pm25_trend, Some(0.0));
    let city = e.city.unwrap();
    assert_eq!((city.aqi, city.stations), (Some(80), 1));
    // A station with a single reading has no official index yet, only its own claim.
    f.apply_on_time(&reading(
        Domain::Env,
        "q3",
        "new",
        now,
        &[
            ("pm25_ugm3", Value::Number(300.0)),
            ("aqi", Value::Number(250.0)),
        ],
    ));
    let DomainFigures::Env(e) = f.compute(Domain::Env, now, &SystemFigures::default()) else {
        panic!()
    };
    let new = e.stations.iter().find(|s| s.id == "new").unwrap();
    assert_eq!((new.aqi, new.sensor_aqi), (None, Some(250)));
    assert_eq!(e.city.unwrap().aqi, Some(80));
}

#[test]
fn a_gauge_with_several_sensors_shows_the_newest_and_the_highest_peak() {
    let mut f = figures();
    let g = f.city.preset().flood_gauges[0].clone();
    let now = MIDNIGHT + 6 * H;
    let level = |f: &mut Figures, source: &str, ts: i64, cm: f64| {
        f.apply_on_time(&reading(
            Domain::Flood,
            &g.area,
            source,
            ts,
            &[("water_level_cm", Value::Number(cm))],
        ));
    };
    level(&mut f, &g.id, now - 60_000, 100.0);
    level(
        &mut f,
        &format!("{}-2", g.id),
        now - 120_000,
        f64::from(g.bd3_cm) + 5.0,
    );
    level(&mut f, &format!("{}-3", g.id), now, f64::from(g.bd1_cm));
    // Not one of its sensors: another id that merely starts the same way.
    level(&mut f, &format!("{}-x", g.id), now, 999.0);
    let DomainFigures::Flood(fl) = f.compute(Domain::Flood, now, &SystemFigures::default()) else {
        panic!()
    };
    let gauge = fl.gauges.iter().find(|x| x.id == g.id).unwrap();
    assert_eq!(
        (gauge.water_level_cm, gauge.alarm),
        (Some(f64::from(g.bd1_cm)), 1)
    );
    assert_eq!(gauge.peak_today_cm, Some(f64::from(g.bd3_cm) + 5.0));
}

#[test]
fn the_days_peak_takes_readings_older_than_the_newest() {
    // After a restart, the newest reading comes back first and the day's replay after it.
    let mut f = figures();
    let g = f.city.preset().flood_gauges[0].clone();
    let now = MIDNIGHT + 20 * H;
    let level = |f: &mut Figures, ts: i64, cm: f64| {
        f.apply_on_time(&reading(
            Domain::Flood,
            &g.area,
            &g.id,
            ts,
            &[("water_level_cm", Value::Number(cm))],
        ));
    };
    level(&mut f, now, -10.0);
    level(&mut f, MIDNIGHT + 14 * H, 152.0);
    // Yesterday's high water is not today's peak.
    level(&mut f, MIDNIGHT - H, 170.0);
    let DomainFigures::Flood(fl) = f.compute(Domain::Flood, now, &SystemFigures::default()) else {
        panic!()
    };
    let gauge = fl.gauges.iter().find(|x| x.id == g.id).unwrap();
    assert_eq!(gauge.water_level_cm, Some(-10.0), "the newest level stays");
    assert_eq!(gauge.peak_today_cm, Some(152.0));
}

#[test]
fn a_thousand_stations_list_the_worst_and_count_them_all() {
    let mut f = figures();
    let now = 1_795_365_600_000;
    for i in 0..1000 {
        f.apply_on_time(&reading(
            Domain::Env,
            if i % 2 == 0 { "q1" } else { "q3" },
            &format!("s{i:04}"),
            now,
            &[("aqi", Value::Number(f64::from(i % 400)))],
        ));
    }
    let DomainFigures::Env(e) = f.compute(Domain::Env, now, &SystemFigures::default()) else {
        panic!()
    };
    assert_eq!(e.stations.len(), super::MAX_STATIONS_LISTED);
    let listed: Vec<Option<u32>> = e.stations.iter().map(|s| s.sensor_aqi).collect();
    // 399 is reported by s0399 and s0799, 398 by s0398 and s0798...: the worst first.
    assert_eq!(&listed[..4], &[Some(399), Some(399), Some(398), Some(398)]);
    assert_eq!(e.stations[0].id, "s0399");
    assert_eq!(e.city.unwrap().stations, 1000);
    let areas: u32 = e.areas.iter().map(|a| a.stations).sum();
    assert_eq!(areas, 1000);
}

#[test]
fn online_is_heard_by_the_servers_clock_and_only_a_live_source_is_watched() {
    let mut f = figures();
    let now = MIDNIGHT + 10 * H;
    let air = |source: &str, ts: i64| {
        reading(
            Domain::Env,
            "q3",
            source,
            ts,
            &[("aqi", Value::Number(60.0))],
        )
    };
    // Hours-old readings arriving now (a replay): online, but not heard live.
    f.apply(&air("replayed", now - 5 * H), Arrival::At(now));
    // A reading within its window (air: 600 s) on arrival: live.
    f.apply(&air("live", now - 30_000), Arrival::At(now));
    // Read back from the store at the start: watched, heard at the start.
    f.apply(&air("restored", now - 2 * H), Arrival::Restored(now));
    let state = |seen: &[SourceSeen], s: &str| {
        seen.iter()
            .find(|x| x.source == s)
            .map(|x| (x.online, x.live))
    };
    let seen = f.sources_seen(now + 60_000);
    assert_eq!(state(&seen, "replayed"), Some((true, false)));
    assert_eq!(state(&seen, "live"), Some((true, true)));
    assert_eq!(state(&seen, "restored"), Some((true, true)));
    // Silent past the window, by the server's clock: offline, whatever their readings' ts.
    let seen = f.sources_seen(now + 601_000);
    assert_eq!(state(&seen, "replayed"), Some((false, false)));
    assert_eq!(state(&seen, "live"), Some((false, true)));
    // A live reading makes a replayed source watched from then on.
    f.apply(&air("replayed", now + 700_000), Arrival::At(now + 700_000));
    let seen = f.sources_seen(now + 700_000);
    assert_eq!(state(&seen, "replayed"), Some((true, true)));
}
