//! Configuration: defaults, then a TOML file, then environment variables and command-line
//! flags (clap gives both from one declaration; the flag wins over the variable).
//!
//! Every setting has a default that runs the demo on one machine, so no file is needed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ioc_protocol::Domain;
use serde::Deserialize;

/// rumqttd's router logs an ERROR for every client that sends DISCONNECT before closing its
/// socket (a well-behaved client: the router sees two disconnections), so its routing module is
/// quiet by default; the rest of rumqttd reports warnings.
pub const DEFAULT_LOG: &str = "info,rumqttd=warn,rumqttd::router::routing=off";

/// The server's whole configuration, validated.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the HTTP server (app, API, websocket) listens. Port 0 picks a free port.
    pub http_listen: SocketAddr,
    /// The built app (Trunk's output), served at `/`.
    pub dist_dir: PathBuf,
    /// Where the server keeps its files (store, spool, users).
    pub data_dir: PathBuf,
    /// The city preset; `None` is the built-in Ho Chi Minh City preset.
    pub city_preset: Option<PathBuf>,
    /// A GeoJSON file of the areas' boundaries, drawn on the map; overrides the one the
    /// preset names. Features are matched to areas by name.
    pub city_boundaries: Option<PathBuf>,
    /// Log filter in `tracing`'s env-filter syntax, e.g. `info` or `ioc_server=debug`.
    pub log: String,
    /// How log lines look: text for a terminal, or JSON (one object per line) for a log
    /// collector.
    pub log_format: LogFormat,
    pub mqtt: MqttConfig,
    pub live: LiveConfig,
    pub http: HttpConfig,
    pub store: StoreConfig,
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

/// Which time-series store, and how the writer batches into it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    pub backend: StoreBackend,
    /// How long the embedded store keeps each resolution.
    pub retention: crate::store::embedded::Retention,
    /// The InfluxDB 2 server, when `backend = "influxdb"`.
    pub influxdb: crate::store::influx::InfluxConfig,
    /// A batch is written at least this often (ms); at most 1000.
    pub flush_ms: u64,
    /// Data points per write to InfluxDB, at most (at most 5,000). The embedded store commits
    /// up to 50,000 points per transaction (`EMBEDDED_BATCH_POINTS`), as SQLite pays per commit.
    pub max_batch_points: usize,
    /// Messages waiting for the writer, at most.
    pub queue_capacity: usize,
    /// Size of the on-disk spool used while the store is down, MiB.
    pub spool_max_mb: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreBackend {
    /// SQLite in the data directory.
    Embedded,
    /// InfluxDB 2 (`[store.influxdb]`).
    Influxdb,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            backend: StoreBackend::Embedded,
            retention: Default::default(),
            influxdb: Default::default(),
            flush_ms: 200,
            max_batch_points: 5000,
            queue_capacity: 20_000,
            spool_max_mb: 1024,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MqttConfig {
    /// An external broker (`mqtt://host:port`). When set, no broker is embedded.
    pub url: Option<String>,
    /// Where the embedded broker listens when no external broker is set. Port 0 picks one.
    pub embedded_listen: SocketAddr,
    /// The subscriber's client id. It must be stable across restarts: the broker keeps the
    /// persistent session (and the QoS 1 messages not yet acknowledged) under this id.
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Gateways must log in (`ioc-server gateway add`): the embedded broker refuses anonymous
    /// and unknown clients, and ingest refuses what a gateway is not granted.
    pub gateway_auth: bool,
    /// Run as one replica of several (docs/scaling.md): the store's subscription is shared in
    /// this group (`$share/GROUP/ioc/v1/#`), so each reading is written by one replica, and a
    /// second connection (`client_id` + `-live`, QoS 0) reads every reading for the live
    /// picture. Needs an external broker with shared subscriptions (Mosquitto 2, EMQX) and a
    /// store the replicas share (InfluxDB); each replica has its own `client_id`.
    pub shared_group: Option<String>,
    /// The largest MQTT packet the subscriber accepts. Larger than the contract's 16 KiB
    /// payload limit on purpose, so that an oversized payload is counted as `too_large`
    /// instead of breaking the connection.
    pub max_packet_bytes: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// Changes within this window are sent to browsers as one delta. The first change after
    /// a quiet spell is sent at once.
    pub coalesce_ms: u64,
    /// Seconds without a reading after which a domain's figures of an area are stale.
    pub stale_after_s: BTreeMap<Domain, u32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Origins allowed to open `/ws`, besides the server's own (same host and port).
    pub allowed_origins: Vec<String>,
    /// A websocket send that takes longer than this drops the client: it is not reading.
    pub ws_send_timeout_ms: u64,
    /// How often the server pings each websocket (and sends a heartbeat message).
    pub ws_ping_ms: u64,
    /// A websocket peer silent this long (not even answering pings) is dropped as dead.
    pub ws_dead_after_ms: u64,
    /// The session cookie as `__Host-ioc_session` with `Secure`: browsers then send it over
    /// HTTPS only. Turn on when the server is reached over TLS (a TLS proxy in front of it);
    /// off, the cookie is `ioc_session`, for plain HTTP on a trusted network or localhost.
    pub secure_cookie: bool,
    /// A user's session ends after this many minutes without a request (an open console
    /// counts as activity).
    pub session_idle_minutes: u64,
    /// And after this many hours whatever happens.
    pub session_hours: u64,
    /// A wall display's session, days.
    pub display_session_days: u64,
    /// HTTPS: a PEM certificate chain and its PEM private key. With both, the server speaks
    /// TLS only, and the session cookie is `__Host-` and Secure.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// A bearer token that lets a Prometheus scraper read `/metrics` without a session
    /// (supervisors and admins can read it with theirs). Prefer `IOC_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            http_listen: ([127, 0, 0, 1], 8080).into(),
            dist_dir: PathBuf::from("dist"),
            data_dir: PathBuf::from("data"),
            city_preset: None,
            city_boundaries: None,
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

/// What `ioc-server` does besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Manages the users who may log in (in the data directory).
    #[command(subcommand)]
    User(UserCommand),
    /// Manages the keys of wall displays.
    #[command(subcommand, name = "display-key")]
    DisplayKey(KeyCommand),
    /// Manages the gateways that may publish, and what each may publish.
    #[command(subcommand)]
    Gateway(GatewayCommand),
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum GatewayCommand {
    /// Adds a gateway; prints its MQTT user name and password, once.
    Add {
        name: String,
        /// Area codes it may publish under, comma-separated, or `*`.
        #[arg(long, value_delimiter = ',', required = true)]
        areas: Vec<String>,
        /// Source ids it may publish as, comma-separated; `aqs-*` for a prefix, `*` for any.
        #[arg(long, value_delimiter = ',', required = true)]
        sources: Vec<String>,
    },
    /// Revokes a gateway: it can no longer connect nor publish.
    Revoke { name: String },
    /// Lists the gateways and their grants.
    List,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum UserCommand {
    /// Adds a user; prints a random password, once.
    Add {
        name: String,
        /// admin, supervisor, officer or viewer.
        #[arg(long, default_value = "officer")]
        role: String,
    },
    /// Gives a user a new random password (printed once), enables them, ends their sessions.
    Reset { name: String },
    /// Disables a user and ends their sessions.
    Disable { name: String },
    /// Lists the users.
    List,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum KeyCommand {
    /// Creates a display key; prints the wall's address, once.
    Add { name: String },
    /// Revokes a display key (its walls are cut off at once if the server runs).
    Revoke { id: String },
    /// Lists the display keys.
    List,
}

/// The command line. Each flag can also be given by its environment variable.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(
    name = "ioc-server",
    version,
    about = "The city operations center's server"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// A TOML configuration file (every setting is optional).
    #[arg(long, short, env = "IOC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address for HTTP, the app and the websocket (port 0: any free port).
    #[arg(long, env = "IOC_HTTP_LISTEN")]
    pub http_listen: Option<SocketAddr>,
    /// The built app to serve.
    #[arg(long, env = "IOC_DIST_DIR")]
    pub dist_dir: Option<PathBuf>,
    /// Directory for the server's files.
    #[arg(long, env = "IOC_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// City preset file (default: the built-in Ho Chi Minh City preset).
    #[arg(long, env = "IOC_CITY_PRESET")]
    pub city_preset: Option<PathBuf>,
    /// Gateways must log in with their credentials (`ioc-server gateway add`).
    #[arg(long, env = "IOC_GATEWAY_AUTH")]
    pub gateway_auth: bool,
    /// HTTPS certificate chain (PEM); with --tls-key, the server speaks TLS.
    #[arg(long, env = "IOC_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// HTTPS private key (PEM).
    #[arg(long, env = "IOC_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// A bearer token for Prometheus to read `/metrics` (else a supervisor's session).
    #[arg(long, env = "IOC_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// GeoJSON boundaries of the city's areas, for the map (default: the preset's own, if any).
    #[arg(long, env = "IOC_CITY_BOUNDARIES")]
    pub city_boundaries: Option<PathBuf>,
    /// External MQTT broker, `mqtt://host:port`; no broker is embedded when set.
    #[arg(long, env = "IOC_MQTT_URL")]
    pub mqtt_url: Option<String>,
    /// Address of the embedded MQTT broker (port 0: any free port).
    #[arg(long, env = "IOC_MQTT_LISTEN")]
    pub mqtt_listen: Option<SocketAddr>,
    /// The subscriber's stable MQTT client id.
    #[arg(long, env = "IOC_MQTT_CLIENT_ID")]
    pub mqtt_client_id: Option<String>,
    /// Run as a replica: share the store's subscription in this group (docs/scaling.md).
    #[arg(long, env = "IOC_MQTT_SHARED_GROUP")]
    pub mqtt_shared_group: Option<String>,
    #[arg(long, env = "IOC_MQTT_USERNAME")]
    pub mqtt_username: Option<String>,
    #[arg(long, env = "IOC_MQTT_PASSWORD", hide_env_values = true)]
    pub mqtt_password: Option<String>,
    /// Coalescing window of live updates, in milliseconds.
    #[arg(long, env = "IOC_COALESCE_MS")]
    pub coalesce_ms: Option<u64>,
    /// Log filter, e.g. `info` or `ioc_server=debug`.
    #[arg(long, env = "IOC_LOG")]
    pub log: Option<String>,
    /// Log lines as text or JSON.
    #[arg(long, env = "IOC_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// The time-series store: embedded (SQLite) or influxdb.
    #[arg(long, env = "IOC_STORE")]
    pub store: Option<StoreBackend>,
    /// InfluxDB 2 URL (with --store influxdb).
    #[arg(long, env = "IOC_INFLUXDB_URL")]
    pub influxdb_url: Option<String>,
    #[arg(long, env = "IOC_INFLUXDB_ORG")]
    pub influxdb_org: Option<String>,
    #[arg(long, env = "IOC_INFLUXDB_BUCKET")]
    pub influxdb_bucket: Option<String>,
    /// InfluxDB 2 API token; prefer the environment variable to the flag.
    #[arg(long, env = "IOC_INFLUXDB_TOKEN", hide_env_values = true)]
    pub influxdb_token: Option<String>,
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
}

impl Config {
    /// Builds the configuration from the command line (and its environment variables),
    /// reading the TOML file it names, if any.
    pub fn from_cli(cli: &Cli) -> Result<Config, ConfigError> {
        let mut config = match &cli.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.apply(cli);
        config.validate()?;
        Ok(config)
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

    fn apply(&mut self, cli: &Cli) {
        fn set<T: Clone>(slot: &mut T, v: &Option<T>) {
            if let Some(v) = v {
                *slot = v.clone();
            }
        }
        set(&mut self.http_listen, &cli.http_listen);
        set(&mut self.dist_dir, &cli.dist_dir);
        set(&mut self.data_dir, &cli.data_dir);
        set(&mut self.log, &cli.log);
        set(&mut self.log_format, &cli.log_format);
        set(&mut self.mqtt.embedded_listen, &cli.mqtt_listen);
        set(&mut self.mqtt.client_id, &cli.mqtt_client_id);
        set(&mut self.live.coalesce_ms, &cli.coalesce_ms);
        set(&mut self.store.backend, &cli.store);
        set(&mut self.store.influxdb.url, &cli.influxdb_url);
        set(&mut self.store.influxdb.org, &cli.influxdb_org);
        set(&mut self.store.influxdb.bucket, &cli.influxdb_bucket);
        if let Some(t) = &cli.influxdb_token {
            self.store.influxdb.token = crate::store::influx::Token::new(t.clone());
        }
        if cli.city_preset.is_some() {
            self.city_preset.clone_from(&cli.city_preset);
        }
        if cli.gateway_auth {
            self.mqtt.gateway_auth = true;
        }
        if cli.tls_cert.is_some() {
            self.http.tls_cert.clone_from(&cli.tls_cert);
        }
        if cli.metrics_token.is_some() {
            self.http.metrics_token.clone_from(&cli.metrics_token);
        }
        if cli.tls_key.is_some() {
            self.http.tls_key.clone_from(&cli.tls_key);
        }
        if cli.city_boundaries.is_some() {
            self.city_boundaries.clone_from(&cli.city_boundaries);
        }
        if cli.mqtt_url.is_some() {
            self.mqtt.url.clone_from(&cli.mqtt_url);
        }
        if cli.mqtt_shared_group.is_some() {
            self.mqtt.shared_group.clone_from(&cli.mqtt_shared_group);
        }
        if cli.mqtt_username.is_some() {
            self.mqtt.username.clone_from(&cli.mqtt_username);
        }
        if cli.mqtt_password.is_some() {
            self.mqtt.password.clone_from(&cli.mqtt_password);
        }
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
    use super::*;

    #[test]
    fn defaults_need_no_file() {
        let c = Config::from_cli(&Cli::default()).unwrap();
        assert_eq!(c.http_listen.port(), 8080);
        assert_eq!(c.mqtt.embedded_listen.to_string(), "127.0.0.1:1883");
        assert!(c.mqtt.url.is_none());
        assert_eq!(c.live.stale_after(Domain::Env), Duration::from_secs(600));
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
        c.apply(&Cli {
            http_listen: Some("127.0.0.1:9100".parse().unwrap()),
            ..Cli::default()
        });
        assert_eq!(c.http_listen.port(), 9100);
        assert_eq!(c.live.coalesce_ms, 50);
    }

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
