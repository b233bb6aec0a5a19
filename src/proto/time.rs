//! FILETIME (100 ns ticks since 1601-01-01 UTC) <-> [`SystemTime`].
//!
//! SMB carries every timestamp as a FILETIME; the FUSE side wants `SystemTime`. Conversions
//! saturate rather than panic, because timestamps come from the server.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// FILETIME of 1970-01-01T00:00:00Z.
pub const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;
/// 100 ns ticks per second.
pub const FILETIME_TICKS_PER_SEC: u64 = 10_000_000;

/// Convert a FILETIME to `SystemTime` (times before 1970 are supported; out-of-range
/// values saturate at the Unix epoch).
pub fn filetime_to_system_time(ft: u64) -> SystemTime {
    if ft >= FILETIME_UNIX_EPOCH {
        let d = ft - FILETIME_UNIX_EPOCH;
        let dur = Duration::new(
            d / FILETIME_TICKS_PER_SEC,
            ((d % FILETIME_TICKS_PER_SEC) * 100) as u32,
        );
        UNIX_EPOCH.checked_add(dur).unwrap_or(UNIX_EPOCH)
    } else {
        let d = FILETIME_UNIX_EPOCH - ft;
        let dur = Duration::new(
            d / FILETIME_TICKS_PER_SEC,
            ((d % FILETIME_TICKS_PER_SEC) * 100) as u32,
        );
        UNIX_EPOCH.checked_sub(dur).unwrap_or(UNIX_EPOCH)
    }
}

/// Convert a `SystemTime` to FILETIME, truncating to 100 ns and saturating at 0 / u64::MAX.
pub fn system_time_to_filetime(t: SystemTime) -> u64 {
    fn ticks(d: Duration) -> u64 {
        let t = d.as_nanos() / 100;
        u64::try_from(t).unwrap_or(u64::MAX)
    }
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => FILETIME_UNIX_EPOCH.saturating_add(ticks(d)),
        Err(e) => FILETIME_UNIX_EPOCH.saturating_sub(ticks(e.duration())),
    }
}

/// The current time as FILETIME.
pub fn filetime_now() -> u64 {
    system_time_to_filetime(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn epoch() {
        assert_eq!(filetime_to_system_time(FILETIME_UNIX_EPOCH), UNIX_EPOCH);
        assert_eq!(system_time_to_filetime(UNIX_EPOCH), FILETIME_UNIX_EPOCH);
        assert_eq!(
            system_time_to_filetime(UNIX_EPOCH + Duration::from_secs(1)),
            FILETIME_UNIX_EPOCH + FILETIME_TICKS_PER_SEC
        );
        assert_eq!(system_time_to_filetime(filetime_to_system_time(0)), 0);
    }

    proptest! {
        #[test]
        fn round_trip(ft in any::<u64>()) {
            // Values that fit SystemTime round-trip exactly (Linux SystemTime covers all u64 FILETIMEs).
            prop_assert_eq!(system_time_to_filetime(filetime_to_system_time(ft)), ft);
        }
    }
}
