//! The FUSE frontend: a [`fuser::Filesystem`] that translates each kernel request into client
//! calls on an SMB share.
//!
//! Why it is shaped like this:
//! - fuser calls us on a small pool of threads (`Config::n_threads`). Network round trips must
//!   never block those threads, or one slow `read` would stall every other request. So every
//!   operation that needs the server spawns a task on the tokio runtime that owns the reply
//!   object and answers when the server does; the kernel keeps many requests in flight and the
//!   client pipelines them on the one connection.
//! - State shared by the tasks (inode table, handle table) sits behind short-lived mutexes that
//!   are never held across an `.await`.
//! - Everything the kernel caches (attributes, entries) is given the `actimeo` TTL, and changes
//!   made through the mount update or invalidate our own cache at once. Changes the server
//!   reports in watched directories update ours and invalidate the kernel's (`watch`).
//!
//! Submodules: [`inode`] (inode numbers and paths, attribute cache, and the directory cache of
//! [`crate::cache`] with its hooks; `listing` feeds it), [`handles`] (open files
//! and directory snapshots, unlink-while-open), [`names`] (UTF-8 and the SFM character mapping),
//! [`attr`] (stat data), [`errno`] (the one error mapping), [`access`] (the allow/deny lists of a
//! shared mount), [`mount`] (mounting, daemon mode, signals, `global`), `watch` (change
//! notification: bounded directory watches and kernel cache invalidation), [`io`] (write-behind,
//! read-ahead, drop-behind), `lease` (file leases and deferred close), `ops` (the requests) and
//! `changes` (renames, setattr, listings and checks the requests share).
//!
//! A mount may be shared by several local users (`global`, `allow_other`): every request is
//! checked against the access lists with the caller's uid/gid, and file handles belong to the
//! user who opened them.

pub mod access;
pub mod attr;
mod changes;
pub mod errno;
pub mod handles;
pub mod inode;
pub mod io;
mod lease;
mod listing;
pub mod mount;
pub mod names;
mod ops;
mod sysmount;
mod watch;

pub use ops::STATUS_XATTR;
pub use watch::{NotifierSlot, DEFAULT_NOTIFY_MAX};

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use fuser::{Errno, FileAttr};

use crate::client::{Client, FileAttrs};
use attr::AttrConfig;
use handles::Handles;
use inode::{InodeTable, NodeInfo};

/// Longest name component the mount accepts (SMB allows 255 UTF-16 units).
pub const NAME_MAX: usize = 255;

/// Mount behaviour, from the `-o` options.
#[derive(Debug, Clone)]
pub struct FsConfig {
    pub attr: AttrConfig,
    pub read_only: bool,
    pub write_through: bool,
    /// SFM mapping of `" * : < > ? \ |` (mapposix, on by default).
    pub map_names: bool,
    /// Who may use the mount besides the mounting user (`owner`).
    pub access: access::AccessLists,
    pub owner: u32,
    /// `server:port` and share, for the status attribute.
    pub server: String,
    /// Bound on the directory cache's entries (`dircache_max`).
    pub dircache_max: usize,
    /// `cache=none`: open files with direct I/O, bypassing the kernel's page cache.
    pub direct_io: bool,
    /// Bound on watched directories (`notify_max`; 0: none).
    pub notify_max: usize,
    /// Pages this far behind a sequential read or write leave the page cache (0: never).
    pub drop_behind: u64,
    /// Ask for leases (not `nolease`).
    pub leases: bool,
    /// How long a closed handle with a handle lease stays open (`closetimeo`; 0: not at all).
    pub close_timeout: Duration,
}

impl FsConfig {
    /// From the parsed options, with mount.cifs defaults: the mounting user's uid/gid, 0644 files,
    /// 0755 directories, 1 s attribute cache.
    pub fn from_options(o: &crate::config::Options) -> FsConfig {
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let base = o.actimeo.unwrap_or(Duration::from_secs(1));
        FsConfig {
            attr: AttrConfig {
                uid: o.uid.unwrap_or(uid),
                gid: o.gid.unwrap_or(gid),
                file_mode: o.file_mode.unwrap_or(0o644) as u16,
                dir_mode: o.dir_mode.unwrap_or(0o755) as u16,
                file_ttl: o.acregmax.unwrap_or(base),
                dir_ttl: o.acdirmax.unwrap_or(base),
            },
            read_only: o.read_only,
            write_through: o.write_through,
            map_names: o.mapposix.unwrap_or(true),
            access: access::AccessLists::default(),
            owner: uid,
            server: String::new(),
            dircache_max: o.dircache_max.unwrap_or(crate::cache::DEFAULT_MAX_ENTRIES),
            direct_io: o.cache_none,
            notify_max: o.notify_max.unwrap_or(DEFAULT_NOTIFY_MAX),
            drop_behind: o.drop_behind.unwrap_or(io::DEFAULT_DROP_BEHIND),
            leases: !o.nolease,
            close_timeout: o.closetimeo.unwrap_or(lease::DEFAULT_CLOSE_TIMEOUT),
        }
    }
}

pub(crate) struct Shared {
    client: Client,
    rt: tokio::runtime::Handle,
    inodes: Mutex<InodeTable>,
    handles: Mutex<Handles>,
    io: io::FileIo,
    leases: lease::Leases,
    access: access::Access,
    watches: watch::Watches,
    cfg: FsConfig,
}

/// The filesystem. Cheap to share: all state is in one `Arc`.
pub struct Smb3Fs {
    s: Arc<Shared>,
}

impl Smb3Fs {
    /// `root` are the share root's attributes (from `client.stat("")`, which also proves the
    /// share is usable before anything is mounted).
    pub fn new(
        client: Client,
        rt: tokio::runtime::Handle,
        root: FileAttrs,
        cfg: FsConfig,
    ) -> Smb3Fs {
        let watches = watch::Watches::new(cfg.notify_max);
        // With direct I/O there is no page cache to drop from.
        let drop_behind = if cfg.direct_io { 0 } else { cfg.drop_behind };
        let io = io::FileIo::new(
            client.clone(),
            rt.clone(),
            watches.kernel.clone(),
            drop_behind,
        );
        let s = Arc::new(Shared {
            client: client.clone(),
            rt: rt.clone(),
            inodes: Mutex::new(InodeTable::with_dircache(
                root,
                crate::cache::DirCache::new(cfg.dircache_max, cfg.attr.dir_ttl),
            )),
            handles: Mutex::new(Handles::default()),
            io,
            leases: lease::Leases::new(cfg.leases, cfg.close_timeout),
            access: access::Access::new(cfg.access.clone(), cfg.owner),
            watches,
            cfg,
        });
        if s.cfg.leases {
            s.start_lease_tasks();
        }
        Smb3Fs { s }
    }
}

impl Smb3Fs {
    /// Where the FUSE session's notifier goes (see [`NotifierSlot::install`]): change
    /// notifications from the server invalidate the kernel's caches through it.
    pub fn notifier_slot(&self) -> NotifierSlot {
        self.s.watches.kernel.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn inodes(&self) -> MutexGuard<'_, InodeTable> {
        lock(&self.inodes)
    }

    fn handles(&self) -> MutexGuard<'_, Handles> {
        lock(&self.handles)
    }

    fn path(&self, ino: u64) -> Result<String, Errno> {
        self.inodes().path(ino).ok_or(Errno::ENOENT)
    }

    /// Server-side path of `name` in directory `parent`, in the letter case the server stores
    /// it when a cached listing knows the name.
    fn child(&self, parent: u64, name: &OsStr) -> Result<String, Errno> {
        let path = self.child_raw(parent, name)?;
        Ok(self.inodes().resolve(&path))
    }

    /// Server-side path of `name` in directory `parent`, spelled as given.
    fn child_raw(&self, parent: u64, name: &OsStr) -> Result<String, Errno> {
        let bytes = name.as_bytes();
        if bytes.len() > NAME_MAX * 4
            || std::str::from_utf8(bytes)
                .map(|s| s.chars().count() > NAME_MAX)
                .unwrap_or(false)
        {
            return Err(Errno::ENAMETOOLONG);
        }
        let server = names::to_server(bytes, self.cfg.map_names).ok_or(Errno::EINVAL)?;
        if names::is_hidden(&server) {
            return Err(Errno::ENOENT);
        }
        let dir = self.path(parent)?;
        Ok(names::join(&dir, &server))
    }

    fn file_attr(&self, ino: u64, a: &FileAttrs) -> FileAttr {
        attr::to_file_attr(ino, a, &self.cfg.attr)
    }

    /// How long the kernel may keep names and attributes. With access lists, never for
    /// directories: with `global` (default_permissions) the kernel then asks us, as the caller,
    /// for each directory it walks through, so a caller the lists keep out is refused even where
    /// names and attributes are cached. Our own cache still keeps them for `actimeo`, so these
    /// requests cost no round trip to the server.
    fn ttl(&self, a: &FileAttrs) -> Duration {
        if a.is_dir() && !self.cfg.access.is_empty() {
            Duration::ZERO
        } else {
            self.cfg.attr.ttl(a)
        }
    }

    /// Register a name the kernel is about to learn (lookup, create, mkdir), with attributes
    /// the server just sent for it.
    fn entry(&self, path: &str, a: FileAttrs) -> (Duration, FileAttr) {
        let ino = self.inodes().upsert(path, a, true);
        (self.ttl(&a), self.file_attr(ino, &a))
    }

    /// [`Shared::entry`] for attributes from our caches (a lookup answered without a round
    /// trip): the node copies none that a cached listing holds.
    fn entry_cached(&self, path: &str, a: FileAttrs) -> (Duration, FileAttr) {
        let ino = self.inodes().upsert_listed(path, a, true);
        (self.ttl(&a), self.file_attr(ino, &a))
    }

    /// Whether the kernel caches the data of a file opened with `flags` (see `fopen_flags`).
    fn page_cached(&self, flags: i32) -> bool {
        !self.cfg.direct_io && flags & libc::O_ACCMODE != libc::O_WRONLY
    }

    /// How the kernel should treat the data of a file opened now with `flags`.
    ///
    /// A write-only open bypasses the page cache even with `cache=strict`: nothing can read
    /// through it or map it (mmap needs a readable descriptor), and without writeback caching
    /// the kernel sends every `write()` to us either way, so the cache would only cost a copy
    /// of each byte into pages that the next open drops. The kernel keeps other descriptors'
    /// cached pages of the file coherent with direct writes (it invalidates the written range).
    ///
    /// `keep_cache`: the file's cached pages are still good (a lease held since they were read),
    /// so the kernel keeps them instead of dropping them at this open.
    fn fopen_flags(&self, flags: i32, keep_cache: bool) -> fuser::FopenFlags {
        let mut f = fuser::FopenFlags::empty();
        if !self.page_cached(flags) {
            f |= fuser::FopenFlags::FOPEN_DIRECT_IO;
        }
        if keep_cache {
            f |= fuser::FopenFlags::FOPEN_KEEP_CACHE;
        }
        f
    }

    /// [`Shared::entry`] for attributes fetched when the change epoch was `epoch`: if the
    /// server reported changes since, they are not cached (ours and the kernel's).
    fn entry_since(&self, path: &str, a: FileAttrs, epoch: u64) -> (Duration, FileAttr) {
        let (ttl, attr) = self.entry(path, a);
        if epoch == self.watches.epoch() {
            return (ttl, attr);
        }
        self.inodes().invalidate(attr.ino.0);
        (Duration::ZERO, attr)
    }

    fn check_writable(&self) -> Result<(), Errno> {
        if self.cfg.read_only {
            Err(Errno::EROFS)
        } else {
            Ok(())
        }
    }

    /// Fresh attributes of `ino` from the server: through an open handle when the file has no
    /// name any more (or has one open), else by path.
    async fn stat_ino(&self, ino: u64) -> Result<FileAttrs, Errno> {
        // Sizes and times must include writes still in flight.
        self.io.settle(ino).await;
        let NodeInfo { path, unlinked, .. } = self.inodes().info(ino).ok_or(Errno::ENOENT)?;
        let handle = if unlinked {
            self.handles().any_for(ino)
        } else {
            None
        };
        let epoch = self.watches.epoch();
        let r = match handle {
            Some(h) => self.client.stat_handle(h.file_id).await,
            None if unlinked => return Err(Errno::ENOENT),
            None => self.client.stat(&path).await,
        };
        let a = r.map_err(|e| {
            let e = errno::errno(&e);
            if e == Errno::ENOENT && !unlinked {
                self.inodes().gone(&path);
            }
            e
        })?;
        // Unless a change notification came in meanwhile: these may predate it.
        if epoch == self.watches.epoch() {
            self.inodes().set_attrs(ino, a);
        }
        Ok(a)
    }
}
