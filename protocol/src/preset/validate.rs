//! The rules a preset must hold, and the line each broken rule is reported at.
//!
//! The preset is deserialized first (TOML syntax, types, unknown and missing fields: the `toml`
//! crate reports a span), then checked as a whole (codes, references, uniqueness, ranges),
//! which yields the path of the field at fault. Either way `spans` turns the span or the path
//! into a line and a field, so an error always reads "file, line, field: what is wrong".

use std::collections::HashMap;

use super::spans::{self, FieldPath, Located};
use super::{AgencyKind, Cell, LatLon, Preset, PresetError, normalize_name};
use crate::topic::{self, Domain, Topic};

pub(super) fn parse(text: &str, file: &str) -> Result<Preset, PresetError> {
    let invalid = |at: Located| PresetError::Invalid {
        file: file.to_owned(),
        line: at.line,
        field: at.field,
        message: at.message,
    };
    let preset: Preset = spans::deserialize(text).map_err(invalid)?;
    check(&preset).map_err(|issue| invalid(spans::locate(text, &issue.field, issue.message)))?;
    Ok(preset)
}

/// A broken rule: the field at fault and what is wrong with it.
#[derive(Debug)]
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

/// Where each source id, and each area's names, were first seen: to name the first one in
/// the error about the second.
#[derive(Default)]
struct Seen {
    sources: HashMap<String, FieldPath>,
    agencies: HashMap<String, FieldPath>,
}

fn check(p: &Preset) -> Result<(), Issue> {
    let root = FieldPath::default();
    area_code(root.key("code"), &p.code, false)?;
    name(root.key("name_vi"), &p.name_vi)?;
    name(root.key("name_en"), &p.name_en)?;
    let tz = root.key("timezone");
    if p.timezone.trim().is_empty() || p.timezone.contains(char::is_whitespace) {
        return Err(issue(
            tz,
            format!("{:?} is not an IANA time zone name", p.timezone),
        ));
    }
    let grid = root.key("grid");
    if p.grid.rows == 0 || p.grid.cols == 0 {
        return Err(issue(
            grid,
            "the tile-grid map needs at least one row and column",
        ));
    }
    if let Some(file) = &p.boundaries_file
        && file.trim().is_empty()
    {
        return Err(issue(root.key("boundaries"), "an empty file name"));
    }
    check_areas(p, &root)?;

    let mut seen = Seen::default();
    for (i, c) in p.corridors.iter().enumerate() {
        let at = root.key("corridors").index(i);
        source(&mut seen, at.key("id"), &c.id)?;
        names(&at, &c.name_vi, &c.name_en)?;
        area_ref(p, at.key("area"), &c.area)?;
        if !(c.free_flow_kmh.is_finite() && c.free_flow_kmh > 0.0 && c.free_flow_kmh <= 200.0) {
            return Err(issue(
                at.key("free_flow_kmh"),
                format!("{} is not a speed in (0, 200] km/h", c.free_flow_kmh),
            ));
        }
        if c.lanes == 0 {
            return Err(issue(at.key("lanes"), "a road has at least one lane"));
        }
        if c.capacity_vph == 0 {
            return Err(issue(at.key("capacity_vph"), "must be above 0"));
        }
    }
    for (i, s) in p.air_stations.iter().enumerate() {
        let at = root.key("air_stations").index(i);
        source(&mut seen, at.key("id"), &s.id)?;
        names(&at, &s.name_vi, &s.name_en)?;
        area_ref(p, at.key("area"), &s.area)?;
    }
    for (i, g) in p.flood_gauges.iter().enumerate() {
        let at = root.key("flood_gauges").index(i);
        source(&mut seen, at.key("id"), &g.id)?;
        names(&at, &g.name_vi, &g.name_en)?;
        area_ref(p, at.key("area"), &g.area)?;
        name(at.key("water_body_vi"), &g.water_body_vi)?;
        name(at.key("water_body_en"), &g.water_body_en)?;
        if g.bd2_cm <= g.bd1_cm {
            return Err(issue(
                at.key("bd2_cm"),
                format!(
                    "alarm levels must rise: BĐ2 {} cm is not above BĐ1 {} cm",
                    g.bd2_cm, g.bd1_cm
                ),
            ));
        }
        if g.bd3_cm <= g.bd2_cm {
            return Err(issue(
                at.key("bd3_cm"),
                format!(
                    "alarm levels must rise: BĐ3 {} cm is not above BĐ2 {} cm",
                    g.bd3_cm, g.bd2_cm
                ),
            ));
        }
    }
    for (i, a) in p.agencies.iter().enumerate() {
        let at = root.key("agencies").index(i);
        let code = at.key("code");
        if !topic::is_source_id(&a.code) {
            return Err(issue(
                code,
                format!("{:?} is not of the form [a-z0-9][a-z0-9_-]{{0,63}}", a.code),
            ));
        }
        if let Some(first) = seen.agencies.insert(a.code.clone(), code.clone()) {
            return Err(issue(
                code,
                format!("agency {:?} is already defined at {first}", a.code),
            ));
        }
        names(&at, &a.name_vi, &a.name_en)?;
        match (&a.area, a.kind) {
            (Some(area), _) => area_ref(p, at.key("area"), area)?,
            (None, AgencyKind::District) => {
                return Err(issue(
                    at.key("area"),
                    "a district's People's Committee needs the `area` it serves",
                ));
            }
            (None, AgencyKind::Department) => {}
        }
        if !(a.processing_days.is_finite() && a.processing_days > 0.0) {
            return Err(issue(
                at.key("processing_days"),
                format!("{} is not a number of days above 0", a.processing_days),
            ));
        }
    }
    for (i, pl) in p.platforms.iter().enumerate() {
        let at = root.key("platforms").index(i);
        source(&mut seen, at.key("id"), &pl.id)?;
        names(&at, &pl.name_vi, &pl.name_en)?;
    }
    check_rules(p, &root)
}

fn check_rules(p: &Preset, root: &FieldPath) -> Result<(), Issue> {
    let mut ids: HashMap<&str, FieldPath> = HashMap::new();
    for (i, r) in p.alert_rules.iter().flatten().enumerate() {
        let at = root.key("alert_rules").index(i);
        if !topic::is_source_id(&r.id) {
            return Err(issue(
                at.key("id"),
                format!("{:?} is not of the form [a-z0-9][a-z0-9_-]{{0,63}}", r.id),
            ));
        }
        if let Some(first) = ids.insert(&r.id, at.key("id")) {
            return Err(issue(
                at.key("id"),
                format!("rule {:?} is already defined at {first}", r.id),
            ));
        }
        names(&at, &r.name_vi, &r.name_en)?;
        if !crate::ingest::is_field_name(&r.field) {
            return Err(issue(
                at.key("field"),
                format!("{:?} is not a field name", r.field),
            ));
        }
        let offline = r.field == "offline";
        match (offline, r.op, r.threshold) {
            (true, None, None) => {}
            (true, _, _) => {
                return Err(issue(
                    at.key("op"),
                    "an `offline` rule has no `op` or `threshold`",
                ));
            }
            (false, Some(_), Some(super::Threshold::Value(v))) if !v.is_finite() => {
                return Err(issue(at.key("threshold"), "not a finite number"));
            }
            (false, Some(_), Some(super::Threshold::Level(_))) if r.domain != Domain::Flood => {
                return Err(issue(
                    at.key("threshold"),
                    "an alarm level (bd1, bd2, bd3) is a threshold of `flood` rules only",
                ));
            }
            (false, Some(_), Some(_)) => {}
            (false, None, _) => {
                return Err(issue(
                    at.key("op"),
                    "needs `op`: above, at_or_above, below or at_or_below",
                ));
            }
            (false, _, None) => {
                return Err(issue(at.key("threshold"), "needs a `threshold`"));
            }
        }
        if !(r.hysteresis.is_finite() && r.hysteresis >= 0.0) {
            return Err(issue(at.key("hysteresis"), "must be a number, 0 or more"));
        }
        if !(r.for_minutes.is_finite() && (0.0..=1440.0).contains(&r.for_minutes)) {
            return Err(issue(at.key("for_minutes"), "must be 0 to 1440 minutes"));
        }
        for (j, a) in r.areas.iter().enumerate() {
            area_ref(p, at.key("areas").index(j), a)?;
        }
    }
    Ok(())
}

fn check_areas(p: &Preset, root: &FieldPath) -> Result<(), Issue> {
    if p.areas.is_empty() {
        return Err(issue(root.key("areas"), "a city needs at least one area"));
    }
    let mut codes: HashMap<&str, FieldPath> = HashMap::new();
    let mut cells: HashMap<Cell, FieldPath> = HashMap::new();
    // Every name of every area, normalised: a name must lead to one area only.
    let mut known: HashMap<String, (usize, FieldPath)> = HashMap::new();
    for (i, a) in p.areas.iter().enumerate() {
        let at = root.key("areas").index(i);
        let code = at.key("code");
        area_code(code.clone(), &a.code, true)?;
        if let Some(first) = codes.insert(&a.code, code.clone()) {
            return Err(issue(
                code,
                format!("area {:?} is already defined at {first}", a.code),
            ));
        }
        names(&at, &a.name_vi, &a.name_en)?;
        if a.population == 0 {
            return Err(issue(at.key("population"), "must be above 0"));
        }
        lat_lon(&at.key("centroid"), a.centroid)?;
        let grid = at.key("grid");
        if a.grid.row >= p.grid.rows {
            return Err(issue(
                grid.key("row"),
                format!(
                    "row {} is outside the map's {} rows (0 to {})",
                    a.grid.row,
                    p.grid.rows,
                    p.grid.rows - 1
                ),
            ));
        }
        if a.grid.col >= p.grid.cols {
            return Err(issue(
                grid.key("col"),
                format!(
                    "column {} is outside the map's {} columns (0 to {})",
                    a.grid.col,
                    p.grid.cols,
                    p.grid.cols - 1
                ),
            ));
        }
        if let Some(first) = cells.insert(a.grid, grid.clone()) {
            return Err(issue(
                grid,
                format!(
                    "cell (row {}, col {}) is already taken by {first}",
                    a.grid.row, a.grid.col
                ),
            ));
        }
        let mut fields = vec![
            (at.key("name_vi"), &a.name_vi),
            (at.key("name_en"), &a.name_en),
        ];
        for (k, alias) in a.aliases.iter().enumerate() {
            let f = at.key("aliases").index(k);
            name(f.clone(), alias)?;
            fields.push((f, alias));
        }
        for (f, n) in fields {
            match known.get(&normalize_name(n)) {
                Some((other, first)) if *other != i => {
                    return Err(issue(
                        f,
                        format!("name {n:?} already stands for another area, at {first}"),
                    ));
                }
                Some(_) => {}
                None => {
                    known.insert(normalize_name(n), (i, f));
                }
            }
        }
    }
    Ok(())
}

fn area_code(field: FieldPath, code: &str, area: bool) -> Result<(), Issue> {
    let valid = Topic::parse(&format!("ioc/v1/env/{code}/x")).is_ok() && !code.contains('/');
    if !valid || (area && code == topic::CITY_AREA) {
        return Err(issue(
            field,
            format!(
                "{code:?} must match [a-z0-9][a-z0-9-]{{0,31}}{}",
                if area { " and not be `city`" } else { "" }
            ),
        ));
    }
    Ok(())
}

/// A source id, unique among the corridors, stations, gauges and platforms.
fn source(seen: &mut Seen, field: FieldPath, id: &str) -> Result<(), Issue> {
    if !topic::is_source_id(id) {
        return Err(issue(
            field,
            format!("{id:?} is not a source id ([a-z0-9][a-z0-9_-]{{0,63}})"),
        ));
    }
    if let Some(first) = seen.sources.insert(id.to_owned(), field.clone()) {
        return Err(issue(
            field,
            format!("source id {id:?} is already used at {first}"),
        ));
    }
    Ok(())
}

fn area_ref(p: &Preset, field: FieldPath, area: &str) -> Result<(), Issue> {
    if p.has_area(area) {
        Ok(())
    } else {
        Err(issue(
            field,
            format!("{area:?} is not an area of this preset"),
        ))
    }
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

fn lat_lon(at: &FieldPath, p: LatLon) -> Result<(), Issue> {
    if !(p.lat.is_finite() && (-90.0..=90.0).contains(&p.lat)) {
        return Err(issue(
            at.key("lat"),
            format!("{} is not a latitude in [-90, 90]", p.lat),
        ));
    }
    if !(p.lon.is_finite() && (-180.0..=180.0).contains(&p.lon)) {
        return Err(issue(
            at.key("lon"),
            format!("{} is not a longitude in [-180, 180]", p.lon),
        ));
    }
    Ok(())
}
