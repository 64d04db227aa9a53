//! Summary statistics of a sample: mean, sd and NumPy's default ("type 7",
//! linear interpolation) quantiles, computed in a fixed order so that results
//! are bit-identical whatever the thread count.

/// The statistic columns of every results file.
pub const STAT_COLUMNS: [&str; 7] = ["mean", "sd", "p5", "p25", "p50", "p75", "p95"];

/// The quantile levels reported.
pub const QUANTILES: [f64; 5] = [0.05, 0.25, 0.50, 0.75, 0.95];

/// Summary of one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation (divisor n − 1; 0 for one value).
    pub sd: f64,
    /// 5th percentile.
    pub p5: f64,
    /// 25th percentile.
    pub p25: f64,
    /// Median.
    pub p50: f64,
    /// 75th percentile.
    pub p75: f64,
    /// 95th percentile.
    pub p95: f64,
}

impl Stats {
    /// The values in [`STAT_COLUMNS`] order.
    pub fn columns(&self) -> [f64; 7] {
        [
            self.mean, self.sd, self.p5, self.p25, self.p50, self.p75, self.p95,
        ]
    }

    /// Summarises `values`, taken in the given order.
    /// Mean and sd are summed in the given order before any reordering.
    pub fn of(values: &[f64]) -> Stats {
        let n = values.len();
        if n == 0 {
            return Stats {
                mean: 0.0,
                sd: 0.0,
                p5: 0.0,
                p25: 0.0,
                p50: 0.0,
                p75: 0.0,
                p95: 0.0,
            };
        }
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        // Sums are taken on values scaled down when they are huge, so that
        // finite values near f64::MAX still give a finite mean and sd.
        let scale = lo.abs().max(hi.abs());
        let scale = if scale > 1e300 { scale } else { 1.0 };
        let mean = values.iter().map(|x| x / scale).sum::<f64>() / n as f64 * scale;
        if lo == hi {
            // A constant column (a banned product's sales, a 0/1 flag that
            // never changes): every quantile is that value, no selection needed.
            return Stats {
                mean,
                sd: 0.0,
                p5: lo,
                p25: lo,
                p50: lo,
                p75: lo,
                p95: lo,
            };
        }
        let sd = if n > 1 {
            let m = mean / scale;
            let ss = values
                .iter()
                .map(|x| (x / scale - m) * (x / scale - m))
                .sum::<f64>();
            (ss / (n - 1) as f64).sqrt() * scale
        } else {
            0.0
        };
        let quantiles = quantiles_nested(values);
        let [p5, p25, p50, p75, p95] = quantiles;
        Stats {
            mean,
            sd,
            p5,
            p25,
            p50,
            p75,
            p95,
        }
    }

    /// The quantiles at [`QUANTILES`], in order.
    pub fn quantiles(&self) -> [f64; 5] {
        [self.p5, self.p25, self.p50, self.p75, self.p95]
    }
}

/// Type-7 quantile from the order statistics `x_lo` (at ⌊h⌋) and `x_hi` (the next).
fn interpolate(x_lo: f64, x_hi: f64, frac: f64) -> f64 {
    x_lo + frac * (x_hi - x_lo)
}

/// A `u64` whose unsigned order is the numeric order of the float.
fn order_key(x: f64) -> u64 {
    let bits = x.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1 << 63)
    }
}

/// The float of an [`order_key`].
fn from_order_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 {
        key & !(1 << 63)
    } else {
        !key
    })
}

/// Nested selections: the median first, then each quartile inside its half
/// and each outer quantile inside its quarter, so later selections work on
/// ever smaller parts. The value just above an order statistic is the least
/// of the part between it and the next selected one.
fn quantiles_nested(values: &[f64]) -> [f64; 5] {
    let mut keys: Vec<u64> = values.iter().map(|x| order_key(*x)).collect();
    let n = keys.len();
    let pos = QUANTILES.map(|q| {
        let h = (n - 1) as f64 * q;
        let lo = h.floor() as usize;
        (lo, h - lo as f64)
    });
    let [l5, l25, l50, l75, l95] = pos.map(|(lo, _)| lo);
    // Puts the order statistic `at` in place within `keys[from..to]`.
    let mut select = |from: usize, to: usize, at: usize| {
        if from <= at && at < to {
            keys[from..to].select_nth_unstable(at - from);
        }
    };
    select(0, n, l50);
    select(0, l50, l25);
    select(0, l25, l5);
    select(l50 + 1, n, l75);
    select(l75 + 1, n, l95);
    let selected = [l5, l25, l50, l75, l95];
    pos.map(|(lo, frac)| {
        let x_lo = from_order_key(keys[lo]);
        if frac > 0.0 && lo + 1 < n {
            // Everything between `lo` and the next selected position lies
            // between their values, so the next order statistic is its least.
            let end = selected
                .iter()
                .copied()
                .filter(|&p| p > lo)
                .min()
                .map_or(n, |p| p + 1);
            let next = keys[lo + 1..end]
                .iter()
                .copied()
                .min()
                .unwrap_or(keys[lo + 1]);
            interpolate(x_lo, from_order_key(next), frac)
        } else {
            x_lo
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_numpy_type_7() {
        // numpy.percentile([1, 2, 3, 4, 10], [5, 25, 50, 75, 95]) = [1.2, 2, 3, 4, 8.8]
        let v = [10.0, 2.0, 4.0, 1.0, 3.0];
        let s = Stats::of(&v);
        let expect = [1.2, 2.0, 3.0, 4.0, 8.8];
        for (a, b) in s.quantiles().iter().zip(expect) {
            assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        }
        assert_eq!(s.mean, 4.0);
        // Sample sd of [1,2,3,4,10]: sqrt(50/4).
        assert!((s.sd - (12.5f64).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn quantiles_of_many_values_agree_with_a_full_sort() {
        // Every small size (where the selected positions coincide) and two
        // large ones, with ties and negative values.
        let sizes = (1..=64usize).chain([1001, 20001]);
        for (n, pattern) in sizes.flat_map(|n| [(n, 0), (n, 1)]) {
            let v: Vec<f64> = (0..n)
                .map(|i| match pattern {
                    0 => ((i * 7919) % n) as f64 * 0.5 - (i % 7) as f64 * 100.0,
                    _ => ((i * 31) % 3) as f64 - 1.0, // three values, many ties
                })
                .collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let s = Stats::of(&v);
            for (k, q) in QUANTILES.iter().enumerate() {
                let h = (n - 1) as f64 * q;
                let lo = h.floor() as usize;
                let exact =
                    sorted[lo] + (h - lo as f64) * (sorted[(lo + 1).min(n - 1)] - sorted[lo]);
                assert_eq!(s.quantiles()[k], exact, "n = {n}, q = {q}");
            }
        }
    }

    #[test]
    fn values_near_the_largest_double_give_finite_statistics() {
        let v = [1e308, 1.5e308, 1.7e308];
        let s = Stats::of(&v);
        assert!(s.mean.is_finite() && s.sd.is_finite());
        assert!((s.mean - 1.4e308).abs() < 1e294);
        assert!((s.sd - 0.360555127546399e308).abs() < 1e294);
    }

    #[test]
    fn order_keys_sort_like_the_numbers() {
        let xs = [-1e300, -2.5, -1e-300, -0.0, 0.0, 1e-300, 3.0, 1e300];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]), "{} vs {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn one_value_has_zero_sd_and_every_quantile_equal() {
        let s = Stats::of(&[3.5]);
        assert_eq!(s.columns(), [3.5, 0.0, 3.5, 3.5, 3.5, 3.5, 3.5]);
    }
}
