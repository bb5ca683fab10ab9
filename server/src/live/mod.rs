//! The live picture of the city: what every screen shows now, kept from the accepted messages
//! and sent to the browsers as one snapshot, then coalesced deltas.
//!
//! The path of a message through it: ingest hands each accepted message to [`Hub::apply`];
//! the hub keeps the newest reading of each source for the area tiles, and hands the message
//! on to the [`figures`] of its domain; its publisher ([`Hub::run_publisher`]) turns what
//! changed into one delta per coalescing window, serialised once for every websocket.
//!
//! - `hub`: the tiles, the publisher, its coalescing and its fan-out pacing, the
//!   snapshots and the counters `/metrics` reads.
//! - [`figures`]: the figures of each domain, one file a domain (traffic, air, flood,
//!   complaints, services, system) and what they share.
//! - [`restore`]: the picture rebuilt from the store on start (each domain's look-back).
//!
//! The System figures read the intake's and the store's health through
//! [`crate::health`]: the hub knows neither ingest nor the store writer.

pub mod figures;
mod hub;
pub mod restore;

pub use hub::{Hub, HubCounters, Outgoing, Text};
pub use restore::restore;
