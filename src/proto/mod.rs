//! Sans-I/O SMB2/3 message codecs: plain structs with one `encode` and one `decode` each.
//!
//! Nothing here touches a socket or a runtime, so every decoder can be fed arbitrary bytes
//! (property tests and fuzzing) and must return an error, never panic.
//!
//! Conventions shared by every message body (see [`Body`]):
//! - `encode(&self, out)` appends the body to `out`, which may already hold the 64-byte
//!   header (and even earlier compound members). Offsets written on the wire are relative to
//!   the header start, computed as `HEADER_LEN + (position - body_start)`.
//! - `decode(body)` gets the bytes after the header; wire offsets are reduced by 64.
//! - Strings are `String` here and UTF-16LE on the wire.

pub mod codec;
pub mod create;
pub mod dir;
pub mod file;
pub mod fsinfo;
pub mod header;
pub mod info;
pub mod ioctl;
pub mod negotiate;
pub mod notify;
pub mod oplock;
pub mod session;
pub mod status;
pub mod time;
pub mod transform;
pub mod tree;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod vector_tests;

pub use codec::{utf16le_decode, utf16le_encode, Reader};
pub use create::*;
pub use dir::*;
pub use file::*;
pub use fsinfo::*;
pub use header::*;
pub use info::*;
pub use ioctl::*;
pub use negotiate::*;
pub use notify::*;
pub use oplock::*;
pub use session::*;
pub use status::NtStatus;
pub use time::*;
pub use transform::*;
pub use tree::*;

/// Why a message could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("message truncated: needed {needed} bytes, had {had}")]
    Truncated { needed: usize, had: usize },
    #[error("invalid {0}")]
    Invalid(&'static str),
}

pub type Result<T> = core::result::Result<T, ProtoError>;

/// An SMB2 request or response body, tied to the command that carries it.
pub trait Body: Sized {
    const COMMAND: Command;
    /// Append the body to `out` (which may already hold the header).
    fn encode(&self, out: &mut Vec<u8>);
    /// Decode from the bytes that follow the 64-byte header.
    fn decode(body: &[u8]) -> Result<Self>;
}

/// Header followed by body, as one message (no transport framing).
pub fn encode_message<B: Body>(header: &Header, body: &B) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 128);
    header.encode(&mut out);
    body.encode(&mut out);
    out
}

/// Decode a whole message: header, then the body as `B`. The command must match
/// `B::COMMAND`. In a compound chain (`next_command != 0`) only this member's bytes are
/// given to the body decoder.
pub fn decode_body<B: Body>(msg: &[u8]) -> Result<(Header, B)> {
    let header = Header::decode(msg)?;
    if header.command != B::COMMAND {
        return Err(ProtoError::Invalid("unexpected command in header"));
    }
    let end = match header.next_command as usize {
        0 => msg.len(),
        n if n >= HEADER_LEN && n <= msg.len() => n,
        _ => return Err(ProtoError::Invalid("NextCommand offset")),
    };
    let body = msg.get(HEADER_LEN..end).ok_or(ProtoError::Truncated {
        needed: HEADER_LEN,
        had: msg.len(),
    })?;
    Ok((header, B::decode(body)?))
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;
    use proptest::prelude::*;

    /// Encode with and without a header in front (so header-relative offsets are exercised
    /// both ways) and check that decoding gives the same value.
    pub fn round_trip<B: Body + PartialEq + core::fmt::Debug>(b: &B) {
        let mut bare = Vec::new();
        b.encode(&mut bare);
        assert_eq!(&B::decode(&bare).expect("decode bare"), b);
        let msg = encode_message(&Header::new(B::COMMAND), b);
        assert_eq!(&msg[HEADER_LEN..], &bare[..], "encoding depends on prefix");
        let (_, d) = decode_body::<B>(&msg).expect("decode message");
        assert_eq!(&d, b);
        // Prefix with junk that is not a multiple of 8: offsets must still be body-relative.
        let mut odd = vec![0xAA; 3 + HEADER_LEN];
        b.encode(&mut odd);
        assert_eq!(&odd[3 + HEADER_LEN..], &bare[..]);
    }

    /// First two bytes of the encoded body (StructureSize).
    pub fn structure_size<B: Body>(b: &B) -> u16 {
        let mut out = Vec::new();
        b.encode(&mut out);
        u16::from_le_bytes([out[0], out[1]])
    }

    pub fn arb_string() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("é日本😀".to_string()),
            "[a-zA-Z0-9 ._\\\\-]{0,40}",
            "\\PC{0,20}",
        ]
    }

    pub fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
        proptest::collection::vec(any::<u8>(), 0..max)
    }
}
