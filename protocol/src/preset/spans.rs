//! Where a field is in a TOML document: field paths (`areas[3].centroid.lat`), the line a
//! path or a byte offset is at, and the field a deserialization error points at.
//!
//! The city preset and the indicator catalogue both report a broken rule as "file, line,
//! field: what is wrong"; this is how they find the line and the field.

use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};

/// What is wrong in a document, and where: its 1-based line and, unless it is a syntax error,
/// its field.
#[derive(Debug)]
pub(crate) struct Located {
    pub(crate) line: usize,
    pub(crate) field: Option<String>,
    pub(crate) message: String,
}

/// Deserializes a document; an error (syntax, a type, an unknown or missing field) is located
/// by the span the `toml` crate gives it.
pub(crate) fn deserialize<T: DeserializeOwned>(text: &str) -> Result<T, Located> {
    toml::from_str(text).map_err(|e| {
        let (line, field) = match e.span() {
            Some(span) => (line_of(text, span.start), field_at(text, span.start)),
            None => (1, None),
        };
        Located {
            line,
            field: field.map(|f| f.to_string()),
            message: e.message().trim().to_owned(),
        }
    })
}

/// A broken rule of a field, located at the field's line (at its nearest ancestor present
/// when the field is absent).
pub(crate) fn locate(text: &str, field: &FieldPath, message: String) -> Located {
    Located {
        line: line_of(text, span_of(text, field).start),
        field: Some(field.to_string()),
        message,
    }
}

/// A field of the document: `areas[3].centroid.lat`.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct FieldPath(Vec<Seg>);

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl FieldPath {
    pub(crate) fn key(&self, key: &str) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Key(key.to_owned()));
        p
    }

    pub(crate) fn index(&self, i: usize) -> FieldPath {
        let mut p = self.clone();
        p.0.push(Seg::Index(i));
        p
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The span of a field in the document; of its nearest ancestor present when the field is
/// absent (a missing `area` points at its table).
fn span_of(text: &str, field: &FieldPath) -> Range<usize> {
    let Ok(root) = DeTable::parse(text) else {
        return 0..0;
    };
    let mut span = root.span();
    let root = DeValue::Table(root.into_inner());
    let mut node = &root;
    for seg in &field.0 {
        let next = match seg {
            Seg::Key(k) => node.get(k.as_str()),
            Seg::Index(i) => node.get(*i),
        };
        let Some(next) = next else { break };
        span = next.span();
        node = next.get_ref();
    }
    span
}

/// The deepest field whose key or value holds a byte offset: where a deserialization error
/// points. `None` when the document does not parse (a syntax error has no field).
fn field_at(text: &str, offset: usize) -> Option<FieldPath> {
    let root = DeTable::parse(text).ok()?;
    let root = DeValue::Table(root.into_inner());
    let mut path = FieldPath::default();
    find(&root, offset, &mut path).then_some(path)
}

fn find(value: &DeValue<'_>, offset: usize, path: &mut FieldPath) -> bool {
    let holds = |span: Range<usize>| span.start == offset || span.contains(&offset);
    match value {
        DeValue::Table(table) => {
            for (key, child) in table {
                path.0.push(Seg::Key(key.get_ref().to_string()));
                if holds(key.span()) || find(child.get_ref(), offset, path) || holds(child.span()) {
                    return true;
                }
                path.0.pop();
            }
        }
        DeValue::Array(array) => {
            for (i, child) in array.iter().enumerate() {
                path.0.push(Seg::Index(i));
                if find(child.get_ref(), offset, path) || holds(child.span()) {
                    return true;
                }
                path.0.pop();
            }
        }
        _ => {}
    }
    false
}
