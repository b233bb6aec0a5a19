//! Decode real packets from the published Microsoft test vectors (tests/vectors/*.json)
//! and check that re-encoding reproduces the client's bytes exactly. This pins our layout
//! (offsets, padding, context alignment) to what Windows actually puts on the wire.

use super::*;
use serde_json::Value;

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2));
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn u16_be_hex(s: &str) -> u16 {
    u16::from_str_radix(s, 16).unwrap()
}

fn u64_be_hex(s: &str) -> u64 {
    u64::from_str_radix(s, 16).unwrap()
}

/// Decode as `B`, check the command, and (for client-built packets) that re-encoding the
/// header and body reproduces the packet byte for byte.
fn decode_check<B: Body + core::fmt::Debug>(packet: &[u8], exact: bool) -> (Header, B) {
    let (h, b) = decode_body::<B>(packet)
        .unwrap_or_else(|e| panic!("{e} decoding {}", core::any::type_name::<B>()));
    if exact {
        let again = encode_message(&h, &b);
        assert_eq!(
            hex_str(&again),
            hex_str(packet),
            "re-encoding {}",
            core::any::type_name::<B>()
        );
    }
    (h, b)
}

fn hex_str(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn check_handshake(
    steps: &[&Value],
    salt: &[u8],
    client_ciphers: &[u16],
    selected: Option<u16>,
    session_id: u64,
) {
    for step in steps {
        let name = step["message"].as_str().unwrap();
        let p = hex(step["packet"].as_str().unwrap());
        if name.starts_with("negotiate_request") {
            let (h, req) = decode_check::<NegotiateRequest>(&p, true);
            assert!(!h.is_response());
            assert!(req.dialects.contains(&DIALECT_311));
            assert_eq!(req.dialects, vec![0x0202, 0x0210, 0x0300, 0x0302, 0x0311]);
            assert!(req.contexts.contains(&NegotiateContext::PreauthIntegrity {
                hash_algorithms: vec![HASH_SHA512],
                salt: salt.to_vec()
            }));
            assert!(req.contexts.contains(&NegotiateContext::Encryption {
                ciphers: client_ciphers.to_vec()
            }));
        } else if name.starts_with("negotiate_response") {
            let (h, resp) = decode_check::<NegotiateResponse>(&p, true);
            assert!(h.is_response());
            assert_eq!(h.status, NtStatus::SUCCESS);
            assert_eq!(resp.dialect_revision, DIALECT_311);
            assert!(!resp.security_buffer.is_empty());
            assert_eq!(resp.preauth_integrity().unwrap().0, &[HASH_SHA512]);
            if let Some(sel) = selected {
                assert_eq!(resp.cipher(), Some(sel));
            }
            // (Re-encoding already matched byte for byte above.)
            let again = encode_message(&h, &resp);
            assert_eq!(decode_body::<NegotiateResponse>(&again).unwrap().1, resp);
        } else if name.starts_with("session_setup_request") {
            let (h, req) = decode_check::<SessionSetupRequest>(&p, true);
            assert!(!req.security_buffer.is_empty());
            assert_eq!(
                req.flags & SESSION_FLAG_BINDING != 0,
                name.contains("binding")
            );
            if name.ends_with("_2") || name.ends_with("_2_binding") {
                assert_eq!(h.session_id, session_id);
            }
        } else if name.starts_with("session_setup_response") {
            let (h, resp) = decode_check::<SessionSetupResponse>(&p, true);
            assert_eq!(h.status, NtStatus::MORE_PROCESSING_REQUIRED);
            assert_eq!(h.session_id, session_id);
            assert!(!resp.security_buffer.is_empty());
        } else {
            panic!("unexpected step {name}");
        }
    }
}

#[test]
fn preauth_3_1_1_packets() {
    let v: Value =
        serde_json::from_str(include_str!("../../tests/vectors/preauth_3_1_1.json")).unwrap();
    let mut channels = 0;
    for ch in v["channels"].as_array().unwrap() {
        channels += 1;
        let salt = hex(ch["preauth_salt"].as_str().unwrap());
        let ciphers: Vec<u16> = ch["client_cipher_ids_u16"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| u16_be_hex(c.as_str().unwrap()))
            .collect();
        let selected = ch
            .get("selected_cipher_id_u16")
            .and_then(|s| s.as_str())
            .map(u16_be_hex);
        let sid = u64_be_hex(ch["session_id_u64"].as_str().unwrap());
        let mut steps: Vec<&Value> = ch["connection_hash_steps"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        steps.extend(ch["session_hash_steps"].as_array().unwrap());
        assert!(steps.len() >= 5);
        check_handshake(&steps, &salt, &ciphers, selected, sid);
        let fin = hex(ch["final_session_setup_response"]["packet"]
            .as_str()
            .unwrap());
        let (h, _) = decode_check::<SessionSetupResponse>(&fin, true);
        assert_eq!(h.status, NtStatus::SUCCESS);
        assert!(h.is_signed());
        assert_eq!(
            h.signature.to_vec(),
            hex(ch["final_session_setup_response"]["header_signature"]
                .as_str()
                .unwrap())
        );
    }
    assert_eq!(channels, 2);
}

fn check_io_messages(messages: &[Value], content: &[u8], session_id: u64) {
    let mut seen = 0;
    for m in messages {
        let p = hex(m["plaintext"].as_str().unwrap());
        let name = m["name"].as_str().unwrap();
        let h = Header::decode(&p).unwrap();
        assert_eq!(h.session_id, session_id);
        match name {
            "write_request" => {
                let (_, w) = decode_check::<WriteRequest>(&p, true);
                assert_eq!(w.data, content);
                assert_eq!(w.offset, 0);
                let mut again = Vec::new();
                h.encode(&mut again);
                WriteRequest::encode_with_data(w.offset, w.file_id, w.flags, content, &mut again);
                assert_eq!(again, p);
            }
            "write_response" => {
                let (_, w) = decode_check::<WriteResponse>(&p, true);
                assert_eq!(w.count as usize, content.len());
            }
            "read_request" => {
                let (_, r) = decode_check::<ReadRequest>(&p, true);
                assert_eq!(r.length as usize, content.len());
            }
            "read_response" => {
                let (_, r) = decode_check::<ReadResponse>(&p, true);
                assert_eq!(r.data, content);
                let range = ReadResponse::data_range(&p[HEADER_LEN..]).unwrap();
                assert_eq!(&p[HEADER_LEN..][range], content);
            }
            other => panic!("unexpected message {other}"),
        }
        // The transform header in front of the ciphertext decodes too.
        let tm = hex(m["transformed_message"].as_str().unwrap());
        let th = TransformHeader::decode(&tm).unwrap();
        assert_eq!(th.session_id, session_id);
        assert_eq!(th.original_message_size as usize, p.len());
        seen += 1;
    }
    assert_eq!(seen, 4);
}

#[test]
fn encryption_3_1_1_packets() {
    let v: Value =
        serde_json::from_str(include_str!("../../tests/vectors/encryption_3_1_1.json")).unwrap();
    let content = hex(v["content_written"].as_str().unwrap());
    for vec in v["vectors"].as_array().unwrap() {
        let sid = u64_be_hex(vec["session_id_u64"].as_str().unwrap());
        let salt = hex(vec["preauth_salt"].as_str().unwrap());
        let ciphers: Vec<u16> = vec["client_cipher_ids_u16"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| u16_be_hex(c.as_str().unwrap()))
            .collect();
        let steps: Vec<&Value> = vec["preauth_hash_steps"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        check_handshake(
            &steps,
            &salt,
            &ciphers,
            Some(u16_be_hex(vec["cipher_id_u16"].as_str().unwrap())),
            sid,
        );
        check_io_messages(vec["messages"].as_array().unwrap(), &content, sid);
    }
}

#[test]
fn encryption_3_0_packets() {
    let v: Value =
        serde_json::from_str(include_str!("../../tests/vectors/encryption_3_0.json")).unwrap();
    let content = hex(v["content_written"].as_str().unwrap());
    let sid = u64_be_hex(v["session_id_u64"].as_str().unwrap());
    check_io_messages(v["messages"].as_array().unwrap(), &content, sid);
}
