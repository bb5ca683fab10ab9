//! Traffic: each corridor's speed and congestion from its sensors, the areas' and the city's,
//! the five worst corridors (hotspots), and the incidents open on them.

use std::collections::BTreeMap;

use ioc_protocol::live::{CorridorFigure, Incident, TrafficArea, TrafficFigures};
use ioc_protocol::{Domain, Reading, Topic, Value};

use super::{Figures, Latest, fresh, is_sensor_of, mean};

impl Figures {
    /// Takes in a traffic reading newer than the source's last: an incident it reports opens
    /// at this reading's time, and closes when a reading reports none.
    pub(super) fn traffic_reading(&mut self, t: &Topic, ts: i64, values: &Reading) {
        let incident = values
            .get("incident")
            .is_some_and(|v| matches!(v, Value::Text(s) if !s.is_empty()));
        if !incident {
            self.incident_since.remove(t);
        } else if !self.incident_since.contains_key(t) {
            self.incident_since.insert(t.clone(), ts);
        }
    }

    pub(super) fn traffic(&self, now: i64) -> TrafficFigures {
        let window = self.window_ms(Domain::Traffic);
        let preset = self.city.preset();
        let corridor_of = |source: &str| {
            preset
                .corridors
                .iter()
                .find(|c| is_sensor_of(source, &c.id))
        };
        let mut by_corridor: BTreeMap<&str, Vec<(&str, &Latest)>> = BTreeMap::new();
        let mut by_area: BTreeMap<&str, Vec<&Latest>> = BTreeMap::new();
        for (area, source, l) in self.sources(Domain::Traffic) {
            if let Some(c) = corridor_of(source) {
                by_corridor.entry(&c.id).or_default().push((source, l));
            }
            by_area.entry(area).or_default().push(l);
        }
        let mut corridors = Vec::new();
        let mut incidents = Vec::new();
        for c in &preset.corridors {
            let sensors = by_corridor.get(c.id.as_str()).cloned().unwrap_or_default();
            let newest = sensors.iter().map(|(_, l)| l.ts).max().unwrap_or(0);
            let f = fresh(newest, now, window);
            let live: Vec<&(&str, &Latest)> = sensors
                .iter()
                .filter(|(_, l)| f.stale || now - l.ts <= window)
                .collect();
            let incident = live
                .iter()
                .filter_map(|(s, l)| Some((*s, l.texts.get("incident")?)))
                .find(|(_, k)| !k.is_empty());
            if let Some((s, kind)) = incident
                && !f.stale
            {
                incidents.push(Incident {
                    corridor: c.id.clone(),
                    area: c.area.clone(),
                    kind: kind.clone(),
                    since: self
                        .incident_since
                        .get(&Topic::new(Domain::Traffic, c.area.as_str(), s))
                        .copied()
                        .unwrap_or(newest),
                });
            }
            corridors.push(CorridorFigure {
                id: c.id.clone(),
                area: c.area.clone(),
                speed_kmh: mean(live.iter().filter_map(|(_, l)| l.get("speed_kmh"))),
                congestion: mean(live.iter().filter_map(|(_, l)| l.get("congestion"))),
                volume_vph: mean(live.iter().filter_map(|(_, l)| l.get("volume_vph"))),
                free_flow_kmh: c.free_flow_kmh,
                incident: incident.map(|(_, k)| k.clone()),
                fresh: f,
            });
        }
        let area_figure = |area: &str, readings: &[&Latest], corridors: u32| {
            let newest = readings.iter().map(|l| l.ts).max().unwrap_or(0);
            let f = fresh(newest, now, window);
            let live: Vec<&&Latest> = readings
                .iter()
                .filter(|l| f.stale || now - l.ts <= window)
                .collect();
            TrafficArea {
                area: area.to_owned(),
                speed_kmh: mean(live.iter().filter_map(|l| l.get("speed_kmh"))),
                congestion: mean(live.iter().filter_map(|l| l.get("congestion"))),
                corridors,
                fresh: f,
            }
        };
        let areas: Vec<TrafficArea> = by_area
            .iter()
            .map(|(area, ls)| {
                let n = preset.corridors.iter().filter(|c| c.area == *area).count() as u32;
                area_figure(area, ls, n)
            })
            .collect();
        let all: Vec<&Latest> = by_area.values().flatten().copied().collect();
        let city =
            (!all.is_empty()).then(|| area_figure("city", &all, preset.corridors.len() as u32));
        let mut ranked: Vec<&CorridorFigure> = corridors
            .iter()
            .filter(|c| !c.fresh.stale && c.congestion.is_some())
            .collect();
        let share = |c: &CorridorFigure| c.speed_kmh.unwrap_or(0.0) / c.free_flow_kmh.max(1.0);
        ranked.sort_by(|a, b| {
            b.congestion
                .partial_cmp(&a.congestion)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(share(a).total_cmp(&share(b)))
                .then(a.id.cmp(&b.id))
        });
        TrafficFigures {
            city,
            areas,
            hotspots: ranked.iter().take(5).map(|c| c.id.clone()).collect(),
            corridors,
            incidents,
        }
    }
}
