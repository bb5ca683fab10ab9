//! The city preset: the city is data, not code.
//!
//! The built-in preset is Ho Chi Minh City's 22 district-level areas of 2022
//! (`presets/hcmc-2022.toml`); another city, or the 2025 ward-level map, is another file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ioc_protocol::AreaInfo;
use serde::Deserialize;

const BUILT_IN: &str = include_str!("../presets/hcmc-2022.toml");
const BUILT_IN_NAME: &str = "presets/hcmc-2022.toml (built in)";

/// A loaded, validated city preset.
#[derive(Debug, Clone)]
pub struct City {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub areas: Vec<AreaInfo>,
    index: HashMap<String, usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    code: String,
    name_vi: String,
    name_en: String,
    areas: Vec<AreaEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaEntry {
    code: String,
    name_vi: String,
    name_en: String,
}

/// A preset that cannot be used; the message names the file and, where it can, the line and
/// the field.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    #[error("cannot read city preset {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("city preset {file}: {message}")]
    Invalid { file: String, message: String },
}

impl City {
    /// Ho Chi Minh City, 2022.
    pub fn built_in() -> City {
        City::parse(BUILT_IN, BUILT_IN_NAME).expect("the built-in preset is valid")
    }

    pub fn load(path: Option<&Path>) -> Result<City, PresetError> {
        match path {
            None => Ok(City::built_in()),
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| PresetError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                City::parse(&text, &path.display().to_string())
            }
        }
    }

    pub fn parse(text: &str, file: &str) -> Result<City, PresetError> {
        let invalid = |message: String| PresetError::Invalid {
            file: file.to_owned(),
            message,
        };
        let preset: PresetFile = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!("line {line}: ")
                })
                .unwrap_or_default();
            invalid(format!("{at}{}", e.message()))
        })?;
        if preset.areas.is_empty() {
            return Err(invalid(
                "field `areas`: a city needs at least one area".into(),
            ));
        }
        let mut index = HashMap::new();
        for (i, a) in preset.areas.iter().enumerate() {
            let valid = ioc_protocol::Topic::parse(&format!("ioc/v1/env/{}/x", a.code)).is_ok();
            if !valid || a.code == ioc_protocol::topic::CITY_AREA {
                return Err(invalid(format!(
                    "areas[{i}] field `code`: {:?} must match [a-z0-9][a-z0-9-]{{0,31}} and not be `city`",
                    a.code
                )));
            }
            if a.name_vi.trim().is_empty() || a.name_en.trim().is_empty() {
                return Err(invalid(format!(
                    "areas[{i}] ({}): names must not be empty",
                    a.code
                )));
            }
            if index.insert(a.code.clone(), i).is_some() {
                return Err(invalid(format!(
                    "areas[{i}] field `code`: {:?} appears twice",
                    a.code
                )));
            }
        }
        Ok(City {
            code: preset.code,
            name_vi: preset.name_vi,
            name_en: preset.name_en,
            areas: preset
                .areas
                .into_iter()
                .map(|a| AreaInfo {
                    code: a.code,
                    name_vi: a.name_vi,
                    name_en: a.name_en,
                })
                .collect(),
            index,
        })
    }

    pub fn has_area(&self, code: &str) -> bool {
        self.index.contains_key(code)
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
        let q1 = c.areas.iter().find(|a| a.code == "cu-chi").unwrap();
        assert_eq!(q1.name_vi, "Huyện Củ Chi");
    }

    #[test]
    fn errors_name_file_line_and_field() {
        let text = "code = \"x\"\nname_vi = \"X\"\nname_en = \"X\"\n[[areas]]\ncode = \"A B\"\nname_vi = \"a\"\nname_en = \"a\"\n";
        let e = City::parse(text, "city.toml").unwrap_err().to_string();
        assert!(
            e.contains("city.toml") && e.contains("areas[0]") && e.contains("code"),
            "{e}"
        );
        let text = "code = \"x\"\nname_vi = \"X\"\nname_en = \"X\"\n[[areas]]\ncode = \"a\"\nname_vi = 3\n";
        let e = City::parse(text, "city.toml").unwrap_err().to_string();
        assert!(e.contains("city.toml") && e.contains("line 6"), "{e}");
    }
}
