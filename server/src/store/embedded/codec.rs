//! The embedded store's encodings: how a reading's fields and a bucket's aggregates are packed
//! into the blobs of the `raw` and rollup rows, and how values and strings are written in the
//! journal's records ([`put_value`], [`put_str`], read back through [`Cursor`]).

use ioc_protocol::Value;

/// A running sum of one field in one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Agg {
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) sum: f64,
    pub(super) count: u64,
}

impl Agg {
    pub(super) fn new(v: f64) -> Agg {
        Agg {
            min: v,
            max: v,
            sum: v,
            count: 1,
        }
    }

    pub(super) fn merge(&mut self, o: &Agg) {
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.sum += o.sum;
        self.count += o.count;
    }
}

/// The aggregates of every numeric field of one source in one bucket: a handful of fields, so
/// a vector searched in order beats a map.
pub(super) type Aggs = Vec<(u32, Agg)>;

/// Adds every field of `from` into `into`.
pub(super) fn merge_all(into: &mut Aggs, from: &Aggs) {
    for (id, a) in from {
        merge_into(into, *id, a);
    }
}

pub(super) fn merge_into(aggs: &mut Aggs, field: u32, a: &Agg) {
    match aggs.iter_mut().find(|(f, _)| *f == field) {
        Some((_, b)) => b.merge(a),
        None => aggs.push((field, *a)),
    }
}

// The packed blobs. Both are a sequence of entries, each starting with the field's id as a
// LEB128 varint:
// - raw fields: a tag byte, then 0 = number (f64 LE), 1 = false, 2 = true, 3 = text (varint
//   length, UTF-8 bytes);
// - rollup aggregates: min, max, sum as f64 LE, count as u64 LE.

const TAG_NUMBER: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_TEXT: u8 = 3;

pub(super) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Reads packed data, failing on anything truncated or malformed instead of panicking.
pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Cursor<'a> {
        Cursor { buf, pos: 0 }
    }

    pub(super) fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    pub(super) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }

    pub(super) fn byte(&mut self) -> Option<u8> {
        Some(self.bytes(1)?[0])
    }

    pub(super) fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    pub(super) fn f64(&mut self) -> Option<f64> {
        Some(f64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }

    pub(super) fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.bytes(8)?.try_into().ok()?))
    }
}

/// Appends one value: its tag byte and what follows (see above). The raw rows' blobs and the
/// journal's records encode values so.
pub(super) fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Number(n) => {
            out.push(TAG_NUMBER);
            out.extend_from_slice(&n.to_le_bytes());
        }
        Value::Bool(false) => out.push(TAG_FALSE),
        Value::Bool(true) => out.push(TAG_TRUE),
        Value::Text(s) => {
            out.push(TAG_TEXT);
            put_str(out, s);
        }
    }
}

/// Appends a string: its length as a varint, then its UTF-8 bytes.
pub(super) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Packs a reading's fields (by field id) into the raw row's blob.
pub(super) fn pack_fields(out: &mut Vec<u8>, fields: &[(u32, &Value)]) {
    for (id, value) in fields {
        put_varint(out, u64::from(*id));
        put_value(out, value);
    }
}

/// One field of a raw row's blob, borrowed from it.
pub(super) enum Packed<'a> {
    Number(f64),
    Bool(bool),
    Text(&'a [u8]),
}

impl Packed<'_> {
    /// The value, owned; `None` for text that is not UTF-8.
    pub(super) fn to_value(&self) -> Option<Value> {
        Some(match *self {
            Packed::Number(n) => Value::Number(n),
            Packed::Bool(b) => Value::Bool(b),
            Packed::Text(t) => Value::Text(std::str::from_utf8(t).ok()?.to_owned()),
        })
    }
}

impl<'a> Cursor<'a> {
    /// The next value written by [`put_value`].
    pub(super) fn value(&mut self) -> Option<Packed<'a>> {
        Some(match self.byte()? {
            TAG_NUMBER => Packed::Number(self.f64()?),
            TAG_FALSE => Packed::Bool(false),
            TAG_TRUE => Packed::Bool(true),
            TAG_TEXT => {
                let n = usize::try_from(self.varint()?).ok()?;
                Packed::Text(self.bytes(n)?)
            }
            _ => return None,
        })
    }

    /// The next (field id, value) of a raw row's blob.
    pub(super) fn field(&mut self) -> Option<(u32, Packed<'a>)> {
        let id = u32::try_from(self.varint()?).ok()?;
        Some((id, self.value()?))
    }
}

/// Unpacks a raw row's blob into (field id, value) pairs.
pub(super) fn unpack_fields(blob: &[u8]) -> Option<Vec<(u32, Value)>> {
    let mut c = Cursor::new(blob);
    let mut out = Vec::new();
    while !c.done() {
        let (id, value) = c.field()?;
        out.push((id, value.to_value()?));
    }
    Some(out)
}

/// The number (see [`Value::as_number`]) of one field in a raw row's blob, without unpacking
/// the others: `Some(None)` when the field is absent or text, `None` when the blob is corrupt.
pub(super) fn field_number(blob: &[u8], field: u32) -> Option<Option<f64>> {
    let mut c = Cursor::new(blob);
    while !c.done() {
        let (id, value) = c.field()?;
        if id == field {
            return Some(match value {
                Packed::Number(n) => Some(n),
                Packed::Bool(b) => Some(f64::from(u8::from(b))),
                Packed::Text(_) => None,
            });
        }
    }
    Some(None)
}

pub(super) fn pack_aggs(aggs: &Aggs) -> Vec<u8> {
    let mut out = Vec::with_capacity(aggs.len() * 34);
    for (id, a) in aggs {
        put_varint(&mut out, u64::from(*id));
        out.extend_from_slice(&a.min.to_le_bytes());
        out.extend_from_slice(&a.max.to_le_bytes());
        out.extend_from_slice(&a.sum.to_le_bytes());
        out.extend_from_slice(&a.count.to_le_bytes());
    }
    out
}

pub(super) fn unpack_aggs(blob: &[u8]) -> Option<Aggs> {
    let mut c = Cursor::new(blob);
    let mut out = Vec::new();
    while !c.done() {
        let id = u32::try_from(c.varint()?).ok()?;
        out.push((
            id,
            Agg {
                min: c.f64()?,
                max: c.f64()?,
                sum: c.f64()?,
                count: c.u64()?,
            },
        ));
    }
    Some(out)
}
