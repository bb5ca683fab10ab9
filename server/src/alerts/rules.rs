//! What the engine judges: the preset's rules on reading fields (as each reading comes, on its
//! own time), on the figures the server computes and on sources offline (every second, on the
//! server's clock: silent since they were last heard from, among the sources heard live), each
//! numeric series' anomaly detector, and the conditions of alerts active before a restart
//! taken up again.

use std::sync::atomic::Ordering;

use chrono::Utc;
use ioc_protocol::alerts::{Alert, AlertKind, AlertState};
use ioc_protocol::live::DomainFigures;
use ioc_protocol::preset::{AlertRule, RuleOp, Threshold};
use ioc_protocol::{Body, Domain, Message, Topic};

use super::engine::State;
use super::lifecycle::Raise;
use super::{Alerts, anomaly};
use crate::live::Hub;

/// Public-service on-time rates are judged once this many dossiers are done today.
const MIN_DONE_FOR_RATE: u32 = 10;
/// Series the anomaly detector follows, at most (about 1.2 KB each).
const MAX_SERIES: usize = 500_000;
const ANOMALY_RULE: &str = "anomaly";

/// A rule as the engine runs it.
#[derive(Debug)]
pub(super) struct Rule {
    pub(super) def: AlertRule,
    pub(super) for_ms: i64,
    pub(super) offline: bool,
}

impl Rule {
    fn applies_to(&self, area: &str) -> bool {
        self.def.areas.is_empty() || self.def.areas.iter().any(|a| a == area)
    }
}

/// Where a rule's condition stands for one source.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Cond {
    /// The condition has held since (its first breaking observation).
    pub(super) since: Option<i64>,
    /// It held long enough: it stays on until it clears past the hysteresis.
    pub(super) firing: bool,
    /// Its alert; `None` while firing means it was held back by the rate limit.
    pub(super) alert: Option<u64>,
}

/// What an alert is about.
#[derive(Debug, Clone, Copy)]
pub(super) struct Target<'a> {
    pub(super) domain: Domain,
    pub(super) area: &'a str,
    pub(super) source: &'a str,
    pub(super) field: &'a str,
}

impl Target<'_> {
    /// `domain/area/source`: the source part of a rule's key (as [`Alert::key_source`]).
    pub(super) fn topic(&self) -> String {
        format!("{}/{}/{}", self.domain, self.area, self.source)
    }

    /// `domain/area/source#field`: the source part of an anomaly's key.
    pub(super) fn series(&self) -> String {
        format!("{}#{}", self.topic(), self.field)
    }
}

impl Alerts {
    /// An active alert from before a restart: its condition is taken as still on, so that it
    /// resolves by itself when the condition is seen to clear.
    pub(super) fn resume(&self, st: &mut State, a: &Alert) {
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
            // Judged again on the next board of figures.
            AlertKind::Summary
            | AlertKind::IndicatorAbnormal
            | AlertKind::IndicatorBehind
            | AlertKind::IndicatorLate => {}
        }
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
                // Only sources heard live are watched: one heard only as history (a replay of
                // the day, a backfill) has not stopped when the history ends.
                for s in sources
                    .iter()
                    .filter(|s| s.domain == rule.def.domain && s.live)
                {
                    if !rule.applies_to(&s.area) {
                        continue;
                    }
                    // Silent since it was last heard from, by the server's clock.
                    let age = ((now - s.heard_at) as f64 / 1000.0).max(0.0).round();
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
}
