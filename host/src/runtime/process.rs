//! The process itself: file descriptor limit (`-f`), user switch (`-u`), daemon mode (`-d`), the
//! pid file (`-P`) and the host name for job handles. All thin, commented wrappers over libc.

use std::ffi::{CStr, CString};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// `-f N`: soft limit to N, and the hard limit too if it is lower.
pub fn set_fd_limit(n: u64) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("Could not set RLIMIT_NOFILE to {n}: {e}");
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
pub fn switch_user(name: &str) -> Result<(), String> {
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        return Err("Must be root to switch users.".into());
    }
    let cname = CString::new(name).map_err(|_| format!("Could not find user {name}"))?;
    // SAFETY: getpwnam returns a pointer to static storage or null; we copy what we need at once.
    let (uid, gid) = unsafe {
        let pw = libc::getpwnam(cname.as_ptr());
        if pw.is_null() {
            return Err(format!("Could not find user {name}"));
        }
        ((*pw).pw_uid, (*pw).pw_gid)
    };
    let os = |what: &str| {
        format!(
            "Could not switch to user {name}: {what} failed: {}",
            std::io::Error::last_os_error()
        )
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
pub fn daemonize() -> Result<DaemonReady, String> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe and fork before any other thread exists; each side closes the end it does not
    // use, and the File takes ownership of the one it keeps.
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) != 0 {
            return Err(format!("pipe failed: {}", std::io::Error::last_os_error()));
        }
        match libc::fork() {
            -1 => Err(format!("fork failed: {}", std::io::Error::last_os_error())),
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
    pub fn create(path: &Path, explicit: bool) -> Result<Option<PidFile>, String> {
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
            Err(e) => Err(format!(
                "Could not open pid file for writing: {} ({e})",
                path.display()
            )),
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
