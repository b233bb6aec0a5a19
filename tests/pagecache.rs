//! How the mount uses the kernel's page cache with the default `cache=strict`: write-only
//! descriptors bypass it (with other descriptors' cached pages kept coherent), and a long
//! sequential read or write keeps only its last `drop_behind` bytes cached.
//!
//! What is cached is read with mincore(2) on a mapping of a descriptor opened before the I/O:
//! a new open would drop the file's pages (strict), so the mapping's descriptor stays open.

mod common;

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;

use common::mount::*;
use common::pattern;

const MIB: usize = 1024 * 1024;

/// A write-only descriptor writes past the page cache: the range it writes leaves the cache of
/// a descriptor that had the file cached (through read() and a mapping), the rest stays cached,
/// and that descriptor then reads the new bytes, the new size, and the old bytes around them.
#[test]
fn write_only_descriptors_bypass_the_page_cache_and_stay_coherent() {
    let (_srv, _m, local, dir) = setup("pc-write-only", "");
    let p = dir.join("f.bin");
    // Smaller than drop_behind, so reading it keeps all of it cached.
    let old = pattern(12 * MIB, 1);
    fs::write(&p, &old).unwrap();

    // Both open before the reader caches anything: an open (strict) drops the file's pages.
    let mut w = fs::OpenOptions::new().write(true).open(&p).unwrap();
    let reader = fs::File::open(&p).unwrap();
    let map = Mapping::new(&reader, old.len());
    let mut all = Vec::new();
    (&reader).read_to_end(&mut all).unwrap();
    assert!(all == old, "first read");
    assert_eq!(
        map.cached_in(0..old.len()),
        old.len(),
        "after reading it all"
    );

    let new = pattern(4 * MIB, 2);
    w.write_all_at(&new, 4 * MIB as u64).unwrap();
    w.write_all_at(b"tail", old.len() as u64).unwrap();
    w.flush().unwrap();
    assert_eq!(
        map.cached_in(4 * MIB..8 * MIB),
        0,
        "the written range is still cached: the write went through the page cache"
    );
    assert_eq!(map.cached_in(0..4 * MIB), 4 * MIB, "pages before the write");

    let mut buf = vec![0u8; 4 * MIB];
    reader.read_exact_at(&mut buf, 4 * MIB as u64).unwrap();
    assert!(buf == new, "the reader saw stale bytes after the write");
    let mut around = [0u8; 8];
    reader
        .read_exact_at(&mut around, 4 * MIB as u64 - 8)
        .unwrap();
    assert_eq!(&around[..], &old[4 * MIB - 8..4 * MIB]);
    reader.read_exact_at(&mut around, 8 * MIB as u64).unwrap();
    assert_eq!(&around[..], &old[8 * MIB..8 * MIB + 8]);
    assert_eq!(reader.metadata().unwrap().len(), old.len() as u64 + 4);
    drop(w);

    let mut want = old.clone();
    want[4 * MIB..8 * MIB].copy_from_slice(&new);
    want.extend_from_slice(b"tail");
    assert!(
        fs::read(local.join("f.bin")).unwrap() == want,
        "server copy"
    );
    drop(map);
}

/// Sequential reads and writes of 64 MiB keep only about `drop_behind` (16 MiB by default)
/// behind them in the page cache; `drop_behind=0` keeps everything. Every byte still arrives.
#[test]
fn long_sequential_streams_keep_only_their_tail_cached() {
    let len = 64 * MIB;
    let data = pattern(len, 3);
    for (opts, bounded) in [("", true), ("drop_behind=0", false)] {
        let name = if bounded { "pc-drop" } else { "pc-keep" };
        let (srv, _m, local, dir) = setup(name, opts);
        server_write(&srv, &local.join("r.bin"), &data);

        let reader = fs::File::open(dir.join("r.bin")).unwrap();
        let map = Mapping::new(&reader, len);
        let mut got = Vec::with_capacity(len);
        let mut buf = vec![0u8; MIB];
        loop {
            let n = (&reader).read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got == data, "{opts:?}: the bytes read differ");
        if bounded {
            // drop_behind + one step + the read-ahead window, with room to spare. The kernel
            // is told from a thread of the mount's own, so allow it a moment.
            wait_until("a bounded page cache after a sequential read", 10, || {
                map.cached_bytes() <= 36 * MIB
            });
        } else {
            let cached = map.cached_bytes();
            assert!(
                cached >= 56 * MIB,
                "drop_behind=0: only {cached} bytes of 64 MiB cached"
            );
        }
        drop(map);

        // A read-write descriptor writing sequentially goes through the page cache, and drops
        // behind itself the same way.
        let p = dir.join("w.bin");
        let f = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&p)
            .unwrap();
        for c in data.chunks(MIB) {
            (&f).write_all(c).unwrap();
        }
        let map = Mapping::new(&f, len);
        if bounded {
            wait_until("a bounded page cache after a sequential write", 10, || {
                map.cached_bytes() <= 36 * MIB
            });
        } else {
            let cached = map.cached_bytes();
            assert!(
                cached >= 56 * MIB,
                "drop_behind=0: only {cached} bytes of the 64 MiB written cached"
            );
        }
        drop(map);
        drop(f);
        assert!(
            fs::read(local.join("w.bin")).unwrap() == data,
            "{opts:?}: the server's copy differs"
        );
    }
}
