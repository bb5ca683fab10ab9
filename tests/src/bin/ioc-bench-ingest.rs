//! Sustained ingest, end to end: MQTT publishers send QoS 1 readings as fast as the broker
//! acknowledges them, into the real `ioc-server`, which stores every one (embedded SQLite, or
//! InfluxDB line protocol into VictoriaMetrics) while a websocket client watches the live tiles
//! update. Prints JSON: readings/s published, readings/s stored (first publish to last reading
//! durable), whether every reading is in the store, tile updates seen, and the server's CPU
//! time and peak RSS.
//!
//! ```sh
//! cargo build --release -p ioc-server -p ioc-tests
//! target/release/ioc-bench-ingest --store embedded --readings 1000000
//! target/release/ioc-bench-ingest --store influxdb --readings 300000   # VictoriaMetrics
//! ```
//!
//! Options: `--store embedded|influxdb`, `--broker embedded|mosquitto`, `--readings N`,
//! `--rate R` (readings/s from all publishers; 0, the default, is as fast as the broker takes),
//! `--publishers P` (MQTT connections), `--sources S` (distinct topics; each reading of a
//! source has its own `ts`, so none is a duplicate). `IOC_SERVER_BIN` overrides the server.

use std::time::{Duration, Instant};

use anyhow::bail;
use ioc_protocol::Domain;
use ioc_server::store::embedded::EmbeddedReader;
use ioc_tests::load::proc_usage;
use ioc_tests::victoria::Victoria;
use ioc_tests::{LiveClient, Mosquitto, Publisher, TestServer, args};

fn arg(name: &str, default: &str) -> String {
    args::text(name).unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let store = arg("--store", "embedded");
    let broker_kind = arg("--broker", "embedded");
    let readings = args::num("--readings", 1_000_000)?;
    let publishers = args::num("--publishers", 4)?.max(1);
    let sources = args::num("--sources", 2_000)?.max(1);
    // Readings per second from all publishers together; 0 sends as fast as the broker takes.
    let rate = args::num("--rate", 0)?;

    let vm = match store.as_str() {
        "embedded" => None,
        "influxdb" => Some(Victoria::start().await?),
        other => bail!("--store {other}: embedded or influxdb"),
    };
    let mosquitto = match broker_kind.as_str() {
        "embedded" => None,
        "mosquitto" => Some(Mosquitto::start()?),
        other => bail!("--broker {other}: embedded or mosquitto"),
    };
    let mut args: Vec<String> = Vec::new();
    if let Some(vm) = &vm {
        args.extend(["--store", "influxdb", "--influxdb-url", &vm.url].map(String::from));
    }
    if let Some(m) = &mosquitto {
        args.extend(["--mqtt-url".to_owned(), format!("mqtt://{}", m.addr)]);
    }
    let server = TestServer::start_with(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    server.wait_subscribed().await?;
    let mut live = LiveClient::connect(&server).await?;
    let areas = live.area_codes();
    let (cpu_before, _, _) = proc_usage(server.proc.pid())?;

    // Every publisher sends its share of the sources round-robin, each reading of a source one
    // millisecond after the previous (so that (topic, ts) is unique, and well within the
    // contract's window), waiting only for the broker's flow control.
    let start_ts = ioc_tests::now_ms() - 3_600_000;
    let broker = mosquitto.as_ref().map_or(server.mqtt, |m| m.addr);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..publishers {
        let mut publisher = Publisher::connect(broker, &format!("bench-{p}")).await?;
        let areas = areas.clone();
        let share = readings / publishers + u64::from(p < readings % publishers);
        tasks.push(tokio::spawn(async move {
            let mine: Vec<u64> = (0..sources).filter(|s| s % publishers == p).collect();
            // Paced in steps of 10 ms, each sending its share of the step.
            let per_step = (rate as f64 / publishers as f64 / 100.0).max(1.0);
            let mut step = tokio::time::interval(Duration::from_millis(10));
            let mut due = 0.0;
            for i in 0..share {
                if rate > 0 {
                    while due < 1.0 {
                        step.tick().await;
                        due += per_step;
                    }
                    due -= 1.0;
                }
                let s = mine[(i % mine.len() as u64) as usize];
                let round = i / mine.len() as u64;
                let area = &areas[(s % areas.len() as u64) as usize];
                let v = (s + round) % 300;
                let payload = format!(
                    r#"{{"ts":{},"seq":{round},"values":{{"aqi":{v},"pm25_ugm3":{},"temp_c":31.5,"humidity_pct":72}}}}"#,
                    start_ts + round as i64,
                    v as f64 / 2.0
                );
                publisher
                    .publish(&format!("ioc/v1/env/{area}/bench-{s}"), payload)
                    .await?;
            }
            publisher
                .wait_acks(share as usize, Duration::from_secs(600))
                .await?;
            anyhow::Ok(())
        }));
    }
    // Watch the tiles while the publishers run.
    let before = live.messages;
    let mut tile_updates = 0u64;
    while !tasks.iter().all(|t| t.is_finished()) {
        let _ = live.wait_for(Duration::from_millis(500), |_| false).await;
        tile_updates = live.messages - before;
    }
    for t in tasks {
        t.await??;
    }
    let published_s = started.elapsed().as_secs_f64();

    // Until every reading is durable, or nothing moved for 10 s (a broker that dropped some).
    let mut last = (0, Instant::now());
    let written = loop {
        let h = server.get_json("/healthz").await?;
        let written = h["store"]["written"].as_u64().unwrap_or(0);
        if written != last.0 {
            last = (written, Instant::now());
        }
        if written >= readings || last.1.elapsed() > Duration::from_secs(10) {
            break written;
        }
        let _ = live.wait_for(Duration::from_millis(50), |_| false).await;
    };
    let stored_s = started.elapsed().as_secs_f64();
    let (cpu_after, _, peak_rss) = proc_usage(server.proc.pid())?;
    let rejected = server.get_json("/api/v1/ingest/rejected").await?;

    // Count what is really there.
    let in_store = match &vm {
        None => EmbeddedReader::open_file(&server.data_dir.path().join("ioc.sqlite"))
            .map_err(anyhow::Error::msg)?
            .count_readings()
            .map_err(anyhow::Error::msg)?,
        Some(vm) => {
            let samples = vm.export(Some(r#"{__name__="env_aqi"}"#)).await?;
            let keys: std::collections::HashSet<_> = samples
                .iter()
                .map(|s| (s.0.1.get("source").cloned(), s.1))
                .collect();
            keys.len() as u64
        }
    };
    let aqi_on_screen = areas
        .iter()
        .filter(|a| live.mean(Domain::Env, a, "aqi").is_some())
        .count();
    let report = serde_json::json!({
        "store": store,
        "broker": broker_kind,
        "publishers": publishers,
        "sources": sources,
        "readings": readings,
        "target_rate_per_s": rate,
        "points": readings * 4,
        "published_per_s": readings as f64 / published_s,
        "stored_per_s": written as f64 / stored_s,
        "seconds": stored_s,
        "written_by_server": written,
        "readings_in_store": in_store,
        "lost": readings.saturating_sub(in_store),
        "rejected": rejected["rejected"],
        "tile_messages_during_publish": tile_updates,
        "areas_with_aqi_on_screen": aqi_on_screen,
        "server_cpu_s": cpu_after - cpu_before,
        "server_peak_rss_mb": peak_rss as f64 / 1_048_576.0,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if in_store < readings {
        bail!("{} readings missing from the store", readings - in_store);
    }
    Ok(())
}
