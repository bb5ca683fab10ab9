//! Anomaly detection against the simulator's truth: three clean days to learn from, then a
//! day with anomalies injected (`ioc-sim --inject`), replayed fast through the real server.
//! Precision and recall are computed against the anomalies the truth log lists.
//!
//! The figures go in `docs/alerts.md`; this prints them:
//! `cargo test -p ioc-tests --test anomalies -- --nocapture`.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use ioc_protocol::alerts::{Alert, AlertKind};
use ioc_tests::{Sim, TestServer, now_ms};

const DAY: i64 = 86_400_000;
/// A detection this long after an anomaly's end still counts as finding it (the detector
/// needs its window of readings).
const LATE_OK_MS: i64 = 10 * 60_000;

#[derive(Debug)]
struct Injected {
    topic: String,
    fields: Vec<String>,
    from: i64,
    to: i64,
    kind: String,
}

/// What the truth log says, besides the injected anomalies: the city's own disruptions (an
/// incident a corridor reported, a platform that said it was down), by topic, with their times.
#[derive(Debug, Default)]
struct Truth {
    injected: Vec<Injected>,
    disrupted: std::collections::HashMap<String, Vec<i64>>,
    messages: u64,
}

impl Truth {
    /// Whether the source reported a disruption of its own within half an hour before `at`
    /// (or 5 minutes after).
    fn disrupted(&self, topic: &str, at: i64) -> bool {
        self.disrupted.get(topic).is_some_and(|ts| {
            ts.iter()
                .any(|&t| t >= at - 30 * 60_000 && t <= at + 5 * 60_000)
        })
    }
}

fn read_truth(path: &std::path::Path) -> anyhow::Result<Truth> {
    let mut truth = Truth::default();
    let (injected, messages) = (&mut truth.injected, &mut truth.messages);
    for line in std::io::BufReader::new(std::fs::File::open(path)?).lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        if let Some(a) = v.get("anomaly") {
            injected.push(Injected {
                topic: a["topic"].as_str().context("topic")?.to_owned(),
                fields: a["fields"]
                    .as_array()
                    .context("fields")?
                    .iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect(),
                from: a["from"].as_i64().context("from")?,
                to: a["to"].as_i64().context("to")?,
                kind: a["kind"].as_str().unwrap_or("").to_owned(),
            });
        } else if let Some(topic) = v["topic"].as_str() {
            *messages += 1;
            let p = &v["payload"]["values"];
            let incident = p["incident"].as_str().is_some_and(|s| !s.is_empty());
            if incident || p["up"] == false {
                let ts = v["ts"].as_i64().context("ts")?;
                truth
                    .disrupted
                    .entry(topic.to_owned())
                    .or_default()
                    .push(ts);
            }
        }
    }
    Ok(truth)
}

fn topic_of(a: &Alert) -> String {
    format!("ioc/v1/{}/{}/{}", a.domain, a.area, a.source)
}

fn matches(a: &Alert, i: &Injected) -> bool {
    topic_of(a) == i.topic
        && i.fields.contains(&a.field)
        && a.opened_at >= i.from
        && a.opened_at <= i.to + LATE_OK_MS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anomaly_detection_finds_injected_anomalies_with_precision_and_recall_of_0_9()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("ioc.toml");
    // A replay opens a day's alerts within seconds: no limit a minute here.
    std::fs::write(&config, "[alerts]\nmax_new_per_minute = 100000\n")?;
    let server = TestServer::start_with(&["--config", config.to_str().context("path")?])?;
    server.wait_subscribed().await?;

    // Whole local days, so that a run is the same all day long: three days to learn, then
    // yesterday with anomalies.
    // `IOC_TEST_ANOMALY_SEED` and `IOC_TEST_ANOMALY_DAYS_BACK` (0 to 2: end that many days
    // before today) try other cities and other days.
    let seed = std::env::var("IOC_TEST_ANOMALY_SEED").unwrap_or_else(|_| "11".into());
    let back: i64 = std::env::var("IOC_TEST_ANOMALY_DAYS_BACK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
        .clamp(0, 2);
    let today = ioc_server::local_midnight_ms(now_ms()) - back * DAY;
    let start = today - 4 * DAY;
    let inject_from = today - DAY;
    let now = today;
    let truth = dir.path().join("truth.jsonl");
    let mut sim = Sim::start_with(
        server.mqtt,
        start,
        &[
            "--speed",
            "1000000",
            "--until",
            &now.to_string(),
            "--seed",
            &seed,
            "--domains",
            "traffic,env,flood,system",
            "--inject",
            "24",
            "--inject-from",
            &inject_from.to_string(),
            "--truth-log",
            truth.to_str().context("path")?,
        ],
    )?;
    let deadline = std::time::Instant::now() + Duration::from_secs(600);
    let status = loop {
        if let Some(s) = sim.proc.child.try_wait()? {
            break s;
        }
        if std::time::Instant::now() > deadline {
            bail!("the simulated days took more than 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    ensure!(status.success(), "ioc-sim: {status}");
    let truth = read_truth(&truth)?;
    let (injected, messages) = (&truth.injected, truth.messages);
    ensure!(
        injected.len() >= 20,
        "{} anomalies injected",
        injected.len()
    );
    // Every message in, then the alerts written.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        let accepted = server.metrics().await?.value("ioc_ingest_accepted_total")?;
        if accepted as u64 >= messages {
            break;
        }
        if std::time::Instant::now() > deadline {
            bail!("the server took in {accepted} of {messages} messages");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    let history = server
        .get_json("/api/v1/alerts?kind=anomaly&limit=1000")
        .await?;
    let alerts: Vec<Alert> = serde_json::from_value(history["alerts"].clone())?;
    ensure!(alerts.iter().all(|a| a.kind == AlertKind::Anomaly));
    // An alert that ends and comes back is the same alert, opened again: each opening is a
    // detection, at the time it was raised.
    let mut detections = Vec::new();
    for a in &alerts {
        let one = server.get_json(&format!("/api/v1/alerts/{}", a.id)).await?;
        for e in one["events"].as_array().context("events")? {
            if matches!(e["action"].as_str(), Some("opened" | "reopened")) {
                let mut d = a.clone();
                d.opened_at = e["at"].as_i64().context("at")?;
                detections.push(d);
            }
        }
    }
    let (learning, judged): (Vec<&Alert>, Vec<&Alert>) =
        detections.iter().partition(|a| a.opened_at < inject_from);
    let judged: Vec<&Alert> = judged.into_iter().filter(|a| a.opened_at < now).collect();
    // An alert is true when it points at an injected anomaly, or at a disruption the source
    // itself reported (the truth log has the incident or the outage).
    let on_injected = judged
        .iter()
        .filter(|a| injected.iter().any(|i| matches(a, i)))
        .count();
    let on_disruption = judged
        .iter()
        .filter(|a| !injected.iter().any(|i| matches(a, i)))
        .filter(|a| truth.disrupted(&topic_of(a), a.opened_at))
        .count();
    let true_alerts = on_injected + on_disruption;
    let found = injected
        .iter()
        .filter(|i| judged.iter().any(|a| matches(a, i)))
        .count();
    let precision = true_alerts as f64 / judged.len().max(1) as f64;
    let recall = found as f64 / injected.len() as f64;
    let mut by_kind: std::collections::BTreeMap<&str, (u32, u32)> = Default::default();
    for i in injected {
        let e = by_kind.entry(&i.kind).or_default();
        e.0 += 1;
        e.1 += u32::from(judged.iter().any(|a| matches(a, i)));
    }
    eprintln!(
        "anomalies: {messages} messages over 4 simulated days; {} injected on the last day, \
         {found} found (recall {recall:.3}); {} detections that day: {on_injected} on an \
         injected anomaly, {on_disruption} on an incident or outage the source reported \
         (precision {precision:.3}); {} during the 3 learning days; found by kind \
         {by_kind:?}",
        injected.len(),
        judged.len(),
        learning.len(),
    );
    for a in judged
        .iter()
        .filter(|a| !injected.iter().any(|i| matches(a, i)))
    {
        eprintln!(
            "  not injected{}: {}/{}/{} {} = {:?} (baseline {:?}, score {:?}) at {}",
            if truth.disrupted(&topic_of(a), a.opened_at) {
                " (reported disruption)"
            } else {
                ""
            },
            a.domain,
            a.area,
            a.source,
            a.field,
            a.value,
            a.threshold,
            a.score,
            a.opened_at
        );
    }
    for i in injected
        .iter()
        .filter(|i| !judged.iter().any(|a| matches(a, i)))
    {
        eprintln!("  missed: {i:?}");
        for a in detections.iter().filter(|a| topic_of(a) == i.topic) {
            eprintln!(
                "    detected {} at {} (score {:?})",
                a.field, a.opened_at, a.score
            );
        }
    }
    ensure!(precision >= 0.9, "precision {precision:.3}");
    ensure!(recall >= 0.9, "recall {recall:.3}");
    Ok(())
}
