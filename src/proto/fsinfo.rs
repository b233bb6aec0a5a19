//! Filesystem (volume) information classes ([MS-FSCC] 2.5) returned by QUERY_INFO with
//! `INFO_FILESYSTEM`: what statfs and the mount's capability checks need.
//!
//! Split from `info.rs` only to keep files short; the class numbers live there.

use super::codec::*;
use super::info::{put_name, read_name};
use super::Result;

/// FileFsFullSizeInformation ([MS-FSCC] 2.5.4), 32 bytes: what statfs needs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsFullSizeInformation {
    pub total_allocation_units: u64,
    pub caller_available_allocation_units: u64,
    pub actual_available_allocation_units: u64,
    pub sectors_per_allocation_unit: u32,
    pub bytes_per_sector: u32,
}

impl FileFsFullSizeInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.total_allocation_units);
        put_u64(out, self.caller_available_allocation_units);
        put_u64(out, self.actual_available_allocation_units);
        put_u32(out, self.sectors_per_allocation_unit);
        put_u32(out, self.bytes_per_sector);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        Ok(FileFsFullSizeInformation {
            total_allocation_units: r.u64()?,
            caller_available_allocation_units: r.u64()?,
            actual_available_allocation_units: r.u64()?,
            sectors_per_allocation_unit: r.u32()?,
            bytes_per_sector: r.u32()?,
        })
    }
}

/// FileFsSizeInformation ([MS-FSCC] 2.5.8), 24 bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsSizeInformation {
    pub total_allocation_units: u64,
    pub available_allocation_units: u64,
    pub sectors_per_allocation_unit: u32,
    pub bytes_per_sector: u32,
}

impl FileFsSizeInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.total_allocation_units);
        put_u64(out, self.available_allocation_units);
        put_u32(out, self.sectors_per_allocation_unit);
        put_u32(out, self.bytes_per_sector);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        Ok(FileFsSizeInformation {
            total_allocation_units: r.u64()?,
            available_allocation_units: r.u64()?,
            sectors_per_allocation_unit: r.u32()?,
            bytes_per_sector: r.u32()?,
        })
    }
}

/// FileFsAttributeInformation ([MS-FSCC] 2.5.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsAttributeInformation {
    pub file_system_attributes: u32,
    pub maximum_component_name_length: u32,
    pub file_system_name: String,
}

impl FileFsAttributeInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.file_system_attributes);
        put_u32(out, self.maximum_component_name_length);
        put_name(out, &self.file_system_name);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        Ok(FileFsAttributeInformation {
            file_system_attributes: r.u32()?,
            maximum_component_name_length: r.u32()?,
            file_system_name: read_name(&mut r)?,
        })
    }
}

/// FileFsVolumeInformation ([MS-FSCC] 2.5.9).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileFsVolumeInformation {
    pub volume_creation_time: u64,
    pub volume_serial_number: u32,
    pub supports_objects: bool,
    pub volume_label: String,
}

impl FileFsVolumeInformation {
    pub fn encode(&self, out: &mut Vec<u8>) {
        let label = utf16le_encode(&self.volume_label);
        put_u64(out, self.volume_creation_time);
        put_u32(out, self.volume_serial_number);
        put_u32(out, label.len() as u32);
        put_u8(out, self.supports_objects as u8);
        put_u8(out, 0);
        out.extend_from_slice(&label);
    }
    pub fn decode(buf: &[u8]) -> Result<Self> {
        let mut r = Reader::new(buf);
        let volume_creation_time = r.u64()?;
        let volume_serial_number = r.u32()?;
        let len = r.u32()? as usize;
        let supports_objects = r.u8()? != 0;
        r.skip(1)?;
        let volume_label = utf16le_decode(r.bytes(len)?)?;
        Ok(FileFsVolumeInformation {
            volume_creation_time,
            volume_serial_number,
            supports_objects,
            volume_label,
        })
    }
}
