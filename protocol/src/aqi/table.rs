//! Table 2 of the decision: the breakpoints of each parameter and averaging, and the
//! sub-index of one concentration by linear interpolation in them (Formulas 1 and 2).

use serde::{Deserialize, Serialize};

use super::Pollutant;

/// The AQI levels `I_1 ..= I_8` of Table 2.
pub const AQI_LEVELS: [f64; 8] = [0.0, 50.0, 100.0, 150.0, 200.0, 300.0, 400.0, 500.0];
/// The largest index: a concentration at or above the top breakpoint has this index.
pub const AQI_MAX: u32 = 500;
/// Above this 8-hour O₃ mean (µg/m³) the 8-hour column has no level, and the daily O₃ index
/// comes from the 1-hour value alone (§2.2.2.b).
pub const O3_8H_TOP: f64 = 400.0;

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
