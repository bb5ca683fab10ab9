//! The city's socio-economic indicators (issue 21): the catalogue that says what each one is,
//! the calendar of their periods, and the one set of rules every value is checked by, whichever
//! way it comes in.
//!
//! Ho Chi Minh City steers by 20 groups of fields and 110 indicators, reported each month,
//! quarter or year for the city, each district and each department, against yearly targets.
//! The catalogue is data beside the city preset (`presets/hcmc-2022-indicators.toml`); another
//! city brings its own.
//!
//! - [`period`]: [`Periodicity`], [`Period`] (`2026-10`, `2026-Q3`, `2026`) and its arithmetic
//!   (a year earlier, next, first and last day, local start and end), and the reporting
//!   [`Deadline`].
//! - [`catalogue`]: the model: [`Catalogue`], [`Group`], [`Indicator`] and its [`Level`]s,
//!   [`Kind`], good [`Direction`] and plausible [`ValueRange`]; the [`AreaLevels`] of the
//!   city; the questions asked of it (an indicator, its deadline, the areas it is reported
//!   for, the unit that may report it).
//! - [`target`]: yearly [`Target`]s and the rule an admin's target must hold.
//! - [`submission`]: a value of an indicator for an area and a period ([`Submission`]),
//!   checked by the catalogue, and every refusal as a [`SubmissionError`] with its reason.
//! - [`revision`]: what is kept of each value ([`Revision`], by whom and which [`Way`]), the
//!   series of latest revisions ([`SeriesPoint`]) and the bodies of the indicators' API.
//! - [`report`]: the wire: the MQTT [`Report`] on `ioc/v1/indicator/{area}/{unit}` and the
//!   body of `POST /api/v1/indicators`, decoded into submissions.
//! - `validate` (cargo feature `preset`): loading a catalogue from TOML, validated against a
//!   city preset, with errors naming file, line and field; [`Catalogue::built_in`].
//!
//! The figures, pure computations that the server (its API, its alerts), the screens and the
//! tests share, every formula documented in `docs/indicators.md`:
//!
//! - [`values`]: their input, the values as they stand ([`Values`] of [`Observation`]s: each
//!   period's latest revision, when and by whom it was reported, when first).
//! - [`figures`]: one area's figures ([`AreaFigures`]): the latest value, the change on a year
//!   earlier, a flow's year to date, the progress towards the year's target against the
//!   progress expected by now, and its [`Status`].
//! - [`abnormal`]: abnormal signs, a robust score of each value against its series' history
//!   ([`AbnormalSign`]).
//! - [`punctuality`]: late and missing reports ([`LateReport`]) and each unit's
//!   [`Punctuality`].
//! - [`board`]: all of them for every indicator at every area of its levels, with the ranks of
//!   the districts and departments and each group's tally ([`Board::compute`]).

pub mod abnormal;
pub mod board;
pub mod catalogue;
pub mod figures;
pub mod period;
pub mod punctuality;
pub mod report;
pub mod revision;
pub mod submission;
pub mod target;
#[cfg(feature = "preset")]
mod validate;
pub mod values;

#[cfg(all(test, feature = "preset"))]
mod tests;

pub use abnormal::{ABNORMAL_SCORE, AbnormalSign, Scale};
pub use board::{Board, ChartPoint, FiguresAnswer, GroupTally, IndicatorFigures, chart};
pub use catalogue::{
    AreaLevels, Catalogue, Deadlines, Direction, Group, Indicator, Kind, Level, Office, ValueRange,
};
pub use figures::{AreaFigures, Change, Latest, Progress, Rank, Status, YearToDate};
pub use period::{Deadline, Period, PeriodError, Periodicity};
pub use punctuality::{LateReport, Punctuality, Reporting, Timeliness};
pub use report::{DecodedReport, MAX_REPORT_VALUES, Report, decode_report, decode_submissions};
pub use revision::{
    ImportAnswer, ItemProblem, Revision, RevisionsAnswer, RowProblem, SeriesAnswer, SeriesPoint,
    SubmitAnswer, Way, latest_by_period, latest_by_series,
};
pub use submission::{Submission, SubmissionError};
pub use target::{Target, TargetError};
#[cfg(feature = "preset")]
pub use validate::{BUILT_IN_FILE, CatalogueError};
pub use values::{Observation, Series, Values};
