//! The six parameters of VN_AQI, one value per parameter, and what counts as a valid
//! concentration.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The six parameters of VN_AQI. On the wire (serde) a pollutant is its field name in the
/// ingest contract, `pm25_ugm3` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Pollutant {
    #[serde(rename = "pm25_ugm3")]
    Pm25,
    #[serde(rename = "pm10_ugm3")]
    Pm10,
    #[serde(rename = "o3_ugm3")]
    O3,
    #[serde(rename = "no2_ugm3")]
    No2,
    #[serde(rename = "so2_ugm3")]
    So2,
    #[serde(rename = "co_ugm3")]
    Co,
}

impl Pollutant {
    /// All six, in the order that also breaks ties for the dominant pollutant: the particles
    /// first (the index cannot be computed without one of them), then O₃, NO₂, SO₂, CO.
    pub const ALL: [Pollutant; 6] = [
        Pollutant::Pm25,
        Pollutant::Pm10,
        Pollutant::O3,
        Pollutant::No2,
        Pollutant::So2,
        Pollutant::Co,
    ];

    /// The field name in the ingest contract (`docs/ingest.md`).
    pub fn field(self) -> &'static str {
        match self {
            Pollutant::Pm25 => "pm25_ugm3",
            Pollutant::Pm10 => "pm10_ugm3",
            Pollutant::O3 => "o3_ugm3",
            Pollutant::No2 => "no2_ugm3",
            Pollutant::So2 => "so2_ugm3",
            Pollutant::Co => "co_ugm3",
        }
    }

    /// The pollutant an ingest field carries, if it carries one.
    pub fn from_field(field: &str) -> Option<Pollutant> {
        Pollutant::ALL.into_iter().find(|p| p.field() == field)
    }

    /// The name on a screen: `PM2.5`, `PM10`, `O₃`, `NO₂`, `SO₂`, `CO`.
    pub fn label(self) -> &'static str {
        match self {
            Pollutant::Pm25 => "PM2.5",
            Pollutant::Pm10 => "PM10",
            Pollutant::O3 => "O₃",
            Pollutant::No2 => "NO₂",
            Pollutant::So2 => "SO₂",
            Pollutant::Co => "CO",
        }
    }

    /// Whether the hourly index reads this pollutant from a NowCast (PM2.5, PM10) rather
    /// than from its 1-hour average.
    pub fn uses_nowcast(self) -> bool {
        matches!(self, Pollutant::Pm25 | Pollutant::Pm10)
    }
}

impl fmt::Display for Pollutant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// One value per pollutant: the concentrations that go into an index, or the sub-indices
/// that come out of it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PerPollutant<T> {
    pub pm25: T,
    pub pm10: T,
    pub o3: T,
    pub no2: T,
    pub so2: T,
    pub co: T,
}

impl<T> PerPollutant<T> {
    /// The value of each pollutant from a function of it.
    pub fn from_fn(mut f: impl FnMut(Pollutant) -> T) -> Self {
        PerPollutant {
            pm25: f(Pollutant::Pm25),
            pm10: f(Pollutant::Pm10),
            o3: f(Pollutant::O3),
            no2: f(Pollutant::No2),
            so2: f(Pollutant::So2),
            co: f(Pollutant::Co),
        }
    }

    pub fn get(&self, p: Pollutant) -> &T {
        match p {
            Pollutant::Pm25 => &self.pm25,
            Pollutant::Pm10 => &self.pm10,
            Pollutant::O3 => &self.o3,
            Pollutant::No2 => &self.no2,
            Pollutant::So2 => &self.so2,
            Pollutant::Co => &self.co,
        }
    }

    pub fn get_mut(&mut self, p: Pollutant) -> &mut T {
        match p {
            Pollutant::Pm25 => &mut self.pm25,
            Pollutant::Pm10 => &mut self.pm10,
            Pollutant::O3 => &mut self.o3,
            Pollutant::No2 => &mut self.no2,
            Pollutant::So2 => &mut self.so2,
            Pollutant::Co => &mut self.co,
        }
    }
}

/// A valid concentration: finite and not negative.
pub(super) fn valid(c: Option<f64>) -> Option<f64> {
    c.filter(|v| v.is_finite() && *v >= 0.0)
}
