//! Tests of reading spreadsheets.
