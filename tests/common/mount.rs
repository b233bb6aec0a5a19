//! Real mounts for the integration tests: each test mounts the share on its own mount point with
//! `smb3fs mount … -f` as a child process, and a guard unmounts it (lazily if busy) and reaps the
//! process even when the test panics, so tests can run in parallel.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{server, Server};

pub const BIN: &str = env!("CARGO_BIN_EXE_smb3fs");

/// A fresh scratch directory for one test, reachable by other users (for setpriv tests).
pub fn scratch(name: &str) -> PathBuf {
    let base = std::env::var("SMB3FS_TEST_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let d = base.join(format!("smb3fs-mnt-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    for p in [base.as_path(), d.as_path()] {
        let mut perm = fs::metadata(p).unwrap().permissions();
        perm.set_mode(perm.mode() | 0o755);
        fs::set_permissions(p, perm).unwrap();
    }
    d
}

/// A fresh scratch directory and an empty mount point `mnt` in it.
pub fn scratch_mount_point(name: &str) -> (PathBuf, PathBuf) {
    let s = scratch(name);
    let mp = s.join("mnt");
    fs::create_dir_all(&mp).unwrap();
    (s, mp)
}

pub fn is_mounted(mp: &Path) -> bool {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mp = mp.to_str().unwrap();
    info.lines().any(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        f.len() > 4 && f[4] == mp && l.contains(" - fuse")
    })
}

pub fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(
            t.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn unmount(mp: &Path) {
    if !is_mounted(mp) {
        return;
    }
    let ok = Command::new("fusermount3")
        .arg("-u")
        .arg(mp)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success());
    if !matches!(ok, Ok(true)) {
        let _ = Command::new("fusermount3").arg("-uz").arg(mp).status();
    }
}

/// Run `smb3fs mount` in daemon mode (it returns once the mount is ready, or with the error) on
/// `mp`, with the credentials file and `extra` options.
pub fn daemon_mount(srv: &Server, mp: &Path, extra: &str) -> std::process::Output {
    daemon_mount_from(srv, Path::new("."), mp, extra)
}

/// [`daemon_mount`] run in the directory `cwd`, so that `mp` may be relative to it.
pub fn daemon_mount_from(srv: &Server, cwd: &Path, mp: &Path, extra: &str) -> std::process::Output {
    let opts = format!("credentials={},{extra}", srv.credentials_file.display());
    Command::new(BIN)
        .current_dir(cwd)
        .args(["mount", &srv.unc()])
        .arg(mp)
        .args(["-o", opts.trim_end_matches(',')])
        .stdin(Stdio::null())
        .output()
        .expect("run smb3fs mount")
}

/// A mounted share; unmounts and reaps the mount process on drop.
pub struct Mount {
    pub mp: PathBuf,
    pub child: Option<Child>,
    pub scratch: PathBuf,
}

impl Mount {
    /// Mount `srv` in the foreground with the credentials file and `extra` options.
    pub fn new(srv: &Server, name: &str, extra: &str) -> Mount {
        let (scratch, mp) = scratch_mount_point(name);
        let opts = format!("credentials={},{extra}", srv.credentials_file.display());
        let mut child = Command::new(BIN)
            .args(["mount", &srv.unc()])
            .arg(&mp)
            .args(["-o", opts.trim_end_matches(','), "-f"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start smb3fs mount");
        let t = Instant::now();
        while !is_mounted(&mp) {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("smb3fs mount exited early: {status}");
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "mount did not appear"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Mount {
            mp,
            child: Some(child),
            scratch,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.mp.join(rel)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        unmount(&self.mp);
        if let Some(mut c) = self.child.take() {
            let t = Instant::now();
            loop {
                match c.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if t.elapsed() > Duration::from_secs(10) => {
                        let _ = c.kill();
                        let _ = c.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(50)),
                }
            }
        }
        let _ = fs::remove_dir_all(&self.scratch);
    }
}

/// The share, a fresh directory `name` in it, and a new mount with `extra` options: returns
/// (server, mount, the directory on the server's disk, the directory through the mount).
pub fn setup(name: &str, extra: &str) -> (Server, Mount, PathBuf, PathBuf) {
    let srv = server();
    let (local, share_path) = srv.test_dir(name);
    let m = Mount::new(&srv, name, extra);
    let dir = m.path(&share_path);
    assert!(
        dir.is_dir(),
        "{} not visible through the mount",
        dir.display()
    );
    (srv, m, local, dir)
}

/// Write a file directly in the server's directory, owned like the share (as another client
/// would leave it).
pub fn server_write(srv: &Server, p: &Path, data: &[u8]) {
    fs::write(p, data).unwrap();
    let owner = fs::metadata(&srv.share_dir).unwrap();
    std::os::unix::fs::chown(
        p,
        Some(std::os::unix::fs::MetadataExt::uid(&owner)),
        Some(std::os::unix::fs::MetadataExt::gid(&owner)),
    )
    .unwrap();
}

/// The names `read_dir` lists in `dir`.
pub fn names(dir: &Path) -> std::collections::BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect()
}

pub fn set(v: &[&str]) -> std::collections::BTreeSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The errno of a failed call.
pub fn errno_of<T: std::fmt::Debug>(r: std::io::Result<T>) -> i32 {
    r.unwrap_err().raw_os_error().unwrap()
}

/// The value of extended attribute `name` of `p` (with getfattr), or its error output.
pub fn getfattr(p: &Path, name: &str) -> Result<String, String> {
    let out = Command::new("getfattr")
        .args(["--only-values", "--absolute-names", "-n", name])
        .arg(p)
        .output()
        .expect("run getfattr");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// A read-only shared mapping of an open file, to ask which of its pages the kernel caches.
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    pub fn new(f: &fs::File, len: usize) -> Mapping {
        // SAFETY: a fresh read-only mapping of `len` bytes of an open file; only mincore reads it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                std::os::unix::io::AsRawFd::as_raw_fd(f),
                0,
            )
        };
        assert_ne!(
            ptr,
            libc::MAP_FAILED,
            "mmap: {}",
            std::io::Error::last_os_error()
        );
        Mapping { ptr, len }
    }

    /// Bytes of the file the page cache holds now.
    pub fn cached_bytes(&self) -> usize {
        self.cached_in(0..self.len)
    }

    /// Bytes of `range` (page-aligned) of the file the page cache holds now.
    pub fn cached_in(&self, range: std::ops::Range<usize>) -> usize {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize;
        assert!(range.start.is_multiple_of(page) && range.end <= self.len);
        let len = range.end - range.start;
        let mut vec = vec![0u8; len.div_ceil(page)];
        // SAFETY: the range lies inside the `len` bytes mapped at `ptr`, and `vec` has one byte
        // per page of it.
        let r = unsafe {
            libc::mincore(
                self.ptr.cast::<u8>().add(range.start).cast(),
                len,
                vec.as_mut_ptr(),
            )
        };
        assert_eq!(r, 0, "mincore: {}", std::io::Error::last_os_error());
        vec.iter().filter(|b| **b & 1 != 0).count() * page
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}
