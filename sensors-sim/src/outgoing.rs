//! What the simulation gives to publish: a message ([`Outgoing`]), and what stream it belongs
//! to ([`Stream`]): a domain of readings and events, or the indicator reports.

use std::fmt;

use ioc_protocol::Domain;
use ioc_protocol::topic::INDICATOR_DOMAIN;
use serde_json::Value as Json;

/// What a message is: a reading or an event of a domain, or an indicator report
/// (`ioc/v1/indicator/{area}/{unit}`), which is not a domain of readings. It compares equal to
/// the [`Domain`] it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stream {
    Domain(Domain),
    Indicator,
}

impl Stream {
    /// The domain, for a reading or an event.
    pub fn domain(self) -> Option<Domain> {
        match self {
            Stream::Domain(d) => Some(d),
            Stream::Indicator => None,
        }
    }

    /// Whether it is a telemetry domain (readings of sensors and platforms).
    pub fn is_telemetry(self) -> bool {
        self.domain().is_some_and(Domain::is_telemetry)
    }
}

impl From<Domain> for Stream {
    fn from(d: Domain) -> Stream {
        Stream::Domain(d)
    }
}

impl PartialEq<Domain> for Stream {
    fn eq(&self, other: &Domain) -> bool {
        *self == Stream::Domain(*other)
    }
}

impl PartialEq<Stream> for Domain {
    fn eq(&self, other: &Stream) -> bool {
        Stream::Domain(*self) == *other
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stream::Domain(d) => d.fmt(f),
            Stream::Indicator => f.write_str(INDICATOR_DOMAIN),
        }
    }
}

/// A message to publish: its topic, its JSON payload, and its `ts` (epoch ms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: String,
    /// The payload, a JSON object, exactly as it is published.
    pub payload_json: String,
    /// The payload's `ts`.
    pub ts: i64,
    /// A domain's reading or event, or an indicator report.
    pub domain: Stream,
}

impl Outgoing {
    /// The message as a line of the truth log, without the newline: a reading or an event as
    /// `{"topic":..,"payload":{..},"ts":..}`, an indicator report as the same inside
    /// `{"indicator_report":..}` (so that readers of readings, which skip lines with no `topic`
    /// at the top, skip it).
    pub fn truth_line(&self) -> String {
        let line = format!(
            "{{\"topic\":{},\"payload\":{},\"ts\":{}}}",
            Json::String(self.topic.clone()),
            self.payload_json,
            self.ts
        );
        match self.domain {
            Stream::Domain(_) => line,
            Stream::Indicator => format!("{{\"indicator_report\":{line}}}"),
        }
    }
}
