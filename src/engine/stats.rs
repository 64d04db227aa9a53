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
        Self::of_with(values, &mut StatsScratch::default())
    }

    /// [`Stats::of`], with buffers reused from column to column.
    ///
    /// Three passes instead of a sort: (1) least, greatest and sum; (2) the
    /// squared deviations, and a bucket for each value from a monotone map of
    /// its value; (3) the values of the few buckets that hold a wanted order
    /// statistic are gathered and selected among. Any exact selection gives the
    /// same order statistics, and the sums are those of the plain loops (same
    /// operations, same order), so the results are the same bits.
    pub fn of_with(values: &[f64], scratch: &mut StatsScratch) -> Stats {
        Self::of_summarised(values, Summary::of(values), scratch)
    }

    /// [`Stats::of_with`] given the [`Summary`] of `values` (taken in their
    /// order), for callers that computed it while gathering them.
    pub(crate) fn of_summarised(
        values: &[f64],
        summary: Summary,
        scratch: &mut StatsScratch,
    ) -> Stats {
        let n = values.len();
        if n == 0 {
            return Stats::constant(0.0, 0.0);
        }
        let Summary { lo, hi, sum } = summary;
        if lo.abs().max(hi.abs()) > 1e300 {
            // Sums on scaled values: rare, taken the straightforward way.
            return Self::of_scaled(values, scratch);
        }
        let mean = sum / n as f64;
        if lo == hi {
            // A constant column (a banned product's sales, a 0/1 flag that
            // never changes): every quantile is that value, no selection needed.
            // A column of zeros of both signs reports the zero the reduction
            // `f64::min` picks, as it always has.
            let p = if lo == 0.0 { min_max(values).0 } else { lo };
            return Stats::constant(mean, p);
        }
        let m = mean;
        let sd_of = |ss: f64| {
            if n > 1 {
                (ss / (n - 1) as f64).sqrt()
            } else {
                0.0
            }
        };
        // Value buckets `1..=top + 1`, about four values each.
        let top = (n / 4).clamp(15, VALUE_BUCKETS - 1);
        let per_unit = top as f64 / (hi - lo);
        if n < SMALL_SAMPLE || !per_unit.is_finite() {
            let ss = values.iter().fold(-0.0, |ss, &x| ss + (x - m) * (x - m));
            let quantiles = quantiles_nested(values, &mut scratch.keys);
            return Stats::with(mean, sd_of(ss), quantiles);
        }
        let StatsScratch {
            keys,
            bucket_of,
            counts,
            region_of,
        } = scratch;
        counts[..=top + 1].fill(0);
        bucket_of.resize(n, 0);
        // Many columns hold one value many times at their least (no sales in
        // most trials: zeros), so those values get a bucket of their own.
        let (ss, negative_zeros) = if lo == 0.0 {
            deviations_and_buckets::<true>(values, m, lo, per_unit, bucket_of, counts)
        } else {
            deviations_and_buckets::<false>(values, m, lo, per_unit, bucket_of, counts)
        };
        let least = Least {
            value: lo,
            negative_zeros,
        };
        let quantiles = quantiles_bucketed(values, top, least, bucket_of, counts, region_of, keys);
        Stats::with(mean, sd_of(ss), quantiles)
    }

    /// The original computation for values near f64::MAX, whose sums are
    /// taken on values scaled down so that mean and sd stay finite.
    #[cold]
    fn of_scaled(values: &[f64], scratch: &mut StatsScratch) -> Stats {
        let n = values.len();
        let (lo, hi) = min_max(values);
        let scale = lo.abs().max(hi.abs());
        let scale = if scale > 1e300 { scale } else { 1.0 };
        let mean = values.iter().map(|x| x / scale).sum::<f64>() / n as f64 * scale;
        if lo == hi {
            return Stats::constant(mean, lo);
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
        Stats::with(mean, sd, quantiles_nested(values, &mut scratch.keys))
    }

    fn constant(mean: f64, p: f64) -> Stats {
        Stats {
            mean,
            sd: 0.0,
            p5: p,
            p25: p,
            p50: p,
            p75: p,
            p95: p,
        }
    }

    fn with(mean: f64, sd: f64, quantiles: [f64; 5]) -> Stats {
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

/// The first pass of the statistics: least, greatest and sum of the values
/// in their order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Summary {
    /// Least value (the first of equal ones, as `x < lo` keeps it).
    pub lo: f64,
    /// Sum in order from −0.0: `Iterator::sum` of `x / 1.0`, the same additions.
    /// (Between `lo` and `hi`: side by side, the compiler pairs the two in
    /// one register and trades a `min` and a `max` for four blend instructions.)
    pub sum: f64,
    /// Greatest value.
    pub hi: f64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            sum: -0.0,
        }
    }
}

impl Summary {
    /// The summary of `values`, in their order.
    pub fn of(values: &[f64]) -> Summary {
        let mut s = Summary::default();
        for &x in values {
            s.add(x);
        }
        s
    }

    /// Whether two summaries have the same bits.
    pub fn same_bits(&self, other: &Summary) -> bool {
        self.lo.to_bits() == other.lo.to_bits()
            && self.hi.to_bits() == other.hi.to_bits()
            && self.sum.to_bits() == other.sum.to_bits()
    }

    /// A hash of the bits, to find candidate duplicate columns.
    pub fn hash(&self) -> usize {
        let h = self.sum.to_bits()
            ^ self.lo.to_bits().rotate_left(21)
            ^ self.hi.to_bits().rotate_left(42);
        (h.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize
    }

    /// Takes in the next value.
    #[inline(always)]
    pub fn add(&mut self, x: f64) {
        // No NaN reaches here, so these are `min`/`max` in one instruction each.
        self.lo = if x < self.lo { x } else { self.lo };
        self.hi = if x > self.hi { x } else { self.hi };
        self.sum += x;
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

/// Below this many values the nested selection on all of them is as quick.
const SMALL_SAMPLE: usize = 64;

/// Bucket ids are below this (a power of two, so that masking proves the
/// index in range).
const BUCKET_SLOTS: usize = 4096;

/// Value buckets are counted from 1 and at most this many (a mask: with bucket
/// 0 of the least value, ids stay below [`BUCKET_SLOTS`]).
const VALUE_BUCKETS: usize = BUCKET_SLOTS / 2 - 1;

/// No region: the bucket holds no wanted order statistic.
const NO_REGION: u8 = u8::MAX;

/// 2^52: adding it to a value in [0, 2^51) rounds it to an integer held in
/// the low bits of the mantissa.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// Buffers reused from column to column by one thread.
#[derive(Debug, Clone)]
pub struct StatsScratch {
    /// Order keys: of every value (nested selection) or of the values in the
    /// buckets holding a wanted order statistic.
    keys: Vec<u64>,
    /// The bucket of each value.
    bucket_of: Vec<u16>,
    /// Values per bucket.
    counts: Box<[u32; BUCKET_SLOTS]>,
    /// The region of `keys` of each wanted bucket; [`NO_REGION`] for every
    /// other bucket (restored after each column).
    region_of: Box<[u8; BUCKET_SLOTS]>,
}

impl Default for StatsScratch {
    fn default() -> Self {
        StatsScratch {
            keys: Vec::new(),
            bucket_of: Vec::new(),
            counts: Box::new([0; BUCKET_SLOTS]),
            region_of: Box::new([NO_REGION; BUCKET_SLOTS]),
        }
    }
}

/// Least and greatest value by `f64::min`/`f64::max`: the reduction the
/// statistics were first defined with (whose pick between −0.0 and +0.0 the
/// constant column of zeros reports).
fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

/// The quantile positions: order statistic ⌊h⌋ and the fraction towards the next.
fn positions(n: usize) -> [(usize, f64); 5] {
    QUANTILES.map(|q| {
        let h = (n - 1) as f64 * q;
        let lo = h.floor() as usize;
        (lo, h - lo as f64)
    })
}

/// The quantiles from the order statistics at the positions (`at(rank)` is
/// the value of rank `rank`).
fn interpolated(n: usize, at: impl Fn(usize) -> f64) -> [f64; 5] {
    positions(n).map(|(lo, frac)| {
        let x_lo = at(lo);
        if frac > 0.0 && lo + 1 < n {
            interpolate(x_lo, at(lo + 1), frac)
        } else {
            x_lo
        }
    })
}

/// The sum of squared deviations from `m`, in order, and the bucket of each
/// value: 0 for the values equal to `lo`, else 1 + ⌊(x − lo)·per_unit⌉ (at
/// most `top` + 1, as the rounding error is far below ½). Each step rounds
/// monotonically, so a smaller value never lands in a later bucket; adding
/// 2^52 leaves the integer in the low bits of the mantissa. With `ZERO_LO`
/// (`lo` is ±0, so no value is below zero) also counts the −0.0 values.
#[inline(always)]
fn deviations_and_buckets<const ZERO_LO: bool>(
    values: &[f64],
    m: f64,
    lo: f64,
    per_unit: f64,
    bucket_of: &mut [u16],
    counts: &mut [u32; BUCKET_SLOTS],
) -> (f64, usize) {
    let (mut ss, mut negative_zeros) = (-0.0, 0);
    // Two values at a time, written side by side so that the compiler puts
    // each pair in one register (the sum still takes them one by one).
    let pairs = values.chunks_exact(2).zip(bucket_of.chunks_exact_mut(2));
    for (x, id) in pairs {
        let (x0, x1) = (x[0], x[1]);
        let (e0, e1) = (x0 - m, x1 - m);
        let (q0, q1) = (e0 * e0, e1 * e1);
        ss += q0;
        ss += q1;
        let (d0, d1) = (x0 - lo, x1 - lo);
        let (r0, r1) = (d0 * per_unit + TWO_POW_52, d1 * per_unit + TWO_POW_52);
        let b0 = ((r0.to_bits() as usize) & VALUE_BUCKETS) + usize::from(d0 > 0.0);
        let b1 = ((r1.to_bits() as usize) & VALUE_BUCKETS) + usize::from(d1 > 0.0);
        id[0] = b0 as u16;
        id[1] = b1 as u16;
        counts[b0] += 1;
        counts[b1] += 1;
        if ZERO_LO {
            negative_zeros += (x0.to_bits() >> 63) as usize + (x1.to_bits() >> 63) as usize;
        }
    }
    let done = values.len() / 2 * 2;
    for (&x, id) in values[done..].iter().zip(bucket_of[done..].iter_mut()) {
        ss += (x - m) * (x - m);
        let d = x - lo;
        let b = (((d * per_unit + TWO_POW_52).to_bits() as usize) & VALUE_BUCKETS)
            + usize::from(d > 0.0);
        *id = b as u16;
        counts[b] += 1;
        if ZERO_LO {
            negative_zeros += (x.to_bits() >> 63) as usize;
        }
    }
    (ss, negative_zeros)
}

/// The least value of a column, which has bucket 0 to itself.
#[derive(Clone, Copy)]
struct Least {
    value: f64,
    /// When it is zero: how many of the zeros are −0.0 (they come first).
    negative_zeros: usize,
}

/// Quantiles from the values' buckets (`bucket_of`, `counts`, buckets
/// `0..=top + 1`, monotone in the value, bucket 0 holding only the least
/// value): the order statistics needed lie in at most ten buckets; the
/// values of those past bucket 0 are gathered, each bucket into its own region
/// of `keys`, and selected within it. As no value of a bucket is below a
/// value of an earlier one, the order statistic of rank `r` is the one of
/// rank `r − (values in earlier buckets)` within its bucket.
fn quantiles_bucketed(
    values: &[f64],
    top: usize,
    least: Least,
    bucket_of: &[u16],
    counts: &[u32; BUCKET_SLOTS],
    region_of: &mut [u8; BUCKET_SLOTS],
    keys: &mut Vec<u64>,
) -> [f64; 5] {
    let n = values.len();
    // The ranks needed, ascending and distinct, and their order keys.
    let mut ranks = [0usize; 10];
    let mut n_ranks = 0;
    for (lo, frac) in positions(n) {
        for r in [lo, lo + 1] {
            if (r == lo || (frac > 0.0 && r < n)) && !ranks[..n_ranks].contains(&r) {
                ranks[n_ranks] = r;
                n_ranks += 1;
            }
        }
    }
    let ranks = &mut ranks[..n_ranks];
    ranks.sort_unstable();
    let mut found = [0u64; 10];
    // Those among the least values: no selection needed.
    let mut k = 0;
    let at_least = counts[0] as usize;
    while k < ranks.len() && ranks[k] < at_least {
        found[k] = order_key(if least.value != 0.0 {
            least.value
        } else if ranks[k] < least.negative_zeros {
            -0.0
        } else {
            0.0
        });
        k += 1;
    }
    let first_gathered = k;
    // The buckets holding the others: (bucket, rank of its first value, its size).
    let mut wanted = [(0usize, 0usize, 0usize); 10];
    let mut n_wanted = 0;
    let mut below = at_least;
    if k < ranks.len() {
        for (b, &c) in counts.iter().enumerate().take(top + 2).skip(1) {
            let end = below + c as usize;
            if ranks[k] < end {
                wanted[n_wanted] = (b, below, c as usize);
                n_wanted += 1;
                while k < ranks.len() && ranks[k] < end {
                    k += 1;
                }
                if k == ranks.len() {
                    break;
                }
            }
            below = end;
        }
    }
    let wanted = &wanted[..n_wanted];
    // Each wanted bucket's region of `keys`, filled in value order.
    let mut next = [0usize; 16];
    let mut total = 0;
    for (w, &(b, _, size)) in wanted.iter().enumerate() {
        region_of[b] = w as u8;
        next[w] = total;
        total += size;
    }
    keys.clear();
    keys.resize(total, 0);
    if total > 0 {
        let mut put = |w: u8, x: f64| {
            if w != NO_REGION {
                let at = &mut next[w as usize & 15];
                keys[*at] = order_key(x);
                *at += 1;
            }
        };
        let region = |b: u16| region_of[b as usize & (BUCKET_SLOTS - 1)];
        // Four at a time: few values are wanted, and as `NO_REGION` has
        // every bit set, one test tells that none of the four is.
        let mut fours = bucket_of.chunks_exact(4).zip(values.chunks_exact(4));
        for (b, x) in fours.by_ref() {
            let w = [region(b[0]), region(b[1]), region(b[2]), region(b[3])];
            if w[0] & w[1] & w[2] & w[3] != NO_REGION {
                for (&w, &x) in w.iter().zip(x) {
                    put(w, x);
                }
            }
        }
        let done = values.len() / 4 * 4;
        for (&b, &x) in bucket_of[done..].iter().zip(&values[done..]) {
            put(region(b), x);
        }
    }
    // Select each rank within its region, in ascending order, each on the
    // part after the previous one.
    let (mut start, mut k) = (0, first_gathered);
    for &(b, first, size) in wanted {
        region_of[b] = NO_REGION;
        let region = &mut keys[start..start + size];
        // A bucket of one repeated value (the 1s of a 0/1 flag) needs no selection.
        let one_value = size > 16 && region.iter().fold(0, |a, &x| a | (x ^ region[0])) == 0;
        let mut from = 0;
        while k < ranks.len() && ranks[k] < first + size {
            let at = ranks[k] - first;
            if !one_value {
                region[from..].select_nth_unstable(at - from);
            }
            found[k] = region[at];
            from = at + 1;
            k += 1;
        }
        start += size;
    }
    interpolated(n, |r| {
        let k = ranks.iter().position(|&x| x == r).unwrap_or(0);
        from_order_key(found[k])
    })
}

/// Nested selections: the median first, then each quartile inside its half
/// and each outer quantile inside its quarter, so later selections work on
/// ever smaller parts. The value just above an order statistic is the least
/// of the part between it and the next selected one.
fn quantiles_nested(values: &[f64], keys: &mut Vec<u64>) -> [f64; 5] {
    keys.clear();
    keys.extend(values.iter().map(|x| order_key(*x)));
    let n = keys.len();
    let pos = positions(n);
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

    /// The statistics as first written (min/max fold, three sums, a key
    /// vector and nested selections), to check the faster ones against.
    fn reference(values: &[f64]) -> Stats {
        let n = values.len();
        if n == 0 {
            return Stats::constant(0.0, 0.0);
        }
        let (lo, hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            });
        let scale = lo.abs().max(hi.abs());
        let scale = if scale > 1e300 { scale } else { 1.0 };
        let mean = values.iter().map(|x| x / scale).sum::<f64>() / n as f64 * scale;
        if lo == hi {
            return Stats::constant(mean, lo);
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
        Stats::with(mean, sd, quantiles_nested(values, &mut Vec::new()))
    }

    fn assert_same_bits(values: &[f64], scratch: &mut StatsScratch, what: &str) {
        let (a, b) = (Stats::of_with(values, scratch), reference(values));
        let bits = |s: Stats| s.columns().map(f64::to_bits);
        assert_eq!(
            bits(a),
            bits(b),
            "{what}, n = {}: {a:?} vs {b:?}",
            values.len()
        );
    }

    /// A small deterministic generator (SplitMix64), so the test needs no crate.
    struct Mix(u64);

    impl Mix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn bucketed_selection_gives_the_same_bits_as_the_first_computation() {
        let mut rng = Mix(7);
        let mut scratch = StatsScratch::default();
        let sizes = (1..=140usize).chain([199, 200, 256, 300, 999, 1000, 1001, 4096, 20001]);
        for n in sizes {
            for pattern in 0..16 {
                let v: Vec<f64> = (0..n)
                    .map(|i| {
                        let u = rng.unit();
                        match pattern {
                            0 => u * 1e6,
                            1 => (u * 4.0).floor(), // four values, many ties
                            2 => {
                                // Mostly zeros of both signs, a few positives.
                                if u < 0.8 {
                                    if i % 3 == 0 { -0.0 } else { 0.0 }
                                } else {
                                    u
                                }
                            }
                            3 => (u - 0.5) * 1e-300, // tiny, subnormal range
                            4 => u * 1e300,          // large, below the scaling
                            5 => (u - 0.5) * 3e300,  // near f64::MAX: scaled sums
                            6 => (-2.0 * (1.0 - u).ln()).exp(), // heavy tail
                            7 => {
                                // One far outlier: everything else in one bucket.
                                if i == n / 2 { 1e12 } else { 1.0 + u }
                            }
                            8 => {
                                if i % 2 == 0 { 0.0 } else { -0.0 } // all zeros
                            }
                            9 => 1.0 + (u * 3.0).floor() * f64::EPSILON, // adjacent floats
                            10 => 5e-324 * (u * 8.0).floor(),            // the least subnormals
                            11 => (u - 0.5) * f64::MAX,                  // huge, both signs
                            12 => -(u * 1e3).floor() - 0.5,
                            13 => {
                                // Many at the least (not zero) and at the greatest.
                                if u < 0.5 {
                                    -3.0
                                } else if u < 0.6 {
                                    7.0
                                } else {
                                    u
                                }
                            }
                            14 => {
                                // Zeros of both signs among negative and positive values.
                                if u < 0.5 {
                                    if i % 2 == 0 { -0.0 } else { 0.0 }
                                } else {
                                    u - 0.7
                                }
                            }
                            _ => ((i * 7919) % n) as f64 * 0.5 - (i % 7) as f64 * 100.0,
                        }
                    })
                    .collect();
                assert_same_bits(&v, &mut scratch, &format!("pattern {pattern}"));
            }
        }
        // Constant columns, including zeros of mixed signs in many orders.
        for n in 1..=40usize {
            for mask in [0u64, 1, 2, 5, 0xAAAA_AAAA, u64::MAX, 1 << (n - 1)] {
                let v: Vec<f64> = (0..n)
                    .map(|i| if mask >> (i % 64) & 1 == 1 { -0.0 } else { 0.0 })
                    .collect();
                assert_same_bits(&v, &mut scratch, &format!("zeros {mask:x}"));
                let v: Vec<f64> = (0..n).map(|_| 2.5).collect();
                assert_same_bits(&v, &mut scratch, "constant");
            }
        }
    }

    #[test]
    fn one_value_has_zero_sd_and_every_quantile_equal() {
        let s = Stats::of(&[3.5]);
        assert_eq!(s.columns(), [3.5, 0.0, 3.5, 3.5, 3.5, 3.5, 3.5]);
    }
}
