//! The city's map: every area coloured by a layer, with its legend, the alerts' marks and the
//! sensors offline; clicking an area opens its drill-down.
//!
//! - [`city_map`]: the map itself ([`CityMapView`]), as a grid of squares or the areas' real
//!   outlines, from the city map the server gives ([`crate::city`]).
//! - [`layers`]: which figure colours each area, the colour scales and the legends; pure
//!   functions of the live state, also used by the tiles for their bars' colours.

pub mod city_map;
pub mod layers;

pub use city_map::CityMapView;
