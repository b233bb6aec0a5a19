//! TREE_CONNECT and TREE_DISCONNECT ([MS-SMB2] 2.2.9 - 2.2.12).
//!
//! The share flags matter to the client: `SHAREFLAG_ENCRYPT_DATA` forces encryption on
//! this tree even if the session does not require it.

use super::codec::*;
use super::header::{Command, HEADER_LEN};
use super::session::empty4_body;
use super::{Body, Result};

/// TREE_CONNECT request flag (3.1.1): the request carries a tree connect extension.
pub const TREE_CONNECT_FLAG_CLUSTER_RECONNECT: u16 = 0x0001;
pub const TREE_CONNECT_FLAG_REDIRECT_TO_OWNER: u16 = 0x0002;
pub const TREE_CONNECT_FLAG_EXTENSION_PRESENT: u16 = 0x0004;

pub const SHARE_TYPE_DISK: u8 = 0x01;
pub const SHARE_TYPE_PIPE: u8 = 0x02;
pub const SHARE_TYPE_PRINT: u8 = 0x03;

pub const SHAREFLAG_MANUAL_CACHING: u32 = 0x0000_0000;
pub const SHAREFLAG_AUTO_CACHING: u32 = 0x0000_0010;
pub const SHAREFLAG_VDO_CACHING: u32 = 0x0000_0020;
pub const SHAREFLAG_NO_CACHING: u32 = 0x0000_0030;
pub const SHAREFLAG_DFS: u32 = 0x0000_0001;
pub const SHAREFLAG_DFS_ROOT: u32 = 0x0000_0002;
pub const SHAREFLAG_RESTRICT_EXCLUSIVE_OPENS: u32 = 0x0000_0100;
pub const SHAREFLAG_FORCE_SHARED_DELETE: u32 = 0x0000_0200;
pub const SHAREFLAG_ALLOW_NAMESPACE_CACHING: u32 = 0x0000_0400;
pub const SHAREFLAG_ACCESS_BASED_DIRECTORY_ENUM: u32 = 0x0000_0800;
pub const SHAREFLAG_FORCE_LEVELII_OPLOCK: u32 = 0x0000_1000;
pub const SHAREFLAG_ENABLE_HASH_V1: u32 = 0x0000_2000;
pub const SHAREFLAG_ENABLE_HASH_V2: u32 = 0x0000_4000;
pub const SHAREFLAG_ENCRYPT_DATA: u32 = 0x0000_8000;
pub const SHAREFLAG_IDENTITY_REMOTING: u32 = 0x0004_0000;
pub const SHAREFLAG_COMPRESS_DATA: u32 = 0x0010_0000;

pub const SHARE_CAP_DFS: u32 = 0x0000_0008;
pub const SHARE_CAP_CONTINUOUS_AVAILABILITY: u32 = 0x0000_0010;
pub const SHARE_CAP_SCALEOUT: u32 = 0x0000_0020;
pub const SHARE_CAP_CLUSTER: u32 = 0x0000_0040;
pub const SHARE_CAP_ASYMMETRIC: u32 = 0x0000_0080;
pub const SHARE_CAP_REDIRECT_TO_OWNER: u32 = 0x0000_0100;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConnectRequest {
    pub flags: u16,
    /// `\\server\share`.
    pub path: String,
}

impl Body for TreeConnectRequest {
    const COMMAND: Command = Command::TreeConnect;

    fn encode(&self, out: &mut Vec<u8>) {
        let path = utf16le_encode(&self.path);
        put_u16(out, 9);
        put_u16(out, self.flags);
        put_u16(out, (HEADER_LEN + 8) as u16);
        put_u16(out, path.len() as u16);
        out.extend_from_slice(&path);
        if path.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 9, "TREE_CONNECT request StructureSize")?;
        let flags = r.u16()?;
        let off = r.u16()? as usize;
        let len = r.u16()? as usize;
        let path = utf16le_decode(body_buffer(body, off, len)?)?;
        Ok(TreeConnectRequest { flags, path })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConnectResponse {
    pub share_type: u8,
    pub share_flags: u32,
    pub capabilities: u32,
    pub maximal_access: u32,
}

impl Body for TreeConnectResponse {
    const COMMAND: Command = Command::TreeConnect;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 16);
        put_u8(out, self.share_type);
        put_u8(out, 0);
        put_u32(out, self.share_flags);
        put_u32(out, self.capabilities);
        put_u32(out, self.maximal_access);
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 16, "TREE_CONNECT response StructureSize")?;
        let share_type = r.u8()?;
        r.skip(1)?;
        Ok(TreeConnectResponse {
            share_type,
            share_flags: r.u32()?,
            capabilities: r.u32()?,
            maximal_access: r.u32()?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeDisconnectRequest {}
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeDisconnectResponse {}
empty4_body!(
    TreeDisconnectRequest,
    Command::TreeDisconnect,
    "TREE_DISCONNECT StructureSize"
);
empty4_body!(
    TreeDisconnectResponse,
    Command::TreeDisconnect,
    "TREE_DISCONNECT StructureSize"
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    #[test]
    fn fixed() {
        let req = TreeConnectRequest {
            flags: 0,
            path: "\\\\server\\share".into(),
        };
        assert_eq!(structure_size(&req), 9);
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(&out[4..6], &0x48u16.to_le_bytes());
        assert_eq!(&out[6..8], &28u16.to_le_bytes());
        round_trip(&req);
        let resp = TreeConnectResponse {
            share_type: SHARE_TYPE_DISK,
            share_flags: SHAREFLAG_ENCRYPT_DATA,
            capabilities: 0,
            maximal_access: 0x1F01FF,
        };
        assert_eq!(structure_size(&resp), 16);
        round_trip(&resp);
        round_trip(&TreeDisconnectRequest {});
        round_trip(&TreeDisconnectResponse {});
    }

    proptest! {
        #[test]
        fn prop(flags in any::<u16>(), path in arb_string(), t in any::<u8>(), f in any::<u32>(), c in any::<u32>(), m in any::<u32>()) {
            round_trip(&TreeConnectRequest { flags, path });
            round_trip(&TreeConnectResponse { share_type: t, share_flags: f, capabilities: c, maximal_access: m });
        }
    }
}
