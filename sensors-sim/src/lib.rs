//! `ioc-sim`: a simulated Ho Chi Minh City (or any city of a preset) publishing per the ingest
//! contract v1: traffic on its corridors, air quality, water levels, the health of the city
//! platforms, citizen complaints to the 1022 hotline and public-service dossiers.
//!
//! The city is a pure function of the preset, the seed, the scale and the start time:
//! [`Simulation`] steps a simulated clock and gives the messages in time order, with no broker
//! and no wall clock, so tests (this crate's and the server's) can generate the exact stream
//! the binary publishes. The same inputs give the same messages, byte for byte.
//!
//! The modules, in layers: each depends only on the layers above it.
//!
//! - What every model shares, nothing domain-specific:
//!   - [`clock`]: local time (UTC+7), working days and office hours, parsing of `--start` and
//!     `--duration`, and the pacing of the simulated clock against the wall clock;
//!   - `rng`: seeded randomness, one generator per source;
//!   - `source_id`: the ids of the sensors added by `--scale`;
//!   - `demand`: the daily rhythm of the roads, by hour and day of the week;
//!   - `world`: the city's conditions, decided day by day, that every source sees alike: rain
//!     cells, traffic incidents, platform outages, the day's air and temperature, the
//!     monsoon's surge;
//!   - `course`: the course of a case (a complaint, a dossier), its timed status changes;
//!   - `outgoing`: a message to publish ([`Outgoing`]) and its [`Stream`] (a domain, or the
//!     indicator reports).
//! - The domains, one model each, reading the shared modules only:
//!   - `traffic`, `air`, `flood`, `platforms`: the telemetry sources;
//!   - `complaints`, `services`: the 1022 complaints and the public-service dossiers, arrivals
//!     and the course of each one;
//!   - `inject`: anomalies injected into the telemetry with their ground truth ([`Anomaly`],
//!     [`Simulation::inject`]), to score the server's anomaly detection;
//!   - `indicators`: the city's socio-economic indicators of the catalogue, reported by their
//!     units month by month, quarter by quarter and year by year since January 2021, with
//!     seeded abnormal values and late and missing reports ([`Simulation::with_indicators`],
//!     [`IndicatorNote`]).
//! - The engine over the domains: `sim`, a queue of timed jobs ([`Simulation`], [`Outgoing`]).
//! - Out to the broker: [`publish`], MQTT publishing, paced, with QoS 1 acknowledgements waited
//!   for, and the truth log.
//!
//! ## Scoring anomaly detection
//!
//! `--inject N` injects N anomalies per simulated day (none by default), one telemetry source
//! each for 20 to 60 minutes: a traffic jam (speed to 25-45 %, with the congestion level and
//! occupancy that follow), a pollution episode (PM2.5 and PM10 × 3-5 + 40 µg/m³, with the
//! AQI that follows), a water-level surge (+50-90 cm), a slow platform (latency × 5-10,
//! errors + 5-15 points, still up). `--inject-from` keeps the days before it clean, to learn
//! from. Each anomaly goes into the truth log when it starts, before the readings it changes:
//! `{"anomaly":{"topic":"ioc/v1/flood/q8/fg-kenh-doi","fields":["water_level_cm"],
//! "from":1762189200000,"to":1762191000000,"kind":"surge"}}` (epoch ms, `to` excluded;
//! `kind` one of `jam`, `pollution`, `surge`, `slow_platform`). Four clean days, then today
//! with 24 anomalies:
//!
//! ```text
//! ioc-sim --start "$(date -d '4 days ago' +%F)" --speed 100000 --until now \
//!   --inject 24 --inject-from today --truth-log truth.jsonl
//! ```
//!
//! The same seed gives the same anomalies; outside their windows the stream is byte for byte
//! the one without `--inject`.
//!
//! ## The socio-economic indicators
//!
//! On by default in `ioc-sim` (`--no-indicators` turns them off; with `--domains`, only when
//! `indicator` is listed): every indicator of the catalogue (the built-in Ho Chi Minh City
//! one, or `--indicator-catalogue`) at every area of its levels, for every month, quarter or
//! year since January 2021, each period reported by its unit on
//! `ioc/v1/indicator/{area}/{unit}` (`{"ts","period","values"}`, QoS as the rest). The reports
//! of the periods that ended before the start go out first, in the order they were sent; then
//! each new period's when its unit sends it, in the days before its deadline (or after it).
//! The values follow the catalogue's targets (most series on track, some at risk, some
//! behind), the seasons and Tết, and the 2021 lockdown. The truth log holds each report,
//! `{"indicator_report":{"topic","payload","ts"}}`, and what was seeded: an abnormal value
//! (`{"indicator_abnormal":{"indicator","area","unit","period","normal","value","factor"}}`,
//! `"points"` for a rate in %), before the report that carries it; a late or missing report
//! at its deadline (`{"indicator_late":{"area","unit","period","due","reported",
//! "indicators"}}`, `{"indicator_missing":{"area","unit","period","due","indicators"}}`).
//! Readers of readings skip these lines: none has a `topic` at the top.

pub mod clock;
pub mod publish;

// What the models share.
mod course;
mod demand;
mod outgoing;
mod rng;
mod source_id;
mod world;

// The domains.
mod air;
mod complaints;
mod flood;
mod indicators;
mod inject;
mod platforms;
mod services;
mod traffic;

// The engine.
mod sim;

pub use air::vn_aqi_pm25;
pub use indicators::{
    ABNORMAL_CHANCE, ABNORMAL_FROM_YEAR, ABNORMAL_GAP_YEARS, AbnormalChange, AbnormalValue,
    FIRST_YEAR, IndicatorNote, MAX_LATE_MS, MISSING_CHANCE, OverdueReport,
};
pub use inject::{Anomaly, Change};
pub use outgoing::{Outgoing, Stream};
pub use sim::Simulation;
pub use traffic::congestion_level;
