//! Line protocol: a batch of messages as the text InfluxDB writes, one point per message (see
//! the schema in the module's root), with every name escaped or refused.

use std::fmt::Write as _;

use ioc_protocol::{Body, Event, Message, Value};

/// A message that cannot be written in line protocol. Upstream validation makes these
/// impossible for decoded messages; they guard the function against any other caller.
#[derive(Debug, thiserror::Error)]
pub(super) enum EncodeError {
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
pub(super) fn line_protocol(batch: &[Message]) -> Result<String, EncodeError> {
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
pub(super) struct Fields<'a> {
    pub(super) out: &'a mut String,
    pub(super) first: bool,
}

impl Fields<'_> {
    /// Starts a field with a name from the message; `None` if it cannot be written.
    pub(super) fn key(&mut self, name: &str) -> Option<&mut Self> {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_key(self.out, name)?;
        self.out.push('=');
        Some(self)
    }

    /// Starts a field with one of this module's own names (plain ASCII).
    pub(super) fn known(&mut self, name: &'static str) -> &mut Self {
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
    pub(super) fn float(&mut self, n: f64) -> Option<()> {
        if !n.is_finite() {
            return None;
        }
        let _ = write!(self.out, "{n}");
        Some(())
    }

    pub(super) fn int(&mut self, n: i64) {
        let _ = write!(self.out, "{n}i");
    }

    fn bool(&mut self, b: bool) {
        self.out.push_str(if b { "true" } else { "false" });
    }

    /// A string field: in quotes, with `"` and `\` escaped. Anything else, newlines and all
    /// UTF-8 included, goes as it is: InfluxDB reads a quoted string up to its closing quote.
    pub(super) fn string(&mut self, s: &str) {
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
pub(super) fn push_measurement(out: &mut String, name: &str) {
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
pub(super) fn push_key(out: &mut String, key: &str) -> Option<()> {
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
pub(super) fn event_offset_ns(id: &str) -> i64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = id.bytes().fold(FNV_OFFSET, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(FNV_PRIME)
    });
    // Below 10^6, so the cast cannot truncate.
    (hash % 1_000_000) as i64
}
