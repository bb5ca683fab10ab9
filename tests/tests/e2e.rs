//! End to end: the real server on free ports, a real MQTT publisher, a real websocket client.

use std::collections::BTreeMap;

use anyhow::Context;
use std::time::Duration;

use ioc_protocol::{Domain, RejectReason};
use ioc_tests::{LiveClient, Mosquitto, Publisher, TestServer, now_ms};

const WAIT: Duration = Duration::from_secs(10);

/// Publishes one environment and one traffic reading and checks what the websocket shows.
async fn readings_reach_the_websocket(server: &TestServer) -> anyhow::Result<()> {
    let mut live = LiveClient::connect(server).await?;
    let snapshot = live.snapshot.as_ref().expect("snapshot");
    assert_eq!(snapshot.areas.len(), 22, "the Ho Chi Minh City preset");
    assert_eq!(snapshot.city_vi, "Thành phố Hồ Chí Minh");

    let mut publisher = Publisher::connect(server.mqtt, "e2e-gateway").await?;
    let ts = now_ms();
    publisher
        .publish(
            "ioc/v1/env/q1/aqs-q1-01",
            format!(r#"{{"ts":{ts},"seq":1,"values":{{"aqi":87,"pm25_ugm3":31.5}}}}"#),
        )
        .await?;
    publisher
        .publish(
            "ioc/v1/env/q1/aqs-q1-02",
            format!(
                r#"{{"ts":"{}","values":{{"aqi":113,"pm25_ugm3":45.5}}}}"#,
                rfc3339(ts)
            ),
        )
        .await?;
    publisher
        .publish(
            "ioc/v1/traffic/thu-duc/tfc-01",
            format!(r#"{{"ts":{ts},"values":{{"speed_kmh":18.5,"congestion":4}}}}"#),
        )
        .await?;
    publisher.wait_acks(3, WAIT).await?;

    live.wait_for(WAIT, |c| {
        c.mean(Domain::Env, "q1", "aqi") == Some(100.0)
            && c.mean(Domain::Traffic, "thu-duc", "speed_kmh") == Some(18.5)
    })
    .await?;
    let q1 = &live.stats[&(Domain::Env, "q1".to_owned())];
    assert_eq!(q1.fields["pm25_ugm3"].mean, 38.5);
    assert_eq!((q1.fields["aqi"].min, q1.fields["aqi"].max), (87.0, 113.0));
    assert_eq!((q1.sources, q1.fresh_sources), (2, 2));
    assert_eq!(q1.newest_ts, ts);
    assert!(!q1.stale);
    assert_eq!(
        live.mean(Domain::Traffic, "thu-duc", "congestion"),
        Some(4.0)
    );

    // A browser that connects now gets it all in its snapshot.
    let late = LiveClient::connect(server).await?;
    assert_eq!(late.mean(Domain::Env, "q1", "aqi"), Some(100.0));
    assert_eq!(
        late.mean(Domain::Traffic, "thu-duc", "speed_kmh"),
        Some(18.5)
    );
    Ok(())
}

fn rfc3339(ms: i64) -> String {
    chrono_like(ms)
}

/// RFC 3339 in Ho Chi Minh City's offset, without a date library.
fn chrono_like(ms: i64) -> String {
    let local = ms / 1000 + 7 * 3600;
    let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}+07:00",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        ms.rem_euclid(1000)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_reading_reaches_the_websocket() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    readings_reach_the_websocket(&server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_reading_reaches_the_websocket() -> anyhow::Result<()> {
    let broker = Mosquitto::start()?;
    let server = TestServer::start_external(broker.addr)?;
    // Wait until the server is subscribed: a message published before the server's first
    // subscription is not queued for it by any broker.
    server.wait_subscribed().await?;
    readings_reach_the_websocket(&server).await
}

/// Every kind of malformed message of the contract, with the reason it must be counted under.
fn bad_messages(ts: i64) -> Vec<(String, Vec<u8>, RejectReason)> {
    let t = "ioc/v1/env/q1/aqs-q1-01".to_owned();
    let good = |v: &str| format!(r#"{{"ts":{ts},"values":{v}}}"#).into_bytes();
    let hour = 3_600_000;
    vec![
        ("ioc/v1/env/q1".into(), good(r#"{"aqi":1}"#), RejectReason::BadTopic),
        ("ioc/v1/env/Q1/x".into(), good(r#"{"aqi":1}"#), RejectReason::BadTopic),
        ("ioc/v1/weather/q1/x".into(), good(r#"{"aqi":1}"#), RejectReason::UnknownDomain),
        ("ioc/v1/env/q2/x".into(), good(r#"{"aqi":1}"#), RejectReason::UnknownArea),
        (t.clone(), b"{\"ts\": 12".to_vec(), RejectReason::NotJson),
        (t.clone(), vec![0xff, 0xfe, 0x00], RejectReason::NotUtf8),
        (t.clone(), b"[1,2,3]".to_vec(), RejectReason::NotObject),
        (
            t.clone(),
            format!(r#"{{"ts":{ts},"values":{{"note":"{}"}}}}"#, "x".repeat(17 * 1024)).into_bytes(),
            RejectReason::TooLarge,
        ),
        (t.clone(), br#"{"values":{"aqi":1}}"#.to_vec(), RejectReason::MissingTs),
        (t.clone(), br#"{"ts":"yesterday","values":{"aqi":1}}"#.to_vec(), RejectReason::BadTs),
        (
            t.clone(),
            format!(r#"{{"ts":{},"values":{{"aqi":1}}}}"#, ts + 2 * hour).into_bytes(),
            RejectReason::TsInFuture,
        ),
        (
            t.clone(),
            format!(r#"{{"ts":{},"values":{{"aqi":1}}}}"#, ts - 8 * 24 * hour).into_bytes(),
            RejectReason::TsTooOld,
        ),
        (t.clone(), good(r#"{"aqi":NaN}"#), RejectReason::NonFiniteNumber),
        (t.clone(), good(r#"{"aqi":1e999}"#), RejectReason::NonFiniteNumber),
        (
            t.clone(),
            format!(r#"{{"ts":{ts},"seq":-4,"values":{{"aqi":1}}}}"#).into_bytes(),
            RejectReason::BadSeq,
        ),
        (t.clone(), format!(r#"{{"ts":{ts}}}"#).into_bytes(), RejectReason::MissingValues),
        (t.clone(), good(r#"{"aqi":"high"}"#), RejectReason::BadValue),
        (
            "ioc/v1/complaint/q1/hotline-1022".into(),
            format!(r#"{{"ts":{ts},"id":"PA-1","category":"traffic","channel":"hotline","status":"lost"}}"#)
                .into_bytes(),
            RejectReason::UnknownStatus,
        ),
        (
            "ioc/v1/service/q1/portal".into(),
            format!(r#"{{"ts":{ts},"id":"HS-1","service":"s","agency":"a","status":"done"}}"#)
                .into_bytes(),
            RejectReason::BadField,
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_counted_and_valid_readings_arrive_intact() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let mut live = LiveClient::connect(&server).await?;
    let mut publisher = Publisher::connect(server.mqtt, "e2e-bad-gateway").await?;
    let areas = live.area_codes();

    let ts = now_ms();
    let bad = bad_messages(ts);
    let rounds = 3;
    let mut expected_valid: BTreeMap<String, f64> = BTreeMap::new();
    let mut sent = 0;
    for round in 0..rounds {
        for (i, area) in areas.iter().enumerate() {
            // A valid reading, on the same topics the bad ones use, then a bad one.
            let aqi = (10 * round + i) as f64;
            publisher
                .publish(
                    &format!("ioc/v1/env/{area}/aqs-{area}-01"),
                    format!(r#"{{"ts":{},"values":{{"aqi":{aqi}}}}}"#, ts + round as i64),
                )
                .await?;
            expected_valid.insert(area.clone(), aqi);
            let (topic, payload, _) = &bad[(round * areas.len() + i) % bad.len()];
            publisher.publish(topic, payload.clone()).await?;
            sent += 2;
        }
    }
    // Every bad kind at least once more, so that each reason is covered whatever the order.
    for (topic, payload, _) in &bad {
        publisher.publish(topic, payload.clone()).await?;
        sent += 1;
    }
    publisher.wait_acks(sent, WAIT).await?;

    let mut expected: BTreeMap<RejectReason, u64> = BTreeMap::new();
    for k in 0..(rounds * areas.len()) {
        *expected.entry(bad[k % bad.len()].2).or_default() += 1;
    }
    for (_, _, reason) in &bad {
        *expected.entry(*reason).or_default() += 1;
    }
    let expected_rejected: u64 = expected.values().sum();
    let valid = (rounds * areas.len()) as u64;

    // Wait for the counts, then check each reason exactly.
    let deadline = tokio::time::Instant::now() + WAIT;
    let report = loop {
        let r = server.get_json("/api/v1/ingest/rejected").await?;
        if r["rejected"] == expected_rejected && r["accepted"] == valid {
            break r;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "counts never settled: {r}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for reason in RejectReason::ALL {
        let want = expected.get(&reason).copied().unwrap_or(0);
        assert_eq!(
            report["by_reason"][reason.as_str()],
            want,
            "count of {reason}"
        );
    }
    let recent = report["recent"].as_array().expect("recent");
    assert!(!recent.is_empty() && recent.len() <= 50);
    let first = &recent[0];
    assert!(
        first["topic"].is_string() && first["reason"].is_string() && first["detail"].is_string()
    );
    assert!(first["payload_prefix"].as_str().expect("prefix").len() <= 256);

    // The valid readings arrived intact: each area shows the last value sent to it.
    live.wait_for(WAIT, |c| {
        expected_valid
            .iter()
            .all(|(area, aqi)| c.mean(Domain::Env, area, "aqi") == Some(*aqi))
    })
    .await?;
    // And the server is still healthy.
    assert_eq!(server.get_json("/healthz").await?["status"], "ok");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_from_a_foreign_origin_is_refused() -> anyhow::Result<()> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start()?;
    let cookie = server.cookie().await?;
    for origin in [Some("http://evil.example"), None] {
        // With a valid session: the origin alone decides.
        let mut req = server.ws_url().into_client_request()?;
        req.headers_mut().insert("cookie", cookie.parse()?);
        if let Some(o) = origin {
            req.headers_mut().insert("origin", o.parse()?);
        }
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 403, "origin {origin:?}");
            }
            other => panic!("origin {origin:?} was not refused: {other:?}"),
        }
    }
    // The server's own origin is welcome.
    LiveClient::connect(&server).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_asks_gets_a_fresh_snapshot() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let mut live = LiveClient::connect(&server).await?;
    let publisher = Publisher::connect(server.mqtt, "e2e-resync").await?;
    publisher
        .publish(
            "ioc/v1/env/q3/a",
            format!(r#"{{"ts":{},"values":{{"aqi":42}}}}"#, now_ms()),
        )
        .await?;
    live.wait_for(WAIT, |c| c.mean(Domain::Env, "q3", "aqi") == Some(42.0))
        .await?;
    let before = live.messages;
    live.send_text(r#"{"type":"resync"}"#).await?;
    live.wait_for(WAIT, |c| c.messages > before).await?;
    assert_eq!(live.mean(Domain::Env, "q3", "aqi"), Some(42.0));
    // Garbage from a client is ignored, not fatal.
    live.send_text("not json").await?;
    live.send_text(r#"{"type":"resync"}"#).await?;
    let before = live.messages;
    live.wait_for(WAIT, |c| c.messages > before).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_that_stops_reading_gets_the_newest_state_not_a_backlog() -> anyhow::Result<()> {
    // No coalescing, and big deltas (every area, 60 fields each), so that the stalled socket's
    // buffers fill and the server has to decide what to do with it.
    let server = TestServer::start_with(&["--coalesce-ms", "0"])?;
    let mut stalled = LiveClient::connect(&server).await.context("stalled")?;
    let mut watcher = LiveClient::connect(&server).await.context("watcher")?;
    let mut publisher = Publisher::connect(server.mqtt, "e2e-flood").await?;
    let areas = watcher.area_codes();
    let fields: String = (0..60)
        .map(|f| format!(r#""a_rather_long_extra_field_name_{f:02}":{f}.25,"#))
        .collect();
    let ts = now_ms();
    let bursts = 150;
    for burst in 0..bursts {
        for area in &areas {
            publisher
                .publish(
                    &format!("ioc/v1/env/{area}/s-{area}"),
                    format!(
                        r#"{{"ts":{},"values":{{{fields}"n":{burst}}}}}"#,
                        ts + burst
                    ),
                )
                .await?;
        }
        // Each burst acknowledged before the next: at least one delta each.
        publisher.wait_acks(areas.len(), WAIT).await?;
        // The reading client reads as it goes.
        let _ = watcher.wait_for(Duration::from_millis(1), |_| false).await;
    }
    let last = (bursts - 1) as f64;
    let settled = |c: &LiveClient| {
        areas
            .iter()
            .all(|a| c.mean(Domain::Env, a, "n") == Some(last))
    };
    watcher.wait_for(WAIT, settled).await.context("watcher")?;
    let published_deltas = watcher.seq;
    assert!(
        published_deltas > 100,
        "only {published_deltas} deltas: the test needs more"
    );
    // The stalled one, once it reads again, converges to the same newest state through a
    // fresh snapshot, not through every delta it missed.
    stalled
        .wait_for(Duration::from_secs(30), settled)
        .await
        .context("stalled")?;
    assert!(
        stalled.snapshots >= 2,
        "it was never resynced with a fresh snapshot"
    );
    assert!(
        stalled.messages < published_deltas,
        "it got {} messages for {published_deltas} deltas: a backlog",
        stalled.messages
    );
    eprintln!(
        "{published_deltas} deltas published; the stalled client got {} messages, {} of them snapshots",
        stalled.messages, stalled.snapshots
    );
    Ok(())
}

/// Four gateways pipelining their QoS 1 publishes as fast as the embedded broker takes them
/// (the load tools' gateways): every reading they had acknowledged is in the store, once, and
/// the server's in-process links to the broker kept up without dropping any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_from_pipelining_gateways_is_stored_whole_and_once() -> anyhow::Result<()> {
    use ioc_tests::load::{Gateways, Load};
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let folded = async || -> anyhow::Result<u64> {
        let h = server.get_json("/healthz").await?;
        h["store"]["folded"]
            .as_u64()
            .context("no store.folded in /healthz")
    };
    let before = folded().await?;
    let accepted = async || server.metrics().await?.value("ioc_ingest_accepted_total");
    let accepted_before = accepted().await?;
    let areas: Vec<String> = ioc_server::city::City::built_in()
        .areas
        .iter()
        .map(|a| a.code.clone())
        .collect();
    let n = 40_000;
    let load = Load {
        gateways: 4,
        rate: 0,
        sources: 400,
        readings: Some(n),
        client_prefix: "e2e-burst".into(),
    };
    let gateways = Gateways::start(server.mqtt, &load, &areas).await?;
    let errors = gateways.errors.clone();
    while !gateways.finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    gateways.finish(Duration::from_secs(60)).await?;
    assert_eq!(errors.load(std::sync::atomic::Ordering::Relaxed), 0);

    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut stored = folded().await? - before;
    while stored < n && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stored = folded().await? - before;
    }
    // A moment more: a duplicate would arrive after the last reading.
    tokio::time::sleep(Duration::from_millis(600)).await;
    stored = folded().await? - before;
    assert_eq!(stored, n, "readings stored of the {n} acknowledged");
    assert_eq!(
        accepted().await? - accepted_before,
        n as f64,
        "accepted, each once"
    );
    Ok(())
}
