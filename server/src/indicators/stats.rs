//! What the indicators took and refused, by way and reason: `/metrics` shows them
//! (`ioc_indicator_values_total`, `ioc_indicator_refused_total`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use ioc_protocol::indicator::Way;

/// Values stored by way, and refusals by way and reason (a [`SubmissionError`]'s reason, or
/// `bad_file` for a spreadsheet that cannot be read, `store_failed` for a report the store
/// could not take).
///
/// [`SubmissionError`]: ioc_protocol::indicator::SubmissionError
#[derive(Debug, Default)]
pub struct IndicatorStats {
    stored: Mutex<BTreeMap<Way, u64>>,
    refused: Mutex<BTreeMap<(Way, &'static str), u64>>,
}

impl IndicatorStats {
    pub(super) fn stored(&self, way: Way, n: u64) {
        *self
            .stored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(way)
            .or_default() += n;
    }

    pub(super) fn refused(&self, way: Way, reason: &'static str) {
        *self
            .refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((way, reason))
            .or_default() += 1;
    }

    /// Values stored, by way (every way listed, 0 included).
    pub fn stored_by_way(&self) -> Vec<(Way, u64)> {
        let stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        Way::ALL
            .into_iter()
            .map(|w| (w, stored.get(&w).copied().unwrap_or(0)))
            .collect()
    }

    /// Values (or reports, or files) refused, by way and reason, sorted.
    pub fn refused_by_reason(&self) -> Vec<((Way, &'static str), u64)> {
        self.refused
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(k, v)| (*k, *v))
            .collect()
    }
}
