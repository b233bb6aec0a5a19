//! IOCTL ([MS-SMB2] 2.2.31, 2.2.32): FSCTLs such as VALIDATE_NEGOTIATE_INFO and reparse
//! point queries (symlinks). Input/output payloads are opaque here.

use super::codec::*;
use super::create::FileId;
use super::header::{Command, HEADER_LEN};
use super::{Body, Result};

pub const IOCTL_IS_FSCTL: u32 = 0x0000_0001;

pub const FSCTL_DFS_GET_REFERRALS: u32 = 0x0006_0194;
pub const FSCTL_PIPE_PEEK: u32 = 0x0011_400C;
pub const FSCTL_PIPE_WAIT: u32 = 0x0011_0018;
pub const FSCTL_PIPE_TRANSCEIVE: u32 = 0x0011_C017;
pub const FSCTL_SRV_COPYCHUNK: u32 = 0x0014_40F2;
pub const FSCTL_SRV_COPYCHUNK_WRITE: u32 = 0x0014_80F2;
pub const FSCTL_SRV_ENUMERATE_SNAPSHOTS: u32 = 0x0014_4064;
pub const FSCTL_SRV_REQUEST_RESUME_KEY: u32 = 0x0014_0078;
pub const FSCTL_SRV_READ_HASH: u32 = 0x0014_41BB;
pub const FSCTL_LMR_REQUEST_RESILIENCY: u32 = 0x0014_01D4;
pub const FSCTL_QUERY_NETWORK_INTERFACE_INFO: u32 = 0x0014_01FC;
pub const FSCTL_GET_REPARSE_POINT: u32 = 0x0009_00A8;
pub const FSCTL_SET_REPARSE_POINT: u32 = 0x0009_00A4;
pub const FSCTL_DELETE_REPARSE_POINT: u32 = 0x0009_00AC;
pub const FSCTL_SET_SPARSE: u32 = 0x0009_00C4;
pub const FSCTL_SET_ZERO_DATA: u32 = 0x0009_80C8;
pub const FSCTL_VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IoctlRequest {
    pub ctl_code: u32,
    pub file_id: FileId,
    pub input: Vec<u8>,
    pub max_input_response: u32,
    pub max_output_response: u32,
    pub flags: u32,
}

impl Body for IoctlRequest {
    const COMMAND: Command = Command::Ioctl;

    fn encode(&self, out: &mut Vec<u8>) {
        let buf_off = (HEADER_LEN + 56) as u32;
        put_u16(out, 57);
        put_u16(out, 0);
        put_u32(out, self.ctl_code);
        self.file_id.encode(out);
        put_u32(out, if self.input.is_empty() { 0 } else { buf_off });
        put_u32(out, self.input.len() as u32);
        put_u32(out, self.max_input_response);
        put_u32(out, 0); // OutputOffset
        put_u32(out, 0); // OutputCount
        put_u32(out, self.max_output_response);
        put_u32(out, self.flags);
        put_u32(out, 0);
        out.extend_from_slice(&self.input);
        if self.input.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 57, "IOCTL request StructureSize")?;
        r.skip(2)?;
        let ctl_code = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let in_off = r.u32()? as usize;
        let in_len = r.u32()? as usize;
        let max_input_response = r.u32()?;
        r.skip(8)?;
        let max_output_response = r.u32()?;
        let flags = r.u32()?;
        let input = body_buffer(body, in_off, in_len)?.to_vec();
        Ok(IoctlRequest {
            ctl_code,
            file_id,
            input,
            max_input_response,
            max_output_response,
            flags,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IoctlResponse {
    pub ctl_code: u32,
    pub file_id: FileId,
    pub input: Vec<u8>,
    pub output: Vec<u8>,
    pub flags: u32,
}

impl Body for IoctlResponse {
    const COMMAND: Command = Command::Ioctl;

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        put_u16(out, 49);
        put_u16(out, 0);
        put_u32(out, self.ctl_code);
        self.file_id.encode(out);
        let offs_at = out.len();
        put_u32(out, 0);
        put_u32(out, self.input.len() as u32);
        put_u32(out, 0);
        put_u32(out, self.output.len() as u32);
        put_u32(out, self.flags);
        put_u32(out, 0);
        let in_off = wire_offset(out, start) as u32;
        patch_u32(out, offs_at, in_off);
        out.extend_from_slice(&self.input);
        pad_to(out, start, 8);
        let out_off = wire_offset(out, start) as u32;
        patch_u32(out, offs_at + 8, out_off);
        out.extend_from_slice(&self.output);
        if self.input.is_empty() && self.output.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 49, "IOCTL response StructureSize")?;
        r.skip(2)?;
        let ctl_code = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let in_off = r.u32()? as usize;
        let in_len = r.u32()? as usize;
        let out_off = r.u32()? as usize;
        let out_len = r.u32()? as usize;
        let flags = r.u32()?;
        let input = body_buffer(body, in_off, in_len)?.to_vec();
        let output = body_buffer(body, out_off, out_len)?.to_vec();
        Ok(IoctlResponse {
            ctl_code,
            file_id,
            input,
            output,
            flags,
        })
    }
}

/// VALIDATE_NEGOTIATE_INFO request payload ([MS-SMB2] 2.2.31.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidateNegotiateInfoRequest {
    pub capabilities: u32,
    pub guid: [u8; 16],
    pub security_mode: u16,
    pub dialects: Vec<u16>,
}

impl ValidateNegotiateInfoRequest {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.capabilities);
        out.extend_from_slice(&self.guid);
        put_u16(out, self.security_mode);
        put_u16(out, self.dialects.len() as u16);
        for d in &self.dialects {
            put_u16(out, *d);
        }
    }
}

/// VALIDATE_NEGOTIATE_INFO response payload ([MS-SMB2] 2.2.32.6).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidateNegotiateInfoResponse {
    pub capabilities: u32,
    pub guid: [u8; 16],
    pub security_mode: u16,
    pub dialect: u16,
}

impl ValidateNegotiateInfoResponse {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.capabilities);
        out.extend_from_slice(&self.guid);
        put_u16(out, self.security_mode);
        put_u16(out, self.dialect);
    }

    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        Ok(ValidateNegotiateInfoResponse {
            capabilities: r.u32()?,
            guid: r.array()?,
            security_mode: r.u16()?,
            dialect: r.u16()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    #[test]
    fn fixed() {
        let req = IoctlRequest {
            ctl_code: FSCTL_VALIDATE_NEGOTIATE_INFO,
            file_id: FileId::RELATED,
            input: vec![1; 24],
            max_input_response: 0,
            max_output_response: 24,
            flags: IOCTL_IS_FSCTL,
        };
        assert_eq!(structure_size(&req), 57);
        let mut out = Vec::new();
        req.encode(&mut out);
        assert_eq!(&out[24..28], &0x78u32.to_le_bytes());
        round_trip(&req);
        round_trip(&IoctlRequest::default());
        let resp = IoctlResponse {
            ctl_code: FSCTL_GET_REPARSE_POINT,
            file_id: FileId::default(),
            input: vec![],
            output: vec![7; 30],
            flags: 0,
        };
        assert_eq!(structure_size(&resp), 49);
        round_trip(&resp);
        round_trip(&IoctlResponse::default());
        let v = ValidateNegotiateInfoResponse {
            capabilities: 1,
            guid: [2; 16],
            security_mode: 1,
            dialect: 0x311,
        };
        let mut b = Vec::new();
        v.encode(&mut b);
        assert_eq!(ValidateNegotiateInfoResponse::decode(&b).unwrap(), v);
    }

    proptest! {
        #[test]
        fn prop(c in any::<u32>(), input in arb_bytes(100), output in arb_bytes(100), f in any::<u32>(), m in any::<u32>()) {
            round_trip(&IoctlRequest { ctl_code: c, file_id: FileId::default(), input: input.clone(), max_input_response: m, max_output_response: m, flags: f });
            round_trip(&IoctlResponse { ctl_code: c, file_id: FileId { persistent: 1, volatile: m as u64 }, input, output, flags: f });
        }
    }
}
