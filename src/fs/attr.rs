//! SMB attributes as POSIX `stat` data.
//!
//! Without Unix extensions an SMB server has no owner, group or mode to report, so, like
//! `mount.cifs`, the mount shows every file with the `uid`/`gid`/`file_mode`/`dir_mode` mount
//! options, clearing the write bits of files the server marks read-only. Times are FILETIME
//! (100 ns ticks since 1601). `blksize` is 1 MiB so that `cp`, `dd` and friends use large I/O.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{FileAttr, FileType, INodeNo};

use crate::client::FileAttrs;
use crate::proto::create::FILE_ATTRIBUTE_READONLY;

/// FILETIME of 1970-01-01T00:00:00Z.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// How attributes are presented; from the mount options.
#[derive(Debug, Clone)]
pub struct AttrConfig {
    pub uid: u32,
    pub gid: u32,
    pub file_mode: u16,
    pub dir_mode: u16,
    /// How long the kernel (and our cache) may keep a file's / a directory's attributes.
    pub file_ttl: Duration,
    pub dir_ttl: Duration,
}

impl AttrConfig {
    pub fn ttl(&self, a: &FileAttrs) -> Duration {
        if a.is_dir() {
            self.dir_ttl
        } else {
            self.file_ttl
        }
    }
}

pub fn filetime_to_system(ft: u64) -> SystemTime {
    if ft == 0 {
        return UNIX_EPOCH;
    }
    let since = |d: u64| Duration::new(d / 10_000_000, ((d % 10_000_000) * 100) as u32);
    if ft >= FILETIME_UNIX_EPOCH {
        UNIX_EPOCH
            .checked_add(since(ft - FILETIME_UNIX_EPOCH))
            .unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH
            .checked_sub(since(FILETIME_UNIX_EPOCH - ft))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// FILETIME for a time; never 0 (which SET_INFO reads as "leave unchanged").
pub fn system_to_filetime(t: SystemTime) -> u64 {
    let ticks = |d: Duration| u64::try_from(d.as_nanos() / 100).unwrap_or(u64::MAX);
    let ft = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => FILETIME_UNIX_EPOCH.saturating_add(ticks(d)),
        Err(e) => FILETIME_UNIX_EPOCH.saturating_sub(ticks(e.duration())),
    };
    ft.max(1)
}

pub fn to_file_attr(ino: u64, a: &FileAttrs, c: &AttrConfig) -> FileAttr {
    let dir = a.is_dir();
    let mut perm = if dir { c.dir_mode } else { c.file_mode };
    if !dir && a.attributes & FILE_ATTRIBUTE_READONLY != 0 {
        perm &= !0o222;
    }
    FileAttr {
        ino: INodeNo(ino),
        size: if dir { 0 } else { a.size },
        blocks: a.allocation_size.div_ceil(512),
        atime: filetime_to_system(a.last_access_time),
        mtime: filetime_to_system(a.last_write_time),
        ctime: filetime_to_system(if a.change_time != 0 {
            a.change_time
        } else {
            a.last_write_time
        }),
        crtime: filetime_to_system(a.creation_time),
        kind: if dir {
            FileType::Directory
        } else {
            FileType::RegularFile
        },
        perm,
        nlink: if dir { 2 } else { a.nlink.max(1) },
        uid: c.uid,
        gid: c.gid,
        rdev: 0,
        blksize: 1024 * 1024,
        flags: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::create::FILE_ATTRIBUTE_DIRECTORY;

    fn cfg() -> AttrConfig {
        AttrConfig {
            uid: 1000,
            gid: 100,
            file_mode: 0o644,
            dir_mode: 0o755,
            file_ttl: Duration::from_secs(1),
            dir_ttl: Duration::from_secs(2),
        }
    }

    #[test]
    fn filetime_round_trip() {
        let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_700);
        assert_eq!(filetime_to_system(system_to_filetime(t)), t);
        assert_eq!(system_to_filetime(UNIX_EPOCH), FILETIME_UNIX_EPOCH);
        let before = UNIX_EPOCH - Duration::from_secs(86400);
        assert_eq!(filetime_to_system(system_to_filetime(before)), before);
    }

    #[test]
    fn modes_kinds_and_blocks() {
        let f = FileAttrs {
            size: 5000,
            allocation_size: 8192,
            nlink: 1,
            ..Default::default()
        };
        let a = to_file_attr(7, &f, &cfg());
        assert_eq!(
            (a.kind, a.perm, a.size, a.blocks, a.uid, a.gid),
            (FileType::RegularFile, 0o644, 5000, 16, 1000, 100)
        );
        let ro = FileAttrs {
            attributes: FILE_ATTRIBUTE_READONLY,
            ..f
        };
        assert_eq!(to_file_attr(7, &ro, &cfg()).perm, 0o444);
        let d = FileAttrs {
            attributes: FILE_ATTRIBUTE_DIRECTORY,
            ..Default::default()
        };
        let a = to_file_attr(1, &d, &cfg());
        assert_eq!((a.kind, a.perm, a.nlink), (FileType::Directory, 0o755, 2));
        assert_eq!(cfg().ttl(&d), Duration::from_secs(2));
    }
}
