//! Write-behind and read-ahead for open files.
//!
//! Why: the kernel sends one FUSE write (at most 1 MiB) and waits for its answer before sending
//! the next, and reads ahead at most 1 MiB. Answered one round trip at a time over an encrypted
//! link, a sequential copy would be latency-bound. So:
//! - **Write-behind**: a write that is not write-through is answered as soon as it is queued;
//!   the SMB WRITE runs in the background, with a bounded number of bytes in flight per mount.
//!   The first failure is kept and reported by the next `flush` (every `close`), `fsync` or
//!   `release` of the inode, as NFS and CIFS do with cached writes. Anything that must see the
//!   written data (read, getattr, truncate, flush, fsync, close) first waits until the inode has
//!   no write in flight. Overlapping writes are issued in order.
//! - **Read-ahead**: after two sequential reads on a handle, the next `WINDOW` bytes are fetched
//!   in `CHUNK`-sized SMB reads that are all in flight together, and later reads are answered
//!   from them. Any write to the inode drops the read-ahead of all its handles.
//! - **Drop-behind**: the pages a sequential read or write has gone `drop_behind` bytes past
//!   leave the kernel's page cache (a FUSE inode invalidation of that range). Without a lease
//!   the page cache is dropped at the next open anyway, so streaming a large file gains nothing
//!   from keeping it, while filling it costs: every new page is memory the kernel must find
//!   (on a virtual machine with free page reporting, a fault to the host per page), and it
//!   pushes out what other programs cache. Measured on a 1 GiB `dd`: the daemon's CPU time
//!   halved. Ranges nearer than `drop_behind`, and files smaller than it, stay cached.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use fuser::Errno;
use futures::future::{BoxFuture, FutureExt, Shared};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

use super::errno::errno;
use super::watch::{Inval, NotifierSlot};
use crate::client::{Client, PayloadBuf, ReadData};
use crate::proto::create::FileId;

/// Sequential writes are gathered up to this size before one SMB WRITE carries them.
const GATHER: usize = 8 * 1024 * 1024;
/// Bytes of write-behind data in flight per mount, at most.
pub const WRITE_BEHIND_BYTES: usize = 64 * 1024 * 1024;
/// One read-ahead request.
const CHUNK: u32 = 1024 * 1024;
/// How far ahead of the reader read-ahead runs.
const WINDOW: u64 = 16 * 1024 * 1024;
/// Largest read the kernel sends (the mount asks for 1 MiB).
const MAX_KERNEL_IO: u64 = 1024 * 1024;
/// How far behind a read the chunks are kept: as far as the "near" test of a sequential
/// read reaches back.
const KEEP_BEHIND: u64 = 4 * MAX_KERNEL_IO;
/// Sequential reads seen on a handle before read-ahead starts.
const SEQUENTIAL_AFTER: u32 = 2;
/// How far behind a sequential stream its pages are dropped, unless `drop_behind=` says.
pub const DEFAULT_DROP_BEHIND: u64 = 16 * 1024 * 1024;
/// Pages are dropped in ranges of at least this, so one notification covers many pages.
const DROP_STEP: u64 = 8 * 1024 * 1024;

/// How far a sequential stream's pages have been dropped from the page cache.
#[derive(Default, Debug)]
struct DropBehind {
    /// Pages before this offset (from where the stream started) are dropped.
    done_to: u64,
}

impl DropBehind {
    /// The stream starts (again) at `offset`: nothing before it is the stream's to drop.
    fn restart(&mut self, offset: u64) {
        self.done_to = offset;
    }

    /// The stream has reached `pos`: the range (offset, len) to drop now, if any. A stream that
    /// goes back restarts there; one that jumps ahead (the kernel's parallel read-ahead requests
    /// arrive out of order) keeps dropping from where it was.
    fn advance(&mut self, pos: u64, lag: u64) -> Option<(u64, u64)> {
        if lag == 0 {
            return None;
        }
        if pos < self.done_to {
            self.restart(pos);
            return None;
        }
        let to = pos.saturating_sub(lag);
        if to < self.done_to + DROP_STEP {
            return None;
        }
        let from = std::mem::replace(&mut self.done_to, to);
        Some((from, to - from))
    }
}

type Fetch = Shared<BoxFuture<'static, Result<Arc<ReadData>, Errno>>>;
/// What answers a read: the read-ahead chunks (start, data) that overlap it, or None for a
/// plain read of its own.
type ReadPlan = Option<Vec<(u64, Fetch)>>;

struct Chunk {
    start: u64,
    len: u32,
    data: Fetch,
}

#[derive(Default)]
struct ReadAhead {
    next_offset: u64,
    sequential: u32,
    chunks: VecDeque<Chunk>,
    dropped: DropBehind,
}

/// Contiguous written data not yet sent: sequential writes are gathered into one large SMB WRITE.
/// `buf` keeps `HEADROOM` bytes free in front of the data so the WRITE is sealed in place.
struct Gathered {
    file_id: FileId,
    offset: u64,
    buf: Vec<u8>,
    permits: Vec<OwnedSemaphorePermit>,
}

const HEADROOM: usize = PayloadBuf::WRITE_HEADROOM;

impl Gathered {
    fn len(&self) -> usize {
        self.buf.len() - HEADROOM
    }

    fn range(&self) -> (u64, u64) {
        (self.offset, self.offset + self.len() as u64)
    }
}

#[derive(Default)]
struct InodeState {
    /// Byte ranges [start, end) of writes in flight.
    writes: Vec<(u64, u64)>,
    gathered: Option<Gathered>,
    /// First write-behind failure not yet reported.
    error: Option<Errno>,
    /// Per file handle.
    readahead: HashMap<u64, ReadAhead>,
    /// Where the last accepted write-behind write ended, and the drop-behind of the
    /// sequential run that ends there.
    write_end: u64,
    write_dropped: DropBehind,
    /// Writes accepted so far, to tell whether one came in during a request whose answer
    /// carries the file's size.
    accepted: u64,
}

#[derive(Default)]
struct InodeIo {
    state: Mutex<InodeState>,
    changed: Notify,
}

/// Write-behind and read-ahead state of every open inode.
pub struct FileIo {
    client: Client,
    rt: tokio::runtime::Handle,
    inodes: Mutex<HashMap<u64, Arc<InodeIo>>>,
    budget: Arc<Semaphore>,
    /// Drop-behind goes to the kernel through this.
    kernel: NotifierSlot,
    drop_behind: u64,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn overlaps(a: (u64, u64), b: (u64, u64)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

impl FileIo {
    pub fn new(
        client: Client,
        rt: tokio::runtime::Handle,
        kernel: NotifierSlot,
        drop_behind: u64,
    ) -> FileIo {
        FileIo {
            client,
            rt,
            inodes: Mutex::new(HashMap::new()),
            budget: Arc::new(Semaphore::new(WRITE_BEHIND_BYTES)),
            kernel,
            drop_behind,
        }
    }

    /// Ask the kernel to drop `range` (offset, len) of `ino`'s cached pages.
    fn drop_pages(&self, ino: u64, range: Option<(u64, u64)>) {
        if let Some((offset, len)) = range {
            self.kernel.send(vec![Inval::Pages { ino, offset, len }]);
        }
    }

    fn inode(&self, ino: u64) -> Arc<InodeIo> {
        lock(&self.inodes).entry(ino).or_default().clone()
    }

    fn existing(&self, ino: u64) -> Option<Arc<InodeIo>> {
        lock(&self.inodes).get(&ino).cloned()
    }

    /// Wait until `pred` is false for the inode's state, then run `then` under the same lock.
    async fn wait_until<T>(
        io: &InodeIo,
        mut busy: impl FnMut(&InodeState) -> bool,
        then: impl FnOnce(&mut InodeState) -> T,
    ) -> T {
        loop {
            let notified = io.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = lock(&io.state);
                if !busy(&st) {
                    return then(&mut st);
                }
            }
            notified.await;
        }
    }

    /// Queue a write without waiting, on the caller's thread, copying `data` once, into the
    /// gathered run. Returns false (and queues nothing) when the write must wait: for budget,
    /// for an overlapping write in flight, or to report an earlier failure; the caller then
    /// goes through [`write_behind`](Self::write_behind).
    /// `page_cached`: the data also sits in the kernel's page cache, so drop-behind applies.
    pub fn try_write_now(
        &self,
        ino: u64,
        file_id: FileId,
        offset: u64,
        data: &[u8],
        page_cached: bool,
    ) -> bool {
        let permits = data.len().clamp(1, WRITE_BEHIND_BYTES) as u32;
        let Ok(permit) = self.budget.clone().try_acquire_many_owned(permits) else {
            return false;
        };
        let io = self.inode(ino);
        let mut st = lock(&io.state);
        if st.error.is_some() {
            return false;
        }
        let accepted = self.gather(&io, &mut st, file_id, offset, data, &mut Some(permit));
        let behind = (accepted && page_cached)
            .then(|| self.wrote_sequentially(&mut st, offset, data.len()))
            .flatten();
        drop(st);
        self.drop_pages(ino, behind);
        accepted
    }

    /// A write-behind write of `len` bytes at `offset` was accepted: the pages to drop behind
    /// it when it continues a sequential run.
    fn wrote_sequentially(
        &self,
        st: &mut InodeState,
        offset: u64,
        len: usize,
    ) -> Option<(u64, u64)> {
        let end = offset + len as u64;
        let sequential = offset == st.write_end;
        st.write_end = end;
        if sequential {
            st.write_dropped.advance(end, self.drop_behind)
        } else {
            st.write_dropped.restart(offset);
            None
        }
    }

    /// Queue a write; returns once it is accepted, not once it is done. Contiguous writes are
    /// gathered (up to `GATHER` bytes) and sent as one SMB WRITE. `page_cached` as for
    /// [`try_write_now`](Self::try_write_now).
    pub async fn write_behind(
        &self,
        ino: u64,
        file_id: FileId,
        offset: u64,
        data: Vec<u8>,
        page_cached: bool,
    ) -> Result<(), Errno> {
        let io = self.inode(ino);
        let permits = data.len().clamp(1, WRITE_BEHIND_BYTES) as u32;
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(permits)
            .await
            .map_err(|_| Errno::EIO)?;
        let mut permit = Some(permit);
        loop {
            let notified = io.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut st = lock(&io.state);
                if let Some(e) = st.error.take() {
                    return Err(e);
                }
                if self.gather(&io, &mut st, file_id, offset, &data, &mut permit) {
                    let behind = page_cached
                        .then(|| self.wrote_sequentially(&mut st, offset, data.len()))
                        .flatten();
                    drop(st);
                    self.drop_pages(ino, behind);
                    return Ok(());
                }
            }
            notified.await;
        }
    }

    /// Under the inode's lock: append the write to the gathered run when it continues it, or
    /// send the run and start a new one. Returns false when an earlier overlapping write must
    /// land first (nothing is queued then).
    fn gather(
        &self,
        io: &Arc<InodeIo>,
        st: &mut InodeState,
        file_id: FileId,
        offset: u64,
        data: &[u8],
        permit: &mut Option<OwnedSemaphorePermit>,
    ) -> bool {
        st.readahead.clear();
        let range = (offset, offset + data.len() as u64);
        // A write in flight that this one overlaps must land first, also when this one
        // continues the gathered run: both in flight, the server may apply them in any order.
        let blocked = |st: &InodeState| st.writes.iter().any(|w| overlaps(*w, range));
        let blocked_now = blocked(st);
        if let Some(g) = st.gathered.as_mut() {
            if !blocked_now
                && g.file_id == file_id
                && g.range().1 == offset
                && g.len() + data.len() <= GATHER
            {
                g.buf.extend_from_slice(data);
                g.permits.extend(permit.take());
                st.accepted += 1;
                if g.len() >= GATHER {
                    let g = st.gathered.take().expect("just used");
                    self.dispatch(io, st, g);
                }
                return true;
            }
            // Anything else sends the run first, so writes land in order.
            let g = st.gathered.take().expect("checked above");
            self.dispatch(io, st, g);
        }
        // Earlier overlapping writes (the run just sent among them) must land first.
        if blocked(st) {
            return false;
        }
        let mut buf = Vec::with_capacity(HEADROOM + GATHER.max(data.len()));
        buf.resize(HEADROOM, 0);
        buf.extend_from_slice(data);
        st.gathered = Some(Gathered {
            file_id,
            offset,
            buf,
            permits: permit.take().into_iter().collect(),
        });
        st.accepted += 1;
        true
    }

    /// Send a gathered run in the background; its range stays in `writes` until it is done.
    fn dispatch(&self, io: &Arc<InodeIo>, st: &mut InodeState, g: Gathered) {
        let range = g.range();
        st.writes.push(range);
        let client = self.client.clone();
        let io = io.clone();
        self.rt.spawn(async move {
            let len = g.len();
            let payload = PayloadBuf {
                buf: g.buf,
                headroom: HEADROOM,
            };
            let r = client
                .write_in_place(g.file_id, g.offset, payload, false)
                .await;
            drop(g.permits);
            let mut st = lock(&io.state);
            if let Some(i) = st.writes.iter().position(|w| *w == range) {
                st.writes.swap_remove(i);
            }
            if let Err(e) = r {
                log::warn!("write-behind of {len} bytes at {} failed: {e}", g.offset);
                st.error.get_or_insert(errno(&e));
            }
            drop(st);
            io.changed.notify_waiters();
        });
    }

    /// Note a write-through write (done synchronously by the caller): read-ahead is stale.
    pub fn wrote(&self, ino: u64) {
        if let Some(io) = self.existing(ino) {
            let mut st = lock(&io.state);
            st.readahead.clear();
            st.accepted += 1;
        }
    }

    /// How many writes of `ino` have been accepted (a count that only grows while the inode
    /// has write state; compare two readings for equality only).
    pub fn writes_accepted(&self, ino: u64) -> u64 {
        self.existing(ino).map_or(0, |io| lock(&io.state).accepted)
    }

    /// Wait until no write of `ino` is in flight (the data is on the server).
    pub async fn settle(&self, ino: u64) {
        if let Some(io) = self.existing(ino) {
            self.send_gathered(&io);
            Self::wait_until(&io, |st| !st.writes.is_empty(), |_| ()).await
        }
    }

    /// Before a change that must come after the inode's writes (setting its times): when all
    /// that is not yet on the server is one gathered run, and nothing is in flight, take the run
    /// so the caller sends it in the same round trip as the change (a related compound runs in
    /// order); until the returned write is done, its range counts as in flight. Otherwise wait
    /// as [`settle`](Self::settle) does and return None.
    /// Only a run of at most `max_len` bytes written through `file_id` (the handle the change
    /// goes through: in a related compound the server applies it to the write's handle) is
    /// taken.
    pub async fn settle_or_take(
        &self,
        ino: u64,
        file_id: FileId,
        max_len: usize,
    ) -> Option<TakenWrite> {
        let io = self.existing(ino)?;
        {
            let mut st = lock(&io.state);
            let fits = |g: &Gathered| g.file_id == file_id && g.len() > 0 && g.len() <= max_len;
            if st.writes.is_empty() && st.gathered.as_ref().is_some_and(fits) {
                if let Some(g) = st.gathered.take() {
                    let range = g.range();
                    st.writes.push(range);
                    return Some(TakenWrite {
                        io: io.clone(),
                        range,
                        gathered: Some(g),
                        failure: Some(Errno::EIO),
                    });
                }
            }
        }
        self.settle(ino).await;
        None
    }

    fn send_gathered(&self, io: &Arc<InodeIo>) {
        let mut st = lock(&io.state);
        if let Some(g) = st.gathered.take() {
            self.dispatch(io, &mut st, g);
        }
    }

    /// Wait as [`settle`](Self::settle) does, then take the failure of a write-behind, if any,
    /// so that `close`/`fsync` report it.
    pub async fn settle_and_take_error(&self, ino: u64) -> Result<(), Errno> {
        let Some(io) = self.existing(ino) else {
            return Ok(());
        };
        self.send_gathered(&io);
        match Self::wait_until(&io, |st| !st.writes.is_empty(), |st| st.error.take()).await {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// A handle is closed: drop its read-ahead, and the inode's state once nothing remains.
    pub fn released(&self, ino: u64, fh: u64, last_handle: bool) {
        let mut map = lock(&self.inodes);
        if let Some(io) = map.get(&ino) {
            let mut st = lock(&io.state);
            st.readahead.remove(&fh);
            if last_handle && st.writes.is_empty() && st.gathered.is_none() && st.error.is_none() {
                drop(st);
                map.remove(&ino);
            }
        }
    }

    /// Under the inode's lock: account for a read of `size` bytes at `offset` through handle
    /// `fh` (sequential detection, the read-ahead window, drop-behind) and say what answers it:
    /// the read-ahead chunks that overlap it, or None for a plain read.
    fn plan(
        &self,
        st: &mut InodeState,
        fh: u64,
        file_id: FileId,
        offset: u64,
        size: u32,
    ) -> (ReadPlan, Option<(u64, u64)>) {
        let end = offset + size as u64;
        let mut drop_range = None;
        let plan = {
            let ra = st.readahead.entry(fh).or_insert_with(|| ReadAhead {
                // The handle's stream starts here; pages before it are not its to drop.
                dropped: DropBehind { done_to: offset },
                ..ReadAhead::default()
            });
            // The kernel sends its read-ahead requests in parallel and they reach us in any
            // order, so "sequential" means: near where the last reads ended, or inside the
            // window already fetched.
            let covered = ra
                .chunks
                .iter()
                .any(|c| c.start <= offset && offset < c.start + c.len as u64);
            let near = offset.abs_diff(ra.next_offset) <= 4 * MAX_KERNEL_IO;
            if covered || near {
                ra.sequential = ra.sequential.saturating_add(1);
            } else {
                ra.sequential = 0;
                ra.chunks.clear();
            }
            ra.next_offset = ra.next_offset.max(end);
            if !(covered || near) {
                ra.next_offset = end;
            }
            if ra.sequential < SEQUENTIAL_AFTER {
                None
            } else {
                drop_range = ra.dropped.advance(offset, self.drop_behind);
                // Keep what is behind the reader for requests that arrive late: the kernel's
                // read-ahead requests are served in parallel, so the one at the window's start
                // may come after those past it.
                let keep_from = offset.saturating_sub(KEEP_BEHIND.max(CHUNK as u64));
                while ra
                    .chunks
                    .front()
                    .is_some_and(|c| c.start + c.len as u64 <= keep_from)
                {
                    ra.chunks.pop_front();
                }
                if ra.chunks.front().is_some_and(|c| c.start > offset) {
                    // The reader is behind what was fetched: start over from here.
                    ra.chunks.clear();
                }
                let mut next = ra
                    .chunks
                    .back()
                    .map(|c| c.start + c.len as u64)
                    .unwrap_or(offset);
                while next < ra.next_offset + WINDOW {
                    ra.chunks.push_back(Chunk {
                        start: next,
                        len: CHUNK,
                        data: fetch(&self.rt, &self.client, file_id, next, CHUNK),
                    });
                    next += CHUNK as u64;
                }
                let needed: Vec<(u64, Fetch)> = ra
                    .chunks
                    .iter()
                    .filter(|c| overlaps((c.start, c.start + c.len as u64), (offset, end)))
                    .map(|c| (c.start, c.data.clone()))
                    .collect();
                Some(needed)
            }
        };
        (plan, drop_range)
    }

    /// Answer a read at once, on the caller's thread, when a fetched read-ahead chunk holds all
    /// of it and no write of the inode is in flight: the common case of a sequential read,
    /// which then needs no task and no thread switch. None: use [`read`](Self::read).
    pub fn read_now(
        &self,
        ino: u64,
        fh: u64,
        file_id: FileId,
        offset: u64,
        size: u32,
    ) -> Option<ReadOut> {
        let io = self.existing(ino)?;
        let end = offset + size as u64;
        let mut st = lock(&io.state);
        if !st.writes.is_empty() || st.gathered.is_some() {
            return None;
        }
        let ready = |c: &Chunk| {
            c.start <= offset
                && end <= c.start + c.len as u64
                && matches!(c.data.peek(), Some(Ok(_)))
        };
        if !st.readahead.get(&fh)?.chunks.iter().any(ready) {
            return None;
        }
        let (plan, drop_range) = self.plan(&mut st, fh, file_id, offset, size);
        drop(st);
        self.drop_pages(ino, drop_range);
        let (start, fetch) = plan?.into_iter().find(|(start, _)| *start <= offset)?;
        let Some(Ok(data)) = fetch.peek() else {
            return None;
        };
        let from = ((offset - start) as usize).min(data.len());
        let to = (from + size as usize).min(data.len());
        Some(ReadOut::Shared(data.clone(), from..to))
    }

    /// Read through the handle's read-ahead.
    pub async fn read(
        &self,
        ino: u64,
        fh: u64,
        file_id: FileId,
        offset: u64,
        size: u32,
    ) -> Result<ReadOut, Errno> {
        self.settle(ino).await;
        let io = self.inode(ino);
        let (plan, drop_range) = {
            let mut st = lock(&io.state);
            self.plan(&mut st, fh, file_id, offset, size)
        };
        self.drop_pages(ino, drop_range);
        let Some(needed) = plan else {
            return self
                .client
                .read(file_id, offset, size)
                .await
                .map(|d| ReadOut::Owned(d.into_vec()))
                .map_err(|e| errno(&e));
        };
        if let Some((start, fetch)) = needed.first() {
            // The common case, a kernel read inside one chunk, is answered from the chunk itself.
            let from = (offset - start) as usize;
            if from as u64 + size as u64 <= CHUNK as u64 {
                let data = fetch.clone().await?;
                let from = from.min(data.len());
                let to = (from + size as usize).min(data.len());
                return Ok(ReadOut::Shared(data, from..to));
            }
        }
        let mut out = Vec::with_capacity(size as usize);
        for (start, fetch) in needed {
            let data = fetch.await?;
            let from = (offset + out.len() as u64 - start) as usize;
            if from >= data.len() {
                break; // end of file
            }
            let want = size as usize - out.len();
            let to = (from + want).min(data.len());
            out.extend_from_slice(&data[from..to]);
            if to < CHUNK as usize && to == data.len() {
                break; // this chunk ended at end of file
            }
        }
        Ok(ReadOut::Owned(out))
    }
}

/// A gathered run taken by [`FileIo::settle_or_take`] to be sent by the caller: its range
/// stays in flight until it is [`done`](Self::done) (or dropped, which counts as a failure).
pub struct TakenWrite {
    io: Arc<InodeIo>,
    range: (u64, u64),
    gathered: Option<Gathered>,
    failure: Option<Errno>,
}

impl TakenWrite {
    pub fn file_id(&self) -> FileId {
        self.gathered.as_ref().expect("not yet sent").file_id
    }

    pub fn offset(&self) -> u64 {
        self.range.0
    }

    pub fn data(&self) -> &[u8] {
        &self.gathered.as_ref().expect("not yet sent").buf[HEADROOM..]
    }

    /// The data, with room in front for sealing it in place.
    pub fn payload(&mut self) -> PayloadBuf {
        let g = self.gathered.as_mut().expect("payload taken once");
        PayloadBuf {
            buf: std::mem::take(&mut g.buf),
            headroom: HEADROOM,
        }
    }

    /// The write reached the server, or failed: a failure is reported by the next flush,
    /// fsync or close of the inode, as for any write-behind.
    pub fn done(mut self, r: Result<(), Errno>) {
        self.failure = r.err();
    }
}

impl Drop for TakenWrite {
    fn drop(&mut self) {
        // The budget permits go with the run.
        self.gathered.take();
        let mut st = lock(&self.io.state);
        if let Some(i) = st.writes.iter().position(|w| *w == self.range) {
            st.writes.swap_remove(i);
        }
        if let Some(e) = self.failure {
            log::warn!(
                "write-behind of {} bytes at {} failed: {e:?}",
                self.range.1 - self.range.0,
                self.range.0
            );
            st.error.get_or_insert(e);
        }
        drop(st);
        self.io.changed.notify_waiters();
    }
}

/// The answer to one read: a slice of a read-ahead chunk, or bytes of its own.
pub enum ReadOut {
    Shared(Arc<ReadData>, std::ops::Range<usize>),
    Owned(Vec<u8>),
}

impl std::ops::Deref for ReadOut {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            ReadOut::Shared(data, range) => &data[range.clone()],
            ReadOut::Owned(v) => v,
        }
    }
}

/// A read-ahead request, started at once on `rt` (callers may be fuser's threads, outside it).
fn fetch(
    rt: &tokio::runtime::Handle,
    client: &Client,
    file_id: FileId,
    start: u64,
    len: u32,
) -> Fetch {
    let client = client.clone();
    let task = rt.spawn(async move { client.read(file_id, start, len).await });
    async move {
        match task.await {
            Ok(Ok(d)) => Ok(Arc::new(d)),
            Ok(Err(e)) => Err(errno(&e)),
            Err(_) => Err(Errno::EIO),
        }
    }
    .boxed()
    .shared()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_behind_trails_a_stream_in_steps() {
        const M: u64 = 1024 * 1024;
        let mut d = DropBehind::default();
        // Nothing while the stream is within lag + one step of its start.
        assert_eq!(d.advance(16 * M, 16 * M), None);
        assert_eq!(d.advance(23 * M, 16 * M), None);
        assert_eq!(d.advance(24 * M, 16 * M), Some((0, 8 * M)));
        assert_eq!(d.advance(25 * M, 16 * M), None);
        assert_eq!(d.advance(40 * M, 16 * M), Some((8 * M, 16 * M)));
        // Going back restarts it there; nothing before the new start is dropped.
        assert_eq!(d.advance(4 * M, 16 * M), None);
        assert_eq!(d.advance(28 * M, 16 * M), Some((4 * M, 8 * M)));
        // drop_behind=0 turns it off.
        let mut off = DropBehind::default();
        assert_eq!(off.advance(1 << 40, 0), None);
        let mut started = DropBehind::default();
        started.restart(100 * M);
        assert_eq!(started.advance(130 * M, 16 * M), Some((100 * M, 14 * M)));
    }

    #[test]
    fn overlap_rules() {
        assert!(overlaps((0, 10), (5, 15)));
        assert!(!overlaps((0, 10), (10, 20)));
        assert!(!overlaps((10, 20), (0, 10)));
        assert!(overlaps((0, 100), (10, 20)));
    }
}
