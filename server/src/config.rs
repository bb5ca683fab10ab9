//! The settings: one struct per section of the TOML file, their defaults and their checks
//! ([`Config::validate`]). Each setting is declared once, for the file, its environment
//! variable and its flag alike.
//!
//! Where a setting comes from, each overriding the one before: its default, the TOML file
//! (serde), its environment variable, its flag (clap: `#[arg(long, env)]` on the field). [`Config::load`] reads the file over the defaults, then sets the settings
//! given as variables or flags, and only those. A field with `#[arg(skip)]` is set in the file
//! only. The command line itself (`--config`, the admin subcommands) is the `cli` module's.
//!
//! A field's doc says what the setting does; its `help` is the one line `--help` shows.
//! The settings have no defaults on the command line, so their flags are added with
//! [`augment_args_for_update`](clap::Args::augment_args_for_update) (none required) and the
//! matches set over a config ([`Config::override_with`]), never
//! `<Config as FromArgMatches>::from_arg_matches` alone.
//!
//! Every setting has a default that runs the demo on one machine, so no file is needed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::FromArgMatches;
use ioc_protocol::Domain;
use serde::Deserialize;

use crate::secret::Secret;

mod store;
pub use store::{InfluxConfig, Retention, StoreBackend, StoreConfig};

/// What the server logs unless `log` says otherwise.
pub const DEFAULT_LOG: &str = "info";

/// The server's whole configuration, validated.
#[derive(Debug, Clone, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP server (app, API, websocket) listens. Port 0 picks a free port.
    #[arg(
        long,
        env = "IOC_HTTP_LISTEN",
        help = "Address for HTTP, the app and the websocket (port 0: any free port)"
    )]
    pub http_listen: SocketAddr,
    /// The built app (Trunk's output) to serve at `/` from disk, for development. Unset, the
    /// app built into the binary (or `dist` in the working directory, for a binary built
    /// without it).
    #[arg(
        long,
        env = "IOC_DIST_DIR",
        help = "Serve the app from this directory (default: the app built into the binary)"
    )]
    pub dist_dir: Option<PathBuf>,
    /// Where the server keeps its files (store, spool, users).
    #[arg(long, env = "IOC_DATA_DIR", help = "Directory for the server's files")]
    pub data_dir: PathBuf,
    /// The city preset; `None` is the built-in Ho Chi Minh City preset.
    #[arg(
        long,
        env = "IOC_CITY_PRESET",
        help = "City preset file (default: the built-in Ho Chi Minh City preset)"
    )]
    pub city_preset: Option<PathBuf>,
    /// A GeoJSON file of the areas' boundaries, drawn on the map; overrides the one the
    /// preset names. Features are matched to areas by name.
    #[arg(
        long,
        env = "IOC_CITY_BOUNDARIES",
        help = "GeoJSON boundaries of the city's areas, for the map (default: the preset's own, if any)"
    )]
    pub city_boundaries: Option<PathBuf>,
    /// The catalogue of socio-economic indicators (groups, indicators, targets), checked
    /// against the city preset; `None` is the built-in catalogue of Ho Chi Minh City, which a
    /// city of another preset replaces with its own.
    #[arg(
        long,
        env = "IOC_INDICATOR_CATALOGUE",
        help = "Indicator catalogue file (default: the built-in Ho Chi Minh City catalogue)"
    )]
    pub indicator_catalogue: Option<PathBuf>,
    /// Log filter in `tracing`'s env-filter syntax, e.g. `info` or `ioc_server=debug`.
    #[arg(
        long,
        env = "IOC_LOG",
        help = "Log filter, e.g. `info` or `ioc_server=debug`"
    )]
    pub log: String,
    /// How log lines look: text for a terminal, or JSON (one object per line) for a log
    /// collector.
    #[arg(long, env = "IOC_LOG_FORMAT", help = "Log lines as text or JSON")]
    pub log_format: LogFormat,
    #[command(flatten)]
    pub mqtt: MqttConfig,
    #[command(flatten)]
    pub live: LiveConfig,
    #[command(flatten)]
    pub http: HttpConfig,
    #[command(flatten)]
    pub store: StoreConfig,
    #[arg(skip)]
    pub alerts: AlertsConfig,
}

/// How alerts are raised (the rules themselves are in the city preset).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// New alerts a minute, at most; beyond it one summary alert says how many were held
    /// (held ones open later, once the minute has room, if their condition still holds).
    pub max_new_per_minute: u32,
    /// A resolved alert no one closed is closed after this many hours.
    pub close_resolved_after_h: u64,
    /// Anomaly detection on every numeric series of the readings.
    pub anomaly: bool,
    /// A value is anomalous when it departs this many robust standard deviations from the
    /// series' recent course (what its last readings predict)...
    pub anomaly_score: f64,
    /// ...and this many from its baseline for its hour of the day and day type, the same way...
    pub anomaly_seasonal_score: f64,
    /// ...for at least this long and `anomaly_min_readings` readings in a row.
    pub anomaly_window_s: u64,
    pub anomaly_min_readings: u32,
    /// The anomaly ends when the value is back within this score for as long.
    pub anomaly_clear_score: f64,
    /// Readings a baseline slot needs before it is used.
    pub anomaly_min_samples: u32,
    /// Fields that are states or events, not measures (`up`, `rain_mmh`, `congestion`), left
    /// to the rules.
    pub anomaly_skip_fields: Vec<String>,
    pub anomaly_severity: ioc_protocol::alerts::Severity,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            max_new_per_minute: 30,
            close_resolved_after_h: 24,
            anomaly: true,
            anomaly_score: 6.0,
            anomaly_seasonal_score: 2.0,
            anomaly_window_s: 300,
            anomaly_min_readings: 3,
            anomaly_clear_score: 3.0,
            anomaly_min_samples: 30,
            // `up` is a state, `rain_mmh` an intermittent event (zero most of the time), and
            // `congestion` a level 0-5 derived from `speed_kmh`, which is watched.
            anomaly_skip_fields: vec!["up".into(), "rain_mmh".into(), "congestion".into()],
            anomaly_severity: ioc_protocol::alerts::Severity::Warning,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// An external broker (`mqtt://host:port`). When set, no broker is embedded.
    #[arg(
        long = "mqtt-url",
        value_name = "MQTT_URL",
        env = "IOC_MQTT_URL",
        help = "External MQTT broker, `mqtt://host:port`; no broker is embedded when set"
    )]
    pub url: Option<String>,
    /// Where the embedded MQTT endpoint listens when no external broker is set. Port 0 picks
    /// one.
    #[arg(
        long = "mqtt-listen",
        value_name = "MQTT_LISTEN",
        env = "IOC_MQTT_LISTEN",
        help = "Address of the embedded MQTT endpoint (port 0: any free port)"
    )]
    pub embedded_listen: SocketAddr,
    /// The subscriber's client id. It must be stable across restarts: the broker keeps the
    /// persistent session (and the QoS 1 messages not yet acknowledged) under this id.
    #[arg(
        long = "mqtt-client-id",
        value_name = "MQTT_CLIENT_ID",
        env = "IOC_MQTT_CLIENT_ID",
        help = "The subscriber's stable MQTT client id"
    )]
    pub client_id: String,
    #[arg(
        long = "mqtt-username",
        value_name = "MQTT_USERNAME",
        env = "IOC_MQTT_USERNAME"
    )]
    pub username: Option<String>,
    #[arg(
        long = "mqtt-password",
        value_name = "MQTT_PASSWORD",
        env = "IOC_MQTT_PASSWORD",
        hide_env_values = true
    )]
    pub password: Option<Secret>,
    /// Gateways must log in (`ioc-server gateway add`): the embedded endpoint refuses anonymous
    /// and unknown clients, and ingest refuses what a gateway is not granted. A switch: its
    /// flag or variable turns it on, never off ([`Config::override_with`]).
    #[arg(
        long,
        env = "IOC_GATEWAY_AUTH",
        help = "Gateways must log in with their credentials (`ioc-server gateway add`)"
    )]
    pub gateway_auth: bool,
    /// Run as one replica of several (docs/scaling.md): the store's subscription is shared in
    /// this group (`$share/GROUP/ioc/v1/#`), so each reading is written by one replica, and a
    /// second connection (`client_id` + `-live`, QoS 0) reads every reading for the live
    /// picture. Needs an external broker with shared subscriptions (Mosquitto 2, EMQX) and a
    /// store the replicas share (InfluxDB); each replica has its own `client_id`.
    #[arg(
        long = "mqtt-shared-group",
        value_name = "MQTT_SHARED_GROUP",
        env = "IOC_MQTT_SHARED_GROUP",
        help = "Run as a replica: share the store's subscription in this group (docs/scaling.md)"
    )]
    pub shared_group: Option<String>,
    /// The largest MQTT packet the subscriber accepts. Larger than the contract's 16 KiB
    /// payload limit on purpose, so that an oversized payload is counted as `too_large`
    /// instead of breaking the connection.
    #[arg(skip)]
    pub max_packet_bytes: usize,
    /// The embedded endpoint: clients connected at once, at most; past it a CONNECT is refused
    /// (3.1.1: 0x03 server unavailable; 5: 0x97 quota exceeded).
    #[arg(skip)]
    pub max_connections: usize,
    /// The embedded endpoint: a connection's QoS 1 and 2 messages waiting to be durable, at
    /// most (MQTT 5's Receive Maximum); past it the endpoint stops reading that connection
    /// until acknowledgements free room. A gateway's own in-flight window should not be
    /// larger.
    #[arg(
        long = "mqtt-max-inflight",
        value_name = "MQTT_MAX_INFLIGHT",
        env = "IOC_MQTT_MAX_INFLIGHT",
        help = "Embedded endpoint: unacknowledged QoS 1/2 messages per connection, at most"
    )]
    pub max_inflight: usize,
    /// The embedded endpoint: persistent sessions remembered (`mqtt-sessions.json`), at most.
    #[arg(skip)]
    pub max_sessions: usize,
    /// The embedded endpoint: how long a persistent session is remembered after its client
    /// was last seen, in seconds (MQTT 5 clients may ask for less).
    #[arg(skip)]
    pub session_expiry_s: u64,
    /// The embedded endpoint: messages relayed live to a debugging subscriber that may wait,
    /// at most; past it they are dropped for that subscriber (counted).
    #[arg(skip)]
    pub relay_capacity: usize,
}

#[derive(Debug, Clone, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// Changes within this window are sent to browsers as one delta. The first change after
    /// a quiet spell is sent at once.
    #[arg(
        long,
        env = "IOC_COALESCE_MS",
        help = "Coalescing window of live updates, in milliseconds"
    )]
    pub coalesce_ms: u64,
    /// Seconds without a reading after which a domain's figures of an area are stale.
    #[arg(skip)]
    pub stale_after_s: BTreeMap<Domain, u32>,
}

#[derive(Debug, Clone, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Origins allowed to open `/ws`, besides the server's own (same host and port).
    #[arg(skip)]
    pub allowed_origins: Vec<String>,
    /// A websocket send that takes longer than this drops the client: it is not reading.
    #[arg(skip)]
    pub ws_send_timeout_ms: u64,
    /// How often the server pings each websocket (and sends a heartbeat message).
    #[arg(skip)]
    pub ws_ping_ms: u64,
    /// A websocket peer silent this long (not even answering pings) is dropped as dead.
    #[arg(skip)]
    pub ws_dead_after_ms: u64,
    /// The session cookie as `__Host-ioc_session` with `Secure`: browsers then send it over
    /// HTTPS only. Turn on when the server is reached over TLS (a TLS proxy in front of it);
    /// off, the cookie is `ioc_session`, for plain HTTP on a trusted network or localhost.
    #[arg(skip)]
    pub secure_cookie: bool,
    /// A user's session ends after this many minutes without a request (an open console
    /// counts as activity).
    #[arg(skip)]
    pub session_idle_minutes: u64,
    /// And after this many hours whatever happens.
    #[arg(skip)]
    pub session_hours: u64,
    /// A wall display's session, days.
    #[arg(skip)]
    pub display_session_days: u64,
    /// HTTPS: a PEM certificate chain and its PEM private key. With both, the server speaks
    /// TLS only, and the session cookie is `__Host-` and Secure.
    #[arg(
        long,
        env = "IOC_TLS_CERT",
        help = "HTTPS certificate chain (PEM); with --tls-key, the server speaks TLS"
    )]
    pub tls_cert: Option<PathBuf>,
    #[arg(long, env = "IOC_TLS_KEY", help = "HTTPS private key (PEM)")]
    pub tls_key: Option<PathBuf>,
    /// A bearer token that lets a Prometheus scraper read `/metrics` without a session
    /// (supervisors and admins can read it with theirs). Prefer `IOC_METRICS_TOKEN`.
    #[arg(
        long,
        env = "IOC_METRICS_TOKEN",
        hide_env_values = true,
        help = "A bearer token for Prometheus to read `/metrics` (else a supervisor's session)"
    )]
    pub metrics_token: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_listen: ([127, 0, 0, 1], 8080).into(),
            dist_dir: None,
            data_dir: PathBuf::from("data"),
            city_preset: None,
            city_boundaries: None,
            indicator_catalogue: None,
            log: DEFAULT_LOG.into(),
            log_format: LogFormat::Text,
            mqtt: MqttConfig::default(),
            live: LiveConfig::default(),
            http: HttpConfig::default(),
            store: StoreConfig::default(),
            alerts: AlertsConfig::default(),
        }
    }
}

impl Default for MqttConfig {
    fn default() -> Self {
        MqttConfig {
            url: None,
            embedded_listen: ([127, 0, 0, 1], 1883).into(),
            client_id: "ioc-server-1".into(),
            username: None,
            password: None,
            gateway_auth: false,
            shared_group: None,
            max_packet_bytes: 256 * 1024,
            max_connections: 10_000,
            max_inflight: 1_000,
            max_sessions: 10_000,
            session_expiry_s: 7 * 24 * 3600,
            relay_capacity: 1_024,
        }
    }
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            coalesce_ms: 100,
            stale_after_s: default_stale_after(),
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            allowed_origins: Vec::new(),
            ws_send_timeout_ms: 10_000,
            ws_ping_ms: 10_000,
            ws_dead_after_ms: 35_000,
            secure_cookie: false,
            session_idle_minutes: 30,
            session_hours: 12,
            display_session_days: 365,
            tls_cert: None,
            tls_key: None,
            metrics_token: None,
        }
    }
}

/// About three times each domain's usual reporting interval.
fn default_stale_after() -> BTreeMap<Domain, u32> {
    [
        (Domain::Traffic, 180),
        (Domain::Env, 600),
        (Domain::Flood, 600),
        (Domain::System, 120),
        (Domain::Complaint, 3600),
        (Domain::Service, 3600),
    ]
    .into()
}

impl LiveConfig {
    pub fn stale_after(&self, domain: Domain) -> Duration {
        let s = self
            .stale_after_s
            .get(&domain)
            .copied()
            .or_else(|| default_stale_after().get(&domain).copied())
            .unwrap_or(600);
        Duration::from_secs(u64::from(s))
    }
}

/// A configuration that cannot be used, said so that the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting {field}: {why}")]
    Invalid { field: &'static str, why: String },
    /// The environment variables and flags do not fit the settings: a bug, not the operator's.
    #[error(transparent)]
    Args(#[from] clap::Error),
}

impl Config {
    /// The configuration: the defaults, then the TOML file, if any, then the settings `given`
    /// as environment variables or flags (matched against a command that
    /// [`augment_args_for_update`](clap::Args::augment_args_for_update) gave the settings'
    /// flags); validated.
    pub fn load(file: Option<&Path>, given: &clap::ArgMatches) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.override_with(given)?;
        config.validate()?;
        Ok(config)
    }

    /// Sets the settings given as environment variables or flags, and only those.
    pub fn override_with(&mut self, given: &clap::ArgMatches) -> Result<(), clap::Error> {
        // A switch always has a value on the command line, false when not given: it turns its
        // setting on, never off what the file turned on.
        let gateway_auth = self.mqtt.gateway_auth;
        self.update_from_arg_matches(given)?;
        self.mqtt.gateway_auth |= gateway_auth;
        Ok(())
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    pub fn from_toml(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.mqtt.url {
            parse_mqtt_url(url).map_err(|why| ConfigError::Invalid {
                field: "mqtt.url",
                why,
            })?;
        }
        if let Some(group) = &self.mqtt.shared_group {
            let why = if self.mqtt.url.is_none() {
                Some(
                    "replicas need an external broker (mqtt.url): the embedded one is in one process",
                )
            } else if self.store.backend == StoreBackend::Embedded {
                Some(
                    "replicas need a store they share (store.backend = \"influxdb\"): each one's embedded store would hold only its share",
                )
            } else if group.is_empty() || group.contains(['/', '+', '#']) {
                Some("a group name, without '/', '+' or '#'")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(ConfigError::Invalid {
                    field: "mqtt.shared_group",
                    why: why.into(),
                });
            }
        }
        let id = &self.mqtt.client_id;
        if id.is_empty() || id.len() > 64 {
            return Err(ConfigError::Invalid {
                field: "mqtt.client_id",
                why: "must be 1 to 64 characters".into(),
            });
        }
        if self.http.ws_ping_ms < 100 || self.http.ws_dead_after_ms <= self.http.ws_ping_ms {
            return Err(ConfigError::Invalid {
                field: "http.ws_dead_after_ms",
                why: "must be longer than http.ws_ping_ms (at least 100 ms): a live browser \
                      answers each ping"
                    .into(),
            });
        }
        if self.live.coalesce_ms > 5_000 {
            return Err(ConfigError::Invalid {
                field: "live.coalesce_ms",
                why: "at most 5000 ms: the wall must stay live".into(),
            });
        }
        if self.store.flush_ms == 0 || self.store.flush_ms > 1000 {
            return Err(ConfigError::Invalid {
                field: "store.flush_ms",
                why: "must be 1 to 1000 ms: batches are written at least every second".into(),
            });
        }
        if !(1..=5000).contains(&self.store.max_batch_points) {
            return Err(ConfigError::Invalid {
                field: "store.max_batch_points",
                why: "must be 1 to 5000".into(),
            });
        }
        if self.store.backend == StoreBackend::Influxdb && self.store.influxdb.url.is_empty() {
            return Err(ConfigError::Invalid {
                field: "store.influxdb.url",
                why: "the influxdb backend needs a URL (IOC_INFLUXDB_URL)".into(),
            });
        }
        let a = &self.alerts;
        if a.max_new_per_minute == 0 {
            return Err(ConfigError::Invalid {
                field: "alerts.max_new_per_minute",
                why: "must be at least 1".into(),
            });
        }
        if !(a.anomaly_score.is_finite()
            && a.anomaly_clear_score > 0.0
            && a.anomaly_clear_score < a.anomaly_score)
        {
            return Err(ConfigError::Invalid {
                field: "alerts.anomaly_clear_score",
                why: "must be above 0 and below alerts.anomaly_score (hysteresis)".into(),
            });
        }
        if a.anomaly_min_readings == 0 || a.anomaly_min_samples == 0 {
            return Err(ConfigError::Invalid {
                field: "alerts.anomaly_min_readings",
                why: "alerts.anomaly_min_readings and anomaly_min_samples must be at least 1"
                    .into(),
            });
        }
        if self.mqtt.max_packet_bytes < ioc_protocol::ingest::MAX_PAYLOAD_BYTES + 1024 {
            return Err(ConfigError::Invalid {
                field: "mqtt.max_packet_bytes",
                why: "must exceed the contract's 16 KiB payload limit".into(),
            });
        }
        Ok(())
    }
}

/// `mqtt://host:port` (or `tcp://`), port 1883 when left out.
pub fn parse_mqtt_url(url: &str) -> Result<(String, u16), String> {
    let rest = url
        .strip_prefix("mqtt://")
        .or_else(|| url.strip_prefix("tcp://"))
        .ok_or_else(|| format!("{url:?} must start with mqtt:// or tcp://"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .map_err(|_| format!("{url:?} has a bad port {p:?}"))?,
        ),
        None => (rest, 1883),
    };
    if host.is_empty() {
        return Err(format!("{url:?} has no host"));
    }
    Ok((host.trim_matches(['[', ']']).to_owned(), port))
}

#[cfg(test)]
mod tests {
    use clap::Args as _;

    use super::*;

    /// The settings given by these flags (and by the environment, as `ioc-server` reads it).
    fn given(flags: &[&str]) -> clap::ArgMatches {
        Config::augment_args_for_update(clap::Command::new("ioc-server"))
            .try_get_matches_from(std::iter::once(&"ioc-server").chain(flags))
            .unwrap()
    }

    #[test]
    fn defaults_need_no_file() {
        let c = Config::load(None, &given(&[])).unwrap();
        assert_eq!(c.http_listen.port(), 8080);
        assert_eq!(c.mqtt.embedded_listen.to_string(), "127.0.0.1:1883");
        assert!(c.mqtt.url.is_none());
        assert_eq!(c.live.stale_after(Domain::Env), Duration::from_secs(600));
        // No directory: the app built into the binary.
        assert_eq!(c.dist_dir, None);
    }

    #[test]
    fn a_dist_dir_set_in_the_file_or_by_a_flag_is_served_from_disk() {
        let mut c = Config::from_toml("dist_dir = \"/srv/app\"\n").unwrap();
        assert_eq!(c.dist_dir.as_deref(), Some(Path::new("/srv/app")));
        c.override_with(&given(&["--http-listen", "127.0.0.1:9100"]))
            .unwrap();
        assert_eq!(c.dist_dir.as_deref(), Some(Path::new("/srv/app")));
        c.override_with(&given(&["--dist-dir", "dist"])).unwrap();
        assert_eq!(c.dist_dir.as_deref(), Some(Path::new("dist")));
    }

    #[test]
    fn file_then_flags() {
        let mut c = Config::from_toml(
            r#"
            http_listen = "127.0.0.1:9000"
            [mqtt]
            url = "mqtt://broker.local:1884"
            [live]
            coalesce_ms = 50
            stale_after_s = { env = 60 }
            "#,
        )
        .unwrap();
        assert_eq!(c.http_listen.port(), 9000);
        assert_eq!(c.live.stale_after(Domain::Env), Duration::from_secs(60));
        assert_eq!(
            c.live.stale_after(Domain::Traffic),
            Duration::from_secs(180)
        );
        c.override_with(&given(&["--http-listen", "127.0.0.1:9100"]))
            .unwrap();
        assert_eq!(c.http_listen.port(), 9100);
        assert_eq!(c.live.coalesce_ms, 50);
    }

    #[test]
    fn flags_set_only_what_they_name_in_every_section() {
        let mut c = Config::from_toml(
            "log = \"warn\"\n[mqtt]\nclient_id = \"from-file\"\ngateway_auth = true\n\
             [store.influxdb]\norg = \"file-org\"\nbucket = \"file-bucket\"\n",
        )
        .unwrap();
        c.override_with(&given(&[
            "--mqtt-url=mqtt://b:1884",
            "--coalesce-ms",
            "20",
            "--tls-key",
            "k.pem",
            "--store",
            "influxdb",
            "--influxdb-org",
            "flag-org",
        ]))
        .unwrap();
        assert_eq!(c.log, "warn");
        assert_eq!(c.mqtt.client_id, "from-file");
        assert_eq!(c.mqtt.url.as_deref(), Some("mqtt://b:1884"));
        // A switch not given leaves the file's setting on.
        assert!(c.mqtt.gateway_auth);
        assert_eq!(c.live.coalesce_ms, 20);
        assert_eq!(c.http.tls_key, Some(PathBuf::from("k.pem")));
        assert_eq!(c.store.backend, StoreBackend::Influxdb);
        assert_eq!(c.store.influxdb.org, "flag-org");
        assert_eq!(c.store.influxdb.bucket, "file-bucket");
        assert_eq!(c.store.influxdb.url, "http://127.0.0.1:8086");

        let mut c = Config::default();
        c.override_with(&given(&["--gateway-auth"])).unwrap();
        assert!(c.mqtt.gateway_auth);
    }

    #[test]
    fn no_secret_is_shown() {
        let mut c = Config::from_toml(
            "[mqtt]\nusername = \"ioc\"\npassword = \"mqtt-pa55word\"\n\
             [http]\nmetrics_token = \"metr1cs-token\"\n",
        )
        .unwrap();
        c.override_with(&given(&["--influxdb-token", "infl0x-token"]))
            .unwrap();
        let secrets = [
            c.mqtt.password.as_ref().unwrap().expose(),
            c.http.metrics_token.as_ref().unwrap().expose(),
            c.store.influxdb.token.expose(),
        ];
        assert_eq!(secrets, ["mqtt-pa55word", "metr1cs-token", "infl0x-token"]);
        let shown = format!("{c:?} {c:#?}");
        for secret in secrets {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(
            shown.contains("password: Some(Secret(<redacted>))"),
            "{shown}"
        );
    }

    /// The sample of README.md's "Running the server", copied as it is.
    #[test]
    fn the_readme_sample_loads() {
        let c = Config::from_toml(README_SAMPLE).unwrap();
        c.validate().unwrap();
        assert_eq!(c.http_listen.port(), 8080);
        assert_eq!(c.log, "info");
        assert_eq!(c.dist_dir, None);
        assert_eq!(c.live.stale_after(Domain::Flood), Duration::from_secs(600));
        assert_eq!(c.store.retention.hour_days, 1825);
        assert_eq!(
            c.alerts.anomaly_skip_fields,
            ["up", "rain_mmh", "congestion"]
        );
        assert!(c.store.influxdb.token.is_empty());
    }

    /// The sample the package installs as /etc/ioc/ioc-server.toml (`scripts/package`).
    #[test]
    fn the_packaged_sample_loads() {
        let c = Config::from_toml(include_str!("../../packaging/ioc-server.toml")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.data_dir, Path::new("/var/lib/ioc"));
        assert_eq!(c.dist_dir, None, "the app built into the binary");
        assert_eq!(c.http_listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.log, DEFAULT_LOG);
        assert_eq!(c.store.backend, StoreBackend::Embedded);
    }

    const README_SAMPLE: &str = r#"
http_listen = "127.0.0.1:8080"   # IOC_HTTP_LISTEN
# dist_dir = "dist"               # IOC_DIST_DIR: serve the app from disk (development);
                                  # default, the app built into the binary
data_dir = "data"                 # IOC_DATA_DIR
# city_preset = "my-city.toml"    # IOC_CITY_PRESET: default, the built-in Ho Chi Minh City
# city_boundaries = "districts.geojson"  # IOC_CITY_BOUNDARIES: the areas' outlines for the map
# indicator_catalogue = "my-city-indicators.toml"  # IOC_INDICATOR_CATALOGUE: default, the built-in
log = "info"                      # IOC_LOG (tracing env-filter syntax)
log_format = "text"               # IOC_LOG_FORMAT: text, or json (one object per line)

[mqtt]
# url = "mqtt://broker.local:1883"  # IOC_MQTT_URL: an external broker (Mosquitto, EMQX);
                                    # when set, no broker is embedded
embedded_listen = "127.0.0.1:1883"  # IOC_MQTT_LISTEN
client_id = "ioc-server-1"          # IOC_MQTT_CLIENT_ID: stable, an external broker keeps our
                                    # session under it
max_inflight = 1000                 # IOC_MQTT_MAX_INFLIGHT: embedded endpoint, a connection's
                                    # messages waiting to be durable (MQTT 5 Receive Maximum)
max_connections = 10000             # embedded endpoint: clients at once
max_sessions = 10000                # embedded endpoint: persistent sessions remembered
session_expiry_s = 604800           # embedded endpoint: a persistent session outlives its
                                    # client's last visit by this much
relay_capacity = 1024               # embedded endpoint: messages waiting for one (debugging)
                                    # subscriber before they are dropped for it
# shared_group = "ioc"              # IOC_MQTT_SHARED_GROUP: one replica of several, with an
                                    # external broker and InfluxDB (docs/scaling.md)

[live]
coalesce_ms = 100                   # IOC_COALESCE_MS
stale_after_s = { traffic = 180, env = 600, flood = 600, system = 120 }

[http]
allowed_origins = []                # origins allowed to open /ws besides the server's own
ws_send_timeout_ms = 10000          # a browser that takes longer to accept a frame is dropped
ws_ping_ms = 10000                  # ping and heartbeat on every websocket
ws_dead_after_ms = 35000            # a browser silent this long (no pong) is dropped
# metrics_token = "..."             # IOC_METRICS_TOKEN: Prometheus' bearer token for /metrics

[store]
backend = "embedded"                # IOC_STORE: embedded (SQLite in data_dir) or influxdb
flush_ms = 200                      # a batch is written at least this often
max_batch_points = 5000             # per InfluxDB write; SQLite commits up to 50,000 points at once
spool_max_mb = 1024                 # on-disk spool used while the store is down
retention = { raw_days = 7, minute_days = 90, hour_days = 1825, event_days = 90 }

[alerts]                            # the rules themselves are in the city preset
max_new_per_minute = 30             # beyond it, one summary alert counts those held
close_resolved_after_h = 24         # resolved alerts no one closed are closed then
anomaly = true                      # anomaly detection on every numeric series
anomaly_score = 6.0                 # departure from the recent course, robust std. deviations
anomaly_seasonal_score = 2.0        # and from the hour's baseline (weekday, Saturday, Sunday)
anomaly_clear_score = 3.0
anomaly_window_s = 300              # sustained this long, over 3 readings at least
anomaly_skip_fields = ["up", "rain_mmh", "congestion"]

[store.influxdb]                    # with backend = "influxdb"
url = "http://127.0.0.1:8086"       # IOC_INFLUXDB_URL
org = "ioc"                         # IOC_INFLUXDB_ORG
bucket = "ioc"                      # IOC_INFLUXDB_BUCKET
token = ""                          # IOC_INFLUXDB_TOKEN (never logged)
timeout_ms = 10000
"#;

    #[test]
    fn logs_and_websocket_timing_from_the_file_and_checked() {
        let c = Config::from_toml(
            "log_format = \"json\"\n[http]\nws_ping_ms = 500\nws_dead_after_ms = 2000\n",
        )
        .unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!((c.http.ws_ping_ms, c.http.ws_dead_after_ms), (500, 2000));
        c.validate().unwrap();
        let bad =
            Config::from_toml("[http]\nws_ping_ms = 5000\nws_dead_after_ms = 5000\n").unwrap();
        let e = bad.validate().unwrap_err();
        assert!(e.to_string().contains("ws_dead_after_ms"), "{e}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = Config::from_toml("htp_listen = \"127.0.0.1:1\"").unwrap_err();
        assert!(e.to_string().contains("htp_listen"), "{e}");
    }

    #[test]
    fn a_replica_needs_an_external_broker_and_a_shared_store() {
        let replica = "[mqtt]\nshared_group = \"ioc\"\n";
        let why = |toml: &str| {
            Config::from_toml(toml)
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string()
        };
        assert!(why(replica).contains("external broker"));
        let with_broker = format!("{replica}url = \"mqtt://b:1883\"\n");
        assert!(why(&with_broker).contains("a store they share"));
        let ok = format!("{with_broker}[store]\nbackend = \"influxdb\"\n");
        Config::from_toml(&ok).unwrap().validate().unwrap();
        let bad_name = ok.replace("\"ioc\"", "\"a/b\"");
        assert!(why(&bad_name).contains("without '/'"));
    }

    #[test]
    fn mqtt_urls() {
        assert_eq!(parse_mqtt_url("mqtt://h:1"), Ok(("h".into(), 1)));
        assert_eq!(parse_mqtt_url("tcp://h"), Ok(("h".into(), 1883)));
        assert!(parse_mqtt_url("http://h").is_err());
        assert!(parse_mqtt_url("mqtt://h:x").is_err());
        assert!(parse_mqtt_url("mqtt://:1").is_err());
    }
}
