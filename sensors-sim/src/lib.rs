//! `ioc-sim`: a simulated Ho Chi Minh City (or any city of a preset) publishing per the ingest
//! contract v1: traffic on its corridors, air quality, water levels, the health of the city
//! platforms, citizen complaints to the 1022 hotline and public-service dossiers.
//!
//! The city is a pure function of the preset, the seed, the scale and the start time:
//! [`Simulation`] steps a simulated clock and gives the messages in time order, with no broker
//! and no wall clock, so tests (this crate's and the server's) can generate the exact stream
//! the binary publishes. The same inputs give the same messages, byte for byte.
//!
//! - [`clock`]: local time (UTC+7), working days and office hours, parsing of `--start` and
//!   `--duration`, and the pacing of the simulated clock against the wall clock;
//! - `sim`: the engine, a queue of timed jobs ([`Simulation`], [`Outgoing`]);
//! - `weather`: what every source shares, decided day by day: rain cells, traffic incidents,
//!   platform outages, the day's air and temperature, the monsoon's surge;
//! - `traffic`, `air`, `flood`, `platforms`: the telemetry sources, one model per domain;
//! - `complaints`, `services`: the 1022 complaints and the public-service dossiers, arrivals and
//!   the course of each one;
//! - `rng`: seeded randomness, one generator per source;
//! - [`publish`]: MQTT publishing, paced, with QoS 1 acknowledgements waited for, and the
//!   truth log.

pub mod clock;
pub mod publish;

mod air;
mod complaints;
mod flood;
mod platforms;
mod rng;
mod services;
mod sim;
mod traffic;
mod weather;

pub use air::vn_aqi_pm25;
pub use sim::{Outgoing, Simulation};
pub use traffic::congestion_level;
