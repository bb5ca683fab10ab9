//! The embedded store: one SQLite file in the data directory.
//!
//! - WAL mode with `synchronous = FULL`: a committed batch survives a crash of the process and
//!   of the machine, which is what acknowledging a QoS 1 message promises.
//! - `raw` holds one row per reading, keyed by (source, ts), its fields packed in one blob
//!   (see `codec.rs`): a QoS 1 duplicate is ignored, so it is stored, and rolled up, once.
//!   One row per reading instead of one per field divides the B-tree inserts by the number of
//!   fields (4 to 9), which is most of what a write costs.
//! - `rollup_1m` and `rollup_1h` hold, per source and bucket, min, max, sum and count of every
//!   numeric field (packed the same way), kept up to date in the same transaction as the raw
//!   rows, so history over months is read from a few thousand rows and a reader never sees a
//!   half-written batch.
//! - `events` holds every status change of every complaint and dossier.
//! - `indicator_revisions` holds every revision of every socio-economic indicator value,
//!   committed one submission at a time on a connection of its own (`indicators.rs`), never
//!   deleted by retention.
//! - Retention deletes what is older than each resolution keeps (raw 7 days, 1-minute 90 days,
//!   1-hour 5 years by default).
//!
//! One writer connection and any number of read-only connections for history queries, which
//! WAL lets run while the writer writes.
//!
//! The server does not commit each batch here as it comes: a batch is made durable in the
//! journal (`journal.rs`, one sequential write and sync), acknowledged, and folded into this
//! file with what else came meanwhile, in large sorted transactions, by a thread of its own
//! (`folder.rs`). History sees a batch once it is folded: at once at a city's usual rates,
//! within about a quarter of a second under load.
//!
//! The file says its layout in `PRAGMA user_version`. A file of the first layout (one raw row
//! per field, schema 0) is moved aside, never deleted, and a new file is started.
//!
//! The parts, in the order a batch goes through them:
//!
//! - `journal.rs`: where a batch becomes durable, before it is acknowledged;
//! - `folder.rs`: [`folder::EmbeddedWriter`], the journal and the thread that folds it into
//!   the file;
//! - `writer.rs`: [`EmbeddedStore`], the SQLite writer: a batch and its rollups in one
//!   transaction, retention;
//! - `indicators.rs`: [`EmbeddedIndicators`], the indicator revisions;
//! - `reader.rs`: [`EmbeddedReader`], history and what rebuilds the live picture;
//! - `schema.rs`: the tables, the layout version, moving an older file aside;
//! - `codec.rs`: how fields and aggregates are packed into the rows' blobs and the journal's
//!   records.

mod codec;
pub mod folder;
mod indicators;
pub mod journal;
mod reader;
mod schema;
mod writer;

pub use self::indicators::EmbeddedIndicators;
pub use self::reader::EmbeddedReader;
pub use self::writer::EmbeddedStore;

/// How long each resolution is kept: a setting, `[store] retention`.
pub use crate::config::Retention;

#[cfg(test)]
mod tests;
