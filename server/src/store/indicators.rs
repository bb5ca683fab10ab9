//! Where the socio-economic indicators' revisions are kept: the backend the server stores in
//! ([`IndicatorStore`]), the embedded SQLite file's table (`embedded/indicators.rs`) or the
//! InfluxDB measurement (`influx/indicators.rs`).
//!
//! A submission's revisions are written at once, all or nothing, and the caller answers (or
//! acknowledges) only once they are durable: they do not go through the writer's batches,
//! which carry readings and events. An MQTT report is handed over by the intake, which is
//! synchronous code running on the runtime: [`IndicatorStore::append_blocking`] serves it
//! without stalling the runtime's other tasks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ioc_protocol::indicator::{Period, Revision, SeriesPoint};

use super::StoreError;
use super::embedded::EmbeddedIndicators;
use super::influx::InfluxStore;

/// The latest revision of every period, by (indicator, area): what the figures are computed
/// from.
pub type LatestValues = BTreeMap<(String, String), Vec<SeriesPoint>>;

/// The store of indicator revisions, in the configured backend.
#[derive(Debug, Clone)]
pub enum IndicatorStore {
    Embedded(Arc<EmbeddedIndicators>),
    Influx(Arc<InfluxStore>),
}

impl IndicatorStore {
    /// Stores revisions, all or nothing; durable when it returns `Ok`.
    pub async fn append(&self, revisions: Vec<Revision>) -> Result<(), StoreError> {
        match self {
            IndicatorStore::Embedded(s) => {
                let s = s.clone();
                blocking(move || s.append(&revisions)).await
            }
            IndicatorStore::Influx(s) => s.write_revisions(&revisions).await,
        }
    }

    /// [`IndicatorStore::append`] from synchronous code, retried with backoff (a quarter of
    /// a second, doubling, at most 5 s) while the store is unavailable, until it works or
    /// `stop` is set; a write the store refuses for its content is not retried. On the
    /// server's multi-threaded runtime the calling worker hands its other tasks over while it
    /// waits (`block_in_place`); outside a runtime, or on a single-threaded one (tests), the
    /// writes run on a thread of their own.
    pub fn append_blocking(
        &self,
        revisions: Vec<Revision>,
        stop: &AtomicBool,
    ) -> Result<(), StoreError> {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let with_retries = |write: &dyn Fn() -> Result<(), StoreError>| {
            let mut wait = Duration::from_millis(250);
            loop {
                match write() {
                    Err(StoreError::Unavailable { reason, .. })
                        if !stop.load(Ordering::Relaxed) =>
                    {
                        tracing::warn!(%reason, "indicator store unavailable; retrying");
                        std::thread::sleep(wait);
                        wait = (wait * 2).min(Duration::from_secs(5));
                    }
                    done => return done,
                }
            }
        };
        match Handle::try_current() {
            Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| {
                    with_retries(&|| match self {
                        IndicatorStore::Embedded(s) => s.append(&revisions),
                        IndicatorStore::Influx(s) => h.block_on(s.write_revisions(&revisions)),
                    })
                })
            }
            _ => std::thread::scope(|scope| {
                scope
                    .spawn(|| {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .map_err(|e| StoreError::Unavailable {
                                reason: format!("cannot start a runtime: {e}"),
                                retry_after_ms: None,
                            })?;
                        with_retries(&|| match self {
                            IndicatorStore::Embedded(s) => s.append(&revisions),
                            IndicatorStore::Influx(s) => {
                                runtime.block_on(s.write_revisions(&revisions))
                            }
                        })
                    })
                    .join()
                    .unwrap_or_else(|_| {
                        Err(StoreError::Unavailable {
                            reason: "the indicator write panicked".into(),
                            retry_after_ms: None,
                        })
                    })
            }),
        }
    }

    /// The revisions of an indicator for an area (of one period, if given), oldest first.
    pub async fn revisions(
        &self,
        indicator: &str,
        area: &str,
        period: Option<Period>,
    ) -> Result<Vec<Revision>, StoreError> {
        match self {
            IndicatorStore::Embedded(s) => {
                let (s, indicator, area) = (s.clone(), indicator.to_owned(), area.to_owned());
                blocking(move || s.revisions(&indicator, &area, period)).await
            }
            IndicatorStore::Influx(s) => s.revisions(indicator, area, period).await,
        }
    }

    /// The series of every indicator and area that has values (the latest revision of each
    /// period).
    pub async fn latest(&self) -> Result<LatestValues, StoreError> {
        match self {
            IndicatorStore::Embedded(s) => {
                let s = s.clone();
                blocking(move || s.latest()).await
            }
            IndicatorStore::Influx(s) => s.latest_indicators().await,
        }
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StoreError::Unavailable {
            reason: format!("the indicator store's task failed: {e}"),
            retry_after_ms: None,
        })?
}
