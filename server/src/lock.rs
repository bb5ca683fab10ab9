//! The data directory's lock: one process at a time owns a data directory.
//!
//! The server takes it at start and holds it until it exits, so that a second server on the
//! same directory fails at once with a clear message instead of two processes writing the same
//! SQLite files, journal and spool. `ioc-server restore` takes it too: it refuses while a
//! server runs, and no server can start while it replaces the directory's contents.
//!
//! The lock is an exclusive advisory lock (`flock` on Unix) on `ioc-server.lock` in the data
//! directory. The operating system releases it when the process exits, however it exits
//! (SIGKILL included), so a crash never leaves a stale lock behind. The file holds who took it
//! (the pid and what for), read back only to say who holds it.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// The lock file's name, in the data directory.
pub const LOCK_FILE: &str = "ioc-server.lock";

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds it.
    #[error(
        "the data directory {dir} is in use by another process ({holder}); stop it first \
         (its lock is {lock})"
    )]
    Held {
        dir: PathBuf,
        lock: PathBuf,
        holder: String,
    },
    #[error("cannot lock the data directory {dir}: {source}")]
    Io {
        dir: PathBuf,
        source: std::io::Error,
    },
}

/// The data directory, locked by this process until dropped.
#[derive(Debug)]
pub struct DataDirLock {
    /// Held open: closing it releases the lock.
    _file: File,
    path: PathBuf,
}

impl DataDirLock {
    /// Locks `dir` (made if missing) for this process, saying `what` it does there (`serving`,
    /// `restoring`); [`LockError::Held`] at once if another process holds it.
    pub fn acquire(dir: &Path, what: &str) -> Result<DataDirLock, LockError> {
        let io = |source| LockError::Io {
            dir: dir.to_owned(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "a process that did not say who it is".to_owned(),
                    h => h.to_owned(),
                };
                return Err(LockError::Held {
                    dir: dir.to_owned(),
                    lock: path,
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let who = format!(
            "ioc-server {what}, pid {}, since {}\n",
            std::process::id(),
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(who.as_bytes()))
            .map_err(io)?;
        Ok(DataDirLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_who_holds_it_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = DataDirLock::acquire(&data, "serving").unwrap();
        assert_eq!(first.path(), data.join(LOCK_FILE));
        let err = DataDirLock::acquire(&data, "restoring").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Held { .. }), "{text}");
        assert!(
            text.contains("ioc-server serving")
                && text.contains(&format!("pid {}", std::process::id()))
                && text.contains("stop it first"),
            "{text}"
        );
        drop(first);
        let again = DataDirLock::acquire(&data, "restoring").unwrap();
        let said = std::fs::read_to_string(again.path()).unwrap();
        assert!(said.starts_with("ioc-server restoring, pid "), "{said}");
    }
}
