//! The city's socio-economic indicators in the server (issue 21): the one set of rules every
//! value goes through, whichever way it comes (an MQTT report, a JSON POST, a spreadsheet),
//! the revisions kept of it, the admin's targets, and the series read back.
//!
//! The model and the rules are `ioc_protocol::indicator`'s (the catalogue, periods,
//! [`Catalogue::check`], [`Catalogue::check_reporter`], the report and its decoding); this
//! module applies them and keeps what they accept:
//!
//! - [`Indicators`]: the catalogue (with the admin's targets over its own), the store of
//!   revisions ([`IndicatorStore`], in the configured backend), and the counts of what was
//!   stored and refused, by way and reason ([`IndicatorStats`], in `/metrics`).
//!   [`Indicators::take_report`] takes an MQTT report (from the intake),
//!   [`Indicators::submit`] a list of values (the POST), [`Indicators::import`] a spreadsheet;
//!   each is all or nothing, and durable before it answers.
//! - `sheet.rs` and `xlsx.rs`: reading a spreadsheet (CSV or XLSX) into rows and submissions.
//! - `targets.rs`: the admin's targets, kept in `indicator-targets.json`.
//! - `board.rs`: the board of figures ([`Indicators::board`]), computed from
//!   [`Indicators::latest_values`] and kept until a value or a target is stored or a minute
//!   passes.
//!
//! Who may submit what: a `reporter` account and an MQTT topic's unit are held to their own
//! unit ([`Sender::unit`]); an officer, a supervisor and an admin submit for any unit (the
//! HTTP edge decides, see `http/indicators.rs`). The figures (year to date, progress, status, flags)
//! are computed from [`Indicators::latest_values`].

pub mod board;
mod sheet;
mod stats;
mod targets;
mod xlsx;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use ioc_protocol::indicator::{
    AreaLevels, BUILT_IN_FILE, Board, Catalogue, CatalogueError, ImportAnswer, Period, Revision,
    RowProblem, SeriesPoint, Submission, SubmissionError, Target, TargetError, Way, decode_report,
};

pub use self::board::{BoardCache, Computed};
pub use self::sheet::{Format, SheetError};
pub use self::stats::IndicatorStats;
pub use self::targets::{TARGETS_FILE, TargetsError};
pub use self::xlsx::XlsxError;
use crate::city::City;
use crate::store::{IndicatorStore, LatestValues, StoreError};

/// The most values one POST or one spreadsheet may carry.
pub const MAX_VALUES: usize = 100_000;

/// Who sends a submission, which way, and the unit they are held to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sender {
    /// The user's name; over MQTT, the gateway's name or the topic's unit.
    pub by: String,
    pub way: Way,
    /// The unit the sender may report for alone (a `reporter`'s unit, an MQTT topic's unit);
    /// `None`: any unit (an officer, a supervisor, an admin).
    pub unit: Option<String>,
}

/// Why a submission was not stored.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// Items break the rules: each with its place (index or line) and why; nothing stored.
    #[error("{} of the values are refused; nothing was stored", .0.len())]
    Refused(Vec<(u64, SubmissionError)>),
    /// More values than one request may carry.
    #[error("{0} values in one request: at most {MAX_VALUES}")]
    TooMany(usize),
    /// The file is not a sheet of values.
    #[error("{0}")]
    Sheet(#[from] SheetError),
    /// The store failed; nothing was stored.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// The catalogue the server serves: the file `path` names, checked against the city's
/// preset; without one, the built-in catalogue (Ho Chi Minh City's), checked the same way. A
/// city of another preset that names no catalogue of its own, and that the built-in one does
/// not fit, has no indicators (an empty catalogue, and a warning).
pub fn load_catalogue(path: Option<&Path>, city: &City) -> Result<Catalogue, CatalogueError> {
    let preset = city.preset();
    if let Some(path) = path {
        return Catalogue::load(path, preset);
    }
    match Catalogue::parse(Catalogue::built_in_text(), BUILT_IN_FILE, preset) {
        Ok(c) => Ok(c),
        Err(e) => {
            tracing::warn!(
                error = %e,
                "the built-in indicator catalogue does not fit this city's preset, and no \
                 catalogue of its own is named (indicator_catalogue): no indicators"
            );
            let mut empty = Catalogue::built_in();
            empty.groups.clear();
            empty.indicators.clear();
            empty.key_indicators.clear();
            empty.targets.clear();
            empty.offices.clear();
            empty.areas = AreaLevels::from_preset(preset);
            Ok(empty)
        }
    }
}

/// The indicators of the city: the catalogue, the store of revisions and the counts.
#[derive(Debug)]
pub struct Indicators {
    /// The catalogue as loaded, and as served: with the admin's targets applied.
    catalogue: RwLock<Arc<Catalogue>>,
    targets: targets::TargetsFile,
    store: IndicatorStore,
    stats: IndicatorStats,
    /// Set when the server stops: an MQTT report whose store fails gives up retrying.
    stopping: AtomicBool,
    /// The last board of figures computed.
    board: BoardCache,
}

impl Indicators {
    /// The indicators of `catalogue`, stored in `store`, with the admin's targets of
    /// `data_dir` applied (a target the catalogue no longer allows is left out, with a
    /// warning).
    pub fn open(
        mut catalogue: Catalogue,
        store: IndicatorStore,
        data_dir: &Path,
    ) -> Result<Indicators, TargetsError> {
        let targets = targets::TargetsFile::open(data_dir)?;
        for t in targets.list() {
            let shown = format!("{} {} {}", t.indicator, t.area, t.year);
            if let Err(e) = catalogue.set_target(t) {
                tracing::warn!(target = shown, error = %e, "an admin's target is left out");
            }
        }
        Ok(Indicators {
            catalogue: RwLock::new(Arc::new(catalogue)),
            targets,
            store,
            stats: IndicatorStats::default(),
            stopping: AtomicBool::new(false),
            board: BoardCache::opened_at(chrono::Utc::now().timestamp_millis()),
        })
    }

    /// The catalogue, with the admin's targets.
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn stats(&self) -> &IndicatorStats {
        &self.stats
    }

    /// Counts an MQTT report refused because its gateway is not granted its unit.
    pub fn refused_forbidden(&self) {
        self.stats.refused(Way::Mqtt, "forbidden");
    }

    /// The server stops: a report waiting for a failed store gives up.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Relaxed);
    }

    /// Whether the server is stopping ([`Self::stop`]): a report taken now may have given up
    /// on its store, and must not be acknowledged.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Relaxed)
    }

    /// Each item's problem, by the catalogue's rules and, for a sender held to a unit, that
    /// it is the unit's own; with its place (`places[i]`, an index or a line).
    fn problems(
        &self,
        catalogue: &Catalogue,
        items: &[(u64, Submission)],
        unit: Option<&str>,
        now_ms: i64,
    ) -> Vec<(u64, SubmissionError)> {
        items
            .iter()
            .filter_map(|(at, s)| {
                let checked = catalogue.check(s, now_ms).and_then(|()| match unit {
                    Some(u) => catalogue.check_reporter(s, u),
                    None => Ok(()),
                });
                checked.err().map(|e| (*at, e))
            })
            .collect()
    }

    /// The revisions of checked submissions, sent by `from`, reported at `reported_ms`,
    /// received at `now_ms`.
    fn revisions(
        catalogue: &Catalogue,
        items: impl IntoIterator<Item = Submission>,
        from: &Sender,
        reported_ms: i64,
        now_ms: i64,
    ) -> Vec<Revision> {
        items
            .into_iter()
            .map(|s| Revision {
                unit: catalogue
                    .reporting_unit(&s.indicator, &s.area)
                    .map(str::to_owned)
                    .or_else(|| from.unit.clone())
                    .unwrap_or_default(),
                indicator: s.indicator,
                area: s.area,
                period: s.period,
                value: s.value,
                reported_ms,
                received_ms: now_ms,
                by: from.by.clone(),
                way: from.way,
            })
            .collect()
    }

    /// Stores a list of values (`POST /api/v1/indicators`), each with its place (its index),
    /// all or nothing: every item is checked, and when any is refused nothing is stored and
    /// every problem is returned with its place. Returns how many were stored, once durable.
    pub async fn submit_at(
        &self,
        items: Vec<(u64, Submission)>,
        from: &Sender,
        now_ms: i64,
    ) -> Result<usize, SubmitError> {
        if items.len() > MAX_VALUES {
            return Err(SubmitError::TooMany(items.len()));
        }
        let catalogue = self.catalogue();
        let problems = self.check_only(&items, from, now_ms);
        if !problems.is_empty() {
            return Err(SubmitError::Refused(problems));
        }
        let n = items.len();
        let revisions = Self::revisions(
            &catalogue,
            items.into_iter().map(|(_, s)| s),
            from,
            now_ms,
            now_ms,
        );
        self.store.append(revisions).await?;
        self.board.changed();
        self.stats.stored(from.way, n as u64);
        Ok(n)
    }

    /// Each item's problem by the rules (and, for a sender held to a unit, that it is the
    /// unit's own), with its place; each refusal counted.
    pub fn check_only(
        &self,
        items: &[(u64, Submission)],
        from: &Sender,
        now_ms: i64,
    ) -> Vec<(u64, SubmissionError)> {
        let problems = self.problems(&self.catalogue(), items, from.unit.as_deref(), now_ms);
        self.refused(from.way, problems.iter().map(|(_, e)| e));
        problems
    }

    /// Counts a refusal found before the rules (a body that does not decode).
    pub fn count_refused(&self, way: Way, e: &SubmissionError) {
        self.stats.refused(way, e.reason());
    }

    fn refused<'a>(&self, way: Way, errors: impl IntoIterator<Item = &'a SubmissionError>) {
        for e in errors {
            self.stats.refused(way, e.reason());
        }
    }

    /// Takes an MQTT report on `ioc/v1/indicator/{area}/{unit}` (sent by gateway `by`, when
    /// gateways are authenticated), all or nothing: decoded, each value checked and held to the
    /// topic's unit, then stored; durable when this returns `Ok` (the number of values), so
    /// that the report's acknowledgement, which follows, means stored. Synchronous: the intake
    /// calls it from an MQTT connection's task. While the store fails it retries, with
    /// backoff, until it works or the server stops: nothing is acknowledged meanwhile.
    pub fn take_report(
        &self,
        topic: &str,
        payload: &[u8],
        by: Option<&str>,
        now_ms: i64,
    ) -> Result<usize, SubmissionError> {
        let decoded = decode_report(topic, payload, now_ms).inspect_err(|e| {
            self.stats.refused(Way::Mqtt, e.reason());
        })?;
        let from = Sender {
            by: by.unwrap_or(&decoded.topic.unit).to_owned(),
            way: Way::Mqtt,
            unit: Some(decoded.topic.unit.clone()),
        };
        let catalogue = self.catalogue();
        let items: Vec<(u64, Submission)> = (0u64..).zip(decoded.submissions()).collect();
        let mut problems = self.problems(&catalogue, &items, from.unit.as_deref(), now_ms);
        if !problems.is_empty() {
            self.refused(Way::Mqtt, problems.iter().map(|(_, e)| e));
            return Err(problems.swap_remove(0).1);
        }
        let n = items.len();
        let revisions = Self::revisions(
            &catalogue,
            items.into_iter().map(|(_, s)| s),
            &from,
            decoded.report.ts,
            now_ms,
        );
        match self.store.append_blocking(revisions, &self.stopping) {
            Ok(()) => {
                self.board.changed();
                self.stats.stored(Way::Mqtt, n as u64);
                Ok(n)
            }
            Err(e) => {
                tracing::error!(topic, error = %e, "an indicator report could not be stored");
                self.stats.refused(Way::Mqtt, "store_failed");
                Err(SubmissionError::BadItem(format!("not stored: {e}")))
            }
        }
    }

    /// Imports a spreadsheet (CSV or XLSX, told by its first bytes): every data row checked
    /// by line. With `dry_run`, nothing is stored and every row's problem is answered; else
    /// all or nothing: stored whole when every row is good, refused whole otherwise (an
    /// answer with its `error` set, and every problem). A file that cannot be read as a sheet
    /// at all is a [`SubmitError::Sheet`].
    pub async fn import(
        &self,
        bytes: &[u8],
        dry_run: bool,
        from: &Sender,
        now_ms: i64,
    ) -> Result<ImportAnswer, SubmitError> {
        let read = sheet::read_rows(bytes, sheet::format_of(bytes))
            .and_then(|rows| sheet::submissions(&rows));
        let rows = match read {
            Ok(rows) => rows,
            Err(e) => {
                if !dry_run {
                    self.stats.refused(from.way, "bad_file");
                }
                return Err(e.into());
            }
        };
        if rows.len() > MAX_VALUES {
            return Err(SubmitError::TooMany(rows.len()));
        }
        let total = rows.len();
        let mut problems: Vec<(u64, SubmissionError)> = Vec::new();
        let mut good: Vec<(u64, Submission)> = Vec::with_capacity(total);
        for (line, row) in rows {
            match row {
                Ok(s) => good.push((line, s)),
                Err(e) => problems.push((line, e)),
            }
        }
        if dry_run {
            let catalogue = self.catalogue();
            problems.extend(self.problems(&catalogue, &good, from.unit.as_deref(), now_ms));
        } else {
            self.refused(from.way, problems.iter().map(|(_, e)| e));
            problems.extend(self.check_only(&good, from, now_ms));
        }
        problems.sort_by_key(|(line, _)| *line);
        let answer = |error, stored, problems: &[(u64, SubmissionError)]| ImportAnswer {
            error,
            dry_run,
            rows: total,
            stored,
            problems: problems
                .iter()
                .map(|(line, e)| RowProblem {
                    line: *line,
                    reason: e.reason().to_owned(),
                    error: e.to_string(),
                })
                .collect(),
        };
        if dry_run {
            return Ok(answer(None, 0, &problems));
        }
        if !problems.is_empty() {
            let error = format!(
                "{} of the {total} rows are refused; nothing was stored: correct them and upload \
                 the file again (?dry_run=true checks it without storing)",
                problems.len()
            );
            return Ok(answer(Some(error), 0, &problems));
        }
        let n = self.submit_at(good, from, now_ms).await?;
        Ok(answer(None, n, &[]))
    }

    /// The series of an indicator for an area: per period, the latest revision.
    pub async fn series(
        &self,
        indicator: &str,
        area: &str,
    ) -> Result<Vec<SeriesPoint>, StoreError> {
        let revisions = self.store.revisions(indicator, area, None).await?;
        Ok(ioc_protocol::indicator::latest_by_period(&revisions))
    }

    /// Every revision of an indicator for an area and a period, oldest first.
    pub async fn revisions_of(
        &self,
        indicator: &str,
        area: &str,
        period: Period,
    ) -> Result<Vec<Revision>, StoreError> {
        self.store.revisions(indicator, area, Some(period)).await
    }

    /// The latest revision of every period of every indicator and area that has values:
    /// `(indicator, area)` to its series, oldest period first, each point with its value,
    /// `reported_ms`, `by` and `first_reported_ms`. What the figures are computed from.
    pub async fn latest_values(&self) -> Result<LatestValues, StoreError> {
        self.store.latest().await
    }

    /// The board of every figure as of `now_ms` (epoch ms, the server's clock), with the
    /// values it was computed from: the one held when nothing was stored since it was computed
    /// and it is less than a minute old, else computed now from [`Self::latest_values`] and
    /// the catalogue with the targets in force. The flag says whether it was computed now.
    pub async fn board(&self, now_ms: i64) -> Result<(Arc<Computed>, bool), StoreError> {
        self.board
            .get_or_compute(now_ms, || async {
                let catalogue = self.catalogue();
                let latest = self.latest_values().await?;
                let read = catalogue.clone();
                let computed = tokio::task::spawn_blocking(move || {
                    let values = board::values_of(&latest);
                    (Board::compute(&read, &values, now_ms), values)
                })
                .await;
                let (board, values) =
                    computed.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
                Ok((board, values, catalogue))
            })
            .await
    }

    /// When a value or a target was last stored, epoch ms by the server's clock (when the
    /// indicators were opened, if none since: what is stored at start is not settled yet).
    pub fn last_stored_ms(&self) -> i64 {
        self.board.changed_at_ms()
    }

    /// Sets targets (an admin's), all or nothing: each checked by
    /// [`Catalogue::check_target`]; when any is refused, nothing changes and every problem is
    /// returned by index. Kept in the data directory, applied over the catalogue's.
    pub fn set_targets(&self, targets: Vec<Target>) -> Result<usize, TargetsOutcome> {
        let mut guard = self.catalogue.write().unwrap_or_else(|e| e.into_inner());
        let problems: Vec<(usize, TargetError)> = targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| guard.check_target(t).err().map(|e| (i, e)))
            .collect();
        if !problems.is_empty() {
            return Err(TargetsOutcome::Refused(problems));
        }
        self.targets
            .set(&targets)
            .map_err(TargetsOutcome::NotSaved)?;
        let mut next = Catalogue::clone(&guard);
        let n = targets.len();
        for t in targets {
            // Checked above.
            let _ = next.set_target(t);
        }
        *guard = Arc::new(next);
        self.board.changed();
        Ok(n)
    }
}

/// Why targets were not set.
#[derive(Debug, thiserror::Error)]
pub enum TargetsOutcome {
    #[error("{} of the targets are refused; nothing was changed", .0.len())]
    Refused(Vec<(usize, TargetError)>),
    #[error("{0}")]
    NotSaved(TargetsError),
}

/// Counts by reason, for the metrics: refusals of every way, keyed by way then reason.
pub type RefusedCounts = BTreeMap<(Way, &'static str), u64>;

#[cfg(test)]
mod tests;
