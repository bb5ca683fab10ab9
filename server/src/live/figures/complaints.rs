//! Complaints: the day's received, resolved, open and overdue ones by area and for the city,
//! the on-time rate, and the day's counts by category and by channel.

use std::collections::BTreeMap;

use ioc_protocol::Domain;
use ioc_protocol::live::{ComplaintCounts, ComplaintFigures};

use super::{Figures, fresh, local_midnight_ms, ratio};

/// A complaint's statuses in the order it goes through them (a tie in time goes to the later).
pub(super) const COMPLAINT_ORDER: [&str; 5] = [
    "received",
    "assigned",
    "in_progress",
    "resolved",
    "rejected",
];
/// The statuses of a complaint still open.
pub(super) const COMPLAINT_OPEN: [&str; 3] = ["received", "assigned", "in_progress"];

impl Figures {
    pub(super) fn complaints(&self, now: i64) -> ComplaintFigures {
        let today = local_midnight_ms(now);
        let mut city = ComplaintCounts {
            area: "city".into(),
            ..ComplaintCounts::default()
        };
        let mut areas: BTreeMap<String, ComplaintCounts> = self
            .city
            .areas
            .iter()
            .map(|a| {
                (
                    a.code.clone(),
                    ComplaintCounts {
                        area: a.code.clone(),
                        ..ComplaintCounts::default()
                    },
                )
            })
            .collect();
        let mut on_time: BTreeMap<String, (u32, u32)> = BTreeMap::new();
        let mut by_category = BTreeMap::new();
        let mut by_channel = BTreeMap::new();
        for c in self.complaints.values() {
            let status = c.status(&COMPLAINT_ORDER);
            let received_today = c.at("received").is_some_and(|t| t >= today);
            let resolved = c.at("resolved").filter(|t| *t >= today);
            let open = COMPLAINT_OPEN.contains(&status);
            let overdue = open && c.due.is_some_and(|d| d < now);
            for counts in [Some(&mut city), areas.get_mut(&c.area)]
                .into_iter()
                .flatten()
            {
                counts.received += u32::from(received_today);
                counts.resolved += u32::from(resolved.is_some());
                counts.open += u32::from(open);
                counts.in_progress += u32::from(status == "in_progress");
                counts.overdue += u32::from(overdue);
            }
            if let (Some(at), Some(due)) = (resolved, c.due) {
                for key in ["city", c.area.as_str()] {
                    let e = on_time.entry(key.to_owned()).or_default();
                    e.0 += u32::from(at <= due);
                    e.1 += 1;
                }
            }
            if received_today {
                *by_category.entry(c.kind.clone()).or_insert(0) += 1;
                *by_channel.entry(c.channel.clone()).or_insert(0) += 1;
            }
        }
        let rate = |key: &str| on_time.get(key).and_then(|(ok, n)| ratio(*ok, *n));
        city.on_time_rate = rate("city");
        let areas = areas
            .into_values()
            .map(|mut a| {
                a.on_time_rate = rate(&a.area);
                a.per_10k = self
                    .city
                    .preset()
                    .area(&a.area)
                    .filter(|p| p.population > 0)
                    .map(|p| f64::from(a.received) * 10_000.0 / f64::from(p.population));
                a
            })
            .collect();
        ComplaintFigures {
            city,
            areas,
            by_category,
            by_channel,
            fresh: fresh(self.newest_event[0], now, self.window_ms(Domain::Complaint)),
        }
    }
}
