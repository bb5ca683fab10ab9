//! The city preset: the city is data, not code (cargo feature `preset`).
//!
//! A preset is a TOML file the server and the simulator load at start: the city's areas (with
//! their population, centroid and cell of the tile-grid map), its traffic corridors, air-quality
//! stations, flood gauges with their alarm levels (BĐ1, BĐ2, BĐ3), the agencies that handle
//! online public services, and the city platforms that report their health. The built-in preset
//! is Ho Chi Minh City's 22 district-level areas of 2022 (`presets/hcmc-2022.toml`); another
//! city, or the 2025 ward-level map, is another file.
//!
//! A preset is validated as a whole before anything uses it: every rule that fails gives a
//! [`PresetError`] naming the file, the line and the field (`areas[3].population`), found from
//! the spans of the TOML document, for the rules of this module as much as for TOML syntax.
//!
//! - this module: the model ([`Preset`] and its parts), loading and the errors;
//! - `validate`: the rules; `spans`: how a field path or an error's span is turned into a
//!   line (shared with the indicator catalogue);
//! - [`boundary`]: area boundaries from a GeoJSON file, matched to areas by name and simplified
//!   for drawing.
//!
//! The feature reads files (a preset, its boundaries); the rest of this crate has no I/O.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::live::AreaInfo;
use crate::topic::Domain;

pub mod boundary;
mod map;
pub(crate) mod spans;
mod validate;

#[cfg(test)]
mod tests;

pub use boundary::{
    AreaBoundary, BBox, Boundaries, BoundaryError, Polygon, Position, UnmatchedFeature,
    UnmatchedReason,
};

/// The built-in preset: Ho Chi Minh City, 2022.
const BUILT_IN: &str = include_str!("../presets/hcmc-2022.toml");

/// How errors in the built-in preset name their file.
pub const BUILT_IN_FILE: &str = "protocol/presets/hcmc-2022.toml (built in)";

/// A loaded, validated city preset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// The preset's code, `hcmc-2022`: `[a-z0-9][a-z0-9-]{0,31}`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// IANA time zone of the city (`Asia/Ho_Chi_Minh`): where its days start.
    pub timezone: String,
    /// The size of the tile-grid map; every area has one cell of it.
    pub grid: GridSize,
    /// A GeoJSON file of area boundaries, relative to the preset file (the `boundaries` key).
    /// [`Preset::load`] reads it into [`Preset::boundaries`].
    #[serde(
        default,
        rename = "boundaries",
        skip_serializing_if = "Option::is_none"
    )]
    pub boundaries_file: Option<String>,
    pub areas: Vec<Area>,
    #[serde(default)]
    pub corridors: Vec<Corridor>,
    #[serde(default)]
    pub air_stations: Vec<AirStation>,
    #[serde(default)]
    pub flood_gauges: Vec<FloodGauge>,
    #[serde(default)]
    pub agencies: Vec<Agency>,
    #[serde(default)]
    pub platforms: Vec<Platform>,
    /// The alert rules; when the preset has none, [`Preset::alert_rules`] gives the built-in
    /// preset's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_rules: Option<Vec<AlertRule>>,
    /// The boundaries read from [`Preset::boundaries_file`]: `None` when the preset names no
    /// file, or when it was only parsed ([`Preset::parse`] does no I/O).
    #[serde(skip)]
    pub boundaries: Option<Boundaries>,
}

/// Rows and columns of the tile-grid map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GridSize {
    pub rows: u16,
    pub cols: u16,
}

/// A cell of the tile-grid map, counted from 0 at the top left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    pub row: u16,
    pub col: u16,
}

/// A point in WGS 84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

impl LatLon {
    /// Great-circle distance in kilometres.
    pub fn distance_km(self, other: LatLon) -> f64 {
        const EARTH_RADIUS_KM: f64 = 6371.0;
        let (la1, la2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = la2 - la1;
        let dlon = (other.lon - self.lon).to_radians();
        let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
    }
}

/// What kind of district-level unit an area is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AreaKind {
    /// A city within the city (Thủ Đức).
    City,
    /// An urban district (quận).
    Urban,
    /// A rural district (huyện).
    Rural,
}

/// An area of the city: the unit topics report under and tiles are counted by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Area {
    /// The code the ingest contract uses (`q1`, `thu-duc`): `[a-z0-9][a-z0-9-]{0,31}`, not `city`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub kind: AreaKind,
    /// Residents (census).
    pub population: u32,
    /// Where the area's label goes on a map.
    pub centroid: LatLon,
    /// The area's cell of the tile-grid map, next to the cells of its neighbours.
    pub grid: Cell,
    /// Other names the area goes by in other sources (a GeoJSON file, an older map): matched,
    /// like the names, after [`normalize_name`].
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl Area {
    /// The area as the websocket snapshot carries it.
    pub fn info(&self) -> AreaInfo {
        AreaInfo {
            code: self.code.clone(),
            name_vi: self.name_vi.clone(),
            name_en: self.name_en.clone(),
        }
    }

    /// Every name the area is known by: Vietnamese, English, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        [self.name_vi.as_str(), self.name_en.as_str()]
            .into_iter()
            .chain(self.aliases.iter().map(String::as_str))
    }
}

/// A traffic corridor: a road with a detector that reports as one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Corridor {
    /// The source id of its detector (`ioc/v1/traffic/{area}/{id}`).
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    /// The area its detector reports under.
    pub area: String,
    /// Speed with no congestion, km/h.
    pub free_flow_kmh: f64,
    /// Lanes in the measured direction.
    pub lanes: u8,
    /// Vehicles per hour the measured direction carries at most (mixed traffic).
    pub capacity_vph: u32,
}

/// An air-quality monitoring station.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AirStation {
    /// Its source id (`ioc/v1/env/{area}/{id}`).
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub area: String,
}

/// A water-level gauge on a river or canal, with its alarm levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FloodGauge {
    /// Its source id (`ioc/v1/flood/{area}/{id}`).
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub area: String,
    pub water_body_vi: String,
    pub water_body_en: String,
    /// Alarm level 1 (Báo động 1), cm above the gauge's datum; below `bd2_cm`.
    pub bd1_cm: i32,
    /// Alarm level 2 (Báo động 2); below `bd3_cm`.
    pub bd2_cm: i32,
    /// Alarm level 3 (Báo động 3).
    pub bd3_cm: i32,
}

impl FloodGauge {
    /// The alarm level a water level reaches: 0 (below BĐ1) to 3 (BĐ3 or above).
    pub fn alarm_level(&self, water_level_cm: f64) -> u8 {
        [self.bd1_cm, self.bd2_cm, self.bd3_cm]
            .into_iter()
            .filter(|&l| water_level_cm >= f64::from(l))
            .count() as u8
    }
}

/// Whether an agency is a city department or a district's People's Committee.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AgencyKind {
    Department,
    District,
}

/// An agency that receives dossiers of online public services.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// The code `service` events carry in `agency`: `[a-z0-9][a-z0-9_-]{0,63}`.
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub kind: AgencyKind,
    /// The area of a district's People's Committee (required for `district`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub area: Option<String>,
    /// How many online public services it offers.
    pub online_services: u32,
    /// Its typical processing time of a dossier, days.
    pub processing_days: f64,
}

/// A city platform that reports its health (`ioc/v1/system/city/{id}`), and may carry events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    /// Its source id.
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    /// The domains it publishes: `system` for its health, `service` for the public-service
    /// portal's dossiers, `complaint` for the 1022 platform's complaints.
    #[serde(default)]
    pub domains: Vec<Domain>,
}

/// How a rule compares a value with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleOp {
    Above,
    AtOrAbove,
    Below,
    AtOrBelow,
}

impl RuleOp {
    /// Whether `value` breaks the rule at `threshold`.
    pub fn breaks(self, value: f64, threshold: f64) -> bool {
        match self {
            RuleOp::Above => value > threshold,
            RuleOp::AtOrAbove => value >= threshold,
            RuleOp::Below => value < threshold,
            RuleOp::AtOrBelow => value <= threshold,
        }
    }

    /// Whether `value` is back on the right side of `threshold` by more than `hysteresis`:
    /// a value hovering at the line does not clear an alert it raised.
    pub fn clears(self, value: f64, threshold: f64, hysteresis: f64) -> bool {
        match self {
            RuleOp::Above | RuleOp::AtOrAbove => value < threshold - hysteresis,
            RuleOp::Below | RuleOp::AtOrBelow => value > threshold + hysteresis,
        }
    }
}

/// A rule's threshold: a number, or a flood gauge's own alarm level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Threshold {
    Value(f64),
    Level(GaugeLevel),
}

/// A flood gauge's alarm level, as a rule's threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GaugeLevel {
    Bd1,
    Bd2,
    Bd3,
}

impl GaugeLevel {
    pub fn of(self, gauge: &FloodGauge) -> f64 {
        f64::from(match self {
            GaugeLevel::Bd1 => gauge.bd1_cm,
            GaugeLevel::Bd2 => gauge.bd2_cm,
            GaugeLevel::Bd3 => gauge.bd3_cm,
        })
    }
}

/// An alert rule: a field of a domain past a threshold, for a while, in some or all areas.
///
/// `field` is a numeric field of the domain's readings, taken per source as readings come
/// (`water_level_cm`, `congestion`), or one of the figures the server computes, evaluated
/// every second: `aqi` (env: each station's official hourly VN_AQI), `overdue` (complaint:
/// open complaints past their deadline, per area), `on_time_rate` (service: share of today's
/// dossiers done on time, per agency and for the city, once 10 are done), or `offline` (any
/// domain: a source silent past its domain's interval; no `op` or `threshold`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// `[a-z0-9][a-z0-9_-]{0,63}`, unique among the rules.
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub domain: Domain,
    pub field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<RuleOp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<Threshold>,
    /// How far back past the threshold a value must go to clear the alert (same unit).
    #[serde(default)]
    pub hysteresis: f64,
    /// How long the condition must hold before the alert opens.
    #[serde(default)]
    pub for_minutes: f64,
    pub severity: crate::alerts::Severity,
    /// Only these areas (codes); empty: every area.
    #[serde(default)]
    pub areas: Vec<String>,
}

/// The figure fields a rule may watch besides the readings' own fields.
pub const FIGURE_FIELDS: [(Domain, &str); 3] = [
    (Domain::Env, "aqi"),
    (Domain::Complaint, "overdue"),
    (Domain::Service, "on_time_rate"),
];

/// A preset that cannot be used. The message names the file and, for a preset that does not
/// hold, the line and the field.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("cannot read city preset {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("city preset {file}, line {line}{}: {message}", field_suffix(.field))]
    Invalid {
        file: String,
        /// 1-based.
        line: usize,
        /// The field, as a path (`areas[3].population`); `None` for TOML syntax errors.
        field: Option<String>,
        message: String,
    },
    #[error("city preset {file}: boundary file {}: {source}", path.display())]
    Boundaries {
        file: String,
        path: PathBuf,
        source: BoundaryError,
    },
}

fn field_suffix(field: &Option<String>) -> String {
    field
        .as_ref()
        .map(|f| format!(", field `{f}`"))
        .unwrap_or_default()
}

impl Preset {
    /// Ho Chi Minh City's 22 district-level areas of 2022, with no boundary file.
    pub fn built_in() -> Preset {
        Preset::parse(BUILT_IN, BUILT_IN_FILE).expect("the built-in preset is valid")
    }

    /// The text of the built-in preset, for tools that derive another preset from it.
    pub fn built_in_text() -> &'static str {
        BUILT_IN
    }

    /// Parses and validates a preset; `file` names it in errors. No I/O: a `boundaries` file is
    /// left unread (see [`Preset::load`] and [`Preset::load_boundaries`]).
    pub fn parse(text: &str, file: &str) -> Result<Preset, PresetError> {
        validate::parse(text, file)
    }

    /// Reads, parses and validates a preset file, then reads its boundary file if it names one.
    pub fn load(path: &Path) -> Result<Preset, PresetError> {
        let text = std::fs::read_to_string(path).map_err(|source| PresetError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut preset = Preset::parse(&text, &path.display().to_string())?;
        preset.load_boundaries(path)?;
        Ok(preset)
    }

    /// Reads the boundary file the preset names (relative to `preset_path`, the preset file)
    /// into [`Preset::boundaries`]; does nothing when it names none.
    pub fn load_boundaries(&mut self, preset_path: &Path) -> Result<(), PresetError> {
        let Some(file) = &self.boundaries_file else {
            return Ok(());
        };
        let path = preset_path
            .parent()
            .unwrap_or_else(|| Path::new(""))
            .join(file);
        let error = |source| PresetError::Boundaries {
            file: preset_path.display().to_string(),
            path: path.clone(),
            source,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| error(BoundaryError::Read(e)))?;
        self.boundaries = Some(Boundaries::from_geojson(&text, self).map_err(error)?);
        Ok(())
    }

    /// The area of a code.
    pub fn area(&self, code: &str) -> Option<&Area> {
        self.areas.iter().find(|a| a.code == code)
    }

    /// Whether `code` is an area of the city (`city`, the code of city-wide sources, is not).
    pub fn has_area(&self, code: &str) -> bool {
        self.area(code).is_some()
    }

    /// The area a name stands for, by its Vietnamese or English name or an alias, compared
    /// after [`normalize_name`]: `Tp Thủ Đức`, `quận  2` and `Thành phố Thủ Đức` all give
    /// `thu-duc`.
    pub fn area_by_name(&self, name: &str) -> Option<&Area> {
        let wanted = normalize_name(name);
        self.areas
            .iter()
            .find(|a| a.names().any(|n| normalize_name(n) == wanted))
    }

    /// The areas as the websocket snapshot carries them, in the preset's order.
    pub fn area_infos(&self) -> Vec<AreaInfo> {
        self.areas.iter().map(Area::info).collect()
    }

    /// The agency of a code.
    pub fn agency(&self, code: &str) -> Option<&Agency> {
        self.agencies.iter().find(|a| a.code == code)
    }

    /// The alert rules: the preset's, or the built-in preset's when it has none.
    pub fn alert_rules(&self) -> Vec<AlertRule> {
        match &self.alert_rules {
            Some(rules) => rules.clone(),
            None => Preset::built_in().alert_rules.unwrap_or_default(),
        }
    }

    /// The flood gauge a source is a sensor of: the gauge's id itself, or `{id}-{n}`.
    pub fn gauge_of(&self, source: &str) -> Option<&FloodGauge> {
        self.flood_gauges.iter().find(|g| {
            source == g.id
                || source
                    .strip_prefix(g.id.as_str())
                    .and_then(|rest| rest.strip_prefix('-'))
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// Online public services of all agencies.
    pub fn online_services(&self) -> u32 {
        self.agencies.iter().map(|a| a.online_services).sum()
    }
}

/// A name as names are compared: lowercase (Unicode-aware: `Đ` is `đ`), with dots and
/// underscores taken for spaces and runs of whitespace made one space. `Tp. Thủ  Đức` and
/// `tp thủ đức` are the same name; `Tp` and `Thành phố` are not (aliases carry both).
pub fn normalize_name(name: &str) -> String {
    let lower = name.to_lowercase().replace(['.', '_'], " ");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}
