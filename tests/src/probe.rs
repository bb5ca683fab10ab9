//! Publish-to-screen latency with many websocket clients: a probe reading carries its send
//! time (µs) as a field, and each client reads it back from the deltas it receives, without
//! parsing the rest (hundreds of clients share the machine with the server).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::TestServer;

/// The field a probe reading carries.
pub const FIELD: &str = "probe_sent_us";

pub type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Now, epoch µs.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as i64
}

/// A probe reading's payload, sent now; the send time is also the reading's `ts`.
pub fn payload() -> String {
    let sent = now_us();
    format!(r#"{{"ts":{},"values":{{"{FIELD}":{sent}}}}}"#, sent / 1000)
}

/// The send time (µs) of the probe in a delta's text, if it carries one: the mean of the
/// probe area's field.
pub fn sent_in(text: &str) -> Option<i64> {
    // Run for every delta by every client: no string built per call.
    const KEY: &str = "\"probe_sent_us\":{\"mean\":";
    debug_assert!(KEY.contains(FIELD));
    let at = text.find(KEY)? + KEY.len();
    let rest = &text[at..];
    let end = rest.find([',', '}'])?;
    rest[..end].parse::<f64>().ok().map(|v| v as i64)
}

/// A websocket to the server over `stream` (which the caller may have tuned), with the
/// admin's cookie and the server's origin.
pub async fn open(server: &TestServer, stream: tokio::net::TcpStream) -> anyhow::Result<Ws> {
    let mut req = server.ws_url().into_client_request()?;
    req.headers_mut().insert(
        "origin",
        HeaderValue::from_str(&format!("http://{}", server.http))?,
    );
    req.headers_mut()
        .insert("cookie", HeaderValue::from_str(&server.cookie().await?)?);
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (ws, _) = tokio_tungstenite::client_async(req, stream).await?;
    Ok(ws)
}

/// Publish-to-screen latency percentiles, ms (NaN without samples).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub samples: usize,
}

/// Clients reading deltas and recording (send time, latency) of every probe, both µs.
#[derive(Debug, Clone, Default)]
pub struct Clients {
    pub samples: Arc<Mutex<Vec<(i64, i64)>>>,
    /// Clients whose websocket ended (closed by the server, or an error).
    pub ended: Arc<AtomicU64>,
}

impl Clients {
    /// Connects `n` clients, each reading on its own task.
    pub async fn connect(server: &TestServer, n: usize) -> anyhow::Result<Clients> {
        let clients = Clients::default();
        for _ in 0..n {
            // A browser's receive buffer, not the megabytes Linux grows a loopback one to: a
            // client that reads slowly holds the server's sends back as a remote one would.
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.set_recv_buffer_size(64 * 1024)?;
            let ws = open(server, socket.connect(server.http).await?).await?;
            let c = clients.clone();
            tokio::spawn(async move {
                let (_, mut rx) = ws.split();
                while let Some(Ok(msg)) = rx.next().await {
                    if let WsMessage::Text(t) = msg
                        && t.as_str().starts_with("{\"type\":\"delta\"")
                        && let Some(sent) = sent_in(t.as_str())
                    {
                        let latency = now_us() - sent;
                        c.samples
                            .lock()
                            .expect("not poisoned")
                            .push((sent, latency));
                    }
                }
                c.ended.fetch_add(1, Ordering::Relaxed);
            });
        }
        Ok(clients)
    }

    /// The p99 latency (ms) of the probes sent within any of `phases` (µs ranges), and how
    /// many samples that is.
    pub fn p99(&self, phases: &[(i64, i64)]) -> (f64, usize) {
        let l = self.latency(phases);
        (l.p99_ms, l.samples)
    }

    /// The latency of the probes sent within any of `phases` (µs ranges), every client's
    /// every probe counted.
    pub fn latency(&self, phases: &[(i64, i64)]) -> Latency {
        let mut v: Vec<i64> = self
            .samples
            .lock()
            .expect("not poisoned")
            .iter()
            .filter(|(sent, _)| phases.iter().any(|&(from, to)| (from..to).contains(sent)))
            .map(|&(_, lat)| lat)
            .collect();
        v.sort_unstable();
        let at = |q: f64| {
            let i = ((v.len() as f64) * q).ceil().max(1.0) as usize - 1;
            v.get(i.min(v.len().saturating_sub(1)))
                .map_or(f64::NAN, |&us| us as f64 / 1000.0)
        };
        Latency {
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: at(1.0),
            samples: v.len(),
        }
    }

    /// Forgets the samples sent before `before_us` (a long run keeps its memory flat).
    pub fn forget(&self, before_us: i64) {
        self.samples
            .lock()
            .expect("not poisoned")
            .retain(|(sent, _)| *sent >= before_us);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_is_read_back_from_a_delta() {
        let text = r#"{"type":"delta","seq":3,"stats":[{"domain":"system","area":"q1","fields":{"probe_sent_us":{"mean":1795365637123456.0,"min":1.0,"max":2.0,"n":1}}}]}"#;
        assert_eq!(sent_in(text), Some(1_795_365_637_123_456));
        assert_eq!(sent_in(r#"{"type":"delta","stats":[]}"#), None);
    }
}
