//! Memory cost of the directory cache: 500,000 cached entries (the default `dircache_max`), in
//! a process of their own (this test binary has one test, so nothing else allocates meanwhile),
//! then of the inode table after the kernel has learned every one of them, as `ls -l` of
//! them all does (`readdirplus` from the cached listings). Prints the measured cost per entry;
//! the bound is 150 MiB of RSS for both together.

use std::time::{Duration, Instant};

use smb3fs::cache::{DirCache, Entry, Lookup, DEFAULT_MAX_ENTRIES};
use smb3fs::client::FileAttrs;
use smb3fs::fs::inode::InodeTable;

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

const DIRS: usize = 50;

fn dir_name(d: usize) -> String {
    format!("projects/tree-{d:02}")
}

fn attrs(n: usize) -> FileAttrs {
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
    }
}

#[test]
fn rss_of_500_000_cached_entries_and_their_inodes() {
    let per_dir = DEFAULT_MAX_ENTRIES / DIRS;
    let root = FileAttrs {
        index_number: 5,
        attributes: 0x10,
        ..Default::default()
    };
    let before = vm_rss_kib();
    let t = Instant::now();
    let mut table = InodeTable::with_dircache(
        root,
        DirCache::new(DEFAULT_MAX_ENTRIES, Duration::from_secs(3600)),
    );
    for d in 0..DIRS {
        let dir = dir_name(d);
        let ticket = table.dirs.begin(&dir);
        // Listings arrive in batches; the entries vector grows as it would from the server.
        let mut entries = Vec::new();
        for i in 0..per_dir {
            let n = d * per_dir + i;
            entries.push(Entry::new(format!("file-{n:07}.dat"), attrs(n)));
        }
        let stored =
            table.store_listing(&dir, ticket, entries, Instant::now(), &Default::default());
        assert!(stored.is_ok());
    }
    let fill = t.elapsed();
    assert_eq!(table.dirs.len(), DEFAULT_MAX_ENTRIES);
    let cached = vm_rss_kib().saturating_sub(before);
    // Lookups in another case still work at this size.
    let t = Instant::now();
    for n in (0..DEFAULT_MAX_ENTRIES).step_by(997) {
        let dir = dir_name(n / per_dir);
        match table.dirs.lookup(&dir, &format!("FILE-{n:07}.DAT")) {
            Lookup::Found { name, .. } => assert_eq!(name, format!("file-{n:07}.dat")),
            other => panic!("{n}: {other:?}"),
        }
    }
    let lookups = t.elapsed() / (DEFAULT_MAX_ENTRIES / 997) as u32;
    eprintln!(
        "dircache: {DEFAULT_MAX_ENTRIES} entries in {DIRS} directories (names of 16 bytes): \
         RSS +{:.1} MiB ({:.0} bytes per entry), filled in {fill:?}, case-insensitive lookup \
         {lookups:?}",
        mib(cached),
        cached as f64 * 1024.0 / DEFAULT_MAX_ENTRIES as f64,
    );

    // `ls -l` of every directory: readdirplus gives the kernel an inode for each entry.
    let t = Instant::now();
    for d in 0..DIRS {
        let dir = dir_name(d);
        for i in 0..per_dir {
            let n = d * per_dir + i;
            let path = format!("{dir}/file-{n:07}.dat");
            let ino = table.upsert_listed(&path, attrs(n), true);
            assert_eq!(ino, 1_000_000 + n as u64);
        }
    }
    let inodes = t.elapsed();
    assert_eq!(table.len(), DEFAULT_MAX_ENTRIES + 1 + DIRS + 1);
    let total = vm_rss_kib().saturating_sub(before);
    let table_kib = total.saturating_sub(cached);
    // Every path still resolves, and attributes come from the listings.
    for n in (0..DEFAULT_MAX_ENTRIES).step_by(4999) {
        let path = format!("{}/file-{n:07}.dat", dir_name(n / per_dir));
        let ino = table.ino_of(&path).expect("known path");
        assert_eq!(table.path(ino).as_deref(), Some(path.as_str()));
        assert_eq!(
            table.fresh(ino, |_| Duration::from_secs(60)),
            Some(attrs(n))
        );
    }
    eprintln!(
        "inode table: {} inodes: RSS +{:.1} MiB ({:.0} bytes per inode), filled in {inodes:?}; \
         cache and inodes together {:.1} MiB",
        table.len(),
        mib(table_kib),
        table_kib as f64 * 1024.0 / DEFAULT_MAX_ENTRIES as f64,
        mib(total),
    );
    assert!(
        total <= 150 << 10,
        "500,000 cached entries and their inodes take {:.1} MiB",
        mib(total)
    );
}
