//! The admin's targets (`PUT /api/v1/indicators/targets`), kept in `indicator-targets.json` in
//! the data directory: a JSON array of targets, replaced whole by a rename when it changes (so
//! the backup copies it as it is). Applied over the catalogue's own targets at start and at
//! each change: a target of the same indicator, area and year replaces the catalogue's.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ioc_protocol::indicator::Target;

/// The file's name in the data directory.
pub const TARGETS_FILE: &str = "indicator-targets.json";

/// Why the targets file cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum TargetsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a JSON array of targets: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The admin's targets and their file.
#[derive(Debug)]
pub(super) struct TargetsFile {
    path: PathBuf,
    list: Mutex<Vec<Target>>,
}

impl TargetsFile {
    /// Reads the file of `data_dir`; none yet is no target.
    pub(super) fn open(data_dir: &Path) -> Result<TargetsFile, TargetsError> {
        let path = data_dir.join(TARGETS_FILE);
        let list = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| TargetsError::Parse {
                path: path.clone(),
                source,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(source) => return Err(TargetsError::Read { path, source }),
        };
        Ok(TargetsFile {
            path,
            list: Mutex::new(list),
        })
    }

    pub(super) fn list(&self) -> Vec<Target> {
        self.list.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Adds or replaces targets (by indicator, area and year) and writes the file whole:
    /// on disk when this returns `Ok`; unchanged, in memory too, when it fails.
    pub(super) fn set(&self, targets: &[Target]) -> Result<(), TargetsError> {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        let mut next = list.clone();
        for t in targets {
            match next
                .iter_mut()
                .find(|o| o.indicator == t.indicator && o.area == t.area && o.year == t.year)
            {
                Some(o) => o.value = t.value,
                None => next.push(t.clone()),
            }
        }
        let err = |source| TargetsError::Write {
            path: self.path.clone(),
            source,
        };
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(&next).expect("targets serialize");
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp).map_err(err)?;
            f.write_all(&text).map_err(err)?;
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        *list = next;
        Ok(())
    }
}
