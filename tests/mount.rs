//! Integration tests of `smb3fs mount` over the real Samba that `scripts/test.sh` starts.
//!
//! Each test mounts the share on its own mount point, works in its own directory of the share
//! (`Server::test_dir`) and checks results both through the mount and in the server's own
//! directory. The mount runs in the foreground as a child process; an RAII guard unmounts it
//! (lazily if busy) even when the test panics, so tests can run in parallel.

mod common;

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::mount::*;
use common::{pattern, server};
use sha2::{Digest, Sha256};

fn sha(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

fn sha_file(p: &Path) -> Vec<u8> {
    let mut h = Sha256::new();
    let mut f = fs::File::open(p).unwrap_or_else(|e| panic!("open {}: {e}", p.display()));
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    h.finalize().to_vec()
}

fn sh(dir: &Path, script: &str) -> Output {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("run bash");
    assert!(
        out.status.success(),
        "`{script}` failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn files_of_many_sizes_round_trip() {
    let (_srv, m, local, dir) = setup("fs-sizes", "");
    for (i, size) in [0usize, 1, 4095, 4096, 65537, (1 << 20) + 3, 8 << 20]
        .into_iter()
        .enumerate()
    {
        let data = pattern(size, i as u64 + 1);
        let p = dir.join(format!("f{size}"));
        fs::write(&p, &data).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().len(), size as u64);
        assert_eq!(
            sha(&fs::read(&p).unwrap()),
            sha(&data),
            "through the mount, {size} bytes"
        );
        assert_eq!(
            sha(&fs::read(local.join(format!("f{size}"))).unwrap()),
            sha(&data),
            "on the server, {size}"
        );
    }
    // 64 MiB with dd and cp.
    let src = m.scratch.join("big");
    fs::write(&src, pattern(64 << 20, 99)).unwrap();
    let want = sha_file(&src);
    sh(
        &dir,
        &format!(
            "dd if={} of=dd.bin bs=1M conv=fsync status=none",
            src.display()
        ),
    );
    sh(&dir, &format!("cp {} cp.bin", src.display()));
    for name in ["dd.bin", "cp.bin"] {
        assert_eq!(sha_file(&local.join(name)), want, "{name} on the server");
        assert_eq!(sha_file(&dir.join(name)), want, "{name} through the mount");
    }
    sh(
        &dir,
        "dd if=dd.bin of=/dev/null bs=1M iflag=direct status=none",
    );
}

#[test]
fn append_truncate_and_random_writes() {
    let (_srv, _m, local, dir) = setup("fs-rw", "");
    rw_model_round_trips(&local, &dir);
}

/// A write that continues the queued run but overlaps a write still in flight must not reach
/// the server before it: in flight together, the server may apply them in either order. The big
/// write is sent (8 MiB gathered) while the two small ones are queued behind it; without the
/// ordering, the small run landed first and the big one overwrote it.
#[test]
fn a_write_overlapping_one_in_flight_lands_after_it() {
    let (_srv, _m, local, dir) = setup("fs-order", "");
    const MIB: usize = 1 << 20;
    for round in 0..3u64 {
        let name = format!("order-{round}");
        let f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(dir.join(&name))
            .unwrap();
        let big = pattern(8 * MIB, 10 + round);
        f.write_all_at(&big, MIB as u64).unwrap();
        let before = pattern(4096, 20 + round);
        f.write_all_at(&before, (MIB - 4096) as u64).unwrap();
        let into = pattern(64 << 10, 30 + round);
        f.write_all_at(&into, MIB as u64).unwrap();
        drop(f);
        let mut model = vec![0u8; MIB - 4096];
        model.extend_from_slice(&before);
        model.extend_from_slice(&into);
        model.extend_from_slice(&big[into.len()..]);
        let on_server = fs::read(local.join(&name)).unwrap();
        let first_diff = on_server.iter().zip(&model).position(|(a, b)| a != b);
        assert_eq!(
            (on_server.len(), first_diff),
            (model.len(), None),
            "round {round}"
        );
        assert!(fs::read(dir.join(&name)).unwrap() == model, "round {round}");
    }
}

/// Append, random-offset writes (some past the end) and truncation through handles and by path
/// leave a file equal to an in-memory model, through the mount and on the server.
fn rw_model_round_trips(local: &Path, dir: &Path) {
    let p = dir.join("model");
    let mut model = pattern(300_000, 5);
    fs::write(&p, &model).unwrap();
    // Append.
    let mut f = fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(b"appended").unwrap();
    model.extend_from_slice(b"appended");
    drop(f);
    // Random-offset writes, including past the end.
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .unwrap();
    let mut x = 12345u64;
    for i in 0..40 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let off = (x >> 33) as usize % (model.len() + 5000);
        let chunk = pattern(1 + (x as usize % 20000), i);
        f.write_all_at(&chunk, off as u64).unwrap();
        if model.len() < off + chunk.len() {
            model.resize(off + chunk.len(), 0);
        }
        model[off..off + chunk.len()].copy_from_slice(&chunk);
    }
    // Truncate down and up through the handle and by path.
    f.set_len(200_000).unwrap();
    model.truncate(200_000);
    drop(f);
    assert_eq!(fs::read(&p).unwrap(), model);
    let f = fs::OpenOptions::new().write(true).open(&p).unwrap();
    f.set_len(250_000).unwrap();
    model.resize(250_000, 0);
    drop(f);
    assert_eq!(sha(&fs::read(&p).unwrap()), sha(&model));
    assert_eq!(sha(&fs::read(local.join("model")).unwrap()), sha(&model));
    fs::write(&p, b"short").unwrap(); // O_TRUNC on an existing file
    assert_eq!(fs::read(local.join("model")).unwrap(), b"short");
    // Read and seek through one descriptor.
    let mut f = fs::File::open(&p).unwrap();
    f.seek(SeekFrom::Start(2)).unwrap();
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "ort");
    // O_EXCL on an existing name.
    let e = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&p)
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    // Times: set and read back.
    sh(dir, "touch -d '2001-02-03 04:05:06' model");
    assert_eq!(
        fs::metadata(local.join("model")).unwrap().mtime(),
        fs::metadata(&p).unwrap().mtime()
    );
    assert_eq!(
        fs::metadata(&p).unwrap().mtime(),
        date_epoch("2001-02-03 04:05:06")
    );
    // chmod a-w makes the file read-only.
    sh(dir, "chmod a-w model");
    assert_eq!(fs::metadata(&p).unwrap().mode() & 0o222, 0);
    sh(dir, "chmod u+w model");
    assert_ne!(fs::metadata(&p).unwrap().mode() & 0o200, 0);
}

/// The epoch seconds of a `date -d` string (local time, as `touch -d` reads it).
fn date_epoch(d: &str) -> i64 {
    let out = Command::new("date")
        .args(["-d", d, "+%s"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn rename_and_unlink_semantics() {
    let (_srv, _m, local, dir) = setup("fs-rename", "");
    fs::write(dir.join("a"), b"A").unwrap();
    fs::write(dir.join("b"), b"B").unwrap();
    fs::rename(dir.join("a"), dir.join("b")).unwrap(); // over an existing file
    assert_eq!(fs::read(dir.join("b")).unwrap(), b"A");
    assert!(!dir.join("a").exists() && !local.join("a").exists());
    fs::create_dir_all(dir.join("d1/sub")).unwrap();
    fs::create_dir(dir.join("d2")).unwrap();
    fs::write(dir.join("d1/sub/f"), b"F").unwrap();
    fs::rename(dir.join("b"), dir.join("d2/b2")).unwrap(); // across directories
    assert_eq!(fs::read(local.join("d2/b2")).unwrap(), b"A");
    fs::create_dir(dir.join("empty")).unwrap();
    fs::rename(dir.join("d1"), dir.join("empty")).unwrap(); // directory over an empty directory
    assert_eq!(fs::read(dir.join("empty/sub/f")).unwrap(), b"F");
    assert_eq!(fs::read(local.join("empty/sub/f")).unwrap(), b"F");
    let e = fs::rename(dir.join("empty"), dir.join("d2")).unwrap_err(); // over a non-empty one
    assert_eq!(e.raw_os_error(), Some(libc::ENOTEMPTY));
    assert_eq!(
        fs::remove_dir(dir.join("empty"))
            .unwrap_err()
            .raw_os_error(),
        Some(libc::ENOTEMPTY)
    );
    assert_eq!(
        fs::metadata(dir.join("nope")).unwrap_err().raw_os_error(),
        Some(libc::ENOENT)
    );
    assert_eq!(
        fs::read_link(dir.join("d2/b2")).unwrap_err().raw_os_error(),
        Some(libc::EINVAL)
    );
    assert!(std::os::unix::fs::symlink("x", dir.join("link")).is_err());

    // Unlink of an open file: the name goes at once, the descriptor keeps working.
    let p = dir.join("open");
    fs::write(&p, b"hello").unwrap();
    let mut f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .unwrap();
    fs::remove_file(&p).unwrap();
    assert!(!p.exists());
    assert!(!local.join("open").exists());
    let names: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.to_string_lossy().contains("smb3fs-deleted")),
        "{names:?}"
    );
    f.write_all_at(b" world", 5).unwrap();
    let mut s = String::new();
    f.seek(SeekFrom::Start(0)).unwrap();
    f.read_to_string(&mut s).unwrap();
    assert_eq!(s, "hello world");
    fs::write(&p, b"new").unwrap(); // the name is free for a new file
    drop(f);
    wait_until("the hidden file to be deleted", 10, || {
        !fs::read_dir(&local).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .contains("smb3fs-deleted")
        })
    });
    assert_eq!(fs::read(local.join("open")).unwrap(), b"new");
}

#[test]
fn trees_cp_tar_rsync_find_du_df() {
    let (_srv, m, local, dir) = setup("fs-trees", "");
    let src = m.scratch.join("src");
    sh(
        &m.scratch,
        "mkdir -p src/a/b/c/d/e/f/g/h && for i in $(seq 1 40); do head -c $((i*997)) /dev/urandom > src/a/file$i; done \
         && echo deep > src/a/b/c/d/e/f/g/h/leaf && echo 'spaced out' > 'src/with space.txt' && mkdir -p src/empty \
         && touch -d '2010-01-01' src/a/file1",
    );
    sh(
        &dir,
        "mkdir -p x/y/z/1/2/3/4/5/6/7/8/9 && test -d x/y/z/1/2/3/4/5/6/7/8/9",
    );
    assert!(local.join("x/y/z/1/2/3/4/5/6/7/8/9").is_dir());
    sh(
        &dir,
        &format!(
            "cp -a {}/. cpa && diff -r {} cpa",
            src.display(),
            src.display()
        ),
    );
    sh(
        &dir,
        &format!(
            "mkdir tarx && tar -C {} -cf - . | tar -C tarx -xf - && diff -r {} tarx",
            src.display(),
            src.display()
        ),
    );
    sh(&dir, "tar -C cpa -cf - . | tar -tvf - | grep -q leaf");
    sh(&dir, &format!("rsync -a {}/ rs/", src.display()));
    let out = sh(
        &dir,
        &format!(
            "rsync -a --checksum --dry-run --itemize-changes {}/ rs/",
            src.display()
        ),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "",
        "rsync sees differences"
    );
    sh(&local, &format!("diff -r {} rs", src.display()));
    assert_eq!(
        fs::metadata(dir.join("cpa/a/file1")).unwrap().mtime(),
        fs::metadata(src.join("a/file1")).unwrap().mtime()
    );
    let out = sh(&dir, "find rs -type f | sort | wc -l");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
    sh(
        &dir,
        "du -sh rs && df -h . && df . | tail -1 | awk '{exit !($2 > 0)}'",
    );
    sh(&dir, "rm -rf cpa tarx rs x && test ! -e cpa");
    assert!(!local.join("cpa").exists());
}

#[test]
fn git_init_add_commit_status() {
    let (_srv, _m, _local, dir) = setup("fs-git", "");
    sh(
        &dir,
        "git init -q repo && cd repo && git config user.name Test && git config user.email t@example.com \
         && mkdir -p src && for i in 1 2 3; do echo line$i > src/f$i.txt; done && echo readme > README \
         && git add -A && git commit -qm first && echo more >> README && git commit -qam second \
         && git mv src/f1.txt src/g1.txt && git commit -qm third \
         && test -z \"$(git status --porcelain)\" && git log --oneline | wc -l | grep -qx 3 && git fsck --no-progress",
    );
}

#[test]
fn names_utf8_spaces_and_mapped_characters() {
    let (_srv, _m, local, dir) = setup("fs-names", "");
    let names = [
        "with space",
        "é",
        "日本",
        "emoji 😀",
        "a:b",
        "q?",
        "star*",
        "lt<gt>",
        "pipe|",
        "quote\"",
        "back\\slash",
        "ends with dot.",
        "ends with space ",
        "...",
    ];
    for n in names {
        fs::write(dir.join(n), n.as_bytes()).unwrap_or_else(|e| panic!("create {n:?}: {e}"));
    }
    fs::create_dir(dir.join("dir:with?odd*")).unwrap();
    fs::write(dir.join("dir:with?odd*").join("in|side"), b"x").unwrap();
    let mut listed: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort();
    let mut want: Vec<String> = names
        .iter()
        .map(|s| s.to_string())
        .chain(["dir:with?odd*".to_string()])
        .collect();
    want.sort();
    assert_eq!(listed, want);
    for n in names {
        assert_eq!(fs::read(dir.join(n)).unwrap(), n.as_bytes());
    }
    // On the server the forbidden characters are stored as the SFM private-use code points.
    assert_eq!(fs::read(local.join("a\u{F022}b")).unwrap(), b"a:b");
    assert!(local.join("q\u{F025}").exists() && local.join("pipe\u{F027}").exists());
    assert!(local.join("back\u{F026}slash").exists() && local.join("quote\u{F020}").exists());
    assert!(local
        .join("dir\u{F022}with\u{F025}odd\u{F021}/in\u{F027}side")
        .exists());
    assert_eq!(fs::read(local.join("日本")).unwrap(), "日本".as_bytes());
    // A trailing period or space (which Samba would show under a mangled 8.3 name) too.
    assert_eq!(
        fs::read(local.join("ends with dot\u{F029}")).unwrap(),
        b"ends with dot."
    );
    assert!(local.join("ends with space\u{F028}").exists());
    assert!(local.join("..\u{F029}").exists());
    // And names created on the server come back mapped (once the directory's cached listing,
    // valid for actimeo = 1 s, has expired).
    fs::write(local.join("srv\u{F023}x"), b"s").unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(fs::read(dir.join("srv<x")).unwrap(), b"s");
}

#[test]
fn nomapposix_refuses_forbidden_characters() {
    let (_srv, _m, _local, dir) = setup("fs-nomap", "nomapposix");
    let e = fs::write(dir.join("a:b"), b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    let e = fs::write(dir.join("trailing."), b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    fs::write(dir.join("fine é"), b"x").unwrap();
}

#[test]
fn read_only_mount_refuses_writes() {
    let srv = server();
    let (local, share_path) = srv.test_dir("fs-ro");
    fs::write(local.join("existing"), b"data").unwrap();
    let m = Mount::new(&srv, "ro", "ro");
    let dir = m.path(&share_path);
    assert_eq!(fs::read(dir.join("existing")).unwrap(), b"data");
    let erofs =
        |r: std::io::Result<()>| assert_eq!(r.unwrap_err().raw_os_error(), Some(libc::EROFS));
    erofs(fs::write(dir.join("new"), b"x"));
    erofs(fs::write(dir.join("existing"), b"x"));
    erofs(fs::create_dir(dir.join("d")));
    erofs(fs::remove_file(dir.join("existing")));
    erofs(fs::rename(dir.join("existing"), dir.join("other")));
    assert_eq!(fs::read(local.join("existing")).unwrap(), b"data");
}

/// `fusermount3 -u MP`, which must succeed.
fn fusermount_u(mp: &Path) {
    let st = Command::new("fusermount3")
        .arg("-u")
        .arg(mp)
        .status()
        .unwrap();
    assert!(st.success(), "fusermount3 -u {}: {st}", mp.display());
}

fn mount_processes(mp: &Path) -> usize {
    mount_pids(mp).len()
}

#[test]
fn daemon_mode_mounts_and_fusermount_ends_it() {
    let srv = server();
    let (_local, share_path) = srv.test_dir("fs-daemon");
    let (s, mp) = scratch_mount_point("daemon");
    // Given relative to the working directory, as people type it.
    let out = daemon_mount_from(
        &srv,
        mp.parent().unwrap(),
        Path::new(mp.file_name().unwrap()),
        "",
    );
    assert!(
        out.status.success(),
        "daemon mount failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let guard = scopeguard(&mp);
    assert!(is_mounted(&mp));
    // Mounted by root: the type is ours (fuser alone would say plain `fuse`).
    let mounts = fs::read_to_string("/proc/self/mounts").unwrap();
    let line = mounts
        .lines()
        .find(|l| l.split(' ').nth(1) == mp.to_str())
        .expect("mount listed");
    assert_eq!(line.split(' ').nth(2), Some("fuse.smb3fs"), "{line}");
    // And the kernel's read-ahead for it is the default rasize, 4 MiB, not FUSE's 128 KiB (it
    // stayed 128 KiB when the mount point was relative).
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let dev = info
        .lines()
        .map(|l| l.split(' ').collect::<Vec<_>>())
        .find(|f| f.len() > 4 && Some(f[4]) == mp.to_str())
        .map(|f| f[2].to_string())
        .expect("mount in mountinfo");
    let ra = fs::read_to_string(format!("/sys/class/bdi/{dev}/read_ahead_kb")).unwrap();
    assert_eq!(ra.trim(), "4096");
    fs::write(mp.join(&share_path).join("hello"), b"hi").unwrap();
    assert_eq!(mount_processes(&mp), 1);
    fusermount_u(&mp);
    wait_until("the daemon to exit", 15, || mount_processes(&mp) == 0);
    drop(guard);
    let _ = fs::remove_dir_all(&s);
}

/// Once detached, the daemon logs to syslog (here a socket of the test's own, named by
/// SMB3FS_SYSLOG_SOCKET instead of /dev/log), with the RUST_LOG filter: the mount and the
/// unmount are reported there, as daemon-facility records of `smb3fs[PID]`, with no password.
#[test]
fn detached_daemon_logs_to_syslog() {
    use std::os::unix::net::UnixDatagram;
    let srv = server();
    let (s, mp) = scratch_mount_point("syslog");
    let sock_path = s.join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let opts = format!("credentials={}", srv.credentials_file.display());
    let out = Command::new(BIN)
        .args(["mount", &srv.unc()])
        .arg(&mp)
        .args(["-o", &opts])
        .env("SMB3FS_SYSLOG_SOCKET", &sock_path)
        .env("RUST_LOG", "info")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "daemon mount failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let guard = scopeguard(&mp);
    let mut records = Vec::new();
    let next = || {
        let mut buf = vec![0u8; 4096];
        let n = sock.recv(&mut buf).expect("a syslog record within 15 s");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mounted = next();
    // <PRI>: facility daemon (3) * 8 + severity info (6) = 30.
    assert!(mounted.starts_with("<30>"), "{mounted}");
    assert!(mounted.contains("smb3fs["), "{mounted}");
    assert!(
        mounted.contains(&format!("mounted {} on {}", srv.unc(), mp.display())),
        "{mounted}"
    );
    records.push(mounted);
    fusermount_u(&mp);
    loop {
        let r = next();
        let done = r.contains(&format!("unmounted {}", mp.display()));
        records.push(r);
        if done {
            break;
        }
    }
    for r in &records {
        assert!(!r.contains(&srv.password), "password in a log record: {r}");
    }
    // The switch to syslog came before the first record: none went to standard error.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("mounted"), "{stderr}");
    drop(guard);
    let _ = fs::remove_dir_all(&s);
}

/// The pids of the `smb3fs mount` processes serving `mp`.
fn mount_pids(mp: &Path) -> Vec<i32> {
    let needle = mp.to_str().unwrap();
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let c = fs::read(e.path().join("cmdline")).ok()?;
            let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
            (args.contains(&needle.as_bytes()) && args.contains(&&b"mount"[..])).then_some(pid)
        })
        .collect()
}

/// A new mount on the directory of one just unmounted survives the old daemon's exit, however
/// late that comes (the old daemon once unmounted whatever was mounted there by then). The old
/// daemon is held stopped across the unmount and the new mount, then let go.
#[test]
fn a_new_mount_survives_the_previous_daemons_exit() {
    let srv = server();
    let (_local, share_path) = srv.test_dir("fs-remount");
    let (s, mp) = scratch_mount_point("remount");
    let guard = scopeguard(&mp);
    let out = daemon_mount(&srv, &mp, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let f = mp.join(&share_path).join("f");
    fs::write(&f, b"written by the first mount").unwrap();
    assert_eq!(fs::read(&f).unwrap(), b"written by the first mount");
    let old = mount_pids(&mp);
    assert_eq!(old.len(), 1);
    // SAFETY: kill(2) on a pid of our own child's process group; no memory is involved.
    assert_eq!(unsafe { libc::kill(old[0], libc::SIGSTOP) }, 0);
    fusermount_u(&mp);
    let out = daemon_mount(&srv, &mp, "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // SAFETY: as above.
    assert_eq!(unsafe { libc::kill(old[0], libc::SIGCONT) }, 0);
    wait_until("the old daemon to exit", 15, || {
        !mount_pids(&mp).contains(&old[0])
    });
    assert!(is_mounted(&mp), "the old daemon unmounted the new mount");
    assert_eq!(fs::read(&f).unwrap(), b"written by the first mount");
    drop(guard);
    wait_until("the new daemon to exit", 15, || mount_pids(&mp).is_empty());
    let _ = fs::remove_dir_all(&s);
}

struct Unmounter(PathBuf);
impl Drop for Unmounter {
    fn drop(&mut self) {
        unmount(&self.0);
    }
}
fn scopeguard(mp: &Path) -> Unmounter {
    Unmounter(mp.to_path_buf())
}

#[test]
fn bad_password_fails_before_detaching() {
    let srv = server();
    let (s, mp) = scratch_mount_point("badpw");
    let cred = s.join("cred");
    fs::write(
        &cred,
        format!("username={}\npassword=wrong-password\n", srv.user),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args(["mount", &srv.unc()])
        .arg(&mp)
        .args(["-o", &format!("credentials={}", cred.display())]);
    let out = cmd.output().unwrap();
    let _guard = scopeguard(&mp);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "mount with a bad password succeeded");
    assert!(err.to_lowercase().contains("logon"), "stderr: {err}");
    assert!(!is_mounted(&mp));
    // Unknown options are named.
    let out = Command::new(BIN)
        .args(["mount", &srv.unc()])
        .arg(&mp)
        .args(["-o", "bogus_opt,ro", "-f"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bogus_opt"));
    let _ = fs::remove_dir_all(&s);
}

#[test]
fn sigterm_unmounts_and_exits_zero() {
    let srv = server();
    let mut m = Mount::new(&srv, "sigterm", "");
    let mut child = m.child.take().unwrap();
    // SAFETY: kill() on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(15),
            "mount process did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    assert!(!is_mounted(&m.mp));
}

#[test]
fn mount_helper_name_accepts_mount8_arguments() {
    let srv = server();
    let (local, share_path) = srv.test_dir("fs-helper");
    fs::write(local.join("via-helper"), b"ok").unwrap();
    let (s, mp) = scratch_mount_point("helper");
    let helper = s.join("mount.fuse.smb3fs");
    std::os::unix::fs::symlink(BIN, &helper).unwrap();
    let opts = format!(
        "rw,nodev,nosuid,_netdev,noauto,credentials={}",
        srv.credentials_file.display()
    );
    let out = Command::new(&helper)
        .arg(srv.unc())
        .arg(&mp)
        .args(["-o", &opts, "-n"])
        .output()
        .unwrap();
    let _guard = scopeguard(&mp);
    assert!(
        out.status.success(),
        "helper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(mp.join(&share_path).join("via-helper")).unwrap(),
        b"ok"
    );
    assert!(Command::new("fusermount3")
        .arg("-u")
        .arg(&mp)
        .status()
        .unwrap()
        .success());
    wait_until("the helper's daemon to exit", 15, || {
        mount_processes(&mp) == 0
    });
    let _ = fs::remove_dir_all(&s);
}

/// A lost connection gives EIO to callers, within a bounded time, never a hang.
#[test]
fn lost_connection_gives_eio() {
    let mut srv = server();
    let (local, dir) = srv.test_dir("mount-lost");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let proxy = rt.block_on(common::Proxy::start(&srv));
    srv.port = proxy.port;
    let m = Mount::new(&srv, "lost", "actimeo=0");
    fs::write(m.path(&format!("{dir}/before.txt")), b"ok").unwrap();
    assert_eq!(fs::read(local.join("before.txt")).unwrap(), b"ok");
    proxy.cut();
    std::fs::write(local.join("after.txt"), b"made on the server").unwrap();
    let t = Instant::now();
    let e = fs::read(m.path(&format!("{dir}/after.txt"))).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    let e = fs::write(m.path(&format!("{dir}/new.txt")), b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EIO), "{e}");
    assert!(t.elapsed() < Duration::from_secs(20));
    drop(m);
}

/// `cache=none`: data goes straight between the program and the server (direct I/O), so a
/// read sees the server's current bytes even through a handle opened before they changed;
/// writes, appends, truncation and mmap still behave.
#[test]
fn cache_none_reads_the_server_and_keeps_every_byte() {
    use std::os::unix::io::AsRawFd;
    let (_srv, m, local, dir) = setup("fs-cache-none", "cache=none");
    for (i, size) in [0usize, 1, 4097, (1 << 20) + 3, 9 << 20]
        .into_iter()
        .enumerate()
    {
        let data = pattern(size, 40 + i as u64);
        let p = dir.join(format!("f{size}"));
        fs::write(&p, &data).unwrap();
        assert_eq!(sha_file(&p), sha(&data), "through the mount, {size}");
        assert_eq!(
            sha_file(&local.join(format!("f{size}"))),
            sha(&data),
            "server, {size}"
        );
    }
    let src = m.scratch.join("big");
    fs::write(&src, pattern(32 << 20, 7)).unwrap();
    sh(
        &dir,
        &format!("dd if={} of=dd.bin bs=1M status=none", src.display()),
    );
    assert_eq!(sha_file(&local.join("dd.bin")), sha_file(&src));
    sh(
        &dir,
        "dd if=dd.bin of=copy.bin bs=64k status=none && cmp dd.bin copy.bin",
    );

    rw_model_round_trips(&local, &dir);

    // A handle opened before the server's copy changed reads the new bytes: no page cache.
    fs::write(local.join("live"), b"old contents").unwrap();
    let live = fs::File::open(dir.join("live")).unwrap();
    let mut buf = [0u8; 12];
    live.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"old contents");
    fs::write(local.join("live"), b"new contents").unwrap();
    live.read_exact_at(&mut buf, 0).unwrap();
    assert_eq!(&buf, b"new contents", "cache=none served a stale read");
    drop(live);

    // mmap works: read a mapping, write through a shared mapping.
    let p = dir.join("mapped");
    fs::write(&p, pattern(8192, 9)).unwrap();
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&p)
        .unwrap();
    // SAFETY: a fresh shared mapping of an 8 KiB file, used only within this block.
    unsafe {
        let len = 8192;
        let ptr = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(
            ptr,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        let bytes = std::slice::from_raw_parts_mut(ptr as *mut u8, len);
        assert_eq!(&bytes[..], &pattern(8192, 9)[..]);
        bytes[100..105].copy_from_slice(b"MMAPD");
        assert_eq!(libc::msync(ptr, len, libc::MS_SYNC), 0);
        libc::munmap(ptr, len);
    }
    drop(f);
    let mut want = pattern(8192, 9);
    want[100..105].copy_from_slice(b"MMAPD");
    assert_eq!(fs::read(local.join("mapped")).unwrap(), want);
}
