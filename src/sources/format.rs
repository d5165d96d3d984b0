//! Which reader a file needs, decided from its bytes rather than its name,
//! so that an `.xlsx` renamed `.xls` still opens.

use std::io::{Read, Seek};

/// A spreadsheet file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Office Open XML workbook (xlsx, xlsm).
    Xlsx,
    /// Excel binary workbook.
    Xlsb,
    /// Legacy Excel (BIFF).
    Xls,
    /// OpenDocument spreadsheet.
    Ods,
}

/// What the first bytes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// A spreadsheet of this format.
    Spreadsheet(Format),
    /// An OLE container holding an encrypted Office Open XML workbook.
    EncryptedOoxml,
    /// A zip file that is no spreadsheet.
    OtherZip,
    /// Neither zip nor OLE.
    Unknown,
}

const ZIP_MAGIC: &[u8] = b"PK\x03\x04";
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Looks at the file's signature and, for zip files, at the entries that
/// identify each format.
pub fn sniff<R: Read + Seek>(mut file: R) -> std::io::Result<Sniffed> {
    let mut head = [0u8; 8];
    let n = read_up_to(&mut file, &mut head)?;
    let head = &head[..n];
    if head.starts_with(ZIP_MAGIC) {
        file.rewind()?;
        return Ok(sniff_zip(file));
    }
    if head.starts_with(OLE_MAGIC) {
        // An encrypted xlsx is an OLE file too; its streams are named
        // EncryptionInfo/EncryptedPackage, which calamine's xls reader
        // reports confusingly, so look for them first.
        file.rewind()?;
        let mut buf = Vec::new();
        file.take(1 << 20).read_to_end(&mut buf)?;
        if contains_utf16(&buf, "EncryptedPackage") {
            return Ok(Sniffed::EncryptedOoxml);
        }
        return Ok(Sniffed::Spreadsheet(Format::Xls));
    }
    Ok(Sniffed::Unknown)
}

fn read_up_to(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let m = file.read(&mut buf[n..])?;
        if m == 0 {
            break;
        }
        n += m;
    }
    Ok(n)
}

fn sniff_zip<R: Read + Seek>(file: R) -> Sniffed {
    let Ok(mut zip) = zip::ZipArchive::new(file) else {
        return Sniffed::OtherZip;
    };
    if zip.index_for_name("xl/workbook.bin").is_some() {
        return Sniffed::Spreadsheet(Format::Xlsb);
    }
    if zip.index_for_name("xl/workbook.xml").is_some() {
        return Sniffed::Spreadsheet(Format::Xlsx);
    }
    if let Ok(mut m) = zip.by_name("mimetype") {
        let mut s = String::new();
        if m.by_ref().take(200).read_to_string(&mut s).is_ok() && s.contains("opendocument.spreadsheet") {
            return Sniffed::Spreadsheet(Format::Ods);
        }
    }
    if zip.index_for_name("content.xml").is_some() {
        return Sniffed::Spreadsheet(Format::Ods);
    }
    // Some writers put the workbook part elsewhere.
    if zip.file_names().any(|n| n.is_ok_and(|n| n.ends_with("workbook.xml"))) {
        return Sniffed::Spreadsheet(Format::Xlsx);
    }
    Sniffed::OtherZip
}

fn contains_utf16(haystack: &[u8], needle: &str) -> bool {
    let pat: Vec<u8> = needle.encode_utf16().flat_map(u16::to_le_bytes).collect();
    haystack.windows(pat.len()).any(|w| w == pat.as_slice())
}
