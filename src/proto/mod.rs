//! Sans-I/O SMB2/3 message codecs: plain structs with one `encode` and one `decode` each.
//!
//! Nothing here touches a socket or a runtime, so every decoder can be fed arbitrary bytes
//! (property tests and fuzzing) and must return an error, never panic.

pub mod transform;

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("message truncated: needed {needed} bytes, had {had}")]
    Truncated { needed: usize, had: usize },
    #[error("invalid {0}")]
    Invalid(&'static str),
}

pub type Result<T> = core::result::Result<T, ProtoError>;
