//! Reading spreadsheets: CSV in its usual shapes, an XLSX as openpyxl writes it
//! (`workbook.xlsx`, made by `write_workbook.py`), one with shared strings as Excel writes
//! them, and files that are damaged or not sheets at all.

use super::*;

fn rows_of(bytes: &[u8]) -> Result<Vec<RowSubmission>, SheetError> {
    submissions(&read_rows(bytes, format_of(bytes))?)
}

fn ok(line: u64, indicator: &str, area: &str, period: &str, value: f64) -> RowSubmission {
    (
        line,
        Ok(Submission {
            indicator: indicator.into(),
            area: area.into(),
            period: period.parse().unwrap(),
            value,
        }),
    )
}

fn reason_at(rows: &[RowSubmission], line: u64) -> &'static str {
    let (_, r) = rows.iter().find(|(l, _)| *l == line).expect("the line");
    r.as_ref().expect_err("refused").reason()
}

#[test]
fn a_csv_reads_by_its_header_with_the_lines_of_the_file() {
    let csv = "\u{feff}Value,Indicator,AREA,period,note\r\n\
               812.5,budget_revenue,q1,2026-10,\"thu, phí\"\r\n\
               \r\n\
               7.1,grdp_growth,city,2026-Q3,\"two\nlines\"\r\n\
               190000,population,q3,2025,\r\n";
    let rows = rows_of(csv.as_bytes()).unwrap();
    assert_eq!(
        rows,
        [
            ok(2, "budget_revenue", "q1", "2026-10", 812.5),
            ok(4, "grdp_growth", "city", "2026-Q3", 7.1),
            // The record above spans two lines: this one starts on line 6.
            ok(6, "population", "q3", "2025", 190000.0),
        ]
    );
}

#[test]
fn a_csv_of_semicolons_and_vietnamese_headers_reads_too() {
    let csv = "chỉ tiêu;địa bàn;kỳ;giá trị\nbudget_revenue;q1;2026-10;812.5\n";
    assert_eq!(
        rows_of(csv.as_bytes()).unwrap(),
        [ok(2, "budget_revenue", "q1", "2026-10", 812.5)]
    );
}

#[test]
fn each_bad_row_says_what_is_wrong_on_its_line() {
    let csv = "indicator,area,period,value\n\
               budget_revenue,q1,2026-10,\"91,2\"\n\
               budget_revenue,q1,2026-13,5\n\
               budget_revenue,q1,2026-10,\n\
               ,q1,2026-10,5\n\
               budget_revenue,q1,2026-10,NaN\n";
    let rows = rows_of(csv.as_bytes()).unwrap();
    assert_eq!(reason_at(&rows, 2), "bad_value");
    let (_, r) = &rows[0];
    assert!(
        r.as_ref()
            .unwrap_err()
            .to_string()
            .contains("\"91,2\" is not a number")
    );
    assert_eq!(reason_at(&rows, 3), "bad_period");
    assert_eq!(reason_at(&rows, 4), "bad_item");
    assert_eq!(reason_at(&rows, 5), "bad_item");
    // NaN reads as a number: the catalogue's rule refuses it (`not_finite`).
    assert!(rows[4].1.as_ref().unwrap().value.is_nan());
}

#[test]
fn a_sheet_without_its_columns_or_rows_is_refused_whole() {
    let e = rows_of(b"indicator,area,when,amount\nx,q1,2026,1\n").unwrap_err();
    assert_eq!(
        e,
        SheetError::MissingColumns {
            line: 1,
            missing: "period, value".into()
        }
    );
    assert!(
        e.to_string()
            .contains("line 1: the header row has no column period, value")
    );
    assert_eq!(rows_of(b"\n\n").unwrap_err(), SheetError::Empty);
    assert_eq!(
        rows_of(b"indicator,area,period,value\nbudget_revenue,q\xff,2026-10,1\n").unwrap_err(),
        SheetError::NotUtf8 { line: 2 }
    );
}

#[test]
fn an_xlsx_written_by_openpyxl_reads_its_first_sheet() {
    let bytes = include_bytes!("workbook.xlsx");
    assert_eq!(format_of(bytes), Format::Xlsx);
    let rows = rows_of(bytes).unwrap();
    assert_eq!(rows.len(), 5, "{rows:?}");
    assert_eq!(rows[0], ok(2, "budget_revenue", "q1", "2026-10", 812.5));
    assert_eq!(rows[1], ok(4, "grdp_growth", "city", "2026-Q3", 7.1));
    // A year typed as a number.
    assert_eq!(rows[2], ok(5, "population", "q3", "2025", 190000.0));
    // A date cell (what `2026-10` becomes when typed into Excel) is its month; the value
    // "91,2" is text, and not a number.
    assert_eq!(reason_at(&rows, 6), "bad_value");
    assert_eq!(reason_at(&rows, 7), "bad_item");
}

#[test]
fn an_excel_date_cell_is_its_month() {
    assert_eq!(
        period_of(Some(&Cell::Number(46296.0))).unwrap().to_string(),
        "2026-10"
    );
    assert_eq!(
        period_of(Some(&Cell::Number(2026.0))).unwrap().to_string(),
        "2026"
    );
    assert_eq!(
        period_of(Some(&Cell::Number(2026.5))).unwrap_err().reason(),
        "bad_period"
    );
}

/// A zip of stored entries, as the format allows and some writers do.
fn zip_stored(files: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, text) in files {
        let offset = out.len() as u32;
        let crc = crate::crc32::crc32(text.as_bytes());
        let size = text.len() as u32;
        let header = |sig: u32, central: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central {
                h.extend(20u16.to_le_bytes());
            }
            h.extend(20u16.to_le_bytes()); // version needed
            h.extend(0u16.to_le_bytes()); // flags
            h.extend(0u16.to_le_bytes()); // stored
            h.extend(0u32.to_le_bytes()); // time and date
            h.extend(crc.to_le_bytes());
            h.extend(size.to_le_bytes());
            h.extend(size.to_le_bytes());
            h.extend((name.len() as u16).to_le_bytes());
            h.extend(0u16.to_le_bytes()); // extra
            if central {
                h.extend([0u8; 6]); // comment, disk, internal attributes
                h.extend(0u32.to_le_bytes()); // external attributes
                h.extend(offset.to_le_bytes());
            }
            h.extend(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend(text.as_bytes());
        central.extend(header(0x0201_4b50, true));
    }
    let dir_offset = out.len() as u32;
    let dir_size = central.len() as u32;
    out.extend(central);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0u8; 4]);
    out.extend((files.len() as u16).to_le_bytes());
    out.extend((files.len() as u16).to_le_bytes());
    out.extend(dir_size.to_le_bytes());
    out.extend(dir_offset.to_le_bytes());
    out.extend(0u16.to_le_bytes());
    out
}

const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Data" sheetId="7" r:id="rId3"/></sheets></workbook>"#;
const RELS: &str = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId3" Target="worksheets/data.xml"/></Relationships>"#;
const SHARED: &str = r#"<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>indicator</t></si><si><t>area</t></si><si><t>period</t></si><si><t>value</t></si><si><r><t>budget_</t></r><r><rPr><b/></rPr><t>revenue</t></r><rPh><t>ignored</t></rPh></si><si><t xml:space="preserve">q1 </t></si><si><t>2026-10</t></si></sst>"#;
/// Shared strings, a rich-text string, cells without `r`, a boolean.
const SHEET: &str = r#"<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c><c r="D1" t="s"><v>3</v></c></row><row r="3"><c t="s"><v>4</v></c><c t="s"><v>5</v></c><c t="s"><v>6</v></c><c><v>812.5</v></c></row><row r="9"><c r="A9" t="s"><v>4</v></c><c r="B9" t="s"><v>5</v></c><c r="C9" t="s"><v>6</v></c><c r="D9" t="b"><v>1</v></c></row></sheetData></worksheet>"#;

#[test]
fn an_xlsx_with_shared_strings_as_excel_writes_them_reads() {
    let bytes = zip_stored(&[
        ("xl/workbook.xml", WORKBOOK),
        ("xl/_rels/workbook.xml.rels", RELS),
        ("xl/sharedStrings.xml", SHARED),
        ("xl/worksheets/data.xml", SHEET),
    ]);
    let rows = rows_of(&bytes).unwrap();
    assert_eq!(
        rows,
        [
            ok(3, "budget_revenue", "q1", "2026-10", 812.5),
            ok(9, "budget_revenue", "q1", "2026-10", 1.0),
        ]
    );
}

#[test]
fn a_damaged_or_partial_xlsx_says_what_is_wrong() {
    let mut bytes = include_bytes!("workbook.xlsx").to_vec();
    // A byte of sheet1.xml's compressed data: its checksum, or its inflating, fails.
    let at = bytes
        .windows(24)
        .position(|w| w == b"xl/worksheets/sheet1.xml")
        .unwrap()
        + 24
        + 40;
    bytes[at] ^= 0x55;
    let e = rows_of(&bytes).unwrap_err().to_string();
    assert!(e.contains("xl/worksheets/sheet1.xml is damaged"), "{e}");

    let no_book = zip_stored(&[("xl/sharedStrings.xml", SHARED)]);
    assert_eq!(
        rows_of(&no_book).unwrap_err(),
        SheetError::Xlsx(XlsxError::Missing("xl/workbook.xml".into()))
    );
    let cut = &include_bytes!("workbook.xlsx")[..2000];
    assert!(matches!(
        rows_of(cut).unwrap_err(),
        SheetError::Xlsx(XlsxError::NotZip(_))
    ));
}
