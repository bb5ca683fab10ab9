//! Opening the configured store: the backend the writer writes to, the reader the history API
//! and the restore read from, and the on-disk spool, all in the data directory; and the
//! writer's batching for that backend.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use super::embedded::EmbeddedIndicators;
use super::embedded::folder::EmbeddedWriter;
use super::influx::InfluxStore;
use super::spool::Spool;
use super::writer::WriterConfig;
use super::{Backend, IndicatorStore, Reader};
use crate::config::{StoreBackend, StoreConfig};

/// Data points per transaction into the embedded store.
pub const EMBEDDED_BATCH_POINTS: usize = 50_000;

/// The store, opened.
#[derive(Debug)]
pub struct Opened {
    /// What the writer writes to.
    pub backend: Backend,
    /// What the history API and the live picture's restore read.
    pub reader: Reader,
    /// Where batches wait while the store is down (written back first, in order).
    pub spool: Spool,
    /// The socio-economic indicators' revisions, in the same backend.
    pub indicators: IndicatorStore,
}

/// Opens the store `config` names, and the spool, in `data_dir` (made if missing).
pub fn open(config: &StoreConfig, data_dir: &Path) -> anyhow::Result<Opened> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create the data directory {}", data_dir.display()))?;
    let (backend, reader, indicators) = match config.backend {
        StoreBackend::Embedded => {
            let path = data_dir.join("ioc.sqlite");
            let (store, reader) = EmbeddedWriter::open(&path, config.retention)
                .with_context(|| format!("cannot open the store {}", path.display()))?;
            let indicators = EmbeddedIndicators::open(&path)
                .with_context(|| format!("cannot open the indicators of {}", path.display()))?;
            (
                Backend::Embedded(Arc::new(store)),
                Reader::Embedded(reader),
                IndicatorStore::Embedded(Arc::new(indicators)),
            )
        }
        StoreBackend::Influxdb => {
            let store = Arc::new(InfluxStore::new(&config.influxdb)?);
            (
                Backend::Influx(store.clone()),
                Reader::Influx(store.clone()),
                IndicatorStore::Influx(store),
            )
        }
    };
    let spool = Spool::open(&data_dir.join("spool"), config.spool_max_mb * 1024 * 1024)?;
    if !spool.is_empty() {
        tracing::info!(
            batches = spool.len(),
            "the spool holds batches from before; writing them back"
        );
    }
    Ok(Opened {
        backend,
        reader,
        spool,
        indicators,
    })
}

/// How the writer batches into the configured backend.
pub fn writer_config(config: &StoreConfig) -> WriterConfig {
    WriterConfig {
        // InfluxDB takes at most `store.max_batch_points` (5,000) per request. The embedded
        // store pays per batch (a journal sync), so it takes ten times that; under load the
        // broker's in-flight window keeps batches far smaller anyway.
        max_batch_points: match config.backend {
            StoreBackend::Embedded => EMBEDDED_BATCH_POINTS,
            StoreBackend::Influxdb => config.max_batch_points,
        },
        flush_interval: Duration::from_millis(config.flush_ms),
        queue_capacity: config.queue_capacity,
        ..Default::default()
    }
}
