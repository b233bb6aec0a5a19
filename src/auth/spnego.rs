//! Minimal SPNEGO ([RFC 4178], [MS-SPNG]) over DER: just enough to carry NTLMSSP.
//!
//! The decoder works on untrusted server bytes, so every read is bounds-checked and it returns
//! an error instead of panicking; unknown context tags are skipped so that extensions (for
//! instance the NegTokenInit2 `negHints` a server puts in its NEGOTIATE response) parse.

use super::AuthError;

/// 1.3.6.1.5.5.2 (SPNEGO), DER content bytes.
pub const OID_SPNEGO: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// 1.3.6.1.4.1.311.2.2.10 (NTLMSSP), DER content bytes.
pub const OID_NTLMSSP: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a];

const TAG_SEQUENCE: u8 = 0x30;
const TAG_OID: u8 = 0x06;
const TAG_OCTET_STRING: u8 = 0x04;
const TAG_ENUMERATED: u8 = 0x0a;
const TAG_APPLICATION_0: u8 = 0x60;
const TAG_NEG_TOKEN_INIT: u8 = 0xa0;
const TAG_NEG_TOKEN_RESP: u8 = 0xa1;

fn ctx(n: u8) -> u8 {
    0xa0 | n
}

/// Reads one TLV: (tag, contents, rest). Only single-byte tags and definite lengths of up to
/// four bytes are accepted, which covers everything SPNEGO/NTLM uses.
pub fn read_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), AuthError> {
    let bad = AuthError::MalformedToken;
    let (&tag, rest) = input.split_first().ok_or(bad("DER: empty"))?;
    if tag & 0x1f == 0x1f {
        return Err(bad("DER: multi-byte tag"));
    }
    let (&first, mut rest) = rest.split_first().ok_or(bad("DER: no length"))?;
    let len = if first < 0x80 {
        first as usize
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return Err(bad("DER: bad length"));
        }
        let mut l = 0usize;
        for &b in &rest[..n] {
            l = (l << 8) | b as usize;
        }
        rest = &rest[n..];
        l
    };
    if rest.len() < len {
        return Err(bad("DER: length past end"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

/// Reads a TLV that must have tag `want`.
fn expect<'a>(
    input: &'a [u8],
    want: u8,
    what: &'static str,
) -> Result<(&'a [u8], &'a [u8]), AuthError> {
    let (tag, body, rest) = read_tlv(input)?;
    if tag != want {
        return Err(AuthError::MalformedToken(what));
    }
    Ok((body, rest))
}

/// Appends a DER TLV with the shortest length encoding.
pub fn write_tlv(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    out.push(tag);
    let len = body.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = (len as u32).to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (4 - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(body);
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 6);
    write_tlv(&mut v, tag, body);
    v
}

/// DER of the MechTypeList `SEQUENCE OF OID`. The client's mechListMIC is computed over exactly
/// these bytes, so it is built once and reused.
pub fn mech_type_list(mechs: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    for m in mechs {
        write_tlv(&mut body, TAG_OID, m);
    }
    tlv(TAG_SEQUENCE, &body)
}

/// negState values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NegState {
    AcceptCompleted,
    AcceptIncomplete,
    Reject,
    RequestMic,
    Unknown(u8),
}

impl NegState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => NegState::AcceptCompleted,
            1 => NegState::AcceptIncomplete,
            2 => NegState::Reject,
            3 => NegState::RequestMic,
            x => NegState::Unknown(x),
        }
    }
    fn to_u8(self) -> u8 {
        match self {
            NegState::AcceptCompleted => 0,
            NegState::AcceptIncomplete => 1,
            NegState::Reject => 2,
            NegState::RequestMic => 3,
            NegState::Unknown(x) => x,
        }
    }
}

/// NegTokenInit (client's first token, or the server's NegTokenInit2 hint).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegTokenInit {
    /// OIDs (DER content bytes) in preference order.
    pub mech_types: Vec<Vec<u8>>,
    /// The exact DER of the mechTypes SEQUENCE, as received or sent (for mechListMIC).
    pub mech_types_der: Vec<u8>,
    pub mech_token: Option<Vec<u8>>,
    pub mech_list_mic: Option<Vec<u8>>,
}

impl NegTokenInit {
    /// GSS-API InitialContextToken: [APPLICATION 0] { OID spnego, [0] NegTokenInit }.
    pub fn encode(&self) -> Vec<u8> {
        let mut inner = Vec::new();
        let types = if self.mech_types_der.is_empty() {
            let refs: Vec<&[u8]> = self.mech_types.iter().map(|m| m.as_slice()).collect();
            mech_type_list(&refs)
        } else {
            self.mech_types_der.clone()
        };
        write_tlv(&mut inner, ctx(0), &types);
        if let Some(t) = &self.mech_token {
            write_tlv(&mut inner, ctx(2), &tlv(TAG_OCTET_STRING, t));
        }
        if let Some(m) = &self.mech_list_mic {
            write_tlv(&mut inner, ctx(3), &tlv(TAG_OCTET_STRING, m));
        }
        let mut body = tlv(TAG_OID, OID_SPNEGO);
        write_tlv(&mut body, TAG_NEG_TOKEN_INIT, &tlv(TAG_SEQUENCE, &inner));
        tlv(TAG_APPLICATION_0, &body)
    }

    /// Parses the GSS-wrapped form (0x60 ...) or a bare [0] NegTokenInit.
    pub fn decode(input: &[u8]) -> Result<Self, AuthError> {
        let (tag, body, _) = read_tlv(input)?;
        let init = match tag {
            TAG_APPLICATION_0 => {
                let (oid, rest) = expect(body, TAG_OID, "SPNEGO: missing mech OID")?;
                if oid != OID_SPNEGO {
                    return Err(AuthError::MalformedToken("SPNEGO: not the SPNEGO OID"));
                }
                expect(rest, TAG_NEG_TOKEN_INIT, "SPNEGO: expected NegTokenInit")?.0
            }
            TAG_NEG_TOKEN_INIT => body,
            _ => return Err(AuthError::MalformedToken("SPNEGO: not a NegTokenInit")),
        };
        let (mut fields, _) = expect(init, TAG_SEQUENCE, "NegTokenInit: not a SEQUENCE")?;
        let mut out = NegTokenInit::default();
        while !fields.is_empty() {
            let (tag, val, rest) = read_tlv(fields)?;
            fields = rest;
            match tag {
                0xa0 => {
                    let (mut list, _) = expect(val, TAG_SEQUENCE, "mechTypes: not a SEQUENCE")?;
                    out.mech_types_der = tlv(TAG_SEQUENCE, list);
                    while !list.is_empty() {
                        let (oid, rest) = expect(list, TAG_OID, "mechTypes: not an OID")?;
                        out.mech_types.push(oid.to_vec());
                        list = rest;
                    }
                }
                0xa2 => {
                    out.mech_token = Some(expect(val, TAG_OCTET_STRING, "mechToken")?.0.to_vec())
                }
                // [4] in NegTokenInit2 is the MIC; [3] there is negHints, which is not an
                // OCTET STRING: only take [3] when it is one.
                0xa3 | 0xa4 => {
                    if let Ok((mic, _)) = expect(val, TAG_OCTET_STRING, "mechListMIC") {
                        out.mech_list_mic = Some(mic.to_vec());
                    }
                }
                _ => {} // reqFlags, negHints, future extensions
            }
        }
        Ok(out)
    }
}

/// NegTokenResp ([1]), used for every token after the first in both directions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegTokenResp {
    pub neg_state: Option<NegState>,
    pub supported_mech: Option<Vec<u8>>,
    pub response_token: Option<Vec<u8>>,
    pub mech_list_mic: Option<Vec<u8>>,
}

impl NegTokenResp {
    pub fn encode(&self) -> Vec<u8> {
        let mut inner = Vec::new();
        if let Some(s) = self.neg_state {
            write_tlv(&mut inner, ctx(0), &tlv(TAG_ENUMERATED, &[s.to_u8()]));
        }
        if let Some(m) = &self.supported_mech {
            write_tlv(&mut inner, ctx(1), &tlv(TAG_OID, m));
        }
        if let Some(t) = &self.response_token {
            write_tlv(&mut inner, ctx(2), &tlv(TAG_OCTET_STRING, t));
        }
        if let Some(m) = &self.mech_list_mic {
            write_tlv(&mut inner, ctx(3), &tlv(TAG_OCTET_STRING, m));
        }
        tlv(TAG_NEG_TOKEN_RESP, &tlv(TAG_SEQUENCE, &inner))
    }

    pub fn decode(input: &[u8]) -> Result<Self, AuthError> {
        let (body, _) = expect(input, TAG_NEG_TOKEN_RESP, "SPNEGO: not a NegTokenResp")?;
        let (mut fields, _) = expect(body, TAG_SEQUENCE, "NegTokenResp: not a SEQUENCE")?;
        let mut out = NegTokenResp::default();
        while !fields.is_empty() {
            let (tag, val, rest) = read_tlv(fields)?;
            fields = rest;
            match tag {
                0xa0 => {
                    let (e, _) = expect(val, TAG_ENUMERATED, "negState")?;
                    let &v = e
                        .last()
                        .ok_or(AuthError::MalformedToken("negState: empty"))?;
                    out.neg_state = Some(NegState::from_u8(v));
                }
                0xa1 => {
                    out.supported_mech = Some(expect(val, TAG_OID, "supportedMech")?.0.to_vec())
                }
                0xa2 => {
                    out.response_token =
                        Some(expect(val, TAG_OCTET_STRING, "responseToken")?.0.to_vec())
                }
                0xa3 => {
                    out.mech_list_mic =
                        Some(expect(val, TAG_OCTET_STRING, "mechListMIC")?.0.to_vec())
                }
                _ => {}
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_lengths() {
        for n in [0usize, 1, 127, 128, 255, 256, 70000] {
            let body = vec![7u8; n];
            let t = tlv(0x04, &body);
            let (tag, b, rest) = read_tlv(&t).unwrap();
            assert_eq!((tag, b.len(), rest.len()), (0x04, n, 0));
        }
    }

    #[test]
    fn resp_round_trip() {
        let r = NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(OID_NTLMSSP.to_vec()),
            response_token: Some(vec![1; 300]),
            mech_list_mic: Some(vec![2; 16]),
        };
        assert_eq!(NegTokenResp::decode(&r.encode()).unwrap(), r);
    }

    #[test]
    fn init_round_trip_and_hint() {
        let i = NegTokenInit {
            mech_types: vec![OID_NTLMSSP.to_vec()],
            mech_types_der: mech_type_list(&[OID_NTLMSSP]),
            mech_token: Some(b"NTLMSSP\0...".to_vec()),
            mech_list_mic: None,
        };
        assert_eq!(NegTokenInit::decode(&i.encode()).unwrap(), i);
        // A NegTokenInit2 hint as Windows/Samba send in the NEGOTIATE response:
        // mechTypes + negHints { hintName "not_defined_in_RFC4178@please_ignore" }.
        let mut hints = Vec::new();
        write_tlv(
            &mut hints,
            0xa0,
            &tlv(0x1b, b"not_defined_in_RFC4178@please_ignore"),
        );
        let mut inner = Vec::new();
        write_tlv(&mut inner, 0xa0, &mech_type_list(&[OID_NTLMSSP]));
        write_tlv(&mut inner, 0xa3, &tlv(0x30, &hints));
        let mut body = tlv(0x06, OID_SPNEGO);
        write_tlv(&mut body, 0xa0, &tlv(0x30, &inner));
        let tok = tlv(0x60, &body);
        let p = NegTokenInit::decode(&tok).unwrap();
        assert_eq!(p.mech_types, vec![OID_NTLMSSP.to_vec()]);
        assert_eq!(p.mech_list_mic, None);
    }

    proptest! {
        #[test]
        fn decoders_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = read_tlv(&data);
            let _ = NegTokenInit::decode(&data);
            let _ = NegTokenResp::decode(&data);
        }

        #[test]
        fn decoders_never_panic_on_mutated_tokens(pos in 0usize..64, val in any::<u8>(), cut in 0usize..64) {
            let r = NegTokenResp {
                neg_state: Some(NegState::AcceptCompleted),
                supported_mech: Some(OID_NTLMSSP.to_vec()),
                response_token: Some(vec![9; 20]),
                mech_list_mic: Some(vec![3; 16]),
            }.encode();
            let mut m = r.clone();
            let p = pos % m.len();
            m[p] = val;
            m.truncate(m.len().saturating_sub(cut % 8));
            let _ = NegTokenResp::decode(&m);
            let _ = NegTokenInit::decode(&m);
        }
    }
}
