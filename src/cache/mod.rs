//! The directory cache: whole listings, with every entry's attributes, kept for the directory
//! attribute TTL (`acdirmax`, else `actimeo`).
//!
//! One listing answers everything about a directory's children while it is valid: `readdir` and
//! `readdirplus`, `lookup` of any child, positive or negative (a name that is not in a valid
//! listing does not exist, so ENOENT needs no round trip), and `getattr` of every child. So
//! `ls -l` of a cached directory costs no round trip per file.
//!
//! Names are matched the way the server matches them: SMB servers (Windows, and Samba by
//! default) are case-insensitive, so every listing has an index keyed by the case-folded name,
//! and a lookup in any letter case resolves to the exact name stored on the server (an exact
//! match wins when a directory holds several spellings, as a case-sensitive disk behind Samba
//! can). Case folding is `char::to_lowercase` per character: simple Unicode lowercasing, not
//! the server's full upcase table (NTFS upcases with its own table, Samba with its own), so
//! names differing only in characters whose folding differs between those (e.g. Turkish dotless
//! i, final sigma) may resolve differently from the server; such a lookup falls back to the
//! server.
//!
//! Coherence: changes made through the mount update the cached listings at once (the inode
//! table calls [`DirCache::upsert`], [`DirCache::remove`], [`DirCache::rename`] and
//! [`DirCache::mark_stale`] from its own hooks); changes made by others are seen when the
//! listing expires, after the TTL at the latest. A listing that fails part way leaves nothing
//! behind, and a listing that raced with a change through the mount to the same directory is
//! not cached (see [`DirCache::begin`]).
//!
//! Size: the cache holds at most `max_entries` entries in total (`dircache_max`, default
//! 500,000; an empty listing counts as one) and evicts whole directories, least recently used
//! first. A directory with more
//! entries than that is still listed (the open directory handle keeps its own snapshot) but is
//! not cached.
//!
//! Memory per cached entry: the [`Entry`] itself is 88 bytes (a [`CompactString`] name, 24
//! bytes, which holds names of up to 24 bytes inline, and [`CompactAttrs`], 64 bytes: no
//! padding beyond one byte), plus, for a longer name, its heap block (glibc rounds up to 16
//! bytes with an 8-byte header: 48 bytes for names up to 40 bytes), plus the case-folded index:
//! a `hashbrown::HashTable<u32>` slot is 5 bytes, at a load of 7/8 down to 7/16, so 6 to 12
//! bytes per entry. About 100 bytes per entry for names of up to 24 bytes: some 50 MB for
//! 500,000 entries (`tests/dircache_mem.rs` measures the process RSS, together with the inode
//! table that `ls -l` of all of them fills).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};

use compact_str::CompactString;
use hashbrown::HashTable;
use lru::LruCache;

use crate::client::FileAttrs;

/// Default bound on the entries held by all cached listings together.
pub const DEFAULT_MAX_ENTRIES: usize = 500_000;

/// [`FileAttrs`] in 64 bytes: the link count (1 in listings) fits in 16 bits, and the entry's
/// "stale" flag rides in the padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactAttrs {
    index_number: u64,
    size: u64,
    allocation_size: u64,
    creation_time: u64,
    last_access_time: u64,
    last_write_time: u64,
    change_time: u64,
    attributes: u32,
    nlink: u16,
    /// Changed through the mount since it was fetched (a write): ask the server again.
    stale: bool,
}

impl From<FileAttrs> for CompactAttrs {
    fn from(a: FileAttrs) -> Self {
        CompactAttrs {
            index_number: a.index_number,
            size: a.size,
            allocation_size: a.allocation_size,
            creation_time: a.creation_time,
            last_access_time: a.last_access_time,
            last_write_time: a.last_write_time,
            change_time: a.change_time,
            attributes: a.attributes,
            nlink: a.nlink.min(u16::MAX as u32) as u16,
            stale: false,
        }
    }
}

impl CompactAttrs {
    pub fn get(&self) -> FileAttrs {
        FileAttrs {
            index_number: self.index_number,
            size: self.size,
            allocation_size: self.allocation_size,
            attributes: self.attributes,
            creation_time: self.creation_time,
            last_access_time: self.last_access_time,
            last_write_time: self.last_write_time,
            change_time: self.change_time,
            nlink: self.nlink as u32,
        }
    }
}

/// One cached directory entry: the name as stored on the server, and its attributes.
#[derive(Debug, Clone)]
pub struct Entry {
    name: CompactString,
    attrs: CompactAttrs,
}

impl Entry {
    pub fn new(name: impl Into<CompactString>, attrs: FileAttrs) -> Entry {
        Entry {
            name: name.into(),
            attrs: attrs.into(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn attrs(&self) -> FileAttrs {
        self.attrs.get()
    }

    /// Changed through the mount since it was listed: its attributes must be fetched again.
    pub fn set_stale(&mut self) {
        self.attrs.stale = true;
    }
}

fn folded(s: &str) -> impl Iterator<Item = char> + '_ {
    s.chars().flat_map(char::to_lowercase)
}

/// Whether two names are the same name to a case-insensitive server (see the module docs).
pub fn fold_eq(a: &str, b: &str) -> bool {
    a == b || folded(a).eq(folded(b))
}

fn fold_hash(hs: &RandomState, s: &str) -> u64 {
    let mut h = hs.build_hasher();
    for c in folded(s) {
        h.write_u32(c as u32);
    }
    h.finish()
}

/// One directory's listing: entries in listing order (removals swap the last entry in) and the
/// case-folded index into them.
#[derive(Debug)]
struct Listing {
    fetched: Instant,
    /// Shared with the snapshots of open directory handles; copied only if changed while one
    /// is open.
    entries: Arc<Vec<Entry>>,
    index: HashTable<u32>,
    stale: usize,
}

impl Listing {
    fn build(hs: &RandomState, entries: Arc<Vec<Entry>>, fetched: Instant) -> Listing {
        let mut index = HashTable::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            index.insert_unique(fold_hash(hs, &e.name), i as u32, |&j| {
                fold_hash(hs, &entries[j as usize].name)
            });
        }
        let stale = entries.iter().filter(|e| e.attrs.stale).count();
        Listing {
            fetched,
            entries,
            index,
            stale,
        }
    }

    /// The entry named `name`: the exact spelling if present, else one equal after folding.
    fn find(&self, hs: &RandomState, name: &str) -> Option<usize> {
        let mut folded_match = None;
        for &i in self.index.iter_hash(fold_hash(hs, name)) {
            let e = &self.entries[i as usize];
            if &*e.name == name {
                return Some(i as usize);
            }
            if folded_match.is_none() && fold_eq(&e.name, name) {
                folded_match = Some(i as usize);
            }
        }
        folded_match
    }

    fn push(&mut self, hs: &RandomState, e: Entry) {
        let i = self.entries.len() as u32;
        let hash = fold_hash(hs, &e.name);
        self.stale += e.attrs.stale as usize;
        Arc::make_mut(&mut self.entries).push(e);
        let entries = &self.entries;
        self.index
            .insert_unique(hash, i, |&j| fold_hash(hs, &entries[j as usize].name));
    }

    fn remove(&mut self, hs: &RandomState, i: usize) -> Entry {
        let hash = fold_hash(hs, &self.entries[i].name);
        if let Ok(slot) = self.index.find_entry(hash, |&v| v as usize == i) {
            slot.remove();
        }
        let last = self.entries.len() - 1;
        let e = Arc::make_mut(&mut self.entries).swap_remove(i);
        if i != last {
            let moved = fold_hash(hs, &self.entries[i].name);
            if let Some(v) = self.index.find_mut(moved, |&v| v as usize == last) {
                *v = i as u32;
            }
        }
        self.stale -= e.attrs.stale as usize;
        e
    }

    fn set_stale(&mut self, i: usize, stale: bool) {
        let a = &mut Arc::make_mut(&mut self.entries)[i].attrs;
        if a.stale != stale {
            a.stale = stale;
            if stale {
                self.stale += 1;
            } else {
                self.stale -= 1;
            }
        }
    }
}

/// What a valid cached listing says about a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The directory has no valid cached listing: ask the server.
    Uncached,
    /// The listing is valid and has no such name.
    Absent,
    /// The name as stored, its attributes, whether they are stale, and the listing's age.
    Found {
        name: String,
        attrs: FileAttrs,
        stale: bool,
        age: Duration,
    },
}

/// The cache: listings keyed by share-relative directory path ("" is the root), in LRU order.
#[derive(Debug)]
pub struct DirCache {
    dirs: LruCache<Box<str>, Listing>,
    total: usize,
    /// Listings with no entries (directories made through the mount): each counts as one
    /// entry against `max_entries`, so that they too are evicted.
    empty: usize,
    max_entries: usize,
    ttl: Duration,
    hs: RandomState,
    /// Listings being fetched: directory → (fetches in flight, changes seen meanwhile).
    inflight: std::collections::HashMap<Box<str>, (usize, u64)>,
}

impl DirCache {
    /// A cache of at most `max_entries` entries (0 disables it) whose listings are valid for
    /// `ttl`.
    pub fn new(max_entries: usize, ttl: Duration) -> DirCache {
        DirCache {
            dirs: LruCache::unbounded(),
            total: 0,
            empty: 0,
            max_entries,
            ttl,
            hs: RandomState::new(),
            inflight: Default::default(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Entries held by all listings.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Number of cached directories.
    pub fn dirs(&self) -> usize {
        self.dirs.len()
    }

    fn valid(&self, l: &Listing) -> bool {
        l.fetched.elapsed() < self.ttl
    }

    fn drop_dir(&mut self, dir: &str) {
        if let Some(l) = self.dirs.pop(dir) {
            self.forgotten(&l);
        }
    }

    /// `l` has left the cache.
    fn forgotten(&mut self, l: &Listing) {
        self.total -= l.entries.len();
        if l.entries.is_empty() {
            self.empty -= 1;
        }
    }

    /// What counts against `max_entries`: the entries, and one for each empty listing.
    fn charged(&self) -> usize {
        self.total + self.empty
    }

    /// The valid listing of `dir`, promoted in LRU order; an expired one is dropped.
    fn get_mut(&mut self, dir: &str) -> Option<&mut Listing> {
        let valid = self.valid(self.dirs.peek(dir)?);
        if !valid {
            self.drop_dir(dir);
            return None;
        }
        self.dirs.get_mut(dir)
    }

    /// The valid listing of `dir` without touching the LRU order.
    fn peek(&self, dir: &str) -> Option<&Listing> {
        self.dirs.peek(dir).filter(|l| self.valid(l))
    }

    fn evict_to(&mut self, max: usize) {
        while self.charged() > max {
            match self.dirs.pop_lru() {
                Some((_, l)) => self.forgotten(&l),
                None => break,
            }
        }
    }

    /// Something in `dir` changed through the mount: a listing of it in flight is out of date.
    fn touched(&mut self, dir: &str) {
        if let Some(v) = self.inflight.get_mut(dir) {
            v.1 += 1;
        }
    }

    /// A listing of `dir` is about to be fetched from the server; hand the ticket to
    /// [`DirCache::insert`] (or [`DirCache::abort`]). A change to `dir` through the mount in
    /// between makes the insert refuse, as the listing may predate it.
    pub fn begin(&mut self, dir: &str) -> u64 {
        let v = self.inflight.entry(dir.into()).or_insert((0, 0));
        v.0 += 1;
        v.1
    }

    fn end(&mut self, dir: &str) -> Option<u64> {
        let v = self.inflight.get_mut(dir)?;
        v.0 -= 1;
        let changes = v.1;
        if v.0 == 0 {
            self.inflight.remove(dir);
        }
        Some(changes)
    }

    /// The fetch started by [`DirCache::begin`] failed.
    pub fn abort(&mut self, dir: &str) {
        self.end(dir);
    }

    /// Cache the complete listing of `dir`, fetched starting at `fetched`. Returns false (and
    /// caches nothing) when it is larger than the whole cache, when the cache is off, or when
    /// the directory changed through the mount while it was being fetched.
    pub fn insert(
        &mut self,
        dir: &str,
        ticket: u64,
        entries: Vec<Entry>,
        fetched: Instant,
    ) -> bool {
        self.insert_shared(dir, ticket, Arc::new(entries), fetched)
    }

    /// [`DirCache::insert`] of a listing that a directory handle's snapshot shares.
    pub fn insert_shared(
        &mut self,
        dir: &str,
        ticket: u64,
        entries: Arc<Vec<Entry>>,
        fetched: Instant,
    ) -> bool {
        let unchanged = self.end(dir) == Some(ticket);
        self.drop_dir(dir);
        let charge = entries.len().max(1);
        if !unchanged || charge > self.max_entries {
            return false;
        }
        self.evict_to(self.max_entries - charge);
        self.total += entries.len();
        if entries.is_empty() {
            self.empty += 1;
        }
        let l = Listing::build(&self.hs, entries, fetched);
        self.dirs.put(dir.into(), l);
        true
    }

    /// Look `name` up in the valid listing of `dir`.
    pub fn lookup(&mut self, dir: &str, name: &str) -> Lookup {
        let hs = self.hs.clone();
        let Some(l) = self.get_mut(dir) else {
            return Lookup::Uncached;
        };
        match l.find(&hs, name) {
            None => Lookup::Absent,
            Some(i) => {
                let e = &l.entries[i];
                Lookup::Found {
                    name: e.name.to_string(),
                    attrs: e.attrs.get(),
                    stale: e.attrs.stale,
                    age: l.fetched.elapsed(),
                }
            }
        }
    }

    /// Attributes of `name` in the valid listing of `dir` (exact or folded match), with whether
    /// they are stale and the listing's age; does not change the LRU order.
    pub fn peek_entry(&self, dir: &str, name: &str) -> Option<(String, FileAttrs, bool, Duration)> {
        let l = self.peek(dir)?;
        let i = l.find(&self.hs, name)?;
        let e = &l.entries[i];
        Some((
            e.name.to_string(),
            e.attrs.get(),
            e.attrs.stale,
            l.fetched.elapsed(),
        ))
    }

    /// [`Self::peek_entry`] of the entry spelled exactly `name` (no name copied): its
    /// attributes, whether they are stale, and the listing's age.
    pub fn peek_exact(&self, dir: &str, name: &str) -> Option<(FileAttrs, bool, Duration)> {
        let l = self.peek(dir)?;
        let e = &l.entries[l.find(&self.hs, name)?];
        (&*e.name == name).then(|| (e.attrs.get(), e.attrs.stale, l.fetched.elapsed()))
    }

    /// The names of the stale entries of the valid listing of `dir`, or `None` when `dir` has
    /// no valid listing.
    pub fn stale_names(&mut self, dir: &str) -> Option<Vec<String>> {
        let l = self.get_mut(dir)?;
        if l.stale == 0 {
            return Some(Vec::new());
        }
        Some(
            l.entries
                .iter()
                .filter(|e| e.attrs.stale)
                .map(|e| e.name.to_string())
                .collect(),
        )
    }

    /// Number of entries of the valid listing of `dir`.
    pub fn listed(&self, dir: &str) -> Option<usize> {
        self.peek(dir).map(|l| l.entries.len())
    }

    /// The names of the entries of the valid listing of `dir` that satisfy `pred`.
    pub fn names_where(&self, dir: &str, pred: impl Fn(&str) -> bool) -> Option<Vec<String>> {
        let l = self.peek(dir)?;
        Some(
            l.entries
                .iter()
                .filter(|e| pred(&e.name))
                .map(|e| e.name.to_string())
                .collect(),
        )
    }

    /// The valid listing of `dir` itself, shared (for a directory handle's snapshot).
    pub fn snapshot(&mut self, dir: &str) -> Option<Arc<Vec<Entry>>> {
        self.get_mut(dir).map(|l| l.entries.clone())
    }

    /// `name` in `dir` exists with `attrs` (created, or fresh attributes from the server). A
    /// name equal after folding is replaced: the server has one file for both spellings.
    pub fn upsert(&mut self, dir: &str, name: &str, attrs: FileAttrs) {
        self.touched(dir);
        let hs = self.hs.clone();
        let Some(l) = self.get_mut(dir) else {
            return;
        };
        match l.find(&hs, name) {
            Some(i) => {
                let old = l.entries[i].attrs;
                let mut new = CompactAttrs::from(attrs);
                if new.index_number == 0 {
                    new.index_number = old.index_number;
                }
                if old.stale
                    && (CompactAttrs {
                        stale: false,
                        ..old
                    }) == new
                {
                    // Only what was known before the change: still stale.
                    return;
                }
                if !old.stale && old == new && &*l.entries[i].name == name {
                    // Nothing new (a readdirplus or lookup repeating the listing): leave the
                    // entries alone, so a snapshot sharing them is not copied.
                    return;
                }
                l.set_stale(i, false);
                Arc::make_mut(&mut l.entries)[i].attrs = new;
                if &*l.entries[i].name != name {
                    l.remove(&hs, i);
                    l.push(
                        &hs,
                        Entry {
                            name: name.into(),
                            attrs: new,
                        },
                    );
                }
            }
            None => {
                let was_empty = l.entries.is_empty();
                l.push(&hs, Entry::new(name, attrs));
                if was_empty {
                    self.empty -= 1;
                }
                self.total += 1;
                if self.charged() > self.max_entries {
                    // This listing is the most recently used: others go first.
                    self.evict_to(self.max_entries);
                }
            }
        }
    }

    /// `name` in `dir` changed through the mount (a write): its cached attributes are stale.
    pub fn mark_stale(&mut self, dir: &str, name: &str) {
        self.touched(dir);
        let hs = &self.hs;
        if let Some(l) = self.dirs.peek_mut(dir) {
            if let Some(i) = l.find(hs, name) {
                l.set_stale(i, true);
            }
        }
    }

    /// `name` is gone from `dir`; returns the entry if it was cached.
    pub fn remove(&mut self, dir: &str, name: &str) -> Option<Entry> {
        self.touched(dir);
        let hs = &self.hs;
        let l = self.dirs.peek_mut(dir)?;
        let i = l.find(hs, name)?;
        let e = l.remove(hs, i);
        if l.entries.is_empty() {
            self.empty += 1;
        }
        self.total -= 1;
        Some(e)
    }

    /// Anything in `dir` may have changed (a change notification overflowed): forget its
    /// listing, and make a listing of it in flight refuse to be cached. Returns the names the
    /// listing held.
    pub fn drop_listing(&mut self, dir: &str) -> Vec<String> {
        self.touched(dir);
        let names = self
            .dirs
            .peek(dir)
            .map(|l| l.entries.iter().map(|e| e.name.to_string()).collect())
            .unwrap_or_default();
        self.drop_dir(dir);
        names
    }

    /// Forget the listings of `path` and of every directory below it (removed or renamed).
    pub fn remove_tree(&mut self, path: &str) {
        let under = |k: &str| {
            path.is_empty()
                || k == path
                || (k.len() > path.len() && k.starts_with(path) && k.as_bytes()[path.len()] == b'/')
        };
        let keys: Vec<Box<str>> = self
            .dirs
            .iter()
            .map(|(k, _)| k)
            .filter(|k| under(k))
            .cloned()
            .collect();
        for k in keys {
            self.drop_dir(&k);
        }
        let inflight: Vec<Box<str>> = self.inflight.keys().filter(|k| under(k)).cloned().collect();
        for k in inflight {
            self.touched(&k);
        }
    }

    /// `from_name` in `from_dir` was renamed to `to_name` in `to_dir`, replacing whatever had
    /// that name.
    pub fn rename(&mut self, from_dir: &str, from_name: &str, to_dir: &str, to_name: &str) {
        let moved = self.remove(from_dir, from_name);
        self.remove(to_dir, to_name);
        // A file has no listings below it, and can only replace a file: no need to search
        // every cached directory (renames of files are common: editors, rsync).
        let file = moved.as_ref().is_some_and(|e| !e.attrs.get().is_dir());
        match moved {
            Some(e) => {
                let stale = e.attrs.stale;
                self.upsert(to_dir, to_name, e.attrs.get());
                if stale {
                    self.mark_stale(to_dir, to_name);
                }
            }
            // Attributes unknown: the target listing cannot be completed.
            None => self.drop_dir(to_dir),
        }
        if !file {
            self.remove_tree(&join(from_dir, from_name));
            self.remove_tree(&join(to_dir, to_name));
        }
    }
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::create::FILE_ATTRIBUTE_DIRECTORY;

    fn a(index: u64, size: u64) -> FileAttrs {
        FileAttrs {
            index_number: index,
            size,
            nlink: 1,
            ..Default::default()
        }
    }

    fn cache(max: usize) -> DirCache {
        DirCache::new(max, Duration::from_secs(60))
    }

    fn fill(c: &mut DirCache, dir: &str, names: &[&str]) -> bool {
        let t = c.begin(dir);
        let entries = names
            .iter()
            .enumerate()
            .map(|(i, n)| Entry::new(*n, a(100 + i as u64, i as u64)))
            .collect();
        c.insert(dir, t, entries, Instant::now())
    }

    fn found(l: Lookup) -> (String, FileAttrs) {
        match l {
            Lookup::Found { name, attrs, .. } => (name, attrs),
            other => panic!("expected Found, got {other:?}"),
        }
    }

    #[test]
    fn compact() {
        assert_eq!(std::mem::size_of::<CompactAttrs>(), 64);
        assert_eq!(std::mem::size_of::<Entry>(), 88);
    }

    /// Empty listings (directories made through the mount) count against the limit, so any
    /// number of them cannot grow the cache without bound.
    #[test]
    fn empty_listings_count_and_are_evicted() {
        let mut c = cache(10);
        for i in 0..30 {
            assert!(fill(&mut c, &format!("e{i}"), &[]));
        }
        assert_eq!(c.dirs(), 10);
        assert_eq!((c.len(), c.charged()), (0, 10));
        assert_eq!(c.lookup("e29", "x"), Lookup::Absent);
        assert_eq!(c.lookup("e0", "x"), Lookup::Uncached);
        // A listing that fills is charged its entries (a second one evicts the oldest empty
        // listing); emptied again, it is charged one.
        c.upsert("e29", "a", a(1, 1));
        assert_eq!((c.len(), c.charged(), c.dirs()), (1, 10, 10));
        c.upsert("e29", "b", a(2, 2));
        assert_eq!((c.len(), c.charged(), c.dirs()), (2, 10, 9));
        assert!(c.remove("e29", "a").is_some());
        assert!(c.remove("e29", "b").is_some());
        assert_eq!((c.len(), c.charged(), c.dirs()), (0, 9, 9));
        c.remove_tree("");
        assert_eq!((c.dirs(), c.charged()), (0, 0));
    }

    #[test]
    fn positive_negative_and_case_insensitive_lookups() {
        let mut c = cache(100);
        assert_eq!(c.lookup("d", "x"), Lookup::Uncached);
        assert!(fill(&mut c, "d", &["mixed.txt", "Other", "a", "A"]));
        assert_eq!(c.len(), 4);
        assert_eq!(found(c.lookup("d", "MiXeD.TXT")).0, "mixed.txt");
        assert_eq!(found(c.lookup("d", "other")).0, "Other");
        // An exact spelling wins over a folded one.
        assert_eq!(found(c.lookup("d", "A")).0, "A");
        assert_eq!(found(c.lookup("d", "a")).0, "a");
        assert_eq!(c.lookup("d", "missing"), Lookup::Absent);
        assert_eq!(c.lookup("e", "mixed.txt"), Lookup::Uncached);
        // Non-ASCII folding.
        assert!(fill(&mut c, "u", &["Ärger-ΣΊΣΥΦΟΣ"]));
        assert_eq!(found(c.lookup("u", "ärger-σίσυφοσ")).0, "Ärger-ΣΊΣΥΦΟΣ");
    }

    #[test]
    fn expiry_and_failed_or_raced_listings() {
        let mut c = DirCache::new(100, Duration::ZERO);
        assert!(fill(&mut c, "d", &["x"]));
        assert_eq!(c.lookup("d", "x"), Lookup::Uncached);
        assert_eq!(c.len(), 0);

        let mut c = cache(100);
        let t = c.begin("d");
        c.abort("d");
        assert!(c.inflight.is_empty());
        // A change through the mount during the fetch: not cached.
        let t2 = c.begin("d");
        assert_eq!(t, t2);
        c.upsert("d", "new", a(5, 0));
        assert!(!c.insert("d", t2, vec![Entry::new("old", a(1, 0))], Instant::now()));
        assert_eq!(c.lookup("d", "old"), Lookup::Uncached);
        assert!(c.inflight.is_empty());
    }

    #[test]
    fn bounded_with_lru_eviction_of_whole_directories() {
        let mut c = cache(5);
        assert!(fill(&mut c, "a", &["1", "2"]));
        assert!(fill(&mut c, "b", &["1", "2"]));
        // Too large for the whole cache: not cached, others untouched.
        assert!(!fill(&mut c, "big", &["1", "2", "3", "4", "5", "6"]));
        assert_eq!((c.len(), c.dirs()), (4, 2));
        // Use "a"; inserting "c" evicts "b", the least recently used.
        assert!(matches!(c.lookup("a", "1"), Lookup::Found { .. }));
        assert!(fill(&mut c, "c", &["1", "2"]));
        assert_eq!(c.lookup("b", "1"), Lookup::Uncached);
        assert_eq!((c.len(), c.dirs()), (4, 2));
        // Growing "c" past the limit evicts "a".
        c.upsert("c", "3", a(9, 0));
        c.upsert("c", "4", a(10, 0));
        assert_eq!(c.lookup("a", "1"), Lookup::Uncached);
        assert_eq!(c.len(), 4);
        // Disabled.
        let mut off = cache(0);
        assert!(!fill(&mut off, "a", &["1"]));
        assert!(!fill(&mut off, "e", &[]));
        assert_eq!(off.lookup("e", "x"), Lookup::Uncached);
    }

    #[test]
    fn changes_update_listings() {
        let mut c = cache(100);
        let names: Vec<String> = (0..50).map(|i| format!("f{i}")).collect();
        let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
        assert!(fill(&mut c, "d", &refs));
        assert!(fill(&mut c, "d/sub", &["x"]));
        assert!(fill(&mut c, "d/sub/deeper", &["y"]));
        // Removal keeps the index right for the entry swapped in.
        assert!(c.remove("d", "F3").is_some());
        assert_eq!(c.lookup("d", "f3"), Lookup::Absent);
        assert_eq!(found(c.lookup("d", "f49")).1.index_number, 149);
        for i in 0..50 {
            if i != 3 {
                assert_eq!(found(c.lookup("d", &format!("F{i}"))).0, format!("f{i}"));
            }
        }
        // Creation, and fresh attributes keeping the known file id.
        c.upsert("d", "new", a(7, 1));
        c.upsert("d", "new", a(0, 2));
        let (_, at) = found(c.lookup("d", "NEW"));
        assert_eq!((at.index_number, at.size), (7, 2));
        // Stale after a write until fresh attributes arrive.
        c.mark_stale("d", "new");
        assert_eq!(c.stale_names("d").unwrap(), vec!["new".to_string()]);
        c.upsert("d", "new", a(7, 2));
        assert!(matches!(
            c.lookup("d", "new"),
            Lookup::Found { stale: true, .. }
        ));
        c.upsert("d", "new", a(7, 10));
        assert!(matches!(
            c.lookup("d", "new"),
            Lookup::Found { stale: false, .. }
        ));
        assert!(c.stale_names("d").unwrap().is_empty());
        // Case-only rename.
        c.rename("d", "f0", "d", "F0");
        assert_eq!(found(c.lookup("d", "f0")).0, "F0");
        assert_eq!(
            c.names_where("d", |n| n.eq_ignore_ascii_case("f0"))
                .unwrap()
                .len(),
            1
        );
        // Renaming a directory forgets the listings below it.
        let mut dir = a(500, 0);
        dir.attributes = FILE_ATTRIBUTE_DIRECTORY;
        c.upsert("d", "sub", dir);
        c.rename("d", "sub", "", "moved");
        assert_eq!(c.lookup("d/sub", "x"), Lookup::Uncached);
        assert_eq!(c.lookup("d/sub/deeper", "y"), Lookup::Uncached);
        assert_eq!(c.lookup("d", "sub"), Lookup::Absent);
        // Moved into an uncached directory: nothing to update there.
        assert_eq!(c.lookup("", "moved"), Lookup::Uncached);
        // Something not in any cached listing may be a directory: the listings below it go.
        assert!(fill(&mut c, "x/unknown/below", &["z"]));
        c.rename("x", "unknown", "", "elsewhere");
        assert_eq!(c.lookup("x/unknown/below", "z"), Lookup::Uncached);
        let total: usize = c.listed("d").unwrap();
        assert_eq!(c.len(), total);
    }
}
