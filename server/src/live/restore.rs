//! Restoring the live picture from the store on start: what happened before a restart stays
//! on screen, and the figures that need history (the air stations' NowCast, the gauges' peak
//! of the day, the day's complaints and dossiers) are whole from the first snapshot.
//!
//! Each domain's rule says how far back it reads; a part the store cannot give is logged and
//! left out, and the server starts anyway. The sources read back count as heard at the start
//! ([`Arrival::Restored`]): each has its domain's window from then to report again before it
//! is called offline, so a restart is not a storm of offline alerts while gateways reconnect.

use ioc_protocol::Domain;

use super::Hub;
use super::figures::{Arrival, local_midnight_ms};
use crate::store::Reader;

/// The air stations' readings read back: the official AQI needs the last 12 hours' hourly
/// averages (NowCast), and the hour under way.
const AIR_HOURS_MS: i64 = 13 * 3_600_000;
/// Days of events read back before today's midnight: today's counts need today's, and the
/// open complaints and dossiers (backlog, overdue) may have been received any day the
/// contract accepts (7 days back).
const EVENT_DAYS_MS: i64 = 8 * 86_400_000;

/// Rebuilds the live picture as the store has it at `now_ms`, and publishes it, so that the
/// first browser's snapshot already holds it: the newest reading of every source, the air
/// stations' last 13 hours, the flood gauges' readings since local midnight, and the events
/// of the last 8 days.
pub async fn restore(hub: &Hub, reader: &Reader, now_ms: i64) {
    match reader.latest().await {
        Ok(latest) => {
            let n = latest.len();
            latest
                .iter()
                .for_each(|m| hub.apply_as(m, Arrival::Restored(now_ms)));
            tracing::info!(sources = n, "live picture rebuilt from the store");
        }
        Err(e) => tracing::warn!(error = %e, "cannot rebuild the live picture from the store"),
    }
    match reader
        .readings_since(Domain::Env, now_ms - AIR_HOURS_MS)
        .await
    {
        Ok(readings) => readings
            .iter()
            .for_each(|m| hub.apply_as(m, Arrival::Restored(now_ms))),
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the air stations' last hours from the store")
        }
    }
    // The flood gauges' readings of today: their peak of the day.
    match reader
        .readings_since(Domain::Flood, local_midnight_ms(now_ms))
        .await
    {
        Ok(readings) => readings
            .iter()
            .for_each(|m| hub.apply_as(m, Arrival::Restored(now_ms))),
        Err(e) => tracing::warn!(error = %e, "cannot read today's flood readings from the store"),
    }
    match reader
        .events_since(local_midnight_ms(now_ms) - EVENT_DAYS_MS)
        .await
    {
        Ok(events) => events
            .iter()
            .for_each(|m| hub.apply_as(m, Arrival::Restored(now_ms))),
        Err(e) => tracing::warn!(error = %e, "cannot read today's events from the store"),
    }
    hub.flush();
}
