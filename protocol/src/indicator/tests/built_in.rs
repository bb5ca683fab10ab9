//! The built-in catalogue: what the issue asks of it, and that it holds together.

use std::collections::BTreeSet;

use super::*;
use crate::preset::Preset;

#[test]
fn the_built_in_catalogue_has_20_groups_and_110_indicators_and_fits_the_built_in_city() {
    let c = Catalogue::built_in();
    assert_eq!(c.groups.len(), 20);
    assert_eq!(c.indicators.len(), 110);
    for g in &c.groups {
        assert!(
            c.indicators_of(&g.code).count() >= 3,
            "group {} is thin",
            g.code
        );
    }
    // The groups the issue names, by their words.
    let groups: Vec<&str> = c.groups.iter().map(|g| g.name_en.as_str()).collect();
    for words in [
        "GRDP",
        "budget",
        "FDI",
        "exports",
        "Industry",
        "Agriculture",
        "Tourism",
        "CPI",
        "Enterprises",
        "Labour",
        "welfare",
        "Health",
        "Education",
        "sport",
        "Transport",
        "environment",
        "urban",
        "digital",
        "Administrative reform",
        "public order",
    ] {
        assert!(
            groups.iter().any(|g| g.contains(words)),
            "no group of {words}: {groups:?}"
        );
    }
    // The areas come from the preset: 22 districts, 9 departments.
    let preset = Preset::built_in();
    assert_eq!(c.areas, AreaLevels::from_preset(&preset));
    assert_eq!(c.areas.areas(Level::District).len(), 22);
    assert_eq!(c.areas.areas(Level::Department).len(), 9);
    assert!((8..=12).contains(&c.key_indicators.len()));
}

/// Whether a name is written with Vietnamese letters: at least one letter outside ASCII.
fn has_diacritics(name: &str) -> bool {
    name.chars().any(|ch| ch.is_alphabetic() && !ch.is_ascii())
}

#[test]
fn every_name_is_vietnamese_first_and_english_second() {
    let c = Catalogue::built_in();
    let names = c
        .groups
        .iter()
        .map(|g| (&g.code, &g.name_vi, &g.name_en))
        .chain(
            c.indicators
                .iter()
                .map(|i| (&i.code, &i.name_vi, &i.name_en)),
        )
        .chain(c.offices.iter().map(|o| (&o.code, &o.name_vi, &o.name_en)));
    for (code, vi, en) in names {
        assert_ne!(vi, en, "{code}: the Vietnamese name is the English one");
        assert!(has_diacritics(vi), "{code}: {vi:?} has no diacritics");
        assert!(
            en.is_ascii() || en.contains('≤') || en.contains('²'),
            "{code}: {en:?}"
        );
    }
    for i in &c.indicators {
        // A unit in words is translated; a symbol (%) is the same in both.
        if i.unit.chars().any(char::is_alphabetic) {
            assert_ne!(i.unit, i.unit_en, "{}", i.code);
        }
    }
    let budget = c.indicator("budget_revenue").unwrap();
    assert_eq!(budget.name_vi, "Tổng thu ngân sách nhà nước trên địa bàn");
    assert_eq!(budget.unit, "tỷ đồng");
    assert_eq!(c.group("education").unwrap().name_vi, "Giáo dục và đào tạo");
}

#[test]
fn the_issues_examples_are_in_the_catalogue() {
    let c = Catalogue::built_in();
    let digital = c.indicator("digital_economy_share").unwrap();
    assert_eq!(digital.name_vi, "Tỷ trọng kinh tế số trong GRDP");
    assert_eq!(
        (digital.unit.as_str(), digital.periodicity, digital.kind),
        ("%", Periodicity::Year, Kind::Level)
    );
    assert_eq!(digital.levels, BTreeSet::from([Level::City]));
    assert_eq!(c.target("digital_economy_share", "city", 2024), Some(22.0));
    assert_eq!(c.target("digital_economy_share", "city", 2025), Some(25.0));
    assert_eq!(c.target("digital_economy_share", "city", 2026), Some(27.0));

    let online = c.indicator("online_dossier_share").unwrap();
    assert_eq!(online.periodicity, Periodicity::Month);
    assert_eq!(online.levels, BTreeSet::from(Level::ALL));
    assert_eq!(online.good, Direction::Up);

    let dti = c.indicator("dti_score").unwrap();
    assert_eq!(
        (dti.unit.as_str(), dti.periodicity),
        ("điểm", Periodicity::Year)
    );
    assert!(dti.has_level(Level::District) && dti.has_level(Level::Department));
    assert!(
        c.key_indicators
            .iter()
            .any(|k| k == "digital_economy_share")
    );
}

#[test]
fn the_catalogue_mixes_periodicities_kinds_and_levels() {
    let c = Catalogue::built_in();
    let count = |f: &dyn Fn(&Indicator) -> bool| c.indicators.iter().filter(|i| f(i)).count();
    assert!(count(&|i| i.periodicity == Periodicity::Month && i.kind == Kind::Flow) >= 15);
    assert!(count(&|i| i.periodicity == Periodicity::Quarter) >= 15);
    assert!(count(&|i| i.periodicity == Periodicity::Year && i.kind == Kind::Level) >= 25);
    assert!(count(&|i| i.good == Direction::Down) >= 10);
    assert!(count(&|i| i.has_level(Level::District)) >= 40);
    assert!(count(&|i| i.has_level(Level::Department)) >= 5);
    assert!(count(&|i| i.seasonal.is_some()) >= 4);
    let retail = c.indicator("retail_sales").unwrap();
    let tet = retail.seasonal.as_ref().unwrap();
    assert!(
        tet[0] > tet[2] && tet[11] > tet[2],
        "retail peaks before Tết: {tet:?}"
    );
}

#[test]
fn every_indicator_has_the_citys_targets_of_2022_to_2026_and_some_districts_theirs() {
    let c = Catalogue::built_in();
    for i in &c.indicators {
        for year in 2022..=2026 {
            assert!(
                c.target(&i.code, "city", year).is_some(),
                "{} {year}",
                i.code
            );
        }
    }
    let district_targets: BTreeSet<&str> = c
        .targets
        .iter()
        .filter(|t| c.areas.level_of(&t.area) == Some(Level::District))
        .map(|t| t.indicator.as_str())
        .collect();
    assert!(district_targets.len() >= 4, "{district_targets:?}");
    for code in &district_targets {
        for area in c.areas.areas(Level::District) {
            assert!(c.target(code, area, 2026).is_some(), "{code} {area}");
        }
    }
    // The districts' shares of a flow's target stay below the city's.
    let city = c.target("retail_sales", "city", 2026).unwrap();
    let districts: f64 = c
        .areas
        .areas(Level::District)
        .iter()
        .map(|a| c.target("retail_sales", a, 2026).unwrap())
        .sum();
    assert!(
        (districts - city).abs() / city < 0.01,
        "{districts} vs {city}"
    );
}

#[test]
fn each_unit_reports_what_is_its_own() {
    let c = Catalogue::built_in();
    // City level: the indicator's reporting unit.
    assert_eq!(
        c.reporting_unit("grdp_growth", "city"),
        Some("cuc-thong-ke")
    );
    assert_eq!(
        c.reporting_unit("online_dossier_share", "city"),
        Some("so-tttt")
    );
    // District level: the district itself; department level: the department itself.
    assert_eq!(c.reporting_unit("online_dossier_share", "q1"), Some("q1"));
    assert_eq!(
        c.reporting_unit("online_dossier_share", "so-yt"),
        Some("so-yt")
    );
    // Not reported there, or unknown.
    assert_eq!(c.reporting_unit("grdp_growth", "q1"), None);
    assert_eq!(c.reporting_unit("budget_revenue", "so-yt"), None);
    assert_eq!(c.reporting_unit("budget_revenue", "q2"), None);
    assert_eq!(c.reporting_unit("no_such_thing", "city"), None);
    // Every city-level reporting unit is an office or a department.
    for i in &c.indicators {
        let u = i.reporting_unit.as_deref().unwrap();
        assert!(
            c.office(u).is_some() || c.areas.level_of(u) == Some(Level::Department),
            "{}: {u}",
            i.code
        );
    }
    let units = c.units();
    for u in ["cuc-thong-ke", "so-tttt", "q1", "can-gio", "so-yt"] {
        assert!(units.contains(u), "{u}");
    }
    assert!(!units.contains("city"));
}

#[test]
fn deadlines_come_from_the_indicator_or_its_periodicity() {
    let c = Catalogue::built_in();
    let date = |i: &str, period: &str| {
        let ind = c.indicator(i).unwrap();
        crate::time::local_date(c.due_ms(ind, p(period)) - 1)
    };
    let d = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // A month's report by the 10th of the next month, a quarter's by the 20th.
    assert_eq!(date("budget_revenue", "2026-10"), d(2026, 11, 10));
    assert_eq!(date("grdp_growth", "2026-Q3"), d(2026, 10, 20));
    assert_eq!(date("modern_retail_outlets", "2025"), d(2026, 1, 31));
    // Their own: the CPI by the 6th, the digital economy's share by the end of March.
    assert_eq!(date("cpi_yoy", "2026-10"), d(2026, 11, 6));
    assert_eq!(date("digital_economy_share", "2025"), d(2026, 3, 31));
}

#[test]
fn the_expected_share_follows_the_seasonal_profile_or_the_calendar() {
    let c = Catalogue::built_in();
    let budget = c.indicator("budget_revenue").unwrap();
    assert!(budget.seasonal.is_none());
    assert!((budget.expected_share(p("2026-03")) - 0.25).abs() < 1e-12);
    let retail = c.indicator("retail_sales").unwrap();
    let tet = retail.seasonal.as_ref().unwrap();
    assert_eq!(retail.expected_share(p("2026-01")), tet[0]);
    assert!((retail.expected_share(p("2026-12")) - 1.0).abs() < 1e-9);
    let growth = c.indicator("grdp_growth").unwrap();
    assert_eq!(growth.expected_share(p("2026-Q2")), 0.5);
    assert!(budget.is_better(2.0, 1.0));
    assert!(
        c.indicator("unemployment_rate")
            .unwrap()
            .is_better(2.0, 3.0)
    );
}

#[test]
fn targets_are_checked_before_they_are_set() {
    let mut c = Catalogue::built_in();
    let t = |indicator: &str, area: &str, year, value| Target {
        indicator: indicator.into(),
        area: area.into(),
        year,
        value,
    };
    c.set_target(t("online_dossier_share", "q1", 2027, 90.0))
        .unwrap();
    assert_eq!(c.target("online_dossier_share", "q1", 2027), Some(90.0));
    c.set_target(t("online_dossier_share", "q1", 2027, 92.0))
        .unwrap();
    assert_eq!(c.target("online_dossier_share", "q1", 2027), Some(92.0));
    assert_eq!(c.targets_of("online_dossier_share", "q1").count(), 6);
    // A flow's target is a year's sum: up to twelve months of its range.
    c.set_target(t("budget_revenue", "city", 2027, 600_000.0))
        .unwrap();
    let before = c.targets.clone();
    let refused = [
        (t("nothing", "city", 2027, 1.0), "not an indicator"),
        (t("grdp_growth", "q1", 2027, 8.0), "not reported for \"q1\""),
        (
            t("online_dossier_share", "q2", 2027, 8.0),
            "not reported for \"q2\"",
        ),
        (t("online_dossier_share", "q1", 0, 8.0), "year 0"),
        (
            t("online_dossier_share", "q1", 2027, f64::NAN),
            "not a finite number",
        ),
        (
            t("online_dossier_share", "q1", 2027, 101.0),
            "outside 0 to 100",
        ),
        (
            t("budget_revenue", "city", 2027, 2_000_000.0),
            "a year's sum",
        ),
    ];
    for (target, words) in refused {
        let e = c.set_target(target.clone()).unwrap_err().to_string();
        assert!(e.contains(words), "{target:?}: {e}");
    }
    assert_eq!(c.targets, before, "a refused target changes nothing");
}

#[test]
fn the_catalogue_travels_as_json_to_the_screens() {
    let c = Catalogue::built_in();
    let json = serde_json::to_string(&c).unwrap();
    let back: Catalogue = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    assert!(json.contains("\"periodicity\":\"month\"") && json.contains("\"range\":[0.0,100.0]"));
}
