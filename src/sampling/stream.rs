//! Named random streams: `(seed, path) → key`, and per trial a generator.
//!
//! The key is SHA-256 of the seed and the path, so streams of different
//! inputs are independent and keyed by content, never by position. A trial's
//! stream is a Xoshiro256++ generator seeded through SplitMix64 from the key
//! and the (mixed) trial index, so trial `i` needs no other trial. Xoshiro
//! rather than ChaCha8: a trial opens one stream per uncertain input and
//! mostly reads one number from it, and ChaCha computes four 64-byte blocks
//! for that first number, which made drawing the inputs a tenth of a trial.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

/// The key of one named stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamKey([u8; 32]);

impl StreamKey {
    /// The key of stream `path` under `seed`.
    pub fn new(seed: u64, path: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"tradeflow/stream/v1\0");
        h.update(seed.to_le_bytes());
        h.update(path.as_bytes());
        StreamKey(h.finalize().into())
    }

    /// The stream of trial `trial`.
    pub fn open(&self, trial: u64) -> UniformStream {
        let mut key = [0u8; 8];
        key.copy_from_slice(&self.0[..8]);
        // The trial index is mixed before it meets the key, so that streams
        // of neighbouring trials do not start from neighbouring seeds.
        let seed = u64::from_le_bytes(key) ^ mix64(trial.wrapping_add(0x9E37_79B9_7F4A_7C15));
        UniformStream(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// The first uniform of trial `trial`'s stream: the one draw of a per-trial input.
    pub fn uniform(&self, trial: u64) -> f64 {
        self.open(trial).next_uniform()
    }
}

/// SplitMix64's finaliser: a bijective mix of 64 bits.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A sequence of uniforms in the open interval (0, 1).
#[derive(Debug)]
pub struct UniformStream(Xoshiro256PlusPlus);

impl UniformStream {
    /// The next uniform, strictly between 0 and 1 (53 random bits, centred in its cell).
    pub fn next_uniform(&mut self) -> f64 {
        ((self.0.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_on_seed_path_and_trial_only() {
        let a = StreamKey::new(7, "product.H200.price");
        let b = StreamKey::new(7, "product.H200.price");
        assert_eq!(a.uniform(3), b.uniform(3));
        assert_ne!(a.uniform(3), a.uniform(4));
        assert_ne!(
            a.uniform(3),
            StreamKey::new(8, "product.H200.price").uniform(3)
        );
        assert_ne!(
            a.uniform(3),
            StreamKey::new(7, "product.H20.price").uniform(3)
        );
    }

    #[test]
    fn uniforms_are_open_and_roughly_uniform() {
        let mut s = StreamKey::new(1, "x").open(0);
        let n = 100_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let u = s.next_uniform();
            assert!(u > 0.0 && u < 1.0);
            sum += u;
        }
        // Mean of n uniforms: sd = sqrt(1/12/n) ≈ 0.0009; 5 sd bound.
        assert!((sum / n as f64 - 0.5).abs() < 0.0046);
    }

    #[test]
    fn neighbouring_trials_draw_uncorrelated_uniforms() {
        // Sample correlation of u(trial) and u(trial + 1) over 100 000 trials,
        // and of two paths in the same trial: |r| < 4.5 / sqrt(n).
        let n = 100_000u64;
        let a = StreamKey::new(3, "product.H200.price");
        let b = StreamKey::new(3, "product.H20.price");
        let corr = |x: &dyn Fn(u64) -> f64, y: &dyn Fn(u64) -> f64| {
            let (mut sx, mut sy, mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for t in 0..n {
                let (p, q) = (x(t), y(t));
                sx += p;
                sy += q;
                sxy += p * q;
                sxx += p * p;
                syy += q * q;
            }
            let m = n as f64;
            (sxy / m - sx / m * sy / m)
                / ((sxx / m - (sx / m).powi(2)) * (syy / m - (sy / m).powi(2))).sqrt()
        };
        let bound = 4.5 / (n as f64).sqrt();
        assert!(corr(&|t| a.uniform(t), &|t| a.uniform(t + 1)).abs() < bound);
        assert!(corr(&|t| a.uniform(t), &|t| b.uniform(t)).abs() < bound);
        let mut s = a.open(7);
        let first = s.next_uniform();
        assert!(
            corr(&|t| a.open(t).next_uniform(), &|t| {
                let mut s = a.open(t);
                s.next_uniform();
                s.next_uniform()
            })
            .abs()
                < bound
        );
        assert_ne!(first, s.next_uniform());
    }

    #[test]
    fn known_first_value_is_stable_across_platforms() {
        // Pinned so that a change of generator or key derivation is noticed:
        // results must stay reproducible across versions and machines.
        let u = StreamKey::new(20260121, "market.demand.initial").uniform(0);
        assert_eq!(u.to_bits(), 0x3fe0_ef14_f713_67a0);
        // And a later trial's stream, reached without running trials 0..1000.
        let v = StreamKey::new(20260121, "market.demand.initial").uniform(1000);
        assert_ne!(v.to_bits(), u.to_bits());
    }
}
