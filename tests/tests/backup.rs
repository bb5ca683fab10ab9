//! Backup and restore end to end: `ioc-server backup` taken from a running server under load,
//! `ioc-server restore` into a stopped one, which then shows the same history and alerts; and
//! what refuses while a server runs (a restore, a second server on the same data directory).

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use ioc_tests::load::{Gateways, Load};
use ioc_tests::{Publisher, TestServer, bin_path, now_ms};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
/// Readings a witness request carries.
const PER_REQUEST: u64 = 20;
/// The witness's sources, `ioc/v1/env/q1/witness-<n>`.
const WITNESS_SOURCES: u64 = 4;

/// `ioc-server --data-dir DIR ARGS...`, run to its end.
async fn ioc_server(data_dir: &Path, args: &[&str]) -> anyhow::Result<Output> {
    let mut cmd = Command::new(bin_path("ioc-server", "IOC_SERVER_BIN"));
    cmd.arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("IOC_CONFIG")
        .stdin(Stdio::null());
    Ok(tokio::task::spawn_blocking(move || cmd.output()).await??)
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A gateway for HTTP ingest, granted the witness's sources in `q1`: its token, once the
/// server takes it (it reads the gateways' file again within a second).
async fn witness_gateway(server: &TestServer) -> anyhow::Result<String> {
    let out = ioc_server(
        server.data_dir.path(),
        &[
            "gateway",
            "add",
            "witness",
            "--areas",
            "q1",
            "--sources",
            "witness-*",
        ],
    )
    .await?;
    ensure!(out.status.success(), "gateway add: {}", text(&out));
    let stdout = String::from_utf8(out.stdout)?;
    let token = stdout
        .rsplit(": ")
        .next()
        .map(str::trim)
        .context("no token printed")?
        .to_owned();
    let deadline = Instant::now() + WAIT;
    loop {
        let r = reqwest::Client::new()
            .post(server.url("/api/v1/ingest"))
            .bearer_auth(&token)
            .json(&json!([]))
            .send()
            .await?;
        if r.status().is_success() {
            return Ok(token);
        }
        ensure!(
            Instant::now() < deadline,
            "the server never took the gateway: {}",
            r.status()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `n`-th reading of the witness: its source and its time, one per ms from `t0`.
fn witness(t0: i64, n: u64) -> (String, i64) {
    (format!("witness-{}", n % WITNESS_SOURCES), t0 + n as i64)
}

/// Sends witness readings over HTTP ingest, [`PER_REQUEST`] at a time, until `stop`: a 200
/// means durable, so after each one `acknowledged` says how many readings (from the first)
/// the server has made durable.
fn spawn_witness(
    server: &TestServer,
    token: String,
    t0: i64,
    acknowledged: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<anyhow::Result<()>> {
    let url = server.url("/api/v1/ingest");
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut n = 0;
        while !stop.load(Ordering::SeqCst) {
            let batch: Vec<Value> = (n..n + PER_REQUEST)
                .map(|i| {
                    let (source, ts) = witness(t0, i);
                    json!({"topic": format!("ioc/v1/env/q1/{source}"), "ts": ts,
                           "values": {"pm25_ugm3": 20 + i % 3}})
                })
                .collect();
            let r = client
                .post(&url)
                .bearer_auth(&token)
                .json(&batch)
                .send()
                .await?;
            ensure!(r.status().is_success(), "ingest: {}", r.status());
            n += PER_REQUEST;
            acknowledged.store(n, Ordering::SeqCst);
        }
        Ok(())
    })
}

/// The history of one witness source's `pm25_ugm3` over `[from, to)`, as the API answers it.
async fn history(server: &TestServer, source: &str, from: i64, to: i64) -> anyhow::Result<Value> {
    server
        .get_json(&format!(
            "/api/v1/history?domain=env&area=q1&source={source}&field=pm25_ugm3\
             &from={from}&to={to}&points=50"
        ))
        .await
}

fn count(answer: &Value) -> u64 {
    answer["buckets"]
        .as_array()
        .map_or(0, |b| b.iter().filter_map(|b| b["count"].as_u64()).sum())
}

/// The alerts, as `/api/v1/alerts` lists them.
async fn alerts(server: &TestServer) -> anyhow::Result<Vec<Value>> {
    let list = server.get_json("/api/v1/alerts?limit=1000").await?;
    Ok(list["alerts"].as_array().context("alerts")?.clone())
}

/// Raises three alerts with the flood gauges (BĐ2 at Nhà Bè, BĐ2 and BĐ3 at Phú An) and
/// acknowledges one with a note; returns once `/api/v1/alerts` shows it all (it is then in the alerts'
/// file).
async fn raise_alerts(server: &TestServer) -> anyhow::Result<()> {
    let mut gauges = Publisher::connect(server.mqtt, "backup-gauges").await?;
    let ts = now_ms() - 30_000;
    for (topic, cm) in [
        ("ioc/v1/flood/nha-be/fg-nha-be", 152.0),
        ("ioc/v1/flood/binh-thanh/fg-phu-an", 163.0),
    ] {
        gauges
            .publish(
                topic,
                format!(r#"{{"ts":{ts},"values":{{"water_level_cm":{cm}}}}}"#),
            )
            .await?;
    }
    gauges.wait_acks(2, WAIT).await?;
    let find = |list: &[Value], rule: &str, source: &str| {
        list.iter()
            .find(|a| a["rule"] == rule && a["source"] == source)
            .cloned()
    };
    let deadline = Instant::now() + WAIT;
    let bd2 = loop {
        let list = alerts(server).await?;
        if let (Some(bd2), Some(_)) = (
            find(&list, "flood-bd2", "fg-nha-be"),
            find(&list, "flood-bd3", "fg-phu-an"),
        ) {
            break bd2;
        }
        ensure!(Instant::now() < deadline, "no flood alerts: {list:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let r = reqwest::Client::new()
        .post(server.url(&format!("/api/v1/alerts/{}/ack", bd2["id"])))
        .header("cookie", server.cookie().await?)
        .json(&json!({"note": "Đã báo đội ứng trực Nhà Bè"}))
        .send()
        .await?;
    ensure!(r.status().is_success(), "ack: {}", r.status());
    let list = alerts(server).await?;
    let acked = list.iter().find(|a| a["id"] == bd2["id"]).context("bd2")?;
    ensure!(acked["state"] == "acknowledged", "{acked}");
    Ok(())
}

/// A directory removed when dropped.
struct RemovedOnDrop(std::path::PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a second `ioc-server` on `data_dir` and returns what it said when it exited.
async fn second_server(data_dir: &Path) -> anyhow::Result<Output> {
    let mut child = Command::new(bin_path("ioc-server", "IOC_SERVER_BIN"))
        .args([
            "--http-listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("IOC_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let deadline = Instant::now() + WAIT;
    while child.try_wait()?.is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("a second server on the same data directory is still running");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(child.wait_with_output()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_to_a_server_that_shows_the_same_history_and_alerts()
-> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    raise_alerts(&server).await?;
    let token = witness_gateway(&server).await?;

    // Load: gateways publishing over MQTT, and the witness over HTTP, whose every 200 says
    // which readings are durable.
    let areas: Vec<String> = ["q1", "q3", "thu-duc", "binh-thanh"]
        .map(String::from)
        .into();
    let load = Gateways::start(
        server.mqtt,
        &Load {
            gateways: 2,
            rate: 1_000,
            sources: 100,
            readings: Some(60_000),
            client_prefix: "backup-load".into(),
        },
        &areas,
    )
    .await?;
    let t0 = now_ms() - 120_000;
    let acknowledged = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let witness_task = spawn_witness(
        &server,
        token.clone(),
        t0,
        acknowledged.clone(),
        stop.clone(),
    );
    let deadline = Instant::now() + WAIT;
    while acknowledged.load(Ordering::SeqCst) < 400
        || load.published.load(Ordering::Relaxed) < 2_000
    {
        ensure!(
            Instant::now() < deadline && !witness_task.is_finished(),
            "the load did not get going"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let alerts_before = alerts(&server).await?;

    // The backup, while the load runs.
    let backup_dir = tempfile::tempdir()?;
    let backup = backup_dir.path().join("ioc-backup");
    let durable = acknowledged.load(Ordering::SeqCst);
    let published = load.published.load(Ordering::Relaxed);
    let out = ioc_server(
        server.data_dir.path(),
        &["backup", backup.to_str().context("path")?],
    )
    .await?;
    ensure!(out.status.success(), "backup: {}", text(&out));
    ensure!(
        String::from_utf8_lossy(&out.stdout).contains("backup of"),
        "{}",
        text(&out)
    );
    let manifest: Value = serde_json::from_slice(&std::fs::read(backup.join("ioc-backup.json"))?)?;
    let journaled: u64 = manifest["files"]
        .as_array()
        .context("files")?
        .iter()
        .filter(|f| {
            f["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("ioc.sqlite.journal/"))
        })
        .filter_map(|f| f["bytes"].as_u64())
        .sum();
    eprintln!(
        "backup taken with {durable} witness readings durable and {published} published by \
         the gateways; {journaled} bytes of journal not yet folded were copied"
    );
    ensure!(
        acknowledged.load(Ordering::SeqCst) > durable
            && load.published.load(Ordering::Relaxed) > published,
        "the load did not go on during the backup"
    );

    // A second server on the same data directory is refused while this one runs.
    let second = second_server(server.data_dir.path()).await?;
    ensure!(!second.status.success(), "{}", text(&second));
    ensure!(
        text(&second).contains("is in use by another process (ioc-server serving"),
        "{}",
        text(&second)
    );

    stop.store(true, Ordering::SeqCst);
    witness_task.await??;
    load.finish(WAIT).await?;
    // What the original shows of what was durable before the backup started, once folded.
    let to = witness(t0, durable).1;
    let mut expected = Vec::new();
    for s in 0..WITNESS_SOURCES {
        let source = format!("witness-{s}");
        let want = durable / WITNESS_SOURCES;
        let deadline = Instant::now() + WAIT;
        let answer = loop {
            let answer = history(&server, &source, t0, to).await?;
            if count(&answer) == want {
                break answer;
            }
            ensure!(
                Instant::now() < deadline,
                "the original holds {} of {want} readings of {source}",
                count(&answer)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        expected.push((source, answer));
    }
    let load_topic = "ioc/v1/env/q1/load-0";
    let alerts_after = alerts(&server).await?;
    let original = server.stop(WAIT)?;

    // A fresh server: a restore into its data directory is refused while it runs.
    let fresh = TestServer::start()?;
    let fresh_dir = fresh.data_dir.path().to_owned();
    let refused = ioc_server(&fresh_dir, &["restore", backup.to_str().context("path")?]).await?;
    ensure!(!refused.status.success(), "{}", text(&refused));
    ensure!(
        text(&refused).contains("in use by another process")
            && text(&refused).contains("stop it first"),
        "{}",
        text(&refused)
    );
    let aside_prefix = format!(
        "{}.before-restore",
        fresh_dir.file_name().context("name")?.to_string_lossy()
    );
    ensure!(
        !std::fs::read_dir(fresh_dir.parent().context("parent")?)?
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with(&aside_prefix)),
        "a refused restore set something aside"
    );
    let fresh = fresh.stop(WAIT)?;
    let out = ioc_server(&fresh_dir, &["restore", backup.to_str().context("path")?]).await?;
    ensure!(out.status.success(), "restore: {}", text(&out));
    let aside = String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("what the data directory held is kept in "))
        .map(std::path::PathBuf::from)
        .with_context(|| format!("where the old contents went: {}", text(&out)))?;
    // Beside the data directory (a temporary one): removed with it.
    let _aside = RemovedOnDrop(aside.clone());
    ensure!(
        aside.join("ioc.sqlite").is_file(),
        "the fresh server's store was not kept aside in {}",
        aside.display()
    );
    let restored = fresh.restart()?;
    restored.wait_subscribed().await?;

    // The same history of everything durable before the backup started.
    for (source, want) in &expected {
        let deadline = Instant::now() + WAIT;
        loop {
            let got = history(&restored, source, t0, to).await?;
            if &got == want {
                break;
            }
            ensure!(
                Instant::now() < deadline,
                "{source}: the restored server answers {got}, the original answered {want}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let (load_restored, ..) = restored
        .stored(load_topic, "pm25_ugm3", t0, now_ms())
        .await?;

    // The same alerts: every one raised and acknowledged before the backup, as it was; none
    // the original never had.
    let now_listed = alerts(&restored).await?;
    let flood = |a: &&Value| a["rule"].as_str().is_some_and(|r| r.starts_with("flood-"));
    ensure!(
        alerts_before.iter().filter(flood).count() == 3,
        "{alerts_before:?}"
    );
    for a in alerts_before.iter().filter(flood) {
        ensure!(
            now_listed.contains(a),
            "alert {a} is not in the restored server's {now_listed:?}"
        );
    }
    for a in &now_listed {
        ensure!(
            alerts_after.iter().any(|b| b["id"] == a["id"]),
            "the restored server shows alert {a}, which the original never had"
        );
    }
    // Users and gateways came back too: the admin logs in (the restored server's cookie) and
    // the witness's token is taken.
    let r = reqwest::Client::new()
        .post(restored.url("/api/v1/ingest"))
        .bearer_auth(&token)
        .json(&json!([]))
        .send()
        .await?;
    ensure!(
        r.status().is_success(),
        "the gateway's token: {}",
        r.status()
    );
    restored.stop(WAIT)?;

    // Of the gateways' load, the backup holds some, and nothing the original does not: the
    // original, stopped once what it acknowledged was durable, started again on its own data
    // directory (which the backup left as it was).
    let original = original.restart()?;
    let (load_stored, ..) = original
        .stored(load_topic, "pm25_ugm3", t0, now_ms())
        .await?;
    ensure!(
        load_restored > 0 && load_restored <= load_stored,
        "{load_topic}: {load_restored} restored, {load_stored} in the original"
    );
    Ok(())
}
