//! Property test: no decoder panics (or reads past its input) on arbitrary bytes or on
//! mutated/truncated valid encodings. Mirrors the cargo-fuzz target in `fuzz/`.

use super::*;
use proptest::prelude::*;

type Decoder = fn(&[u8]);

fn body<B: Body>(b: &[u8]) {
    let _ = B::decode(b);
}

/// Every decoder in the module, by name.
pub(crate) fn decoders() -> Vec<(&'static str, Decoder)> {
    vec![
        ("Header", |b| drop(Header::decode(b))),
        ("TransformHeader", |b| drop(TransformHeader::decode(b))),
        ("NegotiateRequest", body::<NegotiateRequest>),
        ("NegotiateResponse", body::<NegotiateResponse>),
        ("SessionSetupRequest", body::<SessionSetupRequest>),
        ("SessionSetupResponse", body::<SessionSetupResponse>),
        ("LogoffRequest", body::<LogoffRequest>),
        ("LogoffResponse", body::<LogoffResponse>),
        ("TreeConnectRequest", body::<TreeConnectRequest>),
        ("TreeConnectResponse", body::<TreeConnectResponse>),
        ("TreeDisconnectRequest", body::<TreeDisconnectRequest>),
        ("TreeDisconnectResponse", body::<TreeDisconnectResponse>),
        ("CreateRequest", body::<CreateRequest>),
        ("CreateResponse", body::<CreateResponse>),
        ("CloseRequest", body::<CloseRequest>),
        ("CloseResponse", body::<CloseResponse>),
        ("FlushRequest", body::<FlushRequest>),
        ("FlushResponse", body::<FlushResponse>),
        ("ReadRequest", body::<ReadRequest>),
        ("ReadResponse", body::<ReadResponse>),
        ("ReadResponse::data_range", |b| {
            drop(ReadResponse::data_range(b))
        }),
        ("WriteRequest", body::<WriteRequest>),
        ("WriteResponse", body::<WriteResponse>),
        ("LockRequest", body::<LockRequest>),
        ("LockResponse", body::<LockResponse>),
        ("EchoRequest", body::<EchoRequest>),
        ("EchoResponse", body::<EchoResponse>),
        ("CancelRequest", body::<CancelRequest>),
        ("ErrorResponse", |b| drop(ErrorResponse::decode(b))),
        ("OplockBreakNotification", body::<OplockBreakNotification>),
        ("OplockBreakAck", body::<OplockBreakAck>),
        ("LeaseBreakNotification", body::<LeaseBreakNotification>),
        ("LeaseBreakAck", body::<LeaseBreakAck>),
        ("BreakNotification", |b| drop(BreakNotification::decode(b))),
        ("QueryDirectoryRequest", body::<QueryDirectoryRequest>),
        ("QueryDirectoryResponse", body::<QueryDirectoryResponse>),
        ("parse_id_both_directory_information", |b| {
            drop(parse_id_both_directory_information(b))
        }),
        ("iter_id_both_directory_information", |b| {
            // The iterator must terminate; bound it generously anyway.
            assert!(iter_id_both_directory_information(b).take(100_000).count() < 100_000)
        }),
        ("QueryInfoRequest", body::<QueryInfoRequest>),
        ("QueryInfoResponse", body::<QueryInfoResponse>),
        ("SetInfoRequest", body::<SetInfoRequest>),
        ("SetInfoResponse", body::<SetInfoResponse>),
        ("FileBasicInformation", |b| {
            drop(FileBasicInformation::decode(b))
        }),
        ("FileStandardInformation", |b| {
            drop(FileStandardInformation::decode(b))
        }),
        ("FileInternalInformation", |b| {
            drop(FileInternalInformation::decode(b))
        }),
        ("FileNetworkOpenInformation", |b| {
            drop(FileNetworkOpenInformation::decode(b))
        }),
        ("FileAllInformation", |b| {
            drop(FileAllInformation::decode(b))
        }),
        ("FileNameInformation", |b| {
            drop(FileNameInformation::decode(b))
        }),
        ("FileRenameInformation", |b| {
            drop(FileRenameInformation::decode(b))
        }),
        ("FileDispositionInformation", |b| {
            drop(FileDispositionInformation::decode(b))
        }),
        ("FileEndOfFileInformation", |b| {
            drop(FileEndOfFileInformation::decode(b))
        }),
        ("FileAllocationInformation", |b| {
            drop(FileAllocationInformation::decode(b))
        }),
        ("FileFsFullSizeInformation", |b| {
            drop(FileFsFullSizeInformation::decode(b))
        }),
        ("FileFsSizeInformation", |b| {
            drop(FileFsSizeInformation::decode(b))
        }),
        ("FileFsAttributeInformation", |b| {
            drop(FileFsAttributeInformation::decode(b))
        }),
        ("FileFsVolumeInformation", |b| {
            drop(FileFsVolumeInformation::decode(b))
        }),
        ("IoctlRequest", body::<IoctlRequest>),
        ("IoctlResponse", body::<IoctlResponse>),
        ("ValidateNegotiateInfoResponse", |b| {
            drop(ValidateNegotiateInfoResponse::decode(b))
        }),
        ("ChangeNotifyRequest", body::<ChangeNotifyRequest>),
        ("ChangeNotifyResponse", body::<ChangeNotifyResponse>),
        ("parse_file_notify_information", |b| {
            drop(parse_file_notify_information(b))
        }),
        ("decode_create_contexts", |b| {
            drop(decode_create_contexts(b))
        }),
        ("decode_body<CreateResponse>", |b| {
            drop(decode_body::<CreateResponse>(b))
        }),
        ("decode_body<NegotiateResponse>", |b| {
            drop(decode_body::<NegotiateResponse>(b))
        }),
        ("utf16le_decode", |b| drop(utf16le_decode(b))),
    ]
}

fn enc<B: Body>(b: &B) -> Vec<u8> {
    let mut v = Vec::new();
    b.encode(&mut v);
    v
}

/// Valid encodings to mutate: each exercises the variable-length parts of its decoder.
fn seeds() -> Vec<Vec<u8>> {
    let fid = FileId {
        persistent: 1,
        volatile: 2,
    };
    let mut v = vec![
        enc(&negotiate::tests::sample_request()),
        enc(&NegotiateResponse {
            dialect_revision: DIALECT_311,
            security_buffer: vec![0x60; 20],
            contexts: negotiate::tests::sample_request().contexts,
            ..Default::default()
        }),
        enc(&SessionSetupRequest {
            security_buffer: vec![1; 30],
            ..Default::default()
        }),
        enc(&SessionSetupResponse {
            session_flags: 0,
            security_buffer: vec![2; 30],
        }),
        enc(&TreeConnectRequest {
            flags: 0,
            path: "\\\\srv\\share".into(),
        }),
        enc(&create::tests::sample_request()),
        enc(&CreateResponse {
            contexts: vec![
                CreateContext::new(QUERY_MAXIMAL_ACCESS, vec![0; 8]),
                CreateContext::new(QUERY_ON_DISK_ID, vec![1; 32]),
            ],
            ..Default::default()
        }),
        enc(&ReadResponse {
            data_remaining: 0,
            data: vec![3; 40],
        }),
        enc(&WriteRequest {
            file_id: fid,
            data: vec![4; 40],
            ..Default::default()
        }),
        enc(&LockRequest {
            locks: vec![LockElement::default(); 2],
            ..Default::default()
        }),
        enc(&QueryDirectoryRequest {
            pattern: "*".into(),
            ..Default::default()
        }),
        enc(&IoctlRequest {
            input: vec![5; 24],
            ..Default::default()
        }),
        enc(&IoctlResponse {
            input: vec![1; 3],
            output: vec![6; 24],
            ..Default::default()
        }),
        enc(&SetInfoRequest {
            buffer: vec![7; 24],
            ..Default::default()
        }),
        enc(&QueryInfoRequest {
            input: vec![8; 4],
            ..Default::default()
        }),
        enc(&LeaseBreakNotification::default()),
        enc(&LeaseBreakAck::default()),
        encode_id_both_directory_information(&[
            DirectoryEntry {
                file_name: "a".into(),
                ..Default::default()
            },
            DirectoryEntry {
                file_name: "é日本😀".into(),
                short_name: "X~1".into(),
                ..Default::default()
            },
        ]),
        encode_file_notify_information(&[
            FileNotifyInformation {
                action: 1,
                file_name: "a".into(),
            },
            FileNotifyInformation {
                action: 2,
                file_name: "bb".into(),
            },
        ]),
    ];
    let mut all = Vec::new();
    FileAllInformation {
        name: "n".into(),
        ..Default::default()
    }
    .encode(&mut all);
    v.push(all);
    let mut rn = Vec::new();
    FileRenameInformation {
        replace_if_exists: true,
        root_directory: 0,
        file_name: "x\\y".into(),
    }
    .encode(&mut rn);
    v.push(rn);
    let mut fsa = Vec::new();
    FileFsAttributeInformation {
        file_system_attributes: 1,
        maximum_component_name_length: 255,
        file_system_name: "NTFS".into(),
    }
    .encode(&mut fsa);
    v.push(fsa);
    let mut msg = encode_message(&Header::new(Command::Create), &CreateResponse::default());
    msg.truncate(msg.len() - 1);
    v.push(msg);
    v
}

fn run_all(b: &[u8]) {
    for (_, d) in decoders() {
        d(b);
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    SetU16(usize, u16),
    SetU32(usize, u32),
    Truncate(usize),
    Insert(usize, u8),
}

fn apply(buf: &mut Vec<u8>, m: &Mutation) {
    if buf.is_empty() {
        return;
    }
    let n = buf.len();
    match *m {
        Mutation::Set(i, v) => buf[i % n] = v,
        Mutation::SetU16(i, v) => {
            let i = i % n;
            for (k, b) in v.to_le_bytes().iter().enumerate() {
                if let Some(x) = buf.get_mut(i + k) {
                    *x = *b;
                }
            }
        }
        Mutation::SetU32(i, v) => {
            let i = i % n;
            for (k, b) in v.to_le_bytes().iter().enumerate() {
                if let Some(x) = buf.get_mut(i + k) {
                    *x = *b;
                }
            }
        }
        Mutation::Truncate(l) => buf.truncate(l % (n + 1)),
        Mutation::Insert(i, v) => buf.insert(i % (n + 1), v),
    }
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop_oneof![
        Just(0u32),
        Just(1),
        Just(0x40),
        Just(0x48),
        Just(0x7FFF_FFFF),
        Just(u32::MAX),
        any::<u32>()
    ];
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Set(i, v)),
        (any::<usize>(), interesting.clone()).prop_map(|(i, v)| Mutation::SetU16(i, v as u16)),
        (any::<usize>(), interesting).prop_map(|(i, v)| Mutation::SetU32(i, v)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<u8>()).prop_map(|(i, v)| Mutation::Insert(i, v)),
    ]
}

#[test]
fn all_seeds_and_prefixes() {
    // Every prefix of every seed, plain and behind a header.
    for seed in seeds() {
        for n in 0..=seed.len() {
            run_all(&seed[..n]);
        }
    }
    assert!(decoders().len() >= 60);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        run_all(&bytes);
    }

    #[test]
    fn mutated_encodings(seed_idx in any::<usize>(), muts in proptest::collection::vec(arb_mutation(), 1..6)) {
        let seeds = seeds();
        let mut buf = seeds[seed_idx % seeds.len()].clone();
        for m in &muts {
            apply(&mut buf, m);
        }
        run_all(&buf);
        // Same bytes as a message body behind a valid header, for decode_body.
        let mut msg = Vec::new();
        Header::new(Command::Create).encode(&mut msg);
        msg.extend_from_slice(&buf);
        run_all(&msg);
    }
}
