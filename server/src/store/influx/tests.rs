use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use influxdb2_structmap::value::Value as FluxValue;
use ioc_protocol::{Body, Complaint, Domain, Dossier, Event, Message, Topic, Value};

use super::client::{MAX_MESSAGE_CHARS, server_message};
use super::flux::{events_flux, history_flux, latest_flux, readings_flux, window_ms};
use super::line_protocol::{event_offset_ns, line_protocol};
use super::records::protocol_value;
use super::*;
use crate::store::{Bucket, HistoryQuery, StoreError};

/// 2026-11-22T01:00:00Z.
const T0: i64 = 1_795_309_200_000;
const MS: i64 = 1_000_000;

fn reading(domain: Domain, area: &str, source: &str, ts: i64, values: &[(&str, Value)]) -> Message {
    Message {
        topic: Topic::new(domain, area, source),
        ts,
        seq: Some(7),
        body: Body::Reading(
            values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        ),
    }
}

fn complaint_msg(source: &str, id: &str, status: &str, ts: i64) -> Message {
    Message {
        topic: Topic::new(Domain::Complaint, "q3", source),
        ts,
        seq: None,
        body: Body::Event(Event::Complaint(Complaint {
            id: id.into(),
            category: "flooding".into(),
            channel: "hotline".into(),
            status: status.into(),
            ward: Some("Phường Võ Thị Sáu".into()),
            due: Some(T0 + 291_600_000),
            lat: Some(10.781),
            lon: Some(106.689),
        })),
    }
}

fn dossier_msg() -> Message {
    Message {
        topic: Topic::new(Domain::Service, "go-vap", "portal-dvc"),
        ts: T0,
        seq: None,
        body: Body::Event(Event::Dossier(Dossier {
            id: "HS-000.00.23.H29-261122-0042".into(),
            service: "Cấp giấy phép xây dựng nhà ở riêng lẻ".into(),
            agency: "UBND Quận Gò Vấp".into(),
            status: "done".into(),
            online: true,
            due: Some(1_795_395_600_000),
        })),
    }
}

fn lp(batch: &[Message]) -> String {
    line_protocol(batch).expect("encodable")
}

/// Reads a quoted line-protocol string field back the way InfluxDB 2 does (`\\` and `\"`
/// are escapes, everything else is itself); returns the string and what follows it.
fn read_lp_string(s: &str) -> (String, &str) {
    let rest = s.strip_prefix('"').expect("a quoted string");
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e @ ('\\' | '"'))) => out.push(e),
                Some((_, e)) => {
                    out.push('\\');
                    out.push(e);
                }
                None => panic!("dangling backslash"),
            },
            '"' => return (out, &rest[i + 1..]),
            c => out.push(c),
        }
    }
    panic!("unterminated string in {s:?}")
}

#[test]
fn readings_are_one_line_each_with_ms_times_in_ns() {
    let msg = reading(
        Domain::Env,
        "q1",
        "aqs-q1-01",
        T0,
        &[
            ("aqi", Value::Number(87.0)),
            ("pm25_ugm3", Value::Number(31.5)),
            ("temp_c", Value::Number(-0.25)),
            ("sensor_ok", Value::Bool(true)),
            ("door_open", Value::Bool(false)),
        ],
    );
    let flood = reading(
        Domain::Flood,
        "binh-thanh",
        "gauge-rach-thi-nghe",
        T0 + 1,
        &[("water_level_cm", Value::Number(152.0))],
    );
    assert_eq!(
        lp(&[msg, flood]),
        "env,area=q1,source=aqs-q1-01 \
         aqi=87,door_open=false,pm25_ugm3=31.5,sensor_ok=true,temp_c=-0.25 \
         1795309200000000000\n\
         flood,area=binh-thanh,source=gauge-rach-thi-nghe water_level_cm=152 \
         1795309200001000000\n"
    );
}

#[test]
fn floats_are_written_without_exponent_and_read_back_exactly() {
    for n in [
        0.1,
        -0.0,
        1e-7,
        123_456_789.123_456_7,
        1e21,
        f64::MIN_POSITIVE,
        f64::MAX,
        2.0f64.powi(60) + 1.0,
    ] {
        let line = lp(&[reading(
            Domain::System,
            "city",
            "s",
            T0,
            &[("v", Value::Number(n))],
        )]);
        let text = line
            .strip_prefix("system,area=city,source=s v=")
            .and_then(|l| l.strip_suffix(" 1795309200000000000\n"))
            .expect("one field");
        assert!(!text.contains(['e', 'E']), "{text}");
        assert_eq!(text.parse::<f64>().expect("a float").to_bits(), n.to_bits());
    }
}

#[test]
fn strings_escape_quotes_and_backslashes_and_keep_vietnamese() {
    let texts = [
        "Kẹt xe nghiêm trọng, đường Võ Văn Kiệt",
        r#"say "hi", C:\tmp\ and \"x\""#,
        "trailing backslash \\",
        "line one\nline two = yes, a b",
        "",
    ];
    for original in texts {
        let line = lp(&[reading(
            Domain::Traffic,
            "q1",
            "cam-01",
            T0,
            &[("note", Value::Text(original.into()))],
        )]);
        let rest = line
            .strip_prefix("traffic,area=q1,source=cam-01 note=")
            .expect("the prefix");
        let (read, after) = read_lp_string(rest);
        assert_eq!(read, original);
        assert_eq!(after, " 1795309200000000000\n");
    }
}

#[test]
fn tags_and_field_keys_escape_commas_equals_and_spaces() {
    let msg = reading(
        Domain::Traffic,
        "q 1,a=b",
        "cam=1 x",
        T0,
        &[("speed kmh,x=y", Value::Number(1.0))],
    );
    assert_eq!(
        lp(&[msg]),
        "traffic,area=q\\ 1\\,a\\=b,source=cam\\=1\\ x speed\\ kmh\\,x\\=y=1 1795309200000000000\n"
    );
}

#[test]
fn what_line_protocol_cannot_carry_is_refused() {
    let bad = [
        reading(Domain::Env, "q1\\", "s", T0, &[("a", Value::Number(1.0))]),
        reading(Domain::Env, "q1", "s\nx", T0, &[("a", Value::Number(1.0))]),
        reading(Domain::Env, "", "s", T0, &[("a", Value::Number(1.0))]),
        reading(Domain::Env, "q1", "s", T0, &[("a\tb", Value::Number(1.0))]),
        reading(
            Domain::Env,
            "q1",
            "s",
            T0,
            &[("a", Value::Number(f64::NAN))],
        ),
        reading(
            Domain::Env,
            "q1",
            "s",
            T0,
            &[("a", Value::Number(f64::INFINITY))],
        ),
        reading(Domain::Env, "q1", "s", T0, &[]),
        reading(
            Domain::Env,
            "q1",
            "s",
            i64::MAX / 1000,
            &[("a", Value::Number(1.0))],
        ),
    ];
    for msg in bad {
        assert!(
            line_protocol(std::slice::from_ref(&msg)).is_err(),
            "{msg:?}"
        );
    }
}

#[test]
fn complaints_and_dossiers_carry_their_fields() {
    let c = complaint_msg("hotline-1022", "PA-2026-118204", "received", T0);
    let c_ns = T0 * MS + event_offset_ns("PA-2026-118204");
    assert_eq!(
        lp(&[c]),
        format!(
            "complaint,area=q3,source=hotline-1022 id=\"PA-2026-118204\",status=\"received\",\
             category=\"flooding\",channel=\"hotline\",ward=\"Phường Võ Thị Sáu\",\
             due=1795600800000i,lat=10.781,lon=106.689 {c_ns}\n"
        )
    );
    let d_ns = T0 * MS + event_offset_ns("HS-000.00.23.H29-261122-0042");
    assert_eq!(
        lp(&[dossier_msg()]),
        format!(
            "service,area=go-vap,source=portal-dvc id=\"HS-000.00.23.H29-261122-0042\",\
             service=\"Cấp giấy phép xây dựng nhà ở riêng lẻ\",agency=\"UBND Quận Gò Vấp\",\
             status=\"done\",online=true,due=1795395600000i {d_ns}\n"
        )
    );
    // Optional fields absent: not written.
    let bare = Message {
        body: Body::Event(Event::Complaint(Complaint {
            id: "PA-1".into(),
            category: "traffic".into(),
            channel: "app".into(),
            status: "assigned".into(),
            ward: None,
            due: None,
            lat: None,
            lon: None,
        })),
        ..complaint_msg("app", "PA-1", "assigned", T0)
    };
    let ns = T0 * MS + event_offset_ns("PA-1");
    assert_eq!(
        lp(&[bare]),
        format!(
            "complaint,area=q3,source=app id=\"PA-1\",status=\"assigned\",category=\"traffic\",\
             channel=\"app\" {ns}\n"
        )
    );
}

/// The offset must never change: a replay from the spool after an upgrade has to land on
/// the points it wrote before. These are FNV-1a's published values.
#[test]
fn event_offsets_are_fnv1a_and_below_one_millisecond() {
    assert_eq!(
        event_offset_ns(""),
        (0xcbf2_9ce4_8422_2325u64 % 1_000_000) as i64
    );
    assert_eq!(
        event_offset_ns("a"),
        (0xaf63_dc4c_8601_ec8cu64 % 1_000_000) as i64
    );
    assert_eq!(
        event_offset_ns("foobar"),
        (0x8594_4171_f739_67e8u64 % 1_000_000) as i64
    );
    for id in ["PA-1", "PA-2", "HS-000.00.23.H29-261122-0042", "Mã hồ sơ"] {
        assert!((0..MS).contains(&event_offset_ns(id)));
    }
}

#[test]
fn events_stay_apart_and_duplicates_stay_together() {
    let time_of = |m: &Message| -> i64 {
        let line = lp(std::slice::from_ref(m));
        line.trim_end()
            .rsplit(' ')
            .next()
            .and_then(|t| t.parse().ok())
            .expect("a timestamp")
    };
    let a = complaint_msg("hotline-1022", "PA-2026-000001", "received", T0);
    let b = complaint_msg("hotline-1022", "PA-2026-000002", "received", T0);
    let a_later = complaint_msg("hotline-1022", "PA-2026-000001", "assigned", T0 + 60_000);
    // Two complaints of one source in one millisecond: two points.
    assert_ne!(time_of(&a), time_of(&b));
    // Both read back as the same millisecond.
    assert_eq!(time_of(&a).div_euclid(MS), T0);
    assert_eq!(time_of(&b).div_euclid(MS), T0);
    // One complaint's status changes: separate points, a minute apart exactly.
    assert_eq!(time_of(&a_later) - time_of(&a), 60_000 * MS);
    // A duplicate: the same line, so the same point.
    let duplicate = a.clone();
    assert_eq!(lp(&[a]), lp(&[duplicate]));
}

// --- Flux text ---------------------------------------------------------------------------------

/// Splits Flux text into its skeleton (every string literal replaced by `<S>`) and the values
/// of its string literals, by the Flux spec's escapes. Panics on an interpolation (`${`
/// unescaped) inside a literal, or an escape the spec does not have: then a user's string
/// would be code.
fn flux_lex(text: &str) -> (String, Vec<String>) {
    let mut skeleton = String::new();
    let mut literals = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            skeleton.push(c);
            continue;
        }
        let mut bytes = Vec::new();
        loop {
            let c = chars.next().expect("unterminated string literal");
            match c {
                '"' => break,
                '$' if chars.peek() == Some(&'{') => panic!("interpolation in {text}"),
                '\\' => match chars.next().expect("dangling escape") {
                    'n' => bytes.push(b'\n'),
                    'r' => bytes.push(b'\r'),
                    't' => bytes.push(b'\t'),
                    '"' => bytes.push(b'"'),
                    '\\' => bytes.push(b'\\'),
                    '$' => {
                        assert_eq!(chars.next(), Some('{'), "\\$ must be \\${{");
                        bytes.extend_from_slice(b"${");
                    }
                    'x' => {
                        let hex: String = chars.by_ref().take(2).collect();
                        bytes.push(u8::from_str_radix(&hex, 16).expect("two hex digits"));
                    }
                    other => panic!("escape \\{other} is not Flux"),
                },
                c => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        skeleton.push_str("<S>");
        literals.push(String::from_utf8(bytes).expect("UTF-8"));
    }
    (skeleton, literals)
}

fn aqi_query(source: Option<&str>) -> HistoryQuery {
    HistoryQuery {
        domain: Domain::Env,
        area: "q1".into(),
        source: source.map(str::to_owned),
        field: "aqi".into(),
        from: T0 + 12_345,
        to: T0 + 12_345 + 3_600_000,
        points: 4,
    }
}

#[test]
fn history_flux_of_one_source() {
    assert_eq!(
        history_flux("ioc", &aqi_query(Some("aqs-q1-01"))),
        r#"data = from(bucket: "ioc")
    |> range(start: 2026-11-22T01:00:12.345Z, stop: 2026-11-22T02:00:12.345Z)
    |> filter(fn: (r) => r._measurement == "env" and r._field == "aqi" and r.area == "q1" and r.source == "aqs-q1-01")
    |> toFloat()
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: min, createEmpty: false, timeSrc: "_start") |> yield(name: "min")
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: mean, createEmpty: false, timeSrc: "_start") |> yield(name: "mean")
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: max, createEmpty: false, timeSrc: "_start") |> yield(name: "max")
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: count, createEmpty: false, timeSrc: "_start") |> yield(name: "count")
"#
    );
}

#[test]
fn history_flux_pools_the_sources_of_an_area() {
    assert_eq!(
        history_flux("ioc", &aqi_query(None)),
        r#"data = from(bucket: "ioc")
    |> range(start: 2026-11-22T01:00:12.345Z, stop: 2026-11-22T02:00:12.345Z)
    |> filter(fn: (r) => r._measurement == "env" and r._field == "aqi" and r.area == "q1")
    |> toFloat()
    |> group(columns: ["_measurement", "_field", "area"])
    |> sort(columns: ["_time"])
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: min, createEmpty: false, timeSrc: "_start") |> yield(name: "min")
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: mean, createEmpty: false, timeSrc: "_start") |> yield(name: "mean")
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: max, createEmpty: false, timeSrc: "_start") |> yield(name: "max")
data |> aggregateWindow(every: 900000ms, offset: 12345ms, fn: count, createEmpty: false, timeSrc: "_start") |> yield(name: "count")
"#
    );
}

#[test]
fn hostile_strings_stay_inside_their_flux_literals() {
    let hostile_field = r#"aqi" or true) |> drop(columns: ["area"]) //"#;
    let hostile_area = "q1\\\") |> yield(name: \"${r.area}\")\n|> ${x}";
    let hostile_source = "a\"b\\\"c$${d}\t\u{1b}[31m\u{85}Đ";
    let hostile_bucket = "io\"c\\";
    let hostile = HistoryQuery {
        field: hostile_field.into(),
        area: hostile_area.into(),
        source: Some(hostile_source.into()),
        ..aqi_query(None)
    };
    let benign = aqi_query(Some("aqs-q1-01"));
    let (skeleton, literals) = flux_lex(&history_flux(hostile_bucket, &hostile));
    let (benign_skeleton, _) = flux_lex(&history_flux("ioc", &benign));
    // The same program: only the values of the string literals differ...
    assert_eq!(skeleton, benign_skeleton);
    // ...and they are exactly what was asked for.
    assert_eq!(
        &literals[..5],
        [
            hostile_bucket,
            "env",
            hostile_field,
            hostile_area,
            hostile_source
        ]
    );
    // No user string outside a literal.
    for s in ["drop(", "yield(name: \"$", "${r.area}", "[31m"] {
        assert!(!skeleton.contains(s), "{s} in {skeleton}");
    }
}

#[test]
fn windows_never_exceed_the_points_asked_for() {
    for (span, points) in [
        (1, 1),
        (1, 1000),
        (999, 1000),
        (1000, 1000),
        (1001, 1000),
        (3_600_000, 7),
        (604_800_000, 300),
        (604_800_001, 300),
        (31_536_000_000, 365),
        (i64::MAX / 4, u32::MAX),
    ] {
        let w = window_ms(T0, T0.saturating_add(span), points);
        assert!(w >= 1);
        let windows = (span + w - 1) / w;
        assert!(
            windows <= i64::from(points),
            "span {span}, points {points}: {windows}"
        );
        // And not wider than needed.
        assert!(w == 1 || (span + w - 2) / (w - 1) > i64::from(points));
    }
    assert_eq!(window_ms(T0, T0, 10), 1);
    assert_eq!(window_ms(T0, T0 + 3_600_000, 0), 3_600_000);
}

#[test]
fn latest_and_events_flux_read_the_right_measurements() {
    assert_eq!(
        latest_flux("ioc"),
        r#"from(bucket: "ioc")
    |> range(start: -604800000ms, stop: 3660000ms)
    |> filter(fn: (r) => r._measurement == "traffic" or r._measurement == "env" or r._measurement == "flood" or r._measurement == "system")
    |> last()
"#
    );
    assert_eq!(
        events_flux("ioc", T0),
        r#"from(bucket: "ioc")
    |> range(start: 2026-11-22T01:00:00.000Z, stop: 3660000ms)
    |> filter(fn: (r) => r._measurement == "complaint" or r._measurement == "service")
"#
    );
}

// --- Config ------------------------------------------------------------------------------------

#[test]
fn config_has_defaults_and_never_shows_the_token() {
    let config: InfluxConfig =
        toml::from_str("url = \"http://influx.ioc.local:8086\"\ntoken = \"s3cr3t-t0ken\"\n")
            .expect("a config");
    assert_eq!(config.url, "http://influx.ioc.local:8086");
    assert_eq!(config.org, "ioc");
    assert_eq!(config.bucket, "ioc");
    assert_eq!(config.timeout_ms, 10_000);
    assert_eq!(config.token.expose(), "s3cr3t-t0ken");
    let shown = format!("{config:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("Secret(<redacted>)"), "{shown}");
    let store = InfluxStore::new(&config).expect("a store");
    let shown = format!("{store:?}");
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("influx.ioc.local"), "{shown}");
    assert!(toml::from_str::<InfluxConfig>("tokn = \"x\"").is_err());
}

#[test]
fn unusable_configs_are_refused_before_anything_is_sent() {
    let with = |f: &dyn Fn(&mut InfluxConfig)| {
        let mut c = InfluxConfig::default();
        f(&mut c);
        InfluxStore::new(&c).map(|_| ())
    };
    assert!(with(&|_| {}).is_ok());
    for url in ["influx.local:8086/", "http//influx:8086", "http://", ""] {
        assert!(
            matches!(
                with(&|c| c.url = url.into()),
                Err(InfluxSetupError::BadUrl { .. } | InfluxSetupError::NotHttp(_))
            ),
            "{url}"
        );
    }
    assert!(matches!(
        with(&|c| c.url = "https://influx:8086".into()),
        Err(InfluxSetupError::NotHttp(_))
    ));
    assert!(matches!(
        with(&|c| c.url = "http://influx:8086/prefix".into()),
        Err(InfluxSetupError::HasPath(_))
    ));
    assert!(matches!(
        with(&|c| c.org.clear()),
        Err(InfluxSetupError::Empty("org"))
    ));
    assert!(matches!(
        with(&|c| c.bucket.clear()),
        Err(InfluxSetupError::Empty("bucket"))
    ));
    assert!(matches!(
        with(&|c| c.timeout_ms = 0),
        Err(InfluxSetupError::ZeroTimeout)
    ));
}

// --- Recorded responses ------------------------------------------------------------------------

/// What the fake InfluxDB answers.
#[derive(Debug, Clone)]
enum Reply {
    /// 200 with annotated CSV.
    Csv(String),
    /// A status with a JSON body.
    Status(u16, String),
    /// Nothing, ever.
    Never,
}

#[derive(Debug, Default)]
struct Seen {
    /// The Flux of each query.
    flux: Vec<String>,
    /// The URL query string of each query request.
    query_params: Vec<String>,
    /// The URL query string and the body of each write request.
    writes: Vec<(String, String)>,
    /// The `Authorization` header of every request.
    auth: Vec<Option<String>>,
}

/// An InfluxDB 2 stand-in on a loopback port: answers `/api/v2/query` and `/api/v2/write`
/// as told, and keeps what it was sent.
struct Fake {
    url: String,
    seen: Arc<Mutex<Seen>>,
}

impl Fake {
    async fn start(query: Reply, write: Reply) -> Fake {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let query_seen = seen.clone();
        let write_seen = seen.clone();
        let app = Router::new()
            .route(
                "/api/v2/query",
                post(
                    move |RawQuery(params): RawQuery, headers: HeaderMap, body: String| {
                        let seen = query_seen.clone();
                        let reply = query.clone();
                        async move {
                            let json: serde_json::Value =
                                serde_json::from_str(&body).expect("a JSON query request");
                            {
                                let mut seen = seen.lock().expect("lock");
                                seen.flux
                                    .push(json["query"].as_str().expect("query").to_owned());
                                seen.query_params.push(params.unwrap_or_default());
                                seen.auth.push(auth(&headers));
                            }
                            answer(reply).await
                        }
                    },
                ),
            )
            .route(
                "/api/v2/write",
                post(
                    move |RawQuery(params): RawQuery, headers: HeaderMap, body: String| {
                        let seen = write_seen.clone();
                        let reply = write.clone();
                        async move {
                            {
                                let mut seen = seen.lock().expect("lock");
                                seen.writes.push((params.unwrap_or_default(), body));
                                seen.auth.push(auth(&headers));
                            }
                            answer(reply).await
                        }
                    },
                ),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake {
            url: format!("http://{addr}"),
            seen,
        }
    }

    fn store(&self, timeout_ms: u64) -> InfluxStore {
        InfluxStore::new(&InfluxConfig {
            url: self.url.clone(),
            org: "ioc-org".into(),
            bucket: "ioc".into(),
            token: Token::new("t0ken"),
            timeout_ms,
        })
        .expect("a store")
    }

    fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().expect("lock"))
    }
}

fn auth(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

async fn answer(reply: Reply) -> Response {
    match reply {
        Reply::Csv(body) => {
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], body).into_response()
        }
        Reply::Status(code, body) => (
            StatusCode::from_u16(code).expect("a status"),
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response(),
        Reply::Never => std::future::pending().await,
    }
}

/// Annotated CSV as InfluxDB 2 sends it: CRLF line ends, a blank line between results.
fn csv(text: &str) -> String {
    text.lines()
        .map(str::trim_start)
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n"
}

/// A free loopback port with nothing listening on it.
fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

fn test_batch() -> Vec<Message> {
    vec![
        reading(
            Domain::Env,
            "q1",
            "aqs-q1-01",
            T0,
            &[
                ("aqi", Value::Number(87.0)),
                ("pm25_ugm3", Value::Number(31.5)),
            ],
        ),
        reading(
            Domain::System,
            "city",
            "portal-dvc",
            T0 + 5_000,
            &[
                ("up", Value::Bool(true)),
                ("latency_ms", Value::Number(182.0)),
            ],
        ),
        complaint_msg("hotline-1022", "PA-2026-118204", "received", T0),
        dossier_msg(),
    ]
}

#[tokio::test]
async fn a_batch_is_one_write_request_in_ns_with_the_token() {
    let fake = Fake::start(Reply::Never, Reply::Status(204, String::new())).await;
    let store = fake.store(5_000);
    let batch = test_batch();
    store.write(&batch).await.expect("written");
    store.write(&[]).await.expect("nothing to write");
    fake.seen(|seen| {
        assert_eq!(
            seen.writes.len(),
            1,
            "one request, none for the empty batch"
        );
        let (params, body) = &seen.writes[0];
        assert_eq!(params, "bucket=ioc&org=ioc-org&precision=ns");
        assert_eq!(body, &lp(&batch));
        assert_eq!(body.lines().count(), batch.len());
        assert_eq!(seen.auth, [Some("Token t0ken".to_owned())]);
    });
}

#[tokio::test]
async fn write_statuses_map_to_rejected_or_unavailable() {
    let invalid =
        r#"{"code":"invalid","message":"unable to parse 'env,area=q1 aqi=': missing field value"}"#;
    let cases = [
        (
            400,
            invalid,
            Some("invalid: unable to parse 'env,area=q1 aqi=': missing field value"),
        ),
        (
            422,
            r#"{"code":"unprocessable entity","message":"failure writing points to database: partial write: points beyond retention policy dropped=1"}"#,
            Some("points beyond retention policy"),
        ),
        (
            429,
            r#"{"code":"too many requests","message":"org ioc-org has exceeded limited_write plan limit"}"#,
            None,
        ),
        (
            500,
            r#"{"code":"internal error","message":"unexpected error writing points to database: timeout"}"#,
            None,
        ),
        (
            503,
            r#"{"code":"unavailable","message":"service unavailable"}"#,
            None,
        ),
        (
            401,
            r#"{"code":"unauthorized","message":"unauthorized access"}"#,
            None,
        ),
        (
            404,
            r#"{"code":"not found","message":"bucket \"ioc\" not found"}"#,
            None,
        ),
    ];
    for (status, body, rejected) in cases {
        let fake = Fake::start(Reply::Never, Reply::Status(status, body.into())).await;
        let err = fake
            .store(5_000)
            .write(&test_batch())
            .await
            .expect_err("an error");
        match (rejected, &err) {
            (Some(expected), StoreError::Rejected { reason }) => {
                assert!(reason.contains(expected), "{status}: {reason}");
                assert!(reason.contains(&status.to_string()), "{reason}");
            }
            (
                None,
                StoreError::Unavailable {
                    reason,
                    retry_after_ms: None,
                },
            ) => {
                assert!(reason.contains(&status.to_string()), "{reason}");
            }
            _ => panic!("HTTP {status}: {err:?}"),
        }
    }
}

#[tokio::test]
async fn a_write_without_answer_times_out_as_unavailable() {
    let fake = Fake::start(Reply::Never, Reply::Never).await;
    let store = fake.store(300);
    let started = Instant::now();
    let err = store.write(&test_batch()).await.expect_err("a timeout");
    assert_eq!(
        err,
        StoreError::Unavailable {
            reason: "InfluxDB did not answer within 300 ms".into(),
            retry_after_ms: None,
        }
    );
    assert!(started.elapsed().as_millis() >= 300);
    assert_eq!(fake.seen(|s| s.writes.len()), 1);
}

#[tokio::test]
async fn a_server_that_is_down_is_unavailable() {
    let store = InfluxStore::new(&InfluxConfig {
        url: dead_url(),
        ..InfluxConfig::default()
    })
    .expect("a store");
    match store.write(&test_batch()).await {
        Err(StoreError::Unavailable {
            reason,
            retry_after_ms: None,
        }) => assert!(reason.starts_with("cannot reach InfluxDB"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        store.latest().await,
        Err(StoreError::Unavailable { .. })
    ));
}

#[tokio::test]
async fn an_unencodable_batch_is_rejected_without_a_request() {
    let fake = Fake::start(Reply::Never, Reply::Status(204, String::new())).await;
    let mut batch = test_batch();
    batch.push(reading(
        Domain::Env,
        "q1\\",
        "s",
        T0,
        &[("aqi", Value::Number(1.0))],
    ));
    match fake.store(5_000).write(&batch).await {
        Err(StoreError::Rejected { reason }) => assert!(reason.contains("q1\\\\"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.seen(|s| s.writes.len()), 0);
}

/// What InfluxDB 2 answered to the Flux of `history_flux` for one source: each aggregate
/// its own result, `count` a table of longs, the window at 01:30 empty.
const HISTORY_ONE_SOURCE: &str = "\
    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,mean,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:00:00Z,85.25,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:15:00Z,90,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:45:00Z,101.5,aqi,env,q1,aqs-q1-01

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,long,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,count,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:00:00Z,4,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:15:00Z,1,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:45:00Z,2,aqi,env,q1,aqs-q1-01

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,min,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:00:00Z,80,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:15:00Z,90,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:45:00Z,99,aqi,env,q1,aqs-q1-01

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,max,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:00:00Z,91,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:15:00Z,90,aqi,env,q1,aqs-q1-01
    ,,0,2026-11-22T01:00:00Z,2026-11-22T02:00:00Z,2026-11-22T01:45:00Z,104,aqi,env,q1,aqs-q1-01
";

fn hour_of_aqi(source: Option<&str>, points: u32) -> HistoryQuery {
    HistoryQuery {
        from: T0,
        to: T0 + 3_600_000,
        points,
        ..aqi_query(source)
    }
}

#[tokio::test]
async fn history_reads_the_recorded_answer() {
    let fake = Fake::start(Reply::Csv(csv(HISTORY_ONE_SOURCE)), Reply::Never).await;
    let q = hour_of_aqi(Some("aqs-q1-01"), 4);
    let buckets = fake.store(5_000).history(&q).await.expect("buckets");
    assert_eq!(
        buckets,
        [
            Bucket {
                t: T0,
                min: 80.0,
                mean: 85.25,
                max: 91.0,
                count: 4
            },
            Bucket {
                t: T0 + 900_000,
                min: 90.0,
                mean: 90.0,
                max: 90.0,
                count: 1
            },
            Bucket {
                t: T0 + 2_700_000,
                min: 99.0,
                mean: 101.5,
                max: 104.0,
                count: 2
            },
        ]
    );
    fake.seen(|seen| {
        assert_eq!(seen.flux, [history_flux("ioc", &q)]);
        assert!(seen.flux[0].contains("every: 900000ms, offset: 0ms"));
        assert_eq!(seen.query_params, ["org=ioc-org"]);
        assert_eq!(seen.auth, [Some("Token t0ken".to_owned())]);
    });
}

#[tokio::test]
async fn history_pooled_and_cut_to_the_points_asked_for() {
    // Pooled: no source column. One window more than asked for, which must not come back.
    let answer = HISTORY_ONE_SOURCE
        .replace(",area,source", ",area")
        .replace(",q1,aqs-q1-01", ",q1")
        .replace(
            "#group,false,false,true,true,false,false,true,true,true,true",
            "#group,false,false,true,true,false,false,true,true,true",
        )
        .replace("#default,mean,,,,,,,,,", "#default,mean,,,,,,,,")
        .replace("#default,count,,,,,,,,,", "#default,count,,,,,,,,")
        .replace("#default,min,,,,,,,,,", "#default,min,,,,,,,,")
        .replace("#default,max,,,,,,,,,", "#default,max,,,,,,,,")
        .replace(",string,string,string,string", ",string,string,string");
    let fake = Fake::start(Reply::Csv(csv(&answer)), Reply::Never).await;
    let q = hour_of_aqi(None, 2);
    let buckets = fake.store(5_000).history(&q).await.expect("buckets");
    assert_eq!(
        buckets.iter().map(|b| (b.t, b.count)).collect::<Vec<_>>(),
        [(T0, 4), (T0 + 900_000, 1)]
    );
    fake.seen(|seen| {
        assert_eq!(seen.flux, [history_flux("ioc", &q)]);
        assert!(seen.flux[0].contains("group(columns: [\"_measurement\", \"_field\", \"area\"])"));
        assert!(!seen.flux[0].contains("r.source"));
    });
}

#[tokio::test]
async fn history_of_nothing_sends_nothing() {
    let fake = Fake::start(Reply::Never, Reply::Never).await;
    let store = fake.store(5_000);
    let empty = HistoryQuery {
        to: T0,
        from: T0,
        ..aqi_query(None)
    };
    assert_eq!(store.history(&empty).await, Ok(Vec::new()));
    let no_points = HistoryQuery {
        points: 0,
        ..aqi_query(None)
    };
    assert_eq!(store.history(&no_points).await, Ok(Vec::new()));
    let beyond = HistoryQuery {
        to: i64::MAX,
        ..aqi_query(None)
    };
    assert!(matches!(
        store.history(&beyond).await,
        Err(StoreError::Query(_))
    ));
    assert_eq!(fake.seen(|s| s.flux.len()), 0);
}

/// What `last()` returns: one table per series, one block per value type. The source
/// aqs-q1-01's temp_c is older than its newest reading (87 and 31.5 at 01:00).
const LATEST: &str = r#"
    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,_result,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,0,2026-11-15T01:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00Z,87,aqi,env,q1,aqs-q1-01
    ,,1,2026-11-15T01:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00Z,31.5,pm25_ugm3,env,q1,aqs-q1-01
    ,,2,2026-11-15T01:00:00Z,2026-11-22T02:01:00Z,2026-11-22T00:55:00Z,31.2,temp_c,env,q1,aqs-q1-01
    ,,3,2026-11-15T01:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:05Z,182,latency_ms,system,city,portal-dvc
    ,,4,2026-11-15T01:00:00Z,2026-11-22T02:01:00Z,2026-11-22T00:59:30.5Z,18.5,speed_kmh,traffic,thu-duc,cam-xa-lo-ha-noi-03

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,boolean,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,_result,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,5,2026-11-15T01:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:05Z,true,up,system,city,portal-dvc

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,_result,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,6,2026-11-15T01:00:00Z,2026-11-22T02:01:00Z,2026-11-22T00:59:30.5Z,"kẹt xe, ""nặng"" \ hướng Thủ Đức",note,traffic,thu-duc,cam-xa-lo-ha-noi-03
"#;

#[tokio::test]
async fn latest_rebuilds_each_sources_newest_reading() {
    let fake = Fake::start(Reply::Csv(csv(LATEST.trim_start())), Reply::Never).await;
    let got = fake.store(5_000).latest().await.expect("readings");
    let expected = [
        Message {
            seq: None,
            ..reading(
                Domain::Traffic,
                "thu-duc",
                "cam-xa-lo-ha-noi-03",
                T0 - 29_500,
                &[
                    ("speed_kmh", Value::Number(18.5)),
                    (
                        "note",
                        Value::Text(r#"kẹt xe, "nặng" \ hướng Thủ Đức"#.into()),
                    ),
                ],
            )
        },
        Message {
            seq: None,
            ..reading(
                Domain::Env,
                "q1",
                "aqs-q1-01",
                T0,
                &[
                    ("aqi", Value::Number(87.0)),
                    ("pm25_ugm3", Value::Number(31.5)),
                ],
            )
        },
        Message {
            seq: None,
            ..reading(
                Domain::System,
                "city",
                "portal-dvc",
                T0 + 5_000,
                &[
                    ("latency_ms", Value::Number(182.0)),
                    ("up", Value::Bool(true)),
                ],
            )
        },
    ];
    assert_eq!(got, expected);
    fake.seen(|seen| assert_eq!(seen.flux, [latest_flux("ioc")]));
}

/// Two complaints of one source in one millisecond (their id offsets apart), a dossier, and
/// a point without the fields of a complaint (left out).
const EVENTS: &str = r#"
    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,string,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,_result,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,0,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,flooding,category,complaint,q3,hotline-1022
    ,,0,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000932Z,urban_order,category,complaint,q3,hotline-1022
    ,,1,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,hotline,channel,complaint,q3,hotline-1022
    ,,1,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000932Z,hotline,channel,complaint,q3,hotline-1022
    ,,2,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,PA-2026-118204,id,complaint,q3,hotline-1022
    ,,2,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000932Z,PA-2026-118205,id,complaint,q3,hotline-1022
    ,,3,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,received,status,complaint,q3,hotline-1022
    ,,3,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000932Z,received,status,complaint,q3,hotline-1022
    ,,3,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T00:30:00Z,resolved,status,complaint,q3,hotline-1022
    ,,4,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,"Phường Võ Thị Sáu, ""Quận 3""",ward,complaint,q3,hotline-1022
    ,,5,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000123Z,UBND Quận Gò Vấp,agency,service,go-vap,portal-dvc
    ,,6,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000123Z,HS-000.00.23.H29-261122-0042,id,service,go-vap,portal-dvc
    ,,7,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000123Z,Cấp giấy phép xây dựng nhà ở riêng lẻ,service,service,go-vap,portal-dvc
    ,,8,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000123Z,done,status,service,go-vap,portal-dvc

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,long,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,_result,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,9,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,1795600800000,due,complaint,q3,hotline-1022
    ,,10,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000123Z,1795395600000,due,service,go-vap,portal-dvc

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,_result,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,11,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,10.781,lat,complaint,q3,hotline-1022
    ,,12,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000417Z,106.689,lon,complaint,q3,hotline-1022

    #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,boolean,string,string,string,string
    #group,false,false,true,true,false,false,true,true,true,true
    #default,_result,,,,,,,,,
    ,result,table,_start,_stop,_time,_value,_field,_measurement,area,source
    ,,13,2026-11-22T00:00:00Z,2026-11-22T02:01:00Z,2026-11-22T01:00:00.000123Z,true,online,service,go-vap,portal-dvc
"#;

#[tokio::test]
async fn events_since_rebuilds_every_event() {
    let fake = Fake::start(Reply::Csv(csv(EVENTS.trim_start())), Reply::Never).await;
    let since = T0 - 3_600_000;
    let got = fake.store(5_000).events_since(since).await.expect("events");
    let mut first = complaint_msg("hotline-1022", "PA-2026-118204", "received", T0);
    if let Body::Event(Event::Complaint(c)) = &mut first.body {
        c.ward = Some(r#"Phường Võ Thị Sáu, "Quận 3""#.into());
    }
    let second = Message {
        body: Body::Event(Event::Complaint(Complaint {
            id: "PA-2026-118205".into(),
            category: "urban_order".into(),
            channel: "hotline".into(),
            status: "received".into(),
            ward: None,
            due: None,
            lat: None,
            lon: None,
        })),
        ..complaint_msg("hotline-1022", "PA-2026-118205", "received", T0)
    };
    assert!(got.windows(2).all(|w| w[0].ts <= w[1].ts), "oldest first");
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got.contains(&first), "{got:#?}");
    assert!(got.contains(&second), "{got:#?}");
    assert!(got.contains(&dossier_msg()), "{got:#?}");
    fake.seen(|seen| assert_eq!(seen.flux, [events_flux("ioc", since)]));
}

#[tokio::test]
async fn query_errors_map_to_query_or_unavailable() {
    let compile_error = r#"{"code":"invalid","message":"compilation failed: error @2:5-2:10: undefined identifier x"}"#;
    let runtime_error = csv(r#"#datatype,string,string
        #group,true,true
        #default,,
        ,error,reference
        ,"runtime error @4:8-4:17: toFloat: cannot convert string ""high"" to float",
        "#);
    let bad_number = csv("#datatype,string,long,dateTime:RFC3339,double,string
        #group,false,false,false,false,true
        #default,min,,,,
        ,result,table,_time,_value,_field
        ,,0,2026-11-22T01:00:00Z,not-a-number,aqi");
    let q = hour_of_aqi(None, 4);
    type Check = fn(&StoreError) -> bool;
    let cases: [(Reply, Check); 5] = [
        (
            Reply::Status(400, compile_error.into()),
            |e| matches!(e, StoreError::Query(m) if m.contains("undefined identifier x")),
        ),
        (
            Reply::Csv(runtime_error),
            |e| matches!(e, StoreError::Query(m) if m.contains("cannot convert string \"high\"")),
        ),
        (Reply::Csv(bad_number), |e| {
            matches!(e, StoreError::Query(_))
        }),
        (
            Reply::Status(503, r#"{"code":"unavailable","message":"too busy"}"#.into()),
            |e| matches!(e, StoreError::Unavailable { reason, .. } if reason.contains("503")),
        ),
        (
            Reply::Never,
            |e| matches!(e, StoreError::Unavailable { reason, .. } if reason.contains("300 ms")),
        ),
    ];
    for (reply, expected) in cases {
        let timeout_ms = if matches!(reply, Reply::Never) {
            300
        } else {
            5_000
        };
        let fake = Fake::start(reply.clone(), Reply::Never).await;
        let err = fake
            .store(timeout_ms)
            .history(&q)
            .await
            .expect_err("an error");
        assert!(expected(&err), "{reply:?}: {err:?}");
    }
}

#[test]
fn server_messages_are_read_from_json_or_taken_as_they_are() {
    assert_eq!(
        server_message(r#"{"code":"invalid","message":"bad line"}"#),
        "invalid: bad line"
    );
    assert_eq!(server_message(r#"{"message":"bad line"}"#), "bad line");
    assert_eq!(server_message("  plain text\n"), "plain text");
    assert_eq!(server_message(""), "(no message)");
    let long = "ư".repeat(5_000);
    assert_eq!(server_message(&long).chars().count(), MAX_MESSAGE_CHARS + 1);
}

#[test]
fn decoded_values_keep_their_types() {
    assert_eq!(
        protocol_value(&FluxValue::Bool(false)),
        Some(Value::Bool(false))
    );
    assert_eq!(
        protocol_value(&FluxValue::Long(3)),
        Some(Value::Number(3.0))
    );
    assert_eq!(
        protocol_value(&FluxValue::String("Đ".into())),
        Some(Value::Text("Đ".into()))
    );
    assert_eq!(protocol_value(&FluxValue::Unknown), None);
}

#[tokio::test]
async fn readings_since_groups_the_fields_of_each_point() {
    // The recorded answer of `latest` serves here: its points are readings too.
    let fake = Fake::start(Reply::Csv(csv(LATEST.trim_start())), Reply::Never).await;
    let since = T0 - 13 * 3_600_000;
    let got = fake
        .store(5_000)
        .readings_since(Domain::Env, since)
        .await
        .expect("readings");
    let env: Vec<&Message> = got
        .iter()
        .filter(|m| m.topic.domain == Domain::Env)
        .collect();
    // Two points of the station: 00:55 (temperature) and 01:00 (AQI and PM2.5), oldest first.
    assert_eq!(env.len(), 2, "{got:#?}");
    assert_eq!(env[0].ts, T0 - 300_000);
    let Body::Reading(first) = &env[0].body else {
        panic!()
    };
    assert_eq!(first.keys().collect::<Vec<_>>(), ["temp_c"]);
    let Body::Reading(second) = &env[1].body else {
        panic!()
    };
    assert_eq!(second["aqi"], Value::Number(87.0));
    assert_eq!(second["pm25_ugm3"], Value::Number(31.5));
    fake.seen(|seen| {
        assert_eq!(seen.flux, [readings_flux("ioc", Domain::Env, since)]);
        assert!(seen.flux[0].contains(r#"r._measurement == "env""#));
    });
}
