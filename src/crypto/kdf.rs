//! SMB 3.x key derivation ([MS-SMB2] 3.1.4.2, 3.2.5.3.1): SP800-108 counter mode with
//! HMAC-SHA256 as the PRF and a 32-bit counter.

use super::Cipher;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

pub const DIALECT_202: u16 = 0x0202;
pub const DIALECT_210: u16 = 0x0210;
pub const DIALECT_300: u16 = 0x0300;
pub const DIALECT_302: u16 = 0x0302;
pub const DIALECT_311: u16 = 0x0311;

/// SP800-108 KDF in counter mode (r = 32, PRF = HMAC-SHA256).
///
/// The PRF input for block i is `i (BE u32) || label || 0x00 || context || L (BE u32)`.
/// SMB only ever needs L <= 256, i.e. one block, but the loop keeps the function general.
pub fn smb3_kdf(ki: &[u8], label: &[u8], context: &[u8], l_bits: u32) -> Vec<u8> {
    let out_len = l_bits.div_ceil(8) as usize;
    let mut out = Vec::with_capacity(out_len + 32);
    let mut counter: u32 = 1;
    while out.len() < out_len {
        let mut mac = HmacSha256::new_from_slice(ki).expect("HMAC accepts any key length");
        mac.update(&counter.to_be_bytes());
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.update(&l_bits.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
        counter += 1;
    }
    out.truncate(out_len);
    out
}

/// The keys of one authenticated session, named from the client's side.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SessionKeys {
    /// Signs and verifies messages (16 bytes; for 2.0.2/2.1 it is the session key itself).
    pub signing_key: Vec<u8>,
    /// Client-to-server sealing key (the server's DecryptionKey). Empty before 3.0.
    pub encryption_key: Vec<u8>,
    /// Server-to-client sealing key (the server's EncryptionKey). Empty before 3.0.
    pub decryption_key: Vec<u8>,
    /// Handed to applications above SMB (e.g. DCE/RPC over named pipes).
    pub application_key: Vec<u8>,
}

impl core::fmt::Debug for SessionKeys {
    // Keys never appear in logs or panic messages: print only their lengths.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionKeys")
            .field("signing_key_len", &self.signing_key.len())
            .field("encryption_key_len", &self.encryption_key.len())
            .field("decryption_key_len", &self.decryption_key.len())
            .field("application_key_len", &self.application_key.len())
            .finish()
    }
}

/// Session.SessionKey: the first 16 bytes of the authentication key, zero-padded if shorter
/// ([MS-SMB2] 3.2.1.3).
fn session_key_16(full: &[u8]) -> [u8; 16] {
    let mut k = [0u8; 16];
    let n = full.len().min(16);
    k[..n].copy_from_slice(&full[..n]);
    k
}

struct Labels<'a> {
    label: &'a [u8],
    context: &'a [u8],
}

fn labels(dialect: u16, preauth_hash: &[u8; 64]) -> [Labels<'_>; 4] {
    if dialect >= DIALECT_311 {
        [
            Labels {
                label: b"SMBSigningKey\0",
                context: preauth_hash,
            },
            Labels {
                label: b"SMBC2SCipherKey\0",
                context: preauth_hash,
            },
            Labels {
                label: b"SMBS2CCipherKey\0",
                context: preauth_hash,
            },
            Labels {
                label: b"SMBAppKey\0",
                context: preauth_hash,
            },
        ]
    } else {
        // 3.0 / 3.0.2. Note the space in "ServerIn \0": that is what the spec and Windows use.
        [
            Labels {
                label: b"SMB2AESCMAC\0",
                context: b"SmbSign\0",
            },
            Labels {
                label: b"SMB2AESCCM\0",
                context: b"ServerIn \0",
            },
            Labels {
                label: b"SMB2AESCCM\0",
                context: b"ServerOut\0",
            },
            Labels {
                label: b"SMB2APP\0",
                context: b"SmbRpc\0",
            },
        ]
    }
}

/// L for the encryption and decryption keys: 256 for the AES-256 ciphers, else 128
/// ([MS-SMB2] 3.1.4.2). The signing and application keys are always 128-bit keys derived with
/// L = 128; Samba 4.17 signs the final SESSION_SETUP response with exactly that key (checked by
/// the integration test `each_cipher_when_preferred`).
fn l_bits(cipher: Option<Cipher>) -> u32 {
    match cipher {
        Some(c) if c.is_256() => 256,
        _ => 128,
    }
}

/// Derives the session's keys once authentication has produced `session_key`
/// (the full key from the security package; NTLM gives 16 bytes).
///
/// - 2.0.2 / 2.1: the signing key is the session key; there are no encryption keys.
/// - 3.0 / 3.0.2: constant labels and contexts.
/// - 3.1.1: labels with the session's pre-authentication hash as context.
///
/// For AES-256 the encryption/decryption keys are derived from Session.FullSessionKey
/// ([MS-SMB2] 3.2.5.3.1), i.e. all of `session_key`; the other keys use its first 16 bytes.
pub fn derive_session_keys(
    session_key: &[u8],
    dialect: u16,
    preauth_hash: &[u8; 64],
    cipher: Option<Cipher>,
) -> SessionKeys {
    let sk16 = session_key_16(session_key);
    if dialect < DIALECT_300 {
        return SessionKeys {
            signing_key: sk16.to_vec(),
            encryption_key: Vec::new(),
            decryption_key: Vec::new(),
            application_key: sk16.to_vec(),
        };
    }
    let l = l_bits(cipher);
    let [sign, enc, dec, app] = labels(dialect, preauth_hash);
    let cipher_ki: &[u8] = if l == 256 { session_key } else { &sk16 };
    SessionKeys {
        signing_key: smb3_kdf(&sk16, sign.label, sign.context, 128),
        encryption_key: smb3_kdf(cipher_ki, enc.label, enc.context, l),
        decryption_key: smb3_kdf(cipher_ki, dec.label, dec.context, l),
        application_key: smb3_kdf(&sk16, app.label, app.context, 128),
    }
}

/// Channel.SigningKey for a channel bound to an existing session (multichannel,
/// [MS-SMB2] 3.2.5.3.1): only the signing key is derived again, from the session key of the
/// binding authentication and (3.1.1) the binding channel's own pre-authentication hash. The
/// encryption, decryption and application keys stay those of the master session.
pub fn derive_channel_signing_key(
    session_key: &[u8],
    dialect: u16,
    preauth_hash: &[u8; 64],
    cipher: Option<Cipher>,
) -> Vec<u8> {
    let sk16 = session_key_16(session_key);
    if dialect < DIALECT_300 {
        return sk16.to_vec();
    }
    let [sign, _, _, _] = labels(dialect, preauth_hash);
    let _ = cipher;
    smb3_kdf(&sk16, sign.label, sign.context, 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_keys() {
        let keys = derive_session_keys(&[0xAB; 16], DIALECT_311, &[0; 64], None);
        let s = format!("{keys:?}");
        assert!(!s.to_lowercase().contains("ab"), "{s}");
    }

    #[test]
    fn lengths_per_cipher() {
        let k = derive_session_keys(&[1; 16], DIALECT_311, &[2; 64], Some(Cipher::Aes256Gcm));
        assert_eq!(k.signing_key.len(), 16);
        assert_eq!(k.encryption_key.len(), 32);
        assert_eq!(k.decryption_key.len(), 32);
        let k = derive_session_keys(&[1; 16], DIALECT_311, &[2; 64], Some(Cipher::Aes128Ccm));
        assert_eq!(k.encryption_key.len(), 16);
        let k = derive_session_keys(&[1; 16], DIALECT_210, &[2; 64], None);
        assert_eq!(k.signing_key, vec![1; 16]);
        assert!(k.encryption_key.is_empty() && k.decryption_key.is_empty());
    }

    #[test]
    fn multi_block_kdf_is_prefix_consistent() {
        // Two blocks: the first 32 bytes are an L=512 first block, not the L=256 output.
        assert_eq!(smb3_kdf(b"k", b"l", b"c", 512).len(), 64);
        assert_eq!(smb3_kdf(b"k", b"l", b"c", 12).len(), 2);
    }
}
