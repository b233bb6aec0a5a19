//! QUERY_DIRECTORY ([MS-SMB2] 2.2.33, 2.2.34) and the FileIdBothDirectoryInformation
//! entry format ([MS-FSCC] 2.4.17) that the client asks for.
//!
//! Directory listings are the largest untrusted structures the client parses, so the
//! NextEntryOffset chain is checked strictly (forward only, in range) and there is a
//! per-entry iterator so one undecodable name does not hide the rest of the listing.

use super::codec::*;
use super::create::FileId;
use super::header::{Command, HEADER_LEN};
use super::{Body, ProtoError, Result};

pub const RESTART_SCANS: u8 = 0x01;
pub const RETURN_SINGLE_ENTRY: u8 = 0x02;
pub const INDEX_SPECIFIED: u8 = 0x04;
pub const REOPEN: u8 = 0x10;

pub const FILE_DIRECTORY_INFORMATION: u8 = 1;
pub const FILE_FULL_DIRECTORY_INFORMATION: u8 = 2;
pub const FILE_BOTH_DIRECTORY_INFORMATION: u8 = 3;
pub const FILE_NAMES_INFORMATION: u8 = 12;
pub const FILE_ID_BOTH_DIRECTORY_INFORMATION: u8 = 37;
pub const FILE_ID_FULL_DIRECTORY_INFORMATION: u8 = 38;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDirectoryRequest {
    pub file_information_class: u8,
    pub flags: u8,
    pub file_index: u32,
    pub file_id: FileId,
    pub output_buffer_length: u32,
    /// Search pattern, e.g. `*`.
    pub pattern: String,
}

impl Body for QueryDirectoryRequest {
    const COMMAND: Command = Command::QueryDirectory;

    fn encode(&self, out: &mut Vec<u8>) {
        let name = utf16le_encode(&self.pattern);
        put_u16(out, 33);
        put_u8(out, self.file_information_class);
        put_u8(out, self.flags);
        put_u32(out, self.file_index);
        self.file_id.encode(out);
        put_u16(out, (HEADER_LEN + 32) as u16);
        put_u16(out, name.len() as u16);
        put_u32(out, self.output_buffer_length);
        out.extend_from_slice(&name);
        if name.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 33, "QUERY_DIRECTORY request StructureSize")?;
        let file_information_class = r.u8()?;
        let flags = r.u8()?;
        let file_index = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let off = r.u16()? as usize;
        let len = r.u16()? as usize;
        let output_buffer_length = r.u32()?;
        let pattern = utf16le_decode(body_buffer(body, off, len)?)?;
        Ok(QueryDirectoryRequest {
            file_information_class,
            flags,
            file_index,
            file_id,
            output_buffer_length,
            pattern,
        })
    }
}

/// Encode the `StructureSize 9, OutputBufferOffset u16, OutputBufferLength u32, Buffer`
/// response shape shared by QUERY_DIRECTORY, QUERY_INFO and CHANGE_NOTIFY.
pub(crate) fn encode_output9(buffer: &[u8], out: &mut Vec<u8>) {
    put_u16(out, 9);
    put_u16(out, (HEADER_LEN + 8) as u16);
    put_u32(out, buffer.len() as u32);
    out.extend_from_slice(buffer);
    if buffer.is_empty() {
        out.push(0);
    }
}

pub(crate) fn decode_output9<'a>(body: &'a [u8], what: &'static str) -> Result<&'a [u8]> {
    let mut r = Reader::new(body);
    expect_structure_size(&mut r, 9, what)?;
    let off = r.u16()? as usize;
    let len = r.u32()? as usize;
    body_buffer(body, off, len)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDirectoryResponse {
    /// Raw entries in the requested information class.
    pub buffer: Vec<u8>,
}

impl Body for QueryDirectoryResponse {
    const COMMAND: Command = Command::QueryDirectory;
    fn encode(&self, out: &mut Vec<u8>) {
        encode_output9(&self.buffer, out)
    }
    fn decode(body: &[u8]) -> Result<Self> {
        Ok(QueryDirectoryResponse {
            buffer: decode_output9(body, "QUERY_DIRECTORY response StructureSize")?.to_vec(),
        })
    }
}

/// One FILE_ID_BOTH_DIR_INFORMATION entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryEntry {
    pub file_index: u32,
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub end_of_file: u64,
    pub allocation_size: u64,
    pub file_attributes: u32,
    pub ea_size: u32,
    pub file_id: u64,
    /// 8.3 name; at most 12 characters (24 bytes) on the wire.
    pub short_name: String,
    pub file_name: String,
}

/// Fixed part of FILE_ID_BOTH_DIR_INFORMATION, up to FileName.
pub const ID_BOTH_DIR_FIXED_LEN: usize = 104;

fn decode_entry(e: &[u8]) -> Result<DirectoryEntry> {
    let mut r = Reader::new(e);
    r.skip(4)?;
    let file_index = r.u32()?;
    let creation_time = r.u64()?;
    let last_access_time = r.u64()?;
    let last_write_time = r.u64()?;
    let change_time = r.u64()?;
    let end_of_file = r.u64()?;
    let allocation_size = r.u64()?;
    let file_attributes = r.u32()?;
    let name_len = r.u32()? as usize;
    let ea_size = r.u32()?;
    let short_len = (r.u8()? as usize).min(24);
    r.skip(1)?;
    let short = r.array::<24>()?;
    r.skip(2)?;
    let file_id = r.u64()?;
    let name = r.bytes(name_len)?;
    let short_name = utf16le_decode(short.get(..short_len).unwrap_or_default())?;
    let file_name = utf16le_decode(name)?;
    Ok(DirectoryEntry {
        file_index,
        creation_time,
        last_access_time,
        last_write_time,
        change_time,
        end_of_file,
        allocation_size,
        file_attributes,
        ea_size,
        file_id,
        short_name,
        file_name,
    })
}

/// Iterator over a NextEntryOffset-chained buffer, yielding each entry's bytes.
/// Structural errors (offset out of range, fixed part truncated) are yielded once and end
/// the iteration.
pub(crate) struct EntryChain<'a> {
    buf: &'a [u8],
    pos: Option<usize>,
    min_len: usize,
}

impl<'a> EntryChain<'a> {
    pub(crate) fn new(buf: &'a [u8], min_len: usize) -> Self {
        EntryChain {
            buf,
            pos: if buf.is_empty() { None } else { Some(0) },
            min_len,
        }
    }
}

impl<'a> Iterator for EntryChain<'a> {
    type Item = Result<&'a [u8]>;
    fn next(&mut self) -> Option<Self::Item> {
        let pos = self.pos.take()?;
        let rest = self.buf.get(pos..).unwrap_or_default();
        if rest.len() < self.min_len {
            return Some(Err(ProtoError::Truncated {
                needed: pos + self.min_len,
                had: self.buf.len(),
            }));
        }
        let next = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if next == 0 {
            return Some(Ok(rest));
        }
        // Forward-only and each entry must at least hold its fixed part.
        if next < self.min_len || next > rest.len() {
            return Some(Err(ProtoError::Invalid("NextEntryOffset")));
        }
        self.pos = Some(pos + next);
        Some(Ok(&rest[..next]))
    }
}

/// Parse entries one by one; a bad name yields an `Err` for that entry only, a broken
/// chain yields one `Err` and stops.
pub fn iter_id_both_directory_information(
    buf: &[u8],
) -> impl Iterator<Item = Result<DirectoryEntry>> + '_ {
    EntryChain::new(buf, ID_BOTH_DIR_FIXED_LEN).map(|e| e.and_then(decode_entry))
}

/// Parse a whole FileIdBothDirectoryInformation buffer; any error fails the call.
pub fn parse_id_both_directory_information(buf: &[u8]) -> Result<Vec<DirectoryEntry>> {
    iter_id_both_directory_information(buf).collect()
}

/// Build a FileIdBothDirectoryInformation buffer (entries aligned to 8), as a server would.
pub fn encode_id_both_directory_information(entries: &[DirectoryEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev: Option<usize> = None;
    for e in entries {
        pad_to(&mut out, 0, 8);
        let start = out.len();
        if let Some(p) = prev {
            patch_u32(&mut out, p, (start - p) as u32);
        }
        prev = Some(start);
        let name = utf16le_encode(&e.file_name);
        let mut short = utf16le_encode(&e.short_name);
        short.truncate(24);
        put_u32(&mut out, 0);
        put_u32(&mut out, e.file_index);
        put_u64(&mut out, e.creation_time);
        put_u64(&mut out, e.last_access_time);
        put_u64(&mut out, e.last_write_time);
        put_u64(&mut out, e.change_time);
        put_u64(&mut out, e.end_of_file);
        put_u64(&mut out, e.allocation_size);
        put_u32(&mut out, e.file_attributes);
        put_u32(&mut out, name.len() as u32);
        put_u32(&mut out, e.ea_size);
        put_u8(&mut out, short.len() as u8);
        put_u8(&mut out, 0);
        out.extend_from_slice(&short);
        put_zeros(&mut out, 24 - short.len());
        put_u16(&mut out, 0);
        put_u64(&mut out, e.file_id);
        out.extend_from_slice(&name);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    pub(crate) fn arb_entry() -> impl Strategy<Value = DirectoryEntry> {
        (
            any::<u32>(),
            any::<[u64; 6]>(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            "[A-Z0-9~.]{0,12}",
            arb_string(),
        )
            .prop_map(
                |(file_index, t, file_attributes, ea_size, file_id, short_name, file_name)| {
                    DirectoryEntry {
                        file_index,
                        creation_time: t[0],
                        last_access_time: t[1],
                        last_write_time: t[2],
                        change_time: t[3],
                        end_of_file: t[4],
                        allocation_size: t[5],
                        file_attributes,
                        ea_size,
                        file_id,
                        short_name,
                        file_name,
                    }
                },
            )
    }

    fn entry(name: &str) -> DirectoryEntry {
        DirectoryEntry {
            file_name: name.into(),
            short_name: "A~1.TXT".into(),
            end_of_file: 5,
            file_id: 77,
            ..Default::default()
        }
    }

    #[test]
    fn request_layout() {
        let req = QueryDirectoryRequest {
            file_information_class: FILE_ID_BOTH_DIRECTORY_INFORMATION,
            flags: RESTART_SCANS,
            file_index: 0,
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            output_buffer_length: 65536,
            pattern: "*".into(),
        };
        assert_eq!(structure_size(&req), 33);
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(&out[24..26], &0x60u16.to_le_bytes());
        round_trip(&req);
        round_trip(&QueryDirectoryRequest::default());
        let resp = QueryDirectoryResponse {
            buffer: encode_id_both_directory_information(&[entry("a")]),
        };
        assert_eq!(structure_size(&resp), 9);
        round_trip(&resp);
        round_trip(&QueryDirectoryResponse::default());
    }

    #[test]
    fn chain_checks() {
        let entries = vec![entry("one"), entry("two"), entry("é日本😀")];
        let mut buf = encode_id_both_directory_information(&entries);
        assert_eq!(parse_id_both_directory_information(&buf).unwrap(), entries);
        // Self-loop.
        buf[0..4].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(parse_id_both_directory_information(&buf).unwrap().len(), 1);
        buf[0..4].copy_from_slice(&4u32.to_le_bytes());
        assert!(parse_id_both_directory_information(&buf).is_err());
        buf[0..4].copy_from_slice(&100_000u32.to_le_bytes());
        assert!(parse_id_both_directory_information(&buf).is_err());
        assert!(parse_id_both_directory_information(&[]).unwrap().is_empty());
    }

    #[test]
    fn bad_name_is_per_entry() {
        let entries = vec![entry("ok1"), entry("xx"), entry("ok3")];
        let mut buf = encode_id_both_directory_information(&entries);
        let second = u32::from_le_bytes(buf[0..4].try_into().unwrap()) as usize;
        // Replace "xx" with a lone surrogate.
        buf[second + 104..second + 106].copy_from_slice(&0xD800u16.to_le_bytes());
        let got: Vec<_> = iter_id_both_directory_information(&buf).collect();
        assert_eq!(got.len(), 3);
        assert!(got[0].is_ok() && got[1].is_err() && got[2].is_ok());
        assert!(parse_id_both_directory_information(&buf).is_err());
    }

    proptest! {
        #[test]
        fn entries_round_trip(entries in proptest::collection::vec(arb_entry(), 0..6)) {
            let buf = encode_id_both_directory_information(&entries);
            prop_assert_eq!(parse_id_both_directory_information(&buf).unwrap(), entries);
        }

        #[test]
        fn request_prop(pattern in arb_string(), c in any::<u8>(), f in any::<u8>(), i in any::<u32>(), l in any::<u32>(), buffer in arb_bytes(300)) {
            round_trip(&QueryDirectoryRequest { file_information_class: c, flags: f, file_index: i, file_id: FileId::default(), output_buffer_length: l, pattern });
            round_trip(&QueryDirectoryResponse { buffer });
        }
    }
}
