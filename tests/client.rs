//! The client library against a real Samba with encryption required (started by scripts/test.sh).

mod common;

use std::sync::atomic::Ordering;

use common::{pattern, server, Proxy};
use smb3fs::client::{ClientError, OpenOptions};
use smb3fs::crypto::Cipher;
use smb3fs::proto::create::{FILE_CREATE, FILE_NON_DIRECTORY_FILE, FILE_OVERWRITE_IF};
use smb3fs::proto::info::FileBasicInformation;
use smb3fs::proto::NtStatus;

fn create_opts() -> OpenOptions {
    OpenOptions::read_write()
        .disposition(FILE_OVERWRITE_IF)
        .options(FILE_NON_DIRECTORY_FILE)
}

#[tokio::test]
async fn negotiates_311_with_aes128gcm_and_encrypts() {
    let s = server();
    let c = s.connect().await;
    let i = c.info();
    assert_eq!(i.dialect, 0x0311);
    assert_eq!(i.cipher, Some(Cipher::Aes128Gcm));
    assert!(i.encrypted);
    assert_eq!(i.session_flags & 3, 0, "not a guest or null session");
    c.disconnect().await;
}

#[tokio::test]
async fn each_cipher_when_preferred() {
    let s = server();
    for cipher in [
        Cipher::Aes128Ccm,
        Cipher::Aes256Gcm,
        Cipher::Aes256Ccm,
        Cipher::Aes128Gcm,
    ] {
        let mut o = s.options();
        o.ciphers = vec![cipher];
        let c = smb3fs::client::Client::connect(&o)
            .await
            .unwrap_or_else(|e| panic!("{cipher:?}: {e}"));
        assert_eq!(c.info().cipher, Some(cipher));
        // Real traffic under that cipher: the share root lists.
        c.list_dir("/").await.unwrap();
        c.disconnect().await;
    }
}

#[tokio::test]
async fn write_read_back_and_on_disk() {
    let s = server();
    let (local, dir) = s.test_dir("client-rw");
    let c = s.connect().await;
    // Larger than one max_write, so several writes and reads are in flight together.
    let data = pattern(20 * 1024 * 1024 + 12345, 7);
    let f = c
        .open(&format!("{dir}/big.bin"), &create_opts())
        .await
        .unwrap();
    assert_eq!(
        c.write(f.file_id, 0, &data, false).await.unwrap(),
        data.len() as u64
    );
    let back = c.read(f.file_id, 0, data.len() as u32 + 100).await.unwrap();
    assert_eq!(back.len(), data.len());
    assert!(*back == data[..], "bytes read back differ");
    // Past the end: nothing.
    assert!(c
        .read(f.file_id, data.len() as u64 + 10, 10)
        .await
        .unwrap()
        .is_empty());
    c.close(f.file_id).await.unwrap();
    assert!(
        std::fs::read(local.join("big.bin")).unwrap() == data,
        "bytes on the server's disk differ"
    );
    let attrs = c.stat(&format!("{dir}/big.bin")).await.unwrap();
    assert_eq!(attrs.size, data.len() as u64);
    assert!(!attrs.is_dir());
    assert_ne!(attrs.index_number, 0);
    c.disconnect().await;
}

#[tokio::test]
async fn write_through_and_flush() {
    let s = server();
    let (local, dir) = s.test_dir("client-wt");
    let c = s.connect().await;
    let f = c
        .open(&format!("{dir}/wt.txt"), &create_opts())
        .await
        .unwrap();
    c.write(f.file_id, 0, b"durable", true).await.unwrap();
    c.flush(f.file_id).await.unwrap();
    assert_eq!(std::fs::read(local.join("wt.txt")).unwrap(), b"durable");
    c.close(f.file_id).await.unwrap();
    c.disconnect().await;
}

#[tokio::test]
async fn directories_rename_delete_and_errors() {
    let s = server();
    let (local, dir) = s.test_dir("client-ops");
    let c = s.connect().await;
    let d = c.mkdir(&format!("{dir}/sub")).await.unwrap();
    assert!(d.is_dir());
    assert!(local.join("sub").is_dir());
    // mkdir again: the server says the name exists.
    let e = c.mkdir(&format!("{dir}/sub")).await.unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION));

    let f = c
        .open(&format!("{dir}/sub/a.txt"), &create_opts())
        .await
        .unwrap();
    c.write(f.file_id, 0, b"hello", false).await.unwrap();
    c.close(f.file_id).await.unwrap();
    // Exclusive create of an existing file fails.
    let e = c
        .open(
            &format!("{dir}/sub/a.txt"),
            &OpenOptions::read_write().disposition(FILE_CREATE),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION));

    // Directory not empty.
    let e = c.rmdir(&format!("{dir}/sub")).await.unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::DIRECTORY_NOT_EMPTY));

    // Rename across directories, then over an existing file.
    c.rename(&format!("{dir}/sub/a.txt"), &format!("{dir}/b.txt"), false)
        .await
        .unwrap();
    assert_eq!(std::fs::read(local.join("b.txt")).unwrap(), b"hello");
    assert!(!local.join("sub/a.txt").exists());
    std::fs::write(local.join("c.txt"), b"other").unwrap();
    let e = c
        .rename(&format!("{dir}/b.txt"), &format!("{dir}/c.txt"), false)
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_COLLISION));
    c.rename(&format!("{dir}/b.txt"), &format!("{dir}/c.txt"), true)
        .await
        .unwrap();
    assert_eq!(std::fs::read(local.join("c.txt")).unwrap(), b"hello");

    // Truncate and extend by path; times by path.
    c.set_size(&format!("{dir}/c.txt"), 2).await.unwrap();
    assert_eq!(std::fs::read(local.join("c.txt")).unwrap(), b"he");
    let mtime = 133_000_000_000_000_000u64; // 2022-06-18, in FILETIME units
    let basic = FileBasicInformation {
        last_write_time: mtime,
        ..Default::default()
    };
    c.set_basic(&format!("{dir}/c.txt"), &basic).await.unwrap();
    assert_eq!(
        c.stat(&format!("{dir}/c.txt"))
            .await
            .unwrap()
            .last_write_time,
        mtime
    );

    c.unlink(&format!("{dir}/c.txt")).await.unwrap();
    assert!(!local.join("c.txt").exists());
    c.rmdir(&format!("{dir}/sub")).await.unwrap();
    assert!(!local.join("sub").exists());
    let e = c.stat(&format!("{dir}/nothing")).await.unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND));
    c.disconnect().await;
}

#[tokio::test]
async fn listing_matches_the_server_directory() {
    let s = server();
    let (local, dir) = s.test_dir("client-list");
    let names: Vec<String> = (0..3000)
        .map(|i| format!("file-{i:05}-é日本😀.txt"))
        .collect();
    for n in &names {
        std::fs::write(local.join(n), n.as_bytes()).unwrap();
    }
    std::fs::create_dir(local.join("a dir")).unwrap();
    let c = s.connect().await;
    let mut batches = 0;
    let mut listed = Vec::new();
    c.list_dir_with(&dir, |b| {
        batches += 1;
        listed.extend(b)
    })
    .await
    .unwrap();
    let mut got: Vec<String> = listed.iter().map(|e| e.name.clone()).collect();
    got.sort();
    let mut want = names.clone();
    want.push("a dir".into());
    want.sort();
    assert_eq!(got, want);
    let e = listed.iter().find(|e| e.name == names[0]).unwrap();
    assert_eq!(e.attrs.size, names[0].len() as u64);
    assert!(listed
        .iter()
        .find(|e| e.name == "a dir")
        .unwrap()
        .attrs
        .is_dir());
    assert!(batches >= 1);
    c.disconnect().await;
}

#[tokio::test]
async fn statfs_reports_capacity() {
    let s = server();
    let c = s.connect().await;
    let st = c.statfs().await.unwrap();
    assert!(st.block_size >= 512);
    assert!(st.total_blocks > 0 && st.free_blocks <= st.total_blocks);
    c.disconnect().await;
}

#[tokio::test]
async fn many_requests_in_flight() {
    let s = server();
    let (local, dir) = s.test_dir("client-parallel");
    for i in 0..64 {
        std::fs::write(local.join(format!("f{i}")), format!("{i}")).unwrap();
    }
    let c = s.connect().await;
    let stats = (0..64).map(|i| {
        let c = c.clone();
        let p = format!("{dir}/f{i}");
        async move { c.stat(&p).await }
    });
    let results = futures::future::join_all(stats).await;
    for (i, r) in results.into_iter().enumerate() {
        assert_eq!(r.unwrap().size, format!("{i}").len() as u64);
    }
    c.disconnect().await;
}

#[tokio::test]
async fn wrong_password_is_a_logon_failure() {
    let s = server();
    let mut o = s.options();
    o.credentials.password = "not-the-password".into();
    let e = smb3fs::client::Client::connect(&o)
        .await
        .expect_err("logon must fail");
    assert!(matches!(e, ClientError::LogonFailure { .. }), "{e}");
    assert!(e.to_string().contains("LOGON_FAILURE"), "{e}");
    assert!(!e.to_string().contains("not-the-password"));
}

#[tokio::test]
async fn unknown_share_is_named() {
    let s = server();
    let mut o = s.options();
    o.share = "no-such-share".into();
    let e = smb3fs::client::Client::connect(&o)
        .await
        .expect_err("tree connect must fail");
    assert!(matches!(e, ClientError::ShareNotFound { .. }), "{e}");
    assert!(e.to_string().contains("no-such-share"), "{e}");
}

#[tokio::test]
async fn closed_port_names_the_address() {
    let s = server();
    let mut o = s.options();
    // A port nothing listens on: bind one, learn its number, close it.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    o.port = l.local_addr().unwrap().port();
    drop(l);
    let t = std::time::Instant::now();
    let e = smb3fs::client::Client::connect(&o)
        .await
        .expect_err("connect must fail");
    assert!(t.elapsed() < std::time::Duration::from_secs(15));
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("127.0.0.1:{}", o.port)) && msg.to_lowercase().contains("refused"),
        "{msg}"
    );
}

#[tokio::test]
async fn everything_after_logon_is_sealed() {
    let s = server();
    let proxy = Proxy::start(&s).await;
    let mut o = s.options();
    o.port = proxy.port;
    let (local, dir) = s.test_dir("client-sealed");
    let c = smb3fs::client::Client::connect(&o).await.unwrap();
    let secret = b"PLAINTEXT-MARKER-0123456789-".repeat(1000);
    let f = c
        .open(&format!("{dir}/secret.txt"), &create_opts())
        .await
        .unwrap();
    c.write(f.file_id, 0, &secret, false).await.unwrap();
    assert_eq!(
        *c.read(f.file_id, 0, secret.len() as u32).await.unwrap(),
        secret[..]
    );
    c.close(f.file_id).await.unwrap();
    c.disconnect().await;
    assert_eq!(std::fs::read(local.join("secret.txt")).unwrap(), secret);

    let frames = proxy.frames.lock().unwrap().clone();
    // NEGOTIATE and SESSION_SETUP go in the clear; from the first TREE_CONNECT on, every frame in
    // both directions must be a transform (0xFD 'S' 'M' 'B').
    let first_sealed = frames
        .iter()
        .position(|(_, f)| f.starts_with(&[0xFD, b'S', b'M', b'B']))
        .unwrap();
    for (from_client, f) in &frames[..first_sealed] {
        assert_eq!(&f[..4], &[0xFE, b'S', b'M', b'B']);
        let cmd = u16::from_le_bytes([f[12], f[13]]);
        assert!(
            cmd <= 1,
            "plain command {cmd} (from client: {from_client}) before sealing"
        );
    }
    for (_, f) in &frames[first_sealed..] {
        assert_eq!(
            &f[..4],
            &[0xFD, b'S', b'M', b'B'],
            "unsealed frame after logon"
        );
    }
    assert!(frames.len() > first_sealed + 6);
    let marker = b"PLAINTEXT-MARKER";
    for (_, f) in &frames {
        assert!(
            !f.windows(marker.len()).any(|w| w == marker),
            "file content seen in the clear"
        );
    }
}

#[tokio::test]
async fn tampered_response_drops_the_connection() {
    let s = server();
    let proxy = Proxy::start(&s).await;
    let mut o = s.options();
    o.port = proxy.port;
    let (local, dir) = s.test_dir("client-tamper");
    let c = smb3fs::client::Client::connect(&o).await.unwrap();
    // The CREATE's answer arrives damaged: the operation fails, the connection is dropped, and
    // nothing later is sent.
    proxy.corrupt_next_reply.store(true, Ordering::SeqCst);
    let e = c
        .open(&format!("{dir}/never.txt"), &create_opts())
        .await
        .expect_err("must fail");
    assert_eq!(proxy.corrupted.load(Ordering::SeqCst), 1);
    assert!(matches!(e, ClientError::Disconnected(_)), "{e}");
    assert!(e.to_string().contains("decryption"), "{e}");
    assert!(!c.is_connected());
    let e = c.stat(&dir).await.expect_err("dead connection");
    assert!(matches!(e, ClientError::Disconnected(_)), "{e}");
    // The file may exist (the server did create it before its answer was damaged) but holds
    // nothing we wrote.
    if let Ok(bytes) = std::fs::read(local.join("never.txt")) {
        assert!(bytes.is_empty());
    }
}

#[tokio::test]
async fn normalized_name_is_the_stored_spelling() {
    let s = server();
    let (local, dir) = s.test_dir("client-normalized");
    std::fs::write(local.join("MixedCase.txt"), b"x").unwrap();
    let c = s.connect().await;
    let name = c
        .normalized_name(&format!("{dir}/mixedcase.TXT"))
        .await
        .unwrap();
    assert!(name.ends_with("MixedCase.txt"), "{name}");
    let e = c
        .normalized_name(&format!("{dir}/absent"))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND));
    c.disconnect().await;
}

#[tokio::test]
async fn server_required_encryption_applies_even_with_seal_off() {
    // seal=no only stops the client from insisting; this server requires encryption, so the
    // session must still be sealed.
    let s = server();
    let mut o = s.options();
    o.require_encryption = false;
    let c = smb3fs::client::Client::connect(&o).await.unwrap();
    assert!(c.info().encrypted);
    assert_ne!(c.info().session_flags & 4, 0, "SESSION_FLAG_ENCRYPT_DATA");
    c.list_dir("/").await.unwrap();
    c.disconnect().await;
}

/// A read open asks for a read+handle lease and gets it; another client's write breaks it:
/// the notification arrives with our key, the old and new states, and once acknowledged the
/// other client's write goes through.
#[tokio::test]
async fn lease_is_granted_broken_by_another_client_and_acknowledged() {
    use smb3fs::proto::oplock::{
        LEASE_HANDLE_CACHING, LEASE_READ_CACHING, NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED,
    };
    let s = server();
    let (_local, dir) = s.test_dir("client-lease");
    let path = format!("{dir}/leased.txt");
    let a = s.connect().await;
    let f = a.open(&path, &create_opts()).await.unwrap();
    a.write(f.file_id, 0, b"first", false).await.unwrap();
    a.close(f.file_id).await.unwrap();

    let mut breaks = a.lease_breaks();
    let key = *b"smb3fs-lease-key";
    let rh = LEASE_READ_CACHING | LEASE_HANDLE_CACHING;
    let held = a
        .open(&path, &OpenOptions::read().lease(key, rh))
        .await
        .unwrap();
    let granted = held.lease.expect("Samba grants a lease on a read open");
    assert_eq!(granted.state, rh, "{granted:?}");
    // Another open with the same key shares the lease and breaks nothing.
    let second = a
        .open(&path, &OpenOptions::read().lease(key, rh))
        .await
        .unwrap();
    assert_eq!(second.lease.map(|l| l.state), Some(rh));
    a.close(second.file_id).await.unwrap();

    let b = s.connect().await;
    let writer = tokio::spawn({
        let b = b.clone();
        let path = path.clone();
        async move {
            let w = b
                .open(
                    &path,
                    &OpenOptions::read_write().options(FILE_NON_DIRECTORY_FILE),
                )
                .await?;
            b.write(w.file_id, 0, b"second", false).await?;
            b.close(w.file_id).await
        }
    });
    let brk = tokio::time::timeout(std::time::Duration::from_secs(10), breaks.recv())
        .await
        .expect("a lease break within 10 s")
        .expect("the break channel is open");
    assert_eq!(brk.lease_key, key);
    assert_eq!(brk.current_lease_state, rh);
    assert_eq!(brk.new_lease_state & LEASE_READ_CACHING, 0, "{brk:?}");
    if brk.flags & NOTIFY_BREAK_LEASE_FLAG_ACK_REQUIRED != 0 {
        a.ack_lease_break(key, brk.new_lease_state).await.unwrap();
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), writer)
        .await
        .expect("the other client's write completes")
        .unwrap()
        .unwrap();
    let mut buf = a.read(held.file_id, 0, 16).await.unwrap().to_vec();
    buf.truncate(6);
    assert_eq!(&buf, b"second");
    a.close(held.file_id).await.unwrap();
    a.disconnect().await;
    b.disconnect().await;
}
