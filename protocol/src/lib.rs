//! The types that cross a wire between gateways, the server and the browsers.
//!
//! This crate builds for the server and for the browser (wasm32): it has no tokio, no axum and
//! no I/O. Everything here is plain data and pure functions.
//!
//! - [`aqi`]: VN_AQI as Decision 1459/QĐ-TCMT (2019) defines it: breakpoints, sub-indices,
//!   NowCast, hourly and daily index, bands and colours, and a per-station hourly averager.
//! - [`topic`]: `ioc/v1/{domain}/{area}/{source}` parsing and formatting.
//! - [`ingest`]: decoding and validation of an ingest message, every rule of the ingest contract
//!   v1 (`docs/ingest.md`), into a typed [`ingest::Message`] or a [`ingest::Rejection`] with
//!   its reason.
//! - [`live`]: the live figures (tiles) and the websocket messages that carry them
//!   (`docs/websocket.md`); [`close_code`]: the codes the server closes a websocket with.
//! - [`history`]: `GET /api/v1/history`, its query, its answer and its [`history::Bucket`]s.
//! - [`time`]: local time (Asia/Ho_Chi_Minh, UTC+7 all year) and local midnight, where
//!   today's counts start.
//! - [`indicator`]: the socio-economic indicators: their catalogue (groups, indicators,
//!   targets; loaded from TOML with the `preset` feature), periods (`2026-10`, `2026-Q3`,
//!   `2026`) and deadlines, and the rules every submitted value is checked by.
//! - [`map`]: the city as the screens draw it (`GET /api/v1/city`): names, the tile grid and
//!   the areas' outlines as SVG paths.
//! - `preset` (cargo feature `preset`, for the server and the simulator): the city preset, its
//!   areas, corridors, stations, gauges, agencies and platforms, loaded from TOML and
//!   validated; area boundaries from GeoJSON. It reads files and brings a TOML parser, which
//!   is why the browser app goes without it.

pub mod alerts;
pub mod aqi;
pub mod close_code;
pub mod filter;
pub mod history;
pub mod indicator;
pub mod ingest;
pub mod live;
pub mod map;
#[cfg(feature = "preset")]
pub mod preset;
pub mod time;
pub mod topic;

pub use ingest::{
    Body, Complaint, Dossier, Event, Message, Reading, RejectReason, Rejection, Value, decode,
};
pub use live::{
    AreaInfo, AreaStat, ClientMsg, Delta, DomainFigures, FieldStat, Freshness, ServerMsg, Snapshot,
};
pub use topic::{Domain, IndicatorTopic, Topic, TopicError};
