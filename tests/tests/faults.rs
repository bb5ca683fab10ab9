//! Faults a city's operations center lives with: garbage from gateways at scale, a broker
//! that restarts, and the server itself stopped under load. Nothing acknowledged is lost, and
//! what is refused is counted exactly.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, ensure};
use ioc_protocol::{Domain, RejectReason};
use ioc_tests::{LiveClient, Mosquitto, Publisher, TestServer, now_ms};

const WAIT: Duration = Duration::from_secs(30);

/// Polls the store until it holds `n` readings of `topic` with `ts` in [from, to); returns
/// the smallest and largest value of `field` among them.
async fn wait_stored(
    server: &TestServer,
    topic: &str,
    field: &str,
    (from, to): (i64, i64),
    n: u64,
) -> anyhow::Result<(f64, f64)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (count, min, max) = server.stored(topic, field, from, to).await?;
        if count == n {
            return Ok((min.unwrap_or(f64::NAN), max.unwrap_or(f64::NAN)));
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{topic}: {count} of {n} readings in the store"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One message of every kind of bad input a gateway can send over MQTT, by the reason it is
/// refused under. (`forbidden` needs gateway auth: tests/tests/auth.rs.)
fn bad_inputs(now: i64) -> Vec<(RejectReason, String, Vec<u8>)> {
    use RejectReason::*;
    let ok = "ioc/v1/env/q1/bad-1".to_owned();
    let json = |s: String| s.into_bytes();
    vec![
        (
            BadTopic,
            // Under `ioc/v1/` (the server subscribes to nothing else), but malformed.
            "ioc/v1/env/Q1/bad-1".into(),
            json(format!(r#"{{"ts":{now},"values":{{"aqi":1}}}}"#)),
        ),
        (
            UnknownDomain,
            "ioc/v1/weather/q1/bad-1".into(),
            json(format!(r#"{{"ts":{now},"values":{{"aqi":1}}}}"#)),
        ),
        (
            UnknownArea,
            "ioc/v1/env/atlantis/bad-1".into(),
            json(format!(r#"{{"ts":{now},"values":{{"aqi":1}}}}"#)),
        ),
        (
            TooLarge,
            ok.clone(),
            vec![b' '; ioc_protocol::ingest::MAX_PAYLOAD_BYTES + 1],
        ),
        (NotUtf8, ok.clone(), vec![0xff, 0xfe, b'{', 0x80]),
        (NotJson, ok.clone(), b"{\"ts\": 1, values".to_vec()),
        (NotObject, ok.clone(), b"[1, 2, 3]".to_vec()),
        (MissingTs, ok.clone(), b"{\"values\":{\"aqi\":1}}".to_vec()),
        (
            BadTs,
            ok.clone(),
            b"{\"ts\":\"yesterday\",\"values\":{\"aqi\":1}}".to_vec(),
        ),
        (
            TsInFuture,
            ok.clone(),
            json(format!(
                r#"{{"ts":{},"values":{{"aqi":1}}}}"#,
                now + 2 * 3_600_000
            )),
        ),
        (
            TsTooOld,
            ok.clone(),
            json(format!(
                r#"{{"ts":{},"values":{{"aqi":1}}}}"#,
                now - 8 * 86_400_000
            )),
        ),
        (
            NonFiniteNumber,
            ok.clone(),
            json(format!(r#"{{"ts":{now},"values":{{"aqi":NaN}}}}"#)),
        ),
        (
            BadSeq,
            ok.clone(),
            json(format!(r#"{{"ts":{now},"seq":-1,"values":{{"aqi":1}}}}"#)),
        ),
        (
            MissingValues,
            ok.clone(),
            json(format!(r#"{{"ts":{now}}}"#)),
        ),
        (
            BadValue,
            ok.clone(),
            json(format!(r#"{{"ts":{now},"values":{{"humidity_pct":150}}}}"#)),
        ),
        (
            BadField,
            "ioc/v1/complaint/q1/bad-1".into(),
            json(format!(
                r#"{{"ts":{now},"id":"x","category":"weather","channel":"app","status":"received"}}"#
            )),
        ),
        (
            UnknownStatus,
            "ioc/v1/complaint/q1/bad-1".into(),
            json(format!(
                r#"{{"ts":{now},"id":"x","category":"traffic","channel":"app","status":"lost"}}"#
            )),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_input_at_1000_a_second_leaves_valid_readings_alone() -> anyhow::Result<()>
{
    let server = TestServer::start()?;
    let mut live = LiveClient::connect(&server).await?;
    let mut valid = Publisher::connect(server.mqtt, "valid-gateway").await?;
    let mut bad = Publisher::connect(server.mqtt, "bad-gateway").await?;
    let t0 = now_ms() - 60_000;
    let kinds = bad_inputs(now_ms());
    // Every reason a message can be refused for over MQTT is sent.
    for r in RejectReason::ALL {
        ensure!(
            r == RejectReason::Forbidden || kinds.iter().any(|(k, ..)| *k == r),
            "no bad input of kind {r}"
        );
    }

    // 10 s: each 100 ms, 100 bad messages (1,000/s, every kind in turn) and 10 valid
    // readings over 10 sources (100/s), all QoS 1.
    let ticks = 100;
    let sources = 10;
    let mut sent: BTreeMap<RejectReason, u64> = BTreeMap::new();
    let mut every = tokio::time::interval(Duration::from_millis(100));
    for tick in 0..ticks {
        every.tick().await;
        for i in 0..100 {
            let (reason, topic, payload) = &kinds[(tick * 100 + i) % kinds.len()];
            bad.publish(topic, payload.clone()).await?;
            *sent.entry(*reason).or_default() += 1;
        }
        for s in 0..sources {
            valid
                .publish(
                    &format!("ioc/v1/env/q1/good-{s}"),
                    format!(
                        r#"{{"ts":{},"seq":{tick},"values":{{"aqi":{tick}}}}}"#,
                        t0 + tick as i64
                    ),
                )
                .await?;
        }
        bad.wait_acks(100, WAIT).await?;
        valid.wait_acks(sources, WAIT).await?;
    }

    // Every valid reading is in the store, none lost, and the tile shows the newest.
    for s in 0..sources {
        let topic = format!("ioc/v1/env/q1/good-{s}");
        let (min, max) = wait_stored(
            &server,
            &topic,
            "aqi",
            (t0, t0 + ticks as i64),
            ticks as u64,
        )
        .await?;
        assert_eq!((min, max), (0.0, (ticks - 1) as f64), "{topic}");
    }
    live.wait_for(WAIT, |c| {
        c.mean(Domain::Env, "q1", "aqi") == Some((ticks - 1) as f64)
    })
    .await
    .context("the air tile never showed the newest valid reading")?;

    // The counts are exact, reason by reason.
    let m = server.metrics().await?;
    assert_eq!(
        m.value("ioc_ingest_accepted_total")?,
        (ticks * sources) as f64
    );
    assert_eq!(m.value("ioc_ingest_lost_messages")?, 0.0);
    for r in RejectReason::ALL {
        let want = sent.get(&r).copied().unwrap_or(0) as f64;
        let got = m.value(&format!("ioc_ingest_rejected_total{{reason=\"{r}\"}}"))?;
        assert_eq!(got, want, "{r}");
    }
    let report = server.get_json("/api/v1/ingest/rejected").await?;
    assert_eq!(
        report["rejected"].as_u64(),
        Some(sent.values().sum::<u64>())
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_mosquitto_restarts_under_1000_readings_a_second_lose_nothing() -> anyhow::Result<()> {
    let mut broker = Mosquitto::start()?;
    let server = TestServer::start_external(broker.addr)?;
    server.wait_subscribed().await?;
    let (tx, mut acked) = tokio::sync::mpsc::unbounded_channel::<()>();
    // The gateway: 1,000 QoS 1 readings a second over 10 sources, seq and value counting up,
    // for as long as the restarts last. Its client queues what it cannot send while the
    // broker is away and sends it again after: a persistent session, as QoS 1 gateways need
    // (on a clean one, rumqttc drops unacknowledged publishes at reconnection).
    let sources = 10;
    let per_source: u64 = 25_000 / sources;
    let t0 = now_ms() - 120_000;
    let mut publisher = Publisher::connect_persistent(broker.addr, "restart-gateway").await?;
    let gateway = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_millis(10));
        for seq in 0..per_source {
            every.tick().await;
            for s in 0..sources {
                publisher
                    .publish(
                        &format!("ioc/v1/env/q1/restart-{s}"),
                        format!(
                            r#"{{"ts":{},"seq":{seq},"values":{{"aqi":{}}}}}"#,
                            t0 + seq as i64,
                            seq % 500
                        ),
                    )
                    .await?;
            }
            let _ = tx.send(());
        }
        publisher
            .wait_acks((per_source * sources) as usize, Duration::from_secs(60))
            .await?;
        anyhow::Ok(())
    });

    let mut downs = Vec::new();
    for _ in 0..10 {
        // 1.5 s of traffic between restarts, half a second down each time: the server's
        // reconnection backs off, the gateway queues what it cannot send.
        for _ in 0..150 {
            acked.recv().await.context("the gateway stopped early")?;
        }
        let (back, down) =
            tokio::task::spawn_blocking(move || broker.restart(Duration::from_millis(500)))
                .await??;
        broker = back;
        downs.push(down);
    }
    gateway.await??;

    for s in 0..sources {
        let topic = format!("ioc/v1/env/q1/restart-{s}");
        let (min, max) = wait_stored(
            &server,
            &topic,
            "aqi",
            (t0, t0 + per_source as i64),
            per_source,
        )
        .await?;
        assert_eq!((min, max), (0.0, 499.0), "{topic}");
    }
    let m = server.metrics().await?;
    assert_eq!(m.value("ioc_ingest_lost_messages")?, 0.0, "gaps in seq");
    assert!(m.value("ioc_broker_connects_total")? >= 11.0);
    eprintln!(
        "{} readings through 10 broker restarts (down {:?} each), all in the store",
        per_source * sources,
        downs
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_exits_within_5s_and_loses_nothing_acknowledged() -> anyhow::Result<()> {
    let broker = Mosquitto::start()?;
    let mut server = TestServer::start_external(broker.addr)?;
    server.wait_subscribed().await?;
    let mut live = LiveClient::connect(&server).await?;
    let mut publisher = Publisher::connect(broker.addr, "sigterm-gateway").await?;
    let total: i64 = 20_000;
    let t0 = now_ms() - 60_000;
    let mut stopped = None;
    for i in 0..total {
        publisher
            .publish(
                "ioc/v1/env/q1/sigterm",
                format!(
                    r#"{{"ts":{},"seq":{i},"values":{{"aqi":{}}}}}"#,
                    t0 + i,
                    i % 500
                ),
            )
            .await?;
        if i % 500 == 499 {
            publisher.wait_acks(500, WAIT).await?;
        }
        if i == total / 2 {
            // Mid-stream, about 2,000 readings/s in flight.
            let started = std::time::Instant::now();
            let status = server.terminate(Duration::from_secs(5))?;
            stopped = Some(started.elapsed());
            assert!(status.success(), "exit status {status}");
            // The browser was told: a close frame, 1001 (going away), not a dropped line.
            assert_eq!(live.close_code(Duration::from_secs(1)).await?, Some(1001));
        }
    }
    let stopped = stopped.context("never stopped")?;
    eprintln!("SIGTERM under load: exited in {stopped:?}");
    // The same data directory and ports (the process has exited: nothing is killed).
    let server = server.crash_and_restart()?;
    wait_stored(
        &server,
        "ioc/v1/env/q1/sigterm",
        "aqi",
        (t0, t0 + total),
        total as u64,
    )
    .await?;
    Ok(())
}
