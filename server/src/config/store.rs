//! The `[store]` section and its `[store.influxdb]` part: which time-series store, how the
//! writer batches into it, how long the embedded store keeps each resolution, and how to reach
//! InfluxDB 2. The store module is built from these; they know nothing of it.

use serde::Deserialize;

use crate::secret::Secret;

/// Which time-series store, and how the writer batches into it.
#[derive(Debug, Clone, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    #[arg(
        long = "store",
        value_name = "STORE",
        env = "IOC_STORE",
        help = "The time-series store: embedded (SQLite) or influxdb"
    )]
    pub backend: StoreBackend,
    /// How long the embedded store keeps each resolution.
    #[arg(skip)]
    pub retention: Retention,
    /// The InfluxDB 2 server, when `backend = "influxdb"`.
    #[command(flatten)]
    pub influxdb: InfluxConfig,
    /// A batch is written at least this often (ms); at most 1000.
    #[arg(skip)]
    pub flush_ms: u64,
    /// Data points per write to InfluxDB, at most (at most 5,000). The embedded store commits
    /// up to 50,000 points per transaction (`EMBEDDED_BATCH_POINTS`), as SQLite pays per commit.
    #[arg(skip)]
    pub max_batch_points: usize,
    /// Messages waiting for the writer, at most.
    #[arg(skip)]
    pub queue_capacity: usize,
    /// Size of the on-disk spool used while the store is down, MiB.
    #[arg(skip)]
    pub spool_max_mb: u64,
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

/// How long the embedded store keeps each resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Retention {
    pub raw_days: u32,
    pub minute_days: u32,
    pub hour_days: u32,
    pub event_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            raw_days: 7,
            minute_days: 90,
            hour_days: 5 * 365,
            event_days: 90,
        }
    }
}

/// How to reach InfluxDB 2 (`[store.influxdb]`). Every field has a default, so a config names
/// only what differs.
#[derive(Debug, Clone, Deserialize, clap::Args)]
#[serde(default, deny_unknown_fields)]
pub struct InfluxConfig {
    /// The server's base URL, `http://host:8086`. Only `http://`: this build carries no TLS
    /// library; to encrypt the link, put a TLS-terminating proxy next to this server. No
    /// path either: the client always talks to `/api/v2/...` at the root.
    #[arg(
        id = "influxdb_url",
        long = "influxdb-url",
        value_name = "INFLUXDB_URL",
        env = "IOC_INFLUXDB_URL",
        help = "InfluxDB 2 URL (with --store influxdb)"
    )]
    pub url: String,
    /// The organization that owns the bucket.
    #[arg(
        id = "influxdb_org",
        long = "influxdb-org",
        value_name = "INFLUXDB_ORG",
        env = "IOC_INFLUXDB_ORG"
    )]
    pub org: String,
    /// The bucket every point goes to; its retention is configured in InfluxDB.
    #[arg(
        id = "influxdb_bucket",
        long = "influxdb-bucket",
        value_name = "INFLUXDB_BUCKET",
        env = "IOC_INFLUXDB_BUCKET"
    )]
    pub bucket: String,
    /// An API token allowed to write and read the bucket. Empty sends no `Authorization`
    /// header (for servers that need none).
    #[arg(
        id = "influxdb_token",
        long = "influxdb-token",
        value_name = "INFLUXDB_TOKEN",
        env = "IOC_INFLUXDB_TOKEN",
        hide_env_values = true,
        help = "InfluxDB 2 API token; prefer the environment variable to the flag"
    )]
    pub token: Secret,
    /// The longest one request may take, from connecting to the last byte of the answer.
    /// Past it the write is `Unavailable` (and spooled), the query fails.
    #[arg(skip)]
    pub timeout_ms: u64,
}

impl Default for InfluxConfig {
    fn default() -> Self {
        InfluxConfig {
            url: "http://127.0.0.1:8086".into(),
            org: "ioc".into(),
            bucket: "ioc".into(),
            token: Secret::default(),
            timeout_ms: 10_000,
        }
    }
}
