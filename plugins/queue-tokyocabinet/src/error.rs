//! What can go wrong in the tokyocabinet queue, one line each as the host shows it ([`Error`]).

use crate::ffi::TcError;
use crate::layout::LayoutError;
use crate::library::LibraryError;
use gearmand_plugin_api::ReplayStopped;
use std::fmt;

/// What went wrong.
#[derive(Debug)]
pub enum Error {
    /// `--libtokyocabinet-file` was not given.
    MissingFile,
    /// `libtokyocabinet.so.9` is not usable.
    Library(LibraryError),
    /// A call on database `file` failed.
    Db { file: String, source: TcError },
    /// The job cannot be written in C gearmand's record layout.
    Layout(LayoutError),
    /// The host stopped the replay.
    Stopped(ReplayStopped),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::MissingFile => {
                f.write_str("missing required --libtokyocabinet-file=<file> argument")
            }
            Error::Library(e) => write!(f, "{e}"),
            Error::Db { file, source } => write!(f, "tokyocabinet {file}: {source}"),
            Error::Layout(e) => write!(f, "tokyocabinet: {e}"),
            Error::Stopped(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<LibraryError> for Error {
    fn from(e: LibraryError) -> Error {
        Error::Library(e)
    }
}

impl From<LayoutError> for Error {
    fn from(e: LayoutError) -> Error {
        Error::Layout(e)
    }
}

impl From<ReplayStopped> for Error {
    fn from(e: ReplayStopped) -> Error {
        Error::Stopped(e)
    }
}
