//! Tests of the indicator module that need a loaded catalogue (cargo feature `preset`): the
//! built-in catalogue, broken catalogues, the submission rules and the wire; and the figures,
//! on a small catalogue written out by hand (`small`).

mod abnormal;
mod board;
mod broken;
mod built_in;
mod figures;
mod punctuality;
mod report;
mod small;
mod submission;

use super::*;

/// A period from its text.
fn p(text: &str) -> Period {
    text.parse().unwrap()
}

/// Local noon of a day, epoch ms: `now` for the rules.
fn noon(y: i32, m: u32, d: u32) -> i64 {
    let date = chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    crate::time::local_midnight_of(date) + 12 * 3_600_000
}
