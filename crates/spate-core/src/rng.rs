//! A small deterministic random generator (SplitMix64) for sampling: the same seed gives
//! the same sample on every process.

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `[0, n)` (0 when `n` is 0), by multiply-shift (no modulo bias).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// One of `xs` (which must not be empty).
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    /// One of `xs` with probability proportional to its weight (`xs` not empty).
    pub fn weighted<T: Copy>(&mut self, xs: &[(u32, T)]) -> T {
        let total: u64 = xs.iter().map(|x| u64::from(x.0)).sum();
        let mut r = self.below(total);
        for &(w, x) in xs {
            if r < u64::from(w) {
                return x;
            }
            r -= u64::from(w);
        }
        xs[xs.len() - 1].1
    }

    /// A Poisson-distributed count with mean `lambda` (Knuth's method; splits large means).
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        let mut remaining = lambda;
        let mut total = 0u64;
        while remaining > 0.0 {
            let step = remaining.min(30.0);
            remaining -= step;
            let l = (-step).exp();
            let mut k = 0u64;
            let mut p = 1.0;
            loop {
                p *= self.next_f64();
                if p <= l {
                    break;
                }
                k += 1;
            }
            total += k;
        }
        total
    }
}
