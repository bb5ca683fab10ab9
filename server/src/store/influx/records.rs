//! InfluxDB's answers read back: the records of each query's Flux turned into history
//! buckets, readings and events as the protocol has them.

use std::collections::BTreeMap;

use influxdb2::api::query::FluxRecord;
use influxdb2_structmap::value::Value as FluxValue;
use ioc_protocol::{Body, Complaint, Domain, Dossier, Event, Message, Reading, Topic, Value};

use crate::store::{Bucket, StoreError};

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
pub(super) fn protocol_value(v: &FluxValue) -> Option<Value> {
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
pub(super) fn decode_history(
    records: &[FluxRecord],
    points: u32,
) -> Result<Vec<Bucket>, StoreError> {
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
pub(super) fn decode_latest(records: &[FluxRecord]) -> Vec<Message> {
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
pub(super) fn decode_readings(records: &[FluxRecord]) -> Vec<Message> {
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
pub(super) fn decode_events(records: &[FluxRecord]) -> Vec<Message> {
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
