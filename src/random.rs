//! The crate's one source of randomness: ChaCha8 from `rand_chacha`, seeded from the operating
//! system where a run need not repeat (retry jitter, delivery backoff) and from a fixed seed
//! where it must (synthetic rosters, the simulator, test schedules).

use std::cell::RefCell;

use rand::{Rng as _, SeedableRng};

/// The generator every caller uses.
pub type Rng = rand_chacha::ChaCha8Rng;

/// A generator that repeats its sequence for the same seed, on every platform and build.
pub fn seeded(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

thread_local! {
    /// One generator per thread, seeded once from the operating system.
    static FRESH: RefCell<Rng> = RefCell::new(Rng::from_os_rng());
}

/// A number in `range` that no earlier run predicts.
pub fn fresh_range<T, R>(range: R) -> T
where
    T: rand::distr::uniform::SampleUniform,
    R: rand::distr::uniform::SampleRange<T>,
{
    FRESH.with(|rng| rng.borrow_mut().random_range(range))
}

#[cfg(test)]
mod tests {
    use rand::Rng as _;

    #[test]
    fn a_seed_repeats_its_sequence_and_fresh_draws_stay_in_range() {
        let draw = |seed| {
            let mut rng = super::seeded(seed);
            (0..4).map(|_| rng.random::<u64>()).collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let draws: Vec<u32> = (0..200).map(|_| super::fresh_range(0..8)).collect();
        assert!(draws.iter().all(|d| *d < 8));
        assert!(
            draws.iter().any(|d| *d != draws[0]),
            "200 draws, all {}",
            draws[0]
        );
    }
}
