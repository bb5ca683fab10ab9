//! A backup's manifest, `ioc-backup.json`: what was copied (each file's path in the backup,
//! size and SHA-256), what was left out and why, when, from where, by which server version.
//! Written last, so that a backup that was interrupted has none; read and checked whole by
//! restore before it changes anything.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{BackupError, io};

/// The manifest's file name, in the backup's directory.
pub const MANIFEST: &str = "ioc-backup.json";
/// The manifest's layout; a restore refuses a layout it does not know.
pub const FORMAT: u32 = 1;

/// What a backup holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// The version of the `ioc-server` that made it.
    pub server_version: String,
    /// The data directory it was taken from.
    pub data_dir: PathBuf,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Every file of the backup, but the manifest.
    pub files: Vec<Copied>,
    /// What the data directory held that the backup did not copy.
    pub left_out: Vec<LeftOut>,
}

/// A file of the backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Copied {
    /// Relative to the backup's directory (and to the data directory), `/`-separated.
    pub path: String,
    pub bytes: u64,
    /// Hex.
    pub sha256: String,
}

/// An entry of the data directory that was not copied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    pub path: String,
    pub why: String,
}

impl Manifest {
    /// Bytes in all the backup's files.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Writes it into `dir`, whole or not at all, and syncs it.
    pub(super) fn write(&self, dir: &Path) -> Result<(), BackupError> {
        let path = dir.join(MANIFEST);
        let tmp = dir.join(format!("{MANIFEST}.tmp"));
        let text = serde_json::to_vec_pretty(self).expect("a manifest serialises");
        write_synced(&tmp, &text)?;
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        sync_dir(dir)
    }

    /// The manifest of the backup in `dir`: [`BackupError::NotABackup`] if it has none.
    pub fn read(dir: &Path) -> Result<Manifest, BackupError> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(BackupError::NotABackup(dir.to_owned()));
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let bad = |reason: String| BackupError::BadManifest {
            path: path.clone(),
            reason,
        };
        let format: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| bad(e.to_string()))?;
        match format.get("format").and_then(serde_json::Value::as_u64) {
            Some(f) if f == u64::from(FORMAT) => {}
            Some(f) => {
                return Err(bad(format!(
                    "it is of format {f}, made by another version of ioc-server; this one \
                     ({}) reads format {FORMAT}",
                    env!("CARGO_PKG_VERSION")
                )));
            }
            None => return Err(bad("it says no format".into())),
        }
        let manifest: Manifest = serde_json::from_value(format).map_err(|e| bad(e.to_string()))?;
        for f in &manifest.files {
            if relative(&f.path).is_none() {
                return Err(bad(format!("{:?} is not a path inside the backup", f.path)));
            }
        }
        Ok(manifest)
    }

    /// Checks that every file the manifest lists is in `dir` with its size and SHA-256.
    pub fn verify(&self, dir: &Path) -> Result<(), BackupError> {
        for f in &self.files {
            let path = dir.join(relative(&f.path).expect("checked when read"));
            let damaged = |reason: String| BackupError::Damaged {
                dir: dir.to_owned(),
                reason,
            };
            let (bytes, sha256) = match hash_file(&path) {
                Ok(h) => h,
                Err(BackupError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    return Err(damaged(format!("{} is missing", f.path)));
                }
                Err(e) => return Err(e),
            };
            if bytes != f.bytes {
                return Err(damaged(format!(
                    "{} has {bytes} bytes, the manifest says {}",
                    f.path, f.bytes
                )));
            }
            if sha256 != f.sha256 {
                return Err(damaged(format!(
                    "{} is not what was copied (its SHA-256 differs)",
                    f.path
                )));
            }
        }
        Ok(())
    }
}

/// A manifest's path as a relative path of plain names (no `..`, no root): where the file is
/// in the backup, and goes in the data directory.
pub(super) fn relative(path: &str) -> Option<PathBuf> {
    let p = Path::new(path);
    let plain = !path.is_empty() && p.components().all(|c| matches!(c, Component::Normal(_)));
    plain.then(|| p.to_owned())
}

/// SHA-256 of bytes, hex.
pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file's size and SHA-256, read in pieces.
pub(super) fn hash_file(path: &Path) -> Result<(u64, String), BackupError> {
    let mut f = File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0; 1 << 16];
    let mut bytes = 0;
    loop {
        let n = f.read(&mut buf).map_err(io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex(&h.finalize())))
}

/// Writes a new file and syncs it.
pub(super) fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), BackupError> {
    let mut f = File::create(path).map_err(io(path))?;
    f.write_all(bytes).map_err(io(path))?;
    f.sync_all().map_err(io(path))
}

/// Syncs a directory's entries.
pub(super) fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}
