//! The embedded store: one SQLite file in the data directory.
//!
//! - WAL mode with `synchronous = FULL`: a committed batch survives a crash of the process and
//!   of the machine, which is what acknowledging a QoS 1 message promises.
//! - `raw` holds one row per reading, keyed by (source, ts), its fields packed in one blob
//!   (see [`pack_fields`]): a QoS 1 duplicate is ignored, so it is stored, and rolled up, once.
//!   One row per reading instead of one per field divides the B-tree inserts by the number of
//!   fields (4 to 9), which is most of what a write costs.
//! - `rollup_1m` and `rollup_1h` hold, per source and bucket, min, max, sum and count of every
//!   numeric field (packed the same way), kept up to date in the same transaction as the raw
//!   rows, so history over months is read from a few thousand rows and a reader never sees a
//!   half-written batch.
//! - `events` holds every status change of every complaint and dossier.
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

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ioc_protocol::{Body, Domain, Event, Message, Topic, Value};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Deserialize;

use super::{Bucket, HistoryQuery, StoreError};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// The layout this code reads and writes, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

/// How long each resolution is kept.
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

const SCHEMA: &str = "
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
";

/// The writer's side of the embedded store.
#[derive(Debug)]
pub struct EmbeddedStore {
    conn: Connection,
    path: PathBuf,
    retention: Retention,
    /// Source ids by topic and field ids by name, so that a write looks them up in memory.
    sources: HashMap<Topic, i64>,
    fields: HashMap<String, u32>,
}

/// A running sum of one field in one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Agg {
    min: f64,
    max: f64,
    sum: f64,
    count: u64,
}

impl Agg {
    fn new(v: f64) -> Agg {
        Agg {
            min: v,
            max: v,
            sum: v,
            count: 1,
        }
    }

    fn merge(&mut self, o: &Agg) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
    }
}

/// The aggregates of every numeric field of one source in one bucket: a handful of fields, so
/// a vector searched in order beats a map.
type Aggs = Vec<(u32, Agg)>;

/// Adds every field of `from` into `into`.
fn merge_all(into: &mut Aggs, from: &Aggs) {
    for (id, a) in from {
        merge_into(into, *id, a);
    }
}

fn merge_into(aggs: &mut Aggs, field: u32, a: &Agg) {
    match aggs.iter_mut().find(|(f, _)| *f == field) {
        Some((_, b)) => b.merge(a),
        None => aggs.push((field, *a)),
    }
}

/// The rollup rows of one resolution that a batch adds to, by (source, bucket start), kept in
/// key order so that the upserts go through the table's pages in order. Readings of one source
/// and bucket that come one after another (a fold's input is sorted) are summed without a
/// lookup each.
struct Rollup {
    width: i64,
    rows: BTreeMap<(i64, i64), Aggs>,
    run: Option<((i64, i64), Aggs)>,
}

impl Rollup {
    fn new(width: i64) -> Rollup {
        Rollup {
            width,
            rows: BTreeMap::new(),
            run: None,
        }
    }

    fn add(&mut self, source: i64, ts: i64, fields: &[(u32, &Value)]) {
        let key = (source, ts.div_euclid(self.width) * self.width);
        let aggs = match &mut self.run {
            Some((k, aggs)) if *k == key => aggs,
            run => {
                if let Some((k, aggs)) = run.replace((key, Vec::new())) {
                    Rollup::put(&mut self.rows, k, aggs);
                }
                &mut run.as_mut().expect("just set").1
            }
        };
        for (id, value) in fields {
            if let Some(v) = value.as_number() {
                merge_into(aggs, *id, &Agg::new(v));
            }
        }
    }

    fn put(rows: &mut BTreeMap<(i64, i64), Aggs>, key: (i64, i64), aggs: Aggs) {
        match rows.entry(key) {
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(aggs);
            }
            std::collections::btree_map::Entry::Occupied(mut e) => merge_all(e.get_mut(), &aggs),
        }
    }

    fn finish(mut self) -> BTreeMap<(i64, i64), Aggs> {
        if let Some((k, aggs)) = self.run.take() {
            Rollup::put(&mut self.rows, k, aggs);
        }
        self.rows
    }
}

// The packed blobs. Both are a sequence of entries, each starting with the field's id as a
// LEB128 varint:
// - raw fields: a tag byte, then 0 = number (f64 LE), 1 = false, 2 = true, 3 = text (varint
//   length, UTF-8 bytes);
// - rollup aggregates: min, max, sum as f64 LE, count as u64 LE.

const TAG_NUMBER: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_TEXT: u8 = 3;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Reads packed data, failing on anything truncated or malformed instead of panicking.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Cursor<'a> {
        Cursor { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    fn byte(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
}

/// Appends one value: its tag byte and what follows (see above). The raw rows' blobs and the
/// journal's records encode values so.
fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Number(n) => {
            out.push(TAG_NUMBER);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Text(s) => {
            out.push(TAG_TEXT);
            put_str(out, s);
        }
    }
}

/// Appends a string: its length as a varint, then its UTF-8 bytes.
fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Packs a reading's fields (by field id) into the raw row's blob.
fn pack_fields(out: &mut Vec<u8>, fields: &[(u32, &Value)]) {
    for (id, value) in fields {
        put_varint(out, u64::from(*id));
        put_value(out, value);
    }
}

/// One field of a raw row's blob, borrowed from it.
enum Packed<'a> {
    Number(f64),
    Bool(bool),
    Text(&'a [u8]),
}

impl Packed<'_> {
    /// The value, owned; `None` for text that is not UTF-8.
    fn to_value(&self) -> Option<Value> {
        Some(match *self {
            Packed::Number(n) => Value::Number(n),
            Packed::Bool(b) => Value::Bool(b),
            Packed::Text(t) => Value::Text(std::str::from_utf8(t).ok()?.to_owned()),
        })
    }
}

impl<'a> Cursor<'a> {
    /// The next value written by [`put_value`].
    fn value(&mut self) -> Option<Packed<'a>> {
        Some(match self.byte()? {
            TAG_NUMBER => Packed::Number(self.f64()?),
            TAG_FALSE => Packed::Bool(false),
            TAG_TRUE => Packed::Bool(true),
            TAG_TEXT => {
                let n = usize::try_from(self.varint()?).ok()?;
                Packed::Text(self.bytes(n)?)
            }
            _ => return None,
        })
    }

    /// The next (field id, value) of a raw row's blob.
    fn field(&mut self) -> Option<(u32, Packed<'a>)> {
        let id = u32::try_from(self.varint()?).ok()?;
        Some((id, self.value()?))
    }
}

/// Unpacks a raw row's blob into (field id, value) pairs.
fn unpack_fields(blob: &[u8]) -> Option<Vec<(u32, Value)>> {
    let mut c = Cursor::new(blob);
    let mut out = Vec::new();
    while !c.done() {
        let (id, value) = c.field()?;
        out.push((id, value.to_value()?));
    }
    Some(out)
}

/// The number (see [`Value::as_number`]) of one field in a raw row's blob, without unpacking
/// the others: `Some(None)` when the field is absent or text, `None` when the blob is corrupt.
fn field_number(blob: &[u8], field: u32) -> Option<Option<f64>> {
    let mut c = Cursor::new(blob);
    while !c.done() {
        let (id, value) = c.field()?;
        if id == field {
            return Some(match value {
                Packed::Number(n) => Some(n),
                Packed::Bool(b) => Some(f64::from(u8::from(b))),
                Packed::Text(_) => None,
            });
        }
    }
    Some(None)
}

fn pack_aggs(aggs: &Aggs) -> Vec<u8> {
    let mut out = Vec::with_capacity(aggs.len() * 34);
    for (id, a) in aggs {
        put_varint(&mut out, u64::from(*id));
        out.extend_from_slice(&a.min.to_le_bytes());
        out.extend_from_slice(&a.max.to_le_bytes());
        out.extend_from_slice(&a.sum.to_le_bytes());
        out.extend_from_slice(&a.count.to_le_bytes());
    }
    out
}

fn unpack_aggs(blob: &[u8]) -> Option<Aggs> {
    let mut c = Cursor::new(blob);
    let mut out = Vec::new();
    while !c.done() {
        let id = u32::try_from(c.varint()?).ok()?;
        out.push((
            id,
            Agg {
                min: c.f64()?,
                max: c.f64()?,
                sum: c.f64()?,
                count: c.u64()?,
            },
        ));
    }
    Some(out)
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Query(format!("the store file holds a corrupt {what} row"))
}

fn sql_err(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable {
        reason: format!("SQLite: {e}"),
        retry_after_ms: None,
    }
}

fn domain_of(s: &str) -> Option<Domain> {
    s.parse().ok()
}

/// Reads every source id with its topic.
fn load_sources(conn: &Connection) -> Result<Vec<(i64, Topic)>, StoreError> {
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
fn load_fields(conn: &Connection) -> Result<HashMap<u32, String>, StoreError> {
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
fn move_aside(path: &Path, version: i64) -> Result<(), StoreError> {
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
fn schema_of(conn: &Connection) -> Result<i64, StoreError> {
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

fn open_writer(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(sql_err)?;
    // A 64 MiB page cache for the writer: a batch touches a page of the raw B-tree per source.
    // Under load each commit rewrites the same pages (every source's newest), so the WAL is
    // copied back into the file every 10,000 pages (40 MiB) instead of SQLite's 1,000: each
    // page is copied once per checkpoint however many commits changed it. Unpaced, with the
    // embedded broker, that took ingest from 48,600-50,200 to 63,300-63,800 readings/s
    // (docs/performance.md).
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;
         PRAGMA wal_autocheckpoint = 10000;",
    )
    .map_err(sql_err)?;
    // Merges two packed aggregate blobs; a corrupt one fails the statement, and so the batch.
    conn.create_scalar_function(
        "ioc_merge_aggs",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let unpack = |i: usize| {
                ctx.get_raw(i)
                    .as_blob()
                    .ok()
                    .and_then(unpack_aggs)
                    .ok_or_else(|| rusqlite::Error::UserFunctionError("corrupt rollup row".into()))
            };
            let mut old = unpack(0)?;
            merge_all(&mut old, &unpack(1)?);
            Ok(pack_aggs(&old))
        },
    )
    .map_err(sql_err)?;
    Ok(conn)
}

impl EmbeddedStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path, retention: Retention) -> Result<EmbeddedStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable {
                reason: format!("cannot create {}: {e}", dir.display()),
                retry_after_ms: None,
            })?;
        }
        let mut conn = open_writer(path)?;
        match schema_of(&conn)? {
            0 | SCHEMA_VERSION => {}
            v if v < SCHEMA_VERSION => {
                // Closing the last connection checkpoints the WAL into the file.
                drop(conn);
                move_aside(path, v)?;
                conn = open_writer(path)?;
            }
            v => {
                return Err(StoreError::Unavailable {
                    reason: format!(
                        "{} was written by a newer server (layout {v}; this one knows {SCHEMA_VERSION})",
                        path.display()
                    ),
                    retry_after_ms: None,
                });
            }
        }
        conn.execute_batch(SCHEMA).map_err(sql_err)?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(sql_err)?;
        let sources = load_sources(&conn)?
            .into_iter()
            .map(|(id, t)| (t, id))
            .collect();
        let fields = load_fields(&conn)?
            .into_iter()
            .map(|(id, name)| (name, id))
            .collect();
        Ok(EmbeddedStore {
            conn,
            path: path.to_owned(),
            retention,
            sources,
            fields,
        })
    }

    /// A handle for queries, with read-only connections of its own.
    pub fn reader(&self) -> EmbeddedReader {
        EmbeddedReader::at(&self.path)
    }

    /// Writes a batch in one transaction: all of it, or none.
    pub fn write<'a>(
        &mut self,
        batch: impl IntoIterator<Item = &'a Message>,
    ) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(sql_err)?;
        let mut minute = Rollup::new(MINUTE);
        let mut hour = Rollup::new(HOUR);
        // Ids are cached only after the commit: a rolled-back batch must not leave ids that
        // are not in the file.
        let mut new_sources: HashMap<Topic, i64> = HashMap::new();
        let mut new_fields: HashMap<String, u32> = HashMap::new();
        {
            let mut insert_source = tx
                .prepare_cached(
                    "INSERT INTO sources (domain, area, source) VALUES (?1, ?2, ?3) RETURNING id",
                )
                .map_err(sql_err)?;
            let mut insert_field = tx
                .prepare_cached("INSERT INTO fields (name) VALUES (?1) RETURNING id")
                .map_err(sql_err)?;
            let mut insert_raw = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO raw (source, ts, fields) VALUES (?1, ?2, ?3)",
                )
                .map_err(sql_err)?;
            let mut insert_event = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (domain, area, source, id, ts, status, seq, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(sql_err)?;
            let mut ids: Vec<(u32, &Value)> = Vec::new();
            let mut blob: Vec<u8> = Vec::new();
            for msg in batch {
                let t = &msg.topic;
                match &msg.body {
                    Body::Reading(values) => {
                        let source = match self.sources.get(t).or_else(|| new_sources.get(t)) {
                            Some(id) => *id,
                            None => {
                                let id: i64 = insert_source
                                    .query_row(params![t.domain.as_str(), t.area, t.source], |r| {
                                        r.get(0)
                                    })
                                    .map_err(sql_err)?;
                                new_sources.insert(t.clone(), id);
                                id
                            }
                        };
                        ids.clear();
                        for (field, value) in values {
                            let id = match self.fields.get(field).or_else(|| new_fields.get(field))
                            {
                                Some(id) => *id,
                                None => {
                                    let id: u32 = insert_field
                                        .query_row(params![field], |r| r.get(0))
                                        .map_err(sql_err)?;
                                    new_fields.insert(field.clone(), id);
                                    id
                                }
                            };
                            ids.push((id, value));
                        }
                        blob.clear();
                        pack_fields(&mut blob, &ids);
                        let inserted = insert_raw
                            .execute(params![source, msg.ts, blob])
                            .map_err(sql_err)?;
                        // A duplicate (same source and ts) is not counted twice.
                        if inserted == 0 {
                            continue;
                        }
                        minute.add(source, msg.ts, &ids);
                        hour.add(source, msg.ts, &ids);
                    }
                    Body::Event(event) => {
                        let (id, status) = match event {
                            Event::Complaint(c) => (&c.id, &c.status),
                            Event::Dossier(d) => (&d.id, &d.status),
                        };
                        let body = serde_json::to_string(event)
                            .map_err(|e| StoreError::Query(format!("cannot encode event: {e}")))?;
                        insert_event
                            .execute(params![
                                t.domain.as_str(),
                                t.area,
                                t.source,
                                id,
                                msg.ts,
                                status,
                                msg.seq.map(|s| s as i64),
                                body
                            ])
                            .map_err(sql_err)?;
                    }
                }
            }
            for (table, aggs) in [("rollup_1m", minute.finish()), ("rollup_1h", hour.finish())] {
                // One statement per source and bucket: the merge runs inside SQLite
                // (`ioc_merge_aggs`, registered on the writer's connection).
                let mut upsert = tx
                    .prepare_cached(&format!(
                        "INSERT INTO {table} (source, bucket, aggs) VALUES (?1, ?2, ?3)
                         ON CONFLICT (source, bucket) DO UPDATE
                         SET aggs = ioc_merge_aggs(aggs, excluded.aggs)"
                    ))
                    .map_err(sql_err)?;
                for ((source, bucket), new) in aggs {
                    if new.is_empty() {
                        continue;
                    }
                    upsert
                        .execute(params![source, bucket, pack_aggs(&new)])
                        .map_err(sql_err)?;
                }
            }
        }
        tx.commit().map_err(sql_err)?;
        self.sources.extend(new_sources);
        self.fields.extend(new_fields);
        Ok(())
    }

    /// Deletes what is older than each resolution keeps. Returns the rows deleted.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<usize, StoreError> {
        let r = self.retention;
        let cut = |days: u32| now_ms - i64::from(days) * DAY;
        let tx = self.conn.transaction().map_err(sql_err)?;
        let mut n = 0;
        {
            // Per source, so that each delete is a range of the primary key, not a scan.
            let mut raw = tx
                .prepare_cached("DELETE FROM raw WHERE source = ?1 AND ts < ?2")
                .map_err(sql_err)?;
            let mut minute = tx
                .prepare_cached("DELETE FROM rollup_1m WHERE source = ?1 AND bucket < ?2")
                .map_err(sql_err)?;
            let mut hour = tx
                .prepare_cached("DELETE FROM rollup_1h WHERE source = ?1 AND bucket < ?2")
                .map_err(sql_err)?;
            for id in self.sources.values() {
                n += raw.execute(params![id, cut(r.raw_days)]).map_err(sql_err)?;
                n += minute
                    .execute(params![id, cut(r.minute_days)])
                    .map_err(sql_err)?;
                n += hour
                    .execute(params![id, cut(r.hour_days)])
                    .map_err(sql_err)?;
            }
            n += tx
                .execute("DELETE FROM events WHERE ts < ?1", [cut(r.event_days)])
                .map_err(sql_err)?;
        }
        tx.commit().map_err(sql_err)?;
        Ok(n)
    }
}

/// Read-only access for queries; cheap to clone, safe to use from many tasks (each query
/// takes a connection from a small pool, in a blocking thread).
#[derive(Debug, Clone)]
pub struct EmbeddedReader {
    path: Arc<PathBuf>,
    pool: Arc<Mutex<Vec<Connection>>>,
}

impl EmbeddedReader {
    fn at(path: &Path) -> EmbeddedReader {
        EmbeddedReader {
            path: Arc::new(path.to_owned()),
            pool: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    self.path.as_ref(),
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )
                .map_err(sql_err)?;
                c.execute_batch("PRAGMA busy_timeout = 5000;")
                    .map_err(sql_err)?;
                c
            }
        };
        // One read transaction per query: every statement in it sees the same whole batches.
        let out = conn
            .execute_batch("BEGIN")
            .map_err(sql_err)
            .and_then(|()| f(&conn));
        let _ = conn.execute_batch("COMMIT");
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 4 {
            pool.push(conn);
        }
        out
    }

    /// At most `q.points` buckets of `q.field`, read from the coarsest resolution whose
    /// granularity still fits the bucket width.
    pub fn history(&self, q: &HistoryQuery) -> Result<Vec<Bucket>, StoreError> {
        if q.to <= q.from || q.points == 0 {
            return Ok(Vec::new());
        }
        let width = ((q.to - q.from) + i64::from(q.points) - 1) / i64::from(q.points);
        let width = width.max(1);
        let table = if width >= HOUR {
            "rollup_1h"
        } else if width >= MINUTE {
            "rollup_1m"
        } else {
            "raw"
        };
        self.with_conn(|c| {
            let field: Option<u32> = c
                .query_row("SELECT id FROM fields WHERE name = ?1", [&q.field], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(sql_err)?;
            let Some(field) = field else {
                return Ok(Vec::new());
            };
            let sources: Vec<i64> = {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT id FROM sources
                         WHERE domain = ?1 AND area = ?2 AND (?3 IS NULL OR source = ?3)",
                    )
                    .map_err(sql_err)?;
                stmt.query_map(params![q.domain.as_str(), q.area, q.source], |r| r.get(0))
                    .map_err(sql_err)?
                    .collect::<Result<_, _>>()
                    .map_err(sql_err)?
            };
            let key = if table == "raw" { "ts" } else { "bucket" };
            let blob = if table == "raw" { "fields" } else { "aggs" };
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {key}, {blob} FROM {table}
                     WHERE source = ?1 AND {key} >= ?2 AND {key} < ?3"
                ))
                .map_err(sql_err)?;
            let mut buckets: BTreeMap<i64, Agg> = BTreeMap::new();
            for source in sources {
                let mut rows = stmt.query(params![source, q.from, q.to]).map_err(sql_err)?;
                while let Some(row) = rows.next().map_err(sql_err)? {
                    let t: i64 = row.get(0).map_err(sql_err)?;
                    let bytes = row
                        .get_ref(1)
                        .map_err(sql_err)?
                        .as_blob()
                        .map_err(|_| corrupt(table))?;
                    let agg = if table == "raw" {
                        match field_number(bytes, field).ok_or_else(|| corrupt(table))? {
                            Some(v) => Agg::new(v),
                            None => continue,
                        }
                    } else {
                        match unpack_aggs(bytes)
                            .ok_or_else(|| corrupt(table))?
                            .into_iter()
                            .find(|(id, _)| *id == field)
                        {
                            Some((_, a)) => a,
                            None => continue,
                        }
                    };
                    buckets
                        .entry((t - q.from) / width)
                        .and_modify(|b| b.merge(&agg))
                        .or_insert(agg);
                }
            }
            Ok(buckets
                .into_iter()
                .map(|(b, a)| Bucket {
                    t: q.from + b * width,
                    min: a.min,
                    max: a.max,
                    mean: if a.count > 0 {
                        a.sum / a.count as f64
                    } else {
                        0.0
                    },
                    count: a.count,
                })
                .collect())
        })
    }

    /// The newest reading of every telemetry source kept in the raw table, one message per
    /// source, to rebuild the live hub at start. A field missing from the newest reading keeps
    /// its value from one of the source's few readings before it.
    pub fn latest(&self) -> Result<Vec<Message>, StoreError> {
        self.with_conn(|c| {
            let names = load_fields(c)?;
            let mut stmt = c
                .prepare_cached(
                    "SELECT ts, fields FROM raw WHERE source = ?1 ORDER BY ts DESC LIMIT 16",
                )
                .map_err(sql_err)?;
            let mut out = Vec::new();
            for (id, topic) in load_sources(c)? {
                let mut newest: Option<i64> = None;
                let mut values: BTreeMap<String, Value> = BTreeMap::new();
                let mut rows = stmt.query([id]).map_err(sql_err)?;
                while let Some(row) = rows.next().map_err(sql_err)? {
                    let ts: i64 = row.get(0).map_err(sql_err)?;
                    let bytes = row
                        .get_ref(1)
                        .map_err(sql_err)?
                        .as_blob()
                        .map_err(|_| corrupt("raw"))?;
                    newest.get_or_insert(ts);
                    for (f, v) in unpack_fields(bytes).ok_or_else(|| corrupt("raw"))? {
                        if let Some(name) = names.get(&f) {
                            values.entry(name.clone()).or_insert(v);
                        }
                    }
                }
                if let Some(ts) = newest {
                    out.push(Message {
                        topic,
                        ts,
                        seq: None,
                        body: Body::Reading(values),
                    });
                }
            }
            out.sort_by(|a, b| a.topic.cmp(&b.topic));
            Ok(out)
        })
    }

    /// Every reading of `domain` at or after `since_ms`, oldest first per source.
    pub fn readings_since(
        &self,
        domain: Domain,
        since_ms: i64,
    ) -> Result<Vec<Message>, StoreError> {
        self.with_conn(|c| {
            let names = load_fields(c)?;
            let mut stmt = c
                .prepare_cached(
                    "SELECT ts, fields FROM raw WHERE source = ?1 AND ts >= ?2 ORDER BY ts",
                )
                .map_err(sql_err)?;
            let mut out = Vec::new();
            for (id, topic) in load_sources(c)?
                .into_iter()
                .filter(|(_, t)| t.domain == domain)
            {
                let mut rows = stmt.query(params![id, since_ms]).map_err(sql_err)?;
                while let Some(row) = rows.next().map_err(sql_err)? {
                    let ts: i64 = row.get(0).map_err(sql_err)?;
                    let bytes = row
                        .get_ref(1)
                        .map_err(sql_err)?
                        .as_blob()
                        .map_err(|_| corrupt("raw"))?;
                    let values = unpack_fields(bytes)
                        .ok_or_else(|| corrupt("raw"))?
                        .into_iter()
                        .filter_map(|(f, v)| Some((names.get(&f)?.clone(), v)))
                        .collect();
                    out.push(Message {
                        topic: topic.clone(),
                        ts,
                        seq: None,
                        body: Body::Reading(values),
                    });
                }
            }
            Ok(out)
        })
    }

    /// Every event at or after `since_ms`, oldest first.
    pub fn events_since(&self, since_ms: i64) -> Result<Vec<Message>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT domain, area, source, ts, seq, body FROM events
                     WHERE ts >= ?1 ORDER BY ts",
                )
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([since_ms], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                })
                .map_err(sql_err)?;
            let mut out = Vec::new();
            for row in rows {
                let (domain, area, source, ts, seq, body) = row.map_err(sql_err)?;
                let (Some(d), Ok(event)) =
                    (domain_of(&domain), serde_json::from_str::<Event>(&body))
                else {
                    continue;
                };
                out.push(Message {
                    topic: Topic::new(d, area, source),
                    ts,
                    seq: seq.map(|s| s as u64),
                    body: Body::Event(event),
                });
            }
            Ok(out)
        })
    }

    /// How many readings the raw table holds: for checks and benchmarks.
    pub fn count_readings(&self) -> Result<u64, StoreError> {
        self.with_conn(|c| {
            c.query_row("SELECT count(*) FROM raw", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(sql_err)
        })
    }

    /// Opens a reader on an existing store file, for tools that look at a server's data.
    pub fn open_file(path: &Path) -> Result<EmbeddedReader, StoreError> {
        if !path.exists() {
            return Err(StoreError::Query(format!("no store at {}", path.display())));
        }
        Ok(EmbeddedReader::at(path))
    }

    /// How many raw values are stored for a field of a source at a time (0 or 1): for tests
    /// and checks.
    pub fn count_raw(&self, topic: &Topic, field: &str, ts: i64) -> Result<u64, StoreError> {
        self.with_conn(|c| {
            let row: Option<(Vec<u8>, u32)> = c
                .query_row(
                    "SELECT r.fields, f.id FROM raw r
                     JOIN sources s ON s.id = r.source
                     JOIN fields f ON f.name = ?4
                     WHERE s.domain = ?1 AND s.area = ?2 AND s.source = ?3 AND r.ts = ?5",
                    params![topic.domain.as_str(), topic.area, topic.source, field, ts],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql_err)?;
            Ok(match row {
                None => 0,
                Some((blob, id)) => {
                    let fields = unpack_fields(&blob).ok_or_else(|| corrupt("raw"))?;
                    u64::from(fields.iter().any(|(f, _)| *f == id))
                }
            })
        })
    }
}

pub mod folder;
pub mod journal;

#[cfg(test)]
mod tests;
