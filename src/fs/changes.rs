//! What the requests of `ops` share beyond one client call: renames (what is at the target
//! decides between replace, rmdir-then-rename and an error), setattr, the hidden name an open
//! file gets when it is unlinked, a directory's listing for readdir, the checks that a handle
//! belongs to the caller, and the status text.

use std::sync::Arc;
use std::time::SystemTime;

use fuser::{Errno, RenameFlags, Request, TimeOrNow};
use futures::future::join_all;

use super::errno::errno;
use super::handles::{owned_by, DirSnapshotEntry, Handle};
use super::inode::NodeInfo;
use super::io::TakenWrite;
use super::{names, Shared};
use crate::client::FileAttrs;
use crate::proto::create::{FileId, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_READONLY};
use crate::proto::info::FileBasicInformation;

/// The parts of a setattr request we act on.
pub(super) struct SetAttr {
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub size: Option<u64>,
    pub atime: Option<TimeOrNow>,
    pub mtime: Option<TimeOrNow>,
    pub fh: Option<u64>,
}

/// Largest queued write that a change of times carries in its compound: enough for the small
/// files where the round trip saved matters, within the credits of any server.
const CARRY_MAX: usize = 1024 * 1024;

impl Shared {
    /// The open file `fh`, if the caller is the user who opened it (else EBADF).
    pub(super) fn file_handle(&self, fh: u64, req: &Request) -> Result<Handle, Errno> {
        let h = self.handles().get(fh).ok_or(Errno::EBADF)?;
        if owned_by(h.uid, req.uid(), req.pid()) {
            Ok(h)
        } else {
            Err(Errno::EBADF)
        }
    }

    /// The directory snapshot `fh` and the change epoch it was taken at, if the caller is the
    /// user who opened it (else EBADF).
    pub(super) fn dir_handle(
        &self,
        fh: u64,
        req: &Request,
    ) -> Result<(Arc<Vec<DirSnapshotEntry>>, u64), Errno> {
        let (uid, entries, epoch) = self.handles().dir(fh).ok_or(Errno::EBADF)?;
        if owned_by(uid, req.uid(), req.pid()) {
            Ok((entries, epoch))
        } else {
            Err(Errno::EBADF)
        }
    }

    /// The text of the root's `user.smb3fs.status` attribute (`smb3fs status` prints it).
    pub(super) fn status_text(&self) -> String {
        let i = self.client.info();
        let sent = self.client.request_counts();
        let (inodes, own, cached, dirs) = {
            let t = self.inodes();
            (t.len(), t.own_attrs(), t.dirs.len(), t.dirs.dirs())
        };
        format!(
            "server:    {}\nshare:     {}\ndialect:   {}\ncipher:    {}\nencrypted: {}\n\
             signing:   {}\nsession:   {}\nwatches:   {}\nkept:      {}\n\
             inodes:    {inodes} ({own} with attributes of their own)\n\
             dircache:  {cached} entries in {dirs} directories\n\
             requests:  {} in {} round trips ({})\n",
            self.cfg.server,
            i.share,
            i.dialect_name(),
            i.cipher.map(|c| c.name()).unwrap_or("none"),
            if i.encrypted { "yes" } else { "no" },
            i.signing.name(),
            if self.client.is_connected() {
                "up"
            } else {
                "down (remount to reconnect)"
            },
            self.watches.active(),
            self.leases.deferred(),
            sent.requests(),
            sent.frames,
            sent.summary(),
        )
    }

    /// Give the node at `path` (open through the mount) a hidden name so the name is free at once
    /// while the open handles keep working; it is deleted at the last release.
    pub(super) async fn hide_open(&self, ino: u64, path: &str) -> Result<(), Errno> {
        let hidden = names::join(names::parent_of(path), &self.handles().hidden_name(ino));
        self.client
            .rename(path, &hidden, false)
            .await
            .map_err(|e| errno(&e))?;
        self.inodes().hide(path, &hidden);
        // Marked under the handle table's lock, where release looks for the mark: either the
        // last release sees it and deletes the file, or we see no handle left and delete it.
        let released_meanwhile = {
            let mut handles = self.handles();
            let open = handles.is_open(ino);
            if open {
                handles.mark_deleted(ino, hidden.clone());
            }
            !open
        };
        if released_meanwhile {
            let mut kept = self.leases.take_tree(path);
            kept.extend(self.leases.take_tree(&hidden));
            join_all(kept.into_iter().map(|f| self.client.close(f))).await;
            if let Err(e) = self.client.unlink(&hidden).await {
                log::warn!("could not delete '{hidden}' (unlinked while open): {e}");
            }
        }
        Ok(())
    }

    pub(super) async fn do_rename(
        &self,
        from: String,
        to: String,
        flags: RenameFlags,
    ) -> Result<(), Errno> {
        self.check_writable()?;
        if flags.contains(RenameFlags::RENAME_EXCHANGE)
            || flags.contains(RenameFlags::RENAME_WHITEOUT)
        {
            return Err(Errno::EINVAL);
        }
        if from == to {
            return Ok(());
        }
        let noreplace = flags.contains(RenameFlags::RENAME_NOREPLACE);
        let src = self.client.stat(&from).await.map_err(|e| errno(&e))?;
        // Open watch handles and kept file handles would stand in the way.
        self.close_tree(&from).await;
        // What is at the target decides between replace, rmdir-then-rename and an error.
        let dst = match self.client.stat(&to).await {
            Ok(a) => Some(a),
            Err(e) if errno(&e) == Errno::ENOENT => None,
            Err(e) => return Err(errno(&e)),
        };
        // The same file under another spelling (a case-only rename): nothing is replaced.
        let same = |d: &FileAttrs| {
            (d.index_number != 0 && d.index_number == src.index_number)
                || crate::cache::fold_eq(&from, &to)
        };
        let dst = dst.filter(|d| !same(d));
        let to_existing = self.inodes().resolve(&to);
        if let Some(d) = dst {
            if noreplace {
                return Err(Errno::EEXIST);
            }
            match (src.is_dir(), d.is_dir()) {
                (true, true) => {
                    if to.starts_with(&format!("{from}/")) {
                        return Err(Errno::EINVAL);
                    }
                    self.close_tree(&to).await;
                    self.client.rmdir(&to).await.map_err(|e| errno(&e))?;
                    self.inodes().remove_path(&to_existing);
                }
                (true, false) => return Err(Errno::ENOTDIR),
                (false, true) => return Err(Errno::EISDIR),
                (false, false) => {
                    self.close_tree(&to_existing).await;
                    let target = self.inodes().ino_of(&to_existing);
                    if let Some(ino) = target.filter(|i| self.handles().is_open(*i)) {
                        self.hide_open(ino, &to_existing).await?;
                    }
                }
            }
        }
        self.client
            .rename(&from, &to, !noreplace)
            .await
            .map_err(|e| errno(&e))?;
        let mut t = self.inodes();
        t.rename(&from, &to);
        t.invalidate_path(names::parent_of(&from));
        t.invalidate_path(names::parent_of(&to));
        Ok(())
    }

    /// Send the queued write `w` and then set `basic` through `set_id`, in one round trip.
    async fn set_basic_with_write(
        &self,
        mut w: TakenWrite,
        set_id: FileId,
        basic: &FileBasicInformation,
    ) -> crate::client::Result<FileAttrs> {
        let sent = self
            .client
            .write_then_set_basic(w.file_id(), w.offset(), w.data(), set_id, basic)
            .await;
        match sent {
            Ok((Ok(()), attrs)) => {
                w.done(Ok(()));
                attrs
            }
            // The write failed in the compound (and a server may then fail the requests after
            // it with the same status): once more on its own, then the times.
            Ok((Err(_), _)) => {
                let r = self
                    .client
                    .write_in_place(w.file_id(), w.offset(), w.payload(), false)
                    .await;
                w.done(r.map(drop).map_err(|e| errno(&e)));
                self.client.set_basic_handle(set_id, basic).await
            }
            Err(e) => {
                w.done(Err(errno(&e)));
                Err(e)
            }
        }
    }

    pub(super) async fn do_setattr(&self, ino: u64, a: SetAttr) -> Result<FileAttrs, Errno> {
        // A change must come after the writes before it. Times alone (what tar, cp -a and
        // rsync set after writing a file) may instead carry the last queued write in their
        // own round trip, below.
        let times_only = a.size.is_none() && (a.atime.is_some() || a.mtime.is_some());
        if !times_only {
            self.io.settle(ino).await;
        }
        let c = &self.cfg.attr;
        if a.uid.is_some_and(|u| u != c.uid) || a.gid.is_some_and(|g| g != c.gid) {
            return Err(Errno::EPERM);
        }
        let changes =
            a.size.is_some() || a.atime.is_some() || a.mtime.is_some() || a.mode.is_some();
        if changes {
            self.check_writable()?;
        }
        let NodeInfo {
            path,
            unlinked,
            attrs: cached,
        } = self.inodes().info(ino).ok_or(Errno::ENOENT)?;
        let handle = {
            let h = self.handles();
            a.fh.and_then(|fh| h.get(fh))
                .filter(|h| h.writable)
                .or_else(|| h.any_for(ino).filter(|h| h.writable))
        };
        if unlinked && handle.is_none() {
            return Err(Errno::ENOENT);
        }
        // Each change is answered with the attributes after it, in the same round trip.
        let epoch = self.watches.epoch();
        let writes = self.io.writes_accepted(ino);
        let mut after = None;
        if let Some(size) = a.size {
            let r = match handle {
                Some(h) => self.client.set_size_handle(h.file_id, size).await,
                None => self.client.set_size(&path, size).await,
            };
            after = Some(r.map_err(|e| errno(&e))?);
        }
        // A failure after the size changed: what is cached is no longer true.
        let sized = after.is_some();
        let failed = |e: &crate::client::ClientError| {
            if sized {
                self.inodes().invalidate(ino);
            }
            errno(e)
        };
        let now = || super::attr::system_to_filetime(SystemTime::now());
        let time = |t: Option<TimeOrNow>| match t {
            None => 0,
            Some(TimeOrNow::Now) => now(),
            Some(TimeOrNow::SpecificTime(t)) => super::attr::system_to_filetime(t),
        };
        let mut basic = FileBasicInformation {
            creation_time: 0,
            last_access_time: time(a.atime),
            last_write_time: time(a.mtime),
            change_time: 0,
            file_attributes: 0,
        };
        if let Some(mode) = a.mode {
            // The read-only bit is one of the file's attributes: the others must be kept.
            let cached = match cached {
                Some(c) => c,
                None => self.stat_ino(ino).await?,
            };
            if !cached.is_dir() {
                let ro = mode & 0o222 == 0;
                let was = cached.attributes & FILE_ATTRIBUTE_READONLY != 0;
                if ro != was {
                    let attrs = if ro {
                        cached.attributes | FILE_ATTRIBUTE_READONLY
                    } else {
                        cached.attributes & !FILE_ATTRIBUTE_READONLY
                    };
                    basic.file_attributes = if attrs == 0 {
                        FILE_ATTRIBUTE_NORMAL
                    } else {
                        attrs
                    };
                }
            }
        }
        if basic.last_access_time != 0 || basic.last_write_time != 0 || basic.file_attributes != 0 {
            let queued = match (times_only, handle) {
                (true, Some(h)) => {
                    let max = (self.client.max_write() as usize).min(CARRY_MAX);
                    self.io.settle_or_take(ino, h.file_id, max).await
                }
                (true, None) => {
                    self.io.settle(ino).await;
                    None
                }
                (false, _) => None,
            };
            let r = match (handle, queued) {
                (Some(h), Some(w)) => self.set_basic_with_write(w, h.file_id, &basic).await,
                (Some(h), None) => self.client.set_basic_handle(h.file_id, &basic).await,
                (None, _) => self.client.set_basic(&path, &basic).await,
            };
            after = Some(r.map_err(|e| failed(&e))?);
        } else if times_only {
            self.io.settle(ino).await;
        }
        if let Some(fresh) = after {
            // Unless a change notification or a write (mmap writeback holds no lock of ours)
            // came in meanwhile: these may predate it, and what was cached before the change
            // certainly does.
            if epoch == self.watches.epoch() && writes == self.io.writes_accepted(ino) {
                self.inodes().set_attrs(ino, fresh);
            } else {
                self.inodes().invalidate(ino);
            }
            return Ok(fresh);
        }
        // Nothing changed on the server (a chmod that keeps the read-only bit, a chown to the
        // mount's own owner): what is known is still true.
        if let Some(a) = self.inodes().fresh(ino, |a| self.cfg.attr.ttl(a)) {
            return Ok(a);
        }
        match handle {
            Some(h) => {
                let fresh = self
                    .client
                    .stat_handle(h.file_id)
                    .await
                    .map_err(|e| errno(&e))?;
                self.inodes().set_attrs(ino, fresh);
                Ok(fresh)
            }
            None => self.stat_ino(ino).await,
        }
    }

    pub(super) async fn list(
        self: &Arc<Self>,
        ino: u64,
    ) -> Result<Arc<Vec<DirSnapshotEntry>>, Errno> {
        self.list_cached(ino).await
    }
}
