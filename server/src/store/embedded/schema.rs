//! The embedded store's layout: its tables, the version it says in `PRAGMA user_version`, the
//! widths of its rollups, moving a file of an older layout aside, and reading the id tables
//! (`sources`, `fields`) that the writer and the readers share.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ioc_protocol::{Domain, Topic};
use rusqlite::Connection;

use crate::store::StoreError;

pub(super) const MINUTE: i64 = 60_000;
pub(super) const HOUR: i64 = 3_600_000;
pub(super) const DAY: i64 = 24 * HOUR;

/// The layout this code reads and writes, kept in `PRAGMA user_version`. A table added with
/// `CREATE TABLE IF NOT EXISTS` (`indicator_revisions`) leaves the layout as it was: a file of
/// this layout gains it when opened, and an older server passes over it.
pub(super) const SCHEMA_VERSION: i64 = 2;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL, area TEXT NOT NULL, source TEXT NOT NULL,
    UNIQUE (domain, area, source)
);
CREATE TABLE IF NOT EXISTS fields (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS raw (
    source INTEGER NOT NULL, ts INTEGER NOT NULL,
    fields BLOB NOT NULL,
    PRIMARY KEY (source, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1m (
    source INTEGER NOT NULL, bucket INTEGER NOT NULL,
    aggs BLOB NOT NULL,
    PRIMARY KEY (source, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
    source INTEGER NOT NULL, bucket INTEGER NOT NULL,
    aggs BLOB NOT NULL,
    PRIMARY KEY (source, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    domain TEXT NOT NULL, area TEXT NOT NULL, source TEXT NOT NULL,
    id TEXT NOT NULL, ts INTEGER NOT NULL, status TEXT NOT NULL, seq INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (domain, id, ts, status)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE TABLE IF NOT EXISTS indicator_revisions (
    id INTEGER PRIMARY KEY,
    indicator TEXT NOT NULL, area TEXT NOT NULL, period TEXT NOT NULL,
    value REAL NOT NULL,
    reported_ms INTEGER NOT NULL, received_ms INTEGER NOT NULL,
    unit TEXT NOT NULL, by TEXT NOT NULL, way TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS indicator_revisions_key
    ON indicator_revisions (indicator, area, period, id);
";

pub(super) fn corrupt(what: &str) -> StoreError {
    StoreError::Query(format!("the store file holds a corrupt {what} row"))
}

pub(super) fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable {
        reason: format!("SQLite: {e}"),
        retry_after_ms: None,
    }
}

pub(super) fn domain_of(s: &str) -> Option<Domain> {
    s.parse().ok()
}

/// Reads every source id with its topic.
pub(super) fn load_sources(conn: &Connection) -> Result<Vec<(i64, Topic)>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, domain, area, source FROM sources")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql_err)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, d, a, s) = row.map_err(sql_err)?;
        if let Some(d) = domain_of(&d) {
            out.push((id, Topic::new(d, a, s)));
        }
    }
    Ok(out)
}

/// Reads every field id with its name.
pub(super) fn load_fields(conn: &Connection) -> Result<HashMap<u32, String>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, name FROM fields")
        .map_err(sql_err)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))
        .map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

/// Moves a file of an older layout aside (with its WAL), so that nothing is deleted, and says
/// where it went.
pub(super) fn move_aside(path: &Path, version: i64) -> Result<(), StoreError> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let to = path.with_file_name(format!("{name}.schema{version}-{stamp}"));
    for suffix in ["", "-wal", "-shm"] {
        let from = PathBuf::from(format!("{}{suffix}", path.display()));
        if from.exists() {
            let dest = PathBuf::from(format!("{}{suffix}", to.display()));
            std::fs::rename(&from, &dest).map_err(|e| StoreError::Unavailable {
                reason: format!("cannot move {} aside: {e}", from.display()),
                retry_after_ms: None,
            })?;
        }
    }
    tracing::warn!(
        old = %to.display(),
        "the store file had an older layout (schema {version}); it was moved aside, kept as it \
         was, and a new store was started"
    );
    Ok(())
}

/// The layout of an existing file: its `user_version`, or 1 for the first layout, which did
/// not set it (its raw table has a `series` column).
pub(super) fn schema_of(conn: &Connection) -> Result<i64, StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(sql_err)?;
    if version != 0 {
        return Ok(version);
    }
    let first: i64 = conn
        .query_row(
            "SELECT count(*) FROM pragma_table_info('raw') WHERE name = 'series'",
            [],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    Ok(if first > 0 { 1 } else { 0 })
}
