//! A store outage loses nothing: at 2,000 readings/s over QoS 1, the remote store
//! (VictoriaMetrics, speaking InfluxDB's write API) is stopped for 30 seconds and started
//! again; afterwards every reading published is in the store exactly once, by (topic, ts).
//!
//! The broker is Mosquitto, as in production: under this load, with the subscriber holding
//! back acknowledgements while it spools, the embedded rumqttd 0.20 was seen to never deliver
//! a large share of the messages it had acknowledged to the publisher (see
//! `docs/reliability.md`).

use std::collections::BTreeMap;
use std::time::Duration;

use ioc_tests::victoria::Victoria;
use ioc_tests::{Mosquitto, Publisher, TestServer, now_ms};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_second_store_outage_at_2000_readings_per_second_loses_nothing() -> anyhow::Result<()>
{
    let mut vm = Victoria::start().await?;
    let broker = Mosquitto::start()?;
    let server = TestServer::start_with(&[
        "--store",
        "influxdb",
        "--influxdb-url",
        &vm.url,
        "--mqtt-url",
        &format!("mqtt://{}", broker.addr),
    ])?;
    server.wait_subscribed().await?;
    let mut publisher = Publisher::connect(broker.addr, "outage-gateway").await?;

    let rate = 2000;
    let seconds = 45;
    let outage = (5, 35); // seconds into the run
    let total = rate * seconds;
    let areas = ["q1", "q3", "thu-duc", "go-vap"];
    let t0 = now_ms() - 60_000;
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0usize;
    let mut acked = 0usize;
    let mut stopped = false;
    let mut restarted = false;
    while sent < total {
        tick.tick().await;
        // 20 readings every 10 ms: 2,000 a second.
        for _ in 0..(rate / 100) {
            let area = areas[sent % areas.len()];
            // A distinct ts per reading of a series: (topic, ts) identifies it.
            let ts = t0 + (sent / areas.len()) as i64;
            publisher
                .publish(
                    &format!("ioc/v1/env/{area}/outage"),
                    format!(r#"{{"ts":{ts},"values":{{"aqi":{}}}}}"#, sent % 500),
                )
                .await?;
            sent += 1;
        }
        if sent - acked >= 1000 {
            publisher
                .wait_acks(sent - acked, Duration::from_secs(10))
                .await?;
            acked = sent;
        }
        let at = started.elapsed().as_secs();
        if at >= outage.0 && !stopped {
            vm.stop()?;
            stopped = true;
        }
        if at >= outage.1 && !restarted {
            vm.restart().await?;
            restarted = true;
        }
    }
    publisher
        .wait_acks(sent - acked, Duration::from_secs(10))
        .await?;
    assert!(stopped && restarted, "the run was too short for the outage");
    let report = server.get_json("/api/v1/store").await?;
    assert!(
        report["spooled"].as_u64().unwrap_or(0) > 0,
        "nothing was spooled: {report}"
    );

    // Everything arrives, once.
    let held = match vm
        .export_until("every reading", Duration::from_secs(60), |s| {
            s.len() >= total
        })
        .await
    {
        Ok(h) => h,
        Err(e) => {
            let report = server.get_json("/api/v1/store").await?;
            let ingest = server.get_json("/api/v1/ingest/rejected").await?;
            anyhow::bail!("{e}\nstore: {report}\naccepted: {}", ingest["accepted"]);
        }
    };
    let mut seen: BTreeMap<(String, i64), u32> = BTreeMap::new();
    for ((name, labels), ts, _) in &held {
        assert_eq!(name, "env_aqi");
        *seen.entry((labels["area"].clone(), *ts)).or_default() += 1;
    }
    for i in 0..total {
        let key = (
            areas[i % areas.len()].to_owned(),
            t0 + (i / areas.len()) as i64,
        );
        assert_eq!(seen.get(&key), Some(&1), "reading {i} {key:?}");
    }
    assert_eq!(held.len(), total, "nothing twice, nothing else");
    let report = server.get_json("/api/v1/store").await?;
    assert_eq!(report["spool_batches"], 0, "the spool is drained: {report}");
    eprintln!("store outage: {report}");
    Ok(())
}
