//! Public services: the day's dossiers by agency, by area and for the city (received, done on
//! time, returned, backlog, overdue, online share), and the platforms' health and availability.

use std::collections::BTreeMap;

use ioc_protocol::live::{PlatformFigure, ServiceCounts, ServiceFigures};
use ioc_protocol::{Domain, Reading, Topic, Value};

use super::{Figures, fresh, local_midnight_ms, ratio};

/// A dossier's statuses in the order it goes through them (a tie in time goes to the later).
pub(super) const DOSSIER_ORDER: [&str; 4] = ["received", "processing", "done", "returned"];
/// The statuses of a dossier still open.
pub(super) const DOSSIER_OPEN: [&str; 2] = ["received", "processing"];

/// Platform health readings of the day.
#[derive(Debug, Clone, Default)]
pub(super) struct Uptime {
    day: i64,
    up: u32,
    total: u32,
}

impl Figures {
    /// Takes in a platform's reading (they report under `system`) newer than its last: its
    /// `up` counts towards the day's availability.
    pub(super) fn platform_reading(&mut self, t: &Topic, ts: i64, values: &Reading) {
        if let Some(up) = values.get("up").and_then(Value::as_number) {
            let day = local_midnight_ms(ts);
            let u = match self.uptime.get_mut(&t.source) {
                Some(u) => u,
                None => self.uptime.entry(t.source.clone()).or_default(),
            };
            if u.day != day {
                *u = Uptime {
                    day,
                    ..Uptime::default()
                };
            }
            u.total += 1;
            u.up += u32::from(up > 0.5);
        }
    }

    pub(super) fn services(&self, now: i64) -> ServiceFigures {
        let today = local_midnight_ms(now);
        #[derive(Default)]
        struct Acc {
            c: ServiceCounts,
            online: u32,
        }
        impl Acc {
            fn add(&mut self, o: &Acc) {
                self.c.received += o.c.received;
                self.c.done += o.c.done;
                self.c.done_on_time += o.c.done_on_time;
                self.c.returned += o.c.returned;
                self.c.backlog += o.c.backlog;
                self.c.overdue += o.c.overdue;
                self.online += o.online;
            }
        }
        let mut city = Acc::default();
        let mut agencies: BTreeMap<String, Acc> = BTreeMap::new();
        let mut areas: BTreeMap<String, Acc> = BTreeMap::new();
        for d in self.dossiers.values() {
            let status = d.status(&DOSSIER_ORDER);
            let received_today = d.at("received").is_some_and(|t| t >= today);
            let done = d.at("done").filter(|t| *t >= today);
            let returned = d.at("returned").is_some_and(|t| t >= today);
            let open = DOSSIER_OPEN.contains(&status);
            let overdue = open && d.due.is_some_and(|due| due < now);
            let on_time = done.is_some_and(|t| d.due.is_none_or(|due| t <= due));
            let one = Acc {
                c: ServiceCounts {
                    received: u32::from(received_today),
                    done: u32::from(done.is_some()),
                    done_on_time: u32::from(on_time),
                    returned: u32::from(returned),
                    backlog: u32::from(open),
                    overdue: u32::from(overdue),
                    ..ServiceCounts::default()
                },
                online: u32::from(received_today && d.online),
            };
            for acc in [
                &mut city,
                agencies.entry(d.kind.clone()).or_default(),
                areas.entry(d.area.clone()).or_default(),
            ] {
                acc.add(&one);
            }
        }
        let finish = |key: &str, acc: Acc| ServiceCounts {
            key: key.to_owned(),
            online_share: ratio(acc.online, acc.c.received),
            on_time_rate: ratio(acc.c.done_on_time, acc.c.done),
            ..acc.c
        };
        let window = self.window_ms(Domain::System);
        let platforms = self
            .city
            .preset()
            .platforms
            .iter()
            .map(|p| {
                let l = self
                    .sources(Domain::System)
                    .find(|(_, s, _)| *s == p.id)
                    .map(|(_, _, l)| l);
                let today_uptime = self.uptime.get(&p.id).filter(|u| u.day == today);
                PlatformFigure {
                    id: p.id.clone(),
                    up: l.and_then(|l| l.get("up")).map(|v| v > 0.5),
                    latency_ms: l.and_then(|l| l.get("latency_ms")),
                    error_pct: l.and_then(|l| l.get("error_pct")),
                    availability_today: today_uptime.and_then(|u| ratio(u.up, u.total)),
                    fresh: fresh(l.map_or(0, |l| l.ts), now, window),
                }
            })
            .collect();
        ServiceFigures {
            city: finish("city", city),
            agencies: agencies.into_iter().map(|(k, a)| finish(&k, a)).collect(),
            areas: areas.into_iter().map(|(k, a)| finish(&k, a)).collect(),
            platforms,
            fresh: fresh(self.newest_event[1], now, self.window_ms(Domain::Service)),
        }
    }
}
