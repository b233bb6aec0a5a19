//! The inode table: FUSE speaks inode numbers, SMB speaks paths.
//!
//! Inode 1 is the share root. Other inodes are the server's file id (`index_number`) when it
//! reports one, so that `ls -i`, `find`, `tar` and `git` see numbers that are stable across
//! lookups; when the server reports none (or one that collides with the root) a number is
//! generated from a counter in the upper half of the range. Each node remembers its
//! share-relative path (server-side spelling), the kernel's lookup count, and the last attributes
//! with when they were fetched (the attribute cache). Renames rewrite the paths of the node and
//! all its descendants; `forget` drops a node when the kernel's count reaches zero.
//!
//! The table also owns the directory cache ([`DirCache`]): every hook that learns of a change
//! (upsert, new attributes, invalidation, removal, rename) updates the cached listing of the
//! parent directory too, so the listings stay coherent with changes made through the mount.
//! Attributes and names are answered from a valid listing when the node has none fresh
//! ([`InodeTable::fresh`], [`InodeTable::lookup_cached`]), and names typed in another letter
//! case resolve to the stored name ([`InodeTable::resolve`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cache::{DirCache, Lookup};
use crate::client::FileAttrs;

pub const ROOT: u64 = 1;
const GENERATED_BASE: u64 = 1 << 63;

#[derive(Debug, Clone)]
pub struct Node {
    /// Share-relative path with '/' separators; "" for the root.
    pub path: String,
    /// The server's file id this inode number came from; 0 when generated.
    pub index: u64,
    pub lookups: u64,
    pub attrs: FileAttrs,
    /// When `attrs` were fetched; `None` once they are known to be stale.
    pub fetched: Option<Instant>,
    /// Unlinked (or replaced by a rename): no longer reachable by path.
    pub unlinked: bool,
}

#[derive(Debug)]
pub struct InodeTable {
    /// Boxed: the table then holds 16 bytes a slot instead of the node's ~130, which matters
    /// when `ls -l` of a 500,000-entry directory gives the kernel an inode for every entry (the
    /// table grows to a million slots, and briefly holds the old half as well while it does).
    nodes: HashMap<u64, Box<Node>>,
    by_path: HashMap<String, u64>,
    next_generated: u64,
    root_index: u64,
    /// Cached directory listings (see [`crate::cache`]).
    pub dirs: DirCache,
}

/// (parent directory, name) of a share-relative path; `None` for the root.
fn split(path: &str) -> Option<(&str, &str)> {
    if path.is_empty() {
        return None;
    }
    Some(path.rsplit_once('/').unwrap_or(("", path)))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

/// What the caches say about a name, for `lookup`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedLookup {
    /// Known and fresh: the stored path and its attributes.
    Hit(String, FileAttrs),
    /// A valid listing of the parent has no such name.
    Absent,
    /// Ask the server about this path (the stored spelling when a listing knows it).
    Miss(String),
}

impl InodeTable {
    pub fn new(root_attrs: FileAttrs) -> Self {
        let mut t = InodeTable {
            nodes: HashMap::new(),
            by_path: HashMap::new(),
            next_generated: GENERATED_BASE,
            root_index: root_attrs.index_number,
            dirs: DirCache::new(crate::cache::DEFAULT_MAX_ENTRIES, Duration::from_secs(1)),
        };
        let root = Node {
            path: String::new(),
            index: root_attrs.index_number,
            lookups: 1,
            attrs: root_attrs,
            fetched: Some(Instant::now()),
            unlinked: false,
        };
        t.nodes.insert(ROOT, Box::new(root));
        t.by_path.insert(String::new(), ROOT);
        t
    }

    /// A table whose directory cache is `dirs` (size and TTL from the mount options).
    pub fn with_dircache(root_attrs: FileAttrs, dirs: DirCache) -> Self {
        let mut t = Self::new(root_attrs);
        t.dirs = dirs;
        t
    }

    pub fn get(&self, ino: u64) -> Option<&Node> {
        self.nodes.get(&ino).map(|n| &**n)
    }

    pub fn ino_of(&self, path: &str) -> Option<u64> {
        self.by_path.get(path).copied()
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Cached attributes of `ino` if younger than `ttl`: the node's own, else those of a valid
    /// listing of its directory (unless a change through the mount made them stale).
    pub fn fresh(&self, ino: u64, ttl: impl Fn(&FileAttrs) -> Duration) -> Option<FileAttrs> {
        let n = self.nodes.get(&ino)?;
        if let Some(at) = n.fetched {
            if at.elapsed() < ttl(&n.attrs) {
                return Some(n.attrs);
            }
        }
        if n.unlinked {
            return None;
        }
        let (dir, name) = split(&n.path)?;
        let (stored, a, stale, age) = self.dirs.peek_entry(dir, name)?;
        (stored == name && !stale && age < ttl(&a)).then_some(a)
    }

    /// Resolve a path typed in any letter case to the stored spelling of its last component,
    /// when a valid listing of its directory knows the name; else the path unchanged.
    pub fn resolve(&mut self, path: &str) -> String {
        if let Some((dir, name)) = split(path) {
            if let Lookup::Found { name: stored, .. } = self.dirs.lookup(dir, name) {
                if stored != name {
                    return join(dir, &stored);
                }
            }
        }
        path.to_string()
    }

    /// Answer a lookup of `path` from the caches if they can: a valid listing of the parent
    /// (positive or negative, in any letter case), else fresh attributes of a known node.
    pub fn lookup_cached(
        &mut self,
        path: &str,
        ttl: impl Fn(&FileAttrs) -> Duration,
    ) -> CachedLookup {
        let mut path = path.to_string();
        if let Some((dir, name)) = split(&path) {
            match self.dirs.lookup(dir, name) {
                Lookup::Absent => return CachedLookup::Absent,
                Lookup::Found {
                    name: stored,
                    attrs,
                    stale,
                    age,
                } => {
                    let stored = join(dir, &stored);
                    if !stale && age < ttl(&attrs) {
                        return CachedLookup::Hit(stored, attrs);
                    }
                    path = stored;
                }
                Lookup::Uncached => {}
            }
        }
        match self.ino_of(&path).and_then(|i| self.fresh(i, &ttl)) {
            Some(a) => CachedLookup::Hit(path, a),
            None => CachedLookup::Miss(path),
        }
    }

    /// The stored name of `path`'s last component from a valid listing of its directory.
    pub fn listed_name(&self, path: &str) -> Option<String> {
        let (dir, name) = split(path)?;
        self.dirs.peek_entry(dir, name).map(|(n, ..)| n)
    }

    /// The server says `path` does not exist: drop it from the cached listings (the node, if
    /// any, is left to the caller, as the kernel may still hold it).
    pub fn gone(&mut self, path: &str) {
        self.forget_listed(path);
    }

    /// Drop `path` from its directory's cached listing and, unless it is known to be a file,
    /// the cached listings of it and below it.
    fn forget_listed(&mut self, path: &str) {
        if let Some((dir, name)) = split(path) {
            let removed = self.dirs.remove(dir, name);
            if removed.is_none_or(|e| e.attrs().is_dir()) {
                self.dirs.remove_tree(path);
            }
        }
    }

    /// Fresh attributes for `path` from the server (refreshing a stale listed entry), whether
    /// or not the kernel knows the node.
    pub fn refresh(&mut self, path: &str, attrs: FileAttrs) {
        match self.by_path.get(path).copied() {
            Some(ino) => self.set_attrs(ino, attrs),
            None => {
                if let Some((dir, name)) = split(path) {
                    self.dirs.upsert(dir, name, attrs);
                }
            }
        }
    }

    /// Cache the complete listing of `dir` (see [`DirCache::insert`]); entries of files that
    /// are open (inodes in `open`; writes may be in flight) are marked stale. Returns the
    /// listing, shared with the cache (`Ok`) or not cached (`Err`).
    pub fn store_listing(
        &mut self,
        dir: &str,
        ticket: u64,
        mut entries: Vec<crate::cache::Entry>,
        fetched: Instant,
        open: &std::collections::HashSet<u64>,
    ) -> Result<Arc<Vec<crate::cache::Entry>>, Arc<Vec<crate::cache::Entry>>> {
        if !open.is_empty() {
            for e in entries.iter_mut() {
                if e.attrs().is_dir() {
                    continue;
                }
                if let Some(ino) = self.by_path.get(&join(dir, e.name())) {
                    if open.contains(ino) {
                        e.set_stale();
                    }
                }
            }
        }
        entries.shrink_to_fit();
        let shared = Arc::new(entries);
        if self
            .dirs
            .insert_shared(dir, ticket, shared.clone(), fetched)
        {
            Ok(shared)
        } else {
            Err(shared)
        }
    }

    fn usable_index(&self, index: u64) -> bool {
        index != 0 && index != ROOT && index != self.root_index && index < GENERATED_BASE
    }

    /// Record that `path` has `attrs` (from a lookup, create, mkdir or listing) and return its
    /// inode number; `lookup` adds one to the kernel's lookup count.
    pub fn upsert(&mut self, path: &str, attrs: FileAttrs, lookup: bool) -> u64 {
        if path.is_empty() {
            let root = self.nodes.get_mut(&ROOT).expect("root");
            root.attrs = attrs;
            root.fetched = Some(Instant::now());
            return ROOT;
        }
        if let Some((dir, name)) = split(path) {
            self.dirs.upsert(dir, name, attrs);
        }
        let index = attrs.index_number;
        if let Some(ino) = self.by_path.get(path).copied() {
            let n = self.nodes.get_mut(&ino).expect("by_path points at a node");
            // Same file (or we never knew its id): keep the number the kernel already has.
            if n.index == 0 || index == 0 || n.index == index {
                if n.index == 0 {
                    n.index = index;
                }
                n.attrs = attrs;
                n.fetched = Some(Instant::now());
                n.lookups += lookup as u64;
                return ino;
            }
            // Another file now has this name (replaced behind our back).
            n.unlinked = true;
            self.by_path.remove(path);
        }
        let ino = if self.usable_index(index) {
            index
        } else {
            self.next_generated += 1;
            self.next_generated
        };
        if let Some(n) = self.nodes.get_mut(&ino) {
            // Known file seen under a new name (renamed on the server, or a hard link).
            if n.path != path && self.by_path.get(&n.path) == Some(&ino) {
                let old = n.path.clone();
                // What the server said, not a change: cached listings stay as they are.
                self.rename_nodes(&old, path);
            }
            let n = self.nodes.get_mut(&ino).expect("node");
            n.path = path.to_string();
            n.unlinked = false;
            n.attrs = attrs;
            n.fetched = Some(Instant::now());
            n.lookups += lookup as u64;
        } else {
            self.nodes.insert(
                ino,
                Box::new(Node {
                    path: path.to_string(),
                    index,
                    lookups: lookup as u64,
                    attrs,
                    fetched: Some(Instant::now()),
                    unlinked: false,
                }),
            );
        }
        self.by_path.insert(path.to_string(), ino);
        ino
    }

    /// New attributes for a known inode (after getattr or setattr).
    pub fn set_attrs(&mut self, ino: u64, attrs: FileAttrs) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.attrs = attrs;
            n.fetched = Some(Instant::now());
            if !n.unlinked {
                if let Some((dir, name)) = split(&n.path) {
                    self.dirs.upsert(dir, name, attrs);
                }
            }
        }
    }

    /// Mark the cached attributes stale (after a write through the mount).
    pub fn invalidate(&mut self, ino: u64) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.fetched = None;
            if !n.unlinked {
                if let Some((dir, name)) = split(&n.path) {
                    self.dirs.mark_stale(dir, name);
                }
            }
        }
    }

    /// Invalidate the node at `path`, if known (a directory whose contents changed).
    pub fn invalidate_path(&mut self, path: &str) {
        if let Some(ino) = self.by_path.get(path).copied() {
            self.invalidate(ino);
        }
    }

    /// The kernel forgets `n` lookups; nodes at zero are dropped.
    pub fn forget(&mut self, ino: u64, n: u64) {
        if ino == ROOT {
            return;
        }
        let Some(node) = self.nodes.get_mut(&ino) else {
            return;
        };
        node.lookups = node.lookups.saturating_sub(n);
        if node.lookups == 0 {
            let node = self.nodes.remove(&ino).expect("node");
            if self.by_path.get(&node.path) == Some(&ino) {
                self.by_path.remove(&node.path);
            }
        }
    }

    /// The name at `path` is gone (unlink, rmdir, or replaced by a rename).
    pub fn remove_path(&mut self, path: &str) {
        self.forget_listed(path);
        if let Some(ino) = self.by_path.remove(path) {
            if let Some(n) = self.nodes.get_mut(&ino) {
                n.unlinked = true;
                n.fetched = None;
            }
        }
    }

    /// Move a node to a hidden path (unlinked while open): reachable by inode, not by name.
    pub fn hide(&mut self, path: &str, hidden: &str) {
        if let Some((dir, name)) = split(path) {
            self.dirs.remove(dir, name);
        }
        if let Some(ino) = self.by_path.remove(path) {
            if let Some(n) = self.nodes.get_mut(&ino) {
                n.path = hidden.to_string();
                n.unlinked = true;
            }
        }
    }

    /// `from` was renamed to `to`: whatever was at `to` is gone, and the node at `from` and every
    /// descendant get their new paths.
    pub fn rename(&mut self, from: &str, to: &str) {
        // The target may be known under another spelling (the server matches names
        // case-insensitively); the node at `from` itself is not replaced (`mv readme README`).
        let existing = self.resolve(to);
        if existing != to && existing != from {
            self.remove_path(&existing);
        }
        if let (Some((fd, fname)), Some((td, tname))) = (split(from), split(to)) {
            self.dirs.rename(fd, fname, td, tname);
        }
        self.rename_nodes(from, to);
    }

    /// Move the nodes at `from` and below to `to`; the caches of listings are not touched.
    fn rename_nodes(&mut self, from: &str, to: &str) {
        if let Some(ino) = self.by_path.remove(to) {
            if let Some(n) = self.nodes.get_mut(&ino) {
                n.unlinked = true;
                n.fetched = None;
            }
        }
        let prefix = format!("{from}/");
        let moved: Vec<(String, u64)> = self
            .by_path
            .iter()
            .filter(|(p, _)| p.as_str() == from || p.starts_with(&prefix))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        for (old, ino) in moved {
            self.by_path.remove(&old);
            let new = format!("{to}{}", &old[from.len()..]);
            if let Some(n) = self.nodes.get_mut(&ino) {
                n.path = new.clone();
            }
            self.by_path.insert(new, ino);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::create::FILE_ATTRIBUTE_DIRECTORY;

    fn file(index: u64) -> FileAttrs {
        FileAttrs {
            index_number: index,
            nlink: 1,
            ..Default::default()
        }
    }

    #[test]
    fn server_ids_become_inode_numbers() {
        let mut t = InodeTable::new(FileAttrs {
            index_number: 77,
            attributes: FILE_ATTRIBUTE_DIRECTORY,
            ..Default::default()
        });
        assert_eq!(t.upsert("a", file(500), true), 500);
        assert_eq!(t.upsert("a", file(500), true), 500);
        assert_eq!(t.get(500).unwrap().lookups, 2);
        // Collisions with the root are remapped; unknown ids are generated.
        let r = t.upsert("b", file(77), true);
        assert!(r != 77 && r != ROOT);
        let one = t.upsert("c", file(1), true);
        assert!(one != ROOT);
        let g = t.upsert("d", file(0), true);
        assert!(g >= GENERATED_BASE);
        // An id learned later keeps the generated number.
        assert_eq!(t.upsert("d", file(900), false), g);
        // A different file under a known name gets a new inode.
        assert_eq!(t.upsert("a", file(501), true), 501);
        assert!(t.get(500).unwrap().unlinked);
    }

    #[test]
    fn rename_moves_descendants_and_forget_drops() {
        let mut t = InodeTable::new(FileAttrs::default());
        let d = t.upsert(
            "d",
            FileAttrs {
                index_number: 10,
                attributes: FILE_ATTRIBUTE_DIRECTORY,
                ..Default::default()
            },
            true,
        );
        let f = t.upsert("d/x/f", file(11), true);
        let other = t.upsert("e", file(12), true);
        t.upsert("e2", file(13), true);
        t.rename("d", "e");
        assert_eq!(t.get(d).unwrap().path, "e");
        assert_eq!(t.get(f).unwrap().path, "e/x/f");
        assert_eq!(t.ino_of("e/x/f"), Some(f));
        assert_eq!(t.ino_of("d/x/f"), None);
        assert!(t.get(other).unwrap().unlinked);
        t.forget(f, 1);
        assert!(t.get(f).is_none());
        assert_eq!(t.ino_of("e/x/f"), None);
        t.forget(ROOT, 5);
        assert!(t.get(ROOT).is_some());
        assert_eq!(t.ino_of("e2"), Some(13));
    }

    #[test]
    fn hooks_keep_the_directory_cache_coherent() {
        use crate::cache::Entry;
        let mut t = InodeTable::with_dircache(
            FileAttrs::default(),
            DirCache::new(1000, Duration::from_secs(60)),
        );
        let ticket = t.dirs.begin("d");
        let listing = vec![Entry::new("mixed.txt", file(20)), Entry::new("b", file(21))];
        assert!(t
            .store_listing("d", ticket, listing, Instant::now(), &Default::default())
            .is_ok());
        // Lookups in any case, positive and negative, from the listing.
        let ttl = |_: &FileAttrs| Duration::from_secs(60);
        assert_eq!(
            t.lookup_cached("d/MIXED.TXT", ttl),
            CachedLookup::Hit("d/mixed.txt".into(), file(20))
        );
        assert_eq!(t.lookup_cached("d/nope", ttl), CachedLookup::Absent);
        assert_eq!(t.resolve("d/B"), "d/b");
        // getattr from the listing; a write makes it stale until fresh attributes arrive.
        let i = t.upsert("d/mixed.txt", file(20), true);
        t.nodes.get_mut(&i).unwrap().fetched = None;
        assert_eq!(t.fresh(i, ttl), Some(file(20)));
        t.invalidate(i);
        assert_eq!(t.fresh(i, ttl), None);
        assert_eq!(
            t.lookup_cached("d/mixed.txt", ttl),
            CachedLookup::Miss("d/mixed.txt".into())
        );
        let grown = FileAttrs {
            size: 99,
            ..file(20)
        };
        t.set_attrs(i, grown);
        assert_eq!(t.dirs.peek_entry("d", "mixed.txt").unwrap().1.size, 99);
        // Create, case-only rename, rename over another spelling, unlink.
        t.upsert("d/new", file(22), true);
        assert_eq!(t.dirs.listed("d"), Some(3));
        t.rename("d/mixed.txt", "d/Mixed.TXT");
        assert_eq!(t.ino_of("d/Mixed.TXT"), Some(i));
        assert_eq!(t.resolve("d/mixed.txt"), "d/Mixed.TXT");
        let b = t.upsert("d/b", file(21), true);
        t.rename("d/new", "d/B");
        assert!(t.get(b).unwrap().unlinked);
        assert_eq!(t.lookup_cached("d/new", ttl), CachedLookup::Absent);
        assert_eq!(t.resolve("d/b"), "d/B");
        t.remove_path("d/B");
        assert_eq!(t.lookup_cached("d/b", ttl), CachedLookup::Absent);
        assert_eq!(t.dirs.listed("d"), Some(1));
        // A directory's removal forgets its own listing.
        let ticket = t.dirs.begin("d/sub");
        assert!(t
            .store_listing("d/sub", ticket, vec![], Instant::now(), &Default::default())
            .is_ok());
        t.remove_path("d/sub");
        assert_eq!(t.dirs.listed("d/sub"), None);
    }

    #[test]
    fn attribute_cache_expires_and_invalidates() {
        let mut t = InodeTable::new(FileAttrs::default());
        let i = t.upsert("f", file(5), true);
        assert!(t.fresh(i, |_| Duration::from_secs(60)).is_some());
        assert!(t.fresh(i, |_| Duration::ZERO).is_none());
        t.invalidate(i);
        assert!(t.fresh(i, |_| Duration::from_secs(60)).is_none());
    }
}
