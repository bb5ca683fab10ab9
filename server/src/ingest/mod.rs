//! Ingest: where the gateways' messages come in, and what happens to each on its way to the
//! store and the live hub.
//!
//! The stage, in order:
//! 1. **Ways in.** The embedded broker ([`broker`], rumqttd) or an external one; the server
//!    reads it over in-process links (`local`, [`run_local`]) or MQTT connections (`mqtt`,
//!    [`run_subscriber`]), laid out by `links` ([`SubscriberConfig`], [`Role`]). HTTP ingest
//!    (`POST /api/v1/ingest`) is the third way in. `connect` starts them ([`connect`],
//!    [`Ways`]).
//! 2. **Decoding → gateway grant → counting** (`intake`, [`Intake`]): each message is decoded
//!    and validated by the contract, checked against what its gateway is granted, and counted
//!    in `stats` ([`IngestStats`]: accepted, rejected with the reason, lost from `seq` gaps).
//! 3. **Hand-on**: an accepted message goes to the live hub and the alerts at once, and to the
//!    store writer with what acknowledges it (`intake`'s per-link `LinkIntake`, in the order
//!    messages came). The writer calls the acknowledgement back once the message is durable:
//!    through the link's [`LinkAcker`](crate::store::writer::LinkAcker) (the rumqttc client,
//!    or the in-process link's [`broker::LocalAcker`]), or the HTTP request's answer.

pub mod broker;
mod connect;
mod intake;
mod links;
mod local;
mod mqtt;
mod stats;

pub use connect::{EMBEDDED_BROKER_LINKS, Started, Ways, connect};
pub use intake::Intake;
pub use links::{Role, SubscriberConfig};
pub use local::run_local;
pub use mqtt::{disconnect, mqtt_client, run_subscriber};
pub use stats::{IngestStats, RejectedMessage, RejectedReport, Sequences};
