//! The InfluxDB 2 backend: line protocol out, Flux in, through the `influxdb2` crate (0.5).
//!
//! That crate sends one HTTP request per call and nothing more: it neither batches nor
//! retries, sets no request timeout, and drops the response headers. So here:
//!
//! - [`InfluxStore::write`] sends the batch it is given as one request; batching and retrying
//!   are the writer's (which spools meanwhile);
//! - the HTTP client gets a timeout ([`InfluxConfig::timeout_ms`]), so that a server that
//!   stalls turns into [`StoreError::Unavailable`] instead of a writer stuck forever;
//! - a `Retry-After` cannot be honoured (the crate drops it): `retry_after_ms` is always
//!   `None`.
//!
//! # Schema
//!
//! One point per message. The measurement is the domain (`traffic`, `env`, `flood`,
//! `system`, `complaint`, `service`), the tags are `area` and `source` (from the topic).
//!
//! - A reading's fields are its values: numbers as floats, bools as bools, text as strings.
//! - A complaint has the fields `id`, `status`, `category`, `channel`, and `ward`, `due`
//!   (epoch ms, integer), `lat`, `lon` when it has them; a dossier `id`, `service`,
//!   `agency`, `status`, `online`, and `due` when it has one.
//!
//! Timestamps are written in nanoseconds. A reading is at `ts` exactly, so the pair
//! (topic, `ts`) is its point, and a QoS 1 duplicate or a replay from the spool overwrites
//! itself. An event is at `ts` plus an offset below one millisecond taken from a hash of its
//! id (`event_offset_ns`): InfluxDB identifies a point by measurement, tags and time, and
//! two complaints of one source in the same millisecond (a portal that syncs with times to
//! the second sends many such) would otherwise overwrite each other. The offset keeps
//! `ts` readable to the millisecond, keeps the status changes of one id at different times
//! apart, and keeps a duplicate of one event on one point. Putting the id in a tag instead
//! would make one series per complaint: millions of series a year, which InfluxDB handles
//! badly.
//!
//! The message's `seq` is not stored: nothing reads it back (the live hub does not use it).

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat};
use fallible_iterator::FallibleIterator;
use influxdb2::RequestError;
use influxdb2::api::query::FluxRecord;
use influxdb2::api::write::TimestampPrecision;
use influxdb2::models::Query;
use influxdb2_structmap::value::Value as FluxValue;
use ioc_protocol::ingest::{MAX_FUTURE_MS, MAX_PAST_MS};
use ioc_protocol::topic::truncate;
use ioc_protocol::{Body, Complaint, Domain, Dossier, Event, Message, Reading, Topic, Value};
use serde::Deserialize;

use super::{Bucket, HistoryQuery, StoreError};

/// The earliest time InfluxDB can store, epoch ms (its times are i64 nanoseconds: 1677).
const MIN_TIME_MS: i64 = i64::MIN / 1_000_000 + 1;
/// The latest time InfluxDB can store, epoch ms (2262).
const MAX_TIME_MS: i64 = i64::MAX / 1_000_000 - 1;
/// How far past the server's `now` reads look: readings may be up to [`MAX_FUTURE_MS`]
/// ahead of our clock, and the two clocks may differ by a little.
const READ_AHEAD_MS: i64 = MAX_FUTURE_MS + 60_000;
/// The most of InfluxDB's own words that go into an error.
const MAX_MESSAGE_CHARS: usize = 1_000;
/// The aggregates of a history bucket, each the name of a Flux function and of the result
/// that yields it.
const STATS: [&str; 4] = ["min", "mean", "max", "count"];

/// How to reach InfluxDB 2. Every field has a default, so a config names only what differs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InfluxConfig {
    /// The server's base URL, `http://host:8086`. Only `http://`: this build carries no TLS
    /// library; to encrypt the link, put a TLS-terminating proxy next to this server. No
    /// path either: the client always talks to `/api/v2/...` at the root.
    pub url: String,
    /// The organization that owns the bucket.
    pub org: String,
    /// The bucket every point goes to; its retention is configured in InfluxDB.
    pub bucket: String,
    /// An API token allowed to write and read the bucket. Empty sends no `Authorization`
    /// header (for servers that need none).
    pub token: Token,
    /// The longest one request may take, from connecting to the last byte of the answer.
    /// Past it the write is `Unavailable` (and spooled), the query fails.
    pub timeout_ms: u64,
}

impl Default for InfluxConfig {
    fn default() -> Self {
        InfluxConfig {
            url: "http://127.0.0.1:8086".into(),
            org: "ioc".into(),
            bucket: "ioc".into(),
            token: Token::default(),
            timeout_ms: 10_000,
        }
    }
}

/// An API token: a [`Secret`](crate::secret::Secret), which never shows in a log line, an error
/// or a config dump; `expose` is the one way to read it, for the `Authorization` header.
pub type Token = crate::secret::Secret;

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
    client: influxdb2::Client,
    org: String,
    bucket: String,
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
    async fn query(&self, flux: String) -> Result<Vec<FluxRecord>, StoreError> {
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

    fn write_error(&self, e: RequestError) -> StoreError {
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
fn server_message(body: &str) -> String {
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

// --- Line protocol ---------------------------------------------------------------------------

/// A message that cannot be written in line protocol. Upstream validation makes these
/// impossible for decoded messages; they guard the function against any other caller.
#[derive(Debug, thiserror::Error)]
enum EncodeError {
    #[error(
        "{topic}: {what} {value:?} cannot be written in line protocol \
         (empty, or has a backslash or a control character)"
    )]
    Key {
        topic: String,
        what: &'static str,
        value: String,
    },
    #[error("{topic}: field {field} is not a finite number")]
    NonFinite { topic: String, field: String },
    #[error("{topic}: a reading without fields")]
    NoFields { topic: String },
    #[error("{topic}: ts {ts} is outside what InfluxDB stores (1677 to 2262)")]
    Time { topic: String, ts: i64 },
}

/// The batch as line protocol, one line per message, timestamps in nanoseconds.
fn line_protocol(batch: &[Message]) -> Result<String, EncodeError> {
    let mut out = String::with_capacity(batch.len() * 128);
    for msg in batch {
        write_point(&mut out, msg)?;
    }
    Ok(out)
}

fn write_point(out: &mut String, msg: &Message) -> Result<(), EncodeError> {
    let topic = &msg.topic;
    let key_error = |what: &'static str, value: &str| EncodeError::Key {
        topic: topic.to_string(),
        what,
        value: value.to_owned(),
    };
    push_measurement(out, topic.domain.as_str());
    out.push_str(",area=");
    push_key(out, &topic.area).ok_or_else(|| key_error("area", &topic.area))?;
    out.push_str(",source=");
    push_key(out, &topic.source).ok_or_else(|| key_error("source", &topic.source))?;
    out.push(' ');

    let mut fields = Fields { out, first: true };
    match &msg.body {
        Body::Reading(values) => {
            if values.is_empty() {
                return Err(EncodeError::NoFields {
                    topic: topic.to_string(),
                });
            }
            for (name, value) in values {
                fields
                    .key(name)
                    .ok_or_else(|| key_error("field name", name))?;
                match value {
                    Value::Number(n) => {
                        fields.float(*n).ok_or_else(|| EncodeError::NonFinite {
                            topic: topic.to_string(),
                            field: name.clone(),
                        })?;
                    }
                    Value::Bool(b) => fields.bool(*b),
                    Value::Text(s) => fields.string(s),
                }
            }
        }
        Body::Event(Event::Complaint(c)) => {
            fields.known("id").string(&c.id);
            fields.known("status").string(&c.status);
            fields.known("category").string(&c.category);
            fields.known("channel").string(&c.channel);
            if let Some(ward) = &c.ward {
                fields.known("ward").string(ward);
            }
            if let Some(due) = c.due {
                fields.known("due").int(due);
            }
            for (name, coord) in [("lat", c.lat), ("lon", c.lon)] {
                if let Some(v) = coord {
                    fields
                        .known(name)
                        .float(v)
                        .ok_or_else(|| EncodeError::NonFinite {
                            topic: topic.to_string(),
                            field: name.into(),
                        })?;
                }
            }
        }
        Body::Event(Event::Dossier(d)) => {
            fields.known("id").string(&d.id);
            fields.known("service").string(&d.service);
            fields.known("agency").string(&d.agency);
            fields.known("status").string(&d.status);
            fields.known("online").bool(d.online);
            if let Some(due) = d.due {
                fields.known("due").int(due);
            }
        }
    }

    let ns = point_ns(msg).ok_or_else(|| EncodeError::Time {
        topic: topic.to_string(),
        ts: msg.ts,
    })?;
    let _ = writeln!(out, " {ns}");
    Ok(())
}

/// The field set of one line: `key=value` pairs separated by commas.
struct Fields<'a> {
    out: &'a mut String,
    first: bool,
}

impl Fields<'_> {
    /// Starts a field with a name from the message; `None` if it cannot be written.
    fn key(&mut self, name: &str) -> Option<&mut Self> {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_key(self.out, name)?;
        self.out.push('=');
        Some(self)
    }

    /// Starts a field with one of this module's own names (plain ASCII).
    fn known(&mut self, name: &'static str) -> &mut Self {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        self.out.push_str(name);
        self.out.push('=');
        self
    }

    /// A float: Rust's shortest representation that reads back to the same f64, never with
    /// an exponent, so every line-protocol parser takes it. Without an `i` suffix, line
    /// protocol reads `87` as a float too, so a field keeps one type whatever its values.
    fn float(&mut self, n: f64) -> Option<()> {
        if !n.is_finite() {
            return None;
        }
        let _ = write!(self.out, "{n}");
        Some(())
    }

    fn int(&mut self, n: i64) {
        let _ = write!(self.out, "{n}i");
    }

    fn bool(&mut self, b: bool) {
        self.out.push_str(if b { "true" } else { "false" });
    }

    /// A string field: in quotes, with `"` and `\` escaped. Anything else, newlines and all
    /// UTF-8 included, goes as it is: InfluxDB reads a quoted string up to its closing quote.
    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            if matches!(c, '"' | '\\') {
                self.out.push('\\');
            }
            self.out.push(c);
        }
        self.out.push('"');
    }
}

/// A measurement name: a comma or a space would end it.
fn push_measurement(out: &mut String, name: &str) {
    for c in name.chars() {
        if matches!(c, ',' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A tag key, tag value or field key, with the comma, equals sign and space that would end
/// it escaped. `None` for what line protocol cannot carry faithfully: an empty string, a
/// control character (a newline ends the line), or a backslash (InfluxDB 2 keeps `\\` as two
/// backslashes, and a trailing one would escape the separator after it). Area, source and
/// field names of the contract are `[a-z0-9_-]`, so this never happens to them.
fn push_key(out: &mut String, key: &str) -> Option<()> {
    if key.is_empty() || key.chars().any(|c| c == '\\' || c.is_control()) {
        return None;
    }
    for c in key.chars() {
        if matches!(c, ',' | '=' | ' ') {
            out.push('\\');
        }
        out.push(c);
    }
    Some(())
}

/// The point's time in nanoseconds: `ts` for a reading, `ts` plus [`event_offset_ns`] of
/// its id for an event. `None` beyond what an i64 of nanoseconds holds.
fn point_ns(msg: &Message) -> Option<i64> {
    let offset = match &msg.body {
        Body::Reading(_) => 0,
        Body::Event(Event::Complaint(c)) => event_offset_ns(&c.id),
        Body::Event(Event::Dossier(d)) => event_offset_ns(&d.id),
    };
    msg.ts.checked_mul(1_000_000)?.checked_add(offset)
}

/// Where within its millisecond an event's point goes, from its id: FNV-1a (64 bits) of the
/// id's bytes, modulo 10^6. The same id always gets the same offset (so a duplicate lands on
/// its own point, on every server version), and two ids of one source in one millisecond
/// share a point only if their hashes agree modulo a million.
fn event_offset_ns(id: &str) -> i64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = id.bytes().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    });
    // Below 10^6, so the cast cannot truncate.
    (hash % 1_000_000) as i64
}

// --- Flux ------------------------------------------------------------------------------------

/// A Flux string literal that holds exactly `s`, whatever `s` holds: the quote, the
/// backslash and the `${` that would start an interpolation are escaped, and so is every
/// control character. Every string a user supplies goes into Flux through here.
fn flux_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push_str("\\${");
            }
            c if c.is_control() => {
                // Flux's `\xNN` is one byte: write the character's UTF-8 bytes.
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Flux time literal, to the millisecond, clamped to what InfluxDB stores.
fn flux_time(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms.clamp(MIN_TIME_MS, MAX_TIME_MS))
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
}

/// The width of a history bucket: `ceil((to - from) / points)`, at least 1 ms. So the range
/// holds at most `points` buckets.
fn window_ms(from: i64, to: i64, points: u32) -> i64 {
    let span = u64::try_from(to.saturating_sub(from)).unwrap_or(0).max(1);
    let width = span.div_ceil(u64::from(points.max(1))).max(1);
    i64::try_from(width).unwrap_or(i64::MAX)
}

/// `r._measurement == "a" or r._measurement == "b" ...`
fn measurement_filter(domains: impl Iterator<Item = Domain>) -> String {
    domains
        .map(|d| format!("r._measurement == {}", flux_str(d.as_str())))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The Flux of a history query.
///
/// The range is `[from, to)`, cut into windows of [`window_ms`] aligned on `from` (the
/// `offset`), so at most `points` of them; each window's time is its start. A window
/// without values yields nothing (`createEmpty: false`). Bools count as 0 and 1, so the
/// mean of `up` is the share of readings up; a text field cannot be converted, and InfluxDB
/// answers with an error (a `Query` error here). When no source is named, the sources of
/// the area are pooled into one table before the windows are cut, so a bucket's mean is the
/// mean of every value of every source in it; `group()` interleaves the sources' rows, so
/// they are put back in time order, which is what InfluxDB's windowing is known to handle
/// (one series alone comes out of storage in order already). Each aggregate is its own
/// result, named after it.
fn history_flux(bucket: &str, q: &HistoryQuery) -> String {
    let window = window_ms(q.from, q.to, q.points);
    let offset = q.from.rem_euclid(window);
    let mut filter = format!(
        "r._measurement == {} and r._field == {} and r.area == {}",
        flux_str(q.domain.as_str()),
        flux_str(&q.field),
        flux_str(&q.area),
    );
    if let Some(source) = &q.source {
        let _ = write!(filter, " and r.source == {}", flux_str(source));
    }
    let mut flux = format!(
        "data = from(bucket: {bucket})\n    \
         |> range(start: {start}, stop: {stop})\n    \
         |> filter(fn: (r) => {filter})\n    \
         |> toFloat()\n",
        bucket = flux_str(bucket),
        start = flux_time(q.from),
        stop = flux_time(q.to),
    );
    if q.source.is_none() {
        flux.push_str(
            "    |> group(columns: [\"_measurement\", \"_field\", \"area\"])\n    \
             |> sort(columns: [\"_time\"])\n",
        );
    }
    for stat in STATS {
        let _ = writeln!(
            flux,
            "data |> aggregateWindow(every: {window}ms, offset: {offset}ms, fn: {stat}, \
             createEmpty: false, timeSrc: \"_start\") |> yield(name: {})",
            flux_str(stat)
        );
    }
    flux
}

/// The Flux of [`InfluxStore::latest`]: the last value of every telemetry series (one
/// series per measurement, area, source and field) over the last 7 days.
fn latest_flux(bucket: &str) -> String {
    format!(
        "from(bucket: {})\n    \
         |> range(start: -{MAX_PAST_MS}ms, stop: {READ_AHEAD_MS}ms)\n    \
         |> filter(fn: (r) => {})\n    \
         |> last()\n",
        flux_str(bucket),
        measurement_filter(Domain::ALL.into_iter().filter(|d| d.is_telemetry())),
    )
}

/// The Flux of [`InfluxStore::readings_since`].
fn readings_flux(bucket: &str, domain: Domain, since_ms: i64) -> String {
    format!(
        "from(bucket: {})\n    \
         |> range(start: {}, stop: {READ_AHEAD_MS}ms)\n    \
         |> filter(fn: (r) => {})\n",
        flux_str(bucket),
        flux_time(since_ms),
        measurement_filter(std::iter::once(domain)),
    )
}

/// The Flux of [`InfluxStore::events_since`].
fn events_flux(bucket: &str, since_ms: i64) -> String {
    format!(
        "from(bucket: {})\n    \
         |> range(start: {}, stop: {READ_AHEAD_MS}ms)\n    \
         |> filter(fn: (r) => {})\n",
        flux_str(bucket),
        flux_time(since_ms),
        measurement_filter(Domain::ALL.into_iter().filter(|d| !d.is_telemetry())),
    )
}

// --- Reading records back ----------------------------------------------------------------------

fn text<'a>(record: &'a FluxRecord, column: &str) -> Option<&'a str> {
    match record.values.get(column) {
        Some(FluxValue::String(s)) => Some(s),
        _ => None,
    }
}

/// A time column in nanoseconds.
fn time_ns(record: &FluxRecord, column: &str) -> Option<i64> {
    match record.values.get(column) {
        Some(FluxValue::TimeRFC(t)) => t.timestamp_nanos_opt(),
        _ => None,
    }
}

fn number(v: &FluxValue) -> Option<f64> {
    v.f64()
        .or_else(|| v.i64().map(|n| n as f64))
        .or_else(|| v.u64().map(|n| n as f64))
}

/// A field's value as the protocol has it (integers, which we never write for readings,
/// read as numbers).
fn protocol_value(v: &FluxValue) -> Option<Value> {
    match v {
        FluxValue::String(s) => Some(Value::Text(s.clone())),
        FluxValue::Bool(b) => Some(Value::Bool(*b)),
        other => number(other).map(Value::Number),
    }
}

/// The series a record belongs to: domain, area and source.
fn record_topic(record: &FluxRecord) -> Option<Topic> {
    let domain = text(record, "_measurement")?.parse::<Domain>().ok()?;
    Some(Topic::new(
        domain,
        text(record, "area")?,
        text(record, "source")?,
    ))
}

/// Buckets from the records of [`history_flux`]: one per window time that has all four
/// aggregates and a count above zero, oldest first, at most `points`.
fn decode_history(records: &[FluxRecord], points: u32) -> Result<Vec<Bucket>, StoreError> {
    #[derive(Default)]
    struct Partial {
        min: Option<f64>,
        mean: Option<f64>,
        max: Option<f64>,
        count: Option<u64>,
    }
    let mut windows: BTreeMap<i64, Partial> = BTreeMap::new();
    for record in records {
        let Some(stat) = text(record, "result") else {
            continue;
        };
        let ns = time_ns(record, "_time")
            .ok_or_else(|| StoreError::Query("a history record without _time".into()))?;
        let value = record.values.get("_value");
        let w = windows.entry(ns.div_euclid(1_000_000)).or_default();
        match stat {
            "min" => w.min = value.and_then(number),
            "mean" => w.mean = value.and_then(number),
            "max" => w.max = value.and_then(number),
            "count" => {
                w.count = value.and_then(|v| {
                    v.i64()
                        .and_then(|n| u64::try_from(n).ok())
                        .or_else(|| v.u64())
                })
            }
            _ => {}
        }
    }
    Ok(windows
        .into_iter()
        .filter_map(|(t, w)| {
            let count = w.count.filter(|&c| c > 0)?;
            Some(Bucket {
                t,
                min: w.min?,
                mean: w.mean?,
                max: w.max?,
                count,
            })
        })
        .take(points as usize)
        .collect())
}

/// Readings from the records of [`latest_flux`]: per source, the fields whose last value is
/// at the source's newest time, which are exactly the fields of its newest reading.
fn decode_latest(records: &[FluxRecord]) -> Vec<Message> {
    let mut sources: BTreeMap<Topic, BTreeMap<String, (i64, Value)>> = BTreeMap::new();
    let mut skipped = 0usize;
    for record in records {
        let decoded = (|| {
            let topic = record_topic(record).filter(|t| t.domain.is_telemetry())?;
            let field = text(record, "_field")?.to_owned();
            let ns = time_ns(record, "_time")?;
            let value = protocol_value(record.values.get("_value")?)?;
            Some((topic, field, ns, value))
        })();
        let Some((topic, field, ns, value)) = decoded else {
            skipped += 1;
            continue;
        };
        let fields = sources.entry(topic).or_default();
        if fields.get(&field).is_none_or(|(old, _)| *old < ns) {
            fields.insert(field, (ns, value));
        }
    }
    if skipped > 0 {
        tracing::warn!(skipped, "InfluxDB records that are not telemetry readings");
    }
    sources
        .into_iter()
        .filter_map(|(topic, fields)| {
            let newest = fields.values().map(|(ns, _)| *ns).max()?;
            let reading = fields
                .into_iter()
                .filter(|(_, (ns, _))| *ns == newest)
                .map(|(name, (_, value))| (name, value))
                .collect();
            Some(Message {
                topic,
                ts: newest.div_euclid(1_000_000),
                seq: None,
                body: Body::Reading(reading),
            })
        })
        .collect()
}

/// Readings from the records of [`readings_flux`]: the fields of one point (measurement,
/// area, source, time) make one reading. Oldest first per source.
fn decode_readings(records: &[FluxRecord]) -> Vec<Message> {
    let mut points: BTreeMap<(Topic, i64), Reading> = BTreeMap::new();
    for record in records {
        let decoded = (|| {
            let topic = record_topic(record).filter(|t| t.domain.is_telemetry())?;
            let ns = time_ns(record, "_time")?;
            let field = text(record, "_field")?.to_owned();
            let value = protocol_value(record.values.get("_value")?)?;
            Some(((topic, ns), field, value))
        })();
        if let Some((key, field, value)) = decoded {
            points.entry(key).or_default().insert(field, value);
        }
    }
    points
        .into_iter()
        .map(|((topic, ns), values)| Message {
            topic,
            ts: ns.div_euclid(1_000_000),
            seq: None,
            body: Body::Reading(values),
        })
        .collect()
}

/// Events from the records of [`events_flux`]: the fields of one point (measurement, area,
/// source, time to the nanosecond) make one event. Oldest first.
fn decode_events(records: &[FluxRecord]) -> Vec<Message> {
    let mut points: BTreeMap<(Topic, i64), BTreeMap<String, FluxValue>> = BTreeMap::new();
    let mut skipped = 0usize;
    for record in records {
        let decoded = (|| {
            let topic = record_topic(record).filter(|t| !t.domain.is_telemetry())?;
            let field = text(record, "_field")?.to_owned();
            let ns = time_ns(record, "_time")?;
            Some((topic, ns, field, record.values.get("_value")?.clone()))
        })();
        match decoded {
            Some((topic, ns, field, value)) => {
                points.entry((topic, ns)).or_default().insert(field, value);
            }
            None => skipped += 1,
        }
    }
    let mut events = Vec::with_capacity(points.len());
    for ((topic, ns), fields) in points {
        let event = match topic.domain {
            Domain::Complaint => complaint(&fields).map(Event::Complaint),
            _ => dossier(&fields).map(Event::Dossier),
        };
        // A point without every required field (written by something else) is left out.
        let Some(event) = event else {
            skipped += 1;
            continue;
        };
        events.push(Message {
            topic,
            ts: ns.div_euclid(1_000_000),
            seq: None,
            body: Body::Event(event),
        });
    }
    if skipped > 0 {
        tracing::warn!(skipped, "InfluxDB records that are not events");
    }
    events.sort_by_key(|m| m.ts);
    events
}

fn field_text(fields: &BTreeMap<String, FluxValue>, name: &str) -> Option<String> {
    fields.get(name)?.string()
}

fn field_ms(fields: &BTreeMap<String, FluxValue>, name: &str) -> Option<i64> {
    let v = fields.get(name)?;
    v.i64().or_else(|| {
        v.f64()
            .filter(|f| f.is_finite() && f.fract() == 0.0)
            .map(|f| f as i64)
    })
}

fn complaint(fields: &BTreeMap<String, FluxValue>) -> Option<Complaint> {
    Some(Complaint {
        id: field_text(fields, "id")?,
        category: field_text(fields, "category")?,
        channel: field_text(fields, "channel")?,
        status: field_text(fields, "status")?,
        ward: field_text(fields, "ward"),
        due: field_ms(fields, "due"),
        lat: fields.get("lat").and_then(number),
        lon: fields.get("lon").and_then(number),
    })
}

fn dossier(fields: &BTreeMap<String, FluxValue>) -> Option<Dossier> {
    Some(Dossier {
        id: field_text(fields, "id")?,
        service: field_text(fields, "service")?,
        agency: field_text(fields, "agency")?,
        status: field_text(fields, "status")?,
        online: fields.get("online")?.bool()?,
        due: field_ms(fields, "due"),
    })
}

#[cfg(test)]
mod tests;
