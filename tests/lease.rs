//! Leases through the mount: a closed file's handle is kept for `closetimeo` under a
//! read+handle lease, so reopening it costs no round trip and keeps its cached pages; another
//! client's changes break the lease, which drops what we cache, and kept handles never stand in
//! the way of deletes and renames, ours or another client's.
//!
//! Samba shows the server's side: `smbstatus -L` lists the handles it has open, with their
//! lease.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::mount::*;
use common::{pattern, Server};

/// Files Samba has open in `dir` (the test's directory, as a path below the share) and the
/// lease each has, from `smbstatus -L`.
fn server_opens(srv: &Server, dir: &str) -> Vec<(String, String)> {
    let conf =
        std::path::Path::new(&std::env::var("SMB3FS_TEST_SAMBA_DIR").unwrap()).join("smb.conf");
    let out = Command::new("smbstatus")
        .arg("-s")
        .arg(&conf)
        .arg("-L")
        .output()
        .expect("run smbstatus");
    let text = String::from_utf8_lossy(&out.stdout);
    let share = srv.share_dir.display().to_string();
    text.lines()
        .filter(|l| l.contains(&share))
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let lease = f
                .iter()
                .find(|w| w.starts_with("LEASE(") || **w == "NONE")?;
            // SharePath, then the name relative to it.
            let at = f.iter().position(|w| *w == share)?;
            let name = f.get(at + 1)?;
            name.starts_with(&format!("{dir}/"))
                .then(|| (name.to_string(), lease.to_string()))
        })
        .collect()
}

/// Bytes of an open file the page cache holds.
fn cached(f: &fs::File, len: usize) -> usize {
    Mapping::new(f, len).cached_bytes()
}

/// Reopening a file just closed uses the handle kept under its lease (Samba still has it open,
/// with a read+handle lease) and keeps its cached pages; after `closetimeo` the handle is
/// closed. With `nolease` nothing is kept and every open drops the pages.
#[test]
fn a_closed_file_stays_open_under_its_lease_and_keeps_its_pages() {
    let len = 4 << 20;
    let data = pattern(len, 11);
    for (opts, leased) in [("closetimeo=2", true), ("nolease", false)] {
        let name = if leased { "ls-keep" } else { "ls-nolease" };
        let (srv, m, local, dir) = setup(name, opts);
        server_write(&srv, &local.join("f.bin"), &data);
        let mut got = Vec::new();
        fs::File::open(dir.join("f.bin"))
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert!(got == data, "{opts}: first read");
        let opens = server_opens(&srv, name);
        // The status attribute counts the kept handle (release reaches the mount just after close).
        let kept = if leased {
            "kept:      1"
        } else {
            "kept:      0"
        };
        wait_until("the status to count the kept handle", 5, || {
            let status = getfattr(&m.mp, "user.smb3fs.status").unwrap();
            status.lines().any(|l| l == kept)
        });
        let again = fs::File::open(dir.join("f.bin")).unwrap();
        let kept = cached(&again, len);
        if leased {
            assert_eq!(
                opens,
                vec![(format!("{name}/f.bin"), "LEASE(RH)".to_string())],
                "the closed handle stays open on the server with its lease"
            );
            assert_eq!(kept, len, "the pages survive the reopen");
        } else {
            assert_eq!(opens, vec![], "nolease: closed at once");
            assert_eq!(kept, 0, "nolease: the open drops the pages");
        }
        let mut buf = vec![0u8; len];
        again.read_exact_at(&mut buf, 0).unwrap();
        assert!(buf == data, "{opts}: second read");
        drop(again);
        if leased {
            // Kept for closetimeo (2 s) after the last close, then closed.
            wait_until("the kept handle to be closed", 10, || {
                server_opens(&srv, name).is_empty()
            });
        }
    }
}

/// Another client's write breaks our lease: a file we hold open, with its pages cached, then
/// reads the new bytes (the kernel's pages were dropped), and its size shows the change at
/// once, though attributes are cached for 60 s.
#[test]
fn another_clients_write_breaks_the_lease_and_reads_see_it() {
    let (srv, _m, _local, dir) = setup("ls-break", "actimeo=60");
    let p = dir.join("shared.txt");
    fs::write(&p, b"first version").unwrap();
    let held = fs::File::open(&p).unwrap();
    let mut buf = [0u8; 13];
    held.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"first version");
    assert_eq!(cached(&held, 13), 4096, "the page is cached");
    // Our handles of it (the one writing it may still be kept) share one read+handle lease.
    let opens = server_opens(&srv, "ls-break");
    assert!(!opens.is_empty());
    for o in &opens {
        assert_eq!(
            o,
            &("ls-break/shared.txt".to_string(), "LEASE(RH)".to_string())
        );
    }

    let other = Mount::new(&srv, "ls-break-2", "nolease");
    let t = Instant::now();
    fs::write(other.path("ls-break/shared.txt"), b"second version, longer").unwrap();
    // The other client's open waited for our acknowledgment, not for a timeout (35 s).
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    wait_until("the old page to be dropped", 10, || cached(&held, 13) == 0);
    let mut buf = [0u8; 22];
    held.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"second version, longer");
    assert_eq!(fs::metadata(&p).unwrap().len(), 22);
    drop(held);
    assert_eq!(fs::read(&p).unwrap(), b"second version, longer");
}

/// Kept handles stand in no way of ours: deleting a file just read and creating it again,
/// renaming one (also over another), removing a directory emptied of them, all work at once.
/// Another client's delete of a file we just closed is pending until `closetimeo` has passed
/// (Samba breaks no lease for a delete that shares access with our handle, as a Windows server
/// would not either): then the file is gone and the other client may create it again.
#[test]
fn kept_handles_never_block_deletes_renames_or_other_clients() {
    let (srv, _m, local, dir) = setup("ls-ways", "closetimeo=2");
    let read = |name: &str| fs::read(dir.join(name)).unwrap();

    fs::write(dir.join("again.txt"), b"one").unwrap();
    assert_eq!(read("again.txt"), b"one");
    fs::remove_file(dir.join("again.txt")).unwrap();
    assert!(
        !local.join("again.txt").exists(),
        "deleted on the server at once"
    );
    fs::write(dir.join("again.txt"), b"two").unwrap();
    assert_eq!(read("again.txt"), b"two");

    fs::write(dir.join("old.txt"), b"moved").unwrap();
    assert_eq!(read("old.txt"), b"moved");
    fs::rename(dir.join("old.txt"), dir.join("new.txt")).unwrap();
    assert_eq!(read("new.txt"), b"moved");
    fs::write(dir.join("over.txt"), b"replaced").unwrap();
    assert_eq!(read("over.txt"), b"replaced");
    fs::rename(dir.join("new.txt"), dir.join("over.txt")).unwrap();
    assert_eq!(fs::read(local.join("over.txt")).unwrap(), b"moved");

    fs::create_dir(dir.join("sub")).unwrap();
    fs::write(dir.join("sub/x"), b"x").unwrap();
    assert_eq!(read("sub/x"), b"x");
    fs::remove_file(dir.join("sub/x")).unwrap();
    fs::remove_dir(dir.join("sub")).unwrap();
    assert!(!local.join("sub").exists());

    // Another client: its delete breaks our handle lease, we close the kept handle, and the
    // file is gone, not pending deletion behind our handle.
    fs::write(dir.join("theirs.txt"), b"ours first").unwrap();
    assert_eq!(read("theirs.txt"), b"ours first");
    assert!(
        server_opens(&srv, "ls-ways")
            .contains(&("ls-ways/theirs.txt".to_string(), "LEASE(RH)".to_string())),
        "{:?}",
        server_opens(&srv, "ls-ways")
    );
    let other = Mount::new(&srv, "ls-ways-2", "nolease");
    fs::remove_file(other.path("ls-ways/theirs.txt")).unwrap();
    wait_until(
        "their delete to complete once our handle is closed",
        10,
        || !local.join("theirs.txt").exists(),
    );
    fs::write(other.path("ls-ways/theirs.txt"), b"theirs now").unwrap();
    assert_eq!(fs::read(local.join("theirs.txt")).unwrap(), b"theirs now");
    wait_until("our view of their file", 10, || {
        fs::read(dir.join("theirs.txt")).unwrap() == b"theirs now"
    });
}
