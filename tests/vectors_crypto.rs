//! Published Microsoft known-answer vectors (tests/vectors/*.json, see its README) for the
//! SMB 3.x crypto layer: KDF, pre-auth hash, CMAC signing and the GCM/CCM transforms.

mod common;

use common::vectors::{h, hex};
use serde_json::Value;
use smb3fs::crypto::{
    derive_channel_signing_key, derive_session_keys, sign, smb3_kdf, verify, Cipher, CryptoError,
    Decryptor, Encryptor, PreauthHash, SigningAlgorithm,
};

fn num(v: &Value, k: &str) -> u64 {
    u64::from_str_radix(v[k].as_str().unwrap(), 16).unwrap()
}

fn h64(b: &[u8]) -> [u8; 64] {
    b.try_into().unwrap()
}

fn load(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

fn preauth() -> Value {
    load(include_str!("vectors/preauth_3_1_1.json"))
}

/// Runs a hash chain and checks every intermediate value; returns the last one.
fn check_chain(tag: &str, steps: &Value, start: PreauthHash) -> PreauthHash {
    let mut ph = start;
    for st in steps.as_array().unwrap() {
        let msg = st["message"].as_str().unwrap();
        assert_eq!(
            ph.value().to_vec(),
            h(st, "hash_before"),
            "{tag} {msg} hash_before"
        );
        ph.update(&h(st, "packet"));
        assert_eq!(
            ph.value().to_vec(),
            h(st, "hash_after"),
            "{tag} {msg} hash_after"
        );
    }
    ph
}

fn check_signature(tag: &str, packet: &[u8], want_sig: &[u8], key: &[u8]) {
    assert_eq!(&packet[48..64], want_sig, "{tag}: header signature field");
    assert!(
        verify(SigningAlgorithm::AesCmac, key, packet),
        "{tag}: verify"
    );
    // Re-signing a copy with a wiped signature reproduces the packet exactly.
    let mut p = packet.to_vec();
    p[48..64].fill(0xAA);
    sign(SigningAlgorithm::AesCmac, key, &mut p);
    assert_eq!(p, packet, "{tag}: sign");
    let mut t = packet.to_vec();
    *t.last_mut().unwrap() ^= 1;
    assert!(!verify(SigningAlgorithm::AesCmac, key, &t), "{tag}: tamper");
}

const KEYS: [&str; 4] = [
    "signing_key",
    "encryption_key_client",
    "decryption_key_client",
    "application_key",
];

fn key_by_name(k: &smb3fs::crypto::SessionKeys, name: &str) -> Vec<u8> {
    match name {
        "signing_key" => k.signing_key.clone(),
        "encryption_key_client" => k.encryption_key.clone(),
        "decryption_key_client" => k.decryption_key.clone(),
        "application_key" => k.application_key.clone(),
        _ => unreachable!(),
    }
}

#[test]
fn preauth_chains_keys_and_signatures() {
    let d = preauth();
    let chans = d["channels"].as_array().unwrap();
    let master = &chans[0];
    assert_eq!(master["name"], "master_session_first_channel");
    for c in chans {
        let tag = c["name"].as_str().unwrap();
        assert_eq!(h(c, "initial_hash"), vec![0; 64]);
        let conn = check_chain(tag, &c["connection_hash_steps"], PreauthHash::new());
        assert_eq!(
            conn.value().to_vec(),
            h(c, "connection_preauth_hash"),
            "{tag}"
        );
        // The session chain continues from the connection hash, not from zero.
        let sess = check_chain(tag, &c["session_hash_steps"], conn.clone());
        assert_eq!(sess.value().to_vec(), h(c, "session_preauth_hash"), "{tag}");
        let cipher = Cipher::from_id(num(c, "selected_cipher_id_u16") as u16);
        assert_eq!(cipher, Some(Cipher::Aes128Gcm));
        let sk = h(c, "session_key");
        if c["session_binding"].as_bool().unwrap() {
            // Binding: only Channel.SigningKey is new; the rest are the master session's.
            let k = derive_channel_signing_key(&sk, 0x0311, sess.value(), cipher);
            assert_eq!(k, h(c, "signing_key"), "{tag} channel signing key");
            for n in &KEYS[1..] {
                assert_eq!(h(c, n), h(master, n), "{tag} {n} copied");
            }
        } else {
            let keys = derive_session_keys(&sk, 0x0311, sess.value(), cipher);
            for n in KEYS {
                assert_eq!(key_by_name(&keys, n), h(c, n), "{tag} KDF {n}");
            }
        }
        for st in c["session_hash_steps"].as_array().unwrap() {
            if let Some(w) = st["signed_with"].as_str() {
                let key = if w.starts_with("master") {
                    h(master, "signing_key")
                } else {
                    h(c, "signing_key")
                };
                check_signature(tag, &h(st, "packet"), &h(st, "header_signature"), &key);
            }
        }
        let fr = &c["final_session_setup_response"];
        let key = h(c, fr["signed_with"].as_str().unwrap());
        check_signature(
            &format!("{tag} final"),
            &h(fr, "packet"),
            &h(fr, "header_signature"),
            &key,
        );
    }
}

#[test]
fn kdf_tables() {
    let d = load(include_str!("vectors/kdf.json"));
    // Raw KDF with the published label/context bytes.
    let sk = hex("7cd451825d0450d235424e44ba6e78cc");
    let l30 = &d["labels_smb30"];
    assert_eq!(
        smb3_kdf(
            &sk,
            &h(&l30["signing"], "label"),
            &h(&l30["signing"], "context"),
            128
        ),
        hex("0b7e9c5cac36c0f6ea9ab275298cedce")
    );
    let mut checked = 0;
    let vecs = d["vectors"].as_array().unwrap();
    for v in vecs {
        let tag = v["name"].as_str().unwrap();
        let dialect = num(v, "dialect_u16") as u16;
        let sk = h(v, "session_key");
        let ctx: [u8; 64] = if dialect == 0x0311 {
            h64(&h(v, "context_preauth_hash"))
        } else {
            [0; 64]
        };
        if v["session_binding"].as_bool().unwrap() {
            let k = derive_channel_signing_key(&sk, dialect, &ctx, Some(Cipher::Aes128Ccm));
            assert_eq!(k, h(v, "signing_key"), "{tag} binding signing key");
            let base_name = tag.replace("second_channel_binding", "master_session");
            let base = vecs
                .iter()
                .find(|b| b["name"] == base_name.as_str())
                .unwrap();
            for n in &KEYS[1..] {
                assert_eq!(h(v, n), h(base, n), "{tag} {n}");
            }
        } else {
            // The 128-bit ciphers all give the same keys; both are tried.
            for cipher in [None, Some(Cipher::Aes128Ccm), Some(Cipher::Aes128Gcm)] {
                let keys = derive_session_keys(&sk, dialect, &ctx, cipher);
                for n in KEYS {
                    assert_eq!(key_by_name(&keys, n), h(v, n), "{tag} {n}");
                }
            }
        }
        checked += 1;
    }
    assert_eq!(checked, vecs.len());
    assert!(checked >= 4);
    // The 3.1.1 master entry agrees with the preauth trace.
    let m = vecs
        .iter()
        .find(|v| v["name"] == "smb311_master_session")
        .unwrap();
    let p = preauth();
    assert_eq!(
        m["context_preauth_hash"],
        p["channels"][0]["session_preauth_hash"]
    );
}

fn check_messages(tag: &str, v: &Value, cipher: Cipher) {
    let sid = num(v, "session_id_u64");
    let nonce_len = v["aes_nonce_length"].as_u64().unwrap() as usize;
    assert_eq!(nonce_len, cipher.nonce_len());
    let enc_key = h(v, "encryption_key_client");
    let dec_key = h(v, "decryption_key_client");
    for m in v["messages"].as_array().unwrap() {
        let name = format!("{tag} {}", m["name"].as_str().unwrap());
        let pt = h(m, "plaintext");
        let frame = h(m, "transformed_message");
        let th = &m["transform_header"];
        let client_to_server = m["direction"] == "client_to_server";
        let key = h(m, "key");
        assert_eq!(
            key,
            if client_to_server {
                enc_key.clone()
            } else {
                dec_key.clone()
            },
            "{name} key"
        );
        assert_eq!(h(th, "nonce")[..nonce_len], h(m, "aes_nonce")[..], "{name}");
        // Encrypt with the published nonce field (all 16 bytes, for the 3.0 vector's extras).
        let enc = Encryptor::new(cipher, &key);
        let out = enc.encrypt_with_nonce(sid, &h(th, "nonce"), &pt);
        assert_eq!(out, frame, "{name}: encrypt -> exact transformed message");
        assert_eq!(&out[20..52], &h(m, "aad")[..], "{name}: aad");
        assert_eq!(&out[52..], &h(m, "ciphertext")[..], "{name}: ciphertext");
        assert_eq!(&out[4..20], &h(th, "signature")[..], "{name}: tag");
        // Decrypt (both the copying and the in-place path).
        let dec = Decryptor::new(cipher, &key);
        assert_eq!(
            dec.decrypt(&frame).unwrap(),
            (sid, pt.clone()),
            "{name}: decrypt"
        );
        let mut buf = frame.clone();
        assert_eq!(dec.decrypt_in_place(&mut buf).unwrap(), sid);
        assert_eq!(buf, pt, "{name}: decrypt_in_place");
        // Tampering anywhere in the AAD, tag or ciphertext is caught.
        for pos in [4, 19, 20, 35, 36, 44, 52, frame.len() - 1] {
            let mut t = frame.clone();
            t[pos] ^= 1;
            assert!(dec.decrypt(&t).is_err(), "{name}: tamper at {pos}");
        }
        // The other direction's key must not open it.
        let wrong = if client_to_server { &dec_key } else { &enc_key };
        assert_eq!(
            Decryptor::new(cipher, wrong).decrypt(&frame),
            Err(CryptoError::DecryptionFailed)
        );
    }
}

#[test]
fn encryption_3_1_1_gcm_and_ccm() {
    let d = load(include_str!("vectors/encryption_3_1_1.json"));
    let mut seen = Vec::new();
    for v in d["vectors"].as_array().unwrap() {
        let tag = v["name"].as_str().unwrap();
        let cipher = Cipher::from_id(num(v, "cipher_id_u16") as u16).unwrap();
        seen.push(cipher);
        let ph = check_chain(tag, &v["preauth_hash_steps"], PreauthHash::new());
        assert_eq!(ph.value().to_vec(), h(v, "session_preauth_hash"));
        let keys = derive_session_keys(&h(v, "session_key"), 0x0311, ph.value(), Some(cipher));
        for n in KEYS {
            assert_eq!(key_by_name(&keys, n), h(v, n), "{tag} {n}");
        }
        let fr = &v["final_session_setup_response"];
        check_signature(
            tag,
            &h(fr, "packet"),
            &h(fr, "header_signature"),
            &keys.signing_key,
        );
        check_messages(tag, v, cipher);
    }
    assert_eq!(seen, vec![Cipher::Aes128Gcm, Cipher::Aes128Ccm]);
}

#[test]
fn encryption_3_0_ccm() {
    let d = load(include_str!("vectors/encryption_3_0.json"));
    let keys = derive_session_keys(
        &h(&d, "session_key"),
        0x0300,
        &[0; 64],
        Some(Cipher::Aes128Ccm),
    );
    for n in KEYS {
        assert_eq!(key_by_name(&keys, n), h(&d, n), "3.0 KDF {n}");
    }
    // This vector's Nonce field has random bytes after the 11 CCM uses.
    let m0 = &d["messages"][0];
    assert!(h(&m0["transform_header"], "nonce")[11..]
        .iter()
        .any(|&b| b != 0));
    check_messages("encryption_3_0", &d, Cipher::Aes128Ccm);
}

#[test]
fn cipher_and_algorithm_ids() {
    for c in Cipher::ALL {
        assert_eq!(Cipher::from_id(c.id()), Some(c));
    }
    assert_eq!(Cipher::from_id(0), None);
    assert_eq!(Cipher::Aes256Gcm.name(), "AES-256-GCM");
    assert_eq!(Cipher::Aes128Ccm.nonce_len(), 11);
    assert_eq!(Cipher::Aes256Ccm.key_len(), 32);
    for a in [
        SigningAlgorithm::HmacSha256,
        SigningAlgorithm::AesCmac,
        SigningAlgorithm::AesGmac,
    ] {
        assert_eq!(SigningAlgorithm::from_id(a.id()), Some(a));
    }
    assert_eq!(SigningAlgorithm::from_id(3), None);
}
