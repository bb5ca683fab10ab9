//! The audit log: who did what, when, from where. One JSON object per line in
//! `audit.jsonl` in the data directory, appended and flushed as it happens; read by admins
//! at `GET /api/v1/audit`.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: DateTime<Utc>,
    /// The user or display, or the name tried for a failed login.
    pub who: String,
    /// `login`, `login_failed`, `login_throttled`, `logout`, `display_key_created`,
    /// `display_key_revoked`, `display_session`, ...
    pub what: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
}

#[derive(Debug)]
pub struct Audit {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl Audit {
    pub fn open(dir: &Path) -> std::io::Result<Audit> {
        let path = dir.join("audit.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Audit {
            path,
            file: Mutex::new(file),
        })
    }

    /// Appends an entry; an entry that cannot be written is logged as an error, and the action
    /// goes on (the log must not lock officers out).
    pub fn record(&self, who: &str, what: &str, detail: &str, addr: Option<std::net::IpAddr>) {
        let e = Entry {
            at: Utc::now(),
            who: who.to_owned(),
            what: what.to_owned(),
            detail: detail.to_owned(),
            addr: addr.map(|a| a.to_string()),
        };
        let mut line = serde_json::to_vec(&e).expect("serialises");
        line.push(b'\n');
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(err) = f.write_all(&line).and_then(|()| f.sync_data()) {
            tracing::error!(error = %err, path = %self.path.display(), ?e, "cannot write the audit log");
        }
        tracing::info!(who, what, detail, "audit");
    }

    /// The newest `limit` entries, newest first.
    pub fn recent(&self, limit: usize) -> std::io::Result<Vec<Entry>> {
        let f = std::fs::File::open(&self.path)?;
        let mut all: Vec<Entry> = std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect();
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_newest_first_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let a = Audit::open(dir.path()).unwrap();
        a.record("admin", "login", "", Some([127, 0, 0, 1].into()));
        a.record("mallory", "login_failed", "", None);
        drop(a);
        let a = Audit::open(dir.path()).unwrap();
        a.record("admin", "display_key_created", "wall 1", None);
        let r = a.recent(10).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].what, "display_key_created");
        assert_eq!(r[1].who, "mallory");
        assert_eq!(r[2].addr.as_deref(), Some("127.0.0.1"));
        assert_eq!(a.recent(1).unwrap().len(), 1);
    }
}
