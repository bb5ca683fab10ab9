//! Alerts: what the server raises when a rule's condition holds or a series departs from its
//! baseline, and what officers do with them (see `docs/alerts.md`).
//!
//! An alert goes `open` -> `acknowledged` (by an officer, with a note) -> `resolved` (by
//! itself when its condition clears, or by an officer) -> `closed`. A resolved alert whose
//! condition comes back before it is closed is opened again, not duplicated: there is at most
//! one alert per (rule, source) that is not closed.

use serde::{Deserialize, Serialize};

use crate::topic::Domain;

/// How urgent an alert is. Ordered: `Critical` is the greatest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Severity, String> {
        match s {
            "info" => Ok(Severity::Info),
            "warning" => Ok(Severity::Warning),
            "critical" => Ok(Severity::Critical),
            other => Err(format!(
                "unknown severity {other:?} (info, warning or critical)"
            )),
        }
    }
}

/// Where an alert stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    Open,
    Acknowledged,
    Resolved,
    Closed,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
            AlertState::Closed => "closed",
        }
    }

    /// Open or acknowledged: the condition is (or was last seen) on.
    pub fn is_active(self) -> bool {
        matches!(self, AlertState::Open | AlertState::Acknowledged)
    }
}

impl std::str::FromStr for AlertState {
    type Err = String;
    fn from_str(s: &str) -> Result<AlertState, String> {
        match s {
            "open" => Ok(AlertState::Open),
            "acknowledged" => Ok(AlertState::Acknowledged),
            "resolved" => Ok(AlertState::Resolved),
            "closed" => Ok(AlertState::Closed),
            other => Err(format!(
                "unknown state {other:?} (open, acknowledged, resolved or closed)"
            )),
        }
    }
}

/// What raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A rule of the preset: a value past a threshold (for a while).
    Threshold,
    /// A source stopped reporting past its domain's interval.
    Offline,
    /// A series departed from its baseline for its hour of the day and day of the week.
    Anomaly,
    /// More new alerts came in a minute than the limit: this one says how many were held.
    Summary,
    /// The latest period of a socio-economic indicator's series carries an abnormal sign
    /// (`docs/indicators.md`): `source` the indicator, `field` the period, `score` its score,
    /// `threshold` the value expected.
    IndicatorAbnormal,
    /// An indicator is behind its year's target at an area: `value` the progress in %,
    /// `threshold` the progress expected by now.
    IndicatorBehind,
    /// A unit's report of an indicator is missing past its deadline: `field` the period,
    /// `value` the seconds since the deadline.
    IndicatorLate,
}

impl AlertKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Threshold => "threshold",
            AlertKind::Offline => "offline",
            AlertKind::Anomaly => "anomaly",
            AlertKind::Summary => "summary",
            AlertKind::IndicatorAbnormal => "indicator_abnormal",
            AlertKind::IndicatorBehind => "indicator_behind",
            AlertKind::IndicatorLate => "indicator_late",
        }
    }

    /// One of the socio-economic indicators' kinds: keyed by indicator, area and period.
    pub fn is_indicator(self) -> bool {
        matches!(
            self,
            AlertKind::IndicatorAbnormal | AlertKind::IndicatorBehind | AlertKind::IndicatorLate
        )
    }
}

impl std::str::FromStr for AlertKind {
    type Err = String;
    fn from_str(s: &str) -> Result<AlertKind, String> {
        match s {
            "threshold" => Ok(AlertKind::Threshold),
            "offline" => Ok(AlertKind::Offline),
            "anomaly" => Ok(AlertKind::Anomaly),
            "summary" => Ok(AlertKind::Summary),
            "indicator_abnormal" => Ok(AlertKind::IndicatorAbnormal),
            "indicator_behind" => Ok(AlertKind::IndicatorBehind),
            "indicator_late" => Ok(AlertKind::IndicatorLate),
            other => Err(format!(
                "unknown kind {other:?} (threshold, offline, anomaly, summary, \
                 indicator_abnormal, indicator_behind or indicator_late)"
            )),
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: u64,
    /// The rule's id in the preset (`flood-bd2`), `offline`, `anomaly` or `held`.
    pub rule: String,
    /// The rule's name, as the screen shows it.
    pub name_vi: String,
    pub name_en: String,
    pub kind: AlertKind,
    pub severity: Severity,
    pub domain: Domain,
    /// The area's code, or `city`.
    pub area: String,
    /// What the alert is about: a source id, an area code (complaints), an agency code or
    /// `city` (public services); empty for a summary.
    pub source: String,
    /// The field the rule or the baseline watches (`water_level_cm`); empty for offline and
    /// summary alerts.
    #[serde(default)]
    pub field: String,
    /// The value that raised it, then the latest while it is active (offline: seconds since
    /// the source was last heard from; summary: alerts held).
    pub value: Option<f64>,
    /// The rule's threshold; for an anomaly, the baseline the value departed from.
    pub threshold: Option<f64>,
    /// For an anomaly: how far the value went from its baseline at most while it lasted, in
    /// robust standard deviations (negative: below it).
    #[serde(default)]
    pub score: Option<f64>,
    pub state: AlertState,
    /// When the condition began to hold (rules with a duration: when it started), epoch ms.
    pub opened_at: i64,
    /// The time of the observation that raised it, epoch ms (for rules with a duration, the
    /// end of that duration).
    pub raised_at: i64,
    pub acked_at: Option<i64>,
    pub acked_by: Option<String>,
    /// The acknowledging officer's note.
    pub note: Option<String>,
    pub resolved_at: Option<i64>,
    /// The officer who resolved it; `None` when it resolved by itself.
    pub resolved_by: Option<String>,
    pub closed_at: Option<i64>,
    pub closed_by: Option<String>,
    /// How many times it came back after resolving, before it was closed.
    #[serde(default)]
    pub reopened: u32,
    /// Epoch ms of its last change.
    pub updated_at: i64,
}

impl Alert {
    /// The (rule, source) it stands for: at most one alert per key is not closed.
    pub fn key(&self) -> (String, String) {
        (self.rule.clone(), self.key_source())
    }

    /// The source part of the key: the field is part of it for anomalies (one per series) and
    /// for the indicators' kinds (the period).
    pub fn key_source(&self) -> String {
        if self.kind == AlertKind::Anomaly || self.kind.is_indicator() {
            format!(
                "{}/{}/{}#{}",
                self.domain, self.area, self.source, self.field
            )
        } else {
            format!("{}/{}/{}", self.domain, self.area, self.source)
        }
    }
}

/// What happened to an alert, in its history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub at: i64,
    /// `opened`, `acknowledged`, `resolved`, `reopened`, `closed`.
    pub action: String,
    /// The officer; `None` when the server did it.
    pub by: Option<String>,
    pub note: Option<String>,
}

/// The alerts as the screens show them: those not closed, most urgent first, and counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertsFigure {
    /// Open, acknowledged and resolved alerts (not closed), by severity (critical first),
    /// then open before acknowledged before resolved, then newest first. At most
    /// [`AlertsFigure::MAX_LISTED`].
    pub alerts: Vec<Alert>,
    pub open: u32,
    pub acknowledged: u32,
    pub resolved: u32,
    /// Open or acknowledged critical alerts.
    pub critical: u32,
    /// New alerts held back by the rate limit since the server started.
    #[serde(default)]
    pub held_total: u64,
}

impl AlertsFigure {
    /// How many alerts the live list carries at most.
    pub const MAX_LISTED: usize = 200;
}

/// The order the screens list alerts in: critical first, open before acknowledged before
/// resolved, newest first.
pub fn screen_order(a: &Alert, b: &Alert) -> std::cmp::Ordering {
    let rank = |s: AlertState| match s {
        AlertState::Open => 0,
        AlertState::Acknowledged => 1,
        AlertState::Resolved => 2,
        AlertState::Closed => 3,
    };
    b.severity
        .cmp(&a.severity)
        .then(rank(a.state).cmp(&rank(b.state)))
        .then(b.raised_at.cmp(&a.raised_at))
        .then(b.id.cmp(&a.id))
}
