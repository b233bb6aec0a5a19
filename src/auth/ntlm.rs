//! NTLMSSP message codecs ([MS-NLMP] 2.2): NEGOTIATE, CHALLENGE, AUTHENTICATE and AV pairs.
//!
//! Decoders take untrusted bytes from the network and never panic: every offset/length pair
//! is checked against the buffer.

use super::AuthError;

pub const NTLMSSP_SIGNATURE: &[u8; 8] = b"NTLMSSP\0";

pub const NTLMSSP_NEGOTIATE_UNICODE: u32 = 0x0000_0001;
pub const NTLM_NEGOTIATE_OEM: u32 = 0x0000_0002;
pub const NTLMSSP_REQUEST_TARGET: u32 = 0x0000_0004;
pub const NTLMSSP_NEGOTIATE_SIGN: u32 = 0x0000_0010;
pub const NTLMSSP_NEGOTIATE_SEAL: u32 = 0x0000_0020;
pub const NTLMSSP_NEGOTIATE_LM_KEY: u32 = 0x0000_0080;
pub const NTLMSSP_NEGOTIATE_NTLM: u32 = 0x0000_0200;
pub const NTLMSSP_ANONYMOUS: u32 = 0x0000_0800;
pub const NTLMSSP_NEGOTIATE_ALWAYS_SIGN: u32 = 0x0000_8000;
pub const NTLMSSP_TARGET_TYPE_DOMAIN: u32 = 0x0001_0000;
pub const NTLMSSP_TARGET_TYPE_SERVER: u32 = 0x0002_0000;
pub const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
pub const NTLMSSP_NEGOTIATE_TARGET_INFO: u32 = 0x0080_0000;
pub const NTLMSSP_NEGOTIATE_VERSION: u32 = 0x0200_0000;
pub const NTLMSSP_NEGOTIATE_128: u32 = 0x2000_0000;
pub const NTLMSSP_NEGOTIATE_KEY_EXCH: u32 = 0x4000_0000;
pub const NTLMSSP_NEGOTIATE_56: u32 = 0x8000_0000;

pub const MSV_AV_EOL: u16 = 0;
pub const MSV_AV_NB_COMPUTER_NAME: u16 = 1;
pub const MSV_AV_NB_DOMAIN_NAME: u16 = 2;
pub const MSV_AV_DNS_COMPUTER_NAME: u16 = 3;
pub const MSV_AV_DNS_DOMAIN_NAME: u16 = 4;
pub const MSV_AV_DNS_TREE_NAME: u16 = 5;
pub const MSV_AV_FLAGS: u16 = 6;
pub const MSV_AV_TIMESTAMP: u16 = 7;
pub const MSV_AV_SINGLE_HOST: u16 = 8;
pub const MSV_AV_TARGET_NAME: u16 = 9;
pub const MSV_AV_CHANNEL_BINDINGS: u16 = 10;
/// MsvAvFlags bit: the AUTHENTICATE message carries a MIC.
pub const MSV_AV_FLAG_MIC_PRESENT: u32 = 0x0000_0002;

/// Offset of the MIC in an AUTHENTICATE message that has a VERSION field.
pub const AUTHENTICATE_MIC_OFFSET: usize = 72;

pub fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// Lossy UTF-16LE decode (for names shown in logs; never used for crypto).
pub fn from_utf16le(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(off..off + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(off..off + 4)?.try_into().ok()?))
}

/// Reads a (Len, MaxLen, Offset) field descriptor at `hdr` and returns the bytes it points to.
fn field(msg: &[u8], hdr: usize) -> Result<Vec<u8>, AuthError> {
    let len =
        u16_at(msg, hdr).ok_or(AuthError::MalformedToken("NTLM: truncated field header"))? as usize;
    let off = u32_at(msg, hdr + 4)
        .ok_or(AuthError::MalformedToken("NTLM: truncated field header"))? as usize;
    if len == 0 {
        return Ok(Vec::new());
    }
    msg.get(
        off..off
            .checked_add(len)
            .ok_or(AuthError::MalformedToken("NTLM: field overflow"))?,
    )
    .map(|s| s.to_vec())
    .ok_or(AuthError::MalformedToken("NTLM: field past end of message"))
}

fn check_header(msg: &[u8], msg_type: u32) -> Result<(), AuthError> {
    if msg.len() < 12 || &msg[..8] != NTLMSSP_SIGNATURE {
        return Err(AuthError::MalformedToken("NTLM: missing NTLMSSP signature"));
    }
    if u32_at(msg, 8) != Some(msg_type) {
        return Err(AuthError::MalformedToken("NTLM: unexpected message type"));
    }
    Ok(())
}

/// Builds messages whose variable fields live in a payload after the fixed part.
struct Builder {
    fixed: Vec<u8>,
    payload: Vec<u8>,
    fixed_len: usize,
}

impl Builder {
    fn new(msg_type: u32, fixed_len: usize) -> Self {
        let mut fixed = Vec::with_capacity(fixed_len);
        fixed.extend_from_slice(NTLMSSP_SIGNATURE);
        fixed.extend_from_slice(&msg_type.to_le_bytes());
        Builder {
            fixed,
            payload: Vec::new(),
            fixed_len,
        }
    }

    /// Appends a field descriptor; empty fields get offset 0 like Windows'
    /// NEGOTIATE, otherwise the payload offset.
    fn field(&mut self, data: &[u8], zero_offset_if_empty: bool) {
        let off = if data.is_empty() && zero_offset_if_empty {
            0
        } else {
            self.fixed_len + self.payload.len()
        };
        self.fixed
            .extend_from_slice(&(data.len() as u16).to_le_bytes());
        self.fixed
            .extend_from_slice(&(data.len() as u16).to_le_bytes());
        self.fixed.extend_from_slice(&(off as u32).to_le_bytes());
        self.payload.extend_from_slice(data);
    }

    fn raw(&mut self, b: &[u8]) {
        self.fixed.extend_from_slice(b);
    }

    fn finish(mut self) -> Vec<u8> {
        debug_assert_eq!(self.fixed.len(), self.fixed_len);
        self.fixed.extend_from_slice(&self.payload);
        self.fixed
    }
}

/// NEGOTIATE_MESSAGE (type 1). We never send a domain or workstation here (Windows doesn't
/// either), but decoding keeps them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateMessage {
    pub flags: u32,
    pub domain: Vec<u8>,
    pub workstation: Vec<u8>,
    /// 8-byte VERSION, sent when NTLMSSP_NEGOTIATE_VERSION is set.
    pub version: Option<[u8; 8]>,
}

impl NegotiateMessage {
    pub fn encode(&self) -> Vec<u8> {
        let fixed = 32 + if self.version.is_some() { 8 } else { 0 };
        let mut b = Builder::new(1, fixed);
        b.raw(&self.flags.to_le_bytes());
        b.field(&self.domain, true);
        b.field(&self.workstation, true);
        if let Some(v) = &self.version {
            b.raw(v);
        }
        b.finish()
    }

    pub fn decode(msg: &[u8]) -> Result<Self, AuthError> {
        check_header(msg, 1)?;
        let flags = u32_at(msg, 12).ok_or(AuthError::MalformedToken("NEGOTIATE: truncated"))?;
        let (domain, workstation) = if msg.len() >= 32 {
            (field(msg, 16)?, field(msg, 24)?)
        } else {
            Default::default()
        };
        let version = if flags & NTLMSSP_NEGOTIATE_VERSION != 0 {
            msg.get(32..40).map(|v| v.try_into().unwrap())
        } else {
            None
        };
        Ok(NegotiateMessage {
            flags,
            domain,
            workstation,
            version,
        })
    }
}

/// CHALLENGE_MESSAGE (type 2) from the server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChallengeMessage {
    pub target_name: Vec<u8>,
    pub flags: u32,
    pub server_challenge: [u8; 8],
    /// Raw AV_PAIR list (see [`AvPairs`]).
    pub target_info: Vec<u8>,
    pub version: Option<[u8; 8]>,
}

impl ChallengeMessage {
    pub fn decode(msg: &[u8]) -> Result<Self, AuthError> {
        check_header(msg, 2)?;
        if msg.len() < 32 {
            return Err(AuthError::MalformedToken("CHALLENGE: truncated"));
        }
        let target_name = field(msg, 12)?;
        let flags = u32_at(msg, 20).unwrap_or(0);
        let server_challenge: [u8; 8] = msg[24..32].try_into().unwrap();
        let target_info = if msg.len() >= 48 {
            field(msg, 40)?
        } else {
            Vec::new()
        };
        let version = if flags & NTLMSSP_NEGOTIATE_VERSION != 0 {
            msg.get(48..56).map(|v| v.try_into().unwrap())
        } else {
            None
        };
        Ok(ChallengeMessage {
            target_name,
            flags,
            server_challenge,
            target_info,
            version,
        })
    }

    /// Encoder (tests and fuzzing): TargetName then TargetInfo in the payload.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Builder::new(2, 56);
        b.field(&self.target_name, false);
        b.raw(&self.flags.to_le_bytes());
        b.raw(&self.server_challenge);
        b.raw(&[0; 8]);
        b.field(&self.target_info, false);
        b.raw(&self.version.unwrap_or_default());
        b.finish()
    }
}

/// AUTHENTICATE_MESSAGE (type 3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuthenticateMessage {
    pub lm_response: Vec<u8>,
    pub nt_response: Vec<u8>,
    /// UTF-16LE.
    pub domain: Vec<u8>,
    pub user: Vec<u8>,
    pub workstation: Vec<u8>,
    pub encrypted_random_session_key: Vec<u8>,
    pub flags: u32,
    pub version: Option<[u8; 8]>,
    /// Present when the MIC field is part of the message (zeros while the MIC is computed).
    pub mic: Option<[u8; 16]>,
}

impl AuthenticateMessage {
    /// Payload order follows Windows: domain, user, workstation, LM, NT, session key.
    pub fn encode(&self) -> Vec<u8> {
        let mut fixed = 64;
        if self.version.is_some() || self.mic.is_some() {
            fixed += 8;
        }
        if self.mic.is_some() {
            fixed += 16;
        }
        // Descriptors are written in header order but the payload in Windows' order, so
        // compute offsets up front.
        let order: [&[u8]; 6] = [
            &self.domain,
            &self.user,
            &self.workstation,
            &self.lm_response,
            &self.nt_response,
            &self.encrypted_random_session_key,
        ];
        let mut offs = [0usize; 6];
        let mut o = fixed;
        for (i, f) in order.iter().enumerate() {
            offs[i] = o;
            o += f.len();
        }
        let mut out = Vec::with_capacity(o);
        out.extend_from_slice(NTLMSSP_SIGNATURE);
        out.extend_from_slice(&3u32.to_le_bytes());
        let desc = |out: &mut Vec<u8>, i: usize| {
            let l = order[i].len() as u16;
            out.extend_from_slice(&l.to_le_bytes());
            out.extend_from_slice(&l.to_le_bytes());
            out.extend_from_slice(&(offs[i] as u32).to_le_bytes());
        };
        for i in [3, 4, 0, 1, 2, 5] {
            desc(&mut out, i);
        }
        out.extend_from_slice(&self.flags.to_le_bytes());
        if self.version.is_some() || self.mic.is_some() {
            out.extend_from_slice(&self.version.unwrap_or_default());
        }
        if let Some(m) = &self.mic {
            out.extend_from_slice(m);
        }
        for f in order {
            out.extend_from_slice(f);
        }
        out
    }

    pub fn decode(msg: &[u8]) -> Result<Self, AuthError> {
        check_header(msg, 3)?;
        if msg.len() < 64 {
            return Err(AuthError::MalformedToken("AUTHENTICATE: truncated"));
        }
        let flags = u32_at(msg, 60).unwrap_or(0);
        let mut m = AuthenticateMessage {
            lm_response: field(msg, 12)?,
            nt_response: field(msg, 20)?,
            domain: field(msg, 28)?,
            user: field(msg, 36)?,
            workstation: field(msg, 44)?,
            encrypted_random_session_key: field(msg, 52)?,
            flags,
            version: None,
            mic: None,
        };
        // The fixed part ends where the first payload field starts; that tells whether the
        // VERSION and MIC fields are present.
        let first = [12usize, 20, 28, 36, 44, 52]
            .iter()
            .filter(|&&h| u16_at(msg, h).unwrap_or(0) > 0)
            .filter_map(|&h| u32_at(msg, h + 4))
            .min()
            .unwrap_or(msg.len() as u32) as usize;
        if first >= 72 {
            m.version = msg.get(64..72).map(|v| v.try_into().unwrap());
        }
        if first >= 88 {
            m.mic = msg.get(72..88).map(|v| v.try_into().unwrap());
        }
        Ok(m)
    }
}

/// A parsed AV_PAIR list ([MS-NLMP] 2.2.2.1), kept in order, without the MsvAvEOL terminator.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AvPairs(pub Vec<(u16, Vec<u8>)>);

impl AvPairs {
    pub fn decode(mut b: &[u8]) -> Result<Self, AuthError> {
        let mut out = Vec::new();
        loop {
            let id = u16_at(b, 0).ok_or(AuthError::MalformedToken("AV pairs: missing MsvAvEOL"))?;
            let len =
                u16_at(b, 2).ok_or(AuthError::MalformedToken("AV pairs: truncated"))? as usize;
            if id == MSV_AV_EOL {
                return Ok(AvPairs(out));
            }
            let val = b
                .get(4..4 + len)
                .ok_or(AuthError::MalformedToken("AV pairs: value past end"))?;
            out.push((id, val.to_vec()));
            b = &b[4 + len..];
        }
    }

    /// Encodes with the MsvAvEOL terminator.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (id, v) in &self.0 {
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&(v.len() as u16).to_le_bytes());
            out.extend_from_slice(v);
        }
        out.extend_from_slice(&[0; 4]);
        out
    }

    pub fn get(&self, id: u16) -> Option<&[u8]> {
        self.0
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, v)| v.as_slice())
    }

    /// Replaces the value of `id` or appends it.
    pub fn set(&mut self, id: u16, value: Vec<u8>) {
        match self.0.iter_mut().find(|(i, _)| *i == id) {
            Some(slot) => slot.1 = value,
            None => self.0.push((id, value)),
        }
    }

    pub fn timestamp(&self) -> Option<u64> {
        self.get(MSV_AV_TIMESTAMP)
            .and_then(|v| Some(u64::from_le_bytes(v.try_into().ok()?)))
    }

    /// A name pair decoded from UTF-16LE (for logging the server's names).
    pub fn name(&self, id: u16) -> Option<String> {
        self.get(id).map(from_utf16le)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn av_pairs_round_trip() {
        let mut p = AvPairs(vec![
            (MSV_AV_NB_DOMAIN_NAME, utf16le("D")),
            (MSV_AV_TIMESTAMP, vec![1; 8]),
        ]);
        assert_eq!(AvPairs::decode(&p.encode()).unwrap(), p);
        assert_eq!(p.timestamp(), Some(0x0101010101010101));
        p.set(MSV_AV_FLAGS, 2u32.to_le_bytes().to_vec());
        assert_eq!(p.get(MSV_AV_FLAGS), Some(&[2, 0, 0, 0][..]));
        assert_eq!(p.name(MSV_AV_NB_DOMAIN_NAME).as_deref(), Some("D"));
        assert!(AvPairs::decode(&[2, 0, 9, 0, 1]).is_err());
    }

    #[test]
    fn messages_round_trip() {
        let c = ChallengeMessage {
            target_name: utf16le("SRV"),
            flags: 0xe28a8215,
            server_challenge: [1, 2, 3, 4, 5, 6, 7, 8],
            target_info: AvPairs(vec![(1, utf16le("SRV"))]).encode(),
            version: Some([10, 0, 0, 0, 0, 0, 0, 15]),
        };
        assert_eq!(ChallengeMessage::decode(&c.encode()).unwrap(), c);
        let a = AuthenticateMessage {
            lm_response: vec![0; 24],
            nt_response: vec![5; 60],
            domain: utf16le("D"),
            user: utf16le("u"),
            workstation: utf16le("W"),
            encrypted_random_session_key: vec![7; 16],
            flags: 0xe2888215,
            version: Some([6, 3, 0x80, 0x25, 0, 0, 0, 15]),
            mic: Some([9; 16]),
        };
        assert_eq!(AuthenticateMessage::decode(&a.encode()).unwrap(), a);
        let n = NegotiateMessage {
            flags: 0xe2088297,
            version: Some([6, 3, 0x80, 0x25, 0, 0, 0, 15]),
            ..Default::default()
        };
        assert_eq!(NegotiateMessage::decode(&n.encode()).unwrap(), n);
    }

    proptest! {
        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200), t in 1u32..4) {
            let mut msg = NTLMSSP_SIGNATURE.to_vec();
            msg.extend_from_slice(&t.to_le_bytes());
            msg.extend_from_slice(&data);
            let _ = NegotiateMessage::decode(&msg);
            let _ = ChallengeMessage::decode(&msg);
            let _ = AuthenticateMessage::decode(&msg);
            let _ = AvPairs::decode(&data);
            let _ = ChallengeMessage::decode(&data);
        }
    }
}
