//! Indicator values on the wire: the MQTT report on `ioc/v1/indicator/{area}/{unit}`
//! (`{"ts", "period", "values": {code: number}}`, a [`Report`]) and the body of
//! `POST /api/v1/indicators` (a JSON array of [`Submission`]s). Both decode into submissions,
//! which [`Catalogue::check`](super::Catalogue::check) then checks by the same rules; a
//! spreadsheet row becomes a [`Submission`] the same way, by the importer.
//!
//! Decoding refuses what is not well formed, with a [`SubmissionError`] of the same reasons as
//! the catalogue's rules. `ts` is when the unit sent the report, epoch ms or RFC 3339 with an
//! offset; it may not be more than an hour ahead of the server's clock (as for readings), and
//! it may be old: the period is what the value is about, and a revision of an old period is
//! sent late on purpose.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value as Json};

use super::period::Period;
use super::submission::{Submission, SubmissionError};
use crate::ingest::{MAX_FUTURE_MS, MAX_PAYLOAD_BYTES, is_field_name, parse_time};
use crate::topic::{IndicatorTopic, truncate};

/// The most values one report may carry: every indicator of a catalogue of 110, with room.
pub const MAX_REPORT_VALUES: usize = 256;

/// The payload of an MQTT indicator report: the values of one area's indicators for one
/// period, sent by one unit (the topic names both).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// When the report was sent, epoch ms (read from epoch ms or RFC 3339).
    #[serde(deserialize_with = "de_ts")]
    pub ts: i64,
    pub period: Period,
    /// Indicator code to value.
    pub values: BTreeMap<String, f64>,
}

fn de_ts<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let v = Json::deserialize(d)?;
    parse_time(&v).ok_or_else(|| serde::de::Error::custom(TS_RULE))
}

const TS_RULE: &str = "\"ts\" must be integer epoch milliseconds or an RFC 3339 string with offset";

/// A report decoded from MQTT: who sent it for which area, and what.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedReport {
    pub topic: IndicatorTopic,
    pub report: Report,
}

impl Report {
    /// The JSON payload, as units publish it.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a report serializes")
    }

    /// The report's values as submissions for an area (the topic's), in code order.
    pub fn submissions<'a>(&'a self, area: &'a str) -> impl Iterator<Item = Submission> + 'a {
        self.values.iter().map(move |(code, &value)| Submission {
            indicator: code.clone(),
            area: area.to_owned(),
            period: self.period,
            value,
        })
    }
}

impl DecodedReport {
    /// The report's values as submissions for the topic's area.
    pub fn submissions(&self) -> impl Iterator<Item = Submission> + '_ {
        self.report.submissions(&self.topic.area)
    }
}

/// Decodes an MQTT indicator report: its topic, then its payload (at most
/// [`MAX_PAYLOAD_BYTES`], UTF-8 JSON, `ts`, `period`, and 1 to [`MAX_REPORT_VALUES`] values,
/// each an indicator code of the form `[a-z][a-z0-9_]{0,63}` and a number). Whether the codes,
/// area, period and values hold by the catalogue is [`Catalogue::check`]'s.
///
/// [`Catalogue::check`]: super::Catalogue::check
pub fn decode_report(
    topic: &str,
    payload: &[u8],
    now_ms: i64,
) -> Result<DecodedReport, SubmissionError> {
    let topic = IndicatorTopic::parse(topic).map_err(SubmissionError::BadTopic)?;
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(SubmissionError::TooLarge(payload.len()));
    }
    let mut obj = json_object(payload)?;
    let ts = match obj.remove("ts") {
        None | Some(Json::Null) => {
            return Err(SubmissionError::BadTs("field \"ts\" is required".into()));
        }
        Some(v) => parse_time(&v).ok_or_else(|| SubmissionError::BadTs(TS_RULE.into()))?,
    };
    if ts > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err(SubmissionError::TsInFuture((ts - now_ms) / 1000));
    }
    let period = period_field(obj.remove("period"))?;
    let Some(Json::Object(values)) = obj.remove("values") else {
        return Err(SubmissionError::MissingValues);
    };
    if let Some(extra) = obj.keys().next() {
        return Err(SubmissionError::BadItem(format!(
            "unknown field {:?}: a report has \"ts\", \"period\" and \"values\"",
            truncate(extra, 40)
        )));
    }
    if values.is_empty() {
        return Err(SubmissionError::MissingValues);
    }
    if values.len() > MAX_REPORT_VALUES {
        return Err(SubmissionError::BadValue(format!(
            "{} values in one report, at most {MAX_REPORT_VALUES}",
            values.len()
        )));
    }
    let mut out = BTreeMap::new();
    for (code, v) in values {
        if !is_field_name(&code) {
            return Err(SubmissionError::BadValue(format!(
                "{:?} is not an indicator code ([a-z][a-z0-9_]{{0,63}})",
                truncate(&code, 70)
            )));
        }
        let value = number(&v).ok_or_else(|| {
            SubmissionError::BadValue(format!("the value of {code} must be a number"))
        })?;
        out.insert(code, value);
    }
    Ok(DecodedReport {
        topic,
        report: Report {
            ts,
            period,
            values: out,
        },
    })
}

/// Decodes the body of `POST /api/v1/indicators`: a JSON array of
/// `{"indicator", "area", "period", "value"}`. The body as a whole is refused when it is not a
/// JSON array; each item is decoded on its own, so that every bad item is named by its index.
pub fn decode_submissions(
    body: &[u8],
) -> Result<Vec<Result<Submission, SubmissionError>>, SubmissionError> {
    let json: Json =
        serde_json::from_slice(body).map_err(|e| SubmissionError::NotJson(e.to_string()))?;
    let Json::Array(items) = json else {
        return Err(SubmissionError::BadItem(
            "the body must be a JSON array of {\"indicator\", \"area\", \"period\", \"value\"}"
                .into(),
        ));
    };
    Ok(items.into_iter().map(submission_of).collect())
}

/// One item of a POST body.
fn submission_of(item: Json) -> Result<Submission, SubmissionError> {
    let Json::Object(mut obj) = item else {
        return Err(SubmissionError::BadItem(
            "an item must be an object {\"indicator\", \"area\", \"period\", \"value\"}".into(),
        ));
    };
    let indicator = text_field(&mut obj, "indicator")?;
    let area = text_field(&mut obj, "area")?;
    let period = period_field(obj.remove("period"))?;
    let value = match obj.remove("value") {
        None | Some(Json::Null) => {
            return Err(SubmissionError::BadItem(
                "field \"value\" is required".into(),
            ));
        }
        Some(v) => number(&v).ok_or_else(|| {
            SubmissionError::BadValue(format!("the value of {indicator} must be a number"))
        })?,
    };
    if let Some(extra) = obj.keys().next() {
        return Err(SubmissionError::BadItem(format!(
            "unknown field {:?}: an item has \"indicator\", \"area\", \"period\" and \"value\"",
            truncate(extra, 40)
        )));
    }
    Ok(Submission {
        indicator,
        area,
        period,
        value,
    })
}

fn json_object(payload: &[u8]) -> Result<Map<String, Json>, SubmissionError> {
    let text = std::str::from_utf8(payload)
        .map_err(|e| SubmissionError::NotJson(format!("the payload is not UTF-8 ({e})")))?;
    match serde_json::from_str(text) {
        Ok(Json::Object(obj)) => Ok(obj),
        Ok(_) => Err(SubmissionError::NotJson(
            "the payload must be a JSON object".into(),
        )),
        Err(e) => Err(SubmissionError::NotJson(e.to_string())),
    }
}

fn period_field(v: Option<Json>) -> Result<Period, SubmissionError> {
    match v {
        Some(Json::String(s)) => Ok(s.parse()?),
        None | Some(Json::Null) => Err(SubmissionError::BadItem(
            "field \"period\" is required (2026-10, 2026-Q3 or 2026)".into(),
        )),
        Some(_) => Err(SubmissionError::BadItem(
            "\"period\" must be a string: 2026-10, 2026-Q3 or 2026".into(),
        )),
    }
}

fn text_field(obj: &mut Map<String, Json>, field: &str) -> Result<String, SubmissionError> {
    match obj.remove(field) {
        Some(Json::String(s)) if !s.is_empty() => Ok(s),
        None | Some(Json::Null) => Err(SubmissionError::BadItem(format!(
            "field \"{field}\" is required"
        ))),
        Some(_) => Err(SubmissionError::BadItem(format!(
            "\"{field}\" must be a non-empty string"
        ))),
    }
}

/// A JSON number as an f64 (always finite: JSON has no NaN, and serde_json refuses overflow).
fn number(v: &Json) -> Option<f64> {
    v.as_f64().filter(|f| f.is_finite())
}
