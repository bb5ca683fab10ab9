//! The embedded MQTT broker (rumqttd), for the demo and single-machine installs.
//!
//! rumqttd runs on threads of its own with its own runtimes; `Broker::start` blocks, so it
//! gets a thread. Its console (an unauthenticated HTTP listener on 0.0.0.0:3030 by default)
//! and its Prometheus exporter stay off: the config leaves both out.
//!
//! rumqttd cannot tell us the port it bound, nor whether binding failed (it logs and its
//! thread ends), so we check the address ourselves first and then wait until it accepts.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use rumqttd::local::{LinkRx, LinkTx};
use rumqttd::protocol::{
    Filter, Packet, PubAck, PubAckReason, Publish, QoS, RetainForwardRule, Subscribe,
};
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Errors starting the embedded broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("the embedded MQTT broker cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the embedded MQTT broker did not start listening on {0} within 5 s")]
    NotListening(SocketAddr),
    #[error("cannot start the embedded MQTT broker's thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot open the in-process link to the embedded MQTT broker: {0}")]
    Link(String),
}

/// An in-process connection to the embedded broker (rumqttd's local link): no socket and no
/// MQTT encoding between the broker's router and us. The server's links to the city's areas
/// subscribe at QoS 1 and acknowledge each message once it is durable
/// ([`LocalLink::subscribe`], [`LocalAcker`]); the one that counts what no link takes subscribes
/// at QoS 0 (see `ingest::run_local`).
pub struct LocalLink {
    pub tx: LinkTx,
    pub rx: LinkRx,
}

impl std::fmt::Debug for LocalLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLink").field("rx", &self.rx).finish()
    }
}

impl LocalLink {
    /// Subscribes to `filters` at `qos` (0 or 1). The router answers with a SUBACK on `rx`.
    pub async fn subscribe(&mut self, filters: &[String], qos1: bool) -> Result<(), BrokerError> {
        let filters = filters
            .iter()
            .map(|f| Filter {
                path: f.clone(),
                qos: if qos1 {
                    QoS::AtLeastOnce
                } else {
                    QoS::AtMostOnce
                },
                nolocal: false,
                preserve_retain: false,
                retain_forward_rule: RetainForwardRule::Never,
            })
            .collect();
        self.tx
            .send(Packet::Subscribe(Subscribe { pkid: 0, filters }, None))
            .await
            .map(|_| ())
            .map_err(|e| BrokerError::Link(e.to_string()))
    }
}

/// The packet id of a QoS 1 message the router forwarded (`None` for QoS 0, which is not
/// acknowledged). rumqttd keeps the field to itself; its own serialisation starts with the
/// fixed header's flags and the packet id.
pub fn forward_pkid(publish: &Publish) -> Option<u16> {
    let head = publish.serialize();
    let qos = (head[0] >> 1) & 0b11;
    (qos > 0).then(|| u16::from_be_bytes([head[1], head[2]]))
}

/// Acknowledges QoS 1 messages on a [`LocalLink`], in the order they came: the router takes
/// acknowledgements in order only, and drops the link on one out of order.
pub struct LocalAcker(pub LinkTx);

impl std::fmt::Debug for LocalAcker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LocalAcker")
    }
}

impl LocalAcker {
    /// Acknowledges `pkids`, oldest first, with one wake-up of the router.
    pub async fn ack(&mut self, pkids: &[u16]) -> Result<(), BrokerError> {
        let puback = |pkid| {
            Packet::PubAck(
                PubAck {
                    pkid,
                    reason: PubAckReason::Success,
                },
                None,
            )
        };
        let Some((&last, first)) = pkids.split_last() else {
            return Ok(());
        };
        self.0.buffer().extend(first.iter().map(|&p| puback(p)));
        self.0
            .send(puback(last))
            .await
            .map(|_| ())
            .map_err(|e| BrokerError::Link(e.to_string()))
    }
}

/// Settings of the embedded broker.
#[derive(Clone)]
pub struct EmbeddedBroker {
    pub listen: SocketAddr,
    /// The largest payload a client may publish; larger ones get the client disconnected by
    /// the broker. Above the contract's limit, so that oversized payloads reach ingest and are
    /// counted as `too_large`.
    pub max_payload_bytes: usize,
    /// Who may connect: `None` lets anyone in (gateway auth off).
    pub auth: Option<BrokerAuth>,
    /// The user name and password of the server's own clients (the start-up probe), when
    /// `auth` is on.
    pub own: Option<(String, String)>,
    /// Whether the whole stream (`ioc/v1/#`) is read only by the server's in-process rest
    /// link, which counts what no area's link takes: then the logs of filters other than an
    /// area's ([`AREA_LOGS`]) keep 1 MiB x 8 instead of 4 MiB x 10. Off when replicas read the
    /// whole stream through a shared subscription, which must not miss anything.
    pub small_rest_log: bool,
}

/// The filters whose logs keep 4 MiB x 10 when [`EmbeddedBroker::small_rest_log`] is on:
/// rumqttd overrides the segments of a log whose filter this matches as a topic would, so
/// the areas' `ioc/v1/+/AREA/#` and not `ioc/v1/#`.
pub const AREA_LOGS: &str = "ioc/v1/+/+/#";

const MIB: usize = 1024 * 1024;

/// Checks the user name and password of an MQTT CONNECT.
pub type BrokerAuth = std::sync::Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

impl std::fmt::Debug for EmbeddedBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedBroker")
            .field("listen", &self.listen)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("auth", &self.auth.is_some())
            .field("small_rest_log", &self.small_rest_log)
            .finish()
    }
}

impl EmbeddedBroker {
    /// Starts the broker and returns the address it listens on (a free port when the
    /// configured port is 0), with an in-process link for each of `local_ids` (client ids).
    pub fn start(&self, local_ids: &[String]) -> Result<(SocketAddr, Vec<LocalLink>), BrokerError> {
        let addr = free_addr(self.listen)?;
        let mut v4 = HashMap::new();
        v4.insert(
            "v4".to_owned(),
            ServerSettings {
                name: "ioc-v4".into(),
                listen: addr,
                tls: None,
                next_connection_delay_ms: 1,
                connections: self.connections(),
            },
        );
        let config = Config {
            id: 0,
            router: RouterConfig {
                max_connections: 10_010,
                max_outgoing_packet_count: 200,
                // rumqttd keeps what is published in in-memory logs, one per subscribed filter,
                // delivered or not, and drops a log's oldest segment when it has this many.
                // The server reads over in-process links, one per share of the areas
                // (`ioc/v1/+/AREA/#`, see `ingest::SubscriberConfig::links`) and one on
                // `ioc/v1/#` that counts what no link takes, so every message is in two logs,
                // sharing its bytes. 10 x 4 MiB per area's log: together they hold about what
                // one 1 GiB log of the whole stream did before the links, and a link that falls
                // behind (the store and the spool both refusing) has minutes before rumqttd
                // drops what it has not read ("jumping to head": 16 KiB x 4 lost 680 readings in
                // 3 minutes). In a 14-minute soak at 10,000 readings/s the server's RSS levelled
                // off at 3.4 GB, 0 lost (docs/reliability.md). The rest's log only feeds a
                // count and its link keeps up, so it keeps 1 MiB x 8: its memory is reused
                // instead of every message taking fresh pages for the kernel to zero (8 % less
                // CPU in unpaced runs, docs/performance.md).
                max_segment_size: if self.small_rest_log { MIB } else { 4 * MIB },
                max_segment_count: if self.small_rest_log { 8 } else { 10 },
                custom_segment: self.small_rest_log.then(|| {
                    HashMap::from([(
                        AREA_LOGS.to_owned(),
                        rumqttd::SegmentConfig {
                            max_segment_size: 4 * MIB,
                            max_segment_count: 10,
                        },
                    )])
                }),
                initialized_filters: None,
                shared_subscriptions_strategy: Default::default(),
            },
            v4: Some(v4),
            v5: None,
            ws: None,
            cluster: None,
            console: None,
            bridge: None,
            prometheus: None,
            metrics: None,
        };
        // `Broker::new` starts the router; the local links register with it before the
        // listeners open.
        let mut broker = Broker::new(config);
        let links = local_ids
            .iter()
            .map(|id| {
                let (tx, rx) = broker
                    .link(id)
                    .map_err(|e| BrokerError::Link(e.to_string()))?;
                Ok(LocalLink { tx, rx })
            })
            .collect::<Result<Vec<_>, BrokerError>>()?;
        std::thread::Builder::new()
            .name("mqtt-broker".into())
            .spawn(move || {
                if let Err(e) = broker.start() {
                    tracing::error!(error = %e, "embedded MQTT broker stopped");
                }
            })
            .map_err(BrokerError::Thread)?;
        wait_listening(addr, self.own.as_ref())?;
        tracing::info!(%addr, "embedded MQTT broker listening");
        Ok((addr, links))
    }

    fn connections(&self) -> ConnectionSettings {
        let mut c = ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: self.max_payload_bytes,
            max_inflight_count: 1000,
            auth: None,
            external_auth: None,
            dynamic_filters: true,
        };
        if let Some(check) = self.auth.clone() {
            c.set_auth_handler(move |client_id: String, user: String, pass: String| {
                let ok = check(&user, &pass);
                if !ok {
                    tracing::warn!(client_id, user, "MQTT CONNECT refused: unknown credentials");
                }
                std::future::ready(ok)
            });
        }
        c
    }
}

/// The address itself if it can be bound now, or with port 0, a free port.
fn free_addr(addr: SocketAddr) -> Result<SocketAddr, BrokerError> {
    let l = TcpListener::bind(addr).map_err(|source| BrokerError::Bind { addr, source })?;
    l.local_addr()
        .map_err(|source| BrokerError::Bind { addr, source })
}

/// Waits until the broker answers an MQTT CONNECT with a CONNACK: a real handshake, so that
/// the broker does not log our probe as a broken client.
fn wait_listening(addr: SocketAddr, own: Option<&(String, String)>) -> Result<(), BrokerError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if mqtt_handshake(addr, own).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(BrokerError::NotListening(addr))
}

fn mqtt_handshake(addr: SocketAddr, own: Option<&(String, String)>) -> std::io::Result<()> {
    use std::io::{Read, Write};
    const CLIENT_ID: &[u8] = b"ioc-server-probe";
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    s.set_read_timeout(Some(Duration::from_millis(500)))?;
    // MQTT 3.1.1 CONNECT: protocol name, level 4, clean session (and user name and password
    // when given), keep-alive 5 s, client id.
    let flags = if own.is_some() { 0xC2 } else { 0x02 };
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, flags, 0, 5];
    let field = |body: &mut Vec<u8>, f: &[u8]| {
        body.extend_from_slice(&(f.len() as u16).to_be_bytes());
        body.extend_from_slice(f);
    };
    field(&mut body, CLIENT_ID);
    if let Some((user, password)) = own {
        field(&mut body, user.as_bytes());
        field(&mut body, password.as_bytes());
    }
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend_from_slice(&body);
    s.write_all(&packet)?;
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack)?;
    // DISCONNECT, so the broker closes the probe cleanly; after a moment, since rumqttd's
    // router registers the connection after it sent the CONNACK.
    std::thread::sleep(Duration::from_millis(50));
    s.write_all(&[0xE0, 0])?;
    if connack[0] == 0x20 && connack[3] == 0 {
        Ok(())
    } else {
        Err(std::io::Error::other("broker refused the probe"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rumqttd::Notification;

    #[test]
    fn the_areas_logs_keep_their_size_and_the_rest_s_does_not() {
        use rumqttd::protocol::matches;
        // rumqttd matches each log's filter, as a topic, against the overrides' filters.
        assert!(matches("ioc/v1/+/q1/#", AREA_LOGS));
        assert!(matches("ioc/v1/+/thu-duc/#", AREA_LOGS));
        assert!(!matches("ioc/v1/#", AREA_LOGS));
        assert!(!matches("#", AREA_LOGS));
    }

    #[test]
    fn the_packet_id_of_a_forward_is_read_from_the_publish() {
        // Header (PUBLISH, QoS 1), packet id 42, topic "a/b", payload.
        let mut qos1 = vec![0b0011_0010, 0, 42, 0, 3];
        qos1.extend_from_slice(b"a/b{}");
        assert_eq!(forward_pkid(&Publish::deserialize(qos1.into())), Some(42));
        assert_eq!(forward_pkid(&Publish::new("a/b", "{}", false)), None);
    }

    /// The next forwarded message's packet id and payload, or `None` if nothing comes within
    /// `wait`.
    async fn next_forward(rx: &mut LinkRx, wait: Duration) -> Option<(Option<u16>, String)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, rx.next()).await.ok()? {
                Ok(Some(Notification::Forward(f))) => {
                    let payload = String::from_utf8_lossy(&f.publish.payload).into_owned();
                    return Some((forward_pkid(&f.publish), payload));
                }
                Ok(Some(Notification::Unschedule)) => rx.wake().await.unwrap(),
                Ok(_) => {}
                Err(e) => panic!("the link is gone: {e}"),
            }
        }
    }

    /// The router holds back what a QoS 1 link has not acknowledged (100 messages), and takes
    /// the link's acknowledgements in order: all 250 arrive, in order, and no more than the
    /// window before an acknowledgement.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_qos1_local_link_gets_what_it_acknowledges_and_no_more() {
        let broker = EmbeddedBroker {
            listen: ([127, 0, 0, 1], 0).into(),
            max_payload_bytes: 1024,
            auth: None,
            own: None,
            small_rest_log: true,
        };
        let (addr, mut links) = broker.start(&["test-link".to_owned()]).unwrap();
        let mut link = links.pop().unwrap();
        link.subscribe(&["t/#".to_owned()], true).await.unwrap();
        let LocalLink { tx, mut rx } = link;
        let mut acker = LocalAcker(tx);

        let mut opts =
            rumqttc::MqttOptions::new("test-gateway", addr.ip().to_string(), addr.port());
        opts.set_inflight(500);
        let (client, mut eventloop) = rumqttc::AsyncClient::new(opts, 500);
        let poll = tokio::spawn(async move { while eventloop.poll().await.is_ok() {} });
        // The subscription is in place once the router has answered it.
        while !matches!(rx.next().await, Ok(Some(Notification::DeviceAck(_)))) {}
        for i in 0..250 {
            client
                .publish("t/x", rumqttc::QoS::AtLeastOnce, false, i.to_string())
                .await
                .unwrap();
        }

        let mut got = Vec::new();
        while got.len() < 250 {
            let mut window = Vec::new();
            // The window's first message may take a while on a busy machine; the router
            // sends the rest of it at once.
            let mut wait = Duration::from_secs(10);
            while let Some((pkid, payload)) = next_forward(&mut rx, wait).await {
                wait = Duration::from_millis(300);
                window.push(pkid.expect("forwarded at QoS 1"));
                got.push(payload);
            }
            assert!(
                !window.is_empty(),
                "nothing came after {} messages",
                got.len()
            );
            assert!(
                window.len() <= 100,
                "{} unacknowledged at once",
                window.len()
            );
            acker.ack(&window).await.unwrap();
        }
        let expected: Vec<String> = (0..250).map(|i: i32| i.to_string()).collect();
        assert_eq!(got, expected);
        poll.abort();
    }
}
