//! The process itself: file descriptor limit (`-f`), user switch (`-u`), daemon mode (`-d`), the
//! pid file (`-P`) and the host name for job handles. All thin, commented wrappers over libc.

use std::ffi::{CStr, CString};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why setting up the process failed; the texts are the original's where it has one.
#[derive(Debug)]
pub enum ProcessError {
    /// `-f N` was refused.
    FdLimit { n: u64, source: io::Error },
    /// `-u` from a user other than root.
    NotRoot,
    /// `-u NAME` names no user.
    NoSuchUser(String),
    /// One of the credential calls of `-u` failed.
    SwitchUser {
        name: String,
        call: &'static str,
        source: io::Error,
    },
    /// `-d`: the pipe to the waiting parent, or the fork itself, failed.
    Daemon {
        call: &'static str,
        source: io::Error,
    },
    /// An explicit `-P` path could not be written.
    PidFile { path: PathBuf, source: io::Error },
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::FdLimit { n, source } => {
                write!(f, "Could not set RLIMIT_NOFILE to {n}: {source}")
            }
            ProcessError::NotRoot => f.write_str("Must be root to switch users."),
            ProcessError::NoSuchUser(name) => write!(f, "Could not find user {name}"),
            ProcessError::SwitchUser { name, call, source } => {
                write!(
                    f,
                    "Could not switch to user {name}: {call} failed: {source}"
                )
            }
            ProcessError::Daemon { call, source } => write!(f, "{call} failed: {source}"),
            ProcessError::PidFile { path, source } => write!(
                f,
                "Could not open pid file for writing: {} ({source})",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ProcessError {}

/// `-f N`: soft limit to N, and the hard limit too if it is lower.
pub fn set_fd_limit(n: u64) -> Result<(), ProcessError> {
    let fail = |source| ProcessError::FdLimit { n, source };
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(fail(std::io::Error::last_os_error()));
        }
        lim.rlim_cur = n as libc::rlim_t;
        if lim.rlim_max < lim.rlim_cur {
            lim.rlim_max = lim.rlim_cur;
        }
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err(fail(std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

/// `-u USER`: only root may switch; drops supplementary groups, then gid, then uid.
pub fn switch_user(name: &str) -> Result<(), ProcessError> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return Err(ProcessError::NotRoot);
    }
    let cname = CString::new(name).map_err(|_| ProcessError::NoSuchUser(name.to_string()))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy what we need at once.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(cname.as_ptr());
        if pw.is_null() {
            return Err(ProcessError::NoSuchUser(name.to_string()));
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    let os = |call| ProcessError::SwitchUser {
        name: name.to_string(),
        call,
        source: io::Error::last_os_error(),
    };
    // SAFETY: plain credential calls, in the order that keeps the right to make the next one.
    unsafe {
        if libc::setgroups(0, std::ptr::null()) != 0 {
            return Err(os("setgroups"));
        }
        if libc::setgid(gid) != 0 {
            return Err(os("setgid"));
        }
        if libc::setuid(uid) != 0 {
            return Err(os("setuid"));
        }
    }
    Ok(())
}

/// The child's side of `-d`: tells the waiting parent the server is ready.
pub struct DaemonReady {
    pipe: File,
}

impl DaemonReady {
    /// Signals readiness and detaches stdin, stdout and stderr (to /dev/null).
    pub fn ready(mut self) {
        let _ = self.pipe.write_all(b"1");
        // SAFETY: open/dup2/close on descriptors this process owns.
        unsafe {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            if fd >= 0 {
                for target in 0..3 {
                    libc::dup2(fd, target);
                }
                if fd > 2 {
                    libc::close(fd);
                }
            }
        }
    }
}

/// `-d`: forks once. The parent waits until the child reports ready (exit 0) or dies (its exit
/// status) and never returns; the child calls `setsid` and gets the [`DaemonReady`] handle.
/// Must be called before any thread is started.
pub fn daemonize() -> Result<DaemonReady, ProcessError> {
    let os = |call| ProcessError::Daemon {
        call,
        source: io::Error::last_os_error(),
    };
    let mut fds = [0i32; 2];
    // SAFETY: pipe and fork before any other thread exists; each side closes the end it does not
    // use, and the File takes ownership of the one it keeps.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(os("pipe"));
        }
        match libc::fork() {
            -1 => Err(os("fork")),
            0 => {
                libc::close(fds[0]);
                libc::setsid();
                Ok(DaemonReady {
                    pipe: std::os::fd::FromRawFd::from_raw_fd(fds[1]),
                })
            }
            child => {
                libc::close(fds[1]);
                let mut pipe: File = std::os::fd::FromRawFd::from_raw_fd(fds[0]);
                parent_wait(&mut pipe, child)
            }
        }
    }
}

fn parent_wait(pipe: &mut File, child: libc::pid_t) -> ! {
    let mut byte = [0u8; 1];
    if matches!(pipe.read(&mut byte), Ok(1)) {
        std::process::exit(0);
    }
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(child, &mut status, 0) };
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        1
    };
    std::process::exit(code);
}

/// The pid file, removed when dropped.
pub struct PidFile {
    path: PathBuf,
}

impl PidFile {
    /// Replaces `path` with `<pid>\n` (mode 0744). A failure is an error only for an explicit path.
    pub fn create(path: &Path, explicit: bool) -> Result<Option<PidFile>, ProcessError> {
        let _ = fs::remove_file(path);
        let written = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o744)
            .open(path)
            .and_then(|mut f| writeln!(f, "{}", std::process::id()));
        match written {
            Ok(()) => Ok(Some(PidFile {
                path: path.to_owned(),
            })),
            Err(_) if !explicit => Ok(None),
            Err(source) => Err(ProcessError::PidFile {
                path: path.to_owned(),
                source,
            }),
        }
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The host name (`uname` nodename), for the default job handle prefix `H:<nodename>`.
pub fn nodename() -> String {
    // SAFETY: uname fills the zeroed struct; nodename is NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "localhost".into();
        }
        CStr::from_ptr(u.nodename.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}
