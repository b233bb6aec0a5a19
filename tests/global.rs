//! Global mapping: one mount, made by root, shared by every local user (`-o global`), with the
//! kernel checking the uid/gid/modes the mount presents, access lists, per-user handles, use from
//! another mount and PID namespace through a bind mount, and `smb3fs status`.
//!
//! Runs as root over the Samba that `scripts/test.sh` starts. Other users are numeric uids
//! (4242, 4343) entered with `setpriv`, so no passwd entries are needed. Every test has its own
//! share directory and mount point; a guard unmounts even when the test fails.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::mount::*;
use common::{pattern, server};

const CREATOR: u32 = 4242;
const OTHER: u32 = 4343;
const GLOBAL: &str = "global,uid=4242,gid=4242,file_mode=0664,dir_mode=0775";

/// Create a file directly in the server's directory, owned like the share (so smbd may write it).
fn put_local(local: &Path, name: &str, data: &[u8]) {
    use std::os::unix::fs::MetadataExt;
    let p = local.join(name);
    fs::write(&p, data).unwrap();
    let owner = fs::metadata(local).unwrap();
    std::os::unix::fs::chown(&p, Some(owner.uid()), Some(owner.gid())).unwrap();
}

/// The binary, copied where other users can run it (the build tree may not be reachable).
fn user_bin(scratch: &Path) -> String {
    let p = scratch.join("smb3fs");
    fs::copy(BIN, &p).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
    p.to_str().unwrap().to_string()
}

/// Run a bash script as uid/gid with no supplementary groups.
fn as_user(uid: u32, gid: u32, script: &str) -> Output {
    Command::new("setpriv")
        .arg(format!("--reuid={uid}"))
        .arg(format!("--regid={gid}"))
        .args(["--clear-groups", "bash", "-c", script])
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .expect("run setpriv")
}

fn ok(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output, what: &str, error: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(error),
        "{what}: expected '{error}', got status {:?}: {}{err}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
    );
}

fn q(p: &Path) -> String {
    format!("'{}'", p.display())
}

#[test]
fn global_mount_checks_modes_for_each_user() {
    let (_srv, m, local, dir) = setup("global-modes", GLOBAL);
    put_local(&local, "existing", b"server data");
    let meta = fs::metadata(dir.join("existing")).unwrap();
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (CREATOR, CREATOR, 0o664)
    );
    // The owner reads and writes.
    let out = as_user(
        CREATOR,
        CREATOR,
        &format!(
            "cat {d}/existing && printf mine > {d}/new && printf more >> {d}/existing && ls {d}",
            d = q(&dir)
        ),
    );
    let text = ok(&out, "owner read/write");
    assert!(
        text.starts_with("server data") && text.contains("new"),
        "{text}"
    );
    assert_eq!(fs::read(local.join("new")).unwrap(), b"mine");
    assert_eq!(
        fs::read(local.join("existing")).unwrap(),
        b"server datamore"
    );
    // Someone else ("other": r--) reads but cannot write or create.
    let out = as_user(OTHER, OTHER, &format!("cat {}/new", q(&dir)));
    assert_eq!(ok(&out, "other read"), "mine");
    let out = as_user(OTHER, OTHER, &format!("printf x >> {}/new", q(&dir)));
    refused(&out, "other append", "Permission denied");
    let out = as_user(OTHER, OTHER, &format!("printf x > {}/other", q(&dir)));
    refused(&out, "other create", "Permission denied");
    let out = as_user(OTHER, OTHER, &format!("rm -f {}/new", q(&dir)));
    refused(&out, "other unlink", "Permission denied");
    assert_eq!(fs::read(local.join("new")).unwrap(), b"mine");
    assert!(!local.join("other").exists());
    // The group (gid 4242) may write.
    let out = as_user(OTHER, CREATOR, &format!("printf g >> {}/new", q(&dir)));
    ok(&out, "group append");
    assert_eq!(fs::read(local.join("new")).unwrap(), b"mineg");
    drop(m);
}

#[test]
fn allow_users_keeps_everyone_else_out() {
    let (_srv, m, local, dir) = setup("global-allow", &format!("{GLOBAL},allow_users={CREATOR}"));
    put_local(&local, "f", b"x");
    put_local(&local, "g", b"y");
    let out = as_user(
        CREATOR,
        CREATOR,
        &format!("ls {d} && cat {d}/f", d = q(&dir)),
    );
    assert!(ok(&out, "allowed user").contains('f'));
    for script in [
        format!("stat {}/g", q(&dir)),
        format!("ls {}", q(&m.mp)),
        format!("cat {}/f", q(&dir)),
        format!("stat {}", q(&dir)),
    ] {
        let out = as_user(OTHER, OTHER, &script);
        refused(&out, &script, "Permission denied");
    }
    // Also from a working directory inside the mount (inherited from an allowed process).
    let out = Command::new("setpriv")
        .arg(format!("--reuid={OTHER}"))
        .arg(format!("--regid={OTHER}"))
        .args(["--clear-groups", "stat", "g"])
        .current_dir(&dir)
        .output()
        .unwrap();
    refused(
        &out,
        "stat from a working directory inside",
        "Permission denied",
    );
    // deny wins over allow; a group list matches the primary group.
    drop(m);
    let (_srv, m, _local, dir) = setup(
        "deny",
        &format!("{GLOBAL},allow_groups={CREATOR},deny_users={OTHER}"),
    );
    let out = as_user(4444, CREATOR, &format!("cat {}/f", q(&dir)));
    refused(&out, "missing file", "No such file");
    let out = as_user(OTHER, CREATOR, &format!("ls {}", q(&dir)));
    refused(&out, "denied user in allowed group", "Permission denied");
    let out = as_user(4444, 4444, &format!("ls {}", q(&dir)));
    refused(&out, "user outside the allowed group", "Permission denied");
    drop(m);
}

#[test]
fn without_global_only_the_mounting_user_enters() {
    let (_srv, m, _local, dir) = setup("global-private", "");
    assert!(dir.is_dir());
    for uid in [CREATOR, OTHER] {
        let out = as_user(uid, uid, &format!("ls {}", q(&m.mp)));
        refused(&out, "ls of a private mount", "Permission denied");
    }
    drop(m);
}

#[test]
fn bind_mounted_into_a_container_namespace() {
    let (srv, m, local, dir) = setup("global-container", GLOBAL);
    put_local(&local, "from-host", b"host bytes");
    let bind = m.scratch.join("container-view");
    fs::create_dir_all(&bind).unwrap();
    let sub = dir.file_name().unwrap().to_str().unwrap();
    let inner = format!(
        "set -e; cd /; cat {b}/{sub}/from-host > {b}/{sub}/copy; \
         printf 'container bytes' > {b}/{sub}/written; \
         mv {b}/{sub}/written {b}/{sub}/renamed; echo pid=$$; id -u",
        b = q(&bind)
    );
    let script = format!(
        "set -e; mount --bind {mp} {b}; \
         exec setpriv --reuid={CREATOR} --regid={CREATOR} --clear-groups bash -c \"$0\"",
        mp = q(&m.mp),
        b = q(&bind)
    );
    let out = Command::new("unshare")
        .args(["--mount", "--pid", "--fork", "bash", "-c", &script, &inner])
        .current_dir("/")
        .output()
        .expect("run unshare");
    let text = ok(&out, "work through the bind mount in a new namespace");
    assert!(text.contains("pid=1\n"), "in its own PID namespace: {text}");
    assert!(text.trim_end().ends_with(&CREATOR.to_string()), "{text}");
    // The bind mount stayed inside the namespace; the bytes are on the server.
    assert!(!is_mounted(&bind));
    assert_eq!(fs::read(local.join("copy")).unwrap(), b"host bytes");
    assert_eq!(fs::read(local.join("renamed")).unwrap(), b"container bytes");
    assert!(!local.join("written").exists());
    assert!(srv
        .share_dir
        .join(local.file_name().unwrap())
        .join("renamed")
        .exists());
    drop(m);
}

#[test]
fn users_writing_at_once_do_not_mix_and_handles_stay_with_their_opener() {
    let (_srv, m, local, dir) = setup("global-concurrent", GLOBAL);
    let src = m.scratch.join("src");
    fs::create_dir_all(&src).unwrap();
    let size = 4 << 20;
    let a = pattern(size, 1);
    let b = pattern(size, 2);
    fs::write(src.join("a"), &a).unwrap();
    fs::write(src.join("b"), &b).unwrap();
    put_local(&local, "shared", &vec![0u8; 2 * size]);
    for f in ["a", "b"] {
        fs::set_permissions(src.join(f), fs::Permissions::from_mode(0o644)).unwrap();
    }
    let spawn = |uid: u32, gid: u32, name: &str, seek: usize| {
        let script = format!(
            "for i in 1 2 3; do cp {s} {d}/{name}-own.tmp && mv {d}/{name}-own.tmp {d}/{name}-own; \
             dd if={s} of={d}/shared bs=1M seek={seek} conv=notrunc status=none; done",
            s = q(&src.join(name)),
            d = q(&dir),
        );
        Command::new("setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .args(["--clear-groups", "bash", "-c", &script])
            .current_dir("/")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // uid 4343 writes as a member of group 4242 (file_mode 0664).
    let ca = spawn(CREATOR, CREATOR, "a", 0);
    let cb = spawn(OTHER, CREATOR, "b", size >> 20);
    ok(&ca.wait_with_output().unwrap(), "writer a");
    ok(&cb.wait_with_output().unwrap(), "writer b");
    assert!(fs::read(local.join("a-own")).unwrap() == a, "a-own differs");
    assert!(fs::read(local.join("b-own")).unwrap() == b, "b-own differs");
    let shared = fs::read(local.join("shared")).unwrap();
    assert!(
        shared[..size] == a[..] && shared[size..] == b[..],
        "shared differs"
    );

    // A descriptor opened by one user (root here) does not work for another user's requests.
    let f = fs::File::open(dir.join("a-own")).unwrap();
    let out = Command::new("setpriv")
        .arg(format!("--reuid={OTHER}"))
        .arg(format!("--regid={OTHER}"))
        .args(["--clear-groups", "cat"])
        .current_dir("/")
        .stdin(f)
        .output()
        .unwrap();
    refused(
        &out,
        "read through another user's handle",
        "Bad file descriptor",
    );
    drop(m);
}

#[test]
fn status_command_reports_the_session() {
    let (srv, m, _local, dir) = setup("global-status", GLOBAL);
    let out = Command::new(BIN).arg("status").arg(&m.mp).output().unwrap();
    let text = ok(&out, "smb3fs status");
    assert!(text.contains("3.1.1"), "{text}");
    assert!(text.contains("AES-128-GCM"), "{text}");
    assert!(
        text.contains(&format!("{}:{}", srv.host, srv.port)),
        "{text}"
    );
    assert!(text.contains(&srv.share), "{text}");
    assert!(text.contains("session:   up"), "{text}");
    // Other users may ask too; only the root lists the attribute.
    let bin = user_bin(&m.scratch);
    let out = as_user(OTHER, OTHER, &format!("{bin} status {}", q(&m.mp)));
    assert!(ok(&out, "status as another user").contains("3.1.1"));
    let out = Command::new(BIN)
        .arg("status")
        .arg(m.mp.join(dir.file_name().unwrap()))
        .output()
        .unwrap();
    refused(
        &out,
        "status of a subdirectory",
        "not the root of an smb3fs mount",
    );
    let list = |p: &Path| {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        let mut buf = vec![0u8; 1024];
        // SAFETY: c is NUL-terminated and buf has buf.len() bytes.
        let n = unsafe { libc::listxattr(c.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
        assert!(n >= 0, "listxattr {}", p.display());
        buf.truncate(n as usize);
        buf
    };
    assert_eq!(list(&m.mp), b"user.smb3fs.status\0");
    assert_eq!(list(&dir), b"");
    let out = Command::new(BIN)
        .arg("status")
        .arg(&m.scratch)
        .output()
        .unwrap();
    assert!(!out.status.success());
    drop(m);
}

/// Run a mount that must be refused before anything is mounted (daemon mode returns at once).
fn refused_mount(name: &str, extra: &str) -> String {
    let srv = server();
    let (s, mp) = scratch_mount_point(name);
    let out = daemon_mount(&srv, &mp, extra);
    let mounted = is_mounted(&mp);
    unmount(&mp);
    let _ = fs::remove_dir_all(&s);
    assert!(
        !mounted && !out.status.success(),
        "mount with {extra} was accepted"
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn unknown_user_and_world_writable_global_are_refused() {
    let e = refused_mount("unknown", "global,allow_users=4242:no-such-user-smb3fs");
    assert!(
        e.contains("no-such-user-smb3fs") && e.contains("allow_users"),
        "{e}"
    );
    let e = refused_mount("unknowngroup", "deny_groups=no-such-group-smb3fs");
    assert!(e.contains("no-such-group-smb3fs"), "{e}");
    let e = refused_mount("worldwritable", "global,file_mode=0666");
    assert!(
        e.contains("file_mode=0666") && e.contains("every local user") && e.contains("allow_users"),
        "{e}"
    );
    // Accepted with an allow list, and a plain `global` is accepted too.
    let (_srv, m, _local, _dir) = setup("global-worldok", "global,file_mode=0666,allow_users=4242");
    drop(m);
    let (_srv, m, _local, dir) = setup("global-plain", "global");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o7777, 0o755);
    drop(m);
}

#[test]
fn non_root_global_needs_user_allow_other() {
    let srv = server();
    let (s, mp) = scratch_mount_point("nonroot");
    let out = as_user(
        CREATOR,
        CREATOR,
        &format!(
            "PASSWD=x {} mount {} {} -o global -f",
            user_bin(&s),
            srv.unc(),
            q(&mp)
        ),
    );
    let mounted = is_mounted(&mp);
    unmount(&mp);
    let _ = fs::remove_dir_all(&s);
    assert!(!mounted);
    let configured = fs::read_to_string("/etc/fuse.conf")
        .map(|t| t.lines().any(|l| l.trim() == "user_allow_other"))
        .unwrap_or(false);
    if !configured {
        refused(&out, "non-root global mount", "'user_allow_other'");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("/etc/fuse.conf") && err.contains("global"),
            "{err}"
        );
    }
}

/// Not a test on its own: the other-user side of `mmap_writes_of_another_user_reach_the_server`,
/// run in a child process (as uid 4242) with the file to map in SMB3FS_MMAP_FILE.
#[test]
#[ignore]
fn mmap_helper() {
    use std::io::BufRead;
    use std::os::fd::AsRawFd;
    let Ok(path) = std::env::var("SMB3FS_MMAP_FILE") else {
        return;
    };
    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .unwrap();
    // SAFETY: a fresh shared mapping of 8 KiB of f, written and unmapped here only.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            8192,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        assert_ne!(p, libc::MAP_FAILED, "mmap");
        let b = p.cast::<u8>();
        std::ptr::copy_nonoverlapping(b"mapped".as_ptr(), b, 6);
        std::ptr::copy_nonoverlapping(b"second".as_ptr(), b.add(4096), 6);
        libc::munmap(p, 8192);
    }
    println!("MMAP-READY");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).unwrap();
    drop(f);
}

#[test]
fn mmap_writes_of_another_user_reach_the_server() {
    // Pages written through a mapping reach the server from the kernel's flusher (requests with
    // no caller), which neither the access lists nor the handle owner check may refuse.
    use std::io::{BufRead, BufReader, Write};
    use std::os::unix::process::CommandExt;
    let (_srv, m, local, dir) = setup("global-mmap", &format!("{GLOBAL},allow_users={CREATOR}"));
    put_local(&local, "mapped", &[b'.'; 8192]);
    let helper = m.scratch.join("helper");
    fs::copy(std::env::current_exe().unwrap(), &helper).unwrap();
    fs::set_permissions(&helper, fs::Permissions::from_mode(0o755)).unwrap();
    let mut child = Command::new(&helper)
        .args(["--ignored", "--exact", "mmap_helper", "--nocapture"])
        .env("SMB3FS_MMAP_FILE", dir.join("mapped"))
        .uid(CREATOR)
        .gid(CREATOR)
        .current_dir("/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("MMAP-READY") {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "the helper ended early"
        );
    }
    // The file is still open; sync has the kernel's flusher write the dirty pages.
    assert!(Command::new("sync").status().unwrap().success());
    child.stdin.take().unwrap().write_all(b"\n").unwrap();
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut out, &mut rest);
    assert!(child.wait().unwrap().success(), "helper: {rest}");
    let data = fs::read(local.join("mapped")).unwrap();
    assert_eq!(&data[..6], b"mapped");
    assert_eq!(&data[4096..4102], b"second");
    drop(m);
}
