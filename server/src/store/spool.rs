//! The on-disk spool: where batches wait, in order, while the store is down.
//!
//! One file per batch (`<number>.batch`, JSON lines of messages), written to a temporary
//! name, synced, then renamed and the directory synced: a batch in the spool is whole or
//! absent, and once [`Spool::append`] returns it survives a crash. At start the spool picks up
//! whatever an earlier run left, so those batches are written back too.
//!
//! Bounded by bytes: past the bound, `append` refuses with [`SpoolError::Full`], and the
//! writer stops acknowledging (the broker keeps the messages) rather than losing any.

use std::collections::VecDeque;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use ioc_protocol::Message;

/// Why a batch could not be spooled.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("the spool is full ({bytes} of {max} bytes)")]
    Full { bytes: u64, max: u64 },
    #[error("spool I/O at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("spool file {path} is corrupt: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

#[derive(Debug)]
struct Segment {
    number: u64,
    bytes: u64,
    path: PathBuf,
}

/// The spool directory and the batches in it, oldest first.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segments: VecDeque<Segment>,
    bytes: u64,
    next: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SpoolError + '_ {
    move |source| SpoolError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The number of a batch's file name (`<number>.batch`); `None` for any other name.
fn batch_number(name: &str) -> Option<u64> {
    name.strip_suffix(".batch")?.parse().ok()
}

/// Whether an entry of the spool's directory is a batch waiting (not a batch being written,
/// which was never acknowledged, nor one set aside as unreadable). A batch is renamed into
/// place whole, so a copy of it is whole too.
pub fn is_batch(name: &str) -> bool {
    batch_number(name).is_some()
}

impl Spool {
    /// Opens the spool in `dir`, picking up the batches left there.
    pub fn open(dir: &Path, max_bytes: u64) -> Result<Spool, SpoolError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let mut segments = Vec::new();
        for entry in fs::read_dir(dir).map_err(io(dir))? {
            let entry = entry.map_err(io(dir))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                // A batch whose write never finished was never acknowledged: the broker has
                // it still.
                let _ = fs::remove_file(&path);
                continue;
            }
            let Some(number) = batch_number(&name) else {
                continue;
            };
            let bytes = entry.metadata().map_err(io(&path))?.len();
            segments.push(Segment {
                number,
                bytes,
                path,
            });
        }
        segments.sort_by_key(|s| s.number);
        let bytes = segments.iter().map(|s| s.bytes).sum();
        let next = segments.last().map_or(1, |s| s.number + 1);
        Ok(Spool {
            dir: dir.to_owned(),
            max_bytes,
            segments: segments.into(),
            bytes,
            next,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Batches waiting.
    pub fn len(&self) -> usize {
        self.segments.len()
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Adds a batch at the end, durably.
    pub fn append(&mut self, batch: &[Message]) -> Result<(), SpoolError> {
        let mut text = Vec::with_capacity(batch.len() * 200);
        for m in batch {
            serde_json::to_writer(&mut text, m).map_err(|e| SpoolError::Corrupt {
                path: self.dir.clone(),
                reason: e.to_string(),
            })?;
            text.push(b'\n');
        }
        let size = text.len() as u64;
        if self.bytes + size > self.max_bytes {
            return Err(SpoolError::Full {
                bytes: self.bytes,
                max: self.max_bytes,
            });
        }
        let number = self.next;
        let path = self.dir.join(format!("{number:020}.batch"));
        let tmp = self.dir.join(format!("{number:020}.tmp"));
        {
            let mut f = File::create(&tmp).map_err(io(&tmp))?;
            f.write_all(&text).map_err(io(&tmp))?;
            f.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))?;
        self.next += 1;
        self.bytes += size;
        self.segments.push_back(Segment {
            number,
            bytes: size,
            path,
        });
        Ok(())
    }

    /// The oldest batch, read back from disk.
    pub fn front(&self) -> Result<Option<Vec<Message>>, SpoolError> {
        let Some(seg) = self.segments.front() else {
            return Ok(None);
        };
        let f = File::open(&seg.path).map_err(io(&seg.path))?;
        let mut out = Vec::new();
        for line in BufReader::new(f).lines() {
            let line = line.map_err(io(&seg.path))?;
            if line.is_empty() {
                continue;
            }
            out.push(
                serde_json::from_str(&line).map_err(|e| SpoolError::Corrupt {
                    path: seg.path.clone(),
                    reason: e.to_string(),
                })?,
            );
        }
        Ok(Some(out))
    }

    /// Removes the oldest batch, once it is in the store.
    pub fn pop_front(&mut self) -> Result<(), SpoolError> {
        if let Some(seg) = self.segments.pop_front() {
            fs::remove_file(&seg.path).map_err(io(&seg.path))?;
            self.bytes -= seg.bytes;
        }
        Ok(())
    }

    /// Sets aside a batch that cannot be read, so that it does not block the others; it stays
    /// on disk, renamed, for an operator to look at.
    pub fn quarantine_front(&mut self) -> Result<PathBuf, SpoolError> {
        let Some(seg) = self.segments.pop_front() else {
            return Err(SpoolError::Corrupt {
                path: self.dir.clone(),
                reason: "nothing to quarantine".into(),
            });
        };
        let to = seg.path.with_extension("corrupt");
        fs::rename(&seg.path, &to).map_err(io(&seg.path))?;
        self.bytes -= seg.bytes;
        Ok(to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::{Body, Domain, Topic, Value};

    fn batch(n: i64) -> Vec<Message> {
        (0..3)
            .map(|i| Message {
                topic: Topic::new(Domain::Env, "q1", "a"),
                ts: n * 100 + i,
                seq: Some(i as u64),
                body: Body::Reading([("aqi".to_owned(), Value::Number(n as f64))].into()),
            })
            .collect()
    }

    #[test]
    fn batches_come_back_in_order_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
            for n in 0..5 {
                s.append(&batch(n)).unwrap();
            }
            assert_eq!(s.front().unwrap().unwrap(), batch(0));
            s.pop_front().unwrap();
            assert_eq!(s.len(), 4);
        }
        // A crash mid-write leaves a temporary file: it is not a batch.
        std::fs::write(dir.path().join("00000000000000000009.tmp"), b"{half").unwrap();
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(s.len(), 4);
        for n in 1..5 {
            assert_eq!(s.front().unwrap().unwrap(), batch(n));
            s.pop_front().unwrap();
        }
        assert!(s.is_empty());
        assert_eq!(s.bytes(), 0);
        // Numbering goes on after the old batches, never reusing a name.
        s.append(&batch(7)).unwrap();
        assert!(dir.path().join("00000000000000000006.batch").exists());
    }

    #[test]
    fn a_full_spool_refuses() {
        let probe = tempfile::tempdir().unwrap();
        let mut p = Spool::open(probe.path(), 1 << 20).unwrap();
        p.append(&batch(0)).unwrap();
        let one = p.bytes();
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), one + one / 2).unwrap();
        s.append(&batch(0)).unwrap();
        let err = s.append(&batch(1)).unwrap_err();
        assert!(matches!(err, SpoolError::Full { .. }), "{err}");
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn a_corrupt_batch_is_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Spool::open(dir.path(), 1 << 20).unwrap();
        s.append(&batch(0)).unwrap();
        s.append(&batch(1)).unwrap();
        std::fs::write(dir.path().join("00000000000000000001.batch"), b"not json\n").unwrap();
        assert!(matches!(s.front(), Err(SpoolError::Corrupt { .. })));
        let kept = s.quarantine_front().unwrap();
        assert!(kept.exists());
        assert_eq!(s.front().unwrap().unwrap(), batch(1));
    }
}
