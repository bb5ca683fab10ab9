//! The embedded store's read side ([`EmbeddedReader`]): history at the coarsest resolution that
//! fits, the newest reading of every source and the readings and events since a time (to
//! rebuild the live picture at start), and counts for checks, each on a pooled read-only
//! connection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use ioc_protocol::{Body, Domain, Event, Message, Topic, Value};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::codec::{Agg, field_number, unpack_aggs, unpack_fields};
use super::schema::{HOUR, MINUTE, corrupt, domain_of, load_fields, load_sources, sql_err};
use crate::store::{Bucket, HistoryQuery, StoreError};

/// Read-only access for queries; cheap to clone, safe to use from many tasks (each query
/// takes a connection from a small pool, in a blocking thread).
#[derive(Debug, Clone)]
pub struct EmbeddedReader {
    path: Arc<PathBuf>,
    pool: Arc<Mutex<Vec<Connection>>>,
}

impl EmbeddedReader {
    pub(super) fn at(path: &Path) -> EmbeddedReader {
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
