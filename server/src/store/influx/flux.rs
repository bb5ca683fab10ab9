//! The Flux of each query (history, the newest readings, the readings and the events since
//! a time), every value a user supplies quoted as a Flux literal.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat};
use ioc_protocol::Domain;
use ioc_protocol::ingest::{MAX_FUTURE_MS, MAX_PAST_MS};

use crate::store::HistoryQuery;

/// The earliest time InfluxDB can store, epoch ms (its times are i64 nanoseconds: 1677).
pub(super) const MIN_TIME_MS: i64 = i64::MIN / 1_000_000 + 1;
/// The latest time InfluxDB can store, epoch ms (2262).
pub(super) const MAX_TIME_MS: i64 = i64::MAX / 1_000_000 - 1;
/// How far past the server's `now` reads look: readings may be up to [`MAX_FUTURE_MS`]
/// ahead of our clock, and the two clocks may differ by a little.
const READ_AHEAD_MS: i64 = MAX_FUTURE_MS + 60_000;
/// The aggregates of a history bucket, each the name of a Flux function and of the result
/// that yields it.
const STATS: [&str; 4] = ["min", "mean", "max", "count"];

/// A Flux string literal that holds exactly `s`, whatever `s` holds: the quote, the
/// backslash and the `${` that would start an interpolation are escaped, and so is every
/// control character. Every string a user supplies goes into Flux through here.
pub(super) fn flux_str(s: &str) -> String {
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
pub(super) fn window_ms(from: i64, to: i64, points: u32) -> i64 {
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
pub(super) fn history_flux(bucket: &str, q: &HistoryQuery) -> String {
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
pub(super) fn latest_flux(bucket: &str) -> String {
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
pub(super) fn readings_flux(bucket: &str, domain: Domain, since_ms: i64) -> String {
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
pub(super) fn events_flux(bucket: &str, since_ms: i64) -> String {
    format!(
        "from(bucket: {})\n    \
         |> range(start: {}, stop: {READ_AHEAD_MS}ms)\n    \
         |> filter(fn: (r) => {})\n",
        flux_str(bucket),
        flux_time(since_ms),
        measurement_filter(Domain::ALL.into_iter().filter(|d| !d.is_telemetry())),
    )
}
