//! The InfluxDB 2 backend: line protocol out, Flux in, through the `influxdb2` crate (0.5).
//!
//! That crate sends one HTTP request per call and nothing more: it neither batches nor
//! retries, sets no request timeout, and drops the response headers. So here:
//!
//! - [`InfluxStore::write`] sends the batch it is given as one request; batching and retrying
//!   are the writer's (which spools meanwhile);
//! - the HTTP client gets a timeout ([`InfluxConfig::timeout_ms`]), so that a server that
//!   stalls turns into [`StoreError::Unavailable`](super::StoreError::Unavailable) instead of a writer stuck forever;
//! - a `Retry-After` cannot be honoured (the crate drops it): `retry_after_ms` is always
//!   `None`.
//!
//! # Schema
//!
//! One point per message. The measurement is the domain (`traffic`, `env`, `flood`,
//! `system`, `complaint`, `service`), the tags are `area` and `source` (from the topic).
//!
//! - A reading's fields are its values: numbers as floats, bools as bools, text as strings.
//! - A complaint has the fields `id`, `status`, `category`, `channel`, and `ward`, `due`
//!   (epoch ms, integer), `lat`, `lon` when it has them; a dossier `id`, `service`,
//!   `agency`, `status`, `online`, and `due` when it has one.
//!
//! Timestamps are written in nanoseconds. A reading is at `ts` exactly, so the pair
//! (topic, `ts`) is its point, and a QoS 1 duplicate or a replay from the spool overwrites
//! itself. An event is at `ts` plus an offset below one millisecond taken from a hash of its
//! id (`event_offset_ns`): InfluxDB identifies a point by measurement, tags and time, and
//! two complaints of one source in the same millisecond (a portal that syncs with times to
//! the second sends many such) would otherwise overwrite each other. The offset keeps
//! `ts` readable to the millisecond, keeps the status changes of one id at different times
//! apart, and keeps a duplicate of one event on one point. Putting the id in a tag instead
//! would make one series per complaint: millions of series a year, which InfluxDB handles
//! badly.
//!
//! The socio-economic indicators' revisions are points of a measurement of their own,
//! `indicator` (its schema in `indicators.rs`).
//!
//! The message's `seq` is not stored: nothing reads it back (the live hub does not use it).
//!
//! The parts:
//!
//! - its settings, [`InfluxConfig`] and its [`Token`], are `crate::config`'s;
//! - `client.rs`: [`InfluxStore`], the HTTP client, its timeouts, and how failures map to
//!   [`StoreError`](super::StoreError);
//! - `line_protocol.rs`: what a write sends;
//! - `flux.rs`: what each query asks;
//! - `records.rs`: reading the answers back;
//! - `indicators.rs`: the indicator revisions, written and read back.

mod client;
mod flux;
mod indicators;
mod line_protocol;
mod records;

pub use self::client::{InfluxSetupError, InfluxStore};
pub use crate::config::InfluxConfig;

/// An API token: a [`Secret`](crate::secret::Secret), which never shows in a log line, an error
/// or a config dump; `expose` is the one way to read it, for the `Authorization` header.
pub type Token = crate::secret::Secret;

#[cfg(test)]
mod tests;
