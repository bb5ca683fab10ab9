//! The embedded store's journal: where an accepted batch becomes durable before it is folded
//! into the SQLite file (see `folder.rs`).
//!
//! Appending is cheap whatever the batch holds: one sequential write and one `fdatasync`,
//! where a SQLite commit of the same batch writes a page of the raw table, and of each rollup,
//! for nearly every reading in it (under load a batch holds about one reading per source).
//!
//! Segment files `<number>.jnl` in one directory. A record is `[payload length: u32 LE]`
//! `[CRC-32 of the payload: u32 LE][payload]`, the payload a batch of messages (see
//! [`encode_batch`]). A new segment's directory entry is synced before anything is appended
//! to it, and each append is synced before it returns: once [`Journal::append`] returns, the
//! batch survives a crash of the process or the machine. A crash during an append leaves a
//! torn record at the end of the newest segment; it was never acknowledged, and replay stops
//! there. Segments are removed once what they hold is committed to SQLite; replaying one that
//! was committed but not yet removed writes nothing twice, since the store ignores a reading
//! it already has (same source and `ts`) and rolls up only what it inserts.

use crate::crc32::crc32;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use ioc_protocol::{Body, Domain, Event, Message, Topic};

use super::codec::{Cursor, put_str, put_value, put_varint};

/// Why the journal failed.
#[derive(Debug, thiserror::Error)]
#[error("store journal at {path}: {source}")]
pub struct JournalError {
    path: PathBuf,
    source: std::io::Error,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |source| JournalError {
        path: path.to_owned(),
        source,
    }
}

/// The journal directory, with the segment being appended to.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// The segment appended to, and its number.
    file: File,
    current: u64,
    /// Bytes appended to the current segment.
    bytes: u64,
    /// An append failed and what it left could not be cut off: the next append starts a new
    /// segment, so that no record follows a broken one.
    broken: bool,
    /// Reused for encoding.
    buf: Vec<u8>,
}

/// What an earlier run left in the journal, to be folded into the store before anything else.
#[derive(Debug, Default)]
pub struct Replay {
    pub batches: Vec<Vec<Message>>,
    /// The last segment read: everything up to it can go once the batches are committed.
    pub through: u64,
    /// Segments that could not be read to their end (other than a torn last record), moved
    /// aside as `<number>.jnl.corrupt-<time>` for an operator to look at.
    pub set_aside: Vec<PathBuf>,
}

fn segment_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("{n:016}.jnl"))
}

/// The number of a segment's file name (`<number>.jnl`); `None` for any other name.
fn segment_number(name: &str) -> Option<u64> {
    name.strip_suffix(".jnl")?.parse().ok()
}

/// Whether an entry of the journal's directory is a segment, one that replay reads (not a
/// damaged segment set aside).
pub fn is_segment(name: &str) -> bool {
    segment_number(name).is_some()
}

/// The segment numbers in `dir`, in order.
fn segments(dir: &Path) -> Result<Vec<u64>, JournalError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        if let Some(n) = entry.file_name().to_str().and_then(segment_number) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// The record at `pos` of a segment's bytes: its payload and where the next one starts, if it
/// is whole and its checksum holds.
fn record_at(data: &[u8], pos: usize) -> Option<(&[u8], usize)> {
    let head = data.get(pos..pos + 8)?;
    let len = u32::from_le_bytes(head[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(head[4..8].try_into().expect("4 bytes"));
    let end = pos + 8 + len;
    let payload = data.get(pos + 8..end)?;
    (crc32(payload) == crc).then_some((payload, end))
}

/// How many leading bytes of a segment's `data` are whole records whose checksum holds: what
/// a copy of a segment may keep while the server appends to it (the backup). A record still
/// being written when the bytes were read, or torn by a crash, is left out with everything
/// after it; a record is only acknowledged once it is whole and synced, so nothing
/// acknowledged is left out with it.
pub fn whole_records(data: &[u8]) -> usize {
    let mut pos = 0;
    while let Some((_, next)) = record_at(data, pos) {
        pos = next;
    }
    pos
}

fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}

/// Reads the records of one segment: the batches, and whether the segment was read to its end
/// (false: a record was torn or corrupt, and what follows it was not read).
fn read_segment(path: &Path) -> Result<(Vec<Vec<Message>>, bool), JournalError> {
    let data = fs::read(path).map_err(io(path))?;
    let mut batches = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let Some((payload, next)) = record_at(&data, pos) else {
            return Ok((batches, false));
        };
        match decode_batch(payload) {
            Some(batch) => batches.push(batch),
            None => return Ok((batches, false)),
        }
        pos = next;
    }
    Ok((batches, true))
}

impl Journal {
    /// Opens the journal in `dir`: what earlier runs left, and a new segment to append to.
    pub fn open(dir: &Path) -> Result<(Journal, Replay), JournalError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let found = segments(dir)?;
        let mut replay = Replay::default();
        for (i, &n) in found.iter().enumerate() {
            let path = segment_path(dir, n);
            let (batches, whole) = read_segment(&path)?;
            replay.batches.extend(batches);
            replay.through = n;
            // A torn record at the end of the newest segment is an append that never
            // returned, so was never acknowledged. Anywhere else, the file was damaged.
            if !whole && i + 1 < found.len() {
                // Named with the time too: numbers start again at 1 once every segment is
                // removed, and an earlier run's damaged segment must not be overwritten.
                let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
                let aside = path.with_extension(format!("jnl.corrupt-{stamp}"));
                fs::rename(&path, &aside).map_err(io(&path))?;
                tracing::error!(
                    segment = %aside.display(),
                    "a store journal segment is damaged; what could be read of it is kept, \
                     the file is set aside"
                );
                replay.set_aside.push(aside);
            }
        }
        let current = found.last().map_or(1, |n| n + 1);
        let (file, current) = Journal::create(dir, current)?;
        Ok((
            Journal {
                dir: dir.to_owned(),
                file,
                current,
                bytes: 0,
                broken: false,
                buf: Vec::new(),
            },
            replay,
        ))
    }

    fn create(dir: &Path, n: u64) -> Result<(File, u64), JournalError> {
        let path = segment_path(dir, n);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        sync_dir(dir)?;
        Ok((file, n))
    }

    /// Appends a batch and syncs it: once this returns, the batch survives a crash.
    pub fn append<'a>(
        &mut self,
        batches: impl IntoIterator<Item = &'a [Message]> + Clone,
    ) -> Result<(), JournalError> {
        self.buf.clear();
        self.buf.extend_from_slice(&[0; 8]);
        encode_batch(&mut self.buf, batches);
        let len = (self.buf.len() - 8) as u32;
        let crc = crc32(&self.buf[8..]);
        self.buf[0..4].copy_from_slice(&len.to_le_bytes());
        self.buf[4..8].copy_from_slice(&crc.to_le_bytes());
        if self.broken {
            let (file, n) = Journal::create(&self.dir, self.current + 1)?;
            self.file = file;
            self.current = n;
            self.bytes = 0;
            self.broken = false;
        }
        let path = segment_path(&self.dir, self.current);
        let written = self
            .file
            .write_all(&self.buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Not acknowledged, so whatever part of it reached the file must not stay in
            // front of the next records (replay would stop at it). After a failed sync the
            // file's state is unknown: leave it either way.
            let _ = self.file.set_len(self.bytes);
            self.broken = true;
            return Err(io(&path)(e));
        }
        self.bytes += self.buf.len() as u64;
        Ok(())
    }

    /// Starts a new segment, so that everything appended so far is in segments up to the
    /// number returned, and nothing appended from now on is.
    pub fn rotate(&mut self) -> Result<u64, JournalError> {
        if self.bytes == 0 && !self.broken {
            return Ok(self.current - 1);
        }
        let (file, n) = Journal::create(&self.dir, self.current + 1)?;
        self.file = file;
        self.bytes = 0;
        self.current = n;
        self.broken = false;
        Ok(n - 1)
    }

    /// Removes the segments up to `through` (their batches are committed to the store).
    pub fn remove_through(&self, through: u64) -> Result<(), JournalError> {
        for n in segments(&self.dir)? {
            if n > through || n == self.current {
                break;
            }
            let path = segment_path(&self.dir, n);
            fs::remove_file(&path).map_err(io(&path))?;
        }
        Ok(())
    }
}

// The payload: a varint count of messages, then each message:
// - domain, area, source: strings (varint length, UTF-8 bytes);
// - ts: i64 LE; seq: 0, or 1 and a u64 LE;
// - 0 and a reading: varint count of fields, each a name string and its value as the raw
//   rows' blobs encode it (a tag byte, then the number, or the text as a string);
// - or 1 and an event as a JSON string.

/// Encodes the messages of `batches`, in order, as one payload.
pub fn encode_batch<'a>(
    out: &mut Vec<u8>,
    batches: impl IntoIterator<Item = &'a [Message]> + Clone,
) {
    let n: usize = batches.clone().into_iter().map(<[Message]>::len).sum();
    put_varint(out, n as u64);
    for msg in batches.into_iter().flatten() {
        put_str(out, msg.topic.domain.as_str());
        put_str(out, &msg.topic.area);
        put_str(out, &msg.topic.source);
        out.extend_from_slice(&msg.ts.to_le_bytes());
        match msg.seq {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&s.to_le_bytes());
            }
        }
        match &msg.body {
            Body::Reading(values) => {
                out.push(0);
                put_varint(out, values.len() as u64);
                for (name, value) in values {
                    put_str(out, name);
                    put_value(out, value);
                }
            }
            Body::Event(event) => {
                out.push(1);
                // An event serialises infallibly (strings, numbers, options).
                let json = serde_json::to_string(event).unwrap_or_default();
                put_str(out, &json);
            }
        }
    }
}

impl Cursor<'_> {
    fn str(&mut self) -> Option<&str> {
        let n = usize::try_from(self.varint()?).ok()?;
        std::str::from_utf8(self.bytes(n)?).ok()
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
}

/// Decodes a payload of [`encode_batch`]; `None` if it is malformed.
pub fn decode_batch(buf: &[u8]) -> Option<Vec<Message>> {
    let mut c = Cursor::new(buf);
    let n = usize::try_from(c.varint()?).ok()?;
    let mut out = Vec::with_capacity(n.min(buf.len()));
    for _ in 0..n {
        let domain: Domain = c.str()?.parse().ok()?;
        let area = c.str()?.to_owned();
        let source = c.str()?.to_owned();
        let ts = c.i64()?;
        let seq = match c.byte()? {
            0 => None,
            1 => Some(c.u64()?),
            _ => return None,
        };
        let body = match c.byte()? {
            0 => {
                let fields = usize::try_from(c.varint()?).ok()?;
                let mut values = ioc_protocol::Reading::new();
                for _ in 0..fields {
                    let name = c.str()?.to_owned();
                    values.insert(name, c.value()?.to_value()?);
                }
                Body::Reading(values)
            }
            1 => Body::Event(serde_json::from_str::<Event>(c.str()?).ok()?),
            _ => return None,
        };
        out.push(Message {
            topic: Topic::new(domain, area, source),
            ts,
            seq,
            body,
        });
    }
    c.done().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ioc_protocol::{Complaint, Value};

    fn reading(source: &str, ts: i64) -> Message {
        Message {
            topic: Topic::new(Domain::Env, "q1", source),
            ts,
            seq: Some(ts as u64),
            body: Body::Reading(
                [
                    ("aqi".to_owned(), Value::Number(ts as f64 / 3.0)),
                    ("ok".to_owned(), Value::Bool(ts % 2 == 0)),
                    ("note".to_owned(), Value::Text("mưa lớn".into())),
                ]
                .into_iter()
                .collect(),
            ),
        }
    }

    fn complaint(id: &str, ts: i64) -> Message {
        Message {
            topic: Topic::new(Domain::Complaint, "q3", "tong-dai-1022"),
            ts,
            seq: None,
            body: Body::Event(Event::Complaint(Complaint {
                id: id.into(),
                category: "flooding".into(),
                channel: "hotline".into(),
                status: "received".into(),
                ward: Some("Phường 7".into()),
                due: Some(ts + 3_600_000),
                lat: None,
                lon: None,
            })),
        }
    }

    #[test]
    fn what_was_appended_comes_back_in_order_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = vec![reading("a", 1), complaint("c-1", 2)];
        let second = vec![reading("b", 3)];
        {
            let (mut j, replay) = Journal::open(dir.path()).unwrap();
            assert!(replay.batches.is_empty());
            j.append([first.as_slice()]).unwrap();
            j.rotate().unwrap();
            j.append([second.as_slice(), first.as_slice()]).unwrap();
        }
        let (_, replay) = Journal::open(dir.path()).unwrap();
        let mut both = second.clone();
        both.extend(first.iter().cloned());
        assert_eq!(replay.batches, vec![first, both]);
        assert!(replay.set_aside.is_empty());
    }

    #[test]
    fn committed_segments_go_and_the_rest_stay() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append([[reading("a", 1)].as_slice()]).unwrap();
        let through = j.rotate().unwrap();
        j.append([[reading("a", 2)].as_slice()]).unwrap();
        j.remove_through(through).unwrap();
        assert!(!segment_path(dir.path(), through).exists());
        drop(j);
        let (mut j, replay) = Journal::open(dir.path()).unwrap();
        assert_eq!(replay.batches, vec![vec![reading("a", 2)]]);
        // Nothing appended to the new segment yet: rotating keeps it.
        assert_eq!(j.rotate().unwrap(), j.current - 1);
    }

    #[test]
    fn a_torn_last_record_is_dropped_and_a_damaged_segment_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append([[reading("a", 1)].as_slice()]).unwrap();
        j.append([[reading("a", 2)].as_slice()]).unwrap();
        let first = j.current;
        j.rotate().unwrap();
        j.append([[reading("a", 3)].as_slice()]).unwrap();
        j.append([[reading("a", 4)].as_slice()]).unwrap();
        let last = j.current;
        drop(j);
        // The last append of the newest segment was cut short by a crash.
        let newest = segment_path(dir.path(), last);
        let len = fs::metadata(&newest).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&newest)
            .unwrap()
            .set_len(len - 5)
            .unwrap();
        // A bit flipped in the older segment's second record.
        let older = segment_path(dir.path(), first);
        let mut bytes = fs::read(&older).unwrap();
        let at = bytes.len() - 3;
        bytes[at] ^= 0x40;
        fs::write(&older, bytes).unwrap();
        let (_, replay) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            replay.batches,
            vec![vec![reading("a", 1)], vec![reading("a", 3)]]
        );
        assert_eq!(replay.set_aside.len(), 1);
        let aside = &replay.set_aside[0];
        assert!(aside.exists() && !older.exists());
        let name = aside.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with(&format!("{first:016}.jnl.corrupt-")),
            "{name}"
        );
    }

    #[test]
    fn a_copy_cut_to_its_whole_records_replays_every_record_appended_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        let mut ends = vec![0];
        for ts in 1..=3 {
            j.append([[reading("a", ts), complaint("c", ts)].as_slice()])
                .unwrap();
            ends.push(j.bytes as usize);
        }
        let path = segment_path(dir.path(), j.current);
        drop(j);
        let bytes = fs::read(&path).unwrap();
        assert_eq!(bytes.len(), *ends.last().unwrap());
        // Read at any moment of an append: only the records before it are kept.
        for cut in 0..=bytes.len() {
            let whole = ends.iter().copied().filter(|&e| e <= cut).max().unwrap();
            assert_eq!(whole_records(&bytes[..cut]), whole, "cut at {cut}");
        }
        let mut flipped = bytes.clone();
        flipped[ends[1] + 10] ^= 1;
        assert_eq!(whole_records(&flipped), ends[1]);
        // A copy cut so, even as an older segment, replays whole: nothing is set aside.
        let copy = tempfile::tempdir().unwrap();
        let cut = ends[2] + 7;
        fs::write(
            segment_path(copy.path(), 1),
            &bytes[..whole_records(&bytes[..cut])],
        )
        .unwrap();
        fs::write(segment_path(copy.path(), 2), &bytes).unwrap();
        let (_, replay) = Journal::open(copy.path()).unwrap();
        assert_eq!(replay.batches.len(), 2 + 3);
        assert!(replay.set_aside.is_empty());
        assert!(is_segment("0000000000000001.jnl"));
        assert!(!is_segment(
            "0000000000000001.jnl.corrupt-20250101T000000.000Z"
        ));
    }

    #[test]
    fn after_a_failed_append_the_next_records_go_to_a_new_segment() {
        let dir = tempfile::tempdir().unwrap();
        let (mut j, _) = Journal::open(dir.path()).unwrap();
        j.append([[reading("a", 1)].as_slice()]).unwrap();
        // The segment stops taking writes (here: its handle is read-only).
        let first = j.current;
        j.file = File::open(segment_path(dir.path(), first)).unwrap();
        assert!(j.append([[reading("a", 2)].as_slice()]).is_err());
        j.append([[reading("a", 3)].as_slice()]).unwrap();
        assert_eq!(j.current, first + 1);
        drop(j);
        let (_, replay) = Journal::open(dir.path()).unwrap();
        assert_eq!(
            replay.batches,
            vec![vec![reading("a", 1)], vec![reading("a", 3)]]
        );
        assert!(replay.set_aside.is_empty());
    }

    #[test]
    fn malformed_payloads_are_refused_not_panicked_on() {
        let mut buf = Vec::new();
        encode_batch(&mut buf, [[reading("a", 1), complaint("c", 2)].as_slice()]);
        assert!(decode_batch(&buf).is_some());
        for cut in 0..buf.len() {
            assert!(decode_batch(&buf[..cut]).is_none(), "cut at {cut}");
        }
        let mut extra = buf.clone();
        extra.push(0);
        assert!(decode_batch(&extra).is_none());
    }
}
