//! SESSION_SETUP ([MS-SMB2] 2.2.5, 2.2.6) and LOGOFF (2.2.7, 2.2.8).
//!
//! The security buffers are opaque GSS/SPNEGO tokens handled by the auth layer; here we
//! only place them at the right offsets.

use super::codec::*;
use super::header::{Command, HEADER_LEN};
use super::{Body, Result};

pub const SESSION_FLAG_BINDING: u8 = 0x01;

pub const SESSION_FLAG_IS_GUEST: u16 = 0x0001;
pub const SESSION_FLAG_IS_NULL: u16 = 0x0002;
pub const SESSION_FLAG_ENCRYPT_DATA: u16 = 0x0004;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupRequest {
    /// `SESSION_FLAG_BINDING` to bind an existing session to a new channel.
    pub flags: u8,
    pub security_mode: u8,
    pub capabilities: u32,
    pub channel: u32,
    pub previous_session_id: u64,
    pub security_buffer: Vec<u8>,
}

impl Body for SessionSetupRequest {
    const COMMAND: Command = Command::SessionSetup;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 25);
        put_u8(out, self.flags);
        put_u8(out, self.security_mode);
        put_u32(out, self.capabilities);
        put_u32(out, self.channel);
        put_u16(out, (HEADER_LEN + 24) as u16);
        put_u16(out, self.security_buffer.len() as u16);
        put_u64(out, self.previous_session_id);
        out.extend_from_slice(&self.security_buffer);
        if self.security_buffer.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 25, "SESSION_SETUP request StructureSize")?;
        let flags = r.u8()?;
        let security_mode = r.u8()?;
        let capabilities = r.u32()?;
        let channel = r.u32()?;
        let off = r.u16()? as usize;
        let len = r.u16()? as usize;
        let previous_session_id = r.u64()?;
        let security_buffer = body_buffer(body, off, len)?.to_vec();
        Ok(SessionSetupRequest {
            flags,
            security_mode,
            capabilities,
            channel,
            previous_session_id,
            security_buffer,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupResponse {
    pub session_flags: u16,
    pub security_buffer: Vec<u8>,
}

impl Body for SessionSetupResponse {
    const COMMAND: Command = Command::SessionSetup;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 9);
        put_u16(out, self.session_flags);
        put_u16(out, (HEADER_LEN + 8) as u16);
        put_u16(out, self.security_buffer.len() as u16);
        out.extend_from_slice(&self.security_buffer);
        if self.security_buffer.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 9, "SESSION_SETUP response StructureSize")?;
        let session_flags = r.u16()?;
        let off = r.u16()? as usize;
        let len = r.u16()? as usize;
        let security_buffer = body_buffer(body, off, len)?.to_vec();
        Ok(SessionSetupResponse {
            session_flags,
            security_buffer,
        })
    }
}

/// Encode the 4-byte `StructureSize + Reserved` bodies shared by several commands.
pub(crate) fn encode_empty4(out: &mut Vec<u8>) {
    put_u16(out, 4);
    put_u16(out, 0);
}

pub(crate) fn decode_empty4(body: &[u8], what: &'static str) -> Result<()> {
    let mut r = Reader::new(body);
    expect_structure_size(&mut r, 4, what)?;
    r.skip(2)
}

macro_rules! empty4_body {
    ($ty:ident, $cmd:expr, $what:expr) => {
        impl $crate::proto::Body for $ty {
            const COMMAND: $crate::proto::header::Command = $cmd;
            fn encode(&self, out: &mut Vec<u8>) {
                $crate::proto::session::encode_empty4(out)
            }
            fn decode(body: &[u8]) -> $crate::proto::Result<Self> {
                $crate::proto::session::decode_empty4(body, $what)?;
                Ok($ty {})
            }
        }
    };
}
pub(crate) use empty4_body;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoffRequest {}
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogoffResponse {}
empty4_body!(LogoffRequest, Command::Logoff, "LOGOFF StructureSize");
empty4_body!(LogoffResponse, Command::Logoff, "LOGOFF StructureSize");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    #[test]
    fn fixed() {
        let req = SessionSetupRequest {
            security_mode: 1,
            security_buffer: vec![0x60, 1, 2],
            ..Default::default()
        };
        assert_eq!(structure_size(&req), 25);
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(&out[12..14], &0x58u16.to_le_bytes());
        round_trip(&req);
        round_trip(&SessionSetupRequest::default());
        let resp = SessionSetupResponse {
            session_flags: SESSION_FLAG_ENCRYPT_DATA,
            security_buffer: vec![0xA1; 9],
        };
        assert_eq!(structure_size(&resp), 9);
        round_trip(&resp);
        round_trip(&SessionSetupResponse::default());
        assert_eq!(structure_size(&LogoffRequest {}), 4);
        round_trip(&LogoffRequest {});
        round_trip(&LogoffResponse {});
    }

    proptest! {
        #[test]
        fn prop(flags in any::<u8>(), sm in any::<u8>(), caps in any::<u32>(), ch in any::<u32>(),
                prev in any::<u64>(), sb in arb_bytes(600), sf in any::<u16>()) {
            round_trip(&SessionSetupRequest { flags, security_mode: sm, capabilities: caps, channel: ch, previous_session_id: prev, security_buffer: sb.clone() });
            round_trip(&SessionSetupResponse { session_flags: sf, security_buffer: sb });
        }
    }
}
