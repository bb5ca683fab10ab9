//! History from the server: `GET /api/v1/history`, the ranges the screen offers, and the
//! series it charts.
//!
//! Building the URL and reading the answer are pure (tested on the host); only [`fetch`] and
//! [`sleep_ms`] talk to the browser.

use ioc_protocol::Domain;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use crate::charts::{Bucket, Window, window};
use crate::i18n::{Lang, Word, aqi_band, congestion_name, dec};

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

/// A GET of `url` on the server: its status and body.
pub async fn get_text(url: &str) -> Result<(u16, String), HistoryError> {
    let window = web_sys::window().ok_or(HistoryError::Network)?;
    let resp = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(|_| HistoryError::Network)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| HistoryError::Network)?;
    let status = resp.status();
    let text = JsFuture::from(resp.text().map_err(|_| HistoryError::Network)?)
        .await
        .map_err(|_| HistoryError::Network)?
        .as_string()
        .unwrap_or_default();
    Ok((status, text))
}

/// Waits `ms` milliseconds (a `setTimeout`).
pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Whether the page is hidden (a background tab, a minimised window): nothing is fetched then.
pub fn page_hidden() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_some_and(|d| d.hidden())
}

/// The ranges of the drill-down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Hour,
    Day,
    Week,
}

impl Range {
    pub const ALL: [Range; 3] = [Range::Hour, Range::Day, Range::Week];

    /// The `data-range` of its button.
    pub fn code(self) -> &'static str {
        match self {
            Range::Hour => "1h",
            Range::Day => "24h",
            Range::Week => "7d",
        }
    }

    pub fn word(self) -> Word {
        match self {
            Range::Hour => Word::Range1h,
            Range::Day => Word::Range24h,
            Range::Week => Word::Range7d,
        }
    }

    pub fn span_ms(self) -> i64 {
        match self {
            Range::Hour => 3_600_000,
            Range::Day => 24 * 3_600_000,
            Range::Week => 7 * 24 * 3_600_000,
        }
    }

    /// Buckets asked for: 30 s for an hour, 5 min for a day, 30 min for a week.
    pub fn points(self) -> u32 {
        match self {
            Range::Hour => 120,
            Range::Day => 288,
            Range::Week => 336,
        }
    }

    /// The window of this range ending now (`now_ms` on the server's clock).
    pub fn window(self, now_ms: f64) -> Window {
        window(now_ms, self.span_ms(), self.points())
    }
}

/// The span and buckets of the tiles' sparklines: the last hour, in 2-minute buckets.
pub const SPARK_SPAN_MS: i64 = 3_600_000;
pub const SPARK_POINTS: u32 = 30;

/// A series the drill-down charts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metric {
    /// The `data-chart` of its chart, and the field asked for.
    pub field: &'static str,
    pub domain: Domain,
    pub title: Word,
    /// The unit under the title and over the value axis.
    pub unit: Unit,
    /// Values the value axis always shows (a zero baseline, fixed ends).
    pub include: &'static [f64],
    /// Lines across the chart at these values, with their CSS class.
    pub guides: &'static [(f64, &'static str)],
}

impl Metric {
    /// A value of the series as the screen says it: "72 · Trung bình", "35.8 µg/m³",
    /// "3.8 · Chậm".
    pub fn describe(&self, lang: Lang, v: f64) -> String {
        match self.field {
            "aqi" => format!("{v:.0} · {}", aqi_band(lang, v).1),
            "congestion" => format!("{} · {}", dec(lang, v, 1), congestion_name(lang, v)),
            _ => format!("{} {}", dec(lang, v, 1), self.unit.text(lang)),
        }
    }

    pub fn guide_values(&self) -> Vec<f64> {
        self.guides.iter().map(|(v, _)| *v).collect()
    }
}

/// The VN_AQI band limits, marked on the AQI chart in the colour of the band below them.
const AQI_GUIDES: &[(f64, &str)] = &[
    (50.0, "guide-aqi-good"),
    (100.0, "guide-aqi-moderate"),
    (150.0, "guide-aqi-poor"),
    (200.0, "guide-aqi-bad"),
    (300.0, "guide-aqi-very-bad"),
];

/// The unit of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// The same in every language.
    Fixed(&'static str),
    /// A word of the screen.
    Word(Word),
}

impl Unit {
    pub fn text(self, lang: Lang) -> &'static str {
        match self {
            Unit::Fixed(s) => s,
            Unit::Word(w) => crate::i18n::t(lang, w),
        }
    }
}

/// The drill-down's charts, in the order shown: air first, then traffic.
pub const METRICS: [Metric; 4] = [
    Metric {
        field: "aqi",
        domain: Domain::Env,
        title: Word::AirQuality,
        unit: Unit::Fixed("VN_AQI"),
        include: &[0.0],
        guides: AQI_GUIDES,
    },
    Metric {
        field: "pm25_ugm3",
        domain: Domain::Env,
        title: Word::Pm25,
        unit: Unit::Fixed("µg/m³"),
        include: &[0.0],
        guides: &[],
    },
    Metric {
        field: "speed_kmh",
        domain: Domain::Traffic,
        title: Word::AverageSpeed,
        unit: Unit::Fixed("km/h"),
        include: &[0.0],
        guides: &[],
    },
    Metric {
        field: "congestion",
        domain: Domain::Traffic,
        title: Word::Congestion,
        unit: Unit::Word(Word::CongestionScale),
        include: &[0.0, 5.0],
        guides: &[],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_asks_for_the_whole_area() {
        let q = Query {
            domain: Domain::Env,
            area: "thu-duc".into(),
            field: "aqi",
            window: Range::Hour.window(1_763_832_605_000.0),
        };
        assert_eq!(
            q.url(),
            "/api/v1/history?domain=env&area=thu-duc&field=aqi&from=1763829030000&to=1763832630000&points=120"
        );
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }

    #[test]
    fn ranges_ask_for_the_agreed_points() {
        let now = 1_763_832_605_000.0;
        for (r, step) in [
            (Range::Hour, 30_000),
            (Range::Day, 300_000),
            (Range::Week, 1_800_000),
        ] {
            let w = r.window(now);
            assert_eq!(w.step, step, "{r:?}");
            assert_eq!(w.to - w.from, r.span_ms(), "{r:?}");
            assert!(w.to as f64 >= now && (w.to as f64) < now + step as f64);
        }
        let spark = window(now, SPARK_SPAN_MS, SPARK_POINTS);
        assert_eq!(spark.step, 120_000);
    }

    #[test]
    fn latest_values_read_naturally() {
        let [aqi, pm, speed, congestion] = METRICS;
        assert_eq!(aqi.describe(Lang::Vi, 72.4), "72 · Trung bình");
        assert_eq!(aqi.describe(Lang::En, 151.0), "151 · Bad");
        assert_eq!(pm.describe(Lang::Vi, 35.84), "35,8 µg/m³");
        assert_eq!(speed.describe(Lang::En, 14.2), "14.2 km/h");
        assert_eq!(congestion.describe(Lang::Vi, 3.8), "3,8 · Ùn tắc");
        assert_eq!(aqi.guide_values(), [50.0, 100.0, 150.0, 200.0, 300.0]);
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
