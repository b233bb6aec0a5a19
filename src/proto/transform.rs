//! SMB2 TRANSFORM_HEADER ([MS-SMB2] 2.2.41): the 52-byte header in front of every encrypted message.

use super::{ProtoError, Result};

/// 0xFD 'S' 'M' 'B'.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = [0xFD, b'S', b'M', b'B'];
pub const TRANSFORM_HEADER_LEN: usize = 52;
/// Flags value for an encrypted message (3.1.1); the same field is EncryptionAlgorithm in 3.0.
pub const TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;
/// The additional authenticated data is the header from the Nonce field to its end.
pub const TRANSFORM_AAD_RANGE: core::ops::Range<usize> = 20..52;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransformHeader {
    /// The AEAD tag of the message.
    pub signature: [u8; 16],
    /// 11 bytes used for CCM, 12 for GCM; the rest is zero when we send.
    pub nonce: [u8; 16],
    pub original_message_size: u32,
    pub flags: u16,
    pub session_id: u64,
}

impl TransformHeader {
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&TRANSFORM_PROTOCOL_ID);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.original_message_size.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.session_id.to_le_bytes());
    }

    pub fn decode(input: &[u8]) -> Result<Self> {
        if input.len() < TRANSFORM_HEADER_LEN {
            return Err(ProtoError::Truncated {
                needed: TRANSFORM_HEADER_LEN,
                had: input.len(),
            });
        }
        if input[0..4] != TRANSFORM_PROTOCOL_ID {
            return Err(ProtoError::Invalid("transform header protocol id"));
        }
        let mut signature = [0u8; 16];
        signature.copy_from_slice(&input[4..20]);
        let mut nonce = [0u8; 16];
        nonce.copy_from_slice(&input[20..36]);
        Ok(TransformHeader {
            signature,
            nonce,
            original_message_size: u32::from_le_bytes(input[36..40].try_into().unwrap()),
            flags: u16::from_le_bytes(input[42..44].try_into().unwrap()),
            session_id: u64::from_le_bytes(input[44..52].try_into().unwrap()),
        })
    }

    /// True when `frame` starts with the transform protocol id.
    pub fn is_transform(frame: &[u8]) -> bool {
        frame.len() >= 4 && frame[0..4] == TRANSFORM_PROTOCOL_ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let h = TransformHeader {
            signature: [7; 16],
            nonce: [9; 16],
            original_message_size: 1234,
            flags: TRANSFORM_FLAG_ENCRYPTED,
            session_id: 0x1122334455667788,
        };
        let mut out = Vec::new();
        h.encode(&mut out);
        assert_eq!(out.len(), TRANSFORM_HEADER_LEN);
        assert_eq!(TransformHeader::decode(&out).unwrap(), h);
    }

    #[test]
    fn short_input_is_an_error() {
        for n in 0..TRANSFORM_HEADER_LEN {
            assert!(TransformHeader::decode(&vec![0xFD; n]).is_err());
        }
    }
}
