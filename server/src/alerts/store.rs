//! Where alerts are kept: `alerts.sqlite` in the data directory, whatever the time-series
//! store (an alert changes state; a time series does not). Each alert is one row, rewritten
//! on every change, and each change is also a row of its history. Written with
//! `synchronous = FULL`: an officer's acknowledgement is on disk before the answer.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use ioc_protocol::alerts::{Alert, AlertEvent};
use rusqlite::{Connection, OptionalExtension, params};

/// Closed alerts older than this are forgotten.
const KEEP_CLOSED_MS: i64 = 400 * 86_400_000;

#[derive(Debug)]
pub struct AlertStore {
    db: Mutex<Connection>,
}

/// What the history API may filter on.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub state: Option<String>,
    pub kind: Option<String>,
    pub severity: Option<String>,
    pub area: Option<String>,
    pub rule: Option<String>,
    /// Raised at or after / before, epoch ms.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub limit: u32,
}

impl AlertStore {
    pub fn open(dir: &Path) -> anyhow::Result<AlertStore> {
        let path = dir.join("alerts.sqlite");
        let db = Connection::open(&path)
            .with_context(|| format!("cannot open the alert store {}", path.display()))?;
        db.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS alerts (
                 id INTEGER PRIMARY KEY,
                 rule TEXT NOT NULL,
                 kind TEXT NOT NULL,
                 severity TEXT NOT NULL,
                 state TEXT NOT NULL,
                 area TEXT NOT NULL,
                 raised_at INTEGER NOT NULL,
                 updated_at INTEGER NOT NULL,
                 body TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at);
             CREATE INDEX IF NOT EXISTS alerts_state ON alerts (state);
             CREATE TABLE IF NOT EXISTS alert_events (
                 alert_id INTEGER NOT NULL,
                 at INTEGER NOT NULL,
                 action TEXT NOT NULL,
                 by TEXT,
                 note TEXT
             );
             CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events (alert_id);
             CREATE TABLE IF NOT EXISTS baselines (
                 series TEXT PRIMARY KEY,
                 slots BLOB NOT NULL
             );",
        )
        .with_context(|| format!("cannot set up the alert store {}", path.display()))?;
        let cutoff = chrono::Utc::now().timestamp_millis() - KEEP_CLOSED_MS;
        db.execute(
            "DELETE FROM alert_events WHERE alert_id IN
                 (SELECT id FROM alerts WHERE state = 'closed' AND updated_at < ?1)",
            [cutoff],
        )?;
        db.execute(
            "DELETE FROM alerts WHERE state = 'closed' AND updated_at < ?1",
            [cutoff],
        )?;
        Ok(AlertStore { db: Mutex::new(db) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes changed alerts and their new history entries, in one transaction.
    pub fn write(&self, alerts: &[Alert], events: &[(u64, AlertEvent)]) -> anyhow::Result<()> {
        if alerts.is_empty() && events.is_empty() {
            return Ok(());
        }
        let mut db = self.lock();
        let tx = db.transaction()?;
        {
            let mut upsert = tx.prepare_cached(
                "INSERT INTO alerts (id, rule, kind, severity, state, area, raised_at,
                                     updated_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                 ON CONFLICT (id) DO UPDATE SET severity = ?4, state = ?5, raised_at = ?7,
                     updated_at = ?8, body = ?9",
            )?;
            for a in alerts {
                upsert.execute(params![
                    a.id as i64,
                    a.rule,
                    a.kind.as_str(),
                    a.severity.as_str(),
                    a.state.as_str(),
                    a.area,
                    a.raised_at,
                    a.updated_at,
                    serde_json::to_string(a)?,
                ])?;
            }
            let mut event = tx.prepare_cached(
                "INSERT INTO alert_events (alert_id, at, action, by, note)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (id, e) in events {
                event.execute(params![*id as i64, e.at, e.action, e.by, e.note])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces the anomaly baselines kept (series `domain/area/source#field`).
    pub fn save_baselines(&self, series: &[(String, Vec<u8>)]) -> anyhow::Result<()> {
        let mut db = self.lock();
        let tx = db.transaction()?;
        {
            let mut put = tx.prepare_cached(
                "INSERT INTO baselines (series, slots) VALUES (?1, ?2)
                 ON CONFLICT (series) DO UPDATE SET slots = ?2",
            )?;
            for (name, slots) in series {
                put.execute(params![name, slots])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The anomaly baselines kept.
    pub fn load_baselines(&self) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
        let db = self.lock();
        let mut stmt = db.prepare("SELECT series, slots FROM baselines")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// The alerts not closed, for the engine at start, and the highest id ever given.
    pub fn load_open(&self) -> anyhow::Result<(Vec<Alert>, u64)> {
        let db = self.lock();
        let mut stmt = db.prepare("SELECT body FROM alerts WHERE state != 'closed'")?;
        let alerts = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .map(|body| Ok(serde_json::from_str::<Alert>(&body?)?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let max: Option<i64> = db.query_row("SELECT MAX(id) FROM alerts", [], |r| r.get(0))?;
        Ok((alerts, max.unwrap_or(0).max(0) as u64))
    }

    /// Alerts matching `q`, newest first.
    pub fn query(&self, q: &Query) -> anyhow::Result<Vec<Alert>> {
        let db = self.lock();
        let mut stmt = db.prepare_cached(
            "SELECT body FROM alerts
             WHERE (?1 IS NULL OR state = ?1)
               AND (?2 IS NULL OR kind = ?2)
               AND (?3 IS NULL OR severity = ?3)
               AND (?4 IS NULL OR area = ?4)
               AND (?5 IS NULL OR rule = ?5)
               AND (?6 IS NULL OR raised_at >= ?6)
               AND (?7 IS NULL OR raised_at < ?7)
             ORDER BY raised_at DESC, id DESC
             LIMIT ?8",
        )?;
        let rows = stmt.query_map(
            params![
                q.state, q.kind, q.severity, q.area, q.rule, q.from, q.to, q.limit
            ],
            |r| r.get::<_, String>(0),
        )?;
        rows.map(|body| Ok(serde_json::from_str::<Alert>(&body?)?))
            .collect()
    }

    /// One alert and its history, in the order it happened.
    pub fn get(&self, id: u64) -> anyhow::Result<Option<(Alert, Vec<AlertEvent>)>> {
        let db = self.lock();
        let body: Option<String> = db
            .query_row("SELECT body FROM alerts WHERE id = ?1", [id as i64], |r| {
                r.get(0)
            })
            .optional()?;
        let Some(body) = body else {
            return Ok(None);
        };
        let mut stmt = db.prepare_cached(
            "SELECT at, action, by, note FROM alert_events WHERE alert_id = ?1
             ORDER BY rowid",
        )?;
        let events = stmt
            .query_map([id as i64], |r| {
                Ok(AlertEvent {
                    at: r.get(0)?,
                    action: r.get(1)?,
                    by: r.get(2)?,
                    note: r.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some((serde_json::from_str(&body)?, events)))
    }
}
