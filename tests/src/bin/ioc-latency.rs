//! Publish-to-websocket latency, end to end: starts the real server (embedded broker), a
//! websocket client, and an MQTT publisher that stamps each reading with its send time; prints
//! the latency of every reading that reached the screen (p50, p99, max) as JSON.
//!
//! `cargo run --release -p ioc-tests --bin ioc-latency -- --readings 5000 --rate 500`
//! (build the server first: `cargo build --release -p ioc-server`; `IOC_SERVER_BIN` overrides
//! its path).

use std::time::Duration;

use ioc_protocol::Domain;
use ioc_tests::probe::now_us;
use ioc_tests::{LiveClient, Publisher, TestServer, args};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let readings = args::num("--readings", 5000)?;
    let rate = args::num("--rate", 500)?.max(1);
    let server = TestServer::start()?;
    let mut live = LiveClient::connect(&server).await?;
    let areas = live.area_codes();
    let publisher = Publisher::connect(server.mqtt, "ioc-latency").await?;

    // The publisher runs on its own task at a steady rate; the client measures as it reads.
    let pace = Duration::from_secs_f64(1.0 / rate as f64);
    let areas_pub = areas.clone();
    let sender = tokio::spawn(async move {
        let mut tick = tokio::time::interval(pace);
        for i in 0..readings {
            tick.tick().await;
            let area = &areas_pub[i as usize % areas_pub.len()];
            let sent = now_us();
            let payload = format!(
                r#"{{"ts":{},"values":{{"probe_sent_us":{sent}}}}}"#,
                sent / 1000
            );
            publisher
                .publish(&format!("ioc/v1/system/{area}/probe"), payload)
                .await?;
        }
        anyhow::Ok(publisher)
    });

    let mut seen: std::collections::HashMap<String, f64> = Default::default();
    let mut latencies_us: Vec<i64> = Vec::new();
    let deadline = Duration::from_secs(readings / rate + 30);
    let started = tokio::time::Instant::now();
    while !sender.is_finished() || latencies_us.is_empty() {
        if started.elapsed() > deadline {
            break;
        }
        let _ = live
            .wait_for(Duration::from_millis(200), |c| {
                areas.iter().any(|a| {
                    c.mean(Domain::System, a, "probe_sent_us")
                        .is_some_and(|v| seen.get(a) != Some(&v))
                })
            })
            .await;
        let now = now_us();
        for a in &areas {
            if let Some(v) = live.mean(Domain::System, a, "probe_sent_us")
                && seen.insert(a.clone(), v) != Some(v)
            {
                latencies_us.push(now - v as i64);
            }
        }
    }
    let _publisher = sender.await??;
    latencies_us.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies_us.len() as f64 - 1.0) * p).round() as usize;
        latencies_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
    };
    let report = serde_json::json!({
        "readings_published": readings,
        "rate_per_s": rate,
        "readings_on_screen": latencies_us.len(),
        "latency_ms": { "p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0) },
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
