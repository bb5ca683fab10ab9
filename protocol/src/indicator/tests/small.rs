//! A small catalogue written out by hand, so that every figure of the tests can be computed by
//! hand: a city with three districts and two departments, and one indicator of each shape.

use std::collections::BTreeSet;

use super::*;

pub(super) const TENTH: Deadline = Deadline {
    months_after: 1,
    day: 10,
};

fn indicator(
    code: &str,
    group: &str,
    unit: &str,
    periodicity: Periodicity,
    levels: &[Level],
    kind: Kind,
    good: Direction,
) -> Indicator {
    Indicator {
        code: code.into(),
        group: group.into(),
        name_vi: format!("{code} (vi)"),
        name_en: code.into(),
        unit: unit.into(),
        unit_en: unit.into(),
        periodicity,
        levels: levels.iter().copied().collect::<BTreeSet<_>>(),
        kind,
        good,
        range: ValueRange {
            min: -1e9,
            max: 1e9,
        },
        reporting_unit: levels
            .contains(&Level::City)
            .then(|| "cuc-thong-ke".to_owned()),
        deadline: None,
        seasonal: None,
    }
}

/// The catalogue of the tests:
/// - `revenue`: a monthly flow, Up, in `tỷ đồng`, for the city and the districts;
/// - `retail`: a monthly flow, Up, with a seasonal profile (10 % in January, 5 % in February,
///   then 85 % spread over ten months), for the city;
/// - `accidents`: a monthly flow, Down (its target is a ceiling), for the city;
/// - `unemployment`: a quarterly level, Down, in `%` (0 to 20), for the city and the districts;
/// - `online_share`: a yearly level, Up, in `%` (0 to 100), for the city and the departments.
///
/// The other indicators' plausible range is ±10⁹.
///
/// Groups: `economy` (revenue, retail), `society` (accidents, unemployment), `reform`
/// (online_share). Deadlines: the 10th of the next month for every periodicity.
pub(super) fn catalogue() -> Catalogue {
    use Direction::{Down, Up};
    use Kind::{Flow, Level as Lvl};
    use Level::{City, Department, District};
    use Periodicity::{Month, Quarter, Year};
    let mut retail = indicator("retail", "economy", "tỷ đồng", Month, &[City], Flow, Up);
    let rate = |mut i: Indicator, max: f64| {
        i.range = ValueRange { min: 0.0, max };
        i
    };
    let mut shares = vec![0.10, 0.05];
    shares.extend([0.085; 10]);
    retail.seasonal = Some(shares);
    let group = |code: &str| Group {
        code: code.into(),
        name_vi: format!("{code} (vi)"),
        name_en: code.into(),
    };
    Catalogue {
        code: "test-indicators".into(),
        name_vi: "Chỉ tiêu thử".into(),
        name_en: "Test indicators".into(),
        deadlines: Deadlines {
            month: TENTH,
            quarter: TENTH,
            year: TENTH,
        },
        offices: vec![],
        groups: vec![group("economy"), group("society"), group("reform")],
        indicators: vec![
            indicator(
                "revenue",
                "economy",
                "tỷ đồng",
                Month,
                &[City, District],
                Flow,
                Up,
            ),
            retail,
            indicator("accidents", "society", "vụ", Month, &[City], Flow, Down),
            rate(
                indicator(
                    "unemployment",
                    "society",
                    "%",
                    Quarter,
                    &[City, District],
                    Lvl,
                    Down,
                ),
                20.0,
            ),
            rate(
                indicator(
                    "online_share",
                    "reform",
                    "%",
                    Year,
                    &[City, Department],
                    Lvl,
                    Up,
                ),
                100.0,
            ),
        ],
        key_indicators: vec![],
        targets: vec![],
        areas: AreaLevels {
            districts: vec!["q1".into(), "q3".into(), "q5".into()],
            departments: vec!["so-yt".into(), "so-gd".into()],
        },
    }
}

/// A target of the test catalogue.
pub(super) fn target(indicator: &str, area: &str, year: i32, value: f64) -> Target {
    Target {
        indicator: indicator.into(),
        area: area.into(),
        year,
        value,
    }
}

/// An observation reported at local noon on the 5th of the month after the period ends (on
/// time for the 10th), by `cuc-thong-ke`.
pub(super) fn on_time(period: &str, value: f64) -> Observation {
    let period = p(period);
    let after = period.last_day() + chrono::Days::new(5);
    Observation {
        period,
        value,
        reported_ms: crate::time::local_midnight_of(after) + 12 * 3_600_000,
        reported_by: "cuc-thong-ke".into(),
        first_reported_ms: None,
    }
}

/// Values from `(indicator, area, period, value)`, each reported on time.
pub(super) fn values(items: &[(&str, &str, &str, f64)]) -> Values {
    let mut values = Values::new();
    for &(indicator, area, period, value) in items {
        values.insert(indicator, area, on_time(period, value));
    }
    values
}
