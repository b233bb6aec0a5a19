//! QUERY_INFO and SET_INFO ([MS-SMB2] 2.2.37 - 2.2.40) plus the [MS-FSCC] information
//! classes the filesystem needs (attributes, sizes, rename, delete, volume space).
//!
//! The info structs are plain (not [`Body`]): they travel inside the QUERY_INFO/SET_INFO
//! buffers. Decoders accept trailing bytes, because servers may append padding.

use super::codec::*;
use super::create::FileId;
use super::dir::{decode_output9, encode_output9};
use super::header::{Command, HEADER_LEN};
use super::{Body, Result};

pub const INFO_FILE: u8 = 1;
pub const INFO_FILESYSTEM: u8 = 2;
pub const INFO_SECURITY: u8 = 3;
pub const INFO_QUOTA: u8 = 4;

pub const FILE_BASIC_INFORMATION: u8 = 4;
pub const FILE_STANDARD_INFORMATION: u8 = 5;
pub const FILE_INTERNAL_INFORMATION: u8 = 6;
pub const FILE_EA_INFORMATION: u8 = 7;
pub const FILE_ACCESS_INFORMATION: u8 = 8;
pub const FILE_NAME_INFORMATION: u8 = 9;
pub const FILE_RENAME_INFORMATION: u8 = 10;
pub const FILE_LINK_INFORMATION: u8 = 11;
pub const FILE_DISPOSITION_INFORMATION: u8 = 13;
pub const FILE_POSITION_INFORMATION: u8 = 14;
pub const FILE_FULL_EA_INFORMATION: u8 = 15;
pub const FILE_MODE_INFORMATION: u8 = 16;
pub const FILE_ALIGNMENT_INFORMATION: u8 = 17;
pub const FILE_ALL_INFORMATION: u8 = 18;
pub const FILE_ALLOCATION_INFORMATION: u8 = 19;
pub const FILE_END_OF_FILE_INFORMATION: u8 = 20;
pub const FILE_ALTERNATE_NAME_INFORMATION: u8 = 21;
pub const FILE_STREAM_INFORMATION: u8 = 22;
pub const FILE_NETWORK_OPEN_INFORMATION: u8 = 34;
pub const FILE_ATTRIBUTE_TAG_INFORMATION: u8 = 35;
pub const FILE_NORMALIZED_NAME_INFORMATION: u8 = 48;
pub const FILE_ID_INFORMATION: u8 = 59;

pub const FILE_FS_VOLUME_INFORMATION: u8 = 1;
pub const FILE_FS_SIZE_INFORMATION: u8 = 3;
pub const FILE_FS_DEVICE_INFORMATION: u8 = 4;
pub const FILE_FS_ATTRIBUTE_INFORMATION: u8 = 5;
pub const FILE_FS_FULL_SIZE_INFORMATION: u8 = 7;
pub const FILE_FS_SECTOR_SIZE_INFORMATION: u8 = 11;

/// AdditionalInformation bits for INFO_SECURITY.
pub const OWNER_SECURITY_INFORMATION: u32 = 0x01;
pub const GROUP_SECURITY_INFORMATION: u32 = 0x02;
pub const DACL_SECURITY_INFORMATION: u32 = 0x04;
pub const SACL_SECURITY_INFORMATION: u32 = 0x08;

/// QUERY_INFO flags.
pub const SL_RESTART_SCAN: u32 = 0x01;
pub const SL_RETURN_SINGLE_ENTRY: u32 = 0x02;
pub const SL_INDEX_SPECIFIED: u32 = 0x04;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryInfoRequest {
    pub info_type: u8,
    pub file_info_class: u8,
    pub output_buffer_length: u32,
    pub additional_information: u32,
    pub flags: u32,
    pub file_id: FileId,
    pub input: Vec<u8>,
}

impl Body for QueryInfoRequest {
    const COMMAND: Command = Command::QueryInfo;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 41);
        put_u8(out, self.info_type);
        put_u8(out, self.file_info_class);
        put_u32(out, self.output_buffer_length);
        put_u16(
            out,
            if self.input.is_empty() {
                0
            } else {
                (HEADER_LEN + 40) as u16
            },
        );
        put_u16(out, 0);
        put_u32(out, self.input.len() as u32);
        put_u32(out, self.additional_information);
        put_u32(out, self.flags);
        self.file_id.encode(out);
        out.extend_from_slice(&self.input);
        if self.input.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 41, "QUERY_INFO request StructureSize")?;
        let info_type = r.u8()?;
        let file_info_class = r.u8()?;
        let output_buffer_length = r.u32()?;
        let in_off = r.u16()? as usize;
        r.skip(2)?;
        let in_len = r.u32()? as usize;
        let additional_information = r.u32()?;
        let flags = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let input = body_buffer(body, in_off, in_len)?.to_vec();
        Ok(QueryInfoRequest {
            info_type,
            file_info_class,
            output_buffer_length,
            additional_information,
            flags,
            file_id,
            input,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryInfoResponse {
    pub buffer: Vec<u8>,
}

impl Body for QueryInfoResponse {
    const COMMAND: Command = Command::QueryInfo;
    fn encode(&self, out: &mut Vec<u8>) {
        encode_output9(&self.buffer, out)
    }
    fn decode(body: &[u8]) -> Result<Self> {
        Ok(QueryInfoResponse {
            buffer: decode_output9(body, "QUERY_INFO response StructureSize")?.to_vec(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetInfoRequest {
    pub info_type: u8,
    pub file_info_class: u8,
    pub additional_information: u32,
    pub file_id: FileId,
    pub buffer: Vec<u8>,
}

impl Body for SetInfoRequest {
    const COMMAND: Command = Command::SetInfo;

    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 33);
        put_u8(out, self.info_type);
        put_u8(out, self.file_info_class);
        put_u32(out, self.buffer.len() as u32);
        put_u16(out, (HEADER_LEN + 32) as u16);
        put_u16(out, 0);
        put_u32(out, self.additional_information);
        self.file_id.encode(out);
        out.extend_from_slice(&self.buffer);
        if self.buffer.is_empty() {
            out.push(0);
        }
    }

    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 33, "SET_INFO request StructureSize")?;
        let info_type = r.u8()?;
        let file_info_class = r.u8()?;
        let len = r.u32()? as usize;
        let off = r.u16()? as usize;
        r.skip(2)?;
        let additional_information = r.u32()?;
        let file_id = FileId::read(&mut r)?;
        let buffer = body_buffer(body, off, len)?.to_vec();
        Ok(SetInfoRequest {
            info_type,
            file_info_class,
            additional_information,
            file_id,
            buffer,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SetInfoResponse {}

impl Body for SetInfoResponse {
    const COMMAND: Command = Command::SetInfo;
    fn encode(&self, out: &mut Vec<u8>) {
        put_u16(out, 2);
    }
    fn decode(body: &[u8]) -> Result<Self> {
        let mut r = Reader::new(body);
        expect_structure_size(&mut r, 2, "SET_INFO response StructureSize")?;
        Ok(SetInfoResponse {})
    }
}

/// FileBasicInformation ([MS-FSCC] 2.4.7), 40 bytes. In SET_INFO a time of 0 means
/// "don't change"; u64::MAX (-1) means "stop updating this time on this handle".
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileBasicInformation {
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    /// 0 = don't change (in SET_INFO).
    pub file_attributes: u32,
}

impl FileBasicInformation {
    pub const LEN: usize = 40;
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.creation_time);
        put_u64(out, self.last_access_time);
        put_u64(out, self.last_write_time);
        put_u64(out, self.change_time);
        put_u32(out, self.file_attributes);
        put_u32(out, 0);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        let v = FileBasicInformation {
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            file_attributes: r.u32()?,
        };
        r.skip(4)?;
        Ok(v)
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        Self::read(&mut Reader::new(buf))
    }
}

/// FileStandardInformation ([MS-FSCC] 2.4.47), 24 bytes (the trailing 2 reserved bytes are
/// optional when decoding).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileStandardInformation {
    pub allocation_size: u64,
    pub end_of_file: u64,
    pub number_of_links: u32,
    pub delete_pending: bool,
    pub directory: bool,
}

impl FileStandardInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.allocation_size);
        put_u64(out, self.end_of_file);
        put_u32(out, self.number_of_links);
        put_u8(out, self.delete_pending as u8);
        put_u8(out, self.directory as u8);
        put_u16(out, 0);
    }
    fn read(r: &mut Reader<'_>) -> Result<Self> {
        Ok(FileStandardInformation {
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            number_of_links: r.u32()?,
            delete_pending: r.u8()? != 0,
            directory: r.u8()? != 0,
        })
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        Self::read(&mut Reader::new(buf))
    }
}

/// FileInternalInformation ([MS-FSCC] 2.4.22): the server's file number (inode).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileInternalInformation {
    pub index_number: u64,
}

impl FileInternalInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.index_number);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        Ok(FileInternalInformation {
            index_number: Reader::new(buf).u64()?,
        })
    }
}

/// FileNetworkOpenInformation ([MS-FSCC] 2.4.29), 56 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNetworkOpenInformation {
    pub creation_time: u64,
    pub last_access_time: u64,
    pub last_write_time: u64,
    pub change_time: u64,
    pub allocation_size: u64,
    pub end_of_file: u64,
    pub file_attributes: u32,
}

impl FileNetworkOpenInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        for v in [
            self.creation_time,
            self.last_access_time,
            self.last_write_time,
            self.change_time,
            self.allocation_size,
            self.end_of_file,
        ] {
            put_u64(out, v);
        }
        put_u32(out, self.file_attributes);
        put_u32(out, 0);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        Ok(FileNetworkOpenInformation {
            creation_time: r.u64()?,
            last_access_time: r.u64()?,
            last_write_time: r.u64()?,
            change_time: r.u64()?,
            allocation_size: r.u64()?,
            end_of_file: r.u64()?,
            file_attributes: r.u32()?,
        })
    }
}

pub(crate) fn read_name(r: &mut Reader<'_>) -> Result<String> {
    let len = r.u32()? as usize;
    utf16le_decode(r.bytes(len)?)
}

pub(crate) fn put_name(out: &mut Vec<u8>, name: &str) {
    let n = utf16le_encode(name);
    put_u32(out, n.len() as u32);
    out.extend_from_slice(&n);
}

/// FileAllInformation ([MS-FSCC] 2.4.2): basic + standard + internal + EA + access +
/// position + mode + alignment + name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileAllInformation {
    pub basic: FileBasicInformation,
    pub standard: FileStandardInformation,
    pub internal: FileInternalInformation,
    pub ea_size: u32,
    pub access_flags: u32,
    pub current_byte_offset: u64,
    pub mode: u32,
    pub alignment_requirement: u32,
    pub name: String,
}

impl FileAllInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.basic.encode(out);
        self.standard.encode(out);
        self.internal.encode(out);
        put_u32(out, self.ea_size);
        put_u32(out, self.access_flags);
        put_u64(out, self.current_byte_offset);
        put_u32(out, self.mode);
        put_u32(out, self.alignment_requirement);
        put_name(out, &self.name);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let basic = FileBasicInformation::read(&mut r)?;
        let standard = FileStandardInformation::read(&mut r)?;
        r.skip(2)?;
        Ok(FileAllInformation {
            basic,
            standard,
            internal: FileInternalInformation {
                index_number: r.u64()?,
            },
            ea_size: r.u32()?,
            access_flags: r.u32()?,
            current_byte_offset: r.u64()?,
            mode: r.u32()?,
            alignment_requirement: r.u32()?,
            name: read_name(&mut r)?,
        })
    }
}

/// FileNameInformation ([MS-FSCC] 2.4.28); also the layout of FileNormalizedNameInformation
/// and FileAlternateNameInformation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNameInformation {
    pub file_name: String,
}

impl FileNameInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_name(out, &self.file_name);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        Ok(FileNameInformation {
            file_name: read_name(&mut Reader::new(buf))?,
        })
    }
}

/// FileRenameInformation, SMB2 "TYPE_2" layout ([MS-FSCC] 2.4.37.2): also used for
/// FileLinkInformation. `file_name` is relative to the share root.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRenameInformation {
    pub replace_if_exists: bool,
    /// Must be 0 over SMB2.
    pub root_directory: u64,
    pub file_name: String,
}

impl FileRenameInformation {
    /// Windows rejects buffers shorter than the C struct (24 bytes), so short names are padded.
    pub const MIN_LEN: usize = 24;
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        put_u8(out, self.replace_if_exists as u8);
        put_zeros(out, 7);
        put_u64(out, self.root_directory);
        put_name(out, &self.file_name);
        while out.len() - start < Self::MIN_LEN {
            out.push(0);
        }
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let replace_if_exists = r.u8()? != 0;
        r.skip(7)?;
        Ok(FileRenameInformation {
            replace_if_exists,
            root_directory: r.u64()?,
            file_name: read_name(&mut r)?,
        })
    }
}

/// FileDispositionInformation ([MS-FSCC] 2.4.11), 1 byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileDispositionInformation {
    pub delete_pending: bool,
}

impl FileDispositionInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u8(out, self.delete_pending as u8);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        Ok(FileDispositionInformation {
            delete_pending: Reader::new(buf).u8()? != 0,
        })
    }
}

/// FileEndOfFileInformation ([MS-FSCC] 2.4.14): truncate/extend.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileEndOfFileInformation {
    pub end_of_file: u64,
}

impl FileEndOfFileInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.end_of_file);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        Ok(FileEndOfFileInformation {
            end_of_file: Reader::new(buf).u64()?,
        })
    }
}

/// FileAllocationInformation ([MS-FSCC] 2.4.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileAllocationInformation {
    pub allocation_size: u64,
}

impl FileAllocationInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.allocation_size);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        Ok(FileAllocationInformation {
            allocation_size: Reader::new(buf).u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::fsinfo::*;
    use crate::proto::testutil::*;
    use proptest::prelude::*;

    macro_rules! rt {
        ($v:expr, $ty:ty) => {{
            let v = $v;
            let mut b = Vec::new();
            v.encode(&mut b);
            assert_eq!(<$ty>::decode(&b).unwrap(), v);
            b.len()
        }};
    }

    #[test]
    fn fixed() {
        let q = QueryInfoRequest {
            info_type: INFO_FILE,
            file_info_class: FILE_ALL_INFORMATION,
            output_buffer_length: 4096,
            file_id: FileId {
                persistent: 1,
                volatile: 2,
            },
            ..Default::default()
        };
        assert_eq!(structure_size(&q), 41);
        let mut out = Vec::new();
        q.encode(&mut out);
        assert_eq!(out.len(), 41);
        round_trip(&q);
        round_trip(&QueryInfoRequest {
            input: vec![1, 2, 3],
            ..q
        });
        assert_eq!(structure_size(&QueryInfoResponse::default()), 9);
        round_trip(&QueryInfoResponse {
            buffer: vec![5; 40],
        });
        let s = SetInfoRequest {
            info_type: INFO_FILE,
            file_info_class: FILE_END_OF_FILE_INFORMATION,
            additional_information: 0,
            file_id: FileId::default(),
            buffer: vec![0; 8],
        };
        assert_eq!(structure_size(&s), 33);
        let mut out = Vec::new();
        s.encode(&mut out);
        assert_eq!(&out[8..10], &0x60u16.to_le_bytes());
        round_trip(&s);
        assert_eq!(structure_size(&SetInfoResponse {}), 2);
        round_trip(&SetInfoResponse {});
    }

    #[test]
    fn info_structs() {
        assert_eq!(
            rt!(
                FileBasicInformation {
                    creation_time: 1,
                    last_access_time: 2,
                    last_write_time: 3,
                    change_time: 4,
                    file_attributes: 0x20
                },
                FileBasicInformation
            ),
            40
        );
        assert_eq!(
            rt!(
                FileStandardInformation {
                    allocation_size: 4096,
                    end_of_file: 1,
                    number_of_links: 1,
                    delete_pending: false,
                    directory: true
                },
                FileStandardInformation
            ),
            24
        );
        assert_eq!(
            rt!(
                FileInternalInformation { index_number: 99 },
                FileInternalInformation
            ),
            8
        );
        assert_eq!(
            rt!(
                FileNetworkOpenInformation {
                    end_of_file: 5,
                    file_attributes: 0x10,
                    ..Default::default()
                },
                FileNetworkOpenInformation
            ),
            56
        );
        let all = FileAllInformation {
            name: "\\dir\\é日本😀".into(),
            ea_size: 1,
            ..Default::default()
        };
        assert_eq!(
            rt!(all.clone(), FileAllInformation),
            100 + utf16le_len(&all.name)
        );
        rt!(
            FileNameInformation {
                file_name: "x".into()
            },
            FileNameInformation
        );
        assert_eq!(
            rt!(
                FileRenameInformation {
                    replace_if_exists: true,
                    root_directory: 0,
                    file_name: "a".into()
                },
                FileRenameInformation
            ),
            24
        );
        assert_eq!(
            rt!(
                FileRenameInformation {
                    replace_if_exists: false,
                    root_directory: 0,
                    file_name: "new\\name.txt".into()
                },
                FileRenameInformation
            ),
            20 + 24
        );
        assert_eq!(
            rt!(
                FileDispositionInformation {
                    delete_pending: true
                },
                FileDispositionInformation
            ),
            1
        );
        rt!(
            FileEndOfFileInformation { end_of_file: 7 },
            FileEndOfFileInformation
        );
        rt!(
            FileAllocationInformation { allocation_size: 7 },
            FileAllocationInformation
        );
        assert_eq!(
            rt!(
                FileFsFullSizeInformation {
                    total_allocation_units: 10,
                    caller_available_allocation_units: 5,
                    actual_available_allocation_units: 6,
                    sectors_per_allocation_unit: 8,
                    bytes_per_sector: 512
                },
                FileFsFullSizeInformation
            ),
            32
        );
        assert_eq!(
            rt!(
                FileFsSizeInformation {
                    total_allocation_units: 10,
                    available_allocation_units: 5,
                    sectors_per_allocation_unit: 8,
                    bytes_per_sector: 512
                },
                FileFsSizeInformation
            ),
            24
        );
        rt!(
            FileFsAttributeInformation {
                file_system_attributes: 3,
                maximum_component_name_length: 255,
                file_system_name: "NTFS".into()
            },
            FileFsAttributeInformation
        );
        rt!(
            FileFsVolumeInformation {
                volume_creation_time: 1,
                volume_serial_number: 2,
                supports_objects: true,
                volume_label: "vol".into()
            },
            FileFsVolumeInformation
        );
        // Standard info without the reserved tail still decodes.
        assert!(FileStandardInformation::decode(&[0; 22]).is_ok());
        assert!(FileBasicInformation::decode(&[0; 39]).is_err());
    }

    proptest! {
        #[test]
        fn prop(name in arb_string(), t in any::<[u64; 6]>(), a in any::<u32>(), b in any::<bool>(), buf in arb_bytes(200), c in any::<u8>()) {
            rt!(FileAllInformation {
                basic: FileBasicInformation { creation_time: t[0], last_access_time: t[1], last_write_time: t[2], change_time: t[3], file_attributes: a },
                standard: FileStandardInformation { allocation_size: t[4], end_of_file: t[5], number_of_links: a, delete_pending: b, directory: !b },
                internal: FileInternalInformation { index_number: t[0] },
                ea_size: a, access_flags: a, current_byte_offset: t[1], mode: a, alignment_requirement: a, name: name.clone(),
            }, FileAllInformation);
            rt!(FileRenameInformation { replace_if_exists: b, root_directory: t[0], file_name: name.clone() }, FileRenameInformation);
            rt!(FileNameInformation { file_name: name.clone() }, FileNameInformation);
            rt!(FileFsAttributeInformation { file_system_attributes: a, maximum_component_name_length: a, file_system_name: name.clone() }, FileFsAttributeInformation);
            rt!(FileFsVolumeInformation { volume_creation_time: t[0], volume_serial_number: a, supports_objects: b, volume_label: name }, FileFsVolumeInformation);
            round_trip(&QueryInfoRequest { info_type: c, file_info_class: c, output_buffer_length: a, additional_information: a, flags: a, file_id: FileId::default(), input: buf.clone() });
            round_trip(&QueryInfoResponse { buffer: buf.clone() });
            round_trip(&SetInfoRequest { info_type: c, file_info_class: c, additional_information: a, file_id: FileId::default(), buffer: buf });
        }
    }
}
