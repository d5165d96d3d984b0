//! Telling a passing fault from a fault in a file's content, by the error's
//! chain of causes (never by its text).
//!
//! A passing fault is the disk, a network share or a permission failing
//! while a file is read or a copy written: the same file may well work next
//! time, so a run that remembers results must not remember this failure. A
//! fault in the content (not a spreadsheet, a damaged zip, a mapping that
//! does not fit) stays until the file changes.

use std::error::Error;
use std::io;
use std::sync::Arc;

/// True when `error` was caused by a passing I/O fault, not by the
/// content of the file read or written.
pub fn is_passing(error: &(dyn Error + 'static)) -> bool {
    passing_io(error).is_some()
}

/// The I/O error in `error`'s chain, when there is one and it is a passing
/// fault. The first I/O error found decides: readers report damaged bytes
/// as I/O errors too, of kinds that say so (invalid data, an unexpected
/// end of file).
pub fn passing_io<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = io_error(e) {
            return (!says_content(io)).then_some(io);
        }
        next = e.source();
    }
    None
}

/// `error` itself as an I/O error, including the wrappers whose `source()`
/// skips it: quick-xml keeps it in an `Arc`, and rust_xlsxwriter and zip
/// forward to the I/O error's own source rather than the I/O error.
fn io_error<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    if let Some(io) = error.downcast_ref::<io::Error>() {
        return Some(io);
    }
    if let Some(io) = error.downcast_ref::<Arc<io::Error>>() {
        return Some(io.as_ref());
    }
    if let Some(xlsx) = error.downcast_ref::<rust_xlsxwriter::XlsxError>() {
        return match xlsx {
            rust_xlsxwriter::XlsxError::IoError(io) | rust_xlsxwriter::XlsxError::TempFileError(_, io) => Some(io),
            rust_xlsxwriter::XlsxError::ZipError(zip::result::ZipError::Io(io)) => Some(io),
            _ => None,
        };
    }
    None
}

/// Kinds an I/O error has when the bytes are at fault, not the device.
fn says_content(io: &io::Error) -> bool {
    matches!(
        io.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn denied() -> io::Error {
        io::Error::from(io::ErrorKind::PermissionDenied)
    }

    #[test]
    fn a_permission_or_disk_error_is_passing() {
        assert!(is_passing(&denied()));
        assert!(is_passing(&io::Error::other("the share went away")));
        assert!(is_passing(&io::Error::from(io::ErrorKind::StorageFull)));
    }

    #[test]
    fn an_io_error_saying_the_bytes_are_wrong_is_a_content_fault() {
        assert!(!is_passing(&io::Error::from(io::ErrorKind::InvalidData)));
        assert!(!is_passing(&io::Error::from(io::ErrorKind::UnexpectedEof)));
    }

    #[test]
    fn an_io_error_behind_the_workbook_reader_is_passing() {
        let xml = quick_xml::Error::Io(Arc::new(denied()));
        assert!(is_passing(&calamine::XlsxError::Xml(xml)));
        let zip = zip::result::ZipError::Io(io::Error::from(io::ErrorKind::TimedOut));
        assert!(is_passing(&calamine::XlsxError::Zip(zip)));
        assert!(is_passing(&calamine::XlsxError::Io(denied())));
    }

    #[test]
    fn a_damaged_archive_is_a_content_fault() {
        let zip = zip::result::ZipError::InvalidArchive("no end of central directory".into());
        assert!(!is_passing(&calamine::XlsxError::Zip(zip)));
        let read = crate::sources::ReadError::Corrupt {
            path: "a.xlsx".into(),
            format: "xlsx",
            detail: "bad".into(),
        };
        assert!(!is_passing(&read));
    }

    #[test]
    fn the_writers_own_io_error_is_passing() {
        let sink = crate::sinks::SinkError::Xlsx {
            path: "a.annotated.xlsx".into(),
            source: rust_xlsxwriter::XlsxError::IoError(io::Error::from(io::ErrorKind::StorageFull)),
        };
        assert!(is_passing(&sink));
        let sink = crate::sinks::SinkError::Io {
            path: "a.annotated.xlsx".into(),
            source: io::Error::from(io::ErrorKind::IsADirectory),
        };
        assert!(is_passing(&sink));
    }

    #[test]
    fn a_writer_refusing_the_content_is_a_content_fault() {
        let sink = crate::sinks::SinkError::Xlsx {
            path: "a.annotated.xlsx".into(),
            source: rust_xlsxwriter::XlsxError::SheetnameReused("Sheet1".into()),
        };
        assert!(!is_passing(&sink));
    }

    #[test]
    fn a_file_that_cannot_be_opened_is_passing() {
        let read = crate::sources::ReadError::Io {
            path: "a.xlsx".into(),
            source: denied(),
        };
        assert!(is_passing(&read));
    }
}
