//! File operations. Path operations that need a handle only briefly (stat, mkdir, rename,
//! delete, set attributes) are sent as one related compound, CREATE + … + CLOSE, so each costs a
//! single round trip.

use futures::future::try_join_all;

use super::conn::{Outgoing, PayloadBuf, Response};
use super::error::{ClientError, Result};
use super::Client;
use crate::proto::create::*;
use crate::proto::dir::{
    iter_id_both_directory_information, QueryDirectoryRequest, QueryDirectoryResponse,
    FILE_ID_BOTH_DIRECTORY_INFORMATION, RESTART_SCANS,
};
use crate::proto::file::{
    CloseRequest, CloseResponse, FlushRequest, ReadRequest, ReadResponse, WriteRequest,
    WriteResponse, WRITEFLAG_WRITE_THROUGH,
};
use crate::proto::fsinfo::FileFsFullSizeInformation;
use crate::proto::header::{Command, HEADER_LEN};
use crate::proto::info::*;
use crate::proto::oplock::{
    LeaseBreakAck, LeaseBreakResponse, LeaseContext, LEASE_FLAG_BREAK_IN_PROGRESS,
};
use crate::proto::{Body, NtStatus};

/// The handle value that means "the file opened earlier in this compound".
const RELATED_FILE_ID: FileId = FileId {
    persistent: u64::MAX,
    volatile: u64::MAX,
};
/// Enough for FileAllInformation with a long name.
const ALL_INFO_BUFFER: u32 = 4096;

/// Attributes of a file or directory as the server reports them. Times are FILETIME
/// (100 ns units since 1601); `index_number` is the server's file id, 0 when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileAttrs {
    pub index_number: u64,
    pub size: u64,
    pub allocation_size: u64,
    pub attributes: u32,
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub nlink: u32,
}

impl FileAttrs {
    pub fn is_dir(&self) -> bool {
        self.attributes & FILE_ATTRIBUTE_DIRECTORY != 0
    }

    fn from_all(all: &FileAllInformation) -> FileAttrs {
        FileAttrs {
            index_number: all.internal.index_number,
            size: all.standard.end_of_file,
            allocation_size: all.standard.allocation_size,
            attributes: all.basic.file_attributes,
            creation_time: all.basic.creation_time,
            last_access_time: all.basic.last_access_time,
            last_write_time: all.basic.last_write_time,
            change_time: all.basic.change_time,
            nlink: all.standard.number_of_links,
        }
    }

    fn from_create(c: &CreateResponse) -> FileAttrs {
        FileAttrs {
            index_number: 0,
            size: c.end_of_file,
            allocation_size: c.allocation_size,
            attributes: c.file_attributes,
            creation_time: c.creation_time,
            last_access_time: c.last_access_time,
            last_write_time: c.last_write_time,
            change_time: c.change_time,
            nlink: 1,
        }
    }
}

/// One directory entry from a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub attrs: FileAttrs,
}

/// How to open or create: the CREATE request's access, sharing, disposition and options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    pub desired_access: u32,
    pub share_access: u32,
    pub disposition: u32,
    pub create_options: u32,
    pub file_attributes: u32,
    /// Ask for a lease: its key and the caching (LEASE_* bits) wanted.
    pub lease: Option<([u8; 16], u32)>,
}

impl OpenOptions {
    /// Open an existing file or directory for reading.
    pub fn read() -> Self {
        OpenOptions {
            desired_access: FILE_READ_DATA
                | FILE_READ_ATTRIBUTES
                | FILE_READ_EA
                | READ_CONTROL
                | SYNCHRONIZE,
            share_access: FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            disposition: FILE_OPEN,
            create_options: 0,
            file_attributes: 0,
            lease: None,
        }
    }

    /// Open an existing file for reading and writing.
    pub fn read_write() -> Self {
        let mut o = Self::read();
        o.desired_access |=
            FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_ATTRIBUTES | FILE_WRITE_EA;
        o
    }

    pub fn disposition(mut self, disposition: u32) -> Self {
        self.disposition = disposition;
        self
    }

    pub fn options(mut self, create_options: u32) -> Self {
        self.create_options |= create_options;
        self
    }

    pub fn access(mut self, desired_access: u32) -> Self {
        self.desired_access = desired_access;
        self
    }

    /// Ask for a lease with `key` and the caching `state` (LEASE_* bits).
    pub fn lease(mut self, key: [u8; 16], state: u32) -> Self {
        self.lease = Some((key, state));
        self
    }
}

/// A lease the server granted with an open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GrantedLease {
    /// LEASE_* bits.
    pub state: u32,
    pub epoch: u16,
    /// The server is breaking it already.
    pub breaking: bool,
}

/// An open handle and the attributes the server reported when opening it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFile {
    pub file_id: FileId,
    pub attrs: FileAttrs,
    pub create_action: u32,
    /// The lease granted, when one was asked for and the server granted it.
    pub lease: Option<GrantedLease>,
}

/// Bytes returned by a read. They stay where they arrived in the decrypted frame, so a large
/// read is not copied again; the value derefs to `[u8]`.
#[derive(Debug, Default)]
pub struct ReadData {
    buf: Vec<u8>,
    range: std::ops::Range<usize>,
}

impl std::ops::Deref for ReadData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[self.range.clone()]
    }
}

impl ReadData {
    pub fn into_vec(mut self) -> Vec<u8> {
        if self.range.start == 0 {
            self.buf.truncate(self.range.end);
            self.buf
        } else {
            self.to_vec()
        }
    }
}

/// Share capacity, from FileFsFullSizeInformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsStats {
    pub block_size: u64,
    pub total_blocks: u64,
    pub free_blocks: u64,
    pub available_blocks: u64,
}

/// "dir/sub/file" or "/dir/sub/file" -> "dir\sub\file"; "" or "/" is the share root.
pub fn smb_path(path: &str) -> String {
    path.trim_matches('/').replace('/', "\\")
}

pub(super) fn create_request(path: &str, o: &OpenOptions) -> CreateRequest {
    let mut contexts = Vec::new();
    if let Some((key, state)) = o.lease {
        let mut data = Vec::with_capacity(52);
        LeaseContext {
            lease_key: key,
            lease_state: state,
            ..LeaseContext::default()
        }
        .encode(&mut data);
        contexts.push(CreateContext::new(REQUEST_LEASE, data));
    }
    CreateRequest {
        security_flags: 0,
        requested_oplock_level: if o.lease.is_some() {
            OPLOCK_LEVEL_LEASE
        } else {
            OPLOCK_LEVEL_NONE
        },
        impersonation_level: IMPERSONATION_IMPERSONATION,
        desired_access: o.desired_access,
        file_attributes: o.file_attributes,
        share_access: o.share_access,
        create_disposition: o.disposition,
        create_options: o.create_options,
        name: smb_path(path),
        contexts,
    }
}

/// The lease a CREATE response grants, if any.
fn granted_lease(c: &CreateResponse) -> Option<GrantedLease> {
    if c.oplock_level != OPLOCK_LEVEL_LEASE {
        return None;
    }
    let l = LeaseContext::decode(&find_create_context(&c.contexts, REQUEST_LEASE)?.data).ok()?;
    Some(GrantedLease {
        state: l.lease_state,
        epoch: l.epoch,
        breaking: l.flags & LEASE_FLAG_BREAK_IN_PROGRESS != 0,
    })
}

fn query_request(
    info_type: u8,
    class: u8,
    output_buffer_length: u32,
    file_id: FileId,
) -> QueryInfoRequest {
    QueryInfoRequest {
        info_type,
        file_info_class: class,
        output_buffer_length,
        additional_information: 0,
        flags: 0,
        file_id,
        input: Vec::new(),
    }
}

fn set_file_info_request(class: u8, file_id: FileId, buffer: Vec<u8>) -> SetInfoRequest {
    SetInfoRequest {
        info_type: INFO_FILE,
        file_info_class: class,
        additional_information: 0,
        file_id,
        buffer,
    }
}

fn query_all_request(file_id: FileId) -> QueryInfoRequest {
    query_request(INFO_FILE, FILE_ALL_INFORMATION, ALL_INFO_BUFFER, file_id)
}

const CLOSE_RELATED: CloseRequest = CloseRequest {
    flags: 0,
    file_id: RELATED_FILE_ID,
};

/// The attributes in a QUERY_INFO(FileAllInformation) response.
fn all_attrs(resp: &Response, op: &'static str, path: &str) -> Result<FileAttrs> {
    check(resp, op, path)?;
    let q: QueryInfoResponse = decode(resp)?;
    Ok(FileAttrs::from_all(&FileAllInformation::decode(&q.buffer)?))
}

/// The count of a WRITE response for `len` bytes; a short write is a full disk.
fn written(resp: &Response, len: usize) -> Result<u32> {
    check(resp, "write", "")?;
    let w: WriteResponse = decode(resp)?;
    if (w.count as usize) < len {
        return Err(ClientError::Status {
            op: "write",
            path: String::new(),
            status: NtStatus::DISK_FULL,
        });
    }
    Ok(w.count)
}

fn check(resp: &Response, op: &'static str, path: &str) -> Result<()> {
    let status = resp.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(ClientError::Status {
            op,
            path: path.to_string(),
            status,
        })
    }
}

fn decode<B: Body>(resp: &Response) -> Result<B> {
    Ok(B::decode(resp.body())?)
}

impl Client {
    fn part<B: Body>(&self, body: &B, related: bool, payload: usize) -> Outgoing<'static> {
        let mut o = self.outgoing(body, payload);
        o.related = related;
        o
    }

    async fn compound(&self, parts: Vec<Outgoing<'_>>) -> Result<Vec<Response>> {
        let n = parts.len();
        let v = self
            .inner
            .conn
            .send(parts, self.inner.session_id, None)
            .await?;
        if v.len() != n {
            return Err(ClientError::Unexpected(format!(
                "{} responses to {n} requests",
                v.len()
            )));
        }
        Ok(v)
    }

    /// CREATE + QUERY_INFO [+ CLOSE] in one round trip; fails if the CREATE does, and returns
    /// the QUERY_INFO response whatever its status.
    async fn create_and_query(
        &self,
        op: &'static str,
        path: &str,
        o: &OpenOptions,
        query: &QueryInfoRequest,
        close: bool,
    ) -> Result<(CreateResponse, Response)> {
        let mut parts = vec![
            self.part(&create_request(path, o), false, 0),
            self.part(query, true, 0),
        ];
        if close {
            parts.push(self.part(&CLOSE_RELATED, true, 0));
        }
        let mut r = self.compound(parts).await?;
        check(&r[0], op, path)?;
        let created: CreateResponse = decode(&r[0])?;
        Ok((created, r.swap_remove(1)))
    }

    /// CREATE + QUERY_INFO(FileAllInformation) [+ CLOSE] in one round trip.
    async fn create_query(
        &self,
        op: &'static str,
        path: &str,
        o: &OpenOptions,
        close: bool,
    ) -> Result<(CreateResponse, FileAttrs)> {
        let (c, a, _) = self.create_query_named(op, path, o, close).await?;
        Ok((c, a))
    }

    /// [`Client::create_query`], also returning the name FileAllInformation reports (the path
    /// as the server stores it, in its letter case), when it does.
    async fn create_query_named(
        &self,
        op: &'static str,
        path: &str,
        o: &OpenOptions,
        close: bool,
    ) -> Result<(CreateResponse, FileAttrs, Option<String>)> {
        let (created, q) = self
            .create_and_query(op, path, o, &query_all_request(RELATED_FILE_ID), close)
            .await?;
        let (attrs, name) = if q.status().is_success() || q.status() == NtStatus::BUFFER_OVERFLOW {
            let q: QueryInfoResponse = decode(&q)?;
            match FileAllInformation::decode(&q.buffer) {
                Ok(all) => (FileAttrs::from_all(&all), Some(all.name)),
                Err(_) => (FileAttrs::from_create(&created), None),
            }
        } else {
            (FileAttrs::from_create(&created), None)
        };
        Ok((created, attrs, name))
    }

    /// Attributes of the file or directory at `path`.
    pub async fn stat(&self, path: &str) -> Result<FileAttrs> {
        let o = OpenOptions::read().access(FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        Ok(self.create_query("stat", path, &o, true).await?.1)
    }

    /// Attributes of the file or directory at `path` (matched in any letter case by a
    /// case-insensitive server) and the last component of its name as the server stores it,
    /// when the server reports it; one round trip, like [`Client::stat`].
    pub async fn stat_named(&self, path: &str) -> Result<(FileAttrs, Option<String>)> {
        let o = OpenOptions::read().access(FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        let (_, attrs, name) = self.create_query_named("stat", path, &o, true).await?;
        let last = name.and_then(|n| {
            let n = n.trim_end_matches('\\');
            let last = n.rsplit(['\\', '/']).next().unwrap_or(n);
            (!last.is_empty()).then(|| last.to_string())
        });
        Ok((attrs, last))
    }

    /// Attributes through an open handle.
    pub async fn stat_handle(&self, file_id: FileId) -> Result<FileAttrs> {
        let resp = self.call_raw(&query_all_request(file_id), 0).await?;
        all_attrs(&resp, "stat", "")
    }

    /// Open or create; the handle stays open until [`Client::close`].
    pub async fn open(&self, path: &str, o: &OpenOptions) -> Result<OpenFile> {
        let (c, attrs) = self.create_query("open", path, o, false).await?;
        Ok(OpenFile {
            file_id: c.file_id,
            attrs,
            create_action: c.create_action,
            lease: granted_lease(&c),
        })
    }

    /// Lease break notifications from now on.
    pub fn lease_breaks(
        &self,
    ) -> tokio::sync::mpsc::UnboundedReceiver<crate::proto::oplock::LeaseBreakNotification> {
        self.inner.conn.lease_breaks()
    }

    /// Acknowledge a lease break, keeping `state` (at most the break's new state).
    pub async fn ack_lease_break(&self, key: [u8; 16], state: u32) -> Result<()> {
        let ack = LeaseBreakAck {
            flags: 0,
            lease_key: key,
            lease_state: state,
            lease_duration: 0,
        };
        let resp = self.call_raw(&ack, 0).await?;
        check(&resp, "lease break acknowledgment", "")?;
        let _: LeaseBreakResponse = decode(&resp)?;
        Ok(())
    }

    pub async fn close(&self, file_id: FileId) -> Result<()> {
        let resp = self
            .call_raw(&CloseRequest { flags: 0, file_id }, 0)
            .await?;
        check(&resp, "close", "")?;
        let _: CloseResponse = decode(&resp)?;
        Ok(())
    }

    /// Create a directory; returns its attributes.
    pub async fn mkdir(&self, path: &str) -> Result<FileAttrs> {
        let o = OpenOptions::read()
            .access(FILE_READ_ATTRIBUTES | SYNCHRONIZE)
            .disposition(FILE_CREATE)
            .options(FILE_DIRECTORY_FILE);
        Ok(self.create_query("mkdir", path, &o, true).await?.1)
    }

    /// CREATE + SET_INFO [+ QUERY_INFO(FileAllInformation)] + CLOSE in one round trip; fails
    /// if the CREATE or the SET_INFO does, and returns the responses.
    async fn set_info_compound(
        &self,
        op: &'static str,
        path: &str,
        o: &OpenOptions,
        class: u8,
        buffer: Vec<u8>,
        query: bool,
    ) -> Result<Vec<Response>> {
        let set = set_file_info_request(class, RELATED_FILE_ID, buffer);
        let mut parts = vec![
            self.part(&create_request(path, o), false, 0),
            self.part(&set, true, 0),
        ];
        if query {
            parts.push(self.part(&query_all_request(RELATED_FILE_ID), true, 0));
        }
        parts.push(self.part(&CLOSE_RELATED, true, 0));
        let r = self.compound(parts).await?;
        check(&r[0], op, path)?;
        check(&r[1], op, path)?;
        Ok(r)
    }

    async fn delete(&self, path: &str, directory: bool) -> Result<()> {
        let (op, opt) = if directory {
            ("rmdir", FILE_DIRECTORY_FILE)
        } else {
            ("unlink", FILE_NON_DIRECTORY_FILE)
        };
        let o = OpenOptions::read()
            .access(DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE)
            .options(opt);
        let mut buf = Vec::new();
        FileDispositionInformation {
            delete_pending: true,
        }
        .encode(&mut buf);
        self.set_info_compound(op, path, &o, FILE_DISPOSITION_INFORMATION, buf, false)
            .await
            .map(drop)
    }

    /// Delete a file (not a directory).
    pub async fn unlink(&self, path: &str) -> Result<()> {
        self.delete(path, false).await
    }

    /// Delete an empty directory.
    pub async fn rmdir(&self, path: &str) -> Result<()> {
        self.delete(path, true).await
    }

    /// Rename `from` to `to` (both share-relative); `replace` allows replacing an existing file.
    pub async fn rename(&self, from: &str, to: &str, replace: bool) -> Result<()> {
        let o = OpenOptions::read().access(DELETE | FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        let mut buf = Vec::new();
        FileRenameInformation {
            replace_if_exists: replace,
            root_directory: 0,
            file_name: smb_path(to),
        }
        .encode(&mut buf);
        self.set_info_compound("rename", from, &o, FILE_RENAME_INFORMATION, buf, false)
            .await
            .map(drop)
    }

    /// Set times and attributes by path. Zero fields are left unchanged. Returns the attributes
    /// after the change (queried in the same round trip).
    pub async fn set_basic(&self, path: &str, basic: &FileBasicInformation) -> Result<FileAttrs> {
        let o =
            OpenOptions::read().access(FILE_WRITE_ATTRIBUTES | FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        let mut buf = Vec::new();
        basic.encode(&mut buf);
        self.set_info_path_stat("set attributes", path, &o, FILE_BASIC_INFORMATION, buf)
            .await
    }

    /// Truncate or extend by path; returns the attributes after the change.
    pub async fn set_size(&self, path: &str, size: u64) -> Result<FileAttrs> {
        let o = OpenOptions::read().access(FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        let mut buf = Vec::new();
        FileEndOfFileInformation { end_of_file: size }.encode(&mut buf);
        self.set_info_path_stat("truncate", path, &o, FILE_END_OF_FILE_INFORMATION, buf)
            .await
    }

    /// [`Client::set_info_compound`] that returns the attributes after the change.
    async fn set_info_path_stat(
        &self,
        op: &'static str,
        path: &str,
        o: &OpenOptions,
        class: u8,
        buffer: Vec<u8>,
    ) -> Result<FileAttrs> {
        let r = self
            .set_info_compound(op, path, o, class, buffer, true)
            .await?;
        match all_attrs(&r[2], op, path) {
            Ok(a) => Ok(a),
            // The change is made; only its answer is missing.
            Err(_) => self.stat(path).await,
        }
    }

    /// SET_INFO + QUERY_INFO(FileAllInformation) on an open handle in one round trip; returns
    /// the attributes after the change.
    async fn set_info_handle(
        &self,
        op: &'static str,
        file_id: FileId,
        class: u8,
        buffer: Vec<u8>,
    ) -> Result<FileAttrs> {
        let set = set_file_info_request(class, file_id, buffer);
        // Related, so the server runs them in order; the QUERY_INFO names the handle itself,
        // since some servers (ksmbd) take a related FileId only from a preceding CREATE.
        let parts = vec![
            self.part(&set, false, 0),
            self.part(&query_all_request(file_id), true, 0),
        ];
        let r = self.compound(parts).await?;
        check(&r[0], op, "")?;
        match all_attrs(&r[1], op, "") {
            Ok(a) => Ok(a),
            // The change is made; only its answer is missing.
            Err(_) => self.stat_handle(file_id).await,
        }
    }

    /// WRITE `data` at `offset` through `write_id`, then set times and attributes through
    /// `set_id` and query them, in one related compound, which the server runs in order (so
    /// the write cannot change the times after they are set). Returns the write's outcome and
    /// the attributes after; an error of the whole exchange (the connection) is the outer one.
    pub async fn write_then_set_basic(
        &self,
        write_id: FileId,
        offset: u64,
        data: &[u8],
        set_id: FileId,
        basic: &FileBasicInformation,
    ) -> Result<(Result<()>, Result<FileAttrs>)> {
        // A compound's frame is built anew anyway; the caller keeps the data for a retry.
        let write = self.write_part(write_id, offset, data, 0);
        let mut buf = Vec::new();
        basic.encode(&mut buf);
        let set = set_file_info_request(FILE_BASIC_INFORMATION, set_id, buf);
        let parts = vec![
            write,
            self.part(&set, true, 0),
            self.part(&query_all_request(set_id), true, 0),
        ];
        let r = self.compound(parts).await?;
        let wrote = written(&r[0], data.len()).map(drop);
        let attrs = match check(&r[1], "set attributes", "") {
            Err(e) => Err(e),
            Ok(()) => match all_attrs(&r[2], "set attributes", "") {
                Ok(a) => Ok(a),
                Err(_) => self.stat_handle(set_id).await,
            },
        };
        Ok((wrote, attrs))
    }

    /// Set times and attributes through an open handle; returns the attributes after.
    pub async fn set_basic_handle(
        &self,
        file_id: FileId,
        basic: &FileBasicInformation,
    ) -> Result<FileAttrs> {
        let mut buf = Vec::new();
        basic.encode(&mut buf);
        self.set_info_handle("set attributes", file_id, FILE_BASIC_INFORMATION, buf)
            .await
    }

    /// Truncate or extend through an open handle; returns the attributes after.
    pub async fn set_size_handle(&self, file_id: FileId, size: u64) -> Result<FileAttrs> {
        let mut buf = Vec::new();
        FileEndOfFileInformation { end_of_file: size }.encode(&mut buf);
        self.set_info_handle("truncate", file_id, FILE_END_OF_FILE_INFORMATION, buf)
            .await
    }

    /// Read up to `len` bytes at `offset`; fewer at end of file, none past it. Large reads are
    /// split into requests of at most `max_read` bytes that are all in flight at once.
    pub async fn read(&self, file_id: FileId, offset: u64, len: u32) -> Result<ReadData> {
        let max = self.inner.max_read;
        if len <= max {
            return self.read_one(file_id, offset, len).await;
        }
        let chunks = (0..len.div_ceil(max)).map(|i| {
            let off = offset + (i as u64) * (max as u64);
            let n = (len - i * max).min(max);
            self.read_one(file_id, off, n)
        });
        let parts = try_join_all(chunks).await?;
        let mut out = Vec::with_capacity(len as usize);
        for p in parts {
            let short = p.len() < max as usize;
            out.extend_from_slice(&p);
            if short {
                break;
            }
        }
        let n = out.len();
        Ok(ReadData {
            buf: out,
            range: 0..n,
        })
    }

    async fn read_one(&self, file_id: FileId, offset: u64, len: u32) -> Result<ReadData> {
        let req = ReadRequest {
            padding: 0x50,
            flags: 0,
            length: len,
            offset,
            file_id,
            minimum_count: 0,
            channel: 0,
            remaining_bytes: 0,
        };
        let resp = self.call_raw(&req, len as usize).await?;
        if resp.status() == NtStatus::END_OF_FILE {
            return Ok(ReadData::default());
        }
        check(&resp, "read", "")?;
        let range = ReadResponse::data_range(resp.body())?;
        let at = resp.start + HEADER_LEN;
        Ok(ReadData {
            buf: resp.buf,
            range: at + range.start..at + range.end,
        })
    }

    /// Write all of `data` at `offset`, split into requests of at most `max_write` bytes in
    /// flight together. With `write_through` the server writes to its disk before answering.
    pub async fn write(
        &self,
        file_id: FileId,
        offset: u64,
        data: &[u8],
        write_through: bool,
    ) -> Result<u64> {
        let max = self.inner.max_write as usize;
        let flags = if write_through {
            WRITEFLAG_WRITE_THROUGH
        } else {
            0
        };
        let writes = data.chunks(max.max(1)).enumerate().map(|(i, chunk)| {
            let off = offset + (i * max) as u64;
            self.write_one(file_id, off, chunk, flags)
        });
        let counts = try_join_all(writes).await?;
        Ok(counts.into_iter().map(|c| c as u64).sum())
    }

    /// Write the data of `payload` at `offset`, as [`write`](Self::write) does; when it fits in
    /// one request the frame is built and sealed inside `payload`'s own buffer (no copy).
    pub async fn write_in_place(
        &self,
        file_id: FileId,
        offset: u64,
        payload: PayloadBuf,
        write_through: bool,
    ) -> Result<u64> {
        let len = payload.data().len();
        if len == 0 || len > self.inner.max_write as usize {
            return self
                .write(file_id, offset, payload.data(), write_through)
                .await;
        }
        let flags = if write_through {
            WRITEFLAG_WRITE_THROUGH
        } else {
            0
        };
        let mut body = Vec::with_capacity(64);
        WriteRequest::encode_fixed_part(offset, file_id, flags, len as u32, &mut body);
        let part = Outgoing {
            command: Command::Write,
            tree_id: self.inner.tree_id,
            related: false,
            body,
            data: &[],
            in_place: Some(payload),
            payload: len,
        };
        let resp = self.inner.conn.call(part, self.inner.session_id).await?;
        written(&resp, len).map(u64::from)
    }

    async fn write_one(
        &self,
        file_id: FileId,
        offset: u64,
        data: &[u8],
        flags: u32,
    ) -> Result<u32> {
        let part = self.write_part(file_id, offset, data, flags);
        let resp = self.inner.conn.call(part, self.inner.session_id).await?;
        written(&resp, data.len())
    }

    /// A WRITE of `data` (borrowed, copied once into the frame).
    fn write_part<'a>(
        &self,
        file_id: FileId,
        offset: u64,
        data: &'a [u8],
        flags: u32,
    ) -> Outgoing<'a> {
        let mut body = Vec::with_capacity(64);
        let tail: &[u8] = if data.is_empty() {
            // An empty write still carries one byte of Buffer, not counted in DataLength.
            WriteRequest::encode_with_data(offset, file_id, flags, data, &mut body);
            &[]
        } else {
            WriteRequest::encode_fixed_part(offset, file_id, flags, data.len() as u32, &mut body);
            data
        };
        Outgoing {
            command: Command::Write,
            tree_id: self.inner.tree_id,
            related: false,
            body,
            data: tail,
            in_place: None,
            payload: data.len(),
        }
    }

    /// Ask the server to write its cached data for this handle to disk.
    pub async fn flush(&self, file_id: FileId) -> Result<()> {
        let resp = self.call_raw(&FlushRequest { file_id }, 0).await?;
        check(&resp, "flush", "")
    }

    /// Every entry of the directory at `path` except "." and "..", fetched with 1 MiB
    /// QUERY_DIRECTORY buffers. `each` receives the entries batch by batch, so a caller can
    /// stream a huge directory; entries whose names cannot be decoded are skipped with a warning.
    pub async fn list_dir_with(
        &self,
        path: &str,
        mut each: impl FnMut(Vec<DirEntry>),
    ) -> Result<()> {
        let o = OpenOptions::read()
            .access(FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE)
            .options(FILE_DIRECTORY_FILE);
        let buffer = self.inner.dir_buffer;
        let query = |file_id, flags| QueryDirectoryRequest {
            file_information_class: FILE_ID_BOTH_DIRECTORY_INFORMATION,
            flags,
            file_index: 0,
            file_id,
            output_buffer_length: buffer,
            pattern: "*".to_string(),
        };
        let first = self
            .compound(vec![
                self.part(&create_request(path, &o), false, 0),
                self.part(
                    &query(RELATED_FILE_ID, RESTART_SCANS),
                    true,
                    buffer as usize,
                ),
            ])
            .await?;
        check(&first[0], "list", path)?;
        let created: CreateResponse = decode(&first[0])?;
        let file_id = created.file_id;
        let result = async {
            let mut resp = first.into_iter().nth(1).expect("two responses");
            loop {
                if resp.status() == NtStatus::NO_MORE_FILES {
                    return Ok(());
                }
                check(&resp, "list", path)?;
                let q: QueryDirectoryResponse = decode(&resp)?;
                let mut batch = Vec::new();
                for entry in iter_id_both_directory_information(&q.buffer) {
                    match entry {
                        Ok(e) if e.file_name == "." || e.file_name == ".." => {}
                        Ok(e) => batch.push(DirEntry {
                            attrs: FileAttrs {
                                index_number: e.file_id,
                                size: e.end_of_file,
                                allocation_size: e.allocation_size,
                                attributes: e.file_attributes,
                                creation_time: e.creation_time,
                                last_access_time: e.last_access_time,
                                last_write_time: e.last_write_time,
                                change_time: e.change_time,
                                nlink: 1,
                            },
                            name: e.file_name,
                        }),
                        Err(err) => {
                            log::warn!("listing '{path}': skipping an entry: {err}");
                        }
                    }
                }
                each(batch);
                resp = self.call_raw(&query(file_id, 0), buffer as usize).await?;
            }
        }
        .await;
        let closed = self.close(file_id).await;
        result.and(closed)
    }

    /// The whole listing in memory.
    pub async fn list_dir(&self, path: &str) -> Result<Vec<DirEntry>> {
        let mut all = Vec::new();
        self.list_dir_with(path, |batch| all.extend(batch)).await?;
        Ok(all)
    }

    /// Capacity and free space of the share.
    pub async fn statfs(&self) -> Result<FsStats> {
        let o = OpenOptions::read().access(FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        let q = query_request(
            INFO_FILESYSTEM,
            FILE_FS_FULL_SIZE_INFORMATION,
            64,
            RELATED_FILE_ID,
        );
        let (_, r) = self.create_and_query("statfs", "", &o, &q, true).await?;
        check(&r, "statfs", "")?;
        let q: QueryInfoResponse = decode(&r)?;
        let f = FileFsFullSizeInformation::decode(&q.buffer)?;
        let block = (f.sectors_per_allocation_unit as u64 * f.bytes_per_sector as u64).max(1);
        Ok(FsStats {
            block_size: block,
            total_blocks: f.total_allocation_units,
            free_blocks: f.actual_available_allocation_units,
            available_blocks: f.caller_available_allocation_units,
        })
    }

    /// The name as stored on the server, for a path given in any letter case
    /// (FileNormalizedNameInformation, falling back to FileNameInformation).
    pub async fn normalized_name(&self, path: &str) -> Result<String> {
        let o = OpenOptions::read().access(FILE_READ_ATTRIBUTES | SYNCHRONIZE);
        for class in [FILE_NORMALIZED_NAME_INFORMATION, FILE_NAME_INFORMATION] {
            let q = query_request(INFO_FILE, class, ALL_INFO_BUFFER, RELATED_FILE_ID);
            let (_, r) = self
                .create_and_query("normalized name", path, &o, &q, true)
                .await?;
            if r.status().is_success() {
                let q: QueryInfoResponse = decode(&r)?;
                return Ok(FileNameInformation::decode(&q.buffer)?.file_name);
            }
        }
        Err(ClientError::Unexpected(format!(
            "the server reports no name for '{path}'"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_share_relative_with_backslashes() {
        assert_eq!(smb_path("/"), "");
        assert_eq!(smb_path(""), "");
        assert_eq!(smb_path("/a/b/c.txt"), "a\\b\\c.txt");
        assert_eq!(smb_path("a/é日本/"), "a\\é日本");
    }
}
