//! Persistent sessions: the client ids that connected asking for their session to be kept
//! (3.1.1's clean session 0, MQTT 5's Session Expiry Interval above 0), with their
//! subscriptions, in `mqtt-sessions.json` in the data directory.
//!
//! The endpoint keeps no messages for a session: what a gateway published is acknowledged
//! only once durable, so all a session must remember across a restart is that it exists.
//! That matters: a client told "session present 0" after a restart may drop the messages it
//! had not seen acknowledged (rumqttc does), while "session present 1" makes it send them
//! again. The file is written (whole, then renamed) only when the set changes, bounded by
//! `mqtt.max_sessions`; a record expires `mqtt.session_expiry_s` after its client was last
//! seen connecting or leaving.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The file's name in the data directory (also copied by `ioc-server backup`).
pub const SESSIONS_FILE: &str = "mqtt-sessions.json";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Record {
    /// Topic filters subscribed, with MQTT 5's No Local.
    #[serde(default)]
    filters: Vec<(String, bool)>,
    /// When the client was last seen connecting or leaving, epoch ms.
    seen_ms: i64,
    /// How long the record lives after that, seconds.
    expiry_s: u64,
}

/// The persistent sessions of the endpoint.
#[derive(Debug)]
pub(crate) struct Sessions {
    path: Option<PathBuf>,
    max: usize,
    records: Mutex<HashMap<String, Record>>,
}

impl Sessions {
    /// Reads the records of `dir` (none if the file does not exist; a damaged file is moved
    /// aside and reported, since losing it only costs clients a resend).
    pub(crate) fn open(dir: Option<&Path>, max: usize) -> Sessions {
        let path = dir.map(|d| d.join(SESSIONS_FILE));
        let records = path
            .as_deref()
            .and_then(|p| match std::fs::read(p) {
                Ok(bytes) => match serde_json::from_slice(&bytes) {
                    Ok(r) => Some(r),
                    Err(e) => {
                        let aside = p.with_extension("json.damaged");
                        tracing::error!(path = %p.display(), error = %e,
                            "the MQTT session records cannot be read; moved aside, clients \
                             with persistent sessions start new ones");
                        let _ = std::fs::rename(p, aside);
                        None
                    }
                },
                Err(_) => None,
            })
            .unwrap_or_default();
        Sessions {
            path,
            max,
            records: Mutex::new(records),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Record>> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connecting client's session: its filters if it has one kept and asks to resume it
    /// (`resume`), `None` otherwise. `keep_s` above 0 keeps (or starts) its record for that
    /// long after it was last seen; 0 forgets it.
    pub(crate) fn connect(
        &self,
        client_id: &str,
        resume: bool,
        keep_s: u64,
        now_ms: i64,
    ) -> Option<Vec<(String, bool)>> {
        let mut records = self.lock();
        records.retain(|_, r| !expired(r, now_ms));
        let old = records.remove(client_id);
        let resumed = old.filter(|_| resume);
        if keep_s > 0 && (records.len() < self.max) {
            records.insert(
                client_id.to_owned(),
                Record {
                    filters: resumed
                        .as_ref()
                        .map(|r| r.filters.clone())
                        .unwrap_or_default(),
                    seen_ms: now_ms,
                    expiry_s: keep_s,
                },
            );
        } else if keep_s > 0 {
            tracing::warn!(
                client_id,
                max = self.max,
                "MQTT session records are full (mqtt.max_sessions): this client's session is \
                 not kept across a restart"
            );
        }
        self.save(&records);
        resumed.map(|r| r.filters)
    }

    /// A kept session's subscriptions changed.
    pub(crate) fn set_filters(&self, client_id: &str, filters: &[(String, bool)]) {
        let mut records = self.lock();
        if let Some(r) = records.get_mut(client_id)
            && r.filters != filters
        {
            r.filters = filters.to_vec();
            self.save(&records);
        }
    }

    /// A client with a kept session left: its record lives `expiry_s` from now.
    pub(crate) fn left(&self, client_id: &str, now_ms: i64) {
        let mut records = self.lock();
        if let Some(r) = records.get_mut(client_id) {
            r.seen_ms = now_ms;
            self.save(&records);
        }
    }

    fn save(&self, records: &HashMap<String, Record>) {
        let Some(path) = &self.path else { return };
        let tmp = path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let text = serde_json::to_vec(records).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, text)?;
            std::fs::rename(&tmp, path)
        };
        if let Err(e) = write() {
            tracing::error!(path = %path.display(), error = %e,
                "cannot write the MQTT session records");
        }
    }
}

fn expired(r: &Record, now_ms: i64) -> bool {
    now_ms.saturating_sub(r.seen_ms) > (r.expiry_s as i64).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_session_survives_a_restart_and_expires() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sessions::open(Some(dir.path()), 10);
        assert_eq!(s.connect("gw-1", true, 60, 1_000), None, "new: not present");
        s.set_filters("gw-1", &[("ioc/v1/#".into(), false)]);
        s.left("gw-1", 2_000);
        // The server restarts.
        let s = Sessions::open(Some(dir.path()), 10);
        assert_eq!(
            s.connect("gw-1", true, 60, 3_000),
            Some(vec![("ioc/v1/#".to_owned(), false)])
        );
        // A clean session forgets it.
        assert_eq!(s.connect("gw-1", false, 0, 4_000), None);
        assert_eq!(s.connect("gw-1", true, 60, 5_000), None);
        // Seen at 5 s, kept 60 s: gone at 66 s.
        assert_eq!(s.connect("gw-1", true, 60, 66_000), None);
    }

    #[test]
    fn records_are_bounded() {
        let s = Sessions::open(None, 2);
        for id in ["a", "b", "c"] {
            s.connect(id, true, 60, 0);
        }
        assert!(s.connect("a", true, 60, 1).is_some());
        assert!(s.connect("c", true, 60, 1).is_none(), "c was never kept");
    }
}
