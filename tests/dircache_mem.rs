//! Memory cost of the directory cache: 500,000 cached entries (the default `dircache_max`), in
//! a process of their own (this test binary has one test, so nothing else allocates meanwhile).
//! Prints the measured cost per entry; the bound is 150 MiB of RSS for 500,000 entries.

use std::time::{Duration, Instant};

use smb3fs::cache::{DirCache, Entry, Lookup, DEFAULT_MAX_ENTRIES};
use smb3fs::client::FileAttrs;

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

#[test]
fn rss_of_500_000_cached_entries() {
    const DIRS: usize = 50;
    let per_dir = DEFAULT_MAX_ENTRIES / DIRS;
    let before = vm_rss_kib();
    let t = Instant::now();
    let mut c = DirCache::new(DEFAULT_MAX_ENTRIES, Duration::from_secs(3600));
    for d in 0..DIRS {
        let dir = format!("projects/tree-{d:02}");
        let ticket = c.begin(&dir);
        // Listings arrive in batches; the entries vector grows as it would from the server.
        let mut entries = Vec::new();
        for i in 0..per_dir {
            let n = d * per_dir + i;
            entries.push(Entry::new(
                format!("file-{n:07}.dat"),
                FileAttrs {
                    index_number: 1_000_000 + n as u64,
                    size: n as u64 * 17,
                    allocation_size: 4096,
                    attributes: 0x20,
                    creation_time: 133_000_000_000_000_000 + n as u64,
                    last_access_time: 133_000_000_000_000_000 + n as u64,
                    last_write_time: 133_000_000_000_000_000 + n as u64,
                    change_time: 133_000_000_000_000_000 + n as u64,
                    nlink: 1,
                },
            ));
        }
        entries.shrink_to_fit();
        assert!(c.insert(&dir, ticket, entries, Instant::now()));
    }
    let fill = t.elapsed();
    assert_eq!(c.len(), DEFAULT_MAX_ENTRIES);
    let after = vm_rss_kib();
    let bytes = (after.saturating_sub(before)) * 1024;
    let per_entry = bytes as f64 / DEFAULT_MAX_ENTRIES as f64;
    // Lookups in another case still work at this size.
    let t = Instant::now();
    for n in (0..DEFAULT_MAX_ENTRIES).step_by(997) {
        let dir = format!("projects/tree-{:02}", n / per_dir);
        match c.lookup(&dir, &format!("FILE-{n:07}.DAT")) {
            Lookup::Found { name, .. } => assert_eq!(name, format!("file-{n:07}.dat")),
            other => panic!("{n}: {other:?}"),
        }
    }
    let lookups = t.elapsed() / (DEFAULT_MAX_ENTRIES / 997) as u32;
    eprintln!(
        "dircache: {} entries in {} directories: RSS +{:.1} MiB ({per_entry:.0} bytes per entry; \
         names of 16 bytes), filled in {fill:?}, case-insensitive lookup {lookups:?}",
        DEFAULT_MAX_ENTRIES,
        DIRS,
        bytes as f64 / (1 << 20) as f64
    );
    assert!(
        bytes <= 150 << 20,
        "500,000 entries take {} MiB",
        bytes >> 20
    );
}
