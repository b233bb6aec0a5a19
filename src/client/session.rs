//! Negotiate, session setup (NTLMv2 in SPNEGO, pre-authentication integrity, key derivation) and
//! tree connect: everything between an open TCP stream and a share we may use.

use std::sync::Arc;

use rand::RngCore;
use tokio::net::TcpStream;

use super::conn::{Connection, Outgoing, Response, Security};
use super::error::{ClientError, Result};
use super::options::{dialect_name, ConnectOptions};
use crate::auth::NtlmAuthenticator;
use crate::crypto::kdf::derive_session_keys;
use crate::crypto::preauth::PreauthHash;
use crate::crypto::seal::{Decryptor, Encryptor};
use crate::crypto::{signing, Cipher, SigningAlgorithm};
use crate::proto::header::FLAGS_SIGNED;
use crate::proto::negotiate::*;
use crate::proto::session::{
    SessionSetupRequest, SessionSetupResponse, SESSION_FLAG_ENCRYPT_DATA, SESSION_FLAG_IS_GUEST,
    SESSION_FLAG_IS_NULL,
};
use crate::proto::tree::{TreeConnectRequest, TreeConnectResponse, SHAREFLAG_ENCRYPT_DATA};
use crate::proto::{Body, NtStatus};

/// What was agreed with the server; shown by `smb3fs info` and the mount's status.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub server: String,
    pub share: String,
    pub dialect: u16,
    pub cipher: Option<Cipher>,
    /// Whether every message after logon is sealed.
    pub encrypted: bool,
    pub signing: SigningAlgorithm,
    pub session_flags: u16,
    pub share_flags: u32,
    pub share_type: u8,
    pub maximal_access: u32,
    pub server_guid: [u8; 16],
    pub server_capabilities: u32,
    pub max_read_size: u32,
    pub max_write_size: u32,
    pub max_transact_size: u32,
}

impl SessionInfo {
    pub fn dialect_name(&self) -> String {
        dialect_name(self.dialect)
    }
}

pub(crate) struct Established {
    pub conn: Arc<Connection>,
    pub session_id: u64,
    pub tree_id: u32,
    pub info: SessionInfo,
}

fn outgoing<B: Body>(body: &B, tree_id: u32) -> Outgoing<'static> {
    let mut buf = Vec::new();
    body.encode(&mut buf);
    Outgoing {
        command: B::COMMAND,
        tree_id,
        related: false,
        body: buf,
        data: &[],
        in_place: None,
        payload: 0,
    }
}

fn decode<B: Body>(resp: &Response) -> Result<B> {
    Ok(B::decode(resp.body())?)
}

struct Negotiated {
    dialect: u16,
    cipher: Option<Cipher>,
    signing: SigningAlgorithm,
    preauth: PreauthHash,
    response: NegotiateResponse,
}

/// Connect, negotiate, log on and connect to the share.
pub(crate) async fn establish(opts: &ConnectOptions) -> Result<Established> {
    if opts.credentials.username.is_empty() {
        return Err(ClientError::Policy(
            "no user name given: anonymous sessions are refused (use -o username=… or credentials=FILE)"
                .into(),
        ));
    }
    let addr = if opts.host.contains(':') {
        format!("[{}]:{}", opts.host, opts.port)
    } else {
        format!("{}:{}", opts.host, opts.port)
    };
    let stream = match tokio::time::timeout(opts.connect_timeout, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => return Err(ClientError::Connect { addr, source }),
        Err(_) => {
            return Err(ClientError::ConnectTimeout {
                addr,
                secs: opts.connect_timeout.as_secs(),
            })
        }
    };
    let conn = Connection::start(stream, addr.clone(), opts.request_timeout);
    let result = logon_and_connect(&conn, opts).await;
    if result.is_err() {
        conn.shutdown().await;
    }
    result
}

async fn logon_and_connect(conn: &Arc<Connection>, opts: &ConnectOptions) -> Result<Established> {
    let neg = negotiate(conn, opts).await?;
    let (session_id, session_flags) = session_setup(conn, opts, &neg).await?;

    let path = format!("\\\\{}\\{}", opts.host, opts.share);
    let resp = conn
        .call(
            outgoing(&TreeConnectRequest { flags: 0, path }, 0),
            session_id,
        )
        .await?;
    let status = resp.status();
    if status == NtStatus::BAD_NETWORK_NAME {
        return Err(ClientError::ShareNotFound {
            share: opts.share.clone(),
            status,
        });
    }
    if !status.is_success() {
        return Err(ClientError::Status {
            op: "tree connect",
            path: opts.share.clone(),
            status,
        });
    }
    let tree: TreeConnectResponse = decode(&resp)?;
    let sec = conn.security();
    let mut encrypted = sec.as_ref().is_some_and(|s| s.encryptor.is_some());
    if tree.share_flags & SHAREFLAG_ENCRYPT_DATA != 0 && !encrypted {
        // The share wants sealing although the session did not: seal from now on.
        let cipher = neg.cipher.ok_or_else(|| {
            ClientError::Policy(format!(
                "share '{}' requires encryption but no cipher was negotiated",
                opts.share
            ))
        })?;
        let old = sec.ok_or_else(|| ClientError::Unexpected("no session keys".into()))?;
        conn.install_security(Security {
            session_id: old.session_id,
            signing_algorithm: old.signing_algorithm,
            encryptor: Some(Encryptor::new(cipher, &old.keys.encryption_key)),
            decryptor: Some(Decryptor::new(cipher, &old.keys.decryption_key)),
            keys: old.keys.clone(),
        });
        encrypted = true;
    }
    let tree_id = resp.header.tree_id;
    let r = &neg.response;
    Ok(Established {
        conn: Arc::clone(conn),
        session_id,
        tree_id,
        info: SessionInfo {
            server: opts.host.clone(),
            share: opts.share.clone(),
            dialect: neg.dialect,
            cipher: neg.cipher,
            encrypted,
            signing: neg.signing,
            session_flags,
            share_flags: tree.share_flags,
            share_type: tree.share_type,
            maximal_access: tree.maximal_access,
            server_guid: r.server_guid,
            server_capabilities: r.capabilities,
            max_read_size: r.max_read_size,
            max_write_size: r.max_write_size,
            max_transact_size: r.max_transact_size,
        },
    })
}

async fn negotiate(conn: &Connection, opts: &ConnectOptions) -> Result<Negotiated> {
    let dialects = opts.dialects();
    if dialects.is_empty() {
        return Err(ClientError::Policy(
            "no dialect between the chosen floor and ceiling".into(),
        ));
    }
    let mut client_guid = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut client_guid);
    let mut contexts = Vec::new();
    if dialects.contains(&DIALECT_311) {
        let mut salt = vec![0u8; 32];
        rand::thread_rng().fill_bytes(&mut salt);
        contexts.push(NegotiateContext::PreauthIntegrity {
            hash_algorithms: vec![HASH_SHA512],
            salt,
        });
        contexts.push(NegotiateContext::Encryption {
            ciphers: opts.ciphers.iter().map(|c| c.id()).collect(),
        });
        contexts.push(NegotiateContext::Signing {
            algorithms: opts.signing.iter().map(|s| s.id()).collect(),
        });
    }
    let req = NegotiateRequest {
        security_mode: SECURITY_MODE_SIGNING_ENABLED,
        // Samba ignores the 3.1.1 encryption context unless this capability bit is set too.
        capabilities: GLOBAL_CAP_ENCRYPTION | GLOBAL_CAP_LARGE_MTU | GLOBAL_CAP_LEASING,
        client_guid,
        dialects,
        contexts,
    };
    let offered = format!(
        "{}..{}",
        dialect_name(opts.min_dialect),
        dialect_name(opts.max_dialect)
    );
    let (sent, resp) = match conn.call_capturing(outgoing(&req, 0), 0).await {
        Ok(r) => r,
        Err(ClientError::Disconnected(why)) => {
            return Err(ClientError::Policy(format!(
                "the server closed the connection during NEGOTIATE ({why}): it probably accepts \
                 none of the offered dialects {offered} (see the vers, min_vers and max_vers options)"
            )))
        }
        Err(e) => return Err(e),
    };
    if !resp.status().is_success() {
        return Err(ClientError::Policy(format!(
            "the server refused every offered dialect ({}..{}): {}",
            dialect_name(opts.min_dialect),
            dialect_name(opts.max_dialect),
            resp.status()
        )));
    }
    let r: NegotiateResponse = decode(&resp)?;
    let dialect = r.dialect_revision;
    if !opts.dialects().contains(&dialect) {
        return Err(ClientError::Policy(format!(
            "the server chose dialect {}, outside the allowed {}..{}",
            dialect_name(dialect),
            dialect_name(opts.min_dialect),
            dialect_name(opts.max_dialect)
        )));
    }
    let mut preauth = PreauthHash::new();
    let mut cipher = None;
    let mut signing = if dialect >= DIALECT_300 {
        SigningAlgorithm::AesCmac
    } else {
        SigningAlgorithm::HmacSha256
    };
    if dialect == DIALECT_311 {
        preauth.update(&sent);
        preauth.update(resp.message());
        let mut have_preauth = false;
        for ctx in &r.contexts {
            match ctx {
                NegotiateContext::PreauthIntegrity {
                    hash_algorithms, ..
                } => {
                    if hash_algorithms.as_slice() != [HASH_SHA512] {
                        return Err(ClientError::Unexpected(
                            "server chose an unknown pre-authentication hash".into(),
                        ));
                    }
                    have_preauth = true;
                }
                NegotiateContext::Encryption { ciphers } => {
                    // Zero means the server supports none of ours.
                    if let Some(&id) = ciphers.first() {
                        if id != 0 {
                            let c = Cipher::from_id(id).filter(|c| opts.ciphers.contains(c));
                            cipher = Some(c.ok_or_else(|| {
                                ClientError::Unexpected(format!(
                                    "server chose unoffered cipher {id}"
                                ))
                            })?);
                        }
                    }
                }
                NegotiateContext::Signing { algorithms } => {
                    if let Some(a) = algorithms
                        .first()
                        .and_then(|id| SigningAlgorithm::from_id(*id))
                    {
                        signing = a;
                    }
                }
                _ => {}
            }
        }
        if !have_preauth {
            return Err(ClientError::Unexpected(
                "3.1.1 negotiate response without pre-authentication integrity".into(),
            ));
        }
    } else if dialect >= DIALECT_300 && r.capabilities & GLOBAL_CAP_ENCRYPTION != 0 {
        cipher = Some(Cipher::Aes128Ccm);
    }
    if opts.require_encryption && cipher.is_none() {
        return Err(ClientError::Policy(format!(
            "the server at {} offers no cipher we accept for dialect {}, and encryption is required \
             (use -o seal=no only on a trusted network)",
            conn.peer,
            dialect_name(dialect)
        )));
    }
    conn.set_credit_mode(
        dialect > DIALECT_202 && r.capabilities & GLOBAL_CAP_LARGE_MTU != 0,
        dialect == DIALECT_202,
    );
    log::info!(
        "negotiated SMB {} with {}, cipher {:?}, signing {:?}",
        dialect_name(dialect),
        conn.peer,
        cipher.map(|c| c.name()),
        signing.name()
    );
    Ok(Negotiated {
        dialect,
        cipher,
        signing,
        preauth,
        response: r,
    })
}

/// Log on; returns the session id and session flags, with keys installed on the connection.
async fn session_setup(
    conn: &Connection,
    opts: &ConnectOptions,
    neg: &Negotiated,
) -> Result<(u64, u16)> {
    let user = opts.credentials.username.clone();
    let mut auth = NtlmAuthenticator::new(opts.credentials.clone());
    let mut hash = neg.preauth.clone();
    let mut token = auth.initial_token();
    let mut session_id = 0u64;
    let is_311 = neg.dialect == DIALECT_311;
    for round in 0..4 {
        let req = SessionSetupRequest {
            flags: 0,
            security_mode: SECURITY_MODE_SIGNING_ENABLED as u8,
            capabilities: 0,
            channel: 0,
            previous_session_id: 0,
            security_buffer: std::mem::take(&mut token),
        };
        let (sent, resp) = conn.call_capturing(outgoing(&req, 0), session_id).await?;
        if is_311 {
            hash.update(&sent);
        }
        let status = resp.status();
        if status == NtStatus::MORE_PROCESSING_REQUIRED {
            if is_311 {
                hash.update(resp.message());
            }
            session_id = resp.header.session_id;
            let body: SessionSetupResponse = decode(&resp)?;
            if round > 0 {
                return Err(ClientError::Unexpected(
                    "more than one NTLM challenge".into(),
                ));
            }
            token = auth.step(&body.security_buffer)?;
            continue;
        }
        if !status.is_success() {
            return Err(match status {
                s if s == NtStatus::LOGON_FAILURE
                    || s == NtStatus::ACCOUNT_DISABLED
                    || s == NtStatus::ACCOUNT_RESTRICTION
                    || s == NtStatus::PASSWORD_EXPIRED
                    || s == NtStatus::ACCESS_DENIED =>
                {
                    ClientError::LogonFailure { user, status: s }
                }
                s => ClientError::Status {
                    op: "session setup",
                    path: user,
                    status: s,
                },
            });
        }
        // Success: this final response is not part of the hash.
        session_id = resp.header.session_id;
        let body: SessionSetupResponse = decode(&resp)?;
        if body.session_flags & (SESSION_FLAG_IS_GUEST | SESSION_FLAG_IS_NULL) != 0 {
            return Err(ClientError::GuestFallback { user });
        }
        auth.finish(&body.security_buffer)?;
        let session_key = auth.session_key().ok_or_else(|| {
            ClientError::Unexpected("logon finished without a session key".into())
        })?;
        let keys = derive_session_keys(&session_key, neg.dialect, hash.value(), neg.cipher);
        // The final response proves the server knows the key and saw our exact negotiation.
        let signed = resp.header.flags & FLAGS_SIGNED != 0;
        let must_verify = neg.dialect >= DIALECT_300 || signed;
        if must_verify
            && (!signed || !signing::verify(neg.signing, &keys.signing_key, resp.message()))
        {
            return Err(ClientError::Security(
                "the final session setup response is not correctly signed \
                 (wrong password or tampered negotiation)"
                    .into(),
            ));
        }
        let encrypt =
            opts.require_encryption || body.session_flags & SESSION_FLAG_ENCRYPT_DATA != 0;
        let (encryptor, decryptor) = match neg.cipher {
            Some(c) if neg.dialect >= DIALECT_300 => (
                encrypt.then(|| Encryptor::new(c, &keys.encryption_key)),
                Some(Decryptor::new(c, &keys.decryption_key)),
            ),
            _ if encrypt => {
                return Err(ClientError::Policy(
                    "encryption is required but the server negotiated none".into(),
                ))
            }
            _ => (None, None),
        };
        conn.install_security(Security {
            session_id,
            signing_algorithm: neg.signing,
            keys,
            encryptor,
            decryptor,
        });
        return Ok((session_id, body.session_flags));
    }
    Err(ClientError::Unexpected(
        "session setup did not finish".into(),
    ))
}
