//! The city as the screens draw it: `GET /api/v1/city`, fetched once by the app.
//!
//! The names of everything the live figures refer to by id (corridors, stations, gauges,
//! agencies, platforms), each area's cell in the tile-grid map, and, when the preset has a
//! boundary file, each area's outline as an SVG path, already projected by the server. The
//! app draws the map with no map library and nothing fetched from elsewhere.

use serde::{Deserialize, Serialize};

/// The whole answer of `GET /api/v1/city`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CityMap {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// The tile-grid map's size.
    pub grid_rows: u16,
    pub grid_cols: u16,
    pub areas: Vec<MapArea>,
    /// The areas' outlines, when the preset has boundaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outline: Option<Outline>,
    pub corridors: Vec<Named>,
    pub stations: Vec<Named>,
    pub gauges: Vec<Named>,
    pub agencies: Vec<Named>,
    pub platforms: Vec<Named>,
}

/// One area of the map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapArea {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// `city`, `urban` or `rural`.
    pub kind: String,
    pub population: u32,
    /// Its cell in the tile-grid map, from the top left.
    pub row: u16,
    pub col: u16,
}

/// Something the figures name by id, with its names and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Named {
    pub id: String,
    /// Its area's code, when it belongs to one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    pub name_vi: String,
    pub name_en: String,
}

/// The areas' outlines in one SVG coordinate space, `0 0 width height`, north up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outline {
    pub width: f64,
    pub height: f64,
    pub areas: Vec<AreaShape>,
}

/// One area's outline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaShape {
    pub area: String,
    /// An SVG path (`M x y L ... Z`, one subpath per ring; holes filled by the even-odd rule).
    pub d: String,
    /// Where its label goes.
    pub label_x: f64,
    pub label_y: f64,
    /// Its area, km²: small areas are too small for a label on a whole-city map.
    #[serde(default)]
    pub area_km2: f64,
}

impl CityMap {
    /// The name of an id among `list`, in the language asked, or the id itself.
    pub fn name<'a>(list: &'a [Named], id: &'a str, vietnamese: bool) -> &'a str {
        list.iter()
            .find(|n| n.id == id)
            .map(|n| {
                if vietnamese {
                    n.name_vi.as_str()
                } else {
                    n.name_en.as_str()
                }
            })
            .unwrap_or(id)
    }
}
