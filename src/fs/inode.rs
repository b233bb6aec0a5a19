//! The inode table: FUSE speaks inode numbers, SMB speaks paths.
//!
//! Inode 1 is the share root. Other inodes are the server's file id (`index_number`) when it
//! reports one, so that `ls -i`, `find`, `tar` and `git` see numbers that are stable across
//! lookups; when the server reports none (or one that collides with the root) a number is
//! generated from a counter in the upper half of the range.
//!
//! Each node holds its parent and its own name (server-side spelling), not its whole path: a
//! path is built by walking up, and a rename moves one node, its descendants following. Nodes
//! live in a slab; two hash tables of slot numbers find them by inode number and by
//! (parent, name). A node stays while the kernel holds lookups on it or while other nodes name
//! it as their parent, so every node's path can always be built.
//!
//! Attributes: a node keeps its own copy (with when it was fetched: the attribute cache) only
//! when they came from the server for it alone (lookup, getattr, create, setattr). Attributes
//! that a cached listing holds (`readdirplus`, lookups answered from a listing) are not copied:
//! the listing answers for them ([`InodeTable::fresh`]). So `ls -l` of a directory of 500,000
//! files, which gives the kernel an inode for every entry, costs about 95 bytes a node: the
//! 72-byte node (an inline name of up to 24 bytes), 8 to 16 bytes of hash tables, and nothing
//! else for names that fit inline (`tests/dircache_mem.rs` measures it).
//!
//! The table also owns the directory cache ([`DirCache`]): every hook that learns of a change
//! (upsert, new attributes, invalidation, removal, rename) updates the cached listing of the
//! parent directory too, so the listings stay coherent with changes made through the mount.
//! Names typed in another letter case resolve to the stored name ([`InodeTable::resolve`]).

use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::Arc;
use std::time::{Duration, Instant};

use compact_str::CompactString;
use hashbrown::HashTable;

use crate::cache::{DirCache, Lookup};
use crate::client::FileAttrs;

pub const ROOT: u64 = 1;
const GENERATED_BASE: u64 = 1 << 63;
/// The root's slot; it is never freed.
const ROOT_SLOT: u32 = 0;
/// The unit of [`Node::listed_at`]: 10 ms, so a `u32` spans 497 days.
const TICK: Duration = Duration::from_millis(10);

/// Attributes fetched from the server for one node.
#[derive(Debug, Clone, Copy)]
struct OwnAttrs {
    attrs: FileAttrs,
    /// When they were fetched; `None` once they are known to be stale.
    fetched: Option<Instant>,
}

/// One inode (72 bytes). A free slot has `ino == 0`.
#[derive(Debug)]
struct Node {
    ino: u64,
    /// The server's file id this inode number came from; 0 when generated and not yet known.
    index: u64,
    /// Slot of the parent directory's node (the root's is its own).
    parent: u32,
    /// The kernel's lookup count (saturating: the kernel never holds billions).
    lookups: u32,
    /// Nodes whose parent this is.
    children: u32,
    /// Reachable by (parent, name): false once unlinked, replaced or hidden.
    linked: bool,
    /// When the kernel was last given this node's attributes from a cached listing, in
    /// [`TICK`]s since the table was made (0: never, or stale since). Those attributes count
    /// as fetched then, as if the node kept a copy, though it keeps none.
    listed_at: u32,
    /// Name in the parent, as stored on the server ("" for the root).
    name: CompactString,
    own: Option<Box<OwnAttrs>>,
}

impl Node {
    fn free() -> Node {
        Node {
            ino: 0,
            index: 0,
            parent: ROOT_SLOT,
            lookups: 0,
            children: 0,
            linked: false,
            listed_at: 0,
            name: CompactString::default(),
            own: None,
        }
    }
}

#[derive(Debug)]
pub struct InodeTable {
    slots: Vec<Node>,
    free: Vec<u32>,
    /// Slots by inode number.
    by_ino: HashTable<u32>,
    /// Slots of linked nodes by (parent slot, name).
    by_name: HashTable<u32>,
    hs: RandomState,
    /// The zero of `listed_at`.
    epoch: Instant,
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

fn ino_hash(hs: &RandomState, ino: u64) -> u64 {
    hs.hash_one(ino)
}

fn name_hash(hs: &RandomState, parent: u32, name: &str) -> u64 {
    let mut h = hs.build_hasher();
    parent.hash(&mut h);
    name.hash(&mut h);
    h.finish()
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

/// What the table knows of one inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    /// Share-relative path (the hidden name of a file unlinked while open).
    pub path: String,
    /// No longer reachable by its path.
    pub unlinked: bool,
    /// The last attributes known, fresh or not: its own, else its cached listing's.
    pub attrs: Option<FileAttrs>,
}

impl InodeTable {
    pub fn new(root_attrs: FileAttrs) -> Self {
        let mut t = InodeTable {
            slots: Vec::new(),
            free: Vec::new(),
            by_ino: HashTable::new(),
            by_name: HashTable::new(),
            hs: RandomState::new(),
            epoch: Instant::now(),
            next_generated: GENERATED_BASE,
            root_index: root_attrs.index_number,
            dirs: DirCache::new(crate::cache::DEFAULT_MAX_ENTRIES, Duration::from_secs(1)),
        };
        let root = t.alloc(ROOT, root_attrs.index_number, ROOT_SLOT, "");
        debug_assert_eq!(root, ROOT_SLOT);
        t.slots[root as usize].lookups = 1;
        t.set_own(root, root_attrs);
        t
    }

    /// A table whose directory cache is `dirs` (size and TTL from the mount options).
    pub fn with_dircache(root_attrs: FileAttrs, dirs: DirCache) -> Self {
        let mut t = Self::new(root_attrs);
        t.dirs = dirs;
        t
    }

    // --- slots and indices -------------------------------------------------------------

    /// A new node in a free slot, indexed by inode number (not by name: see [`Self::link`]).
    fn alloc(&mut self, ino: u64, index: u64, parent: u32, name: &str) -> u32 {
        let node = Node {
            ino,
            index,
            parent,
            name: CompactString::from(name),
            ..Node::free()
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = node;
                s
            }
            None => {
                self.slots.push(node);
                (self.slots.len() - 1) as u32
            }
        };
        if slot != ROOT_SLOT {
            self.slots[parent as usize].children += 1;
        }
        let (hs, slots) = (&self.hs, &self.slots);
        self.by_ino.insert_unique(ino_hash(hs, ino), slot, |&s| {
            ino_hash(hs, slots[s as usize].ino)
        });
        slot
    }

    fn slot(&self, ino: u64) -> Option<u32> {
        let slots = &self.slots;
        self.by_ino
            .find(ino_hash(&self.hs, ino), |&s| slots[s as usize].ino == ino)
            .copied()
    }

    fn child(&self, parent: u32, name: &str) -> Option<u32> {
        let slots = &self.slots;
        self.by_name
            .find(name_hash(&self.hs, parent, name), |&s| {
                let n = &slots[s as usize];
                n.parent == parent && n.name == name
            })
            .copied()
    }

    /// The slot of the linked node at `path`.
    fn slot_at(&self, path: &str) -> Option<u32> {
        if path.is_empty() {
            return Some(ROOT_SLOT);
        }
        path.split('/')
            .try_fold(ROOT_SLOT, |dir, name| self.child(dir, name))
    }

    fn path_of(&self, slot: u32) -> String {
        let mut names = Vec::new();
        let mut s = slot;
        while s != ROOT_SLOT {
            let n = &self.slots[s as usize];
            names.push(n.name.as_str());
            s = n.parent;
        }
        names.reverse();
        names.join("/")
    }

    /// Whether the node at `slot` is one of the linked nodes that the path `dir` goes through
    /// (the root excluded).
    fn on_path(&self, dir: &str, slot: u32) -> bool {
        if dir.is_empty() {
            return false;
        }
        let mut s = ROOT_SLOT;
        for name in dir.split('/') {
            match self.child(s, name) {
                Some(c) if c == slot => return true,
                Some(c) => s = c,
                None => return false,
            }
        }
        false
    }

    /// Make the node at `slot` reachable as `name` in `parent` (moving it if it was elsewhere).
    fn link(&mut self, slot: u32, parent: u32, name: &str) {
        self.unlink(slot);
        let old_parent = self.slots[slot as usize].parent;
        if old_parent != parent {
            // Count the new parent first: releasing the old one may not touch it.
            self.slots[parent as usize].children += 1;
            self.slots[slot as usize].parent = parent;
            self.drop_child(old_parent);
        }
        let n = &mut self.slots[slot as usize];
        if n.name != name {
            n.name = CompactString::from(name);
        }
        n.linked = true;
        let (hs, slots) = (&self.hs, &self.slots);
        self.by_name
            .insert_unique(name_hash(hs, parent, name), slot, |&s| {
                let n = &slots[s as usize];
                name_hash(hs, n.parent, &n.name)
            });
    }

    /// Take the node at `slot` out of the name index; it keeps its parent and name.
    fn unlink(&mut self, slot: u32) {
        let n = &self.slots[slot as usize];
        if !n.linked {
            return;
        }
        let hash = name_hash(&self.hs, n.parent, &n.name);
        if let Ok(e) = self.by_name.find_entry(hash, |&s| s == slot) {
            e.remove();
        }
        self.slots[slot as usize].linked = false;
    }

    /// A child of the node at `slot` is gone.
    fn drop_child(&mut self, slot: u32) {
        let n = &mut self.slots[slot as usize];
        n.children -= 1;
        self.release_if_unused(slot);
    }

    /// Free the node at `slot` if neither the kernel nor a child needs it, then its parent
    /// likewise.
    fn release_if_unused(&mut self, mut slot: u32) {
        loop {
            let n = &self.slots[slot as usize];
            if slot == ROOT_SLOT || n.lookups > 0 || n.children > 0 {
                return;
            }
            self.unlink(slot);
            let ino = self.slots[slot as usize].ino;
            if let Ok(e) = self
                .by_ino
                .find_entry(ino_hash(&self.hs, ino), |&s| s == slot)
            {
                e.remove();
            }
            let parent = self.slots[slot as usize].parent;
            self.slots[slot as usize] = Node::free();
            self.free.push(slot);
            self.slots[parent as usize].children -= 1;
            slot = parent;
        }
    }

    /// The slot of the directory `dir`, with nodes for any components not known yet (they are
    /// freed again with their last child).
    fn dir_slot(&mut self, dir: &str) -> u32 {
        if dir.is_empty() {
            return ROOT_SLOT;
        }
        let mut s = ROOT_SLOT;
        for name in dir.split('/') {
            s = match self.child(s, name) {
                Some(c) => c,
                None => {
                    let ino = self.generate();
                    let c = self.alloc(ino, 0, s, name);
                    self.link(c, s, name);
                    c
                }
            };
        }
        s
    }

    /// Now, in [`TICK`]s since the table was made (at least 1).
    fn now_ticks(&self) -> u32 {
        let t = self.epoch.elapsed().as_millis() / TICK.as_millis();
        t.clamp(1, u32::MAX as u128) as u32
    }

    /// How long ago `ticks` was (from [`Self::now_ticks`]).
    fn since(&self, ticks: u32) -> Duration {
        self.epoch
            .elapsed()
            .saturating_sub(TICK * ticks.saturating_sub(1))
    }

    /// Give the node at `slot` the inode number `ino`, if no other node has it.
    fn renumber(&mut self, slot: u32, ino: u64) {
        if self.slot(ino).is_some() {
            return;
        }
        let old = self.slots[slot as usize].ino;
        if let Ok(e) = self
            .by_ino
            .find_entry(ino_hash(&self.hs, old), |&s| s == slot)
        {
            e.remove();
        }
        self.slots[slot as usize].ino = ino;
        let (hs, slots) = (&self.hs, &self.slots);
        self.by_ino.insert_unique(ino_hash(hs, ino), slot, |&s| {
            ino_hash(hs, slots[s as usize].ino)
        });
    }

    fn generate(&mut self) -> u64 {
        self.next_generated += 1;
        self.next_generated
    }

    fn set_own(&mut self, slot: u32, attrs: FileAttrs) {
        let own = OwnAttrs {
            attrs,
            fetched: Some(Instant::now()),
        };
        match &mut self.slots[slot as usize].own {
            Some(b) => **b = own,
            o @ None => *o = Some(Box::new(own)),
        }
    }

    // --- queries -----------------------------------------------------------------------

    /// Share-relative path of `ino` (for an unlinked node, the path it had, or its hidden
    /// name).
    pub fn path(&self, ino: u64) -> Option<String> {
        self.slot(ino).map(|s| self.path_of(s))
    }

    pub fn info(&self, ino: u64) -> Option<NodeInfo> {
        let s = self.slot(ino)?;
        let n = &self.slots[s as usize];
        let path = self.path_of(s);
        let attrs = n.own.as_ref().map(|o| o.attrs).or_else(|| {
            let (dir, name) = split(&path)?;
            self.dirs.peek_exact(dir, name).map(|(a, ..)| a)
        });
        Some(NodeInfo {
            unlinked: !n.linked && s != ROOT_SLOT,
            path,
            attrs,
        })
    }

    /// The server file id `ino` came from (0 if unknown).
    pub fn index_of(&self, ino: u64) -> Option<u64> {
        self.slot(ino).map(|s| self.slots[s as usize].index)
    }

    /// The kernel's lookup count of `ino`.
    pub fn lookups(&self, ino: u64) -> Option<u64> {
        self.slot(ino)
            .map(|s| self.slots[s as usize].lookups as u64)
    }

    pub fn ino_of(&self, path: &str) -> Option<u64> {
        self.slot_at(path).map(|s| self.slots[s as usize].ino)
    }

    /// Number of inodes.
    pub fn len(&self) -> usize {
        self.by_ino.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_ino.is_empty()
    }

    /// Number of inodes that keep attributes of their own (see the module docs).
    pub fn own_attrs(&self) -> usize {
        self.slots.iter().filter(|n| n.own.is_some()).count()
    }

    /// Cached attributes of `ino` if younger than `ttl`: the node's own, else those of a valid
    /// listing of its directory (unless a change through the mount made them stale).
    pub fn fresh(&self, ino: u64, ttl: impl Fn(&FileAttrs) -> Duration) -> Option<FileAttrs> {
        let s = self.slot(ino)?;
        let n = &self.slots[s as usize];
        if let Some(OwnAttrs {
            attrs,
            fetched: Some(at),
        }) = n.own.as_deref()
        {
            if at.elapsed() < ttl(attrs) {
                return Some(*attrs);
            }
        }
        if !n.linked || s == ROOT_SLOT {
            return None;
        }
        let dir = self.path_of(n.parent);
        let (a, stale, mut age) = self.dirs.peek_exact(&dir, &n.name)?;
        if n.listed_at != 0 {
            age = age.min(self.since(n.listed_at));
        }
        (!stale && age < ttl(&a)).then_some(a)
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
        match self.ino_of(path) {
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
            if let Some(d) = self.slot_at(dir) {
                for e in entries.iter_mut() {
                    if e.attrs().is_dir() {
                        continue;
                    }
                    if let Some(s) = self.child(d, e.name()) {
                        if open.contains(&self.slots[s as usize].ino) {
                            e.set_stale();
                        }
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

    /// Record that `path` has `attrs`, fetched from the server for it (a lookup, create or
    /// mkdir), and return its inode number; `lookup` adds one to the kernel's lookup count.
    pub fn upsert(&mut self, path: &str, attrs: FileAttrs, lookup: bool) -> u64 {
        self.upsert_from(path, attrs, lookup, false)
    }

    /// [`Self::upsert`] for attributes that a cached listing gave (`readdirplus`, a lookup
    /// answered from the caches): the node keeps no copy when the listing holds them.
    pub fn upsert_listed(&mut self, path: &str, attrs: FileAttrs, lookup: bool) -> u64 {
        self.upsert_from(path, attrs, lookup, true)
    }

    fn upsert_from(&mut self, path: &str, attrs: FileAttrs, lookup: bool, listed: bool) -> u64 {
        let Some((dir, name)) = split(path) else {
            self.set_own(ROOT_SLOT, attrs);
            return ROOT;
        };
        let in_listing = if listed {
            // Whether the cached listing holds just these (Some(true)), or knows the name
            // otherwise: stale, or with other attributes (Some(false)).
            self.dirs
                .peek_exact(dir, name)
                .map(|(a, stale, _)| !stale && a == attrs)
        } else {
            self.dirs.upsert(dir, name, attrs);
            None
        };
        let index = attrs.index_number;
        let found = self.slot_at(dir).and_then(|d| self.child(d, name));
        let slot = match found {
            // Same file (or we never knew its id): keep the number the kernel already has.
            Some(s)
                if {
                    let n = &self.slots[s as usize];
                    n.index == 0 || index == 0 || n.index == index
                } =>
            {
                s
            }
            other => {
                if let Some(s) = other {
                    // Another file now has this name (replaced behind our back).
                    self.detach_slot(s);
                }
                let ino = if self.usable_index(index) {
                    index
                } else {
                    self.generate()
                };
                match self.slot(ino) {
                    // Known file seen under a new name (renamed on the server, or a hard
                    // link): what the server said, not a change, so cached listings stay.
                    Some(s) => {
                        if self.on_path(dir, s) {
                            // We had this directory at a path above its new one (moved on the
                            // server into a directory created there since): that path is not
                            // it any more, and a node must not become its own ancestor.
                            self.unlink(s);
                        }
                        // After the detaches above, which may have freed unused nodes of `dir`.
                        let dir_slot = self.dir_slot(dir);
                        self.link(s, dir_slot, name);
                        s
                    }
                    None => {
                        let dir_slot = self.dir_slot(dir);
                        let s = self.alloc(ino, index, dir_slot, name);
                        self.link(s, dir_slot, name);
                        s
                    }
                }
            }
        };
        let n = &self.slots[slot as usize];
        if n.index == 0 && n.lookups == 0 && n.ino >= GENERATED_BASE && self.usable_index(index) {
            // A directory made up for a path (see `dir_slot`) whose id we learn now: the kernel
            // never got its made-up number, so it takes the server's, unless that is taken.
            self.renumber(slot, index);
        }
        let n = &mut self.slots[slot as usize];
        if n.index == 0 {
            n.index = index;
        }
        n.lookups = n.lookups.saturating_add(lookup as u32);
        let ino = n.ino;
        if !listed {
            self.set_own(slot, attrs);
            self.slots[slot as usize].listed_at = 0;
        } else if in_listing == Some(true) {
            let now = self.now_ticks();
            let n = &mut self.slots[slot as usize];
            n.own = None;
            n.listed_at = now;
        } else if in_listing == Some(false) {
            // The cached listing knows better (the entry changed since, or is stale after a
            // write): these attributes are kept as the last known, not as fresh ones.
            let n = &mut self.slots[slot as usize];
            n.listed_at = 0;
            if n.own.is_none() {
                n.own = Some(Box::new(OwnAttrs {
                    attrs,
                    fetched: None,
                }));
            }
        } else {
            let keep = n
                .own
                .as_ref()
                .is_some_and(|o| o.attrs == attrs && o.fetched.is_some());
            if !keep {
                self.set_own(slot, attrs);
            }
        }
        ino
    }

    /// New attributes for a known inode (after getattr or setattr).
    pub fn set_attrs(&mut self, ino: u64, attrs: FileAttrs) {
        let Some(s) = self.slot(ino) else {
            return;
        };
        self.set_own(s, attrs);
        if self.slots[s as usize].linked {
            if let Some((dir, name)) = split(&self.path_of(s)) {
                self.dirs.upsert(dir, name, attrs);
            }
        }
    }

    /// Mark the cached attributes stale (after a write through the mount).
    pub fn invalidate(&mut self, ino: u64) {
        let Some(s) = self.slot(ino) else {
            return;
        };
        let n = &mut self.slots[s as usize];
        if let Some(o) = &mut n.own {
            o.fetched = None;
        }
        n.listed_at = 0;
        if n.linked {
            if let Some((dir, name)) = split(&self.path_of(s)) {
                self.dirs.mark_stale(dir, name);
            }
        }
    }

    /// Invalidate the node at `path`, if known (a directory whose contents changed).
    pub fn invalidate_path(&mut self, path: &str) {
        if let Some(ino) = self.ino_of(path) {
            self.invalidate(ino);
        }
    }

    /// The kernel forgets `n` lookups; nodes at zero are dropped (once they have no children).
    pub fn forget(&mut self, ino: u64, n: u64) {
        if ino == ROOT {
            return;
        }
        let Some(s) = self.slot(ino) else {
            return;
        };
        let node = &mut self.slots[s as usize];
        node.lookups = node.lookups.saturating_sub(n.min(u32::MAX as u64) as u32);
        self.release_if_unused(s);
    }

    /// The linked node at `path` is no longer reachable by it.
    fn detach(&mut self, path: &str) {
        if let Some(s) = self.slot_at(path) {
            self.detach_slot(s);
        }
    }

    /// The name at `path` is gone (unlink, rmdir, or replaced by a rename).
    pub fn remove_path(&mut self, path: &str) {
        self.forget_listed(path);
        self.detach(path);
    }

    /// Move a node to a hidden name in its directory (unlinked while open): reachable by
    /// inode, not by name.
    pub fn hide(&mut self, path: &str, hidden: &str) {
        if let Some((dir, name)) = split(path) {
            self.dirs.remove(dir, name);
        }
        if path.is_empty() {
            return;
        }
        if let Some(s) = self.slot_at(path) {
            self.unlink(s);
            let hidden_name = split(hidden).map_or(hidden, |(_, n)| n);
            self.slots[s as usize].name = CompactString::from(hidden_name);
        }
    }

    /// `from` was renamed to `to`: whatever was at `to` is gone, and the node at `from` (its
    /// descendants with it) gets the new path.
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

    /// Move the node at `from` to `to`; the caches of listings are not touched.
    fn rename_nodes(&mut self, from: &str, to: &str) {
        let Some((to_dir, to_name)) = split(to) else {
            return;
        };
        let moving = self.slot_at(from).filter(|&s| s != ROOT_SLOT);
        if let Some(s) = self.slot_at(to).filter(|&s| Some(s) != moving) {
            self.detach_slot(s);
        }
        if let Some(s) = moving {
            if self.on_path(to_dir, s) {
                // Into itself: no server does that; forget the name rather than make a loop.
                self.detach_slot(s);
            } else {
                let d = self.dir_slot(to_dir);
                self.link(s, d, to_name);
            }
        }
    }

    /// Unlink the node at `s`; its attributes are stale, and it goes if nothing holds it.
    fn detach_slot(&mut self, s: u32) {
        if s == ROOT_SLOT {
            return;
        }
        self.unlink(s);
        let n = &mut self.slots[s as usize];
        if let Some(o) = &mut n.own {
            o.fetched = None;
        }
        n.listed_at = 0;
        self.release_if_unused(s);
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

    /// Cache `entries` as the complete listing of `dir`, fetched at `fetched`.
    fn store(t: &mut InodeTable, dir: &str, entries: Vec<crate::cache::Entry>, fetched: Instant) {
        let ticket = t.dirs.begin(dir);
        let stored = t.store_listing(dir, ticket, entries, fetched, &Default::default());
        assert!(stored.is_ok());
    }

    /// A table whose directory cache keeps listings for a minute.
    fn cached_table() -> InodeTable {
        InodeTable::with_dircache(
            FileAttrs::default(),
            DirCache::new(1000, Duration::from_secs(60)),
        )
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
        assert_eq!(t.lookups(500), Some(2));
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
        assert!(t.info(500).unwrap().unlinked);
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
        assert_eq!(t.path(d).unwrap(), "e");
        assert_eq!(t.path(f).unwrap(), "e/x/f");
        assert_eq!(t.ino_of("e/x/f"), Some(f));
        assert_eq!(t.ino_of("d/x/f"), None);
        assert!(t.info(other).unwrap().unlinked);
        t.forget(f, 1);
        assert!(t.path(f).is_none());
        assert_eq!(t.ino_of("e/x/f"), None);
        t.forget(ROOT, 5);
        assert!(t.path(ROOT).is_some());
        assert_eq!(t.ino_of("e2"), Some(13));
    }

    #[test]
    fn hooks_keep_the_directory_cache_coherent() {
        use crate::cache::Entry;
        let mut t = cached_table();
        store(
            &mut t,
            "d",
            vec![Entry::new("mixed.txt", file(20)), Entry::new("b", file(21))],
            Instant::now(),
        );
        // Lookups in any case, positive and negative, from the listing.
        let ttl = |_: &FileAttrs| Duration::from_secs(60);
        assert_eq!(
            t.lookup_cached("d/MIXED.TXT", ttl),
            CachedLookup::Hit("d/mixed.txt".into(), file(20))
        );
        assert_eq!(t.lookup_cached("d/nope", ttl), CachedLookup::Absent);
        assert_eq!(t.resolve("d/B"), "d/b");
        // getattr from the listing; a write makes it stale until fresh attributes arrive.
        let i = t.upsert_listed("d/mixed.txt", file(20), true);
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
        assert!(t.info(b).unwrap().unlinked);
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
    fn nodes_stay_while_children_need_them() {
        let mut t = InodeTable::new(FileAttrs::default());
        let dir = FileAttrs {
            index_number: 10,
            attributes: FILE_ATTRIBUTE_DIRECTORY,
            ..Default::default()
        };
        let d = t.upsert("d", dir, true);
        let f = t.upsert("d/f", file(11), true);
        // Forgets come in any order: the parent stays while its child is known.
        t.forget(d, 1);
        assert_eq!(t.path(f).as_deref(), Some("d/f"));
        assert_eq!(t.ino_of("d"), Some(d));
        // A hidden file keeps a path, moves with its directory, and is not found by name.
        t.hide("d/f", "d/.hidden-1");
        assert_eq!(t.path(f).as_deref(), Some("d/.hidden-1"));
        assert!(t.info(f).unwrap().unlinked);
        assert_eq!(t.ino_of("d/f"), None);
        t.rename("d", "e");
        assert_eq!(t.path(f).as_deref(), Some("e/.hidden-1"));
        // The last child's forget frees the parent too; slots are reused.
        t.forget(f, 1);
        assert_eq!(t.len(), 1);
        assert_eq!(t.path(d), None);
        let slots = t.slots.len();
        t.upsert("a/b/c", file(12), true);
        assert_eq!(t.path(12).as_deref(), Some("a/b/c"));
        assert_eq!(t.slots.len(), slots + 1);
        assert_eq!(t.len(), 4);
    }

    impl InodeTable {
        /// Every structural invariant of the table; panics with the first one broken.
        fn check(&self) {
            let mut children = vec![0u32; self.slots.len()];
            let mut live = 0;
            for (s, n) in self.slots.iter().enumerate() {
                let s = s as u32;
                if n.ino == 0 {
                    assert!(self.free.contains(&s), "slot {s} is neither used nor free");
                    continue;
                }
                live += 1;
                assert_eq!(self.slot(n.ino), Some(s), "by_ino of {}", n.ino);
                if s != ROOT_SLOT {
                    assert_ne!(self.slots[n.parent as usize].ino, 0, "parent of {s} freed");
                    children[n.parent as usize] += 1;
                    assert!(n.lookups > 0 || n.children > 0, "slot {s} is unused");
                }
                // No loops: the walk up reaches the root.
                let mut up = s;
                for _ in 0..=self.slots.len() {
                    if up == ROOT_SLOT {
                        break;
                    }
                    up = self.slots[up as usize].parent;
                }
                assert_eq!(up, ROOT_SLOT, "slot {s} is in a loop");
                if n.linked {
                    assert_eq!(self.child(n.parent, &n.name), Some(s), "by_name of {s}");
                    // Below an unlinked directory a node is reachable by inode only.
                    let mut up = n.parent;
                    while up != ROOT_SLOT && self.slots[up as usize].linked {
                        up = self.slots[up as usize].parent;
                    }
                    if up == ROOT_SLOT {
                        assert_eq!(self.slot_at(&self.path_of(s)), Some(s), "path of {s}");
                    }
                }
            }
            for (s, n) in self.slots.iter().enumerate() {
                if n.ino != 0 {
                    assert_eq!(n.children, children[s], "children of slot {s}");
                }
            }
            assert_eq!(self.by_ino.len(), live);
            assert_eq!(self.free.len() + live, self.slots.len());
            let linked = self.slots.iter().filter(|n| n.ino != 0 && n.linked).count();
            assert_eq!(self.by_name.len(), linked);
        }
    }

    /// Random sequences of the kernel's and the server's events keep the table consistent, and
    /// the kernel's lookups decide what stays.
    #[test]
    fn random_operations_keep_the_table_consistent() {
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        let names = [
            "a", "b", "c", "a/x", "a/y", "b/x", "a/x/p", "c/q/r", "B", "A/X",
        ];
        let dir = |index| FileAttrs {
            index_number: index,
            attributes: FILE_ATTRIBUTE_DIRECTORY,
            ..Default::default()
        };
        for _round in 0..1000 {
            let mut t = InodeTable::new(dir(7));
            let mut held: Vec<u64> = Vec::new();
            for _ in 0..60 {
                let path = names[next(names.len())];
                let other = names[next(names.len())];
                match next(7) {
                    0 | 1 => {
                        let a = if next(2) == 0 {
                            dir(100 + next(12) as u64)
                        } else {
                            file(0)
                        };
                        held.push(t.upsert(path, a, true));
                    }
                    2 if !held.is_empty() => {
                        let ino = held.swap_remove(next(held.len()));
                        t.forget(ino, 1);
                    }
                    3 => t.remove_path(path),
                    4 => t.rename(path, other),
                    5 => {
                        let dir = split(path).map_or("", |(d, _)| d);
                        t.hide(path, &join(dir, ".hidden"));
                    }
                    _ => {
                        if let Some(ino) = t.ino_of(path) {
                            t.set_attrs(ino, file(ino));
                        }
                    }
                }
                t.check();
                for &ino in &held {
                    assert!(t.path(ino).is_some(), "a held inode has a path");
                }
            }
            for ino in held.drain(..) {
                t.forget(ino, 1);
            }
            t.check();
            assert_eq!(t.len(), 1, "only the root is left");
        }
    }

    #[test]
    fn a_made_up_directory_takes_the_servers_id() {
        let mut t = InodeTable::new(FileAttrs::default());
        t.upsert("a/b", file(11), true);
        let dir = FileAttrs {
            index_number: 300,
            attributes: FILE_ATTRIBUTE_DIRECTORY,
            ..Default::default()
        };
        assert_eq!(t.upsert("a", dir, true), 300);
        assert_eq!(t.path(300).as_deref(), Some("a"));
        assert_eq!(t.path(11).as_deref(), Some("a/b"));
        t.check();
    }

    #[test]
    fn a_snapshot_from_before_a_write_is_not_fresh_again() {
        use crate::cache::Entry;
        let mut t = cached_table();
        store(&mut t, "", vec![Entry::new("f", file(40))], Instant::now());
        let f = t.upsert_listed("f", file(40), true);
        t.invalidate(f);
        // An open directory handle's snapshot still has the old attributes.
        t.upsert_listed("f", file(40), true);
        let ttl = |_: &FileAttrs| Duration::from_secs(60);
        assert_eq!(t.fresh(f, ttl), None);
        assert_eq!(t.info(f).unwrap().attrs, Some(file(40)));
    }

    #[test]
    fn a_node_is_72_bytes() {
        assert_eq!(std::mem::size_of::<Node>(), 72);
    }

    #[test]
    fn listed_attributes_are_not_copied() {
        use crate::cache::Entry;
        let mut t = cached_table();
        store(&mut t, "", vec![Entry::new("a", file(20))], Instant::now());
        let a = t.upsert_listed("a", file(20), true);
        assert!(t.slots[t.slot(a).unwrap() as usize].own.is_none());
        let ttl = |_: &FileAttrs| Duration::from_secs(60);
        assert_eq!(t.fresh(a, ttl), Some(file(20)));
        assert_eq!(t.info(a).unwrap().attrs, Some(file(20)));
        // Attributes of an old listing count from when the kernel was given them.
        let ticket = t.dirs.begin("old");
        let fetched = Instant::now() - Duration::from_secs(5);
        let listing = vec![Entry::new("f", file(30))];
        assert!(t
            .store_listing("old", ticket, listing, fetched, &Default::default())
            .is_ok());
        let short = |_: &FileAttrs| Duration::from_secs(2);
        assert!(t.dirs.peek_entry("old", "f").unwrap().3 >= Duration::from_secs(5));
        let f = t.upsert_listed("old/f", file(30), true);
        assert_eq!(t.fresh(f, short), Some(file(30)));
        t.invalidate(f);
        assert_eq!(t.fresh(f, short), None);
        // Not in a listing (a directory too large to cache): the node keeps them.
        let b = t.upsert_listed("b", file(21), true);
        assert_eq!(t.fresh(b, ttl), Some(file(21)));
        // Attributes from the server are the node's own.
        let grown = FileAttrs {
            size: 5,
            ..file(20)
        };
        t.set_attrs(a, grown);
        assert!(t.slots[t.slot(a).unwrap() as usize].own.is_some());
        assert_eq!(t.fresh(a, ttl), Some(grown));
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
