//! File leases: read caching across opens, and deferred close.
//!
//! Why: without a lease, the kernel's cached pages of a file must be dropped at every open
//! (another client may have changed it), and every open and close is a round trip. With a
//! read+handle lease (what the Windows client and `mount.cifs` ask for), the server promises to
//! tell us before another client changes the file (read caching) or needs our handle gone
//! (handle caching). So:
//! - every open of a file asks for a read+handle lease, with one key per inode while any handle
//!   of ours is open, so our own opens share one lease and never break each other;
//! - a closed handle is kept open for `closetimeo` (1 s by default; `mount.cifs` has 5 s) while the
//!   lease lasts, and an open of the same file in that time reuses it: no round trip, and the
//!   kernel keeps the file's pages (`FOPEN_KEEP_CACHE`), since the lease held all along;
//! - when the server breaks the lease (another client writes, or opens in a way that conflicts),
//!   the kernel's pages and our attributes of the file are dropped if read caching is lost, the
//!   kept handles are closed if handle caching is lost, and the break is acknowledged.
//!
//! The kernel's pages are only kept when they were filled under the lease that still holds:
//! when the last handle closes, the server frees the lease, so the next open starts afresh.
//! Renames and deletes through the mount close the kept handles of what they touch first (a
//! kept handle would leave a deleted file pending, or make a rename fail).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::join_all;

use super::watch::Inval;
use super::Shared;
use crate::client::GrantedLease;
use crate::proto::create::FileId;
use crate::proto::oplock::{
    LeaseBreakNotification, LEASE_HANDLE_CACHING, LEASE_READ_CACHING,
    NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
};

/// What every open asks for.
pub const WANTED: u32 = LEASE_READ_CACHING | LEASE_HANDLE_CACHING;
/// `closetimeo` when not given: 1 s. `mount.cifs` keeps 5 s, but Samba breaks no handle lease
/// when another client deletes the file (a Windows server does), so that delete stays pending
/// until we close: the shorter the wait, the sooner it completes.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Most closed handles kept open at once; past that the oldest is closed.
const MAX_DEFERRED: usize = 256;

/// A closed handle kept open while its lease allows.
#[derive(Debug, Clone)]
struct Deferred {
    file_id: FileId,
    writable: bool,
    path: String,
    since: Instant,
}

#[derive(Debug)]
struct Lease {
    key: [u8; 16],
    /// LEASE_* bits the server grants now.
    state: u32,
    epoch: u16,
    /// Our SMB handles under this key: open, kept (deferred), or being opened.
    handles: usize,
    /// The kernel's pages of the file were filled while this lease held read caching.
    pages_valid: bool,
    deferred: Vec<Deferred>,
}

#[derive(Default)]
struct State {
    by_ino: HashMap<u64, Lease>,
    by_key: HashMap<[u8; 16], u64>,
    deferred: usize,
}

/// What to do about a lease break.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BreakAction {
    /// The inode whose cached pages and attributes must be dropped, when read caching ended.
    pub invalidate: Option<u64>,
    /// Kept handles to close (handle caching ended).
    pub close: Vec<FileId>,
}

/// The leases of a mount. `close_after` zero (or `nolease`) means no deferred close.
pub struct Leases {
    enabled: bool,
    close_after: Duration,
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Leases {
    pub fn new(enabled: bool, close_after: Duration) -> Leases {
        Leases {
            enabled,
            close_after,
            state: Mutex::default(),
        }
    }

    pub fn close_after(&self) -> Duration {
        self.close_after
    }

    /// A kept handle of `ino` that an open may use instead of a new one (one with write access
    /// when `writable`), and whether the kernel may keep the file's pages.
    pub fn reuse(&self, ino: u64, writable: bool) -> Option<(FileId, bool)> {
        let mut st = lock(&self.state);
        let lease = st.by_ino.get_mut(&ino)?;
        if lease.state & LEASE_HANDLE_CACHING == 0 {
            return None;
        }
        let i = lease
            .deferred
            .iter()
            .rposition(|d| d.writable || !writable)?;
        let d = lease.deferred.remove(i);
        let keep = lease.pages_valid && lease.state & LEASE_READ_CACHING != 0;
        st.deferred -= 1;
        Some((d.file_id, keep))
    }

    /// The lease key an open of `ino` asks with (the inode's while it has handles, else a new
    /// one). The open counts as one of the inode's handles from now on, until it is given back
    /// through [`release`](Self::release) or [`closed`](Self::closed) (also when the open
    /// fails). None when leases are off.
    pub fn key_for_open(&self, ino: u64) -> Option<[u8; 16]> {
        if !self.enabled {
            return None;
        }
        let mut st = lock(&self.state);
        if let Some(l) = st.by_ino.get_mut(&ino) {
            l.handles += 1;
            return Some(l.key);
        }
        let key: [u8; 16] = rand::random();
        Self::insert(&mut st, ino, key);
        Some(key)
    }

    /// A fresh key for a file being created, whose inode is not known until the server
    /// answers; [`adopt`](Self::adopt) ties it to the inode then.
    pub fn key_for_create(&self) -> Option<[u8; 16]> {
        self.enabled.then(rand::random)
    }

    /// A created file's handle (asked with `key`) belongs to `ino`. Returns false when the
    /// inode has handles under another key already: the new handle is then closed at release,
    /// not kept, and counted nowhere.
    pub fn adopt(&self, ino: u64, key: [u8; 16], granted: Option<GrantedLease>) -> bool {
        let mut st = lock(&self.state);
        if st.by_ino.contains_key(&ino) {
            return false;
        }
        Self::insert(&mut st, ino, key);
        drop(st);
        self.opened(ino, granted);
        true
    }

    /// The open of `ino` asked with its key got `granted` (None: no lease). Returns whether
    /// the kernel may keep the file's pages: only when read caching held since they were filled.
    pub fn opened(&self, ino: u64, granted: Option<GrantedLease>) -> bool {
        let mut st = lock(&self.state);
        let Some(l) = st.by_ino.get_mut(&ino) else {
            return false;
        };
        let had_read = l.pages_valid && l.state & LEASE_READ_CACHING != 0;
        match granted {
            // A grant older than a break we have seen says nothing new.
            Some(g) if g.epoch >= l.epoch || l.state == 0 => {
                l.state = if g.breaking { 0 } else { g.state };
                l.epoch = g.epoch;
            }
            Some(_) => {}
            None => l.state = 0,
        }
        let reading = l.state & LEASE_READ_CACHING != 0;
        let keep = had_read && reading;
        // Pages filled from now on are covered by the lease (the kernel drops older ones at
        // this open unless `keep`).
        l.pages_valid = reading;
        keep
    }

    /// A handle counted under `ino`'s key is gone without being kept: its open failed, or it
    /// was closed at once.
    pub fn closed(&self, ino: u64) {
        let mut st = lock(&self.state);
        Self::drop_handle(&mut st, ino);
    }

    /// A new lease entry for `ino` under `key`, with one handle (the one being opened).
    fn insert(st: &mut State, ino: u64, key: [u8; 16]) {
        st.by_key.insert(key, ino);
        st.by_ino.insert(
            ino,
            Lease {
                key,
                state: 0,
                epoch: 0,
                handles: 1,
                pages_valid: false,
                deferred: Vec::new(),
            },
        );
    }

    fn drop_handle(st: &mut State, ino: u64) {
        let Some(l) = st.by_ino.get_mut(&ino) else {
            return;
        };
        l.handles = l.handles.saturating_sub(1);
        if l.handles == 0 {
            let key = l.key;
            st.by_ino.remove(&ino);
            st.by_key.remove(&key);
        }
    }

    /// A handle of `ino` is released. Returns the handles to close now: none when this one is
    /// kept (handle caching held), else this one; plus the oldest kept one when too many are.
    pub fn release(&self, ino: u64, file_id: FileId, writable: bool, path: &str) -> Vec<FileId> {
        let mut st = lock(&self.state);
        let keep = !self.close_after.is_zero()
            && st
                .by_ino
                .get(&ino)
                .is_some_and(|l| l.state & LEASE_HANDLE_CACHING != 0);
        if !keep {
            Self::drop_handle(&mut st, ino);
            return vec![file_id];
        }
        let l = st.by_ino.get_mut(&ino).expect("checked above");
        l.deferred.push(Deferred {
            file_id,
            writable,
            path: path.to_string(),
            since: Instant::now(),
        });
        st.deferred += 1;
        let mut close = Vec::new();
        if st.deferred > MAX_DEFERRED {
            close.extend(Self::take_deferred(&mut st, |_, _| true, 1));
        }
        close
    }

    /// Kept handles matching `pred` (path, kept since), oldest first, at most `max`, taken out
    /// and no longer counted.
    fn take_deferred(
        st: &mut State,
        mut pred: impl FnMut(&str, Instant) -> bool,
        max: usize,
    ) -> Vec<FileId> {
        let mut found: Vec<(Instant, u64, FileId)> = Vec::new();
        for (ino, l) in &st.by_ino {
            for d in &l.deferred {
                if pred(&d.path, d.since) {
                    found.push((d.since, *ino, d.file_id));
                }
            }
        }
        found.sort_by_key(|f| f.0);
        found.truncate(max);
        for (_, ino, file_id) in &found {
            if let Some(l) = st.by_ino.get_mut(ino) {
                l.deferred.retain(|d| d.file_id != *file_id);
            }
            st.deferred -= 1;
            Self::drop_handle(st, *ino);
        }
        found.into_iter().map(|f| f.2).collect()
    }

    /// Kept handles older than `closetimeo`, to close now.
    pub fn expired(&self, now: Instant) -> Vec<FileId> {
        let mut st = lock(&self.state);
        let after = self.close_after;
        Self::take_deferred(
            &mut st,
            |_, since| now.duration_since(since) >= after,
            usize::MAX,
        )
    }

    /// Kept handles of `path` and below, to close before it is removed or renamed.
    pub fn take_tree(&self, path: &str) -> Vec<FileId> {
        let mut st = lock(&self.state);
        let prefix = format!("{}/", path.trim_end_matches('/'));
        Self::take_deferred(
            &mut st,
            |p, _| path.is_empty() || p == path || p.starts_with(&prefix),
            usize::MAX,
        )
    }

    /// How many closed handles are kept open now.
    pub fn deferred(&self) -> usize {
        lock(&self.state).deferred
    }

    /// The server breaks a lease: what to drop and close. The caller acknowledges the break
    /// (when the server asks) after closing the handles.
    pub fn broken(&self, b: &LeaseBreakNotification) -> BreakAction {
        let mut st = lock(&self.state);
        let Some(&ino) = st.by_key.get(&b.lease_key) else {
            return BreakAction::default();
        };
        let l = st.by_ino.get_mut(&ino).expect("keys and inodes agree");
        l.state &= b.new_lease_state;
        l.epoch = l.epoch.max(b.new_epoch);
        let mut action = BreakAction::default();
        if b.new_lease_state & LEASE_READ_CACHING == 0 {
            l.pages_valid = false;
            action.invalidate = Some(ino);
        }
        if b.new_lease_state & LEASE_HANDLE_CACHING == 0 && !l.deferred.is_empty() {
            let n = l.deferred.len();
            action.close = l.deferred.drain(..).map(|d| d.file_id).collect();
            st.deferred -= n;
            for _ in 0..n {
                Self::drop_handle(&mut st, ino);
            }
        }
        action
    }

    /// Kept handles, for tests: (inode's handles counted, kept).
    #[cfg(test)]
    fn counts(&self, ino: u64) -> Option<(usize, usize)> {
        let st = lock(&self.state);
        st.by_ino.get(&ino).map(|l| (l.handles, l.deferred.len()))
    }
}

impl Shared {
    /// Start answering the server's lease breaks, and closing kept handles once `closetimeo`
    /// has passed. Both tasks end with the mount.
    pub(super) fn start_lease_tasks(self: &Arc<Self>) {
        let mut breaks = self.client.lease_breaks();
        let weak = Arc::downgrade(self);
        self.rt.spawn(async move {
            while let Some(b) = breaks.recv().await {
                let Some(s) = weak.upgrade() else { break };
                // Each break on its own: one waiting on the server never holds up another.
                tokio::spawn(async move { s.lease_broken(b).await });
            }
        });
        if self.leases.close_after().is_zero() {
            return;
        }
        let weak = Arc::downgrade(self);
        let period = (self.leases.close_after() / 2).max(Duration::from_millis(100));
        self.rt.spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(s) = weak.upgrade() else { break };
                let expired = s.leases.expired(Instant::now());
                join_all(expired.into_iter().map(|f| s.client.close(f))).await;
            }
        });
    }

    async fn lease_broken(&self, b: LeaseBreakNotification) {
        let action = self.leases.broken(&b);
        if let Some(ino) = action.invalidate {
            // Another client is changing the file: our attributes and the kernel's pages go.
            self.inodes().invalidate(ino);
            self.watches.kernel.send(vec![Inval::Inode(ino)]);
        }
        join_all(action.close.into_iter().map(|f| self.client.close(f))).await;
        // Also for a key we no longer know (its handles are gone): the server waits for it.
        if b.flags & NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED != 0 {
            if let Err(e) = self
                .client
                .ack_lease_break(b.lease_key, b.new_lease_state)
                .await
            {
                log::debug!("lease break acknowledgment: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fid(n: u64) -> FileId {
        FileId {
            persistent: n,
            volatile: n,
        }
    }

    fn rh(epoch: u16) -> Option<GrantedLease> {
        Some(GrantedLease {
            state: WANTED,
            epoch,
            breaking: false,
        })
    }

    fn brk(key: [u8; 16], new_state: u32, epoch: u16) -> LeaseBreakNotification {
        LeaseBreakNotification {
            new_epoch: epoch,
            lease_key: key,
            current_lease_state: WANTED,
            new_lease_state: new_state,
            ..LeaseBreakNotification::default()
        }
    }

    #[test]
    fn pages_are_kept_only_across_an_unbroken_lease() {
        let l = Leases::new(true, Duration::from_secs(1));
        let key = l.key_for_open(7).unwrap();
        // First open: nothing cached under a lease yet.
        assert!(!l.opened(7, rh(1)));
        assert!(l.release(7, fid(1), false, "d/f").is_empty(), "kept");
        // Reopen: the kept handle, and the pages stay.
        assert_eq!(l.reuse(7, false), Some((fid(1), true)));
        // A second open asks with the same key and keeps the pages too.
        assert_eq!(l.key_for_open(7), Some(key));
        assert!(l.opened(7, rh(1)));
        assert_eq!(l.counts(7), Some((2, 0)));
        // Another client writes: read caching ends, the pages must go; handles stay open.
        let a = l.broken(&brk(key, LEASE_HANDLE_CACHING, 2));
        assert_eq!(a.invalidate, Some(7));
        assert!(a.close.is_empty());
        // A stale grant (an open that raced the break) does not bring read caching back.
        assert_eq!(l.key_for_open(7), Some(key));
        assert!(!l.opened(7, rh(1)));
        // A write-only reuse needs a writable kept handle.
        assert!(l.release(7, fid(1), false, "d/f").is_empty());
        assert_eq!(l.reuse(7, true), None);
        assert_eq!(l.counts(7), Some((3, 1)));
    }

    #[test]
    fn handle_break_closes_kept_handles_and_frees_the_key() {
        let l = Leases::new(true, Duration::from_secs(1));
        let key = l.key_for_open(3).unwrap();
        l.opened(3, rh(1));
        assert!(l.release(3, fid(9), true, "a/b").is_empty());
        let a = l.broken(&brk(key, LEASE_READ_CACHING, 2));
        assert_eq!(a.close, vec![fid(9)]);
        assert_eq!(a.invalidate, None);
        // No handle left: the lease is gone, the next open gets a new key.
        assert_eq!(l.counts(3), None);
        assert_ne!(l.key_for_open(3), Some(key));
        // An unknown key breaks nothing.
        assert_eq!(l.broken(&brk([1; 16], 0, 1)), BreakAction::default());
    }

    #[test]
    fn kept_handles_expire_and_are_closed_before_renames_and_deletes() {
        let l = Leases::new(true, Duration::from_millis(100));
        for (ino, path) in [(1, "dir/a"), (2, "dir/sub/b"), (3, "dirx/c")] {
            l.key_for_open(ino);
            l.opened(ino, rh(1));
            assert!(l.release(ino, fid(ino), false, path).is_empty());
        }
        assert_eq!(l.take_tree("dir"), vec![fid(1), fid(2)]);
        assert_eq!(l.deferred(), 1);
        assert!(l.expired(Instant::now()).is_empty());
        assert_eq!(
            l.expired(Instant::now() + Duration::from_millis(100)),
            vec![fid(3)]
        );
        assert_eq!(l.deferred(), 0);
        // Without handle caching, or with closetimeo=0, a release closes at once.
        let none = Leases::new(true, Duration::ZERO);
        none.key_for_open(5);
        none.opened(5, rh(1));
        assert_eq!(none.release(5, fid(5), false, "x"), vec![fid(5)]);
        let off = Leases::new(false, Duration::from_secs(1));
        assert_eq!(off.key_for_open(5), None);
        assert_eq!(off.release(5, fid(5), false, "x"), vec![fid(5)]);
    }

    #[test]
    fn too_many_kept_handles_close_the_oldest() {
        let l = Leases::new(true, Duration::from_secs(60));
        for ino in 0..MAX_DEFERRED as u64 {
            l.key_for_open(ino);
            l.opened(ino, rh(1));
            assert!(l.release(ino, fid(ino), false, "f").is_empty());
        }
        let ino = MAX_DEFERRED as u64;
        l.key_for_open(ino);
        l.opened(ino, rh(1));
        assert_eq!(l.release(ino, fid(ino), false, "f"), vec![fid(0)]);
    }

    #[test]
    fn created_files_adopt_their_key_unless_the_inode_has_one() {
        let l = Leases::new(true, Duration::from_secs(1));
        let key = l.key_for_create().unwrap();
        assert!(l.adopt(4, key, rh(1)));
        assert_eq!(l.key_for_open(4), Some(key));
        let other = l.key_for_create().unwrap();
        assert!(!l.adopt(4, other, rh(1)));
        assert_eq!(l.counts(4), Some((2, 0)));
    }
}
