//! Backup and restore of the data directory: `ioc-server backup DIR` makes a consistent copy
//! while the server runs, `ioc-server restore DIR` brings one back on a stopped server.
//!
//! What the data directory holds, and how the backup copies each part ([`PARTS`], in the order
//! they are copied):
//!
//! | part | what | copied |
//! |---|---|---|
//! | `spool/` | batches waiting for a store that was down | each batch file as it is: a batch is renamed into place whole |
//! | `ioc.sqlite.journal/` | the embedded store's journal: batches acknowledged, not yet folded into `ioc.sqlite` | each segment cut to its whole records (a record being appended is left out: it is not acknowledged yet) |
//! | `ioc.sqlite` | the embedded store: readings, events, rollups, indicator revisions | SQLite's online backup |
//! | `alerts.sqlite` | alerts, their history, the anomaly baselines | SQLite's online backup |
//! | `indicator-targets.json` | the admin's targets of the socio-economic indicators | as it is: replaced whole by a rename when it changes |
//! | `users.json`, `sessions.json`, `display-keys.json`, `gateways.json` | who may log in, their sessions, the walls' keys, the gateways' credentials and grants | as they are: each is replaced whole by a rename when it changes |
//! | `audit.jsonl` | the audit log | up to its last whole line |
//! | `mosquitto/` | the password and ACL files written for an external Mosquitto | as they are (renamed into place) |
//!
//! Passed over without a word: the lock (`ioc-server.lock`), the SQLite files' `-wal` and
//! `-shm` (the online backup reads the committed pages through SQLite, WAL included), and
//! files being written (`*.tmp`). Anything else (a damaged journal segment or spool batch set
//! aside, a store file of an older layout moved aside, an operator's own file) is not copied,
//! and the manifest and the command say so.
//!
//! **Why the copy is consistent.** A message moves from the spool to the journal to
//! `ioc.sqlite`, and each step makes it durable at the next place before removing it from the
//! last. The backup copies them in that order, so whatever was durable when the backup started
//! is, at the moment its place is copied, either still there or already at a place copied
//! later: nothing acknowledged before the backup started is missing from it. A message may be
//! in two places of the copy; the store ignores a reading it already has (same source and
//! `ts`), so replaying it on restore writes nothing twice. SQLite's online backup copies every
//! page in one step, inside one read transaction: a snapshot of the file as of one commit,
//! while WAL lets the server go on writing (a backup copied in small steps would start over at
//! each of the server's commits, and under load might never end).
//!
//! The backup goes into a new or empty directory, with a manifest (`ioc-backup.json`: each
//! file's size and SHA-256, what was left out and why, when, the server's version) written
//! last: a backup that was interrupted has none, and restore refuses it. Restore checks every
//! file against the manifest, takes the data directory's lock (so it refuses while a server
//! runs, and no server starts during it), copies the backup in, and moves what the directory
//! held aside to `<data_dir>.before-restore-<time>`, deleting nothing. On the next start the
//! server folds the restored journal and writes back the restored spool as after any restart.
//!
//! - `take.rs`: [`backup`], the copy of each part;
//! - `manifest.rs`: [`Manifest`], written, read and checked;
//! - `restore.rs`: [`restore`].

mod manifest;
mod restore;
mod take;

use std::path::PathBuf;

pub use self::manifest::{Copied, FORMAT, LeftOut, MANIFEST, Manifest};
pub use self::restore::{Restored, restore};
pub use self::take::backup;
use crate::lock::{LOCK_FILE, LockError};

/// How a part of the data directory is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// A SQLite database: SQLite's online backup, all pages in one read transaction.
    Sqlite,
    /// The embedded store's journal: each segment cut to its whole records.
    Journal,
    /// The spool: each waiting batch as it is.
    Spool,
    /// A file replaced whole by a rename when it changes: as it is.
    Whole,
    /// A directory of such files.
    WholeDir,
    /// An append-only log of lines: up to its last whole line.
    Lines,
}

/// What the server keeps in its data directory, in the order the backup copies it: the spool,
/// the journal and the store in the order a message goes through them (see the module's doc).
const PARTS: &[(&str, How)] = &[
    ("spool", How::Spool),
    ("ioc.sqlite.journal", How::Journal),
    ("ioc.sqlite", How::Sqlite),
    ("alerts.sqlite", How::Sqlite),
    (crate::indicators::TARGETS_FILE, How::Whole),
    ("users.json", How::Whole),
    ("sessions.json", How::Whole),
    ("display-keys.json", How::Whole),
    ("gateways.json", How::Whole),
    (crate::ingest::endpoint::SESSIONS_FILE, How::Whole),
    ("audit.jsonl", How::Lines),
    ("mosquitto", How::WholeDir),
];

/// Entries of the data directory the backup passes over without a word: the lock, what
/// SQLite's online backup already reads, and files being written.
fn passed_over(name: &str) -> bool {
    let sqlite_side = PARTS.iter().any(|(part, how)| {
        *how == How::Sqlite
            && name
                .strip_prefix(part)
                .is_some_and(|rest| matches!(rest, "-wal" | "-shm" | "-journal"))
    });
    name == LOCK_FILE || sqlite_side || name.ends_with(".tmp")
}

/// Why a backup or a restore failed. A backup that fails leaves no manifest, so it cannot be
/// restored; a restore that fails has changed nothing, unless it says otherwise.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("there is no data directory at {0}: nothing to back up")]
    NoDataDir(PathBuf),
    #[error("{0} is not empty: a backup goes into a new or empty directory")]
    NotEmpty(PathBuf),
    #[error("{dir} is inside the data directory {data_dir}: put the backup elsewhere")]
    Inside { dir: PathBuf, data_dir: PathBuf },
    #[error(
        "{0} is not a backup: it has no {MANIFEST} (a backup that was interrupted has none \
         either); nothing was changed"
    )]
    NotABackup(PathBuf),
    #[error("{path} cannot be read as a backup's manifest: {reason}; nothing was changed")]
    BadManifest { path: PathBuf, reason: String },
    #[error("the backup {dir} is damaged: {reason}; nothing was changed")]
    Damaged { dir: PathBuf, reason: String },
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error("SQLite's backup of {path}: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An I/O error at `path`.
fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests;
