//! The client ([`InfluxStore`]): the config checked and the HTTP client built with its
//! timeouts, each store call as one request (line protocol out, Flux in), and what InfluxDB's
//! answers and the network's failures mean as a [`StoreError`].

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use fallible_iterator::FallibleIterator;
use influxdb2::RequestError;
use influxdb2::api::query::FluxRecord;
use influxdb2::api::write::TimestampPrecision;
use influxdb2::models::Query;
use ioc_protocol::topic::truncate;
use ioc_protocol::{Domain, Message};
use serde::Deserialize;

use super::InfluxConfig;
use super::flux::{
    MAX_TIME_MS, MIN_TIME_MS, events_flux, history_flux, latest_flux, readings_flux,
};
use super::line_protocol::line_protocol;
use super::records::{decode_events, decode_history, decode_latest, decode_readings};
use crate::store::{Bucket, HistoryQuery, StoreError};

/// The most of InfluxDB's own words that go into an error.
pub(super) const MAX_MESSAGE_CHARS: usize = 1_000;

/// Why an [`InfluxConfig`] cannot be used, said so that the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum InfluxSetupError {
    #[error("influx url {url:?} is not a URL: {why}")]
    BadUrl { url: String, why: String },
    #[error(
        "influx url {0:?}: only http:// is supported (this build has no TLS; \
         use a TLS-terminating proxy)"
    )]
    NotHttp(String),
    #[error("influx url {0:?} has a path or query; give the server's root, http://host:port")]
    HasPath(String),
    #[error("influx {0} must not be empty")]
    Empty(&'static str),
    #[error("influx timeout_ms must be at least 1")]
    ZeroTimeout,
    #[error("cannot build the HTTP client for InfluxDB: {0}")]
    Client(String),
}

/// The store on an InfluxDB 2 server. Cheap to share behind an `Arc`; every method is one
/// HTTP request.
pub struct InfluxStore {
    pub(super) client: influxdb2::Client,
    pub(super) org: String,
    pub(super) bucket: String,
    timeout: Duration,
}

impl fmt::Debug for InfluxStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InfluxStore")
            .field("url", &self.client.base.as_str())
            .field("org", &self.org)
            .field("bucket", &self.bucket)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl InfluxStore {
    /// Checks the config and builds the client. Nothing is sent: a server that is down now
    /// is the writer's business (it spools), not a reason to refuse to start.
    pub fn new(config: &InfluxConfig) -> Result<InfluxStore, InfluxSetupError> {
        // Checked here with the parser the crate uses, because the crate panics on a URL it
        // cannot parse.
        let url = reqwest011::Url::parse(&config.url).map_err(|e| InfluxSetupError::BadUrl {
            url: config.url.clone(),
            why: e.to_string(),
        })?;
        if url.scheme() != "http" {
            return Err(InfluxSetupError::NotHttp(config.url.clone()));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(InfluxSetupError::BadUrl {
                url: config.url.clone(),
                why: "no host".into(),
            });
        }
        // The crate replaces the path of every request: a prefix would be silently dropped.
        if url.path() != "/" || url.query().is_some() {
            return Err(InfluxSetupError::HasPath(config.url.clone()));
        }
        if config.org.is_empty() {
            return Err(InfluxSetupError::Empty("org"));
        }
        if config.bucket.is_empty() {
            return Err(InfluxSetupError::Empty("bucket"));
        }
        if config.timeout_ms == 0 {
            return Err(InfluxSetupError::ZeroTimeout);
        }
        let timeout = Duration::from_millis(config.timeout_ms);
        let http = reqwest011::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout);
        let client = influxdb2::ClientBuilder::with_builder(
            http,
            url.as_str(),
            config.org.clone(),
            config.token.expose(),
        )
        .build()
        .map_err(|e| InfluxSetupError::Client(e.to_string()))?;
        Ok(InfluxStore {
            client,
            org: config.org.clone(),
            bucket: config.bucket.clone(),
            timeout,
        })
    }

    /// Writes a batch as one line-protocol request (nanosecond precision).
    ///
    /// `Unavailable` when InfluxDB cannot take it now (unreachable, timed out, 429, 5xx, or
    /// any status other than 400 and 422, such as a token that lost its rights): the writer
    /// retries later. `Rejected` when InfluxDB refused the data itself (400, 422) or when a
    /// message cannot be written in line protocol at all: retrying cannot help. A 400 may be
    /// a partial write (InfluxDB stored the valid points and names the others); the batch is
    /// reported as rejected all the same, with InfluxDB's message.
    pub async fn write(&self, batch: &[Message]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let body = line_protocol(batch).map_err(|e| StoreError::Rejected {
            reason: e.to_string(),
        })?;
        self.write_lines(body).await
    }

    /// Writes line protocol (`body`, nanosecond timestamps) as one request, the errors as
    /// [`Self::write`] says: the readings' batches and the indicators' revisions alike.
    pub(super) async fn write_lines(&self, body: String) -> Result<(), StoreError> {
        self.client
            .write_line_protocol_with_precision(
                &self.org,
                &self.bucket,
                body,
                TimestampPrecision::Nanoseconds,
            )
            .await
            .map_err(|e| self.write_error(e))
    }

    /// At most `q.points` buckets of one field, oldest first, empty ones left out: see
    /// `history_flux`. An empty range or zero points is an empty answer, as from the
    /// embedded store.
    pub async fn history(&self, q: &HistoryQuery) -> Result<Vec<Bucket>, StoreError> {
        if q.to <= q.from || q.points == 0 {
            return Ok(Vec::new());
        }
        if q.from < MIN_TIME_MS || q.to > MAX_TIME_MS {
            return Err(StoreError::Query(
                "the time range is outside what InfluxDB stores (1677 to 2262)".into(),
            ));
        }
        let records = self.query(history_flux(&self.bucket, q)).await?;
        decode_history(&records, q.points)
    }

    /// The newest reading of every telemetry source that reported in the last 7 days (the
    /// oldest `ts` the contract accepts), to rebuild the live hub at start. A reading is
    /// rebuilt with the fields written at its source's newest time; `seq` is `None`.
    pub async fn latest(&self) -> Result<Vec<Message>, StoreError> {
        let records = self.query(latest_flux(&self.bucket)).await?;
        Ok(decode_latest(&records))
    }

    /// Every reading of `domain` with `ts >= since_ms`.
    pub async fn readings_since(
        &self,
        domain: Domain,
        since_ms: i64,
    ) -> Result<Vec<Message>, StoreError> {
        let records = self
            .query(readings_flux(&self.bucket, domain, since_ms))
            .await?;
        Ok(decode_readings(&records))
    }

    /// Every complaint and dossier event with `ts >= since_ms`, oldest first.
    pub async fn events_since(&self, since_ms: i64) -> Result<Vec<Message>, StoreError> {
        let records = self.query(events_flux(&self.bucket, since_ms)).await?;
        Ok(decode_events(&records))
    }

    /// Runs a Flux query and reads every record of its answer.
    pub(super) async fn query(&self, flux: String) -> Result<Vec<FluxRecord>, StoreError> {
        // `query_raw_iter` rather than `query_raw`: the latter unwraps the reading of the
        // body, so a timeout in the middle of the answer would panic.
        let answer = self
            .client
            .query_raw_iter(Some(Query::new(flux)))
            .await
            .map_err(|e| self.query_error(e))?;
        // The crate's annotated-CSV decoder unwraps too (a malformed number or time panics):
        // contain that here, so that a strange answer fails one query and nothing else.
        match std::panic::catch_unwind(AssertUnwindSafe(|| {
            answer.result().collect::<Vec<FluxRecord>>()
        })) {
            Ok(Ok(records)) => Ok(records),
            Ok(Err(e)) => Err(self.query_error(e)),
            Err(_) => Err(StoreError::Query(
                "InfluxDB's answer is not the annotated CSV expected".into(),
            )),
        }
    }

    pub(super) fn write_error(&self, e: RequestError) -> StoreError {
        match e {
            RequestError::Http { status, text } => {
                let code = status.as_u16();
                let message = server_message(&text);
                match code {
                    400 | 422 => StoreError::Rejected {
                        reason: format!("InfluxDB refused the batch (HTTP {code}): {message}"),
                    },
                    // 429 and 5xx: overloaded or down. Anything else (401, 403, 404, 413...)
                    // is a server or token to fix, not data to drop: keep it for later.
                    _ => unavailable(format!("InfluxDB answered HTTP {code}: {message}")),
                }
            }
            other => self.transport_error(other),
        }
    }

    fn query_error(&self, e: RequestError) -> StoreError {
        match e {
            RequestError::Http { status, text } => {
                let code = status.as_u16();
                let message = server_message(&text);
                match code {
                    400 | 422 => {
                        StoreError::Query(format!("InfluxDB refused the query: {message}"))
                    }
                    _ => unavailable(format!("InfluxDB answered HTTP {code}: {message}")),
                }
            }
            // A runtime error of the query comes inside a 200 answer, as an error table.
            RequestError::Deserializing { text } => {
                StoreError::Query(format!("InfluxDB: {}", truncate(&text, MAX_MESSAGE_CHARS)))
            }
            other => self.transport_error(other),
        }
    }

    /// Network errors, timeouts, and what the crate cannot tell apart from them.
    fn transport_error(&self, e: RequestError) -> StoreError {
        match e {
            RequestError::ReqwestProcessing { source } if source.is_timeout() => {
                unavailable(format!(
                    "InfluxDB did not answer within {} ms",
                    self.timeout.as_millis()
                ))
            }
            RequestError::ReqwestProcessing { source } => {
                unavailable(format!("cannot reach InfluxDB: {source}"))
            }
            other => unavailable(format!("InfluxDB request failed: {other}")),
        }
    }
}

/// `Unavailable` without a delay: the crate drops the response headers, so a `Retry-After`
/// that InfluxDB sends with a 429 or 503 never reaches us.
fn unavailable(reason: String) -> StoreError {
    StoreError::Unavailable {
        reason,
        retry_after_ms: None,
    }
}

/// InfluxDB's own words from an error body, `{"code": "invalid", "message": "..."}`, or the
/// body itself when it is not that.
pub(super) fn server_message(body: &str) -> String {
    #[derive(Deserialize)]
    struct ErrorBody {
        code: Option<String>,
        message: Option<String>,
    }
    let text = match serde_json::from_str::<ErrorBody>(body) {
        Ok(ErrorBody {
            code: Some(code),
            message: Some(message),
        }) => format!("{code}: {message}"),
        Ok(ErrorBody {
            message: Some(message),
            ..
        }) => message,
        _ if body.trim().is_empty() => "(no message)".into(),
        _ => body.trim().to_owned(),
    };
    truncate(&text, MAX_MESSAGE_CHARS)
}
