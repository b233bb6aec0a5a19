//! Published NTLM vectors: [MS-NLMP] 4.2.4 (ntlmv2.json) and the SMB 3.1.1 session NTLM
//! exchange from the "anatomy of signing and cryptographic keys" blog
//! (ntlmv2_smb_session_key.json + the SESSION_SETUP packets in preauth_3_1_1.json).

mod common;

use common::vectors::{h, hex};
use serde_json::Value;
use smb3fs::auth::ntlm::*;
use smb3fs::auth::ntlm_crypto::*;
use smb3fs::auth::spnego::{mech_type_list, NegState, NegTokenInit, NegTokenResp, OID_NTLMSSP};
use smb3fs::auth::{AuthError, Credentials, NtlmAuthenticator, NtlmConfig};

fn a16(b: &[u8]) -> [u8; 16] {
    b.try_into().unwrap()
}
fn a8(b: &[u8]) -> [u8; 8] {
    b.try_into().unwrap()
}
fn nlmp() -> Value {
    serde_json::from_str(include_str!("vectors/ntlmv2.json")).unwrap()
}
fn smb() -> Value {
    serde_json::from_str(include_str!("vectors/ntlmv2_smb_session_key.json")).unwrap()
}
fn preauth() -> Value {
    serde_json::from_str(include_str!("vectors/preauth_3_1_1.json")).unwrap()
}

#[test]
fn nlmp_ntlmv2_values() {
    let d = nlmp();
    let cv = &d["common_values"];
    let s = |k: &str| cv[k].as_str().unwrap().to_string();
    assert_eq!(utf16le(&s("user")), h(cv, "user_utf16le"));
    assert_eq!(
        nt_hash(&s("password")).to_vec(),
        hex("a4f49c406510bdcab6824ee7c30fd852")
    );
    let v2 = ntowfv2(&s("password"), &s("user"), &s("domain"));
    assert_eq!(v2.to_vec(), h(&d, "ntowfv2"), "NTOWFv2");
    let ti = h(&d, "target_info");
    let pairs = AvPairs::decode(&ti).unwrap();
    assert_eq!(pairs.encode(), ti, "AV pairs re-encode");
    for (i, p) in d["av_pairs"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .filter(|(_, p)| p["av_id_u16"] != "0000")
    {
        assert_eq!(pairs.0[i].1, h(p, "value"));
    }
    let cc = a8(&h(cv, "client_challenge"));
    let sc = a8(&h(cv, "server_challenge"));
    let time = u64::from_le_bytes(a8(&h(cv, "time")));
    let temp = ntlmv2_temp(time, &cc, &ti, 0);
    assert_eq!(temp, h(&d, "temp"), "temp");
    let r = ntlmv2_response(&v2, &sc, &temp);
    assert_eq!(r.nt_proof_str.to_vec(), h(&d, "ntproofstr"), "NTProofStr");
    assert_eq!(
        r.session_base_key.to_vec(),
        h(&d, "session_base_key"),
        "SessionBaseKey"
    );
    assert_eq!(
        r.nt_challenge_response,
        h(&d, "nt_challenge_response"),
        "NtChallengeResponse"
    );
    assert_eq!(lmv2_response(&v2, &sc, &cc), h(&d, "lmv2_response"), "LMv2");
    let rsk = a16(&h(cv, "random_session_key"));
    let erk = rc4(&r.session_base_key, &rsk);
    assert_eq!(
        erk,
        h(&d, "encrypted_random_session_key"),
        "EncryptedRandomSessionKey"
    );

    // CHALLENGE_MESSAGE decode.
    let chal_bytes = h(&d, "challenge_message");
    let chal = ChallengeMessage::decode(&chal_bytes).unwrap();
    assert_eq!(
        chal.flags,
        u32::from_str_radix(d["challenge_flags_u32"].as_str().unwrap(), 16).unwrap()
    );
    assert_eq!(chal.server_challenge, sc);
    assert_eq!(chal.target_name, h(cv, "server_name_utf16le"));
    assert_eq!(chal.target_info, ti);

    // AUTHENTICATE_MESSAGE: encode from the computed values -> exact published bytes.
    let want = h(&d, "authenticate_message");
    let fields = &d["authenticate_message_fields"];
    let msg = AuthenticateMessage {
        lm_response: h(&d, "lmv2_response"),
        nt_response: r.nt_challenge_response.clone(),
        domain: h(cv, "domain_utf16le"),
        user: h(cv, "user_utf16le"),
        workstation: h(cv, "workstation_name_utf16le"),
        encrypted_random_session_key: erk,
        flags: u32::from_str_radix(fields["negotiate_flags_u32"].as_str().unwrap(), 16).unwrap(),
        version: Some(a8(&want[64..72])),
        mic: None,
    };
    assert_eq!(msg.encode(), want, "AUTHENTICATE bytes");
    assert_eq!(
        AuthenticateMessage::decode(&want).unwrap(),
        msg,
        "AUTHENTICATE decode"
    );
    for (name, hdr) in [
        ("lm_challenge_response", 12usize),
        ("nt_challenge_response", 20),
        ("domain_name", 28),
        ("user_name", 36),
        ("workstation", 44),
        ("encrypted_random_session_key", 52),
    ] {
        let off = u32::from_le_bytes(want[hdr + 4..hdr + 8].try_into().unwrap());
        assert_eq!(
            off as u64,
            fields[name]["offset"].as_u64().unwrap(),
            "{name} offset"
        );
    }
}

#[test]
fn nlmp_gss_wrapex_seal_and_sign() {
    let d = nlmp();
    let w = &d["gss_wrapex"];
    let esk = a16(&h(&d["common_values"], "random_session_key"));
    let flags = u32::from_str_radix(
        d["authenticate_message_fields"]["negotiate_flags_u32"]
            .as_str()
            .unwrap(),
        16,
    )
    .unwrap();
    assert_eq!(
        seal_key(&esk, flags, true).to_vec(),
        h(w, "seal_key_client_to_server"),
        "SEALKEY"
    );
    assert_eq!(
        sign_key(&esk, true).to_vec(),
        h(w, "sign_key_client_to_server"),
        "SIGNKEY"
    );
    let mut data = h(w, "plaintext");
    let mut sec = NtlmSecurity::new(&esk, flags, true);
    let sig = sec.seal(&mut data);
    assert_eq!(data, h(w, "sealed_data"), "sealed data");
    assert_eq!(sig.to_vec(), h(w, "signature"), "signature");
    assert_eq!(sig[4..12].to_vec(), h(w, "checksum_after_rc4"));
    let cks = hmac_md5(
        &sign_key(&esk, true),
        &[&h(w, "seq_num"), &h(w, "plaintext")],
    );
    assert_eq!(cks[..8].to_vec(), h(w, "checksum_hmac_md5_first8"));
}

#[test]
fn smb_session_ntlm_values() {
    let d = smb();
    let i = &d["inputs"];
    let s = |k: &str| i[k].as_str().unwrap().to_string();
    assert_eq!(utf16le(&s("password")), h(i, "password_utf16le"));
    assert_eq!(nt_hash(&s("password")).to_vec(), h(&d, "nt_hash"));
    let v2 = ntowfv2(&s("password"), &s("user"), &s("domain"));
    assert_eq!(v2.to_vec(), h(&d, "ntowfv2"));
    let sc = a8(&h(&d, "server_challenge"));
    let r = ntlmv2_response(&v2, &sc, &h(&d, "temp"));
    assert_eq!(r.nt_proof_str.to_vec(), h(&d, "nt_proof_str"));
    assert_eq!(r.nt_challenge_response, h(&d, "nt_challenge_response"));
    assert_eq!(r.session_base_key.to_vec(), h(&d, "session_base_key"));
    assert_eq!(r.session_base_key.to_vec(), h(&d, "key_exchange_key"));
    let esk = rc4(&r.session_base_key, &h(&d, "encrypted_random_session_key"));
    assert_eq!(esk, h(&d, "exported_session_key"), "ExportedSessionKey");
    let esk = a16(&esk);
    let flags =
        u32::from_str_radix(d["authenticate_negotiate_flags_u32"].as_str().unwrap(), 16).unwrap();
    assert_eq!(sign_key(&esk, true).to_vec(), h(&d, "client_signing_key"));
    assert_eq!(sign_key(&esk, false).to_vec(), h(&d, "server_signing_key"));
    assert_eq!(
        seal_key(&esk, flags, true).to_vec(),
        h(&d, "client_sealing_key")
    );
    assert_eq!(
        seal_key(&esk, flags, false).to_vec(),
        h(&d, "server_sealing_key")
    );
    // MIC over the three messages with the MIC field zeroed.
    let m = &d["ntlm_messages"];
    let (neg, chal, auth) = (
        h(m, "negotiate_message"),
        h(m, "challenge_message"),
        h(m, "authenticate_message"),
    );
    let mut zeroed = auth.clone();
    zeroed[72..88].fill(0);
    assert_eq!(
        hmac_md5(&esk, &[&neg, &chal, &zeroed]).to_vec(),
        h(&d, "mic"),
        "MIC"
    );
    // The messages decode to the published fields.
    let c = ChallengeMessage::decode(&chal).unwrap();
    assert_eq!(c.server_challenge, sc);
    assert_eq!(
        c.flags,
        u32::from_str_radix(d["challenge_negotiate_flags_u32"].as_str().unwrap(), 16).unwrap()
    );
    let a = AuthenticateMessage::decode(&auth).unwrap();
    assert_eq!(a.mic.unwrap().to_vec(), h(&d, "mic"));
    assert_eq!(a.flags, flags);
    assert_eq!(a.encode(), auth, "AUTHENTICATE re-encode");
    assert_eq!(
        NegotiateMessage::decode(&neg).unwrap().encode(),
        neg,
        "NEGOTIATE re-encode"
    );
    // SPNEGO mechListMIC tokens (seq 0) in both directions.
    let sm = &d["spnego_mech_list_mic"];
    let mtl = h(sm, "mech_type_list");
    assert_eq!(mech_type_list(&[OID_NTLMSSP]), mtl);
    assert_eq!(
        NtlmSecurity::new(&esk, flags, true).sign(&mtl).to_vec(),
        h(sm, "client_mic_token")
    );
    assert_eq!(
        NtlmSecurity::new(&esk, flags, false).sign(&mtl).to_vec(),
        h(sm, "server_mic_token")
    );
    assert!(NtlmSecurity::new(&esk, flags, false).verify(&mtl, &h(sm, "server_mic_token")));
}

/// The security buffer of a SESSION_SETUP request (offset at body+12) or response (body+4).
fn security_buffer(packet: &[u8]) -> Vec<u8> {
    let is_response = u32::from_le_bytes(packet[16..20].try_into().unwrap()) & 1 != 0;
    let at = if is_response { 64 + 4 } else { 64 + 12 };
    let off = u16::from_le_bytes([packet[at], packet[at + 1]]) as usize;
    let len = u16::from_le_bytes([packet[at + 2], packet[at + 3]]) as usize;
    packet[off..off + len].to_vec()
}

/// Replays the master session of the SMB 3.1.1 trace through the authenticator.
#[test]
fn authenticator_reproduces_published_session_setup() {
    let d = smb();
    let i = &d["inputs"];
    let p = preauth();
    let steps = p["channels"][0]["session_hash_steps"].as_array().unwrap();
    let req1 = security_buffer(&h(&steps[0], "packet"));
    let resp1 = security_buffer(&h(&steps[1], "packet"));
    let req2 = security_buffer(&h(&steps[2], "packet"));
    let resp_final = security_buffer(&h(
        &p["channels"][0]["final_session_setup_response"],
        "packet",
    ));

    let creds = Credentials {
        username: i["user"].as_str().unwrap().into(),
        domain: i["domain"].as_str().unwrap().into(),
        password: i["password"].as_str().unwrap().into(),
        workstation: i["workstation"].as_str().unwrap().into(),
    };
    // The published client was Windows 8.1: its NEGOTIATE flags/version, and it sent
    // MsvAvSingleHost (machine-specific) from the published temp blob.
    let temp = h(&d, "temp");
    let pairs = AvPairs::decode(&temp[28..]).unwrap();
    let neg = NegotiateMessage::decode(&h(&d["ntlm_messages"], "negotiate_message")).unwrap();
    let config = NtlmConfig {
        negotiate_flags: neg.flags,
        version: neg.version.unwrap(),
        target_spn: Some("cifs/SUT311".into()),
        channel_bindings: Some([0; 16]),
        single_host: pairs.get(MSV_AV_SINGLE_HOST).map(|v| v.to_vec()),
        windows_padding: true,
    };
    let esk = a16(&h(&d, "exported_session_key"));
    let cc = a8(&h(&d, "client_challenge"));
    let mut auth = NtlmAuthenticator::with_randomness(creds.clone(), cc, esk, None)
        .with_config(config.clone());
    assert!(!auth.is_anonymous());
    assert_eq!(auth.session_key(), None);

    let t1 = auth.initial_token();
    assert_eq!(t1, req1, "NegTokenInit bytes");
    let parsed = NegTokenInit::decode(&t1).unwrap();
    assert_eq!(
        parsed.mech_token.unwrap(),
        h(&d["ntlm_messages"], "negotiate_message")
    );

    let t2 = auth.step(&resp1).unwrap();
    let r2 = NegTokenResp::decode(&t2).unwrap();
    let pub2 = NegTokenResp::decode(&req2).unwrap();
    let a = AuthenticateMessage::decode(r2.response_token.as_ref().unwrap()).unwrap();
    assert_eq!(
        a.nt_response,
        h(&d, "nt_challenge_response"),
        "NtChallengeResponse"
    );
    assert_eq!(
        a.encrypted_random_session_key,
        h(&d, "encrypted_random_session_key")
    );
    assert_eq!(a.mic.unwrap().to_vec(), h(&d, "mic"), "MIC");
    assert_eq!(
        a.lm_response,
        vec![0; 24],
        "LMv2 is zeros with MsvAvTimestamp"
    );
    assert_eq!(r2.response_token, pub2.response_token, "AUTHENTICATE bytes");
    assert_eq!(
        r2.mech_list_mic.as_deref(),
        Some(&h(&d["spnego_mech_list_mic"], "client_mic_token")[..])
    );
    assert_eq!(t2, req2, "whole NegTokenResp bytes");
    assert_eq!(auth.session_key(), Some(esk), "ExportedSessionKey");
    let info = auth.server_info().unwrap();
    assert_eq!(info.netbios_computer.as_deref(), Some("SUT311"));
    assert_eq!(info.target_name, "SUT311");

    // The server's final token carries accept-completed and its mechListMIC.
    let fin = NegTokenResp::decode(&resp_final).unwrap();
    assert_eq!(fin.neg_state, Some(NegState::AcceptCompleted));
    let mut bad = resp_final.clone();
    let n = bad.len();
    bad[n - 9] ^= 1; // inside the RC4-encrypted checksum
    let mut auth_bad = NtlmAuthenticator::with_randomness(creds.clone(), cc, esk, None)
        .with_config(config.clone());
    auth_bad.initial_token();
    auth_bad.step(&resp1).unwrap();
    assert_eq!(auth_bad.finish(&bad), Err(AuthError::MicMismatch));
    auth.finish(&resp_final).unwrap();

    // An empty final token is fine too.
    let mut auth3 = NtlmAuthenticator::with_randomness(creds, cc, esk, None).with_config(config);
    auth3.initial_token();
    auth3.step(&resp1).unwrap();
    auth3.finish(&[]).unwrap();
}

#[test]
fn authenticator_state_and_errors() {
    let creds = Credentials::new("u", "D", "p");
    let mut a = NtlmAuthenticator::new(creds.clone());
    assert!(matches!(a.step(&[]), Err(AuthError::BadState(_))));
    let t = a.initial_token();
    assert!(NegTokenInit::decode(&t).is_ok());
    let reject = NegTokenResp {
        neg_state: Some(NegState::Reject),
        ..Default::default()
    }
    .encode();
    assert_eq!(a.step(&reject), Err(AuthError::ServerRejected));
    assert!(a.step(&[0x30, 0x03, 1, 2]).is_err());
    let other = NegTokenResp {
        supported_mech: Some(vec![0x2a, 0x86, 0x48]),
        response_token: Some(vec![]),
        ..Default::default()
    }
    .encode();
    assert_eq!(a.step(&other), Err(AuthError::NoNtlmMech));
    // A CHALLENGE without MsvAvTimestamp: LMv2 is computed and no MIC is sent.
    let chal = ChallengeMessage {
        target_name: utf16le("S"),
        flags: 0xe28a8215,
        server_challenge: [1; 8],
        target_info: AvPairs(vec![(MSV_AV_NB_COMPUTER_NAME, utf16le("S"))]).encode(),
        version: None,
    };
    let tok = NegTokenResp {
        neg_state: Some(NegState::AcceptIncomplete),
        response_token: Some(chal.encode()),
        ..Default::default()
    }
    .encode();
    let out = a.step(&tok).unwrap();
    let am = AuthenticateMessage::decode(
        NegTokenResp::decode(&out)
            .unwrap()
            .response_token
            .as_ref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(am.mic, None);
    assert_eq!(am.lm_response.len(), 24);
    assert_ne!(am.lm_response, vec![0; 24]);
    assert!(a.session_key().is_some());
    // Anonymous logon.
    let mut anon = NtlmAuthenticator::new(Credentials::default());
    assert!(anon.is_anonymous());
    anon.initial_token();
    let out = anon.step(&chal.encode()).unwrap();
    let am = AuthenticateMessage::decode(
        NegTokenResp::decode(&out)
            .unwrap()
            .response_token
            .as_ref()
            .unwrap(),
    )
    .unwrap();
    assert!(am.nt_response.is_empty());
    assert_ne!(am.flags & NTLMSSP_ANONYMOUS, 0);
    assert_eq!(anon.session_key(), None);
    // Debug output never shows the password.
    assert!(!format!("{a:?}").contains("\"p\""));
}

/// verify.py's cross-check: the same password, run through our NTLM codecs and NTLMv2
/// functions, reproduces the published SessionKey of every other trace (the binding channel
/// and the GCM and CCM encryption sessions).
#[test]
fn password_reproduces_every_published_session_key() {
    let pw = smb()["inputs"]["password"].as_str().unwrap().to_string();
    let enc: Value = serde_json::from_str(include_str!("vectors/encryption_3_1_1.json")).unwrap();
    // (name, CHALLENGE packet, AUTHENTICATE packet, published SessionKey)
    type Trace = (String, Vec<u8>, Vec<u8>, Vec<u8>);
    let mut traces: Vec<Trace> = Vec::new();
    for c in preauth()["channels"].as_array().unwrap() {
        let st = c["session_hash_steps"].as_array().unwrap();
        traces.push((
            c["name"].to_string(),
            h(&st[1], "packet"),
            h(&st[2], "packet"),
            h(c, "session_key"),
        ));
    }
    for v in enc["vectors"].as_array().unwrap() {
        let st = v["preauth_hash_steps"].as_array().unwrap();
        traces.push((
            v["name"].to_string(),
            h(&st[3], "packet"),
            h(&st[4], "packet"),
            h(v, "session_key"),
        ));
    }
    assert_eq!(traces.len(), 4);
    for (name, chal_pkt, auth_pkt, want) in traces {
        let chal_tok = NegTokenResp::decode(&security_buffer(&chal_pkt))
            .unwrap()
            .response_token
            .unwrap();
        let auth_tok = NegTokenResp::decode(&security_buffer(&auth_pkt))
            .unwrap()
            .response_token
            .unwrap();
        let chal = ChallengeMessage::decode(&chal_tok).unwrap();
        let auth = AuthenticateMessage::decode(&auth_tok).unwrap();
        let user = from_utf16le(&auth.user);
        let domain = from_utf16le(&auth.domain);
        let v2 = ntowfv2(&pw, &user, &domain);
        let r = ntlmv2_response(&v2, &chal.server_challenge, &auth.nt_response[16..]);
        assert_eq!(
            r.nt_proof_str[..],
            auth.nt_response[..16],
            "{name}: NTProofStr"
        );
        let esk = rc4(&r.session_base_key, &auth.encrypted_random_session_key);
        assert_eq!(esk, want, "{name}: SessionKey");
    }
}
