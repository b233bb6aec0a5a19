//! Directory listings through the directory cache ([`crate::cache`]): a valid cached listing
//! serves `opendir` without a round trip (after re-fetching the attributes of the few entries
//! changed through the mount since), else the directory is listed from the server, streamed
//! batch by batch, and cached when it is complete and fits.

use std::sync::Arc;
use std::time::Instant;

use fuser::Errno;
use futures::future::join_all;

use super::errno::errno;
use super::handles::DirSnapshotEntry;
use super::{names, Shared};
use crate::cache::Entry;

/// More stale entries than this: list again rather than fetch each one's attributes.
const MAX_STAT_REFRESH: usize = 64;

impl Shared {
    /// The directory at `path` was just created through the mount (the request went out at
    /// `sent`), so it was empty then: its listing is known without asking. The names a program
    /// then looks up in it before creating them (tar, cp -r, rsync, git checkout) are answered
    /// as absent from the cache, within the same `actimeo` as any listing; what the mount
    /// creates there is added to it.
    pub(super) fn made_empty_dir(&self, path: &str, sent: Instant) {
        let mut t = self.inodes();
        let ticket = t.dirs.begin(path);
        t.dirs.insert(path, ticket, Vec::new(), sent);
    }

    /// Fetch fresh attributes of the stale entries of `dir`'s valid listing. Returns false when
    /// there is no valid listing (any more) to serve from.
    async fn refresh_stale(&self, dir: &str) -> bool {
        let Some(stale) = self.inodes().dirs.stale_names(dir) else {
            return false;
        };
        if stale.is_empty() {
            return true;
        }
        if stale.len() > MAX_STAT_REFRESH {
            self.inodes().dirs.remove_tree(dir);
            return false;
        }
        let epoch = self.watches.epoch();
        let results = join_all(stale.iter().map(|name| async move {
            let path = names::join(dir, name);
            let known = self.inodes().ino_of(&path);
            if let Some(ino) = known {
                self.io.settle(ino).await;
            }
            (path, self.client.stat(&names::join(dir, name)).await)
        }))
        .await;
        let mut t = self.inodes();
        if epoch != self.watches.epoch() {
            // A change notification came in meanwhile: these attributes may predate it.
            return false;
        }
        for (path, r) in results {
            match r {
                Ok(a) => t.refresh(&path, a),
                Err(e) if errno(&e) == Errno::ENOENT => t.remove_path(&path),
                Err(_) => {
                    t.dirs.remove_tree(dir);
                    return false;
                }
            }
        }
        t.dirs.listed(dir).is_some()
    }

    /// The entries of directory `ino` for a directory handle: the cached listing itself when
    /// there is one (shared, not copied), else a fresh listing from the server. A directory
    /// whose listing is cached is watched for changes ([`super::watch`]).
    pub(super) async fn list_cached(
        self: &Arc<Self>,
        ino: u64,
    ) -> Result<Arc<Vec<DirSnapshotEntry>>, Errno> {
        let path = self.path(ino)?;
        if self.refresh_stale(&path).await {
            let snap = self.inodes().dirs.snapshot(&path);
            if let Some(snap) = snap {
                self.watch_dir(&path);
                return Ok(snap);
            }
        }
        let ticket = self.inodes().dirs.begin(&path);
        let started = Instant::now();
        let mut entries = Vec::new();
        let r = self
            .client
            .list_dir_with(&path, |batch| {
                entries.extend(
                    batch
                        .into_iter()
                        .filter(|e| !names::is_hidden(&e.name))
                        .map(|e| Entry::new(e.name, e.attrs)),
                );
            })
            .await;
        if let Err(e) = r {
            self.inodes().dirs.abort(&path);
            return Err(errno(&e));
        }
        let open = self.handles().open_inodes();
        let stored = self
            .inodes()
            .store_listing(&path, ticket, entries, started, &open);
        let snap = match stored {
            Ok(snap) => snap,
            Err(uncached) => return Ok(uncached),
        };
        self.watch_dir(&path);
        // Files open for writing may have changed since: their attributes come from the server
        // (nothing to do, and the same listing back, when none is stale).
        if self.refresh_stale(&path).await {
            if let Some(fresh) = self.inodes().dirs.snapshot(&path) {
                return Ok(fresh);
            }
        }
        Ok(snap)
    }
}
