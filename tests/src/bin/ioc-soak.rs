//! Soak: the real server (embedded broker and store) under a steady load for a long time.
//! MQTT gateways publish QoS 1 readings at a set rate over many sources (each with its `seq`),
//! a probe reading carries its send time, and many websocket clients read the live tiles.
//! Every interval it prints the server's RSS and CPU, the clients' p99 publish-to-screen
//! latency, and the error counts; at the end a JSON summary. Run by `scripts/soak` (not in
//! CI).
//!
//! Options: `--minutes M` (30), `--rate R` readings/s (10000), `--clients C` (200),
//! `--sources S` (2000), `--interval-s I` (30), `--csv PATH` (every interval's figures),
//! `--broker embedded|mosquitto`.
//! `IOC_SERVER_BIN` names the server binary (scripts/soak passes the release build).

use std::io::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use ioc_tests::args;
use ioc_tests::load::{Gateways, Load};
use ioc_tests::probe::{self, Clients, now_us};
use ioc_tests::{Publisher, TestServer};

/// One interval's figures.
#[derive(Debug, Clone, serde::Serialize)]
struct Sample {
    minute: f64,
    rss_mb: f64,
    cpu_s: f64,
    accepted: f64,
    readings_per_s: f64,
    p99_ms: f64,
    samples: usize,
    rejected: f64,
    lost: f64,
    store_queue: f64,
    spool_batches: f64,
    clients: f64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let minutes = args::num("--minutes", 30)?;
    let rate = args::num("--rate", 10_000)?.max(100);
    let n_clients = args::num("--clients", 200)? as usize;
    let sources = args::num("--sources", 2_000)?.max(1);
    let interval = Duration::from_secs(args::num("--interval-s", 30)?.max(1));
    let csv_path = args::text("--csv");

    let mosquitto = match args::text("--broker").as_deref() {
        None | Some("embedded") => None,
        Some("mosquitto") => Some(ioc_tests::Mosquitto::start()?),
        Some(other) => anyhow::bail!("--broker {other}: embedded or mosquitto"),
    };
    let server = match &mosquitto {
        Some(m) => TestServer::start_external(m.addr)?,
        None => TestServer::start()?,
    };
    server.wait_subscribed().await?;
    let areas = ioc_tests::LiveClient::connect(&server).await?.area_codes();
    let (probe_area, areas) = areas.split_first().context("no areas")?;
    let clients = Clients::connect(&server, n_clients).await?;
    eprintln!(
        "soak: {rate} readings/s over {sources} sources, {n_clients} websocket clients, \
         {minutes} min; server at http://{}",
        server.http
    );

    // Gateways: four connections, each a quarter of the sources.
    let load = Load {
        gateways: 4,
        rate,
        sources,
        readings: None,
        client_prefix: "soak-gateway".into(),
    };
    let gateways = Gateways::start(server.mqtt, &load, areas).await?;
    let (stop, published, publish_errors) = (
        gateways.stop.clone(),
        gateways.published.clone(),
        gateways.errors.clone(),
    );
    // The probe: ten a second.
    let probe_pub = Publisher::connect(server.mqtt, "soak-probe").await?;
    let probe_topic = format!("ioc/v1/system/{probe_area}/probe");
    let stop_probe = stop.clone();
    let probe_task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        while !stop_probe.load(Ordering::Relaxed) {
            tick.tick().await;
            let _ = probe_pub.publish(&probe_topic, probe::payload()).await;
        }
        probe_pub
    });

    let mut csv = match &csv_path {
        Some(p) => {
            let mut f = std::fs::File::create(p).with_context(|| format!("cannot write {p}"))?;
            writeln!(
                f,
                "minute,rss_mb,cpu_s,accepted,readings_per_s,p99_ms,samples,rejected,lost,store_queue,spool_batches,clients"
            )?;
            Some(f)
        }
        None => None,
    };
    let started = Instant::now();
    let end = started + Duration::from_secs(minutes * 60);
    let mut history: Vec<Sample> = Vec::new();
    let mut last_accepted = 0.0;
    let mut from = now_us();
    while Instant::now() < end {
        tokio::time::sleep(interval.min(end - Instant::now())).await;
        let to = now_us();
        let m = server.metrics().await?;
        let (p99_ms, samples) = clients.p99(&[(from, to)]);
        clients.forget(to);
        let accepted = m.value("ioc_ingest_accepted_total")?;
        let rejected: f64 =
            m.0.lines()
                .filter(|l| l.starts_with("ioc_ingest_rejected_total{"))
                .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
                .sum();
        let s = Sample {
            minute: started.elapsed().as_secs_f64() / 60.0,
            rss_mb: m.value("process_resident_memory_bytes")? / 1e6,
            cpu_s: m.value("process_cpu_seconds_total")?,
            accepted,
            readings_per_s: (accepted - last_accepted) / ((to - from) as f64 / 1e6),
            p99_ms,
            samples,
            rejected,
            lost: m.value("ioc_ingest_lost_messages")?,
            store_queue: m.value("ioc_store_queue_depth")?,
            spool_batches: m.value("ioc_spool_batches")?,
            clients: m.value("ioc_websocket_clients")?,
        };
        last_accepted = accepted;
        from = to;
        eprintln!(
            "{:6.1} min  rss {:7.1} MB  cpu {:7.1} s  {:8.0} readings/s  p99 {:6.1} ms  rejected {}  lost {}  queue {}  clients {}",
            s.minute,
            s.rss_mb,
            s.cpu_s,
            s.readings_per_s,
            s.p99_ms,
            s.rejected,
            s.lost,
            s.store_queue,
            s.clients
        );
        if let Some(f) = csv.as_mut() {
            writeln!(
                f,
                "{:.2},{:.1},{:.1},{},{:.0},{:.1},{},{},{},{},{},{}",
                s.minute,
                s.rss_mb,
                s.cpu_s,
                s.accepted,
                s.readings_per_s,
                s.p99_ms,
                s.samples,
                s.rejected,
                s.lost,
                s.store_queue,
                s.spool_batches,
                s.clients
            )?;
        }
        history.push(s);
    }
    if let Err(e) = gateways.finish(Duration::from_secs(60)).await {
        eprintln!("soak: the gateways' last readings: {e:#}");
    }
    let _ = probe_task.await;

    // RSS growth from the end of the first tenth (warm: caches, SQLite pages) to the end.
    let warm = history
        .get(history.len() / 10)
        .or(history.first())
        .context("no samples")?;
    let last = history.last().context("no samples")?;
    let p99s: Vec<f64> = history.iter().map(|s| s.p99_ms).collect();
    let summary = serde_json::json!({
        "minutes": minutes,
        "rate": rate,
        "clients": n_clients,
        "sources": sources,
        "published": published.load(Ordering::Relaxed),
        "publish_errors": publish_errors.load(Ordering::Relaxed),
        "accepted": last.accepted,
        "readings_per_s_mean": last.accepted / started.elapsed().as_secs_f64(),
        "rss_mb_warm": warm.rss_mb,
        "rss_mb_end": last.rss_mb,
        "rss_mb_max": history.iter().map(|s| s.rss_mb).fold(0.0, f64::max),
        "rss_growth_mb_after_warmup": last.rss_mb - warm.rss_mb,
        "p99_ms_median_interval": median(&p99s),
        "p99_ms_worst_interval": p99s.iter().copied().fold(0.0, f64::max),
        "rejected": last.rejected,
        "lost": last.lost,
        "clients_disconnected": clients.ended.load(Ordering::Relaxed),
        "server_cpu_s": last.cpu_s,
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn median(v: &[f64]) -> f64 {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
