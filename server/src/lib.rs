//! The city operations center's server.
//!
//! The data path, one module a step:
//!
//! ```text
//! gateway --MQTT--> ingest::broker (embedded) or an external broker
//!         --link--> ingest (decode, grant, count: Intake) --+--> live (Hub) --> http::ws --> tile
//! city system --HTTP--> http::ingest ------------------------+--> alerts
//!                                                            +--> store::writer --> store
//! ```
//!
//! The modules, in the order [`start`] composes them (`serve.rs`):
//!
//! - [`config`]: the settings, declared once for the TOML file, the environment and flags,
//!   and their checks; [`cli`]: the command line (`--config`, the admin subcommands);
//!   [`secret`]: the redacting type of passwords and tokens.
//! - [`crc32`]: CRC-32, for the store's journal and the spreadsheets' zip entries.
//! - [`city`]: the city preset (areas, their names and outlines, the sensors).
//! - [`ingest`]: the ways in (the embedded MQTT endpoint, the links to an external broker,
//!   HTTP ingest's domain half) and the intake: decoding, the gateway grant, counting, the
//!   hand-on to the hub, the alerts and the writer.
//! - [`store`]: the writer (batches, durability, acknowledgements handed back), the spool,
//!   the embedded SQLite store and InfluxDB 2, the history reads.
//! - [`live`]: the hub (the current figures of every tile, coalesced deltas, the fan-out),
//!   the figures cut by domain, and the restore of the picture from the store on start.
//! - [`indicators`]: the city's socio-economic indicators: the one set of rules their values
//!   go through (MQTT reports, the POST, spreadsheets), their revisions in the store, the
//!   admin's targets, the series read back.
//! - [`alerts`]: the alert engine (rules, anomalies, lifecycle) and its file.
//! - [`auth`]: users, sessions, display keys, gateway credentials, throttling, the audit log
//!   (no HTTP inside).
//! - [`health`]: the system's own health, read by the hub and by `/metrics` through one
//!   narrow interface.
//! - [`lock`]: the data directory's lock (one server per directory); [`backup`]: the
//!   consistent copy of the data directory while the server runs, and its restore.
//! - [`http`]: the HTTP edge: the route table and its access table, every handler, one
//!   error type, the websocket session, TLS, the listener.
//!
//! Handlers depend on the domain modules, never the reverse; the store knows no transport;
//! a value that crosses a wire is defined once, in `ioc_protocol`. `docs/architecture.md`
//! says where each new kind of data goes.
//!
//! [`start`] starts it all on the sockets the config names (port 0 allowed) and returns a
//! [`Running`] server that tells its addresses and stops on [`Running::shutdown`].

pub mod alerts;
pub mod auth;
pub mod backup;
pub mod city;
pub mod cli;
pub mod config;
pub mod crc32;
pub mod health;
pub mod http;
pub mod indicators;
pub mod ingest;
pub mod live;
pub mod lock;
pub mod secret;
mod serve;
pub mod store;

pub use serve::{Running, start};
pub use store::EMBEDDED_BATCH_POINTS;

/// Midnight of today in Ho Chi Minh City (UTC+7, no daylight saving), epoch ms: daily counts
/// start there.
pub use ioc_protocol::time::local_midnight_ms;
