//! Load as the city's gateways make it: MQTT connections publishing QoS 1 readings of air
//! stations and traffic sensors at a set rate over many sources, each reading with its `seq`
//! and its send time as `ts`. Shared by the soak (`ioc-soak`) and the load tool (`ioc-load`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::gateway::PipelinedPublisher;
use crate::probe::now_us;

/// What a set of gateways publishes, and how far they are.
#[derive(Debug)]
pub struct Gateways {
    /// Readings published (queued on their connection).
    pub published: Arc<AtomicU64>,
    /// Gateways that stopped on an error (the connection broke).
    pub errors: Arc<AtomicU64>,
    /// Set to stop the gateways early.
    pub stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<PipelinedPublisher>>>,
}

/// Publishes a gateway may have unacknowledged, as the tests' `Publisher` (rumqttc) had.
const GATEWAY_WINDOW: u64 = 200;

/// The gateways' load.
#[derive(Debug, Clone)]
pub struct Load {
    /// MQTT connections.
    pub gateways: u64,
    /// Readings/s from all together; 0 sends as fast as the broker takes them.
    pub rate: u64,
    /// Distinct sources (topics), spread over the gateways and `areas`.
    pub sources: u64,
    /// Readings in all; `None` until stopped.
    pub readings: Option<u64>,
    /// Client ids are this and the gateway's number.
    pub client_prefix: String,
}

/// Source `s`'s topic and its `seq`-th reading, sent now: even sources are air stations
/// (3 fields), odd ones traffic sensors (2 fields).
pub fn reading(s: u64, seq: u64, area: &str) -> (String, String) {
    let ts = now_us() / 1000;
    let (topic, values) = if s.is_multiple_of(2) {
        (
            format!("ioc/v1/env/{area}/load-{s}"),
            format!(
                r#"{{"pm25_ugm3":{}.5,"temp_c":{}.2,"humidity_pct":{}}}"#,
                10 + seq % 90,
                25 + seq % 10,
                50 + seq % 50
            ),
        )
    } else {
        (
            format!("ioc/v1/traffic/{area}/load-{s}"),
            format!(
                r#"{{"speed_kmh":{}.0,"congestion":{}}}"#,
                5 + seq % 60,
                seq % 6
            ),
        )
    };
    (
        topic,
        format!(r#"{{"ts":{ts},"seq":{seq},"values":{values}}}"#),
    )
}

impl Gateways {
    /// Connects the gateways to `broker` and starts publishing. Each one ticks every 10 ms
    /// and sends its share of the tick in one write (unpaced: as fast as its window of 200
    /// unacknowledged publishes lets it, see [`PipelinedPublisher`]).
    pub async fn start(broker: SocketAddr, load: &Load, areas: &[String]) -> anyhow::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let published = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(AtomicU64::new(0));
        let n = load.gateways.max(1);
        let mut tasks = Vec::new();
        for g in 0..n {
            let mut publisher = PipelinedPublisher::connect(
                broker,
                &format!("{}-{g}", load.client_prefix),
                GATEWAY_WINDOW,
            )
            .await?;
            let (stop, published, errors) = (stop.clone(), published.clone(), errors.clone());
            let areas = areas.to_vec();
            let mine: Vec<u64> = (0..load.sources.max(1)).filter(|s| s % n == g).collect();
            let share = load.readings.map(|r| r / n + u64::from(g < r % n));
            let per_tick = load.rate as f64 / n as f64 / 100.0;
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_millis(10));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                let mut seq = vec![0u64; mine.len()];
                let mut due = 0.0;
                let mut sent = 0u64;
                while !stop.load(Ordering::Relaxed) && share.is_none_or(|s| sent < s) {
                    if per_tick > 0.0 {
                        if due < 1.0 {
                            // The tick's readings go out together.
                            if let Err(e) = publisher.flush().await {
                                errors.fetch_add(1, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                        while due < 1.0 {
                            tick.tick().await;
                            due += per_tick;
                        }
                        due -= 1.0;
                    }
                    let k = (sent % mine.len() as u64) as usize;
                    let s = mine[k];
                    let (topic, payload) = reading(s, seq[k], &areas[s as usize % areas.len()]);
                    if let Err(e) = publisher.publish(&topic, payload.as_bytes()).await {
                        errors.fetch_add(1, Ordering::Relaxed);
                        return Err(e);
                    }
                    published.fetch_add(1, Ordering::Relaxed);
                    seq[k] += 1;
                    sent += 1;
                }
                publisher.flush().await?;
                Ok(publisher)
            }));
        }
        Ok(Gateways {
            published,
            errors,
            stop,
            tasks,
        })
    }

    /// Whether every gateway has sent its share (or was stopped).
    pub fn finished(&self) -> bool {
        self.tasks.iter().all(|t| t.is_finished())
    }

    /// Stops the gateways and waits for each to have its readings acknowledged by the broker
    /// (within `within`).
    pub async fn finish(self, within: Duration) -> anyhow::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.tasks {
            t.await??.finish(within).await?;
        }
        Ok(())
    }
}

/// CPU seconds (user + system), resident set now and at its peak, of a process.
pub fn proc_usage(pid: u32) -> anyhow::Result<(f64, u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').context("odd /proc stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f[11].parse::<f64>()? + f[12].parse::<f64>()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Ok((ticks / 100.0, kb("VmRSS:"), kb("VmHWM:")))
}
