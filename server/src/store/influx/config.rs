//! How to reach InfluxDB 2 ([`InfluxConfig`], the `[store.influxdb]` section) and the API
//! token that goes with it ([`Token`]).

use std::fmt;

use serde::Deserialize;

/// How to reach InfluxDB 2. Every field has a default, so a config names only what differs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InfluxConfig {
    /// The server's base URL, `http://host:8086`. Only `http://`: this build carries no TLS
    /// library; to encrypt the link, put a TLS-terminating proxy next to this server. No
    /// path either: the client always talks to `/api/v2/...` at the root.
    pub url: String,
    /// The organization that owns the bucket.
    pub org: String,
    /// The bucket every point goes to; its retention is configured in InfluxDB.
    pub bucket: String,
    /// An API token allowed to write and read the bucket. Empty sends no `Authorization`
    /// header (for servers that need none).
    pub token: Token,
    /// The longest one request may take, from connecting to the last byte of the answer.
    /// Past it the write is `Unavailable` (and spooled), the query fails.
    pub timeout_ms: u64,
}

impl Default for InfluxConfig {
    fn default() -> Self {
        InfluxConfig {
            url: "http://127.0.0.1:8086".into(),
            org: "ioc".into(),
            bucket: "ioc".into(),
            token: Token::default(),
            timeout_ms: 10_000,
        }
    }
}

/// An API token. Its `Debug` shows only whether it is set, and it has no `Display`, so it
/// cannot end up in a log line, an error or a config dump by accident; [`Token::expose`] is
/// the one way to read it, for the `Authorization` header.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    pub fn new(token: impl Into<String>) -> Token {
        Token(token.into())
    }

    /// The token itself. Only for the request header.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("Token(<empty>)")
        } else {
            f.write_str("Token(<redacted>)")
        }
    }
}
