//! Feed arbitrary bytes to every SMB2 decoder: none may panic.
//! Run with `cargo fuzz run decoders` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smb3fs::proto::*;

fn body<B: Body>(b: &[u8]) {
    let _ = B::decode(b);
}

fuzz_target!(|data: &[u8]| {
    let _ = Header::decode(data);
    let _ = TransformHeader::decode(data);
    body::<NegotiateRequest>(data);
    body::<NegotiateResponse>(data);
    body::<SessionSetupRequest>(data);
    body::<SessionSetupResponse>(data);
    body::<LogoffResponse>(data);
    body::<TreeConnectRequest>(data);
    body::<TreeConnectResponse>(data);
    body::<TreeDisconnectResponse>(data);
    body::<CreateRequest>(data);
    body::<CreateResponse>(data);
    body::<CloseRequest>(data);
    body::<CloseResponse>(data);
    body::<FlushResponse>(data);
    body::<ReadRequest>(data);
    body::<ReadResponse>(data);
    let _ = ReadResponse::data_range(data);
    body::<WriteRequest>(data);
    body::<WriteResponse>(data);
    body::<LockRequest>(data);
    body::<LockResponse>(data);
    body::<EchoResponse>(data);
    let _ = ErrorResponse::decode(data);
    let _ = BreakNotification::decode(data);
    body::<OplockBreakAck>(data);
    body::<LeaseBreakAck>(data);
    body::<QueryDirectoryRequest>(data);
    body::<QueryDirectoryResponse>(data);
    let _ = parse_id_both_directory_information(data);
    for _ in iter_id_both_directory_information(data) {}
    body::<QueryInfoRequest>(data);
    body::<QueryInfoResponse>(data);
    body::<SetInfoRequest>(data);
    body::<SetInfoResponse>(data);
    let _ = FileBasicInformation::decode(data);
    let _ = FileStandardInformation::decode(data);
    let _ = FileInternalInformation::decode(data);
    let _ = FileNetworkOpenInformation::decode(data);
    let _ = FileAllInformation::decode(data);
    let _ = FileNameInformation::decode(data);
    let _ = FileRenameInformation::decode(data);
    let _ = FileDispositionInformation::decode(data);
    let _ = FileEndOfFileInformation::decode(data);
    let _ = FileAllocationInformation::decode(data);
    let _ = FileFsFullSizeInformation::decode(data);
    let _ = FileFsSizeInformation::decode(data);
    let _ = FileFsAttributeInformation::decode(data);
    let _ = FileFsVolumeInformation::decode(data);
    body::<IoctlRequest>(data);
    body::<IoctlResponse>(data);
    let _ = ValidateNegotiateInfoResponse::decode(data);
    body::<ChangeNotifyRequest>(data);
    body::<ChangeNotifyResponse>(data);
    let _ = parse_file_notify_information(data);
    let _ = decode_create_contexts(data);
    let _ = decode_body::<CreateResponse>(data);
    let _ = decode_body::<ReadResponse>(data);
});
