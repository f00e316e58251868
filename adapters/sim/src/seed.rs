//! Seeds: where a run's seed (and chaos settings) come from, and the generator that turns the
//! seed into a scheduling order.

use std::hash::{BuildHasher, Hasher};

/// The environment variable that fixes the seed of every run that was not given one.
pub const SEED_ENV: &str = "ANYSCOPE_SEED";

/// The seed for a run not given one: `ANYSCOPE_SEED` when set, else a fresh random one.
///
/// # Panics
///
/// When `ANYSCOPE_SEED` is set but is not a number (decimal, or hexadecimal after `0x`).
pub(crate) fn from_env_or_random() -> u64 {
    match std::env::var(SEED_ENV) {
        Ok(text) => parse(&text).unwrap_or_else(|| {
            panic!("anyscope-sim: {SEED_ENV}={text:?} is not a seed: give a decimal or 0x-prefixed hex u64")
        }),
        Err(_) => random(),
    }
}

/// The environment variable that sets [`Builder::spurious_wakeups`](crate::Builder::spurious_wakeups)
/// for every run not given it (thousandths).
pub const SPURIOUS_ENV: &str = "ANYSCOPE_SIM_SPURIOUS";

/// The chance of spurious wakes for a run not given one: `ANYSCOPE_SIM_SPURIOUS`, else 0.
///
/// # Panics
///
/// When `ANYSCOPE_SIM_SPURIOUS` is set but is not a number.
pub(crate) fn spurious_from_env() -> u32 {
    match std::env::var(SPURIOUS_ENV) {
        Ok(text) => match parse(&text) {
            Some(n) => u32::try_from(n.min(1000)).unwrap_or(1000),
            None => panic!("anyscope-sim: {SPURIOUS_ENV}={text:?} is not a number of thousandths"),
        },
        Err(_) => 0,
    }
}

fn parse(text: &str) -> Option<u64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// A random seed: std's randomly keyed hasher over the time and the thread.
fn random() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()),
    );
    h.write(format!("{:?}", std::thread::current().id()).as_bytes());
    h.finish()
}

/// SplitMix64: a tiny, fast generator whose whole state is the seed, so a seed replays a run.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_and_hex() {
        assert_eq!(parse("42"), Some(42));
        assert_eq!(parse(" 0x2a "), Some(42));
        assert_eq!(parse("forty-two"), None);
    }

    #[test]
    fn same_seed_same_sequence() {
        let (mut a, mut b) = (Rng::new(7), Rng::new(7));
        let xs: Vec<_> = (0..8).map(|_| a.below(100)).collect();
        let ys: Vec<_> = (0..8).map(|_| b.below(100)).collect();
        assert_eq!(xs, ys);
        let mut c = Rng::new(8);
        assert_ne!(xs, (0..8).map(|_| c.below(100)).collect::<Vec<_>>());
    }
}
