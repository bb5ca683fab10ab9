//! The Eclipse Paho interoperability client tests for MQTT 3.1.1 (`client_test.py` of
//! eclipse-paho/paho.mqtt.testing), as our own tests against the default configuration's MQTT
//! endpoint: that suite is on no registry the project may install from, so CI runs these
//! instead (the suite itself was run by hand: docs/reliability.md). Each scenario that the
//! endpoint supports, with raw packets and keep-alive 0 as the suite's client sends it. The
//! scenarios it leaves out on purpose (retained messages, queueing for offline subscribers,
//! QoS 1/2 delivery to subscribers, broker-side ACLs) are named in docs/architecture.md.

use std::time::Duration;

use anyhow::Context;
use ioc_tests::TestServer;
use ioc_tests::mqtt_wire::{field, packet};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(10);

/// A CONNECT of protocol `name` and `level`, with a will when given.
fn connect(
    name: &str,
    level: u8,
    id: &str,
    clean: bool,
    keep_alive: u16,
    will: Option<(&str, &str)>,
) -> Vec<u8> {
    let mut body = Vec::new();
    field(&mut body, name.as_bytes());
    body.push(level);
    let mut flags = if clean { 0x02 } else { 0 };
    if will.is_some() {
        flags |= 0x04;
    }
    body.push(flags);
    body.extend_from_slice(&keep_alive.to_be_bytes());
    field(&mut body, id.as_bytes());
    if let Some((topic, message)) = will {
        field(&mut body, topic.as_bytes());
        field(&mut body, message.as_bytes());
    }
    packet(0x10, &body)
}

fn subscribe(pkid: u16, filter: &str) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    field(&mut body, filter.as_bytes());
    body.push(0);
    packet(0x82, &body)
}

fn unsubscribe(pkid: u16, filter: &str) -> Vec<u8> {
    let mut body = pkid.to_be_bytes().to_vec();
    field(&mut body, filter.as_bytes());
    packet(0xA2, &body)
}

fn publish0(topic: &str, payload: &str) -> Vec<u8> {
    let mut body = Vec::new();
    field(&mut body, topic.as_bytes());
    body.extend_from_slice(payload.as_bytes());
    packet(0x30, &body)
}

/// A client on a raw socket.
struct Raw(TcpStream);

impl Raw {
    async fn open(server: &TestServer) -> anyhow::Result<Raw> {
        Ok(Raw(TcpStream::connect(server.mqtt).await?))
    }

    /// Connects with keep-alive 0 and a clean session; asserts CONNACK 0.
    async fn connected(server: &TestServer, id: &str) -> anyhow::Result<Raw> {
        let mut c = Raw::open(server).await?;
        c.send(&connect("MQTT", 4, id, true, 0, None)).await?;
        assert_eq!(
            c.packet().await?,
            Some((0x20, vec![0, 0])),
            "{id}'s CONNACK"
        );
        Ok(c)
    }

    async fn send(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        Ok(self.0.write_all(bytes).await?)
    }

    /// The next packet (first byte, body), or `None` if the server closed the connection.
    async fn packet(&mut self) -> anyhow::Result<Option<(u8, Vec<u8>)>> {
        self.packet_within(WAIT)
            .await?
            .context("nothing from the server")
    }

    /// The next packet within `wait`: `Ok(None)` if nothing came, `Some(None)` if closed.
    async fn packet_within(
        &mut self,
        wait: Duration,
    ) -> anyhow::Result<Option<Option<(u8, Vec<u8>)>>> {
        let read = async {
            let mut first = [0u8; 1];
            if self.0.read(&mut first).await? == 0 {
                return Ok::<_, anyhow::Error>(None);
            }
            let (mut len, mut shift) = (0usize, 0);
            loop {
                let b = self.0.read_u8().await?;
                len |= ((b & 0x7F) as usize) << shift;
                shift += 7;
                if b & 0x80 == 0 {
                    break;
                }
            }
            let mut body = vec![0; len];
            self.0.read_exact(&mut body).await?;
            Ok(Some((first[0], body)))
        };
        match tokio::time::timeout(wait, read).await {
            Ok(r) => Ok(Some(r?)),
            Err(_) => Ok(None),
        }
    }

    /// The topic of the next PUBLISH received (QoS 0), or `None` if none comes within `wait`.
    async fn published(&mut self, wait: Duration) -> anyhow::Result<Option<String>> {
        match self.packet_within(wait).await? {
            Some(Some((first, body))) => {
                anyhow::ensure!(first == 0x30, "a QoS 0 PUBLISH, not {first:#x}");
                let n = u16::from_be_bytes([body[0], body[1]]) as usize;
                Ok(Some(String::from_utf8(body[2..2 + n].to_vec())?))
            }
            Some(None) => anyhow::bail!("the connection closed"),
            None => Ok(None),
        }
    }
}

/// Paho's `testBasic`: connect, subscribe, publish and receive; a second CONNECT on the
/// same connection closes it (no second CONNACK); a protocol name that is not MQTT is closed
/// without a CONNACK; MQTT 3.1 (level 3) is answered "unacceptable protocol version".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let mut a = Raw::connected(&server, "myclientid").await?;
    a.send(&subscribe(1, "TopicA")).await?;
    assert_eq!(a.packet().await?, Some((0x90, vec![0, 1, 0])), "SUBACK");
    a.send(&publish0("TopicA", "qos 0")).await?;
    assert_eq!(a.published(WAIT).await?.as_deref(), Some("TopicA"));

    a.send(&connect("MQTT", 4, "myclientid", true, 0, None))
        .await?;
    assert_eq!(a.packet().await?, None, "closed, no second CONNACK");

    let mut b = Raw::open(&server).await?;
    b.send(&connect("hj", 4, "hj-client", true, 0, None))
        .await?;
    assert_eq!(b.packet().await?, None, "closed, no CONNACK");

    let mut c = Raw::open(&server).await?;
    c.send(&connect("MQIsdp", 3, "old-client", true, 0, None))
        .await?;
    assert_eq!(c.packet().await?, Some((0x20, vec![0, 1])), "CONNACK 1");
    Ok(())
}

/// Paho's `test_zero_length_clientid`: an empty client id is refused for a session to keep
/// (CONNACK 2) and given one for a clean session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zero_length_clientid() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let mut a = Raw::open(&server).await?;
    a.send(&connect("MQTT", 4, "", false, 0, None)).await?;
    assert_eq!(a.packet().await?, Some((0x20, vec![0, 2])));
    let mut b = Raw::open(&server).await?;
    b.send(&connect("MQTT", 4, "", true, 0, None)).await?;
    assert_eq!(b.packet().await?, Some((0x20, vec![0, 0])));
    Ok(())
}

/// Paho's `test_keepalive`: a client with keep-alive 2 s that goes silent is closed within
/// 1.5 times that and its will is published; one with keep-alive 0 stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_expiry_publishes_the_will() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let mut watcher = Raw::connected(&server, "watcher").await?;
    watcher.send(&subscribe(1, "TopicA/#")).await?;
    watcher.packet().await?;
    let mut silent = Raw::open(&server).await?;
    silent
        .send(&connect(
            "MQTT",
            4,
            "silent",
            true,
            2,
            Some(("TopicA/will", "keepalive expiry")),
        ))
        .await?;
    assert_eq!(silent.packet().await?, Some((0x20, vec![0, 0])));
    let started = tokio::time::Instant::now();
    assert_eq!(
        watcher.published(WAIT).await?.as_deref(),
        Some("TopicA/will")
    );
    let after = started.elapsed();
    assert!(
        after >= Duration::from_secs(2) && after < Duration::from_secs(6),
        "the will came after {after:?}"
    );
    assert_eq!(silent.packet().await?, None, "the silent client is closed");
    // The watcher, keep-alive 0, silent the whole time, is still served.
    watcher.send(&[0xC0, 0]).await?;
    assert_eq!(watcher.packet().await?, Some((0xD0, vec![])));
    Ok(())
}

/// Paho's `test_dollar_topics`: a filter that starts with a wildcard does not match a topic
/// that starts with `$`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dollar_topics_are_not_matched_by_leading_wildcards() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let mut b = Raw::connected(&server, "dollar-watcher").await?;
    b.send(&subscribe(1, "#")).await?;
    b.packet().await?;
    b.send(&publish0("$SYS/broker", "x")).await?;
    b.send(&publish0("TopicA", "y")).await?;
    assert_eq!(b.published(WAIT).await?.as_deref(), Some("TopicA"));
    Ok(())
}

/// Paho's `test_unsubscribe`: after UNSUBACK, nothing more arrives on that filter; the other
/// filters still deliver.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsubscribe_stops_delivery() -> anyhow::Result<()> {
    let server = TestServer::start()?;
    server.wait_subscribed().await?;
    let mut b = Raw::connected(&server, "unsub").await?;
    b.send(&subscribe(1, "TopicA/B")).await?;
    b.packet().await?;
    b.send(&subscribe(2, "TopicA/C")).await?;
    b.packet().await?;
    b.send(&unsubscribe(3, "TopicA/B")).await?;
    assert_eq!(b.packet().await?, Some((0xB0, vec![0, 3])), "UNSUBACK");
    b.send(&publish0("TopicA/B", "gone")).await?;
    b.send(&publish0("TopicA/C", "kept")).await?;
    assert_eq!(b.published(WAIT).await?.as_deref(), Some("TopicA/C"));
    assert_eq!(b.published(Duration::from_millis(500)).await?, None);
    Ok(())
}
