//! History from the server: `GET /api/v1/history`, one field of an area over a time window.
//!
//! Building the URL and reading the answer are pure (tested on the host); only [`fetch`]
//! talks to the browser. The answer's types are the wire's own ([`ioc_protocol::history`]).

use ioc_protocol::Domain;
use ioc_protocol::history::Bucket;
use serde::Deserialize;

use super::{Unreachable, get_text};

/// The time window of a query: `[from, to)`, cut into `points` buckets of `step` ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub from: i64,
    pub to: i64,
    pub step: i64,
}

/// The window of `span_ms` that ends at `now_ms`, cut into `points` buckets, with its end
/// rounded up to a whole bucket: the server then cuts buckets on whole minutes (hours), the
/// same ones from one refresh to the next, and no reading of the current bucket is left out.
pub fn window(now_ms: f64, span_ms: i64, points: u32) -> Window {
    let points = i64::from(points.max(1));
    let step = ((span_ms + points - 1) / points).max(1);
    let now = now_ms.floor() as i64;
    let to = now.div_euclid(step) * step + if now.rem_euclid(step) == 0 { 0 } else { step };
    Window {
        from: to - step * points,
        to,
        step,
    }
}

/// One history query: a field of an area, every source of the area pooled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub domain: Domain,
    pub area: String,
    pub field: &'static str,
    pub window: Window,
}

impl Query {
    /// How many buckets the query asks for.
    pub fn points(&self) -> i64 {
        ((self.window.to - self.window.from) / self.window.step.max(1)).max(1)
    }

    /// The URL of the query, relative to the page's origin.
    pub fn url(&self) -> String {
        format!(
            "/api/v1/history?domain={}&area={}&field={}&from={}&to={}&points={}",
            self.domain.as_str(),
            encode(&self.area),
            encode(self.field),
            self.window.from,
            self.window.to,
            self.points()
        )
    }
}

/// Percent-encodes everything but unreserved characters (area codes and field names are
/// `[a-z0-9_-]` already; this is for safety, not need).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Why history could not be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryError {
    /// The server answered with an error status (400: a bad query, 503: the store cannot
    /// answer now), and its message if it gave one.
    Status(u16, String),
    /// No answer (network down, server gone).
    Network,
    /// An answer that is not a history answer.
    Decode(String),
}

impl From<Unreachable> for HistoryError {
    fn from(_: Unreachable) -> HistoryError {
        HistoryError::Network
    }
}

/// The part of the answer ([`ioc_protocol::history::HistoryAnswer`]) the charts need: the
/// buckets, not the query the server echoes.
#[derive(Deserialize)]
struct Answer {
    buckets: Vec<Bucket>,
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
}

/// Reads the server's answer: the buckets on success, the error otherwise.
pub fn parse_answer(status: u16, body: &str) -> Result<Vec<Bucket>, HistoryError> {
    if (200..300).contains(&status) {
        serde_json::from_str::<Answer>(body)
            .map(|a| a.buckets)
            .map_err(|e| HistoryError::Decode(e.to_string()))
    } else {
        let msg = serde_json::from_str::<ErrorAnswer>(body)
            .map(|e| e.error)
            .unwrap_or_default();
        Err(HistoryError::Status(status, msg))
    }
}

/// Asks the server for one history series.
pub async fn fetch(q: &Query) -> Result<Vec<Bucket>, HistoryError> {
    let (status, text) = get_text(&q.url()).await?;
    parse_answer(status, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::time::DAY_MS;

    const MINUTE: i64 = 60_000;

    #[test]
    fn windows_end_on_a_whole_bucket() {
        // One hour in 30 buckets: 2-minute steps, the end rounded up to the next 2 minutes.
        let w = window(1_763_832_605_000.0, 3_600_000, 30);
        assert_eq!(w.step, 120_000);
        assert_eq!(w.to, 1_763_832_720_000);
        assert_eq!(w.to % 120_000, 0);
        assert_eq!(w.to - w.from, 3_600_000);
        // Already on a bucket boundary: unchanged.
        let w = window(1_763_832_720_000.0, 3_600_000, 30);
        assert_eq!(w.to, 1_763_832_720_000);
        // 7 days in 336 buckets: half hours.
        assert_eq!(window(0.0, 7 * DAY_MS, 336).step, 30 * MINUTE);
    }

    #[test]
    fn the_url_asks_for_the_whole_area() {
        let q = Query {
            domain: Domain::Env,
            area: "thu-duc".into(),
            field: "aqi",
            // The drill-down's hour: 120 buckets of 30 s.
            window: window(1_763_832_605_000.0, 3_600_000, 120),
        };
        assert_eq!(
            q.url(),
            "/api/v1/history?domain=env&area=thu-duc&field=aqi&from=1763829030000&to=1763832630000&points=120"
        );
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn answers_are_read() {
        let ok = r#"{"query":{"domain":"env"},"buckets":[{"t":1000,"min":1.0,"mean":2.0,"max":3.0,"count":4}]}"#;
        assert_eq!(
            parse_answer(200, ok),
            Ok(vec![Bucket {
                t: 1000,
                min: 1.0,
                mean: 2.0,
                max: 3.0,
                count: 4
            }])
        );
        assert_eq!(parse_answer(200, r#"{"buckets":[]}"#), Ok(vec![]));
        assert_eq!(
            parse_answer(400, r#"{"error":"unknown area \"x\""}"#),
            Err(HistoryError::Status(400, "unknown area \"x\"".into()))
        );
        assert_eq!(
            parse_answer(503, "Service Unavailable"),
            Err(HistoryError::Status(503, String::new()))
        );
        assert!(matches!(
            parse_answer(200, "<html>"),
            Err(HistoryError::Decode(_))
        ));
    }
}
