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
//! Figures (year to date, progress, status, flags) are computed by the server from these
//! types; they are documented in `docs/indicators.md`.

pub mod catalogue;
pub mod period;
pub mod report;
pub mod revision;
pub mod submission;
pub mod target;
#[cfg(feature = "preset")]
mod validate;

#[cfg(all(test, feature = "preset"))]
mod tests;

pub use catalogue::{
    AreaLevels, Catalogue, Deadlines, Direction, Group, Indicator, Kind, Level, Office, ValueRange,
};
pub use period::{Deadline, Period, PeriodError, Periodicity};
pub use report::{DecodedReport, MAX_REPORT_VALUES, Report, decode_report, decode_submissions};
pub use revision::{
    ImportAnswer, ItemProblem, Revision, RevisionsAnswer, RowProblem, SeriesAnswer, SeriesPoint,
    SubmitAnswer, Way, latest_by_period,
};
pub use submission::{Submission, SubmissionError};
pub use target::{Target, TargetError};
#[cfg(feature = "preset")]
pub use validate::{BUILT_IN_FILE, CatalogueError};
