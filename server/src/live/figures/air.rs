//! Air quality: each station's official VN_AQI from its hourly averages (NowCast), its
//! sensor's own AQI and PM2.5 with their trend, and the areas' and the city's worst.

use std::collections::BTreeMap;

use ioc_protocol::aqi::StationAqi;
use ioc_protocol::live::{EnvArea, EnvFigures, StationFigure};
use ioc_protocol::{Domain, Reading, Topic};

use super::{Figures, HOUR_MS, fresh, mean};

/// Air stations listed in the figures, the worst first (the preset has 24).
pub const MAX_STATIONS_LISTED: usize = 30;

impl Figures {
    /// Takes in an air reading: every reading counts towards its hour, even one older than the
    /// newest.
    pub(super) fn air_reading(&mut self, t: &Topic, ts: i64, values: &Reading) {
        match self.stations.get_mut(t) {
            Some(st) => {
                st.push_reading(ts, values);
            }
            None => {
                let mut st = StationAqi::default();
                st.push_reading(ts, values);
                self.stations.insert(t.clone(), st);
            }
        }
    }

    pub(super) fn air(&self, now: i64) -> EnvFigures {
        let window = self.window_ms(Domain::Env);
        let mut stations = Vec::new();
        for (area, source, l) in self.sources(Domain::Env) {
            let station = self.stations.get(&Topic::new(Domain::Env, area, source));
            let now_h = station.map(|st| st.hourly(now));
            let hour_ago = station.map(|st| st.hourly(now - HOUR_MS));
            let official = now_h.and_then(|h| h.aqi);
            let pm25 =
                |h: Option<ioc_protocol::aqi::StationHourly>| h.and_then(|h| h.concentrations.pm25);
            stations.push(StationFigure {
                id: source.to_owned(),
                area: area.to_owned(),
                aqi: official.map(|a| a.aqi),
                dominant: official.map(|a| a.dominant.field().to_owned()),
                sensor_aqi: l.get("aqi").map(|v| v.round().clamp(0.0, 500.0) as u32),
                pm25_ugm3: l.get("pm25_ugm3"),
                pm25_nowcast: pm25(now_h),
                pm25_trend: pm25(now_h).zip(pm25(hour_ago)).map(|(a, b)| a - b),
                fresh: fresh(l.ts, now, window),
            });
        }
        let summary = |area: &str, list: &[&StationFigure]| {
            let newest = list.iter().map(|s| s.fresh.newest_ts).max().unwrap_or(0);
            let f = fresh(newest, now, window);
            let live: Vec<&&StationFigure> =
                list.iter().filter(|s| f.stale || !s.fresh.stale).collect();
            EnvArea {
                area: area.to_owned(),
                aqi: live.iter().filter_map(|s| s.aqi).max(),
                pm25_ugm3: mean(live.iter().filter_map(|s| s.pm25_ugm3)),
                pm25_trend: mean(live.iter().filter_map(|s| s.pm25_trend)),
                stations: list.len() as u32,
                fresh: f,
            }
        };
        let mut by_area: BTreeMap<&str, Vec<&StationFigure>> = BTreeMap::new();
        for s in &stations {
            by_area.entry(&s.area).or_default().push(s);
        }
        let areas = by_area.iter().map(|(a, l)| summary(a, l)).collect();
        let all: Vec<&StationFigure> = stations.iter().collect();
        let city = (!all.is_empty()).then(|| summary("city", &all));
        // Every screen gets these figures at every change: their size must not grow with the
        // number of stations (a city with a thousand low-cost sensors would send 150 KB to
        // every browser ten times a second). The worst ones are listed, the areas and the
        // city count them all.
        let pm25 = |s: &StationFigure| s.pm25_ugm3.unwrap_or(f64::NEG_INFINITY);
        stations.sort_by(|a, b| {
            (b.aqi, b.sensor_aqi)
                .cmp(&(a.aqi, a.sensor_aqi))
                .then_with(|| pm25(b).total_cmp(&pm25(a)))
                .then_with(|| a.id.cmp(&b.id))
        });
        stations.truncate(MAX_STATIONS_LISTED);
        EnvFigures {
            city,
            areas,
            stations,
        }
    }
}
