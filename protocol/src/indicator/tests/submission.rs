//! The rules every way in applies to a value: each refusal, its reason and its message.

use std::collections::BTreeSet;

use super::*;

fn s(indicator: &str, area: &str, period: &str, value: f64) -> Submission {
    Submission {
        indicator: indicator.into(),
        area: area.into(),
        period: p(period),
        value,
    }
}

#[test]
fn a_value_of_a_known_indicator_area_and_past_period_in_range_is_accepted() {
    let c = Catalogue::built_in();
    let now = noon(2026, 11, 22);
    for ok in [
        s("budget_revenue", "city", "2026-10", 45_000.0),
        s("budget_revenue", "q1", "2021-08", 0.0),
        s("online_dossier_share", "so-yt", "2026-11", 100.0),
        s("grdp_growth", "city", "2021-Q3", -24.98),
        s("dti_score", "thu-duc", "2025", 640.0),
        // The current period is accepted: a figure of the month so far.
        s("budget_revenue", "city", "2026-11", 30_000.0),
        s("grdp_growth", "city", "2026-Q4", 7.0),
        s("dti_score", "city", "2026", 700.0),
    ] {
        assert_eq!(c.check(&ok, now), Ok(()), "{ok:?}");
    }
}

#[test]
fn each_mistake_is_refused_with_its_reason_and_what_is_wrong() {
    let c = Catalogue::built_in();
    let now = noon(2026, 11, 22);
    #[rustfmt::skip]
    let cases = [
        (s("budget_revenu", "city", "2026-10", 1.0), "unknown_indicator", "\"budget_revenu\" is not an indicator"),
        (s("budget_revenue", "q2", "2026-10", 1.0), "unknown_area", "\"q2\" is not an area of the city"),
        (s("budget_revenue", "so-yt", "2026-10", 1.0), "area_not_reported", "budget_revenue is not reported for \"so-yt\", a department (it is reported at: city, district)"),
        (s("grdp_growth", "q1", "2026-Q3", 7.0), "area_not_reported", "a district (it is reported at: city)"),
        (s("grdp_growth", "city", "2026-10", 7.0), "wrong_periodicity", "grdp_growth is reported each quarter, and 2026-10 is a month"),
        (s("budget_revenue", "city", "2026", 1.0), "wrong_periodicity", "reported each month, and 2026 is a year"),
        (s("budget_revenue", "city", "2026-12", 1.0), "future_period", "2026-12 has not begun: the current month is 2026-11"),
        (s("grdp_growth", "city", "2027-Q1", 7.0), "future_period", "the current quarter is 2026-Q4"),
        (s("budget_revenue", "city", "2026-10", f64::NAN), "not_finite", "not a finite number"),
        (s("budget_revenue", "city", "2026-10", f64::INFINITY), "not_finite", "not a finite number"),
        (s("online_dossier_share", "q1", "2026-10", 100.5), "out_of_range", "100.5 % is not a plausible value of online_dossier_share (0 to 100)"),
        (s("budget_revenue", "q1", "2026-10", -5.0), "out_of_range", "-5 billion VND is not a plausible value of budget_revenue (0 to 150000)"),
    ];
    let mut reasons = BTreeSet::new();
    for (sub, reason, words) in cases {
        let e = c.check(&sub, now).unwrap_err();
        assert_eq!(e.reason(), reason, "{sub:?}: {e}");
        assert!(e.to_string().contains(words), "{sub:?}: {e}");
        assert!(SubmissionError::REASONS.contains(&e.reason()));
        reasons.insert(reason);
    }
    assert_eq!(reasons.len(), 7);
}

#[test]
fn the_period_after_the_current_one_begins_at_local_midnight() {
    let c = Catalogue::built_in();
    let sub = s("budget_revenue", "city", "2026-12", 1.0);
    let december = p("2026-12").start_ms();
    assert_eq!(
        c.check(&sub, december - 1).unwrap_err().reason(),
        "future_period"
    );
    assert_eq!(c.check(&sub, december), Ok(()));
}

#[test]
fn only_the_unit_of_an_area_may_report_it() {
    let c = Catalogue::built_in();
    let city = s("grdp_growth", "city", "2026-Q3", 7.0);
    assert_eq!(c.check_reporter(&city, "cuc-thong-ke"), Ok(()));
    let e = c.check_reporter(&city, "q1").unwrap_err();
    assert_eq!(e.reason(), "not_reporting_unit");
    assert_eq!(
        e.to_string(),
        "unit \"q1\" may not report grdp_growth for \"city\": that is \"cuc-thong-ke\"'s to report"
    );
    let district = s("online_dossier_share", "q1", "2026-10", 80.0);
    assert_eq!(c.check_reporter(&district, "q1"), Ok(()));
    assert!(c.check_reporter(&district, "q3").is_err());
    assert!(c.check_reporter(&district, "so-tttt").is_err());
    let department = s("online_dossier_share", "so-yt", "2026-10", 80.0);
    assert_eq!(c.check_reporter(&department, "so-yt"), Ok(()));
    let nowhere = s("grdp_growth", "q1", "2026-Q3", 7.0);
    let e = c.check_reporter(&nowhere, "q1").unwrap_err();
    assert!(e.to_string().ends_with("no unit reports it there"), "{e}");
}

#[test]
fn every_reason_is_distinct_and_snake_case() {
    let reasons: BTreeSet<&str> = SubmissionError::REASONS.into_iter().collect();
    assert_eq!(reasons.len(), SubmissionError::REASONS.len());
    for r in reasons {
        assert!(crate::ingest::is_field_name(r), "{r}");
    }
}
