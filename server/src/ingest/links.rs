//! The link topology with an external broker: which connections the server holds to it, what
//! each takes (its topic filters) and what it does with it (its [`Role`]): a lone server's one
//! MQTT connection, or a replica's two. (With no external broker, gateways connect to the
//! server's own endpoint, `super::endpoint`, and there are no links.)

use ioc_protocol::topic::FILTER_ALL;
use rumqttc::QoS;

/// What a subscriber connection does with the messages it receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A lone server: every message to the live picture and to the store, over a persistent
    /// session at QoS 1, acknowledged once durable.
    All,
    /// A replica's store connection: its share of the messages (a shared subscription, each
    /// message to one replica of the group), to the store only; persistent, QoS 1, acknowledged
    /// once durable, as [`Role::All`].
    Store,
    /// A replica's live connection: every message, to the live picture (and the counts and
    /// alerts) only. QoS 0 on a clean session: the screens show the newest state, and the
    /// store connection is the one that must not lose anything.
    Live,
}

/// Where the subscriber connects, as whom, and what for.
#[derive(Debug, Clone)]
pub struct SubscriberConfig {
    pub host: String,
    pub port: u16,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub max_packet_bytes: usize,
    pub role: Role,
    /// The topic filters: `ioc/v1/#`; `$share/GROUP/ioc/v1/#` for a replica's store.
    pub filters: Vec<String>,
    /// This connection's place among those whose acknowledgements the store writer sends
    /// (the index of its client in the writer's list).
    pub link: usize,
}

impl SubscriberConfig {
    /// A lone server's one connection.
    pub fn all(self) -> SubscriberConfig {
        SubscriberConfig {
            role: Role::All,
            filters: vec![FILTER_ALL.into()],
            ..self
        }
    }

    /// A replica's two connections: the store's share under the client id, and the live
    /// picture's under the client id and `-live`.
    pub fn replica(self, group: &str) -> (SubscriberConfig, SubscriberConfig) {
        let live = SubscriberConfig {
            client_id: format!("{}-live", self.client_id),
            role: Role::Live,
            filters: vec![FILTER_ALL.into()],
            ..self.clone()
        };
        let store = SubscriberConfig {
            role: Role::Store,
            filters: vec![format!("$share/{group}/{FILTER_ALL}")],
            ..self
        };
        (store, live)
    }

    /// The QoS this connection subscribes at: at most 1, so that what it receives comes at
    /// QoS 0 or 1.
    pub(crate) fn qos(&self) -> QoS {
        match self.role {
            Role::All | Role::Store => QoS::AtLeastOnce,
            Role::Live => QoS::AtMostOnce,
        }
    }

    /// Whether what this connection receives goes to the store, acknowledged once durable.
    pub(crate) fn stores(&self) -> bool {
        matches!(self.role, Role::All | Role::Store)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SubscriberConfig {
        SubscriberConfig {
            host: "127.0.0.1".into(),
            port: 1883,
            client_id: "ioc-server".into(),
            username: None,
            password: None,
            max_packet_bytes: 1 << 20,
            role: Role::All,
            filters: Vec::new(),
            link: 0,
        }
    }

    #[test]
    fn a_replica_stores_its_share_and_shows_everything() {
        let (store, live) = base().replica("ioc");
        assert_eq!(store.filters, ["$share/ioc/ioc/v1/#"]);
        assert!(store.stores() && store.qos() == QoS::AtLeastOnce);
        assert_eq!(live.client_id, "ioc-server-live");
        assert_eq!(live.filters, [FILTER_ALL]);
        assert!(!live.stores() && live.qos() == QoS::AtMostOnce);
        let all = base().all();
        assert!(all.stores() && all.filters == [FILTER_ALL]);
    }
}
