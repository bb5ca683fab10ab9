//! A store outage loses nothing: at 2,000 readings/s over QoS 1, the remote store
//! (VictoriaMetrics, speaking InfluxDB's write API) is stopped for 30 seconds and started
//! again; afterwards every reading published is in the store exactly once, by (topic, ts).
//! Behind Mosquitto, as in production, and with the default configuration's embedded MQTT
//! endpoint, whose PUBACK waits until the reading is durable (written or spooled).
//!
//! And a store that stalls (frozen with SIGSTOP: it accepts connections and answers nothing)
//! makes the gateways wait, never lose: the server holds back its acknowledgements until the
//! spool has the readings, and its memory stays bounded meanwhile.

use std::collections::BTreeMap;
use std::time::Duration;

use ioc_tests::victoria::Victoria;
use ioc_tests::{Mosquitto, Publisher, TestServer, now_ms};

/// What happens to the store during the run, by seconds into it.
#[derive(Clone, Copy)]
enum Trouble {
    /// Stopped (SIGTERM) at the first second, started again at the second.
    Outage(u64, u64),
    /// Frozen (SIGSTOP) at the first second, thawed at the second.
    Stall(u64, u64),
}

/// Publishes `seconds` x 2,000 readings over QoS 1 to the server's store on VictoriaMetrics,
/// through Mosquitto (`behind_mosquitto`) or the server's own endpoint, with `trouble` on the
/// way; then checks that every reading is stored exactly once. The server's RSS, sampled each
/// second, at its largest.
async fn run(behind_mosquitto: bool, seconds: usize, trouble: Trouble) -> anyhow::Result<u64> {
    let mut vm = Victoria::start().await?;
    let broker = match behind_mosquitto {
        true => Some(Mosquitto::start()?),
        false => None,
    };
    let mut args = vec![
        "--store".to_owned(),
        "influxdb".into(),
        "--influxdb-url".into(),
        vm.url.clone(),
    ];
    if let Some(b) = &broker {
        args.extend(["--mqtt-url".to_owned(), format!("mqtt://{}", b.addr)]);
    }
    let server = TestServer::start_with(&args.iter().map(String::as_str).collect::<Vec<_>>())?;
    server.wait_subscribed().await?;
    let addr = broker.as_ref().map_or(server.mqtt, |b| b.addr);
    let mut publisher = Publisher::connect(addr, "outage-gateway").await?;

    let rate = 2000;
    let total = rate * seconds;
    let areas = ["q1", "q3", "thu-duc", "go-vap"];
    let t0 = now_ms() - 60_000;
    let started = tokio::time::Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut sent = 0usize;
    let mut acked = 0usize;
    let (mut began, mut ended) = (false, false);
    let mut max_rss = 0u64;
    let mut sampled = 0u64;
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
        // The gateway's window: it waits for acknowledgements past 1,000 unacknowledged (up
        // to the store's request timeout and the spool taking over, for a stalled store).
        if sent - acked >= 1000 {
            publisher
                .wait_acks(sent - acked, Duration::from_secs(60))
                .await?;
            acked = sent;
        }
        let at = started.elapsed().as_secs();
        if at > sampled {
            sampled = at;
            let (_, rss, _) = ioc_tests::load::proc_usage(server.proc.pid())?;
            max_rss = max_rss.max(rss);
        }
        match trouble {
            Trouble::Outage(from, _) if at >= from && !began => vm.stop()?,
            Trouble::Outage(_, to) if at >= to && !ended => vm.restart().await?,
            Trouble::Stall(from, _) if at >= from && !began => vm.pause()?,
            Trouble::Stall(_, to) if at >= to && !ended => vm.resume()?,
            _ => continue,
        }
        if began {
            ended = true;
        }
        began = true;
    }
    publisher
        .wait_acks(sent - acked, Duration::from_secs(60))
        .await?;
    assert!(began && ended, "the run was too short for the trouble");
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
    eprintln!("store trouble: {report}; largest RSS {} MB", max_rss >> 20);
    Ok(max_rss)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_second_store_outage_at_2000_readings_per_second_loses_nothing() -> anyhow::Result<()>
{
    run(true, 45, Trouble::Outage(5, 35)).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_30_second_store_outage_with_the_embedded_endpoint_loses_nothing() -> anyhow::Result<()> {
    run(false, 45, Trouble::Outage(5, 35)).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_store_makes_the_gateways_wait_and_loses_nothing() -> anyhow::Result<()> {
    let max_rss = run(false, 30, Trouble::Stall(5, 20)).await?;
    assert!(
        max_rss < 400 << 20,
        "the server's RSS reached {} MB while the store stalled",
        max_rss >> 20
    );
    Ok(())
}

/// Behind Mosquitto, an indicator report that arrives while the store is down waits in the
/// server for its store; when the server is stopped meanwhile, the report gives up and is not
/// acknowledged, so Mosquitto keeps it for the server's session and hands it to the next
/// start, which stores it once the store is back. (Its acknowledgement at the stop would have
/// lost it; whether one got out before the link's last poll was a race, which the link's stop
/// check closes, so this guards the whole path rather than catching that race each run.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_indicator_report_held_at_a_stop_while_the_store_is_down_is_stored_after_the_restart()
-> anyhow::Result<()> {
    use ioc_protocol::indicator::{Periodicity, Report};
    let mut vm = Victoria::start().await?;
    let broker = Mosquitto::start()?;
    let args = [
        "--store",
        "influxdb",
        "--influxdb-url",
        &vm.url,
        "--mqtt-url",
        &format!("mqtt://{}", broker.addr),
    ];
    let server = TestServer::start_with(&args)?;
    server.wait_subscribed().await?;
    vm.stop()?;
    let now = now_ms();
    let month = Periodicity::Month
        .period_at(now)
        .prev()
        .expect("a month before this one");
    let report = Report {
        ts: now,
        period: month,
        values: [("budget_revenue".to_owned(), 31_234.0)].into(),
    };
    let mut unit = Publisher::connect(broker.addr, "gw-so-tc-outage").await?;
    unit.publish("ioc/v1/indicator/city/so-tc", report.encode())
        .await?;
    unit.wait_acks(1, Duration::from_secs(10)).await?;
    // The server has it, and waits for its store.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stopped = server.stop(Duration::from_secs(60))?;
    vm.restart().await?;
    let server = stopped.restart()?;
    server.wait_subscribed().await?;
    let held = vm
        .export_until("the report", Duration::from_secs(60), |s| {
            s.iter().any(|x| x.0.0 == "indicator_value")
        })
        .await?;
    let values: Vec<f64> = held
        .iter()
        .filter(|s| s.0.0 == "indicator_value")
        .map(|s| s.2)
        .collect();
    assert_eq!(values, [31_234.0], "the report, once");
    Ok(())
}
