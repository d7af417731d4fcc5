//! Which requests are traced when the caller did not decide.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::Rng;

/// X-Ray's default local rule: the first request of each second (the reservoir of
/// one), then 5 % of the rest. Lock-free: one atomic per decision.
#[derive(Debug, Default)]
pub struct XrayRule {
    /// The epoch second whose reservoir is spent.
    spent_second: AtomicU64,
}

const FIXED_RATE: f64 = 0.05;

impl XrayRule {
    pub fn sample(&self, epoch_second: u64) -> bool {
        let spent = self.spent_second.load(Ordering::Relaxed);
        if spent != epoch_second
            && self
                .spent_second
                .compare_exchange(spent, epoch_second, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            return true;
        }
        rand::rng().random_bool(FIXED_RATE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_of_each_second_then_about_five_percent() {
        let rule = XrayRule::default();
        assert!(rule.sample(100));
        let rest = (0..20_000).filter(|_| rule.sample(100)).count();
        // 5 % of 20 000 is 1 000; the bounds are many standard deviations (~31) wide.
        assert!((700..1300).contains(&rest), "{rest}");
        assert!(rule.sample(101), "a new second, a new reservoir");
    }
}
