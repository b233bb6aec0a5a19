//! OPLOCK_BREAK command ([MS-SMB2] 2.2.23 - 2.2.25): oplock and lease break
//! notifications from the server, and the client's acknowledgments.
//!
//! All of these share `Command::OplockBreak` and are told apart only by StructureSize
//! (24 = oplock, 44 = lease notification, 36 = lease ack/response), so each form is its
//! own type and [`BreakNotification::decode`] dispatches an unsolicited server message.
//!
//! Also the lease create context ([`LeaseContext`], 2.2.13.2.8/2.2.13.2.10 and 2.2.14.2.10/
//! 2.2.14.2.11) that asks for a lease in CREATE and carries the granted one back.

use super::codec::*;
use super::create::FileId;
use super::header::Command;
use super::{Body, ProtoError, Result};

/// Lease states (2.2.13.2.8).
pub const LEASE_NONE: u32 = 0x00;
pub const LEASE_READ_CACHING: u32 = 0x01;
pub const LEASE_HANDLE_CACHING: u32 = 0x02;
pub const LEASE_WRITE_CACHING: u32 = 0x04;
/// Lease break notification flag: the client must acknowledge.
pub const NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED: u32 = 0x01;

/// Lease flag (2.2.13.2.10): `parent_lease_key` is set.
pub const LEASE_FLAG_PARENT_LEASE_KEY_SET: u32 = 0x04;
/// Lease flag in a CREATE response: a break of this lease is under way.
pub const LEASE_FLAG_BREAK_IN_PROGRESS: u32 = 0x02;

/// The lease create context "RqLs": SMB2_CREATE_REQUEST_LEASE_V2 in a request (52 bytes), and
/// the server's SMB2_CREATE_RESPONSE_LEASE(_V2) (52 or, from a server that speaks version 1,
/// 32 bytes: no parent key or epoch).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseContext {
    pub lease_key: [u8; 16],
    pub lease_state: u32,
    pub flags: u32,
    pub lease_duration: u64,
    pub parent_lease_key: [u8; 16],
    pub epoch: u16,
}

impl LeaseContext {
    /// The 52-byte version 2 form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.lease_key);
        put_u32(out, self.lease_state);
        put_u32(out, self.flags);
        put_u64(out, self.lease_duration);
        out.extend_from_slice(&self.parent_lease_key);
        put_u16(out, self.epoch);
        put_u16(out, 0);
    }

    pub fn decode(data: &[u8]) -> Result<Self> {
        let mut r = Reader::new(data);
        let mut c = LeaseContext {
            lease_key: r.array()?,
            lease_state: r.u32()?,
            flags: r.u32()?,
            lease_duration: r.u64()?,
            ..LeaseContext::default()
        };
        match data.len() {
            32 => {}
            52.. => {
                c.parent_lease_key = r.array()?;
                c.epoch = r.u16()?;
            }
            _ => return Err(ProtoError::Invalid("lease create context length")),
        }
        Ok(c)
    }
}

/// Oplock break notification (server -> client), 24 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OplockBreakNotification {
    pub oplock_level: u8,
    pub file_id: FileId,
}

/// Oplock break acknowledgment (client -> server) and its response; same 24-byte layout.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OplockBreakAck {
    pub oplock_level: u8,
    pub file_id: FileId,
}

/// The server's answer to an [`OplockBreakAck`] has the same layout.
pub type OplockBreakResponse = OplockBreakAck;

fn encode_oplock24(level: u8, file_id: &FileId, out: &mut Vec<u8>) {
    put_u16(out, 24);
    put_u8(out, level);
    put_u8(out, 0);
    put_u32(out, 0);
    file_id.encode(out);
}

fn decode_oplock24(body: &[u8]) -> Result<(u8, FileId)> {
    let mut r = Reader::new(body);
    expect_structure_size(&mut r, 24, "OPLOCK_BREAK StructureSize")?;
    let level = r.u8()?;
    r.skip(5)?;
    Ok((level, FileId::read(&mut r)?))
}

impl Body for OplockBreakNotification {
    const COMMAND: Command = Command::OplockBreak;
    fn encode(&self, out: &mut Vec<u8>) {
        encode_oplock24(self.oplock_level, &self.file_id, out)
    }
    fn decode(body: &[u8]) -> Result<Self> {
        let (oplock_level, file_id) = decode_oplock24(body)?;
        Ok(OplockBreakNotification {
            oplock_level,
            file_id,
        })
    }
}

impl Body for OplockBreakAck {
    const COMMAND: Command = Command::OplockBreak;
    fn encode(&self, out: &mut Vec<u8>) {
        encode_oplock24(self.oplock_level, &self.file_id, out)
    }
    fn decode(body: &[u8]) -> Result<Self> {
        let (oplock_level, file_id) = decode_oplock24(body)?;
        Ok(OplockBreakAck {
            oplock_level,
            file_id,
        })
    }
}

/// Lease break notification (server -> client), 44 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseBreakNotification {
    pub new_epoch: u16,
    pub flags: u32,
    pub lease_key: [u8; 16],
    pub current_lease_state: u32,
    pub new_lease_state: u32,
    pub break_reason: u32,
    pub access_mask_hint: u32,
    pub share_mask_hint: u32,
}

impl Body for LeaseBreakNotification {
    const COMMAND: Command = Command::OplockBreak;
    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 44);
        put_u16(out, self.new_epoch);
        put_u32(out, self.flags);
        out.extend_from_slice(&self.lease_key);
        put_u32(out, self.current_lease_state);
        put_u32(out, self.new_lease_state);
        put_u32(out, self.break_reason);
        put_u32(out, self.access_mask_hint);
        put_u32(out, self.share_mask_hint);
    }
    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 44, "LEASE_BREAK notification StructureSize")?;
        Ok(LeaseBreakNotification {
            new_epoch: r.u16()?,
            flags: r.u32()?,
            lease_key: r.array()?,
            current_lease_state: r.u32()?,
            new_lease_state: r.u32()?,
            break_reason: r.u32()?,
            access_mask_hint: r.u32()?,
            share_mask_hint: r.u32()?,
        })
    }
}

/// Lease break acknowledgment (client -> server) and its response; 36 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LeaseBreakAck {
    pub flags: u32,
    pub lease_key: [u8; 16],
    pub lease_state: u32,
    pub lease_duration: u64,
}

/// The server's answer to a [`LeaseBreakAck`] has the same layout.
pub type LeaseBreakResponse = LeaseBreakAck;

impl Body for LeaseBreakAck {
    const COMMAND: Command = Command::OplockBreak;
    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 36);
        put_u16(out, 0);
        put_u32(out, self.flags);
        out.extend_from_slice(&self.lease_key);
        put_u32(out, self.lease_state);
        put_u64(out, self.lease_duration);
    }
    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 36, "LEASE_BREAK ack StructureSize")?;
        r.skip(2)?;
        Ok(LeaseBreakAck {
            flags: r.u32()?,
            lease_key: r.array()?,
            lease_state: r.u32()?,
            lease_duration: r.u64()?,
        })
    }
}

/// An unsolicited OPLOCK_BREAK message from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BreakNotification {
    Oplock(OplockBreakNotification),
    Lease(LeaseBreakNotification),
}

impl BreakNotification {
    /// Dispatch on StructureSize (24 or 44).
    pub fn decode(body: &[u8]) -> Result<Self> {
        match Reader::new(body).u16()? {
            24 => Ok(BreakNotification::Oplock(OplockBreakNotification::decode(
                body,
            )?)),
            44 => Ok(BreakNotification::Lease(LeaseBreakNotification::decode(
                body,
            )?)),
            _ => Err(ProtoError::Invalid(
                "OPLOCK_BREAK notification StructureSize",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn prop(level in any::<u8>(), p in any::<u64>(), v in any::<u64>(), key in any::<[u8; 16]>(),
                a in any::<u32>(), b in any::<u32>(), e in any::<u16>(), d in any::<u64>()) {
            let file_id = FileId { persistent: p, volatile: v };
            round_trip(&OplockBreakNotification { oplock_level: level, file_id });
            round_trip(&OplockBreakAck { oplock_level: level, file_id });
            let n = LeaseBreakNotification { new_epoch: e, flags: a, lease_key: key, current_lease_state: b, new_lease_state: a, break_reason: 0, access_mask_hint: b, share_mask_hint: a };
            round_trip(&n);
            round_trip(&LeaseBreakAck { flags: a, lease_key: key, lease_state: b, lease_duration: d });
            let mut out = Vec::new();
            n.encode(&mut out);
            prop_assert_eq!(BreakNotification::decode(&out).unwrap(), BreakNotification::Lease(n));
        }
    }

    proptest! {
        #[test]
        fn lease_context_round_trips(key in any::<[u8; 16]>(), parent in any::<[u8; 16]>(),
                state in any::<u32>(), flags in any::<u32>(), d in any::<u64>(), e in any::<u16>()) {
            let c = LeaseContext { lease_key: key, lease_state: state, flags, lease_duration: d, parent_lease_key: parent, epoch: e };
            let mut out = Vec::new();
            c.encode(&mut out);
            prop_assert_eq!(out.len(), 52);
            prop_assert_eq!(LeaseContext::decode(&out).unwrap(), c.clone());
            // Version 1: the first 32 bytes, no parent key or epoch.
            let v1 = LeaseContext::decode(&out[..32]).unwrap();
            prop_assert_eq!(v1, LeaseContext { parent_lease_key: [0; 16], epoch: 0, ..c });
        }

        #[test]
        fn lease_context_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = LeaseContext::decode(&data);
        }
    }

    #[test]
    fn lease_context_rejects_odd_lengths() {
        assert!(LeaseContext::decode(&[0u8; 31]).is_err());
        assert!(LeaseContext::decode(&[0u8; 40]).is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(structure_size(&OplockBreakAck::default()), 24);
        assert_eq!(structure_size(&LeaseBreakNotification::default()), 44);
        assert_eq!(structure_size(&LeaseBreakAck::default()), 36);
        let mut out = Vec::new();
        LeaseBreakNotification::default().encode(&mut out);
        assert_eq!(out.len(), 44);
    }
}
