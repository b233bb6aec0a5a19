//! SMB 3.x cryptography: key derivation, pre-authentication integrity hash, message signing
//! and message sealing (the TRANSFORM_HEADER AEAD).
//!
//! Everything here is a pure function of its inputs (no I/O, no global state) so the
//! published Microsoft known-answer vectors in `tests/vectors_crypto.rs` can check it exactly.
//! Nothing in this module logs key material.

pub mod kdf;
pub mod preauth;
pub mod seal;
pub mod signing;

pub use kdf::{derive_channel_signing_key, derive_session_keys, smb3_kdf, SessionKeys};
pub use preauth::PreauthHash;
pub use seal::{Decryptor, Encryptor};
pub use signing::{sign, verify};

/// The SMB2 encryption ciphers of [MS-SMB2] 2.2.3.1.2 (SMB2_ENCRYPTION_CAPABILITIES).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cipher {
    Aes128Ccm,
    Aes128Gcm,
    Aes256Ccm,
    Aes256Gcm,
}

impl Cipher {
    /// Every cipher, in the order of their wire ids.
    pub const ALL: [Cipher; 4] = [
        Cipher::Aes128Ccm,
        Cipher::Aes128Gcm,
        Cipher::Aes256Ccm,
        Cipher::Aes256Gcm,
    ];

    /// The CipherId sent in the negotiate context.
    pub fn id(self) -> u16 {
        match self {
            Cipher::Aes128Ccm => 1,
            Cipher::Aes128Gcm => 2,
            Cipher::Aes256Ccm => 3,
            Cipher::Aes256Gcm => 4,
        }
    }

    pub fn from_id(id: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Cipher::Aes128Ccm | Cipher::Aes128Gcm => 16,
            Cipher::Aes256Ccm | Cipher::Aes256Gcm => 32,
        }
    }

    /// How many bytes of the 16-byte transform-header Nonce field the AEAD uses.
    pub fn nonce_len(self) -> usize {
        if self.is_gcm() {
            12
        } else {
            11
        }
    }

    pub fn is_gcm(self) -> bool {
        matches!(self, Cipher::Aes128Gcm | Cipher::Aes256Gcm)
    }

    /// True for the AES-256 ciphers, which change the KDF output length to 256 bits.
    pub fn is_256(self) -> bool {
        matches!(self, Cipher::Aes256Ccm | Cipher::Aes256Gcm)
    }

    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes128Ccm => "AES-128-CCM",
            Cipher::Aes128Gcm => "AES-128-GCM",
            Cipher::Aes256Ccm => "AES-256-CCM",
            Cipher::Aes256Gcm => "AES-256-GCM",
        }
    }
}

/// The signing algorithms of [MS-SMB2] 2.2.3.1.7 (SMB2_SIGNING_CAPABILITIES).
/// HMAC-SHA256 is what 2.0.2/2.1 use; it has no negotiate id of its own but 0 is reserved for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    HmacSha256,
    AesCmac,
    AesGmac,
}

impl SigningAlgorithm {
    pub fn id(self) -> u16 {
        match self {
            SigningAlgorithm::HmacSha256 => 0,
            SigningAlgorithm::AesCmac => 1,
            SigningAlgorithm::AesGmac => 2,
        }
    }

    pub fn from_id(id: u16) -> Option<Self> {
        match id {
            0 => Some(SigningAlgorithm::HmacSha256),
            1 => Some(SigningAlgorithm::AesCmac),
            2 => Some(SigningAlgorithm::AesGmac),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SigningAlgorithm::HmacSha256 => "HMAC-SHA256",
            SigningAlgorithm::AesCmac => "AES-128-CMAC",
            SigningAlgorithm::AesGmac => "AES-128-GMAC",
        }
    }
}

/// Why a sealed message could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    #[error("bad transform header: {0}")]
    BadTransformHeader(&'static str),
    #[error("transform header for session {got:#x}, expected {expected:#x}")]
    WrongSession { expected: u64, got: u64 },
    #[error("OriginalMessageSize {declared} does not match the {actual} ciphertext bytes")]
    SizeMismatch { declared: usize, actual: usize },
    #[error("message authentication failed (wrong key or tampered data)")]
    DecryptionFailed,
    #[error("encryption failed (message too large for the cipher)")]
    EncryptionFailed,
    #[error("invalid key length {0}")]
    BadKeyLength(usize),
}
