//! A gateway's MQTT 3.1.1 connection for the load tools: QoS 1 publishes pipelined within a
//! window of unacknowledged ones, several PUBLISH packets per write, as a gateway with a
//! backlog sends them. rumqttc writes and flushes each publish on its own (a system call per
//! reading), which made the load tool take about a quarter of these two cores at 100,000
//! readings/s, cores the server under test then did not have.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::Notify;

/// Bytes gathered before a write, at most (unless one publish is larger).
const WRITE_AT: usize = 32 * 1024;
/// A PINGREQ goes out after this long without a write; the keep-alive is three times it.
const PING_AFTER: Duration = Duration::from_secs(10);

/// One gateway connection.
pub struct PipelinedPublisher {
    write: OwnedWriteHalf,
    buf: Vec<u8>,
    /// QoS 1 publishes written (or buffered) and acknowledged.
    sent: u64,
    acks: Arc<Acks>,
    window: u64,
    next_pkid: u16,
    last_write: tokio::time::Instant,
    reader: tokio::task::JoinHandle<()>,
}

struct Acks {
    count: AtomicU64,
    /// The broker closed the connection, or sent what we cannot read.
    closed: AtomicBool,
    notify: Notify,
}

impl std::fmt::Debug for PipelinedPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelinedPublisher")
            .field("sent", &self.sent)
            .field("acked", &self.acks.count.load(Ordering::Relaxed))
            .finish()
    }
}

/// An MQTT remaining length.
fn put_len(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

impl PipelinedPublisher {
    /// Connects on a clean session as `client_id`, with at most `window` publishes
    /// unacknowledged.
    pub async fn connect(
        broker: SocketAddr,
        client_id: &str,
        window: u64,
    ) -> anyhow::Result<PipelinedPublisher> {
        let mut stream = TcpStream::connect(broker)
            .await
            .with_context(|| format!("cannot connect to the broker at {broker}"))?;
        stream.set_nodelay(true)?;
        let mut body = Vec::new();
        put_str(&mut body, b"MQTT");
        body.push(4); // 3.1.1
        body.push(0x02); // clean session
        body.extend_from_slice(&((PING_AFTER.as_secs() * 3) as u16).to_be_bytes());
        put_str(&mut body, client_id.as_bytes());
        let mut connect = vec![0x10];
        put_len(&mut connect, body.len());
        connect.extend_from_slice(&body);
        stream.write_all(&connect).await?;
        let mut connack = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut connack))
            .await
            .context("no CONNACK from the broker within 10 s")??;
        anyhow::ensure!(
            connack[0] == 0x20 && connack[3] == 0,
            "the broker refused {client_id}: CONNACK {connack:?}"
        );
        let (read, write) = stream.into_split();
        let acks = Arc::new(Acks {
            count: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            notify: Notify::new(),
        });
        let reader = tokio::spawn(read_acks(read, acks.clone()));
        Ok(PipelinedPublisher {
            write,
            buf: Vec::with_capacity(WRITE_AT + 1024),
            sent: 0,
            acks,
            window: window.max(1),
            next_pkid: 1,
            last_write: tokio::time::Instant::now(),
            reader,
        })
    }

    /// Queues a QoS 1 publish: written once enough is gathered, or on [`Self::flush`]. Waits
    /// while the window is full.
    pub async fn publish(&mut self, topic: &str, payload: &[u8]) -> anyhow::Result<()> {
        while self.sent - self.acks.count.load(Ordering::Acquire) >= self.window {
            // What is buffered counts in the window: write it, or its acks never come.
            self.flush().await?;
            let notified = self.acks.notify.notified();
            if self.sent - self.acks.count.load(Ordering::Acquire) < self.window {
                break;
            }
            anyhow::ensure!(
                !self.acks.closed.load(Ordering::Acquire),
                "the broker closed the connection"
            );
            notified.await;
        }
        let pkid = self.next_pkid;
        self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
        self.buf.push(0x32); // PUBLISH, QoS 1
        put_len(&mut self.buf, 2 + topic.len() + 2 + payload.len());
        put_str(&mut self.buf, topic.as_bytes());
        self.buf.extend_from_slice(&pkid.to_be_bytes());
        self.buf.extend_from_slice(payload);
        self.sent += 1;
        if self.buf.len() >= WRITE_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Writes what is gathered (or a PINGREQ, if nothing was written for a while).
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        if self.buf.is_empty() {
            if self.last_write.elapsed() < PING_AFTER {
                return Ok(());
            }
            self.buf.extend_from_slice(&[0xC0, 0]);
        }
        self.write
            .write_all(&self.buf)
            .await
            .context("cannot write to the broker")?;
        self.buf.clear();
        self.last_write = tokio::time::Instant::now();
        Ok(())
    }

    /// Publishes queued so far.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Writes what is gathered and waits until the broker acknowledged every publish.
    pub async fn finish(&mut self, within: Duration) -> anyhow::Result<()> {
        self.flush().await?;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let notified = self.acks.notify.notified();
            let acked = self.acks.count.load(Ordering::Acquire);
            if acked >= self.sent {
                break;
            }
            anyhow::ensure!(
                !self.acks.closed.load(Ordering::Acquire),
                "the broker closed the connection with {} of {} acknowledged",
                acked,
                self.sent
            );
            tokio::time::timeout_at(deadline, notified)
                .await
                .with_context(|| {
                    format!("only {acked} of {} PUBACKs within {within:?}", self.sent)
                })?;
        }
        // DISCONNECT.
        let _ = self.write.write_all(&[0xE0, 0]).await;
        Ok(())
    }
}

impl Drop for PipelinedPublisher {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The length of the packet at the start of `b`, its fixed header included, or `None` while
/// `b` does not hold all of the fixed header (`usize::MAX` if it is malformed).
fn packet_len(b: &[u8]) -> Option<usize> {
    let mut len = 0usize;
    for i in 1..5 {
        let byte = *b.get(i)?;
        len |= usize::from(byte & 0x7F) << (7 * (i - 1));
        if byte & 0x80 == 0 {
            return Some(i + 1 + len);
        }
    }
    Some(usize::MAX)
}

/// Counts the PUBACKs (and skips PINGRESPs) until the connection ends.
async fn read_acks(mut read: tokio::net::tcp::OwnedReadHalf, acks: Arc<Acks>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut have = 0;
    'read: loop {
        let n = match read.read(&mut buf[have..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        have += n;
        let (mut at, mut count) = (0, 0);
        while let Some(n) = packet_len(&buf[at..have]) {
            if n > buf.len() {
                break 'read; // Not a packet a broker sends a publisher.
            }
            if at + n > have {
                break;
            }
            if buf[at] == 0x40 {
                count += 1;
            }
            at += n;
        }
        buf.copy_within(at..have, 0);
        have -= at;
        if count > 0 {
            acks.count.fetch_add(count, Ordering::Release);
            acks.notify.notify_waiters();
        }
    }
    acks.closed.store(true, Ordering::Release);
    acks.notify.notify_waiters();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_lengths_are_encoded_as_mqtt_says() {
        let enc = |n| {
            let mut v = Vec::new();
            put_len(&mut v, n);
            v
        };
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(127), [0x7F]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(16_383), [0xFF, 0x7F]);
        assert_eq!(enc(16_384), [0x80, 0x80, 0x01]);
    }

    #[test]
    fn a_packet_is_measured_once_its_fixed_header_is_in() {
        assert_eq!(packet_len(&[0x40, 2, 0, 1]), Some(4));
        assert_eq!(packet_len(&[0x40]), None);
        assert_eq!(packet_len(&[0x30, 0x80]), None);
        assert_eq!(packet_len(&[0x30, 0x80, 0x01]), Some(3 + 128));
        assert_eq!(
            packet_len(&[0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            Some(usize::MAX)
        );
    }
}
