use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ioc_protocol::alerts::{Alert, AlertKind, AlertState, Severity};
use ioc_protocol::{Body, Domain, Message, Topic, Value};

use super::*;
use crate::city::City;
use crate::config::{AlertsConfig, LiveConfig};

/// 2026-11-16 08:00 in Ho Chi Minh City.
const T0: i64 = 1_794_762_000_000 + 8 * 3_600_000;
const MIN: i64 = 60_000;

fn engine(dir: &std::path::Path, config: AlertsConfig) -> Alerts {
    Alerts::open(
        Arc::new(City::built_in()),
        config,
        LiveConfig::default(),
        dir,
    )
    .unwrap()
}

fn rules_only() -> AlertsConfig {
    AlertsConfig {
        anomaly: false,
        ..AlertsConfig::default()
    }
}

fn reading(domain: Domain, area: &str, source: &str, ts: i64, field: &str, v: f64) -> Message {
    Message {
        topic: Topic::new(domain, area, source),
        ts,
        seq: None,
        body: Body::Reading([(field.to_owned(), Value::Number(v))].into()),
    }
}

fn level(source: &str, ts: i64, cm: f64) -> Message {
    reading(
        Domain::Flood,
        "binh-thanh",
        source,
        ts,
        "water_level_cm",
        cm,
    )
}

fn alerts_of(e: &Alerts, rule: &str) -> Vec<Alert> {
    e.lock()
        .alerts
        .values()
        .filter(|a| a.rule == rule)
        .cloned()
        .collect()
}

/// BĐ2 of the Phú An gauge is 150 cm, with a hysteresis of 5 cm.
#[test]
fn a_level_hovering_at_bd2_raises_one_alert_that_clears_only_past_the_hysteresis() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), rules_only());
    let series = [
        140.0, 149.0, 150.0, 151.0, 149.0, 150.0, 148.0, 146.0, 145.0,
    ];
    for (i, cm) in series.into_iter().enumerate() {
        e.observe_at(&level("fg-phu-an", T0 + i as i64 * MIN, cm), T0);
    }
    let bd2 = alerts_of(&e, "flood-bd2");
    assert_eq!(bd2.len(), 1, "{bd2:?}");
    assert_eq!(bd2[0].state, AlertState::Open);
    assert_eq!(bd2[0].opened_at, T0 + 2 * MIN);
    assert_eq!(bd2[0].threshold, Some(150.0));
    assert_eq!(bd2[0].severity, Severity::Warning);
    assert!(alerts_of(&e, "flood-bd3").is_empty());
    // 144 cm is more than 5 cm below the line: it resolves by itself.
    e.observe_at(&level("fg-phu-an", T0 + 10 * MIN, 144.0), T0);
    let bd2 = alerts_of(&e, "flood-bd2");
    assert_eq!(bd2[0].state, AlertState::Resolved);
    assert_eq!(bd2[0].resolved_by, None);
    assert_eq!(bd2[0].resolved_at, Some(T0 + 10 * MIN));
    // Back at the line: the same alert opens again, not a second one.
    e.observe_at(&level("fg-phu-an", T0 + 11 * MIN, 150.0), T0);
    let bd2 = alerts_of(&e, "flood-bd2");
    assert_eq!(bd2.len(), 1);
    assert_eq!((bd2[0].state, bd2[0].reopened), (AlertState::Open, 1));
    // A sensor of another gauge (`{id}-{n}`) is judged against its gauge's levels.
    e.observe_at(&level("fg-phu-an-2", T0, 161.0), T0);
    assert_eq!(alerts_of(&e, "flood-bd3").len(), 1);
    assert_eq!(alerts_of(&e, "flood-bd2").len(), 2);
}

#[test]
fn congestion_must_hold_for_15_minutes_and_a_break_starts_the_count_again() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), rules_only());
    let jam = |ts: i64, level: f64| {
        reading(
            Domain::Traffic,
            "q1",
            "c-nguyen-hue",
            ts,
            "congestion",
            level,
        )
    };
    // 14 minutes at level 4, then a reading at 3.
    for i in 0..=28 {
        e.observe_at(&jam(T0 + i * 30_000, 4.0), T0);
    }
    e.observe_at(&jam(T0 + 29 * 30_000, 3.0), T0);
    assert!(alerts_of(&e, "congestion").is_empty());
    // Then 15 minutes at 4 or 5.
    let start = T0 + 15 * MIN;
    for i in 0..30 {
        e.observe_at(&jam(start + i * 30_000, 4.0 + (i % 2) as f64), T0);
    }
    assert!(
        alerts_of(&e, "congestion").is_empty(),
        "14.5 minutes is not 15"
    );
    e.observe_at(&jam(start + 15 * MIN, 4.0), T0);
    let a = alerts_of(&e, "congestion");
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].opened_at, a[0].raised_at), (start, start + 15 * MIN));
}

/// 10,000 crossings of BĐ3 by 500 gauge sensors: one alert per sensor at most, 30 a minute,
/// and one summary for those held; held ones open in the next minutes.
#[test]
fn a_storm_of_crossings_is_deduplicated_and_rate_limited() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), rules_only());
    let mut crossings = 0;
    for round in 0..20 {
        for k in 2..502 {
            let src = format!("fg-phu-an-{k}");
            let ts = T0 + round * 2 * MIN;
            // Up past BĐ3 (a crossing of BĐ2 and BĐ3), then down below both.
            e.observe_at(&level(&src, ts, 165.0), T0 + 10_000);
            e.observe_at(&level(&src, ts + MIN, 100.0), T0 + 10_000);
            crossings += 1;
        }
    }
    assert_eq!(crossings, 10_000);
    let opened = e.lock().alerts.len();
    assert_eq!(opened, 30, "the limit is 30 new alerts a minute");
    // Every opened alert is one (rule, source): reopened, never duplicated.
    let keys: BTreeSet<_> = e.lock().alerts.values().map(Alert::key).collect();
    assert_eq!(keys.len(), 30);
    // The minute turns: one summary says how many (rule, source) were held.
    e.observe_at(&level("fg-phu-an-2", T0 + 41 * MIN, 100.0), T0 + 61_000);
    let summary = alerts_of(&e, "held");
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].kind, AlertKind::Summary);
    assert_eq!(summary[0].value, Some(1000.0 - 30.0));
    assert_eq!(summary[0].severity, Severity::Critical);
    // A held condition that still holds opens when a minute has room.
    e.observe_at(&level("fg-phu-an-400", T0 + 50 * MIN, 165.0), T0 + 61_000);
    let mine: Vec<_> = e
        .lock()
        .alerts
        .values()
        .filter(|a| a.source == "fg-phu-an-400")
        .cloned()
        .collect();
    assert_eq!(mine.len(), 2, "BĐ2 and BĐ3 of the sensor: {mine:?}");
    // Two quiet minutes later, the summary resolves by itself.
    e.observe_at(&level("fg-phu-an-2", T0 + 52 * MIN, 100.0), T0 + 181_000);
    let summary = &alerts_of(&e, "held")[0];
    assert_eq!(summary.state, AlertState::Resolved);
    assert_eq!(
        summary.value,
        Some(970.0),
        "it still says how many were held"
    );
}

#[test]
fn officers_acknowledge_resolve_and_close_and_it_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), rules_only());
    e.observe_at(&level("fg-phu-an", T0, 152.0), T0);
    let id = alerts_of(&e, "flood-bd2")[0].id;
    assert_eq!(
        e.act(id, Action::Close, "lan", ""),
        Err(ActionError::Conflict(format!(
            "alert {id} is open: only a resolved alert can be closed"
        )))
    );
    let a = e
        .act(id, Action::Acknowledge, "lan", "  đã cử đội ứng trực  ")
        .unwrap();
    assert_eq!(a.state, AlertState::Acknowledged);
    assert_eq!(a.acked_by.as_deref(), Some("lan"));
    assert_eq!(a.note.as_deref(), Some("đã cử đội ứng trực"));
    let again = e.act(id, Action::Acknowledge, "minh", "").unwrap_err();
    assert!(
        again.to_string().contains("acknowledged (by lan)"),
        "{again}"
    );
    assert_eq!(
        e.act(999, Action::Acknowledge, "lan", ""),
        Err(ActionError::NotFound(999))
    );
    assert!(e.persist().unwrap());

    // A restart: the alert is still acknowledged, and resolves by itself when the water goes
    // down.
    drop(e);
    let e = engine(dir.path(), rules_only());
    let a = &alerts_of(&e, "flood-bd2")[0];
    assert_eq!((a.id, a.state), (id, AlertState::Acknowledged));
    e.observe_at(&level("fg-phu-an", T0 + MIN, 150.0), T0);
    assert_eq!(
        alerts_of(&e, "flood-bd2")[0].state,
        AlertState::Acknowledged
    );
    e.observe_at(&level("fg-phu-an", T0 + 2 * MIN, 140.0), T0);
    assert_eq!(alerts_of(&e, "flood-bd2")[0].state, AlertState::Resolved);
    let closed = e.act(id, Action::Close, "minh", "nước đã rút").unwrap();
    assert_eq!(closed.state, AlertState::Closed);
    assert!(e.persist().unwrap());
    assert!(
        e.figure().alerts.is_empty(),
        "closed alerts leave the screen"
    );
    // A new crossing is a new alert.
    e.observe_at(&level("fg-phu-an", T0 + 3 * MIN, 151.0), T0);
    let new = &alerts_of(&e, "flood-bd2")[0];
    assert!(new.id > id);
    e.persist().unwrap();

    let (old, events) = e.store().get(id).unwrap().unwrap();
    assert_eq!(old.state, AlertState::Closed);
    assert_eq!(old.closed_by.as_deref(), Some("minh"));
    let actions: Vec<_> = events
        .iter()
        .map(|ev| (ev.action.as_str(), ev.by.as_deref()))
        .collect();
    assert_eq!(
        actions,
        [
            ("opened", None),
            ("acknowledged", Some("lan")),
            ("resolved", None),
            ("closed", Some("minh"))
        ]
    );
    let history = e
        .store()
        .query(&store::Query {
            rule: Some("flood-bd2".into()),
            limit: 10,
            ..store::Query::default()
        })
        .unwrap();
    assert_eq!(
        history.iter().map(|a| a.id).collect::<Vec<_>>(),
        [new.id, id]
    );
}

#[test]
fn the_screen_lists_critical_first_then_open_then_newest() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), rules_only());
    e.observe_at(&level("fg-phu-an", T0, 151.0), T0);
    e.observe_at(&level("fg-phu-an-2", T0 + MIN, 151.0), T0);
    e.observe_at(&level("fg-phu-an-3", T0 + 2 * MIN, 170.0), T0);
    let first_bd2 = alerts_of(&e, "flood-bd2")
        .into_iter()
        .find(|a| a.source == "fg-phu-an")
        .unwrap();
    e.act(first_bd2.id, Action::Acknowledge, "lan", "").unwrap();
    let f = e.figure();
    let order: Vec<_> = f
        .alerts
        .iter()
        .map(|a| (a.rule.as_str(), a.source.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("flood-bd3", "fg-phu-an-3"),
            ("flood-bd2", "fg-phu-an-3"),
            ("flood-bd2", "fg-phu-an-2"),
            ("flood-bd2", "fg-phu-an"),
        ]
    );
    assert_eq!((f.open, f.acknowledged, f.critical), (3, 1, 1));
}

/// Two days of a gauge learned, then a restart: the third day's surge is found at once,
/// without learning again; it resolves when the level is back.
#[test]
fn baselines_survive_a_restart_and_a_surge_is_found_then_ends() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), AlertsConfig::default());
    let day = 86_400_000;
    let tide =
        |ts: i64| 100.0 + 20.0 * ((ts % day) as f64 / day as f64 * std::f64::consts::TAU).sin();
    let noise = |i: i64| ((i * 7919) % 11) as f64 / 5.0 - 1.0;
    let mut ts = T0;
    for i in 0..(2 * 1440) {
        e.observe_at(&level("fg-nha-be", ts, (tide(ts) + noise(i)).round()), T0);
        ts += MIN;
    }
    assert!(
        alerts_of(&e, "anomaly").is_empty(),
        "the learning days raised alerts"
    );
    e.save_baselines();
    drop(e);

    let e = engine(dir.path(), AlertsConfig::default());
    for i in 0..60 {
        // 30 minutes 70 cm above the tide, then back.
        let surge = if (10..40).contains(&i) { 70.0 } else { 0.0 };
        e.observe_at(&level("fg-nha-be", ts, (tide(ts) + surge).round()), T0);
        ts += MIN;
    }
    let a = alerts_of(&e, "anomaly");
    assert_eq!(a.len(), 1, "{a:?}");
    assert_eq!(a[0].field, "water_level_cm");
    assert_eq!(a[0].opened_at, T0 + 2 * day + 10 * MIN);
    assert!(a[0].score.unwrap() > 6.0);
    assert_eq!(a[0].state, AlertState::Resolved);
}

/// Two gauges surge at once with room for one new alert a minute: the second anomaly is held,
/// counted, and opens in the next minute while it lasts.
#[test]
fn a_held_anomaly_opens_when_the_next_minute_has_room() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(
        dir.path(),
        AlertsConfig {
            max_new_per_minute: 1,
            ..AlertsConfig::default()
        },
    );
    let day = 86_400_000;
    // Below BĐ2 even with the surge: only the anomalies compete for the minute.
    let tide =
        |ts: i64| 50.0 + 20.0 * ((ts % day) as f64 / day as f64 * std::f64::consts::TAU).sin();
    let mut ts = T0;
    for i in 0..(2 * 1440) {
        let n = ((i * 7919) % 11) as f64 / 5.0 - 1.0;
        for g in ["fg-phu-an-2", "fg-phu-an-3"] {
            e.observe_at(&level(g, ts, (tide(ts) + n).round()), T0 - 600_000);
        }
        ts += MIN;
    }
    let surge_from = ts;
    for i in 0..20 {
        // The wall clock: the first 10 readings in one minute, the rest in the next.
        let now = T0 + if i < 10 { 0 } else { 61_000 };
        for g in ["fg-phu-an-2", "fg-phu-an-3"] {
            e.observe_at(&level(g, ts, (tide(ts) + 70.0).round()), now);
        }
        ts += MIN;
        if i == 9 {
            let open: Vec<_> = alerts_of(&e, "anomaly")
                .into_iter()
                .filter(|a| a.opened_at >= surge_from)
                .collect();
            assert_eq!(open.len(), 1, "{open:?}");
            assert_eq!(e.counters.held.load(Ordering::Relaxed), 1);
        }
    }
    let open: Vec<_> = alerts_of(&e, "anomaly")
        .into_iter()
        .filter(|a| a.opened_at >= surge_from)
        .collect();
    assert_eq!(open.len(), 2, "{open:?}");
    assert_eq!(
        alerts_of(&e, "held").len(),
        1,
        "and a summary of the held one"
    );
}

/// The simulator's replay of the day, in short: 100 gauge sensors' readings of hours ago
/// arrive in a burst (crossing BĐ2 and back), then nothing; one gauge reports live, then
/// stops. Only the live one is called offline, once silent past its window by the server's
/// clock; the history's crossings open their alerts at their readings' time, resolved by the
/// history itself, with nothing held back and no summary.
#[test]
fn history_then_silence_is_not_offline_nor_a_storm_but_a_live_source_that_stops_is() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), rules_only());
    let hub = crate::live::Hub::new(Arc::new(City::built_in()), LiveConfig::default());
    // What the intake does with each message that arrives at `now`.
    let take = |msg: &Message, now: i64| {
        hub.apply_as(msg, crate::live::figures::Arrival::At(now));
        e.observe_at(msg, now);
    };
    let levels = [100.0, 120.0, 152.0, 155.0, 152.0, 130.0, 100.0];
    for k in 2..102 {
        let source = format!("fg-phu-an-{k}");
        for (i, cm) in levels.into_iter().enumerate() {
            let ts = T0 - 3 * 3_600_000 + i as i64 * 10 * MIN;
            take(&level(&source, ts, cm), T0 + k);
        }
    }
    // The live gauge: a reading a minute for 5 minutes, arriving as it is taken.
    for i in 0..5 {
        let ts = T0 + i * MIN;
        take(
            &reading(
                Domain::Flood,
                "nha-be",
                "fg-nha-be",
                ts,
                "water_level_cm",
                90.0,
            ),
            ts,
        );
    }
    let last_live = T0 + 4 * MIN;
    // Flooding's window is 600 s: every second up to it, then past it.
    for now in (T0..=last_live + 600_000).step_by(1000) {
        e.sweep_at(&hub, now);
    }
    assert!(
        alerts_of(&e, "offline-flood").is_empty(),
        "within the window"
    );
    for now in (last_live + 601_000..last_live + 900_000).step_by(1000) {
        e.sweep_at(&hub, now);
    }
    let offline: Vec<String> = alerts_of(&e, "offline-flood")
        .into_iter()
        .map(|a| a.source)
        .collect();
    assert_eq!(offline, ["fg-nha-be"], "only the live gauge that stopped");
    let bd2 = alerts_of(&e, "flood-bd2");
    assert_eq!(
        bd2.len(),
        100,
        "every crossing in the history opened its alert"
    );
    for a in &bd2 {
        assert_eq!(a.opened_at, T0 - 3 * 3_600_000 + 20 * MIN, "{a:?}");
        assert_eq!(a.raised_at, a.opened_at, "raised at its reading's time");
        assert_eq!(a.state, AlertState::Resolved, "{a:?}");
        assert_eq!(a.resolved_at, Some(T0 - 3 * 3_600_000 + 50 * MIN));
    }
    assert_eq!(e.counters.held.load(Ordering::Relaxed), 0);
    assert!(
        alerts_of(&e, "held").is_empty(),
        "no summary of held alerts"
    );
}

/// A board with budget revenue at q1: its latest period abnormal (or not), its status, and its
/// report of September missing (or not).
fn indicator_board(
    now: i64,
    abnormal: bool,
    status: &str,
    missing: bool,
) -> ioc_protocol::indicator::Board {
    let sign = serde_json::json!({"period": "2026-10", "score": 6.2, "flagged": true,
        "expected": 100.0, "scale": "ratio"});
    let late = serde_json::json!({"unit": "q1", "indicator": "budget_revenue", "area": "q1",
        "period": "2026-09", "due_ms": now - 40 * 86_400_000i64, "reported_ms": null,
        "timeliness": "missing"});
    serde_json::from_value(serde_json::json!({
        "now_ms": now,
        "indicators": [{"indicator": "budget_revenue", "group": "budget", "areas": [{
            "area": "q1", "level": "district",
            "latest": {"period": "2026-10", "value": 150.0, "reported_ms": now - 10 * MIN,
                "reported_by": "q1"},
            "change": null, "ytd": null, "target": 1000.0,
            "progress": {"achieved": 600.0, "percent": 60.0, "expected": 83.3, "gap": -23.3,
                "status": status},
            "rank": null,
            "abnormal": if abnormal { sign } else { serde_json::Value::Null },
            "late": null,
        }]}],
        "groups": [],
        "late": if missing { vec![late] } else { vec![] },
        "punctuality": [],
    }))
    .unwrap()
}

#[test]
fn an_abnormal_sign_a_status_behind_and_a_missing_report_each_open_one_alert_and_resolve_when_they_clear()
 {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), rules_only());
    let catalogue = ioc_protocol::indicator::Catalogue::built_in();
    let now = chrono::Utc::now().timestamp_millis();
    let board = indicator_board(now, true, "behind", true);
    e.judge_indicators(&board, &catalogue, now);
    // The same board again, and again a minute later: nothing opened twice.
    e.judge_indicators(&board, &catalogue, now);
    e.judge_indicators(&board, &catalogue, now + MIN);
    for (kind, field, value) in [
        ("indicator_abnormal", "2026-10", 150.0),
        ("indicator_behind", "", 60.0),
        ("indicator_late", "2026-09", 40.0 * 86_400.0),
    ] {
        let list = alerts_of(&e, kind);
        assert_eq!(list.len(), 1, "{kind}: {list:?}");
        let a = &list[0];
        assert_eq!(
            (
                a.state,
                a.source.as_str(),
                a.area.as_str(),
                a.field.as_str(),
                a.value
            ),
            (AlertState::Open, "budget_revenue", "q1", field, Some(value)),
            "{kind}"
        );
        assert!(a.kind.is_indicator() && a.kind.as_str() == kind);
    }
    assert_eq!(e.counters.opened.load(Ordering::Relaxed), 3);
    assert!(
        alerts_of(&e, "indicator_abnormal")[0]
            .name_vi
            .contains("thu ngân sách")
    );

    // A revision removes the sign, the status is back to at risk, the report arrived.
    let cleared = indicator_board(now + 2 * MIN, false, "at_risk", false);
    e.judge_indicators(&cleared, &catalogue, now + 2 * MIN);
    for kind in ["indicator_abnormal", "indicator_behind", "indicator_late"] {
        let a = &alerts_of(&e, kind)[0];
        assert_eq!(
            (a.state, a.resolved_at, a.resolved_by.as_deref()),
            (AlertState::Resolved, Some(now + 2 * MIN), None),
            "{kind}"
        );
    }
    // The sign again: its alert reopens, not a second one.
    e.judge_indicators(&board, &catalogue, now + 3 * MIN);
    let list = alerts_of(&e, "indicator_abnormal");
    assert_eq!(
        (list.len(), list[0].state, list[0].reopened),
        (1, AlertState::Open, 1)
    );
}
