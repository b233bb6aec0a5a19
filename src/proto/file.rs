//! Per-handle commands: CLOSE, FLUSH, READ, WRITE, LOCK ([MS-SMB2] 2.2.15 - 2.2.22,
//! 2.2.26/27), plus ECHO, CANCEL and the generic ERROR response (2.2.2, 2.2.28 - 2.2.30).
//!
//! READ and WRITE carry the bulk data, so they have copy-avoiding helpers:
//! [`ReadResponse::data_range`] and [`WriteRequest::encode_with_data`].

use super::codec::*;
use super::create::FileId;
use super::header::{Command, HEADER_LEN};
use super::session::empty4_body;
use super::{Body, ProtoError, Result};

pub const CLOSE_FLAG_POSTQUERY_ATTRIB: u16 = 0x0001;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloseRequest {
    pub flags: u16,
    pub file_id: FileId,
}

impl Body for CloseRequest {
    const COMMAND: Command = Command::Close;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 24);
        put_u16(out, self.flags);
        put_u32(out, 0);
        self.file_id.encode(out);
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 24, "CLOSE request StructureSize")?;
        let flags = r.u16()?;
        r.skip(4)?;
        Ok(CloseRequest {
            flags,
            file_id: FileId::read(&mut r)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloseResponse {
    pub flags: u16,
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub allocation_size: u64,
    pub end_of_file: u64,
    pub file_attributes: u32,
}

impl Body for CloseResponse {
    const COMMAND: Command = Command::Close;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 60);
        put_u16(out, self.flags);
        put_u32(out, 0);
        put_u64(out, self.creation_time);
        put_u64(out, self.last_access_time);
        put_u64(out, self.last_write_time);
        put_u64(out, self.change_time);
        put_u64(out, self.allocation_size);
        put_u64(out, self.end_of_file);
        put_u32(out, self.file_attributes);
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 60, "CLOSE response StructureSize")?;
        let flags = r.u16()?;
        r.skip(4)?;
        Ok(CloseResponse {
            flags,
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            file_attributes: r.u32()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlushRequest {
    pub file_id: FileId,
}

impl Body for FlushRequest {
    const COMMAND: Command = Command::Flush;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 24);
        put_u16(out, 0);
        put_u32(out, 0);
        self.file_id.encode(out);
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 24, "FLUSH request StructureSize")?;
        r.skip(6)?;
        Ok(FlushRequest {
            file_id: FileId::read(&mut r)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlushResponse {}
empty4_body!(
    FlushResponse,
    Command::Flush,
    "FLUSH response StructureSize"
);

pub const READFLAG_READ_UNBUFFERED: u8 = 0x01;
pub const READFLAG_REQUEST_COMPRESSED: u8 = 0x02;
pub const CHANNEL_NONE: u32 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadRequest {
    pub padding: u8,
    pub flags: u8,
    pub length: u32,
    pub offset: u64,
    pub file_id: FileId,
    pub minimum_count: u32,
    pub channel: u32,
    pub remaining_bytes: u32,
}

impl Body for ReadRequest {
    const COMMAND: Command = Command::Read;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 49);
        put_u8(out, self.padding);
        put_u8(out, self.flags);
        put_u32(out, self.length);
        put_u64(out, self.offset);
        self.file_id.encode(out);
        put_u32(out, self.minimum_count);
        put_u32(out, self.channel);
        put_u32(out, self.remaining_bytes);
        put_u16(out, 0); // ReadChannelInfoOffset
        put_u16(out, 0); // ReadChannelInfoLength
        out.push(0); // Buffer: one byte even when empty
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 49, "READ request StructureSize")?;
        let padding = r.u8()?;
        let flags = r.u8()?;
        let length = r.u32()?;
        let offset = r.u64()?;
        let file_id = FileId::read(&mut r)?;
        let minimum_count = r.u32()?;
        let channel = r.u32()?;
        let remaining_bytes = r.u32()?;
        r.skip(4)?;
        Ok(ReadRequest {
            padding,
            flags,
            length,
            offset,
            file_id,
            minimum_count,
            channel,
            remaining_bytes,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReadResponse {
    pub data_remaining: u32,
    pub data: Vec<u8>,
}

impl ReadResponse {
    /// Where the data sits inside `body` (the bytes after the header), without copying it.
    pub fn data_range(body: &[u8]) -> Result<core::ops::Range<usize>> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 17, "READ response StructureSize")?;
        let off = r.u8()? as usize;
        r.skip(1)?;
        let len = r.u32()? as usize;
        if len == 0 {
            return Ok(0..0);
        }
        let rel = off
            .checked_sub(HEADER_LEN)
            .ok_or(ProtoError::Invalid("READ DataOffset"))?;
        slice_at(body, rel, len)?;
        Ok(rel..rel + len)
    }
}

impl Body for ReadResponse {
    const COMMAND: Command = Command::Read;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 17);
        put_u8(out, (HEADER_LEN + 16) as u8);
        put_u8(out, 0);
        put_u32(out, self.data.len() as u32);
        put_u32(out, self.data_remaining);
        put_u32(out, 0);
        out.extend_from_slice(&self.data);
        if self.data.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let range = Self::data_range(body)?;
        let mut r = Reader::new(body);
        r.seek(8)?;
        let data_remaining = r.u32()?;
        let data = body.get(range).unwrap_or_default().to_vec();
        Ok(ReadResponse {
            data_remaining,
            data,
        })
    }
}

pub const WRITEFLAG_WRITE_THROUGH: u32 = 0x0000_0001;
pub const WRITEFLAG_WRITE_UNBUFFERED: u32 = 0x0000_0002;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteRequest {
    pub offset: u64,
    pub file_id: FileId,
    pub channel: u32,
    pub remaining_bytes: u32,
    pub flags: u32,
    pub data: Vec<u8>,
}

impl WriteRequest {
    /// Encode a WRITE request body straight from a borrowed slice (channel and
    /// remaining bytes 0), so large writes need no intermediate `Vec`.
    pub fn encode_with_data(
        offset: u64,
        file_id: FileId,
        flags: u32,
        data: &[u8],
        out: &mut Vec<u8>,
    ) {
        encode_write(offset, file_id, 0, 0, flags, data, out);
    }

    /// The 48 fixed bytes of a WRITE request whose `data_len` bytes of data the caller appends
    /// itself right after (so a large write is copied once, into the frame). `data_len` must be
    /// at least 1: an empty write needs the one padding byte that `encode_with_data` adds.
    pub fn encode_fixed_part(
        offset: u64,
        file_id: FileId,
        flags: u32,
        data_len: u32,
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        encode_write(offset, file_id, 0, 0, flags, &[0], out);
        out.truncate(out.len() - 1);
        out[start + 4..start + 8].copy_from_slice(&data_len.to_le_bytes());
    }
}

fn encode_write(
    offset: u64,
    file_id: FileId,
    channel: u32,
    remaining: u32,
    flags: u32,
    data: &[u8],
    out: &mut Vec<u8>,
) {
    out.reserve(49 + data.len());
    put_u16(out, 49);
    put_u16(out, (HEADER_LEN + 48) as u16);
    put_u32(out, data.len() as u32);
    put_u64(out, offset);
    file_id.encode(out);
    put_u32(out, channel);
    put_u32(out, remaining);
    // Windows points WriteChannelInfoOffset at the buffer even with no channel info.
    put_u16(out, (HEADER_LEN + 48) as u16);
    put_u16(out, 0); // WriteChannelInfoLength
    put_u32(out, flags);
    out.extend_from_slice(data);
    if data.is_empty() {
        out.push(0);
    }
}

impl Body for WriteRequest {
    const COMMAND: Command = Command::Write;

    fn encode(&self, out: &mut Vec<u8>) {
        encode_write(
            self.offset,
            self.file_id,
            self.channel,
            self.remaining_bytes,
            self.flags,
            &self.data,
            out,
        );
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 49, "WRITE request StructureSize")?;
        let data_off = r.u16()? as usize;
        let len = r.u32()? as usize;
        let offset = r.u64()?;
        let file_id = FileId::read(&mut r)?;
        let channel = r.u32()?;
        let remaining_bytes = r.u32()?;
        r.skip(4)?;
        let flags = r.u32()?;
        let data = body_buffer(body, data_off, len)?.to_vec();
        Ok(WriteRequest {
            offset,
            file_id,
            channel,
            remaining_bytes,
            flags,
            data,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WriteResponse {
    pub count: u32,
    pub remaining: u32,
}

impl Body for WriteResponse {
    const COMMAND: Command = Command::Write;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 17);
        put_u16(out, 0);
        put_u32(out, self.count);
        put_u32(out, self.remaining);
        put_u16(out, 0);
        put_u16(out, 0);
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 17, "WRITE response StructureSize")?;
        r.skip(2)?;
        Ok(WriteResponse {
            count: r.u32()?,
            remaining: r.u32()?,
        })
    }
}

pub const LOCKFLAG_SHARED_LOCK: u32 = 0x01;
pub const LOCKFLAG_EXCLUSIVE_LOCK: u32 = 0x02;
pub const LOCKFLAG_UNLOCK: u32 = 0x04;
pub const LOCKFLAG_FAIL_IMMEDIATELY: u32 = 0x10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockElement {
    pub offset: u64,
    pub length: u64,
    pub flags: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockRequest {
    /// 4 bits on the wire.
    pub lock_sequence_number: u8,
    /// 28 bits on the wire.
    pub lock_sequence_index: u32,
    pub file_id: FileId,
    pub locks: Vec<LockElement>,
}

impl Body for LockRequest {
    const COMMAND: Command = Command::Lock;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 48);
        put_u16(out, self.locks.len() as u16);
        put_u32(
            out,
            (u32::from(self.lock_sequence_number) & 0xF) | (self.lock_sequence_index << 4),
        );
        self.file_id.encode(out);
        for l in &self.locks {
            put_u64(out, l.offset);
            put_u64(out, l.length);
            put_u32(out, l.flags);
            put_u32(out, 0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 48, "LOCK request StructureSize")?;
        let count = r.u16()? as usize;
        let seq = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        if count.saturating_mul(24) > r.remaining() {
            return Err(ProtoError::Truncated {
                needed: 24 + count * 24,
                had: body.len(),
            });
        }
        let mut locks = Vec::with_capacity(count);
        for _ in 0..count {
            let offset = r.u64()?;
            let length = r.u64()?;
            let flags = r.u32()?;
            r.skip(4)?;
            locks.push(LockElement {
                offset,
                length,
                flags,
            });
        }
        Ok(LockRequest {
            lock_sequence_number: (seq & 0xF) as u8,
            lock_sequence_index: seq >> 4,
            file_id,
            locks,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockResponse {}
empty4_body!(LockResponse, Command::Lock, "LOCK response StructureSize");

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EchoRequest {}
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EchoResponse {}
empty4_body!(EchoRequest, Command::Echo, "ECHO StructureSize");
empty4_body!(EchoResponse, Command::Echo, "ECHO StructureSize");

/// CANCEL has no response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CancelRequest {}
empty4_body!(CancelRequest, Command::Cancel, "CANCEL StructureSize");

/// SMB2 ERROR Response (2.2.2). It is the body of any failed response, whatever the
/// command, so it is decoded with [`ErrorResponse::decode`] rather than through [`Body`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ErrorResponse {
    pub error_context_count: u8,
    pub error_data: Vec<u8>,
}

impl ErrorResponse {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 9);
        put_u8(out, self.error_context_count);
        put_u8(out, 0);
        put_u32(out, self.error_data.len() as u32);
        out.extend_from_slice(&self.error_data);
        if self.error_data.is_empty() {
            out.push(0);
        }
    }

    /// Accepts ByteCount 0 with or without the padding byte.
    pub fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 9, "ERROR response StructureSize")?;
        let error_context_count = r.u8()?;
        r.skip(1)?;
        let n = r.u32()? as usize;
        let error_data = r.bytes(n)?.to_vec();
        Ok(ErrorResponse {
            error_context_count,
            error_data,
        })
    }

    /// True if `body` looks like an error response (StructureSize 9 and a consistent ByteCount).
    pub fn is_error_body(body: &[u8]) -> bool {
        Self::decode(body).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    fn fid() -> FileId {
        FileId {
            persistent: 0x11,
            volatile: 0x22,
        }
    }

    #[test]
    fn structure_sizes() {
        assert_eq!(structure_size(&CloseRequest::default()), 24);
        assert_eq!(structure_size(&CloseResponse::default()), 60);
        assert_eq!(structure_size(&FlushRequest::default()), 24);
        assert_eq!(structure_size(&FlushResponse::default()), 4);
        assert_eq!(structure_size(&ReadRequest::default()), 49);
        assert_eq!(structure_size(&ReadResponse::default()), 17);
        assert_eq!(structure_size(&WriteRequest::default()), 49);
        assert_eq!(structure_size(&WriteResponse::default()), 17);
        assert_eq!(structure_size(&LockRequest::default()), 48);
        assert_eq!(structure_size(&EchoRequest::default()), 4);
        let mut v = Vec::new();
        ErrorResponse::default().encode(&mut v);
        assert_eq!(v, [9, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut out = Vec::new();
        CloseRequest::default().encode(&mut out);
        assert_eq!(out.len(), 24);
        let mut out = Vec::new();
        ReadRequest::default().encode(&mut out);
        assert_eq!(out.len(), 49);
        let mut out = Vec::new();
        CloseResponse::default().encode(&mut out);
        assert_eq!(out.len(), 60);
    }

    #[test]
    fn fixed_round_trips() {
        round_trip(&CloseRequest {
            flags: CLOSE_FLAG_POSTQUERY_ATTRIB,
            file_id: fid(),
        });
        round_trip(&CloseResponse {
            flags: 1,
            creation_time: 1,
            last_access_time: 2,
            last_write_time: 3,
            change_time: 4,
            allocation_size: 4096,
            end_of_file: 10,
            file_attributes: 0x20,
        });
        round_trip(&FlushRequest { file_id: fid() });
        round_trip(&FlushResponse {});
        round_trip(&ReadRequest {
            length: 65536,
            offset: 7,
            file_id: fid(),
            minimum_count: 1,
            ..Default::default()
        });
        round_trip(&ReadResponse {
            data_remaining: 0,
            data: b"hello".to_vec(),
        });
        round_trip(&ReadResponse::default());
        round_trip(&WriteRequest {
            offset: 9,
            file_id: fid(),
            flags: WRITEFLAG_WRITE_THROUGH,
            data: b"abc".to_vec(),
            ..Default::default()
        });
        round_trip(&WriteRequest::default());
        round_trip(&WriteResponse {
            count: 3,
            remaining: 0,
        });
        round_trip(&LockRequest {
            lock_sequence_number: 3,
            lock_sequence_index: 7,
            file_id: fid(),
            locks: vec![LockElement {
                offset: 0,
                length: 10,
                flags: LOCKFLAG_EXCLUSIVE_LOCK | LOCKFLAG_FAIL_IMMEDIATELY,
            }],
        });
        round_trip(&LockResponse {});
        round_trip(&EchoRequest {});
        round_trip(&EchoResponse {});
        round_trip(&CancelRequest {});
    }

    #[test]
    fn fixed_part_plus_data_matches_encode_with_data() {
        let data = b"some bytes to write";
        let id = FileId {
            persistent: 3,
            volatile: 4,
        };
        let mut a = Vec::new();
        WriteRequest::encode_with_data(77, id, 1, data, &mut a);
        let mut b = Vec::new();
        WriteRequest::encode_fixed_part(77, id, 1, data.len() as u32, &mut b);
        b.extend_from_slice(data);
        assert_eq!(a, b);
    }

    #[test]
    fn write_with_data_matches_struct() {
        let w = WriteRequest {
            offset: 5,
            file_id: fid(),
            flags: 2,
            data: vec![1, 2, 3],
            ..Default::default()
        };
        let mut a = vec![0u8; 64];
        let mut b = vec![0u8; 64];
        w.encode(&mut a);
        WriteRequest::encode_with_data(5, fid(), 2, &[1, 2, 3], &mut b);
        assert_eq!(a, b);
        assert_eq!(&a[64 + 2..64 + 4], &0x70u16.to_le_bytes());
    }

    #[test]
    fn read_data_range() {
        let mut body = Vec::new();
        ReadResponse {
            data_remaining: 0,
            data: b"xyz".to_vec(),
        }
        .encode(&mut body);
        assert_eq!(ReadResponse::data_range(&body).unwrap(), 16..19);
        body[2] = 10; // DataOffset inside the header
        assert!(ReadResponse::data_range(&body).is_err());
    }

    #[test]
    fn error_response_forms() {
        assert_eq!(
            ErrorResponse::decode(&[9, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            ErrorResponse::default()
        );
        assert_eq!(
            ErrorResponse::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap(),
            ErrorResponse::default()
        );
        let e = ErrorResponse {
            error_context_count: 1,
            error_data: vec![1, 2, 3, 4],
        };
        let mut v = Vec::new();
        e.encode(&mut v);
        assert_eq!(ErrorResponse::decode(&v).unwrap(), e);
        assert!(ErrorResponse::decode(&[9, 0, 0, 0, 9, 0, 0, 0]).is_err());
    }

    proptest! {
        #[test]
        fn prop(data in arb_bytes(300), off in any::<u64>(), p in any::<u64>(), v in any::<u64>(), flags in any::<u32>(),
                seqn in 0u8..16, seqi in 0u32..(1 << 28),
                locks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u32>()), 0..5)) {
            let file_id = FileId { persistent: p, volatile: v };
            round_trip(&WriteRequest { offset: off, file_id, flags, data: data.clone(), channel: 0, remaining_bytes: flags });
            round_trip(&ReadResponse { data_remaining: flags, data: data.clone() });
            round_trip(&ReadRequest { padding: seqn, flags: seqn, length: flags, offset: off, file_id, minimum_count: flags, channel: 0, remaining_bytes: 0 });
            let locks = locks.into_iter().map(|(offset, length, flags)| LockElement { offset, length, flags }).collect();
            round_trip(&LockRequest { lock_sequence_number: seqn, lock_sequence_index: seqi, file_id, locks });
            let e = ErrorResponse { error_context_count: seqn, error_data: data };
            let mut b = Vec::new();
            e.encode(&mut b);
            prop_assert_eq!(ErrorResponse::decode(&b).unwrap(), e);
        }
    }
}
