//! Loading Tokyo Cabinet at run time: `libtokyocabinet.so.9` is opened with `dlopen` (through
//! libloading) the first time a queue is created, and the few `tc*` functions the queue calls are
//! resolved once into [`Api`], a table of function pointers that lives for the rest of the process.
//!
//! Nothing links the library at build time, so the workspace builds on a machine without
//! libtokyocabinet-dev, and a server without the library fails only when `-q tokyocabinet` is
//! asked for, with one line naming the library and the Debian package that provides it.

use libloading::os::unix::{Library as UnixLibrary, RTLD_LOCAL, RTLD_NOW};
use libloading::Library;
use std::ffi::{c_char, c_int, c_void};
use std::fmt;
use std::sync::OnceLock;

/// The library's soname: the ABI this binding is written against (Tokyo Cabinet 1.4).
pub const SONAME: &str = "libtokyocabinet.so.9";
/// The Debian package that installs [`SONAME`].
pub const DEBIAN_PACKAGE: &str = "libtokyocabinet9";

/// Opaque `TCADB`.
#[repr(C)]
pub struct RawAdb {
    _private: [u8; 0],
}

/// The functions of `tcadb.h`, `tchdb.h`, `tcbdb.h` and `tcutil.h` the queue calls. The library's
/// `bool` is C99 `_Bool`, which has the same ABI as Rust's `bool`.
pub struct Api {
    pub tcadbnew: unsafe extern "C" fn() -> *mut RawAdb,
    pub tcadbdel: unsafe extern "C" fn(*mut RawAdb),
    pub tcadbopen: unsafe extern "C" fn(*mut RawAdb, *const c_char) -> bool,
    pub tcadbclose: unsafe extern "C" fn(*mut RawAdb) -> bool,
    pub tcadbput:
        unsafe extern "C" fn(*mut RawAdb, *const c_void, c_int, *const c_void, c_int) -> bool,
    pub tcadbout: unsafe extern "C" fn(*mut RawAdb, *const c_void, c_int) -> bool,
    pub tcadbget:
        unsafe extern "C" fn(*mut RawAdb, *const c_void, c_int, *mut c_int) -> *mut c_void,
    pub tcadbvsiz: unsafe extern "C" fn(*mut RawAdb, *const c_void, c_int) -> c_int,
    pub tcadbiterinit: unsafe extern "C" fn(*mut RawAdb) -> bool,
    pub tcadbiternext: unsafe extern "C" fn(*mut RawAdb, *mut c_int) -> *mut c_void,
    pub tcadbsync: unsafe extern "C" fn(*mut RawAdb) -> bool,
    pub tcadboptimize: unsafe extern "C" fn(*mut RawAdb, *const c_char) -> bool,
    pub tcadbomode: unsafe extern "C" fn(*mut RawAdb) -> c_int,
    pub tcadbreveal: unsafe extern "C" fn(*mut RawAdb) -> *mut c_void,
    pub tchdbecode: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub tcbdbecode: unsafe extern "C" fn(*mut c_void) -> c_int,
    pub tcerrmsg: unsafe extern "C" fn(c_int) -> *const c_char,
    pub tcfree: unsafe extern "C" fn(*mut c_void),
    /// Keeps the pointers above valid; the table is never dropped (it sits in a static).
    _library: Library,
}

/// Why the library is not usable; the loader's own words are kept as text, since the result is
/// shared by every caller and libloading's error cannot be copied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LibraryError {
    /// `dlopen` failed (not installed, or a dependency of its own missing).
    Load(String),
    /// The library lacks one of the functions the queue calls.
    Symbol { name: &'static str, why: String },
}

impl fmt::Display for LibraryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LibraryError::Load(why) => write!(
                f,
                "cannot load {SONAME} ({why}); install the Debian package {DEBIAN_PACKAGE}"
            ),
            LibraryError::Symbol { name, why } => {
                write!(f, "{SONAME} has no usable {name} ({why})")
            }
        }
    }
}

impl std::error::Error for LibraryError {}

/// The table, or why it could not be made; the first caller loads, later ones share the result.
static API: OnceLock<Result<Api, LibraryError>> = OnceLock::new();

/// The resolved functions, loading the library on first use. The error is one line that names
/// [`SONAME`] and [`DEBIAN_PACKAGE`].
pub fn api() -> Result<&'static Api, LibraryError> {
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<Api, LibraryError> {
    // RTLD_NOW: a library missing one of its own dependencies fails here, not at the first call.
    // SAFETY: opening runs the library's initialisers, which only set up its own globals.
    let unix = unsafe { UnixLibrary::open(Some(SONAME), RTLD_NOW | RTLD_LOCAL) }
        .map_err(|e| LibraryError::Load(e.to_string()))?;
    let lib = Library::from(unix);
    // SAFETY (every `sym` below): the names are Tokyo Cabinet's exported functions and the
    // field types are their prototypes in the 1.4 headers (soname .9).
    unsafe {
        Ok(Api {
            tcadbnew: sym(&lib, "tcadbnew")?,
            tcadbdel: sym(&lib, "tcadbdel")?,
            tcadbopen: sym(&lib, "tcadbopen")?,
            tcadbclose: sym(&lib, "tcadbclose")?,
            tcadbput: sym(&lib, "tcadbput")?,
            tcadbout: sym(&lib, "tcadbout")?,
            tcadbget: sym(&lib, "tcadbget")?,
            tcadbvsiz: sym(&lib, "tcadbvsiz")?,
            tcadbiterinit: sym(&lib, "tcadbiterinit")?,
            tcadbiternext: sym(&lib, "tcadbiternext")?,
            tcadbsync: sym(&lib, "tcadbsync")?,
            tcadboptimize: sym(&lib, "tcadboptimize")?,
            tcadbomode: sym(&lib, "tcadbomode")?,
            tcadbreveal: sym(&lib, "tcadbreveal")?,
            tchdbecode: sym(&lib, "tchdbecode")?,
            tcbdbecode: sym(&lib, "tcbdbecode")?,
            tcerrmsg: sym(&lib, "tcerrmsg")?,
            tcfree: sym(&lib, "tcfree")?,
            _library: lib,
        })
    }
}

/// The function `name` of `lib` as a `T` (a function pointer type).
///
/// # Safety
/// `T` must be the symbol's real type.
unsafe fn sym<T: Copy>(lib: &Library, name: &'static str) -> Result<T, LibraryError> {
    let symbol = lib
        .get::<T>(name.as_bytes())
        .map_err(|e| LibraryError::Symbol {
            name,
            why: e.to_string(),
        })?;
    Ok(*symbol)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loader's own message when the library is present: nothing to report; when absent,
    /// the message must name both the library and its package (checked end to end by
    /// host/tests/missing_library.rs, which hides the library).
    #[test]
    fn load_succeeds_or_names_library_and_package() {
        match api() {
            Ok(api) => {
                // SAFETY: tcerrmsg returns a static string for any code.
                let msg = unsafe { std::ffi::CStr::from_ptr((api.tcerrmsg)(0)) };
                assert_eq!(msg.to_str(), Ok("success"));
            }
            Err(e) => {
                let e = e.to_string();
                assert!(e.contains(SONAME) && e.contains(DEBIAN_PACKAGE), "{e}")
            }
        }
    }
}
