//! Late reports and punctuality on the small catalogue: on time, late and missing around the
//! deadline instant, the window, the table by unit, and the flag a figure carries.

use super::small::{catalogue, on_time};
use super::*;
use crate::indicator::punctuality::{WINDOW_DAYS, due_periods};

/// An observation of a period first reported at `first_ms`.
fn reported(period: &str, first_ms: i64) -> Observation {
    Observation {
        reported_ms: first_ms,
        ..on_time(period, 1.0)
    }
}

#[test]
fn a_report_is_on_time_before_the_deadline_instant_late_from_it_and_missing_without_one() {
    let c = catalogue();
    let revenue = c.indicator("revenue").unwrap();
    // October's report is due by the 10th of November: late from local midnight at its end.
    let due = c.due_ms(revenue, p("2026-10"));
    assert_eq!(
        due,
        crate::time::local_midnight_of(chrono::NaiveDate::from_ymd_opt(2026, 11, 11).unwrap())
    );
    assert_eq!(Timeliness::of(due, Some(due - 1), due), Timeliness::OnTime);
    assert_eq!(Timeliness::of(due, Some(due), due), Timeliness::Late);
    assert_eq!(Timeliness::of(due, None, due), Timeliness::Missing);
    // A report received after now is not known at now.
    assert_eq!(Timeliness::of(due, Some(due + 5), due), Timeliness::Missing);
    // One instant before the deadline October is not due yet; at the deadline it is.
    let last = |now: i64| due_periods(&c, revenue, now).last().copied();
    assert_eq!(last(due - 1).map(|d| d.0), Some(p("2026-09")));
    assert_eq!(last(due), Some((p("2026-10"), due)));

    // The city on time by a millisecond, q1 at the deadline, q3 not at all, q5 on time and
    // revised after the deadline (the first report counts).
    let mut v = Values::new();
    v.insert("revenue", "city", reported("2026-10", due - 1));
    v.insert("revenue", "q1", reported("2026-10", due));
    v.insert("revenue", "q5", reported("2026-10", due - 3_600_000));
    v.insert("revenue", "q5", reported("2026-10", due + 3_600_000));
    assert_eq!(v.series("revenue", "q5")[0].first_ms(), due - 3_600_000);
    let october: Vec<LateReport> = Reporting::compute(&c, &v, due)
        .late
        .into_iter()
        .filter(|l| l.indicator == "revenue" && l.period == p("2026-10"))
        .collect();
    assert_eq!(
        october,
        [
            LateReport {
                unit: "q1".into(),
                indicator: "revenue".into(),
                area: "q1".into(),
                period: p("2026-10"),
                due_ms: due,
                reported_ms: Some(due),
                timeliness: Timeliness::Late,
            },
            LateReport {
                unit: "q3".into(),
                indicator: "revenue".into(),
                area: "q3".into(),
                period: p("2026-10"),
                due_ms: due,
                reported_ms: None,
                timeliness: Timeliness::Missing,
            },
        ]
    );
}

#[test]
fn the_window_holds_the_periods_due_in_the_last_365_days() {
    let c = catalogue();
    let now = noon(2026, 11, 22);
    assert_eq!(WINDOW_DAYS, 365);
    let periods = |code: &str| -> Vec<String> {
        due_periods(&c, c.indicator(code).unwrap(), now)
            .into_iter()
            .map(|(p, _)| p.to_string())
            .collect()
    };
    // Months: 2025-11 (due 10 December 2025) to 2026-10 (due 10 November 2026); 2025-10 was
    // due on 10 November 2025, more than a year ago.
    let months = periods("revenue");
    assert_eq!(months.len(), 12);
    assert_eq!(
        (months[0].as_str(), months[11].as_str()),
        ("2025-11", "2026-10")
    );
    assert_eq!(
        periods("unemployment"),
        ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    );
    assert_eq!(periods("online_share"), ["2025"]);
}

#[test]
fn the_punctuality_table_counts_each_units_reports_least_punctual_first() {
    let c = catalogue();
    let now = noon(2026, 11, 22);
    let mut v = Values::new();
    // cuc-thong-ke reports every city figure: 12 + 12 + 12 months, 4 quarters, 1 year = 41.
    for code in [
        "revenue",
        "retail",
        "accidents",
        "unemployment",
        "online_share",
    ] {
        for (period, _) in due_periods(&c, c.indicator(code).unwrap(), now) {
            let late = (code == "accidents" && period == p("2026-03"))
                || (code == "online_share" && period == p("2025"));
            let missing = code == "accidents" && period == p("2026-09");
            if missing {
                continue;
            }
            let mut o = on_time(&period.to_string(), 1.0);
            if late {
                o.reported_ms = c.due_ms(c.indicator(code).unwrap(), period) + 1;
            }
            v.insert(code, "city", o);
        }
    }
    // so-yt reports its online share on time; so-gd and the districts report nothing.
    v.insert("online_share", "so-yt", on_time("2025", 80.0));
    let table = Reporting::compute(&c, &v, now).punctuality;
    let row = |unit: &str| table.iter().find(|r| r.unit == unit).unwrap();
    let city = row("cuc-thong-ke");
    assert_eq!(
        (city.due, city.on_time, city.late, city.missing),
        (41, 38, 2, 1)
    );
    assert!((city.on_time_share - 38.0 / 41.0 * 100.0).abs() < 1e-9);
    // A district: revenue (12 months) and unemployment (4 quarters), all missing.
    let q1 = row("q1");
    assert_eq!(
        (q1.due, q1.on_time, q1.missing, q1.on_time_share),
        (16, 0, 16, 0.0)
    );
    assert_eq!(row("so-yt").on_time_share, 100.0);
    let order: Vec<&str> = table.iter().map(|r| r.unit.as_str()).collect();
    assert_eq!(order, ["q1", "q3", "q5", "so-gd", "cuc-thong-ke", "so-yt"]);

    // The figures carry the flag: accidents at city level, the missing September.
    let accidents = IndicatorFigures::compute(&c, c.indicator("accidents").unwrap(), &v, now);
    let late = accidents.area("city").unwrap().late.clone().unwrap();
    assert_eq!(
        (late.period, late.timeliness),
        (p("2026-09"), Timeliness::Missing)
    );
    // The online share's only due report (2025) came late: flagged late; revenue is not.
    let share = IndicatorFigures::compute(&c, c.indicator("online_share").unwrap(), &v, now);
    let late = share.area("city").unwrap().late.clone().unwrap();
    assert_eq!(
        (late.period, late.timeliness),
        (p("2025"), Timeliness::Late)
    );
    assert_eq!(share.area("so-yt").unwrap().late, None);
    let revenue = IndicatorFigures::compute(&c, c.indicator("revenue").unwrap(), &v, now);
    assert_eq!(revenue.area("city").unwrap().late, None);
}
