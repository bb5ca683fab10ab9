use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::*;
use crate::topic::{Domain, Topic};

/// A small valid preset: two areas and one of everything else. Broken presets are made from
/// it by replacing one line.
const MINI: &str = r#"code = "mini"
name_vi = "Thành phố Nhỏ"
name_en = "Small City"
timezone = "Asia/Ho_Chi_Minh"
grid = { rows = 2, cols = 2 }

[[areas]]
code = "a1"
name_vi = "Quận Một"
name_en = "District One"
kind = "urban"
population = 100000
centroid = { lat = 10.5, lon = 106.5 }
grid = { row = 0, col = 0 }
aliases = ["Q.Một"]

[[areas]]
code = "a2"
name_vi = "Huyện Hai"
name_en = "District Two"
kind = "rural"
population = 50000
centroid = { lat = 10.6, lon = 106.6 }
grid = { row = 1, col = 1 }

[[corridors]]
id = "tc-main"
name_vi = "Đường Chính"
name_en = "Main Road"
area = "a1"
free_flow_kmh = 50
lanes = 2
capacity_vph = 3000

[[air_stations]]
id = "aqs-a1-01"
name_vi = "Trạm Một"
name_en = "Station One"
area = "a1"

[[flood_gauges]]
id = "fg-river"
name_vi = "Trạm Sông"
name_en = "River gauge"
area = "a2"
water_body_vi = "Sông Lớn"
water_body_en = "Big River"
bd1_cm = 140
bd2_cm = 150
bd3_cm = 160

[[agencies]]
code = "so-gtvt"
name_vi = "Sở Giao thông vận tải"
name_en = "Department of Transport"
kind = "department"
online_services = 80
processing_days = 5

[[agencies]]
code = "ubnd-a2"
name_vi = "Ủy ban nhân dân Huyện Hai"
name_en = "District Two People's Committee"
kind = "district"
area = "a2"
online_services = 20
processing_days = 5

[[platforms]]
id = "dvc-portal"
name_vi = "Cổng dịch vụ công"
name_en = "Public-service portal"
domains = ["service", "system"]
"#;

/// `MINI` with the `nth` (0-based) line equal to `line` replaced by `with`, and the 1-based
/// number of that line.
fn broken(line: &str, nth: usize, with: &str) -> (String, usize) {
    let lines: Vec<&str> = MINI.lines().collect();
    let at = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == line)
        .nth(nth)
        .unwrap_or_else(|| panic!("MINI has no {nth}th line {line:?}"))
        .0;
    let mut out: Vec<&str> = lines.clone();
    out[at] = with;
    (out.join("\n") + "\n", at + 1)
}

fn error_of(text: &str) -> (PresetError, String) {
    let e = Preset::parse(text, "presets/broken.toml").expect_err("the preset must be refused");
    let s = e.to_string();
    (e, s)
}

#[test]
fn mini_preset_is_valid() {
    let p = Preset::parse(MINI, "mini.toml").unwrap();
    assert_eq!(p.areas.len(), 2);
    assert_eq!(p.agencies[1].area.as_deref(), Some("a2"));
    assert!(p.boundaries_file.is_none() && p.boundaries.is_none());
}

#[test]
fn built_in_preset_has_the_22_areas_of_2022() {
    let p = Preset::built_in();
    assert_eq!(p.code, "hcmc-2022");
    assert_eq!(p.timezone, "Asia/Ho_Chi_Minh");
    let codes: Vec<&str> = p.areas.iter().map(|a| a.code.as_str()).collect();
    let glossary = [
        "thu-duc",
        "q1",
        "q3",
        "q4",
        "q5",
        "q6",
        "q7",
        "q8",
        "q10",
        "q11",
        "q12",
        "binh-tan",
        "binh-thanh",
        "go-vap",
        "phu-nhuan",
        "tan-binh",
        "tan-phu",
        "binh-chanh",
        "can-gio",
        "cu-chi",
        "hoc-mon",
        "nha-be",
    ];
    assert_eq!(codes, glossary);
    let count = |k: AreaKind| p.areas.iter().filter(|a| a.kind == k).count();
    assert_eq!(
        (
            count(AreaKind::City),
            count(AreaKind::Urban),
            count(AreaKind::Rural)
        ),
        (1, 16, 5)
    );
    assert_eq!(p.area("cu-chi").unwrap().name_vi, "Huyện Củ Chi");
    assert_eq!(p.area("thu-duc").unwrap().name_en, "Thu Duc City");
    assert_eq!(p.area_infos().len(), 22);
}

#[test]
fn built_in_populations_and_centroids_are_realistic() {
    let p = Preset::built_in();
    let pop = |c: &str| p.area(c).unwrap().population;
    assert!((950_000..1_200_000).contains(&pop("thu-duc")));
    assert!((750_000..820_000).contains(&pop("binh-tan")));
    assert!((60_000..80_000).contains(&pop("can-gio")));
    assert!((120_000..160_000).contains(&pop("q1")));
    let total: u32 = p.areas.iter().map(|a| a.population).sum();
    assert!((8_500_000..9_300_000).contains(&total), "{total}");
    // Every centroid lies in the city's box, and the inner districts near Ben Thanh.
    let ben_thanh = LatLon {
        lat: 10.772,
        lon: 106.698,
    };
    for a in &p.areas {
        let c = a.centroid;
        assert!(
            (10.35..11.20).contains(&c.lat) && (106.35..107.05).contains(&c.lon),
            "{}",
            a.code
        );
        if ["q1", "q3", "q4", "q5", "q10"].contains(&a.code.as_str()) {
            assert!(c.distance_km(ben_thanh) < 4.0, "{}", a.code);
        }
    }
    assert!(p.area("can-gio").unwrap().centroid.distance_km(ben_thanh) > 30.0);
}

#[test]
fn built_in_sources_cross_check() {
    let p = Preset::built_in();
    assert!(p.corridors.len() >= 20, "{} corridors", p.corridors.len());
    let mut ids = HashSet::new();
    let domains = [
        (
            Domain::Traffic,
            p.corridors
                .iter()
                .map(|c| (&c.id, &c.area))
                .collect::<Vec<_>>(),
        ),
        (
            Domain::Env,
            p.air_stations.iter().map(|s| (&s.id, &s.area)).collect(),
        ),
        (
            Domain::Flood,
            p.flood_gauges.iter().map(|g| (&g.id, &g.area)).collect(),
        ),
    ];
    for (domain, sources) in domains {
        for (id, area) in sources {
            assert!(ids.insert(id.clone()), "{id} twice");
            assert!(p.has_area(area), "{id}: {area}");
            // The topic it publishes on is a topic of the contract.
            let topic = Topic::new(domain, area.clone(), id.clone()).to_string();
            assert_eq!(Topic::parse(&topic), Ok(Topic::new(domain, area, id)));
        }
    }
    for pl in &p.platforms {
        assert!(ids.insert(pl.id.clone()), "{} twice", pl.id);
        assert!(Topic::parse(&format!("ioc/v1/system/city/{}", pl.id)).is_ok());
        assert!(pl.domains.contains(&Domain::System), "{}", pl.id);
    }
    // Every area has traffic and air to show.
    for a in &p.areas {
        assert!(p.corridors.iter().any(|c| c.area == a.code), "{}", a.code);
        assert!(
            p.air_stations.iter().any(|s| s.area == a.code),
            "{}",
            a.code
        );
    }
    for name in [
        "Xa lộ Hà Nội",
        "Đại lộ Võ Văn Kiệt",
        "Quốc lộ 1A",
        "Đường Rừng Sác",
    ] {
        assert!(p.corridors.iter().any(|c| c.name_vi == name), "{name}");
    }
    // Gauges: the tidal stations at BĐ1 1.40 m, BĐ2 1.50 m, BĐ3 1.60 m.
    let phu_an = p.flood_gauges.iter().find(|g| g.id == "fg-phu-an").unwrap();
    assert_eq!(phu_an.area, "binh-thanh");
    assert_eq!(
        (phu_an.bd1_cm, phu_an.bd2_cm, phu_an.bd3_cm),
        (140, 150, 160)
    );
    for body in [
        "Kênh Nhiêu Lộc - Thị Nghè",
        "Kênh Tàu Hũ - Bến Nghé",
        "Kênh Đôi",
    ] {
        assert!(
            p.flood_gauges.iter().any(|g| g.water_body_vi == body),
            "{body}"
        );
    }
    // Platforms: the portal carries dossiers, the 1022 platform complaints.
    let carries = |d: Domain| {
        p.platforms
            .iter()
            .filter(|pl| pl.domains.contains(&d))
            .count()
    };
    assert_eq!(
        (carries(Domain::Service), carries(Domain::Complaint)),
        (1, 1)
    );
}

#[test]
fn built_in_agencies_have_hundreds_of_services() {
    let p = Preset::built_in();
    let departments: Vec<&Agency> = p
        .agencies
        .iter()
        .filter(|a| a.kind == AgencyKind::Department)
        .collect();
    assert_eq!(departments.len(), 9);
    for name in ["Sở Giao thông vận tải", "Sở Tư pháp", "Công an Thành phố"] {
        assert!(departments.iter().any(|a| a.name_vi == name), "{name}");
    }
    // One People's Committee per area.
    let mut per_area: BTreeMap<&str, usize> = BTreeMap::new();
    for a in p.agencies.iter().filter(|a| a.kind == AgencyKind::District) {
        *per_area.entry(a.area.as_deref().unwrap()).or_default() += 1;
    }
    assert_eq!(per_area.len(), 22);
    assert!(per_area.values().all(|&n| n == 1));
    assert!((300..2000).contains(&p.online_services()));
    assert_eq!(
        p.agency("ubnd-thu-duc").unwrap().name_vi,
        "Ủy ban nhân dân thành phố Thủ Đức"
    );
}

#[test]
fn tile_grid_is_laid_out_like_the_city() {
    let p = Preset::built_in();
    let cell = |c: &str| p.area(c).unwrap().grid;
    assert_eq!(cell("cu-chi"), Cell { row: 0, col: 0 });
    assert_eq!(cell("can-gio").row, p.grid.rows - 1);
    let max_col = p.areas.iter().map(|a| a.grid.col).max().unwrap();
    assert_eq!(cell("thu-duc").col, max_col);
    // District 1 is in the middle rows, right of District 3 and below Binh Thanh.
    assert!((1..p.grid.rows - 1).contains(&cell("q1").row));
    assert_eq!(cell("q3").col + 1, cell("q1").col);
    assert_eq!(cell("binh-thanh").row + 1, cell("q1").row);
    // North is up, west is left, for areas far apart.
    for (north, south) in [
        ("cu-chi", "binh-chanh"),
        ("go-vap", "q7"),
        ("q12", "nha-be"),
    ] {
        assert!(cell(north).row < cell(south).row, "{north} above {south}");
    }
    for (west, east) in [("binh-tan", "binh-thanh"), ("binh-chanh", "q7")] {
        assert!(cell(west).col < cell(east).col, "{west} left of {east}");
    }
}

#[test]
fn areas_are_found_by_name_and_alias() {
    let p = Preset::built_in();
    let code = |n: &str| p.area_by_name(n).map(|a| a.code.as_str());
    assert_eq!(code("Tp Thủ Đức"), Some("thu-duc"));
    assert_eq!(code("Tp.  Thủ Đức"), Some("thu-duc"));
    assert_eq!(code("THÀNH PHỐ THỦ ĐỨC"), Some("thu-duc"));
    assert_eq!(code("Quận 2"), Some("thu-duc"));
    assert_eq!(code("quận 9"), Some("thu-duc"));
    assert_eq!(code("Quận 1"), Some("q1"));
    assert_eq!(code(" Huyện  Cần Giờ "), Some("can-gio"));
    assert_eq!(code("Cu Chi District"), Some("cu-chi"));
    assert_eq!(code("Quận 13"), None);
    assert_eq!(normalize_name(" Tp.\tThủ  ĐỨC "), "tp thủ đức");
}

#[test]
fn gauges_give_alarm_levels() {
    let p = Preset::built_in();
    let g = &p.flood_gauges[0];
    assert_eq!(g.alarm_level(120.0), 0);
    assert_eq!(g.alarm_level(139.9), 0);
    assert_eq!(g.alarm_level(140.0), 1);
    assert_eq!(g.alarm_level(155.0), 2);
    assert_eq!(g.alarm_level(160.0), 3);
    assert_eq!(g.alarm_level(230.0), 3);
}

/// Each broken preset is refused with an error that names the file, the line of the fault and
/// the field.
#[test]
fn broken_presets_name_file_line_and_field() {
    #[rustfmt::skip]
    let cases: &[(&str, usize, &str, &str, &str)] = &[
        // (line of MINI, which one, replaced by, field, words of the message)
        ("code = \"a1\"", 0, "code = \"A 1\"", "areas[0].code", "must match"),
        ("code = \"a2\"", 0, "code = \"city\"", "areas[1].code", "not be `city`"),
        ("code = \"a2\"", 0, "code = \"a1\"", "areas[1].code", "already defined at areas[0].code"),
        ("population = 100000", 0, "population = 0", "areas[0].population", "above 0"),
        ("population = 100000", 0, "population = \"many\"", "areas[0].population", "invalid type"),
        ("population = 100000", 0, "population = -5", "areas[0].population", ""),
        ("centroid = { lat = 10.5, lon = 106.5 }", 0, "centroid = { lat = 95.0, lon = 106.5 }", "areas[0].centroid.lat", "latitude"),
        ("centroid = { lat = 10.6, lon = 106.6 }", 0, "centroid = { lat = 10.6, lon = 206.6 }", "areas[1].centroid.lon", "longitude"),
        ("grid = { row = 1, col = 1 }", 0, "grid = { row = 2, col = 1 }", "areas[1].grid.row", "outside"),
        ("grid = { row = 1, col = 1 }", 0, "grid = { row = 1, col = 7 }", "areas[1].grid.col", "outside"),
        ("grid = { row = 1, col = 1 }", 0, "grid = { row = 0, col = 0 }", "areas[1].grid", "already taken by areas[0].grid"),
        ("name_en = \"District One\"", 0, "name_en = \"  \"", "areas[0].name_en", "empty"),
        ("kind = \"rural\"", 0, "kind = \"suburb\"", "areas[1].kind", "suburb"),
        ("kind = \"rural\"", 0, "colour = \"green\"", "areas[1].colour", "unknown field"),
        ("name_en = \"District Two\"", 0, "name_en = \"district  ONE\"", "areas[1].name_en", "already stands for another area, at areas[0].name_en"),
        ("aliases = [\"Q.Một\"]", 0, "aliases = [\"Quận Một\", \"\"]", "areas[0].aliases[1]", "empty"),
        ("timezone = \"Asia/Ho_Chi_Minh\"", 0, "timezone = \"\"", "timezone", "time zone"),
        ("grid = { rows = 2, cols = 2 }", 0, "grid = { rows = 0, cols = 2 }", "grid", "at least one row"),
        ("id = \"tc-main\"", 0, "id = \"Tc Main\"", "corridors[0].id", "source id"),
        ("area = \"a1\"", 0, "area = \"q1\"", "corridors[0].area", "not an area"),
        ("area = \"a1\"", 1, "area = \"city\"", "air_stations[0].area", "not an area"),
        ("free_flow_kmh = 50", 0, "free_flow_kmh = 0", "corridors[0].free_flow_kmh", "speed"),
        ("lanes = 2", 0, "lanes = 0", "corridors[0].lanes", "lane"),
        ("id = \"aqs-a1-01\"", 0, "id = \"tc-main\"", "air_stations[0].id", "already used at corridors[0].id"),
        ("id = \"dvc-portal\"", 0, "id = \"fg-river\"", "platforms[0].id", "already used at flood_gauges[0].id"),
        ("bd2_cm = 150", 0, "bd2_cm = 140", "flood_gauges[0].bd2_cm", "BĐ2 140 cm is not above BĐ1 140 cm"),
        ("bd3_cm = 160", 0, "bd3_cm = 145", "flood_gauges[0].bd3_cm", "BĐ3 145 cm is not above BĐ2 150 cm"),
        ("water_body_vi = \"Sông Lớn\"", 0, "water_body_vi = \"\"", "flood_gauges[0].water_body_vi", "empty"),
        ("area = \"a2\"", 1, "area = \"a3\"", "agencies[1].area", "not an area"),
        ("processing_days = 5", 0, "processing_days = 0", "agencies[0].processing_days", "days"),
        ("code = \"ubnd-a2\"", 0, "code = \"so-gtvt\"", "agencies[1].code", "already defined at agencies[0].code"),
        ("domains = [\"service\", \"system\"]", 0, "domains = [\"weather\"]", "platforms[0].domains[0]", "weather"),
    ];
    for &(line, nth, with, field, words) in cases {
        let (text, at) = broken(line, nth, with);
        let (e, s) = error_of(&text);
        assert!(s.contains("presets/broken.toml"), "{with}: {s}");
        assert!(
            s.contains(&format!("line {at},")),
            "{with}: line {at} expected: {s}"
        );
        assert!(s.contains(&format!("field `{field}`")), "{with}: {s}");
        assert!(s.contains(words), "{with}: {s}");
        match e {
            PresetError::Invalid { line, field: f, .. } => {
                assert_eq!((line, f.as_deref()), (at, Some(field)), "{with}")
            }
            other => panic!("{with}: {other:?}"),
        }
    }
}

#[test]
fn absent_fields_are_reported_at_their_table() {
    // A missing field: the line of its table's header.
    let (text, _) = broken("population = 50000", 0, "");
    let header = MINI.lines().position(|l| l == "code = \"a2\"").unwrap(); // 1-based header line
    let (_, s) = error_of(&text);
    assert!(
        s.contains(&format!("line {header}, field `areas[1]`"))
            && s.contains("missing field `population`"),
        "{s}"
    );
    // A district agency with no area.
    let (text, _) = broken("area = \"a2\"", 1, "");
    let header = MINI
        .lines()
        .position(|l| l == "code = \"ubnd-a2\"")
        .unwrap();
    let (_, s) = error_of(&text);
    assert!(
        s.contains(&format!("line {header}, field `agencies[1].area`"))
            && s.contains("People's Committee"),
        "{s}"
    );
    // A preset with no area at all.
    let no_areas: String = MINI.split("[[areas]]").next().unwrap().to_owned() + "areas = []\n";
    let (_, s) = error_of(&no_areas);
    assert!(
        s.contains("field `areas`") && s.contains("at least one area"),
        "{s}"
    );
}

#[test]
fn toml_syntax_errors_name_file_and_line() {
    let (text, at) = broken("name_en = \"Main Road\"", 0, "name_en = \"Main Road");
    let (e, s) = error_of(&text);
    assert!(
        s.contains("presets/broken.toml") && s.contains(&format!("line {at}")),
        "{s}"
    );
    assert!(
        matches!(e, PresetError::Invalid { field: None, .. }),
        "{e:?}"
    );
}

#[test]
fn a_missing_preset_file_is_named() {
    let e = Preset::load(Path::new("/nonexistent/city.toml")).unwrap_err();
    assert!(matches!(e, PresetError::Read { .. }));
    assert!(e.to_string().contains("/nonexistent/city.toml"), "{e}");
}

// --- boundaries ---------------------------------------------------------------------------

/// A GeoJSON square `[lon, lat]` of side `d` at (`lon`, `lat`).
fn square(lon: f64, lat: f64, d: f64) -> String {
    format!(
        "[[[{lon},{lat}],[{},{lat}],[{},{}],[{lon},{}],[{lon},{lat}]]]",
        lon + d,
        lon + d,
        lat + d,
        lat + d
    )
}

fn feature(name: &str, geometry_type: &str, coordinates: &str) -> String {
    format!(
        r#"{{"type":"Feature","id":7,"properties":{{"localname":"{name}"}},"geometry":{{"type":"{geometry_type}","coordinates":{coordinates}}}}}"#
    )
}

fn collection(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

/// The mini preset with `boundaries = "{file}"`, written to a new directory with `geojson`.
fn preset_dir(file: &str, geojson: Option<&str>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let text = MINI.replacen(
        "timezone = ",
        &format!("boundaries = {file:?}\ntimezone = "),
        1,
    );
    let path = dir.path().join("city.toml");
    std::fs::write(&path, text).unwrap();
    if let Some(g) = geojson {
        std::fs::write(dir.path().join(file), g).unwrap();
    }
    (dir, path)
}

#[test]
fn a_preset_loads_its_boundary_file() {
    let geojson = collection(&[
        feature("Quận Một", "Polygon", &square(106.5, 10.5, 0.1)),
        feature(
            "District Two",
            "MultiPolygon",
            &format!("[{}]", square(106.6, 10.6, 0.1)),
        ),
        feature("Huyện Hai", "Polygon", &square(106.8, 10.6, 0.05)),
        feature("Quận Ba", "Polygon", &square(107.0, 10.0, 0.1)),
        feature("Quận Một", "Point", "[106.5, 10.5]"),
        r#"{"type":"Feature","properties":{},"geometry":null}"#.to_owned(),
    ]);
    let (_dir, path) = preset_dir("areas.geojson", Some(&geojson));
    let p = Preset::load(&path).unwrap();
    assert_eq!(p.boundaries_file.as_deref(), Some("areas.geojson"));
    let b = p.boundaries.as_ref().expect("boundaries loaded");
    assert!(b.missing.is_empty());
    assert_eq!(b.areas.len(), 2);
    let a2 = b.get("a2").unwrap();
    assert_eq!(a2.features, ["District Two", "Huyện Hai"]);
    assert_eq!(a2.polygons.len(), 2);
    let reasons: Vec<(usize, UnmatchedReason)> = b
        .unmatched
        .iter()
        .map(|u| (u.index, u.reason.clone()))
        .collect();
    assert_eq!(
        reasons,
        [
            (3, UnmatchedReason::UnknownName),
            (4, UnmatchedReason::NotPolygonal("Point".into())),
            (5, UnmatchedReason::NoName),
        ]
    );
    let a1 = b.get("a1").unwrap();
    let c = a1.centroid();
    assert!(
        (c.lat - 10.55).abs() < 1e-9 && (c.lon - 106.55).abs() < 1e-9,
        "{c:?}"
    );
    assert_eq!(
        a1.bbox(),
        BBox {
            min_lon: 106.5,
            min_lat: 10.5,
            max_lon: 106.6,
            max_lat: 10.6
        }
    );
}

#[test]
fn areas_with_no_feature_are_listed() {
    let p = Preset::parse(MINI, "mini.toml").unwrap();
    let geojson = collection(&[feature("Quận Một", "Polygon", &square(106.5, 10.5, 0.1))]);
    let b = Boundaries::from_geojson(&geojson, &p).unwrap();
    assert_eq!(b.missing, ["a2"]);
    assert!(b.unmatched.is_empty());
}

#[test]
fn a_polygon_inside_another_of_the_same_area_is_not_drawn_twice() {
    let p = Preset::parse(MINI, "mini.toml").unwrap();
    // The new city drawn whole, and one of its old districts again inside it, sharing an edge.
    let geojson = collection(&[
        feature("Huyện Hai", "Polygon", &square(106.6, 10.6, 0.2)),
        feature("District Two", "Polygon", &square(106.6, 10.6, 0.1)),
        // A hole with an island in it: the island is not inside the polygon.
        feature(
            "Quận Một",
            "Polygon",
            "[[[106.0,10.0],[106.3,10.0],[106.3,10.3],[106.0,10.3],[106.0,10.0]],\
              [[106.1,10.1],[106.2,10.1],[106.2,10.2],[106.1,10.2],[106.1,10.1]]]",
        ),
        feature("Q.Một", "Polygon", &square(106.12, 10.12, 0.05)),
    ]);
    let b = Boundaries::from_geojson(&geojson, &p).unwrap();
    let a2 = b.get("a2").unwrap();
    assert_eq!(a2.features.len(), 2);
    assert_eq!((a2.polygons.len(), a2.contained_dropped), (1, 1));
    let a1 = b.get("a1").unwrap();
    assert_eq!((a1.polygons.len(), a1.contained_dropped), (2, 0));
    // 0.09 - 0.01 + 0.0025 square degrees: the hole is out, the island in.
    let c = a1.centroid();
    assert!((c.lat - 10.149_848_5).abs() < 1e-6, "{c:?}");
}

#[test]
fn a_missing_or_broken_boundary_file_is_named() {
    let (_dir, path) = preset_dir("nowhere.geojson", None);
    let e = Preset::load(&path).unwrap_err().to_string();
    assert!(
        e.contains("city.toml") && e.contains("nowhere.geojson") && e.contains("cannot read"),
        "{e}"
    );
    for (bad, words) in [
        ("{\"type\": \"Feature", "not JSON"),
        (
            "{\"type\": \"Topology\"}",
            "not a GeoJSON FeatureCollection",
        ),
        (
            &*collection(&[feature(
                "Quận Một",
                "Polygon",
                "[[[106.5,10.5],[200,10.5],[106.5,10.6]]]",
            )]),
            "feature 0 (Quận Một)",
        ),
        (
            &*collection(&[feature(
                "Quận Một",
                "Polygon",
                "[[[106.5,10.5],[106.6,10.5]]]",
            )]),
            "at least 4",
        ),
    ] {
        let (_dir, path) = preset_dir("bad.geojson", Some(bad));
        let e = Preset::load(&path).unwrap_err();
        let s = e.to_string();
        assert!(matches!(e, PresetError::Boundaries { .. }), "{s}");
        assert!(s.contains("bad.geojson") && s.contains(words), "{s}");
    }
}

#[test]
fn douglas_peucker_keeps_the_shape_within_the_tolerance() {
    // A circle of 2000 positions, radius 0.1 degree, with some noise.
    let n = 2000;
    let mut ring: Vec<Position> = (0..n)
        .map(|i| {
            let t = i as f64 / n as f64 * std::f64::consts::TAU;
            let r = 0.1 + 0.0001 * (i as f64 * 7.3).sin();
            [106.7 + r * t.cos(), 10.8 + r * t.sin()]
        })
        .collect();
    ring.push(ring[0]);
    let area = AreaBoundary {
        area: "a1".into(),
        features: vec![],
        polygons: vec![Polygon {
            exterior: ring.clone(),
            holes: vec![vec![
                [106.7, 10.8],
                [106.70001, 10.8],
                [106.70001, 10.80001],
                [106.7, 10.8],
            ]],
        }],
        contained_dropped: 0,
    };
    let tol = 0.001;
    let s = area.simplified(tol);
    let out = &s.polygons[0].exterior;
    assert!(out.len() < 100 && out.len() >= 8, "{} positions", out.len());
    assert_eq!(out.first(), out.last());
    // Rounded to a tenth of the tolerance.
    assert!(
        out.iter()
            .all(|p| ((p[0] * 1e4).round() / 1e4 - p[0]).abs() < 1e-12)
    );
    // Every original position is near the simplified ring (tolerance + rounding).
    for p in &ring {
        let d = out
            .windows(2)
            .map(|w| boundary_distance(*p, w[0], w[1]))
            .fold(f64::INFINITY, f64::min);
        assert!(d <= tol * 1.1, "{p:?} is {d} away");
    }
    // The tiny hole collapses and is dropped; the area barely moves.
    assert!(s.polygons[0].holes.is_empty());
    assert!(s.centroid().distance_km(area.centroid()) < 0.05);
    assert!((s.area_km2() / area.area_km2() - 1.0).abs() < 0.02);
    // No tolerance: unchanged.
    assert_eq!(area.simplified(0.0), area);
}

fn boundary_distance([px, py]: Position, [ax, ay]: Position, [bx, by]: Position) -> f64 {
    let (dx, dy) = (bx - ax, by - ay);
    let t = (((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    (px - ax - t * dx).hypot(py - ay - t * dy)
}

// --- the real file (../shared/data) -------------------------------------------------------

const SHARED_FILE: &str = "hcmc-districts-2021.geojson";

/// The shared data directory: `IOC_SHARED_DATA`, else `<workspace>/../shared/data`, else
/// `/work/shared/data`. Fails, never skips, when the file is in none of them.
fn shared_data() -> PathBuf {
    if let Some(dir) = std::env::var_os("IOC_SHARED_DATA") {
        let path = PathBuf::from(dir).join(SHARED_FILE);
        assert!(
            path.is_file(),
            "IOC_SHARED_DATA is set but {} does not exist",
            path.display()
        );
        return path;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let tried = [
        workspace.join("../shared/data"),
        PathBuf::from("/work/shared/data"),
    ];
    for dir in &tried {
        if dir.join(SHARED_FILE).is_file() {
            return dir.join(SHARED_FILE);
        }
    }
    panic!(
        "the shared data file {SHARED_FILE} is missing: tried {tried:?}; set IOC_SHARED_DATA \
         to the directory that holds it (see shared/data/README.md)"
    );
}

fn real_boundaries() -> (Preset, Boundaries) {
    let p = Preset::built_in();
    let text = std::fs::read_to_string(shared_data()).unwrap();
    let b = Boundaries::from_geojson(&text, &p).unwrap();
    (p, b)
}

#[test]
fn the_real_file_draws_all_22_areas() {
    let (p, b) = real_boundaries();
    assert!(
        b.missing.is_empty(),
        "areas with no boundary: {:?}",
        b.missing
    );
    assert!(b.unmatched.is_empty(), "unmatched: {:?}", b.unmatched);
    assert_eq!(b.areas.len(), 22);
    let codes: Vec<&str> = b.areas.iter().map(|a| a.area.as_str()).collect();
    let preset_codes: Vec<&str> = p.areas.iter().map(|a| a.code.as_str()).collect();
    assert_eq!(codes, preset_codes);

    // Thu Duc city is three features of the 2021 file. That file draws "Tp Thủ Đức" as the
    // whole new city (213 km²) and Quận 2 and Quận 9 again inside it: those two are dropped.
    let thu_duc = b.get("thu-duc").unwrap();
    assert_eq!(thu_duc.features, ["Tp Thủ Đức", "Quận 2", "Quận 9"]);
    assert_eq!(thu_duc.contained_dropped, 2);
    assert!(
        (200.0..225.0).contains(&thu_duc.area_km2()),
        "{}",
        thu_duc.area_km2()
    );
    // Can Gio is a MultiPolygon of four parts.
    assert_eq!(b.get("can-gio").unwrap().polygons.len(), 4);
    for a in &b.areas {
        if a.area != "thu-duc" {
            assert_eq!(a.features.len(), 1, "{}", a.area);
        }
    }
    // Areas as the census has them, roughly (km²).
    for (code, km2) in [
        ("q1", 7.7),
        ("cu-chi", 434.8),
        ("binh-chanh", 252.6),
        ("q4", 4.2),
    ] {
        let got = b.get(code).unwrap().area_km2();
        assert!((got / km2 - 1.0).abs() < 0.05, "{code}: {got} km²");
    }
    let bbox = b.bbox().unwrap();
    assert!(bbox.min_lat > 10.3 && bbox.max_lat < 11.2, "{bbox:?}");
    assert!(bbox.min_lon > 106.3 && bbox.max_lon < 107.1, "{bbox:?}");
}

#[test]
fn real_centroids_are_near_the_preset_centroids() {
    let (p, b) = real_boundaries();
    for a in &b.areas {
        let preset = p.area(&a.area).unwrap().centroid;
        let km = a.centroid().distance_km(preset);
        assert!(
            km < 3.0,
            "{}: {km:.1} km from the preset's centroid",
            a.area
        );
    }
}

#[test]
fn the_real_file_simplifies_to_a_small_map() {
    let (_, b) = real_boundaries();
    let s = b.simplified(0.0005);
    assert_eq!(s.areas.len(), 22);
    let json = serde_json::to_string(&s.areas).unwrap();
    assert!(json.len() < 60_000, "{} bytes", json.len());
    assert!(
        s.point_count() * 3 < b.point_count(),
        "{} of {}",
        s.point_count(),
        b.point_count()
    );
    for (raw, simple) in b.areas.iter().zip(&s.areas) {
        // Shapes keep their place and size.
        assert!(
            simple.centroid().distance_km(raw.centroid()) < 0.3,
            "{}",
            raw.area
        );
        let ratio = simple.area_km2() / raw.area_km2();
        assert!((0.95..1.05).contains(&ratio), "{}: {ratio}", raw.area);
        let (rb, sb) = (raw.bbox(), simple.bbox());
        assert!((rb.min_lon - sb.min_lon).abs() < 0.001 && (rb.max_lat - sb.max_lat).abs() < 0.001);
    }
}

/// Areas whose real boundaries touch: positions of the two within about 150 m.
fn real_neighbours(b: &Boundaries) -> HashSet<(String, String)> {
    const NEAR: f64 = 0.0015;
    let s = b.simplified(0.0002);
    let mut out = HashSet::new();
    for (i, x) in s.areas.iter().enumerate() {
        for y in &s.areas[i + 1..] {
            let (bx, by) = (x.bbox(), y.bbox());
            if bx.min_lon > by.max_lon + NEAR
                || by.min_lon > bx.max_lon + NEAR
                || bx.min_lat > by.max_lat + NEAR
                || by.min_lat > bx.max_lat + NEAR
            {
                continue;
            }
            let points = |a: &AreaBoundary| -> Vec<Position> {
                a.polygons.iter().flat_map(|p| p.exterior.clone()).collect()
            };
            let (px, py) = (points(x), points(y));
            let touch = px.iter().any(|p| {
                py.windows(2)
                    .any(|w| boundary_distance(*p, w[0], w[1]) < NEAR)
            });
            if touch {
                out.insert((x.area.clone(), y.area.clone()));
                out.insert((y.area.clone(), x.area.clone()));
            }
        }
    }
    out
}

#[test]
fn tile_grid_neighbours_are_real_neighbours() {
    let (p, b) = real_boundaries();
    let real = real_neighbours(&b);
    let by_cell: HashMap<Cell, &str> = p.areas.iter().map(|a| (a.grid, a.code.as_str())).collect();
    let mut pairs = 0;
    let mut false_pairs = Vec::new();
    for a in &p.areas {
        let Cell { row, col } = a.grid;
        let adjacent: Vec<&str> = [
            (row.checked_sub(1), Some(col)),
            (Some(row + 1), Some(col)),
            (Some(row), col.checked_sub(1)),
            (Some(row), Some(col + 1)),
        ]
        .into_iter()
        .filter_map(|(r, c)| by_cell.get(&Cell { row: r?, col: c? }).copied())
        .collect();
        // Every area has at least one real neighbour next to it on the map.
        assert!(
            adjacent
                .iter()
                .any(|n| real.contains(&(a.code.clone(), n.to_string()))),
            "{} has none of its real neighbours next to it: {adjacent:?}",
            a.code
        );
        for n in adjacent {
            pairs += 1;
            if !real.contains(&(a.code.clone(), n.to_string())) {
                false_pairs.push((a.code.as_str(), n));
            }
        }
    }
    // Nearly every pair of cells side by side is a pair of real neighbours (each pair is
    // counted from both sides).
    assert!(
        false_pairs.len() * 10 <= pairs,
        "{} of {pairs} side-by-side cells are not neighbours: {false_pairs:?}",
        false_pairs.len()
    );
}

#[test]
fn a_preset_with_the_real_boundary_file_loads_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = Preset::built_in_text().replacen(
        "timezone = ",
        &format!(
            "boundaries = {:?}\ntimezone = ",
            shared_data().display().to_string()
        ),
        1,
    );
    let path = dir.path().join("hcmc.toml");
    std::fs::write(&path, text).unwrap();
    let p = Preset::load(&path).unwrap();
    let b = p.boundaries.expect("boundaries loaded");
    assert_eq!(
        (b.areas.len(), b.missing.len(), b.unmatched.len()),
        (22, 0, 0)
    );
}

#[test]
fn the_real_boundaries_project_north_up_into_the_box() {
    let text = std::fs::read_to_string(shared_data()).unwrap();
    let mut p = Preset::built_in();
    p.boundaries = Some(Boundaries::from_geojson(&text, &p).unwrap());
    let o = p.city_map().outline.expect("an outline");
    assert_eq!(o.areas.len(), 22);
    assert_eq!(o.width, 1000.0);
    // The city is taller than wide (Củ Chi in the north-west to Cần Giờ in the south-east).
    assert!(o.height > 1000.0 && o.height < 1600.0, "{}", o.height);
    let bytes: usize = o.areas.iter().map(|a| a.d.len()).sum();
    assert!(bytes < 60_000, "{bytes} bytes of paths");
    let shape = |code: &str| o.areas.iter().find(|a| a.area == code).unwrap();
    // Củ Chi is north of Cần Giờ: smaller y.
    assert!(shape("cu-chi").label_y < shape("can-gio").label_y);
    // Every coordinate is within the box.
    for a in &o.areas {
        assert!(a.d.starts_with('M') && a.d.ends_with('Z'), "{}", a.area);
        for n in
            a.d.split(|c: char| c.is_ascii_alphabetic() || c == ' ')
                .filter(|s| !s.is_empty())
        {
            let v: f64 = n.parse().unwrap();
            assert!((-0.1..=o.height.max(o.width) + 0.1).contains(&v), "{v}");
        }
        assert!(a.label_x >= 0.0 && a.label_x <= o.width);
    }
}

#[test]
fn alert_rules_come_from_the_preset_or_the_built_in_one_and_bad_ones_are_refused() {
    // No rules in the preset: the built-in preset's.
    let mini = Preset::parse(MINI, "mini.toml").unwrap();
    let ids: Vec<String> = mini.alert_rules().into_iter().map(|r| r.id).collect();
    assert!(ids.contains(&"flood-bd2".to_owned()) && ids.contains(&"aqi-bad".to_owned()));
    assert_eq!(mini.gauge_of("fg-river-3").map(|g| g.bd2_cm), Some(150));
    assert!(mini.gauge_of("fg-river-x").is_none());

    let rule = |body: &str| {
        format!(
            "{MINI}\n[[alert_rules]]\nid = \"r1\"\nname_vi = \"Quy tắc\"\nname_en = \"Rule\"\n\
             severity = \"warning\"\n{body}"
        )
    };
    let own = Preset::parse(
        &rule("domain = \"flood\"\nfield = \"water_level_cm\"\nop = \"at_or_above\"\nthreshold = \"bd3\"\nareas = [\"a2\"]\n"),
        "own.toml",
    )
    .unwrap();
    let rules = own.alert_rules();
    assert_eq!(rules.len(), 1, "a preset with rules has only its own");
    assert_eq!(rules[0].threshold, Some(Threshold::Level(GaugeLevel::Bd3)));
    assert!(RuleOp::AtOrAbove.breaks(160.0, 160.0) && !RuleOp::Above.breaks(160.0, 160.0));
    assert!(!RuleOp::AtOrAbove.clears(156.0, 160.0, 5.0));
    assert!(RuleOp::AtOrAbove.clears(154.0, 160.0, 5.0));
    assert!(RuleOp::Below.clears(0.93, 0.9, 0.02) && !RuleOp::Below.clears(0.91, 0.9, 0.02));

    for (body, field, says) in [
        (
            "domain = \"env\"\nfield = \"aqi\"\nop = \"above\"\nthreshold = \"bd2\"\n",
            "alert_rules[0].threshold",
            "of `flood` rules only",
        ),
        (
            "domain = \"env\"\nfield = \"aqi\"\nthreshold = 150\n",
            "alert_rules[0].op",
            "needs `op`",
        ),
        (
            "domain = \"flood\"\nfield = \"offline\"\nop = \"above\"\nthreshold = 1\n",
            "alert_rules[0].op",
            "no `op` or `threshold`",
        ),
        (
            "domain = \"env\"\nfield = \"aqi\"\nop = \"above\"\nthreshold = 150\nareas = [\"a9\"]\n",
            "alert_rules[0].areas[0]",
            "a9",
        ),
        (
            "domain = \"env\"\nfield = \"aqi\"\nop = \"above\"\nthreshold = 150\nfor_minutes = -1\n",
            "alert_rules[0].for_minutes",
            "0 to 1440",
        ),
    ] {
        let (_, msg) = error_of(&rule(body));
        assert!(msg.contains(field) && msg.contains(says), "{msg}");
    }
}
