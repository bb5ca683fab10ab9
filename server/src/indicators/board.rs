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
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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
    /// When the last change was stored, epoch ms by the server's clock.
    changed_at_ms: AtomicI64,
    held: tokio::sync::Mutex<Option<Arc<Computed>>>,
}

impl BoardCache {
    /// A value or a target was stored: the next board is computed afresh.
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::SeqCst);
        self.changed_at_ms
            .store(chrono::Utc::now().timestamp_millis(), Ordering::SeqCst);
    }

    /// A cache whose last change counts as `now_ms` (the server's start).
    pub fn opened_at(now_ms: i64) -> BoardCache {
        BoardCache {
            changed_at_ms: AtomicI64::new(now_ms),
            ..BoardCache::default()
        }
    }

    /// When a value or a target was last stored, epoch ms (or the start, [`Self::opened_at`]).
    pub fn changed_at_ms(&self) -> i64 {
        self.changed_at_ms.load(Ordering::SeqCst)
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;

    /// A cache asked at `now`, counting the computations.
    async fn ask(cache: &BoardCache, now: i64, runs: &AtomicUsize) -> (i64, bool) {
        let (c, fresh) = cache
            .get_or_compute(now, || async {
                runs.fetch_add(1, Ordering::SeqCst);
                let catalogue = Arc::new(Catalogue::built_in());
                let values = Values::new();
                let board = Board::compute(&catalogue, &values, now);
                Ok::<_, std::convert::Infallible>((board, values, catalogue))
            })
            .await
            .unwrap();
        (c.board.now_ms, fresh)
    }

    #[tokio::test]
    async fn the_board_is_computed_again_when_something_is_stored_or_a_minute_passed() {
        let cache = BoardCache::default();
        let runs = AtomicUsize::new(0);
        let t = 1_800_000_000_000;
        assert_eq!(ask(&cache, t, &runs).await, (t, true));
        // Nothing stored, less than a minute: the same board.
        assert_eq!(ask(&cache, t + 59_999, &runs).await, (t, false));
        // A value stored: computed again.
        cache.changed();
        assert_eq!(ask(&cache, t + 60_000, &runs).await, (t + 60_000, true));
        assert_eq!(ask(&cache, t + 61_000, &runs).await, (t + 60_000, false));
        // A minute passed: computed again (lateness moves with the clock).
        assert_eq!(ask(&cache, t + 120_000, &runs).await, (t + 120_000, true));
        // A clock that went back: computed again rather than a board from the future.
        assert_eq!(ask(&cache, t + 100_000, &runs).await, (t + 100_000, true));
        assert_eq!(runs.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn the_stores_points_are_read_with_their_report_time_and_first_report() {
        let point = |value, reported_ms, first_reported_ms| ioc_protocol::indicator::SeriesPoint {
            period: "2026-10".parse().unwrap(),
            value,
            reported_ms,
            received_ms: reported_ms + 5,
            by: "q1".into(),
            way: ioc_protocol::indicator::Way::Mqtt,
            revisions: 2,
            first_reported_ms,
        };
        let mut latest = LatestValues::new();
        latest.insert(
            ("budget_revenue".into(), "q1".into()),
            vec![point(7.0, 2_000, 1_000)],
        );
        latest.insert(
            ("budget_revenue".into(), "q3".into()),
            vec![point(8.0, 3_000, 3_000)],
        );
        let values = values_of(&latest);
        let q1 = &values.series("budget_revenue", "q1")[0];
        assert_eq!(
            (q1.value, q1.reported_ms, q1.first_reported_ms),
            (7.0, 2_000, Some(1_000))
        );
        assert_eq!(q1.first_ms(), 1_000);
        let q3 = &values.series("budget_revenue", "q3")[0];
        assert_eq!((q3.reported_ms, q3.first_reported_ms), (3_000, None));
    }
}
