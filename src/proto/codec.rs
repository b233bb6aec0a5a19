//! Bounds-checked little-endian reading and small write helpers shared by every codec.
//!
//! All decoders go through [`Reader`] (or [`slice_at`]) so that there is exactly one place
//! where lengths coming from the wire are checked against the input; nothing else indexes
//! into untrusted buffers directly. Write helpers exist so that offsets written into
//! messages are computed the same way everywhere: relative to the SMB2 header start.

use super::{ProtoError, Result};
use crate::proto::header::HEADER_LEN;

/// A cursor over an untrusted byte slice. Every read checks bounds and returns
/// [`ProtoError::Truncated`] instead of panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// The whole underlying slice (independent of the cursor).
    pub fn buf(&self) -> &'a [u8] {
        self.buf
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Move the cursor to an absolute position (may equal the length).
    pub fn seek(&mut self, pos: usize) -> Result<()> {
        if pos > self.buf.len() {
            return Err(ProtoError::Truncated {
                needed: pos,
                had: self.buf.len(),
            });
        }
        self.pos = pos;
        Ok(())
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .ok_or(ProtoError::Invalid("length overflow"))?;
        match self.buf.get(self.pos..end) {
            Some(s) => {
                self.pos = end;
                Ok(s)
            }
            None => Err(ProtoError::Truncated {
                needed: end,
                had: self.buf.len(),
            }),
        }
    }

    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// `len` bytes at absolute position `offset` of the underlying slice; the cursor is unchanged.
    pub fn slice_at(&self, offset: usize, len: usize) -> Result<&'a [u8]> {
        slice_at(self.buf, offset, len)
    }
}

/// `len` bytes at `offset` inside `buf`, or an error if that range is not inside `buf`.
pub fn slice_at(buf: &[u8], offset: usize, len: usize) -> Result<&[u8]> {
    let end = offset
        .checked_add(len)
        .ok_or(ProtoError::Invalid("length overflow"))?;
    buf.get(offset..end).ok_or(ProtoError::Truncated {
        needed: end,
        had: buf.len(),
    })
}

/// A buffer described by a header-relative wire offset and a length, taken from `body`
/// (which starts right after the 64-byte header). A zero length yields an empty slice
/// whatever the offset says (servers commonly send offset 0 then).
pub fn body_buffer(body: &[u8], wire_offset: usize, len: usize) -> Result<&[u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    let rel = wire_offset
        .checked_sub(HEADER_LEN)
        .ok_or(ProtoError::Invalid("buffer offset points into the header"))?;
    slice_at(body, rel, len)
}

/// Check a StructureSize field against the value the spec fixes.
pub fn expect_structure_size(r: &mut Reader<'_>, size: u16, what: &'static str) -> Result<()> {
    if r.u16()? != size {
        return Err(ProtoError::Invalid(what));
    }
    Ok(())
}

pub fn put_u8(out: &mut Vec<u8>, v: u8) {
    out.push(v);
}

pub fn put_u16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub fn put_zeros(out: &mut Vec<u8>, n: usize) {
    out.resize(out.len() + n, 0);
}

/// Overwrite a u16 previously reserved at `at`.
pub fn patch_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

/// Overwrite a u32 previously reserved at `at`.
pub fn patch_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The header-relative offset of the next byte written to `out`, for a body that began at
/// `body_start` (the header occupies the 64 bytes before it, whether or not they are in `out`).
pub fn wire_offset(out: &[u8], body_start: usize) -> usize {
    HEADER_LEN + (out.len() - body_start)
}

/// Pad with zeros until `out.len() - base` is a multiple of `align`.
pub fn pad_to(out: &mut Vec<u8>, base: usize, align: usize) {
    while !(out.len() - base).is_multiple_of(align) {
        out.push(0);
    }
}

/// Round `n` up to a multiple of `align` (a power of two), saturating.
pub fn align_up(n: usize, align: usize) -> usize {
    n.saturating_add(align - 1) & !(align - 1)
}

/// Encode a string as UTF-16LE without terminator.
pub fn utf16le_encode(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(s.len() * 2);
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

/// Decode UTF-16LE (odd lengths and unpaired surrogates are errors).
pub fn utf16le_decode(b: &[u8]) -> Result<String> {
    if !b.len().is_multiple_of(2) {
        return Err(ProtoError::Invalid("odd UTF-16 length"));
    }
    let units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<core::result::Result<String, _>>()
        .map_err(|_| ProtoError::Invalid("UTF-16 string"))
}

/// Length of a string's UTF-16LE encoding in bytes.
pub fn utf16le_len(s: &str) -> usize {
    s.encode_utf16().count() * 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reader_bounds() {
        let mut r = Reader::new(&[1, 2, 3]);
        assert_eq!(r.u16().unwrap(), 0x0201);
        assert!(r.u16().is_err());
        assert_eq!(r.u8().unwrap(), 3);
        assert!(r.u8().is_err());
        assert!(r.bytes(usize::MAX).is_err());
        assert!(slice_at(&[0; 4], usize::MAX, 2).is_err());
        assert!(body_buffer(&[0; 4], 10, 1).is_err());
        assert_eq!(body_buffer(&[0; 4], 0, 0).unwrap(), &[] as &[u8]);
    }

    #[test]
    fn utf16_errors() {
        assert!(utf16le_decode(&[0x41]).is_err());
        assert!(utf16le_decode(&[0x00, 0xD8]).is_err()); // lone high surrogate
        assert_eq!(
            utf16le_decode(&utf16le_encode("é日本😀")).unwrap(),
            "é日本😀"
        );
    }

    proptest! {
        #[test]
        fn utf16_round_trip(s in ".*") {
            let e = utf16le_encode(&s);
            prop_assert_eq!(e.len(), utf16le_len(&s));
            prop_assert_eq!(utf16le_decode(&e).unwrap(), s);
        }
    }
}
