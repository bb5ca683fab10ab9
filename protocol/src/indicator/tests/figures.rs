//! One area's figures, computed by hand on the small catalogue: a flow's year to date and its
//! progress, a level in the Down direction, the status boundaries, the seasonal expected
//! share, ranks with ties, and how revisions make the values as they stand.

use super::small::{catalogue, on_time, target, values};
use super::*;
use crate::indicator::board::rank_values;
use crate::indicator::figures::level_progress;

fn now() -> i64 {
    noon(2026, 11, 22)
}

/// The figures of an indicator for an area, with the targets given.
fn figures(targets: &[Target], values: &Values, indicator: &str, area: &str) -> AreaFigures {
    let mut c = catalogue();
    for t in targets {
        c.set_target(t.clone()).unwrap();
    }
    let i = c.indicator(indicator).unwrap();
    IndicatorFigures::compute(&c, i, values, now())
        .area(area)
        .unwrap()
        .clone()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn a_flow_sums_the_year_to_date_and_measures_it_against_the_years_target() {
    let v = values(&[
        ("revenue", "city", "2025-04", 32.0),
        ("revenue", "city", "2026-01", 10.0),
        ("revenue", "city", "2026-02", 20.0),
        ("revenue", "city", "2026-03", 30.0),
        ("revenue", "city", "2026-04", 40.0),
    ]);
    let f = figures(
        &[target("revenue", "city", 2026, 400.0)],
        &v,
        "revenue",
        "city",
    );
    let latest = f.latest.as_ref().unwrap();
    assert_eq!((latest.period, latest.value), (p("2026-04"), 40.0));
    assert_eq!(latest.reported_by, "cuc-thong-ke");
    assert_eq!(latest.reported_ms, on_time("2026-04", 40.0).reported_ms);
    // 40 against 32 a year earlier: +8, +25 %.
    let change = f.change.as_ref().unwrap();
    assert_eq!((change.period, change.value), (p("2025-04"), 32.0));
    assert!(close(change.absolute, 8.0) && close(change.relative.unwrap(), 25.0));
    // January to April: 100, four periods of four.
    let ytd = f.ytd.as_ref().unwrap();
    assert_eq!(
        (ytd.through, ytd.sum, ytd.periods, ytd.of),
        (p("2026-04"), 100.0, 4, 4)
    );
    // 100 of 400 is 25 %; a third of the year has passed (4 / 12): 8.33 points short, at risk.
    assert_eq!(f.target, Some(400.0));
    let progress = f.progress.as_ref().unwrap();
    assert_eq!(progress.achieved, 100.0);
    assert!(close(progress.percent, 25.0));
    assert!(close(progress.expected, 100.0 / 3.0));
    assert!(close(progress.gap, 25.0 - 100.0 / 3.0));
    assert_eq!(progress.status, Status::AtRisk);

    // February missing: the sum is of three periods of four, and the progress falls with it.
    let v = values(&[
        ("revenue", "city", "2025-04", 32.0),
        ("revenue", "city", "2026-01", 10.0),
        ("revenue", "city", "2026-03", 30.0),
        ("revenue", "city", "2026-04", 40.0),
    ]);
    let f = figures(
        &[target("revenue", "city", 2026, 400.0)],
        &v,
        "revenue",
        "city",
    );
    let ytd = f.ytd.unwrap();
    assert_eq!((ytd.sum, ytd.periods, ytd.of), (80.0, 3, 4));
    assert!(close(f.progress.unwrap().percent, 20.0));

    // No target for 2026 (only for 2025): no progress, no status.
    let f = figures(
        &[target("revenue", "city", 2025, 380.0)],
        &v,
        "revenue",
        "city",
    );
    assert_eq!((f.target, f.progress), (None, None));
    assert!(f.ytd.is_some() && f.change.is_some());
}

#[test]
fn a_level_in_the_down_direction_is_measured_in_the_good_direction() {
    let t = [target("unemployment", "city", 2026, 3.0)];
    let at = |rate: f64| {
        let v = values(&[("unemployment", "city", "2026-Q3", rate)]);
        figures(&t, &v, "unemployment", "city")
    };
    // 3.3 % against a ceiling of 3 %: 10 % of the target the wrong way, 90 % progress.
    let f = at(3.3);
    let progress = f.progress.as_ref().unwrap();
    assert_eq!((progress.achieved, progress.expected), (3.3, 100.0));
    assert!(close(progress.percent, 90.0) && close(progress.gap, -10.0));
    assert_eq!(progress.status, Status::AtRisk);
    assert_eq!(f.ytd, None, "a level has no year to date");
    // 2.4 %: 20 % better than the target, 120 %, on track; 3.6 %: 80 %, behind.
    assert!(close(at(2.4).progress.unwrap().percent, 120.0));
    assert_eq!(at(2.4).status(), Some(Status::OnTrack));
    assert!(close(at(3.6).progress.unwrap().percent, 80.0));
    assert_eq!(at(3.6).status(), Some(Status::Behind));
    // Up: the online share at 72 % against 80 %: 90 %.
    let v = values(&[("online_share", "city", "2025", 72.0)]);
    let f = figures(
        &[target("online_share", "city", 2025, 80.0)],
        &v,
        "online_share",
        "city",
    );
    assert!(close(f.progress.unwrap().percent, 90.0));
    // A target of zero: met or not; a negative target is measured by its size.
    assert_eq!(level_progress(Direction::Down, 0.0, 0.0), 100.0);
    assert_eq!(level_progress(Direction::Down, 0.1, 0.0), 0.0);
    assert_eq!(level_progress(Direction::Up, 0.0, 0.0), 100.0);
    assert_eq!(level_progress(Direction::Up, -1.0, -2.0), 150.0);
}

#[test]
fn a_down_flow_uses_its_ceiling_no_faster_than_the_year_passes() {
    // Accidents, a ceiling of 1200 a year. By June half the year has passed (50 %).
    let t = [target("accidents", "city", 2026, 1200.0)];
    let months = [
        "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06",
    ];
    let at = |counts: [f64; 6]| {
        let items: Vec<(&str, &str, &str, f64)> = months
            .iter()
            .zip(counts)
            .map(|(m, n)| ("accidents", "city", *m, n))
            .collect();
        figures(&t, &values(&items), "accidents", "city")
            .progress
            .unwrap()
    };
    // 550 of 1200 (45.8 %) used: 4.2 points to spare, on track.
    let below = at([100.0, 90.0, 90.0, 90.0, 90.0, 90.0]);
    assert!(close(below.percent, 550.0 / 12.0) && close(below.expected, 50.0));
    assert!(close(below.gap, 50.0 - 550.0 / 12.0));
    assert_eq!(below.status, Status::OnTrack);
    // 700 (58.3 %): 8.3 points over the pace, at risk.
    let over = at([100.0, 120.0, 120.0, 120.0, 120.0, 120.0]);
    assert!(close(over.gap, 50.0 - 700.0 / 12.0));
    assert_eq!(over.status, Status::AtRisk);
}

#[test]
fn the_status_changes_at_exactly_5_and_15_points_below_the_expected() {
    assert_eq!(Status::of_gap(3.0), Status::OnTrack);
    assert_eq!(Status::of_gap(-5.0), Status::OnTrack);
    assert_eq!(Status::of_gap(-5.000_001), Status::AtRisk);
    assert_eq!(Status::of_gap(-15.0), Status::AtRisk);
    assert_eq!(Status::of_gap(-15.000_001), Status::Behind);
    // Revenue, January to June (expected 50 %), target 200: a sum of 90 is 45 % (−5 points),
    // 89.9 is 44.95 %, 70 is 35 % (−15 points), 69.9 is 34.95 %.
    let t = [target("revenue", "city", 2026, 200.0)];
    let status = |last: f64, others: f64| {
        let months = ["2026-01", "2026-02", "2026-03", "2026-04", "2026-05"];
        let mut items: Vec<(&str, &str, &str, f64)> = months
            .iter()
            .map(|m| ("revenue", "city", *m, others))
            .collect();
        items.push(("revenue", "city", "2026-06", last));
        figures(&t, &values(&items), "revenue", "city").status()
    };
    assert_eq!(status(15.0, 15.0), Some(Status::OnTrack));
    assert_eq!(status(14.9, 15.0), Some(Status::AtRisk));
    assert_eq!(status(20.0, 10.0), Some(Status::AtRisk));
    assert_eq!(status(19.9, 10.0), Some(Status::Behind));
    // A level: unemployment against 3 %: 3.15 % is 95 % (−5), 3.45 % is 85 % (−15).
    let t = [target("unemployment", "city", 2026, 3.0)];
    let level = |rate: f64| {
        let v = values(&[("unemployment", "city", "2026-Q3", rate)]);
        figures(&t, &v, "unemployment", "city").status()
    };
    assert_eq!(level(3.15), Some(Status::OnTrack));
    assert_eq!(level(3.16), Some(Status::AtRisk));
    assert_eq!(level(3.45), Some(Status::AtRisk));
    assert_eq!(level(3.46), Some(Status::Behind));
    // Exactly on a boundary in decimals, a hair past it in binary: 1.995 against 1.9 computes
    // as −5.000000000000014 points, 4.025 against 3.5 as −15.000000000000014, and 51.3 of 114
    // by June as −5.000000000000007. A boundary is a boundary.
    let level = |rate: f64, ceiling: f64| {
        let v = values(&[("unemployment", "city", "2026-Q3", rate)]);
        let t = [target("unemployment", "city", 2026, ceiling)];
        figures(&t, &v, "unemployment", "city").progress.unwrap()
    };
    assert!(level(1.995, 1.9).gap < -5.0);
    assert_eq!(level(1.995, 1.9).status, Status::OnTrack);
    assert!(level(4.025, 3.5).gap < -15.0);
    assert_eq!(level(4.025, 3.5).status, Status::AtRisk);
    let items: Vec<(&str, &str, &str, f64)> = vec![("revenue", "city", "2026-06", 51.3)];
    let f = figures(
        &[target("revenue", "city", 2026, 114.0)],
        &values(&items),
        "revenue",
        "city",
    );
    let progress = f.progress.unwrap();
    assert!(progress.gap < -5.0);
    assert_eq!(progress.status, Status::OnTrack);
}

#[test]
fn a_seasonal_profile_sets_the_progress_expected_by_now() {
    // Retail expects 10 % in January and 5 % in February (15 % by February's end); revenue,
    // without a profile, 2 / 12 (16.7 %). The same 100 of 1000 is on track for one and at
    // risk for the other.
    let items = |code| {
        values(&[
            (code, "city", "2026-01", 60.0),
            (code, "city", "2026-02", 40.0),
        ])
    };
    let retail = figures(
        &[target("retail", "city", 2026, 1000.0)],
        &items("retail"),
        "retail",
        "city",
    )
    .progress
    .unwrap();
    assert!(close(retail.expected, 15.0) && close(retail.percent, 10.0));
    assert_eq!(retail.status, Status::OnTrack);
    let revenue = figures(
        &[target("revenue", "city", 2026, 1000.0)],
        &items("revenue"),
        "revenue",
        "city",
    )
    .progress
    .unwrap();
    assert!(close(revenue.expected, 100.0 / 6.0));
    assert_eq!(revenue.status, Status::AtRisk);
    // March adds 8.5 %: 23.5 %.
    let c = catalogue();
    assert!(close(
        c.indicator("retail").unwrap().expected_share(p("2026-03")),
        0.235
    ));
}

#[test]
fn districts_are_ranked_in_the_good_direction_with_ties_sharing_a_rank() {
    let up = [Some(5.0), Some(7.0), Some(5.0), None, Some(9.0)];
    assert_eq!(
        rank_values(Direction::Up, &up),
        [Some(3), Some(2), Some(3), None, Some(1)]
    );
    assert_eq!(
        rank_values(Direction::Down, &up),
        [Some(1), Some(3), Some(1), None, Some(4)]
    );
    // Unemployment (Down): Q3 is reported by q1 and q3 (2 of 3, at least half): they tie.
    let v = values(&[
        ("unemployment", "q1", "2026-Q2", 3.0),
        ("unemployment", "q3", "2026-Q2", 2.5),
        ("unemployment", "q5", "2026-Q2", 3.0),
        ("unemployment", "q1", "2026-Q3", 3.2),
        ("unemployment", "q3", "2026-Q3", 3.2),
    ]);
    let c = catalogue();
    let f = IndicatorFigures::compute(&c, c.indicator("unemployment").unwrap(), &v, now());
    let rank = |area: &str| f.area(area).unwrap().rank.clone();
    let q3 = Rank {
        period: p("2026-Q3"),
        rank: 1,
        of: 2,
    };
    assert_eq!(rank("q1"), Some(q3.clone()));
    assert_eq!(rank("q3"), Some(q3));
    assert_eq!(rank("q5"), None, "q5 has no value for the ranked quarter");
    assert_eq!(rank("city"), None);
    // With Q3 from q1 alone (1 of 3), Q2 is ranked: q3 first, q1 and q5 tie second.
    let v = values(&[
        ("unemployment", "q1", "2026-Q2", 3.0),
        ("unemployment", "q3", "2026-Q2", 2.5),
        ("unemployment", "q5", "2026-Q2", 3.0),
        ("unemployment", "q1", "2026-Q3", 3.2),
    ]);
    let f = IndicatorFigures::compute(&c, c.indicator("unemployment").unwrap(), &v, now());
    let ranks: Vec<Option<u16>> = ["q1", "q3", "q5"]
        .iter()
        .map(|a| f.area(a).unwrap().rank.as_ref().map(|r| r.rank))
        .collect();
    assert_eq!(ranks, [Some(2), Some(1), Some(2)]);
    assert_eq!(
        f.area("q1").unwrap().rank.as_ref().unwrap().period,
        p("2026-Q2")
    );
    // Departments among departments: the online share (Up).
    let v = values(&[
        ("online_share", "so-yt", "2025", 70.0),
        ("online_share", "so-gd", "2025", 85.0),
    ]);
    let f = IndicatorFigures::compute(&c, c.indicator("online_share").unwrap(), &v, now());
    let ranks: Vec<u16> = ["so-yt", "so-gd"]
        .iter()
        .map(|a| f.area(a).unwrap().rank.as_ref().unwrap().rank)
        .collect();
    assert_eq!(ranks, [2, 1]);
}

#[test]
fn a_zero_base_gives_a_change_in_units_and_none_in_percent() {
    let v = values(&[
        ("revenue", "q1", "2025-04", 0.0),
        ("revenue", "q1", "2026-04", 5.0),
    ]);
    let change = figures(&[], &v, "revenue", "q1").change.unwrap();
    assert_eq!((change.absolute, change.relative), (5.0, None));
    // Nothing reported: no figure at all.
    let f = figures(&[], &Values::new(), "revenue", "q3");
    assert_eq!(
        (f.latest, f.change, f.ytd, f.progress),
        (None, None, None, None)
    );
}

#[test]
fn the_latest_revision_counts_and_the_first_report_is_kept_whatever_the_order() {
    let first = Observation {
        reported_ms: 1_000,
        reported_by: "q1".into(),
        ..on_time("2026-10", 10.0)
    };
    let second = Observation {
        value: 12.0,
        reported_ms: 2_000,
        reported_by: "admin".into(),
        ..first.clone()
    };
    let mut forward = Values::new();
    forward.insert("revenue", "q1", first.clone());
    forward.insert("revenue", "q1", second.clone());
    let mut backward = Values::new();
    backward.insert("revenue", "q1", second);
    backward.insert("revenue", "q1", first);
    assert_eq!(forward, backward);
    let held = &forward.series("revenue", "q1")[0];
    assert_eq!((held.value, held.reported_by.as_str()), (12.0, "admin"));
    assert_eq!((held.reported_ms, held.first_ms()), (2_000, 1_000));
    assert_eq!(forward.len(), 1);
    // As JSON, a list of series, and back.
    let json = serde_json::to_string(&forward).unwrap();
    assert!(json.starts_with(r#"[{"indicator":"revenue","area":"q1","observations":[{"period":"2026-10","value":12.0"#), "{json}");
    assert_eq!(serde_json::from_str::<Values>(&json).unwrap(), forward);
}
