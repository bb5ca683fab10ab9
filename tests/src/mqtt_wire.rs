//! MQTT packets written byte by byte, for the tests that speak to the embedded endpoint as the
//! standard's own examples do (a CONNECT with keep-alive 0, a second CONNECT, a foreign
//! protocol name), which no client library lets one send.

/// A packet: its first byte, the remaining length (1 to 4 bytes of 7 bits), the body.
pub fn packet(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut len = body.len();
    loop {
        let mut b = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            b |= 0x80;
        }
        out.push(b);
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

/// Appends a length-prefixed field (a string or binary data) to `body`.
pub fn field(body: &mut Vec<u8>, f: &[u8]) {
    body.extend_from_slice(&(f.len() as u16).to_be_bytes());
    body.extend_from_slice(f);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remaining_lengths_take_as_many_bytes_as_the_standard_says() {
        assert_eq!(packet(0xC0, &[]), [0xC0, 0]);
        assert_eq!(packet(0x30, &[0; 127])[..2], [0x30, 127]);
        assert_eq!(packet(0x30, &[0; 128])[..3], [0x30, 0x80, 1]);
        assert_eq!(packet(0x30, &[0; 16_384])[..4], [0x30, 0x80, 0x80, 1]);
    }
}
