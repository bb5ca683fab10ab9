//! Seeded randomness. Every source, and every day of the city's shared conditions, draws from
//! a generator of its own, seeded from the run's seed and a label (`traffic/tc-ql1a-2`,
//! `world/rain/20400`): so a source's stream does not depend on how many other sources there
//! are, nor on the order they happen to be stepped in, and `--scale` or a domain filter leaves
//! the other streams as they were.
//!
//! `StdRng` (ChaCha12) rather than `SmallRng`: its output is the same on every platform.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A seed for `label` under the run's `seed`: FNV-1a of the label, mixed with SplitMix64.
pub(crate) fn sub_seed(seed: u64, label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    splitmix(seed ^ splitmix(h))
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The generator of `label` under the run's `seed`.
pub(crate) fn rng_for(seed: u64, label: &str) -> StdRng {
    StdRng::seed_from_u64(sub_seed(seed, label))
}

/// Uniform in `[lo, hi)` (or `lo` when the range is empty).
pub(crate) fn uniform(rng: &mut StdRng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * rng.random::<f64>()
}

/// How late a status change held while its platform was down goes out after it returns:
/// 5 s to 3 min, so the backlog trickles out instead of landing in one millisecond.
pub(crate) fn backlog_delay(rng: &mut StdRng) -> i64 {
    (uniform(rng, 5.0, 180.0) * 1000.0) as i64
}

/// True with probability `p`.
pub(crate) fn chance(rng: &mut StdRng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A standard normal variate (Box-Muller).
pub(crate) fn normal(rng: &mut StdRng) -> f64 {
    let u1 = 1.0 - rng.random::<f64>(); // (0, 1]: ln is finite
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// An exponential variate of the given mean.
pub(crate) fn exponential(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

/// A log-normal variate: `median * exp(sigma * N(0, 1))`.
pub(crate) fn log_normal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A Poisson variate of mean `lambda` (Knuth's method: the means here are small).
pub(crate) fn poisson(rng: &mut StdRng, lambda: f64) -> u32 {
    let limit = (-lambda).exp();
    let mut p = 1.0;
    let mut k = 0;
    loop {
        p *= rng.random::<f64>();
        if p <= limit || k >= 1000 {
            return k;
        }
        k += 1;
    }
}

/// An index drawn with probability proportional to its weight. The weights are not all zero.
pub(crate) fn pick(rng: &mut StdRng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    // Rounding left `x` just above the last weight: the last index with a weight.
    weights.iter().rposition(|w| *w > 0.0).unwrap_or(0)
}

/// A mean-reverting random walk (Ornstein-Uhlenbeck): noise that drifts smoothly, so that a
/// sensor's readings wander around the model instead of jumping at each reading.
#[derive(Debug, Clone)]
pub(crate) struct Drift {
    value: f64,
    /// How long it takes to forget, seconds.
    tau_s: f64,
    /// Its standard deviation in the long run.
    sigma: f64,
}

impl Drift {
    /// Starts from a draw of its long-run distribution.
    pub(crate) fn new(rng: &mut StdRng, tau_s: f64, sigma: f64) -> Drift {
        Drift {
            value: sigma * normal(rng),
            tau_s,
            sigma,
        }
    }

    /// Moves `dt_s` seconds on and gives the new value.
    pub(crate) fn step(&mut self, rng: &mut StdRng, dt_s: f64) -> f64 {
        let a = (-dt_s / self.tau_s).exp();
        self.value = self.value * a + self.sigma * (1.0 - a * a).sqrt() * normal(rng);
        self.value
    }
}

/// `x` rounded to one decimal (and never `-0.0`, which JSON would show as `-0.0`).
pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0 + 0.0
}

/// `x` rounded to two decimals.
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0 + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_seeds_differ_by_label_and_seed() {
        assert_ne!(sub_seed(1, "a"), sub_seed(1, "b"));
        assert_ne!(sub_seed(1, "a"), sub_seed(2, "a"));
        assert_eq!(sub_seed(7, "traffic/x"), sub_seed(7, "traffic/x"));
    }

    #[test]
    fn rounding_never_gives_negative_zero() {
        assert_eq!(round1(-0.01).to_string(), "0");
        assert_eq!(serde_json::json!(round1(-0.0)).to_string(), "0.0");
        assert_eq!(round2(0.12345), 0.12);
    }

    #[test]
    fn draws_have_the_moments_they_should() {
        let mut rng = rng_for(1, "moments");
        let n = 20_000;
        let mean = |f: &mut dyn FnMut() -> f64| (0..n).map(|_| f()).sum::<f64>() / n as f64;
        assert!((mean(&mut || normal(&mut rng))).abs() < 0.05);
        assert!((mean(&mut || exponential(&mut rng, 3.0)) - 3.0).abs() < 0.15);
        assert!((mean(&mut || f64::from(poisson(&mut rng, 2.5))) - 2.5).abs() < 0.1);
        let picks = (0..n).filter(|_| pick(&mut rng, &[1.0, 3.0]) == 1).count();
        assert!((picks as f64 / n as f64 - 0.75).abs() < 0.02);
    }
}
