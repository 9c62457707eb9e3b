//! Where the ids of new records come from when the caller names none. The engine is handed an
//! [`Ids`] beside its [`crate::clock::Clock`] and never makes one up itself: random UUIDs in
//! service, a plain counter where a run must be repeatable (tests, a scripted demo).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub enum Ids {
    /// Random UUIDs (v4): unique across processes and hosts sharing one database.
    #[default]
    Random,
    /// `prefix-1`, `prefix-2`, …: the same ids run after run.
    Counter { prefix: String, next: AtomicU64 },
    /// `prefix-7F3A9C`: short enough to read out on the phone, random; should one collide, the
    /// engine refuses it and the next try draws another.
    Readable { prefix: String },
}

impl Ids {
    pub fn counter(prefix: impl Into<String>) -> Ids {
        Ids::Counter {
            prefix: prefix.into(),
            next: AtomicU64::new(1),
        }
    }

    pub fn readable(prefix: impl Into<String>) -> Ids {
        Ids::Readable {
            prefix: prefix.into(),
        }
    }

    pub fn next_id(&self) -> String {
        match self {
            Ids::Random => uuid::Uuid::new_v4().to_string(),
            Ids::Counter { prefix, next } => {
                format!("{prefix}-{}", next.fetch_add(1, Ordering::Relaxed))
            }
            Ids::Readable { prefix } => {
                format!("{prefix}-{:06X}", crate::random::fresh_range(0..1u32 << 24))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ids;

    #[test]
    fn a_counter_repeats_and_random_ids_differ() {
        let ids = Ids::counter("s");
        assert_eq!([ids.next_id(), ids.next_id()], ["s-1", "s-2"]);
        let random = Ids::Random;
        let (a, b) = (random.next_id(), random.next_id());
        assert_ne!(a, b);
        assert_eq!(uuid::Uuid::parse_str(&a).unwrap().get_version_num(), 4);
        let readable = Ids::readable("S");
        let id = readable.next_id();
        assert!(
            id.len() == 8 && id.starts_with("S-") && id[2..].chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
    }
}
