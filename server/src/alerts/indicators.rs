//! Alerts on the socio-economic indicators (issue 21), judged on each board of figures the
//! server computes ([`Alerts::judge_indicators`]):
//!
//! - `indicator_abnormal`: the latest period of a series carries an abnormal sign (its score
//!   at least `ABNORMAL_SCORE`); keyed by indicator, area and period, resolved when a revision
//!   removes the sign or a later period is reported without one;
//! - `indicator_behind`: an indicator's status is *behind* at an area; keyed by indicator and
//!   area, resolved when it is back to at risk or on track;
//! - `indicator_late`: a report of the punctuality window is missing past its deadline (of a
//!   series that has values: one never reported is a unit not reporting yet); keyed by
//!   indicator, area and period, resolved when the report arrives.
//!
//! Each opens at the time of what raised it (the latest value's report, the deadline), so the
//! history a unit or the simulator sends opens its alerts as history (not counted by the rate
//! limit, `docs/alerts.md`); only the latest period of each series and the window's missing
//! reports are alerts, not every abnormal value of five years.

use std::collections::HashSet;

use ioc_protocol::Domain;
use ioc_protocol::alerts::{AlertKind, Severity};
use ioc_protocol::indicator::{Board, Catalogue, Status, Timeliness};

use super::Alerts;
use super::lifecycle::Raise;
use super::rules::Target;

/// The domain indicator alerts are filed under: public administration, beside the dossiers.
pub const INDICATOR_DOMAIN: Domain = Domain::Service;

/// One condition that holds on a board.
struct Condition {
    kind: AlertKind,
    indicator: String,
    area: String,
    /// The period, for an abnormal sign and a missing report; empty for a status.
    period: String,
    severity: Severity,
    name_vi: String,
    name_en: String,
    value: f64,
    threshold: Option<f64>,
    score: Option<f64>,
    at: i64,
}

/// Every condition of a board.
fn conditions(board: &Board, catalogue: &Catalogue) -> Vec<Condition> {
    let mut out = Vec::new();
    let names = |code: &str| {
        catalogue
            .indicator(code)
            .map(|i| (i.name_vi.clone(), i.name_en.clone()))
            .unwrap_or_else(|| (code.to_owned(), code.to_owned()))
    };
    for figures in &board.indicators {
        let (vi, en) = names(&figures.indicator);
        for a in &figures.areas {
            let Some(latest) = &a.latest else { continue };
            if let Some(sign) = a.abnormal.as_ref().filter(|s| s.flagged) {
                out.push(Condition {
                    kind: AlertKind::IndicatorAbnormal,
                    indicator: figures.indicator.clone(),
                    area: a.area.clone(),
                    period: sign.period.to_string(),
                    severity: Severity::Warning,
                    name_vi: format!("Dấu hiệu bất thường: {vi}"),
                    name_en: format!("Abnormal sign: {en}"),
                    value: latest.value,
                    threshold: Some(sign.expected),
                    score: Some(sign.score),
                    at: latest.reported_ms,
                });
            }
            if let Some(p) = a.progress.as_ref().filter(|p| p.status == Status::Behind) {
                out.push(Condition {
                    kind: AlertKind::IndicatorBehind,
                    indicator: figures.indicator.clone(),
                    area: a.area.clone(),
                    period: String::new(),
                    severity: Severity::Warning,
                    name_vi: format!("Chậm so với kế hoạch: {vi}"),
                    name_en: format!("Behind the plan: {en}"),
                    value: p.percent,
                    threshold: Some(p.expected),
                    score: None,
                    at: latest.reported_ms,
                });
            }
        }
    }
    // A series never reported is a unit not reporting yet (a new server, a new indicator),
    // not a report overdue: only the series with a value have missing reports.
    let reported: HashSet<(&str, &str)> = board
        .indicators
        .iter()
        .flat_map(|i| {
            i.areas
                .iter()
                .filter(|a| a.latest.is_some())
                .map(|a| (i.indicator.as_str(), a.area.as_str()))
        })
        .collect();
    for late in board.late.iter().filter(|l| {
        l.timeliness == Timeliness::Missing
            && reported.contains(&(l.indicator.as_str(), l.area.as_str()))
    }) {
        let (vi, en) = names(&late.indicator);
        out.push(Condition {
            kind: AlertKind::IndicatorLate,
            indicator: late.indicator.clone(),
            area: late.area.clone(),
            period: late.period.to_string(),
            severity: Severity::Info,
            name_vi: format!("Chưa báo cáo đúng hạn: {vi} ({})", late.unit),
            name_en: format!("Report overdue: {en} ({})", late.unit),
            value: ((board.now_ms - late.due_ms) / 1000) as f64,
            threshold: None,
            score: None,
            at: late.due_ms,
        });
    }
    out
}

impl Alerts {
    /// Opens an alert for each condition of the board that holds (or finds it open), and
    /// resolves each indicator alert whose condition no longer holds. `now` is the server's
    /// clock, epoch ms.
    pub fn judge_indicators(&self, board: &Board, catalogue: &Catalogue, now: i64) {
        let mut st = self.lock();
        let mut held = HashSet::new();
        for c in conditions(board, catalogue) {
            let raised = self.raise(
                &mut st,
                Raise {
                    rule: c.kind.as_str(),
                    name_vi: &c.name_vi,
                    name_en: &c.name_en,
                    kind: c.kind,
                    severity: c.severity,
                    target: Target {
                        domain: INDICATOR_DOMAIN,
                        area: &c.area,
                        source: &c.indicator,
                        field: &c.period,
                    },
                    value: c.value,
                    threshold: c.threshold,
                    score: c.score,
                    since: c.at,
                    at: c.at,
                },
                now,
            );
            if let Some(id) = raised {
                held.insert(id);
            }
        }
        let cleared: Vec<(u64, f64)> = st
            .alerts
            .values()
            .filter(|a| a.kind.is_indicator() && a.state.is_active() && !held.contains(&a.id))
            .map(|a| (a.id, a.value.unwrap_or(0.0)))
            .collect();
        for (id, value) in cleared {
            self.resolve_by_itself(&mut st, id, value, now);
        }
    }
}
