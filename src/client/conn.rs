//! One TCP connection to the server: framing, message ids, credits, signing and sealing, and one
//! reader task that hands each response to the request waiting for it.
//!
//! Many requests are in flight at once. A request takes credits (one per 64 KiB of payload under
//! large MTU) from a semaphore the server refills through the credits it grants, so we never send
//! more than the server allows. Messages ids are taken in order under a short lock.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::error::{ClientError, Result};
use crate::crypto::kdf::SessionKeys;
use crate::crypto::seal::{Decryptor, Encryptor};
use crate::crypto::{signing, SigningAlgorithm};
use crate::proto::header::{
    Command, Header, FLAGS_ASYNC_COMMAND, FLAGS_RELATED_OPERATIONS, FLAGS_SERVER_TO_REDIR,
    FLAGS_SIGNED, HEADER_LEN,
};
use crate::proto::oplock::{BreakNotification, LeaseBreakNotification};
use crate::proto::transform::{TransformHeader, TRANSFORM_HEADER_LEN};
use crate::proto::NtStatus;

/// Largest frame we accept: an 8 MiB read plus headers, with room to spare.
const MAX_FRAME: usize = 16 * 1024 * 1024 + 4096;
/// Message id the server uses for unsolicited oplock and lease breaks.
const UNSOLICITED_MESSAGE_ID: u64 = u64::MAX;
/// Credits we try to keep available so that large reads and writes can be pipelined.
const CREDIT_TARGET: u32 = 512;

/// Keys and policy after logon; installed once session setup has finished.
pub(crate) struct Security {
    pub session_id: u64,
    pub signing_algorithm: SigningAlgorithm,
    pub keys: SessionKeys,
    /// Present when every request is sealed (session or share requires it, or the user asked).
    pub encryptor: Option<Encryptor>,
    pub decryptor: Option<Decryptor>,
}

impl Security {
    fn encrypting(&self) -> bool {
        self.encryptor.is_some()
    }
}

/// One message of a request: the header fields the caller cares about and the encoded body.
pub(crate) struct Outgoing<'a> {
    pub command: Command,
    pub tree_id: u32,
    /// Set for the second and later parts of a related compound.
    pub related: bool,
    pub body: Vec<u8>,
    /// Bytes sent right after `body` (a WRITE's data), borrowed so they are copied only once,
    /// into the frame.
    pub data: &'a [u8],
    /// Instead of `data`: a buffer whose bytes after `headroom` are the data, with room in front
    /// for the frame's headers, so a large WRITE is sealed where it lies and never copied.
    pub in_place: Option<PayloadBuf>,
    /// Payload size in bytes that decides the credit charge (read length, write length,
    /// output buffer); 0 for small requests.
    pub payload: usize,
}

/// Data to send with free space in front of it, see [`Outgoing::in_place`].
pub struct PayloadBuf {
    pub buf: Vec<u8>,
    pub headroom: usize,
}

impl PayloadBuf {
    /// Room a caller leaves in front of WRITE data: length prefix, transform header, SMB2 header
    /// and the WRITE request's fixed part, rounded up.
    pub const WRITE_HEADROOM: usize = 256;

    pub fn data(&self) -> &[u8] {
        &self.buf[self.headroom..]
    }
}

/// A response: its decoded header and the whole message (header included), which sits at
/// `buf[start..]` (a decrypted frame keeps its transform header in front, saving a copy).
#[derive(Debug)]
pub(crate) struct Response {
    pub header: Header,
    pub buf: Vec<u8>,
    pub start: usize,
}

impl Response {
    pub fn message(&self) -> &[u8] {
        &self.buf[self.start..]
    }
    pub fn body(&self) -> &[u8] {
        &self.buf[self.start + HEADER_LEN..]
    }
    pub fn status(&self) -> NtStatus {
        self.header.status
    }
}

type Waiter = oneshot::Sender<Result<Response>>;

struct Pending {
    next_message_id: u64,
    waiters: HashMap<u64, Waiter>,
    /// Why the connection is gone, once it is.
    dead: Option<String>,
}

pub(crate) struct Connection {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Mutex<Pending>,
    credits: Semaphore,
    security: RwLock<Option<Arc<Security>>>,
    /// Large MTU: charge one credit per 64 KiB (2.1 and later).
    multi_credit: AtomicBool,
    /// 2.0.2 sends CreditCharge 0.
    zero_charge: AtomicBool,
    pub(crate) peer: String,
    request_timeout_secs: AtomicU16,
    /// Where lease break notifications go, once someone listens ([`Connection::lease_breaks`]).
    lease_breaks: Mutex<Option<mpsc::UnboundedSender<LeaseBreakNotification>>>,
    /// What has been sent, for `smb3fs status` (as `/proc/fs/cifs/Stats` counts for cifs).
    counts: SentCounts,
}

/// Requests sent per command, and frames (round trips: a compound is one).
#[derive(Default)]
struct SentCounts {
    by_command: [AtomicU64; Command::ALL.len()],
    frames: AtomicU64,
}

/// A snapshot of [`SentCounts`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// Requests per command, in [`Command::ALL`] order.
    pub by_command: [u64; Command::ALL.len()],
    pub frames: u64,
}

impl RequestCounts {
    pub fn requests(&self) -> u64 {
        self.by_command.iter().sum()
    }

    /// "create 3, close 3" for the commands sent at least once, in protocol order.
    pub fn summary(&self) -> String {
        Command::ALL
            .iter()
            .zip(self.by_command)
            .filter(|(_, n)| *n > 0)
            .map(|(c, n)| format!("{} {n}", command_name(*c).to_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Connection {
    /// Wrap a connected stream and start the reader task.
    pub fn start(stream: TcpStream, peer: String, request_timeout: Duration) -> Arc<Connection> {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let conn = Arc::new(Connection {
            writer: tokio::sync::Mutex::new(write),
            pending: Mutex::new(Pending {
                next_message_id: 0,
                waiters: HashMap::new(),
                dead: None,
            }),
            // The first NEGOTIATE needs no grant.
            credits: Semaphore::new(1),
            security: RwLock::new(None),
            multi_credit: AtomicBool::new(false),
            zero_charge: AtomicBool::new(false),
            peer,
            request_timeout_secs: AtomicU16::new(request_timeout.as_secs().clamp(1, 65535) as u16),
            lease_breaks: Mutex::new(None),
            counts: SentCounts::default(),
        });
        let reader_conn = Arc::clone(&conn);
        tokio::spawn(async move {
            let reason = reader_conn.read_loop(read).await;
            reader_conn.fail_all(reason);
        });
        conn
    }

    /// Lease break notifications from now on (a later call takes them over).
    pub fn lease_breaks(&self) -> mpsc::UnboundedReceiver<LeaseBreakNotification> {
        let (tx, rx) = mpsc::unbounded_channel();
        *self.lease_breaks.lock().unwrap() = Some(tx);
        rx
    }

    pub fn set_credit_mode(&self, multi_credit: bool, zero_charge: bool) {
        self.multi_credit.store(multi_credit, Ordering::Relaxed);
        self.zero_charge.store(zero_charge, Ordering::Relaxed);
    }

    pub fn install_security(&self, security: Security) {
        *self.security.write().unwrap() = Some(Arc::new(security));
    }

    pub fn security(&self) -> Option<Arc<Security>> {
        self.security.read().unwrap().clone()
    }

    /// Requests sent so far.
    pub fn request_counts(&self) -> RequestCounts {
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        RequestCounts {
            by_command: std::array::from_fn(|i| load(&self.counts.by_command[i])),
            frames: load(&self.counts.frames),
        }
    }

    pub fn is_alive(&self) -> bool {
        self.pending.lock().unwrap().dead.is_none()
    }

    fn credit_charge(&self, payload: usize) -> u16 {
        if !self.multi_credit.load(Ordering::Relaxed) || payload == 0 {
            return 1;
        }
        payload.div_ceil(65536).clamp(1, 256) as u16
    }

    /// Send one message and wait for its response.
    pub async fn call(&self, part: Outgoing<'_>, session_id: u64) -> Result<Response> {
        let op = command_name(part.command);
        let mut v = self.send(vec![part], session_id, None).await?;
        v.pop()
            .ok_or_else(|| ClientError::Unexpected(format!("no response to {op}")))
    }

    /// Send one message, returning the exact bytes sent (for the pre-authentication hash).
    pub async fn call_capturing(
        &self,
        part: Outgoing<'_>,
        session_id: u64,
    ) -> Result<(Vec<u8>, Response)> {
        let mut sent = Vec::new();
        let mut v = self.send(vec![part], session_id, Some(&mut sent)).await?;
        let resp = v
            .pop()
            .ok_or_else(|| ClientError::Unexpected("no response".into()))?;
        Ok((sent.pop().unwrap_or_default(), resp))
    }

    /// Send a compound (one part is a plain request) and wait for every response, in order.
    pub async fn send(
        &self,
        parts: Vec<Outgoing<'_>>,
        session_id: u64,
        capture: Option<&mut Vec<Vec<u8>>>,
    ) -> Result<Vec<Response>> {
        let timeout = self.request_timeout();
        let op = command_name(parts[0].command);
        let sent = self.submit(parts, session_id, capture).await?;
        let mut responses = Vec::with_capacity(sent.len());
        for (rx, id) in sent {
            let r = match tokio::time::timeout(timeout, rx).await {
                Ok(Ok(r)) => r?,
                Ok(Err(_)) => return Err(self.dead_error()),
                Err(_) => {
                    self.pending.lock().unwrap().waiters.remove(&id);
                    return Err(ClientError::Timeout {
                        op,
                        secs: timeout.as_secs(),
                    });
                }
            };
            responses.push(r);
        }
        Ok(responses)
    }

    /// Send one message that the server may keep pending for as long as it likes (a
    /// CHANGE_NOTIFY): returns once the request has been written, so a request sent after this
    /// returns reaches the server after it; the returned future resolves with the response,
    /// with no time limit, or with `Disconnected` as soon as the connection is lost.
    pub async fn submit_untimed(
        self: &Arc<Self>,
        part: Outgoing<'_>,
        session_id: u64,
    ) -> Result<impl std::future::Future<Output = Result<Response>> + Send + 'static> {
        let (rx, _) = self
            .submit(vec![part], session_id, None)
            .await?
            .pop()
            .ok_or_else(|| ClientError::Unexpected("no request sent".into()))?;
        let conn = Arc::clone(self);
        Ok(async move {
            match rx.await {
                Ok(r) => r,
                Err(_) => Err(conn.dead_error()),
            }
        })
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.load(Ordering::Relaxed) as u64)
    }

    /// Take credits (waiting at most the request timeout for the server to grant them) and
    /// message ids, register the waiters and write the frame. Returns each part's receiver and
    /// message id.
    async fn submit(
        &self,
        parts: Vec<Outgoing<'_>>,
        session_id: u64,
        capture: Option<&mut Vec<Vec<u8>>>,
    ) -> Result<Vec<(oneshot::Receiver<Result<Response>>, u64)>> {
        let charges: Vec<u16> = parts
            .iter()
            .map(|p| self.credit_charge(p.payload))
            .collect();
        let total: u32 = charges.iter().map(|c| *c as u32).sum();
        let timeout = self.request_timeout();
        let op = command_name(parts[0].command);

        // Credits: wait until the server has granted enough.
        match tokio::time::timeout(timeout, self.credits.acquire_many(total)).await {
            Ok(Ok(permit)) => permit.forget(),
            Ok(Err(_)) => return Err(self.dead_error()),
            Err(_) => {
                return Err(ClientError::Timeout {
                    op,
                    secs: timeout.as_secs(),
                })
            }
        }

        // Message ids and waiters, under one short lock.
        let mut receivers = Vec::with_capacity(parts.len());
        let mut ids = Vec::with_capacity(parts.len());
        {
            let mut p = self.pending.lock().unwrap();
            if let Some(reason) = &p.dead {
                return Err(ClientError::Disconnected(reason.clone()));
            }
            for charge in &charges {
                let id = p.next_message_id;
                p.next_message_id += (*charge).max(1) as u64;
                let (tx, rx) = oneshot::channel();
                p.waiters.insert(id, tx);
                ids.push(id);
                receivers.push(rx);
            }
        }

        for part in &parts {
            if let Some(i) = Command::ALL.iter().position(|c| *c == part.command) {
                self.counts.by_command[i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.counts.frames.fetch_add(1, Ordering::Relaxed);
        let security = self.security();
        let (frame, frame_start) = self.build_frame(
            parts,
            &ids,
            &charges,
            session_id,
            security.as_deref(),
            capture,
        );
        let write_result = {
            let mut w = self.writer.lock().await;
            w.write_all(&frame[frame_start..]).await
        };
        if let Err(e) = write_result {
            let reason = format!("write to {} failed: {e}", self.peer);
            self.fail_all(reason);
            return Err(self.dead_error());
        }
        Ok(receivers.into_iter().zip(ids).collect())
    }

    /// Encode, chain, sign or seal the parts into one frame with its 4-byte length prefix;
    /// returns the buffer and where the frame starts in it. The frame is built in one buffer
    /// with room in front for the length and the transform header, and sealed in place, so the
    /// payload is copied at most once (never, for a single part with an in-place payload).
    fn build_frame(
        &self,
        mut parts: Vec<Outgoing<'_>>,
        ids: &[u64],
        charges: &[u16],
        session_id: u64,
        security: Option<&Security>,
        capture: Option<&mut Vec<Vec<u8>>>,
    ) -> (Vec<u8>, usize) {
        let encryptor = security.and_then(|s| s.encryptor.as_ref());
        let base = 4 + if encryptor.is_some() {
            TRANSFORM_HEADER_LEN
        } else {
            0
        };
        let zero_charge = self.zero_charge.load(Ordering::Relaxed);
        // Ask for more credits while below the target, so pipelined I/O is not starved.
        let short = self.credits.available_permits() < CREDIT_TARGET as usize;
        let header = |i: usize, part: &Outgoing<'_>| {
            let mut h = Header::new(part.command);
            h.credit_charge = if zero_charge { 0 } else { charges[i] };
            h.credits = charges[i].max(1) + if short { 64 } else { 0 };
            h.message_id = ids[i];
            h.tree_id = part.tree_id;
            h.session_id = session_id;
            if part.related {
                h.flags |= FLAGS_RELATED_OPERATIONS;
            }
            h
        };

        let in_place_fits = parts.len() == 1
            && parts[0]
                .in_place
                .as_ref()
                .is_some_and(|p| p.headroom >= base + HEADER_LEN + parts[0].body.len());
        if in_place_fits {
            let part = parts.pop().expect("one part");
            let payload = part.in_place.as_ref().expect("checked above");
            let mut head = Vec::with_capacity(HEADER_LEN + part.body.len());
            header(0, &part).encode(&mut head);
            head.extend_from_slice(&part.body);
            let msg_start = payload.headroom - head.len();
            let frame_start = msg_start - base;
            let mut frame = part.in_place.expect("checked above").buf;
            frame[msg_start..msg_start + head.len()].copy_from_slice(&head);
            let len = frame.len();
            self.finish_frame(
                &mut frame[frame_start..len],
                base,
                &[base],
                session_id,
                security,
                capture,
            );
            return (frame, frame_start);
        }

        let total: usize = parts
            .iter()
            .map(|p| {
                let data = p.in_place.as_ref().map_or(p.data, |d| d.data());
                HEADER_LEN + p.body.len() + data.len() + 8
            })
            .sum::<usize>();
        let mut frame = Vec::with_capacity(base + total);
        frame.resize(base, 0);
        let mut starts = Vec::with_capacity(parts.len());
        for (i, part) in parts.iter().enumerate() {
            let start = frame.len();
            starts.push(start);
            header(i, part).encode(&mut frame);
            frame.extend_from_slice(&part.body);
            frame.extend_from_slice(part.in_place.as_ref().map_or(part.data, |d| d.data()));
            if i + 1 < parts.len() {
                // Each compounded message starts 8-byte aligned; NextCommand points to it.
                while !(frame.len() - start).is_multiple_of(8) {
                    frame.push(0);
                }
                let next = (frame.len() - start) as u32;
                frame[start + 20..start + 24].copy_from_slice(&next.to_le_bytes());
            }
        }
        self.finish_frame(&mut frame, base, &starts, session_id, security, capture);
        (frame, 0)
    }

    /// Sign or seal an encoded frame (length prefix first, messages at `starts`) and set its
    /// length prefix.
    fn finish_frame(
        &self,
        frame: &mut [u8],
        base: usize,
        starts: &[usize],
        session_id: u64,
        security: Option<&Security>,
        capture: Option<&mut Vec<Vec<u8>>>,
    ) {
        let encryptor = security.and_then(|s| s.encryptor.as_ref());
        if let Some(sec) = security {
            if encryptor.is_none() && session_id != 0 && session_id == sec.session_id {
                for (i, start) in starts.iter().enumerate() {
                    let end = starts.get(i + 1).copied().unwrap_or(frame.len());
                    signing::sign(
                        sec.signing_algorithm,
                        &sec.keys.signing_key,
                        &mut frame[*start..end],
                    );
                }
            }
        }
        if let Some(cap) = capture {
            cap.push(frame[base..].to_vec());
        }
        if let (Some(sec), Some(enc)) = (security, encryptor) {
            enc.encrypt_in_place(sec.session_id, &mut frame[4..])
                .expect("a frame within the negotiated sizes always seals");
        }
        let len = (frame.len() - 4) as u32;
        frame[..4].copy_from_slice(&len.to_be_bytes());
    }

    fn dead_error(&self) -> ClientError {
        let reason = self.pending.lock().unwrap().dead.clone();
        ClientError::Disconnected(reason.unwrap_or_else(|| "connection closed".into()))
    }

    /// Mark the connection dead and fail every waiter with the reason.
    pub fn fail_all(&self, reason: String) {
        self.fail(reason, true)
    }

    fn fail(&self, reason: String, unexpected: bool) {
        let waiters = {
            let mut p = self.pending.lock().unwrap();
            if p.dead.is_none() {
                if unexpected {
                    log::warn!("connection to {}: {reason}", self.peer);
                }
                p.dead = Some(reason.clone());
            }
            std::mem::take(&mut p.waiters)
        };
        self.credits.close();
        let reason = self.pending.lock().unwrap().dead.clone().unwrap_or(reason);
        for (_, w) in waiters {
            let _ = w.send(Err(ClientError::Disconnected(reason.clone())));
        }
    }

    /// Shut the socket; the reader task then ends and fails every waiter.
    pub async fn shutdown(&self) {
        self.fail("connection closed by the client".into(), false);
        let mut w = self.writer.lock().await;
        let _ = w.shutdown().await;
    }

    /// Read frames until the stream ends or a check fails; returns why it stopped.
    async fn read_loop(&self, read: OwnedReadHalf) -> String {
        let mut reader = BufReader::with_capacity(256 * 1024, read);
        loop {
            let mut len_buf = [0u8; 4];
            if let Err(e) = reader.read_exact(&mut len_buf).await {
                return if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    format!("{} closed the connection", self.peer)
                } else {
                    format!("read from {} failed: {e}", self.peer)
                };
            }
            let len = u32::from_be_bytes(len_buf) as usize;
            if len_buf[0] != 0 || !(4..=MAX_FRAME).contains(&len) {
                return format!("bad frame length {len} from {}", self.peer);
            }
            // Filled without zeroing first: at disk speed, zeroing every frame costs as much
            // as a copy of it.
            let mut frame = Vec::with_capacity(len);
            while frame.len() < len {
                let want = (len - frame.len()) as u64;
                match (&mut reader).take(want).read_buf(&mut frame).await {
                    Ok(0) => return format!("{} closed the connection mid-frame", self.peer),
                    Ok(_) => {}
                    Err(e) => return format!("read from {} failed: {e}", self.peer),
                }
            }
            if let Err(reason) = self.handle_frame(frame) {
                return reason;
            }
        }
    }

    /// Decrypt or verify one frame and dispatch each message in it. An error drops the connection.
    fn handle_frame(&self, frame: Vec<u8>) -> core::result::Result<(), String> {
        let security = self.security();
        let mut frame = frame;
        let (start, sealed) = if TransformHeader::is_transform(&frame) {
            let sec = security
                .as_deref()
                .ok_or("encrypted message before logon")?;
            let dec = sec
                .decryptor
                .as_ref()
                .ok_or("encrypted message, but encryption is not in use")?;
            let session_id = dec
                .decrypt_in_place_slice(&mut frame)
                .map_err(|e| format!("message failed decryption: {e}"))?;
            if session_id != sec.session_id {
                return Err(format!(
                    "encrypted message for unknown session {session_id:#x}"
                ));
            }
            (TRANSFORM_HEADER_LEN, true)
        } else {
            (0, false)
        };
        // A compound response holds several messages chained by NextCommand.
        let first = Header::decode(&frame[start..]).map_err(|e| format!("bad SMB2 header: {e}"))?;
        if first.next_command == 0 {
            // The common case, with no copy.
            return self.dispatch(first, frame, start, sealed, security.as_deref());
        }
        let plain = &frame[start..];
        let mut offset = 0usize;
        loop {
            let header =
                Header::decode(&plain[offset..]).map_err(|e| format!("bad SMB2 header: {e}"))?;
            let next = header.next_command as usize;
            let end = if next == 0 {
                plain.len()
            } else {
                offset.saturating_add(next)
            };
            if next != 0 && (next < HEADER_LEN || !next.is_multiple_of(8) || end > plain.len()) {
                return Err(format!("bad NextCommand offset {next}"));
            }
            self.dispatch(
                header,
                plain[offset..end].to_vec(),
                0,
                sealed,
                security.as_deref(),
            )?;
            if next == 0 {
                return Ok(());
            }
            offset = end;
        }
    }

    fn dispatch(
        &self,
        header: Header,
        buf: Vec<u8>,
        start: usize,
        sealed: bool,
        security: Option<&Security>,
    ) -> core::result::Result<(), String> {
        if header.flags & FLAGS_SERVER_TO_REDIR == 0 {
            return Err("the server sent a request, not a response".into());
        }
        let interim = header.status == NtStatus::PENDING && header.flags & FLAGS_ASYNC_COMMAND != 0;
        if let Some(sec) = security {
            if header.session_id == sec.session_id && !sealed && !interim {
                if sec.encrypting() {
                    return Err(format!(
                        "unencrypted {} response on an encrypted session",
                        command_name(header.command)
                    ));
                }
                if header.flags & FLAGS_SIGNED == 0 {
                    return Err(format!(
                        "unsigned {} response",
                        command_name(header.command)
                    ));
                }
                if !signing::verify(sec.signing_algorithm, &sec.keys.signing_key, &buf[start..]) {
                    return Err(format!(
                        "bad signature on {} response",
                        command_name(header.command)
                    ));
                }
            }
        }
        if header.credits > 0 {
            self.credits.add_permits(header.credits as usize);
        }
        if header.message_id == UNSOLICITED_MESSAGE_ID {
            // Lease breaks go to whoever holds leases; we never ask for oplocks, so an oplock
            // break (or anything else unsolicited) has nobody to go to.
            let command = header.command;
            let body = Response { header, buf, start };
            match BreakNotification::decode(body.body()) {
                Ok(BreakNotification::Lease(b)) if command == Command::OplockBreak => {
                    log::debug!("lease break: {b:?}");
                    if let Some(tx) = self.lease_breaks.lock().unwrap().as_ref() {
                        let _ = tx.send(b);
                    }
                }
                _ => log::debug!("ignoring unsolicited {command:?}"),
            }
            return Ok(());
        }
        if interim {
            // STATUS_PENDING: the real answer follows with the same message id.
            return Ok(());
        }
        let waiter = self
            .pending
            .lock()
            .unwrap()
            .waiters
            .remove(&header.message_id);
        match waiter {
            Some(w) => {
                let _ = w.send(Ok(Response { header, buf, start }));
            }
            None => log::debug!(
                "response to unknown or abandoned message id {}",
                header.message_id
            ),
        }
        Ok(())
    }
}

pub(crate) fn command_name(c: Command) -> &'static str {
    match c {
        Command::Negotiate => "NEGOTIATE",
        Command::SessionSetup => "SESSION_SETUP",
        Command::Logoff => "LOGOFF",
        Command::TreeConnect => "TREE_CONNECT",
        Command::TreeDisconnect => "TREE_DISCONNECT",
        Command::Create => "CREATE",
        Command::Close => "CLOSE",
        Command::Flush => "FLUSH",
        Command::Read => "READ",
        Command::Write => "WRITE",
        Command::Lock => "LOCK",
        Command::Ioctl => "IOCTL",
        Command::Cancel => "CANCEL",
        Command::Echo => "ECHO",
        Command::QueryDirectory => "QUERY_DIRECTORY",
        Command::ChangeNotify => "CHANGE_NOTIFY",
        Command::QueryInfo => "QUERY_INFO",
        Command::SetInfo => "SET_INFO",
        Command::OplockBreak => "OPLOCK_BREAK",
    }
}
