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
/// end of file) or of no kind at all (zip's `Other` errors for a bad
/// extra field or a failed decompressor).
pub fn passing_io<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a io::Error> {
    let mut next = Some(error);
    while let Some(e) = next {
        // The reader already told this fault passing, and rebuilt its I/O
        // error with the file's name, which drops the OS error code (EIO
        // has no kind of its own): its verdict stands.
        if let Some(crate::sources::ReadError::Unreadable { source, .. }) = e.downcast_ref() {
            return Some(source);
        }
        if let Some(io) = io_error(e) {
            return says_passing(io).then_some(io);
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

/// True for the kinds of I/O error the device, the network, the file
/// system or a permission give, which the same bytes may not give next
/// time. Any other kind, `Other` included, is taken for a fault in the
/// content: a file wrongly kept as a passing failure would be reread every
/// run for ever, one wrongly kept as damaged only until it changes.
fn says_passing(io: &io::Error) -> bool {
    use io::ErrorKind as K;
    // EIO: the disk or a network share failed the read; std gives it no
    // kind of its own.
    // ENOMEM, ENFILE and EMFILE: memory or file handles ran short, as a
    // busy machine scoring in parallel may.
    const PASSING_CODES: [i32; 4] = [5, 12, 23, 24];
    if cfg!(unix) && io.raw_os_error().is_some_and(|c| PASSING_CODES.contains(&c)) {
        return true;
    }
    matches!(
        io.kind(),
        K::PermissionDenied
            // The file went away, or a folder stands in its way, mid-run.
            | K::NotFound
            | K::IsADirectory
            | K::NotADirectory
            | K::AlreadyExists
            | K::TimedOut
            | K::Interrupted
            | K::WouldBlock
            | K::StorageFull
            | K::QuotaExceeded
            | K::ReadOnlyFilesystem
            | K::ResourceBusy
            | K::StaleNetworkFileHandle
            | K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::BrokenPipe
            | K::NetworkDown
            | K::NetworkUnreachable
            | K::HostUnreachable
            | K::OutOfMemory
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
        assert!(is_passing(&io::Error::from(io::ErrorKind::StorageFull)));
        assert!(is_passing(&io::Error::from(io::ErrorKind::StaleNetworkFileHandle)));
    }

    #[test]
    fn a_raw_input_output_error_from_the_system_is_passing() {
        assert!(is_passing(&io::Error::from_raw_os_error(5)));
    }

    #[test]
    fn an_io_error_of_no_particular_kind_is_a_content_fault() {
        assert!(!is_passing(&io::Error::other("the share went away")));
    }

    #[test]
    fn zips_own_errors_about_damaged_entries_are_content_faults() {
        // As zip reports a bad extended timestamp field, and a decompressor
        // that failed before, behind calamine.
        let timestamp = io::Error::other("flags and len don't match in extended timestamp field len=9 flags=00000001");
        let zip = zip::result::ZipError::Io(timestamp);
        assert!(!is_passing(&calamine::XlsxError::Zip(zip)));
        let failed = io::Error::other("Decompressor previously failed to initialize or panicked while reading");
        let xml = quick_xml::Error::Io(Arc::new(failed));
        assert!(!is_passing(&calamine::XlsxError::Xml(xml)));
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

    #[test]
    fn a_workbook_the_reader_found_unreadable_stays_a_passing_fault() {
        // The reader rebuilds the I/O error with the file's name: the OS
        // code of EIO is gone, its verdict is not.
        let error = crate::sources::ReadError::Unreadable {
            path: "inbox/a.xlsx".into(),
            source: io::Error::new(
                io::Error::from_raw_os_error(5).kind(),
                "inbox/a.xlsx: Input/output error",
            ),
        };
        assert!(is_passing(&error));
    }

    #[cfg(unix)]
    #[test]
    fn running_short_of_file_handles_or_memory_is_passing() {
        for code in [12, 23, 24] {
            assert!(is_passing(&io::Error::from_raw_os_error(code)), "{code}");
        }
    }
}
