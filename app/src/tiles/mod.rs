//! The six tiles, one per domain, one file each: traffic, air quality, flooding, complaints
//! (1022), public services and the system's health.
//!
//! Each tile is a frame (title, data age, stale state, [`frame`]) around its headline figures;
//! on the console it also shows its details (`TrafficDetail`, ...), which the wall shows large
//! in its rotating panel. Every figure comes from the live state (`LiveState::figures`). The
//! air and traffic tiles end in the areas' table they share ([`area_table`]).
//!
//! Beside them, the wall's panel of the socio-economic key indicators ([`key_indicators`]),
//! which comes over HTTP rather than live.

pub mod air;
pub mod area_table;
pub mod complaints;
pub mod flood;
pub mod frame;
pub mod key_indicators;
pub mod services;
pub mod system;
pub mod traffic;

pub use air::{EnvDetail, EnvTile};
pub use complaints::{ComplaintDetail, ComplaintTile};
pub use flood::{FloodDetail, FloodTile};
pub use key_indicators::KeyIndicators;
pub use services::{ServiceDetail, ServiceTile};
pub use system::{SystemDetail, SystemTile};
pub use traffic::{TrafficDetail, TrafficTile};
