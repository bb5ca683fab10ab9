//! The VN_AQI of one station, fed with its readings as they arrive: an hourly averager per
//! pollutant and the hourly index from them.

use serde::{Deserialize, Serialize};

use super::{
    Aqi, HOUR_MS, HourlyAverager, HourlyConcentrations, NOWCAST_HOURS, PerPollutant, Pollutant,
    hourly_aqi, nowcast,
};
use crate::ingest::{Reading, Value};

/// The VN_AQI of one station, fed with its readings as they arrive: an [`HourlyAverager`]
/// per pollutant, and the hourly index from them.
///
/// The hour in progress: each pollutant's latest hour (c1) is the hour in progress once it
/// holds readings in 45 of its minutes, the last closed hour before that (see
/// [`HourlyAverager::recent`]). So the index moves to a new hour at minute 45 rather than
/// at minute 0 of the next hour, 15 minutes sooner, and it never rests on a quarter of an
/// hour of readings, which would make the NowCast (where c1 weighs half or more) jump
/// about. An index shown at 14:50 is therefore the provisional index of the hour ending
/// 15:00 ([`StationHourly::provisional`]); from 15:00 to 15:45 the same hour, now closed.
#[derive(Debug, Clone, Default)]
pub struct StationAqi {
    streams: PerPollutant<HourlyAverager>,
}

impl StationAqi {
    pub fn new() -> Self {
        StationAqi::default()
    }

    /// With another completeness rule for hourly averages (see [`HourlyAverager`]).
    pub fn with_min_minutes(min_minutes: u32) -> Self {
        StationAqi {
            streams: PerPollutant::from_fn(|_| HourlyAverager::with_min_minutes(min_minutes)),
        }
    }

    /// Adds one value of a reading: `field` an ingest field name (`pm25_ugm3`, ...). Returns
    /// whether it was taken; other fields are not taken.
    pub fn push(&mut self, ts_ms: i64, field: &str, value: f64) -> bool {
        Pollutant::from_field(field).is_some_and(|p| self.streams.get_mut(p).push(ts_ms, value))
    }

    /// Adds the pollutant values of a decoded ingest reading; returns how many were taken.
    pub fn push_reading(&mut self, ts_ms: i64, reading: &Reading) -> usize {
        reading
            .iter()
            .filter(|(field, value)| match value {
                Value::Number(v) => self.push(ts_ms, field, *v),
                _ => false,
            })
            .count()
    }

    /// The averager of one pollutant.
    pub fn averager(&self, p: Pollutant) -> &HourlyAverager {
        self.streams.get(p)
    }

    /// The hourly index as of `now_ms`: NowCast of the last twelve hours for PM2.5 and
    /// PM10, latest hourly average for the others.
    pub fn hourly(&self, now_ms: i64) -> StationHourly {
        let recent = PerPollutant::from_fn(|p| self.streams.get(p).recent(now_ms));
        let concentrations = PerPollutant::from_fn(|p| {
            let r = recent.get(p);
            if p.uses_nowcast() {
                nowcast(&r.values[..NOWCAST_HOURS])
            } else {
                r.values[0]
            }
        });
        let as_of_hour = Pollutant::ALL
            .into_iter()
            .filter(|&p| concentrations.get(p).is_some())
            .map(|p| recent.get(p).first_hour)
            .max();
        StationHourly {
            aqi: hourly_aqi(&concentrations),
            concentrations,
            latest_hour_means: PerPollutant::from_fn(|p| recent.get(p).values[0]),
            as_of_ms: as_of_hour.map(|h| (h + 1) * HOUR_MS),
            provisional: as_of_hour == Some(now_ms.div_euclid(HOUR_MS)),
        }
    }
}

/// A station's hourly VN_AQI as of a moment, from [`StationAqi::hourly`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct StationHourly {
    /// `None` without a PM2.5 or PM10 NowCast (fewer than two of the three latest hours).
    pub aqi: Option<Aqi>,
    /// What the sub-indices were computed from (µg/m³): the NowCast for PM2.5 and PM10, the
    /// latest hourly average for the others.
    pub concentrations: HourlyConcentrations,
    /// The latest hourly average (c1) of each pollutant, PM2.5 and PM10 included.
    pub latest_hour_means: HourlyConcentrations,
    /// The end of the hour the index stands for (epoch ms; the decision labels hours by
    /// their end). The latest over the pollutants, which agree when readings carry them all.
    pub as_of_ms: Option<i64>,
    /// Whether that hour is still in progress at `now_ms`.
    pub provisional: bool,
}
