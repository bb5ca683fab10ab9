//! A browser that stops reading (a frozen tab, a wall PC gone to sleep with its socket open)
//! must not delay the others, and the server holds a bounded amount for it until it drops it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, ensure};
use ioc_tests::probe::{self, Clients, now_us};
use ioc_tests::{Publisher, TestServer};

const CLIENTS: usize = 200;
/// The server's limit for one websocket send (`http.ws_send_timeout_ms`).
const SEND_TIMEOUT_MS: u64 = 6000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_does_not_delay_200_others() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("ioc.toml");
    std::fs::write(
        &conf,
        format!("[http]\nws_send_timeout_ms = {SEND_TIMEOUT_MS}\n"),
    )?;
    let server = TestServer::start_with(&["--config", conf.to_str().context("path")?])?;
    let areas: Vec<String> = ioc_tests::LiveClient::connect(&server).await?.area_codes();
    let (probe_area, load_areas) = areas.split_first().context("areas")?;
    let load_areas = load_areas.to_vec();
    let clients = Clients::connect(&server, CLIENTS).await?;

    // Steady load: 400 readings/s of 12 fields over every other area, so that a delta goes out
    // every coalescing window (100 ms) and a socket nobody reads fills up; and a probe every
    // 25 ms whose send time the clients read back.
    let publisher = Publisher::connect(server.mqtt, "slow-client-load").await?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop_load = stop.clone();
    let probe_topic = format!("ioc/v1/system/{probe_area}/probe");
    let load = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(25));
        let mut n: u64 = 0;
        while !stop_load.load(Ordering::Relaxed) {
            tick.tick().await;
            for _ in 0..10 {
                let area = &load_areas[n as usize % load_areas.len()];
                let fields: String = (0..12)
                    .map(|f| format!(r#""load_field_{f:02}":{}.5,"#, (n + f) % 1000))
                    .collect();
                let ts = now_us() / 1000;
                publisher
                    .publish(
                        &format!("ioc/v1/env/{area}/load-{}", n % 3),
                        format!(r#"{{"ts":{ts},"values":{{{fields}"n":{n}}}}}"#),
                    )
                    .await?;
                n += 1;
            }
            publisher.publish(&probe_topic, probe::payload()).await?;
        }
        anyhow::Ok(())
    });

    // Warm up, then three phases: without, with, and again without the stalled client.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let a = now_us();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let a = (a, now_us());
    let rss_before = server
        .metrics()
        .await?
        .value("process_resident_memory_bytes")?;

    // The stalled client: a receive buffer of 4 KiB that it never reads, so the server's
    // sends to it block within seconds.
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.set_recv_buffer_size(4096)?;
    let stalled = probe::open(&server, socket.connect(server.http).await?).await?;
    let b = now_us();
    let mut rss_peak = rss_before;
    for _ in 0..16 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let m = server.metrics().await?;
        rss_peak = rss_peak.max(m.value("process_resident_memory_bytes")?);
    }
    let b = (b, now_us());
    // The server drops it once a send has waited for its limit.
    let deadline = tokio::time::Instant::now() + Duration::from_millis(SEND_TIMEOUT_MS + 10_000);
    loop {
        let m = server.metrics().await?;
        if m.value("ioc_websocket_dropped_total{reason=\"slow\"}")? == 1.0
            && m.value("ioc_websocket_clients")? == CLIENTS as f64
        {
            break;
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "the stalled client was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let c = now_us();
    tokio::time::sleep(Duration::from_secs(6)).await;
    let c = (c, now_us());
    stop.store(true, Ordering::Relaxed);
    load.await??;
    drop(stalled);

    let (p99_a, n_a) = clients.p99(&[a]);
    let (p99_b, n_b) = clients.p99(&[b]);
    let (p99_c, n_c) = clients.p99(&[c]);
    // Without the stalled client: before and after it, together.
    let (without, _) = clients.p99(&[a, c]);
    let growth_mb = (rss_peak - rss_before) / 1e6;
    eprintln!(
        "p99 latency of {CLIENTS} clients: {p99_a:.1} ms before ({n_a} samples), {p99_b:.1} ms \
         with a stalled client ({n_b}), {p99_c:.1} ms after it was dropped ({n_c}), \
         {without:.1} ms before and after together; server RSS +{growth_mb:.1} MB while it was \
         stalled"
    );
    for (n, phase) in [(n_a, "before"), (n_b, "stalled"), (n_c, "after")] {
        // A delta every coalescing window (100 ms) for 6 s, to each client.
        ensure!(n > CLIENTS * 40, "only {n} samples {phase}");
    }
    ensure!(
        clients.ended.load(Ordering::Relaxed) == 0,
        "reading clients were disconnected"
    );
    ensure!(
        p99_b < without * 1.10,
        "p99 {p99_b:.1} ms with the stalled client, {without:.1} ms without: more than 10% worse"
    );
    // What the server holds for a client that does not read: its socket's buffers and one
    // message in the websocket's write buffer; the deltas it missed are shared by every client.
    ensure!(
        growth_mb < 16.0,
        "server memory grew by {growth_mb:.1} MB while one client was stalled"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_peer_is_dropped_by_ping_timeout_and_a_live_one_stays() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let conf = dir.path().join("ioc.toml");
    std::fs::write(&conf, "[http]\nws_ping_ms = 300\nws_dead_after_ms = 1500\n")?;
    let server = TestServer::start_with(&["--config", conf.to_str().context("path")?])?;
    // A live browser reads, and so answers every ping.
    let live = Clients::connect(&server, 1).await?;
    // A dead one: connected, then nothing, not even a pong (a laptop closed with its socket
    // open). The server sends it very little, so no send ever blocks: only silence tells.
    let dead = probe::open(&server, tokio::net::TcpStream::connect(server.http).await?).await?;
    let opened = tokio::time::Instant::now();
    loop {
        let m = server.metrics().await?;
        if m.value("ioc_websocket_dropped_total{reason=\"silent\"}")? == 1.0 {
            break;
        }
        ensure!(
            opened.elapsed() < Duration::from_secs(10),
            "the silent peer was not dropped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = opened.elapsed();
    eprintln!("silent peer dropped {after:?} after it connected (limit 1.5 s, pings every 0.3 s)");
    ensure!(
        after >= Duration::from_millis(1500),
        "dropped too early: {after:?}"
    );
    // The live one is still there.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let m = server.metrics().await?;
    assert_eq!(
        m.value("ioc_websocket_dropped_total{reason=\"silent\"}")?,
        1.0
    );
    assert_eq!(live.ended.load(Ordering::Relaxed), 0);
    drop(dead);
    Ok(())
}
