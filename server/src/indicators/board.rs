//! The board the figures API serves (`GET /api/v1/indicators/board`), kept between requests:
//! [`Board::compute`] over every series is too much work for every request, so the last one
//! computed is served again until a value or a target was stored since (a change counted by
//! [`BoardCache::changed`]), or [`FRESH_FOR_MS`] passed (lateness and the punctuality window
//! move with the clock alone).
//!
//! The values it is computed from are the store's latest revision of every period
//! ([`crate::store::LatestValues`]), read as the protocol's [`Values`]: each period's value is
//! its latest revision's, `reported_ms` the report's own time (an MQTT report's `ts`; a POST's
//! or a spreadsheet's receipt), and the first revision's time is what punctuality judges.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ioc_protocol::indicator::{Board, Catalogue, Observation, Values};

use crate::store::LatestValues;

/// A board is served again for at most this long when nothing was stored: lateness depends on
/// the time.
pub const FRESH_FOR_MS: i64 = 60_000;

/// A board as computed, with what it was computed from.
#[derive(Debug)]
pub struct Computed {
    pub board: Board,
    /// The values it read (the chart of `/figures` reads them too).
    pub values: Values,
    /// The catalogue it read (with the targets in force then).
    pub catalogue: Arc<Catalogue>,
    /// [`BoardCache::changes`] when its values were read.
    changes: u64,
}

/// The last board computed, and the count of changes since the server started.
#[derive(Debug, Default)]
pub struct BoardCache {
    changes: AtomicU64,
    held: tokio::sync::Mutex<Option<Arc<Computed>>>,
}

impl BoardCache {
    /// A value or a target was stored: the next board is computed afresh.
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
    }

    fn changes(&self) -> u64 {
        self.changes.load(Ordering::SeqCst)
    }

    /// The board held, if nothing was stored since it was computed and it is less than
    /// [`FRESH_FOR_MS`] old at `now_ms`; else a board computed now by `compute` (given the
    /// change count to record, read before the values are), held for the next call. The
    /// second value says whether it was computed now. Callers wait for one computation at a
    /// time.
    pub async fn get_or_compute<F, Fut, E>(
        &self,
        now_ms: i64,
        compute: F,
    ) -> Result<(Arc<Computed>, bool), E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(Board, Values, Arc<Catalogue>), E>>,
    {
        let mut held = self.held.lock().await;
        if let Some(c) = held.as_ref()
            && c.changes == self.changes()
            && (0..FRESH_FOR_MS).contains(&(now_ms - c.board.now_ms))
        {
            return Ok((c.clone(), false));
        }
        let changes = self.changes();
        let (board, values, catalogue) = compute().await?;
        let computed = Arc::new(Computed {
            board,
            values,
            catalogue,
            changes,
        });
        *held = Some(computed.clone());
        Ok((computed, true))
    }
}

/// The store's latest values as the figures read them.
pub fn values_of(latest: &LatestValues) -> Values {
    let mut values = Values::new();
    for ((indicator, area), points) in latest {
        for p in points {
            values.insert(
                indicator,
                area,
                Observation {
                    period: p.period,
                    value: p.value,
                    reported_ms: p.reported_ms,
                    reported_by: p.by.clone(),
                    first_reported_ms: (p.first_reported_ms != p.reported_ms)
                        .then_some(p.first_reported_ms),
                },
            );
        }
    }
    values
}
