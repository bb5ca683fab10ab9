//! Reading the first worksheet of an XLSX file (Office Open XML, as Excel, LibreOffice and
//! openpyxl write it) into rows of cells: what a spreadsheet upload of indicator values needs,
//! and nothing more (no styles, no formulas: a formula cell is read as its cached value).
//!
//! An XLSX is a zip archive of XML parts: `xl/workbook.xml` lists the sheets, its
//! relationships (`xl/_rels/workbook.xml.rels`) say which part each is, `xl/sharedStrings.xml`
//! holds the text of cells of type `s`. The zip's central directory is read here (stored and
//! deflated entries, CRC-32 checked; no zip64, no encryption: a spreadsheet of indicator values
//! is far smaller than 4 GiB), inflated by `miniz_oxide`, and the XML read by `quick-xml`.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use crate::crc32::crc32;

use super::sheet::{Cell, SheetRow};

/// The most one part of the archive may inflate to: a guard against a zip bomb, far above a
/// spreadsheet of 100,000 rows.
const MAX_PART_BYTES: usize = 256 * 1024 * 1024;

/// Why a file cannot be read as an XLSX workbook.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XlsxError {
    #[error("not a zip archive (an .xlsx file is one): {0}")]
    NotZip(&'static str),
    #[error(
        "the archive uses {0}, which an .xlsx file does not need: save it again from a spreadsheet program"
    )]
    Unsupported(&'static str),
    #[error("the archive's part {0} is damaged: {1}")]
    Damaged(String, String),
    #[error("the archive has no {0}: is it an .xlsx workbook?")]
    Missing(String),
    #[error("{part}: not well-formed XML: {why}")]
    Xml { part: String, why: String },
    #[error("the workbook has no worksheet")]
    NoSheet,
}

/// The rows of the workbook's first worksheet, in order, each with its row number.
pub(super) fn first_sheet(bytes: &[u8]) -> Result<Vec<SheetRow>, XlsxError> {
    let zip = Zip::read(bytes)?;
    let workbook = zip.part("xl/workbook.xml")?;
    let first = first_sheet_rel(&workbook)?;
    let rels = zip.part("xl/_rels/workbook.xml.rels")?;
    let target = relationship_target(&rels, &first)?;
    // Targets are relative to `xl/`, or absolute from the archive's root.
    let path = match target.strip_prefix('/') {
        Some(abs) => abs.to_owned(),
        None => format!("xl/{target}"),
    };
    let shared = match zip.find("xl/sharedStrings.xml") {
        Some(_) => shared_strings(&zip.part("xl/sharedStrings.xml")?)?,
        None => Vec::new(),
    };
    sheet_rows(&zip.part(&path)?, &path, &shared)
}

// --- The zip archive -----------------------------------------------------------------------------

/// An entry of the central directory.
#[derive(Debug, Clone, Copy)]
struct Entry {
    method: u16,
    crc: u32,
    compressed: usize,
    size: usize,
    local_offset: usize,
}

struct Zip<'a> {
    bytes: &'a [u8],
    entries: HashMap<String, Entry>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

impl<'a> Zip<'a> {
    /// Reads the central directory, found from the end-of-central-directory record.
    fn read(bytes: &'a [u8]) -> Result<Zip<'a>, XlsxError> {
        const EOCD: u32 = 0x0605_4b50;
        const CENTRAL: u32 = 0x0201_4b50;
        let lowest = bytes.len().saturating_sub(22 + 65_535);
        let eocd = (lowest..=bytes.len().saturating_sub(22))
            .rev()
            .find(|&i| u32_at(bytes, i) == Some(EOCD))
            .ok_or(XlsxError::NotZip("no end of central directory"))?;
        let short = XlsxError::NotZip("the central directory is cut short");
        let count = u16_at(bytes, eocd + 10).ok_or(short.clone())?;
        let dir_offset = u32_at(bytes, eocd + 16).ok_or(short.clone())?;
        if count == u16::MAX || dir_offset == u32::MAX {
            return Err(XlsxError::Unsupported("zip64"));
        }
        let mut at = dir_offset as usize;
        let mut entries = HashMap::new();
        for _ in 0..count {
            if u32_at(bytes, at) != Some(CENTRAL) {
                return Err(short);
            }
            let field = |off: usize| u32_at(bytes, at + off).map(|v| v as usize);
            let (Some(flags), Some(method), Some(crc)) = (
                u16_at(bytes, at + 8),
                u16_at(bytes, at + 10),
                u32_at(bytes, at + 16),
            ) else {
                return Err(short);
            };
            let (Some(compressed), Some(size), Some(local_offset)) =
                (field(20), field(24), field(42))
            else {
                return Err(short);
            };
            let (Some(name_len), Some(extra_len), Some(comment_len)) = (
                u16_at(bytes, at + 28),
                u16_at(bytes, at + 30),
                u16_at(bytes, at + 32),
            ) else {
                return Err(short);
            };
            let name = bytes
                .get(at + 46..at + 46 + usize::from(name_len))
                .ok_or(short.clone())?;
            if flags & 1 != 0 {
                return Err(XlsxError::Unsupported("encryption"));
            }
            entries.insert(
                String::from_utf8_lossy(name).into_owned(),
                Entry {
                    method,
                    crc,
                    compressed,
                    size,
                    local_offset,
                },
            );
            at += 46 + usize::from(name_len) + usize::from(extra_len) + usize::from(comment_len);
        }
        Ok(Zip { bytes, entries })
    }

    fn find(&self, name: &str) -> Option<Entry> {
        self.entries.get(name).copied()
    }

    /// A part's bytes, inflated and checked against its CRC-32.
    fn part(&self, name: &str) -> Result<Vec<u8>, XlsxError> {
        const LOCAL: u32 = 0x0403_4b50;
        let e = self
            .find(name)
            .ok_or_else(|| XlsxError::Missing(name.to_owned()))?;
        let damaged = |why: &str| XlsxError::Damaged(name.to_owned(), why.to_owned());
        let at = e.local_offset;
        if u32_at(self.bytes, at) != Some(LOCAL) {
            return Err(damaged("no local header where the directory says"));
        }
        let (Some(name_len), Some(extra_len)) =
            (u16_at(self.bytes, at + 26), u16_at(self.bytes, at + 28))
        else {
            return Err(damaged("cut short"));
        };
        let start = at + 30 + usize::from(name_len) + usize::from(extra_len);
        let data = self
            .bytes
            .get(start..start.saturating_add(e.compressed))
            .ok_or_else(|| damaged("cut short"))?;
        if e.size > MAX_PART_BYTES {
            return Err(damaged("larger than a spreadsheet can be"));
        }
        let out = match e.method {
            0 => data.to_vec(),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, MAX_PART_BYTES)
                .map_err(|err| damaged(&format!("cannot inflate ({:?})", err.status)))?,
            _ => return Err(XlsxError::Unsupported("a compression other than deflate")),
        };
        if out.len() != e.size || crc32(&out) != e.crc {
            return Err(damaged("its checksum does not match"));
        }
        Ok(out)
    }
}

// --- The XML parts -------------------------------------------------------------------------------

fn xml_error(part: &str) -> impl Fn(quick_xml::Error) -> XlsxError + '_ {
    move |e| XlsxError::Xml {
        part: part.to_owned(),
        why: e.to_string(),
    }
}

/// An attribute's value by its local name (`r:id` is `id`).
fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The relationship id of the workbook's first sheet.
fn first_sheet_rel(workbook: &[u8]) -> Result<String, XlsxError> {
    let part = "xl/workbook.xml";
    let mut reader = Reader::from_reader(workbook);
    loop {
        match reader.read_event().map_err(xml_error(part))? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == b"sheet" => {
                return attr(&e, b"id").ok_or(XlsxError::NoSheet);
            }
            Event::Eof => return Err(XlsxError::NoSheet),
            _ => {}
        }
    }
}

/// The target of relationship `id`.
fn relationship_target(rels: &[u8], id: &str) -> Result<String, XlsxError> {
    let part = "xl/_rels/workbook.xml.rels";
    let mut reader = Reader::from_reader(rels);
    loop {
        match reader.read_event().map_err(xml_error(part))? {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == b"Relationship"
                    && attr(&e, b"Id").as_deref() == Some(id) =>
            {
                return attr(&e, b"Target").ok_or(XlsxError::NoSheet);
            }
            Event::Eof => return Err(XlsxError::NoSheet),
            _ => {}
        }
    }
}

/// The shared strings, in order: each `<si>`'s text, its rich-text runs joined, its phonetic
/// guides (`<rPh>`) left out.
fn shared_strings(xml: &[u8]) -> Result<Vec<String>, XlsxError> {
    let part = "xl/sharedStrings.xml";
    let mut reader = Reader::from_reader(xml);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let (mut in_t, mut in_phonetic) = (false, false);
    loop {
        match reader.read_event().map_err(xml_error(part))? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"si" => current = Some(String::new()),
                b"t" => in_t = true,
                b"rPh" => in_phonetic = true,
                _ => {}
            },
            Event::Empty(e) if e.local_name().as_ref() == b"si" => out.push(String::new()),
            Event::End(e) => match e.local_name().as_ref() {
                b"si" => out.push(current.take().unwrap_or_default()),
                b"t" => in_t = false,
                b"rPh" => in_phonetic = false,
                _ => {}
            },
            Event::Text(t) if in_t && !in_phonetic => {
                if let Some(s) = current.as_mut() {
                    s.push_str(&t.unescape().map_err(xml_error(part))?);
                }
            }
            Event::CData(t) if in_t && !in_phonetic => {
                if let Some(s) = current.as_mut() {
                    s.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
    }
}

/// The column of a cell reference (`B7` is 1), 0-based.
fn column_of(reference: &str) -> Option<usize> {
    let letters: Vec<u8> = reference
        .bytes()
        .take_while(u8::is_ascii_alphabetic)
        .collect();
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let n = letters.iter().fold(0usize, |n, &b| {
        n * 26 + usize::from(b.to_ascii_uppercase() - b'A') + 1
    });
    Some(n - 1)
}

/// A cell being read: its column, type and text so far.
struct OpenCell {
    col: usize,
    kind: String,
    text: String,
}

/// The rows of a worksheet part.
fn sheet_rows(xml: &[u8], part: &str, shared: &[String]) -> Result<Vec<SheetRow>, XlsxError> {
    let mut reader = Reader::from_reader(xml);
    let mut rows: Vec<SheetRow> = Vec::new();
    let mut row: Option<SheetRow> = None;
    let mut cell: Option<OpenCell> = None;
    let mut in_text = false;
    loop {
        match reader.read_event().map_err(xml_error(part))? {
            Event::Start(e) if e.local_name().as_ref() == b"row" => {
                let line = attr(&e, b"r")
                    .and_then(|r| r.parse().ok())
                    .unwrap_or_else(|| rows.last().map_or(1, |r| r.line + 1));
                row = Some(SheetRow {
                    line,
                    cells: Vec::new(),
                });
            }
            Event::End(e) if e.local_name().as_ref() == b"row" => {
                rows.extend(row.take());
            }
            Event::Start(e) if e.local_name().as_ref() == b"c" => {
                let next = row.as_ref().map_or(0, |r| r.cells.len());
                cell = Some(OpenCell {
                    col: attr(&e, b"r").and_then(|r| column_of(&r)).unwrap_or(next),
                    kind: attr(&e, b"t").unwrap_or_default(),
                    text: String::new(),
                });
            }
            Event::End(e) if e.local_name().as_ref() == b"c" => {
                if let (Some(c), Some(r)) = (cell.take(), row.as_mut()) {
                    let value = cell_value(&c, shared);
                    if r.cells.len() <= c.col {
                        r.cells.resize(c.col + 1, Cell::Empty);
                    }
                    r.cells[c.col] = value;
                }
            }
            Event::Start(e) if matches!(e.local_name().as_ref(), b"v" | b"t") => in_text = true,
            Event::End(e) if matches!(e.local_name().as_ref(), b"v" | b"t") => in_text = false,
            Event::Text(t) if in_text => {
                if let Some(c) = cell.as_mut() {
                    c.text.push_str(&t.unescape().map_err(xml_error(part))?);
                }
            }
            Event::Eof => return Ok(rows),
            _ => {}
        }
    }
}

/// A cell's value by its type: a shared string's text, an inline or formula string, a
/// number, a boolean (as 0 or 1); an error cell (`#N/A`) as its text.
fn cell_value(c: &OpenCell, shared: &[String]) -> Cell {
    if c.text.is_empty() {
        return Cell::Empty;
    }
    match c.kind.as_str() {
        "s" => c
            .text
            .trim()
            .parse::<usize>()
            .ok()
            .and_then(|i| shared.get(i))
            .map_or(Cell::Empty, |s| Cell::Text(s.clone())),
        "inlineStr" | "str" | "e" => Cell::Text(c.text.clone()),
        _ => match c.text.trim().parse::<f64>() {
            Ok(n) => Cell::Number(n),
            Err(_) => Cell::Text(c.text.clone()),
        },
    }
}
