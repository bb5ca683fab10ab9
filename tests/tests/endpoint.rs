//! The embedded MQTT endpoint (the default configuration), from outside, with real clients:
//! a PUBACK means the reading is durable (SIGKILL loses nothing a gateway saw acknowledged, 20
//! runs in a row), keep-alive 0 is taken, gateways log in and publish only what they are
//! granted, subscribers get messages live at QoS 0 and a slow one never holds ingest back,
//! and MQTT 5 clients are told what the endpoint leaves out.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use ioc_tests::mqtt_wire::{field, packet};
use ioc_tests::{Publisher, TestServer, free_port, now_ms};
use rumqttc::{AsyncClient, Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(30);

/// A gateway that remembers, for each reading it published (by its index), whether it saw
/// the PUBACK: the map from packet id to reading is taken from rumqttc's own outgoing
/// events, in the order the readings were published.
struct CountingGateway {
    client: AsyncClient,
    acked: Arc<Mutex<BTreeSet<i64>>>,
    /// Set at the kill: from then on nothing is counted (no PUBACK can come from a dead
    /// server, and rumqttc's resends would shift the mapping).
    frozen: Arc<AtomicBool>,
    session_present: Arc<Mutex<Vec<bool>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CountingGateway {
    async fn connect(addr: std::net::SocketAddr, id: &str) -> anyhow::Result<CountingGateway> {
        let mut opts = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        // A persistent session: rumqttc sends again what was not acknowledged only if the
        // server says the session is present.
        opts.set_clean_session(false)
            .set_keep_alive(Duration::from_secs(10))
            .set_inflight(1000);
        let (client, mut eventloop) = AsyncClient::new(opts, 10_000);
        let acked = Arc::new(Mutex::new(BTreeSet::new()));
        let frozen = Arc::new(AtomicBool::new(false));
        let session_present = Arc::new(Mutex::new(Vec::new()));
        let (up_tx, up) = tokio::sync::oneshot::channel();
        let task = tokio::spawn({
            let (acked, frozen, session_present) =
                (acked.clone(), frozen.clone(), session_present.clone());
            async move {
                let mut up = Some(up_tx);
                let mut next = 0i64;
                let mut by_pkid = HashMap::new();
                loop {
                    match eventloop.poll().await {
                        Ok(Event::Incoming(Packet::ConnAck(c))) => {
                            session_present.lock().unwrap().push(c.session_present);
                            if let Some(up) = up.take() {
                                let _ = up.send(());
                            }
                        }
                        Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                            if !frozen.load(Ordering::SeqCst) {
                                by_pkid.insert(pkid, next);
                                next += 1;
                            }
                        }
                        Ok(Event::Incoming(Packet::PubAck(a))) => {
                            if !frozen.load(Ordering::SeqCst)
                                && let Some(i) = by_pkid.remove(&a.pkid)
                            {
                                acked.lock().unwrap().insert(i);
                            }
                        }
                        Ok(_) => {}
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), up)
            .await
            .context("no CONNACK within 10 s")??;
        Ok(CountingGateway {
            client,
            acked,
            frozen,
            session_present,
            task,
        })
    }
}

impl Drop for CountingGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Contiguous runs `[a, b]` of a set of indices.
fn runs(set: &BTreeSet<i64>) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &i in set {
        match out.last_mut() {
            Some((_, b)) if *b + 1 == i => *b = i,
            _ => out.push((i, i)),
        }
    }
    out
}

/// SIGKILL at the third second of 5,000 QoS 1 readings/s, 20 times in a row on the same data
/// directory: after each restart every reading the gateway saw acknowledged is in the store
/// (counted from the store's history, not from what the server says it wrote). Then the
/// gateway, told its session is present, sends again what was not acknowledged: in the end
/// every reading published is stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_loses_nothing_the_gateway_saw_acknowledged() -> anyhow::Result<()> {
    const RATE: i64 = 5_000;
    const TICK_MS: i64 = 10;
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = TestServer::start_with(&["--mqtt-listen", &listen])?;
    server.wait_subscribed().await?;
    let mut acked_total = 0usize;
    for run in 0..20 {
        let topic = format!("ioc/v1/env/q1/kill-{run}");
        let gateway = CountingGateway::connect(server.mqtt, &format!("kill-gw-{run}")).await?;
        // One reading per millisecond of `ts`, so that each is its own point in the store.
        let t0 = now_ms() - 60_000;
        let started = tokio::time::Instant::now();
        let mut published = 0i64;
        let mut tick = tokio::time::interval(Duration::from_millis(TICK_MS as u64));
        while started.elapsed() < Duration::from_secs(3) {
            tick.tick().await;
            for _ in 0..RATE * TICK_MS / 1000 {
                let payload = format!(
                    r#"{{"ts":{},"seq":{published},"values":{{"aqi":{}}}}}"#,
                    t0 + published,
                    published % 500
                );
                gateway
                    .client
                    .publish(topic.as_str(), QoS::AtLeastOnce, false, payload)
                    .await?;
                published += 1;
            }
        }
        let crashed = server.crash()?;
        gateway.frozen.store(true, Ordering::SeqCst);
        let acked = gateway.acked.lock().unwrap().clone();
        anyhow::ensure!(
            acked.len() > 1_000,
            "run {run}: only {} of {published} acknowledged before the kill",
            acked.len()
        );
        acked_total += acked.len();
        server = crashed.restart()?;
        server.wait_subscribed().await?;
        for (a, b) in runs(&acked) {
            let (n, ..) = server.stored(&topic, "aqi", t0 + a, t0 + b + 1).await?;
            anyhow::ensure!(
                n == (b - a + 1) as u64,
                "run {run}: readings {a}..={b} were acknowledged, {n} of {} are stored",
                b - a + 1
            );
        }
        // The gateway reconnects, is told its session is present, and sends the rest again.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (n, ..) = server.stored(&topic, "aqi", t0, t0 + published).await?;
            if n == published as u64 {
                break;
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "run {run}: {n} of {published} published readings stored after the restart \
                 (CONNACKs' session present: {:?})",
                gateway.session_present.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(
            gateway.session_present.lock().unwrap().last(),
            Some(&true),
            "run {run}: after the restart the gateway's session is present"
        );
    }
    eprintln!("{acked_total} readings acknowledged before 20 kills, all stored");
    Ok(())
}

/// Waits until the store's history shows `n` readings of `topic`'s `aqi` in `[from, to)`
/// (history sees a durable batch once it is folded from the journal, within a second), then
/// returns the count and the largest value.
async fn stored_within(
    server: &TestServer,
    topic: &str,
    from: i64,
    to: i64,
    n: u64,
) -> anyhow::Result<(u64, Option<f64>)> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (count, _, max) = server.stored(topic, "aqi", from, to).await?;
        if count >= n || tokio::time::Instant::now() >= deadline {
            return Ok((count, max));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An MQTT 3.1.1 CONNECT: clean session, `keep_alive` seconds, and a user name and password
/// when given.
fn connect_v4(id: &str, keep_alive: u16, login: Option<(&str, &str)>) -> Vec<u8> {
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4];
    body.push(if login.is_some() { 0xC2 } else { 0x02 });
    body.extend_from_slice(&keep_alive.to_be_bytes());
    field(&mut body, id.as_bytes());
    if let Some((u, p)) = login {
        field(&mut body, u.as_bytes());
        field(&mut body, p.as_bytes());
    }
    packet(0x10, &body)
}

/// A QoS 1 PUBLISH with packet id `pkid`.
fn publish_qos1(topic: &str, pkid: u16, payload: &[u8]) -> Vec<u8> {
    let mut body = (topic.len() as u16).to_be_bytes().to_vec();
    body.extend_from_slice(topic.as_bytes());
    body.extend_from_slice(&pkid.to_be_bytes());
    body.extend_from_slice(payload);
    packet(0x32, &body)
}

async fn read_exactly(s: &mut TcpStream, n: usize) -> anyhow::Result<Vec<u8>> {
    let mut buf = vec![0; n];
    tokio::time::timeout(Duration::from_secs(10), s.read_exact(&mut buf))
        .await
        .context("no answer within 10 s")??;
    Ok(buf)
}

/// Keep-alive 0 is "off" in MQTT 3.1.1: the CONNECT is accepted, the connection is never
/// timed out, and what it publishes is acknowledged and stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_zero_is_accepted_and_never_timed_out() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let mut s = TcpStream::connect(server.mqtt).await?;
    s.write_all(&connect_v4("ka0-gateway", 0, None)).await?;
    assert_eq!(read_exactly(&mut s, 4).await?, [0x20, 2, 0, 0], "CONNACK 0");
    // Idle for longer than 1.5 times any keep-alive a timer could have taken from it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let ts = now_ms();
    let reading = format!(r#"{{"ts":{ts},"values":{{"aqi":77}}}}"#);
    s.write_all(&publish_qos1("ioc/v1/env/q3/ka0", 7, reading.as_bytes()))
        .await?;
    assert_eq!(read_exactly(&mut s, 4).await?, [0x40, 2, 0, 7], "PUBACK 7");
    let stored = stored_within(&server, "ioc/v1/env/q3/ka0", ts, ts + 1, 1).await?;
    assert_eq!(stored, (1, Some(77.0)));
    s.write_all(&[0xC0, 0]).await?;
    assert_eq!(read_exactly(&mut s, 2).await?, [0xD0, 0], "PINGRESP");
    Ok(())
}

/// With gateway auth, unknown credentials are refused in the CONNACK (3.1.1: 4, none given:
/// 5; MQTT 5: 0x86), and a gateway's reading for a source granted only to another gateway is
/// refused as forbidden (and acknowledged, so that it is not sent forever), while the gateway
/// it is granted to has it stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_grants_are_each_gateways_own() -> anyhow::Result<()> {
    let server = TestServer::start_with(&["--gateway-auth"])?;
    let a = server.add_gateway("gw-a", "q1", "aqs-*")?;
    let b = server.add_gateway("gw-b", "q3", "aqs-*")?;
    server.wait_subscribed().await?;

    let mut s = TcpStream::connect(server.mqtt).await?;
    s.write_all(&connect_v4("intruder", 0, Some(("gw-a", "wrong"))))
        .await?;
    assert_eq!(read_exactly(&mut s, 4).await?, [0x20, 2, 0, 4]);
    let mut s = TcpStream::connect(server.mqtt).await?;
    s.write_all(&connect_v4("anonymous", 0, None)).await?;
    assert_eq!(read_exactly(&mut s, 4).await?, [0x20, 2, 0, 5]);
    let v5 = {
        let mut o = rumqttc::v5::MqttOptions::new("v5-intruder", "127.0.0.1", server.mqtt.port());
        o.set_credentials("gw-b", "wrong");
        let (_c, mut el) = rumqttc::v5::AsyncClient::new(o, 10);
        tokio::time::timeout(Duration::from_secs(10), el.poll()).await?
    };
    let refused = format!("{v5:?}");
    assert!(
        refused.contains("BadUserNamePassword"),
        "MQTT 5 refusal: {refused}"
    );

    let ts = now_ms();
    let reading = |v: i32| format!(r#"{{"ts":{ts},"values":{{"aqi":{v}}}}}"#);
    let mut gw_a = Publisher::connect_as(server.mqtt, "gw-a-1", Some(("gw-a", &a))).await?;
    gw_a.publish("ioc/v1/env/q3/aqs-9", reading(1)).await?;
    gw_a.wait_acks(1, WAIT).await?;
    let mut gw_b = Publisher::connect_as(server.mqtt, "gw-b-1", Some(("gw-b", &b))).await?;
    gw_b.publish("ioc/v1/env/q3/aqs-9", reading(2)).await?;
    gw_b.wait_acks(1, WAIT).await?;
    let stored = stored_within(&server, "ioc/v1/env/q3/aqs-9", ts, ts + 1, 1).await?;
    assert_eq!(stored, (1, Some(2.0)), "only gw-b's reading is stored");
    let m = server.metrics().await?;
    assert_eq!(
        m.value(r#"ioc_ingest_rejected_total{reason="forbidden"}"#)?,
        1.0
    );
    assert!(m.value(r#"ioc_mqtt_connects_refused_total{reason="bad_credentials"}"#)? >= 2.0);
    Ok(())
}

/// A subscriber gets what gateways publish, live at QoS 0. One that subscribes and stops
/// reading loses messages (counted) and never holds the gateways back: every PUBACK still
/// comes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_get_qos0_live_and_a_slow_one_is_dropped_not_waited_for() -> anyhow::Result<()>
{
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    // The one that stops reading: subscribes to everything, then never reads again.
    let mut stalled = TcpStream::connect(server.mqtt).await?;
    stalled.write_all(&connect_v4("stalled", 0, None)).await?;
    read_exactly(&mut stalled, 4).await?;
    let sub = [0, 1, 0, 1, b'#', 0];
    stalled.write_all(&packet(0x82, &sub)).await?;
    assert_eq!(read_exactly(&mut stalled, 5).await?, [0x90, 3, 0, 1, 0]);

    // The one that reads.
    let mut opts = MqttOptions::new("watcher", "127.0.0.1", server.mqtt.port());
    opts.set_keep_alive(Duration::from_secs(10));
    let (watcher, mut el) = AsyncClient::new(opts, 100);
    watcher
        .subscribe("ioc/v1/env/q1/+", QoS::AtLeastOnce)
        .await?;
    let (tx, mut seen) = tokio::sync::mpsc::unbounded_channel();
    let watching = tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((p.topic, p.qos));
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    let _ = tx.send(("suback".into(), QoS::AtMostOnce));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let first = tokio::time::timeout(WAIT, seen.recv())
        .await?
        .context("watcher")?;
    assert_eq!(first.0, "suback");

    // 3,000 QoS 1 messages of 10 KB: far more than the stalled subscriber's socket and queue
    // hold. Debug topics, outside the contract: relayed, then rejected and counted by ingest.
    let mut gw = Publisher::connect(server.mqtt, "big-gateway").await?;
    let ts = now_ms();
    gw.publish(
        "ioc/v1/env/q1/watched",
        format!(r#"{{"ts":{ts},"values":{{"aqi":5}}}}"#),
    )
    .await?;
    let filler = vec![b'x'; 10_000];
    for i in 0..3_000 {
        gw.publish(&format!("debug/big/{i}"), filler.clone())
            .await?;
        if i % 100 == 99 {
            gw.wait_acks(100, WAIT).await?;
        }
    }
    gw.wait_acks(1, WAIT).await?;
    let (topic, qos) = tokio::time::timeout(WAIT, seen.recv())
        .await?
        .context("the watcher got nothing")?;
    assert_eq!(
        (topic.as_str(), qos),
        ("ioc/v1/env/q1/watched", QoS::AtMostOnce)
    );
    let m = server.metrics().await?;
    assert!(
        m.value("ioc_mqtt_relay_dropped_total")? > 0.0,
        "the stalled subscriber's messages are dropped and counted"
    );
    watching.abort();
    drop(stalled);
    Ok(())
}

/// An MQTT 5 client is told in the CONNACK what the endpoint leaves out (no retained
/// messages, no shared subscriptions, no topic aliases) and how many messages it may have in
/// flight; a QoS 2 reading is taken (PUBREC once durable, then PUBCOMP) and stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mqtt5_connack_says_what_is_left_out_and_qos2_is_stored_once() -> anyhow::Result<()> {
    use rumqttc::v5::mqttbytes::QoS as QoS5;
    use rumqttc::v5::mqttbytes::v5::Packet as P5;
    use rumqttc::v5::{AsyncClient as Client5, Event as Event5, MqttOptions as Options5};
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let opts = Options5::new("v5-gateway", "127.0.0.1", server.mqtt.port());
    let (client, mut el) = Client5::new(opts, 10);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            match el.poll().await {
                Ok(Event5::Incoming(p)) => {
                    let _ = tx.send(p);
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let Some(P5::ConnAck(ack)) = tokio::time::timeout(WAIT, rx.recv()).await? else {
        anyhow::bail!("no CONNACK");
    };
    let p = ack.properties.context("CONNACK properties")?;
    assert_eq!(p.retain_available, Some(0));
    assert_eq!(p.shared_subscription_available, Some(0));
    assert_eq!(p.topic_alias_max, Some(0));
    assert_eq!(p.receive_max, Some(1000));
    let ts = now_ms();
    client
        .publish(
            "ioc/v1/env/q1/qos2",
            QoS5::ExactlyOnce,
            false,
            format!(r#"{{"ts":{ts},"values":{{"aqi":12}}}}"#),
        )
        .await?;
    loop {
        match tokio::time::timeout(WAIT, rx.recv()).await? {
            Some(P5::PubComp(_)) => break,
            Some(_) => {}
            None => anyhow::bail!("the connection closed before PUBCOMP"),
        }
    }
    let stored = stored_within(&server, "ioc/v1/env/q1/qos2", ts, ts + 1, 1).await?;
    assert_eq!(stored, (1, Some(12.0)));
    task.abort();
    Ok(())
}
