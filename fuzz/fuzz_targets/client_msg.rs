//! What a browser may send over `/ws`: the server decodes it as the websocket reader does
//! (text, then JSON); any input gives a message or an error, never a panic.
#![no_main]

use ioc_protocol::ClientMsg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(msg) = serde_json::from_str::<ClientMsg>(text) {
        let again = serde_json::to_string(&msg).expect("serialises");
        assert_eq!(serde_json::from_str::<ClientMsg>(&again).ok(), Some(msg));
    }
});
