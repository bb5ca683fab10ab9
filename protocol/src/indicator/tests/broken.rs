//! Catalogues with a mistake are refused, naming the file, the line and the field.

use super::*;
use crate::preset::Preset;

/// A small valid catalogue for the built-in city. Broken catalogues are made from it by
/// replacing one line.
const MINI: &str = r#"code = "mini"
name_vi = "Chỉ tiêu thử"
name_en = "Test indicators"
key_indicators = ["revenue"]
targets = [
  { indicator = "revenue", area = "city", year = 2026, value = 1200 },
  { indicator = "revenue", area = "q1", year = 2026, value = 120 },
  { indicator = "online_share", area = "so-yt", year = 2026, value = 80 },
]

[deadlines]
month = { months_after = 1, day = 10 }
quarter = { months_after = 1, day = 20 }
year = { months_after = 1, day = 31 }

[[offices]]
code = "cuc-thong-ke"
name_vi = "Cục Thống kê"
name_en = "Statistics Office"

[[groups]]
code = "budget"
name_vi = "Ngân sách"
name_en = "Budget"

[[groups]]
code = "reform"
name_vi = "Cải cách hành chính"
name_en = "Administrative reform"

[[indicators]]
code = "revenue"
group = "budget"
name_vi = "Thu ngân sách"
name_en = "Budget revenue"
unit = "tỷ đồng"
unit_en = "billion VND"
periodicity = "month"
levels = ["city", "district"]
kind = "flow"
good = "up"
range = [0, 1000]
reporting_unit = "cuc-thong-ke"
seasonal = [0.1, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.1]

[[indicators]]
code = "growth"
group = "budget"
name_vi = "Tăng trưởng"
name_en = "Growth"
unit = "%"
unit_en = "%"
periodicity = "quarter"
levels = ["city"]
kind = "level"
good = "up"
range = [-30, 30]
reporting_unit = "so-khdt"
deadline = { months_after = 2, day = 5 }

[[indicators]]
code = "online_share"
group = "reform"
name_vi = "Tỷ lệ hồ sơ trực tuyến"
name_en = "Online share"
unit = "%"
unit_en = "%"
periodicity = "month"
levels = ["city", "district", "department"]
kind = "level"
good = "up"
range = [0, 100]
reporting_unit = "so-tttt"
"#;

fn parse(text: &str) -> Result<Catalogue, CatalogueError> {
    Catalogue::parse(text, "indicators/broken.toml", &Preset::built_in())
}

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
    let mut out = lines.clone();
    out[at] = with;
    (out.join("\n") + "\n", at + 1)
}

#[test]
fn the_mini_catalogue_is_valid() {
    let c = parse(MINI).unwrap();
    assert_eq!(
        (c.groups.len(), c.indicators.len(), c.targets.len()),
        (2, 3, 3)
    );
    assert_eq!(c.areas.districts.len(), 22);
    let growth = c.indicator("growth").unwrap();
    assert_eq!(
        c.deadline(growth),
        Deadline {
            months_after: 2,
            day: 5
        }
    );
}

#[test]
fn broken_catalogues_name_file_line_and_field() {
    #[rustfmt::skip]
    let cases: &[(&str, usize, &str, &str, &str)] = &[
        // (line of MINI, which one, replaced by, field, words of the message)
        ("code = \"mini\"", 0, "code = \"Mini Catalogue\"", "code", "must match"),
        ("code = \"growth\"", 0, "code = \"revenue\"", "indicators[1].code", "indicator \"revenue\" is already defined at indicators[0].code"),
        ("code = \"growth\"", 0, "code = \"Growth Rate\"", "indicators[1].code", "[a-z][a-z0-9_]{0,63}"),
        ("code = \"reform\"", 0, "code = \"budget\"", "groups[1].code", "group \"budget\" is already defined at groups[0].code"),
        ("group = \"reform\"", 0, "group = \"reforms\"", "indicators[2].group", "\"reforms\" is not a group"),
        ("name_vi = \"Tăng trưởng\"", 0, "name_vi = \" \"", "indicators[1].name_vi", "must not be empty"),
        ("unit_en = \"billion VND\"", 0, "unit_en = \"\"", "indicators[0].unit_en", "must not be empty"),
        ("range = [-30, 30]", 0, "range = [30, 30]", "indicators[1].range", "min must be below max"),
        ("range = [-30, 30]", 0, "range = [30, -30]", "indicators[1].range", "min must be below max"),
        ("range = [-30, 30]", 0, "range = [0]", "indicators[1].range", "invalid length 1"),
        ("levels = [\"city\"]", 0, "levels = []", "indicators[1].levels", "one level at least"),
        ("levels = [\"city\"]", 0, "levels = [\"ward\"]", "indicators[1].levels[0]", "ward"),
        ("reporting_unit = \"so-khdt\"", 0, "", "indicators[1].reporting_unit", "name the unit that reports it"),
        ("reporting_unit = \"so-khdt\"", 0, "reporting_unit = \"so-kh\"", "indicators[1].reporting_unit", "neither a department of the city preset nor an office"),
        ("reporting_unit = \"so-khdt\"", 0, "reporting_unit = \"q1\"", "indicators[1].reporting_unit", "neither a department"),
        ("periodicity = \"quarter\"", 0, "periodicity = \"week\"", "indicators[1].periodicity", "week"),
        ("kind = \"level\"", 0, "kind = \"stock\"", "indicators[1].kind", "stock"),
        ("good = \"up\"", 1, "good = \"higher\"", "indicators[1].good", "higher"),
        ("good = \"up\"", 1, "goal = \"up\"", "indicators[1].goal", "unknown field"),
        ("deadline = { months_after = 2, day = 5 }", 0, "deadline = { months_after = 0, day = 5 }", "indicators[1].deadline.months_after", "not 1 to 12"),
        ("deadline = { months_after = 2, day = 5 }", 0, "deadline = { months_after = 2, day = 32 }", "indicators[1].deadline.day", "day 32 is not 1 to 31"),
        ("quarter = { months_after = 1, day = 20 }", 0, "quarter = { months_after = 1, day = 0 }", "deadlines.quarter.day", "day 0"),
        ("seasonal = [0.1, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.1]", 0, "seasonal = [0.25, 0.25, 0.25, 0.25]", "indicators[0].seasonal", "a monthly profile has 12 shares, one for each month; this one has 4"),
        ("seasonal = [0.1, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.1]", 0, "seasonal = [0.1, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.2]", "indicators[0].seasonal", "add up to 1.1"),
        ("seasonal = [0.1, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.1]", 0, "seasonal = [0.18, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.02, 0]", "indicators[0].seasonal", "has 13"),
        ("seasonal = [0.1, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.1]", 0, "seasonal = [0.28, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, 0.08, -0.08]", "indicators[0].seasonal[11]", "above 0"),
        ("reporting_unit = \"so-tttt\"", 0, "reporting_unit = \"so-tttt\"\nseasonal = [0.5, 0.5]", "indicators[2].seasonal", "only a monthly or quarterly flow"),
        ("key_indicators = [\"revenue\"]", 0, "key_indicators = [\"revenue\", \"grdp\"]", "key_indicators[1]", "\"grdp\" is not an indicator"),
        ("key_indicators = [\"revenue\"]", 0, "key_indicators = [\"revenue\", \"revenue\"]", "key_indicators[1]", "already a key indicator, at key_indicators[0]"),
        ("  { indicator = \"revenue\", area = \"q1\", year = 2026, value = 120 },", 0, "  { indicator = \"growth\", area = \"q1\", year = 2026, value = 7 },", "targets[1]", "growth is not reported for \"q1\" (it is reported at: city)"),
        ("  { indicator = \"revenue\", area = \"q1\", year = 2026, value = 120 },", 0, "  { indicator = \"revenue\", area = \"so-yt\", year = 2026, value = 120 },", "targets[1]", "revenue is not reported for \"so-yt\""),
        ("  { indicator = \"revenue\", area = \"q1\", year = 2026, value = 120 },", 0, "  { indicator = \"revenue\", area = \"q2\", year = 2026, value = 120 },", "targets[1]", "not reported for \"q2\""),
        ("  { indicator = \"revenue\", area = \"q1\", year = 2026, value = 120 },", 0, "  { indicator = \"revenu\", area = \"q1\", year = 2026, value = 120 },", "targets[1]", "\"revenu\" is not an indicator"),
        ("  { indicator = \"revenue\", area = \"q1\", year = 2026, value = 120 },", 0, "  { indicator = \"revenue\", area = \"q1\", year = 2026, value = 12001 },", "targets[1]", "outside 0 to 12000 (a flow's target is a year's sum"),
        ("  { indicator = \"revenue\", area = \"q1\", year = 2026, value = 120 },", 0, "  { indicator = \"revenue\", area = \"city\", year = 2026, value = 120 },", "targets[1]", "the target of revenue for city in 2026 is already set at targets[0]"),
        ("  { indicator = \"online_share\", area = \"so-yt\", year = 2026, value = 80 },", 0, "  { indicator = \"online_share\", area = \"so-yt\", year = 2026, value = 180 },", "targets[2]", "outside 0 to 100"),
        ("code = \"cuc-thong-ke\"", 0, "code = \"so-yt\"", "offices[0].code", "already a department of the city preset"),
        ("code = \"cuc-thong-ke\"", 0, "code = \"q1\"", "offices[0].code", "already a district"),
        ("code = \"cuc-thong-ke\"", 0, "code = \"Cục\"", "offices[0].code", "is not of the form"),
        ("name_en = \"Test indicators\"", 0, "name_en = \"Test indicators\"\nareas = { districts = [\"q1\"], departments = [] }", "areas", "they come from the city preset"),
    ];
    for &(line, nth, with, field, words) in cases {
        let (text, at) = broken(line, nth, with);
        let e = parse(&text).expect_err(with);
        let s = e.to_string();
        assert!(
            s.starts_with("indicator catalogue indicators/broken.toml, line "),
            "{with}: {s}"
        );
        assert!(
            s.contains(&format!("field `{field}`")),
            "{with}: field `{field}` expected: {s}"
        );
        assert!(s.contains(words), "{with}: {s}");
        match e {
            CatalogueError::Invalid { line, .. } => {
                let lines = at..=at + with.matches('\n').count();
                // A missing field is reported at its table, the line before the removed one
                // at the latest.
                assert!(
                    lines.contains(&line) || (with.is_empty() && line < at),
                    "{with}: line {line}, expected {at}: {s}"
                );
            }
            other => panic!("{with}: {other:?}"),
        }
    }
}

#[test]
fn a_reporting_unit_is_for_the_city_level_only() {
    let (text, _) = broken("levels = [\"city\"]", 0, "levels = [\"district\"]");
    let e = parse(&text).unwrap_err();
    let at = 1 + MINI
        .lines()
        .position(|l| l == "reporting_unit = \"so-khdt\"")
        .unwrap();
    assert!(
        matches!(&e, CatalogueError::Invalid { line, field: Some(f), .. } if *line == at && f == "indicators[1].reporting_unit"),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("districts and departments report their own"),
        "{e}"
    );
}

#[test]
fn a_group_with_no_indicator_is_refused() {
    let text = MINI.replace("group = \"reform\"", "group = \"budget\"");
    let s = parse(&text).unwrap_err().to_string();
    assert!(
        s.contains("field `groups[1]`") && s.contains("group \"reform\" has no indicator"),
        "{s}"
    );
}

#[test]
fn toml_syntax_errors_name_file_and_line() {
    let (text, at) = broken("name_en = \"Growth\"", 0, "name_en = \"Growth");
    let e = parse(&text).unwrap_err();
    assert!(
        matches!(e, CatalogueError::Invalid { field: None, line, .. } if line == at),
        "{e:?}"
    );
    assert!(e.to_string().contains("indicators/broken.toml"), "{e}");
}

#[test]
fn a_catalogue_belongs_to_its_city() {
    // The built-in catalogue with a city that has no Quận 1: its targets for q1 are refused.
    let text = Preset::built_in_text()
        .replace("code = \"q1\"", "code = \"quan-1\"")
        .replace("area = \"q1\"", "area = \"quan-1\"");
    let other = Preset::parse(&text, "other.toml").unwrap();
    let e = Catalogue::parse(Catalogue::built_in_text(), BUILT_IN_FILE, &other).unwrap_err();
    let s = e.to_string();
    assert!(s.contains("not reported for \"q1\""), "{s}");
    let line = Catalogue::built_in_text()
        .lines()
        .position(|l| l.contains("area = \"q1\""))
        .unwrap()
        + 1;
    assert!(s.contains(&format!("line {line}, field `targets[")), "{s}");
    // A city with no department cannot take indicators reported by departments.
    let mut none = Preset::built_in();
    none.agencies.clear();
    let text = MINI
        .replace("\"so-khdt\"", "\"cuc-thong-ke\"")
        .replace("\"so-tttt\"", "\"cuc-thong-ke\"");
    let s = Catalogue::parse(&text, "mini.toml", &none)
        .unwrap_err()
        .to_string();
    assert!(s.contains("the city preset has no department"), "{s}");
}

#[test]
fn a_missing_catalogue_file_is_named() {
    let e = Catalogue::load(
        std::path::Path::new("/nonexistent/ind.toml"),
        &Preset::built_in(),
    )
    .unwrap_err();
    assert!(matches!(e, CatalogueError::Read { .. }));
    assert!(e.to_string().contains("/nonexistent/ind.toml"), "{e}");
}

#[test]
fn a_catalogue_file_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ind.toml");
    std::fs::write(&path, MINI).unwrap();
    let c = Catalogue::load(&path, &Preset::built_in()).unwrap();
    assert_eq!(c, parse(MINI).unwrap());
}
