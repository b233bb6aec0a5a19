//! CHANGE_NOTIFY ([MS-SMB2] 2.2.35, 2.2.36) and FILE_NOTIFY_INFORMATION ([MS-FSCC] 2.7.1).
//!
//! Used to invalidate the FUSE side's caches when the server reports changes.

use super::codec::*;
use super::create::FileId;
use super::dir::{decode_output9, encode_output9, EntryChain};
use super::header::Command;
use super::{Body, Result};

pub const WATCH_TREE: u16 = 0x0001;

pub const FILE_NOTIFY_CHANGE_FILE_NAME: u32 = 0x0000_0001;
pub const FILE_NOTIFY_CHANGE_DIR_NAME: u32 = 0x0000_0002;
pub const FILE_NOTIFY_CHANGE_ATTRIBUTES: u32 = 0x0000_0004;
pub const FILE_NOTIFY_CHANGE_SIZE: u32 = 0x0000_0008;
pub const FILE_NOTIFY_CHANGE_LAST_WRITE: u32 = 0x0000_0010;
pub const FILE_NOTIFY_CHANGE_LAST_ACCESS: u32 = 0x0000_0020;
pub const FILE_NOTIFY_CHANGE_CREATION: u32 = 0x0000_0040;
pub const FILE_NOTIFY_CHANGE_EA: u32 = 0x0000_0080;
pub const FILE_NOTIFY_CHANGE_SECURITY: u32 = 0x0000_0100;
pub const FILE_NOTIFY_CHANGE_STREAM_NAME: u32 = 0x0000_0200;
pub const FILE_NOTIFY_CHANGE_STREAM_SIZE: u32 = 0x0000_0400;
pub const FILE_NOTIFY_CHANGE_STREAM_WRITE: u32 = 0x0000_0800;

pub const FILE_ACTION_ADDED: u32 = 1;
pub const FILE_ACTION_REMOVED: u32 = 2;
pub const FILE_ACTION_MODIFIED: u32 = 3;
pub const FILE_ACTION_RENAMED_OLD_NAME: u32 = 4;
pub const FILE_ACTION_RENAMED_NEW_NAME: u32 = 5;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeNotifyRequest {
    pub flags: u16,
    pub output_buffer_length: u32,
    pub file_id: FileId,
    pub completion_filter: u32,
}

impl Body for ChangeNotifyRequest {
    const COMMAND: Command = Command::ChangeNotify;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 32);
        put_u16(out, self.flags);
        put_u32(out, self.output_buffer_length);
        self.file_id.encode(out);
        put_u32(out, self.completion_filter);
        put_u32(out, 0);
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 32, "CHANGE_NOTIFY request StructureSize")?;
        let flags = r.u16()?;
        let output_buffer_length = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let completion_filter = r.u32()?;
        Ok(ChangeNotifyRequest {
            flags,
            output_buffer_length,
            file_id,
            completion_filter,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChangeNotifyResponse {
    /// FILE_NOTIFY_INFORMATION entries; see [`parse_file_notify_information`].
    pub buffer: Vec<u8>,
}

impl Body for ChangeNotifyResponse {
    const COMMAND: Command = Command::ChangeNotify;
    fn encode(&self, out: &mut Vec<u8>) {
        encode_output9(&self.buffer, out)
    }
    fn decode(body: &[u8]) -> Result<Self> {
        Ok(ChangeNotifyResponse {
            buffer: decode_output9(body, "CHANGE_NOTIFY response StructureSize")?.to_vec(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNotifyInformation {
    pub action: u32,
    pub file_name: String,
}

/// Parse a chain of FILE_NOTIFY_INFORMATION entries.
pub fn parse_file_notify_information(buf: &[u8]) -> Result<Vec<FileNotifyInformation>> {
    EntryChain::new(buf, 12)
        .map(|e| {
            let mut r = Reader::new(e?);
            r.skip(4)?;
            let action = r.u32()?;
            let len = r.u32()? as usize;
            let file_name = utf16le_decode(r.bytes(len)?)?;
            Ok(FileNotifyInformation { action, file_name })
        })
        .collect()
}

/// Build a FILE_NOTIFY_INFORMATION chain (entries 4-byte aligned), as a server would.
pub fn encode_file_notify_information(entries: &[FileNotifyInformation]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut prev: Option<usize> = None;
    for e in entries {
        pad_to(&mut out, 0, 4);
        let start = out.len();
        if let Some(p) = prev {
            patch_u32(&mut out, p, (start - p) as u32);
        }
        prev = Some(start);
        let name = utf16le_encode(&e.file_name);
        put_u32(&mut out, 0);
        put_u32(&mut out, e.action);
        put_u32(&mut out, name.len() as u32);
        out.extend_from_slice(&name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    #[test]
    fn fixed() {
        let req = ChangeNotifyRequest {
            flags: WATCH_TREE,
            output_buffer_length: 4096,
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            completion_filter: FILE_NOTIFY_CHANGE_FILE_NAME | FILE_NOTIFY_CHANGE_DIR_NAME,
        };
        assert_eq!(structure_size(&req), 32);
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(out.len(), 32);
        round_trip(&req);
        let entries = vec![
            FileNotifyInformation {
                action: FILE_ACTION_RENAMED_OLD_NAME,
                file_name: "a".into(),
            },
            FileNotifyInformation {
                action: FILE_ACTION_RENAMED_NEW_NAME,
                file_name: "é日本😀".into(),
            },
        ];
        let buf = encode_file_notify_information(&entries);
        assert_eq!(&buf[0..4], &16u32.to_le_bytes());
        assert_eq!(parse_file_notify_information(&buf).unwrap(), entries);
        let resp = ChangeNotifyResponse { buffer: buf };
        assert_eq!(structure_size(&resp), 9);
        round_trip(&resp);
        round_trip(&ChangeNotifyResponse::default());
    }

    proptest! {
        #[test]
        fn prop(entries in proptest::collection::vec((any::<u32>(), arb_string()).prop_map(|(action, file_name)| FileNotifyInformation { action, file_name }), 0..6),
                f in any::<u16>(), l in any::<u32>(), c in any::<u32>()) {
            let buf = encode_file_notify_information(&entries);
            prop_assert_eq!(parse_file_notify_information(&buf).unwrap(), entries);
            round_trip(&ChangeNotifyResponse { buffer: buf });
            round_trip(&ChangeNotifyRequest { flags: f, output_buffer_length: l, file_id: FileId::default(), completion_filter: c });
        }
    }
}
