//! Mounting as root under the filesystem type `fuse.smb3fs`.
//!
//! fuser mounts with mount(2) when it can, but always with the type `fuse`, so a root mount
//! would show as `fuse` in /proc/mounts, `findmnt` and `df -T`, and `umount -t fuse.smb3fs` or
//! `findmnt -t fuse.smb3fs` would not find it (fusermount3, used for other users, sets the
//! subtype). As root we therefore open /dev/fuse and call mount(2) ourselves, the way
//! fusermount3 does, and hand the descriptor to fuser.

use std::ffi::CString;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub const FS_TYPE: &str = "fuse.smb3fs";

/// What the kernel mount needs to know.
pub struct MountRequest<'a> {
    /// Shown as the mount's source, e.g. `//server/share`.
    pub source: &'a str,
    pub read_only: bool,
    pub allow_other: bool,
    pub default_permissions: bool,
}

/// Mount a FUSE filesystem of type [`FS_TYPE`] on `mountpoint`; returns the /dev/fuse
/// descriptor the session must serve. Needs CAP_SYS_ADMIN.
pub fn mount(mountpoint: &Path, req: &MountRequest<'_>) -> io::Result<OwnedFd> {
    let dev = CString::new("/dev/fuse").expect("no NUL");
    // SAFETY: plain open(2) of a constant path; the result is checked.
    let raw = unsafe { libc::open(dev.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a descriptor we just opened and own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let meta = std::fs::metadata(mountpoint)?;
    let root_mode = std::os::unix::fs::MetadataExt::mode(&meta) & libc::S_IFMT;
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let mut data = format!("fd={raw},rootmode={root_mode:o},user_id={uid},group_id={gid}");
    if req.allow_other {
        data.push_str(",allow_other");
    }
    if req.default_permissions {
        data.push_str(",default_permissions");
    }
    let mut flags = libc::MS_NOSUID | libc::MS_NODEV;
    if req.read_only {
        flags |= libc::MS_RDONLY;
    }
    let source = CString::new(req.source).map_err(|_| io::ErrorKind::InvalidInput)?;
    let target =
        CString::new(mountpoint.as_os_str().as_bytes()).map_err(|_| io::ErrorKind::InvalidInput)?;
    let fstype = CString::new(FS_TYPE).expect("no NUL");
    let data = CString::new(data).expect("no NUL");
    // SAFETY: every pointer is a valid NUL-terminated string that outlives the call.
    let r = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            flags,
            data.as_ptr().cast(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(fd)
}

/// The device (`major:minor`) of the topmost mount on `mountpoint`, from /proc/self/mountinfo
/// (which, unlike stat(2), sends nothing to a FUSE daemon that may no longer answer).
pub fn mounted_device(mountpoint: &Path) -> Option<String> {
    let abs = std::fs::canonicalize(mountpoint).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .rev()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            // Field 5 is the mount point, with spaces and the like escaped as octal (\040).
            (Path::new(&unescape_mountinfo(f.get(4)?)) == abs).then(|| f[2].to_string())
        })
        .next()
}

/// Unmount `mountpoint`; lazily (MNT_DETACH) when it is busy.
pub fn unmount(mountpoint: &Path) -> io::Result<()> {
    let target =
        CString::new(mountpoint.as_os_str().as_bytes()).map_err(|_| io::ErrorKind::InvalidInput)?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::umount2(target.as_ptr(), 0) } == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::EBUSY) {
        return Err(err);
    }
    // SAFETY: as above.
    if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Set the kernel's read-ahead for the FUSE mount on `mountpoint` to `bytes`. The kernel caps a
/// FUSE mount's read-ahead at 128 KiB when it mounts, so sequential reads would reach the
/// daemon as 128 KiB requests; the backing device's `read_ahead_kb` in sysfs (root only) lifts
/// that, and the kernel then sends requests of up to 1 MiB (`max_pages`).
pub fn set_read_ahead(mountpoint: &Path, bytes: u64) -> io::Result<()> {
    let dev = mounted_device(mountpoint)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "mount not in mountinfo"))?;
    std::fs::write(
        format!("/sys/class/bdi/{dev}/read_ahead_kb"),
        (bytes / 1024).max(4).to_string(),
    )
}

/// mountinfo escapes space, tab, newline and backslash as octal (`\040`).
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = (b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        assert_eq!(unescape_mountinfo("/mnt/a\\040b"), "/mnt/a b");
        assert_eq!(unescape_mountinfo("/plain"), "/plain");
        assert_eq!(unescape_mountinfo("/x\\134y"), "/x\\y");
    }
}
