//! An input file's bytes, as its readers see them. A workbook is opened
//! three times (its format, its cells, its merged areas), and each zip
//! reader seeks and reads it in small pieces: for a file of ordinary size
//! one read into memory replaces hundreds of system calls. A big file is
//! read from disk as it goes, so memory stays bounded whatever the input.

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

/// Files up to this size are read into memory whole.
pub const IN_MEMORY_MAX: u64 = 16 << 20;

/// An opened input: its bytes, or the way to its file.
pub struct Input {
    bytes: Option<Shared>,
    path: std::path::PathBuf,
}

/// The bytes read, shared by every reader of the input. An `Arc<[u8]>`
/// would copy the buffer once more on the way in.
#[derive(Clone)]
pub struct Shared(Arc<Vec<u8>>);

impl AsRef<[u8]> for Shared {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Input {
    /// Opens `path`, reading it whole when it is at most
    /// [`IN_MEMORY_MAX`] bytes.
    pub fn open(path: &Path) -> std::io::Result<Input> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let bytes = if len <= IN_MEMORY_MAX {
            // A file that grew since its size was read is taken up to the
            // limit plus one byte, and read from disk if it went past.
            let mut buf = Vec::with_capacity(len as usize);
            (&mut file).take(IN_MEMORY_MAX + 1).read_to_end(&mut buf)?;
            (buf.len() as u64 <= IN_MEMORY_MAX).then(|| Shared(Arc::new(buf)))
        } else {
            None
        };
        Ok(Input {
            bytes,
            path: path.to_owned(),
        })
    }

    /// A reader from the first byte, independent of any other.
    pub fn reader(&self) -> std::io::Result<InputReader> {
        Ok(match &self.bytes {
            Some(bytes) => InputReader::Memory(Cursor::new(bytes.clone())),
            None => InputReader::File(BufReader::new(File::open(&self.path)?)),
        })
    }
}

/// A reader over an input's bytes, in memory or on disk.
pub enum InputReader {
    /// The whole file, read once.
    Memory(Cursor<Shared>),
    /// A big file, read as it goes.
    File(BufReader<File>),
}

impl Read for InputReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            InputReader::Memory(c) => c.read(buf),
            InputReader::File(f) => f.read(buf),
        }
    }
}

impl Seek for InputReader {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        match self {
            InputReader::Memory(c) => c.seek(pos),
            InputReader::File(f) => f.seek(pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_file_is_read_once_into_memory() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"hello").unwrap();
        let input = Input::open(&path).unwrap();
        // The file can go: its bytes are held.
        std::fs::remove_file(&path).unwrap();
        let mut text = String::new();
        input.reader().unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "hello");
    }

    #[test]
    fn a_file_past_the_limit_is_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let file = File::create(&path).unwrap();
        file.set_len(IN_MEMORY_MAX + 1).unwrap();
        let input = Input::open(&path).unwrap();
        assert!(matches!(input.reader().unwrap(), InputReader::File(_)));
        let mut reader = input.reader().unwrap();
        assert_eq!(reader.seek(SeekFrom::End(0)).unwrap(), IN_MEMORY_MAX + 1);
    }

    #[test]
    fn each_reader_starts_at_the_first_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, b"abc").unwrap();
        let input = Input::open(&path).unwrap();
        let mut first = input.reader().unwrap();
        let mut one = [0u8; 2];
        first.read_exact(&mut one).unwrap();
        let mut second = String::new();
        input.reader().unwrap().read_to_string(&mut second).unwrap();
        assert_eq!(second, "abc");
    }
}
