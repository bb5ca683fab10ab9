//! A secret setting (the MQTT password, the `/metrics` bearer token, the InfluxDB API token)
//! that never shows: its `Debug` and `Display` say only whether it is set, so it cannot reach a
//! log line, an error or a config dump by accident; [`Secret::expose`] is the one way to read
//! it, where it is sent.
//!
//! A leaf: it imports no other module of the crate, so that both `config` and `store` can hold
//! one without importing each other.

use std::fmt;

use serde::Deserialize;

/// A password or token. Read from a string (TOML, an environment variable or a flag); shown
/// as `Secret(<redacted>)`, or `Secret(<empty>)` when empty.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(secret: impl Into<String>) -> Secret {
        Secret(secret.into())
    }

    /// The secret itself. Only where it is sent (a request header, an MQTT login).
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn shown(&self) -> &'static str {
        if self.0.is_empty() {
            "<empty>"
        } else {
            "<redacted>"
        }
    }
}

/// For clap, which reads a flag's or a variable's value through `From<String>`.
impl From<String> for Secret {
    fn from(secret: String) -> Secret {
        Secret(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.shown())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.shown())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_what_it_holds() {
        let secret: Secret = serde_json::from_str("\"hunter2\"").unwrap();
        assert_eq!(secret.expose(), "hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{:?}", Secret::default()), "Secret(<empty>)");
        assert_eq!(Secret::from("x".to_owned()).expose(), "x");
    }
}
