//! VN_AQI, the Vietnamese air quality index, as Decision 1459/QĐ-TCMT of 12 November 2019
//! of the Vietnam Environment Administration (Tổng cục Môi trường) defines it: "Hướng dẫn kỹ
//! thuật tính toán và công bố chỉ số chất lượng không khí Việt Nam (VN_AQI)". It replaced
//! Decision 878/QĐ-TCMT of 2011, whose bands (101-200 Kém, 201-300 Xấu) some older pages still
//! show.
//!
//! Everything here is a pure function of its arguments (no clock, no I/O), so the server and
//! the browser compute the same numbers. All concentrations are µg/m³, CO included, as in
//! the decision's Table 2 and in the ingest contract's `*_ugm3` fields.
//!
//! # What the decision defines, and where this module follows it
//!
//! - **Table 1** (§1.4), the bands and their RGB colours: [`Band`].
//! - **Table 2** (§2.2.1.b), the breakpoints `BP_i` against the levels `I_i` = 0, 50, 100,
//!   150, 200, 300, 400, 500: [`breakpoints`]. The last row reads "≥" (≥ 1 200 for O₃ 1 h,
//!   ≥ 150 000 for CO, ...): a concentration at or above the top breakpoint has the index
//!   500, and the index never goes above 500. O₃ 8 h stops at 400 µg/m³ (index 300).
//! - **Formulas 1 and 2**, the linear interpolation
//!   `AQI_x = (I_{i+1} − I_i) / (BP_{i+1} − BP_i) × (C_x − BP_i) + I_i`: [`sub_index`].
//! - **NowCast** (§2.2.1.a) for PM2.5 and PM10: [`nowcast`].
//! - **Hourly AQI** (§2.2.1): PM2.5 and PM10 from their NowCast, O₃ from its 1-hour average
//!   with the O₃ (1h) column only (Table 2, note 1), CO, SO₂ and NO₂ from their 1-hour
//!   averages; the index is the largest sub-index: [`hourly_aqi`].
//! - **Daily AQI** (§2.2.2): PM from 24-hour means, O₃ from the day's largest 1-hour and
//!   largest 8-hour means, CO, SO₂ and NO₂ from the day's largest 1-hour mean: [`daily_aqi`],
//!   [`DailyConcentrations::from_hourly`].
//! - §2.1.b: an AQI needs at least one of PM10 and PM2.5; without either there is no index.
//! - "Giá trị AQI ... được làm tròn thành số nguyên": indices are rounded to whole numbers,
//!   half up (the decision does not say which rounding; half up is the school rule in
//!   Vietnam and reproduces its worked examples but one, see below).
//!
//! # Points the decision leaves open or gets wrong, and the choices made here
//!
//! - **O₃ in the hourly index.** The decision uses the 1-hour column only for the hourly
//!   index; the 8-hour column is for the daily index ("Tính toán AQI giờ của O₃ sử dụng giá
//!   trị BP_i cho O₃ (1h)"). A rule "hourly O₃ = max of the 1-hour and 8-hour sub-indices"
//!   is not in the decision and is not applied here.
//! - **O₃ in the daily index.** The text says C_x is "the larger of the day's largest 1-hour
//!   mean and largest 8-hour mean", but the two are read on different columns; its worked
//!   example (§2.3.c) computes a sub-index for each and takes the larger. That is what
//!   [`daily_aqi`] does. Above 400 µg/m³ (8 h) only the 1-hour value counts, as the text says.
//! - **NowCast with w = 1/2.** The decision writes `Σ (1/2)^i c_i` (no division), the
//!   weighted mean `Σ w^(i−1) c_i / Σ w^(i−1)` at w = 1/2 up to a factor 1 − 2⁻¹² (the same
//!   simplification as US EPA's NowCast, which the decision adopts). With all twelve hours
//!   present this module uses the decision's formula as written. With hours missing, the
//!   decision's rule "if c_i has no value, take w^(i−1) = 0" only makes sense in the weighted
//!   mean (written literally, a missing latest hour would halve the NowCast), so the weighted
//!   mean over the hours present is used.
//! - **Worked example §2.3.b.** It gives AQI(NO₂) = 60 for 118.7 µg/m³, but
//!   50/100 × 18.7 + 50 = 59.35, which rounds to 59 by any rule that also gives its other
//!   results (43, 41, 45, 36, 65, 110). This module gives 59; the example's hourly AQI (60)
//!   is therefore 59 here. See `worked_example_hourly` in the tests.
//! - **Completeness.** The decision asks for quality-assured data but sets no minimum count
//!   for a 1-hour, 8-hour or 24-hour mean. This module uses the usual 75 % rule: an hour
//!   needs readings in 45 of its 60 minutes ([`HourlyAverager`]), an 8-hour mean 6 of its 8
//!   hours, and a day 18 of its 24 hours ([`DailyConcentrations::from_hourly`]).
//!
//! # Hours and days
//!
//! Hours are labelled by their end, as in the decision's tables: the hour "14:00" is the
//! average of 13:00-14:00. Vietnam is UTC+7 all year, so local hours begin on UTC hours and
//! an hour is `ts_ms.div_euclid(3_600_000)`. The day of the daily index runs from the hour
//! ending 01:00 to the hour ending 00:00 the next day, local time.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ingest::{Reading, Value};

/// Milliseconds in an hour.
pub const HOUR_MS: i64 = 3_600_000;
/// The AQI levels `I_1 ..= I_8` of Table 2.
pub const AQI_LEVELS: [f64; 8] = [0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0];
/// The largest index: a concentration at or above the top breakpoint has this index.
pub const AQI_MAX: u32 = 500;
/// Hourly averages a NowCast weighs.
pub const NOWCAST_HOURS: usize = 12;
/// Above this 8-hour O₃ mean (µg/m³) the 8-hour column has no level, and the daily O₃ index
/// comes from the 1-hour value alone (§2.2.2.b).
pub const O3_8H_TOP: f64 = 400.0;
/// Hours of a day that must have an hourly average for a daily figure (75 %).
pub const MIN_HOURS_PER_DAY: usize = 18;
/// Hours of an 8-hour window that must have an hourly average for an 8-hour mean (75 %).
pub const MIN_HOURS_PER_8H: usize = 6;
/// Minutes of an hour that must hold a reading for an hourly average (75 %), by default.
pub const DEFAULT_MIN_MINUTES: u32 = 45;

// Table 2 of the decision, µg/m³, one column per parameter and averaging time.
const BP_O3_1H: [f64; 8] = [0.0, 160.0, 200.0, 300.0, 400.0, 800.0, 1000.0, 1200.0];
const BP_O3_8H: [f64; 6] = [0.0, 100.0, 120.0, 170.0, 210.0, 400.0];
const BP_CO: [f64; 8] = [
    0.0, 10_000.0, 30_000.0, 45_000.0, 60_000.0, 90_000.0, 120_000.0, 150_000.0,
];
const BP_SO2: [f64; 8] = [0.0, 125.0, 350.0, 550.0, 800.0, 1600.0, 2100.0, 2630.0];
const BP_NO2: [f64; 8] = [0.0, 100.0, 200.0, 700.0, 1200.0, 2350.0, 3100.0, 3850.0];
const BP_PM10: [f64; 8] = [0.0, 50.0, 150.0, 250.0, 350.0, 420.0, 500.0, 600.0];
const BP_PM25: [f64; 8] = [0.0, 25.0, 50.0, 80.0, 150.0, 250.0, 350.0, 500.0];

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

/// The averaging behind a concentration, which picks the column of Table 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Averaging {
    /// A 1-hour average: O₃ (1h), CO, SO₂, NO₂; for the daily index, the day's largest one.
    OneHour,
    /// An 8-hour average: O₃ (8h), daily index only.
    EightHour,
    /// A 24-hour average: PM2.5 and PM10, daily index.
    TwentyFourHour,
    /// A NowCast: PM2.5 and PM10, hourly index (Formula 2).
    NowCast,
}

/// The breakpoints `BP_i` (µg/m³) of Table 2 for a pollutant and an averaging, from `BP_1`
/// = 0 upwards; `None` where the decision defines no column (PM over one hour, CO over eight
/// hours, ...). O₃ over eight hours has six breakpoints (levels 0 to 300), the others eight.
pub fn breakpoints(pollutant: Pollutant, averaging: Averaging) -> Option<&'static [f64]> {
    use Averaging::*;
    Some(match (pollutant, averaging) {
        (Pollutant::O3, OneHour) => &BP_O3_1H,
        (Pollutant::O3, EightHour) => &BP_O3_8H,
        (Pollutant::Co, OneHour) => &BP_CO,
        (Pollutant::So2, OneHour) => &BP_SO2,
        (Pollutant::No2, OneHour) => &BP_NO2,
        (Pollutant::Pm10, TwentyFourHour | NowCast) => &BP_PM10,
        (Pollutant::Pm25, TwentyFourHour | NowCast) => &BP_PM25,
        _ => return None,
    })
}

/// The sub-index `AQI_x` of one concentration (µg/m³), by linear interpolation in Table 2,
/// rounded half up to a whole number.
///
/// `None` when the concentration is negative or not finite, when the decision has no column
/// for this pollutant and averaging (see [`breakpoints`]), and for an 8-hour O₃ mean above
/// 400 µg/m³ (the decision then uses the 1-hour value). At or above the top breakpoint of
/// the other columns the index is 500.
pub fn sub_index(pollutant: Pollutant, averaging: Averaging, concentration: f64) -> Option<u32> {
    let bp = breakpoints(pollutant, averaging)?;
    if !concentration.is_finite() || concentration < 0.0 {
        return None;
    }
    let top = bp[bp.len() - 1];
    if concentration >= top {
        // O₃ 8 h: exactly 400 is level 300; above it the column has no level.
        return if bp.len() == AQI_LEVELS.len() {
            Some(AQI_MAX)
        } else if concentration == top {
            Some(AQI_LEVELS[bp.len() - 1] as u32)
        } else {
            None
        };
    }
    // The first band whose upper breakpoint is at or above the concentration. The table is
    // continuous (each band starts where the previous ends), so a concentration equal to a
    // breakpoint gives that breakpoint's level from either side.
    let i = (0..bp.len() - 1).find(|&i| concentration <= bp[i + 1])?;
    let (c_lo, c_hi) = (bp[i], bp[i + 1]);
    let (i_lo, i_hi) = (AQI_LEVELS[i], AQI_LEVELS[i + 1]);
    let exact = (i_hi - i_lo) * (concentration - c_lo) / (c_hi - c_lo) + i_lo;
    Some(round_half_up(exact))
}

/// Rounds a non-negative index half up. The value is first snapped to nine decimals, so that
/// a result that is exactly `.5` in decimal arithmetic (as on paper) but lands a hair below
/// it in binary (SO₂ at 2 107.95 µg/m³ gives 401.49999999999994) still rounds up.
fn round_half_up(x: f64) -> u32 {
    let snapped = (x * 1e9).round() / 1e9;
    snapped.round().clamp(0.0, f64::from(AQI_MAX)) as u32
}

/// A valid concentration: finite and not negative.
fn valid(c: Option<f64>) -> Option<f64> {
    c.filter(|v| v.is_finite() && *v >= 0.0)
}

/// The NowCast of PM2.5 or PM10 (§2.2.1.a) from hourly averages, `hourly[0]` = c1 the most
/// recent hour, `hourly[11]` = c12; entries past the twelfth are ignored, a shorter slice
/// counts as missing hours, and a negative or non-finite value counts as missing.
///
/// - `None` unless at least two of c1, c2, c3 are present.
/// - w* = c_min / c_max over the hours present; w = w* if w* > 1/2, else w = 1/2.
/// - w > 1/2: NowCast = Σ w^(i−1) c_i / Σ w^(i−1), over the hours present.
/// - w = 1/2 with all twelve hours: NowCast = Σ (1/2)^i c_i, as the decision writes it.
/// - w = 1/2 with hours missing: the weighted mean with w = 1/2 over the hours present (see
///   the module documentation for why).
pub fn nowcast(hourly: &[Option<f64>]) -> Option<f64> {
    let mut c = [None; NOWCAST_HOURS];
    for (slot, v) in c.iter_mut().zip(hourly) {
        *slot = valid(*v);
    }
    if c[..3].iter().filter(|v| v.is_some()).count() < 2 {
        return None;
    }
    let present = || c.iter().enumerate().filter_map(|(i, v)| v.map(|v| (i, v)));
    let c_max = present().map(|(_, v)| v).fold(0.0, f64::max);
    let c_min = present().map(|(_, v)| v).fold(f64::INFINITY, f64::min);
    if c_max == 0.0 {
        return Some(0.0);
    }
    let w_star = c_min / c_max;
    if w_star <= 0.5 && c.iter().all(Option::is_some) {
        // The decision's formula for w = 1/2: Σ (1/2)^i c_i, i = 1..=12.
        return Some(present().map(|(i, v)| 0.5f64.powi(i as i32 + 1) * v).sum());
    }
    let w = if w_star > 0.5 { w_star } else { 0.5 };
    let (num, den) = present().fold((0.0, 0.0), |(num, den), (i, v)| {
        let weight = w.powi(i as i32);
        (num + weight * v, den + weight)
    });
    Some(num / den)
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

/// The inputs of an hourly index (µg/m³): the NowCast for `pm25` and `pm10`, the 1-hour
/// average for `o3`, `no2`, `so2` and `co`; `None` for a parameter not measured.
pub type HourlyConcentrations = PerPollutant<Option<f64>>;

/// A VN_AQI, hourly or daily.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aqi {
    /// The index, 0 to 500: the largest sub-index.
    pub aqi: u32,
    pub band: Band,
    /// The parameter with the largest sub-index, which the decision (Table 3) asks every
    /// publication to name. Ties go to the first in [`Pollutant::ALL`].
    pub dominant: Pollutant,
    /// Each parameter's sub-index, `None` where it was not measured or not computable.
    pub sub_indices: PerPollutant<Option<u32>>,
}

/// The index from sub-indices: their maximum, provided PM2.5 or PM10 is among them (§2.1.b).
fn combine(sub_indices: PerPollutant<Option<u32>>) -> Option<Aqi> {
    if sub_indices.pm25.is_none() && sub_indices.pm10.is_none() {
        return None;
    }
    let mut best: Option<(Pollutant, u32)> = None;
    for p in Pollutant::ALL {
        if let Some(v) = *sub_indices.get(p)
            && best.is_none_or(|(_, b)| v > b)
        {
            best = Some((p, v));
        }
    }
    let (dominant, aqi) = best?;
    Some(Aqi {
        aqi,
        band: Band::from_aqi(aqi),
        dominant,
        sub_indices,
    })
}

/// The hourly VN_AQI (§2.2.1) and its dominant pollutant, from the NowCast of PM2.5 and PM10
/// and the 1-hour averages of O₃, NO₂, SO₂ and CO. `None` without a PM2.5 or PM10
/// sub-index.
pub fn hourly_aqi(c: &HourlyConcentrations) -> Option<Aqi> {
    combine(PerPollutant::from_fn(|p| {
        let averaging = if p.uses_nowcast() {
            Averaging::NowCast
        } else {
            Averaging::OneHour
        };
        (*c.get(p)).and_then(|v| sub_index(p, averaging, v))
    }))
}

/// The inputs of a daily index (§2.2.2), µg/m³; `None` for a figure not available.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DailyConcentrations {
    pub pm25_24h: Option<f64>,
    pub pm10_24h: Option<f64>,
    /// The day's largest 1-hour O₃ average.
    pub o3_max_1h: Option<f64>,
    /// The day's largest 8-hour O₃ average.
    pub o3_max_8h: Option<f64>,
    pub no2_max_1h: Option<f64>,
    pub so2_max_1h: Option<f64>,
    pub co_max_1h: Option<f64>,
}

impl DailyConcentrations {
    /// The daily figures from hourly averages, for each pollutant a slice with `[0]` the hour
    /// ending 00:00 that closes the day, `[1]` the hour ending 23:00, ..., `[23]` the hour
    /// ending 01:00 that opens it. For O₃, `[24..31]` continue into the previous day (hours
    /// ending 00:00, 23:00, ..., 18:00): the 8-hour mean ending 01:00 reaches back to them,
    /// as in the decision's example, and the day has 24 of them.
    ///
    /// A 24-hour mean and the largest 1-hour average need 18 of the day's 24 hours; an 8-hour
    /// mean needs 6 of its 8 hours, and the largest 8-hour mean needs 18 of the day's 24
    /// 8-hour means (75 % each time; the decision sets no minimum). Missing entries, and a
    /// slice shorter than needed, count as missing hours.
    pub fn from_hourly(hourly: &PerPollutant<&[Option<f64>]>) -> Self {
        let day = |p: Pollutant| -> Option<Vec<f64>> {
            let hours: Vec<f64> = hourly
                .get(p)
                .iter()
                .take(24)
                .filter_map(|v| valid(*v))
                .collect();
            (hours.len() >= MIN_HOURS_PER_DAY).then_some(hours)
        };
        let mean = |p| day(p).map(|h| h.iter().sum::<f64>() / h.len() as f64);
        let max = |p| day(p).map(|h| h.into_iter().fold(0.0, f64::max));
        DailyConcentrations {
            pm25_24h: mean(Pollutant::Pm25),
            pm10_24h: mean(Pollutant::Pm10),
            o3_max_1h: max(Pollutant::O3),
            o3_max_8h: max_8h_mean(hourly.o3),
            no2_max_1h: max(Pollutant::No2),
            so2_max_1h: max(Pollutant::So2),
            co_max_1h: max(Pollutant::Co),
        }
    }
}

/// The 8-hour mean ending at each hour `k` of 0..24 is the mean of `hourly[k..k + 8]`; the
/// largest of those present, with the completeness rules of
/// [`DailyConcentrations::from_hourly`].
fn max_8h_mean(hourly: &[Option<f64>]) -> Option<f64> {
    let at = |i: usize| valid(hourly.get(i).copied().flatten());
    let means: Vec<f64> = (0..24)
        .filter_map(|k| {
            let window: Vec<f64> = (k..k + 8).filter_map(at).collect();
            (window.len() >= MIN_HOURS_PER_8H)
                .then(|| window.iter().sum::<f64>() / window.len() as f64)
        })
        .collect();
    (means.len() >= MIN_HOURS_PER_DAY).then(|| means.into_iter().fold(0.0, f64::max))
}

/// The daily VN_AQI (§2.2.2) and its dominant pollutant. The O₃ sub-index is the larger of
/// the 1-hour one (largest 1-hour mean) and the 8-hour one (largest 8-hour mean, left out
/// above 400 µg/m³). `None` without a PM2.5 or PM10 sub-index.
pub fn daily_aqi(d: &DailyConcentrations) -> Option<Aqi> {
    let sub = |p, averaging, c: Option<f64>| c.and_then(|v| sub_index(p, averaging, v));
    let o3_1h = sub(Pollutant::O3, Averaging::OneHour, d.o3_max_1h);
    let o3_8h = sub(Pollutant::O3, Averaging::EightHour, d.o3_max_8h);
    combine(PerPollutant {
        pm25: sub(Pollutant::Pm25, Averaging::TwentyFourHour, d.pm25_24h),
        pm10: sub(Pollutant::Pm10, Averaging::TwentyFourHour, d.pm10_24h),
        o3: o3_1h.max(o3_8h),
        no2: sub(Pollutant::No2, Averaging::OneHour, d.no2_max_1h),
        so2: sub(Pollutant::So2, Averaging::OneHour, d.so2_max_1h),
        co: sub(Pollutant::Co, Averaging::OneHour, d.co_max_1h),
    })
}

/// The bands of Table 1 of the decision (and of the glossary), with its RGB colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Band {
    /// 0-50, Tốt, green.
    Good,
    /// 51-100, Trung bình, yellow.
    Moderate,
    /// 101-150, Kém, orange.
    Poor,
    /// 151-200, Xấu, red.
    Bad,
    /// 201-300, Rất xấu, purple.
    VeryBad,
    /// 301-500, Nguy hại, maroon.
    Hazardous,
}

impl Band {
    pub const ALL: [Band; 6] = [
        Band::Good,
        Band::Moderate,
        Band::Poor,
        Band::Bad,
        Band::VeryBad,
        Band::Hazardous,
    ];

    /// The band of a (whole) index; above 500 is still Hazardous.
    pub fn from_aqi(aqi: u32) -> Band {
        match aqi {
            0..=50 => Band::Good,
            51..=100 => Band::Moderate,
            101..=150 => Band::Poor,
            151..=200 => Band::Bad,
            201..=300 => Band::VeryBad,
            _ => Band::Hazardous,
        }
    }

    /// The indices of the band, both ends included.
    pub fn range(self) -> (u32, u32) {
        match self {
            Band::Good => (0, 50),
            Band::Moderate => (51, 100),
            Band::Poor => (101, 150),
            Band::Bad => (151, 200),
            Band::VeryBad => (201, 300),
            Band::Hazardous => (301, 500),
        }
    }

    /// "Chất lượng không khí" of Table 1, as the glossary writes it.
    pub fn name_vi(self) -> &'static str {
        match self {
            Band::Good => "Tốt",
            Band::Moderate => "Trung bình",
            Band::Poor => "Kém",
            Band::Bad => "Xấu",
            Band::VeryBad => "Rất xấu",
            Band::Hazardous => "Nguy hại",
        }
    }

    /// The English name of the glossary.
    pub fn name_en(self) -> &'static str {
        match self {
            Band::Good => "Good",
            Band::Moderate => "Moderate",
            Band::Poor => "Poor",
            Band::Bad => "Bad",
            Band::VeryBad => "Very bad",
            Band::Hazardous => "Hazardous",
        }
    }

    /// The colour's name in Table 1 ("Nâu", brown, for the colour the glossary calls maroon).
    pub fn color_name_vi(self) -> &'static str {
        match self {
            Band::Good => "Xanh",
            Band::Moderate => "Vàng",
            Band::Poor => "Da cam",
            Band::Bad => "Đỏ",
            Band::VeryBad => "Tím",
            Band::Hazardous => "Nâu",
        }
    }

    /// The RGB code of Table 1.
    pub fn rgb(self) -> (u8, u8, u8) {
        match self {
            Band::Good => (0, 228, 0),
            Band::Moderate => (255, 255, 0),
            Band::Poor => (255, 126, 0),
            Band::Bad => (255, 0, 0),
            Band::VeryBad => (143, 63, 151),
            Band::Hazardous => (126, 0, 35),
        }
    }

    /// [`Band::rgb`] as a CSS colour, `#rrggbb`.
    pub fn color_hex(self) -> &'static str {
        match self {
            Band::Good => "#00e400",
            Band::Moderate => "#ffff00",
            Band::Poor => "#ff7e00",
            Band::Bad => "#ff0000",
            Band::VeryBad => "#8f3f97",
            Band::Hazardous => "#7e0023",
        }
    }
}

/// Hours an [`HourlyAverager`] keeps: the hour in progress and the 24 before it.
const SLOTS: usize = 25;

/// One clock hour's readings.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// The hour, `ts_ms.div_euclid(HOUR_MS)`; meaningful only when `n > 0`.
    hour: i64,
    sum: f64,
    n: u32,
    /// Bit `m` set: a reading fell in minute `m` of the hour.
    minutes: u64,
}

/// Hourly averages of one value stream (one pollutant of one station), built from readings
/// that arrive every minute or so, over the hour in progress and the 24 hours before it:
/// fixed memory (25 buckets), whatever the rate of readings.
///
/// An hour's average is the mean of its readings, and it exists only if readings fell in at
/// least `min_minutes` distinct minutes of the hour (45 by default: 75 %, the usual rule for
/// an hourly average; the decision sets none). A station reporting less often than once a
/// minute needs a smaller `min_minutes`, e.g. 9 for one reading every five minutes.
///
/// Readings may come late and out of order: one within the kept hours joins its hour; one
/// older is refused. A reading with the same timestamp as the previous one (an MQTT QoS 1
/// duplicate) is refused.
#[derive(Debug, Clone)]
pub struct HourlyAverager {
    buckets: [Bucket; SLOTS],
    newest_hour: Option<i64>,
    last_ts: Option<i64>,
    min_minutes: u32,
}

impl Default for HourlyAverager {
    fn default() -> Self {
        HourlyAverager::new()
    }
}

impl HourlyAverager {
    pub fn new() -> Self {
        HourlyAverager::with_min_minutes(DEFAULT_MIN_MINUTES)
    }

    /// With another completeness rule: `min_minutes` in 1..=60 (clamped).
    pub fn with_min_minutes(min_minutes: u32) -> Self {
        HourlyAverager {
            buckets: [Bucket::default(); SLOTS],
            newest_hour: None,
            last_ts: None,
            min_minutes: min_minutes.clamp(1, 60),
        }
    }

    /// Adds a reading (epoch ms, µg/m³). Returns whether it was taken: not a negative or
    /// non-finite value, not older than the kept hours, not a duplicate.
    pub fn push(&mut self, ts_ms: i64, value: f64) -> bool {
        if !value.is_finite() || value < 0.0 || self.last_ts == Some(ts_ms) {
            return false;
        }
        let hour = ts_ms.div_euclid(HOUR_MS);
        if let Some(newest) = self.newest_hour
            && hour <= newest - SLOTS as i64
        {
            return false;
        }
        // Any other hour in this slot is older than the kept ones (hours in a slot differ by
        // a multiple of SLOTS), so it can go.
        let bucket = &mut self.buckets[hour.rem_euclid(SLOTS as i64) as usize];
        if bucket.n == 0 || bucket.hour != hour {
            *bucket = Bucket {
                hour,
                ..Bucket::default()
            };
        }
        let minute = ts_ms.rem_euclid(HOUR_MS) / 60_000;
        bucket.minutes |= 1u64 << minute;
        bucket.sum += value;
        bucket.n += 1;
        self.newest_hour = Some(self.newest_hour.map_or(hour, |n| n.max(hour)));
        self.last_ts = Some(ts_ms);
        true
    }

    /// The bucket of `hour`, if it is one of the kept hours and holds readings.
    fn bucket(&self, hour: i64) -> Option<&Bucket> {
        let newest = self.newest_hour?;
        let b = &self.buckets[hour.rem_euclid(SLOTS as i64) as usize];
        (hour > newest - SLOTS as i64 && b.n > 0 && b.hour == hour).then_some(b)
    }

    /// Minutes of `hour` that hold a reading.
    pub fn coverage(&self, hour: i64) -> u32 {
        self.bucket(hour).map_or(0, |b| b.minutes.count_ones())
    }

    /// The average of `hour` (`ts_ms.div_euclid(HOUR_MS)`), if kept and complete enough.
    pub fn hour_mean(&self, hour: i64) -> Option<f64> {
        self.bucket(hour)
            .filter(|b| b.minutes.count_ones() >= self.min_minutes)
            .map(|b| b.sum / f64::from(b.n))
    }

    /// The hourly averages as of `now_ms`, most recent first, and the hour of the first.
    ///
    /// The first (c1 of the NowCast) is the hour in progress if it is already complete
    /// enough (at least `min_minutes` minutes with readings, so from minute 45 on with a
    /// reading every minute), and the last closed hour otherwise. Hours after `now_ms` are
    /// not looked at.
    pub fn recent(&self, now_ms: i64) -> Recent {
        let now_hour = now_ms.div_euclid(HOUR_MS);
        let first = if self.hour_mean(now_hour).is_some() {
            now_hour
        } else {
            now_hour - 1
        };
        Recent {
            first_hour: first,
            values: std::array::from_fn(|i| self.hour_mean(first - i as i64)),
        }
    }
}

/// Hourly averages of one stream, most recent first, from [`HourlyAverager::recent`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Recent {
    /// The hour of `values[0]` (`ts_ms.div_euclid(HOUR_MS)`).
    pub first_hour: i64,
    /// `values[i]` is the average of hour `first_hour - i`.
    pub values: [Option<f64>; 24],
}

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

#[cfg(test)]
mod tests;
