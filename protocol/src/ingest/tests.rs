//! One test per rule of the ingest contract, valid and invalid.

use super::*;

const NOW: i64 = 1_763_800_000_000; // 2025-11-22T08:26:40Z

fn known(area: &str) -> bool {
    matches!(area, "q1" | "thu-duc" | "binh-chanh")
}

fn ok(topic: &str, payload: &str) -> Message {
    decode(topic, payload.as_bytes(), NOW, known).unwrap_or_else(|e| panic!("{payload}: {e}"))
}

fn reason(topic: &str, payload: &[u8]) -> RejectReason {
    match decode(topic, payload, NOW, known) {
        Ok(m) => panic!("accepted {m:?}"),
        Err(e) => {
            assert!(!e.detail.is_empty());
            e.reason
        }
    }
}

const ENV: &str = "ioc/v1/env/q1/aqs-q1-01";

#[test]
fn telemetry_reading() {
    let m = ok(
        ENV,
        &format!(
            r#"{{"ts":{NOW},"seq":7,"values":{{"aqi":87,"pm25_ugm3":31.5,"note":"ok","calibrated":true}}}}"#
        ),
    );
    assert_eq!(m.topic.area, "q1");
    assert_eq!(m.ts, NOW);
    assert_eq!(m.seq, Some(7));
    let Body::Reading(v) = m.body else { panic!() };
    assert_eq!(v["aqi"], Value::Number(87.0));
    assert_eq!(v["pm25_ugm3"].as_f64(), Some(31.5));
    assert_eq!(v["note"], Value::Text("ok".into()));
    assert_eq!(v["calibrated"], Value::Bool(true));
}

#[test]
fn ts_forms() {
    let m = ok(
        ENV,
        r#"{"ts":"2025-11-22T15:26:40+07:00","values":{"aqi":1}}"#,
    );
    assert_eq!(m.ts, NOW);
    let m = ok(ENV, r#"{"ts":"2025-11-22T08:26:40.5Z","values":{"aqi":1}}"#);
    assert_eq!(m.ts, NOW + 500);
    // No offset: refused, since its time zone is a guess.
    assert_eq!(
        reason(ENV, br#"{"ts":"2025-11-22T08:26:40","values":{"aqi":1}}"#),
        RejectReason::BadTs
    );
    assert_eq!(
        reason(ENV, br#"{"ts":1.5e12,"values":{"aqi":1}}"#),
        RejectReason::BadTs
    );
    assert_eq!(
        reason(ENV, br#"{"ts":true,"values":{"aqi":1}}"#),
        RejectReason::BadTs
    );
    assert_eq!(
        reason(ENV, br#"{"values":{"aqi":1}}"#),
        RejectReason::MissingTs
    );
    assert_eq!(
        reason(ENV, br#"{"ts":null,"values":{"aqi":1}}"#),
        RejectReason::MissingTs
    );
}

#[test]
fn ts_window() {
    let at = |ts: i64| format!(r#"{{"ts":{ts},"values":{{"aqi":1}}}}"#);
    ok(ENV, &at(NOW + MAX_FUTURE_MS));
    ok(ENV, &at(NOW - MAX_PAST_MS));
    assert_eq!(
        reason(ENV, at(NOW + MAX_FUTURE_MS + 1).as_bytes()),
        RejectReason::TsInFuture
    );
    assert_eq!(
        reason(ENV, at(NOW - MAX_PAST_MS - 1).as_bytes()),
        RejectReason::TsTooOld
    );
    // Seconds instead of milliseconds land in 1970.
    assert_eq!(
        reason(ENV, at(NOW / 1000).as_bytes()),
        RejectReason::TsTooOld
    );
}

#[test]
fn topic_rules() {
    let p = format!(r#"{{"ts":{NOW},"values":{{"aqi":1}}}}"#);
    assert_eq!(
        reason("ioc/v1/env/q1", p.as_bytes()),
        RejectReason::BadTopic
    );
    assert_eq!(
        reason("ioc/v1/weather/q1/s1", p.as_bytes()),
        RejectReason::UnknownDomain
    );
    assert_eq!(
        reason("ioc/v1/env/q2/s1", p.as_bytes()),
        RejectReason::UnknownArea
    );
    assert_eq!(
        reason("ioc/v1/env/q1/Bad", p.as_bytes()),
        RejectReason::BadTopic
    );
    ok("ioc/v1/env/city/s1", &p);
}

#[test]
fn payload_rules() {
    assert_eq!(reason(ENV, &[0xff, 0xfe]), RejectReason::NotUtf8);
    assert_eq!(reason(ENV, b"{\"ts\":"), RejectReason::NotJson);
    assert_eq!(reason(ENV, b""), RejectReason::NotJson);
    assert_eq!(reason(ENV, b"[1,2]"), RejectReason::NotObject);
    assert_eq!(reason(ENV, b"42"), RejectReason::NotObject);
    let big = format!(
        r#"{{"ts":{NOW},"values":{{"note":"{}"}}}}"#,
        "x".repeat(MAX_PAYLOAD_BYTES)
    );
    assert_eq!(reason(ENV, big.as_bytes()), RejectReason::TooLarge);
    // Exactly at the limit is fine.
    let head = format!(r#"{{"ts":{NOW},"values":{{"aqi":1}},"pad":""#);
    let pad = MAX_PAYLOAD_BYTES - head.len() - 2;
    let exact = format!("{head}{}\"}}", " ".repeat(pad));
    assert_eq!(exact.len(), MAX_PAYLOAD_BYTES);
    ok(ENV, &exact);
}

#[test]
fn non_finite_numbers() {
    for bad in [
        format!(r#"{{"ts":{NOW},"values":{{"aqi":NaN}}}}"#),
        format!(r#"{{"ts":{NOW},"values":{{"aqi":Infinity}}}}"#),
        format!(r#"{{"ts":{NOW},"values":{{"aqi":-Infinity}}}}"#),
        format!(r#"{{"ts":{NOW},"values":{{"aqi":1e999}}}}"#),
    ] {
        assert_eq!(
            reason(ENV, bad.as_bytes()),
            RejectReason::NonFiniteNumber,
            "{bad}"
        );
    }
    // The words inside a string are just text.
    ok(
        ENV,
        &format!(r#"{{"ts":{NOW},"values":{{"aqi":3,"note":"NaN \" Infinity"}}}}"#),
    );
}

#[test]
fn seq_rules() {
    for bad in ["-1", "1.5", "\"7\""] {
        let p = format!(r#"{{"ts":{NOW},"seq":{bad},"values":{{"aqi":1}}}}"#);
        assert_eq!(reason(ENV, p.as_bytes()), RejectReason::BadSeq, "{bad}");
    }
}

#[test]
fn values_rules() {
    let with = |values: &str| format!(r#"{{"ts":{NOW},"values":{values}}}"#);
    assert_eq!(
        reason(ENV, format!(r#"{{"ts":{NOW}}}"#).as_bytes()),
        RejectReason::MissingValues
    );
    assert_eq!(
        reason(ENV, with("{}").as_bytes()),
        RejectReason::MissingValues
    );
    assert_eq!(
        reason(ENV, with("[1]").as_bytes()),
        RejectReason::MissingValues
    );
    assert_eq!(
        reason(ENV, with(r#"{"aqi":null}"#).as_bytes()),
        RejectReason::BadValue
    );
    assert_eq!(
        reason(ENV, with(r#"{"aqi":[1]}"#).as_bytes()),
        RejectReason::BadValue
    );
    assert_eq!(
        reason(ENV, with(r#"{"aqi":"high"}"#).as_bytes()),
        RejectReason::BadValue
    );
    assert_eq!(
        reason(ENV, with(r#"{"aqi":-3}"#).as_bytes()),
        RejectReason::BadValue
    );
    assert_eq!(
        reason(ENV, with(r#"{"humidity_pct":101}"#).as_bytes()),
        RejectReason::BadValue
    );
    assert_eq!(
        reason(ENV, with(r#"{"Bad-Name":1}"#).as_bytes()),
        RejectReason::BadValue
    );
    let long = with(&format!(r#"{{"note":"{}"}}"#, "đ".repeat(257)));
    assert_eq!(reason(ENV, long.as_bytes()), RejectReason::BadValue);
    ok(ENV, &with(&format!(r#"{{"note":"{}"}}"#, "đ".repeat(256))));

    let t = "ioc/v1/traffic/thu-duc/cam-01";
    ok(
        t,
        &with(r#"{"speed_kmh":23.5,"volume_vph":1800,"occupancy_pct":40,"congestion":3}"#),
    );
    assert_eq!(
        reason(t, with(r#"{"congestion":6}"#).as_bytes()),
        RejectReason::BadValue
    );
    assert_eq!(
        reason(t, with(r#"{"congestion":2.5}"#).as_bytes()),
        RejectReason::BadValue
    );
    assert_eq!(
        reason(t, with(r#"{"speed_kmh":-1}"#).as_bytes()),
        RejectReason::BadValue
    );

    let s = "ioc/v1/system/city/portal";
    ok(s, &with(r#"{"up":true,"latency_ms":120,"error_pct":0.5}"#));
    assert_eq!(
        reason(s, with(r#"{"up":1}"#).as_bytes()),
        RejectReason::BadValue
    );

    let f = "ioc/v1/flood/binh-chanh/g-01";
    ok(f, &with(r#"{"water_level_cm":-12,"rain_mmh":30}"#));
}

const COMPLAINT: &str = "ioc/v1/complaint/q1/hotline-1022";

#[test]
fn complaint_events() {
    let m = ok(
        COMPLAINT,
        &format!(
            r#"{{"ts":{NOW},"id":"PA-2025-0001","category":"flooding","channel":"zalo","status":"received","ward":"Bến Nghé","due":"2025-11-25T17:00:00+07:00","lat":10.77,"lon":106.70}}"#
        ),
    );
    let Body::Event(Event::Complaint(c)) = m.body else {
        panic!()
    };
    assert_eq!(c.id, "PA-2025-0001");
    assert_eq!(c.ward.as_deref(), Some("Bến Nghé"));
    assert_eq!(c.due, Some(1_764_064_800_000));
    assert_eq!(c.lat, Some(10.77));

    let base = |status: &str, category: &str, channel: &str| {
        format!(
            r#"{{"ts":{NOW},"id":"x","category":"{category}","channel":"{channel}","status":"{status}"}}"#
        )
    };
    for s in COMPLAINT_STATUSES {
        ok(COMPLAINT, &base(s, "traffic", "app"));
    }
    assert_eq!(
        reason(COMPLAINT, base("closed", "traffic", "app").as_bytes()),
        RejectReason::UnknownStatus
    );
    assert_eq!(
        reason(COMPLAINT, base("received", "weather", "app").as_bytes()),
        RejectReason::BadField
    );
    assert_eq!(
        reason(COMPLAINT, base("received", "traffic", "fax").as_bytes()),
        RejectReason::BadField
    );
    let no_id =
        format!(r#"{{"ts":{NOW},"category":"traffic","channel":"app","status":"received"}}"#);
    assert_eq!(reason(COMPLAINT, no_id.as_bytes()), RejectReason::BadField);
    let bad_due = format!(
        r#"{{"ts":{NOW},"id":"x","category":"traffic","channel":"app","status":"received","due":"tomorrow"}}"#
    );
    assert_eq!(
        reason(COMPLAINT, bad_due.as_bytes()),
        RejectReason::BadField
    );
    let bad_lat = format!(
        r#"{{"ts":{NOW},"id":"x","category":"traffic","channel":"app","status":"received","lat":91}}"#
    );
    assert_eq!(
        reason(COMPLAINT, bad_lat.as_bytes()),
        RejectReason::BadField
    );
}

const SERVICE: &str = "ioc/v1/service/thu-duc/portal";

#[test]
fn dossier_events() {
    let m = ok(
        SERVICE,
        &format!(
            r#"{{"ts":{NOW},"id":"HS-1","service":"Cấp giấy phép xây dựng","agency":"UBND TP Thủ Đức","status":"done","online":true,"due":{NOW}}}"#
        ),
    );
    let Body::Event(Event::Dossier(d)) = m.body else {
        panic!()
    };
    assert!(d.online);
    assert_eq!(d.due, Some(NOW));
    for s in DOSSIER_STATUSES {
        ok(
            SERVICE,
            &format!(
                r#"{{"ts":{NOW},"id":"a","service":"s","agency":"a","status":"{s}","online":false}}"#
            ),
        );
    }
    let p = format!(
        r#"{{"ts":{NOW},"id":"a","service":"s","agency":"a","status":"lost","online":false}}"#
    );
    assert_eq!(reason(SERVICE, p.as_bytes()), RejectReason::UnknownStatus);
    let p = format!(r#"{{"ts":{NOW},"id":"a","service":"s","agency":"a","status":"done"}}"#);
    assert_eq!(reason(SERVICE, p.as_bytes()), RejectReason::BadField);
    let p = format!(
        r#"{{"ts":{NOW},"id":"a","service":"s","agency":"a","status":"done","online":"yes"}}"#
    );
    assert_eq!(reason(SERVICE, p.as_bytes()), RejectReason::BadField);
}

#[test]
fn reasons_have_distinct_names() {
    let mut names: Vec<_> = RejectReason::ALL.iter().map(|r| r.as_str()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), RejectReason::ALL.len());
    for r in RejectReason::ALL {
        assert_eq!(
            serde_json::to_value(r).unwrap(),
            serde_json::json!(r.as_str())
        );
    }
}

#[test]
fn garbage_never_panics() {
    // A cheap sweep over byte soup; the fuzz targets go much further.
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for len in 0..300 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let alphabet = b"{}[]\":,0123456789.eE-+tsvaluesNaInfity \\u";
                alphabet[(x % alphabet.len() as u64) as usize]
            })
            .collect();
        let _ = decode(ENV, &bytes, NOW, known);
    }
}

/// The fast path for readings ([`valid_telemetry`]) gives what the general one gives, for
/// payloads it takes and payloads it leaves to the general one (which then says why).
#[test]
fn the_fast_path_agrees_with_the_general_one() {
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    let many: String = (0..=MAX_FIELDS)
        .map(|i| format!(r#""f{i}":{i}"#))
        .collect::<Vec<_>>()
        .join(",");
    let values = [
        r#"{"aqi":87,"pm25_ugm3":31.5,"note":"ok","calibrated":true}"#.to_owned(),
        r#"{"aqi":87,"aqi":88}"#.to_owned(),
        r#"{"temp_c":-50,"humidity_pct":100,"extra_field_9":-1e300}"#.to_owned(),
        r#"{"temp_c":70.0001}"#.to_owned(),
        r#"{"aqi":-0.0}"#.to_owned(),
        r#"{"aqi":1e400}"#.to_owned(),
        r#"{"aqi":NaN}"#.to_owned(),
        r#"{"aqi":null}"#.to_owned(),
        r#"{"aqi":[1]}"#.to_owned(),
        r#"{"aqi":{"v":1}}"#.to_owned(),
        r#"{"aqi":"87"}"#.to_owned(),
        r#"{"Aqi":1}"#.to_owned(),
        r#"{"":1}"#.to_owned(),
        r#"{"a\u00e9":1}"#.to_owned(),
        format!(r#"{{"note":"{long}"}}"#),
        format!(r#"{{"note":"{}"}}"#, &long[1..]),
        format!("{{{many}}}"),
        "{}".to_owned(),
        "[]".to_owned(),
        "null".to_owned(),
        r#"{"congestion":2.5}"#.to_owned(),
        r#"{"congestion":5,"speed_kmh":300}"#.to_owned(),
        r#"{"up":true,"cpu_pct":12}"#.to_owned(),
        r#"{"up":1}"#.to_owned(),
        r#"{"water_level_cm":-12.5,"rain_mmh":0}"#.to_owned(),
        r#"{"pm25_ugm3":18446744073709551615}"#.to_owned(),
    ];
    let heads = [
        format!(r#""ts":{NOW}"#),
        format!(r#""ts":{NOW},"seq":7"#),
        format!(r#""ts":{NOW},"seq":null"#),
        format!(r#""ts":{NOW},"seq":-1"#),
        format!(r#""ts":{NOW},"seq":1.0"#),
        format!(r#""ts":{NOW},"seq":"7""#),
        format!(r#""ts":{NOW},"ts":{NOW}"#),
        format!(r#""ts":{}"#, NOW + MAX_FUTURE_MS),
        format!(r#""ts":{}"#, NOW + MAX_FUTURE_MS + 1),
        format!(r#""ts":{}"#, NOW - MAX_PAST_MS),
        format!(r#""ts":{}"#, NOW - MAX_PAST_MS - 1),
        format!(r#""ts":{}.0"#, NOW),
        r#""ts":"2025-11-22T15:26:40+07:00""#.to_owned(),
        r#""ts":18446744073709551615"#.to_owned(),
        r#""ts":null"#.to_owned(),
        r#""seq":1"#.to_owned(),
        format!(r#""ts":{NOW},"unit":"metric","nested":{{"a":[1,2,{{"b":null}}]}}"#),
    ];
    let topics = [
        ENV,
        "ioc/v1/traffic/q1/tfc-01",
        "ioc/v1/flood/q1/fl-01",
        "ioc/v1/system/city/svc-portal",
    ];
    let mut fast = 0;
    for topic in topics {
        let t = Topic::parse(topic).unwrap();
        for head in &heads {
            for v in &values {
                for payload in [
                    format!(r#"{{{head},"values":{v}}}"#),
                    format!(r#"{{"values":{v},{head}}}"#),
                    format!(r#"{{{head},"values":{v},"values":{{"aqi":1}}}}"#),
                    format!(r#"{{{head},"values":{v}}} x"#),
                ] {
                    let got = decode(topic, payload.as_bytes(), NOW, known);
                    let general = decode_general(t.clone(), &payload, NOW);
                    assert_eq!(got, general, "{topic} {payload}");
                    fast += usize::from(valid_telemetry(t.domain, &payload, NOW).is_some());
                }
            }
        }
    }
    // The common case does take the fast path.
    assert!(fast > 100, "only {fast} payloads took the fast path");
}
