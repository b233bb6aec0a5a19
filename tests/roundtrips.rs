//! What operations cost in SMB round trips, read from the request counts that `smb3fs status`
//! shows (the root's `user.smb3fs.status` attribute), over real mounts of the Samba that
//! `scripts/test.sh` starts. Each test uses its own directory and mount.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use common::mount::*;

/// The mount's request counts: "requests:  N in M round trips (create 3, close 3, ...)" as
/// (M, command -> count).
fn sent(mp: &Path) -> (u64, BTreeMap<String, u64>) {
    let status = getfattr(mp, "user.smb3fs.status").unwrap();
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("requests:"))
        .unwrap_or_else(|| panic!("no requests line in {status}"));
    let (head, list) = line.split_once('(').expect("a list of commands");
    let frames = head
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no round trip count in {line}"));
    let by_command = list
        .trim_end_matches(')')
        .split(", ")
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.rsplit_once(' ').unwrap();
            (k.to_string(), v.parse().unwrap())
        })
        .collect();
    (frames, by_command)
}

/// Round trips and requests per command sent while `f` ran.
fn cost(mp: &Path, f: impl FnOnce()) -> (u64, BTreeMap<String, u64>) {
    let (frames0, before) = sent(mp);
    f();
    let (frames1, after) = sent(mp);
    let delta = after
        .into_iter()
        .map(|(k, v)| {
            // Counts are per connection; none of these tests reconnects.
            let d = v.saturating_sub(before.get(&k).copied().unwrap_or(0));
            (k, d)
        })
        .filter(|(_, d)| *d > 0)
        .collect();
    (frames1.saturating_sub(frames0), delta)
}

/// Wait until every handle the mount opened is closed again (a release reaches the daemon
/// after close(2) has returned), so that no CLOSE falls into a later measurement. The tests
/// mount with `nolease` and `notify_max=0`, so no handle stays open on purpose.
fn settle(mp: &Path) {
    wait_until("every handle to be closed", 10, || {
        let (_, by) = sent(mp);
        by.get("create") == by.get("close")
    });
}

/// utimensat(2) on a path.
fn set_mtime(p: &Path, secs: i64) {
    let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
    let times = [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: secs,
            tv_nsec: 0,
        },
    ];
    // SAFETY: c is a valid C string and times has the two entries utimensat reads.
    let r = unsafe { libc::utimensat(libc::AT_FDCWD, c.as_ptr(), times.as_ptr(), 0) };
    assert_eq!(r, 0, "utimensat: {}", std::io::Error::last_os_error());
}

/// Setting a time is one round trip: the new attributes come back in the same compound. A
/// chmod that leaves the read-only bit as it is sends nothing; one that sets it is one round
/// trip again, and the server stores it.
#[test]
fn a_setattr_is_one_round_trip_and_a_chmod_that_changes_nothing_is_none() {
    let (srv, m, local, dir) = setup("rt-setattr", "actimeo=60,nolease,notify_max=0");
    let f = dir.join("f");
    fs::write(&f, b"data").unwrap();
    fs::metadata(&f).unwrap();
    settle(&m.mp);

    let (frames, by) = cost(&m.mp, || set_mtime(&f, 1_000_000_000));
    assert_eq!(frames, 1, "{by:?}");
    assert_eq!(by.get("set_info"), Some(&1), "{by:?}");
    assert_eq!(
        fs::metadata(local.join("f")).unwrap().mtime(),
        1_000_000_000
    );
    // The attributes that came back are the kernel's now: no further request.
    let (frames, by) = cost(&m.mp, || {
        assert_eq!(fs::metadata(&f).unwrap().mtime(), 1_000_000_000)
    });
    assert_eq!(frames, 0, "{by:?}");

    let rw = fs::metadata(&f).unwrap().permissions().mode() & 0o777;
    assert_ne!(rw & 0o200, 0);
    let (frames, by) = cost(&m.mp, || {
        fs::set_permissions(&f, fs::Permissions::from_mode(rw)).unwrap()
    });
    assert_eq!(frames, 0, "a chmod to the same mode sent {by:?}");

    let (frames, by) = cost(&m.mp, || {
        fs::set_permissions(&f, fs::Permissions::from_mode(0o444)).unwrap()
    });
    assert_eq!((frames, by.get("set_info")), (1, Some(&1)), "{by:?}");
    assert_eq!(fs::metadata(&f).unwrap().permissions().mode() & 0o222, 0);
    // A second mount asks the server: the read-only attribute is stored there.
    let m2 = Mount::new(&srv, "rt-setattr-2", "");
    let f2 = m2.path("rt-setattr").join("f");
    assert_eq!(fs::metadata(&f2).unwrap().permissions().mode() & 0o222, 0);
    assert_eq!(fs::metadata(&f2).unwrap().mtime(), 1_000_000_000);
}

/// A warm `ls -l` of a cached directory is answered without the server.
#[test]
fn a_warm_ls_l_sends_nothing() {
    let (srv, m, local, dir) = setup("rt-ls", "actimeo=60,notify_max=0");
    for i in 0..50 {
        server_write(&srv, &local.join(format!("f{i:02}")), b"x");
    }
    let ls = || {
        let out = std::process::Command::new("ls")
            .arg("-l")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 51);
    };
    let (cold, by) = cost(&m.mp, ls);
    assert!(cold >= 1, "{by:?}");
    let (warm, by) = cost(&m.mp, ls);
    assert_eq!(warm, 0, "warm ls -l sent {by:?}");
}

/// A directory made through the mount is known to be empty: the lookups that precede each
/// create in it (what tar, cp -r and git checkout do) need no round trip, and files made there
/// are seen in its listing.
#[test]
fn lookups_in_a_directory_made_through_the_mount_need_no_round_trip() {
    let (_srv, m, local, dir) = setup("rt-mkdir", "actimeo=60,nolease,notify_max=0");
    let sub = dir.join("new");
    fs::create_dir(&sub).unwrap();
    settle(&m.mp);
    let (_, by) = cost(&m.mp, || {
        for i in 0..20 {
            fs::write(sub.join(format!("f{i:02}")), format!("file {i}")).unwrap();
        }
        settle(&m.mp);
    });
    // One CREATE per file, none for a lookup (a lookup on the server is CREATE + QUERY_INFO +
    // CLOSE of its own).
    assert_eq!(by.get("create"), Some(&20), "{by:?}");
    let listed = names(&sub);
    assert_eq!(listed.len(), 20, "{listed:?}");
    for i in 0..20 {
        let name = format!("f{i:02}");
        assert_eq!(
            fs::read_to_string(local.join("new").join(&name)).unwrap(),
            format!("file {i}")
        );
        assert_eq!(
            fs::read_to_string(sub.join(&name)).unwrap(),
            format!("file {i}")
        );
    }
    // Made again after a removal: still a fresh, empty directory.
    for name in &listed {
        fs::remove_file(sub.join(name)).unwrap();
    }
    fs::remove_dir(&sub).unwrap();
    fs::create_dir(&sub).unwrap();
    settle(&m.mp);
    let (frames, by) = cost(&m.mp, || {
        assert_eq!(errno_of(fs::metadata(sub.join("f00"))), libc::ENOENT)
    });
    assert_eq!(frames, 0, "{by:?}");
    assert!(names(&sub).is_empty());
}

/// What tar and cp -a do for each file: write it, then set its times through the open
/// descriptor. The queued write and the times travel in one round trip, in order: the server
/// has the bytes, and the times are not changed by the write after them.
#[test]
fn times_set_after_writing_travel_with_the_write() {
    use std::io::Write;
    let (_srv, m, local, dir) = setup("rt-write-times", "actimeo=60,nolease,notify_max=0");
    let f = dir.join("f");
    let mut file = fs::File::create(&f).unwrap();
    let mtime = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_200_000_000);
    let (frames, by) = cost(&m.mp, || {
        file.write_all(b"hello, server").unwrap();
        file.set_modified(mtime).unwrap();
    });
    assert_eq!(frames, 1, "{by:?}");
    assert_eq!(
        (by.get("write"), by.get("set_info")),
        (Some(&1), Some(&1)),
        "{by:?}"
    );
    assert_eq!(fs::read(local.join("f")).unwrap(), b"hello, server");
    assert_eq!(
        fs::metadata(local.join("f")).unwrap().mtime(),
        1_200_000_000
    );
    // More bytes after the times are written too. (The time stays: an SMB server stops
    // updating a time that was set through the handle, for the rest of that open.)
    file.write_all(b"!").unwrap();
    drop(file);
    assert_eq!(fs::read(local.join("f")).unwrap(), b"hello, server!");
    assert_eq!(fs::read(&f).unwrap(), b"hello, server!");

    // Written through one descriptor, times set through another (the write is then not
    // carried by the other's compound, which would apply it to the writer's handle): the bytes
    // land. The time is not checked: Samba sets the write time of a handle that wrote when it
    // closes, which may come after the other handle set it.
    let g = dir.join("g");
    let mut writer = fs::File::create(&g).unwrap();
    let other = fs::File::options().write(true).open(&g).unwrap();
    writer.write_all(b"two descriptors").unwrap();
    other.set_modified(mtime).unwrap();
    drop((writer, other));
    assert_eq!(fs::read(local.join("g")).unwrap(), b"two descriptors");
}
