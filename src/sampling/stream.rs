//! Named random streams: `(seed, path) → key`, and per trial a ChaCha8 stream.
//!
//! The key is SHA-256 of the seed and the path, so streams of different
//! inputs are independent and keyed by content, never by position; the trial
//! index selects ChaCha's 64-bit stream, so trial `i` needs no other trial.

use rand::rngs::ChaCha8Rng;
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
        let mut rng = ChaCha8Rng::from_seed(self.0);
        rng.set_stream(trial);
        UniformStream(rng)
    }

    /// The first uniform of trial `trial`'s stream: the one draw of a per-trial input.
    pub fn uniform(&self, trial: u64) -> f64 {
        self.open(trial).next_uniform()
    }
}

/// A sequence of uniforms in the open interval (0, 1).
#[derive(Debug)]
pub struct UniformStream(ChaCha8Rng);

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
    fn known_first_value_is_stable_across_platforms() {
        // Pinned so that a change of generator or key derivation is noticed:
        // results must stay reproducible across versions and machines.
        let u = StreamKey::new(20260121, "market.demand.initial").uniform(0);
        assert_eq!(u.to_bits(), 0x3fe6_2bfb_86e8_3ff6);
        // And a later trial's stream, reached without running trials 0..1000.
        let v = StreamKey::new(20260121, "market.demand.initial").uniform(1000);
        assert_ne!(v.to_bits(), u.to_bits());
    }
}
