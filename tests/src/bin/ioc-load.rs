//! The load tool: drives the running server as the city's gateways and browsers do, and
//! measures it against what the broker alone delivers on the same machine, in the same run.
//!
//! 1. **The broker alone** (`--broker mosquitto` only): the gateways publish the same readings
//!    at the same rate to a fresh Mosquitto, read by one MQTT subscriber (QoS 1, a persistent
//!    session, as the server subscribes) that does nothing with them: readings/s delivered, and
//!    how many were not. With `--broker embedded` the gateways connect to the server's own MQTT
//!    endpoint, which acknowledges once durable: there is no broker to measure alone.
//! 2. **The server**: the real `ioc-server` (embedded store) on a fresh broker of the same
//!    kind, `--clients` websocket clients reading the live tiles, the gateways publishing, and
//!    a probe reading `--probe-hz` times a second that carries its send time: readings/s stored
//!    (every one, or how many were lost), publish-to-websocket latency over every client's every
//!    probe (p50, p99, max), websocket clients held to the end, deltas serialised against
//!    messages sent, and the server's CPU time and RSS (sampled every second from /proc).
//!
//! Prints one JSON report on stdout; `--record FILE` also appends it as a line of the table at
//! the end of `FILE` (docs/performance.md).
//!
//! ```sh
//! cargo build --release -p ioc-server -p ioc-tests
//! IOC_SERVER_BIN=target/release/ioc-server target/release/ioc-load \
//!     --broker embedded --rate 0 --readings 600000 --clients 1 --record docs/performance.md
//! ```
//!
//! Options: `--broker embedded|mosquitto` (embedded), `--rate R` readings/s offered by all
//! gateways together (0, the default, as fast as the broker takes them), `--readings N`
//! (300,000), `--clients C` (100), `--sources S` (2,000), `--gateways G` (MQTT connections,
//! 4), `--probe-hz H` (20), `--no-broker-alone`, `--record FILE`.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ioc_tests::load::{Gateways, Load, proc_usage};
use ioc_tests::probe::{self, Clients, now_us};
use ioc_tests::{Mosquitto, Publisher, TestServer, args};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;

/// Nothing stored or delivered for this long: the rest is lost.
const STALL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
struct Opts {
    broker: String,
    load: Load,
    clients: usize,
    probe_hz: u64,
    broker_alone: bool,
    record: Option<String>,
}

fn opts() -> anyhow::Result<Opts> {
    let broker = args::text("--broker").unwrap_or_else(|| "embedded".into());
    if broker != "embedded" && broker != "mosquitto" {
        bail!("--broker {broker}: embedded or mosquitto");
    }
    Ok(Opts {
        broker,
        load: Load {
            gateways: args::num("--gateways", 4)?.max(1),
            rate: args::num("--rate", 0)?,
            sources: args::num("--sources", 2_000)?.max(1),
            readings: Some(args::num("--readings", 300_000)?.max(1)),
            client_prefix: "load-gateway".into(),
        },
        clients: args::num("--clients", 100)? as usize,
        probe_hz: args::num("--probe-hz", 20)?.clamp(1, 1000),
        broker_alone: !std::env::args().any(|a| a == "--no-broker-alone"),
        record: args::text("--record"),
    })
}

/// A fresh Mosquitto, stopped on drop.
fn broker(kind: &str) -> anyhow::Result<(Option<Mosquitto>, SocketAddr)> {
    if kind != "mosquitto" {
        bail!("only Mosquitto runs alone: the embedded endpoint is the server itself");
    }
    let m = Mosquitto::start()?;
    let addr = m.addr;
    Ok((Some(m), addr))
}

/// The city's area codes, as the gateways publish under them.
fn areas() -> Vec<String> {
    ioc_server::city::City::built_in()
        .areas
        .iter()
        .map(|a| a.code.clone())
        .collect()
}

/// Waits until `count` reaches `target` or stops moving for [`STALL`]; when it got there
/// (or last moved), and the count.
async fn settle(
    mut count: impl AsyncFnMut() -> anyhow::Result<u64>,
    target: u64,
) -> (Instant, u64) {
    let mut last = (0, Instant::now());
    loop {
        let n = count().await.unwrap_or(last.0);
        if n != last.0 {
            last = (n, Instant::now());
        }
        if n >= target || last.1.elapsed() > STALL {
            return (last.1, n);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Phase 1: the gateways into the broker, one subscriber out.
async fn broker_alone(o: &Opts) -> anyhow::Result<serde_json::Value> {
    let (_mosquitto, addr) = broker(&o.broker)?;
    let mut opts = MqttOptions::new("load-alone-subscriber", addr.ip().to_string(), addr.port());
    opts.set_clean_session(false)
        .set_keep_alive(Duration::from_secs(15))
        .set_max_packet_size(1 << 20, 1 << 20)
        .set_inflight(1000);
    let (client, mut eventloop) = AsyncClient::new(opts, 4096);
    let received = Arc::new(AtomicU64::new(0));
    let (subscribed_tx, subscribed) = tokio::sync::oneshot::channel();
    let count = received.clone();
    let sub_task = tokio::spawn(async move {
        let mut subscribed_tx = Some(subscribed_tx);
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let _ = client
                        .subscribe(ioc_protocol::topic::FILTER_ALL, QoS::AtLeastOnce)
                        .await;
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    if let Some(tx) = subscribed_tx.take() {
                        let _ = tx.send(());
                    }
                }
                Ok(Event::Incoming(Packet::Publish(_))) => {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(10), subscribed)
        .await
        .context("the subscriber was not subscribed within 10 s")??;

    let n = o.load.readings.unwrap_or(0);
    let started = Instant::now();
    let gateways = Gateways::start(addr, &o.load, &areas()).await?;
    let publish_errors = gateways.errors.clone();
    while !gateways.finished() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let published_s = started.elapsed().as_secs_f64();
    gateways.finish(Duration::from_secs(600)).await?;
    let (at, delivered) = settle(async || Ok(received.load(Ordering::Relaxed)), n).await;
    sub_task.abort();
    let seconds = (at - started).as_secs_f64();
    Ok(json!({
        "readings": n,
        "published_per_s": n as f64 / published_s,
        "delivered": delivered,
        "lost": n.saturating_sub(delivered),
        "publish_errors": publish_errors.load(Ordering::Relaxed),
        "delivered_per_s": delivered as f64 / seconds,
        "seconds": seconds,
    }))
}

/// Phase 2: the server with its clients, under the same load.
async fn server_run(o: &Opts) -> anyhow::Result<serde_json::Value> {
    let (mosquitto, _) = if o.broker == "mosquitto" {
        broker("mosquitto")?
    } else {
        (None, "127.0.0.1:1".parse()?)
    };
    let server = match &mosquitto {
        Some(m) => TestServer::start_external(m.addr)?,
        None => TestServer::start()?,
    };
    server.wait_subscribed().await?;
    let pid = server.proc.pid();
    let (cpu_idle, _, _) = proc_usage(pid)?;

    let connecting = Instant::now();
    // The clients run on a runtime of their own: thousands of them reading must not starve
    // the gateways and the probe (whose send time would be stamped long before it is sent).
    let clients_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("load-clients")
        .enable_all()
        .build()?;
    let clients = {
        let _on_their_runtime = clients_rt.enter();
        Clients::connect(&server, o.clients).await?
    };
    let connect_s = connecting.elapsed().as_secs_f64();
    eprintln!(
        "load: {} websocket clients connected in {connect_s:.1} s",
        o.clients
    );
    let m0 = server.metrics().await?;
    let (cpu0, _, _) = proc_usage(pid)?;

    // The probe, in an area of its own domain (the system tile): its send time comes back in
    // the delta that carries it.
    // A persistent session, as the gateways have: on a clean one, rumqttc drops what it has
    // not had acknowledged when it reconnects, and that probe would count as lost here.
    let probe_pub = Publisher::connect_persistent(server.mqtt, "load-probe").await?;
    let probe_topic = format!("ioc/v1/system/{}/load-probe", areas()[0]);
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let hz = o.probe_hz;
    let mut stop_probe = stop.clone();
    let probe_task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / hz));
        let mut sent = 0u64;
        loop {
            tokio::select! {
                _ = stop_probe.changed() => break,
                _ = tick.tick() => {
                    if probe_pub.publish(&probe_topic, probe::payload()).await.is_ok() {
                        sent += 1;
                    }
                }
            }
        }
        (sent, probe_pub)
    });
    // The server's RSS every second.
    let (stop_rss_tx, mut stop_rss) = tokio::sync::watch::channel(false);
    let rss_task = tokio::spawn(async move {
        let mut rss = Vec::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = stop_rss.changed() => break,
                _ = tick.tick() => if let Ok((_, now, _)) = proc_usage(pid) { rss.push(now) },
            }
        }
        rss
    });

    let n = o.load.readings.unwrap_or(0);
    let from_us = now_us();
    let started = Instant::now();
    let gateways = Gateways::start(server.mqtt, &o.load, &areas()).await?;
    let publish_errors = gateways.errors.clone();
    while !gateways.finished() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let published_s = started.elapsed().as_secs_f64();
    let to_us = now_us();
    gateways.finish(Duration::from_secs(600)).await?;
    let _ = stop_tx.send(true);
    // The probes are stored too: counted out of the gateways' readings.
    let (sent, mut probe_pub) = probe_task.await?;
    // A probe counts once the broker acknowledged it, as the gateways' readings do.
    let probes = match probe_pub
        .wait_acks(sent as usize, Duration::from_secs(30))
        .await
    {
        Ok(()) => sent,
        Err(e) => anyhow::bail!("the probe's publishes were not all acknowledged: {e}"),
    };
    // Read from /healthz, not /metrics: a scrape renders every source's series, which would
    // cost the server more than the count is worth at this pace.
    // Stored means in the store's file and seen by history: for the embedded store, folded
    // from its journal into SQLite, not only journaled (which is what acknowledges).
    let (metric, key) = match m0.value("ioc_store_folded_total") {
        Ok(_) => ("ioc_store_folded_total", "folded"),
        Err(_) => ("ioc_store_written_total", "written"),
    };
    let base = m0.value(metric)? as u64;
    let (at, written) = settle(
        async || {
            let h = server.get_json("/healthz").await?;
            Ok(h["store"][key].as_u64().unwrap_or(0).saturating_sub(base))
        },
        n + probes,
    )
    .await;
    let written = written.saturating_sub(probes);
    let seconds = (at - started).as_secs_f64();
    // The store writer's figures at the end (written, folded, spooled, dropped...).
    let store_report = server.get_json("/healthz").await?["store"].clone();
    let _ = stop_rss_tx.send(true);
    let rss = rss_task.await?;
    let (cpu1, rss_end, rss_peak) = proc_usage(pid)?;
    let m1 = server.metrics().await?;
    let delta = |name: &str| -> anyhow::Result<f64> { Ok(m1.value(name)? - m0.value(name)?) };
    let latency = clients.latency(&[(from_us, to_us)]);
    let deltas = delta("ioc_hub_deltas_total")?;
    let sent = delta("ioc_websocket_messages_sent_total")?;
    let clients_ended = clients.ended.load(Ordering::Relaxed);
    // Dropping a runtime may not block inside another one.
    clients_rt.shutdown_background();
    Ok(json!({
        "readings": n,
        "published_per_s": n as f64 / published_s,
        "publish_errors": publish_errors.load(Ordering::Relaxed),
        "stored": written,
        "lost": n.saturating_sub(written),
        "lost_by_seq": m1.value("ioc_ingest_lost_messages")?,
        "store": store_report,
        "probes": probes,
        "rejected": m1.get("ioc_ingest_rejected_total").unwrap_or(0.0),
        "stored_per_s": written as f64 / seconds,
        "seconds": seconds,
        "latency": latency,
        // The server's share: from a delta's making to its write on each websocket (the
        // histogram's bucket bounds: 1, 2.5, 5, 10, 25, 50, 100, 250 ms...).
        "fanout_ms_p50_at_most": bucket_quantile(&m0.0, &m1.0, "ioc_websocket_fanout_seconds", 0.5),
        "fanout_ms_p99_at_most": bucket_quantile(&m0.0, &m1.0, "ioc_websocket_fanout_seconds", 0.99),
        "clients": o.clients,
        "clients_connect_s": connect_s,
        "clients_held": m1.value("ioc_websocket_clients")?,
        "clients_ended": clients_ended,
        "websocket_dropped": m1.get("ioc_websocket_dropped_total").unwrap_or(0.0),
        "deltas_serialised": deltas,
        "delta_bytes": delta("ioc_hub_delta_bytes_total")?,
        "websocket_messages_sent": sent,
        "messages_sent_per_serialisation": if deltas > 0.0 { sent / deltas } else { 0.0 },
        "server_cpu_s": cpu1 - cpu0,
        "server_cores": (cpu1 - cpu0) / seconds,
        "server_cpu_s_before_load": cpu_idle,
        "server_rss_mb_max": rss.iter().copied().max().unwrap_or(rss_end) as f64 / 1e6,
        "server_rss_mb_end": rss_end as f64 / 1e6,
        "server_rss_mb_peak_ever": rss_peak as f64 / 1e6,
    }))
}

/// The upper bound (ms) of the histogram bucket that holds quantile `q` of what was observed
/// between two scrapes: the server's own share of the latency.
fn bucket_quantile(before: &str, after: &str, name: &str, q: f64) -> Option<f64> {
    let buckets = |text: &str| -> Vec<(f64, f64)> {
        let prefix = format!("{name}_bucket{{le=\"");
        text.lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .filter_map(|l| {
                let (le, n) = l.split_once("\"} ")?;
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse().ok()?
                };
                Some((le, n.parse().ok()?))
            })
            .collect()
    };
    let (b0, b1) = (buckets(before), buckets(after));
    let counts: Vec<(f64, f64)> = b1
        .iter()
        .map(|&(le, n)| (le, n - b0.iter().find(|b| b.0 == le).map_or(0.0, |b| b.1)))
        .collect();
    let total = counts.last()?.1;
    (total > 0.0).then(|| {
        counts
            .iter()
            .find(|&&(_, n)| n >= q * total)
            .map_or(f64::INFINITY, |&(le, _)| le * 1000.0)
    })
}

/// `12,345`.
fn thousands(v: f64) -> String {
    let s = format!("{:.0}", v);
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) && c != '-' {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One line of the table in docs/performance.md, with its header when the file has none.
fn record(path: &str, r: &serde_json::Value) -> anyhow::Result<()> {
    const HEADER: &str = "## Runs of the load tool (`ioc-load`)";
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot write {path}"))?;
    if !text.contains(HEADER) {
        writeln!(
            f,
            "\n{HEADER}\n\nEach line appended by `ioc-load --record docs/performance.md` (the \
             command is in the last column). \"Broker alone\" is the same load through the \
             same kind of broker to one subscriber, in the same run.\n\n\
             | when (UTC) | broker | offered | readings | clients | stored, lost | broker alone | ratio | latency p50 / p99 / max | clients held | server CPU | server RSS max | command |\n\
             |---|---|---|---|---|---|---|---|---|---|---|---|---|"
        )?;
    }
    let s = &r["server"];
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    let alone = num(&r["broker_alone"]["delivered_per_s"]);
    let ms = |k: &str| format!("{:.1}", num(&s["latency"][k]));
    writeln!(
        f,
        "| {} | {} | {} | {} | {} | {}/s, {} lost | {} | {} | {} / {} / {} ms | {} | {:.2} cores | {:.0} MB | `{}` |",
        chrono::Utc::now().format("%Y-%m-%d %H:%M"),
        r["broker"].as_str().unwrap_or("?"),
        match r["offered_per_s"].as_u64() {
            Some(0) | None => "unpaced".to_owned(),
            Some(rate) => format!("{}/s", thousands(rate as f64)),
        },
        thousands(num(&s["readings"])),
        thousands(num(&s["clients"])),
        thousands(num(&s["stored_per_s"])),
        thousands(num(&s["lost"])),
        if alone.is_finite() {
            format!(
                "{}/s, {} lost",
                thousands(alone),
                thousands(num(&r["broker_alone"]["lost"]))
            )
        } else {
            "not run".into()
        },
        r["ratio_to_broker_alone"]
            .as_f64()
            .map_or("-".into(), |v| format!("{:.0} %", v * 100.0)),
        ms("p50_ms"),
        ms("p99_ms"),
        ms("max_ms"),
        thousands(num(&s["clients_held"])),
        num(&s["server_cores"]),
        num(&s["server_rss_mb_max"]),
        r["command"].as_str().unwrap_or(""),
    )?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let o = opts()?;
    let command = std::iter::once("ioc-load".to_owned())
        .chain(std::env::args().skip(1).filter({
            // The file the line goes to is not part of the measurement.
            let mut skip = false;
            move |a| {
                let keep = !skip && a != "--record";
                skip = a == "--record";
                keep
            }
        }))
        .collect::<Vec<_>>()
        .join(" ");
    let alone = if o.broker_alone && o.broker == "mosquitto" {
        eprintln!("load: the broker alone ({})", o.broker);
        Some(broker_alone(&o).await?)
    } else {
        None
    };
    eprintln!("load: the server");
    let server = server_run(&o).await?;
    let ratio = alone.as_ref().and_then(|a| {
        let b = a["delivered_per_s"].as_f64()?;
        Some(server["stored_per_s"].as_f64()? / b)
    });
    let report = json!({
        "command": command,
        "broker": o.broker,
        "offered_per_s": o.load.rate,
        "sources": o.load.sources,
        "gateways": o.load.gateways,
        "probe_hz": o.probe_hz,
        "broker_alone": alone,
        "server": server,
        "ratio_to_broker_alone": ratio,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    if let Some(path) = &o.record {
        record(path, &report)?;
        eprintln!("load: recorded in {path}");
    }
    Ok(())
}
