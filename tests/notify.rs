//! Integration tests of change notification: with a long attribute timeout (`actimeo=60`, so
//! the TTL cannot explain what is seen), changes made directly in the server's directory on
//! disk or by another SMB client show through the mount within seconds, because the mount
//! watches the directories it has listed (CHANGE_NOTIFY) and invalidates its own and the
//! kernel's caches. With `notify_max=0` they do not.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::mount::*;

/// How long a change may take to show through the mount.
const DEADLINE: Duration = Duration::from_secs(5);

/// The number of armed watches from the root's status attribute.
fn watches(m: &Mount) -> usize {
    let text = getfattr(&m.mp, "user.smb3fs.status").expect("status attribute");
    text.lines()
        .find_map(|l| l.strip_prefix("watches:"))
        .unwrap_or_else(|| panic!("no watches line in the status: {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Poll `f` until it holds; returns how long that took, or panics after [`DEADLINE`].
fn within_deadline(what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < DEADLINE,
            "{what}: not seen through the mount within {DEADLINE:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    t.elapsed()
}

/// List `dir` through the mount (twice: a directory listed once is not watched) and wait
/// until the mount watches at least `n` directories.
fn list_and_watch(m: &Mount, dir: &Path, n: usize) {
    names(dir);
    names(dir);
    wait_until("the watch to be armed", 5, || watches(m) >= n);
    // With other watches around, the count says little about this one: give it time to arm.
    std::thread::sleep(Duration::from_millis(300));
}

#[test]
fn changes_on_the_servers_disk_show_at_once() {
    let (srv, m, local, dir) = setup("nt-disk", "actimeo=60");
    server_write(&srv, &local.join("gone.txt"), b"g");
    server_write(&srv, &local.join("old.txt"), b"o");
    server_write(&srv, &local.join("grow.txt"), b"1234");
    assert_eq!(names(&dir), set(&["gone.txt", "grow.txt", "old.txt"]));
    list_and_watch(&m, &dir, 1);
    // The kernel caches what the listing said, for 60 s.
    assert_eq!(fs::metadata(dir.join("grow.txt")).unwrap().len(), 4);
    assert_eq!(fs::read(dir.join("grow.txt")).unwrap(), b"1234");

    server_write(&srv, &local.join("new.txt"), b"new");
    fs::remove_file(local.join("gone.txt")).unwrap();
    fs::rename(local.join("old.txt"), local.join("renamed.txt")).unwrap();
    server_write(&srv, &local.join("grow.txt"), b"123456789");

    let want = set(&["grow.txt", "new.txt", "renamed.txt"]);
    within_deadline("create, delete and rename", || names(&dir) == want);
    within_deadline("size change", || {
        fs::metadata(dir.join("grow.txt")).unwrap().len() == 9
    });
    assert_eq!(fs::read(dir.join("grow.txt")).unwrap(), b"123456789");
    assert_eq!(errno_of(fs::metadata(dir.join("gone.txt"))), libc::ENOENT);
    assert_eq!(errno_of(fs::metadata(dir.join("old.txt"))), libc::ENOENT);
    assert_eq!(fs::read(dir.join("renamed.txt")).unwrap(), b"o");
    assert_eq!(fs::read(dir.join("new.txt")).unwrap(), b"new");
}

#[test]
fn changes_by_another_smb_client_show_at_once() {
    let (srv, m, local, dir) = setup("nt-client", "actimeo=60");
    server_write(&srv, &local.join("f.txt"), b"1");
    assert_eq!(names(&dir), set(&["f.txt"]));
    list_and_watch(&m, &dir, 1);

    // `smb3fs put`, a client of its own.
    let src = m.scratch.join("upload");
    fs::write(&src, b"uploaded").unwrap();
    let cred = format!("credentials={}", srv.credentials_file.display());
    let out = Command::new(BIN)
        .args(["put", &srv.unc(), "-o", &cred])
        .arg(&src)
        .arg("nt-client/put.txt")
        .output()
        .unwrap();
    assert!(out.status.success(), "smb3fs put: {out:?}");
    within_deadline("a file put by another client", || {
        names(&dir).contains("put.txt")
    });
    assert_eq!(fs::read(dir.join("put.txt")).unwrap(), b"uploaded");

    // A second mount: a write that changes the size, and a delete.
    let other = Mount::new(&srv, "nt-client-2", "actimeo=60");
    let odir = other.path("nt-client");
    fs::write(odir.join("f.txt"), b"rewritten by the other mount").unwrap();
    fs::remove_file(odir.join("put.txt")).unwrap();
    within_deadline("a delete by another mount", || {
        !names(&dir).contains("put.txt")
    });
    within_deadline("a write by another mount", || {
        fs::metadata(dir.join("f.txt")).unwrap().len() == 28
    });
    assert_eq!(errno_of(fs::metadata(dir.join("put.txt"))), libc::ENOENT);
    assert_eq!(
        fs::read(dir.join("f.txt")).unwrap(),
        b"rewritten by the other mount"
    );
}

#[test]
fn without_watches_the_cache_serves_until_the_ttl() {
    let (srv, m, local, dir) = setup("nt-off", "actimeo=60,notify_max=0");
    server_write(&srv, &local.join("f.txt"), b"1");
    assert_eq!(names(&dir), set(&["f.txt"]));
    assert_eq!(fs::metadata(dir.join("f.txt")).unwrap().len(), 1);
    server_write(&srv, &local.join("new.txt"), b"n");
    server_write(&srv, &local.join("f.txt"), b"12345");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(names(&dir), set(&["f.txt"]));
    assert_eq!(fs::metadata(dir.join("f.txt")).unwrap().len(), 1);
    assert_eq!(watches(&m), 0);
}

#[test]
fn watches_are_bounded_and_stand_in_nobodys_way() {
    let (srv, m, local, dir) = setup("nt-bound", "actimeo=60,notify_max=2");
    for i in 0..5 {
        let d = local.join(format!("d{i}"));
        fs::create_dir(&d).unwrap();
        let owner = fs::metadata(&srv.share_dir).unwrap();
        std::os::unix::fs::chown(&d, Some(owner.uid()), Some(owner.gid())).unwrap();
        server_write(&srv, &d.join("f"), b"f");
    }
    // Listed once: not watched (a walk through a tree).
    names(&dir);
    assert_eq!(watches(&m), 0);
    for _ in 0..3 {
        for i in 0..5 {
            assert_eq!(names(&dir.join(format!("d{i}"))), set(&["f"]));
            assert!(watches(&m) <= 2, "more watches than notify_max");
        }
    }
    // The two most recently listed directories are watched.
    wait_until("two watches", 5, || watches(&m) == 2);
    server_write(&srv, &local.join("d4/new"), b"n");
    within_deadline("a change in a watched directory", || {
        names(&dir.join("d4")) == set(&["f", "new"])
    });

    // Watched directories can be removed and renamed through the mount: the watch handles
    // are closed first, so the server really deletes them.
    fs::remove_file(dir.join("d4/new")).unwrap();
    fs::remove_file(dir.join("d4/f")).unwrap();
    fs::remove_dir(dir.join("d4")).unwrap();
    assert!(!local.join("d4").exists(), "d4 still on the server's disk");
    fs::create_dir(dir.join("d4")).unwrap();
    list_and_watch(&m, &dir.join("d3"), 1);
    fs::rename(dir.join("d3"), dir.join("d3-renamed")).unwrap();
    assert!(local.join("d3-renamed/f").exists());
    // The parent of watched directories can be renamed and removed too.
    list_and_watch(&m, &dir.join("d2"), 1);
    fs::create_dir(dir.join("sub")).unwrap();
    fs::rename(dir.join("d2"), dir.join("sub/d2")).unwrap();
    list_and_watch(&m, &dir.join("sub/d2"), 1);
    fs::rename(dir.join("sub"), dir.join("sub2")).unwrap();
    assert!(local.join("sub2/d2/f").exists());
    fs::remove_file(dir.join("sub2/d2/f")).unwrap();
    fs::remove_dir(dir.join("sub2/d2")).unwrap();
    fs::remove_dir(dir.join("sub2")).unwrap();
    assert!(!local.join("sub2").exists());
    assert_eq!(
        names(&dir),
        set(&["d0", "d1", "d3-renamed", "d4"]),
        "the mount is still healthy"
    );
}

#[test]
fn latency_of_changes_on_disk() {
    let (srv, m, local, dir) = setup("nt-latency", "actimeo=60");
    list_and_watch(&m, &dir, 1);
    let mut seen = Vec::new();
    for i in 0..7 {
        let name = format!("f{i}");
        let t = Instant::now();
        server_write(&srv, &local.join(&name), b"x");
        within_deadline("a new file", || names(&dir).contains(&name));
        seen.push(t.elapsed());
    }
    report(
        "on-disk create to visible in a listing through the mount",
        seen,
    );
    let mut seen = Vec::new();
    for i in 0..7u64 {
        let t = Instant::now();
        server_write(&srv, &local.join("f0"), &vec![b'y'; 10 + i as usize]);
        within_deadline("a size change", || {
            fs::metadata(dir.join("f0")).unwrap().len() == 10 + i
        });
        seen.push(t.elapsed());
    }
    report(
        "on-disk size change to visible in stat through the mount",
        seen,
    );
}

fn report(what: &str, mut seen: Vec<Duration>) {
    seen.sort();
    eprintln!(
        "{what}: median {:?}, min {:?}, max {:?}",
        seen[seen.len() / 2],
        seen[0],
        seen[seen.len() - 1]
    );
}

#[test]
fn many_watches_leave_credits_for_io() {
    let (srv, m, local, dir) = setup("nt-credits", "actimeo=60");
    let owner = fs::metadata(&srv.share_dir).unwrap();
    for i in 0..70 {
        let d = local.join(format!("d{i:02}"));
        fs::create_dir(&d).unwrap();
        std::os::unix::fs::chown(&d, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    for _ in 0..2 {
        for i in 0..70 {
            names(&dir.join(format!("d{i:02}")));
        }
    }
    // The default bound: 64 watches, each with a CHANGE_NOTIFY outstanding on the server.
    wait_until("64 watches", 10, || watches(&m) == 64);
    // Large pipelined writes and reads need many credits at once (in a watched directory).
    list_and_watch(&m, &dir, 64);
    let data: Vec<u8> = (0..48 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    fs::write(dir.join("big"), &data).unwrap();
    assert!(
        fs::read(dir.join("big")).unwrap() == data,
        "big file differs"
    );
    server_write(&srv, &local.join("d69/new"), b"n");
    within_deadline("a change with 64 watches", || {
        names(&dir.join("d69")).contains("new")
    });
    assert_eq!(watches(&m), 64);
}

#[test]
fn changes_before_the_watch_starts_are_caught() {
    let (srv, m, local, dir) = setup("nt-before", "actimeo=60");
    server_write(&srv, &local.join("f.txt"), b"1");
    server_write(&srv, &local.join("gone.txt"), b"g");
    // Listed once: cached, not watched.
    assert_eq!(names(&dir), set(&["f.txt", "gone.txt"]));
    assert_eq!(fs::metadata(dir.join("f.txt")).unwrap().len(), 1);
    server_write(&srv, &local.join("f.txt"), b"12345");
    server_write(&srv, &local.join("new.txt"), b"n");
    fs::remove_file(local.join("gone.txt")).unwrap();
    // The second listing is served from the cache and starts a watch, which lists the
    // directory again and corrects the cache.
    assert_eq!(names(&dir), set(&["f.txt", "gone.txt"]));
    within_deadline("changes made before the watch", || {
        names(&dir) == set(&["f.txt", "new.txt"])
    });
    within_deadline("a size change made before the watch", || {
        fs::metadata(dir.join("f.txt")).unwrap().len() == 5
    });
    assert_eq!(errno_of(fs::metadata(dir.join("gone.txt"))), libc::ENOENT);
    assert_eq!(watches(&m), 1);
}

#[test]
fn changes_to_a_file_open_through_the_mount_show() {
    let (srv, m, local, dir) = setup("nt-open", "actimeo=60");
    server_write(&srv, &local.join("f.txt"), b"1");
    list_and_watch(&m, &dir, 1);
    let f = fs::File::open(dir.join("f.txt")).unwrap();
    assert_eq!(f.metadata().unwrap().len(), 1);
    server_write(&srv, &local.join("f.txt"), b"123456");
    within_deadline("a size change of an open file", || {
        fs::metadata(dir.join("f.txt")).unwrap().len() == 6
    });
    assert_eq!(f.metadata().unwrap().len(), 6);
    drop(f);
    assert_eq!(fs::read(dir.join("f.txt")).unwrap(), b"123456");
}
