//! The payload decoder: any bytes, under a well-formed topic of each domain (the first byte
//! picks it), must give a reading, an event or a rejection with a reason, never a panic. An
//! accepted reading must read back the same once encoded again (the contract's encoding).
#![no_main]

use ioc_protocol::ingest::encode_reading;
use ioc_protocol::{Body, Domain, decode};
use libfuzzer_sys::fuzz_target;

const NOW: i64 = 1_795_282_200_000;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, payload)) = data.split_first() else {
        return;
    };
    let domain = Domain::ALL[usize::from(pick) % Domain::ALL.len()];
    let topic = format!("ioc/v1/{domain}/q1/fuzz-1");
    match decode(&topic, payload, NOW, |a| a == "q1") {
        Ok(msg) => {
            if let Body::Reading(values) = &msg.body {
                let again = encode_reading(msg.ts, msg.seq, values);
                let back = decode(&topic, again.as_bytes(), NOW, |a| a == "q1")
                    .expect("an accepted reading, encoded again, is accepted");
                assert_eq!(back, msg);
            }
        }
        Err(e) => assert!(!e.detail.is_empty()),
    }
});
