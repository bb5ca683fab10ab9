//! The indicators service against the embedded store: all or nothing, the reporter's unit,
//! revisions, an MQTT report stored before it returns, targets kept across a restart.

use std::sync::Arc;

use ioc_protocol::indicator::{Catalogue, Report, Submission, Target, Way};

use super::*;
use crate::store::embedded::EmbeddedIndicators;
use crate::store::embedded::folder::EmbeddedWriter;

/// 2026-11-22T01:00:00Z: the current month is 2026-11.
const NOW: i64 = 1_795_309_200_000;

struct Fixture {
    dir: tempfile::TempDir,
    indicators: Indicators,
}

fn open_in(dir: &Path) -> Indicators {
    let path = dir.join("ioc.sqlite");
    let _ = EmbeddedWriter::open(&path, Default::default()).unwrap();
    let store = IndicatorStore::Embedded(Arc::new(EmbeddedIndicators::open(&path).unwrap()));
    Indicators::open(Catalogue::built_in(), store, dir).unwrap()
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let indicators = open_in(dir.path());
    Fixture { dir, indicators }
}

fn value(indicator: &str, area: &str, period: &str, value: f64) -> Submission {
    Submission {
        indicator: indicator.into(),
        area: area.into(),
        period: period.parse().unwrap(),
        value,
    }
}

fn by(name: &str, unit: Option<&str>) -> Sender {
    Sender {
        by: name.into(),
        way: Way::Api,
        unit: unit.map(str::to_owned),
    }
}

fn placed(items: Vec<Submission>) -> Vec<(u64, Submission)> {
    (0u64..).zip(items).collect()
}

fn refused_count(i: &Indicators, way: Way, reason: &str) -> u64 {
    i.stats()
        .refused_by_reason()
        .into_iter()
        .find(|((w, r), _)| *w == way && *r == reason)
        .map_or(0, |(_, n)| n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_with_one_bad_value_stores_nothing_and_names_it() {
    let f = fixture();
    let i = &f.indicators;
    let items = placed(vec![
        value("budget_revenue", "q1", "2026-10", 812.5),
        value("budget_revenue", "q1", "2026-Q3", 812.5),
        value("online_dossier_share", "q1", "2026-10", 120.0),
    ]);
    let Err(SubmitError::Refused(problems)) = i.submit_at(items, &by("lan", None), NOW).await
    else {
        panic!("refused")
    };
    let reasons: Vec<(u64, &str)> = problems.iter().map(|(at, e)| (*at, e.reason())).collect();
    assert_eq!(reasons, [(1, "wrong_periodicity"), (2, "out_of_range")]);
    assert!(i.series("budget_revenue", "q1").await.unwrap().is_empty());
    assert_eq!(refused_count(i, Way::Api, "out_of_range"), 1);

    let n = i
        .submit_at(
            placed(vec![value("budget_revenue", "q1", "2026-10", 812.5)]),
            &by("lan", None),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(i.stats().stored_by_way()[1], (Way::Api, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reporter_submits_for_its_own_unit_only() {
    let f = fixture();
    let i = &f.indicators;
    let q1 = by("reporter.q1", Some("q1"));
    i.submit_at(
        placed(vec![value("budget_revenue", "q1", "2026-10", 10.0)]),
        &q1,
        NOW,
    )
    .await
    .unwrap();
    let Err(SubmitError::Refused(problems)) = i
        .submit_at(
            placed(vec![value("budget_revenue", "q3", "2026-10", 10.0)]),
            &q1,
            NOW,
        )
        .await
    else {
        panic!("refused")
    };
    assert_eq!(problems[0].1.reason(), "not_reporting_unit");
    assert!(
        problems[0].1.to_string().contains("\"q3\"'s to report"),
        "{}",
        problems[0].1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revision_keeps_both_values_and_the_latest_counts() {
    let f = fixture();
    let i = &f.indicators;
    let jan = || placed(vec![value("budget_revenue", "q1", "2026-01", 100.0)]);
    i.submit_at(jan(), &by("q1", Some("q1")), NOW)
        .await
        .unwrap();
    let mut later = jan();
    later[0].1.value = 104.5;
    i.submit_at(later, &by("admin", None), NOW + 1_000)
        .await
        .unwrap();
    let series = i.series("budget_revenue", "q1").await.unwrap();
    assert_eq!(series.len(), 1);
    assert_eq!((series[0].value, series[0].revisions), (104.5, 2));
    let revs = i
        .revisions_of("budget_revenue", "q1", "2026-01".parse().unwrap())
        .await
        .unwrap();
    let seen: Vec<(f64, &str, i64)> = revs
        .iter()
        .map(|r| (r.value, r.by.as_str(), r.received_ms))
        .collect();
    assert_eq!(seen, [(100.0, "q1", NOW), (104.5, "admin", NOW + 1_000)]);
    assert!(revs.iter().all(|r| r.unit == "q1"));
    let latest = i.latest_values().await.unwrap();
    assert_eq!(latest[&("budget_revenue".into(), "q1".into())], series);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtt_report_is_stored_before_it_returns_all_or_nothing() {
    let f = fixture();
    let i = &f.indicators;
    let report = |values: &[(&str, f64)]| {
        Report {
            ts: NOW - 60_000,
            period: "2026-10".parse().unwrap(),
            values: values.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        }
        .encode()
    };
    let topic = "ioc/v1/indicator/q1/q1";
    let good = report(&[("budget_revenue", 812.5), ("online_dossier_share", 91.2)]);
    assert_eq!(i.take_report(topic, good.as_bytes(), None, NOW), Ok(2));
    // Stored already: read straight back.
    let series = i.series("online_dossier_share", "q1").await.unwrap();
    assert_eq!(series[0].value, 91.2);
    assert_eq!((series[0].by.as_str(), series[0].way), ("q1", Way::Mqtt));
    assert_eq!(series[0].reported_ms, NOW - 60_000);

    let bad = report(&[("budget_revenue", 900.0), ("online_dossier_share", 120.0)]);
    let e = i.take_report(topic, bad.as_bytes(), None, NOW).unwrap_err();
    assert_eq!(e.reason(), "out_of_range");
    assert_eq!(
        i.series("budget_revenue", "q1").await.unwrap()[0].value,
        812.5,
        "nothing of a refused report is stored"
    );
    // Another unit's figure, by the gateway of q3.
    let e = i
        .take_report(
            "ioc/v1/indicator/q1/q3",
            good.as_bytes(),
            Some("gw-q3"),
            NOW,
        )
        .unwrap_err();
    assert_eq!(e.reason(), "not_reporting_unit");
    assert_eq!(refused_count(i, Way::Mqtt, "not_reporting_unit"), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_names_the_lines_and_stores_nothing() {
    let f = fixture();
    let i = &f.indicators;
    let lan = Sender {
        way: Way::Import,
        ..by("lan", None)
    };
    let csv = "indicator,area,period,value\n\
               budget_revenue,q1,2026-10,812.5\n\
               budget_revenue,q1,2026-12,1\n\
               nope,q1,2026-10,1\n";
    let a = i.import(csv.as_bytes(), true, &lan, NOW).await.unwrap();
    let lines: Vec<(u64, &str)> = a
        .problems
        .iter()
        .map(|p| (p.line, p.reason.as_str()))
        .collect();
    assert_eq!(lines, [(3, "future_period"), (4, "unknown_indicator")]);
    assert_eq!((a.rows, a.stored, a.error.is_none()), (3, 0, true));
    assert_eq!(
        refused_count(i, Way::Import, "future_period"),
        0,
        "a dry run counts nothing"
    );
    let a = i.import(csv.as_bytes(), false, &lan, NOW).await.unwrap();
    assert!(a.error.unwrap().contains("2 of the 3 rows are refused"));
    assert!(i.series("budget_revenue", "q1").await.unwrap().is_empty());
    assert_eq!(refused_count(i, Way::Import, "future_period"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_are_checked_kept_and_applied_again_at_start() {
    let f = fixture();
    let t = |area: &str, value: f64| Target {
        indicator: "online_dossier_share".into(),
        area: area.into(),
        year: 2027,
        value,
    };
    let Err(TargetsOutcome::Refused(p)) =
        f.indicators.set_targets(vec![t("q1", 95.0), t("x", 1.0)])
    else {
        panic!("refused")
    };
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].0, 1);
    assert_eq!(
        f.indicators
            .catalogue()
            .target("online_dossier_share", "q1", 2027),
        None
    );
    assert_eq!(f.indicators.set_targets(vec![t("q1", 95.0)]).unwrap(), 1);
    assert_eq!(
        f.indicators
            .catalogue()
            .target("online_dossier_share", "q1", 2027),
        Some(95.0)
    );
    let again = open_in(f.dir.path());
    assert_eq!(
        again.catalogue().target("online_dossier_share", "q1", 2027),
        Some(95.0)
    );
}
