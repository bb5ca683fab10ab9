//! The embedded store's SQLite writer ([`EmbeddedStore`]): opens the file (moving an older
//! layout aside), writes a batch of readings and events with their rollups in one transaction,
//! and enforces retention. The fold thread (`folder.rs`) is its one user in the server.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use ioc_protocol::{Body, Event, Message, Topic, Value};
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, params};

use super::Retention;
use super::codec::{Agg, Aggs, merge_all, merge_into, pack_aggs, pack_fields, unpack_aggs};
use super::reader::EmbeddedReader;
use super::schema::{
    DAY, HOUR, MINUTE, SCHEMA, SCHEMA_VERSION, load_fields, load_sources, move_aside, schema_of,
    sql_err,
};
use crate::store::StoreError;

/// The writer's side of the embedded store.
#[derive(Debug)]
pub struct EmbeddedStore {
    pub(super) conn: Connection,
    path: PathBuf,
    retention: Retention,
    /// Source ids by topic and field ids by name, so that a write looks them up in memory.
    sources: HashMap<Topic, i64>,
    fields: HashMap<String, u32>,
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
