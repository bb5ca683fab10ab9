//! The topic parser: any string gives a topic or an error, never a panic; a topic it accepts
//! prints back as the same string.
#![no_main]

use ioc_protocol::Topic;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(topic) = Topic::parse(text) {
        assert_eq!(topic.to_string(), text);
    }
});
