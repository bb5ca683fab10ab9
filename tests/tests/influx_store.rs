//! The InfluxDB 2 store against real servers.
//!
//! - Always: the write path against VictoriaMetrics (Debian's `victoria-metrics`, which
//!   `scripts/setup test` installs), which takes InfluxDB line protocol on `/api/v2/write`
//!   and names each series `{measurement}_{field}`. Every point written is read back from
//!   its export API, exactly once, also after the same batch is written twice.
//! - When `IOC_TEST_INFLUXDB_URL` is set (with `IOC_TEST_INFLUXDB_ORG` and
//!   `IOC_TEST_INFLUXDB_TOKEN`, see `ioc_tests::influxdb`): write, history, latest and
//!   events against that InfluxDB 2, in a bucket of the test's own (and the rest of the
//!   suite runs every server against it too). Without it that test says so and passes.

use std::collections::BTreeMap;

use std::time::Duration;

use anyhow::Context;
use ioc_protocol::{Body, Complaint, Domain, Event, Message, Topic, Value};
use ioc_server::store::influx::{InfluxConfig, InfluxStore, Token};
use ioc_server::store::{Bucket, HistoryQuery};
use ioc_tests::influxdb::TestInfluxdb;
use ioc_tests::now_ms;
use ioc_tests::victoria::{Sample, Victoria};

const WAIT: Duration = Duration::from_secs(30);

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

/// Readings of several domains, areas, sources and fields, five per source a second apart,
/// numbers and bools. One area has a space, a comma and an equals sign in it, to check the
/// tag escaping against a real parser.
fn telemetry_batch(base: i64, tag: &str) -> Vec<Message> {
    let mut batch = Vec::new();
    for i in 0..5i32 {
        let ts = base + i64::from(i) * 1_000;
        let x = f64::from(i);
        batch.push(reading(
            Domain::Env,
            "q1",
            &format!("aqs-{tag}-01"),
            ts,
            &[
                ("aqi", Value::Number(50.0 + 10.0 * x)),
                ("pm25_ugm3", Value::Number(12.25 + x / 8.0)),
            ],
        ));
        batch.push(reading(
            Domain::Env,
            "q1",
            &format!("aqs-{tag}-02"),
            ts,
            &[("aqi", Value::Number(70.0 + 10.0 * x))],
        ));
        batch.push(reading(
            Domain::Traffic,
            "thu-duc",
            &format!("cam-{tag}"),
            ts,
            &[
                ("speed_kmh", Value::Number(18.5 + x)),
                ("volume_vph", Value::Number(2450.0 - 100.0 * x)),
                ("congestion", Value::Number(f64::from(4 - i % 2))),
            ],
        ));
        batch.push(reading(
            Domain::Flood,
            "binh-thanh",
            &format!("gauge-{tag}"),
            ts,
            &[
                ("water_level_cm", Value::Number(-12.5 + 0.1 * x)),
                ("rain_mmh", Value::Number(0.0)),
            ],
        ));
        batch.push(reading(
            Domain::System,
            "city",
            &format!("portal-{tag}"),
            ts,
            &[
                ("up", Value::Bool(i != 3)),
                ("latency_ms", Value::Number(182.0 + 1e-3 * x)),
            ],
        ));
    }
    batch
}

/// What VictoriaMetrics must hold after `batch` is written: `{measurement}_{field}` with the
/// tags as labels, bools as 1 and 0.
fn expected_samples(batch: &[Message]) -> Vec<Sample> {
    let mut out = Vec::new();
    for msg in batch {
        let Body::Reading(values) = &msg.body else {
            continue;
        };
        let labels: BTreeMap<String, String> = [
            ("area".to_owned(), msg.topic.area.clone()),
            ("source".to_owned(), msg.topic.source.clone()),
        ]
        .into();
        for (field, value) in values {
            let v = match value {
                Value::Number(n) => *n,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::Text(_) => continue,
            };
            out.push((
                (format!("{}_{field}", msg.topic.domain), labels.clone()),
                msg.ts,
                v,
            ));
        }
    }
    out
}

/// Each expected sample is there exactly once with its value, and nothing else is.
fn assert_exactly_once(held: &[Sample], expected: &[Sample]) {
    let key = |s: &Sample| (s.0.clone(), s.1);
    let mut counts: BTreeMap<_, Vec<f64>> = BTreeMap::new();
    for s in held {
        counts.entry(key(s)).or_default().push(s.2);
    }
    for s in expected {
        match counts.get(&key(s)).map(Vec::as_slice) {
            Some([v]) => assert_eq!(v.to_bits(), s.2.to_bits(), "{s:?}: held {v}"),
            other => panic!("{s:?}: held {other:?}"),
        }
    }
    assert_eq!(held.len(), expected.len(), "nothing but what was written");
}

#[tokio::test]
async fn writes_reach_victoria_metrics_exactly_once() -> anyhow::Result<()> {
    let vm = Victoria::start().await?;
    let store = InfluxStore::new(&InfluxConfig {
        url: vm.url.clone(),
        org: "ioc".into(),
        bucket: "ioc".into(),
        token: Token::default(),
        timeout_ms: 10_000,
    })?;
    let base = now_ms() / 1_000 * 1_000 - 60_000;
    let mut batch = telemetry_batch(base, "vm");
    batch.push(reading(
        Domain::Env,
        "q 1,x=y",
        "aqs-escaped",
        base,
        &[("aqi", Value::Number(42.0))],
    ));
    let expected = expected_samples(&batch);
    assert_eq!(expected.len(), 5 * (2 + 1 + 3 + 2 + 2) + 1);

    store.write(&batch).await?;
    let held = vm
        .export_until("the first batch", WAIT, |s| s.len() >= expected.len())
        .await?;
    assert_exactly_once(&held, &expected);

    // The same batch again, with one more reading in the same request: once that one is
    // visible, so is the rest of the request, and nothing may be there twice.
    let marker = reading(
        Domain::Flood,
        "binh-thanh",
        "gauge-marker",
        base + 30_000,
        &[("water_level_cm", Value::Number(1.0))],
    );
    let mut again = batch.clone();
    again.push(marker.clone());
    store.write(&again).await?;
    let mut expected_again = expected.clone();
    expected_again.extend(expected_samples(&[marker]));
    let marker_key = expected_again.last().cloned().context("the marker")?;
    let held = vm
        .export_until("the marker of the second batch", WAIT, |s| {
            s.iter().any(|h| h.0 == marker_key.0 && h.1 == marker_key.1)
        })
        .await?;
    assert_exactly_once(&held, &expected_again);
    Ok(())
}

#[tokio::test]
async fn round_trip_through_influxdb2() -> anyhow::Result<()> {
    let Some(influx) = TestInfluxdb::from_env()? else {
        eprintln!("IOC_TEST_INFLUXDB_URL is not set: no InfluxDB 2 to test against");
        return Ok(());
    };
    // A bucket of its own, deleted when the test ends.
    let bucket = influx.create_bucket()?;
    let store = InfluxStore::new(&InfluxConfig {
        url: influx.url.clone(),
        org: influx.org.clone(),
        bucket: bucket.name.clone(),
        token: Token::new(influx.token.clone()),
        timeout_ms: 10_000,
    })?;
    // Sources of their own as well.
    let tag = format!("it{}", now_ms());
    let base = now_ms() / 1_000 * 1_000 - 120_000;
    let mut batch = telemetry_batch(base, &tag);
    batch.push(reading(
        Domain::Traffic,
        "thu-duc",
        &format!("cam-{tag}"),
        base + 4_000,
        &[(
            "note",
            Value::Text(r#"Kẹt xe "nặng", hướng Thủ Đức \ cầu Sài Gòn"#.into()),
        )],
    ));
    let complaint = |id: &str, status: &str, ts: i64| Message {
        topic: Topic::new(Domain::Complaint, "q3", format!("hotline-{tag}")),
        ts,
        seq: None,
        body: Body::Event(Event::Complaint(Complaint {
            id: id.into(),
            category: "flooding".into(),
            channel: "hotline".into(),
            status: status.into(),
            ward: Some("Phường Võ Thị Sáu".into()),
            due: Some(base + 86_400_000),
            lat: Some(10.781),
            lon: Some(106.689),
        })),
    };
    let events = [
        complaint("PA-1", "received", base),
        complaint("PA-2", "received", base),
        complaint("PA-1", "assigned", base + 2_000),
    ];
    batch.extend(events.iter().cloned());
    store.write(&batch).await?;
    // A duplicate overwrites itself.
    store.write(&batch).await?;

    // One source, a second per bucket: each reading its own bucket.
    let one = HistoryQuery {
        domain: Domain::Env,
        area: "q1".into(),
        source: Some(format!("aqs-{tag}-01")),
        field: "aqi".into(),
        from: base,
        to: base + 5_000,
        points: 5,
    };
    let expected: Vec<Bucket> = (0..5)
        .map(|i| {
            let v = 50.0 + 10.0 * f64::from(i);
            Bucket {
                t: base + i64::from(i) * 1_000,
                min: v,
                mean: v,
                max: v,
                count: 1,
            }
        })
        .collect();
    assert_eq!(store.history(&one).await?, expected);

    // Both sources of the area pooled, two buckets: the first holds 3 seconds of both.
    let pooled = HistoryQuery {
        source: None,
        points: 2,
        ..one.clone()
    };
    let buckets = store.history(&pooled).await?;
    assert_eq!(buckets.len(), 2, "{buckets:?}");
    assert_eq!(buckets[0].t, base);
    assert_eq!(buckets[0].count, 6);
    assert_eq!((buckets[0].min, buckets[0].max), (50.0, 90.0));
    assert!((buckets[0].mean - 70.0).abs() < 1e-9);
    assert_eq!(buckets[1].count, 4);

    // `up` is a bool: its mean is the share of readings up.
    let up = HistoryQuery {
        domain: Domain::System,
        area: "city".into(),
        source: Some(format!("portal-{tag}")),
        field: "up".into(),
        points: 1,
        ..one.clone()
    };
    let up = store.history(&up).await?;
    assert_eq!(up.len(), 1);
    assert!((up[0].mean - 0.8).abs() < 1e-9, "{up:?}");

    // The newest reading of each of our sources.
    let latest: Vec<Message> = store
        .latest()
        .await?
        .into_iter()
        .filter(|m| m.topic.source.contains(&tag))
        .collect();
    assert_eq!(latest.len(), 5, "{latest:#?}");
    // A source's newest reading: the fields of every message at its newest time (two
    // messages of one source at one time are one point in InfluxDB, their fields merged).
    let newest_of = |topic: &Topic| -> Option<Message> {
        let mine = || {
            batch
                .iter()
                .filter(|m| &m.topic == topic && matches!(m.body, Body::Reading(_)))
        };
        let ts = mine().map(|m| m.ts).max()?;
        let mut fields = BTreeMap::new();
        for m in mine().filter(|m| m.ts == ts) {
            if let Body::Reading(r) = &m.body {
                fields.extend(r.clone());
            }
        }
        Some(Message {
            topic: topic.clone(),
            ts,
            seq: None,
            body: Body::Reading(fields),
        })
    };
    for got in &latest {
        let want = newest_of(&got.topic).with_context(|| format!("{got:?} was not written"))?;
        assert_eq!(got, &want);
    }

    let got: Vec<Message> = store
        .events_since(base)
        .await?
        .into_iter()
        .filter(|m| m.topic.source.contains(&tag))
        .collect();
    assert_eq!(got.len(), events.len(), "{got:#?}");
    for e in &events {
        assert!(got.contains(e), "{e:?} not in {got:#?}");
    }
    Ok(())
}
