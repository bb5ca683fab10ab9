//! The embedded store: writes, rollups, retention, recovery after restart, readers while
//! writing.

use std::sync::Arc;

use ioc_protocol::{Body, Complaint, Domain, Event, Message, Topic, Value};
use rusqlite::Connection;

use super::codec::{Agg, field_number, pack_aggs, pack_fields, unpack_aggs, unpack_fields};
use super::schema::{DAY, HOUR, MINUTE, SCHEMA_VERSION};
use super::*;
use crate::store::HistoryQuery;

const T0: i64 = 1_795_309_200_000; // 2026-11-22 08:00 in Ho Chi Minh City, on the hour

fn reading(area: &str, source: &str, ts: i64, fields: &[(&str, f64)]) -> Message {
    Message {
        topic: Topic::new(Domain::Env, area, source),
        ts,
        seq: None,
        body: Body::Reading(
            fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Value::Number(*v)))
                .collect(),
        ),
    }
}

fn query(source: Option<&str>, from: i64, to: i64, points: u32) -> HistoryQuery {
    HistoryQuery {
        domain: Domain::Env,
        area: "q1".into(),
        source: source.map(str::to_owned),
        field: "aqi".into(),
        from,
        to,
        points,
    }
}

fn open(dir: &tempfile::TempDir) -> EmbeddedStore {
    EmbeddedStore::open(&dir.path().join("ioc.sqlite"), Retention::default()).unwrap()
}

#[test]
fn writes_are_read_back_and_duplicates_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let batch: Vec<Message> = (0..120)
        .map(|i| {
            reading(
                "q1",
                "a",
                T0 + i * 1000,
                &[("aqi", i as f64), ("pm25_ugm3", 10.0)],
            )
        })
        .collect();
    store.write(&batch).unwrap();
    // QoS 1 redelivers: the same readings again change nothing.
    store.write(&batch[..60]).unwrap();
    let reader = store.reader();
    let topic = Topic::new(Domain::Env, "q1", "a");
    assert_eq!(reader.count_raw(&topic, "aqi", T0 + 5000).unwrap(), 1);
    // Two minutes of one value per second, asked as two buckets: raw, min/mean/max by minute.
    let h = reader
        .history(&query(Some("a"), T0, T0 + 120_000, 2))
        .unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(
        (h[0].t, h[0].min, h[0].max, h[0].count),
        (T0, 0.0, 59.0, 60)
    );
    assert_eq!(h[0].mean, 29.5);
    assert_eq!((h[1].min, h[1].max, h[1].count), (60.0, 119.0, 60));
}

#[test]
fn rollups_answer_long_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    // Two sources, one reading each every 10 s for 3 hours.
    let mut batch = Vec::new();
    for i in 0..(3 * 360) {
        let ts = T0 + i * 10_000;
        batch.push(reading("q1", "a", ts, &[("aqi", 50.0)]));
        batch.push(reading("q1", "b", ts, &[("aqi", 100.0)]));
    }
    for chunk in batch.chunks(500) {
        store.write(chunk).unwrap();
    }
    let reader = store.reader();
    // 3 hours in 3 buckets: one hour each, from the hourly rollup.
    let h = reader.history(&query(None, T0, T0 + 3 * HOUR, 3)).unwrap();
    assert_eq!(h.len(), 3);
    for b in &h {
        assert_eq!((b.min, b.max, b.mean, b.count), (50.0, 100.0, 75.0, 720));
    }
    // One source only.
    let h = reader
        .history(&query(Some("b"), T0, T0 + 3 * HOUR, 3))
        .unwrap();
    assert!(h.iter().all(|b| b.mean == 100.0 && b.count == 360));
    // 3 hours in 30 buckets of 6 minutes: from the minute rollup, same totals.
    let h = reader.history(&query(None, T0, T0 + 3 * HOUR, 30)).unwrap();
    assert_eq!(h.len(), 30);
    assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 3 * 360 * 2);
    assert_eq!(h[1].t, T0 + 6 * MINUTE);
    // Nothing there: no buckets.
    assert!(
        reader
            .history(&query(None, T0 - HOUR, T0, 10))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn retention_keeps_each_resolution_its_time() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let old = T0 - 8 * DAY;
    store
        .write(&[reading("q1", "a", old, &[("aqi", 80.0)])])
        .unwrap();
    store
        .write(&[reading("q1", "a", T0, &[("aqi", 90.0)])])
        .unwrap();
    store.enforce_retention(T0).unwrap();
    let reader = store.reader();
    // The raw point of 8 days ago is gone...
    assert!(
        reader
            .history(&query(None, old, old + MINUTE, 60))
            .unwrap()
            .is_empty()
    );
    // ...but its minute and hour rollups remain.
    let h = reader
        .history(&query(None, old - HOUR, old + HOUR, 2))
        .unwrap();
    assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 1);
    let h = reader
        .history(&query(None, old, old + 10 * MINUTE, 10))
        .unwrap();
    assert_eq!(h.len(), 1);
    // A year later the minute rollups are gone, the hourly ones stay.
    store.enforce_retention(T0 + 365 * DAY).unwrap();
    assert!(
        reader
            .history(&query(None, old, old + 10 * MINUTE, 10))
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        reader
            .history(&query(None, old - HOUR, old + HOUR, 2))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn recovery_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    {
        let mut store = open(&dir);
        store
            .write(&[
                reading("q1", "a", T0, &[("aqi", 80.0), ("pm25_ugm3", 30.0)]),
                reading("q1", "a", T0 + 1000, &[("aqi", 81.0)]),
                reading("q3", "b", T0, &[("aqi", 70.0)]),
                Message {
                    topic: Topic::new(Domain::Complaint, "q1", "hotline-1022"),
                    ts: T0,
                    seq: Some(3),
                    body: Body::Event(Event::Complaint(Complaint {
                        id: "PA-1".into(),
                        category: "flooding".into(),
                        channel: "hotline".into(),
                        status: "received".into(),
                        ward: Some("Bến Nghé".into()),
                        due: Some(T0 + DAY),
                        lat: None,
                        lon: None,
                    })),
                },
            ])
            .unwrap();
    }
    // A new process opens the same file.
    let mut store = open(&dir);
    let reader = store.reader();
    let latest = reader.latest().unwrap();
    assert_eq!(latest.len(), 2);
    let a = latest.iter().find(|m| m.topic.source == "a").unwrap();
    assert_eq!(a.ts, T0 + 1000);
    let Body::Reading(v) = &a.body else { panic!() };
    assert_eq!(v["aqi"], Value::Number(81.0));
    // The field that was not sent again keeps its newest value.
    assert_eq!(v["pm25_ugm3"], Value::Number(30.0));
    let events = reader.events_since(T0 - 1).unwrap();
    assert_eq!(events.len(), 1);
    let Body::Event(Event::Complaint(c)) = &events[0].body else {
        panic!()
    };
    assert_eq!(c.ward.as_deref(), Some("Bến Nghé"));
    assert_eq!(events[0].seq, Some(3));
    // And writing goes on where it stopped: series ids were reloaded, not duplicated.
    store
        .write(&[reading("q1", "a", T0 + 2000, &[("aqi", 82.0)])])
        .unwrap();
    let h = reader.history(&query(Some("a"), T0, T0 + 3000, 3)).unwrap();
    assert_eq!(
        h.iter().map(|b| b.mean).collect::<Vec<_>>(),
        vec![80.0, 81.0, 82.0]
    );
}

#[test]
fn readers_while_writing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let reader = store.reader();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let reader = reader.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut last = 0;
                let mut queries = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let h = reader
                        .history(&query(Some("a"), T0, T0 + 10 * HOUR, 10))
                        .unwrap();
                    let n: u64 = h.iter().map(|b| b.count).sum();
                    // A reader sees whole batches only, and never goes back.
                    assert_eq!(n % 100, 0, "a half-written batch was visible");
                    assert!(n >= last);
                    last = n;
                    queries += 1;
                }
                queries
            })
        })
        .collect();
    for b in 0..50 {
        let batch: Vec<Message> = (0..100)
            .map(|i| reading("q1", "a", T0 + (b * 100 + i) * 1000, &[("aqi", 1.0)]))
            .collect();
        store.write(&batch).unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let h = reader
        .history(&query(Some("a"), T0, T0 + 10 * HOUR, 10))
        .unwrap();
    assert_eq!(h.iter().map(|b| b.count).sum::<u64>(), 5000);
}

#[test]
fn packed_fields_round_trip_and_corrupt_blobs_are_errors() {
    let text = Value::Text("mưa lớn".into());
    let values = [
        (0, &Value::Number(-12.5)),
        (1, &Value::Bool(true)),
        (300, &text),
        (70_000, &Value::Bool(false)),
    ];
    let mut blob = Vec::new();
    pack_fields(&mut blob, &values);
    let back = unpack_fields(&blob).unwrap();
    assert_eq!(
        back,
        values
            .iter()
            .map(|(f, v)| (*f, (*v).clone()))
            .collect::<Vec<_>>()
    );
    assert_eq!(field_number(&blob, 0), Some(Some(-12.5)));
    assert_eq!(field_number(&blob, 70_000), Some(Some(0.0)));
    assert_eq!(field_number(&blob, 300), Some(None));
    assert_eq!(field_number(&blob, 9), Some(None));
    // A truncated blob is refused, or (cut between two entries) reads as the entries before
    // the cut: never past the end, never a made-up value.
    for n in 1..blob.len() {
        if let Some(v) = unpack_fields(&blob[..n]) {
            assert!(!v.is_empty() && back.starts_with(&v), "{n} bytes: {v:?}");
        }
    }
    let aggs = vec![(3, Agg::new(2.0)), (4, Agg::new(-1.0))];
    assert_eq!(unpack_aggs(&pack_aggs(&aggs)), Some(aggs.clone()));
    assert_eq!(unpack_aggs(&pack_aggs(&aggs)[..20]), None);
}

#[test]
fn a_file_of_the_first_layout_is_moved_aside_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ioc.sqlite");
    {
        let c = Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE raw (series INTEGER, ts INTEGER, value, PRIMARY KEY (series, ts));
             INSERT INTO raw VALUES (1, 2, 3.0);",
        )
        .unwrap();
    }
    let mut store = EmbeddedStore::open(&path, Retention::default()).unwrap();
    store
        .write(&[reading("q1", "a", T0, &[("aqi", 80.0)])])
        .unwrap();
    let kept: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ioc.sqlite.schema1-"))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    let old = Connection::open(dir.path().join(&kept[0])).unwrap();
    let v: f64 = old
        .query_row("SELECT value FROM raw", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 3.0);
    // A file from a newer server is refused, not overwritten.
    store
        .conn
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(store);
    let e = EmbeddedStore::open(&path, Retention::default()).unwrap_err();
    assert!(e.to_string().contains("newer server"), "{e}");
}

#[test]
fn bools_count_as_zero_or_one_and_text_is_kept_but_not_aggregated() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    let msg = |ts: i64, up: bool| Message {
        topic: Topic::new(Domain::System, "city", "portal"),
        ts,
        seq: None,
        body: Body::Reading(
            [
                ("up".to_owned(), Value::Bool(up)),
                ("version".to_owned(), Value::Text("2.4.1".into())),
            ]
            .into(),
        ),
    };
    store
        .write(&[
            msg(T0, true),
            msg(T0 + 1000, true),
            msg(T0 + 2000, false),
            msg(T0 + 3000, true),
        ])
        .unwrap();
    let reader = store.reader();
    let q = |field: &str, points| HistoryQuery {
        domain: Domain::System,
        area: "city".into(),
        source: None,
        field: field.into(),
        from: T0,
        to: T0 + HOUR,
        points,
    };
    let h = reader.history(&q("up", 1)).unwrap();
    assert_eq!((h[0].mean, h[0].count), (0.75, 4));
    let h = reader.history(&q("up", 3600)).unwrap();
    assert_eq!(
        h.iter().map(|b| b.mean).collect::<Vec<_>>(),
        [1.0, 1.0, 0.0, 1.0]
    );
    assert!(reader.history(&q("version", 3600)).unwrap().is_empty());
    let latest = reader.latest().unwrap();
    let Body::Reading(v) = &latest[0].body else {
        panic!()
    };
    assert_eq!(v["version"], Value::Text("2.4.1".into()));
    assert_eq!(v["up"], Value::Bool(true));
}

#[test]
fn readings_since_gives_every_reading_of_a_domain_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(&dir);
    store
        .write(&[
            reading("q1", "a", T0 - HOUR, &[("pm25_ugm3", 40.0)]),
            reading("q1", "a", T0, &[("pm25_ugm3", 41.0), ("aqi", 80.0)]),
            reading("q3", "b", T0 + 1000, &[("pm25_ugm3", 20.0)]),
            Message {
                topic: Topic::new(Domain::Traffic, "q1", "t"),
                ..reading("q1", "t", T0, &[("speed_kmh", 30.0)])
            },
        ])
        .unwrap();
    let got = store.reader().readings_since(Domain::Env, T0 - 1).unwrap();
    assert_eq!(got.len(), 2, "{got:#?}");
    let a = got.iter().find(|m| m.topic.source == "a").unwrap();
    assert_eq!(a.ts, T0);
    let Body::Reading(v) = &a.body else { panic!() };
    assert_eq!(
        (v["pm25_ugm3"].clone(), v["aqi"].clone()),
        (Value::Number(41.0), Value::Number(80.0))
    );
    assert!(got.iter().all(|m| m.topic.domain == Domain::Env));
    assert_eq!(
        store
            .reader()
            .readings_since(Domain::Env, T0 - HOUR)
            .unwrap()
            .len(),
        3
    );
}
