//! Benchmarks of the embedded store alone (no MQTT): write throughput in readings/s, and
//! history latency over 7 days of one source at one reading per 10 s, downsampled to 500
//! points. Prints JSON.
//!
//! `cargo run --release -p ioc-tests --bin ioc-bench-store`

use std::time::Instant;

use ioc_protocol::{Body, Domain, Message, Topic, Value};
use ioc_server::store::HistoryQuery;
use ioc_server::store::embedded::{EmbeddedStore, Retention};

const DAY: i64 = 86_400_000;

fn reading(area: &str, source: &str, ts: i64, i: u64) -> Message {
    let v = (i % 200) as f64;
    Message {
        topic: Topic::new(Domain::Env, area, source),
        ts,
        seq: Some(i),
        body: Body::Reading(
            [
                ("aqi".to_owned(), Value::Number(v)),
                ("pm25_ugm3".to_owned(), Value::Number(v / 2.0)),
                ("temp_c".to_owned(), Value::Number(30.0)),
                ("humidity_pct".to_owned(), Value::Number(70.0)),
            ]
            .into(),
        ),
    }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Writes `total` readings of 4 fields from `sources` sources in `areas`, each source every
/// `every_ms`, in batches of `per_batch` readings; returns the figures as JSON.
fn write_bench(
    store: &mut EmbeddedStore,
    areas: &[&str],
    sources: u64,
    total: u64,
    every_ms: i64,
    per_batch: usize,
) -> anyhow::Result<serde_json::Value> {
    let start = ioc_tests::now_ms() - (total / sources) as i64 * every_ms - 60_000;
    let msgs: Vec<Message> = (0..total)
        .map(|i| {
            let s = i % sources;
            reading(
                areas[(s % areas.len() as u64) as usize],
                &format!("w{sources}-{s}"),
                start + (i / sources) as i64 * every_ms,
                i,
            )
        })
        .collect();
    let t = Instant::now();
    for chunk in msgs.chunks(per_batch) {
        store.write(chunk).map_err(anyhow::Error::msg)?;
    }
    let secs = t.elapsed().as_secs_f64();
    Ok(serde_json::json!({
        "readings": total, "points": total * 4, "seconds": secs,
        "readings_per_s": total as f64 / secs, "points_per_s": (total * 4) as f64 / secs,
    }))
}

fn main() -> anyhow::Result<()> {
    // Readings per transaction: the server's writer commits up to 50,000 points (12,500
    // readings of 4 fields) at a time into the embedded store.
    let per_batch: usize = std::env::var("IOC_BENCH_BATCH")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12_500);
    let dir = tempfile::tempdir()?;
    let mut store = EmbeddedStore::open(&dir.path().join("bench.sqlite"), Retention::default())
        .map_err(anyhow::Error::msg)?;
    let now = ioc_tests::now_ms();

    // History: 7 days, one reading every 10 s, one source.
    let start = now - 7 * DAY;
    let n = 7 * 8640;
    let batch: Vec<Message> = (0..n)
        .map(|i| reading("q1", "hist", start + i as i64 * 10_000, i))
        .collect();
    for chunk in batch.chunks(1250) {
        store.write(chunk).map_err(anyhow::Error::msg)?;
    }
    let reader = store.reader();
    let mut lat = Vec::new();
    for k in 0..1000 {
        let to = now - (k % 60) * 60_000;
        let q = HistoryQuery {
            domain: Domain::Env,
            area: "q1".into(),
            source: Some("hist".into()),
            field: "aqi".into(),
            from: to - 7 * DAY,
            to,
            points: 500,
        };
        let t = Instant::now();
        let b = reader.history(&q).map_err(anyhow::Error::msg)?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
        anyhow::ensure!(!b.is_empty() && b.len() <= 500, "{} buckets", b.len());
    }
    lat.sort_by(f64::total_cmp);

    // Writes: 1,000 sources in 22 areas, 4 fields each, batches of 1,250 readings (5,000
    // points), as the writer makes them.
    let areas = [
        "q1",
        "q3",
        "q5",
        "q10",
        "thu-duc",
        "go-vap",
        "tan-binh",
        "binh-thanh",
    ];
    // Many readings per source in each batch (1,000 sources reporting 100 times a second),
    // and one per source in each batch (20,000 sources every 10 s): the second is the city's
    // shape, where every batch touches a rollup row per reading.
    let dense = write_bench(&mut store, &areas, 1_000, 300_000, 100, per_batch)?;
    let sparse = write_bench(&mut store, &areas, 20_000, 300_000, 10_000, per_batch)?;

    let report = serde_json::json!({
        "history_7d_500_points_ms": { "p50": pct(&lat, 0.5), "p99": pct(&lat, 0.99), "max": pct(&lat, 1.0), "queries": lat.len() },
        "batch_readings": per_batch,
        "write_1000_sources_at_100_per_s": dense,
        "write_20000_sources_every_10_s": sparse,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
