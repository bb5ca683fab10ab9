//! The embedded store's indicator values ([`EmbeddedIndicators`]): every revision is a row of
//! `indicator_revisions` in the store file (the table is in `schema.rs`), in the order
//! received (`id`), indexed by indicator, area, period and `id`, so that the latest revision of
//! a period is the last row of its key.
//!
//! Revisions are few (a unit reports each period once or twice) and must be durable before
//! they are acknowledged, so they are not journaled and folded as readings are: each
//! submission is one transaction of its own on a connection of its own (WAL, `synchronous =
//! FULL`), committed before the caller answers. SQLite takes one writer at a time: a commit
//! waits for the fold thread's transaction in progress, if any (`busy_timeout`). Retention
//! never deletes them: a series of five years is what the figures are computed from.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use ioc_protocol::indicator::{Period, Revision, SeriesPoint, Way, latest_by_series};
use rusqlite::{Connection, Row, params};

use super::schema::{corrupt, sql_err};
use crate::store::StoreError;

/// The indicator revisions of the store file: a connection of their own.
#[derive(Debug)]
pub struct EmbeddedIndicators {
    conn: Mutex<Connection>,
}

const COLUMNS: &str = "indicator, area, period, value, reported_ms, received_ms, unit, by, way";

impl EmbeddedIndicators {
    /// Opens the store file at `path`, which [`super::EmbeddedStore::open`] has laid out.
    pub fn open(path: &Path) -> Result<EmbeddedIndicators, StoreError> {
        let conn = Connection::open(path).map_err(sql_err)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;",
        )
        .map_err(sql_err)?;
        conn.execute_batch(super::schema::SCHEMA).map_err(sql_err)?;
        Ok(EmbeddedIndicators {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores revisions in one transaction, in their order: all of them, or none.
    pub fn append(&self, revisions: &[Revision]) -> Result<(), StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(sql_err)?;
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO indicator_revisions ({COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                ))
                .map_err(sql_err)?;
            for r in revisions {
                insert
                    .execute(params![
                        r.indicator,
                        r.area,
                        r.period.to_string(),
                        r.value,
                        r.reported_ms,
                        r.received_ms,
                        r.unit,
                        r.by,
                        r.way.as_str()
                    ])
                    .map_err(sql_err)?;
            }
        }
        tx.commit().map_err(sql_err)
    }

    /// The revisions of an indicator for an area (of one period, if given), oldest first.
    pub fn revisions(
        &self,
        indicator: &str,
        area: &str,
        period: Option<Period>,
    ) -> Result<Vec<Revision>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM indicator_revisions
                 WHERE indicator = ?1 AND area = ?2 AND (?3 IS NULL OR period = ?3)
                 ORDER BY id"
            ))
            .map_err(sql_err)?;
        let rows = stmt
            .query_map(
                params![indicator, area, period.map(|p| p.to_string())],
                read_row,
            )
            .map_err(sql_err)?;
        rows.map(|r| {
            r.map_err(sql_err)?
                .ok_or_else(|| corrupt("indicator revision"))
        })
        .collect()
    }

    /// The series of every indicator and area that has values: per period, the latest
    /// revision ([`latest_by_series`]).
    pub fn latest(&self) -> Result<BTreeMap<(String, String), Vec<SeriesPoint>>, StoreError> {
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM indicator_revisions ORDER BY indicator, area, id"
            ))
            .map_err(sql_err)?;
        let revisions = stmt
            .query_map([], read_row)
            .map_err(sql_err)?
            .map(|row| {
                row.map_err(sql_err)?
                    .ok_or_else(|| corrupt("indicator revision"))
            })
            .collect::<Result<Vec<Revision>, StoreError>>()?;
        Ok(latest_by_series(revisions))
    }
}

/// A row as a revision; `None` when its period or way cannot be read.
fn read_row(row: &Row<'_>) -> rusqlite::Result<Option<Revision>> {
    let period: String = row.get(2)?;
    let way: String = row.get(8)?;
    let (Ok(period), Ok(way)) = (period.parse::<Period>(), way.parse::<Way>()) else {
        return Ok(None);
    };
    Ok(Some(Revision {
        indicator: row.get(0)?,
        area: row.get(1)?,
        period,
        value: row.get(3)?,
        reported_ms: row.get(4)?,
        received_ms: row.get(5)?,
        unit: row.get(6)?,
        by: row.get(7)?,
        way,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(area: &str, period: &str, value: f64, by: &str, way: Way) -> Revision {
        Revision {
            indicator: "budget_revenue".into(),
            area: area.into(),
            period: period.parse().unwrap(),
            value,
            reported_ms: 1_000,
            received_ms: 2_000,
            unit: area.into(),
            by: by.into(),
            way,
        }
    }

    #[test]
    fn revisions_are_kept_in_order_and_the_latest_counts_after_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ioc.sqlite");
        // Laid out by the store, as the server opens it.
        let (_writer, _reader) =
            super::super::folder::EmbeddedWriter::open(&path, Default::default()).unwrap();
        let store = EmbeddedIndicators::open(&path).unwrap();
        store
            .append(&[
                rev("q1", "2026-01", 10.0, "q1", Way::Mqtt),
                rev("q3", "2026-01", 20.0, "q3", Way::Mqtt),
            ])
            .unwrap();
        store
            .append(&[rev("q1", "2026-01", 11.5, "lan", Way::Api)])
            .unwrap();
        drop(store);
        let store = EmbeddedIndicators::open(&path).unwrap();
        let revs = store.revisions("budget_revenue", "q1", None).unwrap();
        assert_eq!(
            revs.iter()
                .map(|r| (r.value, r.by.as_str(), r.way))
                .collect::<Vec<_>>(),
            [(10.0, "q1", Way::Mqtt), (11.5, "lan", Way::Api)]
        );
        let jan = "2026-01".parse().ok();
        assert_eq!(
            store.revisions("budget_revenue", "q1", jan).unwrap().len(),
            2
        );
        let feb = "2026-02".parse().ok();
        assert!(
            store
                .revisions("budget_revenue", "q1", feb)
                .unwrap()
                .is_empty()
        );
        let latest = store.latest().unwrap();
        assert_eq!(latest.len(), 2);
        let q1 = &latest[&("budget_revenue".to_owned(), "q1".to_owned())];
        assert_eq!(
            (q1[0].value, q1[0].revisions, q1[0].by.as_str()),
            (11.5, 2, "lan")
        );
    }
}
