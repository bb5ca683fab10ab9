//! The city the server serves: its preset, loaded once at start.
//!
//! The preset itself (model, loader, validation, boundaries) lives in
//! [`ioc_protocol::preset`], shared with the simulator; the built-in one is Ho Chi Minh City's
//! 22 district-level areas of 2022. This wrapper keeps what the rest of the server reads often
//! (the names and the areas as the snapshot carries them) at hand, and answers `has_area`
//! without a scan.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

use ioc_protocol::AreaInfo;
use ioc_protocol::preset::Preset;
pub use ioc_protocol::preset::PresetError;
use ioc_protocol::preset::boundary::{Boundaries, BoundaryError};

/// A loaded, validated city preset.
#[derive(Debug, Clone)]
pub struct City {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    /// The areas as the websocket snapshot carries them, in the preset's order.
    pub areas: Vec<AreaInfo>,
    /// Area codes, for the check every ingested message goes through.
    index: HashSet<String>,
    /// `GET /api/v1/city`, serialised once.
    map_json: Arc<str>,
    preset: Preset,
}

impl City {
    /// Ho Chi Minh City, 2022.
    pub fn built_in() -> City {
        City::from_preset(Preset::built_in())
    }

    /// The preset file at `path` (with its boundary file, if it names one), or the built-in
    /// preset when `None`.
    pub fn load(path: Option<&Path>) -> Result<City, PresetError> {
        City::load_with(path, None)
    }

    /// Like [`City::load`], with the areas' boundaries read from `boundaries` (a GeoJSON file)
    /// instead of the file the preset names.
    pub fn load_with(path: Option<&Path>, boundaries: Option<&Path>) -> Result<City, PresetError> {
        let mut preset = match path {
            Some(p) => Preset::load(p)?,
            None => Preset::built_in(),
        };
        let shown = path.map_or_else(|| "built-in".to_owned(), |p| p.display().to_string());
        if let Some(file) = boundaries {
            let error = |source| PresetError::Boundaries {
                file: shown.clone(),
                path: file.to_owned(),
                source,
            };
            let text = std::fs::read_to_string(file).map_err(|e| error(BoundaryError::Read(e)))?;
            preset.boundaries = Some(Boundaries::from_geojson(&text, &preset).map_err(error)?);
        }
        let city = City::from_preset(preset);
        let path = shown;
        if let Some(b) = &city.preset.boundaries {
            for f in &b.unmatched {
                tracing::warn!(
                    preset = %path,
                    feature = f.index,
                    name = f.name.as_deref().unwrap_or(""),
                    reason = ?f.reason,
                    "boundary feature matches no area"
                );
            }
            if !b.missing.is_empty() {
                tracing::warn!(preset = %path, areas = ?b.missing, "areas with no boundary");
            }
        }
        Ok(city)
    }

    /// Parses and validates a preset's text; `file` names it in errors. A boundary file it
    /// names is not read.
    pub fn parse(text: &str, file: &str) -> Result<City, PresetError> {
        Preset::parse(text, file).map(City::from_preset)
    }

    pub fn from_preset(preset: Preset) -> City {
        City {
            code: preset.code.clone(),
            name_vi: preset.name_vi.clone(),
            name_en: preset.name_en.clone(),
            areas: preset.area_infos(),
            map_json: serde_json::to_string(&preset.city_map())
                .expect("a city map serialises")
                .into(),
            index: preset.areas.iter().map(|a| a.code.clone()).collect(),
            preset,
        }
    }

    pub fn has_area(&self, code: &str) -> bool {
        self.index.contains(code)
    }

    /// Names, the tile grid and the areas' outlines, as the screens draw them
    /// ([`ioc_protocol::map::CityMap`]), as JSON.
    pub fn map_json(&self) -> Arc<str> {
        self.map_json.clone()
    }

    /// The whole preset: corridors, stations, gauges, agencies, platforms, boundaries.
    pub fn preset(&self) -> &Preset {
        &self.preset
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hcmc_has_its_22_areas() {
        let c = City::built_in();
        assert_eq!(c.areas.len(), 22);
        assert!(c.has_area("thu-duc") && c.has_area("q1") && c.has_area("nha-be"));
        assert!(!c.has_area("q2") && !c.has_area("q9") && !c.has_area("city"));
        let cu_chi = c.areas.iter().find(|a| a.code == "cu-chi").unwrap();
        assert_eq!(cu_chi.name_vi, "Huyện Củ Chi");
        assert_eq!(c.name_vi, "Thành phố Hồ Chí Minh");
        assert_eq!(c.preset().areas.len(), 22);
        assert!(!c.preset().corridors.is_empty());
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let head = "code = \"x\"\nname_vi = \"X\"\nname_en = \"X\"\ntimezone = \"Asia/Ho_Chi_Minh\"\n\
                    grid = { rows = 1, cols = 1 }\n[[areas]]\n";
        let area = "name_vi = \"a\"\nname_en = \"a\"\nkind = \"urban\"\npopulation = 1\n\
                    centroid = { lat = 10.0, lon = 106.0 }\ngrid = { row = 0, col = 0 }\n";
        let e = City::parse(&format!("{head}code = \"A B\"\n{area}"), "city.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("city.toml") && e.contains("line 7") && e.contains("areas[0].code"),
            "{e}"
        );
        let e = City::parse(&format!("{head}code = \"a\"\nname_vi = 3\n"), "city.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("city.toml") && e.contains("line 8"), "{e}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let e = City::load(Some(Path::new("/nonexistent/city.toml")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/city.toml"), "{e}");
    }
}
