//! The live hub: the current state of every tile, and the coalesced changes sent to browsers.
//!
//! Readings come in through [`Hub::apply`], which only updates state and marks the tile
//! dirty. The publisher task ([`Hub::run_publisher`]) turns dirty tiles into one
//! [`Delta`] per coalescing window, serialises it once, and broadcasts the text to every
//! websocket. The broadcast channel is bounded: a browser that falls behind by more than its
//! capacity is told so by the channel (`Lagged`) and gets a fresh snapshot instead of a queue.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use ioc_protocol::alerts::AlertsFigure;
use ioc_protocol::live::SystemFigures;
use ioc_protocol::{
    AreaStat, Body, Delta, Domain, DomainFigures, FieldStat, Message, Reading, ServerMsg, Snapshot,
    Value,
};
use tokio::sync::{Notify, broadcast, watch};
use tokio::time::Instant;

use super::figures::{Arrival, Figures, SourceSeen, local_midnight_ms, sync_fields};
use crate::city::City;
use crate::config::LiveConfig;
use crate::health::{Histogram, IntakeHealth, StoreHealth};
use std::sync::atomic::{AtomicU64, Ordering};

/// How many published deltas a websocket may be behind before it is resynced.
const BROADCAST_CAPACITY: usize = 64;
/// How often tiles are re-evaluated for staleness when nothing arrives.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// The next delta waits until all but this share of the websockets (and at least
/// [`FANOUT_STRAGGLERS`] of them) have written the previous one...
const FANOUT_LEFT: f64 = 0.05;
const FANOUT_STRAGGLERS: usize = 2;
/// ...or this long at most: peers that stopped reading (dropped at `ws_send_timeout_ms`) must
/// not hold the others back for longer.
const FANOUT_WAIT_MAX: Duration = Duration::from_secs(1);
/// The intake rates (readings/s, rejected/s) are measured over this many sweeps.
const RATE_SAMPLES: usize = 10;

type TileKey = (Domain, String);

/// The newest reading of one source.
#[derive(Debug, Clone)]
struct SourceState {
    ts: i64,
    numbers: BTreeMap<String, f64>,
}

#[derive(Debug)]
struct State {
    /// The `seq` of the last published delta.
    seq: u64,
    /// Sources by tile, then by source id.
    sources: HashMap<TileKey, BTreeMap<String, SourceState>>,
    /// The figures as last published, to send only what changed.
    published: HashMap<TileKey, AreaStat>,
    dirty: BTreeSet<TileKey>,
    /// Every domain's figures, and the domains that may have changed since the last delta.
    figures: Figures,
    published_figures: BTreeMap<Domain, DomainFigures>,
    dirty_domains: BTreeSet<Domain>,
    /// The local midnight today's counts start from, as last published.
    day_start: i64,
    /// (time ms, accepted, rejected) at each sweep, newest last.
    intake: std::collections::VecDeque<(i64, u64, u64)>,
    /// The alerts as the alert engine last gave them, and whether they are not sent yet.
    alerts: AlertsFigure,
    alerts_dirty: bool,
}

/// A serialised message for the websockets: its bytes are shared, not copied, by every send.
pub type Text = axum::extract::ws::Utf8Bytes;

/// A delta on its way to the websockets: its bytes, and when it was made (each websocket
/// counts how long after that it was written: the fan-out delay).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub text: Text,
    pub made: std::time::Instant,
    /// Websockets that have not written it yet (each one says [`Outgoing::done`]).
    pending: Arc<std::sync::atomic::AtomicUsize>,
}

impl Outgoing {
    /// This websocket has written the delta, or given up on it.
    pub fn done(&self) {
        let _ = self
            .pending
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    }
}

/// The live picture of the city, shared by ingest, the publisher and every websocket.
#[derive(Debug)]
pub struct Hub {
    city: Arc<City>,
    config: LiveConfig,
    state: Mutex<State>,
    /// Wakes the publisher when a tile turns dirty.
    changed: Notify,
    /// Serialised deltas, shared by every websocket (serialised once, whatever the fan-out:
    /// each websocket sends the same bytes, counted, not copied).
    deltas: broadcast::Sender<Outgoing>,
    /// The last delta's websockets yet to write it, and how many it went to: the next one
    /// waits for its fan-out (see [`Hub::run_publisher`]).
    fanout: std::sync::Mutex<(Arc<std::sync::atomic::AtomicUsize>, usize)>,
    /// The intake's health (ingest's counters), for the System figures' rates.
    intake: std::sync::OnceLock<Arc<dyn IntakeHealth>>,
    /// The store writer's, for the System figures' store state.
    store: std::sync::OnceLock<Arc<dyn StoreHealth>>,
    counters: HubCounters,
}

/// What the hub and the websockets did, for `/metrics`.
#[derive(Debug, Default)]
pub struct HubCounters {
    /// Messages taken into the live picture.
    pub applied: AtomicU64,
    /// Deltas published, and their bytes (each serialised once).
    pub deltas: AtomicU64,
    pub delta_bytes: AtomicU64,
    /// Snapshots built, for a connect or a resync.
    pub snapshots: AtomicU64,
    /// Messages sent over websockets.
    pub ws_sent: AtomicU64,
    /// Resyncs: the client fell behind, or it asked.
    pub ws_lagged: AtomicU64,
    pub ws_requested: AtomicU64,
    /// Websockets dropped: a send timed out (it stopped reading), or it went silent.
    pub ws_slow: AtomicU64,
    pub ws_silent: AtomicU64,
    /// From a delta's making to its write on each websocket.
    pub ws_fanout: Histogram,
}

impl Hub {
    pub fn new(city: Arc<City>, config: LiveConfig) -> Hub {
        let figures = Figures::new(city.clone(), config.clone());
        Hub {
            city,
            config,
            state: Mutex::new(State {
                seq: 0,
                sources: HashMap::new(),
                published: HashMap::new(),
                dirty: BTreeSet::new(),
                figures,
                published_figures: BTreeMap::new(),
                dirty_domains: Domain::ALL.into_iter().collect(),
                day_start: 0,
                intake: std::collections::VecDeque::new(),
                alerts: AlertsFigure::default(),
                alerts_dirty: false,
            }),
            changed: Notify::new(),
            deltas: broadcast::channel(BROADCAST_CAPACITY).0,
            fanout: std::sync::Mutex::new((Arc::default(), 0)),
            intake: std::sync::OnceLock::new(),
            store: std::sync::OnceLock::new(),
            counters: HubCounters::default(),
        }
    }

    /// Lets the System figures read the store writer's state.
    pub fn set_store(&self, stats: Arc<dyn StoreHealth>) {
        let _ = self.store.set(stats);
    }

    /// The hub's and the websockets' counters.
    pub fn counters(&self) -> &HubCounters {
        &self.counters
    }

    /// The System figures as they are now (what `/metrics` and the System tile show).
    pub fn system_figures(&self) -> SystemFigures {
        let now = Utc::now().timestamp_millis();
        let state = self.lock();
        let intake = self.system_intake(&state);
        match state.figures.compute(Domain::System, now, &intake) {
            DomainFigures::System(s) => s,
            _ => intake,
        }
    }

    /// Every telemetry source: its newest reading's time, when it was last heard from, whether
    /// it is online and whether it has been heard live.
    pub fn sources(&self, now: i64) -> Vec<SourceSeen> {
        self.lock().figures.sources_seen(now)
    }

    /// The alerts changed: they go out whole in the next delta.
    pub fn set_alerts(&self, alerts: AlertsFigure) {
        let mut state = self.lock();
        if state.alerts != alerts {
            state.alerts = alerts;
            state.alerts_dirty = true;
            drop(state);
            self.changed.notify_one();
        }
    }

    /// The domain figures as last published (what the screens show, and the alert rules
    /// read): every domain is recomputed at least once a second.
    pub fn figures_published(&self, domains: &[Domain]) -> Vec<DomainFigures> {
        let state = self.lock();
        domains
            .iter()
            .filter_map(|d| state.published_figures.get(d).cloned())
            .collect()
    }

    /// Lets the System figures read ingest's counters.
    pub fn set_intake(&self, stats: Arc<dyn IntakeHealth>) {
        let _ = self.intake.set(stats);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than a stopped wall, so keep serving.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes in one accepted message, arrived now.
    pub fn apply(&self, msg: &Message) {
        self.apply_as(msg, Arrival::At(Utc::now().timestamp_millis()));
    }

    /// Takes in one message, arrived as `arrival` says (now, or read back from the store).
    pub fn apply_as(&self, msg: &Message, arrival: Arrival) {
        let key = (msg.topic.domain, msg.topic.area.clone());
        self.counters.applied.fetch_add(1, Ordering::Relaxed);
        let mut state = self.lock();
        let domain = state.figures.apply(msg, arrival);
        state.dirty_domains.insert(domain);
        // Platforms report under `system` and show in the public-services figures.
        if domain == Domain::System {
            state.dirty_domains.insert(Domain::Service);
        }
        // An event's source counts towards its tile's freshness, with no numbers.
        let no_values = Reading::new();
        let values = match &msg.body {
            Body::Reading(values) => values,
            Body::Event(_) => &no_values,
        };
        let sources = match state.sources.get_mut(&key) {
            Some(sources) => sources,
            None => state.sources.entry(key.clone()).or_default(),
        };
        match sources.get_mut(&msg.topic.source) {
            // A reading older than the one we show does not replace it (QoS 1 redelivery,
            // a gateway flushing its buffer); the same `ts` again overwrites itself.
            Some(s) if s.ts > msg.ts => return,
            Some(s) => {
                s.ts = msg.ts;
                sync_fields(&mut s.numbers, values, Value::as_number);
            }
            None => {
                let mut numbers = BTreeMap::new();
                sync_fields(&mut numbers, values, Value::as_number);
                sources.insert(
                    msg.topic.source.clone(),
                    SourceState {
                        ts: msg.ts,
                        numbers,
                    },
                );
            }
        }
        state.dirty.insert(key);
        drop(state);
        self.changed.notify_one();
    }

    /// The figures of one tile, now.
    fn compute(
        &self,
        key: &TileKey,
        sources: &BTreeMap<String, SourceState>,
        now: i64,
    ) -> AreaStat {
        let window = self.config.stale_after(key.0).as_millis() as i64;
        let newest_ts = sources.values().map(|s| s.ts).max().unwrap_or(0);
        let fresh: Vec<&SourceState> = sources.values().filter(|s| now - s.ts <= window).collect();
        let stale = fresh.is_empty();
        // With no fresh source, show the last known figures, flagged stale.
        let used: Vec<&SourceState> = if stale {
            sources.values().collect()
        } else {
            fresh
        };
        let mut acc: BTreeMap<&str, (f64, f64, f64, u32)> = BTreeMap::new();
        for s in &used {
            for (name, &v) in &s.numbers {
                let e = acc
                    .entry(name)
                    .or_insert((0.0, f64::INFINITY, f64::NEG_INFINITY, 0));
                e.0 += v;
                e.1 = e.1.min(v);
                e.2 = e.2.max(v);
                e.3 += 1;
            }
        }
        AreaStat {
            domain: key.0,
            area: key.1.clone(),
            fields: acc
                .into_iter()
                .map(|(k, (sum, min, max, n))| {
                    (
                        k.to_owned(),
                        FieldStat {
                            mean: sum / f64::from(n),
                            min,
                            max,
                            n,
                        },
                    )
                })
                .collect(),
            sources: sources.len() as u32,
            fresh_sources: if stale { 0 } else { used.len() as u32 },
            newest_ts,
            stale,
        }
    }

    /// Publishes the tiles that changed as one delta. Returns whether anything was sent.
    pub(crate) fn flush(&self) -> bool {
        let now = Utc::now().timestamp_millis();
        let mut guard = self.lock();
        let state = &mut *guard;
        let dirty = std::mem::take(&mut state.dirty);
        let mut changed = Vec::new();
        for key in dirty {
            let Some(sources) = state.sources.get(&key) else {
                continue;
            };
            let stat = self.compute(&key, sources, now);
            if state.published.get(&key) != Some(&stat) {
                state.published.insert(key, stat.clone());
                changed.push(stat);
            }
        }
        let today = local_midnight_ms(now);
        let new_day = state.day_start != today;
        if new_day {
            state.day_start = today;
            state.dirty_domains.extend(Domain::ALL);
        }
        let mut figures = Vec::new();
        let intake = self.system_intake(state);
        for domain in std::mem::take(&mut state.dirty_domains) {
            let f = state.figures.compute(domain, now, &intake);
            if state.published_figures.get(&domain) != Some(&f) {
                state.published_figures.insert(domain, f.clone());
                figures.push(f);
            }
        }
        let alerts = std::mem::take(&mut state.alerts_dirty).then(|| state.alerts.clone());
        if changed.is_empty() && figures.is_empty() && !new_day && alerts.is_none() {
            return false;
        }
        state.seq += 1;
        let msg = ServerMsg::Delta(Delta {
            seq: state.seq,
            server_time: now,
            stats: changed,
            figures,
            day_start: new_day.then_some(today),
            alerts,
        });
        let text: Text = serde_json::to_string(&msg)
            .expect("live messages always serialise")
            .into();
        self.counters.deltas.fetch_add(1, Ordering::Relaxed);
        self.counters
            .delta_bytes
            .fetch_add(text.as_str().len() as u64, Ordering::Relaxed);
        // Sent under the lock, so that a snapshot taken under the same lock is exactly
        // followed by the deltas after it. No receiver is not an error.
        let receivers = self.deltas.receiver_count();
        let pending = Arc::new(std::sync::atomic::AtomicUsize::new(receivers));
        *self.fanout.lock().unwrap_or_else(|e| e.into_inner()) = (pending.clone(), receivers);
        let _ = self.deltas.send(Outgoing {
            text,
            made: std::time::Instant::now(),
            pending,
        });
        true
    }

    /// The intake figures: rates over the last sweeps, and websocket clients.
    fn system_intake(&self, state: &State) -> SystemFigures {
        let rate =
            |pick: fn(&(i64, u64, u64)) -> u64| match (state.intake.front(), state.intake.back()) {
                (Some(a), Some(b)) if b.0 > a.0 => {
                    (pick(b) - pick(a)) as f64 * 1000.0 / (b.0 - a.0) as f64
                }
                _ => 0.0,
            };
        let ingest = self.intake.get();
        let store = self.store.get();
        SystemFigures {
            readings_per_s: rate(|s| s.1),
            rejected_per_s: rate(|s| s.2),
            websocket_clients: self.clients() as u32,
            lost_messages: ingest.map_or(0, |i| i.lost_messages()),
            broker_connected: ingest.is_some_and(|i| i.broker_connected()),
            store_writable: store.is_none_or(|w| w.writable()),
            spool_batches: store.map_or(0, |w| w.spool_batches()),
            ..SystemFigures::default()
        }
    }

    /// Marks every tile and domain dirty so that the next flush re-evaluates staleness, the
    /// clock-dependent counts (overdue) and the intake rates.
    fn sweep(&self) {
        let now = Utc::now().timestamp_millis();
        let counts = self.intake.get().map(|s| s.totals());
        let mut state = self.lock();
        let keys: Vec<TileKey> = state.sources.keys().cloned().collect();
        state.dirty.extend(keys);
        state.dirty_domains.extend(Domain::ALL);
        if let Some((accepted, rejected)) = counts {
            state.intake.push_back((now, accepted, rejected));
            while state.intake.len() > RATE_SAMPLES + 1 {
                state.intake.pop_front();
            }
        }
        state.figures.prune(now);
    }

    /// A snapshot of everything, and a receiver of every delta after it.
    pub fn subscribe(&self) -> (Text, broadcast::Receiver<Outgoing>) {
        let mut guard = self.lock();
        let state = &mut *guard;
        let now = Utc::now().timestamp_millis();
        // Before the first flush, compute what has not been published yet (it goes out again
        // in the next delta, which changes nothing for this browser).
        let intake = self.system_intake(state);
        // The snapshot holds what is true now, including changes still waiting for the end of
        // the coalescing window (they go out again in the next delta, which changes nothing
        // for this browser). Figures are computed afresh, as some depend on the clock alone
        // (overdue, stale): the last delta may be up to a second old.
        let figures: Vec<DomainFigures> = Domain::ALL
            .iter()
            .map(|d| state.figures.compute(*d, now, &intake))
            .collect();
        let mut stats: BTreeMap<&TileKey, AreaStat> = state
            .published
            .iter()
            .map(|(k, v)| (k, v.clone()))
            .collect();
        for key in &state.dirty {
            if let Some(sources) = state.sources.get(key) {
                stats.insert(key, self.compute(key, sources, now));
            }
        }
        let snapshot = Snapshot {
            seq: state.seq,
            server_time: now,
            city_vi: self.city.name_vi.clone(),
            city_en: self.city.name_en.clone(),
            areas: self.city.areas.clone(),
            stale_after_s: Domain::ALL
                .iter()
                .map(|&d| (d, self.config.stale_after(d).as_secs() as u32))
                .collect(),
            stats: stats.into_values().collect(),
            day_start: if state.day_start != 0 {
                state.day_start
            } else {
                local_midnight_ms(now)
            },
            figures,
            alerts: state.alerts.clone(),
        };
        let rx = self.deltas.subscribe();
        drop(guard);
        self.counters.snapshots.fetch_add(1, Ordering::Relaxed);
        let text = serde_json::to_string(&ServerMsg::Snapshot(snapshot))
            .expect("live messages always serialise");
        (text.into(), rx)
    }

    /// Whether enough websockets have written the last delta for the next to go out.
    fn fanned_out(&self) -> bool {
        let (pending, receivers) = &*self.fanout.lock().unwrap_or_else(|e| e.into_inner());
        let left = ((*receivers as f64 * FANOUT_LEFT) as usize).max(FANOUT_STRAGGLERS);
        pending.load(Ordering::Relaxed) <= left
    }

    /// Number of websockets subscribed.
    pub fn clients(&self) -> usize {
        self.deltas.receiver_count()
    }

    /// Runs until `shutdown` turns true: one delta per coalescing window at most, the first
    /// change after a quiet spell at once (leading edge), and a staleness sweep every second.
    pub async fn run_publisher(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let window = Duration::from_millis(self.config.coalesce_ms);
        let mut last_flush: Option<Instant> = None;
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => return,
                _ = self.changed.notified() => {}
                _ = sweep.tick() => self.sweep(),
            }
            let since = last_flush.map_or(window, |t| t.elapsed());
            if since < window {
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(window - since) => {}
                }
            }
            // With many screens, writing a delta to all of them can take longer than the
            // window: the next one waits for that, instead of queueing behind it. The window
            // stretches with the fan-out, and every screen still gets the newest state.
            // And when the fan-out outlasted the window, the next one waits as long again: the
            // fan-out takes at most half the time, and ingest keeps its share of the CPU.
            let waited = Instant::now();
            if !self.fanned_out() {
                while !self.fanned_out() && waited.elapsed() < FANOUT_WAIT_MAX {
                    tokio::select! {
                        _ = shutdown.changed() => return,
                        _ = tokio::time::sleep(Duration::from_millis(2)) => {}
                    }
                }
                let fanout = last_flush.map_or(Duration::ZERO, |t| t.elapsed());
                tokio::select! {
                    _ = shutdown.changed() => return,
                    _ = tokio::time::sleep(fanout.min(FANOUT_WAIT_MAX)) => {}
                }
            }
            if self.flush() {
                last_flush = Some(Instant::now());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::{Topic, Value};

    fn hub() -> Hub {
        Hub::new(Arc::new(City::built_in()), LiveConfig::default())
    }

    fn reading(area: &str, source: &str, ts: i64, aqi: f64) -> Message {
        Message {
            topic: Topic::new(Domain::Env, area, source),
            ts,
            seq: None,
            body: Body::Reading([("aqi".to_owned(), Value::Number(aqi))].into()),
        }
    }

    fn delta(out: &Outgoing) -> Delta {
        match serde_json::from_str(out.text.as_str()).unwrap() {
            ServerMsg::Delta(d) => d,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aggregates_latest_per_source() {
        let hub = hub();
        let (_, mut rx) = hub.subscribe();
        let now = Utc::now().timestamp_millis();
        hub.apply(&reading("q1", "a", now, 50.0));
        hub.apply(&reading("q1", "b", now, 100.0));
        hub.apply(&reading("q1", "a", now + 1, 70.0));
        // An older reading does not replace the newer one.
        hub.apply(&reading("q1", "a", now - 1000, 500.0));
        assert!(hub.flush());
        let d = delta(&rx.try_recv().unwrap());
        assert_eq!(d.seq, 1);
        let s = &d.stats[0];
        assert_eq!((s.domain, s.area.as_str()), (Domain::Env, "q1"));
        assert_eq!(
            s.fields["aqi"],
            FieldStat {
                mean: 85.0,
                min: 70.0,
                max: 100.0,
                n: 2
            }
        );
        assert_eq!(s.newest_ts, now + 1);
        assert!(!s.stale);
        // Nothing changed: nothing sent.
        hub.sweep();
        assert!(!hub.flush());
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn old_sources_make_a_stale_tile() {
        let hub = hub();
        let now = Utc::now().timestamp_millis();
        let old = now - 601_000;
        hub.apply(&reading("q3", "a", old, 40.0));
        hub.apply(&reading("q5", "a", old, 40.0));
        hub.apply(&reading("q5", "b", now, 60.0));
        hub.flush();
        let (snap, _) = hub.subscribe();
        let ServerMsg::Snapshot(snap) = serde_json::from_str(&snap).unwrap() else {
            panic!()
        };
        let q3 = snap.stats.iter().find(|s| s.area == "q3").unwrap();
        assert!(q3.stale);
        assert_eq!(q3.fields["aqi"].mean, 40.0);
        let q5 = snap.stats.iter().find(|s| s.area == "q5").unwrap();
        assert!(!q5.stale);
        // Only the fresh source counts.
        assert_eq!(q5.fields["aqi"].mean, 60.0);
        assert_eq!((q5.sources, q5.fresh_sources), (2, 1));
        assert_eq!(snap.areas.len(), 22);
    }

    #[derive(Debug)]
    struct Intake;
    impl IntakeHealth for Intake {
        fn totals(&self) -> (u64, u64) {
            (10, 1)
        }
        fn lost_messages(&self) -> u64 {
            3
        }
        fn broker_connected(&self) -> bool {
            true
        }
    }

    #[derive(Debug)]
    struct Store;
    impl StoreHealth for Store {
        fn writable(&self) -> bool {
            false
        }
        fn spool_batches(&self) -> u64 {
            2
        }
    }

    #[test]
    fn the_system_figures_read_the_intake_and_the_store_through_health() {
        let hub = hub();
        let before = hub.system_figures();
        assert!(!before.broker_connected && before.store_writable);
        hub.set_intake(Arc::new(Intake));
        hub.set_store(Arc::new(Store));
        let s = hub.system_figures();
        assert_eq!(s.lost_messages, 3);
        assert!(s.broker_connected);
        assert!(!s.store_writable);
        assert_eq!(s.spool_batches, 2);
    }

    #[test]
    fn lagging_receiver_is_told() {
        let hub = hub();
        let (_, mut rx) = hub.subscribe();
        let now = Utc::now().timestamp_millis();
        for i in 0..(BROADCAST_CAPACITY as i64 + 10) {
            hub.apply(&reading("q1", "a", now + i, i as f64));
            hub.flush();
        }
        assert!(matches!(
            rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(_))
        ));
    }

    /// A hub of the built-in city whose deltas coalesce over `coalesce_ms`.
    fn hub_with_window(coalesce_ms: u64) -> Arc<Hub> {
        Arc::new(Hub::new(
            Arc::new(City::built_in()),
            LiveConfig {
                coalesce_ms,
                ..LiveConfig::default()
            },
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn coalesces_but_sends_a_lone_change_at_once() {
        let hub = hub_with_window(100);
        let (_, mut rx) = hub.subscribe();
        let (_stop, stop_rx) = watch::channel(false);
        tokio::spawn(hub.clone().run_publisher(stop_rx));
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The first figures of every domain went out at start.
        let start = delta(&rx.try_recv().unwrap());
        assert!(start.stats.is_empty() && start.figures.len() == Domain::ALL.len());
        assert!(rx.try_recv().is_err());
        let now = Utc::now().timestamp_millis();
        let t0 = Instant::now();
        hub.apply(&reading("q1", "a", now, 1.0));
        let first = rx.recv().await.unwrap();
        assert!(
            t0.elapsed() < Duration::from_millis(5),
            "a lone change waits {:?}",
            t0.elapsed()
        );
        assert_eq!(delta(&first).stats.len(), 1);
        // A burst inside the window goes out as one delta at the window's end.
        for i in 1..=20 {
            hub.apply(&reading("q1", "a", now + i, i as f64));
            hub.apply(&reading("q3", "b", now + i, i as f64));
        }
        let burst = delta(&rx.recv().await.unwrap());
        assert!(t0.elapsed() >= Duration::from_millis(100));
        assert_eq!(burst.stats.len(), 2);
        assert_eq!(
            burst.stats.iter().find(|s| s.area == "q1").unwrap().fields["aqi"].mean,
            20.0
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_next_delta_waits_for_the_fan_out_of_the_last() {
        let hub = hub_with_window(100);
        let mut screens: Vec<_> = (0..40).map(|_| hub.subscribe().1).collect();
        let (_stop, stop_rx) = watch::channel(false);
        tokio::spawn(hub.clone().run_publisher(stop_rx));
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = Utc::now().timestamp_millis();
        // Every screen reads the next delta, and writes it after `write`, or never.
        async fn fan_out(screens: &mut [broadcast::Receiver<Outgoing>], write: Option<Duration>) {
            let mut got = Vec::new();
            for rx in screens.iter_mut() {
                while let Ok(d) = rx.try_recv() {
                    got.push(d);
                }
            }
            if let Some(after) = write {
                tokio::time::sleep(after).await;
                got.iter().for_each(Outgoing::done);
            }
        }
        fan_out(&mut screens, Some(Duration::ZERO)).await;

        // Written at once: the next delta goes out at the end of the window.
        hub.apply(&reading("q1", "a", now, 1.0));
        // The first screen waits for it (the others read it in fan_out).
        screens[0].recv().await.unwrap().done();
        let t0 = Instant::now();
        hub.apply(&reading("q1", "a", now + 1, 2.0));
        fan_out(&mut screens, Some(Duration::ZERO)).await;
        // The first screen waits for it (the others read it in fan_out).
        screens[0].recv().await.unwrap().done();
        assert!(
            t0.elapsed() <= Duration::from_millis(110),
            "{:?}",
            t0.elapsed()
        );

        // Written 300 ms later: the next waits for that, and as long again.
        let t1 = Instant::now();
        hub.apply(&reading("q1", "a", now + 2, 3.0));
        fan_out(&mut screens, Some(Duration::from_millis(300))).await;
        // The first screen waits for it (the others read it in fan_out).
        screens[0].recv().await.unwrap().done();
        let took = t1.elapsed();
        assert!(
            took >= Duration::from_millis(600) && took <= Duration::from_millis(650),
            "{took:?}"
        );

        // Never written (screens that stopped reading): after the window, the others wait a
        // second at most, and a second again.
        let t2 = Instant::now();
        hub.apply(&reading("q1", "a", now + 3, 4.0));
        fan_out(&mut screens, None).await;
        // The first screen waits for it (the others read it in fan_out).
        screens[0].recv().await.unwrap().done();
        let took = t2.elapsed();
        assert!(
            took >= FANOUT_WAIT_MAX * 2 && took <= FANOUT_WAIT_MAX * 2 + Duration::from_millis(150),
            "{took:?}"
        );
    }
}
