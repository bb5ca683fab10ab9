//! What the server tells its operators: `/metrics`, `/readyz`, and the System tile, which
//! read the same counters.

use std::time::Duration;

use anyhow::{Context, ensure};
use ioc_tests::{LiveClient, Mosquitto, Publisher, TestServer, now_ms};

const WAIT: Duration = Duration::from_secs(20);

/// Polls `/metrics` until `done` holds.
async fn metrics_until(
    server: &TestServer,
    what: &str,
    done: impl Fn(&ioc_tests::Metrics) -> bool,
) -> anyhow::Result<ioc_tests::Metrics> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let m = server.metrics().await?;
        if done(&m) {
            return Ok(m);
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "{what} never showed in /metrics:\n{}",
            m.0
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_came_in_what_was_refused_and_what_was_lost() -> anyhow::Result<()> {
    let token = "metrics-token-for-the-test";
    let server = TestServer::start_with(&["--metrics-token", token])?;
    let mut live = LiveClient::connect(&server).await?;
    let mut publisher = Publisher::connect(server.mqtt, "obs-gateway").await?;
    let t0 = now_ms() - 10_000;
    // seq 3 and 4 never come; 9 comes late, after 10; 10 comes twice (a redelivery).
    let seqs = [0, 1, 2, 5, 6, 7, 8, 10, 9, 10];
    for (i, seq) in seqs.iter().enumerate() {
        publisher
            .publish(
                "ioc/v1/env/q1/obs-1",
                format!(
                    r#"{{"ts":{},"seq":{seq},"values":{{"aqi":{}}}}}"#,
                    t0 + seq,
                    40 + i
                ),
            )
            .await?;
    }
    let bad: [(&str, &[u8]); 3] = [
        ("ioc/v1/env/q1/obs-1", b"not json"),
        ("ioc/v1/env/q1/obs-1", b"{\"values\":{\"aqi\":1}}"),
        (
            "ioc/v1/env/nowhere/obs-1",
            b"{\"ts\":1,\"values\":{\"aqi\":1}}",
        ),
    ];
    for (topic, payload) in bad {
        publisher.publish(topic, payload.to_vec()).await?;
    }
    publisher.wait_acks(seqs.len() + bad.len(), WAIT).await?;

    // Journaled, then folded into the SQLite file, with nothing left waiting.
    let m = metrics_until(&server, "every message", |m| {
        m.get("ioc_ingest_accepted_total") == Some(seqs.len() as f64)
            && m.get("ioc_store_written_total") >= Some(seqs.len() as f64)
            && m.get("ioc_store_folded_total") >= Some(seqs.len() as f64)
            && m.get("ioc_store_fold_pending") == Some(0.0)
    })
    .await?;
    for (series, want) in [
        ("ioc_ingest_rejected_total{reason=\"not_json\"}", 1.0),
        ("ioc_ingest_rejected_total{reason=\"missing_ts\"}", 1.0),
        ("ioc_ingest_rejected_total{reason=\"unknown_area\"}", 1.0),
        ("ioc_ingest_rejected_total{reason=\"too_large\"}", 0.0),
        // 3 and 4: the late 9 and the second 10 are not losses.
        ("ioc_ingest_lost_messages", 2.0),
        (
            "ioc_source_lost_messages{topic=\"ioc/v1/env/q1/obs-1\"}",
            2.0,
        ),
        (
            "ioc_source_up{domain=\"env\",area=\"q1\",source=\"obs-1\"}",
            1.0,
        ),
        ("ioc_broker_connected", 1.0),
        ("ioc_websocket_clients", 1.0),
        ("ioc_store_writable", 1.0),
        ("ioc_spool_batches", 0.0),
        ("ioc_store_fold_failures_total", 0.0),
    ] {
        assert_eq!(m.value(series)?, want, "{series}");
    }
    let last_seen = m.value(
        "ioc_source_last_seen_timestamp_seconds{domain=\"env\",area=\"q1\",source=\"obs-1\"}",
    )?;
    assert_eq!(
        (last_seen * 1000.0).round() as i64,
        t0 + 10,
        "the newest ts of the source (the late one does not replace it)"
    );
    assert!(m.value("ioc_store_write_seconds_count")? >= 1.0);
    assert!(m.value("ioc_hub_messages_applied_total")? >= seqs.len() as f64);
    assert!(m.value("ioc_hub_deltas_total")? >= 1.0);
    assert!(m.value("process_resident_memory_bytes")? > 1e6);
    // Every line is a comment or `name{labels} value`.
    for line in m.0.lines().filter(|l| !l.starts_with('#')) {
        let (_, value) = line.rsplit_once(' ').context(line.to_owned())?;
        ensure!(value.parse::<f64>().is_ok(), "bad line {line:?}");
    }

    // The System tile says the same.
    live.wait_for(WAIT, |c| c.system().is_some_and(|s| s.lost_messages == 2))
        .await
        .context("the System tile's lost messages")?;
    let sys = live.system().context("system figures")?;
    assert!(sys.broker_connected && sys.store_writable, "{sys:?}");

    // A Prometheus scraper with the token, no session; a wrong token and a viewer are refused.
    let http = reqwest::Client::new();
    let scrape = |auth: Option<&str>| {
        let mut r = http.get(server.url("/metrics"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.send()
    };
    let ok = scrape(Some(&format!("Bearer {token}"))).await?;
    assert_eq!(ok.status(), 200);
    assert!(
        ok.headers()["content-type"]
            .to_str()?
            .starts_with("text/plain; version=0.0.4")
    );
    assert_eq!(scrape(Some("Bearer wrong")).await?.status(), 401);
    assert_eq!(scrape(None).await?.status(), 401);

    // Ready: broker connected, store writable.
    let ready = http.get(server.url("/readyz")).send().await?;
    assert_eq!(ready.status(), 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_and_the_system_tile_follow_the_broker() -> anyhow::Result<()> {
    let broker = Mosquitto::start()?;
    let (dir, port) = (broker.dir, broker.addr.port());
    let proc = broker.proc;
    let server = TestServer::start_external(broker.addr)?;
    server.wait_subscribed().await?;
    let mut live = LiveClient::connect(&server).await?;
    let http = reqwest::Client::new();
    let readyz = || async {
        let r = http.get(server.url("/readyz")).send().await?;
        let status = r.status().as_u16();
        anyhow::Ok((status, r.json::<serde_json::Value>().await?))
    };
    assert_eq!(readyz().await?.0, 200);

    drop(proc);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = readyz().await?;
        if status == 503 {
            assert_eq!(body["broker_connected"], false, "{body}");
            assert_eq!(body["store_writable"], true, "{body}");
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "still ready: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    live.wait_for(WAIT, |c| c.system().is_some_and(|s| !s.broker_connected))
        .await
        .context("the System tile never showed the broker down")?;

    // Down long enough for the reconnection's backoff to reach its longest wait (2 s).
    tokio::time::sleep(Duration::from_secs(4)).await;
    let back = Mosquitto::start_at(dir, port)?;
    let returned = tokio::time::Instant::now();
    loop {
        let (status, body) = readyz().await?;
        if status == 200 {
            break;
        }
        // Within 2 s of the broker's return, with room for this test's own polling.
        ensure!(
            returned.elapsed() < Duration::from_millis(2500),
            "not ready {:?} after the broker came back: {body}",
            returned.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "ready again {:?} after the broker's return",
        returned.elapsed()
    );
    let m = server.metrics().await?;
    assert_eq!(m.value("ioc_broker_connects_total")?, 2.0);
    drop(back);
    Ok(())
}
