//! An alert's life: opened (or reopened, or held back by the rate limit and counted in the
//! storm's summary alert; never one raised by history), its value kept current, resolved by itself when its condition
//! clears, acknowledged, resolved or closed by an officer ([`Action`]), closed when left
//! resolved; every step an entry of its history.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

use chrono::Utc;
use ioc_protocol::Domain;
use ioc_protocol::alerts::{Alert, AlertEvent, AlertKind, AlertState, Severity};

use super::Alerts;
use super::engine::State;
use super::rules::Target;

/// The rule of held-back alerts' summary.
const HELD_RULE: &str = "held";

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

/// An alert to open (or reopen).
#[derive(Debug)]
pub(super) struct Raise<'a> {
    pub(super) rule: &'a str,
    pub(super) name_vi: &'a str,
    pub(super) name_en: &'a str,
    pub(super) kind: AlertKind,
    pub(super) severity: Severity,
    pub(super) target: Target<'a>,
    pub(super) value: f64,
    pub(super) threshold: Option<f64>,
    pub(super) score: Option<f64>,
    pub(super) since: i64,
    pub(super) at: i64,
}

/// The rate limit's minute.
#[derive(Debug, Default)]
pub(super) struct Limiter {
    pub(super) minute: i64,
    pub(super) opened: u32,
    /// (rule, source) held back this minute, and the most severe of them.
    pub(super) held: BTreeSet<(String, String)>,
    pub(super) held_severity: Severity,
    /// The minute anything was last held.
    pub(super) last_held_minute: i64,
}

impl Alerts {
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
    pub(super) fn raise(&self, st: &mut State, r: Raise<'_>, now: i64) -> Option<u64> {
        let key_source = if r.kind == AlertKind::Anomaly || r.kind.is_indicator() {
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
        if r.kind != AlertKind::Summary && !self.is_history(&r, now) {
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

    /// Raised by a reading that arrived as history: older than its domain's window
    /// (`live.stale_after_s`) by the server's clock, like the simulator's replay of the day or
    /// a gateway's backlog. Such an alert tells of the past: it opens at its reading's time
    /// without counting against the minute's limit, which keeps officers from a storm of what
    /// happens now. At most one alert per (rule, source) is open, however long the history.
    fn is_history(&self, r: &Raise<'_>, now: i64) -> bool {
        now - r.at > self.live.stale_after(r.target.domain).as_millis() as i64
    }

    /// Turns the rate limit's minute: what was held in the past one goes into the summary
    /// alert; a summary with nothing held for a whole minute resolves.
    pub(super) fn roll_minute(&self, st: &mut State, now: i64) {
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

    pub(super) fn update_value(&self, st: &mut State, id: u64, value: f64, score: Option<f64>) {
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

    pub(super) fn resolve_by_itself(&self, st: &mut State, id: u64, value: f64, t: i64) {
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

    pub(super) fn close(st: &mut State, id: u64, by: Option<&str>, note: Option<&str>, now: i64) {
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
}
