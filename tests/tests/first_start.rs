//! A clean first start. The README's demo (`scripts/demo`: the server with its embedded broker,
//! and `ioc-sim --start today --speed 600`, which replays the day so far in a few minutes,
//! then runs in real time) must open calm: the replay's readings arrive as history (their `ts`
//! hours behind the server's clock), which is no source going offline and no storm. And the
//! same rule, fast: a burst of history for many sources followed by silence opens no offline
//! alert and holds nothing back, while a source whose live readings stop is called offline.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ioc_protocol::alerts::{Alert, AlertKind};
use ioc_protocol::preset::{AlertRule, FIGURE_FIELDS, RuleOp};
use ioc_protocol::time::local_midnight_ms;
use ioc_tests::{Publisher, Sim, TestServer, now_ms};

/// How long a new user watches the demo's alerts: the acceptance's first 5 minutes.
const DEMO_FOR: Duration = Duration::from_secs(300);
/// How often the alerts are read meanwhile.
const POLL: Duration = Duration::from_secs(2);

/// Every alert the history API holds (any state), oldest first.
async fn alerts(server: &TestServer, query: &str) -> anyhow::Result<Vec<Alert>> {
    let body = server
        .get_json(&format!("/api/v1/alerts?limit=1000{query}"))
        .await?;
    let mut list: Vec<Alert> = serde_json::from_value(body["alerts"].clone())?;
    list.sort_by_key(|a| a.id);
    Ok(list)
}

/// A storm's marks: a summary of held alerts, or a source called offline (the first 10).
fn storm_marks(list: &[Alert]) -> Vec<String> {
    list.iter()
        .filter(|a| matches!(a.kind, AlertKind::Summary | AlertKind::Offline))
        .take(10)
        .map(|a| format!("{} {} {} (value {:?})", a.rule, a.area, a.source, a.value))
        .collect()
}

fn level(ts: i64, seq: u64, cm: f64) -> String {
    format!(r#"{{"ts":{ts},"seq":{seq},"values":{{"water_level_cm":{cm}}}}}"#)
}

/// The simulator's replay in short, against a flood window of 4 s: 40 sensors of the Phú An
/// gauge send three hours-old readings in a burst (crossing BĐ2 and back), then nothing; the
/// Nhà Bè gauge reports live, then stops. Nhà Bè alone is called offline, once silent past the
/// window; the history's 40 crossings open their alerts at their readings' time (more than
/// the 30 a minute the limit lets through, none held), resolved by the history itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_then_silence_is_no_offline_alert_nor_storm_but_a_live_gauge_that_stops_is()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("server.toml");
    std::fs::write(&config, "[live]\nstale_after_s = { flood = 4 }\n")?;
    let server = TestServer::start_with(&["--config", config.to_str().context("path")?])?;
    server.wait_subscribed().await?;

    let history_from = now_ms() - 3 * 3_600_000;
    let levels = [100.0, 120.0, 152.0, 155.0, 152.0, 130.0, 100.0];
    let mut replay = Publisher::connect(server.mqtt, "replay").await?;
    for k in 2..42 {
        let topic = format!("ioc/v1/flood/binh-thanh/fg-phu-an-{k}");
        for (i, cm) in levels.into_iter().enumerate() {
            let ts = history_from + i as i64 * 600_000;
            replay.publish(&topic, level(ts, i as u64, cm)).await?;
        }
    }
    replay
        .wait_acks(40 * levels.len(), Duration::from_secs(30))
        .await?;
    // Every crossing of the history is in (40 alerts, 30 a minute at most were they live).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let marks = storm_marks(&alerts(&server, "").await?);
        ensure!(marks.is_empty(), "the history raised a storm: {marks:?}");
        let bd2 = alerts(&server, "&rule=flood-bd2").await?;
        if bd2.len() == 40 && bd2.iter().all(|a| a.resolved_at.is_some()) {
            for a in &bd2 {
                ensure!(
                    a.opened_at == history_from + 2 * 600_000
                        && a.raised_at == a.opened_at
                        && a.resolved_at == Some(history_from + 5 * 600_000)
                        && a.resolved_by.is_none(),
                    "a crossing in the history opens at its reading's time and is resolved by \
                     the reading that clears it: {a:?}"
                );
            }
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the history's 40 crossings did not all open and resolve: {bd2:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The live gauge: three readings as they are taken, then silence.
    let mut gauge = Publisher::connect(server.mqtt, "gauge-nha-be").await?;
    for seq in 0..3 {
        gauge
            .publish("ioc/v1/flood/nha-be/fg-nha-be", level(now_ms(), seq, 90.0))
            .await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    gauge.wait_acks(3, Duration::from_secs(10)).await?;
    // Heard after the burst: were the burst's sensors watched, they would be offline first.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list = alerts(&server, "").await?;
        let marks = storm_marks(&list);
        ensure!(
            marks
                .iter()
                .all(|m| m.starts_with("offline-flood nha-be fg-nha-be")),
            "only the live gauge that stopped may be offline: {marks:?}"
        );
        if !marks.is_empty() {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "the live gauge silent past its window was not called offline"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let m = server.metrics().await?;
    ensure!(
        m.value("ioc_alerts_held_total")? == 0.0,
        "history counted towards the storm"
    );
    Ok(())
}

/// One reading of the truth log: its fields as numbers (`true` is 1).
type Readings = HashMap<(String, i64), BTreeMap<String, f64>>;

/// The truth log's readings, by (topic, ts).
fn truth_readings(path: &std::path::Path) -> anyhow::Result<(Readings, i64)> {
    let mut out = Readings::new();
    let mut newest = 0;
    for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let (Some(topic), Some(values)) = (v["topic"].as_str(), v["payload"]["values"].as_object())
        else {
            continue;
        };
        let ts = v["payload"]["ts"].as_i64().context("ts")?;
        newest = newest.max(ts);
        let numbers = values
            .iter()
            .filter_map(|(k, x)| Some((k.clone(), x.as_f64().or(x.as_bool().map(f64::from))?)))
            .collect();
        out.insert((topic.to_owned(), ts), numbers);
    }
    Ok((out, newest))
}

/// Why the simulated day explains an alert, or why not: a rule on a reading field opened at
/// a reading of its source that breaks it (and resolved by itself at one that clears it); an
/// anomaly began at a reading of its series.
fn explained(a: &Alert, rules: &[AlertRule], truth: &Readings) -> Result<(), String> {
    let topic = format!("ioc/v1/{}/{}/{}", a.domain, a.area, a.source);
    let value_at = |ts: i64| {
        truth
            .get(&(topic.clone(), ts))
            .and_then(|r| r.get(&a.field).copied())
    };
    match a.kind {
        AlertKind::Anomaly => value_at(a.opened_at)
            .map(|_| ())
            .ok_or_else(|| "no reading of its series at its start".to_owned()),
        AlertKind::Threshold => {
            let rule = rules
                .iter()
                .find(|r| r.id == a.rule)
                .ok_or("no such rule")?;
            if FIGURE_FIELDS.contains(&(rule.domain, rule.field.as_str())) {
                // A figure the server computes (AQI, overdue, on time): not in the log as such.
                return Ok(());
            }
            let op = rule.op.unwrap_or(RuleOp::Above);
            let threshold = a.threshold.ok_or("no threshold")?;
            let opened = value_at(a.opened_at).ok_or("no reading at its opening")?;
            if !op.breaks(opened, threshold) {
                return Err(format!(
                    "opened at {opened}, which does not break {threshold}"
                ));
            }
            if let (Some(at), None) = (a.resolved_at, &a.resolved_by) {
                let cleared = value_at(at).ok_or("no reading at its resolution")?;
                if !op.clears(cleared, threshold, rule.hysteresis) {
                    return Err(format!("resolved at {cleared}, which does not clear it"));
                }
            }
            Ok(())
        }
        AlertKind::Offline | AlertKind::Summary => Err("a storm's mark".to_owned()),
        // Figures the server computes from the simulated indicators' history (an abnormal sign,
        // a status behind, a missing report), opened at their own time as history: the
        // figures are checked against the truth log by `indicator_figures.rs`.
        AlertKind::IndicatorAbnormal | AlertKind::IndicatorBehind | AlertKind::IndicatorLate => {
            Ok(())
        }
    }
}

/// The README's demo, started as a new user would (`scripts/demo`: the embedded broker, the
/// simulator from today's local midnight at 600 times, its default seed 1), watched for its
/// first 5 minutes: the replay of the day and the first minutes in real time. No summary of
/// held alerts, no offline alert, no source offline on the System tile; the alerts that open
/// are the simulated day's own, each explained by the simulator's truth log. This is the
/// suite's one long test (5 minutes), bounded: it fails at the first storm's mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_opens_calm_with_no_summary_and_no_offline_alert_in_its_first_five_minutes()
-> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let dir = tempfile::tempdir()?;
    let truth_log = dir.path().join("truth.jsonl");
    let today = local_midnight_ms(now_ms());
    let mut sim = Sim::start_with(
        server.mqtt,
        today,
        &[
            "--speed",
            "600",
            "--seed",
            "1",
            "--truth-log",
            truth_log.to_str().context("path")?,
        ],
    )?;
    let started = Instant::now();
    let mut seen = BTreeMap::new();
    while started.elapsed() < DEMO_FOR {
        sim.check_running()?;
        let list = alerts(&server, "").await?;
        let marks = storm_marks(&list);
        if !marks.is_empty() {
            bail!(
                "{:.0} s into the demo, a storm's marks: {marks:?}",
                started.elapsed().as_secs_f64()
            );
        }
        let m = server.metrics().await?;
        let (held, offline) = (
            m.value("ioc_alerts_held_total")?,
            m.value("ioc_sources_offline")?,
        );
        ensure!(
            held == 0.0 && offline == 0.0,
            "{:.0} s into the demo: {held} alerts held back, {offline} sources offline",
            started.elapsed().as_secs_f64()
        );
        seen.extend(list.into_iter().map(|a| (a.id, a)));
        tokio::time::sleep(POLL).await;
    }
    let accepted = server.metrics().await?.value("ioc_ingest_accepted_total")?;
    drop(sim);

    let (truth, newest) = truth_readings(&truth_log)?;
    ensure!(
        now_ms() - newest < 120_000,
        "the replay did not catch up with the wall clock within the demo's 5 minutes"
    );
    ensure!(
        accepted > 0.0 && !truth.is_empty(),
        "the simulator's readings never reached the server"
    );
    let rules: Vec<AlertRule> =
        serde_json::from_value(server.get_json("/api/v1/alerts/rules").await?["rules"].clone())?;
    let unexplained: Vec<String> = seen
        .values()
        .filter_map(|a| {
            explained(a, &rules, &truth)
                .err()
                .map(|why| format!("{} {}/{} #{}: {why}", a.rule, a.area, a.source, a.field))
        })
        .collect();
    eprintln!(
        "the demo's first 5 minutes: {} readings, {} alerts ({} by kind)",
        truth.len(),
        seen.len(),
        seen.values()
            .fold(BTreeMap::<String, usize>::new(), |mut n, a| {
                *n.entry(format!("{:?} {}", a.kind, a.rule)).or_default() += 1;
                n
            })
            .iter()
            .map(|(k, n)| format!("{k}: {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    ensure!(
        unexplained.is_empty(),
        "alerts the simulated day does not explain: {unexplained:?}"
    );
    Ok(())
}
