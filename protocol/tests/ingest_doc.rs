//! Every example of `docs/ingest.md` decodes as the page says: accepted, or rejected with the
//! reason it names. The page is the gateways' reference; this keeps it true.

use ioc_protocol::decode;

/// The examples are written for 2026-11-22 08:00 in Ho Chi Minh City; the server's clock is
/// taken to be 30 minutes later.
const NOW: i64 = 1_795_309_200_000 + 30 * 60 * 1000;

fn known_area(a: &str) -> bool {
    // The 22 areas of the Ho Chi Minh City preset, as the server loads them.
    let preset = include_str!("../presets/hcmc-2022.toml");
    preset.contains(&format!("code = \"{a}\""))
}

#[test]
fn examples_in_docs_ingest_md_hold() {
    let page = include_str!("../../docs/ingest.md");
    let mut checked = 0;
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(spec) = line
            .strip_prefix("<!-- example ")
            .and_then(|s| s.strip_suffix(" -->"))
        else {
            continue;
        };
        let mut words = spec.split_whitespace();
        let topic = words.next().expect("a topic");
        let outcome = words.next().expect("accepted or rejected");
        let reason = words.next();
        assert_eq!(
            lines.next(),
            Some("```json"),
            "example {spec}: a json block follows"
        );
        let payload = lines.next().expect("the payload line");
        assert_eq!(
            lines.next(),
            Some("```"),
            "example {spec}: one line of JSON"
        );
        let result = decode(topic, payload.as_bytes(), NOW, known_area);
        match (outcome, result) {
            ("accepted", Ok(_)) => {}
            ("rejected", Err(e)) => {
                assert_eq!(Some(e.reason.as_str()), reason, "example {spec}: {e}")
            }
            (o, r) => panic!("example {spec}: expected {o}, got {r:?}"),
        }
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} examples found");
}
