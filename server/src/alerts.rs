//! The alert engine: rules of the preset, anomaly detection, the alerts' lifecycle, and the
//! rate limit (see `docs/alerts.md`).
//!
//! - Readings are judged as they come ([`Alerts::observe`], from the pipeline, on the
//!   readings' own time): the rules on a reading field (`water_level_cm`, `congestion`, `up`)
//!   and the anomaly detector of every numeric series.
//! - Every second ([`Alerts::sweep`], on the server's clock), the rules on the figures the
//!   server computes (each station's official AQI, overdue complaints per area, dossiers on
//!   time) and on sources offline; the minute of the rate limit turns; resolved alerts left
//!   for a day are closed.
//! - A rule's condition must hold for its `for_minutes`, and clears only past its
//!   `hysteresis`. At most one alert per (rule, source) is not closed: a condition that comes
//!   back reopens its resolved alert. At most `max_new_per_minute` new alerts open a minute;
//!   those held open later if their condition still holds, and a summary alert counts them.
//! - Changes are kept in memory and written to `alerts.sqlite` by [`Alerts::persist`] (every
//!   250 ms, and before an officer's action is answered), then sent to the screens.

pub mod anomaly;
pub mod store;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::Utc;
use ioc_protocol::alerts::{
    Alert, AlertEvent, AlertKind, AlertState, AlertsFigure, Severity, screen_order,
};
use ioc_protocol::live::DomainFigures;
use ioc_protocol::preset::{AlertRule, FIGURE_FIELDS, RuleOp, Threshold};
use ioc_protocol::{Body, Domain, Message, Topic};

use crate::city::City;
use crate::config::{AlertsConfig, LiveConfig};
use crate::live::Hub;

/// Public-service on-time rates are judged once this many dossiers are done today.
const MIN_DONE_FOR_RATE: u32 = 10;
/// How often changed alerts are written and sent.
const PERSIST_EVERY: Duration = Duration::from_millis(250);
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// New values of active alerts go to the screens at most this often.
const VALUES_EVERY_MS: i64 = 5_000;
/// How often the anomaly baselines are written (and when the server stops).
const SAVE_BASELINES_EVERY: Duration = Duration::from_secs(600);
/// Series the anomaly detector follows, at most (about 1.2 KB each).
const MAX_SERIES: usize = 500_000;

/// The rule of held-back alerts' summary.
const HELD_RULE: &str = "held";
const ANOMALY_RULE: &str = "anomaly";

/// What an officer does to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Acknowledge,
    Resolve,
    Close,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Acknowledge => "acknowledged",
            Action::Resolve => "resolved",
            Action::Close => "closed",
        }
    }
}

/// Why an officer's action was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ActionError {
    #[error("no alert {0}")]
    NotFound(u64),
    #[error("{0}")]
    Conflict(String),
}

/// A rule as the engine runs it.
#[derive(Debug)]
struct Rule {
    def: AlertRule,
    for_ms: i64,
    offline: bool,
}

impl Rule {
    fn applies_to(&self, area: &str) -> bool {
        self.def.areas.is_empty() || self.def.areas.iter().any(|a| a == area)
    }
}

/// Where a rule's condition stands for one source.
#[derive(Debug, Clone, Copy, Default)]
struct Cond {
    /// The condition has held since (its first breaking observation).
    since: Option<i64>,
    /// It held long enough: it stays on until it clears past the hysteresis.
    firing: bool,
    /// Its alert; `None` while firing means it was held back by the rate limit.
    alert: Option<u64>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy)]
struct Target<'a> {
    domain: Domain,
    area: &'a str,
    source: &'a str,
    field: &'a str,
}

impl Target<'_> {
    /// `domain/area/source`: the source part of a rule's key (as [`Alert::key_source`]).
    fn topic(&self) -> String {
        format!("{}/{}/{}", self.domain, self.area, self.source)
    }

    /// `domain/area/source#field`: the source part of an anomaly's key.
    fn series(&self) -> String {
        format!("{}#{}", self.topic(), self.field)
    }
}

/// An alert to open (or reopen).
#[derive(Debug)]
struct Raise<'a> {
    rule: &'a str,
    name_vi: &'a str,
    name_en: &'a str,
    kind: AlertKind,
    severity: Severity,
    target: Target<'a>,
    value: f64,
    threshold: Option<f64>,
    score: Option<f64>,
    since: i64,
    at: i64,
}

/// The rate limit's minute.
#[derive(Debug, Default)]
struct Limiter {
    minute: i64,
    opened: u32,
    /// (rule, source) held back this minute, and the most severe of them.
    held: BTreeSet<(String, String)>,
    held_severity: Severity,
    /// The minute anything was last held.
    last_held_minute: i64,
}

/// Every series of one source: its fields' detectors.
#[derive(Debug, Default)]
struct SourceSeries {
    fields: Vec<(String, anomaly::Series)>,
}

#[derive(Debug, Default)]
struct State {
    /// Alerts not closed (and closed ones not yet written).
    alerts: BTreeMap<u64, Alert>,
    /// (rule, source) -> its alert that is not closed.
    by_key: HashMap<(String, String), u64>,
    conds: HashMap<(usize, String), Cond>,
    /// Each source's series, by its topic (found without building a key for every message).
    series: HashMap<Topic, SourceSeries>,
    series_count: usize,
    /// Anomalous series whose alert the rate limit held back: it opens once it can.
    held_anomalies: std::collections::HashSet<String>,
    next_id: u64,
    limiter: Limiter,
    /// Alerts changed since the last write, and history entries to write.
    dirty: BTreeSet<u64>,
    events: Vec<(u64, AlertEvent)>,
    /// The live list changed (a value moved) without anything to write, and when values
    /// were last sent.
    live_dirty: bool,
    values_sent_at: i64,
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
    city: Arc<City>,
    config: AlertsConfig,
    live: LiveConfig,
    rules: Vec<Rule>,
    /// Rules on reading fields, by field.
    reading_rules: HashMap<String, Vec<usize>>,
    params: anomaly::Params,
    state: Mutex<State>,
    store: store::AlertStore,
    /// Held while alerts are taken from memory and written, so that writes keep their order.
    writing: Mutex<()>,
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

    /// An active alert from before a restart: its condition is taken as still on, so that it
    /// resolves by itself when the condition is seen to clear.
    fn resume(&self, st: &mut State, a: &Alert) {
        match a.kind {
            AlertKind::Threshold | AlertKind::Offline => {
                if let Some(i) = self.rules.iter().position(|r| r.def.id == a.rule) {
                    let key = a.key_source();
                    st.conds.insert(
                        (i, key),
                        Cond {
                            since: Some(a.opened_at),
                            firing: true,
                            alert: Some(a.id),
                        },
                    );
                }
            }
            AlertKind::Anomaly => {
                let topic = Topic::new(a.domain, a.area.as_str(), a.source.as_str());
                let series = st.series.entry(topic).or_default();
                match series.fields.iter_mut().find(|(f, _)| *f == a.field) {
                    Some((_, s)) => s.set_anomalous(),
                    None => {
                        let mut s = anomaly::Series::default();
                        s.set_anomalous();
                        series.fields.push((a.field.clone(), s));
                        st.series_count += 1;
                    }
                }
            }
            AlertKind::Summary => {}
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The rules the engine runs.
    pub fn rules(&self) -> Vec<AlertRule> {
        self.rules.iter().map(|r| r.def.clone()).collect()
    }

    /// Judges one accepted message: the rules on its fields, and each numeric field's
    /// anomaly detector. On the reading's own time.
    pub fn observe(&self, msg: &Message) {
        self.observe_at(msg, Utc::now().timestamp_millis());
    }

    /// [`Alerts::observe`] with the server's clock at `now` (the rate limit's minute).
    pub fn observe_at(&self, msg: &Message, now: i64) {
        let Body::Reading(values) = &msg.body else {
            return;
        };
        let t = &msg.topic;
        let target = |field| Target {
            domain: t.domain,
            area: &t.area,
            source: &t.source,
            field,
        };
        let mut st = self.lock();
        self.roll_minute(&mut st, now);
        for (field, value) in values {
            let (Some(x), Some(rules)) = (value.as_number(), self.reading_rules.get(field)) else {
                continue;
            };
            for &i in rules {
                let rule = &self.rules[i];
                if rule.def.domain != t.domain || !rule.applies_to(&t.area) {
                    continue;
                }
                let threshold = match rule.def.threshold {
                    Some(Threshold::Value(v)) => v,
                    Some(Threshold::Level(level)) => match self.city.preset().gauge_of(&t.source) {
                        Some(g) => level.of(g),
                        None => continue,
                    },
                    None => continue,
                };
                self.judge(&mut st, i, target(field), x, threshold, msg.ts, now);
            }
        }
        if !self.config.anomaly {
            return;
        }
        // The source's series, found once per message; the changes are acted on after.
        let mut changes = Vec::new();
        {
            let State {
                series,
                series_count,
                ..
            } = &mut *st;
            let source = match series.get_mut(t) {
                Some(s) => s,
                None if *series_count >= MAX_SERIES => return,
                None => series.entry(t.clone()).or_default(),
            };
            for (field, value) in values {
                let Some(x) = value.as_number() else {
                    continue;
                };
                if self.config.anomaly_skip_fields.contains(field) {
                    continue;
                }
                let at = match source.fields.iter().position(|(f, _)| f == field) {
                    Some(i) => i,
                    None if *series_count >= MAX_SERIES => continue,
                    None => {
                        source
                            .fields
                            .push((field.clone(), anomaly::Series::default()));
                        *series_count += 1;
                        source.fields.len() - 1
                    }
                };
                if let Some(change) = source.fields[at].1.observe(msg.ts, x, &self.params) {
                    changes.push((field.as_str(), x, change));
                }
            }
        }
        for (field, x, change) in changes {
            self.anomaly_changed(&mut st, target(field), x, change, msg.ts, now);
        }
    }

    /// One observation of a rule's value for one source, at `t`.
    #[allow(clippy::too_many_arguments)]
    fn judge(
        &self,
        st: &mut State,
        i: usize,
        target: Target<'_>,
        value: f64,
        threshold: f64,
        t: i64,
        now: i64,
    ) {
        let rule = &self.rules[i];
        let op = rule.def.op.unwrap_or(RuleOp::Above);
        let key = (i, target.topic());
        let mut c = st.conds.get(&key).copied().unwrap_or_default();
        let raise = |st: &mut State, since: i64| {
            self.raise(
                st,
                Raise {
                    rule: &rule.def.id,
                    name_vi: &rule.def.name_vi,
                    name_en: &rule.def.name_en,
                    kind: if rule.offline {
                        AlertKind::Offline
                    } else {
                        AlertKind::Threshold
                    },
                    severity: rule.def.severity,
                    target,
                    value,
                    threshold: Some(threshold),
                    score: None,
                    since,
                    at: t,
                },
                now,
            )
        };
        if c.firing {
            if op.clears(value, threshold, rule.def.hysteresis) {
                c.firing = false;
                c.since = None;
                if let Some(id) = c.alert.take() {
                    self.resolve_by_itself(st, id, value, t);
                }
            } else if let Some(id) = c.alert {
                self.update_value(st, id, value, None);
            } else {
                c.alert = raise(st, c.since.unwrap_or(t));
            }
        } else if op.breaks(value, threshold) {
            let since = *c.since.get_or_insert(t);
            if t - since >= rule.for_ms {
                c.firing = true;
                c.alert = raise(st, since);
            }
        } else {
            c.since = None;
        }
        if c.since.is_none() && !c.firing {
            st.conds.remove(&key);
        } else {
            st.conds.insert(key, c);
        }
    }

    /// What a series' anomaly detector said about a reading.
    fn anomaly_changed(
        &self,
        st: &mut State,
        target: Target<'_>,
        x: f64,
        change: anomaly::Change,
        t: i64,
        now: i64,
    ) {
        let key = (ANOMALY_RULE.to_owned(), target.series());
        match change {
            anomaly::Change::Began {
                since,
                baseline,
                score,
            } => {
                self.counters.anomalies.fetch_add(1, Ordering::Relaxed);
                self.raise_anomaly(st, key, target, x, baseline, score, since, t, now);
            }
            // Held back by the rate limit when it began: it opens once a minute has room.
            anomaly::Change::Still { baseline, score } if st.held_anomalies.contains(&key.1) => {
                self.raise_anomaly(st, key, target, x, baseline, score, t, t, now);
            }
            anomaly::Change::Still { score, .. } => {
                if let Some(&id) = st.by_key.get(&key) {
                    self.update_value(st, id, x, Some(score));
                }
            }
            anomaly::Change::Ended => {
                st.held_anomalies.remove(&key.1);
                if let Some(&id) = st.by_key.get(&key) {
                    self.resolve_by_itself(st, id, x, t);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn raise_anomaly(
        &self,
        st: &mut State,
        key: (String, String),
        target: Target<'_>,
        x: f64,
        baseline: f64,
        score: f64,
        since: i64,
        t: i64,
        now: i64,
    ) {
        let raised = self.raise(
            st,
            Raise {
                rule: ANOMALY_RULE,
                name_vi: "Giá trị bất thường",
                name_en: "Unusual value",
                kind: AlertKind::Anomaly,
                severity: self.config.anomaly_severity,
                target,
                value: x,
                threshold: Some(baseline),
                score: Some(score),
                since,
                at: t,
            },
            now,
        );
        if raised.is_some() {
            st.held_anomalies.remove(&key.1);
        } else {
            st.held_anomalies.insert(key.1);
        }
    }

    fn event(st: &mut State, id: u64, at: i64, action: &str, by: Option<&str>, note: Option<&str>) {
        st.events.push((
            id,
            AlertEvent {
                at,
                action: action.to_owned(),
                by: by.map(str::to_owned),
                note: note.map(str::to_owned),
            },
        ));
        st.dirty.insert(id);
    }

    /// Opens an alert, or reopens the resolved one of its (rule, source), or finds the one
    /// already open. `None` when the rate limit holds it back.
    fn raise(&self, st: &mut State, r: Raise<'_>, now: i64) -> Option<u64> {
        let key_source = if r.kind == AlertKind::Anomaly {
            r.target.series()
        } else {
            r.target.topic()
        };
        let key = (r.rule.to_owned(), key_source);
        if let Some(&id) = st.by_key.get(&key)
            && let Some(a) = st.alerts.get_mut(&id)
        {
            if a.state == AlertState::Resolved {
                a.state = AlertState::Open;
                a.reopened += 1;
                a.opened_at = r.since;
                a.raised_at = r.at;
                a.acked_at = None;
                a.acked_by = None;
                a.note = None;
                a.resolved_at = None;
                a.resolved_by = None;
                a.value = Some(r.value);
                a.score = r.score;
                a.threshold = r.threshold;
                a.updated_at = now;
                self.counters.reopened.fetch_add(1, Ordering::Relaxed);
                Self::event(st, id, r.at, "reopened", None, None);
            } else {
                a.value = Some(r.value);
                st.live_dirty = true;
            }
            return Some(id);
        }
        self.roll_minute(st, now);
        if r.kind != AlertKind::Summary {
            if st.limiter.opened >= self.config.max_new_per_minute {
                let severity = st.limiter.held_severity.max(r.severity);
                st.limiter.held_severity = severity;
                st.limiter.last_held_minute = st.limiter.minute;
                if st.limiter.held.insert(key) {
                    self.counters.held.fetch_add(1, Ordering::Relaxed);
                }
                return None;
            }
            st.limiter.opened += 1;
        }
        let id = st.next_id;
        st.next_id += 1;
        let alert = Alert {
            id,
            rule: r.rule.to_owned(),
            name_vi: r.name_vi.to_owned(),
            name_en: r.name_en.to_owned(),
            kind: r.kind,
            severity: r.severity,
            domain: r.target.domain,
            area: r.target.area.to_owned(),
            source: r.target.source.to_owned(),
            field: r.target.field.to_owned(),
            value: Some(r.value),
            threshold: r.threshold,
            score: r.score,
            state: AlertState::Open,
            opened_at: r.since,
            raised_at: r.at,
            acked_at: None,
            acked_by: None,
            note: None,
            resolved_at: None,
            resolved_by: None,
            closed_at: None,
            closed_by: None,
            reopened: 0,
            updated_at: now,
        };
        st.by_key.insert(key, id);
        st.alerts.insert(id, alert);
        self.counters.opened.fetch_add(1, Ordering::Relaxed);
        Self::event(st, id, r.at, "opened", None, None);
        Some(id)
    }

    /// Turns the rate limit's minute: what was held in the past one goes into the summary
    /// alert; a summary with nothing held for a whole minute resolves.
    fn roll_minute(&self, st: &mut State, now: i64) {
        let minute = now.div_euclid(60_000);
        if minute <= st.limiter.minute {
            return;
        }
        let held = std::mem::take(&mut st.limiter.held);
        let severity = st.limiter.held_severity;
        let last_held = st.limiter.last_held_minute;
        st.limiter = Limiter {
            minute,
            last_held_minute: last_held,
            ..Limiter::default()
        };
        let key = (HELD_RULE.to_owned(), format!("{}/city/", Domain::System));
        if !held.is_empty() {
            let n = held.len() as f64;
            let existing = st.by_key.get(&key).copied();
            match existing.and_then(|id| st.alerts.get_mut(&id)) {
                Some(a) if a.state.is_active() => {
                    a.value = Some(a.value.unwrap_or(0.0) + n);
                    a.severity = a.severity.max(severity);
                    a.raised_at = now;
                    a.updated_at = now;
                    let id = a.id;
                    st.dirty.insert(id);
                }
                _ => {
                    self.raise(
                        st,
                        Raise {
                            rule: HELD_RULE,
                            name_vi: "Cảnh báo bị giữ lại (vượt giới hạn mỗi phút)",
                            name_en: "Alerts held back (over the limit a minute)",
                            kind: AlertKind::Summary,
                            severity,
                            target: Target {
                                domain: Domain::System,
                                area: "city",
                                source: "",
                                field: "",
                            },
                            value: n,
                            threshold: Some(f64::from(self.config.max_new_per_minute)),
                            score: None,
                            since: (minute - 1) * 60_000,
                            at: now,
                        },
                        now,
                    );
                }
            }
        } else if minute > last_held + 1
            && let Some(&id) = st.by_key.get(&key)
        {
            // Its value stays what was held.
            let held = st.alerts.get(&id).and_then(|a| a.value).unwrap_or(0.0);
            self.resolve_by_itself(st, id, held, now);
        }
    }

    fn update_value(&self, st: &mut State, id: u64, value: f64, score: Option<f64>) {
        if let Some(a) = st.alerts.get_mut(&id)
            && a.state.is_active()
            && a.value != Some(value)
        {
            a.value = Some(value);
            // The score kept is the largest departure while the anomaly lasts.
            if let Some(s) = score
                && a.score.is_none_or(|old| s.abs() > old.abs())
            {
                a.score = Some(s);
            }
            st.live_dirty = true;
        }
    }

    fn resolve_by_itself(&self, st: &mut State, id: u64, value: f64, t: i64) {
        let now = Utc::now().timestamp_millis();
        if let Some(a) = st.alerts.get_mut(&id)
            && a.state.is_active()
        {
            a.state = AlertState::Resolved;
            a.resolved_at = Some(t);
            a.resolved_by = None;
            a.value = Some(value);
            a.updated_at = now;
            self.counters
                .resolved_by_themselves
                .fetch_add(1, Ordering::Relaxed);
            Self::event(st, id, t, "resolved", None, None);
        }
    }

    /// The figure rules, offline sources, the rate limit's minute and old resolved alerts,
    /// on the server's clock.
    pub fn sweep(&self, hub: &Hub) {
        self.sweep_at(hub, Utc::now().timestamp_millis());
    }

    /// [`Alerts::sweep`] with the server's clock at `now`.
    pub fn sweep_at(&self, hub: &Hub, now: i64) {
        let figures = hub.figures_published(&[Domain::Env, Domain::Complaint, Domain::Service]);
        let sources = hub.sources(now);
        let preset = self.city.preset();
        let mut st = self.lock();
        for (i, rule) in self.rules.iter().enumerate() {
            let threshold = match rule.def.threshold {
                Some(Threshold::Value(v)) => v,
                _ => 0.0,
            };
            if rule.offline {
                let window = self.live.stale_after(rule.def.domain).as_secs_f64();
                for s in sources.iter().filter(|s| s.domain == rule.def.domain) {
                    if !rule.applies_to(&s.area) {
                        continue;
                    }
                    let age = ((now - s.ts) as f64 / 1000.0).max(0.0).round();
                    let target = Target {
                        domain: s.domain,
                        area: &s.area,
                        source: &s.source,
                        field: "",
                    };
                    // Offline: silent past the window; back online once it reports.
                    let value = if s.online { age.min(window) } else { age };
                    self.judge_offline(&mut st, i, target, value, window, now, s.online);
                }
                continue;
            }
            for f in &figures {
                match (f, rule.def.field.as_str()) {
                    (DomainFigures::Env(env), "aqi") if rule.def.domain == Domain::Env => {
                        for s in &env.stations {
                            if let (Some(aqi), false) = (s.aqi, s.fresh.stale)
                                && rule.applies_to(&s.area)
                            {
                                let target = Target {
                                    domain: Domain::Env,
                                    area: &s.area,
                                    source: &s.id,
                                    field: "aqi",
                                };
                                self.judge(&mut st, i, target, f64::from(aqi), threshold, now, now);
                            }
                        }
                    }
                    (DomainFigures::Complaint(c), "overdue")
                        if rule.def.domain == Domain::Complaint =>
                    {
                        for a in c.areas.iter().filter(|a| rule.applies_to(&a.area)) {
                            let target = Target {
                                domain: Domain::Complaint,
                                area: &a.area,
                                source: &a.area,
                                field: "overdue",
                            };
                            let v = f64::from(a.overdue);
                            self.judge(&mut st, i, target, v, threshold, now, now);
                        }
                    }
                    (DomainFigures::Service(s), "on_time_rate")
                        if rule.def.domain == Domain::Service =>
                    {
                        for counts in s.agencies.iter().chain(std::iter::once(&s.city)) {
                            let Some(rate) = counts.on_time_rate else {
                                continue;
                            };
                            if counts.done < MIN_DONE_FOR_RATE {
                                continue;
                            }
                            let area = preset
                                .agency(&counts.key)
                                .and_then(|a| a.area.as_deref())
                                .unwrap_or("city");
                            if !rule.applies_to(area) && area != "city" {
                                continue;
                            }
                            let target = Target {
                                domain: Domain::Service,
                                area,
                                source: &counts.key,
                                field: "on_time_rate",
                            };
                            self.judge(&mut st, i, target, rate, threshold, now, now);
                        }
                    }
                    _ => {}
                }
            }
        }
        self.roll_minute(&mut st, now);
        let close_before = now - self.config.close_resolved_after_h as i64 * 3_600_000;
        let stale: Vec<u64> = st
            .alerts
            .values()
            .filter(|a| a.state == AlertState::Resolved)
            .filter(|a| a.resolved_at.unwrap_or(now).min(a.updated_at) < close_before)
            .map(|a| a.id)
            .collect();
        for id in stale {
            Self::close(&mut st, id, None, None, now);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn judge_offline(
        &self,
        st: &mut State,
        i: usize,
        target: Target<'_>,
        age_s: f64,
        window_s: f64,
        now: i64,
        online: bool,
    ) {
        // Offline is a state, not a number past a line: `online` decides, and the age is the
        // value shown. A source back online clears at once.
        let value = if online {
            0.0
        } else {
            age_s.max(window_s + 1.0)
        };
        // The screens count the time offline from when it was raised: the value is not
        // updated every second.
        self.judge(st, i, target, value, window_s, now, now);
    }

    fn close(st: &mut State, id: u64, by: Option<&str>, note: Option<&str>, now: i64) {
        let Some(a) = st.alerts.get_mut(&id) else {
            return;
        };
        a.state = AlertState::Closed;
        a.closed_at = Some(now);
        a.closed_by = by.map(str::to_owned);
        a.updated_at = now;
        let key = a.key();
        if st.by_key.get(&key) == Some(&id) {
            st.by_key.remove(&key);
        }
        Self::event(st, id, now, "closed", by, note);
    }

    /// An officer acknowledges, resolves or closes an alert. The change is in memory; call
    /// [`Alerts::persist`] before answering.
    pub fn act(&self, id: u64, action: Action, by: &str, note: &str) -> Result<Alert, ActionError> {
        let now = Utc::now().timestamp_millis();
        let note = Some(note.trim()).filter(|n| !n.is_empty());
        let mut st = self.lock();
        let Some(a) = st.alerts.get_mut(&id) else {
            return Err(ActionError::NotFound(id));
        };
        let refuse = |a: &Alert, what: &str| {
            let who = match a.state {
                AlertState::Acknowledged => a.acked_by.as_deref(),
                AlertState::Resolved => a.resolved_by.as_deref(),
                AlertState::Closed => a.closed_by.as_deref(),
                AlertState::Open => None,
            };
            Err(ActionError::Conflict(format!(
                "alert {} is {}{}: only {what}",
                a.id,
                a.state.as_str(),
                who.map(|w| format!(" (by {w})")).unwrap_or_default()
            )))
        };
        match action {
            Action::Acknowledge => {
                if a.state != AlertState::Open {
                    return refuse(a, "an open alert can be acknowledged");
                }
                a.state = AlertState::Acknowledged;
                a.acked_at = Some(now);
                a.acked_by = Some(by.to_owned());
                a.note = note.map(str::to_owned);
            }
            Action::Resolve => {
                if !a.state.is_active() {
                    return refuse(a, "an open or acknowledged alert can be resolved");
                }
                a.state = AlertState::Resolved;
                a.resolved_at = Some(now);
                a.resolved_by = Some(by.to_owned());
            }
            Action::Close => {
                if a.state != AlertState::Resolved {
                    return refuse(a, "a resolved alert can be closed");
                }
            }
        }
        if action == Action::Close {
            Self::close(&mut st, id, Some(by), note, now);
        } else {
            a.updated_at = now;
            Self::event(&mut st, id, now, action.as_str(), Some(by), note);
        }
        Ok(st.alerts[&id].clone())
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

#[cfg(test)]
mod tests;
