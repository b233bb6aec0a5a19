//! NEGOTIATE request/response ([MS-SMB2] 2.2.3, 2.2.4) and the 3.1.1 negotiate contexts
//! (2.2.3.1). This is the only exchange before signing/encryption exists, and it feeds the
//! preauth integrity hash byte for byte, so the encoding follows the spec's padding rules
//! exactly (contexts 8-byte aligned relative to the header start).

use super::codec::*;
use super::header::{Command, HEADER_LEN};
use super::{Body, ProtoError, Result};

pub const DIALECT_202: u16 = 0x0202;
pub const DIALECT_210: u16 = 0x0210;
pub const DIALECT_300: u16 = 0x0300;
pub const DIALECT_302: u16 = 0x0302;
pub const DIALECT_311: u16 = 0x0311;
/// Wildcard revision a server answers to a multi-protocol SMB1 negotiate.
pub const DIALECT_WILDCARD: u16 = 0x02FF;

pub const SECURITY_MODE_SIGNING_ENABLED: u16 = 0x0001;
pub const SECURITY_MODE_SIGNING_REQUIRED: u16 = 0x0002;
/// Short alias used by the brief.
pub const SIGNING_REQUIRED: u16 = SECURITY_MODE_SIGNING_REQUIRED;

pub const GLOBAL_CAP_DFS: u32 = 0x01;
pub const GLOBAL_CAP_LEASING: u32 = 0x02;
pub const GLOBAL_CAP_LARGE_MTU: u32 = 0x04;
pub const GLOBAL_CAP_MULTI_CHANNEL: u32 = 0x08;
pub const GLOBAL_CAP_PERSISTENT_HANDLES: u32 = 0x10;
pub const GLOBAL_CAP_DIRECTORY_LEASING: u32 = 0x20;
pub const GLOBAL_CAP_ENCRYPTION: u32 = 0x40;
pub const GLOBAL_CAP_NOTIFICATIONS: u32 = 0x80;

pub const PREAUTH_INTEGRITY_CAPABILITIES: u16 = 0x0001;
pub const ENCRYPTION_CAPABILITIES: u16 = 0x0002;
pub const COMPRESSION_CAPABILITIES: u16 = 0x0003;
pub const NETNAME_NEGOTIATE_CONTEXT_ID: u16 = 0x0005;
pub const TRANSPORT_CAPABILITIES: u16 = 0x0006;
pub const RDMA_TRANSFORM_CAPABILITIES: u16 = 0x0007;
pub const SIGNING_CAPABILITIES: u16 = 0x0008;

pub const HASH_SHA512: u16 = 0x0001;
pub const CIPHER_AES128_CCM: u16 = 0x0001;
pub const CIPHER_AES128_GCM: u16 = 0x0002;
pub const CIPHER_AES256_CCM: u16 = 0x0003;
pub const CIPHER_AES256_GCM: u16 = 0x0004;
pub const SIGNING_HMAC_SHA256: u16 = 0x0000;
pub const SIGNING_AES_CMAC: u16 = 0x0001;
pub const SIGNING_AES_GMAC: u16 = 0x0002;

/// One negotiate context. Known types are parsed; anything else is kept raw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NegotiateContext {
    PreauthIntegrity {
        hash_algorithms: Vec<u16>,
        salt: Vec<u8>,
    },
    Encryption {
        ciphers: Vec<u16>,
    },
    Signing {
        algorithms: Vec<u16>,
    },
    Other {
        context_type: u16,
        data: Vec<u8>,
    },
}

fn put_u16_list(out: &mut Vec<u8>, list: &[u16]) {
    put_u16(out, list.len() as u16);
    for v in list {
        put_u16(out, *v);
    }
}

fn read_u16_list(r: &mut Reader<'_>, n: usize) -> Result<Vec<u16>> {
    if n.saturating_mul(2) > r.remaining() {
        return Err(ProtoError::Truncated {
            needed: n * 2,
            had: r.remaining(),
        });
    }
    (0..n).map(|_| r.u16()).collect()
}

impl NegotiateContext {
    pub fn context_type(&self) -> u16 {
        match self {
            NegotiateContext::PreauthIntegrity { .. } => PREAUTH_INTEGRITY_CAPABILITIES,
            NegotiateContext::Encryption { .. } => ENCRYPTION_CAPABILITIES,
            NegotiateContext::Signing { .. } => SIGNING_CAPABILITIES,
            NegotiateContext::Other { context_type, .. } => *context_type,
        }
    }

    fn encode_data(&self, out: &mut Vec<u8>) {
        match self {
            NegotiateContext::PreauthIntegrity {
                hash_algorithms,
                salt,
            } => {
                put_u16(out, hash_algorithms.len() as u16);
                put_u16(out, salt.len() as u16);
                for h in hash_algorithms {
                    put_u16(out, *h);
                }
                out.extend_from_slice(salt);
            }
            NegotiateContext::Encryption { ciphers } => put_u16_list(out, ciphers),
            NegotiateContext::Signing { algorithms } => put_u16_list(out, algorithms),
            NegotiateContext::Other { data, .. } => out.extend_from_slice(data),
        }
    }

    /// ContextType, DataLength, Reserved, Data (no trailing padding).
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, self.context_type());
        let len_at = out.len();
        put_u16(out, 0);
        put_u32(out, 0);
        let start = out.len();
        self.encode_data(out);
        let len = out.len() - start;
        patch_u16(out, len_at, len as u16);
    }

    fn decode_one(r: &mut Reader<'_>) -> Result<Self> {
        let context_type = r.u16()?;
        let len = r.u16()? as usize;
        r.skip(4)?;
        let data = r.bytes(len)?;
        let mut d = Reader::new(data);
        Ok(match context_type {
            PREAUTH_INTEGRITY_CAPABILITIES => {
                let n = d.u16()? as usize;
                let salt_len = d.u16()? as usize;
                let hash_algorithms = read_u16_list(&mut d, n)?;
                let salt = d.bytes(salt_len)?.to_vec();
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms,
                    salt,
                }
            }
            ENCRYPTION_CAPABILITIES => {
                let n = d.u16()? as usize;
                NegotiateContext::Encryption {
                    ciphers: read_u16_list(&mut d, n)?,
                }
            }
            SIGNING_CAPABILITIES => {
                let n = d.u16()? as usize;
                NegotiateContext::Signing {
                    algorithms: read_u16_list(&mut d, n)?,
                }
            }
            _ => NegotiateContext::Other {
                context_type,
                data: data.to_vec(),
            },
        })
    }
}

/// Append a context list (8-byte aligned between entries, relative to `body_start`).
fn encode_contexts(out: &mut Vec<u8>, body_start: usize, contexts: &[NegotiateContext]) {
    for (i, c) in contexts.iter().enumerate() {
        if i > 0 {
            pad_to(out, body_start, 8);
        }
        c.encode(out);
    }
}

/// Parse `count` contexts starting at header-relative `offset` inside `body`.
fn decode_contexts(body: &[u8], offset: usize, count: usize) -> Result<Vec<NegotiateContext>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let rel = offset
        .checked_sub(HEADER_LEN)
        .ok_or(ProtoError::Invalid("negotiate context offset"))?;
    let mut r = Reader::new(body);
    r.seek(rel)?;
    // Each context is at least 8 bytes: bound the allocation by the input.
    let mut out = Vec::with_capacity(count.min(body.len() / 8));
    for i in 0..count {
        if i > 0 {
            let aligned = align_up(r.position() + HEADER_LEN, 8) - HEADER_LEN;
            r.seek(aligned)?;
        }
        out.push(NegotiateContext::decode_one(&mut r)?);
    }
    Ok(out)
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateRequest {
    pub security_mode: u16,
    pub capabilities: u32,
    pub client_guid: [u8; 16],
    pub dialects: Vec<u16>,
    /// Only encoded (and decoded) when `dialects` contains 0x0311.
    pub contexts: Vec<NegotiateContext>,
}

impl Body for NegotiateRequest {
    const COMMAND: Command = Command::Negotiate;

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let with_ctx = self.dialects.contains(&DIALECT_311);
        put_u16(out, 36);
        put_u16(out, self.dialects.len() as u16);
        put_u16(out, self.security_mode);
        put_u16(out, 0);
        put_u32(out, self.capabilities);
        out.extend_from_slice(&self.client_guid);
        let ctx_off_at = out.len();
        put_u32(out, 0); // NegotiateContextOffset (or ClientStartTime low half)
        put_u16(
            out,
            if with_ctx {
                self.contexts.len() as u16
            } else {
                0
            },
        );
        put_u16(out, 0);
        for d in &self.dialects {
            put_u16(out, *d);
        }
        if with_ctx && !self.contexts.is_empty() {
            pad_to(out, start, 8);
            let off = wire_offset(out, start) as u32;
            patch_u32(out, ctx_off_at, off);
            encode_contexts(out, start, &self.contexts);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 36, "NEGOTIATE request StructureSize")?;
        let dialect_count = r.u16()? as usize;
        let security_mode = r.u16()?;
        r.skip(2)?;
        let capabilities = r.u32()?;
        let client_guid = r.array()?;
        let ctx_offset = r.u32()? as usize;
        let ctx_count = r.u16()? as usize;
        r.skip(2)?;
        let dialects = read_u16_list(&mut r, dialect_count)?;
        let contexts = if dialects.contains(&DIALECT_311) {
            decode_contexts(body, ctx_offset, ctx_count)?
        } else {
            Vec::new()
        };
        Ok(NegotiateRequest {
            security_mode,
            capabilities,
            client_guid,
            dialects,
            contexts,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateResponse {
    pub security_mode: u16,
    pub dialect_revision: u16,
    pub server_guid: [u8; 16],
    pub capabilities: u32,
    pub max_transact_size: u32,
    pub max_read_size: u32,
    pub max_write_size: u32,
    pub system_time: u64,
    pub server_start_time: u64,
    pub security_buffer: Vec<u8>,
    /// Only present with dialect 0x0311.
    pub contexts: Vec<NegotiateContext>,
}

impl NegotiateResponse {
    pub fn preauth_integrity(&self) -> Option<(&[u16], &[u8])> {
        self.contexts.iter().find_map(|c| match c {
            NegotiateContext::PreauthIntegrity {
                hash_algorithms,
                salt,
            } => Some((hash_algorithms.as_slice(), salt.as_slice())),
            _ => None,
        })
    }

    /// The cipher the server selected (first entry of its Encryption context).
    pub fn cipher(&self) -> Option<u16> {
        self.contexts.iter().find_map(|c| match c {
            NegotiateContext::Encryption { ciphers } => ciphers.first().copied(),
            _ => None,
        })
    }

    /// The signing algorithm the server selected, if it sent a Signing context.
    pub fn signing_algorithm(&self) -> Option<u16> {
        self.contexts.iter().find_map(|c| match c {
            NegotiateContext::Signing { algorithms } => algorithms.first().copied(),
            _ => None,
        })
    }
}

impl Body for NegotiateResponse {
    const COMMAND: Command = Command::Negotiate;

    fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        let with_ctx = self.dialect_revision == DIALECT_311;
        put_u16(out, 65);
        put_u16(out, self.security_mode);
        put_u16(out, self.dialect_revision);
        put_u16(
            out,
            if with_ctx {
                self.contexts.len() as u16
            } else {
                0
            },
        );
        out.extend_from_slice(&self.server_guid);
        put_u32(out, self.capabilities);
        put_u32(out, self.max_transact_size);
        put_u32(out, self.max_read_size);
        put_u32(out, self.max_write_size);
        put_u64(out, self.system_time);
        put_u64(out, self.server_start_time);
        put_u16(out, (HEADER_LEN + 64) as u16);
        put_u16(out, self.security_buffer.len() as u16);
        let ctx_off_at = out.len();
        put_u32(out, 0);
        out.extend_from_slice(&self.security_buffer);
        if with_ctx && !self.contexts.is_empty() {
            pad_to(out, start, 8);
            let off = wire_offset(out, start) as u32;
            patch_u32(out, ctx_off_at, off);
            encode_contexts(out, start, &self.contexts);
        } else if self.security_buffer.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 65, "NEGOTIATE response StructureSize")?;
        let security_mode = r.u16()?;
        let dialect_revision = r.u16()?;
        let ctx_count = r.u16()? as usize;
        let server_guid = r.array()?;
        let capabilities = r.u32()?;
        let max_transact_size = r.u32()?;
        let max_read_size = r.u32()?;
        let max_write_size = r.u32()?;
        let system_time = r.u64()?;
        let server_start_time = r.u64()?;
        let sb_off = r.u16()? as usize;
        let sb_len = r.u16()? as usize;
        let ctx_offset = r.u32()? as usize;
        let security_buffer = body_buffer(body, sb_off, sb_len)?.to_vec();
        let contexts = if dialect_revision == DIALECT_311 {
            decode_contexts(body, ctx_offset, ctx_count)?
        } else {
            Vec::new()
        };
        Ok(NegotiateResponse {
            security_mode,
            dialect_revision,
            server_guid,
            capabilities,
            max_transact_size,
            max_read_size,
            max_write_size,
            system_time,
            server_start_time,
            security_buffer,
            contexts,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    pub(crate) fn arb_context() -> impl Strategy<Value = NegotiateContext> {
        prop_oneof![
            (proptest::collection::vec(any::<u16>(), 0..4), arb_bytes(40)).prop_map(|(h, s)| {
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms: h,
                    salt: s,
                }
            }),
            proptest::collection::vec(any::<u16>(), 0..5)
                .prop_map(|c| NegotiateContext::Encryption { ciphers: c }),
            proptest::collection::vec(any::<u16>(), 0..5)
                .prop_map(|a| NegotiateContext::Signing { algorithms: a }),
            (9u16.., arb_bytes(30)).prop_map(|(t, d)| NegotiateContext::Other {
                context_type: t,
                data: d
            }),
        ]
    }

    pub(crate) fn sample_request() -> NegotiateRequest {
        NegotiateRequest {
            security_mode: SECURITY_MODE_SIGNING_ENABLED,
            capabilities: 0x7F,
            client_guid: [0x11; 16],
            dialects: vec![
                DIALECT_202,
                DIALECT_210,
                DIALECT_300,
                DIALECT_302,
                DIALECT_311,
            ],
            contexts: vec![
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms: vec![HASH_SHA512],
                    salt: vec![7; 32],
                },
                NegotiateContext::Encryption {
                    ciphers: vec![CIPHER_AES128_GCM, CIPHER_AES128_CCM],
                },
            ],
        }
    }

    #[test]
    fn request_layout() {
        let req = sample_request();
        assert_eq!(structure_size(&req), 36);
        let mut out = Vec::new();
        req.encode(&mut out);
        // 36 fixed + 10 dialect bytes = 46 -> wire 110, padded to 112 (0x70).
        assert_eq!(&out[28..32], &0x70u32.to_le_bytes());
        assert_eq!(&out[32..34], &2u16.to_le_bytes());
        assert_eq!(&out[48..50], &PREAUTH_INTEGRITY_CAPABILITIES.to_le_bytes());
        round_trip(&req);
    }

    #[test]
    fn response_round_trip() {
        let resp = NegotiateResponse {
            security_mode: 1,
            dialect_revision: DIALECT_311,
            server_guid: [3; 16],
            capabilities: GLOBAL_CAP_ENCRYPTION,
            max_transact_size: 8 << 20,
            max_read_size: 8 << 20,
            max_write_size: 8 << 20,
            system_time: 1,
            server_start_time: 0,
            security_buffer: b"\x60\x28spnego".to_vec(),
            contexts: sample_request().contexts,
        };
        assert_eq!(structure_size(&resp), 65);
        round_trip(&resp);
        assert_eq!(resp.cipher(), Some(CIPHER_AES128_GCM));
        round_trip(&NegotiateResponse {
            dialect_revision: DIALECT_302,
            contexts: vec![],
            ..resp.clone()
        });
        round_trip(&NegotiateResponse::default());
    }

    proptest! {
        #[test]
        fn request_prop(sm in any::<u16>(), caps in any::<u32>(), guid in any::<[u8; 16]>(),
                        dialects in proptest::collection::vec(any::<u16>(), 0..8),
                        with311 in any::<bool>(),
                        contexts in proptest::collection::vec(arb_context(), 0..5)) {
            let mut dialects = dialects;
            if with311 { dialects.push(DIALECT_311); } else { dialects.retain(|d| *d != DIALECT_311); }
            let contexts = if with311 { contexts } else { vec![] };
            round_trip(&NegotiateRequest { security_mode: sm, capabilities: caps, client_guid: guid, dialects, contexts });
        }

        #[test]
        fn response_prop(dialect in prop_oneof![Just(DIALECT_311), Just(DIALECT_300)],
                         sb in arb_bytes(200), t in any::<u64>(),
                         contexts in proptest::collection::vec(arb_context(), 0..5)) {
            let contexts = if dialect == DIALECT_311 { contexts } else { vec![] };
            round_trip(&NegotiateResponse { dialect_revision: dialect, security_buffer: sb, system_time: t, contexts, ..Default::default() });
        }
    }
}
