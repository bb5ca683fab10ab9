//! Decoding and validation of one ingest message (contract v1).
//!
//! [`decode`] is the one entry point: a topic and a payload in, a typed [`Message`] or a
//! [`Rejection`] out. It never panics on any input, and it allocates in proportion to the
//! payload, which is itself bounded by [`MAX_PAYLOAD_BYTES`].

use std::collections::BTreeMap;
use std::fmt;

use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use crate::topic::{Domain, Topic, TopicError, truncate};

/// The largest payload the contract accepts.
pub const MAX_PAYLOAD_BYTES: usize = 16 * 1024;
/// The longest string value.
pub const MAX_TEXT_CHARS: usize = 256;
/// How far ahead of the server's clock a timestamp may be.
pub const MAX_FUTURE_MS: i64 = 60 * 60 * 1000;
/// How far behind the server's clock a timestamp may be.
pub const MAX_PAST_MS: i64 = 7 * 24 * 60 * 60 * 1000;
/// The most fields one reading may carry.
pub const MAX_FIELDS: usize = 64;

/// A decoded, valid message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub topic: Topic,
    /// Time of measurement, epoch milliseconds UTC.
    pub ts: i64,
    /// The source's sequence number, when it sends one.
    pub seq: Option<u64>,
    pub body: Body,
}

/// What a message carries: a reading's values (telemetry domains) or one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    Reading(Reading),
    Event(Event),
}

/// The fields of one telemetry reading, by name.
pub type Reading = BTreeMap<String, Value>;

/// One field's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Bool(bool),
    Text(String),
}

impl Value {
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The number a field counts as in figures, rollups and history: numbers, and bools as 0
    /// or 1 (an `up` flag averages to availability). Text is not a number.
    pub fn as_number(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Text(_) => None,
        }
    }
}

/// One event of an event domain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    Complaint(Complaint),
    Dossier(Dossier),
}

/// A citizen complaint's status change (1022 hotline, app, web portal, Zalo).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Complaint {
    pub id: String,
    pub category: String,
    pub channel: String,
    pub status: String,
    pub ward: Option<String>,
    /// Deadline, epoch ms.
    pub due: Option<i64>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

/// An online public-service dossier's status change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dossier {
    pub id: String,
    pub service: String,
    pub agency: String,
    pub status: String,
    pub online: bool,
    /// Deadline, epoch ms.
    pub due: Option<i64>,
}

pub const COMPLAINT_STATUSES: [&str; 5] = [
    "received",
    "assigned",
    "in_progress",
    "resolved",
    "rejected",
];
pub const COMPLAINT_CATEGORIES: [&str; 10] = [
    "traffic",
    "flooding",
    "environment",
    "urban_order",
    "security",
    "utilities",
    "public_services",
    "health",
    "education",
    "other",
];
pub const COMPLAINT_CHANNELS: [&str; 4] = ["hotline", "app", "web", "zalo"];
pub const DOSSIER_STATUSES: [&str; 4] = ["received", "processing", "done", "returned"];

/// Why a message was rejected. The `snake_case` name is what operators see in the counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The topic is not `ioc/v1/{domain}/{area}/{source}` with well-formed parts.
    BadTopic,
    UnknownDomain,
    /// The area is not an area of the city preset, nor `city`.
    UnknownArea,
    TooLarge,
    NotUtf8,
    NotJson,
    NotObject,
    MissingTs,
    BadTs,
    TsInFuture,
    TsTooOld,
    NonFiniteNumber,
    BadSeq,
    /// A telemetry message without a non-empty `values` object.
    MissingValues,
    /// A value of the wrong type, out of its range, or a string too long.
    BadValue,
    /// An event without one of its required fields, or with one of the wrong type.
    BadField,
    UnknownStatus,
    /// Refused by the access rules (used by later stages, not by [`decode`]).
    Forbidden,
}

impl RejectReason {
    pub const ALL: [RejectReason; 18] = [
        RejectReason::BadTopic,
        RejectReason::UnknownDomain,
        RejectReason::UnknownArea,
        RejectReason::TooLarge,
        RejectReason::NotUtf8,
        RejectReason::NotJson,
        RejectReason::NotObject,
        RejectReason::MissingTs,
        RejectReason::BadTs,
        RejectReason::TsInFuture,
        RejectReason::TsTooOld,
        RejectReason::NonFiniteNumber,
        RejectReason::BadSeq,
        RejectReason::MissingValues,
        RejectReason::BadValue,
        RejectReason::BadField,
        RejectReason::UnknownStatus,
        RejectReason::Forbidden,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::BadTopic => "bad_topic",
            RejectReason::UnknownDomain => "unknown_domain",
            RejectReason::UnknownArea => "unknown_area",
            RejectReason::TooLarge => "too_large",
            RejectReason::NotUtf8 => "not_utf8",
            RejectReason::NotJson => "not_json",
            RejectReason::NotObject => "not_object",
            RejectReason::MissingTs => "missing_ts",
            RejectReason::BadTs => "bad_ts",
            RejectReason::TsInFuture => "ts_in_future",
            RejectReason::TsTooOld => "ts_too_old",
            RejectReason::NonFiniteNumber => "non_finite_number",
            RejectReason::BadSeq => "bad_seq",
            RejectReason::MissingValues => "missing_values",
            RejectReason::BadValue => "bad_value",
            RejectReason::BadField => "bad_field",
            RejectReason::UnknownStatus => "unknown_status",
            RejectReason::Forbidden => "forbidden",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected message: the reason it is counted under, and a sentence for the operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct Rejection {
    pub reason: RejectReason,
    pub detail: String,
}

fn reject(reason: RejectReason, detail: impl Into<String>) -> Rejection {
    Rejection {
        reason,
        detail: detail.into(),
    }
}

impl From<TopicError> for Rejection {
    fn from(e: TopicError) -> Self {
        let reason = match e {
            TopicError::UnknownDomain(_) => RejectReason::UnknownDomain,
            _ => RejectReason::BadTopic,
        };
        reject(reason, e.to_string())
    }
}

/// The payload of one telemetry reading as CONTRACT.md has it: `ts` in epoch ms, `seq` when
/// the source counts its messages, and `values`. What gateways (and the simulator and load
/// tools) send; [`decode`] gives the reading back.
pub fn encode_reading(ts: i64, seq: Option<u64>, values: &Reading) -> String {
    let mut obj = Map::new();
    obj.insert("ts".into(), ts.into());
    if let Some(seq) = seq {
        obj.insert("seq".into(), seq.into());
    }
    let values: Map<String, Json> = values
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Value::Number(n) => {
                    serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number)
                }
                Value::Bool(b) => Json::Bool(*b),
                Value::Text(t) => Json::String(t.clone()),
            };
            (k.clone(), v)
        })
        .collect();
    obj.insert("values".into(), Json::Object(values));
    Json::Object(obj).to_string()
}

/// Decodes and validates one message.
///
/// `now_ms` is the server's clock (epoch ms), against which `ts` is checked. `known_area`
/// says whether an area code belongs to the city preset; `city` is always accepted.
pub fn decode(
    topic: &str,
    payload: &[u8],
    now_ms: i64,
    known_area: impl Fn(&str) -> bool,
) -> Result<Message, Rejection> {
    let topic = Topic::parse(topic)?;
    if topic.area != crate::topic::CITY_AREA && !known_area(&topic.area) {
        return Err(reject(
            RejectReason::UnknownArea,
            format!("area {:?} is not an area of the city", topic.area),
        ));
    }
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(reject(
            RejectReason::TooLarge,
            format!(
                "payload is {} bytes, the limit is {MAX_PAYLOAD_BYTES}",
                payload.len()
            ),
        ));
    }
    let text = std::str::from_utf8(payload)
        .map_err(|e| reject(RejectReason::NotUtf8, format!("payload is not UTF-8 ({e})")))?;
    if topic.domain.is_telemetry()
        && let Some((ts, seq, reading)) = valid_telemetry(topic.domain, text, now_ms)
    {
        return Ok(Message {
            topic,
            ts,
            seq,
            body: Body::Reading(reading),
        });
    }
    decode_general(topic, text, now_ms)
}

/// A reading as the contract has it, read straight from the payload into its fields, for the
/// common case: `ts` an integer, `seq` absent, null or an unsigned integer, `values` an object
/// of numbers, bools and strings, each valid. Anything else (`None`) goes the general way,
/// which says why it is refused, or accepts what this does not read (an RFC 3339 `ts`). Both
/// give the same message for what this accepts (`tests::the_fast_path_agrees_with_the_general_one`).
fn valid_telemetry(domain: Domain, text: &str, now_ms: i64) -> Option<(i64, Option<u64>, Reading)> {
    #[derive(Deserialize)]
    struct Telemetry {
        ts: i64,
        #[serde(default)]
        seq: Option<u64>,
        values: Reading,
    }
    let t: Telemetry = serde_json::from_str(text).ok()?;
    let in_range =
        t.ts <= now_ms.saturating_add(MAX_FUTURE_MS) && t.ts >= now_ms.saturating_sub(MAX_PAST_MS);
    let valid = |(name, value): (&String, &Value)| {
        is_field_name(name)
            && match value {
                Value::Number(f) => f.is_finite(),
                Value::Bool(_) => true,
                Value::Text(s) => s.chars().count() <= MAX_TEXT_CHARS,
            }
            && field_rule(domain, name).is_none_or(|rule| check_rule(name, value, rule).is_ok())
    };
    (in_range && !t.values.is_empty() && t.values.len() <= MAX_FIELDS && t.values.iter().all(valid))
        .then_some((t.ts, t.seq, t.values))
}

/// [`decode`] past the checks of the topic and the payload's size and encoding: any payload,
/// through `serde_json::Value`, with the reason for what is refused.
fn decode_general(topic: Topic, text: &str, now_ms: i64) -> Result<Message, Rejection> {
    let json: Json = serde_json::from_str(text).map_err(|e| json_error(text, &e))?;
    let Json::Object(mut obj) = json else {
        return Err(reject(
            RejectReason::NotObject,
            "payload must be a JSON object",
        ));
    };

    let ts = match obj.get("ts") {
        None | Some(Json::Null) => {
            return Err(reject(RejectReason::MissingTs, "field \"ts\" is required"));
        }
        Some(v) => parse_time(v).ok_or_else(|| {
            reject(
                RejectReason::BadTs,
                "\"ts\" must be integer epoch milliseconds or an RFC 3339 string with offset",
            )
        })?,
    };
    if ts > now_ms.saturating_add(MAX_FUTURE_MS) {
        return Err(reject(
            RejectReason::TsInFuture,
            format!(
                "\"ts\" is {} s ahead of the server's clock (at most 3600 s)",
                (ts - now_ms) / 1000
            ),
        ));
    }
    if ts < now_ms.saturating_sub(MAX_PAST_MS) {
        return Err(reject(
            RejectReason::TsTooOld,
            format!(
                "\"ts\" is {} h behind the server's clock (at most 7 days)",
                (now_ms - ts) / 3_600_000
            ),
        ));
    }
    let seq =
        match obj.get("seq") {
            None | Some(Json::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                reject(RejectReason::BadSeq, "\"seq\" must be an unsigned integer")
            })?),
        };

    let body = if topic.domain.is_telemetry() {
        Body::Reading(decode_values(topic.domain, obj.remove("values"))?)
    } else if topic.domain == Domain::Complaint {
        Body::Event(Event::Complaint(decode_complaint(&obj)?))
    } else {
        Body::Event(Event::Dossier(decode_dossier(&obj)?))
    };
    Ok(Message {
        topic,
        ts,
        seq,
        body,
    })
}

/// Tells a non-finite number (`NaN`, `Infinity`, or a literal too large for an f64) apart
/// from other JSON syntax errors: serde_json refuses both the same way.
fn json_error(text: &str, e: &serde_json::Error) -> Rejection {
    let msg = e.to_string();
    if msg.starts_with("number out of range") || has_bare_non_finite(text) {
        return reject(
            RejectReason::NonFiniteNumber,
            "numbers must be finite (no NaN, no Infinity, no overflow)",
        );
    }
    reject(
        RejectReason::NotJson,
        format!("payload is not valid JSON ({msg})"),
    )
}

/// Whether `NaN` or `Infinity` appears outside of a string.
fn has_bare_non_finite(text: &str) -> bool {
    let mut in_string = false;
    let mut escaped = false;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if bytes[i..].starts_with(b"NaN") || bytes[i..].starts_with(b"Infinity") {
            return true;
        }
    }
    false
}

/// A time: integer epoch milliseconds, or an RFC 3339 string with an offset.
pub fn parse_time(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis()),
        _ => None,
    }
}

/// The rule a known field's value must follow.
#[derive(Debug, Clone, Copy)]
enum FieldRule {
    /// A finite number in `[min, max]`.
    Number(f64, f64),
    /// A whole number in `[min, max]`.
    Level(f64, f64),
    Bool,
}

/// The fields of contract v1, with their rules. Other field names are accepted with the
/// general rules (finite number, bool, or short string), so that a gateway's extra fields
/// are kept rather than lost.
fn field_rule(domain: Domain, field: &str) -> Option<FieldRule> {
    use FieldRule::*;
    const BIG: f64 = 1e9;
    Some(match (domain, field) {
        (Domain::Traffic, "speed_kmh") => Number(0.0, 300.0),
        (Domain::Traffic, "volume_vph") => Number(0.0, 100_000.0),
        (Domain::Traffic, "occupancy_pct") => Number(0.0, 100.0),
        (Domain::Traffic, "congestion") => Level(0.0, 5.0),
        (Domain::Env, "aqi") => Number(0.0, 1000.0),
        (
            Domain::Env,
            "pm25_ugm3" | "pm10_ugm3" | "no2_ugm3" | "o3_ugm3" | "co_ugm3" | "so2_ugm3",
        ) => Number(0.0, 100_000.0),
        (Domain::Env, "temp_c") => Number(-50.0, 70.0),
        (Domain::Env, "humidity_pct") => Number(0.0, 100.0),
        (Domain::Env, "noise_dba") => Number(0.0, 200.0),
        (Domain::Flood, "water_level_cm") => Number(-BIG, BIG),
        (Domain::Flood, "rain_mmh") => Number(0.0, 1000.0),
        (Domain::System, "up") => Bool,
        (Domain::System, "latency_ms" | "requests_per_s") => Number(0.0, BIG),
        (Domain::System, "error_pct" | "cpu_pct" | "mem_pct") => Number(0.0, 100.0),
        _ => return None,
    })
}

/// Whether `s` is a well-formed field name: `[a-z][a-z0-9_]{0,63}`.
pub fn is_field_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

/// The reading's fields, taken out of the payload (moved, not copied: this runs for every
/// message).
fn decode_values(domain: Domain, values: Option<Json>) -> Result<Reading, Rejection> {
    let Some(Json::Object(values)) = values else {
        return Err(reject(
            RejectReason::MissingValues,
            format!("a {domain} reading needs a \"values\" object"),
        ));
    };
    if values.is_empty() {
        return Err(reject(RejectReason::MissingValues, "\"values\" is empty"));
    }
    if values.len() > MAX_FIELDS {
        return Err(reject(
            RejectReason::BadValue,
            format!("at most {MAX_FIELDS} fields in \"values\""),
        ));
    }
    let mut out = Reading::new();
    for (name, v) in values {
        if !is_field_name(&name) {
            return Err(reject(
                RejectReason::BadValue,
                format!(
                    "field name {:?} is not of the form [a-z][a-z0-9_]{{0,63}}",
                    truncate(&name, 70)
                ),
            ));
        }
        let value = match v {
            Json::Number(n) => match n.as_f64() {
                Some(f) if f.is_finite() => Value::Number(f),
                _ => {
                    return Err(reject(
                        RejectReason::NonFiniteNumber,
                        format!("{name} is not a finite number"),
                    ));
                }
            },
            Json::Bool(b) => Value::Bool(b),
            Json::String(s) if s.chars().count() <= MAX_TEXT_CHARS => Value::Text(s),
            Json::String(_) => {
                return Err(reject(
                    RejectReason::BadValue,
                    format!("{name} is a string longer than {MAX_TEXT_CHARS} characters"),
                ));
            }
            _ => {
                return Err(reject(
                    RejectReason::BadValue,
                    format!("{name} must be a number, a bool or a string"),
                ));
            }
        };
        if let Some(rule) = field_rule(domain, &name) {
            check_rule(&name, &value, rule)?;
        }
        out.insert(name, value);
    }
    Ok(out)
}

fn check_rule(name: &str, value: &Value, rule: FieldRule) -> Result<(), Rejection> {
    let ok = match (rule, value) {
        (FieldRule::Bool, Value::Bool(_)) => true,
        (FieldRule::Number(lo, hi), Value::Number(n)) => (lo..=hi).contains(n),
        (FieldRule::Level(lo, hi), Value::Number(n)) => (lo..=hi).contains(n) && n.fract() == 0.0,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let expected = match rule {
        FieldRule::Bool => "a bool".to_owned(),
        FieldRule::Number(lo, hi) => format!("a number from {lo} to {hi}"),
        FieldRule::Level(lo, hi) => format!("a whole number from {lo} to {hi}"),
    };
    Err(reject(
        RejectReason::BadValue,
        format!("{name} must be {expected}"),
    ))
}

fn required_str(obj: &Map<String, Json>, field: &str, max: usize) -> Result<String, Rejection> {
    match obj.get(field) {
        Some(Json::String(s)) if !s.is_empty() && s.chars().count() <= max => Ok(s.clone()),
        Some(Json::String(_)) => Err(reject(
            RejectReason::BadField,
            format!("\"{field}\" must be a string of 1 to {max} characters"),
        )),
        None | Some(Json::Null) => Err(reject(
            RejectReason::BadField,
            format!("\"{field}\" is required"),
        )),
        Some(_) => Err(reject(
            RejectReason::BadField,
            format!("\"{field}\" must be a string"),
        )),
    }
}

fn one_of(
    obj: &Map<String, Json>,
    field: &str,
    allowed: &[&str],
    reason: RejectReason,
) -> Result<String, Rejection> {
    let s = required_str(obj, field, 64)?;
    if allowed.contains(&s.as_str()) {
        Ok(s)
    } else {
        Err(reject(
            reason,
            format!(
                "\"{field}\" {:?} is not one of {}",
                truncate(&s, 40),
                allowed.join(", ")
            ),
        ))
    }
}

fn optional_time(obj: &Map<String, Json>, field: &str) -> Result<Option<i64>, Rejection> {
    match obj.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(v) => parse_time(v).map(Some).ok_or_else(|| {
            reject(
                RejectReason::BadField,
                format!("\"{field}\" must be epoch milliseconds or an RFC 3339 string"),
            )
        }),
    }
}

fn optional_coord(
    obj: &Map<String, Json>,
    field: &str,
    limit: f64,
) -> Result<Option<f64>, Rejection> {
    match obj.get(field) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() && f.abs() <= limit => Ok(Some(f)),
            _ => Err(reject(
                RejectReason::BadField,
                format!("\"{field}\" must be a number from -{limit} to {limit}"),
            )),
        },
        Some(_) => Err(reject(
            RejectReason::BadField,
            format!("\"{field}\" must be a number"),
        )),
    }
}

fn decode_complaint(obj: &Map<String, Json>) -> Result<Complaint, Rejection> {
    Ok(Complaint {
        id: required_str(obj, "id", 64)?,
        category: one_of(
            obj,
            "category",
            &COMPLAINT_CATEGORIES,
            RejectReason::BadField,
        )?,
        channel: one_of(obj, "channel", &COMPLAINT_CHANNELS, RejectReason::BadField)?,
        status: one_of(
            obj,
            "status",
            &COMPLAINT_STATUSES,
            RejectReason::UnknownStatus,
        )?,
        ward: match obj.get("ward") {
            None | Some(Json::Null) => None,
            Some(_) => Some(required_str(obj, "ward", 128)?),
        },
        due: optional_time(obj, "due")?,
        lat: optional_coord(obj, "lat", 90.0)?,
        lon: optional_coord(obj, "lon", 180.0)?,
    })
}

fn decode_dossier(obj: &Map<String, Json>) -> Result<Dossier, Rejection> {
    Ok(Dossier {
        id: required_str(obj, "id", 64)?,
        service: required_str(obj, "service", 128)?,
        agency: required_str(obj, "agency", 128)?,
        status: one_of(
            obj,
            "status",
            &DOSSIER_STATUSES,
            RejectReason::UnknownStatus,
        )?,
        online: match obj.get("online") {
            Some(Json::Bool(b)) => *b,
            None | Some(Json::Null) => {
                return Err(reject(RejectReason::BadField, "\"online\" is required"));
            }
            Some(_) => {
                return Err(reject(RejectReason::BadField, "\"online\" must be a bool"));
            }
        },
        due: optional_time(obj, "due")?,
    })
}

#[cfg(test)]
mod tests;
