//! The client side of NTLMv2-in-SPNEGO as SMB2 SESSION_SETUP uses it ([MS-NLMP] 3.1.5,
//! [MS-SPNG] 3.3.5.1).

use super::ntlm::*;
use super::ntlm_crypto::{
    hmac_md5, lmv2_response, ntlmv2_response, ntlmv2_temp, ntowfv2, rc4, NtlmSecurity,
};
use super::spnego::{mech_type_list, NegState, NegTokenInit, NegTokenResp, OID_NTLMSSP};
use super::{AuthError, Credentials};
use rand::RngCore;

/// What the client sends and how it builds the NTLMv2 blob. The defaults mirror a current
/// Windows client; tests override them to replay the published traces byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NtlmConfig {
    /// Flags of the NEGOTIATE message. The AUTHENTICATE flags are these ANDed with the
    /// server's, plus NTLMSSP_NEGOTIATE_TARGET_INFO if the server set it.
    pub negotiate_flags: u32,
    /// VERSION field (ProductMajor, ProductMinor, Build LE, 3 reserved, NTLMRevision 15).
    pub version: [u8; 8],
    /// MsvAvTargetName, e.g. "cifs/fileserver" (lets servers enforce SPN checks).
    pub target_spn: Option<String>,
    /// MsvAvChannelBindings. Windows sends 16 zero bytes when there is no TLS channel.
    pub channel_bindings: Option<[u8; 16]>,
    /// MsvAvSingleHost value (48 bytes on Windows; machine-specific, off by default).
    pub single_host: Option<Vec<u8>>,
    /// Windows appends 4 zero bytes after the `temp` blob's trailing Z(4); servers accept both.
    pub windows_padding: bool,
}

/// Flags we ask for: the Windows set plus SEAL (harmless for SMB, needed by callers that
/// want NTLM sealing). No OEM or LM_KEY: we are Unicode-only and NTLMv2-only.
pub const DEFAULT_NEGOTIATE_FLAGS: u32 = NTLMSSP_NEGOTIATE_UNICODE
    | NTLMSSP_REQUEST_TARGET
    | NTLMSSP_NEGOTIATE_SIGN
    | NTLMSSP_NEGOTIATE_SEAL
    | NTLMSSP_NEGOTIATE_NTLM
    | NTLMSSP_NEGOTIATE_ALWAYS_SIGN
    | NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY
    | NTLMSSP_NEGOTIATE_VERSION
    | NTLMSSP_NEGOTIATE_128
    | NTLMSSP_NEGOTIATE_KEY_EXCH
    | NTLMSSP_NEGOTIATE_56;

impl Default for NtlmConfig {
    fn default() -> Self {
        NtlmConfig {
            negotiate_flags: DEFAULT_NEGOTIATE_FLAGS,
            // 10.0 build 19041, NTLMSSP_REVISION_W2K3.
            version: [10, 0, 0x61, 0x4a, 0, 0, 0, 15],
            target_spn: None,
            channel_bindings: Some([0; 16]),
            single_host: None,
            windows_padding: true,
        }
    }
}

/// The server's identity as announced in its CHALLENGE (for logging).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServerInfo {
    pub target_name: String,
    pub netbios_computer: Option<String>,
    pub netbios_domain: Option<String>,
    pub dns_computer: Option<String>,
    pub dns_domain: Option<String>,
    pub dns_tree: Option<String>,
    pub version: Option<[u8; 8]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Start,
    SentNegotiate,
    SentAuthenticate,
    Done,
}

pub struct NtlmAuthenticator {
    creds: Credentials,
    config: NtlmConfig,
    client_challenge: [u8; 8],
    random_session_key: [u8; 16],
    time: Option<u64>,
    state: State,
    negotiate_msg: Vec<u8>,
    mech_types_der: Vec<u8>,
    session_key: Option<[u8; 16]>,
    server_security: Option<NtlmSecurity>,
    server_info: Option<ServerInfo>,
}

impl core::fmt::Debug for NtlmAuthenticator {
    // Only non-secret state: no password, challenge randomness or keys.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("NtlmAuthenticator")
            .field("creds", &self.creds)
            .field("state", &self.state)
            .field("has_session_key", &self.session_key.is_some())
            .finish()
    }
}

/// Current time as a FILETIME (100 ns ticks since 1601-01-01).
fn filetime_now() -> u64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() + 11_644_473_600) * 10_000_000 + u64::from(d.subsec_nanos() / 100)
}

impl NtlmAuthenticator {
    /// An authenticator with fresh randomness from the OS.
    pub fn new(creds: Credentials) -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut cc = [0u8; 8];
        let mut key = [0u8; 16];
        rng.fill_bytes(&mut cc);
        rng.fill_bytes(&mut key);
        Self::with_randomness(creds, cc, key, None)
    }

    /// Deterministic variant for tests: the client challenge, the random ExportedSessionKey
    /// and the time (FILETIME; None = now, unless the server sends MsvAvTimestamp).
    pub fn with_randomness(
        creds: Credentials,
        client_challenge: [u8; 8],
        exported_session_key: [u8; 16],
        time: Option<u64>,
    ) -> Self {
        NtlmAuthenticator {
            creds,
            config: NtlmConfig::default(),
            client_challenge,
            random_session_key: exported_session_key,
            time,
            state: State::Start,
            negotiate_msg: Vec::new(),
            mech_types_der: mech_type_list(&[OID_NTLMSSP]),
            session_key: None,
            server_security: None,
            server_info: None,
        }
    }

    pub fn with_config(mut self, config: NtlmConfig) -> Self {
        self.config = config;
        self
    }

    pub fn config_mut(&mut self) -> &mut NtlmConfig {
        &mut self.config
    }

    /// Sends MsvAvTargetName "cifs/<server>".
    pub fn set_target_server(&mut self, server: &str) {
        self.config.target_spn = Some(format!("cifs/{server}"));
    }

    pub fn is_anonymous(&self) -> bool {
        self.creds.is_anonymous()
    }

    /// The server's names from the CHALLENGE target info, once `step` has run.
    pub fn server_info(&self) -> Option<&ServerInfo> {
        self.server_info.as_ref()
    }

    /// The ExportedSessionKey (the SMB session key), after a successful `step`.
    /// None for anonymous logons, which have no session key.
    pub fn session_key(&self) -> Option<[u8; 16]> {
        self.session_key
    }

    /// The first SESSION_SETUP security buffer: SPNEGO NegTokenInit offering NTLMSSP with the
    /// NEGOTIATE message as mechToken.
    pub fn initial_token(&mut self) -> Vec<u8> {
        let neg = NegotiateMessage {
            flags: self.config.negotiate_flags,
            domain: Vec::new(),
            workstation: Vec::new(),
            version: (self.config.negotiate_flags & NTLMSSP_NEGOTIATE_VERSION != 0)
                .then_some(self.config.version),
        };
        self.negotiate_msg = neg.encode();
        self.state = State::SentNegotiate;
        NegTokenInit {
            mech_types: vec![OID_NTLMSSP.to_vec()],
            mech_types_der: self.mech_types_der.clone(),
            mech_token: Some(self.negotiate_msg.clone()),
            mech_list_mic: None,
        }
        .encode()
    }

    /// Takes the server's CHALLENGE token and returns the AUTHENTICATE token (with the
    /// SPNEGO mechListMIC when a session key exists).
    pub fn step(&mut self, server_token: &[u8]) -> Result<Vec<u8>, AuthError> {
        if self.state != State::SentNegotiate {
            return Err(AuthError::BadState(
                "step() before initial_token() or twice",
            ));
        }
        let challenge_bytes = if server_token.starts_with(NTLMSSP_SIGNATURE) {
            server_token.to_vec()
        } else {
            let resp = NegTokenResp::decode(server_token)?;
            if resp.neg_state == Some(NegState::Reject) {
                return Err(AuthError::ServerRejected);
            }
            if let Some(m) = &resp.supported_mech {
                if m != OID_NTLMSSP {
                    return Err(AuthError::NoNtlmMech);
                }
            }
            resp.response_token.ok_or(AuthError::MalformedToken(
                "no CHALLENGE in the server token",
            ))?
        };
        let challenge = ChallengeMessage::decode(&challenge_bytes)?;
        if challenge.flags & NTLMSSP_NEGOTIATE_UNICODE == 0 {
            return Err(AuthError::Unsupported("Unicode"));
        }
        let av = AvPairs::decode(&challenge.target_info).unwrap_or_default();
        self.server_info = Some(ServerInfo {
            target_name: from_utf16le(&challenge.target_name),
            netbios_computer: av.name(MSV_AV_NB_COMPUTER_NAME),
            netbios_domain: av.name(MSV_AV_NB_DOMAIN_NAME),
            dns_computer: av.name(MSV_AV_DNS_COMPUTER_NAME),
            dns_domain: av.name(MSV_AV_DNS_DOMAIN_NAME),
            dns_tree: av.name(MSV_AV_DNS_TREE_NAME),
            version: challenge.version,
        });
        let mut flags = (self.config.negotiate_flags & challenge.flags)
            | (challenge.flags & NTLMSSP_NEGOTIATE_TARGET_INFO);
        let auth = if self.creds.is_anonymous() {
            flags |= NTLMSSP_ANONYMOUS;
            flags &= !NTLMSSP_NEGOTIATE_KEY_EXCH;
            self.authenticate_anonymous(flags)
        } else {
            if flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY == 0 {
                return Err(AuthError::Unsupported("extended session security"));
            }
            self.authenticate_ntlmv2(flags, &challenge, &challenge_bytes, av)
        };
        self.state = State::SentAuthenticate;
        let mech_list_mic = self.session_key.map(|k| {
            let mut client = NtlmSecurity::new(&k, flags, true);
            self.server_security = Some(NtlmSecurity::new(&k, flags, false));
            client.sign(&self.mech_types_der).to_vec()
        });
        Ok(NegTokenResp {
            // Windows sends accept-incomplete here; the server answers accept-completed.
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: None,
            response_token: Some(auth),
            mech_list_mic,
        }
        .encode())
    }

    fn authenticate_anonymous(&mut self, flags: u32) -> Vec<u8> {
        // [MS-NLMP] 3.1.5.1.2: LmChallengeResponse = Z(1), empty NtChallengeResponse.
        AuthenticateMessage {
            lm_response: vec![0],
            flags,
            version: Some(self.config.version),
            ..Default::default()
        }
        .encode()
    }

    fn authenticate_ntlmv2(
        &mut self,
        flags: u32,
        challenge: &ChallengeMessage,
        challenge_bytes: &[u8],
        mut av: AvPairs,
    ) -> Vec<u8> {
        let server_time = av.timestamp();
        // With MsvAvTimestamp the server's time is used and a MIC is sent (3.1.5.1.2).
        let time = server_time.or(self.time).unwrap_or_else(filetime_now);
        let with_mic = server_time.is_some();
        if with_mic {
            let old = av
                .get(MSV_AV_FLAGS)
                .and_then(|v| v.try_into().ok())
                .map(u32::from_le_bytes)
                .unwrap_or(0);
            av.set(
                MSV_AV_FLAGS,
                (old | MSV_AV_FLAG_MIC_PRESENT).to_le_bytes().to_vec(),
            );
        }
        if let Some(sh) = &self.config.single_host {
            av.set(MSV_AV_SINGLE_HOST, sh.clone());
        }
        if let Some(cb) = self.config.channel_bindings {
            av.set(MSV_AV_CHANNEL_BINDINGS, cb.to_vec());
        }
        if let Some(spn) = &self.config.target_spn {
            av.set(MSV_AV_TARGET_NAME, utf16le(spn));
        }
        let key = ntowfv2(
            &self.creds.password,
            &self.creds.username,
            &self.creds.domain,
        );
        let padding = if self.config.windows_padding { 4 } else { 0 };
        let temp = ntlmv2_temp(time, &self.client_challenge, &av.encode(), padding);
        let resp = ntlmv2_response(&key, &challenge.server_challenge, &temp);
        let lm = if with_mic {
            vec![0; 24]
        } else {
            lmv2_response(&key, &challenge.server_challenge, &self.client_challenge)
        };
        // NTLMv2: KeyExchangeKey = SessionBaseKey.
        let kxkey = resp.session_base_key;
        let (exported, erk) = if flags & NTLMSSP_NEGOTIATE_KEY_EXCH != 0 {
            (
                self.random_session_key,
                rc4(&kxkey, &self.random_session_key),
            )
        } else {
            (kxkey, Vec::new())
        };
        let mut msg = AuthenticateMessage {
            lm_response: lm,
            nt_response: resp.nt_challenge_response,
            domain: utf16le(&self.creds.domain),
            user: utf16le(&self.creds.username),
            workstation: utf16le(&self.creds.workstation),
            encrypted_random_session_key: erk,
            flags,
            version: Some(self.config.version),
            mic: with_mic.then_some([0; 16]),
        }
        .encode();
        if with_mic {
            let mic = hmac_md5(&exported, &[&self.negotiate_msg, challenge_bytes, &msg]);
            msg[AUTHENTICATE_MIC_OFFSET..AUTHENTICATE_MIC_OFFSET + 16].copy_from_slice(&mic);
        }
        self.session_key = Some(exported);
        msg
    }

    /// Processes the server's last token (from the STATUS_SUCCESS SESSION_SETUP response).
    /// An empty token is accepted; a mechListMIC, when present, must verify.
    pub fn finish(&mut self, server_token: &[u8]) -> Result<(), AuthError> {
        if self.state != State::SentAuthenticate {
            return Err(AuthError::BadState("finish() before step()"));
        }
        if server_token.is_empty() {
            self.state = State::Done;
            return Ok(());
        }
        let resp = NegTokenResp::decode(server_token)?;
        match resp.neg_state {
            Some(NegState::Reject) => return Err(AuthError::ServerRejected),
            Some(NegState::AcceptIncomplete) => {
                return Err(AuthError::BadState("server expects another round"))
            }
            _ => {}
        }
        if let (Some(mic), Some(sec)) = (&resp.mech_list_mic, self.server_security.as_mut()) {
            if !sec.verify(&self.mech_types_der, mic) {
                return Err(AuthError::MicMismatch);
            }
        }
        self.state = State::Done;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn challenge_token() -> Vec<u8> {
        let chal = ChallengeMessage {
            target_name: utf16le("SRV"),
            flags: 0xe28a8215,
            server_challenge: [7; 8],
            target_info: AvPairs(vec![
                (MSV_AV_NB_COMPUTER_NAME, utf16le("SRV")),
                (MSV_AV_TIMESTAMP, vec![1; 8]),
            ])
            .encode(),
            version: Some([10, 0, 0, 0, 0, 0, 0, 15]),
        };
        NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(OID_NTLMSSP.to_vec()),
            response_token: Some(chal.encode()),
            mech_list_mic: None,
        }
        .encode()
    }

    #[test]
    fn server_timestamp_means_mic_and_zero_lm() {
        let mut a = NtlmAuthenticator::with_randomness(
            Credentials::new("u", "d", "p"),
            [1; 8],
            [2; 16],
            Some(5),
        );
        a.set_target_server("srv");
        a.initial_token();
        let out = a.step(&challenge_token()).unwrap();
        let resp = NegTokenResp::decode(&out).unwrap();
        let msg = AuthenticateMessage::decode(resp.response_token.as_ref().unwrap()).unwrap();
        assert_eq!(msg.lm_response, vec![0; 24]);
        assert!(msg.mic.is_some_and(|m| m != [0; 16]));
        // The blob carries the server's timestamp, MsvAvFlags = MIC present, and the SPN.
        let blob = &msg.nt_response[16..];
        assert_eq!(&blob[8..16], &[1; 8]);
        let pairs = AvPairs::decode(&blob[28..]).unwrap();
        assert_eq!(pairs.get(MSV_AV_FLAGS), Some(&[2, 0, 0, 0][..]));
        assert_eq!(pairs.name(MSV_AV_TARGET_NAME).as_deref(), Some("cifs/srv"));
        assert_eq!(resp.mech_list_mic.as_ref().map(|m| m.len()), Some(16));
        assert_eq!(a.session_key(), Some([2; 16]));
    }

    proptest! {
        #[test]
        fn step_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
            let mut a = NtlmAuthenticator::with_randomness(Credentials::new("u", "d", "p"), [1; 8], [2; 16], Some(0));
            a.initial_token();
            let _ = a.step(&data);
            let _ = a.finish(&data);
        }

        #[test]
        fn step_never_panics_on_mutated_challenge(pos in 0usize..400, val in any::<u8>(), cut in 0usize..400) {
            let mut tok = challenge_token();
            let p = pos % tok.len();
            tok[p] = val;
            tok.truncate(tok.len() - cut % tok.len());
            let mut a = NtlmAuthenticator::with_randomness(Credentials::new("u", "d", "p"), [1; 8], [2; 16], Some(0));
            a.initial_token();
            if a.step(&tok).is_ok() {
                let _ = a.finish(&tok);
            }
        }
    }
}
