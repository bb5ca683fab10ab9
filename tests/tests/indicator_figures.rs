//! The acceptance test of the indicators' figures (issue 21): the real server and the real
//! simulator publishing its five years of every indicator at every level (`ioc-sim --domains
//! indicator`, over MQTT, with its truth log), then every figure of `GET
//! /api/v1/indicators/board` (latest, change, year to date, target, progress, expected,
//! status, rank, abnormal flag and score, late report; the groups' tallies, the late list, the
//! punctuality table) against `Board::compute` run here over the truth log's reports (the
//! latest report of each indicator, area and period by report time) and the catalogue's
//! targets, at the board's own `now_ms`: 0 mismatches. Eight city values are then revised over
//! MQTT by the test (30 % higher, sent now), so that the latest revision and the first report
//! are both on the path.
//!
//! The formulas themselves are unit-tested against hand-computed cases in `ioc-protocol`
//! (`protocol/src/indicator/tests/`); this test checks the whole path around them (ingest,
//! store, revisions, the latest value of each period, targets, the API) against the truth.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ioc_protocol::alerts::Alert;
use ioc_protocol::indicator::{Board, Catalogue, Observation, Report, Status, Timeliness, Values};
use ioc_protocol::topic::{CITY_AREA, IndicatorTopic};
use ioc_tests::{Publisher, Sim, TestServer, now_ms};
use serde_json::Value;

/// How long the simulator may take to publish the five years and the server to store them.
const PUBLISH_WITHIN: Duration = Duration::from_secs(600);
/// How many city values the test revises after the simulator's history.
const REVISED: usize = 8;

/// The truth log's reports: the values as they stand (the latest report of each period by
/// report time, reported by the topic's unit) and how many values were sent in all.
fn truth_values(path: &std::path::Path) -> anyhow::Result<(Values, u64)> {
    let file = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
    let mut values = Values::new();
    let mut sent = 0;
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        let v: Value = serde_json::from_str(&line)?;
        let Some(report) = v.get("indicator_report") else {
            continue;
        };
        let topic = IndicatorTopic::parse(report["topic"].as_str().context("topic")?)?;
        let r: Report = serde_json::from_value(report["payload"].clone())
            .with_context(|| format!("a report of the truth log: {line}"))?;
        for (code, value) in r.values {
            sent += 1;
            values.insert(
                &code,
                &topic.area,
                Observation {
                    period: r.period,
                    value,
                    reported_ms: r.ts,
                    reported_by: topic.unit.clone(),
                    first_reported_ms: None,
                },
            );
        }
    }
    Ok((values, sent))
}

/// Whether two JSON values are the same figure: numbers within 1e-9 of each other (relative),
/// everything else equal.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            x == y || (x - y).abs() <= 1e-9 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, a)| y.get(k).is_some_and(|b| same(a, b)))
        }
        _ => a == b,
    }
}

/// The figures compared and the mismatches (the first 20 shown).
#[derive(Debug, Default)]
struct Tally {
    compared: u64,
    flags: u64,
    mismatches: Vec<String>,
}

impl Tally {
    fn check(&mut self, what: &str, server: &Value, truth: &Value) {
        self.compared += 1;
        if !same(server, truth) {
            self.mismatches
                .push(format!("{what}: server {server}, truth {truth}"));
        }
    }
}

/// Every figure of every indicator at every area, field by field, then the groups, the late
/// list and the punctuality table.
fn compare(server: &Board, truth: &Board) -> anyhow::Result<Tally> {
    let mut tally = Tally::default();
    ensure!(
        server.indicators.len() == truth.indicators.len(),
        "the server's board has {} indicators, the truth's {}",
        server.indicators.len(),
        truth.indicators.len()
    );
    const FIGURES: [&str; 8] = [
        "latest", "change", "ytd", "target", "progress", "rank", "abnormal", "late",
    ];
    for (s, t) in server.indicators.iter().zip(&truth.indicators) {
        ensure!(s.indicator == t.indicator, "indicators out of order");
        ensure!(
            s.areas.len() == t.areas.len(),
            "{}: {} areas on the server, {} in the truth",
            s.indicator,
            s.areas.len(),
            t.areas.len()
        );
        for (sa, ta) in s.areas.iter().zip(&t.areas) {
            let (sv, tv) = (serde_json::to_value(sa)?, serde_json::to_value(ta)?);
            ensure!(sa.area == ta.area, "{}: areas out of order", s.indicator);
            for f in FIGURES {
                tally.check(&format!("{} {} {f}", s.indicator, sa.area), &sv[f], &tv[f]);
            }
            tally.flags += u64::from(ta.is_flagged());
        }
    }
    let pairs = [
        (
            "groups",
            serde_json::to_value(&server.groups)?,
            serde_json::to_value(&truth.groups)?,
        ),
        (
            "late",
            serde_json::to_value(&server.late)?,
            serde_json::to_value(&truth.late)?,
        ),
        (
            "punctuality",
            serde_json::to_value(&server.punctuality)?,
            serde_json::to_value(&truth.punctuality)?,
        ),
    ];
    for (what, s, t) in pairs {
        let (s, t) = (s.as_array().context(what)?, t.as_array().context(what)?);
        if s.len() != t.len() {
            tally.compared += 1;
            tally.mismatches.push(format!(
                "{what}: {} rows on the server, {} in the truth",
                s.len(),
                t.len()
            ));
            continue;
        }
        for (i, (s, t)) in s.iter().zip(t).enumerate() {
            tally.check(&format!("{what}[{i}]"), s, t);
        }
    }
    Ok(tally)
}

/// Waits until the server has stored `sent` values over MQTT.
async fn wait_stored(server: &TestServer, sent: u64, began: Instant) -> anyhow::Result<()> {
    let series = "ioc_indicator_values_total{way=\"mqtt\"}";
    loop {
        let stored = server.metrics().await?.get(series).unwrap_or(0.0) as u64;
        if stored == sent {
            return Ok(());
        }
        ensure!(
            stored < sent && began.elapsed() < PUBLISH_WITHIN,
            "the server stored {stored} of the {sent} values sent"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The simulated five years, published for real and stored, give on the board exactly the
/// figures the truth log gives: every figure of every indicator at every area, 0 mismatches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_figure_of_the_board_is_the_one_recomputed_from_the_truth_log() -> anyhow::Result<()>
{
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let dir = tempfile::tempdir()?;
    let truth_log = dir.path().join("truth.jsonl");
    let start = now_ms();
    // The history is published at once; the run then ends a second later.
    let until = (start + 1_000).to_string();
    let mut sim = Sim::start_with(
        server.mqtt,
        start,
        &[
            "--domains",
            "indicator",
            "--until",
            &until,
            "--seed",
            "21",
            "--truth-log",
            truth_log.to_str().context("path")?,
        ],
    )?;
    let began = Instant::now();
    let status = loop {
        if let Some(status) = sim.proc.child.try_wait()? {
            break status;
        }
        ensure!(
            began.elapsed() < PUBLISH_WITHIN,
            "the simulator did not publish the five years within {PUBLISH_WITHIN:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    ensure!(status.success(), "ioc-sim failed: {status}");
    let (mut values, sent) = truth_values(&truth_log)?;
    ensure!(sent > 10_000, "only {sent} values in the truth log");
    let catalogue = Catalogue::built_in();

    // A board before the revisions: the server keeps it, and must compute it again once they
    // are stored.
    wait_stored(&server, sent, began).await?;
    server.get_json("/api/v1/indicators/board").await?;

    // Revisions: the latest city value of the first indicators that have one, sent again 30 %
    // higher (within its range) by its unit, now. The latest revision is the value; the first
    // report is still the one punctuality judges.
    let mut publisher = Publisher::connect(server.mqtt, "revisions").await?;
    let revised_at = now_ms();
    let mut revised = 0;
    for indicator in &catalogue.indicators {
        let Some(last) = values.series(&indicator.code, CITY_AREA).last().cloned() else {
            continue;
        };
        let unit = catalogue
            .reporting_unit(&indicator.code, CITY_AREA)
            .context("a city indicator has a reporting unit")?
            .to_owned();
        let value = (last.value * 1.3).clamp(indicator.range.min, indicator.range.max);
        let report = Report {
            ts: revised_at,
            period: last.period,
            values: BTreeMap::from([(indicator.code.clone(), value)]),
        };
        let topic = IndicatorTopic::new(CITY_AREA, unit.clone()).to_string();
        publisher.publish(&topic, report.encode()).await?;
        values.insert(
            &indicator.code,
            CITY_AREA,
            Observation {
                period: last.period,
                value,
                reported_ms: revised_at,
                reported_by: unit,
                first_reported_ms: None,
            },
        );
        revised += 1;
        if revised == REVISED {
            break;
        }
    }
    publisher
        .wait_acks(revised, Duration::from_secs(30))
        .await?;
    let sent = sent + revised as u64;

    wait_stored(&server, sent, began).await?;

    let board: Board = serde_json::from_value(server.get_json("/api/v1/indicators/board").await?)?;
    ensure!(
        board.now_ms >= start,
        "the board is older than the values: computed for {}",
        board.now_ms
    );
    let truth = Board::compute(&catalogue, &values, board.now_ms);
    let tally = compare(&board, &truth)?;
    let areas: usize = truth.indicators.iter().map(|i| i.areas.len()).sum();
    println!(
        "{sent} values published and stored; {} indicators at {areas} areas; {} figures \
         compared ({} areas flagged), {} mismatches",
        truth.indicators.len(),
        tally.compared,
        tally.flags,
        tally.mismatches.len()
    );
    if !tally.mismatches.is_empty() {
        bail!(
            "{} of {} figures differ from the truth, the first: {:#?}",
            tally.mismatches.len(),
            tally.compared,
            &tally.mismatches[..tally.mismatches.len().min(20)]
        );
    }
    // Not a board of nothing: statuses, ranks, flags of each kind are there to compare.
    let statuses = truth
        .indicators
        .iter()
        .flat_map(|i| &i.areas)
        .filter(|a| a.progress.is_some())
        .count();
    let abnormal = truth
        .indicators
        .iter()
        .flat_map(|i| &i.areas)
        .filter(|a| a.abnormal.as_ref().is_some_and(|s| s.flagged))
        .count();
    let ranked = truth
        .indicators
        .iter()
        .flat_map(|i| &i.areas)
        .filter(|a| a.rank.is_some())
        .count();
    println!(
        "{statuses} statuses, {ranked} ranks, {abnormal} abnormal signs on a latest period, \
         {} late or missing reports in the window",
        truth.late.len()
    );
    ensure!(
        statuses > 100 && ranked > 100 && !truth.late.is_empty(),
        "too little to compare: {statuses} statuses, {ranked} ranks, {} late reports",
        truth.late.len()
    );

    // The alerts: one per abnormal sign on a latest period, per status behind, per report
    // missing in the window, once the values stopped coming; none other ever opened (no alert
    // of a report merely not there yet while the history streamed in), and no storm's summary.
    let expected = expected_alerts(&truth);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let open = indicator_alerts(&server, "&state=open").await?;
        if open == expected {
            break;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = expected.difference(&open).take(10).collect();
            let extra: Vec<_> = open.difference(&expected).take(10).collect();
            bail!(
                "{} indicator alerts open, {} expected; not open: {missing:?}; not expected: \
                 {extra:?}",
                open.len(),
                expected.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ever = indicator_alerts(&server, "").await?;
    ensure!(
        ever == expected,
        "indicator alerts opened that the figures do not call for: {:?}",
        ever.difference(&expected).take(10).collect::<Vec<_>>()
    );
    let held = server.metrics().await?.value("ioc_alerts_held_total")?;
    ensure!(
        held == 0.0,
        "{held} alerts held back: the history made a storm"
    );
    println!(
        "{} indicator alerts open, as the truth's figures say ({} by kind)",
        expected.len(),
        ["indicator_abnormal", "indicator_behind", "indicator_late"]
            .map(|k| format!("{k} {}", expected.iter().filter(|a| a.0 == k).count()))
            .join(", ")
    );
    Ok(())
}

/// An indicator alert's key: kind, indicator, area and period (empty for a status).
type AlertKey = (String, String, String, String);

/// The indicator alerts a board's figures call for.
fn expected_alerts(board: &Board) -> BTreeSet<AlertKey> {
    let mut keys = BTreeSet::new();
    for i in &board.indicators {
        for a in &i.areas {
            let key = |kind: &str, period: String| {
                (kind.to_owned(), i.indicator.clone(), a.area.clone(), period)
            };
            if let Some(s) = a.abnormal.as_ref().filter(|s| s.flagged) {
                keys.insert(key("indicator_abnormal", s.period.to_string()));
            }
            if a.status() == Some(Status::Behind) {
                keys.insert(key("indicator_behind", String::new()));
            }
        }
    }
    // Missing reports of the series that have a value (one never reported raises none).
    let reported: BTreeSet<(&str, &str)> = board
        .indicators
        .iter()
        .flat_map(|i| {
            i.areas
                .iter()
                .filter(|a| a.latest.is_some())
                .map(|a| (i.indicator.as_str(), a.area.as_str()))
        })
        .collect();
    for l in board.late.iter().filter(|l| {
        l.timeliness == Timeliness::Missing
            && reported.contains(&(l.indicator.as_str(), l.area.as_str()))
    }) {
        keys.insert((
            "indicator_late".to_owned(),
            l.indicator.clone(),
            l.area.clone(),
            l.period.to_string(),
        ));
    }
    keys
}

/// The indicator alerts on the server (`query`: `&state=open`, or nothing for every state).
async fn indicator_alerts(server: &TestServer, query: &str) -> anyhow::Result<BTreeSet<AlertKey>> {
    let mut keys = BTreeSet::new();
    for kind in ["indicator_abnormal", "indicator_behind", "indicator_late"] {
        let body = server
            .get_json(&format!("/api/v1/alerts?kind={kind}{query}&limit=1000"))
            .await?;
        let list: Vec<Alert> = serde_json::from_value(body["alerts"].clone())?;
        keys.extend(
            list.into_iter()
                .map(|a| (a.kind.as_str().to_owned(), a.source, a.area, a.field)),
        );
    }
    Ok(keys)
}
