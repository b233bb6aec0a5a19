//! SMB 3.1.1 pre-authentication integrity hash ([MS-SMB2] 3.2.5.2, 3.2.5.3.1).
//!
//! The connection hash absorbs the NEGOTIATE request and response; each session's hash starts
//! from the connection hash and absorbs every SESSION_SETUP request and every response except
//! the final STATUS_SUCCESS one. Its value is the KDF context for the 3.1.1 keys.

use sha2::{Digest, Sha512};

#[derive(Clone, PartialEq, Eq)]
pub struct PreauthHash([u8; 64]);

impl PreauthHash {
    /// The initial value: 64 zero bytes.
    pub fn new() -> Self {
        PreauthHash([0; 64])
    }

    /// Continues from a known value (e.g. a session chain starting at the connection hash).
    pub fn from_value(value: [u8; 64]) -> Self {
        PreauthHash(value)
    }

    /// H = SHA-512(H || packet). `packet` is the whole SMB2 message without the 4-byte
    /// Direct-TCP length prefix.
    pub fn update(&mut self, packet: &[u8]) {
        let mut h = Sha512::new();
        h.update(self.0);
        h.update(packet);
        self.0.copy_from_slice(&h.finalize());
    }

    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}

impl Default for PreauthHash {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for PreauthHash {
    // The hash is not secret, but a short prefix is enough to correlate traces.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "PreauthHash(")?;
        for b in &self.0[..8] {
            write!(f, "{b:02x}")?;
        }
        write!(f, "…)")
    }
}
