//! A small, safe binding to Tokyo Cabinet's abstract database API (`tcadb.h`).
//!
//! Only what the queue needs: open by name (the `tcadbopen` name syntax picks the file type by
//! suffix: `.tch` hash, `.tcb` B+tree, ...), put, out, get, size of a value, sync, optimize and
//! iteration over all keys. Every buffer the library returns is malloc'ed by it and released with
//! `tcfree`; [`TcBuf`] owns one such buffer so nothing leaks on early returns. The functions come
//! from the table of [`crate::library`], which loads the library at run time.

use crate::library::{self, Api, LibraryError, RawAdb};
use std::ffi::{c_int, c_void, CStr, CString};
use std::ptr::NonNull;

/// `tcadbomode` results we translate into error messages (enum order in tcadb.h).
const ADBOHDB: c_int = 3;
const ADBOBDB: c_int = 4;
/// `TCEMISC` in tcutil.h: "miscellaneous error".
const TCEMISC: c_int = 9999;

/// Errors of this module: what failed, with the library's own message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TcError {
    /// The name contains a NUL byte.
    BadName,
    /// A key or value larger than the library's `int` sizes.
    TooLarge,
    /// A library call failed; `op` names it, `msg` is `tcerrmsg` of the last error.
    Call { op: &'static str, msg: String },
    /// The library could not be loaded.
    Library(LibraryError),
}

impl std::fmt::Display for TcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TcError::BadName => write!(f, "database name contains a NUL byte"),
            TcError::TooLarge => write!(f, "key or value larger than 2 GiB"),
            TcError::Call { op, msg } => write!(f, "{op} failed: {msg}"),
            TcError::Library(e) => write!(f, "{e}"),
        }
    }
}

/// A buffer allocated by the library; freed with `tcfree` on drop.
struct TcBuf {
    ptr: NonNull<c_void>,
    len: usize,
    api: &'static Api,
}

impl TcBuf {
    /// Takes ownership of a returned buffer (null = none).
    fn take(api: &'static Api, ptr: *mut c_void, len: c_int) -> Option<TcBuf> {
        NonNull::new(ptr).map(|ptr| TcBuf {
            ptr,
            len: usize::try_from(len).unwrap_or(0),
            api,
        })
    }
    fn bytes(&self) -> &[u8] {
        // SAFETY: the library returned `len` readable bytes at `ptr`, owned by us until drop.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr() as *const u8, self.len) }
    }
}

impl Drop for TcBuf {
    fn drop(&mut self) {
        // SAFETY: the buffer came from the library's allocator and is freed exactly once.
        unsafe { (self.api.tcfree)(self.ptr.as_ptr()) }
    }
}

/// An open abstract database. Closed (and synced by the library) on drop.
pub struct Adb {
    api: &'static Api,
    raw: NonNull<RawAdb>,
    /// `tcadbopen` succeeded, so drop must close.
    opened: bool,
}

// SAFETY: a TCADB handle may be used from any thread as long as calls are not concurrent; the
// plugin contract guarantees one caller at a time and `Adb` methods take `&mut self` for writes.
unsafe impl Send for Adb {}

fn int_len(bytes: &[u8]) -> Result<c_int, TcError> {
    c_int::try_from(bytes.len()).map_err(|_| TcError::TooLarge)
}

impl Adb {
    /// Opens `name` with `tcadbopen` (e.g. `/var/lib/gearman/q.tch`, `/tmp/q.tcb#mode=wc`),
    /// loading the library first if nothing has yet.
    pub fn open(name: &str) -> Result<Adb, TcError> {
        let api = library::api().map_err(TcError::Library)?;
        let cname = CString::new(name).map_err(|_| TcError::BadName)?;
        // SAFETY: tcadbnew has no preconditions; null means out of memory.
        let raw = NonNull::new(unsafe { (api.tcadbnew)() }).ok_or(TcError::Call {
            op: "tcadbnew",
            msg: "out of memory".into(),
        })?;
        let mut adb = Adb {
            api,
            raw,
            opened: false,
        };
        // SAFETY: `raw` is a fresh handle and `cname` a valid C string for the call.
        if !unsafe { (api.tcadbopen)(adb.raw.as_ptr(), cname.as_ptr()) } {
            return Err(adb.error("tcadbopen"));
        }
        adb.opened = true;
        Ok(adb)
    }

    /// The last error of the underlying database, as `tcerrmsg` words it.
    fn error(&self, op: &'static str) -> TcError {
        let (api, raw) = (self.api, self.raw.as_ptr());
        // SAFETY: `raw` is valid; reveal returns the concrete database of the reported mode.
        let code = unsafe {
            match (api.tcadbomode)(raw) {
                ADBOHDB => (api.tchdbecode)((api.tcadbreveal)(raw)),
                ADBOBDB => (api.tcbdbecode)((api.tcadbreveal)(raw)),
                _ => TCEMISC,
            }
        };
        // SAFETY: tcerrmsg returns a static NUL-terminated string for any code.
        let msg = unsafe { CStr::from_ptr((api.tcerrmsg)(code)) };
        TcError::Call {
            op,
            msg: msg.to_string_lossy().into_owned(),
        }
    }

    /// Stores `value` under `key`, replacing any old value.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), TcError> {
        let (ks, vs) = (int_len(key)?, int_len(value)?);
        // SAFETY: pointers and lengths describe live slices for the duration of the call.
        let ok = unsafe {
            (self.api.tcadbput)(
                self.raw.as_ptr(),
                key.as_ptr().cast(),
                ks,
                value.as_ptr().cast(),
                vs,
            )
        };
        ok.then_some(()).ok_or_else(|| self.error("tcadbput"))
    }

    /// Removes `key`; `Ok(false)` when it was not there.
    pub fn out(&mut self, key: &[u8]) -> Result<bool, TcError> {
        let ks = int_len(key)?;
        // SAFETY: as in `put`.
        if unsafe { (self.api.tcadbout)(self.raw.as_ptr(), key.as_ptr().cast(), ks) } {
            return Ok(true);
        }
        // The abstract API does not say why `out` failed; a missing record has no value size.
        match self.exists(key)? {
            false => Ok(false),
            true => Err(self.error("tcadbout")),
        }
    }

    /// Whether `key` has a record.
    pub fn exists(&self, key: &[u8]) -> Result<bool, TcError> {
        let ks = int_len(key)?;
        // SAFETY: as in `put`.
        Ok(unsafe { (self.api.tcadbvsiz)(self.raw.as_ptr(), key.as_ptr().cast(), ks) } >= 0)
    }

    /// The value stored under `key`, if any.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TcError> {
        let ks = int_len(key)?;
        let mut len: c_int = 0;
        // SAFETY: as in `put`; the result is owned by us (TcBuf frees it).
        let ptr =
            unsafe { (self.api.tcadbget)(self.raw.as_ptr(), key.as_ptr().cast(), ks, &mut len) };
        Ok(TcBuf::take(self.api, ptr, len).map(|b| b.bytes().to_vec()))
    }

    /// Writes everything to the device (`fsync`).
    pub fn sync(&mut self) -> Result<(), TcError> {
        // SAFETY: valid handle.
        let ok = unsafe { (self.api.tcadbsync)(self.raw.as_ptr()) };
        ok.then_some(()).ok_or_else(|| self.error("tcadbsync"))
    }

    /// Rebuilds the file with default tuning (what `--libtokyocabinet-optimize` does at open).
    pub fn optimize(&mut self) -> Result<(), TcError> {
        // SAFETY: valid handle; null params = library defaults.
        let ok = unsafe { (self.api.tcadboptimize)(self.raw.as_ptr(), std::ptr::null()) };
        ok.then_some(()).ok_or_else(|| self.error("tcadboptimize"))
    }

    /// Calls `each(key, value)` for every record, streaming one record at a time.
    /// A record removed between listing its key and reading it is skipped.
    pub fn for_each<E>(
        &mut self,
        mut each: impl FnMut(&[u8], &[u8]) -> Result<(), E>,
    ) -> Result<Result<(), E>, TcError> {
        // SAFETY: valid handle.
        if !unsafe { (self.api.tcadbiterinit)(self.raw.as_ptr()) } {
            return Err(self.error("tcadbiterinit"));
        }
        loop {
            let mut len: c_int = 0;
            // SAFETY: valid handle; the returned key is owned by us.
            let next = unsafe { (self.api.tcadbiternext)(self.raw.as_ptr(), &mut len) };
            let key = match TcBuf::take(self.api, next, len) {
                Some(key) => key,
                None => return Ok(Ok(())),
            };
            if let Some(value) = self.get(key.bytes())? {
                if let Err(e) = each(key.bytes(), &value) {
                    return Ok(Err(e));
                }
            }
        }
    }
}

impl Drop for Adb {
    fn drop(&mut self) {
        // SAFETY: the handle is valid and released exactly once; close syncs and unlocks the file.
        unsafe {
            if self.opened && !(self.api.tcadbclose)(self.raw.as_ptr()) {
                log::warn!("{}", self.error("tcadbclose"));
            }
            (self.api.tcadbdel)(self.raw.as_ptr());
        }
    }
}
