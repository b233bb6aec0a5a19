//! Integration tests of the directory cache and of normalized-name lookups, over real mounts
//! of the Samba that `scripts/test.sh` starts.
//!
//! Each test uses its own directory of the share and its own mount point. Files are changed
//! behind the mount's back directly in the server's directory on disk, which is what another
//! SMB client would do.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::mount::*;
use common::server;

fn timed_ls(dir: &Path, flags: &str) -> (Duration, Vec<u8>) {
    let t = Instant::now();
    let out = Command::new("ls")
        .arg(flags)
        .arg(dir)
        .env("LC_ALL", "C")
        .output()
        .expect("run ls");
    assert!(
        out.status.success(),
        "ls {flags} {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (t.elapsed(), out.stdout)
}

#[test]
fn server_side_changes_are_seen_after_the_ttl() {
    let (srv, _m, local, dir) = setup("dc-ttl", "actimeo=1");
    server_write(&srv, &local.join("a.txt"), b"a");
    server_write(&srv, &local.join("gone.txt"), b"g");
    assert_eq!(names(&dir), set(&["a.txt", "gone.txt"]));
    assert_eq!(fs::read(dir.join("a.txt")).unwrap(), b"a");

    // Another client creates, renames, deletes and rewrites.
    server_write(&srv, &local.join("new.txt"), b"new");
    fs::rename(local.join("a.txt"), local.join("renamed.txt")).unwrap();
    fs::remove_file(local.join("gone.txt")).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(names(&dir), set(&["new.txt", "renamed.txt"]));
    assert_eq!(fs::read(dir.join("new.txt")).unwrap(), b"new");
    assert_eq!(errno_of(fs::metadata(dir.join("a.txt"))), libc::ENOENT);
    assert_eq!(errno_of(fs::metadata(dir.join("gone.txt"))), libc::ENOENT);

    server_write(&srv, &local.join("new.txt"), b"longer now");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(fs::metadata(dir.join("new.txt")).unwrap().len(), 10);
}

#[test]
fn cached_listing_is_served_within_the_ttl_and_follows_changes_through_the_mount() {
    // Without watches: they would show changes behind the mount's back at once (tests/notify.rs).
    let (srv, _m, local, dir) = setup("dc-long", "actimeo=60,notify_max=0");
    server_write(&srv, &local.join("old.txt"), b"old");
    server_write(&srv, &local.join("kept.txt"), b"kept");
    assert_eq!(names(&dir), set(&["kept.txt", "old.txt"]));

    // Changes behind the mount's back are not seen while the listing is valid: the listing,
    // the negative lookup and the attributes all come from the cache.
    server_write(&srv, &local.join("behind.txt"), b"x");
    fs::remove_file(local.join("old.txt")).unwrap();
    server_write(&srv, &local.join("kept.txt"), b"kept and grown");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(names(&dir), set(&["kept.txt", "old.txt"]));
    assert_eq!(
        errno_of(fs::metadata(dir.join("behind.txt"))),
        libc::ENOENT,
        "a name missing from a valid cached listing"
    );
    assert_eq!(fs::metadata(dir.join("kept.txt")).unwrap().len(), 4);

    // Changes through the mount show at once.
    fs::write(dir.join("made.txt"), b"through the mount").unwrap();
    fs::create_dir(dir.join("sub")).unwrap();
    fs::rename(dir.join("made.txt"), dir.join("made2.txt")).unwrap();
    assert_eq!(
        names(&dir),
        set(&["kept.txt", "made2.txt", "old.txt", "sub"])
    );
    assert_eq!(fs::metadata(dir.join("made2.txt")).unwrap().len(), 17);
    // A write through the mount changes the size in the listing (`ls -l` reads it).
    fs::write(dir.join("made2.txt"), b"0123456789012345678901234").unwrap();
    let (_, out) = timed_ls(&dir, "-l");
    let line = String::from_utf8(out)
        .unwrap()
        .lines()
        .find(|l| l.ends_with(" made2.txt"))
        .map(str::to_string)
        .unwrap();
    assert!(line.contains(" 25 "), "ls -l after a write: {line}");
    fs::remove_file(dir.join("made2.txt")).unwrap();
    fs::remove_dir(dir.join("sub")).unwrap();
    assert_eq!(names(&dir), set(&["kept.txt", "old.txt"]));
    assert_eq!(errno_of(fs::metadata(dir.join("made2.txt"))), libc::ENOENT);
    assert_eq!(names(&local), set(&["behind.txt", "kept.txt"]));
}

#[test]
fn lookups_in_any_letter_case_reach_the_stored_name() {
    let (srv, m, local, dir) = setup("dc-case", "actimeo=60");
    fs::create_dir(local.join("cold")).unwrap();
    let owner = fs::metadata(&srv.share_dir).unwrap();
    std::os::unix::fs::chown(local.join("cold"), Some(owner.uid()), Some(owner.gid())).unwrap();
    server_write(&srv, &local.join("mixed.txt"), b"mixed content");
    server_write(&srv, &local.join("cold/Stored.Name"), b"cold");

    // Not listed yet: the server resolves the name, and the node gets the stored spelling.
    let cold = dir.join("cold");
    let a = fs::metadata(cold.join("STORED.NAME")).unwrap();
    let b = fs::metadata(cold.join("stored.name")).unwrap();
    let c = fs::metadata(cold.join("Stored.Name")).unwrap();
    assert_eq!((a.ino(), a.ino()), (b.ino(), c.ino()));
    assert_eq!(fs::read(cold.join("sToReD.nAmE")).unwrap(), b"cold");
    assert_eq!(names(&cold), set(&["Stored.Name"]));

    // Listed: answered by the cached listing.
    assert_eq!(names(&dir), set(&["cold", "mixed.txt"]));
    let exact = fs::metadata(dir.join("mixed.txt")).unwrap();
    for spelling in ["MiXeD.TXT", "MIXED.TXT", "Mixed.txt"] {
        let p = dir.join(spelling);
        assert_eq!(fs::metadata(&p).unwrap().ino(), exact.ino(), "{spelling}");
        assert_eq!(fs::read(&p).unwrap(), b"mixed content", "{spelling}");
    }
    let out = Command::new("cat")
        .arg(dir.join("MiXeD.TXT"))
        .output()
        .unwrap();
    assert_eq!(out.stdout, b"mixed content");
    // readdir shows only the stored names.
    assert_eq!(names(&dir), set(&["cold", "mixed.txt"]));
    // A directory in another case.
    assert_eq!(names(&dir.join("COLD")), set(&["Stored.Name"]));

    // The stored name as an extended attribute, from the cache and from the server.
    assert_eq!(
        getfattr(&dir.join("MIXED.TXT"), "user.smb3fs.normalized_name").unwrap(),
        "mixed.txt"
    );
    let m2 = Mount::new(&srv, "case2", "actimeo=60");
    let dir2 = m2.path(dir.strip_prefix(&m.mp).unwrap().to_str().unwrap());
    assert_eq!(
        getfattr(
            &dir2.join("cold/stored.NAME"),
            "user.smb3fs.normalized_name"
        )
        .unwrap(),
        "Stored.Name"
    );
    assert_eq!(
        getfattr(&dir2.join("COLD"), "user.smb3fs.normalized_name").unwrap(),
        "cold"
    );
    // Other extended attributes answer as before.
    assert!(getfattr(&dir.join("mixed.txt"), "user.other").is_err());
    let out = Command::new("getfattr")
        .args(["-d", "--absolute-names"])
        .arg(dir.join("mixed.txt"))
        .output()
        .unwrap();
    assert!(out.status.success() && out.stdout.is_empty(), "{out:?}");
}

/// Changing only the letter case of a name. Both spellings are one file (one inode), so the
/// kernel turns rename(2) between them into a no-op and GNU mv refuses ("are the same file"),
/// as on a cifs mount; the stored case changes by setting `user.smb3fs.normalized_name`, or
/// by renaming through another name.
#[test]
fn case_only_rename_shows_at_once() {
    let (srv, _m, local, dir) = setup("dc-mv", "actimeo=60");
    server_write(&srv, &local.join("readme"), b"read me");
    fs::create_dir(dir.join("subdir")).unwrap();
    assert_eq!(names(&dir), set(&["readme", "subdir"]));
    let ino = fs::metadata(dir.join("readme")).unwrap().ino();

    let out = Command::new("setfattr")
        .args(["-n", "user.smb3fs.normalized_name", "-v", "README"])
        .arg(dir.join("readme"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(names(&dir), set(&["README", "subdir"]));
    assert_eq!(names(&local), set(&["README", "subdir"]));
    assert_eq!(fs::read(dir.join("README")).unwrap(), b"read me");
    assert_eq!(fs::metadata(dir.join("README")).unwrap().ino(), ino);
    assert_eq!(
        getfattr(&dir.join("readme"), "user.smb3fs.normalized_name").unwrap(),
        "README"
    );
    // Not a rename to another name.
    let out = Command::new("setfattr")
        .args(["-n", "user.smb3fs.normalized_name", "-v", "other"])
        .arg(dir.join("README"))
        .output()
        .unwrap();
    assert!(!out.status.success());

    // `mv` through another name, for a directory.
    let out = Command::new("sh")
        .arg("-c")
        .arg("mv subdir tmp.$$ && mv tmp.$$ SubDir")
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(names(&dir), set(&["README", "SubDir"]));
    assert_eq!(names(&local), set(&["README", "SubDir"]));
    assert!(names(&dir.join("SubDir")).is_empty());
    // A direct `mv readme README` changes nothing and loses nothing.
    let _ = Command::new("mv")
        .arg(dir.join("README"))
        .arg(dir.join("readme"))
        .output()
        .unwrap();
    assert_eq!(fs::read(dir.join("readme")).unwrap(), b"read me");
    assert_eq!(names(&local), set(&["README", "SubDir"]));
}

#[tokio::test]
async fn the_server_reports_the_stored_spelling() {
    let srv = server();
    let (local, share_path) = srv.test_dir("dc-stat-named");
    server_write(&srv, &local.join("Mixed.Case"), b"x");
    let c = srv.connect().await;
    let (a, name) = c
        .stat_named(&format!("{share_path}/mIXED.cASE"))
        .await
        .unwrap();
    assert_eq!((name.as_deref(), a.size), (Some("Mixed.Case"), 1));
    let n = c
        .normalized_name(&format!("{share_path}/MIXED.CASE"))
        .await
        .unwrap();
    assert!(n.ends_with("Mixed.Case"), "{n}");
    c.disconnect().await;
}

/// Create `n` empty files directly in the server's directory.
fn server_files(dir: &Path, n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|i| {
            let name = format!("file-{i:06}.dat");
            fs::File::create(dir.join(&name)).unwrap();
            name
        })
        .collect()
}

#[test]
fn hundred_thousand_files_list_completely() {
    let (_srv, _m, local, dir) = setup("dc-100k", "actimeo=60");
    let big = local.join("big");
    fs::create_dir(&big).unwrap();
    let t = Instant::now();
    server_files(&big, 100_000);
    eprintln!(
        "created 100,000 files on the server's disk in {:?}",
        t.elapsed()
    );
    let want: BTreeSet<String> = fs::read_dir(&big)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(want.len(), 100_000);

    let mdir = dir.join("big");
    let (cold, out) = timed_ls(&mdir, "-l");
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 100_001);
    let (list, out) = timed_ls(&mdir, "-f");
    let got: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter(|l| *l != "." && *l != "..")
        .map(str::to_string)
        .collect();
    assert_eq!(got.len(), 100_000, "no duplicates, nothing missing");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    let (warm, _) = timed_ls(&mdir, "-l");
    eprintln!("100,000 entries: ls -l cold {cold:?}, ls -f {list:?}, ls -l warm {warm:?}");
}

#[test]
fn directory_larger_than_the_cache_is_listed_completely() {
    let (_srv, _m, local, dir) = setup("dc-small-cache", "actimeo=60,dircache_max=1000");
    let big = local.join("big");
    fs::create_dir(&big).unwrap();
    let want = server_files(&big, 5000);
    let mdir = dir.join("big");
    for _ in 0..2 {
        let got = names(&mdir);
        assert_eq!(got, want);
    }
    // Not cached: a file added behind the mount's back is seen at once.
    fs::File::create(big.join("late")).unwrap();
    assert!(names(&mdir).contains("late"));
    assert!(fs::metadata(mdir.join("LATE")).is_ok());
}

/// `ls -l` of a cached directory gives the kernel an inode for every file; the daemon keeps no
/// copy of the attributes the cached listing holds (what makes 500,000 of them fit).
#[test]
fn ls_l_of_a_cached_listing_copies_no_attributes() {
    let (srv, m, local, dir) = setup("dc-own", "actimeo=60");
    const FILES: usize = 300;
    for i in 0..FILES {
        server_write(&srv, &local.join(format!("f{i:03}")), b"x");
    }
    let status_counts = || {
        let status = getfattr(&m.mp, "user.smb3fs.status").unwrap();
        let line = status
            .lines()
            .find_map(|l| l.strip_prefix("inodes:"))
            .unwrap_or_else(|| panic!("no inodes line in {status}"))
            .to_string();
        // "    N (M with attributes of their own)"
        let nums: Vec<usize> = line
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().unwrap())
            .collect();
        (nums[0], nums[1])
    };
    let (before, _) = status_counts();
    let (_, out) = timed_ls(&dir, "-l");
    assert_eq!(String::from_utf8_lossy(&out).lines().count(), FILES + 1);
    let (inodes, own) = status_counts();
    assert!(inodes >= before + FILES, "{before} -> {inodes}");
    assert!(own < 10, "{own} of {inodes} inodes copied their attributes");
}
