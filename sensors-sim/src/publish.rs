//! Publishing the simulated city over MQTT.
//!
//! rumqttc's event loop must be polled all the time, and never blocked: it runs on a task of
//! its own that only polls, counts what the broker acknowledged and logs the connection. The
//! publishing loop runs the simulation up to where the [`Pacing`] allows (never ahead of the
//! wall clock), hands each message to the client (which waits when the bounded request channel
//! is full, and the event loop keeps at most `max_inflight` QoS 1 messages unacknowledged), then
//! writes it to the truth log. At the end, or on shutdown, it waits until the broker has
//! acknowledged every QoS 1 message (or, at QoS 0, until every message is written to the
//! connection) before it disconnects.
//!
//! The session is persistent (`clean_session = false`): after a dropped connection, rumqttc
//! sends again what was not acknowledged, as long as the broker kept the session.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::future::Future;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ioc_protocol::Domain;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::Notify;

use crate::clock::{Pacing, format_local};
use crate::indicators::IndicatorNote;
use crate::inject::Anomaly;
use crate::outgoing::Outgoing;
use crate::sim::Simulation;

/// Why publishing could not start or go on.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("--broker {0:?} must be mqtt://host:port")]
    BadBroker(String),
    #[error("cannot write the truth log {}: {source}", path.display())]
    TruthLog {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the MQTT client stopped: {0}")]
    Client(#[from] rumqttc::ClientError),
}

/// The client's options for a broker URL `mqtt://host:port` (or `tcp://`; port 1883 by
/// default): a persistent session, at most `max_inflight` unacknowledged QoS 1 messages.
pub fn mqtt_options(
    broker: &str,
    client_id: &str,
    max_inflight: u16,
) -> Result<MqttOptions, PublishError> {
    let bad = || PublishError::BadBroker(broker.to_owned());
    let rest = broker
        .strip_prefix("mqtt://")
        .or_else(|| broker.strip_prefix("tcp://"))
        .ok_or_else(bad)?
        .trim_end_matches('/');
    let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(bad)?;
        (host, after.strip_prefix(':'))
    } else {
        match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad())?,
        None => 1883,
    };
    if host.is_empty() {
        return Err(bad());
    }
    let mut opts = MqttOptions::new(client_id, host, port);
    opts.set_keep_alive(Duration::from_secs(15))
        .set_clean_session(false)
        .set_inflight(max_inflight.max(1));
    Ok(opts)
}

/// The truth log: every message published, one JSON line each
/// (`{"topic":..,"payload":{..},"ts":..}`; an indicator report inside
/// `{"indicator_report":..}`), in the order they were published; with `--inject`, each anomaly
/// when it starts, before the first message it changes
/// (`{"anomaly":{"topic":..,"fields":[..],"from":..,"to":..,"kind":..}}`, see
/// [`Anomaly::truth_line`]); and with the indicators, each seeded abnormal value before the
/// report that carries it, each late or missing report at its deadline (see
/// [`IndicatorNote::truth_line`]). Readers of readings skip the lines with no `topic` at the
/// top.
#[derive(Debug)]
pub struct TruthLog {
    path: PathBuf,
    out: BufWriter<File>,
}

impl TruthLog {
    pub fn create(path: &Path) -> Result<TruthLog, PublishError> {
        let file = File::create(path).map_err(|source| PublishError::TruthLog {
            path: path.to_owned(),
            source,
        })?;
        Ok(TruthLog {
            path: path.to_owned(),
            out: BufWriter::new(file),
        })
    }

    fn write(&mut self, m: &Outgoing) -> Result<(), PublishError> {
        writeln!(self.out, "{}", m.truth_line()).map_err(|e| self.error(e))
    }

    fn write_anomaly(&mut self, a: &Anomaly) -> Result<(), PublishError> {
        writeln!(self.out, "{}", a.truth_line()).map_err(|e| self.error(e))
    }

    fn write_note(&mut self, n: &IndicatorNote) -> Result<(), PublishError> {
        writeln!(self.out, "{}", n.truth_line()).map_err(|e| self.error(e))
    }

    fn flush(&mut self) -> Result<(), PublishError> {
        self.out.flush().map_err(|e| self.error(e))
    }

    fn error(&self, source: std::io::Error) -> PublishError {
        PublishError::TruthLog {
            path: self.path.clone(),
            source,
        }
    }
}

/// How to publish.
#[derive(Debug, Clone)]
pub struct PublishOptions {
    pub qos: QoS,
    /// Messages the client queues for the event loop before `publish` waits.
    pub request_capacity: usize,
    /// How long to wait at the end for the broker's acknowledgements.
    pub ack_timeout: Duration,
    /// How often to log progress.
    pub progress_every: Duration,
}

impl Default for PublishOptions {
    fn default() -> Self {
        PublishOptions {
            qos: QoS::AtLeastOnce,
            request_capacity: 1000,
            ack_timeout: Duration::from_secs(30),
            progress_every: Duration::from_secs(10),
        }
    }
}

/// What a run published.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Messages handed to the client, by domain (indicator reports aside).
    pub per_domain: BTreeMap<Domain, u64>,
    /// Indicator reports handed to the client.
    pub indicator_reports: u64,
    /// Messages handed to the client, indicator reports included: the message lines of the
    /// truth log.
    pub published: u64,
    /// At QoS 1, messages the broker acknowledged (PUBACK); at QoS 0, messages written to the
    /// connection.
    pub confirmed: u64,
    pub qos: u8,
    /// The simulated clock at the end.
    pub reached_ms: i64,
    /// Stopped by the shutdown signal rather than at the end of `--duration`.
    pub interrupted: bool,
    /// Anomalies injected (`--inject`) that started.
    pub anomalies: u64,
    /// Indicator values seeded abnormal, in the reports sent.
    pub abnormal_values: u64,
    /// Indicator reports whose deadline passed before they were sent, or that are never sent.
    pub late_reports: u64,
    pub missing_reports: u64,
}

impl Summary {
    /// Whether every published message was confirmed.
    pub fn complete(&self) -> bool {
        self.confirmed >= self.published
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut domains: Vec<String> = self
            .per_domain
            .iter()
            .map(|(d, n)| format!("{d} {n}"))
            .collect();
        if self.indicator_reports > 0 {
            domains.push(format!("indicator {}", self.indicator_reports));
        }
        write!(
            f,
            "published {} messages ({}); {} {}; simulated clock at {}{}{}{}",
            self.published,
            domains.join(", "),
            self.confirmed,
            match self.qos {
                0 => "written to the broker (QoS 0)",
                1 => "acknowledged by the broker (QoS 1)",
                _ => "completed with the broker (QoS 2)",
            },
            format_local(self.reached_ms),
            if self.anomalies > 0 {
                format!("; {} anomalies injected", self.anomalies)
            } else {
                String::new()
            },
            if self.indicator_reports > 0 || self.missing_reports > 0 {
                format!(
                    "; indicators: {} abnormal values, {} late and {} missing reports seeded",
                    self.abnormal_values, self.late_reports, self.missing_reports
                )
            } else {
                String::new()
            },
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            },
        )
    }
}

/// What the event loop's task tells the publishing loop.
#[derive(Debug, Default)]
struct Wire {
    acked: AtomicU64,
    written: AtomicU64,
    stopping: AtomicBool,
    changed: Notify,
}

/// Polls the event loop until the client disconnects: counts PUBACKs (PUBCOMPs at QoS 2) and
/// written publishes, logs the connection, and retries (with a growing pause) when the broker
/// cannot be reached.
async fn drive(mut eventloop: EventLoop, wire: Arc<Wire>) {
    let mut failures: u32 = 0;
    let mut connected_once = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(ack))) => {
                if connected_once && !ack.session_present {
                    tracing::warn!(
                        "the broker did not keep the session: messages in flight when the connection broke may be lost"
                    );
                }
                connected_once = true;
                failures = 0;
                tracing::info!("connected to the broker");
            }
            Ok(Event::Incoming(Packet::PubAck(_) | Packet::PubComp(_))) => {
                wire.acked.fetch_add(1, Ordering::Relaxed);
                wire.changed.notify_one();
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Publish(_))) => {
                wire.written.fetch_add(1, Ordering::Relaxed);
                wire.changed.notify_one();
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => return,
            Ok(_) => {}
            Err(e) => {
                if wire.stopping.load(Ordering::Relaxed) {
                    return;
                }
                if failures == 0 {
                    tracing::warn!(error = %e, "cannot reach the broker; retrying");
                } else {
                    tracing::debug!(error = %e, failures, "cannot reach the broker");
                }
                failures += 1;
                tokio::time::sleep(Duration::from_millis(250 * u64::from(failures.min(20)))).await;
            }
        }
    }
}

/// Logs how far the run is, every `opts.progress_every`.
fn progress(
    last: &mut Instant,
    opts: &PublishOptions,
    sim: &Simulation,
    summary: &Summary,
    wire: &Wire,
) {
    if last.elapsed() >= opts.progress_every {
        *last = Instant::now();
        tracing::info!(
            simulated = %format_local(sim.now_ms()),
            published = summary.published,
            acknowledged = wire.acked.load(Ordering::Relaxed),
            "publishing"
        );
    }
}

/// Logs the anomalies that started and writes them to the truth log, with the indicator notes
/// due.
fn announce(
    sim: &mut Simulation,
    truth: &mut Option<TruthLog>,
    summary: &mut Summary,
) -> Result<(), PublishError> {
    for a in sim.take_started_anomalies() {
        tracing::info!(
            topic = a.topic,
            kind = a.kind(),
            fields = a.fields().join(","),
            change = a.change.magnitude(),
            from = %format_local(a.from_ms),
            to = %format_local(a.to_ms),
            "anomaly injected"
        );
        summary.anomalies += 1;
        if let Some(log) = truth.as_mut() {
            log.write_anomaly(&a)?;
        }
    }
    for n in sim.take_indicator_notes() {
        match &n {
            IndicatorNote::Abnormal(_) => summary.abnormal_values += 1,
            IndicatorNote::Overdue(o) if o.sent_ms.is_some() => summary.late_reports += 1,
            IndicatorNote::Overdue(_) => summary.missing_reports += 1,
        }
        if let Some(log) = truth.as_mut() {
            log.write_note(&n)?;
        }
    }
    Ok(())
}

fn wall_now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Publishes `sim` as `pacing` allows until the end of the pacing or `shutdown`, then waits for
/// the broker's confirmations (up to `opts.ack_timeout`) and disconnects.
pub async fn run(
    sim: &mut Simulation,
    pacing: Pacing,
    mqtt: MqttOptions,
    opts: &PublishOptions,
    mut truth: Option<TruthLog>,
    shutdown: impl Future<Output = ()>,
) -> Result<Summary, PublishError> {
    let (client, eventloop) = AsyncClient::new(mqtt, opts.request_capacity.max(1));
    let wire = Arc::new(Wire::default());
    let task = tokio::spawn(drive(eventloop, wire.clone()));
    tokio::pin!(shutdown);

    let mut summary = Summary {
        qos: opts.qos as u8,
        reached_ms: sim.now_ms(),
        ..Summary::default()
    };
    let t0 = Instant::now();
    let mut last_progress = Instant::now();
    let mut real_time = false;
    'run: loop {
        let wall = wall_now_ms();
        let target = pacing.target_ms(t0.elapsed(), wall);
        if !real_time && pacing.held_by_wall_clock(t0.elapsed(), wall) {
            real_time = true;
            tracing::info!(
                at = %format_local(wall),
                "the simulated clock has caught up with the wall clock: going on in real time"
            );
        }
        while let Some(msg) = sim.next_message(target) {
            let publish = client.publish(
                msg.topic.clone(),
                opts.qos,
                false,
                msg.payload_json.clone().into_bytes(),
            );
            tokio::select! {
                biased;
                () = &mut shutdown => {
                    summary.interrupted = true;
                    break 'run;
                }
                sent = publish => sent?,
            }
            summary.published += 1;
            match msg.domain.domain() {
                Some(d) => *summary.per_domain.entry(d).or_default() += 1,
                None => summary.indicator_reports += 1,
            }
            // Anomalies started by this message's time: logged before it.
            announce(sim, &mut truth, &mut summary)?;
            if let Some(log) = truth.as_mut() {
                log.write(&msg)?;
            }
            if summary.published.is_multiple_of(1024) {
                progress(&mut last_progress, opts, sim, &summary, &wire);
            }
        }
        announce(sim, &mut truth, &mut summary)?;
        if let Some(log) = truth.as_mut() {
            log.flush()?;
        }
        if pacing.finished(sim.now_ms()) {
            break;
        }
        progress(&mut last_progress, opts, sim, &summary, &wire);
        let wait = sim
            .next_due_ms()
            .map_or(Duration::from_millis(200), |next| {
                pacing.wait_for(next, t0.elapsed(), wall_now_ms())
            })
            .min(Duration::from_millis(200));
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            biased;
            () = &mut shutdown => {
                summary.interrupted = true;
                break;
            }
            () = tokio::time::sleep(wait) => {}
        }
    }
    summary.reached_ms = sim.now_ms();
    if let Some(log) = truth.as_mut() {
        log.flush()?;
    }

    // Wait for the broker to confirm everything published.
    let confirmed = |w: &Wire| match opts.qos {
        QoS::AtMostOnce => w.written.load(Ordering::Relaxed),
        _ => w.acked.load(Ordering::Relaxed),
    };
    let deadline = tokio::time::Instant::now() + opts.ack_timeout;
    while confirmed(&wire) < summary.published {
        if tokio::time::Instant::now() >= deadline {
            tracing::warn!(
                published = summary.published,
                confirmed = confirmed(&wire),
                "gave up waiting for the broker's acknowledgements"
            );
            break;
        }
        tokio::select! {
            () = wire.changed.notified() => {}
            () = tokio::time::sleep_until(deadline) => {}
        }
    }
    summary.confirmed = confirmed(&wire);
    wire.stopping.store(true, Ordering::Relaxed);
    if client.disconnect().await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    } else {
        task.abort();
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let o = mqtt_options("mqtt://10.0.0.5:1884", "x", 10).unwrap();
        assert_eq!(o.broker_address(), ("10.0.0.5".to_owned(), 1884));
        let o = mqtt_options("mqtt://broker", "x", 10).unwrap();
        assert_eq!(o.broker_address(), ("broker".to_owned(), 1883));
        let o = mqtt_options("tcp://[::1]:1885/", "x", 10).unwrap();
        assert_eq!(o.broker_address(), ("::1".to_owned(), 1885));
        for bad in ["http://x:1", "mqtt://:1883", "mqtt://x:port", "x:1883"] {
            assert!(mqtt_options(bad, "x", 10).is_err(), "{bad}");
        }
    }
}
