//! Charts: what the screen draws of numbers, from the live figures and from history.
//!
//! - [`draw`]: chart geometry as pure functions (scales, paths, ticks, pie slices, gauges),
//!   tested on the host.
//! - [`svg`]: the tiles' small charts: bars, a donut of shares, a flood gauge.
//! - [`spark`]: the areas' tables' sparklines, the last hour of each area.
//! - [`periods`]: an indicator's series by period: the cards' sparklines, and this year over
//!   the year before with its target.
//! - [`history`]: the ranges and series of the drill-down, and the chart of one series.
//! - [`drilldown`]: an area's history charts (1 h, 24 h, 7 days), opened from a tile or the
//!   map.
//!
//! History comes through [`crate::api::history`]; nothing here knows a tile or a page.

pub mod draw;
pub mod drilldown;
pub mod history;
pub mod periods;
pub mod spark;
pub mod svg;
