//! Publishing to a real broker: Mosquitto, started in the test on a free port. Every message of
//! the simulation reaches a subscriber and the truth log, QoS 1 acknowledgements are waited for,
//! the indicator reports too (the history first), and the binary's command line does what it
//! says.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ioc_protocol::indicator::Catalogue;
use ioc_protocol::preset::Preset;
use ioc_sim::clock::{MINUTE_MS, Pacing};
use ioc_sim::publish::{self, PublishOptions, TruthLog};
use ioc_sim::{IndicatorNote, Simulation};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;

/// Mosquitto on a free port of 127.0.0.1, killed (by its PID) when dropped.
struct Broker {
    child: std::process::Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Mosquitto (installed by `scripts/setup`) and waits until it accepts connections.
fn start_broker() -> Broker {
    let bin = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
        .into_iter()
        .find(|p| std::path::Path::new(p).is_file())
        .expect("mosquitto is not installed (the test command installs it: scripts/setup)");
    let addr: SocketAddr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf = dir.path().join("mosquitto.conf");
    std::fs::write(
        &conf,
        format!(
            "listener {} 127.0.0.1\nallow_anonymous true\nmax_inflight_messages 1000\n\
             max_queued_messages 1000000\n",
            addr.port()
        ),
    )
    .expect("the broker's config");
    let child = Command::new(bin)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("mosquitto starts");
    let broker = Broker {
        child,
        addr,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "the broker did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    broker
}

/// A subscriber to every topic of the contract: what it receives, as (topic, payload).
async fn subscribe(addr: SocketAddr) -> mpsc::UnboundedReceiver<(String, String)> {
    let mut opts = MqttOptions::new("test-subscriber", addr.ip().to_string(), addr.port());
    opts.set_keep_alive(Duration::from_secs(10));
    let (client, mut eventloop) = AsyncClient::new(opts, 100);
    let (tx, rx) = mpsc::unbounded_channel();
    let (ready_tx, mut ready_rx) = mpsc::channel(1);
    tokio::spawn(async move {
        client
            .subscribe("ioc/v1/#", QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = ready_tx.send(()).await;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let payload = String::from_utf8(p.payload.to_vec()).expect("UTF-8");
                    if tx.send((p.topic, payload)).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    tokio::time::timeout(Duration::from_secs(5), ready_rx.recv())
        .await
        .expect("subscribed within 5 s");
    rx
}

/// Receives `n` messages, with a deadline.
async fn receive(
    rx: &mut mpsc::UnboundedReceiver<(String, String)>,
    n: usize,
) -> Vec<(String, String)> {
    let mut got = Vec::with_capacity(n);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while got.len() < n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => got.push(m),
            _ => panic!("received {} of {n} messages", got.len()),
        }
    }
    got
}

fn temp_file(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("ioc-sim-{}-{name}", std::process::id()))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The messages the library generates, as (topic, payload), sorted: what a run must deliver.
fn expected(seed: u64, start: i64, end: i64) -> (Vec<String>, Vec<(String, String)>) {
    let msgs = Simulation::new(&Preset::built_in(), seed, 1, start).step_until(end);
    let lines = msgs.iter().map(|m| m.truth_line()).collect();
    let mut pairs: Vec<(String, String)> = msgs
        .into_iter()
        .map(|m| (m.topic, m.payload_json))
        .collect();
    pairs.sort();
    (lines, pairs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_reaches_the_broker_and_the_truth_log() {
    let broker = start_broker();
    let addr = broker.addr;
    let mut rx = subscribe(addr).await;
    // Half an hour of the city, two hours ago, as fast as it goes.
    let start = now_ms() - 2 * 60 * MINUTE_MS;
    let end = start + 30 * MINUTE_MS;
    let (lines, mut pairs) = expected(3, start, end);

    let path = temp_file("truth.jsonl");
    let mut sim = Simulation::new(&Preset::built_in(), 3, 1, start);
    let mqtt = publish::mqtt_options(&format!("mqtt://{addr}"), "test-publisher", 50).unwrap();
    let summary = publish::run(
        &mut sim,
        Pacing::new(start, 1e6, Some(end)),
        mqtt,
        &PublishOptions::default(),
        Some(TruthLog::create(&path).unwrap()),
        std::future::pending(),
    )
    .await
    .expect("published");

    assert_eq!(summary.published as usize, lines.len());
    assert_eq!(summary.confirmed, summary.published, "{summary}");
    assert!(!summary.interrupted);
    assert_eq!(summary.reached_ms, end);
    assert_eq!(summary.per_domain.values().sum::<u64>(), summary.published);
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    assert_eq!(log.lines().collect::<Vec<_>>(), lines);

    let mut got = receive(&mut rx, lines.len()).await;
    got.sort();
    pairs.dedup();
    got.dedup();
    assert_eq!(got, pairs);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_run_still_waits_for_its_acknowledgements() {
    let broker = start_broker();
    let addr = broker.addr;
    let mut rx = subscribe(addr).await;
    // From two minutes ago: a burst to catch up with the wall clock, then live.
    let start = now_ms() - 2 * MINUTE_MS;
    let mut sim = Simulation::new(&Preset::built_in(), 8, 1, start);
    let mqtt = publish::mqtt_options(&format!("mqtt://{addr}"), "test-stopped", 10).unwrap();
    let opts = PublishOptions {
        qos: QoS::AtLeastOnce,
        ..PublishOptions::default()
    };
    let summary = publish::run(
        &mut sim,
        Pacing::new(start, 600.0, None),
        mqtt,
        &opts,
        None,
        tokio::time::sleep(Duration::from_millis(1500)),
    )
    .await
    .expect("published");
    assert!(summary.interrupted);
    assert!(summary.published > 100, "{summary}");
    assert_eq!(summary.confirmed, summary.published, "{summary}");
    // The simulated clock went no further than the wall clock.
    assert!(summary.reached_ms <= now_ms());
    let got = receive(&mut rx, summary.published as usize).await;
    assert!(got.iter().all(|(t, _)| t.starts_with("ioc/v1/")));
}

fn ioc_sim() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ioc-sim"));
    cmd.env("IOC_LOG", "warn")
        .env_remove("IOC_SIM_BROKER")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs a command to its end, with a deadline.
fn finish(cmd: &mut Command) -> std::process::Output {
    let mut child = cmd.spawn().expect("ioc-sim starts");
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ioc-sim did not finish within 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

/// `ioc-sim` replaying `minutes` from `start` at full speed to the broker at `addr`, with its
/// truth log in the temporary file `log` and `extra` arguments; its output and the log.
fn replay(
    addr: std::net::SocketAddr,
    (seed, start, minutes): (u64, i64, u64),
    log: &str,
    extra: &[&str],
) -> (std::process::Output, String) {
    let path = temp_file(log);
    let out = finish(
        ioc_sim()
            .args([
                "--broker",
                &format!("mqtt://{addr}"),
                "--seed",
                &seed.to_string(),
                "--start",
                &start.to_string(),
                "--speed",
                "100000",
                "--duration",
                &format!("{minutes}m"),
                "--truth-log",
                path.to_str().unwrap(),
            ])
            .args(extra),
    );
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    (out, log)
}

#[test]
fn the_binary_replays_a_span_fast_and_logs_what_it_sent() {
    let broker = start_broker();
    let addr = broker.addr;
    let start = now_ms() - 3 * 60 * MINUTE_MS;
    let (out, log) = replay(
        addr,
        (5, start, 20),
        "bin-truth.jsonl",
        &["--client-id", "test-binary", "--no-indicators"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let (lines, _) = expected(5, start, start + 20 * MINUTE_MS);
    assert_eq!(log.lines().collect::<Vec<_>>(), lines);
    assert!(
        stdout.contains(&format!("published {} messages", lines.len())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} acknowledged", lines.len())),
        "{stdout}"
    );
}

#[test]
fn the_binary_injects_anomalies_and_logs_them_before_the_readings_they_change() {
    let broker = start_broker();
    let addr = broker.addr;
    let start = now_ms() - 3 * 60 * MINUTE_MS;
    let end = start + 90 * MINUTE_MS;
    let from = start + 20 * MINUTE_MS;
    let path = temp_file("bin-inject.jsonl");
    let out = finish(
        ioc_sim()
            .env("IOC_LOG", "info")
            .env("IOC_SIM_INJECT", "200")
            .args([
                "--broker",
                &format!("mqtt://{addr}"),
                "--seed",
                "5",
                "--start",
                &start.to_string(),
                "--speed",
                "100000",
                "--duration",
                "90m",
                "--inject-from",
                &from.to_string(),
                "--truth-log",
                path.to_str().unwrap(),
                "--client-id",
                "test-inject",
                "--no-indicators",
            ]),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);

    // What the library gives for the same run, in the order `ioc-sim` logs it.
    let mut sim = Simulation::new(&Preset::built_in(), 5, 1, start).inject(200, from, Some(end));
    let mut expected = Vec::new();
    let mut anomalies = Vec::new();
    while let Some(m) = sim.next_message(end) {
        for a in sim.take_started_anomalies() {
            expected.push(a.truth_line());
            anomalies.push(a);
        }
        expected.push(m.truth_line());
    }
    assert!(anomalies.len() >= 5, "{} anomalies", anomalies.len());
    assert!(
        anomalies
            .iter()
            .all(|a| a.from_ms >= from && a.to_ms <= end)
    );
    assert_eq!(log.lines().collect::<Vec<_>>(), expected);
    let messages = expected.len() - anomalies.len();
    assert!(
        stdout.contains(&format!("published {messages} messages")),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{} anomalies injected", anomalies.len())),
        "{stdout}"
    );
    for a in &anomalies {
        assert!(
            stderr.contains(&a.topic) && stderr.contains(a.kind()),
            "{} not logged:\n{stderr}",
            a.topic
        );
    }
    assert_eq!(stderr.matches("anomaly injected").count(), anomalies.len());
    // The anomaly lines have no `topic` at the top: readers of messages skip them.
    let anomaly_lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("topic").is_none())
        .collect();
    assert_eq!(anomaly_lines.len(), anomalies.len());
    assert!(
        anomaly_lines
            .iter()
            .all(|v| v["anomaly"]["fields"].is_array())
    );
}

#[test]
fn the_binary_refuses_what_the_server_would_reject() {
    let future = (now_ms() + 2 * 60 * MINUTE_MS).to_string();
    let out = finish(ioc_sim().args(["--start", &future, "--broker", "mqtt://127.0.0.1:9"]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ahead of the wall clock"), "{stderr}");

    let out = finish(ioc_sim().args(["--start", "2020-01-01", "--broker", "mqtt://127.0.0.1:9"]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("7 days"), "{stderr}");

    let out = finish(ioc_sim().args(["--duration", "soon"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a duration"));
}

/// The library's run with the indicators, as `ioc-sim` logs it: before each message, the
/// anomalies started and the indicator notes due; at the end, the notes left.
fn expected_with_indicators(
    seed: u64,
    start: i64,
    end: i64,
    domains: Option<&[ioc_protocol::Domain]>,
) -> Vec<String> {
    let preset = Preset::built_in();
    let mut sim = Simulation::new(&preset, seed, 1, start);
    if let Some(d) = domains {
        sim = sim.only(d);
    }
    let mut sim = sim.with_indicators(&Catalogue::built_in(), &preset);
    let mut lines = Vec::new();
    while let Some(m) = sim.next_message(end) {
        lines.extend(
            sim.take_indicator_notes()
                .iter()
                .map(IndicatorNote::truth_line),
        );
        lines.push(m.truth_line());
    }
    lines.extend(
        sim.take_indicator_notes()
            .iter()
            .map(IndicatorNote::truth_line),
    );
    lines
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_indicator_report_reaches_the_broker_and_the_truth_log_history_first() {
    let broker = start_broker();
    let addr = broker.addr;
    let mut rx = subscribe(addr).await;
    // An hour ago to now: five years of history at once, then an hour of nothing new.
    let end = now_ms();
    let start = end - 60 * MINUTE_MS;
    let preset = Preset::built_in();
    let mut sim = Simulation::new(&preset, 4, 1, start)
        .only(&[])
        .with_indicators(&Catalogue::built_in(), &preset);
    let path = temp_file("indicators.jsonl");
    let mqtt = publish::mqtt_options(&format!("mqtt://{addr}"), "test-indicators", 100).unwrap();
    let summary = publish::run(
        &mut sim,
        Pacing::new(start, 1e6, Some(end)),
        mqtt,
        &PublishOptions::default(),
        Some(TruthLog::create(&path).unwrap()),
        std::future::pending(),
    )
    .await
    .expect("published");
    let log = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // The truth log lists every report sent, in the order sent, and what was seeded.
    let reports: Vec<&serde_json::Value> = lines
        .iter()
        .filter_map(|v| v.get("indicator_report"))
        .collect();
    assert!(reports.len() > 4000, "{} reports", reports.len());
    assert_eq!(summary.published as usize, reports.len());
    assert_eq!(summary.indicator_reports, summary.published);
    assert_eq!(summary.confirmed, summary.published, "{summary}");
    let ts: Vec<i64> = reports.iter().map(|r| r["ts"].as_i64().unwrap()).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "not in the order sent");
    let count = |key: &str| lines.iter().filter(|v| v.get(key).is_some()).count() as u64;
    assert_eq!(summary.abnormal_values, count("indicator_abnormal"));
    assert_eq!(summary.late_reports, count("indicator_late"));
    assert_eq!(summary.missing_reports, count("indicator_missing"));
    assert!(
        summary.abnormal_values > 100 && summary.late_reports > 50 && summary.missing_reports > 0,
        "{summary}"
    );
    assert!(
        lines.iter().all(|v| v.get("topic").is_none()),
        "readers of readings skip them all"
    );

    // The subscriber receives exactly the reports of the truth log, each once, QoS 1.
    let mut got = receive(&mut rx, reports.len()).await;
    let mut want: Vec<(String, String)> = reports
        .iter()
        .map(|r| {
            (
                r["topic"].as_str().unwrap().to_owned(),
                r["payload"].to_string(),
            )
        })
        .collect();
    got.iter_mut().for_each(|(_, p)| {
        *p = serde_json::from_str::<serde_json::Value>(p)
            .unwrap()
            .to_string()
    });
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(got.iter().all(|(t, _)| t.starts_with("ioc/v1/indicator/")));
}

#[test]
fn the_binary_publishes_the_indicators_by_default_the_history_first_and_the_rest_unchanged() {
    let broker = start_broker();
    let addr = broker.addr;
    let start = now_ms() - 3 * 60 * MINUTE_MS;
    let (out, log) = replay(
        addr,
        (5, start, 20),
        "bin-indicators.jsonl",
        &["--client-id", "test-binary-indicators"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let end = start + 20 * MINUTE_MS;
    let expected = expected_with_indicators(5, start, end, None);
    assert_eq!(log.lines().collect::<Vec<_>>(), expected);
    // Without the indicators' lines, the log is the stream without them, byte for byte.
    let (readings, _) = self::expected(5, start, end);
    let others: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("{\"topic\":"))
        .collect();
    assert_eq!(others, readings);
    let reports = log
        .lines()
        .filter(|l| l.starts_with("{\"indicator_report\":"))
        .count();
    assert!(reports > 4000);
    let first_reading = log
        .lines()
        .position(|l| l.starts_with("{\"topic\":"))
        .unwrap();
    let history = log
        .lines()
        .take(first_reading)
        .filter(|l| l.starts_with("{\"indicator_report\":"))
        .count();
    assert_eq!(
        history, reports,
        "the history goes out before the first reading"
    );
    let messages = readings.len() + reports;
    assert!(
        stdout.contains(&format!("published {messages} messages")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("indicator {reports}")), "{stdout}");
    assert!(
        stdout.contains(&format!("{messages} acknowledged")),
        "{stdout}"
    );
}

#[test]
fn the_binary_publishes_only_the_streams_its_domains_name() {
    let broker = start_broker();
    let addr = broker.addr;
    let start = now_ms() - 3 * 60 * MINUTE_MS;
    let run = |domains: &str| {
        replay(
            addr,
            (6, start, 10),
            "bin-domains.jsonl",
            &["--domains", domains, "--client-id", "test-domains"],
        )
    };
    let (out, log) = run("flood,indicator");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = expected_with_indicators(
        6,
        start,
        start + 10 * MINUTE_MS,
        Some(&[ioc_protocol::Domain::Flood]),
    );
    assert_eq!(log.lines().collect::<Vec<_>>(), expected);
    assert!(
        expected
            .iter()
            .any(|l| l.starts_with("{\"indicator_report\":"))
    );
    assert!(expected.iter().any(|l| l.contains("ioc/v1/flood/")));
    // Domains without `indicator`: no indicator at all.
    let (out, log) = run("flood");
    assert!(out.status.success());
    assert!(!log.is_empty() && log.lines().all(|l| l.contains("ioc/v1/flood/")));
    // A domain it does not know is named.
    let (out, _) = run("flood,indicators");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("indicators"));
}

#[test]
fn the_binary_refuses_an_indicator_catalogue_it_cannot_use() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let out = finish(
        ioc_sim()
            .args(["--broker", "mqtt://127.0.0.1:9", "--indicator-catalogue"])
            .arg(&missing),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("none.toml"), "{stderr}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "code = \"x\"\n").unwrap();
    let out = finish(
        ioc_sim()
            .args(["--broker", "mqtt://127.0.0.1:9", "--indicator-catalogue"])
            .arg(&bad),
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bad.toml"), "{stderr}");
}
