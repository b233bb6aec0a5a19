//! SMB2 message signing ([MS-SMB2] 3.1.4.1) over a raw message: the 64-byte SMB2 header plus
//! its body, without the 4-byte Direct-TCP length prefix. For compounded requests each message
//! in the chain is signed on its own (the caller passes the slice up to NextCommand).

use super::SigningAlgorithm;
use aes::{Aes128, Aes256};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{AesGcm, KeyInit, Nonce};
use cmac::Cmac;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Offset of the u32 Flags field in the SMB2 header.
const FLAGS_OFFSET: usize = 16;
/// SMB2_FLAGS_SERVER_TO_REDIR.
const FLAG_RESPONSE: u32 = 0x0000_0001;
/// SMB2_FLAGS_SIGNED.
pub const SMB2_FLAGS_SIGNED: u32 = 0x0000_0008;
const COMMAND_OFFSET: usize = 12;
const MESSAGE_ID_OFFSET: usize = 24;
const SMB2_CANCEL: u16 = 0x000C;
pub const SIGNATURE_RANGE: core::ops::Range<usize> = 48..64;
const HEADER_LEN: usize = 64;

/// Computes the 16-byte signature of `message` as if its signature field were zero, without
/// copying the message for HMAC and CMAC (signed READ responses can be megabytes).
/// Returns None if the key cannot be used with the algorithm or the message is too short.
fn compute(alg: SigningAlgorithm, key: &[u8], message: &[u8]) -> Option<[u8; 16]> {
    if message.len() < HEADER_LEN {
        return None;
    }
    let (head, tail) = (
        &message[..SIGNATURE_RANGE.start],
        &message[SIGNATURE_RANGE.end..],
    );
    let mut sig = [0u8; 16];
    match alg {
        SigningAlgorithm::HmacSha256 => {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok()?;
            mac.update(head);
            mac.update(&[0; 16]);
            mac.update(tail);
            sig.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        SigningAlgorithm::AesCmac => {
            let mut mac = <Cmac<Aes128> as Mac>::new_from_slice(key).ok()?;
            mac.update(head);
            mac.update(&[0; 16]);
            mac.update(tail);
            sig.copy_from_slice(&mac.finalize().into_bytes());
        }
        SigningAlgorithm::AesGmac => {
            // GMAC = GCM with an empty plaintext; the whole message is the AAD and the tag is
            // the signature. The nonce makes requests, responses and cancels distinct even
            // though they can share a MessageId. The AEAD API wants one contiguous AAD, so
            // a copy with the signature zeroed is made only when it is not zero already.
            let mut nonce = [0u8; 12];
            nonce[..8].copy_from_slice(&message[MESSAGE_ID_OFFSET..MESSAGE_ID_OFFSET + 8]);
            let flags =
                u32::from_le_bytes(message[FLAGS_OFFSET..FLAGS_OFFSET + 4].try_into().ok()?);
            let command =
                u16::from_le_bytes([message[COMMAND_OFFSET], message[COMMAND_OFFSET + 1]]);
            let mut role = 0u32;
            if flags & FLAG_RESPONSE != 0 {
                role |= 1;
            }
            if command == SMB2_CANCEL {
                role |= 2;
            }
            nonce[8..].copy_from_slice(&role.to_le_bytes());
            let nonce = Nonce::from_slice(&nonce);
            let zeroed;
            let aad = if message[SIGNATURE_RANGE].iter().all(|&b| b == 0) {
                message
            } else {
                let mut copy = message.to_vec();
                copy[SIGNATURE_RANGE].fill(0);
                zeroed = copy;
                &zeroed[..]
            };
            let tag = match key.len() {
                16 => AesGcm::<Aes128, aes_gcm::aead::consts::U12>::new_from_slice(key)
                    .ok()?
                    .encrypt_in_place_detached(nonce, aad, &mut [])
                    .ok()?,
                32 => AesGcm::<Aes256, aes_gcm::aead::consts::U12>::new_from_slice(key)
                    .ok()?
                    .encrypt_in_place_detached(nonce, aad, &mut [])
                    .ok()?,
                _ => return None,
            };
            sig.copy_from_slice(&tag);
        }
    }
    Some(sig)
}

fn set_signed_flag(message: &mut [u8]) {
    let mut flags = u32::from_le_bytes(message[FLAGS_OFFSET..FLAGS_OFFSET + 4].try_into().unwrap());
    flags |= SMB2_FLAGS_SIGNED;
    message[FLAGS_OFFSET..FLAGS_OFFSET + 4].copy_from_slice(&flags.to_le_bytes());
}

/// Sets SMB2_FLAGS_SIGNED, zeroes the signature field and writes the signature.
/// Does nothing if the message is shorter than an SMB2 header or the key is unusable.
pub fn sign(alg: SigningAlgorithm, key: &[u8], message: &mut [u8]) {
    if message.len() < HEADER_LEN {
        return;
    }
    set_signed_flag(message);
    message[SIGNATURE_RANGE].fill(0);
    if let Some(sig) = compute(alg, key, message) {
        message[SIGNATURE_RANGE].copy_from_slice(&sig);
    }
}

/// Checks the signature of a received message (constant-time comparison).
pub fn verify(alg: SigningAlgorithm, key: &[u8], message: &[u8]) -> bool {
    if message.len() < HEADER_LEN {
        return false;
    }
    match compute(alg, key, message) {
        Some(sig) => ct_eq(&sig, &message[SIGNATURE_RANGE]),
        None => false,
    }
}

/// Constant-time equality so a forger learns nothing from timing.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // black_box keeps the optimiser from turning the fold into an early-exit compare.
    core::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(flags: u32, command: u16, mid: u64) -> Vec<u8> {
        let mut m = vec![0u8; 64 + 40];
        m[0..4].copy_from_slice(b"\xfeSMB");
        m[4] = 64;
        m[12..14].copy_from_slice(&command.to_le_bytes());
        m[16..20].copy_from_slice(&flags.to_le_bytes());
        m[24..32].copy_from_slice(&mid.to_le_bytes());
        for (i, b) in m[64..].iter_mut().enumerate() {
            *b = i as u8;
        }
        m
    }

    // No published vectors exist for GMAC or HMAC-SHA256 SMB signing, so these are
    // self-consistency checks: sign -> verify, and any change -> reject.
    #[test]
    fn sign_verify_tamper_all_algorithms() {
        for alg in [
            SigningAlgorithm::HmacSha256,
            SigningAlgorithm::AesCmac,
            SigningAlgorithm::AesGmac,
        ] {
            let key = [0x42u8; 16];
            let mut m = message(0, 8, 7);
            sign(alg, &key, &mut m);
            assert_ne!(
                u32::from_le_bytes(m[16..20].try_into().unwrap()) & SMB2_FLAGS_SIGNED,
                0
            );
            assert_ne!(&m[48..64], &[0u8; 16]);
            assert!(verify(alg, &key, &m), "{alg:?}");
            for pos in [0usize, 20, 30, 50, 70, m.len() - 1] {
                let mut t = m.clone();
                t[pos] ^= 1;
                assert!(!verify(alg, &key, &t), "{alg:?} tamper at {pos}");
            }
            assert!(!verify(alg, &[0x43; 16], &m));
        }
    }

    #[test]
    fn gmac_nonce_separates_roles_and_cancel() {
        let key = [9u8; 16];
        let sig = |mut m: Vec<u8>| {
            sign(SigningAlgorithm::AesGmac, &key, &mut m);
            m[48..64].to_vec()
        };
        let req = sig(message(0, 8, 5));
        let cancel = sig(message(0, SMB2_CANCEL, 5));
        let resp = sig(message(FLAG_RESPONSE, 8, 5));
        assert_ne!(req, resp);
        assert_ne!(req, cancel);
        let other_mid = sig(message(0, 8, 6));
        assert_ne!(req, other_mid);
    }

    #[test]
    fn short_messages_do_not_panic() {
        for alg in [
            SigningAlgorithm::HmacSha256,
            SigningAlgorithm::AesCmac,
            SigningAlgorithm::AesGmac,
        ] {
            let mut short = vec![0u8; 63];
            sign(alg, &[1; 16], &mut short);
            assert_eq!(short, vec![0u8; 63]);
            assert!(!verify(alg, &[1; 16], &short));
            assert!(!verify(alg, &[1; 16], &[]));
            // Unusable key lengths are rejected, not panics.
            let mut m = message(0, 8, 1);
            sign(alg, &[1; 5], &mut m);
            if alg != SigningAlgorithm::HmacSha256 {
                assert!(!verify(alg, &[1; 5], &m));
            }
        }
    }
}
