//! NTLMv2 cryptography ([MS-NLMP] 3.3.2, 3.4): NTOWFv2, the NTLMv2/LMv2 responses, key
//! exchange, SIGNKEY/SEALKEY and the message signature used for the SPNEGO mechListMIC.
//! No function here logs anything: its inputs are passwords and keys.

use super::ntlm::{
    utf16le, NTLMSSP_NEGOTIATE_128, NTLMSSP_NEGOTIATE_56, NTLMSSP_NEGOTIATE_KEY_EXCH,
};
use hmac::{Hmac, Mac};
use md4::{Digest, Md4};
use md5::Md5;
use rc4::{consts::U16, KeyInit, Rc4, StreamCipher};

pub fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    let mut mac = <Hmac<Md5> as Mac>::new_from_slice(key).expect("HMAC accepts any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// RC4 with a 16-byte key over `data` (one-shot).
pub fn rc4(key: &[u8; 16], data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    Rc4::<U16>::new(key.into()).apply_keystream(&mut out);
    out
}

/// NT hash: MD4(UTF-16LE(password)).
pub fn nt_hash(password: &str) -> [u8; 16] {
    Md4::digest(utf16le(password)).into()
}

/// NTOWFv2 = HMAC_MD5(MD4(UNICODE(password)), UNICODE(Uppercase(user) || domain)).
/// The domain keeps its case.
pub fn ntowfv2(password: &str, user: &str, domain: &str) -> [u8; 16] {
    let ud = utf16le(&(user.to_uppercase() + domain));
    hmac_md5(&nt_hash(password), &[&ud])
}

/// The NTLMv2 `temp` blob: 0x01 0x01 Z(6) Time ClientChallenge Z(4) AvPairs Z(4).
/// `extra_zeros` appends padding after it (Windows adds 4 more zero bytes).
pub fn ntlmv2_temp(
    time: u64,
    client_challenge: &[u8; 8],
    target_info: &[u8],
    extra_zeros: usize,
) -> Vec<u8> {
    let mut t = Vec::with_capacity(32 + target_info.len() + extra_zeros);
    t.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    t.extend_from_slice(&time.to_le_bytes());
    t.extend_from_slice(client_challenge);
    t.extend_from_slice(&[0; 4]);
    t.extend_from_slice(target_info);
    t.extend_from_slice(&[0; 4]);
    t.resize(t.len() + extra_zeros, 0);
    t
}

/// Output of [`ntlmv2_response`].
pub struct Ntlmv2Response {
    /// NTProofStr || temp.
    pub nt_challenge_response: Vec<u8>,
    pub nt_proof_str: [u8; 16],
    /// Equals the KeyExchangeKey for NTLMv2.
    pub session_base_key: [u8; 16],
}

/// NTProofStr = HMAC_MD5(NTOWFv2, ServerChallenge || temp); SessionBaseKey =
/// HMAC_MD5(NTOWFv2, NTProofStr).
pub fn ntlmv2_response(
    ntowfv2: &[u8; 16],
    server_challenge: &[u8; 8],
    temp: &[u8],
) -> Ntlmv2Response {
    let proof = hmac_md5(ntowfv2, &[server_challenge, temp]);
    let mut ncr = Vec::with_capacity(16 + temp.len());
    ncr.extend_from_slice(&proof);
    ncr.extend_from_slice(temp);
    Ntlmv2Response {
        nt_challenge_response: ncr,
        nt_proof_str: proof,
        session_base_key: hmac_md5(ntowfv2, &[&proof]),
    }
}

/// LMv2 = HMAC_MD5(NTOWFv2, ServerChallenge || ClientChallenge) || ClientChallenge.
pub fn lmv2_response(
    ntowfv2: &[u8; 16],
    server_challenge: &[u8; 8],
    client_challenge: &[u8; 8],
) -> Vec<u8> {
    let mut r = hmac_md5(ntowfv2, &[server_challenge, client_challenge]).to_vec();
    r.extend_from_slice(client_challenge);
    r
}

/// SIGNKEY ([MS-NLMP] 3.4.5.2) with extended session security.
pub fn sign_key(exported_session_key: &[u8; 16], client_to_server: bool) -> [u8; 16] {
    let magic: &[u8] = if client_to_server {
        b"session key to client-to-server signing key magic constant\0"
    } else {
        b"session key to server-to-client signing key magic constant\0"
    };
    md5(&[exported_session_key, magic])
}

/// SEALKEY ([MS-NLMP] 3.4.5.3) with extended session security: the key is weakened to 7 or
/// 5 bytes before hashing unless NTLMSSP_NEGOTIATE_128 was negotiated.
pub fn seal_key(exported_session_key: &[u8; 16], flags: u32, client_to_server: bool) -> [u8; 16] {
    let magic: &[u8] = if client_to_server {
        b"session key to client-to-server sealing key magic constant\0"
    } else {
        b"session key to server-to-client sealing key magic constant\0"
    };
    let n = if flags & NTLMSSP_NEGOTIATE_128 != 0 {
        16
    } else if flags & NTLMSSP_NEGOTIATE_56 != 0 {
        7
    } else {
        5
    };
    md5(&[&exported_session_key[..n], magic])
}

/// One direction of NTLM session security (extended session security): the signing key, the
/// RC4 sealing handle (whose keystream continues across messages) and the sequence number.
pub struct NtlmSecurity {
    sign_key: [u8; 16],
    handle: Rc4<U16>,
    seq_num: u32,
    key_exch: bool,
}

impl NtlmSecurity {
    pub fn new(exported_session_key: &[u8; 16], flags: u32, client_to_server: bool) -> Self {
        let seal = seal_key(exported_session_key, flags, client_to_server);
        NtlmSecurity {
            sign_key: sign_key(exported_session_key, client_to_server),
            handle: Rc4::<U16>::new((&seal).into()),
            seq_num: 0,
            key_exch: flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0,
        }
    }

    /// NTLMSSP_MESSAGE_SIGNATURE over `message` ([MS-NLMP] 3.4.4.2): version 1,
    /// HMAC_MD5(SigningKey, SeqNum || message)[0..8] (RC4-encrypted when key exchange was
    /// negotiated), SeqNum. Advances the sequence number.
    pub fn sign(&mut self, message: &[u8]) -> [u8; 16] {
        let seq = self.seq_num.to_le_bytes();
        let mut checksum: [u8; 8] = hmac_md5(&self.sign_key, &[&seq, message])[..8]
            .try_into()
            .unwrap();
        if self.key_exch {
            self.handle.apply_keystream(&mut checksum);
        }
        self.seq_num = self.seq_num.wrapping_add(1);
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq);
        sig
    }

    /// GSS_WrapEx with confidentiality: encrypts `message` in place with the sealing handle,
    /// then signs the plaintext with the same RC4 stream ([MS-NLMP] 3.4.3).
    pub fn seal(&mut self, message: &mut [u8]) -> [u8; 16] {
        let plain = message.to_vec();
        self.handle.apply_keystream(message);
        self.sign(&plain)
    }

    /// Checks a peer's signature (constant time) and advances the sequence number.
    pub fn verify(&mut self, message: &[u8], signature: &[u8]) -> bool {
        let want = self.sign(message);
        signature.len() == 16 && crate::crypto::signing::ct_eq(&want, signature)
    }
}
