//! Loading a catalogue from TOML, and the rules it must hold against a city preset (cargo
//! feature `preset`).
//!
//! The catalogue is deserialized first (syntax, types, unknown and missing fields), then
//! checked as a whole: codes and their uniqueness, references (groups, reporting units, key
//! indicators, targets' indicators and areas), ranges, deadlines and seasonal profiles. The
//! first broken rule is a [`CatalogueError`] naming the file, the line and the field
//! (`indicators[12].seasonal`), as the preset's errors do.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::catalogue::{AreaLevels, Catalogue, Kind, Level};
use super::period::{Deadline, Periodicity};
use crate::ingest::is_field_name;
use crate::preset::spans::{self, FieldPath, Located};
use crate::preset::{AgencyKind, Preset};
use crate::topic::{is_area_code, is_source_id};

/// The built-in catalogue: Ho Chi Minh City's 20 groups and 110 indicators.
const BUILT_IN: &str = include_str!("../../presets/hcmc-2022-indicators.toml");

/// How errors in the built-in catalogue name their file.
pub const BUILT_IN_FILE: &str = "protocol/presets/hcmc-2022-indicators.toml (built in)";

/// How far a seasonal profile's sum may be from 1.
const SEASONAL_TOLERANCE: f64 = 1e-6;

/// A catalogue that cannot be used: the file, and for a catalogue that does not hold, the line,
/// the field and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("cannot read indicator catalogue {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("indicator catalogue {file}, line {line}{}: {message}", field_suffix(.field))]
    Invalid {
        file: String,
        /// 1-based.
        line: usize,
        /// The field, as a path (`indicators[12].range`); `None` for TOML syntax errors.
        field: Option<String>,
        message: String,
    },
}

fn field_suffix(field: &Option<String>) -> String {
    field
        .as_ref()
        .map(|f| format!(", field `{f}`"))
        .unwrap_or_default()
}

impl AreaLevels {
    /// The areas of each level in a city preset: its areas are the districts, its agencies of
    /// kind `department` the departments.
    pub fn from_preset(preset: &Preset) -> AreaLevels {
        AreaLevels {
            districts: preset.areas.iter().map(|a| a.code.clone()).collect(),
            departments: preset
                .agencies
                .iter()
                .filter(|a| a.kind == AgencyKind::Department)
                .map(|a| a.code.clone())
                .collect(),
        }
    }
}

impl Catalogue {
    /// Ho Chi Minh City's catalogue (20 groups, 110 indicators), validated against the
    /// built-in preset.
    pub fn built_in() -> Catalogue {
        Catalogue::parse(BUILT_IN, BUILT_IN_FILE, &Preset::built_in())
            .expect("the built-in catalogue is valid")
    }

    /// The text of the built-in catalogue.
    pub fn built_in_text() -> &'static str {
        BUILT_IN
    }

    /// Parses a catalogue and validates it against a city preset, whose areas and departments
    /// it then carries ([`Catalogue::areas`]); `file` names it in errors. No I/O.
    pub fn parse(text: &str, file: &str, preset: &Preset) -> Result<Catalogue, CatalogueError> {
        let invalid = |at: Located| CatalogueError::Invalid {
            file: file.to_owned(),
            line: at.line,
            field: at.field,
            message: at.message,
        };
        let mut catalogue: Catalogue = spans::deserialize(text).map_err(invalid)?;
        if catalogue.areas != AreaLevels::default() {
            let message = "a catalogue does not list areas: they come from the city preset";
            return Err(invalid(spans::locate(
                text,
                &FieldPath::default().key("areas"),
                message.into(),
            )));
        }
        catalogue.areas = AreaLevels::from_preset(preset);
        check(&catalogue)
            .map_err(|issue| invalid(spans::locate(text, &issue.field, issue.message)))?;
        Ok(catalogue)
    }

    /// Reads, parses and validates a catalogue file against a city preset.
    pub fn load(path: &Path, preset: &Preset) -> Result<Catalogue, CatalogueError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogueError::Read {
            path: path.to_owned(),
            source,
        })?;
        Catalogue::parse(&text, &path.display().to_string(), preset)
    }
}

/// A broken rule: the field at fault and what is wrong with it.
struct Issue {
    field: FieldPath,
    message: String,
}

fn issue(field: FieldPath, message: impl Into<String>) -> Issue {
    Issue {
        field,
        message: message.into(),
    }
}

fn check(c: &Catalogue) -> Result<(), Issue> {
    let root = FieldPath::default();
    if !(c.code.len() <= 64 && is_source_id(&c.code) && !c.code.contains('_')) {
        return Err(issue(
            root.key("code"),
            format!("{:?} must match [a-z0-9][a-z0-9-]{{0,63}}", c.code),
        ));
    }
    names(&root, &c.name_vi, &c.name_en)?;
    let deadlines = root.key("deadlines");
    for p in Periodicity::ALL {
        deadline(deadlines.key(p.as_str()), c.deadlines.of(p))?;
    }
    check_offices(c, &root)?;
    let mut groups: HashMap<&str, FieldPath> = HashMap::new();
    for (i, g) in c.groups.iter().enumerate() {
        let at = root.key("groups").index(i);
        code(at.key("code"), &g.code, "group", &mut groups)?;
        names(&at, &g.name_vi, &g.name_en)?;
    }
    let mut indicators: HashMap<&str, FieldPath> = HashMap::new();
    for (i, ind) in c.indicators.iter().enumerate() {
        let at = root.key("indicators").index(i);
        code(at.key("code"), &ind.code, "indicator", &mut indicators)?;
        check_indicator(c, &at, i)?;
    }
    for (i, g) in c.groups.iter().enumerate() {
        if c.indicators_of(&g.code).next().is_none() {
            return Err(issue(
                root.key("groups").index(i),
                format!("group {:?} has no indicator", g.code),
            ));
        }
    }
    let mut keys: HashMap<&str, FieldPath> = HashMap::new();
    for (i, k) in c.key_indicators.iter().enumerate() {
        let at = root.key("key_indicators").index(i);
        if c.indicator(k).is_none() {
            return Err(issue(
                at,
                format!("{k:?} is not an indicator of the catalogue"),
            ));
        }
        if let Some(first) = keys.insert(k, at.clone()) {
            return Err(issue(
                at,
                format!("{k:?} is already a key indicator, at {first}"),
            ));
        }
    }
    let mut targets: HashMap<(&str, &str, i32), FieldPath> = HashMap::new();
    for (i, t) in c.targets.iter().enumerate() {
        let at = root.key("targets").index(i);
        c.check_target(t)
            .map_err(|e| issue(at.clone(), e.to_string()))?;
        if let Some(first) = targets.insert((&t.indicator, &t.area, t.year), at.clone()) {
            return Err(issue(
                at,
                format!(
                    "the target of {} for {} in {} is already set at {first}",
                    t.indicator, t.area, t.year
                ),
            ));
        }
    }
    Ok(())
}

fn check_offices(c: &Catalogue, root: &FieldPath) -> Result<(), Issue> {
    let mut offices: HashMap<&str, FieldPath> = HashMap::new();
    for (i, o) in c.offices.iter().enumerate() {
        let at = root.key("offices").index(i);
        let field = at.key("code");
        if !is_source_id(&o.code) {
            return Err(issue(
                field,
                format!("{:?} is not of the form [a-z0-9][a-z0-9_-]{{0,63}}", o.code),
            ));
        }
        if let Some(level) = c.areas.level_of(&o.code) {
            return Err(issue(
                field,
                format!(
                    "{:?} is already a {level} of the city preset: an office is neither",
                    o.code
                ),
            ));
        }
        if let Some(first) = offices.insert(&o.code, field.clone()) {
            return Err(issue(
                field,
                format!("office {:?} is already defined at {first}", o.code),
            ));
        }
        names(&at, &o.name_vi, &o.name_en)?;
    }
    Ok(())
}

fn check_indicator(c: &Catalogue, at: &FieldPath, i: usize) -> Result<(), Issue> {
    let ind = &c.indicators[i];
    if c.group(&ind.group).is_none() {
        return Err(issue(
            at.key("group"),
            format!("{:?} is not a group of the catalogue", ind.group),
        ));
    }
    names(at, &ind.name_vi, &ind.name_en)?;
    name(at.key("unit"), &ind.unit)?;
    name(at.key("unit_en"), &ind.unit_en)?;
    if ind.levels.is_empty() {
        return Err(issue(
            at.key("levels"),
            "an indicator is reported at one level at least: city, district or department",
        ));
    }
    if ind.has_level(Level::Department) {
        if c.areas.departments.is_empty() {
            return Err(issue(
                at.key("levels"),
                "reported at department level, and the city preset has no department",
            ));
        }
        if let Some(d) = c.areas.departments.iter().find(|d| !is_area_code(d)) {
            return Err(issue(
                at.key("levels"),
                format!(
                    "reported at department level, and department {d:?} of the city preset \
                     cannot be a topic's area ([a-z0-9][a-z0-9-]{{0,31}})"
                ),
            ));
        }
    }
    let r = ind.range;
    if !(r.min.is_finite() && r.max.is_finite() && r.min < r.max) {
        return Err(issue(
            at.key("range"),
            format!(
                "[{}, {}] is not a range: min must be below max",
                r.min, r.max
            ),
        ));
    }
    let unit = at.key("reporting_unit");
    match (&ind.reporting_unit, ind.has_level(Level::City)) {
        (None, true) => {
            return Err(issue(
                unit,
                "reported at city level: name the unit that reports it (a department of the \
                 city preset or an office of the catalogue)",
            ));
        }
        (Some(_), false) => {
            return Err(issue(
                unit,
                "only an indicator reported at city level has a reporting unit: districts \
                 and departments report their own",
            ));
        }
        (Some(u), true)
            if c.office(u).is_none() && c.areas.level_of(u) != Some(Level::Department) =>
        {
            return Err(issue(
                unit,
                format!(
                    "{u:?} is neither a department of the city preset nor an office of the catalogue"
                ),
            ));
        }
        _ => {}
    }
    if let Some(d) = ind.deadline {
        deadline(at.key("deadline"), d)?;
    }
    if let Some(shares) = &ind.seasonal {
        seasonal(at.key("seasonal"), ind.kind, ind.periodicity, shares)?;
    }
    Ok(())
}

fn seasonal(
    at: FieldPath,
    kind: Kind,
    periodicity: Periodicity,
    shares: &[f64],
) -> Result<(), Issue> {
    if kind != Kind::Flow || periodicity == Periodicity::Year {
        return Err(issue(
            at,
            "only a monthly or quarterly flow has a seasonal profile",
        ));
    }
    let n = usize::from(periodicity.per_year());
    if shares.len() != n {
        return Err(issue(
            at,
            format!(
                "a {periodicity}ly profile has {n} shares, one for each {periodicity}; this one has {}",
                shares.len()
            ),
        ));
    }
    if let Some(k) = shares.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
        return Err(issue(at.index(k), "a share is a number above 0"));
    }
    let sum: f64 = shares.iter().sum();
    if (sum - 1.0).abs() > SEASONAL_TOLERANCE {
        let shown = (sum * 1e6).round() / 1e6;
        return Err(issue(at, format!("the shares add up to {shown}, not 1")));
    }
    Ok(())
}

fn deadline(at: FieldPath, d: Deadline) -> Result<(), Issue> {
    if !(1..=12).contains(&d.months_after) {
        return Err(issue(
            at.key("months_after"),
            format!(
                "{} is not 1 to 12: a report is due in a month after its period",
                d.months_after
            ),
        ));
    }
    if !(1..=31).contains(&d.day) {
        return Err(issue(
            at.key("day"),
            format!("day {} is not 1 to 31", d.day),
        ));
    }
    Ok(())
}

/// A code of the form `[a-z][a-z0-9_]{0,63}` (the keys of a report's `values`), unique among
/// the codes of its kind.
fn code<'a>(
    field: FieldPath,
    code: &'a str,
    what: &str,
    seen: &mut HashMap<&'a str, FieldPath>,
) -> Result<(), Issue> {
    if !is_field_name(code) {
        return Err(issue(
            field,
            format!("{code:?} is not of the form [a-z][a-z0-9_]{{0,63}}"),
        ));
    }
    if let Some(first) = seen.insert(code, field.clone()) {
        return Err(issue(
            field,
            format!("{what} {code:?} is already defined at {first}"),
        ));
    }
    Ok(())
}

fn names(at: &FieldPath, vi: &str, en: &str) -> Result<(), Issue> {
    name(at.key("name_vi"), vi)?;
    name(at.key("name_en"), en)
}

fn name(field: FieldPath, name: &str) -> Result<(), Issue> {
    if name.trim().is_empty() {
        Err(issue(field, "must not be empty"))
    } else {
        Ok(())
    }
}
