//! CREATE ([MS-SMB2] 2.2.13, 2.2.14), create contexts (2.2.13.2), the file id, and the
//! access/share/disposition/option/attribute constants used to open files.
//!
//! Create contexts are kept as raw (name, data) pairs: the client builds and interprets the
//! few it uses (MxAc, QFid, leases), and unknown ones from the server pass through.

use super::codec::*;
use super::header::{Command, HEADER_LEN};
use super::{Body, ProtoError, Result};

/// SMB2_FILEID: persistent + volatile halves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FileId {
    pub persistent: u64,
    pub volatile: u64,
}

impl FileId {
    /// The all-ones id used for compound requests that refer to the previous CREATE's handle.
    pub const RELATED: FileId = FileId {
        persistent: u64::MAX,
        volatile: u64::MAX,
    };

    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.persistent);
        put_u64(out, self.volatile);
    }

    /// Decode the first 16 bytes of `b`.
    pub fn decode(b: &[u8]) -> Result<FileId> {
        Self::read(&mut Reader::new(b))
    }

    /// Read 16 bytes at the reader's cursor.
    pub fn read(r: &mut Reader<'_>) -> Result<FileId> {
        Ok(FileId {
            persistent: r.u64()?,
            volatile: r.u64()?,
        })
    }
}

// Access mask ([MS-SMB2] 2.2.13.1).
pub const FILE_READ_DATA: u32 = 0x0000_0001;
pub const FILE_LIST_DIRECTORY: u32 = 0x0000_0001;
pub const FILE_WRITE_DATA: u32 = 0x0000_0002;
pub const FILE_ADD_FILE: u32 = 0x0000_0002;
pub const FILE_APPEND_DATA: u32 = 0x0000_0004;
pub const FILE_ADD_SUBDIRECTORY: u32 = 0x0000_0004;
pub const FILE_READ_EA: u32 = 0x0000_0008;
pub const FILE_WRITE_EA: u32 = 0x0000_0010;
pub const FILE_EXECUTE: u32 = 0x0000_0020;
pub const FILE_TRAVERSE: u32 = 0x0000_0020;
pub const FILE_DELETE_CHILD: u32 = 0x0000_0040;
pub const FILE_READ_ATTRIBUTES: u32 = 0x0000_0080;
pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0000_0100;
pub const DELETE: u32 = 0x0001_0000;
pub const READ_CONTROL: u32 = 0x0002_0000;
pub const WRITE_DAC: u32 = 0x0004_0000;
pub const WRITE_OWNER: u32 = 0x0008_0000;
pub const SYNCHRONIZE: u32 = 0x0010_0000;
pub const ACCESS_SYSTEM_SECURITY: u32 = 0x0100_0000;
pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
pub const GENERIC_ALL: u32 = 0x1000_0000;
pub const GENERIC_EXECUTE: u32 = 0x2000_0000;
pub const GENERIC_WRITE: u32 = 0x4000_0000;
pub const GENERIC_READ: u32 = 0x8000_0000;

pub const FILE_SHARE_READ: u32 = 0x1;
pub const FILE_SHARE_WRITE: u32 = 0x2;
pub const FILE_SHARE_DELETE: u32 = 0x4;

pub const FILE_SUPERSEDE: u32 = 0;
pub const FILE_OPEN: u32 = 1;
pub const FILE_CREATE: u32 = 2;
pub const FILE_OPEN_IF: u32 = 3;
pub const FILE_OVERWRITE: u32 = 4;
pub const FILE_OVERWRITE_IF: u32 = 5;

pub const FILE_DIRECTORY_FILE: u32 = 0x0000_0001;
pub const FILE_WRITE_THROUGH: u32 = 0x0000_0002;
pub const FILE_SEQUENTIAL_ONLY: u32 = 0x0000_0004;
pub const FILE_NO_INTERMEDIATE_BUFFERING: u32 = 0x0000_0008;
pub const FILE_SYNCHRONOUS_IO_ALERT: u32 = 0x0000_0010;
pub const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x0000_0020;
pub const FILE_NON_DIRECTORY_FILE: u32 = 0x0000_0040;
pub const FILE_COMPLETE_IF_OPLOCKED: u32 = 0x0000_0100;
pub const FILE_NO_EA_KNOWLEDGE: u32 = 0x0000_0200;
pub const FILE_RANDOM_ACCESS: u32 = 0x0000_0800;
pub const FILE_DELETE_ON_CLOSE: u32 = 0x0000_1000;
pub const FILE_OPEN_BY_FILE_ID: u32 = 0x0000_2000;
pub const FILE_OPEN_FOR_BACKUP_INTENT: u32 = 0x0000_4000;
pub const FILE_NO_COMPRESSION: u32 = 0x0000_8000;
pub const FILE_OPEN_REMOTE_INSTANCE: u32 = 0x0000_0400;
pub const FILE_OPEN_REQUIRING_OPLOCK: u32 = 0x0001_0000;
pub const FILE_DISALLOW_EXCLUSIVE: u32 = 0x0002_0000;
pub const FILE_RESERVE_OPFILTER: u32 = 0x0010_0000;
pub const FILE_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
pub const FILE_OPEN_NO_RECALL: u32 = 0x0040_0000;
pub const FILE_OPEN_FOR_FREE_SPACE_QUERY: u32 = 0x0080_0000;

pub const IMPERSONATION_ANONYMOUS: u32 = 0;
pub const IMPERSONATION_IDENTIFICATION: u32 = 1;
pub const IMPERSONATION_IMPERSONATION: u32 = 2;
pub const IMPERSONATION_DELEGATE: u32 = 3;

pub const OPLOCK_LEVEL_NONE: u8 = 0x00;
pub const OPLOCK_LEVEL_II: u8 = 0x01;
pub const OPLOCK_LEVEL_EXCLUSIVE: u8 = 0x08;
pub const OPLOCK_LEVEL_BATCH: u8 = 0x09;
pub const OPLOCK_LEVEL_LEASE: u8 = 0xFF;

pub const FILE_SUPERSEDED: u32 = 0;
pub const FILE_OPENED: u32 = 1;
pub const FILE_CREATED: u32 = 2;
pub const FILE_OVERWRITTEN: u32 = 3;

/// CREATE response flag (3.x): the open is to a reparse point.
pub const CREATE_FLAG_REPARSEPOINT: u8 = 0x01;

pub const FILE_ATTRIBUTE_READONLY: u32 = 0x0000_0001;
pub const FILE_ATTRIBUTE_HIDDEN: u32 = 0x0000_0002;
pub const FILE_ATTRIBUTE_SYSTEM: u32 = 0x0000_0004;
pub const FILE_ATTRIBUTE_DIRECTORY: u32 = 0x0000_0010;
pub const FILE_ATTRIBUTE_ARCHIVE: u32 = 0x0000_0020;
pub const FILE_ATTRIBUTE_NORMAL: u32 = 0x0000_0080;
pub const FILE_ATTRIBUTE_TEMPORARY: u32 = 0x0000_0100;
pub const FILE_ATTRIBUTE_SPARSE_FILE: u32 = 0x0000_0200;
pub const FILE_ATTRIBUTE_REPARSE_POINT: u32 = 0x0000_0400;
pub const FILE_ATTRIBUTE_COMPRESSED: u32 = 0x0000_0800;
pub const FILE_ATTRIBUTE_OFFLINE: u32 = 0x0000_1000;
pub const FILE_ATTRIBUTE_NOT_CONTENT_INDEXED: u32 = 0x0000_2000;
pub const FILE_ATTRIBUTE_ENCRYPTED: u32 = 0x0000_4000;
pub const FILE_ATTRIBUTE_INTEGRITY_STREAM: u32 = 0x0000_8000;
pub const FILE_ATTRIBUTE_NO_SCRUB_DATA: u32 = 0x0002_0000;

// Create context names ([MS-SMB2] 2.2.13.2).
pub const CREATE_CONTEXT_EA_BUFFER: &[u8; 4] = b"ExtA";
pub const CREATE_CONTEXT_SD_BUFFER: &[u8; 4] = b"SecD";
pub const CREATE_CONTEXT_DURABLE_HANDLE_REQUEST: &[u8; 4] = b"DHnQ";
pub const CREATE_CONTEXT_DURABLE_HANDLE_RECONNECT: &[u8; 4] = b"DHnC";
pub const CREATE_CONTEXT_DURABLE_HANDLE_REQUEST_V2: &[u8; 4] = b"DH2Q";
pub const CREATE_CONTEXT_DURABLE_HANDLE_RECONNECT_V2: &[u8; 4] = b"DH2C";
pub const CREATE_CONTEXT_ALLOCATION_SIZE: &[u8; 4] = b"AlSi";
pub const CREATE_CONTEXT_QUERY_MAXIMAL_ACCESS: &[u8; 4] = b"MxAc";
pub const CREATE_CONTEXT_TIMEWARP_TOKEN: &[u8; 4] = b"TWrp";
pub const CREATE_CONTEXT_QUERY_ON_DISK_ID: &[u8; 4] = b"QFid";
pub const CREATE_CONTEXT_REQUEST_LEASE: &[u8; 4] = b"RqLs";
pub const CREATE_CONTEXT_APP_INSTANCE_ID: &[u8; 16] =
    b"\x45\xBC\xA6\x6A\xEF\xA7\xF7\x4A\x90\x08\xFA\x46\x2E\x14\x4D\x74";
/// Aliases without the `CREATE_CONTEXT_` prefix.
pub const QUERY_MAXIMAL_ACCESS: &[u8; 4] = CREATE_CONTEXT_QUERY_MAXIMAL_ACCESS;
pub const QUERY_ON_DISK_ID: &[u8; 4] = CREATE_CONTEXT_QUERY_ON_DISK_ID;
pub const REQUEST_LEASE: &[u8; 4] = CREATE_CONTEXT_REQUEST_LEASE;

/// One SMB2_CREATE_CONTEXT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateContext {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
}

impl CreateContext {
    pub fn new(name: &[u8], data: Vec<u8>) -> Self {
        CreateContext {
            name: name.to_vec(),
            data,
        }
    }
}

/// Find a context by name.
pub fn find_create_context<'a>(
    contexts: &'a [CreateContext],
    name: &[u8],
) -> Option<&'a CreateContext> {
    contexts.iter().find(|c| c.name == name)
}

/// Encode a chain of create contexts (each starting 8-byte aligned relative to `base`,
/// which must itself be 8-aligned relative to the header). Returns the chain's length.
pub fn encode_create_contexts(out: &mut Vec<u8>, base: usize, contexts: &[CreateContext]) -> usize {
    let chain_start = out.len();
    let mut prev_next_at: Option<(usize, usize)> = None;
    for c in contexts {
        pad_to(out, base, 8);
        let start = out.len();
        if let Some((at, prev_start)) = prev_next_at {
            patch_u32(out, at, (start - prev_start) as u32);
        }
        put_u32(out, 0); // Next
        put_u16(out, 16); // NameOffset
        put_u16(out, c.name.len() as u16);
        put_u16(out, 0);
        let data_off_at = out.len();
        put_u16(out, 0);
        put_u32(out, c.data.len() as u32);
        out.extend_from_slice(&c.name);
        if !c.data.is_empty() {
            pad_to(out, start, 8);
            let data_off = (out.len() - start) as u16;
            patch_u16(out, data_off_at, data_off);
            out.extend_from_slice(&c.data);
        }
        prev_next_at = Some((start, start));
    }
    out.len() - chain_start
}

/// Decode a chain of create contexts occupying exactly `buf`.
pub fn decode_create_contexts(buf: &[u8]) -> Result<Vec<CreateContext>> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    if buf.is_empty() {
        return Ok(out);
    }
    loop {
        let entry = buf
            .get(pos..)
            .ok_or(ProtoError::Invalid("create context offset"))?;
        let mut r = Reader::new(entry);
        let next = r.u32()? as usize;
        let name_off = r.u16()? as usize;
        let name_len = r.u16()? as usize;
        r.skip(2)?;
        let data_off = r.u16()? as usize;
        let data_len = r.u32()? as usize;
        // When Next is set the entry ends there; otherwise at the end of the buffer.
        let entry = if next != 0 {
            if next < 16 {
                return Err(ProtoError::Invalid("create context Next"));
            }
            slice_at(entry, 0, next)?
        } else {
            entry
        };
        let name = slice_at(entry, name_off, name_len)?.to_vec();
        let data = if data_len == 0 {
            Vec::new()
        } else {
            slice_at(entry, data_off, data_len)?.to_vec()
        };
        out.push(CreateContext { name, data });
        if next == 0 {
            return Ok(out);
        }
        pos += next;
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateRequest {
    pub security_flags: u8,
    pub requested_oplock_level: u8,
    pub impersonation_level: u32,
    pub desired_access: u32,
    pub file_attributes: u32,
    pub share_access: u32,
    pub create_disposition: u32,
    pub create_options: u32,
    /// Path relative to the share with backslashes; empty = share root.
    pub name: String,
    pub contexts: Vec<CreateContext>,
}

impl Body for CreateRequest {
    const COMMAND: Command = Command::Create;

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let name = utf16le_encode(&self.name);
        put_u16(out, 57);
        put_u8(out, self.security_flags);
        put_u8(out, self.requested_oplock_level);
        put_u32(out, self.impersonation_level);
        put_u64(out, 0); // SmbCreateFlags
        put_u64(out, 0); // Reserved
        put_u32(out, self.desired_access);
        put_u32(out, self.file_attributes);
        put_u32(out, self.share_access);
        put_u32(out, self.create_disposition);
        put_u32(out, self.create_options);
        put_u16(out, (HEADER_LEN + 56) as u16);
        put_u16(out, name.len() as u16);
        let ctx_at = out.len();
        put_u32(out, 0);
        put_u32(out, 0);
        out.extend_from_slice(&name);
        if self.contexts.is_empty() {
            // The Buffer must be at least one byte even for the share root.
            if name.is_empty() {
                out.push(0);
            }
        } else {
            pad_to(out, start, 8);
            let off = wire_offset(out, start) as u32;
            let len = encode_create_contexts(out, start, &self.contexts) as u32;
            patch_u32(out, ctx_at, off);
            patch_u32(out, ctx_at + 4, len);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 57, "CREATE request StructureSize")?;
        let security_flags = r.u8()?;
        let requested_oplock_level = r.u8()?;
        let impersonation_level = r.u32()?;
        r.skip(16)?;
        let desired_access = r.u32()?;
        let file_attributes = r.u32()?;
        let share_access = r.u32()?;
        let create_disposition = r.u32()?;
        let create_options = r.u32()?;
        let name_off = r.u16()? as usize;
        let name_len = r.u16()? as usize;
        let ctx_off = r.u32()? as usize;
        let ctx_len = r.u32()? as usize;
        let name = utf16le_decode(body_buffer(body, name_off, name_len)?)?;
        let contexts = decode_create_contexts(body_buffer(body, ctx_off, ctx_len)?)?;
        Ok(CreateRequest {
            security_flags,
            requested_oplock_level,
            impersonation_level,
            desired_access,
            file_attributes,
            share_access,
            create_disposition,
            create_options,
            name,
            contexts,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateResponse {
    pub oplock_level: u8,
    pub flags: u8,
    pub create_action: u32,
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub allocation_size: u64,
    pub end_of_file: u64,
    pub file_attributes: u32,
    pub file_id: FileId,
    pub contexts: Vec<CreateContext>,
}

impl Body for CreateResponse {
    const COMMAND: Command = Command::Create;

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        put_u16(out, 89);
        put_u8(out, self.oplock_level);
        put_u8(out, self.flags);
        put_u32(out, self.create_action);
        put_u64(out, self.creation_time);
        put_u64(out, self.last_access_time);
        put_u64(out, self.last_write_time);
        put_u64(out, self.change_time);
        put_u64(out, self.allocation_size);
        put_u64(out, self.end_of_file);
        put_u32(out, self.file_attributes);
        put_u32(out, 0);
        self.file_id.encode(out);
        let ctx_at = out.len();
        put_u32(out, 0);
        put_u32(out, 0);
        if self.contexts.is_empty() {
            out.push(0);
        } else {
            let off = wire_offset(out, start) as u32;
            let len = encode_create_contexts(out, start, &self.contexts) as u32;
            patch_u32(out, ctx_at, off);
            patch_u32(out, ctx_at + 4, len);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 89, "CREATE response StructureSize")?;
        let oplock_level = r.u8()?;
        let flags = r.u8()?;
        let create_action = r.u32()?;
        let creation_time = r.u64()?;
        let last_access_time = r.u64()?;
        let last_write_time = r.u64()?;
        let change_time = r.u64()?;
        let allocation_size = r.u64()?;
        let end_of_file = r.u64()?;
        let file_attributes = r.u32()?;
        r.skip(4)?;
        let file_id = FileId::read(&mut r)?;
        let ctx_off = r.u32()? as usize;
        let ctx_len = r.u32()? as usize;
        let contexts = decode_create_contexts(body_buffer(body, ctx_off, ctx_len)?)?;
        Ok(CreateResponse {
            oplock_level,
            flags,
            create_action,
            creation_time,
            last_access_time,
            last_write_time,
            change_time,
            allocation_size,
            end_of_file,
            file_attributes,
            file_id,
            contexts,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    pub(crate) fn arb_contexts() -> impl Strategy<Value = Vec<CreateContext>> {
        proptest::collection::vec(
            (arb_bytes(20), arb_bytes(50)).prop_map(|(name, data)| CreateContext { name, data }),
            0..5,
        )
    }

    pub(crate) fn sample_request() -> CreateRequest {
        CreateRequest {
            requested_oplock_level: OPLOCK_LEVEL_NONE,
            impersonation_level: IMPERSONATION_IMPERSONATION,
            desired_access: FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
            share_access: FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
            create_disposition: FILE_OPEN,
            create_options: FILE_NON_DIRECTORY_FILE,
            name: "dir\\é日本😀.txt".into(),
            contexts: vec![
                CreateContext::new(QUERY_MAXIMAL_ACCESS, vec![]),
                CreateContext::new(QUERY_ON_DISK_ID, vec![]),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn request_layout() {
        let req = sample_request();
        assert_eq!(structure_size(&req), 57);
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(&out[44..46], &0x78u16.to_le_bytes());
        let ctx_off = u32::from_le_bytes(out[48..52].try_into().unwrap()) as usize;
        assert_eq!(ctx_off % 8, 0);
        // First context: Next = 24 (16 header + 4 name, padded to 8), name "MxAc" at 16.
        let c = &out[ctx_off - HEADER_LEN..];
        assert_eq!(&c[0..4], &24u32.to_le_bytes());
        assert_eq!(&c[16..20], b"MxAc");
        round_trip(&req);

        // Share root: NameLength 0 but a one byte buffer.
        let root = CreateRequest {
            name: String::new(),
            contexts: vec![],
            ..req
        };
        let mut out = Vec::new();
        root.encode(&mut out);
        assert_eq!(out.len(), 57);
        round_trip(&root);
    }

    #[test]
    fn response_layout() {
        let resp = CreateResponse {
            oplock_level: 0,
            create_action: FILE_OPENED,
            end_of_file: 42,
            file_attributes: FILE_ATTRIBUTE_ARCHIVE,
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            contexts: vec![CreateContext::new(
                QUERY_MAXIMAL_ACCESS,
                vec![0, 0, 0, 0, 0xFF, 0x01, 0x1F, 0],
            )],
            ..Default::default()
        };
        assert_eq!(structure_size(&resp), 89);
        let mut out = Vec::new();
        resp.encode(&mut out);
        assert_eq!(&out[80..84], &0x98u32.to_le_bytes());
        round_trip(&resp);
        round_trip(&CreateResponse::default());
        assert!(find_create_context(&resp.contexts, QUERY_MAXIMAL_ACCESS).is_some());
    }

    #[test]
    fn context_chain_rejects_bad_next() {
        let mut buf = Vec::new();
        encode_create_contexts(
            &mut buf,
            0,
            &[
                CreateContext::new(b"a", vec![1]),
                CreateContext::new(b"b", vec![]),
            ],
        );
        buf[0] = 4; // Next too small
        assert!(decode_create_contexts(&buf).is_err());
        buf[0] = 200; // Next beyond the buffer
        assert!(decode_create_contexts(&buf).is_err());
    }

    proptest! {
        #[test]
        fn request_prop(name in arb_string(), contexts in arb_contexts(), da in any::<u32>(), co in any::<u32>(), ol in any::<u8>()) {
            round_trip(&CreateRequest { name, contexts, desired_access: da, create_options: co, requested_oplock_level: ol, ..Default::default() });
        }

        #[test]
        fn response_prop(contexts in arb_contexts(), t in any::<u64>(), p in any::<u64>(), v in any::<u64>()) {
            round_trip(&CreateResponse { contexts, creation_time: t, file_id: FileId { persistent: p, volatile: v }, ..Default::default() });
        }
    }
}
