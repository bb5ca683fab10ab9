//! The MQTT wire of the endpoint: the protocol level read from a connection's CONNECT, then
//! rumqttc's packet codec for MQTT 3.1.1 (`mqttbytes::v4`) or MQTT 5 (`v5::mqttbytes::v5`),
//! behind the two small enums the session needs ([`Incoming`], [`Outgoing`]). rumqttc's codec
//! is a client's, so the checks a server must make that it does not (the CONNECT's reserved
//! flag, a password without a user name, wildcards in a PUBLISH's topic) are made here.

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::{self as m4, QoS, v4};
use rumqttc::v5::mqttbytes::{self as m5, v5};

/// The protocol a connection speaks, from its CONNECT's protocol level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// MQTT 3.1.1 (level 4).
    V4,
    /// MQTT 5 (level 5).
    V5,
}

/// A CONNECT, as the session needs it.
#[derive(Debug, Clone)]
pub(crate) struct Connect {
    pub(crate) client_id: String,
    /// Clean session (3.1.1) or clean start (5).
    pub(crate) clean: bool,
    /// Seconds; 0 turns keep-alive off.
    pub(crate) keep_alive: u16,
    pub(crate) login: Option<(String, String)>,
    pub(crate) will: Option<Will>,
    /// MQTT 5's Session Expiry Interval (seconds; 0 when absent, as the standard says). For
    /// 3.1.1, a session that is not clean persists.
    pub(crate) session_expiry_s: u32,
    /// MQTT 5's Maximum Packet Size the client accepts.
    pub(crate) max_packet: Option<u32>,
}

/// A will: published for a client that goes away without DISCONNECT.
#[derive(Debug, Clone)]
pub(crate) struct Will {
    pub(crate) topic: String,
    pub(crate) payload: Bytes,
}

/// What a client sends, as the session needs it.
#[derive(Debug)]
pub(crate) enum Incoming {
    Connect(Box<Connect>),
    Publish {
        qos: u8,
        pkid: u16,
        topic: String,
        payload: Bytes,
    },
    /// QoS 2's release: answered with PUBCOMP.
    PubRel(u16),
    Subscribe {
        pkid: u16,
        filters: Vec<(String, bool)>,
    },
    Unsubscribe {
        pkid: u16,
        filters: Vec<String>,
    },
    PingReq,
    /// DISCONNECT; `with_will` for MQTT 5's reason 0x04.
    Disconnect {
        with_will: bool,
    },
    /// Acknowledgements of what the endpoint sends (it sends at QoS 0, so none are expected,
    /// and none matter).
    Ignored,
}

/// Why a CONNECT is refused, in each version's code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    BadClientId,
    ServerUnavailable,
    BadLogin,
    NotAuthorized,
}

/// What the endpoint sends.
#[derive(Debug, Clone)]
pub(crate) enum Outgoing {
    ConnAck {
        refused: Option<Refusal>,
        session_present: bool,
        /// MQTT 5: the id the server gave a client that sent an empty one.
        assigned_id: Option<String>,
        /// MQTT 5: the Receive Maximum and Maximum Packet Size the server takes.
        receive_max: u16,
        max_packet: u32,
    },
    PubAck(u16),
    PubRec(u16),
    PubComp(u16),
    SubAck {
        pkid: u16,
        granted: Vec<bool>,
    },
    UnsubAck {
        pkid: u16,
        count: usize,
    },
    PingResp,
    /// A message relayed to a subscriber, at QoS 0.
    Publish {
        topic: String,
        payload: Bytes,
    },
    /// MQTT 5's DISCONNECT from the server, with its reason code (nothing is sent for 3.1.1).
    Disconnect(u8),
}

/// MQTT 5's DISCONNECT reason codes the endpoint sends.
pub(crate) mod reason {
    pub(crate) const PROTOCOL_ERROR: u8 = 0x82;
    pub(crate) const MALFORMED: u8 = 0x81;
    pub(crate) const KEEP_ALIVE_TIMEOUT: u8 = 0x8D;
    pub(crate) const SESSION_TAKEN_OVER: u8 = 0x8E;
    pub(crate) const SHUTTING_DOWN: u8 = 0x8B;
    pub(crate) const PACKET_TOO_LARGE: u8 = 0x95;
    pub(crate) const TOPIC_NAME_INVALID: u8 = 0x90;
    pub(crate) const QOS_NOT_SUPPORTED: u8 = 0x9B;
}

/// Why a connection's bytes cannot be taken.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WireError {
    #[error("the first packet is not a CONNECT")]
    NotConnect,
    #[error("protocol {name:?} level {level} is not MQTT 3.1.1 or 5")]
    UnsupportedVersion { name: String, level: u8 },
    #[error("malformed packet: {0}")]
    Malformed(String),
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    #[error("packet larger than {0} bytes")]
    TooLarge(usize),
}

impl WireError {
    /// The MQTT 5 DISCONNECT reason for this error.
    pub(crate) fn reason(&self) -> u8 {
        match self {
            WireError::TooLarge(_) => reason::PACKET_TOO_LARGE,
            WireError::Malformed(_) => reason::MALFORMED,
            _ => reason::PROTOCOL_ERROR,
        }
    }
}

/// Reads the protocol level of the CONNECT at the start of `buf`: `Ok(None)` until enough
/// bytes are in. Also checks the CONNECT's flags as 3.1.1 and 5 require (reserved bit 0,
/// will QoS, will flags without a will; in 3.1.1, a password without a user name).
pub(crate) fn sniff(buf: &[u8]) -> Result<Option<Version>, WireError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    if first != 0x10 {
        return Err(WireError::NotConnect);
    }
    // The remaining length: 1 to 4 bytes of 7 bits each.
    let mut at = 1;
    loop {
        let Some(&b) = buf.get(at) else {
            return Ok(None);
        };
        at += 1;
        if b & 0x80 == 0 {
            break;
        }
        if at > 4 {
            return Err(WireError::Malformed("remaining length".into()));
        }
    }
    let Some(len) = buf.get(at..at + 2) else {
        return Ok(None);
    };
    let name_len = u16::from_be_bytes([len[0], len[1]]) as usize;
    let Some(name) = buf.get(at + 2..at + 2 + name_len) else {
        return Ok(None);
    };
    let (Some(&level), Some(&flags)) = (buf.get(at + 2 + name_len), buf.get(at + 3 + name_len))
    else {
        return Ok(None);
    };
    let version = match (name, level) {
        (b"MQTT", 4) => Version::V4,
        (b"MQTT", 5) => Version::V5,
        _ => {
            return Err(WireError::UnsupportedVersion {
                name: String::from_utf8_lossy(name).into_owned(),
                level,
            });
        }
    };
    let will = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 0x03;
    let will_retain = flags & 0x20 != 0;
    if flags & 0x01 != 0 {
        return Err(WireError::Malformed(
            "CONNECT's reserved flag is set".into(),
        ));
    }
    if will_qos == 3 || (!will && (will_qos != 0 || will_retain)) {
        return Err(WireError::Malformed("CONNECT's will flags".into()));
    }
    if version == Version::V4 && flags & 0x40 != 0 && flags & 0x80 == 0 {
        return Err(WireError::Malformed(
            "a password without a user name (MQTT 3.1.1)".into(),
        ));
    }
    Ok(Some(version))
}

/// Reads the next whole packet from `buf` (taking its bytes), or `Ok(None)` until one is in.
pub(crate) fn read(
    version: Version,
    buf: &mut BytesMut,
    max_packet: usize,
) -> Result<Option<Incoming>, WireError> {
    match version {
        Version::V4 => match v4::Packet::read(buf, max_packet) {
            Ok(p) => from_v4(p).map(Some),
            Err(m4::Error::InsufficientBytes(_)) => Ok(None),
            Err(m4::Error::PayloadSizeLimitExceeded(_)) => Err(WireError::TooLarge(max_packet)),
            Err(e) => Err(WireError::Malformed(e.to_string())),
        },
        Version::V5 => match v5::Packet::read(buf, Some(max_packet as u32)) {
            Ok(p) => from_v5(p).map(Some),
            Err(m5::Error::InsufficientBytes(_)) => Ok(None),
            Err(m5::Error::PayloadSizeLimitExceeded { .. }) => Err(WireError::TooLarge(max_packet)),
            Err(e) => Err(WireError::Malformed(e.to_string())),
        },
    }
}

fn qos_u8(q: QoS) -> u8 {
    q as u8
}

fn publish(qos: u8, pkid: u16, topic: String, payload: Bytes) -> Result<Incoming, WireError> {
    if !ioc_protocol::filter::is_valid_topic(&topic) {
        return Err(WireError::Protocol(
            "a PUBLISH's topic is empty or has a wildcard",
        ));
    }
    Ok(Incoming::Publish {
        qos,
        pkid,
        topic,
        payload,
    })
}

fn from_v4(p: v4::Packet) -> Result<Incoming, WireError> {
    Ok(match p {
        v4::Packet::Connect(c) => Incoming::Connect(Box::new(Connect {
            client_id: c.client_id,
            clean: c.clean_session,
            keep_alive: c.keep_alive,
            login: c.login.map(|l| (l.username, l.password)),
            will: match c.last_will {
                Some(w) => Some(Will {
                    topic: w.topic,
                    payload: w.message,
                }),
                None => None,
            },
            session_expiry_s: 0,
            max_packet: None,
        })),
        v4::Packet::Publish(p) => publish(qos_u8(p.qos), p.pkid, p.topic, p.payload)?,
        v4::Packet::PubRel(r) => Incoming::PubRel(r.pkid),
        v4::Packet::Subscribe(s) => Incoming::Subscribe {
            pkid: s.pkid,
            filters: s.filters.into_iter().map(|f| (f.path, false)).collect(),
        },
        v4::Packet::Unsubscribe(u) => Incoming::Unsubscribe {
            pkid: u.pkid,
            filters: u.topics,
        },
        v4::Packet::PingReq => Incoming::PingReq,
        v4::Packet::Disconnect => Incoming::Disconnect { with_will: false },
        v4::Packet::PubAck(_) | v4::Packet::PubRec(_) | v4::Packet::PubComp(_) => Incoming::Ignored,
        v4::Packet::ConnAck(_)
        | v4::Packet::SubAck(_)
        | v4::Packet::UnsubAck(_)
        | v4::Packet::PingResp => return Err(WireError::Protocol("a packet only servers send")),
    })
}

fn from_v5(p: v5::Packet) -> Result<Incoming, WireError> {
    Ok(match p {
        v5::Packet::Connect(c, will, login) => {
            let props = c.properties.unwrap_or_default();
            Incoming::Connect(Box::new(Connect {
                client_id: c.client_id,
                clean: c.clean_start,
                keep_alive: c.keep_alive,
                login: login.map(|l| (l.username, l.password)),
                will: match will {
                    Some(w) => Some(Will {
                        topic: String::from_utf8(w.topic.to_vec())
                            .map_err(|_| WireError::Malformed("will topic not UTF-8".into()))?,
                        payload: w.message,
                    }),
                    None => None,
                },
                session_expiry_s: props.session_expiry_interval.unwrap_or(0),
                max_packet: props.max_packet_size,
            }))
        }
        v5::Packet::Publish(p) => {
            if p.properties
                .as_ref()
                .is_some_and(|pr| pr.topic_alias.is_some())
            {
                // The CONNACK said Topic Alias Maximum 0.
                return Err(WireError::Protocol("a topic alias (none are taken)"));
            }
            let topic = String::from_utf8(p.topic.to_vec())
                .map_err(|_| WireError::Malformed("topic not UTF-8".into()))?;
            publish(p.qos as u8, p.pkid, topic, p.payload)?
        }
        v5::Packet::PubRel(r) => Incoming::PubRel(r.pkid),
        v5::Packet::Subscribe(s) => Incoming::Subscribe {
            pkid: s.pkid,
            filters: s.filters.into_iter().map(|f| (f.path, f.nolocal)).collect(),
        },
        v5::Packet::Unsubscribe(u) => Incoming::Unsubscribe {
            pkid: u.pkid,
            filters: u.filters,
        },
        v5::Packet::PingReq(_) => Incoming::PingReq,
        v5::Packet::Disconnect(d) => Incoming::Disconnect {
            with_will: d.reason_code == v5::DisconnectReasonCode::DisconnectWithWillMessage,
        },
        v5::Packet::PubAck(_) | v5::Packet::PubRec(_) | v5::Packet::PubComp(_) => Incoming::Ignored,
        v5::Packet::Auth(_) => return Err(WireError::Protocol("AUTH (no enhanced auth)")),
        v5::Packet::ConnAck(_)
        | v5::Packet::SubAck(_)
        | v5::Packet::UnsubAck(_)
        | v5::Packet::PingResp(_) => return Err(WireError::Protocol("a packet only servers send")),
    })
}

/// Appends `packet` to `buf` in `version`'s encoding. A packet larger than the client's
/// Maximum Packet Size (`max`) is not written: false.
pub(crate) fn write(version: Version, packet: &Outgoing, buf: &mut BytesMut, max: usize) -> bool {
    match version {
        Version::V4 => write_v4(packet, buf, max),
        Version::V5 => write_v5(packet, buf, max),
    }
}

fn write_v4(packet: &Outgoing, buf: &mut BytesMut, max: usize) -> bool {
    let p = match packet {
        Outgoing::ConnAck {
            refused,
            session_present,
            ..
        } => v4::Packet::ConnAck(v4::ConnAck::new(
            match refused {
                None => v4::ConnectReturnCode::Success,
                Some(Refusal::BadClientId) => v4::ConnectReturnCode::BadClientId,
                Some(Refusal::ServerUnavailable) => v4::ConnectReturnCode::ServiceUnavailable,
                Some(Refusal::BadLogin) => v4::ConnectReturnCode::BadUserNamePassword,
                Some(Refusal::NotAuthorized) => v4::ConnectReturnCode::NotAuthorized,
            },
            *session_present && refused.is_none(),
        )),
        Outgoing::PubAck(pkid) => v4::Packet::PubAck(v4::PubAck::new(*pkid)),
        Outgoing::PubRec(pkid) => v4::Packet::PubRec(v4::PubRec::new(*pkid)),
        Outgoing::PubComp(pkid) => v4::Packet::PubComp(v4::PubComp::new(*pkid)),
        Outgoing::SubAck { pkid, granted } => v4::Packet::SubAck(v4::SubAck::new(
            *pkid,
            granted
                .iter()
                .map(|&ok| match ok {
                    true => v4::SubscribeReasonCode::Success(QoS::AtMostOnce),
                    false => v4::SubscribeReasonCode::Failure,
                })
                .collect(),
        )),
        Outgoing::UnsubAck { pkid, .. } => v4::Packet::UnsubAck(v4::UnsubAck::new(*pkid)),
        Outgoing::PingResp => v4::Packet::PingResp,
        Outgoing::Publish { topic, payload } => v4::Packet::Publish(v4::Publish::from_bytes(
            topic.as_str(),
            QoS::AtMostOnce,
            payload.clone(),
        )),
        // 3.1.1 has no DISCONNECT from the server: the connection just closes.
        Outgoing::Disconnect(_) => return true,
    };
    p.write(buf, max).is_ok()
}

fn write_v5(packet: &Outgoing, buf: &mut BytesMut, max: usize) -> bool {
    let p = match packet {
        Outgoing::ConnAck {
            refused,
            session_present,
            assigned_id,
            receive_max,
            max_packet,
        } => v5::Packet::ConnAck(v5::ConnAck {
            session_present: *session_present && refused.is_none(),
            code: match refused {
                None => v5::ConnectReturnCode::Success,
                Some(Refusal::BadClientId) => v5::ConnectReturnCode::ClientIdentifierNotValid,
                Some(Refusal::ServerUnavailable) => v5::ConnectReturnCode::QuotaExceeded,
                Some(Refusal::BadLogin) => v5::ConnectReturnCode::BadUserNamePassword,
                Some(Refusal::NotAuthorized) => v5::ConnectReturnCode::NotAuthorized,
            },
            properties: refused.is_none().then(|| v5::ConnAckProperties {
                session_expiry_interval: None,
                receive_max: Some(*receive_max),
                // Subscribers get QoS 0 only; publishers may use any QoS (a server that
                // says Maximum QoS 1 would refuse QoS 2 publishers, which it takes).
                max_qos: None,
                retain_available: Some(0),
                max_packet_size: Some(*max_packet),
                assigned_client_identifier: assigned_id.clone(),
                topic_alias_max: Some(0),
                reason_string: None,
                user_properties: Vec::new(),
                wildcard_subscription_available: Some(1),
                subscription_identifiers_available: Some(0),
                shared_subscription_available: Some(0),
                server_keep_alive: None,
                response_information: None,
                server_reference: None,
                authentication_method: None,
                authentication_data: None,
            }),
        }),
        Outgoing::PubAck(pkid) => v5::Packet::PubAck(v5::PubAck {
            pkid: *pkid,
            reason: v5::PubAckReason::Success,
            properties: None,
        }),
        Outgoing::PubRec(pkid) => v5::Packet::PubRec(v5::PubRec {
            pkid: *pkid,
            reason: v5::PubRecReason::Success,
            properties: None,
        }),
        Outgoing::PubComp(pkid) => v5::Packet::PubComp(v5::PubComp {
            pkid: *pkid,
            reason: v5::PubCompReason::Success,
            properties: None,
        }),
        Outgoing::SubAck { pkid, granted } => v5::Packet::SubAck(v5::SubAck {
            pkid: *pkid,
            return_codes: granted
                .iter()
                .map(|&ok| match ok {
                    true => v5::SubscribeReasonCode::Success(m5::QoS::AtMostOnce),
                    false => v5::SubscribeReasonCode::TopicFilterInvalid,
                })
                .collect(),
            properties: None,
        }),
        Outgoing::UnsubAck { pkid, count } => v5::Packet::UnsubAck(v5::UnsubAck {
            pkid: *pkid,
            reasons: vec![v5::UnsubAckReason::Success; *count],
            properties: None,
        }),
        Outgoing::PingResp => v5::Packet::PingResp(v5::PingResp),
        Outgoing::Publish { topic, payload } => v5::Packet::Publish(v5::Publish {
            dup: false,
            qos: m5::QoS::AtMostOnce,
            retain: false,
            topic: Bytes::copy_from_slice(topic.as_bytes()),
            pkid: 0,
            payload: payload.clone(),
            properties: None,
        }),
        Outgoing::Disconnect(code) => v5::Packet::Disconnect(v5::Disconnect {
            reason_code: disconnect_code(*code),
            properties: None,
        }),
    };
    p.write(buf, Some(max as u32)).is_ok()
}

fn disconnect_code(code: u8) -> v5::DisconnectReasonCode {
    use v5::DisconnectReasonCode as D;
    match code {
        reason::MALFORMED => D::MalformedPacket,
        reason::KEEP_ALIVE_TIMEOUT => D::KeepAliveTimeout,
        reason::SESSION_TAKEN_OVER => D::SessionTakenOver,
        reason::SHUTTING_DOWN => D::ServerShuttingDown,
        reason::PACKET_TOO_LARGE => D::PacketTooLarge,
        reason::TOPIC_NAME_INVALID => D::TopicNameInvalid,
        reason::QOS_NOT_SUPPORTED => D::QoSNotSupported,
        _ => D::ProtocolError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CONNECT as a client writes it, through rumqttc's own encoder.
    fn v4_connect(id: &str, keep_alive: u16, login: Option<(&str, &str)>) -> BytesMut {
        let mut c = v4::Connect::new(id);
        c.keep_alive = keep_alive;
        if let Some((u, p)) = login {
            c.set_login(u, p);
        }
        let mut buf = BytesMut::new();
        v4::Packet::Connect(c).write(&mut buf, 1 << 20).unwrap();
        buf
    }

    #[test]
    fn a_v4_connect_with_keep_alive_0_and_an_empty_id_is_read_whole() {
        let mut buf = v4_connect("", 0, Some(("gw-1", "secret")));
        assert_eq!(sniff(&buf).unwrap(), Some(Version::V4));
        // Not a whole packet yet: nothing, and nothing taken.
        let mut half = BytesMut::from(&buf[..buf.len() - 3]);
        assert!(read(Version::V4, &mut half, 1024).unwrap().is_none());
        let Some(Incoming::Connect(c)) = read(Version::V4, &mut buf, 1024).unwrap() else {
            panic!("not a CONNECT");
        };
        assert_eq!(c.keep_alive, 0);
        assert_eq!(c.client_id, "");
        assert_eq!(c.login, Some(("gw-1".into(), "secret".into())));
        assert!(buf.is_empty());
    }

    #[test]
    fn a_v5_connect_is_told_from_a_v4_one() {
        let mut c = v5::Connect {
            keep_alive: 0,
            client_id: "gw-5".into(),
            clean_start: false,
            properties: Some(v5::ConnectProperties {
                session_expiry_interval: Some(3600),
                ..Default::default()
            }),
        };
        c.keep_alive = 0;
        let mut buf = BytesMut::new();
        v5::Packet::Connect(c, None, None)
            .write(&mut buf, None)
            .unwrap();
        assert_eq!(sniff(&buf).unwrap(), Some(Version::V5));
        let Some(Incoming::Connect(c)) = read(Version::V5, &mut buf, 1024).unwrap() else {
            panic!("not a CONNECT");
        };
        assert_eq!(c.session_expiry_s, 3600);
        assert!(!c.clean);
    }

    #[test]
    fn connects_the_standard_forbids_are_refused_before_decoding() {
        // Reserved flag set.
        let mut bad = v4_connect("x", 10, None);
        bad[9] |= 0x01;
        assert!(matches!(sniff(&bad), Err(WireError::Malformed(_))));
        // A password without a user name, in 3.1.1.
        let mut bad = v4_connect("x", 10, None);
        bad[9] |= 0x40;
        assert!(matches!(sniff(&bad), Err(WireError::Malformed(_))));
        // MQTT 3.1 (MQIsdp, level 3).
        let mut old = vec![0x10, 14, 0, 6];
        old.extend_from_slice(b"MQIsdp");
        old.extend_from_slice(&[3, 2, 0, 10]);
        assert!(matches!(
            sniff(&old),
            Err(WireError::UnsupportedVersion { level: 3, .. })
        ));
        // Not a CONNECT first.
        assert!(matches!(sniff(&[0xC0, 0]), Err(WireError::NotConnect)));
        // Too short to tell: wait.
        assert_eq!(sniff(&[0x10, 12, 0]).unwrap(), None);
    }

    #[test]
    fn a_publish_to_a_wildcard_topic_is_a_protocol_error() {
        let mut buf = BytesMut::new();
        v4::Packet::Publish(v4::Publish::new("ioc/+/x", QoS::AtMostOnce, "{}"))
            .write(&mut buf, 1024)
            .unwrap();
        assert!(matches!(
            read(Version::V4, &mut buf, 1024),
            Err(WireError::Protocol(_))
        ));
    }

    #[test]
    fn an_oversized_packet_is_told_apart() {
        let mut buf = BytesMut::new();
        v4::Packet::Publish(v4::Publish::new("t", QoS::AtMostOnce, vec![b'x'; 2000]))
            .write(&mut buf, 1 << 20)
            .unwrap();
        assert!(matches!(
            read(Version::V4, &mut buf, 1024),
            Err(WireError::TooLarge(1024))
        ));
    }

    #[test]
    fn v5_connack_says_what_the_endpoint_leaves_out() {
        let mut buf = BytesMut::new();
        assert!(write(
            Version::V5,
            &Outgoing::ConnAck {
                refused: None,
                session_present: true,
                assigned_id: None,
                receive_max: 1000,
                max_packet: 262_144,
            },
            &mut buf,
            1 << 20,
        ));
        let Ok(v5::Packet::ConnAck(ack)) = v5::Packet::read(&mut buf, None) else {
            panic!("not a CONNACK");
        };
        let p = ack.properties.unwrap();
        assert_eq!(p.receive_max, Some(1000));
        assert_eq!(p.retain_available, Some(0));
        assert_eq!(p.shared_subscription_available, Some(0));
        assert_eq!(p.topic_alias_max, Some(0));
        assert!(ack.session_present);
    }

    /// Whatever bytes a client sends, the codec answers a packet, "not yet", or an error:
    /// never a panic, and never a packet without taking its bytes. Valid packets of every
    /// kind, flipped at random bytes, truncated and run together, 200,000 times.
    #[test]
    fn arbitrary_bytes_never_panic_the_codec() {
        let mut valid = Vec::new();
        for p in [
            v4::Packet::Connect(v4::Connect::new("gw")),
            v4::Packet::Publish(v4::Publish::new("ioc/v1/env/q1/s", QoS::AtLeastOnce, "{}")),
            v4::Packet::Subscribe(v4::Subscribe::new("ioc/#", QoS::AtMostOnce)),
            v4::Packet::Unsubscribe(v4::Unsubscribe::new("ioc/#")),
            v4::Packet::PubRel(v4::PubRel::new(7)),
            v4::Packet::PingReq,
            v4::Packet::Disconnect,
        ] {
            let mut b = BytesMut::new();
            let mut p = p;
            if let v4::Packet::Publish(publish) = &mut p {
                publish.pkid = 3;
            }
            if let v4::Packet::Subscribe(sub) = &mut p {
                sub.pkid = 4;
            }
            if let v4::Packet::Unsubscribe(u) = &mut p {
                u.pkid = 5;
            }
            p.write(&mut b, 1 << 20).unwrap();
            valid.push(b.to_vec());
        }
        let mut seed = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200_000 {
            let mut bytes = Vec::new();
            for _ in 0..(next() % 3 + 1) {
                bytes.extend_from_slice(&valid[(next() % valid.len() as u64) as usize]);
            }
            for _ in 0..(next() % 4) {
                let i = (next() % bytes.len() as u64) as usize;
                bytes[i] = next() as u8;
            }
            bytes.truncate((next() % (bytes.len() as u64 + 1)) as usize);
            let _ = sniff(&bytes);
            for version in [Version::V4, Version::V5] {
                let mut buf = BytesMut::from(&bytes[..]);
                while let Ok(Some(_)) = read(version, &mut buf, 1024) {
                    assert!(buf.len() < bytes.len(), "a packet took no bytes");
                }
            }
        }
    }
}
