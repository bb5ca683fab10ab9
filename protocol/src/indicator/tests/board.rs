//! The board: each group's tally at city level, the board as JSON, and the built-in catalogue
//! with five years of values at every level.

use super::small::{catalogue, on_time, target};
use super::*;

/// Monthly values of an indicator for an area from `first` to `last`, 100 growing 1 % a month.
fn months(v: &mut Values, code: &str, area: &str, first: &str, last: &str) -> f64 {
    let (mut period, last) = (p(first), p(last));
    let mut t = 0;
    let mut ytd = 0.0;
    while period <= last {
        let value = 100.0 * 1.01f64.powi(t);
        if period.year() == last.year() {
            ytd += value;
        }
        v.insert(code, area, on_time(&period.to_string(), value));
        period = period.next().unwrap();
        t += 1;
    }
    ytd
}

#[test]
fn each_group_counts_its_indicators_by_status_and_flag_at_city_level() {
    let mut c = catalogue();
    let now = noon(2026, 11, 22);
    let mut v = Values::new();
    // Revenue: four years to October 2026, exactly on the pace of its target (on track), then
    // October half again above its history: an abnormal sign.
    let ytd = months(&mut v, "revenue", "city", "2022-11", "2026-10");
    let october = v.series("revenue", "city").last().unwrap().clone();
    let spiked = Observation {
        value: october.value * 1.5,
        ..october.clone()
    };
    v.insert("revenue", "city", spiked);
    let ytd = ytd + october.value * 0.5;
    c.set_target(target("revenue", "city", 2026, ytd / (10.0 / 12.0)))
        .unwrap();
    // Retail: a year to October, 40 % of its target where 83 % is expected (behind).
    let retail_ytd = months(&mut v, "retail", "city", "2025-11", "2026-10");
    c.set_target(target("retail", "city", 2026, retail_ytd / 0.4))
        .unwrap();
    // Accidents: on time, at 110 % of the pace of its ceiling (at risk); unemployment: no
    // target, September's quarter missing.
    let accidents_ytd = months(&mut v, "accidents", "city", "2025-11", "2026-10");
    let pace = 10.0 / 12.0 * 1.1;
    c.set_target(target("accidents", "city", 2026, accidents_ytd / pace))
        .unwrap();
    for q in ["2025-Q4", "2026-Q1", "2026-Q2"] {
        v.insert("unemployment", "city", on_time(q, 3.0));
    }
    // The online share: 2025 at its target (on track), reported on time.
    v.insert("online_share", "city", on_time("2025", 80.0));
    c.set_target(target("online_share", "city", 2025, 80.0))
        .unwrap();

    let board = Board::compute(&c, &v, now);
    let status = |code: &str| {
        board
            .indicator(code)
            .unwrap()
            .area("city")
            .unwrap()
            .status()
    };
    assert_eq!(status("revenue"), Some(Status::OnTrack));
    assert_eq!(status("retail"), Some(Status::Behind));
    assert_eq!(status("accidents"), Some(Status::AtRisk));
    assert_eq!(status("unemployment"), None);
    assert_eq!(status("online_share"), Some(Status::OnTrack));
    let revenue = board.indicator("revenue").unwrap().area("city").unwrap();
    let sign = revenue.abnormal.as_ref().unwrap();
    assert!(sign.flagged && sign.period == p("2026-10"), "{sign:?}");
    assert!(revenue.late.is_none());

    let tally = |group: &str| {
        board
            .groups
            .iter()
            .find(|g| g.group == group)
            .unwrap()
            .clone()
    };
    let economy = tally("economy");
    assert_eq!(
        (
            economy.indicators,
            economy.on_track,
            economy.at_risk,
            economy.behind
        ),
        (2, 1, 0, 1)
    );
    assert_eq!((economy.abnormal, economy.late, economy.flagged), (1, 0, 1));
    let society = tally("society");
    assert_eq!(
        (society.indicators, society.at_risk, society.no_status),
        (2, 1, 1)
    );
    assert_eq!((society.abnormal, society.late, society.flagged), (0, 1, 1));
    let reform = tally("reform");
    assert_eq!((reform.on_track, reform.flagged), (1, 0));
    assert_eq!(
        board
            .groups
            .iter()
            .map(|g| g.group.as_str())
            .collect::<Vec<_>>(),
        ["economy", "society", "reform"]
    );

    // As JSON for the app, and back the same.
    let json = serde_json::to_string(&board).unwrap();
    assert!(json.contains(r#""status":"behind""#), "{json}");
    assert!(json.contains(r#""timeliness":"missing""#));
    assert_eq!(serde_json::from_str::<Board>(&json).unwrap(), board);
}

#[test]
fn the_built_in_catalogue_has_every_figure_at_every_level_from_five_years_of_values() {
    let c = Catalogue::built_in();
    let now = noon(2026, 11, 22);
    let mut v = Values::new();
    for indicator in &c.indicators {
        for (_, area) in c.areas_of(indicator) {
            let mut period = indicator
                .periodicity
                .period_of_date(chrono::NaiveDate::from_ymd_opt(2021, 1, 1).unwrap());
            let mut t = 0;
            while c.due_ms(indicator, period) <= now {
                let value = indicator.range.min
                    + (indicator.range.max - indicator.range.min) * (0.4 + 0.001 * f64::from(t));
                v.insert(&indicator.code, area, on_time(&period.to_string(), value));
                period = period.next().unwrap();
                t += 1;
            }
        }
    }
    let board = Board::compute(&c, &v, now);
    assert_eq!(board.indicators.len(), 110);
    assert_eq!(board.groups.len(), 20);
    let areas: usize = board.indicators.iter().map(|i| i.areas.len()).sum();
    let expected: usize = c.indicators.iter().map(|i| c.areas_of(i).len()).sum();
    assert_eq!(areas, expected);
    for figures in &board.indicators {
        let indicator = c.indicator(&figures.indicator).unwrap();
        for a in &figures.areas {
            let latest = a.latest.as_ref().unwrap();
            assert_eq!(latest.period.periodicity(), indicator.periodicity);
            assert!(a.change.is_some(), "{} {}", figures.indicator, a.area);
            assert_eq!(a.ytd.is_some(), indicator.kind == Kind::Flow);
            // Every period due has come on time: no flag; a smooth series: no sign.
            assert!(!a.is_flagged(), "{} {}: {a:?}", figures.indicator, a.area);
            assert!(
                a.abnormal.is_some(),
                "{} {} is scored",
                figures.indicator,
                a.area
            );
            if a.level != Level::City {
                assert_eq!(a.rank.as_ref().unwrap().rank, 1, "equal values tie first");
            }
            if let Some(t) = c.target(&figures.indicator, &a.area, latest.period.year()) {
                let progress = a.progress.as_ref();
                assert!(progress.is_some() || (indicator.kind == Kind::Flow && t <= 0.0));
            }
        }
    }
    let tallied: u16 = board.groups.iter().map(|g| g.indicators).sum();
    assert_eq!(tallied, 110);
    assert!(board.late.is_empty());
    assert!(
        board
            .punctuality
            .iter()
            .all(|r| r.on_time == r.due && r.due > 0)
    );
    assert_eq!(board.punctuality.len(), c.units().len());
}

#[test]
fn the_chart_pairs_each_period_with_its_abnormal_score_from_three_years_of_history() {
    let c = catalogue();
    let now = noon(2026, 11, 22);
    let mut v = Values::new();
    months(&mut v, "revenue", "city", "2021-01", "2026-10");
    let may = v.series("revenue", "city")[40].clone();
    assert_eq!(may.period, p("2024-05"));
    v.insert(
        "revenue",
        "city",
        Observation {
            value: may.value * 1.5,
            ..may
        },
    );
    let revenue = c.indicator("revenue").unwrap();
    let points = chart(revenue, v.series("revenue", "city"), now);
    assert_eq!(points.len(), 70);
    assert_eq!(points[0].period, p("2021-01"));
    // No score before January 2024 (three years of history); a score for every period from.
    assert!(points[..36].iter().all(|c| c.abnormal.is_none()));
    assert!(
        points[36..]
            .iter()
            .all(|c| { c.abnormal.as_ref().is_some_and(|a| a.period == c.period) })
    );
    let flagged: Vec<Period> = points
        .iter()
        .filter(|c| c.abnormal.as_ref().is_some_and(|a| a.flagged))
        .map(|c| c.period)
        .collect();
    assert_eq!(flagged, vec![p("2024-05")]);
    assert_eq!(points[40].value, may.value * 1.5);
    // As of before October's report, October is not on the chart.
    let before = chart(
        revenue,
        v.series("revenue", "city"),
        points[69].reported_ms - 1,
    );
    assert_eq!(before.len(), 69);
}
