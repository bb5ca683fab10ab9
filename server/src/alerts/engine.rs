//! The alert service ([`Alerts`]): its state in memory, opening it from `alerts.sqlite` with
//! the alerts not closed and the anomaly baselines, writing what changed and showing it, and
//! its loop beside the hub (sweep every second, write and send every 250 ms, baselines every
//! ten minutes and at the stop).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use ioc_protocol::Topic;
use ioc_protocol::alerts::{Alert, AlertEvent, AlertState, AlertsFigure, Severity, screen_order};
use ioc_protocol::preset::{AlertRule, FIGURE_FIELDS};

use super::lifecycle::Limiter;
use super::rules::{Cond, Rule};
use super::{anomaly, store};
use crate::city::City;
use crate::config::{AlertsConfig, LiveConfig};
use crate::live::Hub;

/// How often changed alerts are written and sent.
const PERSIST_EVERY: Duration = Duration::from_millis(250);
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// New values of active alerts go to the screens at most this often.
const VALUES_EVERY_MS: i64 = 5_000;
/// How often the anomaly baselines are written (and when the server stops).
const SAVE_BASELINES_EVERY: Duration = Duration::from_secs(600);

/// Every series of one source: its fields' detectors.
#[derive(Debug, Default)]
pub(super) struct SourceSeries {
    pub(super) fields: Vec<(String, anomaly::Series)>,
}

/// The alerts, the rules' conditions and the series, in memory behind one lock.
#[derive(Debug, Default)]
pub(super) struct State {
    /// Alerts not closed (and closed ones not yet written).
    pub(super) alerts: BTreeMap<u64, Alert>,
    /// (rule, source) -> its alert that is not closed.
    pub(super) by_key: HashMap<(String, String), u64>,
    pub(super) conds: HashMap<(usize, String), Cond>,
    /// Each source's series, by its topic (found without building a key for every message).
    pub(super) series: HashMap<Topic, SourceSeries>,
    pub(super) series_count: usize,
    /// Anomalous series whose alert the rate limit held back: it opens once it can.
    pub(super) held_anomalies: std::collections::HashSet<String>,
    pub(super) next_id: u64,
    pub(super) limiter: Limiter,
    /// Alerts changed since the last write, and history entries to write.
    pub(super) dirty: BTreeSet<u64>,
    pub(super) events: Vec<(u64, AlertEvent)>,
    /// The live list changed (a value moved) without anything to write, and when values
    /// were last sent.
    pub(super) live_dirty: bool,
    pub(super) values_sent_at: i64,
}

/// Counters for `/metrics`.
#[derive(Debug, Default)]
pub struct AlertCounters {
    pub opened: AtomicU64,
    pub reopened: AtomicU64,
    pub held: AtomicU64,
    pub resolved_by_themselves: AtomicU64,
    pub anomalies: AtomicU64,
    pub write_errors: AtomicU64,
}

/// The alert engine.
#[derive(Debug)]
pub struct Alerts {
    pub(super) city: Arc<City>,
    pub(super) config: AlertsConfig,
    pub(super) live: LiveConfig,
    pub(super) rules: Vec<Rule>,
    /// Rules on reading fields, by field.
    pub(super) reading_rules: HashMap<String, Vec<usize>>,
    pub(super) params: anomaly::Params,
    pub(super) state: Mutex<State>,
    pub(super) store: store::AlertStore,
    /// Held while alerts are taken from memory and written, so that writes keep their order.
    pub(super) writing: Mutex<()>,
    pub counters: AlertCounters,
}

impl Alerts {
    /// The engine, with the alerts not closed from `alerts.sqlite` in `data_dir`.
    pub fn open(
        city: Arc<City>,
        config: AlertsConfig,
        live: LiveConfig,
        data_dir: &std::path::Path,
    ) -> anyhow::Result<Alerts> {
        let store = store::AlertStore::open(data_dir)?;
        let rules: Vec<Rule> = city
            .preset()
            .alert_rules()
            .into_iter()
            .map(|def| Rule {
                for_ms: (def.for_minutes * 60_000.0) as i64,
                offline: def.field == "offline",
                def,
            })
            .collect();
        let mut reading_rules: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            let figure = FIGURE_FIELDS.contains(&(r.def.domain, r.def.field.as_str()));
            if !figure && !r.offline {
                reading_rules
                    .entry(r.def.field.clone())
                    .or_default()
                    .push(i);
            }
        }
        let params = anomaly::Params {
            score_on: config.anomaly_score,
            seasonal_score: config.anomaly_seasonal_score,
            score_off: config.anomaly_clear_score,
            window_ms: config.anomaly_window_s as i64 * 1000,
            min_readings: config.anomaly_min_readings,
            min_samples: config.anomaly_min_samples,
        };
        let engine = Alerts {
            city,
            config,
            live,
            rules,
            reading_rules,
            params,
            state: Mutex::new(State::default()),
            store,
            writing: Mutex::new(()),
            counters: AlertCounters::default(),
        };
        let (open, max_id) = engine.store.load_open()?;
        let baselines = engine.store.load_baselines()?;
        {
            let mut st = engine.lock();
            st.next_id = max_id + 1;
            for (name, bytes) in &baselines {
                let (Some((topic, field)), Some(series)) = (
                    name.rsplit_once('#').and_then(|(topic, field)| {
                        let mut parts = topic.splitn(3, '/');
                        let domain = parts.next()?.parse().ok()?;
                        let topic = Topic::new(domain, parts.next()?, parts.next()?);
                        Some((topic, field))
                    }),
                    anomaly::Series::from_baseline_bytes(bytes),
                ) else {
                    tracing::warn!(series = name, "an unreadable baseline; learning it again");
                    continue;
                };
                st.series
                    .entry(topic)
                    .or_default()
                    .fields
                    .push((field.to_owned(), series));
                st.series_count += 1;
            }
            if !baselines.is_empty() {
                tracing::info!(series = baselines.len(), "anomaly baselines loaded");
            }
            for a in open {
                st.by_key.insert(a.key(), a.id);
                if a.state.is_active() {
                    engine.resume(&mut st, &a);
                }
                st.alerts.insert(a.id, a);
            }
            st.live_dirty = true;
        }
        Ok(engine)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rules the engine runs.
    pub fn rules(&self) -> Vec<AlertRule> {
        self.rules.iter().map(|r| r.def.clone()).collect()
    }

    /// Writes what changed to `alerts.sqlite`. Returns whether the live list changed; on an
    /// error what changed stays in memory, to be written at the next call.
    pub fn persist(&self) -> anyhow::Result<bool> {
        let _order = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        let (alerts, events, live) = {
            let mut st = self.lock();
            let dirty = std::mem::take(&mut st.dirty);
            let alerts: Vec<Alert> = dirty
                .iter()
                .filter_map(|id| st.alerts.get(id).cloned())
                .collect();
            let events = std::mem::take(&mut st.events);
            // A change of state goes out at once; new values of active alerts at most every
            // few seconds (the whole list goes to every screen).
            let now = Utc::now().timestamp_millis();
            let values_due = st.live_dirty && now - st.values_sent_at >= VALUES_EVERY_MS;
            let live = values_due || !alerts.is_empty();
            if live {
                st.live_dirty = false;
                st.values_sent_at = now;
            }
            (alerts, events, live)
        };
        if let Err(e) = self.store.write(&alerts, &events) {
            self.counters.write_errors.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "cannot write alerts; keeping them to try again");
            let mut st = self.lock();
            st.dirty.extend(alerts.iter().map(|a| a.id));
            let mut later = std::mem::take(&mut st.events);
            st.events = events;
            st.events.append(&mut later);
            st.live_dirty = true;
            return Err(e);
        }
        // Closed alerts leave memory once written.
        let mut st = self.lock();
        for a in alerts.iter().filter(|a| a.state == AlertState::Closed) {
            if st
                .alerts
                .get(&a.id)
                .is_some_and(|m| m.state == AlertState::Closed)
            {
                st.alerts.remove(&a.id);
            }
        }
        Ok(live)
    }

    /// The alerts as the screens show them.
    pub fn figure(&self) -> AlertsFigure {
        let st = self.lock();
        let mut listed: Vec<&Alert> = st
            .alerts
            .values()
            .filter(|a| a.state != AlertState::Closed)
            .collect();
        let count = |s: AlertState| listed.iter().filter(|a| a.state == s).count() as u32;
        let (open, acknowledged, resolved) = (
            count(AlertState::Open),
            count(AlertState::Acknowledged),
            count(AlertState::Resolved),
        );
        let critical = listed
            .iter()
            .filter(|a| a.state.is_active() && a.severity == Severity::Critical)
            .count() as u32;
        listed.sort_by(|a, b| screen_order(a, b));
        listed.truncate(AlertsFigure::MAX_LISTED);
        AlertsFigure {
            alerts: listed.into_iter().cloned().collect(),
            open,
            acknowledged,
            resolved,
            critical,
            held_total: self.counters.held.load(Ordering::Relaxed),
        }
    }

    /// Writes every series' baseline, so that a restart does not learn them again.
    pub fn save_baselines(&self) {
        let all: Vec<(String, Vec<u8>)> = {
            let st = self.lock();
            st.series
                .iter()
                .flat_map(|(t, s)| {
                    s.fields.iter().map(move |(f, series)| {
                        let name = format!("{}/{}/{}#{f}", t.domain, t.area, t.source);
                        (name, series.baseline_bytes())
                    })
                })
                .collect()
        };
        match self.store.save_baselines(&all) {
            Ok(()) => tracing::debug!(series = all.len(), "anomaly baselines saved"),
            Err(e) => tracing::error!(error = %e, "cannot save the anomaly baselines"),
        }
    }

    /// The history API's store.
    pub fn store(&self) -> &store::AlertStore {
        &self.store
    }

    /// Runs until `stop`: sweeps every second, writes and publishes changes every 250 ms.
    pub async fn run(self: Arc<Self>, hub: Arc<Hub>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut persist = tokio::time::interval(PERSIST_EVERY);
        let mut save = tokio::time::interval(SAVE_BASELINES_EVERY);
        save.tick().await;
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        persist.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = sweep.tick() => {
                    let (engine, hub) = (self.clone(), hub.clone());
                    let _ = tokio::task::spawn_blocking(move || engine.sweep(&hub)).await;
                }
                _ = persist.tick() => {}
                _ = save.tick() => {
                    let engine = self.clone();
                    let _ = tokio::task::spawn_blocking(move || engine.save_baselines()).await;
                }
            }
            self.publish(&hub).await;
        }
        // What changed last is written before the server stops, and the baselines.
        self.publish(&hub).await;
        let engine = self.clone();
        let _ = tokio::task::spawn_blocking(move || engine.save_baselines()).await;
    }

    /// Writes what changed and sends the live list if it changed.
    pub async fn publish(self: &Arc<Self>, hub: &Arc<Hub>) {
        let (engine, hub) = (self.clone(), hub.clone());
        let _ = tokio::task::spawn_blocking(move || engine.persist_and_show(&hub)).await;
    }

    /// [`Alerts::persist`], then the live list to the hub if it changed (blocking).
    pub fn persist_and_show(&self, hub: &Hub) {
        if let Ok(true) = self.persist() {
            hub.set_alerts(self.figure());
        }
    }
}
