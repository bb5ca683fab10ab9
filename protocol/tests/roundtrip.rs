//! Property tests of what crosses a wire: whatever a well-behaved gateway or server sends is
//! read back exactly, and no input at all makes a decoder panic.

use std::collections::BTreeMap;

use ioc_protocol::ingest::{MAX_FIELDS, MAX_TEXT_CHARS, encode_reading};
use ioc_protocol::live::{AreaStat, Delta, FieldStat, ServerMsg};
use ioc_protocol::{Body, ClientMsg, Domain, Message, Topic, Value, decode};
use proptest::prelude::*;

const NOW: i64 = 1_795_282_200_000;

fn domain() -> impl Strategy<Value = Domain> {
    prop::sample::select(Domain::ALL.to_vec())
}

fn telemetry() -> impl Strategy<Value = Domain> {
    prop::sample::select(
        Domain::ALL
            .into_iter()
            .filter(|d| d.is_telemetry())
            .collect::<Vec<_>>(),
    )
}

fn topic() -> impl Strategy<Value = Topic> {
    (
        domain(),
        "[a-z0-9][a-z0-9-]{0,31}",
        "[a-z0-9][a-z0-9_-]{0,63}",
    )
        .prop_map(|(d, a, s)| Topic::new(d, a, s))
}

/// A value of a field that no domain has a rule for (`x_` names): any finite number, a bool,
/// or a string within the limit, Vietnamese included.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Number),
        any::<bool>().prop_map(Value::Bool),
        prop::collection::vec(
            prop_oneof![
                any::<char>(),
                prop::sample::select(vec!['đ', 'ư', 'ơ', 'ạ', 'ễ', '"', '\\', '\n'])
            ],
            0..=MAX_TEXT_CHARS
        )
        .prop_map(|c| Value::Text(c.into_iter().collect())),
    ]
}

fn reading() -> impl Strategy<Value = BTreeMap<String, Value>> {
    prop::collection::btree_map("x_[a-z0-9_]{0,20}", value(), 1..=MAX_FIELDS)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_topic_reads_back_as_written(t in topic()) {
        prop_assert_eq!(Topic::parse(&t.to_string()), Ok(t));
    }

    #[test]
    fn a_reading_reads_back_as_encoded(
        domain in telemetry(),
        area in "[a-z0-9][a-z0-9-]{0,31}",
        source in "[a-z0-9][a-z0-9_-]{0,63}",
        age in 0..(7 * 86_400_000i64),
        seq in proptest::option::of(any::<u64>()),
        values in reading(),
    ) {
        let topic = Topic::new(domain, area, source);
        let payload = encode_reading(NOW - age, seq, &values);
        let got = decode(&topic.to_string(), payload.as_bytes(), NOW, |_| true);
        prop_assert_eq!(
            got,
            Ok(Message { topic, ts: NOW - age, seq, body: Body::Reading(values) })
        );
    }

    #[test]
    fn what_the_spool_writes_it_reads_back(
        topic in topic(),
        ts in any::<i64>(),
        seq in proptest::option::of(any::<u64>()),
        values in reading(),
    ) {
        let m = Message { topic, ts, seq, body: Body::Reading(values) };
        let text = serde_json::to_string(&m).unwrap();
        prop_assert_eq!(serde_json::from_str::<Message>(&text).unwrap(), m);
    }

    #[test]
    fn a_delta_reads_back_as_sent(
        seq in any::<u64>(),
        server_time in any::<i64>(),
        areas in prop::collection::vec(
            (domain(), "[a-z0-9]{1,8}", prop::collection::btree_map(
                "[a-z][a-z0-9_]{0,10}",
                (any::<f64>(), any::<f64>(), any::<f64>(), any::<u32>())
                    .prop_filter("finite", |(a, b, c, _)| a.is_finite() && b.is_finite() && c.is_finite()),
                0..8,
            ), any::<u32>(), any::<u32>(), any::<i64>(), any::<bool>()),
            0..20,
        ),
    ) {
        let stats = areas
            .into_iter()
            .map(|(domain, area, fields, sources, fresh_sources, newest_ts, stale)| AreaStat {
                domain,
                area,
                fields: fields
                    .into_iter()
                    .map(|(k, (mean, min, max, n))| (k, FieldStat { mean, min, max, n }))
                    .collect(),
                sources,
                fresh_sources,
                newest_ts,
                stale,
            })
            .collect();
        let msg = ServerMsg::Delta(Delta { seq, server_time, stats, figures: vec![], day_start: None, alerts: None });
        let text = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(serde_json::from_str::<ServerMsg>(&text).unwrap(), msg);
    }

    #[test]
    fn no_topic_and_payload_make_decode_panic(
        topic in prop_oneof![
            any::<String>(),
            topic().prop_map(|t| t.to_string()),
        ],
        payload in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..512),
            any::<String>().prop_map(String::into_bytes),
            (any::<i64>(), any::<String>(), any::<String>()).prop_map(|(ts, k, v)| {
                format!(r#"{{"ts":{ts},"values":{{"{k}":"{v}"}}}}"#).into_bytes()
            }),
        ],
    ) {
        // Any result, but a result: every error carries a reason and an explanation.
        if let Err(e) = decode(&topic, &payload, NOW, |a| a.len() < 5) {
            prop_assert!(!e.detail.is_empty());
        }
    }

    #[test]
    fn no_client_message_makes_the_server_panic(text in any::<String>()) {
        let _ = serde_json::from_str::<ClientMsg>(&text);
    }
}

#[test]
fn the_client_message_reads_back() {
    let text = serde_json::to_string(&ClientMsg::Resync).unwrap();
    assert_eq!(text, r#"{"type":"resync"}"#);
    assert_eq!(
        serde_json::from_str::<ClientMsg>(&text).unwrap(),
        ClientMsg::Resync
    );
}
