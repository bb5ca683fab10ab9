//! The embedded store: one SQLite file in the data directory.
//!
//! - WAL mode with `synchronous = FULL`: a committed batch survives a crash of the process and
//!   of the machine, which is what acknowledging a QoS 1 message promises.
//! - `raw` holds every field of every reading, keyed by (series, ts): a QoS 1 duplicate is
//!   ignored, so it is stored, and rolled up, once.
//! - `rollup_1m` and `rollup_1h` hold min, max, sum and count per series and bucket, kept up to
//!   date in the same transaction as the raw points, so history over months is read from a few
//!   thousand rows.
//! - `events` holds every status change of every complaint and dossier.
//! - Retention deletes what is older than each resolution keeps (raw 7 days, 1-minute 90 days,
//!   1-hour 5 years by default).
//!
//! One writer connection (owned by the store writer's thread) and any number of read-only
//! connections for history queries, which WAL lets run while the writer writes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ioc_protocol::{Body, Domain, Event, Message, Topic, Value};
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Deserialize;

use super::{Bucket, HistoryQuery, StoreError};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

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
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    domain TEXT NOT NULL, area TEXT NOT NULL, source TEXT NOT NULL, field TEXT NOT NULL,
    UNIQUE (domain, area, source, field)
);
CREATE TABLE IF NOT EXISTS raw (
    series INTEGER NOT NULL, ts INTEGER NOT NULL,
    -- No declared type, so no affinity: numbers stay REAL, bools are INTEGER 0/1, text TEXT.
    value,
    PRIMARY KEY (series, ts)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1m (
    series INTEGER NOT NULL, bucket INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rollup_1h (
    series INTEGER NOT NULL, bucket INTEGER NOT NULL,
    min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (series, bucket)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (
    domain TEXT NOT NULL, area TEXT NOT NULL, source TEXT NOT NULL,
    id TEXT NOT NULL, ts INTEGER NOT NULL, status TEXT NOT NULL, seq INTEGER,
    body TEXT NOT NULL,
    PRIMARY KEY (domain, id, ts, status)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_ts ON events (ts);
CREATE INDEX IF NOT EXISTS raw_ts ON raw (ts);
";

type SeriesKey = (Domain, String, String, String);

/// The writer's side of the embedded store.
#[derive(Debug)]
pub struct EmbeddedStore {
    conn: Connection,
    path: PathBuf,
    retention: Retention,
    /// Series ids by (domain, area, source, field), so that a write looks them up in memory.
    series: HashMap<SeriesKey, i64>,
}

/// A running sum of a bucket.
#[derive(Debug, Clone, Copy)]
struct Agg {
    min: f64,
    max: f64,
    sum: f64,
    count: i64,
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

    fn add(&mut self, v: f64) {
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.count += 1;
    }
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

impl EmbeddedStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path, retention: Retention) -> Result<EmbeddedStore, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Unavailable {
                reason: format!("cannot create {}: {e}", dir.display()),
                retry_after_ms: None,
            })?;
        }
        let conn = Connection::open(path).map_err(sql_err)?;
        // A 64 MiB page cache for the writer: raw points are keyed by (series, ts), so a batch
        // touches pages all over the B-tree; with SQLite's 2 MiB default, writes were 25% slower.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
        )
        .map_err(sql_err)?;
        conn.execute_batch(SCHEMA).map_err(sql_err)?;
        let mut series = HashMap::new();
        {
            let mut stmt = conn
                .prepare("SELECT id, domain, area, source, field FROM series")
                .map_err(sql_err)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, String>(4)?,
                    ))
                })
                .map_err(sql_err)?;
            for row in rows {
                let (id, d, a, s, f) = row.map_err(sql_err)?;
                if let Some(d) = domain_of(&d) {
                    series.insert((d, a, s, f), id);
                }
            }
        }
        Ok(EmbeddedStore {
            conn,
            path: path.to_owned(),
            retention,
            series,
        })
    }

    /// A handle for queries, with read-only connections of its own.
    pub fn reader(&self) -> EmbeddedReader {
        EmbeddedReader {
            path: Arc::new(self.path.clone()),
            pool: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Writes a batch in one transaction: all of it, or none.
    pub fn write(&mut self, batch: &[Message]) -> Result<(), StoreError> {
        let tx = self.conn.transaction().map_err(sql_err)?;
        let mut minute: HashMap<(i64, i64), Agg> = HashMap::new();
        let mut hour: HashMap<(i64, i64), Agg> = HashMap::new();
        let mut new_series: Vec<(SeriesKey, i64)> = Vec::new();
        {
            let mut insert_series = tx
                .prepare_cached(
                    "INSERT INTO series (domain, area, source, field) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (domain, area, source, field) DO UPDATE SET field = field
                     RETURNING id",
                )
                .map_err(sql_err)?;
            let mut insert_raw = tx
                .prepare_cached("INSERT OR IGNORE INTO raw (series, ts, value) VALUES (?1, ?2, ?3)")
                .map_err(sql_err)?;
            let mut insert_event = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO events (domain, area, source, id, ts, status, seq, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )
                .map_err(sql_err)?;
            for msg in batch {
                let t = &msg.topic;
                match &msg.body {
                    Body::Reading(values) => {
                        for (field, value) in values {
                            let key = (t.domain, t.area.clone(), t.source.clone(), field.clone());
                            let id = match self.series.get(&key) {
                                Some(id) => *id,
                                None => {
                                    let id: i64 = insert_series
                                        .query_row(
                                            params![t.domain.as_str(), t.area, t.source, field],
                                            |r| r.get(0),
                                        )
                                        .map_err(sql_err)?;
                                    // Cached only after the commit: a rolled-back batch must
                                    // not leave ids that are not in the file.
                                    new_series.push((key, id));
                                    id
                                }
                            };
                            let (sql_value, number): (rusqlite::types::Value, Option<f64>) =
                                match value {
                                    Value::Number(n) => ((*n).into(), Some(*n)),
                                    Value::Bool(b) => {
                                        (i64::from(*b).into(), Some(f64::from(u8::from(*b))))
                                    }
                                    Value::Text(s) => (s.clone().into(), None),
                                };
                            let inserted = insert_raw
                                .execute(params![id, msg.ts, sql_value])
                                .map_err(sql_err)?;
                            // A duplicate (same series and ts) is not counted twice.
                            if let (1, Some(v)) = (inserted, number) {
                                let m = msg.ts.div_euclid(MINUTE) * MINUTE;
                                let h = msg.ts.div_euclid(HOUR) * HOUR;
                                minute
                                    .entry((id, m))
                                    .and_modify(|a| a.add(v))
                                    .or_insert(Agg::new(v));
                                hour.entry((id, h))
                                    .and_modify(|a| a.add(v))
                                    .or_insert(Agg::new(v));
                            }
                        }
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
            for (table, aggs) in [("rollup_1m", &minute), ("rollup_1h", &hour)] {
                let mut upsert = tx
                    .prepare_cached(&format!(
                        "INSERT INTO {table} (series, bucket, min, max, sum, count)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (series, bucket) DO UPDATE SET
                           min = min(min, excluded.min), max = max(max, excluded.max),
                           sum = sum + excluded.sum, count = count + excluded.count"
                    ))
                    .map_err(sql_err)?;
                for ((series, bucket), a) in aggs {
                    upsert
                        .execute(params![series, bucket, a.min, a.max, a.sum, a.count])
                        .map_err(sql_err)?;
                }
            }
        }
        tx.commit().map_err(sql_err)?;
        self.series.extend(new_series);
        Ok(())
    }

    /// Deletes what is older than each resolution keeps. Returns the rows deleted.
    pub fn enforce_retention(&mut self, now_ms: i64) -> Result<usize, StoreError> {
        let r = self.retention;
        let cut = |days: u32| now_ms - i64::from(days) * DAY;
        let mut n = 0;
        n += self
            .conn
            .execute("DELETE FROM raw WHERE ts < ?1", [cut(r.raw_days)])
            .map_err(sql_err)?;
        n += self
            .conn
            .execute(
                "DELETE FROM rollup_1m WHERE bucket < ?1",
                [cut(r.minute_days)],
            )
            .map_err(sql_err)?;
        n += self
            .conn
            .execute(
                "DELETE FROM rollup_1h WHERE bucket < ?1",
                [cut(r.hour_days)],
            )
            .map_err(sql_err)?;
        n += self
            .conn
            .execute("DELETE FROM events WHERE ts < ?1", [cut(r.event_days)])
            .map_err(sql_err)?;
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
        let out = f(&conn);
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
        let (table, value_cols, time_col) = if width >= HOUR {
            (
                "rollup_1h",
                "min(r.min), max(r.max), sum(r.sum), sum(r.count)",
                "r.bucket",
            )
        } else if width >= MINUTE {
            (
                "rollup_1m",
                "min(r.min), max(r.max), sum(r.sum), sum(r.count)",
                "r.bucket",
            )
        } else {
            (
                "raw",
                "min(r.value), max(r.value), sum(r.value), count(r.value)",
                "r.ts",
            )
        };
        let numeric = if table == "raw" {
            "AND typeof(r.value) IN ('real', 'integer')"
        } else {
            ""
        };
        let sql = format!(
            "SELECT ({time_col} - ?1) / ?2 AS b, {value_cols}
             FROM {table} r JOIN series s ON s.id = r.series
             WHERE s.domain = ?3 AND s.area = ?4 AND s.field = ?5
               AND (?6 IS NULL OR s.source = ?6)
               AND {time_col} >= ?1 AND {time_col} < ?7 {numeric}
             GROUP BY b ORDER BY b"
        );
        self.with_conn(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(sql_err)?;
            let rows = stmt
                .query_map(
                    params![
                        q.from,
                        width,
                        q.domain.as_str(),
                        q.area,
                        q.field,
                        q.source,
                        q.to
                    ],
                    |r| {
                        let b: i64 = r.get(0)?;
                        let count: i64 = r.get(4)?;
                        let sum: f64 = r.get(3)?;
                        Ok(Bucket {
                            t: q.from + b * width,
                            min: r.get(1)?,
                            max: r.get(2)?,
                            mean: if count > 0 { sum / count as f64 } else { 0.0 },
                            count: count as u64,
                        })
                    },
                )
                .map_err(sql_err)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(sql_err)
        })
    }

    /// The newest reading of every telemetry source kept in the raw table, one message per
    /// source (fields at their newest value), to rebuild the live hub at start.
    pub fn latest(&self) -> Result<Vec<Message>, StoreError> {
        self.with_conn(|c| {
            let mut stmt = c
                .prepare(
                    "SELECT s.domain, s.area, s.source, s.field, r.ts, r.value
                     FROM series s JOIN raw r ON r.series = s.id
                     WHERE r.ts = (SELECT max(ts) FROM raw WHERE series = s.id)",
                )
                .map_err(sql_err)?;
            let mut by_source: BTreeMap<(String, String, String), Message> = BTreeMap::new();
            let mut rows = stmt.query([]).map_err(sql_err)?;
            while let Some(row) = rows.next().map_err(sql_err)? {
                let domain: String = row.get(0).map_err(sql_err)?;
                let Some(d) = domain_of(&domain) else {
                    continue;
                };
                let area: String = row.get(1).map_err(sql_err)?;
                let source: String = row.get(2).map_err(sql_err)?;
                let field: String = row.get(3).map_err(sql_err)?;
                let ts: i64 = row.get(4).map_err(sql_err)?;
                let value = match row.get_ref(5).map_err(sql_err)? {
                    ValueRef::Real(f) => Value::Number(f),
                    ValueRef::Integer(i) => Value::Bool(i != 0),
                    ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                    _ => continue,
                };
                let msg = by_source
                    .entry((domain, area.clone(), source.clone()))
                    .or_insert_with(|| Message {
                        topic: Topic::new(d, area, source),
                        ts,
                        seq: None,
                        body: Body::Reading(BTreeMap::new()),
                    });
                msg.ts = msg.ts.max(ts);
                if let Body::Reading(values) = &mut msg.body {
                    values.insert(field, value);
                }
            }
            Ok(by_source.into_values().collect())
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

    /// How many raw values are stored for a series at a time (0 or 1): for tests and checks.
    pub fn count_raw(&self, topic: &Topic, field: &str, ts: i64) -> Result<u64, StoreError> {
        self.with_conn(|c| {
            c.query_row(
                "SELECT count(*) FROM raw r JOIN series s ON s.id = r.series
                 WHERE s.domain = ?1 AND s.area = ?2 AND s.source = ?3 AND s.field = ?4 AND r.ts = ?5",
                params![topic.domain.as_str(), topic.area, topic.source, field, ts],
                |r| r.get::<_, i64>(0),
            )
            .optional()
            .map(|n| n.unwrap_or(0) as u64)
            .map_err(sql_err)
        })
    }
}

#[cfg(test)]
mod tests;
