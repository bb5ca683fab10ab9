//! The wire: MQTT reports and POST bodies, decoded into submissions or refused.

use super::*;

const TOPIC: &str = "ioc/v1/indicator/q1/q1";

fn decode(topic: &str, payload: &str) -> Result<DecodedReport, SubmissionError> {
    decode_report(topic, payload.as_bytes(), noon(2026, 11, 22))
}

#[test]
fn a_report_decodes_into_its_areas_submissions() {
    let now = noon(2026, 11, 22);
    let payload = format!(
        r#"{{"ts": {now}, "period": "2026-10", "values": {{"budget_revenue": 812.5, "online_dossier_share": 91}}}}"#
    );
    let r = decode(TOPIC, &payload).unwrap();
    assert_eq!(r.topic.unit, "q1");
    assert_eq!(r.report.ts, now);
    let subs: Vec<Submission> = r.submissions().collect();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].indicator, "budget_revenue");
    assert_eq!(
        (subs[0].area.as_str(), subs[0].period, subs[0].value),
        ("q1", p("2026-10"), 812.5)
    );
    let c = Catalogue::built_in();
    for sub in &subs {
        assert_eq!(c.check(sub, now), Ok(()));
        assert_eq!(c.check_reporter(sub, &r.topic.unit), Ok(()));
    }
    // What a unit publishes decodes back to itself; ts may be RFC 3339.
    assert_eq!(decode(TOPIC, &r.report.encode()).unwrap(), r);
    let rfc = r#"{"ts": "2026-11-22T12:00:00+07:00", "period": "2026-Q3", "values": {"grdp_growth": 7.1}}"#;
    let r = decode("ioc/v1/indicator/city/cuc-thong-ke", rfc).unwrap();
    assert_eq!(r.report.ts, now);
    assert_eq!(r.report.period, p("2026-Q3"));
    // An old ts is a late report, not a mistake.
    let old = r#"{"ts": 0, "period": "2021-08", "values": {"budget_revenue": 1}}"#;
    assert!(decode(TOPIC, old).is_ok());
}

#[test]
fn a_malformed_report_is_refused_with_its_reason() {
    let big = format!(
        r#"{{"ts": 0, "period": "2026", "values": {{"x": 1}}, "pad": "{}"}}"#,
        "x".repeat(17_000)
    );
    let many: Vec<String> = (0..300).map(|i| format!("\"i{i}\": 1")).collect();
    let many = format!(
        r#"{{"ts": 0, "period": "2026", "values": {{{}}}}}"#,
        many.join(",")
    );
    #[rustfmt::skip]
    let cases: Vec<(&str, &str, &str, &str)> = vec![
        ("ioc/v1/indicator/q1", "{}", "bad_topic", "ioc/v1/indicator/{area}/{unit}"),
        ("ioc/v1/indicator/Q1/q1", "{}", "bad_topic", "area code"),
        (TOPIC, &big, "too_large", "the limit is 16384"),
        (TOPIC, "{\"ts\": ", "not_json", "not valid JSON"),
        (TOPIC, "[1, 2]", "not_json", "must be a JSON object"),
        (TOPIC, r#"{"period": "2026-10", "values": {"budget_revenue": 1}}"#, "bad_ts", "\"ts\" is required"),
        (TOPIC, r#"{"ts": "yesterday", "period": "2026-10", "values": {"budget_revenue": 1}}"#, "bad_ts", "RFC 3339"),
        (TOPIC, r#"{"ts": 9999999999999, "period": "2026-10", "values": {"budget_revenue": 1}}"#, "ts_in_future", "ahead of the server's clock"),
        (TOPIC, r#"{"ts": 0, "period": "2026-13", "values": {"budget_revenue": 1}}"#, "bad_period", "month 13 is not 01 to 12"),
        (TOPIC, r#"{"ts": 0, "period": 202610, "values": {"budget_revenue": 1}}"#, "bad_item", "\"period\" must be a string"),
        (TOPIC, r#"{"ts": 0, "values": {"budget_revenue": 1}}"#, "bad_item", "\"period\" is required"),
        (TOPIC, r#"{"ts": 0, "period": "2026-10"}"#, "missing_values", "non-empty \"values\""),
        (TOPIC, r#"{"ts": 0, "period": "2026-10", "values": {}}"#, "missing_values", "non-empty \"values\""),
        (TOPIC, r#"{"ts": 0, "period": "2026-10", "values": {"budget_revenue": "812"}}"#, "bad_value", "must be a number"),
        (TOPIC, r#"{"ts": 0, "period": "2026-10", "values": {"Budget": 1}}"#, "bad_value", "not an indicator code"),
        (TOPIC, &many, "bad_value", "at most 256"),
        (TOPIC, r#"{"ts": 0, "period": "2026-10", "values": {"x": 1}, "seq": 4}"#, "bad_item", "unknown field \"seq\""),
    ];
    for (topic, payload, reason, words) in cases {
        let e = decode(topic, payload).unwrap_err();
        assert_eq!(e.reason(), reason, "{payload:.80}: {e}");
        assert!(e.to_string().contains(words), "{payload:.80}: {e}");
    }
}

#[test]
fn a_post_body_names_each_bad_item_by_its_place() {
    let body = r#"[
        {"indicator": "budget_revenue", "area": "q1", "period": "2026-10", "value": 812.5},
        {"indicator": "budget_revenue", "area": "q1", "period": "2026-13", "value": 1},
        {"indicator": "budget_revenue", "area": "q1", "period": "2026-10"},
        {"indicator": "budget_revenue", "area": "q1", "period": "2026-10", "value": "1"},
        {"indicator": "budget_revenue", "period": "2026-10", "value": 1},
        {"indicator": "budget_revenue", "area": "q1", "period": "2026-10", "value": 1, "unit": "q1"},
        17
    ]"#;
    let items = decode_submissions(body.as_bytes()).unwrap();
    assert_eq!(items.len(), 7);
    assert_eq!(
        items[0].as_ref().unwrap(),
        &Submission {
            indicator: "budget_revenue".into(),
            area: "q1".into(),
            period: p("2026-10"),
            value: 812.5
        }
    );
    let reasons: Vec<&str> = items[1..]
        .iter()
        .map(|i| i.as_ref().unwrap_err().reason())
        .collect();
    assert_eq!(
        reasons,
        [
            "bad_period",
            "bad_item",
            "bad_value",
            "bad_item",
            "bad_item",
            "bad_item"
        ]
    );
    let messages: Vec<String> = items[1..]
        .iter()
        .map(|i| i.as_ref().unwrap_err().to_string())
        .collect();
    assert!(
        messages[1].contains("\"value\" is required"),
        "{messages:?}"
    );
    assert!(messages[3].contains("\"area\" is required"), "{messages:?}");
    assert!(
        messages[4].contains("unknown field \"unit\""),
        "{messages:?}"
    );
    // The item is the Submission itself in JSON.
    let json = serde_json::to_string(items[0].as_ref().unwrap()).unwrap();
    assert_eq!(
        json,
        r#"{"indicator":"budget_revenue","area":"q1","period":"2026-10","value":812.5}"#
    );
    for bad in ["{}", "not json", "\"x\""] {
        assert!(decode_submissions(bad.as_bytes()).is_err(), "{bad}");
    }
}

/// Every indicator example of `docs/ingest.md` is decoded and checked as the page says:
/// accepted, or refused with the reason it names.
#[test]
fn examples_in_docs_ingest_md_hold() {
    // The page's clock: 2026-11-22 08:30 in Ho Chi Minh City.
    let now = 1_795_309_200_000 + 30 * 60 * 1000;
    let c = Catalogue::built_in();
    let page = include_str!("../../../../docs/ingest.md");
    let mut checked = 0;
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(spec) = line
            .strip_prefix("<!-- indicator example ")
            .and_then(|s| s.strip_suffix(" -->"))
        else {
            continue;
        };
        let mut words = spec.split_whitespace();
        let (topic, outcome, reason) = (words.next().unwrap(), words.next().unwrap(), words.next());
        assert_eq!(lines.next(), Some("```json"), "{spec}");
        let payload = lines.next().unwrap();
        assert_eq!(lines.next(), Some("```"), "{spec}");
        let result = decode_report(topic, payload.as_bytes(), now).and_then(|r| {
            r.submissions().try_for_each(|s| {
                c.check(&s, now)?;
                c.check_reporter(&s, &r.topic.unit)
            })
        });
        match (outcome, result) {
            ("accepted", Ok(())) => {}
            ("rejected", Err(e)) => assert_eq!(Some(e.reason()), reason, "{spec}: {e}"),
            (o, r) => panic!("{spec}: expected {o}, got {r:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} examples found");
}
