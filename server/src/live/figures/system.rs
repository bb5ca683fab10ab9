//! The center's own figures: its telemetry sources online and offline (and `/metrics`' view of
//! each), on top of the intake figures the hub measures. A source is online while it is heard
//! from within its domain's window, by the server's clock.

use ioc_protocol::live::SystemFigures;

use super::{Figures, SourceSeen};

/// Offline sources listed by name in the System figures, at most.
const MAX_OFFLINE_LISTED: usize = 50;

impl Figures {
    /// Every telemetry source with the time of its newest reading, when it was last heard
    /// from, and whether that is within its domain's expected interval.
    pub fn sources_seen(&self, now: i64) -> Vec<SourceSeen> {
        self.latest
            .iter()
            .map(|(t, l)| SourceSeen {
                domain: t.domain,
                area: t.area.clone(),
                source: t.source.clone(),
                ts: l.ts,
                heard_at: l.heard_at,
                online: now - l.heard_at <= self.window_ms(t.domain),
                live: l.live,
            })
            .collect()
    }

    /// Online: heard from within the domain's window, by the server's clock.
    pub(super) fn system(&self, now: i64, intake: &SystemFigures) -> SystemFigures {
        let mut online = 0;
        let mut offline = Vec::new();
        for (t, l) in &self.latest {
            if now - l.heard_at <= self.window_ms(t.domain) {
                online += 1;
            } else {
                offline.push(format!("{}/{}/{}", t.domain, t.area, t.source));
            }
        }
        let sources_offline = offline.len() as u32;
        offline.truncate(MAX_OFFLINE_LISTED);
        SystemFigures {
            sources_online: online,
            sources_offline,
            offline,
            ..intake.clone()
        }
    }
}
