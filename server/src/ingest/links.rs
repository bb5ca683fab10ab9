//! The link topology: which connections the server holds to the broker, what each takes
//! (its topic filters) and what it does with it (its [`Role`]): a lone server's one MQTT
//! connection, a replica's two, or the in-process links to the embedded broker that split the
//! city's areas between them, and the one that counts the rest.

use std::collections::HashSet;
use std::sync::Arc;

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
    /// With the embedded broker, beside the [`Role::All`] links that split the city's areas
    /// between them: every message at QoS 0, over the broker's in-process link
    /// ([`super::run_local`]), of which it takes only those
    /// no link's filter matches (an area the city does not have, a topic outside the
    /// contract), so that they are rejected and counted as with one connection.
    Rest,
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
    /// The topic filters: `ioc/v1/#`; `$share/GROUP/ioc/v1/#` for a replica's store;
    /// `ioc/v1/+/AREA/#` for some of the areas for one of several links.
    pub filters: Vec<String>,
    /// This connection's place among those whose acknowledgements the store writer sends
    /// (the index of its client in the writer's list).
    pub link: usize,
    /// For [`Role::Rest`]: the areas the links' filters take (a topic `ioc/v1/+/AREA/...`
    /// with one of them is not its to count).
    pub linked_areas: Arc<HashSet<String>>,
}

impl SubscriberConfig {
    /// The base of the in-process links to the embedded broker ([`SubscriberConfig::links`],
    /// [`super::run_local`]): they need no host, port or credentials.
    pub fn local(client_id: &str, max_packet_bytes: usize) -> SubscriberConfig {
        SubscriberConfig {
            host: String::new(),
            port: 0,
            client_id: client_id.to_owned(),
            username: None,
            password: None,
            max_packet_bytes,
            role: Role::All,
            filters: Vec::new(),
            link: 0,
            linked_areas: Default::default(),
        }
    }

    /// A lone server's one connection.
    pub fn all(self) -> SubscriberConfig {
        SubscriberConfig {
            role: Role::All,
            filters: vec![FILTER_ALL.into()],
            ..self
        }
    }

    /// A lone server's in-process links to its embedded broker ([`super::run_local`]): `n` links
    /// ([`Role::All`]), each with the filters `ioc/v1/+/AREA/#` of its share of `areas`, and
    /// one [`Role::Rest`] for everything else. rumqttd 0.20 lets at most 100 unacknowledged
    /// QoS 1 messages out per connection (`MAX_INFLIGHT`, not configurable), and a message is
    /// acknowledged only once it is durable, so one connection moves at most 100 messages per
    /// store commit; `n` links move `n` times that. A source's messages all go through one
    /// link (its area's), in order. The client ids are the configured one with `-1` to `-n`,
    /// and `-rest`.
    pub fn links(self, areas: &[String], n: usize) -> Vec<SubscriberConfig> {
        let n = n.clamp(1, areas.len().max(1));
        let mut links: Vec<SubscriberConfig> = (0..n)
            .map(|i| SubscriberConfig {
                client_id: format!("{}-{}", self.client_id, i + 1),
                role: Role::All,
                filters: Vec::new(),
                link: i,
                ..self.clone()
            })
            .collect();
        for (i, area) in areas.iter().enumerate() {
            links[i % n]
                .filters
                .push(format!("{}+/{area}/#", ioc_protocol::topic::PREFIX));
        }
        links.push(SubscriberConfig {
            client_id: format!("{}-rest", self.client_id),
            role: Role::Rest,
            filters: vec![FILTER_ALL.into()],
            link: n,
            linked_areas: Arc::new(areas.iter().cloned().collect()),
            ..self
        });
        links
    }

    /// Whether one of the links' filters takes `topic` (see [`SubscriberConfig::links`]).
    pub(crate) fn linked(&self, topic: &str) -> bool {
        let Some(rest) = topic.strip_prefix(ioc_protocol::topic::PREFIX) else {
            return false;
        };
        let mut levels = rest.split('/');
        levels.next().is_some() && levels.next().is_some_and(|a| self.linked_areas.contains(a))
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
            Role::Live | Role::Rest => QoS::AtMostOnce,
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
            linked_areas: Default::default(),
        }
    }

    #[test]
    fn the_links_take_every_message_once_between_them() {
        let areas: Vec<String> = ["q1", "q3", "thu-duc", "go-vap", "city"]
            .map(String::from)
            .into();
        let links = base().links(&areas, 3);
        assert_eq!(links.len(), 4, "3 links and the rest");
        let ids: Vec<&str> = links.iter().map(|l| l.client_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "ioc-server-1",
                "ioc-server-2",
                "ioc-server-3",
                "ioc-server-rest"
            ]
        );
        assert!(links.iter().enumerate().all(|(i, l)| l.link == i));
        let (rest, stores) = links.split_last().expect("links");
        assert!(
            stores
                .iter()
                .all(|l| l.stores() && l.qos() == QoS::AtLeastOnce)
        );
        assert!(!rest.stores() && rest.qos() == QoS::AtMostOnce);
        assert_eq!(rest.filters, [FILTER_ALL]);
        // Each area's filter is in exactly one link.
        let mut filters: Vec<&String> = stores.iter().flat_map(|l| &l.filters).collect();
        filters.sort();
        assert_eq!(
            filters,
            [
                "ioc/v1/+/city/#",
                "ioc/v1/+/go-vap/#",
                "ioc/v1/+/q1/#",
                "ioc/v1/+/q3/#",
                "ioc/v1/+/thu-duc/#"
            ]
        );
        // Whatever the topic, as rumqttd matches filters: one link takes it, or the rest
        // does, never both and never none (else a bad message would go uncounted, or be
        // counted twice).
        for topic in [
            "ioc/v1/env/q1/aqs-01",
            "ioc/v1/traffic/thu-duc/cam-7",
            "ioc/v1/system/city/portal",
            "ioc/v1/weather/q3/x",
            "ioc/v1/env/atlantis/x",
            "ioc/v1/env/Q1/x",
            "ioc/v1/env/q1",
            "ioc/v1/env/q1/a/b",
            "ioc/v1//q1/x",
            "ioc/v1/env",
            "ioc/v1",
            "ioc/v2/env/q1/x",
        ] {
            let by_links = stores
                .iter()
                .filter(|l| {
                    l.filters
                        .iter()
                        .any(|f| rumqttd::protocol::matches(topic, f))
                })
                .count();
            let by_rest = rumqttd::protocol::matches(topic, FILTER_ALL) && !rest.linked(topic);
            let by_any = rumqttd::protocol::matches(topic, FILTER_ALL);
            assert_eq!(
                by_links + usize::from(by_rest),
                usize::from(by_any),
                "{topic}: {by_links} links, rest {by_rest}"
            );
        }
        // No more links than areas.
        assert_eq!(base().links(&areas[..2], 8).len(), 3);
    }
}
