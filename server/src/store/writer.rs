//! The store writer: batches accepted messages, makes them durable, then acknowledges them.
//!
//! - Its queue is bounded ([`WriterHandle::try_send`] never waits): ingest's event loop must
//!   never block. QoS 1 messages that find the queue full wait in ingest's own overflow list,
//!   bounded by the broker's in-flight window, since the broker sends no more unacknowledged
//!   messages than that.
//! - A batch is written to the store; if the store is unavailable it goes to the on-disk spool
//!   instead. Either way it is durable, and only then are its QoS 1 messages acknowledged,
//!   each on the connection it came by, in order.
//! - While a batch is written the next one gathers, so that the broker's in-flight window does
//!   not stand empty during each commit; at most one batch waits so.
//! - While the spool holds anything, new batches go behind it, and the oldest spooled batch is
//!   retried with exponential backoff: batches reach the store in the order they came.
//! - A batch the store refuses for its content (HTTP 400/422) is counted as dropped with the
//!   reason and acknowledged: retrying cannot help, and it must not block the rest.
//! - If even the spool cannot take a batch (full, or a disk error), nothing is acknowledged:
//!   the writer holds the batch and retries, its queue fills, and the broker keeps the rest.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use ioc_protocol::{Body, Message};
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::embedded::folder::FoldStats;
use super::spool::{Spool, SpoolError};
use super::{Backend, StoreError};

/// One message on its way to the store, with what acknowledges it. `msg` is `None` for a
/// rejected message that must be acknowledged all the same: it has nothing to store, but its
/// ack must leave in order. Built by [`Pending::accepted`] and [`Pending::handled`].
#[derive(Debug)]
pub struct Pending {
    msg: Option<Message>,
    /// What to acknowledge once the message is durable.
    ack: Option<Ack>,
}

impl Pending {
    /// An accepted message, with what acknowledges it once durable, if anything.
    pub fn accepted(msg: Message, ack: Option<Ack>) -> Pending {
        Pending {
            msg: Some(msg),
            ack,
        }
    }

    /// What the writer takes for a message a producer has handled: the accepted message
    /// (`msg`) and its ack; for a rejected one, its ack alone, so that acks still leave in the
    /// order the messages came (MQTT brokers take them in order); for a rejected one that
    /// nobody waits for, nothing.
    pub fn handled(msg: Option<Message>, ack: Option<Ack>) -> Option<Pending> {
        (msg.is_some() || ack.is_some()).then_some(Pending { msg, ack })
    }

    /// Whether someone waits for this message's acknowledgement (then it must not be
    /// dropped).
    pub fn waits_for_ack(&self) -> bool {
        self.ack.is_some()
    }
}

/// How a durable message is acknowledged to its sender. The writer knows no transport: it
/// hands each acknowledgement back to what it came with.
#[derive(Debug)]
pub enum Ack {
    /// A message that came by link `link` (a subscriber connection), acknowledged by its
    /// packet id through the link's [`LinkAcker`]: `link` indexes the writer's list of
    /// [`Acker`]s.
    Link { link: usize, pkid: u16 },
    /// A message a gateway published to the server's own MQTT endpoint, acknowledged by its
    /// packet id on the gateway's connection.
    Session {
        to: Arc<dyn SessionAcker>,
        pkid: u16,
    },
    /// Whoever waits for the message to be durable (an HTTP ingest request, answered once all
    /// its messages are).
    Once(tokio::sync::oneshot::Sender<()>),
}

/// Acknowledges to the broker the messages of one link (a subscriber connection), once they
/// are durable. Implemented by ingest for each transport.
pub trait LinkAcker: std::fmt::Debug + Send + Sync {
    /// Acknowledges `pkids`, oldest first: the link's share of one durable batch, in the order
    /// its messages came (the broker may take acknowledgements in order only). A failure is
    /// the implementation's to report: the broker sends again what was not acknowledged, and
    /// the store ignores the duplicates.
    fn ack<'a>(&'a mut self, pkids: &'a [u16]) -> BoxFuture<'a, ()>;
}

/// What acknowledges the messages of one link.
pub type Acker = Box<dyn LinkAcker>;

/// Acknowledges, on a gateway's connection to the server's MQTT endpoint, the messages it
/// published, once they are durable. Implemented by ingest; never waits (it queues).
pub trait SessionAcker: std::fmt::Debug + Send + Sync {
    /// Acknowledges `pkids`, oldest first: the connection's run of one durable batch.
    fn acknowledge(&self, pkids: &[u16]);
}

/// Settings of the writer.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// At most this many data points per write.
    pub max_batch_points: usize,
    /// A batch is written at least this often.
    pub flush_interval: Duration,

    /// Messages waiting for the writer, at most.
    pub queue_capacity: usize,
    pub retry_min: Duration,
    pub retry_max: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            max_batch_points: 5000,
            flush_interval: Duration::from_millis(200),
            queue_capacity: 20_000,
            retry_min: Duration::from_millis(250),
            retry_max: Duration::from_secs(5),
        }
    }
}

/// What the writer has done, for `/metrics`, `/readyz` and the System tile.
#[derive(Debug, Default)]
pub struct WriterStats {
    /// Messages written to the store (directly or from the spool).
    pub written: AtomicU64,
    /// Messages put in the spool.
    pub spooled: AtomicU64,
    /// Messages refused by the store for their content, by reason.
    dropped: Mutex<BTreeMap<String, u64>>,
    pub spool_batches: AtomicU64,
    pub spool_bytes: AtomicU64,
    /// Epoch ms of the last failed write, 0 if none.
    pub last_failure_ms: AtomicU64,
    /// Time of the last batch write, in microseconds.
    pub last_write_us: AtomicU64,
    last_error: Mutex<Option<String>>,
    /// The store failed its last write and the writer waits to try again (batches go to the
    /// spool meanwhile).
    failing: std::sync::atomic::AtomicBool,
    /// Time of each batch written to the store.
    pub write_seconds: crate::health::Histogram,
    /// The embedded store's folds of its journal into the SQLite file.
    pub fold: std::sync::OnceLock<Arc<FoldStats>>,
}

/// The writer's figures as JSON.
#[derive(Debug, Clone, Serialize)]
pub struct WriterReport {
    pub written: u64,
    pub spooled: u64,
    pub dropped: BTreeMap<String, u64>,
    pub spool_batches: u64,
    pub spool_bytes: u64,
    pub queue_depth: u64,
    pub last_error: Option<String>,
    /// The embedded store: messages in the SQLite file, journaled and waiting to be folded
    /// into it, and failed folds with the last one's reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folded: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fold_pending: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fold_failures: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fold_error: Option<String>,
}

impl WriterStats {
    pub fn report(&self) -> WriterReport {
        WriterReport {
            written: self.written.load(Ordering::Relaxed),
            spooled: self.spooled.load(Ordering::Relaxed),
            dropped: self
                .dropped
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            spool_batches: self.spool_batches.load(Ordering::Relaxed),
            spool_bytes: self.spool_bytes.load(Ordering::Relaxed),
            queue_depth: 0,
            last_error: self
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
            folded: self.fold.get().map(|f| f.folded.load(Ordering::Relaxed)),
            fold_pending: self.fold.get().map(|f| f.pending.load(Ordering::Relaxed)),
            fold_failures: self.fold.get().map(|f| f.failures.load(Ordering::Relaxed)),
            fold_error: self.fold.get().and_then(|f| f.last_error()),
        }
    }

    /// Whether the store takes writes: false from a failed write until the next that works.
    pub fn writable(&self) -> bool {
        !self.failing.load(Ordering::Relaxed)
    }

    fn failed(&self, e: &impl std::fmt::Display) {
        self.last_failure_ms.store(
            chrono::Utc::now().timestamp_millis() as u64,
            Ordering::Relaxed,
        );
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(e.to_string());
    }
}

/// The sending side of the writer's queue.
#[derive(Debug, Clone)]
pub struct WriterHandle {
    tx: mpsc::Sender<Pending>,
    stats: Arc<WriterStats>,
}

impl WriterHandle {
    /// Queues a message without waiting; gives it back when the queue is full (whole, so
    /// that the caller keeps it in order: no boxing needed for a value that moves by).
    #[allow(clippy::result_large_err)]
    pub fn try_send(&self, p: Pending) -> Result<(), Pending> {
        self.tx.try_send(p).map_err(|e| match e {
            mpsc::error::TrySendError::Full(p) | mpsc::error::TrySendError::Closed(p) => p,
        })
    }

    /// Queues a message, waiting for room; gives it back if the writer has stopped.
    #[allow(clippy::result_large_err)]
    pub async fn send(&self, p: Pending) -> Result<(), Pending> {
        self.tx.send(p).await.map_err(|e| e.0)
    }

    /// The writer's counters.
    pub fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    /// How many messages the queue holds at most.
    pub fn capacity(&self) -> usize {
        self.tx.max_capacity()
    }

    /// Messages waiting in the queue.
    pub fn queue_depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    /// The writer's figures, queue depth included.
    pub fn report(&self) -> WriterReport {
        WriterReport {
            queue_depth: self.queue_depth() as u64,
            ..self.stats.report()
        }
    }
}

/// What the writer holds until it is durable: the messages to store, as one shared batch
/// (written, or spooled, or retried without copying it), and the acks that follow, in order.
#[derive(Debug, Default)]
struct Held {
    msgs: Arc<Vec<Message>>,
    acks: Vec<Ack>,
    /// Pending entries taken in, rejected messages (ack only) included.
    entries: usize,
    /// Data points of `msgs`.
    points: usize,
}

impl Held {
    fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Makes room for `entries` more, so that a batch under load does not grow its lists by
    /// doubling (copies, and fresh pages for the allocator to fault in).
    fn reserve(&mut self, entries: usize) {
        Arc::make_mut(&mut self.msgs).reserve(entries);
        self.acks.reserve(entries);
    }

    fn push(&mut self, p: Pending) {
        self.entries += 1;
        if let Some(msg) = p.msg {
            self.points += match &msg.body {
                Body::Reading(v) => v.len().max(1),
                Body::Event(_) => 1,
            };
            // Only the writer holds the batch between writes, so this does not copy it.
            Arc::make_mut(&mut self.msgs).push(msg);
        }
        self.acks.extend(p.ack);
    }

    /// Puts `later` after what is held, in order.
    fn append(&mut self, later: Held) {
        self.entries += later.entries;
        self.points += later.points;
        match Arc::try_unwrap(later.msgs) {
            Ok(msgs) => Arc::make_mut(&mut self.msgs).extend(msgs),
            Err(shared) => Arc::make_mut(&mut self.msgs).extend(shared.iter().cloned()),
        }
        self.acks.extend(later.acks);
    }
}

/// Starts the writer task. It runs until `shutdown` turns true, then writes (or spools) what
/// it holds, acknowledges it, and ends.
pub fn spawn(
    backend: Backend,
    spool: Spool,
    ackers: Vec<Acker>,
    config: WriterConfig,
    shutdown: watch::Receiver<bool>,
) -> (WriterHandle, Arc<WriterStats>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
    let stats = Arc::new(WriterStats::default());
    if let Backend::Embedded(w) = &backend {
        let _ = stats.fold.set(w.stats().clone());
    }
    stats
        .spool_batches
        .store(spool.len() as u64, Ordering::Relaxed);
    stats.spool_bytes.store(spool.bytes(), Ordering::Relaxed);
    let writer = Writer {
        backend,
        spool,
        by_link: vec![Vec::new(); ackers.len()],
        ackers,
        config,
        stats: stats.clone(),
        retry_at: None,
        backoff: Duration::ZERO,
        room: 0,
    };
    let task = tokio::spawn(writer.run(rx, shutdown));
    (
        WriterHandle {
            tx,
            stats: stats.clone(),
        },
        stats,
        task,
    )
}

/// A new batch makes room for as many entries as the last one had, at most this many.
const MAX_ROOM: usize = 20_000;

/// How long the writer waits for the next message before it writes what it holds.
const LINGER: Duration = Duration::from_micros(200);

struct Writer {
    backend: Backend,
    spool: Spool,
    /// What acknowledges, by link (see [`Ack::Link`]).
    ackers: Vec<Acker>,
    /// The packet ids of a durable batch, by link (kept, to reuse their room).
    by_link: Vec<Vec<u16>>,
    config: WriterConfig,
    stats: Arc<WriterStats>,
    /// When to try the store again after a failure.
    retry_at: Option<Instant>,
    backoff: Duration,
    /// Entries of the last batch written: the room a new one makes ([`Held::reserve`]).
    room: usize,
}

impl Writer {
    async fn run(mut self, mut rx: mpsc::Receiver<Pending>, mut shutdown: watch::Receiver<bool>) {
        let mut held = Held::default();
        // Gathered while `held` was being written; written next. At most one batch waits so:
        // while it does (the store and the spool failed `held`), nothing more is taken, the
        // queue fills, and the broker keeps the rest.
        let mut waiting = Held::default();
        let mut retention_at = Instant::now();
        loop {
            if held.is_empty() && !waiting.is_empty() {
                held = std::mem::take(&mut waiting);
            }
            if held.is_empty() {
                let first = tokio::select! {
                    p = rx.recv() => p,
                    _ = shutdown.changed() => None,
                    // Wake up to drain the spool even when nothing new arrives.
                    _ = sleep_until_opt(self.retry_at.or(Some(Instant::now()))), if !self.spool.is_empty() => {
                        self.drain_spool().await;
                        continue;
                    }
                };
                let Some(first) = first else { break };
                held.reserve(self.room);
                held.push(first);
                self.gather(&mut held, &mut rx).await;
            }
            // The next batch gathers while this one is written. The broker sends no more
            // unacknowledged QoS 1 messages than its window, so if the next batch waited for
            // this commit and its acknowledgements, the window would stand empty while the
            // store writes, and the store would stand idle while the window refills.
            let (max_points, max_entries) = (
                self.config.max_batch_points,
                4 * self.config.max_batch_points,
            );
            let gather = waiting.is_empty();
            let room = self.room;
            let durable = {
                let commit = self.commit(&held.msgs);
                tokio::pin!(commit);
                loop {
                    tokio::select! {
                        biased;
                        durable = &mut commit => break durable,
                        Some(p) = rx.recv(), if gather && waiting.points < max_points && waiting.entries < max_entries => {
                            if waiting.is_empty() {
                                waiting.reserve(room);
                            }
                            waiting.push(p);
                        }
                    }
                }
            };
            if durable {
                self.room = held.entries.min(MAX_ROOM);
                self.ack(std::mem::take(&mut held)).await;
            } else {
                // Not durable anywhere: keep it, acknowledge nothing, try again shortly.
                tokio::select! {
                    _ = tokio::time::sleep(self.config.retry_min) => {}
                    _ = shutdown.changed() => {}
                }
                if *shutdown.borrow() {
                    break;
                }
            }
            if retention_at.elapsed() >= Duration::from_secs(3600) {
                retention_at = Instant::now();
                self.backend.enforce_retention().await;
            }
        }
        // Shutting down: whatever is queued gets one last chance to become durable.
        held.append(waiting);
        rx.close();
        while let Some(p) = rx.recv().await {
            held.push(p);
        }
        if !held.is_empty() && self.commit(&held.msgs).await {
            self.ack(held).await;
        }
    }

    /// Adds to `held` what is already queued and what keeps arriving, up to a full batch, and
    /// stops as soon as the stream pauses for `LINGER` (or at the flush interval at the
    /// latest): group commit. Waiting out the interval instead would cap throughput at the
    /// broker's in-flight window per interval, since the broker sends no more unacknowledged
    /// QoS 1 messages than that and they are acknowledged only after the commit; under load
    /// the queue fills while the previous batch is being written, so batches grow by
    /// themselves.
    async fn gather(&self, held: &mut Held, rx: &mut mpsc::Receiver<Pending>) {
        let deadline = Instant::now() + self.config.flush_interval;
        // Rejected messages weigh nothing but still take a place, so that a flood of them is
        // acknowledged in bounded batches too.
        while held.points < self.config.max_batch_points
            && held.entries < 4 * self.config.max_batch_points
        {
            let p = match rx.try_recv() {
                Ok(p) => p,
                Err(_) => {
                    let pause = (Instant::now() + LINGER).min(deadline);
                    match tokio::time::timeout_at(pause, rx.recv()).await {
                        Ok(Some(p)) => p,
                        _ => break,
                    }
                }
            };
            held.push(p);
        }
    }

    /// Makes a batch durable: in the store, or else in the spool. False if neither took it.
    async fn commit(&mut self, batch: &Arc<Vec<Message>>) -> bool {
        if batch.is_empty() {
            return true;
        }
        if !self.spool.is_empty() {
            self.drain_spool().await;
        }
        if self.spool.is_empty() && self.retry_at.is_none_or(|t| Instant::now() >= t) {
            let started = Instant::now();
            match self.backend.write(batch.clone()).await {
                Ok(()) => {
                    let took = started.elapsed();
                    self.stats.write_seconds.observe(took);
                    self.stats
                        .last_write_us
                        .store(took.as_micros() as u64, Ordering::Relaxed);
                    self.stats
                        .written
                        .fetch_add(batch.len() as u64, Ordering::Relaxed);
                    self.succeeded();
                    return true;
                }
                Err(StoreError::Rejected { reason }) => {
                    tracing::error!(messages = batch.len(), %reason, "the store refused a batch; dropped");
                    let mut dropped = self.stats.dropped.lock().unwrap_or_else(|e| e.into_inner());
                    *dropped.entry(reason.clone()).or_default() += batch.len() as u64;
                    drop(dropped);
                    self.stats.failed(&reason);
                    return true;
                }
                Err(e) => self.store_failed(&e),
            }
        }
        self.spool_batch(batch)
    }

    fn spool_batch(&mut self, batch: &[Message]) -> bool {
        match self.spool.append(batch) {
            Ok(()) => {
                self.stats
                    .spooled
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                self.spool_gauges();
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot spool a batch; not acknowledging it");
                self.stats.failed(&e);
                false
            }
        }
    }

    /// Writes spooled batches back, oldest first, until the spool is empty or the store fails.
    async fn drain_spool(&mut self) {
        while self.retry_at.is_none_or(|t| Instant::now() >= t) {
            let batch = match self.spool.front() {
                Ok(Some(b)) => b,
                Ok(None) => return,
                Err(e @ SpoolError::Corrupt { .. }) => {
                    tracing::error!(error = %e, "a spooled batch cannot be read; set aside");
                    self.stats.failed(&e);
                    let _ = self.spool.quarantine_front();
                    self.spool_gauges();
                    continue;
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the spool");
                    self.stats.failed(&e);
                    self.retry_later(None);
                    return;
                }
            };
            let n = batch.len() as u64;
            let started = Instant::now();
            match self.backend.write(Arc::new(batch)).await {
                Ok(()) => {
                    self.stats.write_seconds.observe(started.elapsed());
                    self.stats.written.fetch_add(n, Ordering::Relaxed);
                    self.succeeded();
                }
                Err(StoreError::Rejected { reason }) => {
                    let mut dropped = self.stats.dropped.lock().unwrap_or_else(|e| e.into_inner());
                    *dropped.entry(reason).or_default() += n;
                }
                Err(e) => {
                    self.store_failed(&e);
                    return;
                }
            }
            if let Err(e) = self.spool.pop_front() {
                tracing::error!(error = %e, "cannot remove a written batch from the spool");
                self.stats.failed(&e);
                self.retry_later(None);
                return;
            }
            self.spool_gauges();
            if self.spool.is_empty() {
                tracing::info!("the spool is empty: the store has everything");
            }
        }
    }

    fn succeeded(&mut self) {
        self.stats.failing.store(false, Ordering::Relaxed);
        self.retry_at = None;
        self.backoff = Duration::ZERO;
    }

    fn store_failed(&mut self, e: &StoreError) {
        if self.backoff.is_zero() {
            tracing::warn!(error = %e, "the store is unavailable; spooling to disk");
        }
        self.stats.failed(e);
        self.stats.failing.store(true, Ordering::Relaxed);
        let hint = match e {
            StoreError::Unavailable { retry_after_ms, .. } => {
                retry_after_ms.map(Duration::from_millis)
            }
            _ => None,
        };
        self.retry_later(hint);
    }

    fn retry_later(&mut self, hint: Option<Duration>) {
        self.backoff = if self.backoff.is_zero() {
            self.config.retry_min
        } else {
            (self.backoff * 2).min(self.config.retry_max)
        };
        let wait = hint.map_or(self.backoff, |h| h.min(self.config.retry_max));
        self.retry_at = Some(Instant::now() + wait);
    }

    fn spool_gauges(&self) {
        self.stats
            .spool_batches
            .store(self.spool.len() as u64, Ordering::Relaxed);
        self.stats
            .spool_bytes
            .store(self.spool.bytes(), Ordering::Relaxed);
    }

    /// Acknowledges a durable batch: each link's packet ids with one call to its acker, in
    /// order (one call per link, and per run of one connection's acknowledgements).
    async fn ack(&mut self, held: Held) {
        // A connection's run of acknowledgements goes in one call, in order.
        let mut run: Option<(Arc<dyn SessionAcker>, Vec<u16>)> = None;
        for ack in held.acks {
            match ack {
                Ack::Link { link, pkid } => {
                    if let Some(pkids) = self.by_link.get_mut(link) {
                        pkids.push(pkid);
                    }
                }
                Ack::Session { to, pkid } => match &mut run {
                    Some((conn, pkids)) if Arc::ptr_eq(conn, &to) => pkids.push(pkid),
                    _ => {
                        if let Some((conn, pkids)) = run.replace((to, vec![pkid])) {
                            conn.acknowledge(&pkids);
                        }
                    }
                },
                // The request may have given up waiting: then its sender retries.
                Ack::Once(done) => {
                    let _ = done.send(());
                }
            }
        }
        if let Some((conn, pkids)) = run {
            conn.acknowledge(&pkids);
        }
        for (acker, pkids) in self.ackers.iter_mut().zip(&mut self.by_link) {
            if !pkids.is_empty() {
                acker.ack(pkids).await;
                pkids.clear();
            }
        }
    }
}

async fn sleep_until_opt(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// What the System figures read of the writer (see [`crate::health`]).
impl crate::health::StoreHealth for WriterStats {
    fn writable(&self) -> bool {
        WriterStats::writable(self)
    }

    fn spool_batches(&self) -> u64 {
        self.spool_batches.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::influx::{InfluxConfig, InfluxStore, Token};
    use ioc_protocol::{Domain, Topic, Value};

    fn reading(ts: i64) -> Message {
        Message {
            topic: Topic::new(Domain::Env, "q1", "aqs-q1-01"),
            ts,
            seq: None,
            body: Body::Reading([("aqi".to_owned(), Value::Number(42.0))].into()),
        }
    }

    /// A store that is down: nothing listens.
    fn unreachable_store() -> anyhow::Result<InfluxStore> {
        Ok(InfluxStore::new(&InfluxConfig {
            url: "http://127.0.0.1:1".into(),
            org: "ioc".into(),
            bucket: "ioc".into(),
            token: Token::new(String::new()),
            timeout_ms: 200,
        })?)
    }

    /// What a link's acker was called with: each call's packet ids.
    #[derive(Debug, Default, Clone)]
    struct Calls(Arc<Mutex<Vec<Vec<u16>>>>);

    impl LinkAcker for Calls {
        fn ack<'a>(&'a mut self, pkids: &'a [u16]) -> BoxFuture<'a, ()> {
            self.0.lock().unwrap().push(pkids.to_vec());
            Box::pin(std::future::ready(()))
        }
    }

    /// A durable batch (here in the spool) is acknowledged on each link with one call, its
    /// packet ids in the order the messages came, rejected ones included; a link with nothing
    /// in the batch is not called.
    #[tokio::test]
    async fn each_link_gets_its_share_of_a_batch_in_order_with_one_call() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let spool = Spool::open(dir.path(), 64 * 1024 * 1024)?;
        let links = [Calls::default(), Calls::default(), Calls::default()];
        let ackers = links.iter().map(|c| Box::new(c.clone()) as Acker).collect();
        let config = WriterConfig {
            max_batch_points: 100,
            flush_interval: Duration::from_millis(50),
            queue_capacity: 100,
            ..Default::default()
        };
        let (stop, shutdown) = watch::channel(false);
        let (writer, stats, task) = spawn(
            Backend::Influx(Arc::new(unreachable_store()?)),
            spool,
            ackers,
            config,
            shutdown,
        );
        let (done, answered) = tokio::sync::oneshot::channel();
        let link = |link, pkid| Some(Ack::Link { link, pkid });
        let sent = [
            Pending::accepted(reading(1), link(0, 7)),
            Pending::accepted(reading(2), link(1, 3)),
            Pending::handled(None, link(0, 8)).expect("a rejected message's ack"),
            Pending::accepted(reading(3), None),
            Pending::accepted(reading(4), link(0, 9)),
            Pending::accepted(reading(5), Some(Ack::Once(done))),
            Pending::accepted(reading(6), link(1, 1)),
        ];
        assert!(Pending::handled(None, None).is_none());
        // All queued before the writer first runs (one thread): one batch.
        for p in sent {
            writer.try_send(p).expect("room in the queue");
        }
        tokio::time::timeout(Duration::from_secs(10), answered).await??;
        let _ = stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), task).await??;
        assert_eq!(stats.spooled.load(Ordering::Relaxed), 6);
        assert_eq!(*links[0].0.lock().unwrap(), [vec![7, 8, 9]]);
        assert_eq!(*links[1].0.lock().unwrap(), [vec![3, 1]]);
        assert!(links[2].0.lock().unwrap().is_empty());
        Ok(())
    }

    /// The store down (nothing listens) and the spool full: nothing may be acknowledged, and
    /// the writer must hold no more than its batch and the one gathered behind it, so that its
    /// queue fills and the senders (the broker, HTTP clients) keep the rest.
    #[tokio::test]
    async fn with_neither_store_nor_spool_nothing_is_acknowledged_and_the_queue_fills()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let spool = Spool::open(dir.path(), 1)?;
        let store = unreachable_store()?;
        let config = WriterConfig {
            max_batch_points: 10,
            flush_interval: Duration::from_millis(5),
            queue_capacity: 20,
            retry_min: Duration::from_millis(10),
            retry_max: Duration::from_millis(20),
        };
        let (stop, shutdown) = watch::channel(false);
        let (writer, stats, task) = spawn(
            Backend::Influx(Arc::new(store)),
            spool,
            Vec::new(),
            config,
            shutdown,
        );
        let mut acks = Vec::new();
        let mut refused = 0;
        for ts in 0..300 {
            let (done, acked) = tokio::sync::oneshot::channel();
            let p = Pending::accepted(reading(ts), Some(Ack::Once(done)));
            match writer.try_send(p) {
                Ok(()) => acks.push(acked),
                Err(_) => refused += 1,
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        // The queue (20), the batch being retried (10) and the one behind it (10).
        assert!(
            acks.len() <= 40,
            "the writer took {} messages it cannot make durable",
            acks.len()
        );
        assert_eq!(acks.len() + refused, 300);
        for mut acked in acks {
            assert!(
                acked.try_recv().is_err(),
                "acknowledged without being durable"
            );
        }
        assert_eq!(stats.written.load(Ordering::Relaxed), 0);
        assert_eq!(stats.spooled.load(Ordering::Relaxed), 0);
        let _ = stop.send(true);
        tokio::time::timeout(Duration::from_secs(10), task).await??;
        Ok(())
    }
}
