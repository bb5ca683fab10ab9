//! A spreadsheet of indicator values, CSV or XLSX: its format told from its first bytes, its
//! rows read with their line numbers, its header found, and each data row made a
//! [`Submission`] or the reason it cannot be one.
//!
//! The header row (the first row that is not blank) names the columns `indicator`, `area`,
//! `period` and `value`, in any order, in any case, or in Vietnamese (`chỉ tiêu`, `địa bàn`,
//! `kỳ`, `giá trị`); other columns (a note, a name) are passed over. Blank rows are skipped.
//! A line number is the spreadsheet's own: the row number an XLSX shows, the line a CSV
//! record starts on (the header is line 1 when it is the first line).

use ioc_protocol::indicator::{Period, Periodicity, Submission, SubmissionError};

use super::xlsx::{self, XlsxError};

/// One cell as read.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    Empty,
    Text(String),
    Number(f64),
}

/// One row: its line number and its cells, by column.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SheetRow {
    pub(super) line: u64,
    pub(super) cells: Vec<Cell>,
}

/// What the file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

/// The columns a sheet must have, each with the names its header may give it.
const COLUMNS: [(&str, &[&str]); 4] = [
    (
        "indicator",
        &["indicator", "chỉ tiêu", "chi_tieu", "mã chỉ tiêu"],
    ),
    ("area", &["area", "địa bàn", "dia_ban", "đơn vị"]),
    ("period", &["period", "kỳ", "ky", "kỳ báo cáo"]),
    ("value", &["value", "giá trị", "gia_tri"]),
];

/// Why a file cannot be read as a sheet of indicator values at all (a row's own problem is a
/// [`SubmissionError`] of that row instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    #[error("{0}")]
    Xlsx(#[from] XlsxError),
    #[error("line {line}: not UTF-8 text: save the CSV as UTF-8 (\"CSV UTF-8\" in Excel)")]
    NotUtf8 { line: u64 },
    #[error("line {line}: {why}")]
    Csv { line: u64, why: String },
    #[error(
        "the file has no rows: the first row names the columns indicator, area, period and value"
    )]
    Empty,
    #[error(
        "line {line}: the header row has no column {missing}: it names the columns indicator, \
         area, period and value"
    )]
    MissingColumns { line: u64, missing: String },
}

/// The format of a file: an XLSX (a zip archive, `PK\x03\x04`), else CSV text.
pub(super) fn format_of(bytes: &[u8]) -> Format {
    if bytes.starts_with(b"PK\x03\x04") {
        Format::Xlsx
    } else {
        Format::Csv
    }
}

/// The rows of a file of either format.
pub(super) fn read_rows(bytes: &[u8], format: Format) -> Result<Vec<SheetRow>, SheetError> {
    match format {
        Format::Xlsx => Ok(xlsx::first_sheet(bytes)?),
        Format::Csv => csv_rows(bytes),
    }
}

/// The records of a CSV file (RFC 4180: UTF-8, a byte-order mark allowed, fields in double
/// quotes may hold the separator, quotes doubled and line breaks), separated by commas, or by
/// semicolons or tabs when the first line has more of those than commas (a spreadsheet saved
/// where the decimal mark is a comma). Each record keeps the line it starts on.
fn csv_rows(bytes: &[u8]) -> Result<Vec<SheetRow>, SheetError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| SheetError::NotUtf8 {
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64,
    })?;
    let first_line = text.lines().next().unwrap_or_default();
    let count = |c: char| first_line.matches(c).count();
    let delimiter = [',', ';', '\t']
        .into_iter()
        .max_by_key(|&c| (count(c), c == ','))
        .unwrap_or(',');
    let mut rows = Vec::new();
    let (mut line, mut start) = (1u64, 1u64);
    let mut cells: Vec<Cell> = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let push = |field: &mut String, cells: &mut Vec<Cell>| {
        let f = std::mem::take(field);
        cells.push(if f.trim().is_empty() {
            Cell::Empty
        } else {
            Cell::Text(f)
        });
    };
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            '"' if quoted => quoted = false,
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
            }
            '\n' if quoted => {
                line += 1;
                field.push('\n');
            }
            '\r' if !quoted && chars.peek() == Some(&'\n') => {}
            '\n' => {
                push(&mut field, &mut cells);
                rows.push(SheetRow {
                    line: start,
                    cells: std::mem::take(&mut cells),
                });
                line += 1;
                start = line;
            }
            c if c == delimiter && !quoted => push(&mut field, &mut cells),
            c => field.push(c),
        }
    }
    if quoted {
        return Err(SheetError::Csv {
            line: start,
            why: "a quoted field is not closed".into(),
        });
    }
    if !field.is_empty() || !cells.is_empty() {
        push(&mut field, &mut cells);
        rows.push(SheetRow { line: start, cells });
    }
    Ok(rows)
}

fn is_blank(row: &SheetRow) -> bool {
    row.cells.iter().all(|c| *c == Cell::Empty)
}

fn cell_text(cell: Option<&Cell>) -> Option<String> {
    match cell? {
        Cell::Empty => None,
        Cell::Text(t) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
        Cell::Number(n) => Some(n.to_string()),
    }
}

/// A data row's line number, and its submission or why it is not one.
pub(super) type RowSubmission = (u64, Result<Submission, SubmissionError>);

/// Each data row of a sheet (after its header, blank rows skipped) as a submission or the
/// reason it is not one, with its line number.
pub(super) fn submissions(rows: &[SheetRow]) -> Result<Vec<RowSubmission>, SheetError> {
    let mut rows = rows.iter().filter(|r| !is_blank(r));
    let header = rows.next().ok_or(SheetError::Empty)?;
    let names: Vec<String> = header
        .cells
        .iter()
        .map(|c| cell_text(Some(c)).unwrap_or_default().to_lowercase())
        .collect();
    let mut at = [0usize; 4];
    let mut missing = Vec::new();
    for (i, (column, aliases)) in COLUMNS.iter().enumerate() {
        match names.iter().position(|n| aliases.contains(&n.as_str())) {
            Some(p) => at[i] = p,
            None => missing.push(*column),
        }
    }
    if !missing.is_empty() {
        return Err(SheetError::MissingColumns {
            line: header.line,
            missing: missing.join(", "),
        });
    }
    Ok(rows.map(|row| (row.line, submission_of(row, at))).collect())
}

/// One data row as a submission.
fn submission_of(row: &SheetRow, at: [usize; 4]) -> Result<Submission, SubmissionError> {
    let text = |i: usize, column: &str| {
        cell_text(row.cells.get(at[i]))
            .ok_or_else(|| SubmissionError::BadItem(format!("the row has no {column}")))
    };
    let indicator = text(0, "indicator")?;
    let area = text(1, "area")?;
    let period = period_of(row.cells.get(at[2]))?;
    let value = match row.cells.get(at[3]) {
        Some(Cell::Number(n)) => *n,
        Some(Cell::Text(t)) if !t.trim().is_empty() => t.trim().parse::<f64>().map_err(|_| {
            SubmissionError::BadValue(format!(
                "{:?} is not a number: write it with a dot for decimals and no thousands \
                 separators (812.5)",
                ioc_protocol::topic::truncate(t.trim(), 40)
            ))
        })?,
        _ => return Err(SubmissionError::BadItem("the row has no value".into())),
    };
    Ok(Submission {
        indicator,
        area,
        period,
        value,
    })
}

/// A period cell: text (`2026-10`, `2026-Q3`, `2026`); a whole number from 1000 to 9999 is
/// a year; a larger whole number is a date as Excel keeps them (days since 1899-12-30, what
/// `2026-10` typed into Excel becomes), read as its month.
fn period_of(cell: Option<&Cell>) -> Result<Period, SubmissionError> {
    match cell {
        Some(Cell::Number(n)) if n.fract() == 0.0 && (1000.0..=9999.0).contains(n) => {
            Ok(Period::of_year(*n as i32)?)
        }
        Some(Cell::Number(n)) if n.fract() == 0.0 && (10_000.0..=2_958_465.0).contains(n) => {
            let date = chrono::NaiveDate::from_ymd_opt(1899, 12, 30)
                .and_then(|d| d.checked_add_days(chrono::Days::new(*n as u64)))
                .ok_or_else(|| SubmissionError::BadItem(format!("{n} is not a period")))?;
            Ok(Periodicity::Month.period_of_date(date))
        }
        other => match cell_text(other) {
            Some(t) => Ok(t.parse::<Period>()?),
            None => Err(SubmissionError::BadItem("the row has no period".into())),
        },
    }
}

#[cfg(test)]
mod tests;
