//! [`backup`]: the copy of each part of the data directory, in the order of [`PARTS`], while
//! the server may be writing every one of them.

use std::fs::{self, File};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags};

use super::manifest::{hash_file, sha256_hex, sync_dir, write_synced};
use super::{BackupError, Copied, FORMAT, How, LeftOut, Manifest, PARTS, io, passed_over};
use crate::store::embedded::journal;
use crate::store::spool;

/// How long SQLite's backup waits for a read lock on a database at most (the server holds a
/// write lock only for a moment; with WAL, readers are not kept out by writers).
const SQLITE_BUSY_FOR: Duration = Duration::from_secs(30);

/// Copies the data directory `data_dir` into `dest` (made if missing; refused unless empty),
/// consistently while a server writes to it (see the module's doc), and writes the manifest
/// last.
pub fn backup(data_dir: &Path, dest: &Path) -> Result<Manifest, BackupError> {
    backup_with(data_dir, dest, &mut |_| {})
}

/// [`backup`], calling `after_part` with each part's name once it is copied: the tests move
/// messages on from a part just copied, as the server may at that moment.
pub(super) fn backup_with(
    data_dir: &Path,
    dest: &Path,
    after_part: &mut dyn FnMut(&str),
) -> Result<Manifest, BackupError> {
    if !data_dir.is_dir() {
        return Err(BackupError::NoDataDir(data_dir.to_owned()));
    }
    let data_dir = data_dir.canonicalize().map_err(io(data_dir))?;
    let made = prepare(&data_dir, dest)?;
    let started_at = chrono::Utc::now();
    let mut copy = Copy {
        dest: dest.to_owned(),
        files: Vec::new(),
        left_out: Vec::new(),
    };
    let done = (|| {
        for (name, how) in PARTS {
            copy.part(&data_dir, name, *how)?;
            after_part(name);
        }
        for entry in fs::read_dir(&data_dir).map_err(io(&data_dir))? {
            let name = entry.map_err(io(&data_dir))?.file_name();
            let name = name.to_string_lossy();
            if !PARTS.iter().any(|(part, _)| *part == name) && !passed_over(&name) {
                copy.leave(&name, "not one of the server's files");
            }
        }
        sync_dir(dest)
    })();
    if let Err(e) = done {
        // What was copied is of no use without its manifest: a directory this made goes.
        if made {
            let _ = fs::remove_dir_all(dest);
        }
        return Err(e);
    }
    let manifest = Manifest {
        format: FORMAT,
        server_version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir,
        started_at,
        finished_at: chrono::Utc::now(),
        files: copy.files,
        left_out: copy.left_out,
    };
    manifest.write(dest)?;
    Ok(manifest)
}

/// Makes `dest`, or checks that it is an empty directory, and not inside `data_dir`; whether
/// it was made.
fn prepare(data_dir: &Path, dest: &Path) -> Result<bool, BackupError> {
    let made = match fs::read_dir(dest) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty(dest.to_owned()));
            }
            false
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {
            fs::create_dir_all(dest).map_err(io(dest))?;
            true
        }
        Err(e) => return Err(io(dest)(e)),
    };
    let at = dest.canonicalize().map_err(io(dest))?;
    if at.starts_with(data_dir) {
        if made {
            let _ = fs::remove_dir(dest);
        }
        return Err(BackupError::Inside {
            dir: dest.to_owned(),
            data_dir: data_dir.to_owned(),
        });
    }
    Ok(made)
}

/// A backup being written.
struct Copy {
    dest: PathBuf,
    files: Vec<Copied>,
    left_out: Vec<LeftOut>,
}

impl Copy {
    /// Copies the part `name` of `data_dir`, if the server made it.
    fn part(&mut self, data_dir: &Path, name: &str, how: How) -> Result<(), BackupError> {
        let from = data_dir.join(name);
        if !from.exists() {
            return Ok(());
        }
        match how {
            How::Sqlite => {
                let to = self.dest.join(name);
                copy_sqlite(&from, &to)?;
                self.note(name, &to)
            }
            How::Whole => self.file(&from, name),
            How::Lines => match fs::read(&from) {
                Ok(bytes) => {
                    let whole = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                    self.write(name, &bytes[..whole])
                }
                Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
                Err(e) => Err(io(&from)(e)),
            },
            How::Journal | How::Spool | How::WholeDir => self.dir(&from, name, how),
        }
    }

    /// A directory's files, each by what the part's owner says it is.
    fn dir(&mut self, from: &Path, name: &str, how: How) -> Result<(), BackupError> {
        let to = self.dest.join(name);
        fs::create_dir_all(&to).map_err(io(&to))?;
        let mut entries = Vec::new();
        for entry in fs::read_dir(from).map_err(io(from))? {
            entries.push(entry.map_err(io(from))?.file_name());
        }
        entries.sort();
        for entry in entries {
            let file = entry.to_string_lossy();
            let rel = format!("{name}/{file}");
            let path = from.join(&entry);
            if file.ends_with(".tmp") {
                // Being written: never acknowledged, or not yet in place.
                continue;
            }
            match how {
                How::Journal if journal::is_segment(&file) => match fs::read(&path) {
                    // Only the whole records: one being appended now is not acknowledged yet.
                    Ok(bytes) => self.write(&rel, &bytes[..journal::whole_records(&bytes)])?,
                    // Removed meanwhile: folded into ioc.sqlite, which is copied after.
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(io(&path)(e)),
                },
                How::Journal => self.leave(&rel, "a damaged journal segment set aside"),
                // Written back to the store meanwhile if it is gone: copied after, too.
                How::Spool if spool::is_batch(&file) => self.file(&path, &rel)?,
                How::Spool => self.leave(&rel, "a spool batch set aside as unreadable"),
                _ if path.is_file() => self.file(&path, &rel)?,
                _ => self.leave(&rel, "not a file"),
            }
        }
        sync_dir(&to)
    }

    /// A file as it is; nothing if it went meanwhile.
    fn file(&mut self, from: &Path, rel: &str) -> Result<(), BackupError> {
        let to = self.dest.join(rel);
        match fs::copy(from, &to) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::NotFound && !to.exists() => return Ok(()),
            Err(e) => return Err(io(from)(e)),
        }
        File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(io(&to))?;
        self.note(rel, &to)
    }

    fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<(), BackupError> {
        write_synced(&self.dest.join(rel), bytes)?;
        self.files.push(Copied {
            path: rel.to_owned(),
            bytes: bytes.len() as u64,
            sha256: sha256_hex(bytes),
        });
        Ok(())
    }

    /// Notes a file written into the backup.
    fn note(&mut self, rel: &str, at: &Path) -> Result<(), BackupError> {
        let (bytes, sha256) = hash_file(at)?;
        self.files.push(Copied {
            path: rel.to_owned(),
            bytes,
            sha256,
        });
        Ok(())
    }

    fn leave(&mut self, rel: &str, why: &str) {
        self.left_out.push(LeftOut {
            path: rel.to_owned(),
            why: why.to_owned(),
        });
    }
}

/// SQLite's online backup of the database `from` into a new file `to`: every page in one
/// step, so in one read transaction, a snapshot as of one commit. The server writes on
/// meanwhile (WAL); copied in small steps, the backup would start over at each of its commits.
fn copy_sqlite(from: &Path, to: &Path) -> Result<(), BackupError> {
    let sqlite = |path: &Path| {
        let path = path.to_owned();
        move |source| BackupError::Sqlite { path, source }
    };
    // Read-write, as the server's own readers open it (a read-only connection cannot always
    // read a WAL file); never created, and nothing is written through it.
    let src = Connection::open_with_flags(
        from,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite(from))?;
    src.busy_timeout(SQLITE_BUSY_FOR).map_err(sqlite(from))?;
    let mut dst = Connection::open(to).map_err(sqlite(to))?;
    {
        let backup = Backup::new(&src, &mut dst).map_err(sqlite(from))?;
        let deadline = Instant::now() + SQLITE_BUSY_FOR;
        loop {
            match backup.step(-1).map_err(sqlite(from))? {
                StepResult::Done => break,
                StepResult::More => {}
                StepResult::Busy | StepResult::Locked if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                StepResult::Busy | StepResult::Locked => {
                    return Err(BackupError::Sqlite {
                        path: from.to_owned(),
                        source: rusqlite::Error::SqliteFailure(
                            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                            Some(format!("still locked after {SQLITE_BUSY_FOR:?}")),
                        ),
                    });
                }
                _ => {}
            }
        }
    }
    // The copy stands alone, with no WAL beside it; the server sets WAL again when it opens it.
    dst.pragma_update(None, "journal_mode", "DELETE")
        .map_err(sqlite(to))?;
    dst.close().map_err(|(_, e)| sqlite(to)(e))?;
    File::open(to).and_then(|f| f.sync_all()).map_err(io(to))
}
