//! Topics of the ingest contract: `ioc/v1/{domain}/{area}/{source}` for readings and events,
//! and `ioc/v1/indicator/{area}/{unit}` for reports of socio-economic indicators
//! ([`IndicatorTopic`]; their payload is the indicator module's `Report`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The prefix every topic of contract v1 starts with.
pub const PREFIX: &str = "ioc/v1/";

/// The MQTT filter that subscribes to every topic of contract v1.
pub const FILTER_ALL: &str = "ioc/v1/#";

/// The area code of a city-wide source.
pub const CITY_AREA: &str = "city";

/// The domain part of indicator topics. Indicator reports are not readings (they carry a
/// period, and values that are revised rather than streamed), so `indicator` is not a
/// [`Domain`]: [`Topic::parse`] refuses it, and [`IndicatorTopic::parse`] reads it.
pub const INDICATOR_DOMAIN: &str = "indicator";

/// The prefix of every indicator topic.
pub const INDICATOR_PREFIX: &str = "ioc/v1/indicator/";

/// What a topic is about. Telemetry domains carry `values`; event domains carry one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    Traffic,
    Env,
    Flood,
    Complaint,
    Service,
    System,
}

impl Domain {
    pub const ALL: [Domain; 6] = [
        Domain::Traffic,
        Domain::Env,
        Domain::Flood,
        Domain::Complaint,
        Domain::Service,
        Domain::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Domain::Traffic => "traffic",
            Domain::Env => "env",
            Domain::Flood => "flood",
            Domain::Complaint => "complaint",
            Domain::Service => "service",
            Domain::System => "system",
        }
    }

    /// Whether messages of this domain carry `values` (telemetry) rather than one event.
    pub fn is_telemetry(self) -> bool {
        !matches!(self, Domain::Complaint | Domain::Service)
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Domain {
    type Err = TopicError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Domain::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| TopicError::UnknownDomain(s.to_owned()))
    }
}

/// A parsed topic. The area is only checked for its form here; whether it belongs to the city
/// is the caller's question (it depends on the city preset).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Topic {
    pub domain: Domain,
    pub area: String,
    pub source: String,
}

/// Why a topic is not a topic of contract v1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic must have the form ioc/v1/{{domain}}/{{area}}/{{source}}")]
    Shape,
    #[error("unknown domain {0:?}")]
    UnknownDomain(String),
    #[error("area code {0:?} is not of the form [a-z0-9][a-z0-9-]{{0,31}}")]
    BadArea(String),
    #[error("source id {0:?} is not of the form [a-z0-9][a-z0-9_-]{{0,63}}")]
    BadSource(String),
    #[error("an indicator topic must have the form ioc/v1/indicator/{{area}}/{{unit}}")]
    IndicatorShape,
    #[error("unit code {0:?} is not of the form [a-z0-9][a-z0-9_-]{{0,63}}")]
    BadUnit(String),
}

impl Topic {
    pub fn new(domain: Domain, area: impl Into<String>, source: impl Into<String>) -> Self {
        Topic {
            domain,
            area: area.into(),
            source: source.into(),
        }
    }

    /// Parses a topic, checking its shape, its domain and the form of area and source.
    pub fn parse(topic: &str) -> Result<Topic, TopicError> {
        let rest = topic.strip_prefix(PREFIX).ok_or(TopicError::Shape)?;
        let mut parts = rest.split('/');
        let (Some(domain), Some(area), Some(source), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TopicError::Shape);
        };
        let domain: Domain = domain.parse()?;
        if !is_id(area, 32, false) {
            return Err(TopicError::BadArea(truncate(area, 64)));
        }
        if !is_source_id(source) {
            return Err(TopicError::BadSource(truncate(source, 80)));
        }
        Ok(Topic::new(domain, area, source))
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}/{}/{}", self.domain, self.area, self.source)
    }
}

/// The topic of an indicator report: `ioc/v1/indicator/{area}/{unit}`. `area` is `city`, a
/// district's area code or a department's code (the form of an area code); `unit` is the unit
/// that reports (the form of a source id). Whether they belong to the city is the catalogue's
/// question.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct IndicatorTopic {
    pub area: String,
    pub unit: String,
}

impl IndicatorTopic {
    pub fn new(area: impl Into<String>, unit: impl Into<String>) -> Self {
        IndicatorTopic {
            area: area.into(),
            unit: unit.into(),
        }
    }

    /// Whether a topic is an indicator topic (well formed or not): where the intake sends it.
    pub fn is_indicator(topic: &str) -> bool {
        topic.starts_with(INDICATOR_PREFIX)
    }

    /// Parses an indicator topic, checking its shape and the form of area and unit.
    pub fn parse(topic: &str) -> Result<IndicatorTopic, TopicError> {
        let rest = topic
            .strip_prefix(INDICATOR_PREFIX)
            .ok_or(TopicError::IndicatorShape)?;
        let Some((area, unit)) = rest.split_once('/') else {
            return Err(TopicError::IndicatorShape);
        };
        if unit.contains('/') {
            return Err(TopicError::IndicatorShape);
        }
        if !is_id(area, 32, false) {
            return Err(TopicError::BadArea(truncate(area, 64)));
        }
        if !is_source_id(unit) {
            return Err(TopicError::BadUnit(truncate(unit, 80)));
        }
        Ok(IndicatorTopic::new(area, unit))
    }
}

impl fmt::Display for IndicatorTopic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{INDICATOR_PREFIX}{}/{}", self.area, self.unit)
    }
}

/// Whether `s` is a well-formed area code: `[a-z0-9][a-z0-9-]{0,31}`.
pub fn is_area_code(s: &str) -> bool {
    is_id(s, 32, false)
}

/// Whether `s` is a well-formed source id: `[a-z0-9][a-z0-9_-]{0,63}`.
pub fn is_source_id(s: &str) -> bool {
    is_id(s, 64, true)
}

/// `[a-z0-9][a-z0-9-]{0,max-1}` (with `_` too when `underscore`).
fn is_id(s: &str, max: usize, underscore: bool) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= max
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter().all(|&c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || (underscore && c == b'_')
        })
}

/// The first `max_chars` characters of `s` (all of it if shorter), never cutting a character.
pub fn char_prefix(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// `s` cut to `max_chars` characters, with "…" when something was cut: for messages that
/// quote what they were given.
pub fn truncate(s: &str, max_chars: usize) -> String {
    let prefix = char_prefix(s, max_chars);
    if prefix.len() < s.len() {
        format!("{prefix}…")
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = Topic::parse("ioc/v1/env/q1/aqs-q1-01").unwrap();
        assert_eq!(t, Topic::new(Domain::Env, "q1", "aqs-q1-01"));
        assert_eq!(t.to_string(), "ioc/v1/env/q1/aqs-q1-01");
        let t = Topic::parse("ioc/v1/service/city/portal_dvc").unwrap();
        assert_eq!(t.domain, Domain::Service);
        assert!(!t.domain.is_telemetry());
    }

    #[test]
    fn every_domain_parses() {
        for d in Domain::ALL {
            let t = Topic::parse(&format!("ioc/v1/{d}/thu-duc/s1")).unwrap();
            assert_eq!(t.domain, d);
        }
    }

    #[test]
    fn bad_shapes() {
        for bad in [
            "",
            "ioc/v1",
            "ioc/v1/env/q1",
            "ioc/v1/env/q1/s1/extra",
            "ioc/v2/env/q1/s1",
            "IOC/v1/env/q1/s1",
            "/ioc/v1/env/q1/s1",
        ] {
            assert_eq!(Topic::parse(bad), Err(TopicError::Shape), "{bad}");
        }
    }

    #[test]
    fn indicator_topics_name_area_and_unit() {
        let t = IndicatorTopic::parse("ioc/v1/indicator/q1/q1").unwrap();
        assert_eq!(t, IndicatorTopic::new("q1", "q1"));
        let t = IndicatorTopic::parse("ioc/v1/indicator/city/cuc-thong-ke").unwrap();
        assert_eq!(t.to_string(), "ioc/v1/indicator/city/cuc-thong-ke");
        assert!(IndicatorTopic::is_indicator("ioc/v1/indicator/city/x"));
        assert!(!IndicatorTopic::is_indicator("ioc/v1/env/q1/x"));
        // Not a domain of readings: the reading's parser refuses it by name.
        assert_eq!(
            Topic::parse("ioc/v1/indicator/q1/q1"),
            Err(TopicError::UnknownDomain("indicator".into()))
        );
        for bad in [
            "ioc/v1/indicator/q1",
            "ioc/v1/indicator/q1/u/x",
            "ioc/v1/env/q1/u",
        ] {
            let e = IndicatorTopic::parse(bad).unwrap_err();
            assert_eq!(e, TopicError::IndicatorShape, "{bad}");
            assert!(e.to_string().contains("ioc/v1/indicator/{area}/{unit}"));
        }
        assert!(matches!(
            IndicatorTopic::parse("ioc/v1/indicator/Q1/q1"),
            Err(TopicError::BadArea(_))
        ));
        let e = IndicatorTopic::parse("ioc/v1/indicator/q1/").unwrap_err();
        assert!(e.to_string().starts_with("unit code"), "{e}");
    }

    #[test]
    fn bad_parts() {
        assert!(matches!(
            Topic::parse("ioc/v1/weather/q1/s1"),
            Err(TopicError::UnknownDomain(d)) if d == "weather"
        ));
        assert!(matches!(
            Topic::parse("ioc/v1/env/Q1/s1"),
            Err(TopicError::BadArea(_))
        ));
        assert!(matches!(
            Topic::parse("ioc/v1/env//s1"),
            Err(TopicError::BadArea(_))
        ));
        assert!(matches!(
            Topic::parse("ioc/v1/env/q1/-s1"),
            Err(TopicError::BadSource(_))
        ));
        assert!(matches!(
            Topic::parse("ioc/v1/env/q1/S1"),
            Err(TopicError::BadSource(_))
        ));
        let long = "a".repeat(65);
        assert!(matches!(
            Topic::parse(&format!("ioc/v1/env/q1/{long}")),
            Err(TopicError::BadSource(_))
        ));
        let max = "a".repeat(64);
        assert!(Topic::parse(&format!("ioc/v1/env/q1/{max}")).is_ok());
        assert!(Topic::parse("ioc/v1/env/q1/cam_01-b").is_ok());
    }
}
