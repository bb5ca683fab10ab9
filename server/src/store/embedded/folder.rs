//! The embedded store's write path: a batch is durable once it is in the journal
//! (`journal.rs`), and a thread of its own folds what the journal holds into the SQLite file in
//! large transactions.
//!
//! Why: under load a batch holds about one reading per source (the broker's in-flight window
//! is about 2,300 messages, and a city has thousands of sources), so committing each batch to
//! SQLite writes a page of the raw table and of each rollup for nearly every reading: 19 us a
//! reading. Folded 20,000 at a time, a source's readings share their pages: 5 to 6 us a
//! reading, on the other core, while the journal takes the next batches at the cost of one
//! sequential write each (docs/performance.md).
//!
//! - A fold starts as soon as there is something to fold and the last fold is at least
//!   [`FOLD_EVERY`] old, or [`FOLD_AT`] messages wait. At a city's usual rates every batch is
//!   folded as it comes, so history sees it at once; under load, history runs at most about
//!   [`FOLD_EVERY`] plus one fold behind.
//! - A fold takes everything journaled so far (the journal moves to a new segment), commits
//!   it in one transaction, then removes the segments it came from. If the commit fails, the
//!   messages stay pending and in the journal, and the fold is tried again after
//!   [`FOLD_RETRY`]. Past [`MAX_PENDING`] messages waiting, a new batch waits for a fold, or,
//!   while folds fail, is refused (the store writer then spools it, and past that stops
//!   acknowledging).
//! - At start, whatever the journal holds is folded before anything reads the store.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ioc_protocol::Message;

use super::journal::{Journal, JournalError};
use super::{EmbeddedReader, EmbeddedStore, Retention};
use crate::store::StoreError;

/// A fold starts once this many messages wait, however recent the last one.
pub const FOLD_AT: usize = 20_000;
/// Folds are at least this far apart, unless [`FOLD_AT`] messages wait.
pub const FOLD_EVERY: Duration = Duration::from_millis(250);
/// After a failed fold, the next try waits this long.
pub const FOLD_RETRY: Duration = Duration::from_secs(1);
/// Past this many messages waiting to be folded, a new batch waits for a fold (the writer
/// then acknowledges later, and the broker holds the publishers back), or is refused while
/// folds fail.
pub const MAX_PENDING: usize = 200_000;

/// What the folder has done, for `/metrics`.
#[derive(Debug, Default)]
pub struct FoldStats {
    pub folded: AtomicU64,
    pub failures: AtomicU64,
    /// Messages journaled and not yet in the SQLite file.
    pub pending: AtomicU64,
    /// Why the last fold failed, until one succeeds (set and cleared under the folder's
    /// state lock, so that what waits on it sees it change).
    last_error: Mutex<Option<String>>,
}

impl FoldStats {
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_error(&self, e: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = e;
    }
}

struct State {
    journal: Journal,
    /// Batches journaled and not yet folded, in order.
    pending: Vec<Arc<Vec<Message>>>,
    pending_msgs: usize,
    folding: bool,
    /// A flush is waiting for everything to be folded.
    flush: bool,
    stop: bool,
    last_fold: Instant,
    retry_at: Option<Instant>,
}

struct Shared {
    state: Mutex<State>,
    /// Wakes the folder: something to fold, a flush asked for, or the end.
    work: Condvar,
    /// Wakes whoever waits for folds (a flush).
    folded: Condvar,
    store: Mutex<EmbeddedStore>,
    stats: Arc<FoldStats>,
}

/// The embedded store's writer: journal, then fold.
pub struct EmbeddedWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl std::fmt::Debug for EmbeddedWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedWriter")
            .field("stats", &self.shared.stats)
            .finish()
    }
}

fn journal_err(e: JournalError) -> StoreError {
    StoreError::Unavailable {
        reason: e.to_string(),
        retry_after_ms: None,
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn store(&self) -> MutexGuard<'_, EmbeddedStore> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl EmbeddedWriter {
    /// Opens the store at `path` and its journal beside it (`<path>.journal/`), folds what an
    /// earlier run left in the journal, and starts the folder.
    pub fn open(
        path: &std::path::Path,
        retention: Retention,
    ) -> Result<(EmbeddedWriter, EmbeddedReader), StoreError> {
        let mut store = EmbeddedStore::open(path, retention)?;
        let dir = std::path::PathBuf::from(format!("{}.journal", path.display()));
        let (journal, replay) = Journal::open(&dir).map_err(journal_err)?;
        if !replay.batches.is_empty() {
            let n: usize = replay.batches.iter().map(Vec::len).sum();
            store.write(replay.batches.iter().flatten())?;
            journal
                .remove_through(replay.through)
                .map_err(journal_err)?;
            tracing::info!(
                messages = n,
                "the store journal of the last run was folded in"
            );
        }
        let reader = store.reader();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                journal,
                pending: Vec::new(),
                pending_msgs: 0,
                folding: false,
                flush: false,
                stop: false,
                // The first batch is folded as it comes.
                last_fold: Instant::now()
                    .checked_sub(FOLD_EVERY)
                    .unwrap_or_else(Instant::now),
                retry_at: None,
            }),
            work: Condvar::new(),
            folded: Condvar::new(),
            store: Mutex::new(store),
            stats: Arc::default(),
        });
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("store-folder".into())
                .spawn(move || fold_loop(&shared))
                .map_err(|e| StoreError::Unavailable {
                    reason: format!("cannot start the store's folder thread: {e}"),
                    retry_after_ms: None,
                })?
        };
        Ok((
            EmbeddedWriter {
                shared,
                thread: Mutex::new(Some(thread)),
            },
            reader,
        ))
    }

    /// Makes a batch durable (in the journal); it reaches the SQLite file with the next fold.
    /// Blocks for one write and one sync.
    pub fn append(&self, batch: Arc<Vec<Message>>) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut st = self.shared.lock();
        while st.pending_msgs >= MAX_PENDING && self.shared.stats.last_error().is_none() {
            st = self
                .shared
                .folded
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
        if st.pending_msgs >= MAX_PENDING {
            return Err(StoreError::Unavailable {
                reason: format!(
                    "{} messages wait to be written into the SQLite file{}",
                    st.pending_msgs,
                    self.shared
                        .stats
                        .last_error()
                        .map(|e| format!(" (last failure: {e})"))
                        .unwrap_or_default()
                ),
                retry_after_ms: None,
            });
        }
        st.journal.append([batch.as_slice()]).map_err(journal_err)?;
        st.pending_msgs += batch.len();
        st.pending.push(batch);
        self.shared
            .stats
            .pending
            .store(st.pending_msgs as u64, Ordering::Relaxed);
        drop(st);
        self.shared.work.notify_one();
        Ok(())
    }

    /// Waits until everything appended so far is in the SQLite file; the last fold's error if
    /// it failed.
    pub fn flush(&self) -> Result<(), StoreError> {
        let mut st = self.shared.lock();
        st.flush = true;
        self.shared.work.notify_one();
        while (!st.pending.is_empty() || st.folding) && self.shared.stats.last_error().is_none() {
            st = self
                .shared
                .folded
                .wait(st)
                .unwrap_or_else(|e| e.into_inner());
        }
        match self.shared.stats.last_error() {
            Some(e) => Err(StoreError::Unavailable {
                reason: e,
                retry_after_ms: None,
            }),
            None => Ok(()),
        }
    }

    /// Deletes what is past retention (between folds).
    pub fn enforce_retention(&self, now_ms: i64) -> Result<usize, StoreError> {
        self.shared.store().enforce_retention(now_ms)
    }

    pub fn stats(&self) -> &Arc<FoldStats> {
        &self.shared.stats
    }
}

impl Drop for EmbeddedWriter {
    /// Folds what is pending (what cannot be folded stays in the journal for the next start)
    /// and stops the folder.
    fn drop(&mut self) {
        self.shared.lock().stop = true;
        self.shared.work.notify_one();
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Should the folder thread die (a panic), batches must not wait for a fold that never comes:
/// it is recorded as a failure, so that appends past [`MAX_PENDING`] are refused (and
/// spooled) and a flush returns. What was journaled stays for the next start.
struct OnPanic<'a>(&'a Shared);

impl Drop for OnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut st = self.0.lock();
            st.folding = false;
            self.0
                .stats
                .set_error(Some("the store's folder thread stopped".into()));
            self.0.folded.notify_all();
        }
    }
}

fn fold_loop(shared: &Shared) {
    let _on_panic = OnPanic(shared);
    let mut st = shared.lock();
    loop {
        let now = Instant::now();
        let retry_ok = st.retry_at.is_none_or(|t| now >= t);
        let due = !st.pending.is_empty()
            && (st.stop
                || (retry_ok
                    && (st.flush
                        || st.pending_msgs >= FOLD_AT
                        || now.duration_since(st.last_fold) >= FOLD_EVERY)));
        if !due {
            if st.stop {
                break;
            }
            if st.pending.is_empty() && st.flush {
                st.flush = false;
                shared.folded.notify_all();
            }
            let wait = if st.pending.is_empty() {
                None
            } else if !retry_ok {
                st.retry_at.map(|t| t - now)
            } else {
                Some(FOLD_EVERY.saturating_sub(now.duration_since(st.last_fold)))
            };
            st = match wait {
                Some(d) => {
                    shared
                        .work
                        .wait_timeout(st, d)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => shared.work.wait(st).unwrap_or_else(|e| e.into_inner()),
            };
            continue;
        }
        let through = match st.journal.rotate() {
            Ok(n) => n,
            Err(e) => {
                fold_failed(shared, &mut st, e.to_string());
                if st.stop {
                    break;
                }
                continue;
            }
        };
        let taken = std::mem::take(&mut st.pending);
        let n = std::mem::take(&mut st.pending_msgs);
        st.folding = true;
        drop(st);
        // In key order (source, then time), each page of the raw table is found once and
        // filled in one go: 80,000-85,000 readings/s stored became 90,000 (docs/performance.md).
        // The sort is stable: of two messages with the same source and `ts` (a redelivery),
        // the first still wins, as it would have unsorted.
        let mut sorted: Vec<&Message> = taken.iter().flat_map(|b| b.iter()).collect();
        sorted.sort_by(|a, b| (&a.topic, a.ts).cmp(&(&b.topic, b.ts)));
        let done = shared.store().write(sorted);
        st = shared.lock();
        st.folding = false;
        st.last_fold = Instant::now();
        match done {
            Ok(()) => {
                if let Err(e) = st.journal.remove_through(through) {
                    // Folded, so nothing is lost: the segments are replayed at the next start
                    // and change nothing.
                    tracing::warn!(error = %e, "cannot remove folded journal segments");
                }
                st.retry_at = None;
                shared.stats.set_error(None);
                shared.stats.folded.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) => {
                // Back in front of what came meanwhile, in order.
                let later = std::mem::replace(&mut st.pending, taken);
                st.pending.extend(later);
                st.pending_msgs += n;
                fold_failed(shared, &mut st, e.to_string());
            }
        }
        shared
            .stats
            .pending
            .store(st.pending_msgs as u64, Ordering::Relaxed);
        shared.folded.notify_all();
        if st.stop && shared.stats.last_error().is_some() {
            break;
        }
    }
}

fn fold_failed(shared: &Shared, st: &mut State, reason: String) {
    tracing::error!(
        error = %reason,
        pending = st.pending_msgs,
        "cannot fold the store journal into the SQLite file; it stays in the journal, trying again"
    );
    shared.stats.failures.fetch_add(1, Ordering::Relaxed);
    shared.stats.set_error(Some(reason));
    st.retry_at = Some(Instant::now() + FOLD_RETRY);
    shared.folded.notify_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::HistoryQuery;
    use ioc_protocol::{Body, Domain, Topic, Value};

    const T0: i64 = 1_795_309_200_000;

    fn reading(source: &str, ts: i64, aqi: f64) -> Message {
        Message {
            topic: Topic::new(Domain::Env, "q1", source),
            ts,
            seq: None,
            body: Body::Reading(
                [("aqi".to_owned(), Value::Number(aqi))]
                    .into_iter()
                    .collect(),
            ),
        }
    }

    /// The minute buckets of source `a`'s AQI in the hour from `T0`: (count, sum).
    fn minute_totals(reader: &EmbeddedReader) -> (u64, f64) {
        let h = reader
            .history(&HistoryQuery {
                domain: Domain::Env,
                area: "q1".into(),
                source: Some("a".into()),
                field: "aqi".into(),
                from: T0,
                to: T0 + 3_600_000,
                points: 60,
            })
            .unwrap();
        (
            h.iter().map(|b| b.count).sum(),
            h.iter().map(|b| b.mean * b.count as f64).sum(),
        )
    }

    fn journal_dir(path: &std::path::Path) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("{}.journal", path.display()))
    }

    #[test]
    fn an_appended_batch_reaches_history_by_itself_within_a_fold() {
        let dir = tempfile::tempdir().unwrap();
        let (w, reader) =
            EmbeddedWriter::open(&dir.path().join("ioc.sqlite"), Retention::default()).unwrap();
        let batch: Vec<Message> = (0..10).map(|i| reading("a", T0 + i * 1000, 2.0)).collect();
        w.append(Arc::new(batch)).unwrap();
        // No flush: the folder's own timer folds it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while minute_totals(&reader).0 < 10 {
            assert!(Instant::now() < deadline, "not folded within 5 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(minute_totals(&reader), (10, 20.0));
        assert_eq!(w.stats().folded.load(Ordering::Relaxed), 10);
        assert_eq!(w.stats().pending.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn what_a_crash_left_in_the_journal_is_folded_at_start_and_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ioc.sqlite");
        let folded: Vec<Message> = (0..5).map(|i| reading("a", T0 + i * 1000, 1.0)).collect();
        let unfolded: Vec<Message> = (5..8).map(|i| reading("a", T0 + i * 1000, 1.0)).collect();
        {
            let (w, _) = EmbeddedWriter::open(&path, Retention::default()).unwrap();
            w.append(Arc::new(folded.clone())).unwrap();
            w.flush().unwrap();
        }
        // A crash between a fold's commit and the removal of its segment, with a batch
        // journaled after it: both segments are still there at the next start.
        {
            let (mut j, _) = Journal::open(&journal_dir(&path)).unwrap();
            j.append([folded.as_slice()]).unwrap();
            j.rotate().unwrap();
            j.append([unfolded.as_slice()]).unwrap();
        }
        let (w, reader) = EmbeddedWriter::open(&path, Retention::default()).unwrap();
        // Every reading once, the folded ones not twice.
        assert_eq!(minute_totals(&reader), (8, 8.0));
        assert_eq!(w.stats().pending.load(Ordering::Relaxed), 0);
        drop(w);
        let (_, replay) = Journal::open(&journal_dir(&path)).unwrap();
        assert!(
            replay.batches.is_empty(),
            "the folded segments were removed"
        );
    }

    #[test]
    fn closing_folds_what_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ioc.sqlite");
        let (w, reader) = EmbeddedWriter::open(&path, Retention::default()).unwrap();
        for i in 0..50 {
            w.append(Arc::new(vec![reading("a", T0 + i * 1000, 3.0)]))
                .unwrap();
        }
        drop(w);
        assert_eq!(minute_totals(&reader), (50, 150.0));
        let (_, replay) = Journal::open(&journal_dir(&path)).unwrap();
        assert!(replay.batches.is_empty());
    }
}
