//! Flooding: each gauge's water level against its alarm levels (BD1-BD3), its rain and its
//! peak of the day, and the city's highest alarm.

use ioc_protocol::live::{FloodFigures, GaugeFigure};
use ioc_protocol::{Domain, Reading, Topic, Value};

use super::{Figures, fresh, is_sensor_of, local_midnight_ms};

impl Figures {
    /// Takes in a flood reading: the day's peak takes every reading, even one older than the
    /// newest, so that a restart rebuilds it from the day's readings in the store.
    pub(super) fn flood_reading(&mut self, t: &Topic, ts: i64, values: &Reading) {
        let Some(level) = values.get("water_level_cm").and_then(Value::as_number) else {
            return;
        };
        let day = local_midnight_ms(ts);
        match self.flood_peak.get_mut(&t.source) {
            Some(peak) if peak.0 < day => *peak = (day, level),
            Some(peak) if peak.0 == day => peak.1 = peak.1.max(level),
            Some(_) => {}
            None => {
                self.flood_peak.insert(t.source.clone(), (day, level));
            }
        }
    }

    pub(super) fn flood(&self, now: i64) -> FloodFigures {
        let window = self.window_ms(Domain::Flood);
        let today = local_midnight_ms(now);
        let preset = self.city.preset();
        let mut gauges = Vec::new();
        for g in &preset.flood_gauges {
            // The newest reading of the gauge's sensors.
            let l = self
                .sources(Domain::Flood)
                .filter(|(a, s, _)| *a == g.area && is_sensor_of(s, &g.id))
                .map(|(_, _, l)| l)
                .max_by_key(|l| l.ts);
            let level = l.and_then(|l| l.get("water_level_cm"));
            gauges.push(GaugeFigure {
                id: g.id.clone(),
                area: g.area.clone(),
                water_level_cm: level,
                rain_mmh: l.and_then(|l| l.get("rain_mmh")),
                alarm: level.map_or(0, |v| g.alarm_level(v)),
                bd1_cm: f64::from(g.bd1_cm),
                bd2_cm: f64::from(g.bd2_cm),
                bd3_cm: f64::from(g.bd3_cm),
                peak_today_cm: self
                    .flood_peak
                    .iter()
                    .filter(|(s, (day, _))| *day == today && is_sensor_of(s, &g.id))
                    .map(|(_, (_, v))| *v)
                    .max_by(f64::total_cmp),
                fresh: fresh(l.map_or(0, |l| l.ts), now, window),
            });
        }
        let live: Vec<&GaugeFigure> = gauges.iter().filter(|g| !g.fresh.stale).collect();
        let newest = gauges.iter().map(|g| g.fresh.newest_ts).max().unwrap_or(0);
        FloodFigures {
            max_alarm: live.iter().map(|g| g.alarm).max().unwrap_or(0),
            at_alarm: live.iter().filter(|g| g.alarm > 0).count() as u32,
            max_rain_mmh: live
                .iter()
                .filter_map(|g| g.rain_mmh)
                .max_by(f64::total_cmp),
            fresh: fresh(newest, now, window),
            gauges,
        }
    }
}
