//! The alert engine: rules of the preset, anomaly detection, the alerts' lifecycle, and the
//! rate limit (see `docs/alerts.md`).
//!
//! - Readings are judged as they come ([`Alerts::observe`], from the intake, on the
//!   readings' own time): the rules on a reading field (`water_level_cm`, `congestion`, `up`)
//!   and the anomaly detector of every numeric series.
//! - Every second ([`Alerts::sweep`], on the server's clock), the rules on the figures the
//!   server computes (each station's official AQI, overdue complaints per area, dossiers on
//!   time) and on sources offline; the minute of the rate limit turns; resolved alerts left
//!   for a day are closed.
//! - A rule's condition must hold for its `for_minutes`, and clears only past its
//!   `hysteresis`. At most one alert per (rule, source) is not closed: a condition that comes
//!   back reopens its resolved alert. At most `max_new_per_minute` new alerts open a minute;
//!   those held open later if their condition still holds, and a summary alert counts them.
//!   An alert raised by a reading that arrived as history (older than its domain's window)
//!   opens at its reading's time and is not counted; sources only heard as history are not
//!   judged offline (`docs/alerts.md`, History).
//! - Changes are kept in memory and written to `alerts.sqlite` by [`Alerts::persist`] (every
//!   250 ms, and before an officer's action is answered), then sent to the screens.
//!
//! The parts:
//!
//! - `engine.rs`: [`Alerts`], its state, opening it, writing and showing what changed, its
//!   loop beside the hub;
//! - `rules.rs`: what is judged, readings, figures, sources offline, anomalies;
//! - `anomaly.rs`: the detector of one series;
//! - `lifecycle.rs`: opening, the rate limit and its summary, resolving, an officer's
//!   [`Action`], closing;
//! - `store.rs`: `alerts.sqlite`, the alerts, their history and the baselines;
//! - `indicators.rs`: the socio-economic indicators' alerts (an abnormal sign, a status
//!   behind, a missing report), judged on each board of figures ([`Alerts::judge_indicators`]).
//!
//! Its HTTP handlers are in `http/alerts.rs`.

pub mod anomaly;
mod engine;
mod indicators;
mod lifecycle;
mod rules;
pub mod store;

pub use self::engine::{AlertCounters, Alerts};
pub use self::indicators::INDICATOR_DOMAIN;
pub use self::lifecycle::{Action, ActionError};

#[cfg(test)]
mod tests;
