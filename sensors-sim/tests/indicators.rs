//! The city's socio-economic indicators as the simulator publishes them, without a broker:
//! every indicator at every area of its levels for every period since January 2021, valid by
//! the catalogue's own rules, deterministic; the pandemic and Tết in the values; the seeded
//! abnormal values, late and missing reports exactly where the truth log says.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use ioc_protocol::indicator::{
    Catalogue, Direction, Kind, Period, Periodicity, Submission, decode_report,
};
use ioc_protocol::preset::Preset;
use ioc_sim::{
    ABNORMAL_FROM_YEAR, ABNORMAL_GAP_YEARS, AbnormalChange, FIRST_YEAR, IndicatorNote, MAX_LATE_MS,
    Outgoing, Simulation,
};

const DAY: i64 = 86_400_000;
/// Monday 2026-12-07, 00:00 in Ho Chi Minh City: the clock at the start.
const START: i64 = 1_796_576_400_000;
/// Far enough after the start for every period ended before it to be reported, late or not.
const AFTER: i64 = START + 100 * DAY;

fn preset() -> &'static Preset {
    static PRESET: OnceLock<Preset> = OnceLock::new();
    PRESET.get_or_init(Preset::built_in)
}

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::built_in)
}

/// A line of the truth log, in its order.
#[derive(Debug, Clone)]
enum Line {
    Report(Outgoing),
    Note(IndicatorNote),
}

/// The indicators alone (no sensor), from `start` until `until`, as the truth log has them.
fn run(seed: u64, start: i64, until: i64) -> Vec<Line> {
    let mut sim = Simulation::new(preset(), seed, 1, start)
        .only(&[])
        .with_indicators(catalogue(), preset());
    let mut lines = Vec::new();
    while let Some(m) = sim.next_message(until) {
        lines.extend(sim.take_indicator_notes().into_iter().map(Line::Note));
        lines.push(Line::Report(m));
    }
    lines.extend(sim.take_indicator_notes().into_iter().map(Line::Note));
    lines
}

fn truth_lines(lines: &[Line]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l {
            Line::Report(m) => m.truth_line(),
            Line::Note(n) => n.truth_line(),
        })
        .collect()
}

/// A report as the server decodes it: its unit, its `ts` and its values as submissions.
#[derive(Debug, Clone)]
struct Decoded {
    unit: String,
    area: String,
    ts: i64,
    period: Period,
    values: Vec<Submission>,
}

fn decode(m: &Outgoing) -> Decoded {
    let d = decode_report(&m.topic, m.payload_json.as_bytes(), AFTER)
        .unwrap_or_else(|e| panic!("{} {}: {e}", m.topic, m.payload_json));
    assert_eq!(d.report.ts, m.ts);
    Decoded {
        unit: d.topic.unit.clone(),
        area: d.topic.area.clone(),
        ts: d.report.ts,
        period: d.report.period,
        values: d.submissions().collect(),
    }
}

/// Seed 7 from the start, until long after it: the history and the reports still to come of
/// the periods ended before the start. Shared by the tests of its content.
struct History {
    lines: Vec<Line>,
    reports: Vec<Decoded>,
    /// (indicator, area) -> period -> value.
    values: BTreeMap<(String, String), BTreeMap<Period, f64>>,
    abnormal: Vec<ioc_sim::AbnormalValue>,
    overdue: Vec<ioc_sim::OverdueReport>,
}

fn history() -> &'static History {
    static HISTORY: OnceLock<History> = OnceLock::new();
    HISTORY.get_or_init(|| {
        let lines = run(7, START, AFTER);
        let mut h = History {
            lines: lines.clone(),
            reports: Vec::new(),
            values: BTreeMap::new(),
            abnormal: Vec::new(),
            overdue: Vec::new(),
        };
        for l in lines {
            match l {
                Line::Report(m) => {
                    let d = decode(&m);
                    for s in &d.values {
                        let old = h
                            .values
                            .entry((s.indicator.clone(), s.area.clone()))
                            .or_default()
                            .insert(s.period, s.value);
                        assert!(old.is_none(), "{s:?} reported twice");
                    }
                    h.reports.push(d);
                }
                Line::Note(IndicatorNote::Abnormal(a)) => h.abnormal.push(a),
                Line::Note(IndicatorNote::Overdue(o)) => h.overdue.push(o),
            }
        }
        h
    })
}

fn value(code: &str, area: &str, period: &str) -> f64 {
    let p: Period = period.parse().unwrap();
    history().values[&(code.to_owned(), area.to_owned())][&p]
}

fn is_abnormal(code: &str, area: &str, period: &str) -> bool {
    let p: Period = period.parse().unwrap();
    history()
        .abnormal
        .iter()
        .any(|a| a.indicator == code && a.area == area && a.period == p)
}

#[test]
fn every_indicator_has_a_value_at_each_of_its_areas_for_every_period_since_2021() {
    let h = history();
    let c = catalogue();
    let missing: BTreeSet<(String, String, Period)> = h
        .overdue
        .iter()
        .filter(|o| o.sent_ms.is_none())
        .flat_map(|o| {
            o.indicators
                .iter()
                .map(move |i| (i.clone(), o.area.clone(), o.period))
        })
        .collect();
    assert!(!missing.is_empty(), "no report is missing");
    let (mut expected, mut found) = (0, 0);
    for i in &c.indicators {
        let periods: Vec<Period> = (FIRST_YEAR..=2026)
            .flat_map(|y| i.periodicity.periods_of(y))
            .filter(|p| p.end_ms() <= START)
            .collect();
        for (_, area) in c.areas_of(i) {
            let series = h.values.get(&(i.code.clone(), area.to_owned()));
            for p in &periods {
                expected += 1;
                let got = series.and_then(|s| s.get(p));
                if missing.contains(&(i.code.clone(), area.to_owned(), *p)) {
                    assert!(got.is_none(), "{} {area} {p}: missing, yet sent", i.code);
                } else {
                    assert!(got.is_some(), "{} {area} {p}: no value", i.code);
                    found += 1;
                }
            }
        }
    }
    // Nothing else: no period after the clock, no area or indicator outside the catalogue; and
    // every value passes the catalogue's own rules (range, level, periodicity, unit).
    let until_start: usize = h
        .values
        .values()
        .flat_map(BTreeMap::keys)
        .filter(|p| p.end_ms() <= START)
        .count();
    assert_eq!(
        until_start, found,
        "values beyond the catalogue's periods up to the start"
    );
    // After the start, only the periods that have ended by the end of the run.
    assert!(
        h.values
            .values()
            .flat_map(BTreeMap::keys)
            .all(|p| p.end_ms() <= AFTER)
    );
    for r in &h.reports {
        for s in &r.values {
            c.check(s, AFTER).unwrap_or_else(|e| panic!("{s:?}: {e}"));
            c.check_reporter(s, &r.unit)
                .unwrap_or_else(|e| panic!("{} sent {s:?}: {e}", r.unit));
        }
    }
    assert!(expected > 40_000, "{expected} values expected");
    assert!(expected - found < expected / 100, "{found} of {expected}");
}

#[test]
fn the_history_goes_out_at_the_start_in_the_order_it_was_sent_then_period_by_period() {
    let h = history();
    let ts: Vec<i64> = h.reports.iter().map(|r| r.ts).collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "not in the order sent");
    let before = ts.iter().filter(|t| **t <= START).count();
    assert!(before > 4000, "{before} reports of the history");
    // What comes after the start is the last periods', sent after it.
    for r in h.reports.iter().filter(|r| r.ts > START) {
        assert!(r.period.end_ms() > START - 120 * DAY, "{r:?}");
    }
    // A unit sends one report per area, period and deadline: city figures from the
    // indicator's unit, a district's and a department's from itself.
    let mut seen = BTreeSet::new();
    for r in &h.reports {
        let due: BTreeSet<i64> = r
            .values
            .iter()
            .map(|s| catalogue().due_ms(catalogue().indicator(&s.indicator).unwrap(), r.period))
            .collect();
        assert_eq!(due.len(), 1, "{r:?}: one deadline per report");
        let key = (
            r.unit.clone(),
            r.area.clone(),
            r.period,
            due.into_iter().next(),
        );
        assert!(seen.insert(key), "{r:?} sent twice");
    }
}

#[test]
fn the_same_seed_gives_the_same_reports_whatever_the_start_and_another_seed_others() {
    let a = truth_lines(&run(3, START, START));
    let b = truth_lines(&run(3, START, START));
    assert_eq!(a, b);
    let c = truth_lines(&run(4, START, START));
    assert_ne!(a, c);
    // Started 40 days earlier and run to the same clock: the same reports and notes, by then.
    let earlier = truth_lines(&run(3, START - 40 * DAY, START));
    assert_eq!(earlier, a);
}

#[test]
fn seeded_abnormal_values_are_where_the_truth_log_says_three_years_in_and_two_years_apart() {
    let h = history();
    let from_2024: usize = h
        .values
        .values()
        .flat_map(|s| s.keys())
        .filter(|p| p.year() >= ABNORMAL_FROM_YEAR)
        .count();
    let share = h.abnormal.len() as f64 / from_2024 as f64;
    assert!(
        (0.01..=0.02).contains(&share),
        "{} abnormal of {from_2024} values from 2024: {share:.4}",
        h.abnormal.len()
    );
    let mut by_series: BTreeMap<(String, String), Vec<Period>> = BTreeMap::new();
    let (mut up, mut down) = (0, 0);
    for a in &h.abnormal {
        let reported = h.values[&(a.indicator.clone(), a.area.clone())][&a.period];
        assert_eq!(reported, a.value, "{a:?}");
        assert!(
            a.period.year() - FIRST_YEAR >= 3,
            "{a:?}: less than 3 years in"
        );
        let indicator = catalogue().indicator(&a.indicator).unwrap();
        assert!(indicator.range.contains(a.value) && indicator.range.contains(a.normal));
        match a.change {
            AbnormalChange::Factor(f) => {
                assert!(
                    (1.3..=1.8).contains(&f) || (0.3..=0.7).contains(&f),
                    "{a:?}"
                );
                assert_ne!(indicator.unit, "%");
                // Both rounded as reported: counts whole from 20 on.
                let slack = if a.value.max(a.normal) >= 20.0 {
                    0.5 * (1.0 + f)
                } else {
                    0.02
                };
                assert!(
                    (a.value - a.normal * f).abs() <= 0.01 * a.value + slack,
                    "{a:?}"
                );
                if f > 1.0 { up += 1 } else { down += 1 }
            }
            AbnormalChange::Points(d) => {
                assert_eq!(indicator.unit, "%");
                let width = indicator.range.max - indicator.range.min;
                assert!((0.15..=0.35).contains(&(d.abs() / width)), "{a:?}");
                assert!((a.value - a.normal - d).abs() <= 0.1, "{a:?}");
                if d > 0.0 { up += 1 } else { down += 1 }
            }
        }
        by_series
            .entry((a.indicator.clone(), a.area.clone()))
            .or_default()
            .push(a.period);
    }
    assert!(up > 20 && down > 20, "{up} up, {down} down");
    for ((code, area), periods) in &by_series {
        for w in periods.windows(2) {
            let two_years = Period::new(
                w[0].periodicity(),
                w[0].year() + ABNORMAL_GAP_YEARS,
                w[0].index_in_year(),
            )
            .unwrap();
            assert!(w[1] >= two_years, "{code} {area}: {} then {}", w[0], w[1]);
        }
    }
    // Each one is noted just before the report that carries it.
    for (i, l) in h.lines.iter().enumerate() {
        let Line::Note(IndicatorNote::Abnormal(a)) = l else {
            continue;
        };
        let next = h.lines[i + 1..]
            .iter()
            .find_map(|l| match l {
                Line::Report(m) => Some(decode(m)),
                Line::Note(_) => None,
            })
            .expect("a report after the note");
        assert!(
            next.area == a.area
                && next.period == a.period
                && next.values.iter().any(|s| s.indicator == a.indicator),
            "{a:?} is not in the next report {next:?}"
        );
    }
}

#[test]
fn late_reports_come_after_their_deadline_and_the_others_before_it() {
    let h = history();
    let c = catalogue();
    let late: BTreeMap<(String, String, Period, i64), i64> = h
        .overdue
        .iter()
        .filter_map(|o| {
            let key = (o.unit.clone(), o.area.clone(), o.period, o.due_ms);
            o.sent_ms.map(|t| (key, t))
        })
        .collect();
    let mut on_time = 0;
    for r in &h.reports {
        let indicator = c.indicator(&r.values[0].indicator).unwrap();
        let due = c.due_ms(indicator, r.period);
        match late.get(&(r.unit.clone(), r.area.clone(), r.period, due)) {
            Some(&sent) => {
                assert_eq!(sent, r.ts, "{r:?}");
                assert!(r.ts >= due && r.ts <= due + MAX_LATE_MS, "{r:?}");
            }
            None => {
                assert!(r.ts < due && r.ts >= r.period.end_ms(), "{r:?} due {due}");
                on_time += 1;
            }
        }
    }
    let share = late.len() as f64 / h.reports.len() as f64;
    assert!(
        (0.02..0.12).contains(&share),
        "{} late: {share:.3}",
        late.len()
    );
    assert!(on_time > 4000);
    // Each late or missing report is noted when its deadline passes, before anything sent
    // after it.
    let mut last_ts = i64::MIN;
    for l in &h.lines {
        match l {
            Line::Report(m) => last_ts = m.ts,
            Line::Note(IndicatorNote::Overdue(o)) => assert!(o.due_ms >= last_ts, "{o:?}"),
            Line::Note(IndicatorNote::Abnormal(_)) => {}
        }
    }
}

#[test]
fn the_2021_lockdown_sinks_the_summer_of_2021_and_the_economy_recovers() {
    // Retail sales in August 2021: far below the same month a year later, and below the spring.
    let aug21 = value("retail_sales", "city", "2021-08");
    let aug22 = value("retail_sales", "city", "2022-08");
    let spring: f64 = ["2021-03", "2021-04"]
        .iter()
        .map(|p| value("retail_sales", "city", p))
        .sum::<f64>()
        / 2.0;
    assert!(
        aug21 < 0.6 * aug22,
        "retail August 2021 {aug21}, 2022 {aug22}"
    );
    assert!(
        aug21 < 0.7 * spring,
        "retail August 2021 {aug21}, spring {spring}"
    );
    assert!(value("grdp_growth", "city", "2021-Q3") < -10.0);
    assert!(value("iip", "city", "2021-08") < 80.0);
    assert!(
        value("iip", "city", "2022-08") > 120.0,
        "the rebound on a low base"
    );
    assert!(
        value("hotel_occupancy", "city", "2021-08")
            < 0.5 * value("hotel_occupancy", "city", "2022-08")
    );
    assert!(
        value("unemployment_rate", "city", "2021-Q3")
            > value("unemployment_rate", "city", "2022-Q3") + 2.0
    );
    // Foreign visitors: the border closed all 2021, reopened in March 2022.
    assert!(
        value("international_visitors", "city", "2021-06")
            < 0.05 * value("international_visitors", "city", "2023-06")
    );
}

#[test]
fn tet_lifts_shopping_before_it_and_slows_industry_in_its_month() {
    // The month most of the holiday (two days before Tết to seven after) falls in.
    let tet_month = [
        (2022, "2022-02"),
        (2023, "2023-01"),
        (2024, "2024-02"),
        (2026, "2026-02"),
    ];
    let mut checked = 0;
    for (year, month) in tet_month {
        let p: Period = month.parse().unwrap();
        let (before, after) = (p.prev().unwrap().to_string(), p.next().unwrap().to_string());
        let series = [&before, month, &after];
        if series
            .iter()
            .any(|q| is_abnormal("industrial_output", "city", q))
        {
            continue;
        }
        let v = |q: &str| value("industrial_output", "city", q);
        let around = (v(&before) + v(&after)) / 2.0;
        assert!(
            v(month) < 0.93 * around,
            "{year}: industry {} vs {around}",
            v(month)
        );
        checked += 1;
    }
    assert!(checked >= 3);
    // Shopping peaks in the Tết season (January) against the spring (March), every year.
    for year in 2022..=2026 {
        let (jan, mar) = (format!("{year}-01"), format!("{year}-03"));
        if is_abnormal("retail_sales", "city", &jan) || is_abnormal("retail_sales", "city", &mar) {
            continue;
        }
        let (j, m) = (
            value("retail_sales", "city", &jan),
            value("retail_sales", "city", &mar),
        );
        assert!(j > 1.05 * m, "{year}: retail January {j}, March {m}");
    }
    // Visitors (no seasonal profile of their own) follow Tết's date: 2025's came in January
    // (Tết on 29 January), 2026's in February (17 February).
    let v = |q: &str| value("domestic_visitors", "city", q);
    assert!(v("2025-01") > 1.1 * v("2025-03") && v("2025-01") > v("2025-02"));
    assert!(v("2026-02") > 1.05 * v("2026-03"));
}

#[test]
fn districts_follow_the_city_sharing_its_totals_and_scattered_around_its_rates() {
    let h = history();
    let c = catalogue();
    let districts = &c.areas.districts;
    let sum = |code: &str, p: Period| -> Option<f64> {
        districts
            .iter()
            .map(|d| {
                h.values
                    .get(&(code.to_owned(), d.clone()))?
                    .get(&p)
                    .copied()
            })
            .sum()
    };
    let city = |code: &str, p: Period| {
        h.values[&(code.to_owned(), "city".to_owned())]
            .get(&p)
            .copied()
    };
    let months: Vec<Period> = (2022..=2025)
        .flat_map(|y| Periodicity::Month.periods_of(y))
        .collect();
    let mut compared = 0;
    for code in ["traffic_accidents", "industrial_output", "retail_sales"] {
        for &p in &months {
            let abnormal = h
                .abnormal
                .iter()
                .any(|a| a.indicator == code && a.period == p);
            let (Some(s), Some(c)) = (sum(code, p), city(code, p)) else {
                continue;
            };
            if abnormal {
                continue;
            }
            compared += 1;
            // Retail sales' districts have targets adding up to the city's: the city is their sum.
            let tolerance = if code == "retail_sales" { 0.001 } else { 0.15 };
            assert!(
                (s / c - 1.0).abs() < tolerance,
                "{code} {p}: districts {s}, city {c}"
            );
        }
    }
    assert!(compared > 100);
    // A rate: the districts' median near the city's.
    let p: Period = "2025".parse().unwrap();
    let mut rates: Vec<f64> = districts
        .iter()
        .filter_map(|d| {
            h.values[&("health_insurance_coverage".to_owned(), d.clone())]
                .get(&p)
                .copied()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let at_city = value("health_insurance_coverage", "city", "2025");
    assert!(
        (median - at_city).abs() < 3.0,
        "median {median}, city {at_city}"
    );
    assert!(rates.first() != rates.last(), "scattered");
}

#[test]
fn the_years_land_near_their_targets_some_ahead_some_at_risk_some_behind() {
    // The status of the issue, at the year's end: on track (progress at least 5 points under
    // the expected 100 %), at risk (down to 15 under), behind.
    let h = history();
    let c = catalogue();
    let mut statuses: BTreeMap<&str, u32> = BTreeMap::new();
    for t in c.targets.iter().filter(|t| (2022..=2025).contains(&t.year)) {
        let i = c.indicator(&t.indicator).unwrap();
        if i.kind != Kind::Flow {
            continue;
        }
        let Some(s) = h.values.get(&(t.indicator.clone(), t.area.clone())) else {
            continue;
        };
        let year: Vec<f64> = s
            .iter()
            .filter(|(p, _)| p.year() == t.year)
            .map(|(_, v)| *v)
            .collect();
        if year.len() != usize::from(i.periodicity.per_year()) {
            continue;
        }
        let total: f64 = year.iter().sum();
        let progress = match i.good {
            Direction::Up => total / t.value,
            Direction::Down => t.value / total,
        };
        let status = match (progress - 1.0) * 100.0 {
            g if g >= -5.0 => "on track",
            g if g >= -15.0 => "at risk",
            _ => "behind",
        };
        *statuses.entry(status).or_default() += 1;
    }
    let n: u32 = statuses.values().sum();
    for s in ["on track", "at risk", "behind"] {
        let k = statuses.get(s).copied().unwrap_or(0);
        assert!(k * 10 >= n, "{statuses:?}");
    }
    assert!(statuses["on track"] * 2 >= n, "{statuses:?}");
}

#[test]
fn the_other_messages_are_the_same_with_or_without_the_indicators() {
    let start = START - 3 * DAY + 8 * 3_600_000;
    let end = start + 3_600_000;
    let without = Simulation::new(preset(), 9, 1, start).step_until(end);
    let with = Simulation::new(preset(), 9, 1, start)
        .with_indicators(catalogue(), preset())
        .step_until(end);
    let (reports, rest): (Vec<&Outgoing>, Vec<&Outgoing>) = with
        .iter()
        .partition(|m| m.domain == ioc_sim::Stream::Indicator);
    assert!(reports.len() > 4000, "{} reports", reports.len());
    let lines = |v: &[&Outgoing]| v.iter().map(|m| m.truth_line()).collect::<Vec<_>>();
    assert_eq!(lines(&rest), lines(&without.iter().collect::<Vec<_>>()));
    // The history first: every report of the years before goes out before the first reading.
    let first_reading = with
        .iter()
        .position(|m| m.domain != ioc_sim::Stream::Indicator)
        .unwrap();
    assert!(with[..first_reading].iter().all(|m| m.ts < start));
    assert!(reports.iter().all(|m| {
        m.truth_line()
            .starts_with("{\"indicator_report\":{\"topic\":")
    }));
}
