//! The 64-byte SMB2 packet header ([MS-SMB2] 2.2.1), sync and async forms.
//!
//! One struct covers both forms: bytes 32..40 are AsyncId when `FLAGS_ASYNC_COMMAND` is set,
//! otherwise ProcessId + TreeId. Raw byte offsets are exported so the crypto layer can
//! sign/verify a message in place without re-encoding it.

use super::codec::{put_u16, put_u32, put_u64, Reader};
use super::status::NtStatus;
use super::{ProtoError, Result};

pub const HEADER_LEN: usize = 64;
pub const PROTOCOL_ID: [u8; 4] = [0xFE, b'S', b'M', b'B'];
pub const HEADER_STRUCTURE_SIZE: u16 = 64;

/// Byte offsets inside the header, for code that works on raw messages.
pub const HEADER_STATUS_OFFSET: usize = 8;
pub const HEADER_COMMAND_OFFSET: usize = 12;
pub const HEADER_FLAGS_OFFSET: usize = 16;
pub const HEADER_NEXT_COMMAND_OFFSET: usize = 20;
pub const HEADER_MESSAGE_ID_OFFSET: usize = 24;
pub const HEADER_SESSION_ID_OFFSET: usize = 40;
pub const HEADER_SIGNATURE_OFFSET: usize = 48;
pub const HEADER_SIGNATURE_RANGE: core::ops::Range<usize> = 48..64;

pub const FLAGS_SERVER_TO_REDIR: u32 = 0x0000_0001;
pub const FLAGS_ASYNC_COMMAND: u32 = 0x0000_0002;
pub const FLAGS_RELATED_OPERATIONS: u32 = 0x0000_0004;
pub const FLAGS_SIGNED: u32 = 0x0000_0008;
pub const FLAGS_PRIORITY_MASK: u32 = 0x0000_0070;
pub const FLAGS_DFS_OPERATIONS: u32 = 0x1000_0000;
pub const FLAGS_REPLAY_OPERATION: u32 = 0x2000_0000;

/// SMB2 command codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum Command {
    Negotiate = 0x0000,
    SessionSetup = 0x0001,
    Logoff = 0x0002,
    TreeConnect = 0x0003,
    TreeDisconnect = 0x0004,
    Create = 0x0005,
    Close = 0x0006,
    Flush = 0x0007,
    Read = 0x0008,
    Write = 0x0009,
    Lock = 0x000A,
    Ioctl = 0x000B,
    Cancel = 0x000C,
    Echo = 0x000D,
    QueryDirectory = 0x000E,
    ChangeNotify = 0x000F,
    QueryInfo = 0x0010,
    SetInfo = 0x0011,
    OplockBreak = 0x0012,
}

impl Command {
    pub const ALL: [Command; 19] = [
        Command::Negotiate,
        Command::SessionSetup,
        Command::Logoff,
        Command::TreeConnect,
        Command::TreeDisconnect,
        Command::Create,
        Command::Close,
        Command::Flush,
        Command::Read,
        Command::Write,
        Command::Lock,
        Command::Ioctl,
        Command::Cancel,
        Command::Echo,
        Command::QueryDirectory,
        Command::ChangeNotify,
        Command::QueryInfo,
        Command::SetInfo,
        Command::OplockBreak,
    ];

    pub fn code(self) -> u16 {
        self as u16
    }

    pub fn from_code(code: u16) -> Option<Command> {
        Command::ALL.get(usize::from(code)).copied()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub credit_charge: u16,
    /// Status in responses; ChannelSequence + Reserved in requests (we send 0).
    pub status: NtStatus,
    pub command: Command,
    /// CreditRequest in requests, CreditResponse in responses.
    pub credits: u16,
    pub flags: u32,
    pub next_command: u32,
    pub message_id: u64,
    /// Only meaningful with `FLAGS_ASYNC_COMMAND` (then it occupies bytes 32..40).
    pub async_id: u64,
    /// Sync form only.
    pub process_id: u32,
    /// Sync form only.
    pub tree_id: u32,
    pub session_id: u64,
    pub signature: [u8; 16],
}

impl Header {
    /// A request header with everything zeroed, one credit charged and one requested.
    pub fn new(command: Command) -> Header {
        Header {
            credit_charge: 1,
            status: NtStatus::SUCCESS,
            command,
            credits: 1,
            flags: 0,
            next_command: 0,
            message_id: 0,
            async_id: 0,
            process_id: 0,
            tree_id: 0,
            session_id: 0,
            signature: [0; 16],
        }
    }

    pub fn is_response(&self) -> bool {
        self.flags & FLAGS_SERVER_TO_REDIR != 0
    }

    pub fn is_async(&self) -> bool {
        self.flags & FLAGS_ASYNC_COMMAND != 0
    }

    pub fn is_signed(&self) -> bool {
        self.flags & FLAGS_SIGNED != 0
    }

    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&PROTOCOL_ID);
        put_u16(out, HEADER_STRUCTURE_SIZE);
        put_u16(out, self.credit_charge);
        put_u32(out, self.status.0);
        put_u16(out, self.command.code());
        put_u16(out, self.credits);
        put_u32(out, self.flags);
        put_u32(out, self.next_command);
        put_u64(out, self.message_id);
        if self.is_async() {
            put_u64(out, self.async_id);
        } else {
            put_u32(out, self.process_id);
            put_u32(out, self.tree_id);
        }
        put_u64(out, self.session_id);
        out.extend_from_slice(&self.signature);
    }

    /// Decode the first 64 bytes of a whole message.
    pub fn decode(msg: &[u8]) -> Result<Header> {
        let mut r = Reader::new(msg);
        if r.array::<4>()? != PROTOCOL_ID {
            return Err(ProtoError::Invalid("SMB2 protocol id"));
        }
        if r.u16()? != HEADER_STRUCTURE_SIZE {
            return Err(ProtoError::Invalid("SMB2 header structure size"));
        }
        let credit_charge = r.u16()?;
        let status = NtStatus(r.u32()?);
        let command = Command::from_code(r.u16()?).ok_or(ProtoError::Invalid("SMB2 command"))?;
        let credits = r.u16()?;
        let flags = r.u32()?;
        let next_command = r.u32()?;
        let message_id = r.u64()?;
        let (async_id, process_id, tree_id) = if flags & FLAGS_ASYNC_COMMAND != 0 {
            (r.u64()?, 0, 0)
        } else {
            (0, r.u32()?, r.u32()?)
        };
        let session_id = r.u64()?;
        let signature = r.array::<16>()?;
        Ok(Header {
            credit_charge,
            status,
            command,
            credits,
            flags,
            next_command,
            message_id,
            async_id,
            process_id,
            tree_id,
            session_id,
            signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn command_codes() {
        for c in Command::ALL {
            assert_eq!(Command::from_code(c.code()), Some(c));
        }
        assert_eq!(Command::from_code(0x13), None);
        assert_eq!(Command::OplockBreak.code(), 0x12);
    }

    #[test]
    fn layout() {
        let mut h = Header::new(Command::Write);
        h.message_id = 5;
        h.tree_id = 1;
        h.session_id = 0x0000_1000_0000_0025;
        h.process_id = 0xFEFF;
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), HEADER_LEN);
        assert_eq!(out[4], 64);
        assert_eq!(out[HEADER_COMMAND_OFFSET], 9);
        assert_eq!(out[HEADER_MESSAGE_ID_OFFSET], 5);
        assert_eq!(Header::decode(&out).unwrap(), h);
        out[12] = 0x99;
        assert!(Header::decode(&out).is_err());
    }

    pub(crate) fn arb_header() -> impl Strategy<Value = Header> {
        (
            (
                any::<u16>(),
                any::<u32>(),
                0usize..19,
                any::<u16>(),
                any::<u32>(),
                any::<u32>(),
            ),
            (
                any::<u64>(),
                any::<u64>(),
                any::<u32>(),
                any::<u32>(),
                any::<u64>(),
                any::<[u8; 16]>(),
            ),
        )
            .prop_map(
                |((cc, st, cmd, cr, flags, nc), (mid, aid, pid, tid, sid, sig))| {
                    let is_async = flags & FLAGS_ASYNC_COMMAND != 0;
                    Header {
                        credit_charge: cc,
                        status: NtStatus(st),
                        command: Command::ALL[cmd],
                        credits: cr,
                        flags,
                        next_command: nc,
                        message_id: mid,
                        async_id: if is_async { aid } else { 0 },
                        process_id: if is_async { 0 } else { pid },
                        tree_id: if is_async { 0 } else { tid },
                        session_id: sid,
                        signature: sig,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn round_trip(h in arb_header()) {
            let mut out = Vec::new();
            h.encode(&mut out);
            prop_assert_eq!(out.len(), HEADER_LEN);
            prop_assert_eq!(Header::decode(&out).unwrap(), h);
        }
    }
}
