//! [`restore`]: a checked backup copied into the data directory of a stopped server, what the
//! directory held kept aside.

use std::fs;
use std::path::{Path, PathBuf};

use super::manifest::{relative, sync_dir};
use super::{BackupError, Manifest, io};
use crate::lock::{DataDirLock, LOCK_FILE};

/// What a restore did.
#[derive(Debug)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// Where what the data directory held went (`<data_dir>.before-restore-<time>`); `None` if
    /// it held nothing.
    pub aside: Option<PathBuf>,
    /// What went wrong without undoing the restore (the restored files' owner).
    pub warnings: Vec<String>,
}

/// Restores the backup in `backup_dir` into `data_dir` (made if missing): checks every file
/// of the backup against its manifest, takes the data directory's lock (refused while a
/// server runs there), copies the backup into the directory beside its contents, then moves
/// those contents aside to `<data_dir>.before-restore-<time>` and the copy in. Until that last
/// step nothing in the data directory has changed; if a move fails, what was moved is moved
/// back.
pub fn restore(backup_dir: &Path, data_dir: &Path) -> Result<Restored, BackupError> {
    let manifest = Manifest::read(backup_dir)?;
    manifest.verify(backup_dir)?;
    let lock = DataDirLock::acquire(data_dir, "restoring")?;
    let data_dir = data_dir.canonicalize().map_err(io(data_dir))?;
    let from = backup_dir.canonicalize().map_err(io(backup_dir))?;
    if from.starts_with(&data_dir) {
        return Err(BackupError::Inside {
            dir: backup_dir.to_owned(),
            data_dir,
        });
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ").to_string();
    // Inside the data directory, so that moving it in is a rename on the same file system.
    let staging_name = format!(".restoring-{stamp}");
    let staging = data_dir.join(&staging_name);
    if let Err(e) = stage(&manifest, &from, &staging) {
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    let mut old = Vec::new();
    for entry in fs::read_dir(&data_dir).map_err(io(&data_dir))? {
        let name = entry.map_err(io(&data_dir))?.file_name();
        if name != LOCK_FILE && name != staging_name.as_str() {
            old.push(name);
        }
    }
    let aside = if old.is_empty() {
        None
    } else {
        let name = data_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "data".into());
        let aside = data_dir.with_file_name(format!("{name}.before-restore-{stamp}"));
        if let Err(e) = fs::create_dir(&aside)
            .map_err(io(&aside))
            .and_then(|()| move_all(&data_dir, &aside, &old))
        {
            let _ = fs::remove_dir(&aside);
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        Some(aside)
    };
    let mut new = Vec::new();
    for entry in fs::read_dir(&staging).map_err(io(&staging))? {
        new.push(entry.map_err(io(&staging))?.file_name());
    }
    if let Err(e) = move_all(&staging, &data_dir, &new) {
        // Put the old contents back where they were.
        if let Some(aside) = &aside {
            let _ = move_all(aside, &data_dir, &old);
            let _ = fs::remove_dir(aside);
        }
        let _ = fs::remove_dir_all(&staging);
        return Err(e);
    }
    fs::remove_dir(&staging).map_err(io(&staging))?;
    sync_dir(&data_dir)?;
    if let Some(aside) = &aside {
        sync_dir(aside)?;
    }
    let warnings = same_owner(&data_dir, &new);
    drop(lock);
    Ok(Restored {
        manifest,
        aside,
        warnings,
    })
}

/// Copies the backup's files into `staging`, synced.
fn stage(manifest: &Manifest, from: &Path, staging: &Path) -> Result<(), BackupError> {
    fs::create_dir(staging).map_err(io(staging))?;
    let mut dirs = vec![staging.to_owned()];
    for f in &manifest.files {
        let rel = relative(&f.path).expect("checked when read");
        let to = staging.join(&rel);
        if let Some(parent) = to.parent()
            && !parent.exists()
        {
            fs::create_dir_all(parent).map_err(io(parent))?;
            dirs.push(parent.to_owned());
        }
        let source = from.join(&rel);
        fs::copy(&source, &to).map_err(io(&source))?;
        fs::File::open(&to)
            .and_then(|f| f.sync_all())
            .map_err(io(&to))?;
    }
    for dir in dirs.iter().rev() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// Moves the entries `names` of `from` into `to`; if one cannot be moved, moves back those
/// that were.
fn move_all(from: &Path, to: &Path, names: &[std::ffi::OsString]) -> Result<(), BackupError> {
    for (i, name) in names.iter().enumerate() {
        let (src, dst) = (from.join(name), to.join(name));
        if let Err(e) = fs::rename(&src, &dst) {
            for back in &names[..i] {
                let _ = fs::rename(to.join(back), from.join(back));
            }
            return Err(BackupError::Io {
                path: src,
                source: std::io::Error::new(
                    e.kind(),
                    format!("cannot move it to {}: {e}", dst.display()),
                ),
            });
        }
    }
    Ok(())
}

/// Gives the restored entries `names` of `data_dir` the directory's owner, when they have
/// another (a restore run as root into a service user's directory); what could not be.
#[cfg(unix)]
fn same_owner(data_dir: &Path, names: &[std::ffi::OsString]) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let Ok(dir) = fs::metadata(data_dir) else {
        return Vec::new();
    };
    let mut warnings = Vec::new();
    let mut stack: Vec<PathBuf> = names.iter().map(|n| data_dir.join(n)).collect();
    while let Some(path) = stack.pop() {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir()
            && let Ok(entries) = fs::read_dir(&path)
        {
            stack.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        }
        if (meta.uid(), meta.gid()) != (dir.uid(), dir.gid())
            && let Err(e) = std::os::unix::fs::lchown(&path, Some(dir.uid()), Some(dir.gid()))
        {
            warnings.push(format!(
                "{} is not owned by the data directory's owner ({e})",
                path.display()
            ));
        }
    }
    warnings
}

#[cfg(not(unix))]
fn same_owner(_: &Path, _: &[std::ffi::OsString]) -> Vec<String> {
    Vec::new()
}
