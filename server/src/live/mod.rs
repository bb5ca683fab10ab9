//! The live picture of the city.
mod hub;
pub mod figures;

pub use hub::*;
