//! The time-series store: every accepted reading and event, durably.
//!
//! Two backends behind one enum ([`Backend`]): the embedded SQLite file (default, in the data
//! directory) and InfluxDB 2 (production). The writer (`writer.rs`) batches accepted
//! messages, writes them, and acknowledges the QoS 1 messages only once they are durable: in
//! the store, or in the on-disk spool when the store is down.
//!
//! - `embedded.rs`: SQLite (rusqlite, bundled), WAL, rollups per minute and per hour; a batch
//!   is durable in its journal (`embedded/journal.rs`) and folded into the file in large
//!   transactions (`embedded/folder.rs`).
//! - `influx.rs`: InfluxDB 2 through the `influxdb2` crate, line protocol and Flux.
//! - `indicators.rs`: the socio-economic indicators' revisions ([`IndicatorStore`]), in the
//!   same backend, written apart from the writer's batches.
//! - `open.rs`: opening the configured backend and the spool ([`open`]).
//! - `spool.rs`: the on-disk spool of batches the store could not take.

pub mod embedded;
mod indicators;
pub mod influx;
mod open;
pub mod spool;
pub mod writer;

use std::sync::Arc;

use ioc_protocol::{Domain, Message};

use self::embedded::EmbeddedReader;
use self::embedded::folder::EmbeddedWriter;
pub use self::indicators::{IndicatorStore, LatestValues};
pub use self::open::{EMBEDDED_BATCH_POINTS, Opened, open, writer_config};

/// A range query of one field, and a bucket of its answer: the wire's (`GET /api/v1/history`).
pub use ioc_protocol::history::{Bucket, HistoryQuery};

/// Why a store operation failed, and so what the writer does about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot take the write now (down, overloaded, timed out): retry later; the
    /// batch goes to the spool meanwhile. `retry_after_ms` when the store said how long.
    #[error("store unavailable: {reason}")]
    Unavailable {
        reason: String,
        retry_after_ms: Option<u64>,
    },
    /// The store refused the data itself (HTTP 400 or 422): retrying cannot help. The batch
    /// is counted as dropped, with the reason.
    #[error("store rejected the batch: {reason}")]
    Rejected { reason: String },
    /// A query that cannot be answered (bad parameters, corrupt data).
    #[error("{0}")]
    Query(String),
}

/// Where the writer writes: one of the two backends.
#[derive(Debug, Clone)]
pub enum Backend {
    /// SQLite is synchronous: a batch is journaled on a blocking thread, and folded into the
    /// file by a thread of the store's own (`embedded/folder.rs`).
    Embedded(Arc<EmbeddedWriter>),
    Influx(Arc<influx::InfluxStore>),
}

impl Backend {
    /// Writes a batch, all or nothing.
    pub async fn write(&self, batch: Arc<Vec<Message>>) -> Result<(), StoreError> {
        match self {
            Backend::Embedded(store) => {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.append(batch))
                    .await
                    .map_err(|e| StoreError::Unavailable {
                        reason: format!("the store's journal task failed: {e}"),
                        retry_after_ms: None,
                    })?
            }
            Backend::Influx(store) => store.write(&batch).await,
        }
    }

    /// Deletes what is past retention (the embedded store; InfluxDB keeps its own).
    pub async fn enforce_retention(&self) {
        if let Backend::Embedded(store) = self {
            let store = store.clone();
            let now = chrono::Utc::now().timestamp_millis();
            let done = tokio::task::spawn_blocking(move || store.enforce_retention(now)).await;
            match done {
                Ok(Ok(n)) => tracing::info!(rows = n, "retention applied"),
                Ok(Err(e)) => tracing::warn!(error = %e, "retention failed"),
                Err(e) => tracing::warn!(error = %e, "retention task failed"),
            }
        }
    }
}

/// Where queries go.
#[derive(Debug, Clone)]
pub enum Reader {
    Embedded(EmbeddedReader),
    Influx(Arc<influx::InfluxStore>),
}

impl Reader {
    pub async fn history(&self, q: HistoryQuery) -> Result<Vec<Bucket>, StoreError> {
        match self {
            Reader::Embedded(r) => {
                let r = r.clone();
                blocking(move || r.history(&q)).await
            }
            Reader::Influx(s) => s.history(&q).await,
        }
    }

    /// The newest reading of each source, to rebuild the live picture at start.
    pub async fn latest(&self) -> Result<Vec<Message>, StoreError> {
        match self {
            Reader::Embedded(r) => {
                let r = r.clone();
                blocking(move || r.latest()).await
            }
            Reader::Influx(s) => s.latest().await,
        }
    }

    /// Every reading of `domain` at or after `since_ms`: what the air stations' hourly
    /// averages (and so the official AQI) are rebuilt from at start.
    pub async fn readings_since(
        &self,
        domain: Domain,
        since_ms: i64,
    ) -> Result<Vec<Message>, StoreError> {
        match self {
            Reader::Embedded(r) => {
                let r = r.clone();
                blocking(move || r.readings_since(domain, since_ms)).await
            }
            Reader::Influx(s) => s.readings_since(domain, since_ms).await,
        }
    }

    pub async fn events_since(&self, since_ms: i64) -> Result<Vec<Message>, StoreError> {
        match self {
            Reader::Embedded(r) => {
                let r = r.clone();
                blocking(move || r.events_since(since_ms)).await
            }
            Reader::Influx(s) => s.events_since(since_ms).await,
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Query(format!("query task failed: {e}")))?
}
