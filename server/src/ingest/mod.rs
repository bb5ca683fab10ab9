//! Ingest: where the gateways' messages come in, and what happens to each on its way to the
//! store and the live hub.
//!
//! The stage, in order:
//! 1. **Ways in.** The server's own MQTT endpoint ([`endpoint`]), which gateways connect to
//!    directly, or an external broker read over MQTT connections (`mqtt`, [`run_subscriber`]),
//!    laid out by `links` ([`SubscriberConfig`], [`Role`]). HTTP ingest
//!    (`POST /api/v1/ingest`) is the third way in. `connect` starts them ([`connect`],
//!    [`Ways`]).
//! 2. **Decoding → gateway grant → counting** (`intake`, [`Intake`]): each message is decoded
//!    and validated by the contract, checked against what its gateway is granted, and counted
//!    in `stats` ([`IngestStats`]: accepted, rejected with the reason, lost from `seq` gaps).
//! 3. **Hand-on**: an accepted message goes to the live hub and the alerts at once, and to the
//!    store writer with what acknowledges it (`intake`'s per-link `LinkIntake`, in the order
//!    messages came). The writer calls the acknowledgement back once the message is durable:
//!    through the gateway's connection to the endpoint
//!    ([`SessionAcker`](crate::store::writer::SessionAcker)), the external broker link's
//!    [`LinkAcker`](crate::store::writer::LinkAcker) (the rumqttc client), or the HTTP
//!    request's answer.

mod connect;
pub mod endpoint;
mod intake;
mod links;
mod mqtt;
mod stats;

pub use connect::{Started, Ways, connect};
pub use intake::Intake;
pub use links::{Role, SubscriberConfig};
pub use mqtt::{disconnect, mqtt_client, run_subscriber};
pub use stats::{IngestStats, RejectedMessage, RejectedReport, Sequences};
