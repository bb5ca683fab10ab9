//! Nothing acknowledged is lost: a crash (`kill -9`) mid-stream, then a restart.
//!
//! With an external, persistent broker (Mosquitto here): the server acknowledges a QoS 1
//! message only once it is in the store (or the spool), so whatever the broker still holds
//! unacknowledged when the server dies is delivered again to the restarted server.

use std::time::Duration;

use ioc_tests::{LiveClient, Mosquitto, Publisher, TestServer, now_ms};

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_stream_loses_no_acknowledged_reading() -> anyhow::Result<()> {
    let broker = Mosquitto::start()?;
    let mut server = TestServer::start_external(broker.addr)?;
    server.wait_subscribed().await?;
    let mut publisher = Publisher::connect(broker.addr, "crash-gateway").await?;

    let total: i64 = 3000;
    let t0 = now_ms() - total;
    let mut crashed = false;
    for i in 0..total {
        // One reading per millisecond of `ts`, so each is its own point in the store.
        publisher
            .publish(
                "ioc/v1/env/q1/crash",
                format!(
                    r#"{{"ts":{},"seq":{i},"values":{{"aqi":{}}}}}"#,
                    t0 + i,
                    i % 500
                ),
            )
            .await?;
        if i % 100 == 99 {
            publisher.wait_acks(100, WAIT).await?;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if i == total / 2 && !crashed {
            // Mid-stream, with readings in flight between broker, server and store.
            server = server.crash_and_restart()?;
            crashed = true;
        }
    }
    // Every reading was acknowledged by the broker to the publisher.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (n, ..) = server
            .stored("ioc/v1/env/q1/crash", "aqi", t0, t0 + total)
            .await?;
        if n == total as u64 {
            break;
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "{n} of {total} acknowledged readings are in the store"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Stored once each: the raw count above counts rows, one per (series, ts); and the live
    // picture after the restart shows the newest reading.
    let live = LiveClient::connect(&server).await?;
    assert_eq!(
        live.mean(ioc_protocol::Domain::Env, "q1", "aqi"),
        Some(((total - 1) % 500) as f64)
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_live_picture() -> anyhow::Result<()> {
    let mut server = TestServer::start()?;
    let mut publisher = Publisher::connect(server.mqtt, "restart-gateway").await?;
    let ts = now_ms();
    publisher
        .publish(
            "ioc/v1/traffic/go-vap/tfc-1",
            format!(r#"{{"ts":{ts},"values":{{"speed_kmh":21.5,"congestion":3}}}}"#),
        )
        .await?;
    publisher.wait_acks(1, WAIT).await?;
    let mut live = LiveClient::connect(&server).await?;
    live.wait_for(WAIT, |c| {
        c.mean(ioc_protocol::Domain::Traffic, "go-vap", "speed_kmh") == Some(21.5)
    })
    .await?;
    // Wait until the reading is in the store, then stop the server the normal way.
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.get_json("/api/v1/store").await?["written"] != 1 {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "never written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = server.terminate(Duration::from_secs(5))?;
    assert!(status.success(), "{status}");
    // A new process on the same data directory shows the same figures before any new reading.
    let server = server.crash_and_restart()?;
    let live = LiveClient::connect(&server).await?;
    assert_eq!(
        live.mean(ioc_protocol::Domain::Traffic, "go-vap", "speed_kmh"),
        Some(21.5)
    );
    Ok(())
}

/// The official AQI needs hours of hourly averages (NowCast): a restart rebuilds them from the
/// store, so the wall does not go blank for two hours after every restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_official_aqi() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    let mut publisher = Publisher::connect(server.mqtt, "aqi-gateway").await?;
    // Three hours of one reading a minute, ending now: PM2.5 40 µg/m³ gives VN_AQI 80.
    let now = now_ms();
    let n = 180;
    for m in 0..n {
        publisher
            .publish(
                "ioc/v1/env/q10/aqs-restart",
                format!(
                    r#"{{"ts":{},"values":{{"pm25_ugm3":40,"aqi":12}}}}"#,
                    now - (n - 1 - m) * 60_000
                ),
            )
            .await?;
    }
    publisher.wait_acks(n as usize, WAIT).await?;
    let station_aqi = |live: &LiveClient| {
        live.snapshot.as_ref().and_then(|s| {
            s.figures.iter().find_map(|f| match f {
                ioc_protocol::DomainFigures::Env(e) => e
                    .stations
                    .iter()
                    .find(|st| st.id == "aqs-restart")
                    .map(|st| (st.aqi, st.sensor_aqi)),
                _ => None,
            })
        })
    };
    let deadline = tokio::time::Instant::now() + WAIT;
    while server.get_json("/api/v1/store").await?["written"] != n {
        anyhow::ensure!(tokio::time::Instant::now() < deadline, "never written");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = LiveClient::connect(&server).await?;
    assert_eq!(station_aqi(&before), Some((Some(80), Some(12))));
    let server = server.crash_and_restart()?;
    let after = LiveClient::connect(&server).await?;
    assert_eq!(station_aqi(&after), Some((Some(80), Some(12))));
    Ok(())
}
