//! NowCast (§2.2.1.a): the concentration the hourly index reads for PM2.5 and PM10, from
//! the last twelve hourly averages.

use super::pollutant::valid;

/// Hourly averages a NowCast weighs.
pub const NOWCAST_HOURS: usize = 12;

/// The NowCast of PM2.5 or PM10 (§2.2.1.a) from hourly averages, `hourly[0]` = c1 the most
/// recent hour, `hourly[11]` = c12; entries past the twelfth are ignored, a shorter slice
/// counts as missing hours, and a negative or non-finite value counts as missing.
///
/// - `None` unless at least two of c1, c2, c3 are present.
/// - w* = c_min / c_max over the hours present; w = w* if w* > 1/2, else w = 1/2.
/// - w > 1/2: NowCast = Σ w^(i−1) c_i / Σ w^(i−1), over the hours present.
/// - w = 1/2 with all twelve hours: NowCast = Σ (1/2)^i c_i, as the decision writes it.
/// - w = 1/2 with hours missing: the weighted mean with w = 1/2 over the hours present (see
///   the documentation of the `aqi` module for why).
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
