//! The history of one field: `GET /api/v1/history`, its query and its answer.
//!
//! The server cuts the query's window `[from, to)` into at most `points` buckets and answers
//! one [`Bucket`] per bucket with data (empty ones are left out), oldest first, with the query
//! as it understood it ([`HistoryAnswer`]). The app charts the buckets: the min–max band and
//! the mean line.

use serde::{Deserialize, Serialize};

use crate::topic::Domain;

/// A range query of one field, as the server understood it (its defaults filled in), and as
/// it echoes it in [`HistoryAnswer::query`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    pub domain: Domain,
    pub area: String,
    /// One source, or every source of the area (their readings pooled): `null`.
    pub source: Option<String>,
    pub field: String,
    /// Epoch ms, inclusive.
    pub from: i64,
    /// Epoch ms, exclusive.
    pub to: i64,
    /// At most this many buckets come back.
    pub points: u32,
}

/// One bucket of a history answer: the values of its time step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Bucket {
    /// Start of the bucket, epoch ms.
    pub t: i64,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
    /// How many raw values the bucket holds. The server always sends it; a reader takes a
    /// bucket without it as one of no known count (0).
    #[serde(default)]
    pub count: u64,
}

/// The answer of `GET /api/v1/history` (200): `{"query": {...}, "buckets": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryAnswer {
    pub query: HistoryQuery,
    /// One per bucket with data, oldest first.
    pub buckets: Vec<Bucket>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The answer exactly as the server has written it since v1 (`json!({"query": q,
    /// "buckets": buckets})`).
    const ANSWER: &str = r#"{"query":{"domain":"env","area":"thu-duc","source":null,"field":"aqi","from":1763829030000,"to":1763832630000,"points":120},"buckets":[{"t":1763829030000,"min":41.0,"mean":52.5,"max":61.25,"count":4}]}"#;

    #[test]
    fn the_answer_round_trips_in_the_servers_shape() {
        let answer: HistoryAnswer = serde_json::from_str(ANSWER).unwrap();
        assert_eq!(
            answer,
            HistoryAnswer {
                query: HistoryQuery {
                    domain: Domain::Env,
                    area: "thu-duc".into(),
                    source: None,
                    field: "aqi".into(),
                    from: 1_763_829_030_000,
                    to: 1_763_832_630_000,
                    points: 120,
                },
                buckets: vec![Bucket {
                    t: 1_763_829_030_000,
                    min: 41.0,
                    mean: 52.5,
                    max: 61.25,
                    count: 4,
                }],
            }
        );
        assert_eq!(serde_json::to_string(&answer).unwrap(), ANSWER);
    }

    #[test]
    fn a_bucket_round_trips() {
        let b = Bucket {
            t: -5,
            min: -1.5,
            mean: 0.0,
            max: 1e9,
            count: u64::MAX,
        };
        let text = serde_json::to_string(&b).unwrap();
        assert_eq!(
            text,
            r#"{"t":-5,"min":-1.5,"mean":0.0,"max":1000000000.0,"count":18446744073709551615}"#
        );
        assert_eq!(serde_json::from_str::<Bucket>(&text).unwrap(), b);
        // Without its count, a bucket is still read.
        assert_eq!(
            serde_json::from_str::<Bucket>(r#"{"t":1,"min":2,"mean":3,"max":4}"#).unwrap(),
            Bucket {
                t: 1,
                min: 2.0,
                mean: 3.0,
                max: 4.0,
                count: 0
            }
        );
    }
}
