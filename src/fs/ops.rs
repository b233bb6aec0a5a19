//! The `fuser::Filesystem` implementation: one short method per kernel request. Each checks what
//! it can locally, then spawns a task that calls the client and answers the kernel.

use std::ffi::OsStr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use futures::future::join_all;

use fuser::{
    AccessFlags, Errno, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo,
    InitFlags, KernelConfig, LockOwner, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr,
    ReplyCreate, ReplyData, ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen,
    ReplyStatfs, ReplyWrite, ReplyXattr, Request, TimeOrNow, WriteFlags,
};

use super::changes::SetAttr;
use super::errno::errno;
use super::handles::Handle;
use super::inode::{CachedLookup, InodeTable};
use super::lease;
use super::{names, Shared, Smb3Fs};
use crate::client::{FileAttrs, OpenOptions};
use crate::proto::create::{
    FileId, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_READONLY, FILE_CREATE,
    FILE_NON_DIRECTORY_FILE, FILE_OPEN_IF, FILE_OVERWRITE_IF,
};
use crate::proto::NtStatus;

const GEN: Generation = Generation(0);
/// Extended attribute holding a file's name as the server stores it.
const NORMALIZED_NAME_XATTR: &str = "user.smb3fs.normalized_name";
/// Largest FUSE read/write request we ask the kernel for.
const MAX_IO: u32 = 1024 * 1024;

macro_rules! tryr {
    ($reply:ident, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => return $reply.error(e),
        }
    };
}

/// Refuse (EACCES) a caller the access lists keep out. Requests the kernel makes on its own
/// (pid 0) carry no caller and pass.
macro_rules! allowed {
    ($self:ident, $req:ident, $reply:ident) => {
        if $req.pid() != 0 && !$self.s.access.permits($req.uid(), $req.gid(), $req.pid()) {
            return $reply.error(Errno::EACCES);
        }
    };
}

impl Smb3Fs {
    fn spawn<F: std::future::Future<Output = ()> + Send + 'static>(
        &self,
        f: impl FnOnce(Arc<Shared>) -> F,
    ) {
        self.s.rt.spawn(f(self.s.clone()));
    }
}

fn status_is(e: &crate::client::ClientError, s: NtStatus) -> bool {
    e.status() == Some(s)
}

fn sync_flags(flags: i32) -> bool {
    flags & (libc::O_SYNC | libc::O_DSYNC) != 0
}

/// The root's extended attribute that reports the session (`smb3fs status MOUNTPOINT`).
pub const STATUS_XATTR: &str = "user.smb3fs.status";

/// Answer a getxattr/listxattr: the size when asked for it, ERANGE when the buffer is too small.
fn xattr_reply(reply: ReplyXattr, size: u32, data: &[u8]) {
    if size == 0 {
        reply.size(data.len() as u32)
    } else if (size as usize) < data.len() {
        reply.error(Errno::ERANGE)
    } else {
        reply.data(data)
    }
}

/// Listings at least this long give freed memory back to the system when closed.
const BIG_LISTING: usize = 10_000;

fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl Filesystem for Smb3Fs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        if let Err(max) = config.set_max_write(MAX_IO) {
            let _ = config.set_max_write(max);
        }
        if let Err(max) = config.set_max_readahead(MAX_IO) {
            let _ = config.set_max_readahead(max);
        }
        let _ = config.set_max_background(64);
        let _ = config.set_congestion_threshold(48);
        let wanted = InitFlags::FUSE_ASYNC_READ
            | InitFlags::FUSE_BIG_WRITES
            | InitFlags::FUSE_MAX_PAGES
            | InitFlags::FUSE_DO_READDIRPLUS
            // The kernel asks for attributes with names only when the listing is followed by
            // stats (`ls -l`), not for `ls -f` or `find -name`, which then create no inodes.
            | InitFlags::FUSE_READDIRPLUS_AUTO
            | InitFlags::FUSE_PARALLEL_DIROPS
            | InitFlags::FUSE_ASYNC_DIO
            // Cached pages kept across opens (under a lease) are still dropped when fresh
            // attributes show another size or modification time: a change the server made
            // without breaking the lease (on its own disk) shows within the attribute timeout.
            | InitFlags::FUSE_AUTO_INVAL_DATA
            // With cache=none, mmap still works (through the page cache).
            | InitFlags::FUSE_DIRECT_IO_ALLOW_MMAP;
        let _ = config.add_capabilities(wanted & config.capabilities());
        Ok(())
    }

    fn destroy(&mut self) {
        let open = self.s.handles().drain_files();
        let client = self.s.client.clone();
        let s = self.s.clone();
        let close_all = async move {
            s.close_tree("").await;
            for h in open {
                let _ = client.close(h.file_id).await;
            }
        };
        let _ = self.s.rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), close_all).await
        });
    }

    fn lookup(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        allowed!(self, req, reply);
        let path = tryr!(reply, self.s.child_raw(parent.0, name));
        // A valid listing of the parent answers in any letter case, positively or not.
        let cached = self
            .s
            .inodes()
            .lookup_cached(&path, |a| self.s.cfg.attr.ttl(a));
        let path = match cached {
            CachedLookup::Hit(stored, a) => {
                let (ttl, attr) = self.s.entry_cached(&stored, a);
                return reply.entry(&ttl, &attr, GEN);
            }
            CachedLookup::Absent => return reply.error(Errno::ENOENT),
            CachedLookup::Miss(path) => path,
        };
        self.spawn(|s| async move {
            let known = s.inodes().ino_of(&path);
            if let Some(ino) = known {
                s.io.settle(ino).await;
            }
            let epoch = s.watches.epoch();
            match s.client.stat_named(&path).await {
                Ok((a, stored)) => {
                    // Register the name as the server stores it, so that every spelling of one
                    // name reaches one node.
                    let path = match stored {
                        Some(n) if crate::cache::fold_eq(&n, names::file_name(&path)) => {
                            names::join(names::parent_of(&path), &n)
                        }
                        _ => path,
                    };
                    let (ttl, attr) = s.entry_since(&path, a, epoch);
                    reply.entry(&ttl, &attr, GEN)
                }
                Err(e) => {
                    let e = errno(&e);
                    if e == Errno::ENOENT {
                        s.inodes().gone(&path);
                    }
                    reply.error(e)
                }
            }
        });
    }

    // batch_forget: fuser's default calls this per node (its ForgetOne type is not exported).
    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.s.inodes().forget(ino.0, nlookup);
    }

    fn getattr(&self, req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        allowed!(self, req, reply);
        let ino = ino.0;
        if let Some(a) = self.s.inodes().fresh(ino, |a| self.s.cfg.attr.ttl(a)) {
            return reply.attr(&self.s.ttl(&a), &self.s.file_attr(ino, &a));
        }
        self.spawn(|s| async move {
            match s.stat_ino(ino).await {
                Ok(a) => reply.attr(&s.ttl(&a), &s.file_attr(ino, &a)),
                Err(e) => reply.error(e),
            }
        });
    }

    fn setattr(
        &self,
        req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        allowed!(self, req, reply);
        let ino = ino.0;
        let req = SetAttr {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
            // Another user's handle is never used on this caller's behalf.
            fh: fh
                .map(|f| f.0)
                .filter(|f| self.s.file_handle(*f, req).is_ok()),
        };
        self.spawn(|s| async move {
            match s.do_setattr(ino, req).await {
                Ok(a) => reply.attr(&s.ttl(&a), &s.file_attr(ino, &a)),
                Err(e) => reply.error(e),
            }
        });
    }

    fn readlink(&self, req: &Request, _ino: INodeNo, reply: ReplyData) {
        allowed!(self, req, reply);
        // No symlinks without Unix extensions: nothing on the share is a link.
        reply.error(Errno::EINVAL);
    }

    fn mknod(
        &self,
        req: &Request,
        _p: INodeNo,
        _n: &OsStr,
        _mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        allowed!(self, req, reply);
        // Devices, FIFOs and sockets cannot be stored on an SMB share without Unix extensions.
        reply.error(self.s.check_writable().err().unwrap_or(Errno::EPERM));
    }

    fn symlink(
        &self,
        req: &Request,
        _p: INodeNo,
        _n: &OsStr,
        _target: &std::path::Path,
        reply: ReplyEntry,
    ) {
        allowed!(self, req, reply);
        // No symbolic links without Unix extensions; nothing is faked.
        reply.error(self.s.check_writable().err().unwrap_or(Errno::EPERM));
    }

    fn link(&self, req: &Request, _ino: INodeNo, _np: INodeNo, _nn: &OsStr, reply: ReplyEntry) {
        allowed!(self, req, reply);
        reply.error(self.s.check_writable().err().unwrap_or(Errno::EPERM));
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        allowed!(self, req, reply);
        tryr!(reply, self.s.check_writable());
        let path = tryr!(reply, self.s.child(parent.0, name));
        self.spawn(|s| async move {
            let sent = Instant::now();
            match s.client.mkdir(&path).await {
                Ok(a) => {
                    s.inodes().invalidate(parent.0);
                    s.made_empty_dir(&path, sent);
                    let (ttl, attr) = s.entry(&path, a);
                    reply.entry(&ttl, &attr, GEN)
                }
                Err(e) => reply.error(errno(&e)),
            }
        });
    }

    fn unlink(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        allowed!(self, req, reply);
        tryr!(reply, self.s.check_writable());
        let path = tryr!(reply, self.s.child(parent.0, name));
        self.spawn(|s| async move {
            let open = s.inodes().ino_of(&path).filter(|i| s.handles().is_open(*i));
            let r = match open {
                Some(ino) => s.hide_open(ino, &path).await,
                // A kept handle would leave the file pending deletion until it closes. (A handle
                // released since the check above is kept by now: release decides that while
                // the handle table is locked.)
                None => {
                    s.close_tree(&path).await;
                    match s.client.unlink(&path).await {
                        Ok(()) => {
                            s.inodes().remove_path(&path);
                            Ok(())
                        }
                        Err(e) if status_is(&e, NtStatus::FILE_IS_A_DIRECTORY) => {
                            Err(Errno::EISDIR)
                        }
                        Err(e) => Err(errno(&e)),
                    }
                }
            };
            s.inodes().invalidate(parent.0);
            match r {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(e),
            }
        });
    }

    fn rmdir(&self, req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        allowed!(self, req, reply);
        tryr!(reply, self.s.check_writable());
        let path = tryr!(reply, self.s.child(parent.0, name));
        self.spawn(|s| async move {
            // A watch handle would keep the directory, pending deletion, until closed.
            s.close_tree(&path).await;
            match s.client.rmdir(&path).await {
                Ok(()) => {
                    let mut t = s.inodes();
                    t.remove_path(&path);
                    t.invalidate(parent.0);
                    drop(t);
                    reply.ok()
                }
                Err(e) => reply.error(errno(&e)),
            }
        });
    }

    fn rename(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        allowed!(self, req, reply);
        let from = tryr!(reply, self.s.child(parent.0, name));
        // As typed: `mv readme README` changes the stored letter case.
        let to = tryr!(reply, self.s.child_raw(newparent.0, newname));
        self.spawn(|s| async move {
            match s.do_rename(from, to, flags).await {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(e),
            }
        });
    }

    fn open(&self, req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        allowed!(self, req, reply);
        let uid = req.uid();
        let ino = ino.0;
        let writable = flags.acc_mode() != OpenAccMode::O_RDONLY;
        if writable {
            tryr!(reply, self.s.check_writable());
        }
        let path = tryr!(reply, self.s.path(ino));
        let write_through = self.s.cfg.write_through || sync_flags(flags.0);
        let page_cached = self.s.page_cached(flags.0);
        let handle = move |file_id, leased| Handle {
            file_id,
            ino,
            write_through,
            writable,
            uid,
            leased,
            page_cached,
        };
        // A handle kept open after a close (under a lease) serves without a round trip.
        if let Some((file_id, keep)) = self.s.leases.reuse(ino, writable) {
            let fh = self.s.handles().insert(handle(file_id, true));
            return reply.opened(FileHandle(fh), self.s.fopen_flags(flags.0, keep));
        }
        let key = self.s.leases.key_for_open(ino);
        self.spawn(|s| async move {
            let mut o = if writable {
                OpenOptions::read_write()
            } else {
                OpenOptions::read()
            };
            if let Some(key) = key {
                o = o.lease(key, lease::WANTED);
            }
            match s
                .client
                .open(&path, &o.options(FILE_NON_DIRECTORY_FILE))
                .await
            {
                Ok(f) => {
                    let keep = key.is_some() && s.leases.opened(ino, f.lease);
                    let fh = s.handles().insert(handle(f.file_id, key.is_some()));
                    reply.opened(FileHandle(fh), s.fopen_flags(flags.0, keep))
                }
                Err(e) => {
                    if key.is_some() {
                        s.leases.closed(ino);
                    }
                    reply.error(errno(&e))
                }
            }
        });
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        allowed!(self, req, reply);
        let uid = req.uid();
        tryr!(reply, self.s.check_writable());
        let path = tryr!(reply, self.s.child(parent.0, name));
        let disposition = if flags & libc::O_EXCL != 0 {
            FILE_CREATE
        } else if flags & libc::O_TRUNC != 0 {
            FILE_OVERWRITE_IF
        } else {
            FILE_OPEN_IF
        };
        let write_through = self.s.cfg.write_through || sync_flags(flags);
        // The inode is not known before the server answers: a fresh key, tied to it then.
        let key = self.s.leases.key_for_create();
        self.spawn(|s| async move {
            let mut o = OpenOptions::read_write()
                .disposition(disposition)
                .options(FILE_NON_DIRECTORY_FILE);
            if let Some(key) = key {
                o = o.lease(key, lease::WANTED);
            }
            match s.client.open(&path, &o).await {
                Ok(f) => {
                    s.inodes().invalidate(parent.0);
                    let (ttl, attr) = s.entry(&path, f.attrs);
                    let ino = attr.ino.0;
                    let leased = key.is_some_and(|k| s.leases.adopt(ino, k, f.lease));
                    let fh = s.handles().insert(Handle {
                        file_id: f.file_id,
                        ino,
                        write_through,
                        writable: true,
                        uid,
                        leased,
                        page_cached: s.page_cached(flags),
                    });
                    reply.created(
                        &ttl,
                        &attr,
                        GEN,
                        FileHandle(fh),
                        s.fopen_flags(flags, false),
                    )
                }
                Err(e) => reply.error(errno(&e)),
            }
        });
    }

    fn read(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        reply: ReplyData,
    ) {
        allowed!(self, req, reply);
        let h = tryr!(reply, self.s.file_handle(fh.0, req));
        if let Some(data) = self.s.io.read_now(h.ino, fh.0, h.file_id, offset, size) {
            return reply.data(&data);
        }
        self.spawn(|s| async move {
            match s.io.read(h.ino, fh.0, h.file_id, offset, size).await {
                Ok(data) => reply.data(&data),
                Err(e) => reply.error(e),
            }
        });
    }

    fn write(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _wflags: WriteFlags,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        allowed!(self, req, reply);
        tryr!(reply, self.s.check_writable());
        let h = tryr!(reply, self.s.file_handle(fh.0, req));
        self.s.inodes().invalidate(h.ino);
        if !h.write_through
            && self
                .s
                .io
                .try_write_now(h.ino, h.file_id, offset, data, h.page_cached)
        {
            // Queued without waiting: the common case of a sequential copy.
            reply.written(data.len() as u32);
            return;
        }
        let data = data.to_vec();
        self.spawn(|s| async move {
            let len = data.len() as u32;
            let r = if h.write_through {
                let r = s.client.write(h.file_id, offset, &data, true).await;
                s.io.wrote(h.ino);
                r.map(|_| ()).map_err(|e| errno(&e))
            } else {
                s.io.write_behind(h.ino, h.file_id, offset, data, h.page_cached)
                    .await
            };
            s.inodes().invalidate(h.ino);
            match r {
                Ok(()) => reply.written(len),
                Err(e) => reply.error(e),
            }
        });
    }

    fn flush(
        &self,
        req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _lock: LockOwner,
        reply: ReplyEmpty,
    ) {
        allowed!(self, req, reply);
        // Every close: the writes queued behind it must have reached the server, and a failure
        // among them is reported here, to close().
        self.spawn(|s| async move {
            match s.io.settle_and_take_error(ino.0).await {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(e),
            }
        });
    }

    fn release(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let path = self.s.path(ino.0).ok();
        // Whether the handle is kept is decided while the handle table is locked: an unlink
        // then finds it either open (in the table) or kept, never in between.
        let (h, delete, last, to_close) = {
            let mut handles = self.s.handles();
            let Some((h, delete)) = handles.remove(fh.0) else {
                drop(handles);
                return reply.ok();
            };
            let last = !handles.is_open(h.ino);
            // Kept open under its lease for a while, unless it must go now: then also the kept
            // handles of a file to delete, which would leave it pending deletion.
            let to_close = match (&path, h.leased, &delete) {
                (Some(path), true, None) => {
                    self.s.leases.release(h.ino, h.file_id, h.writable, path)
                }
                (_, leased, _) => {
                    if leased {
                        self.s.leases.closed(h.ino);
                    }
                    let mut v = vec![h.file_id];
                    if let Some(hidden) = &delete {
                        v.extend(self.s.leases.take_tree(hidden));
                    }
                    v
                }
            };
            (h, delete, last, to_close)
        };
        self.spawn(|s| async move {
            let pending = s.io.settle_and_take_error(h.ino).await;
            s.io.released(h.ino, fh.0, last);
            let (own, others): (Vec<FileId>, Vec<FileId>) =
                to_close.into_iter().partition(|f| *f == h.file_id);
            let closed = match own.first() {
                Some(f) => s.client.close(*f).await,
                None => Ok(()),
            };
            // Handles no longer in use by anyone: their close can fail only if the server is gone.
            join_all(others.into_iter().map(|f: FileId| s.client.close(f))).await;
            if let Some(hidden) = delete {
                if let Err(e) = s.client.unlink(&hidden).await {
                    log::warn!("could not delete '{hidden}' (unlinked while open): {e}");
                }
            }
            if h.writable {
                s.inodes().invalidate(h.ino);
            }
            match closed.map_err(|e| errno(&e)).and(pending) {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(e),
            }
        });
    }

    fn fsync(
        &self,
        req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        allowed!(self, req, reply);
        let h = tryr!(reply, self.s.file_handle(fh.0, req));
        self.spawn(|s| async move {
            if let Err(e) = s.io.settle_and_take_error(h.ino).await {
                return reply.error(e);
            }
            match s.client.flush(h.file_id).await {
                Ok(()) => reply.ok(),
                // A read-only handle has nothing to flush.
                Err(e) if !h.writable && status_is(&e, NtStatus::ACCESS_DENIED) => reply.ok(),
                Err(e) => reply.error(errno(&e)),
            }
        });
    }

    fn opendir(&self, req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        allowed!(self, req, reply);
        let uid = req.uid();
        self.spawn(|s| async move {
            let epoch = s.watches.epoch();
            match s.list(ino.0).await {
                Ok(entries) => {
                    let fh = s.handles().insert_dir(uid, entries, epoch);
                    reply.opened(FileHandle(fh), FopenFlags::empty())
                }
                Err(e) => reply.error(e),
            }
        });
    }

    fn readdir(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        allowed!(self, req, reply);
        let (entries, _) = tryr!(reply, self.s.dir_handle(fh.0, req));
        let dir_path = tryr!(reply, self.s.path(ino.0));
        let parent_ino = self
            .s
            .inodes()
            .ino_of(names::parent_of(&dir_path))
            .unwrap_or(1);
        let mut i = offset as usize;
        while i < entries.len() + 2 {
            let full = match i {
                0 => reply.add(ino, 1, FileType::Directory, "."),
                1 => reply.add(INodeNo(parent_ino), 2, FileType::Directory, ".."),
                _ => {
                    let e = &entries[i - 2];
                    let attrs = e.attrs();
                    let path = names::join(&dir_path, e.name());
                    let known = self.s.inodes().ino_of(&path);
                    // Unknown entries get their would-be number; lookup registers them.
                    let ino = known.unwrap_or(if attrs.index_number > 1 {
                        attrs.index_number
                    } else {
                        u64::MAX
                    });
                    let kind = if attrs.is_dir() {
                        FileType::Directory
                    } else {
                        FileType::RegularFile
                    };
                    let name = names::from_server(e.name(), self.s.cfg.map_names);
                    reply.add(INodeNo(ino), i as u64 + 1, kind, &name)
                }
            };
            if full {
                break;
            }
            i += 1;
        }
        reply.ok();
    }

    fn readdirplus(
        &self,
        req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        allowed!(self, req, reply);
        let (entries, epoch) = tryr!(reply, self.s.dir_handle(fh.0, req));
        // The server reported changes since the snapshot: its attributes may be out of date.
        let changed = epoch != self.s.watches.epoch();
        let dir_path = tryr!(reply, self.s.path(ino.0));
        let mut t = self.s.inodes();
        let last = |t: &InodeTable, i: u64| t.info(i).and_then(|n| n.attrs);
        // Unknown (from a listing that has gone since): still a directory.
        let dir_attrs = last(&t, ino.0).unwrap_or(FileAttrs {
            attributes: FILE_ATTRIBUTE_DIRECTORY,
            ..Default::default()
        });
        let parent_ino = t.ino_of(names::parent_of(&dir_path)).unwrap_or(1);
        let parent_attrs = last(&t, parent_ino).unwrap_or(dir_attrs);
        let mut i = offset as usize;
        while i < entries.len() + 2 {
            let full = match i {
                // The kernel takes no lookup reference for "." and "..".
                0 => reply.add(
                    ino,
                    1,
                    ".",
                    &self.s.ttl(&dir_attrs),
                    &self.s.file_attr(ino.0, &dir_attrs),
                    GEN,
                ),
                1 => {
                    let a = self.s.file_attr(parent_ino, &parent_attrs);
                    reply.add(
                        INodeNo(parent_ino),
                        2,
                        "..",
                        &self.s.ttl(&parent_attrs),
                        &a,
                        GEN,
                    )
                }
                _ => {
                    let e = &entries[i - 2];
                    let attrs = e.attrs();
                    let path = names::join(&dir_path, e.name());
                    let child = t.upsert_listed(&path, attrs, true);
                    let a = self.s.file_attr(child, &attrs);
                    let name = names::from_server(e.name(), self.s.cfg.map_names);
                    let ttl = if changed {
                        t.invalidate(child);
                        std::time::Duration::ZERO
                    } else {
                        self.s.ttl(&attrs)
                    };
                    let full = reply.add(INodeNo(child), i as u64 + 1, &name, &ttl, &a, GEN);
                    if full {
                        t.forget(child, 1);
                    }
                    full
                }
            };
            if full {
                break;
            }
            i += 1;
        }
        drop(t);
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        let entries = self.s.handles().remove_dir(fh.0);
        reply.ok();
        if entries >= BIG_LISTING {
            // A big listing leaves megabytes of freed heap behind (the snapshot, the decoded
            // batches); hand them back to the system instead of keeping them resident.
            self.spawn(|_| async move { release_free_memory() });
        }
    }

    fn fsyncdir(
        &self,
        req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        allowed!(self, req, reply);
        // Directory changes are made synchronously on the server.
        reply.ok();
    }

    fn statfs(&self, req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        allowed!(self, req, reply);
        self.spawn(|s| async move {
            match s.client.statfs().await {
                Ok(f) => {
                    let bsize = f.block_size.clamp(512, u32::MAX as u64) as u32;
                    let files = s.inodes().len() as u64;
                    reply.statfs(
                        f.total_blocks,
                        f.free_blocks,
                        f.available_blocks,
                        files,
                        1 << 20,
                        bsize,
                        super::NAME_MAX as u32,
                        bsize,
                    )
                }
                Err(e) => reply.error(errno(&e)),
            }
        });
    }

    // Two extended attributes: `user.smb3fs.status` on the root (what the mount is connected to)
    // and `user.smb3fs.normalized_name` on every node (the name as the server stores it). Others
    // answer ENOTSUP, which makes `cp -a`, `rsync -X` and friends skip them quietly.
    fn setxattr(
        &self,
        req: &Request,
        ino: INodeNo,
        name: &OsStr,
        value: &[u8],
        _flags: i32,
        _pos: u32,
        reply: ReplyEmpty,
    ) {
        allowed!(self, req, reply);
        if name.as_encoded_bytes() != NORMALIZED_NAME_XATTR.as_bytes() {
            return reply.error(Errno::ENOTSUP);
        }
        // Setting the stored name to another spelling of it changes its letter case: the one
        // way to do that through the mount, as the kernel and `mv` see both spellings as the
        // same file and do nothing.
        let from = tryr!(reply, self.s.path(ino.0));
        let new = tryr!(
            reply,
            names::to_server(value, self.s.cfg.map_names).ok_or(Errno::EINVAL)
        );
        if from.is_empty() || !crate::cache::fold_eq(names::file_name(&from), &new) {
            return reply.error(Errno::EINVAL);
        }
        let to = names::join(names::parent_of(&from), &new);
        self.spawn(|s| async move {
            match s.do_rename(from, to, RenameFlags::empty()).await {
                Ok(()) => reply.ok(),
                Err(e) => reply.error(e),
            }
        });
    }

    fn getxattr(&self, req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        allowed!(self, req, reply);
        if ino.0 == 1 && name.as_encoded_bytes() == STATUS_XATTR.as_bytes() {
            return xattr_reply(reply, size, self.s.status_text().as_bytes());
        }
        if name.as_encoded_bytes() != NORMALIZED_NAME_XATTR.as_bytes() {
            return reply.error(Errno::ENOTSUP);
        }
        let (path, listed) = {
            let t = self.s.inodes();
            let path = tryr!(reply, t.path(ino.0).ok_or(Errno::ENOENT));
            let listed = t.listed_name(&path);
            (path, listed)
        };
        let map = self.s.cfg.map_names;
        let answer = move |reply: ReplyXattr, stored: &str| {
            xattr_reply(reply, size, names::from_server(stored, map).as_bytes())
        };
        if path.is_empty() {
            return answer(reply, "");
        }
        if let Some(stored) = listed {
            return answer(reply, &stored);
        }
        self.spawn(|s| async move {
            match s.client.normalized_name(&path).await {
                Ok(n) => {
                    let n = n.trim_end_matches('\\');
                    answer(reply, n.rsplit(['\\', '/']).next().unwrap_or(n))
                }
                Err(e) => reply.error(errno(&e)),
            }
        });
    }

    fn listxattr(&self, req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        allowed!(self, req, reply);
        // Only the root lists one: the status.
        let names = if ino.0 == 1 {
            format!("{STATUS_XATTR}\0")
        } else {
            String::new()
        };
        xattr_reply(reply, size, names.as_bytes());
    }

    fn removexattr(&self, req: &Request, _ino: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        allowed!(self, req, reply);
        reply.error(Errno::ENOTSUP);
    }

    fn access(&self, req: &Request, ino: INodeNo, mask: AccessFlags, reply: ReplyEmpty) {
        allowed!(self, req, reply);
        if mask.contains(AccessFlags::W_OK) {
            tryr!(reply, self.s.check_writable());
            let read_only =
                |a: &FileAttrs| !a.is_dir() && a.attributes & FILE_ATTRIBUTE_READONLY != 0;
            let known = self.s.inodes().info(ino.0).and_then(|n| n.attrs);
            match known {
                Some(a) if read_only(&a) => return reply.error(Errno::EACCES),
                Some(_) => {}
                // Known only from a listing that has gone since: ask the server.
                None => {
                    return self.spawn(move |s| async move {
                        match s.stat_ino(ino.0).await {
                            Ok(a) if read_only(&a) => reply.error(Errno::EACCES),
                            Ok(_) => reply.ok(),
                            Err(e) => reply.error(e),
                        }
                    })
                }
            }
        }
        reply.ok();
    }
}
