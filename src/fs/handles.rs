//! Open files and open directories.
//!
//! A FUSE file handle names one SMB handle (`FileId`) plus what the open asked for: whether to
//! write through to the server's disk (the `write_through` mount option, or O_SYNC/O_DSYNC).
//! The table also counts open handles per inode, which is what POSIX unlink semantics need: a
//! file unlinked while open through the mount is renamed to a hidden name in its directory
//! (the name disappears at once, the open descriptors keep working) and deleted on the server at
//! its last release.
//!
//! Handles are per open and belong to the local user who opened them (`uid`): a request from
//! another user naming the handle is answered EBADF (see `owned_by`), so on a mount shared by
//! several users one user's open files are never usable by another.
//!
//! A directory handle holds the listing taken at opendir; readdir serves offsets from that
//! snapshot, so a directory changing during a listing never makes entries repeat or vanish.

use std::collections::HashMap;

use crate::proto::create::FileId;

#[derive(Debug, Clone, Copy)]
pub struct Handle {
    pub file_id: FileId,
    pub ino: u64,
    pub write_through: bool,
    pub writable: bool,
    /// The local user who opened it.
    pub uid: u32,
    /// Counted under the inode's lease (see `lease`): released through it.
    pub leased: bool,
    /// The kernel caches the data written through it (not direct I/O): drop-behind applies.
    pub page_cached: bool,
}

/// May a request from `uid` (from process `pid`) use a handle opened by `owner`? Requests the
/// kernel makes on its own (pid 0, e.g. writeback) carry no user and are allowed.
pub fn owned_by(owner: u32, uid: u32, pid: u32) -> bool {
    owner == uid || pid == 0
}

/// One entry of a directory snapshot: the server-side name and the attributes from the
/// listing, in the directory cache's compact form (about 110 bytes an entry: a snapshot of a
/// 500,000-entry directory is held while it is open). The name shown through the mount is
/// derived from the server-side name when readdir sends it.
pub type DirSnapshotEntry = crate::cache::Entry;

#[derive(Debug, Default)]
pub struct Handles {
    files: HashMap<u64, Handle>,
    /// Directory snapshots: owner, entries, and the change epoch when the snapshot was taken.
    dirs: HashMap<u64, (u32, std::sync::Arc<Vec<DirSnapshotEntry>>, u64)>,
    /// Open file handles per inode.
    open_count: HashMap<u64, usize>,
    /// Inodes unlinked while open: the hidden path to delete at the last release.
    deleted: HashMap<u64, String>,
    next: u64,
    hidden_seq: u64,
}

impl Handles {
    pub fn insert(&mut self, h: Handle) -> u64 {
        self.next += 1;
        self.files.insert(self.next, h);
        *self.open_count.entry(h.ino).or_default() += 1;
        self.next
    }

    pub fn get(&self, fh: u64) -> Option<Handle> {
        self.files.get(&fh).copied()
    }

    /// Any open handle of `ino`, preferring a writable one.
    pub fn any_for(&self, ino: u64) -> Option<Handle> {
        let mut found = None;
        for h in self.files.values().filter(|h| h.ino == ino) {
            if h.writable {
                return Some(*h);
            }
            found = Some(*h);
        }
        found
    }

    /// Inodes with open file handles.
    pub fn open_inodes(&self) -> std::collections::HashSet<u64> {
        self.open_count.keys().copied().collect()
    }

    pub fn is_open(&self, ino: u64) -> bool {
        self.open_count.get(&ino).copied().unwrap_or(0) > 0
    }

    /// Remove a handle; returns it and, when it was the inode's last one and the inode was
    /// unlinked while open, the hidden path to delete now.
    pub fn remove(&mut self, fh: u64) -> Option<(Handle, Option<String>)> {
        let h = self.files.remove(&fh)?;
        let count = self.open_count.entry(h.ino).or_default();
        *count = count.saturating_sub(1);
        let mut delete = None;
        if *count == 0 {
            self.open_count.remove(&h.ino);
            delete = self.deleted.remove(&h.ino);
        }
        Some((h, delete))
    }

    /// A hidden name for `ino` in the same directory, recorded for deletion at last release.
    pub fn hidden_name(&mut self, ino: u64) -> String {
        self.hidden_seq += 1;
        format!(
            "{}{ino}-{}-{}",
            super::names::DELETED_PREFIX,
            std::process::id(),
            self.hidden_seq
        )
    }

    pub fn mark_deleted(&mut self, ino: u64, hidden_path: String) {
        self.deleted.insert(ino, hidden_path);
    }

    /// A directory snapshot taken when the change epoch (see `watch`) was `epoch`.
    pub fn insert_dir(
        &mut self,
        uid: u32,
        entries: std::sync::Arc<Vec<DirSnapshotEntry>>,
        epoch: u64,
    ) -> u64 {
        self.next += 1;
        self.dirs.insert(self.next, (uid, entries, epoch));
        self.next
    }

    /// A directory snapshot, the uid that opened it and the change epoch it was taken at.
    #[allow(clippy::type_complexity)]
    pub fn dir(&self, fh: u64) -> Option<(u32, std::sync::Arc<Vec<DirSnapshotEntry>>, u64)> {
        self.dirs.get(&fh).cloned()
    }

    /// Drop a directory handle; returns how many entries its snapshot held.
    pub fn remove_dir(&mut self, fh: u64) -> usize {
        self.dirs.remove(&fh).map_or(0, |(_, e, _)| e.len())
    }

    /// Every open SMB handle (closed at unmount).
    pub fn drain_files(&mut self) -> Vec<Handle> {
        self.open_count.clear();
        self.files.drain().map(|(_, h)| h).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(ino: u64, writable: bool) -> Handle {
        Handle {
            file_id: FileId::default(),
            ino,
            write_through: false,
            writable,
            uid: 1000,
            leased: false,
            page_cached: true,
        }
    }

    #[test]
    fn handles_belong_to_their_opener() {
        let mut t = Handles::default();
        let fh = t.insert(h(5, true));
        let opener = t.get(fh).unwrap().uid;
        assert!(owned_by(opener, 1000, 77));
        assert!(!owned_by(opener, 1001, 77));
        assert!(!owned_by(opener, 0, 77), "root is not the opener");
        assert!(owned_by(opener, 0, 0), "kernel-internal requests");
        let d = t.insert_dir(1000, Default::default(), 0);
        assert_eq!(t.dir(d).unwrap().0, 1000);
    }

    #[test]
    fn unlinked_open_file_is_deleted_at_last_release() {
        let mut t = Handles::default();
        let a = t.insert(h(5, false));
        let b = t.insert(h(5, true));
        assert!(t.is_open(5));
        assert!(t.any_for(5).unwrap().writable);
        let hidden = t.hidden_name(5);
        assert!(hidden.starts_with(".smb3fs-deleted-5-"));
        t.mark_deleted(5, format!("dir/{hidden}"));
        assert_eq!(t.remove(a).unwrap().1, None);
        assert_eq!(t.remove(b).unwrap().1, Some(format!("dir/{hidden}")));
        assert!(!t.is_open(5));
        assert!(t.remove(b).is_none());
    }
}
