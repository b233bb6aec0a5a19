//! Change notification: changes made by other clients (or on the server's disk) show through
//! the mount at once, not only when the caches expire.
//!
//! A directory whose listing is cached and in use (listed by `opendir` again) is watched: a
//! handle is opened on it and one CHANGE_NOTIFY is kept outstanding
//! ([`crate::client::Notify`]). When the server reports changed names, each name's attributes
//! are fetched again (one stat per name, so the cache holds what is on the server now,
//! whatever order the events came in; a file open through the mount is only invalidated) and
//! the directory cache is updated; the kernel is told to drop what it caches about those names,
//! the directory, and the changed files (their attributes and pages). When the server reports
//! an overflow (or something that does not decode), the whole listing is dropped and every name
//! it held is invalidated in the kernel. Then the request is sent again; the server keeps the
//! changes made in between.
//!
//! A directory listed once (as in a walk through a tree) is not watched; a second listing
//! while it is remembered (among the last `16 * notify_max` directories listed) starts a watch.
//! The cached listing predates the watch, so once the watch is armed the directory is listed
//! again in the background and the differences are handled as reported changes.
//!
//! Bounds: at most `notify_max` watches (each holds a handle and one credit on the server);
//! the least recently used goes first. A watch also ends when its directory has not been in
//! the directory cache for [`SWEEP`] (checked every [`SWEEP`]), when the directory is removed
//! or renamed (by us: before the request, since an open handle would keep a removed directory
//! pending and can stand in the way of a rename; by others: when the parent's watch reports
//! it), and at unmount. Ending a watch closes its handle, which completes the pending request.
//!
//! The kernel is notified from a thread of its own ([`NotifierSlot`]), never from a request
//! handler or a runtime worker: the kernel may hold locks the notification needs until we
//! answer a request, and the answers come from the runtime.

use std::collections::HashSet;
use std::ffi::OsString;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fuser::{Errno, INodeNo};
use futures::future::join_all;
use lru::LruCache;

use super::errno::errno;
use super::{lock, names, Shared};
use crate::client::{FileAttrs, Notify};
use crate::proto::create::FileId;
use crate::proto::notify::*;

/// How many directories listed once are remembered, per watch allowed.
const RECENT_PER_WATCH: usize = 16;
/// Default bound on watches (`notify_max`).
pub const DEFAULT_NOTIFY_MAX: usize = 64;
/// What the server reports: names, attributes, sizes and times of the directory's entries.
const FILTER: u32 = FILE_NOTIFY_CHANGE_FILE_NAME
    | FILE_NOTIFY_CHANGE_DIR_NAME
    | FILE_NOTIFY_CHANGE_ATTRIBUTES
    | FILE_NOTIFY_CHANGE_SIZE
    | FILE_NOTIFY_CHANGE_LAST_WRITE
    | FILE_NOTIFY_CHANGE_CREATION;
/// CHANGE_NOTIFY output buffer: room for some 1,500 records with short names.
const BUFFER: u32 = 64 * 1024;
/// More changed names at once than this: drop the listing rather than stat each name.
const MAX_STATS: usize = 64;
/// How often watches of directories that left the cache are ended, and how long they may be
/// out of the cache first.
pub const SWEEP: Duration = Duration::from_secs(5);

/// Something the kernel should forget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inval {
    /// The name in a directory (the directory's inode and the name as the kernel sees it).
    Entry(u64, OsString),
    /// An inode's attributes and cached pages.
    Inode(u64),
    /// An inode's attributes and its cached pages in `len` bytes from `offset` (drop-behind).
    Pages { ino: u64, offset: u64, len: u64 },
}

/// Where the kernel notifier goes once the FUSE session exists; see [`NotifierSlot::install`].
#[derive(Clone, Default)]
pub struct NotifierSlot(Arc<OnceLock<Mutex<Sender<Vec<Inval>>>>>);

impl NotifierSlot {
    /// Start the thread that passes invalidations to the kernel through `notifier`.
    pub fn install(&self, notifier: fuser::Notifier) {
        let (tx, rx) = channel::<Vec<Inval>>();
        if self.0.set(Mutex::new(tx)).is_err() {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("smb3fs-inval".into())
            .spawn(move || {
                for batch in rx {
                    for i in batch {
                        // ENOENT (the kernel does not know the name or inode) is not an error.
                        let r = match &i {
                            Inval::Entry(dir, name) => notifier.inval_entry(INodeNo(*dir), name),
                            Inval::Inode(ino) => notifier.inval_inode(INodeNo(*ino), 0, 0),
                            Inval::Pages { ino, offset, len } => {
                                notifier.inval_inode(INodeNo(*ino), *offset as i64, *len as i64)
                            }
                        };
                        if let Err(e) = r {
                            log::debug!("kernel invalidation {i:?}: {e}");
                        }
                    }
                }
            });
        if let Err(e) = spawned {
            log::warn!("cannot start the invalidation thread: {e}");
        }
    }

    pub(crate) fn send(&self, batch: Vec<Inval>) {
        if batch.is_empty() {
            return;
        }
        if let Some(tx) = self.0.get() {
            let _ = lock(tx).send(batch);
        }
    }
}

struct Watch {
    id: u64,
    /// The watch handle, once open.
    file_id: Option<FileId>,
    /// A CHANGE_NOTIFY has been sent on it.
    armed: bool,
    /// Last time the directory was seen in the directory cache.
    seen: Instant,
}

struct State {
    dirs: LruCache<String, Watch>,
    /// Directories listed once and not watched: a second listing starts a watch.
    recent: LruCache<String, ()>,
    next_id: u64,
    sweeping: bool,
}

/// The watched directories.
pub(crate) struct Watches {
    max: usize,
    state: Mutex<State>,
    /// Bumped whenever the server reports a change, before and after the caches are updated:
    /// attributes fetched (or a directory snapshot taken) across a bump may predate the change
    /// and must not be cached ([`Watches::epoch`]).
    epoch: AtomicU64,
    pub(crate) kernel: NotifierSlot,
}

impl Watches {
    pub fn new(max: usize) -> Watches {
        Watches {
            max,
            state: Mutex::new(State {
                dirs: LruCache::unbounded(),
                recent: LruCache::new(
                    std::num::NonZeroUsize::new(RECENT_PER_WATCH * max.max(1)).expect("> 0"),
                ),
                next_id: 0,
                sweeping: false,
            }),
            epoch: AtomicU64::new(0),
            kernel: NotifierSlot::default(),
        }
    }

    /// Changes reported so far. Compare the values before and after fetching attributes: if
    /// they differ, a change notification came in between and the attributes may be older
    /// than what it put in the caches.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Armed watches.
    pub fn active(&self) -> usize {
        lock(&self.state)
            .dirs
            .iter()
            .filter(|(_, w)| w.armed)
            .count()
    }

    fn is_current(&self, dir: &str, id: u64) -> bool {
        lock(&self.state).dirs.peek(dir).is_some_and(|w| w.id == id)
    }

    /// Record the open handle of watch `id`; false if the watch was ended meanwhile.
    fn opened(&self, dir: &str, id: u64, file_id: FileId) -> bool {
        match lock(&self.state).dirs.peek_mut(dir) {
            Some(w) if w.id == id => {
                w.file_id = Some(file_id);
                true
            }
            _ => false,
        }
    }

    fn armed(&self, dir: &str, id: u64) {
        if let Some(w) = lock(&self.state).dirs.peek_mut(dir) {
            if w.id == id {
                w.armed = true;
            }
        }
    }

    /// End watch `id` of `dir` if it is still registered; returns its handle to close.
    fn end(&self, dir: &str, id: u64) -> Option<FileId> {
        let mut st = lock(&self.state);
        if st.dirs.peek(dir).is_some_and(|w| w.id == id) {
            st.dirs.pop(dir).and_then(|w| w.file_id)
        } else {
            None
        }
    }

    /// End the watches of `path` and of the directories below it ("" is all); returns their
    /// handles to close (a watch still opening closes its own handle).
    fn take_tree(&self, path: &str) -> Vec<FileId> {
        let mut st = lock(&self.state);
        let keys: Vec<String> = st
            .dirs
            .iter()
            .map(|(k, _)| k)
            .filter(|k| names::is_under(k, path))
            .cloned()
            .collect();
        keys.iter()
            .filter_map(|k| st.dirs.pop(k).and_then(|w| w.file_id))
            .collect()
    }
}

impl Shared {
    /// `dir`'s listing is cached and in use: watch it (or note that it is still in use).
    pub(super) fn watch_dir(self: &Arc<Self>, dir: &str) {
        let w = &self.watches;
        if w.max == 0 || !self.client.is_connected() {
            return;
        }
        let (id, evicted, sweep) = {
            let mut st = lock(&w.state);
            if let Some(w) = st.dirs.get_mut(dir) {
                w.seen = Instant::now();
                return;
            }
            // Listed once (a walk through a tree): not worth a watch yet.
            if st.recent.pop(dir).is_none() {
                st.recent.put(dir.to_string(), ());
                return;
            }
            st.next_id += 1;
            let id = st.next_id;
            st.dirs.put(
                dir.to_string(),
                Watch {
                    id,
                    file_id: None,
                    armed: false,
                    seen: Instant::now(),
                },
            );
            let mut evicted = Vec::new();
            while st.dirs.len() > w.max {
                match st.dirs.pop_lru() {
                    Some((_, old)) => evicted.extend(old.file_id),
                    None => break,
                }
            }
            (id, evicted, !std::mem::replace(&mut st.sweeping, true))
        };
        self.close_watches(evicted);
        let s = Arc::clone(self);
        let dir = dir.to_string();
        self.rt.spawn(async move { s.run_watch(dir, id).await });
        if sweep {
            let s = Arc::clone(self);
            self.rt.spawn(async move { s.sweep().await });
        }
    }

    /// End the watches and close the kept file handles (see `lease`) of `path` and below
    /// before it is removed or renamed through the mount; returns once the handles are closed.
    pub(super) async fn close_tree(&self, path: &str) {
        let mut handles = self.watches.take_tree(path);
        handles.extend(self.leases.take_tree(path));
        join_all(handles.into_iter().map(|f| self.client.close(f))).await;
    }

    fn close_watches(self: &Arc<Self>, handles: Vec<FileId>) {
        for f in handles {
            let client = self.client.clone();
            self.rt.spawn(async move { client.close(f).await });
        }
    }

    async fn run_watch(self: Arc<Self>, dir: String, id: u64) {
        let file_id = match self.client.open_watch(&dir).await {
            Ok(f) => f,
            Err(e) => {
                log::debug!("cannot watch '{dir}': {e}");
                self.watches.end(&dir, id);
                return;
            }
        };
        if !self.watches.opened(&dir, id, file_id) {
            let _ = self.client.close(file_id).await;
            return;
        }
        let mut first = true;
        let outcome = loop {
            let pending = match self.client.change_notify(file_id, FILTER, BUFFER).await {
                Ok(p) => p,
                Err(e) => break Err(e),
            };
            if first {
                // Requests sent from now on reach the server after the watch is in place; the
                // cached listing may have missed changes made before: check it.
                first = false;
                self.watches.armed(&dir, id);
                let s = Arc::clone(&self);
                let d = dir.clone();
                self.rt.spawn(async move { s.revalidate(&d).await });
            }
            match pending.await {
                Ok(Notify::Changes(records)) => self.changed(&dir, records).await,
                Ok(Notify::Overflow) => self.overflow(&dir),
                Ok(Notify::Closed) => break Ok(()),
                Err(e) => break Err(e),
            }
            if !self.watches.is_current(&dir, id) {
                break Ok(());
            }
        };
        if let Err(e) = outcome {
            log::debug!("watch of '{dir}' ended: {e}");
        }
        if let Some(f) = self.watches.end(&dir, id) {
            let _ = self.client.close(f).await;
        }
    }

    /// Every [`SWEEP`], end the watches of directories that left the directory cache.
    async fn sweep(self: Arc<Self>) {
        let mut tick = tokio::time::interval(SWEEP);
        loop {
            tick.tick().await;
            if !self.client.is_connected() {
                return;
            }
            let keys: Vec<String> = {
                let st = lock(&self.watches.state);
                st.dirs.iter().map(|(k, _)| k.clone()).collect()
            };
            let cached: HashSet<String> = {
                let t = self.inodes();
                keys.into_iter()
                    .filter(|k| t.dirs.listed(k).is_some())
                    .collect()
            };
            let gone = {
                let mut st = lock(&self.watches.state);
                let mut gone = Vec::new();
                let mut expired = Vec::new();
                for (k, w) in st.dirs.iter_mut() {
                    if cached.contains(k) {
                        w.seen = Instant::now();
                    } else if w.seen.elapsed() >= SWEEP {
                        expired.push(k.clone());
                    }
                }
                for k in expired {
                    gone.extend(st.dirs.pop(&k).and_then(|w| w.file_id));
                }
                gone
            };
            self.close_watches(gone);
        }
    }

    /// The watch of `dir` is armed: list it again and handle the differences from the cached
    /// listing (which predates the watch) as reported changes.
    async fn revalidate(self: &Arc<Self>, dir: &str) {
        let differ = |a: &FileAttrs, b: &FileAttrs| {
            (
                a.size,
                a.attributes,
                a.last_write_time,
                a.change_time,
                a.creation_time,
            ) != (
                b.size,
                b.attributes,
                b.last_write_time,
                b.change_time,
                b.creation_time,
            ) || (a.index_number != 0 && b.index_number != 0 && a.index_number != b.index_number)
        };
        // No cached listing: nothing to correct, and no need to list.
        if self.inodes().dirs.listed(dir).is_none() {
            return;
        }
        // Compared batch by batch with the cached listing, keeping only a hash of each name
        // seen: a directory of 500,000 entries is not held twice (nor three times) meanwhile.
        let hs = RandomState::new();
        let mut seen: HashSet<u64> = HashSet::new();
        let mut records = Vec::new();
        let mut uncached = false;
        let r = self
            .client
            .list_dir_with(dir, |batch| {
                let t = self.inodes();
                if uncached || t.dirs.listed(dir).is_none() {
                    uncached = true;
                    return;
                }
                for e in batch {
                    seen.insert(hs.hash_one(&e.name));
                    let action = match t.dirs.peek_exact(dir, &e.name) {
                        Some((a, ..)) => {
                            if !differ(&a, &e.attrs) {
                                continue;
                            }
                            FILE_ACTION_MODIFIED
                        }
                        _ if names::is_hidden(&e.name) => continue,
                        _ => FILE_ACTION_ADDED,
                    };
                    records.push(FileNotifyInformation {
                        action,
                        file_name: e.name,
                    });
                }
            })
            .await;
        if let Err(e) = r {
            log::debug!("listing '{dir}' again under its new watch: {e}");
            return self.overflow(dir);
        }
        // No cached listing: nothing to correct.
        if uncached {
            return;
        }
        // Cached names the server no longer has.
        let gone = self
            .inodes()
            .dirs
            .names_where(dir, |n| !seen.contains(&hs.hash_one(n)));
        records.extend(gone.into_iter().flatten().map(|n| FileNotifyInformation {
            action: FILE_ACTION_MODIFIED,
            file_name: n,
        }));
        if !records.is_empty() {
            log::debug!("'{dir}': {} changes before its watch", records.len());
            self.changed(dir, records).await;
        }
    }

    /// Anything in `dir` may have changed: drop its listing, and have the kernel forget every
    /// name it held, the files' attributes and pages, and the directory's.
    fn overflow(&self, dir: &str) {
        self.watches.bump();
        let mut inval = Vec::new();
        {
            let mut t = self.inodes();
            let listed = t.dirs.drop_listing(dir);
            let dir_ino = t.ino_of(dir);
            for name in listed {
                if let Some(ino) = t.ino_of(&names::join(dir, &name)) {
                    t.invalidate(ino);
                    inval.push(Inval::Inode(ino));
                }
                if let Some(d) = dir_ino {
                    inval.push(self.inval_entry(d, &name));
                }
            }
            if let Some(d) = dir_ino {
                t.invalidate(d);
                inval.push(Inval::Inode(d));
            }
        }
        self.watches.bump();
        self.watches.kernel.send(inval);
    }

    fn inval_entry(&self, dir_ino: u64, server_name: &str) -> Inval {
        Inval::Entry(
            dir_ino,
            names::from_server(server_name, self.cfg.map_names).into(),
        )
    }

    /// The server reports these names in `dir` changed: ask it what they are now.
    async fn changed(self: &Arc<Self>, dir: &str, records: Vec<FileNotifyInformation>) {
        let mut changed: Vec<String> = Vec::new();
        for r in records {
            log::debug!("'{dir}': change {} '{}'", r.action, r.file_name);
            let name = r.file_name;
            // Our own placeholders, streams ("file:stream"), and anything with a path in it.
            if name.is_empty()
                || names::is_hidden(&name)
                || name.contains([':', '\\', '/'])
                || changed.contains(&name)
            {
                continue;
            }
            changed.push(name);
        }
        if changed.len() > MAX_STATS {
            return self.overflow(dir);
        }
        self.watches.bump();
        let results = join_all(changed.iter().map(|name| async move {
            let path = names::join(dir, name);
            let known = self.inodes().ino_of(&path);
            if known.is_some_and(|ino| self.handles().is_open(ino)) {
                // Open through the mount (and perhaps being written: a stat would wait for the
                // writes and push out the ones being gathered): only invalidated.
                return (name, path, None);
            }
            let r = self.client.stat(&path).await;
            log::debug!("after a change notification, '{path}': {r:?}");
            (name, path, Some(r))
        }))
        .await;
        let mut inval = Vec::new();
        let mut gone = Vec::new();
        {
            let mut t = self.inodes();
            let dir_ino = t.ino_of(dir);
            for (name, path, r) in results {
                let known = t.ino_of(&path).and_then(|i| t.index_of(i).map(|x| (i, x)));
                let Some(r) = r else {
                    t.dirs.mark_stale(dir, name);
                    if let Some((ino, _)) = known {
                        t.invalidate(ino);
                        inval.push(Inval::Inode(ino));
                    }
                    if let Some(d) = dir_ino {
                        inval.push(self.inval_entry(d, name));
                    }
                    continue;
                };
                let same_file = match (&r, known) {
                    (Ok(a), Some((_, index))) => {
                        index == 0 || a.index_number == 0 || index == a.index_number
                    }
                    _ => false,
                };
                match r {
                    Ok(a) if same_file => t.refresh(&path, a),
                    Ok(a) => {
                        // A new name, or another file under a known name: the next lookup
                        // registers it.
                        t.dirs.upsert(dir, name, a);
                        if let Some((ino, _)) = known {
                            t.invalidate(ino);
                            gone.push(path.clone());
                        }
                    }
                    Err(e) if errno(&e) == Errno::ENOENT => {
                        t.gone(&path);
                        if let Some((ino, _)) = known {
                            // Its attributes must not answer a lookup of the name any more.
                            t.invalidate(ino);
                        }
                        gone.push(path.clone());
                    }
                    Err(e) => {
                        log::debug!("after a change notification, stat '{path}': {e}");
                        t.dirs.drop_listing(dir);
                        if let Some((ino, _)) = known {
                            t.invalidate(ino);
                        }
                    }
                }
                if let Some((ino, _)) = known {
                    inval.push(Inval::Inode(ino));
                }
                if let (Some(d), false) = (dir_ino, same_file) {
                    inval.push(self.inval_entry(d, name));
                }
            }
            if let Some(d) = dir_ino {
                t.invalidate(d);
                inval.push(Inval::Inode(d));
            }
        }
        self.watches.bump();
        self.watches.kernel.send(inval);
        // Directories removed or replaced: their watches (if any) are over.
        for path in gone {
            let handles = self.watches.take_tree(&path);
            self.close_watches(handles);
        }
    }
}
