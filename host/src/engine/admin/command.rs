//! One admin line parsed into a typed [`Command`], and the trust class each command needs.
//!
//! The line is split the original's way ([`Tokens`]); the command word is matched ignoring
//! ASCII case, and each command reads its own arguments here, so a handler only sees named
//! fields. A malformed command keeps its variant (with the malformation spelled out), because
//! its trust class is checked before its arguments are.

use super::super::num::atoi_i32;
use crate::msg::Control;

/// Tokens kept for inspection; more are only counted.
const MAX_TOKENS: usize = 8;

/// A command line split the original's way (see docs/admin-protocol.md "Line parsing"): tokens end
/// at a space, runs of spaces count as one, trailing spaces make one empty token, and nothing
/// but a space separates (a tab is part of a token).
struct Tokens<'a> {
    toks: [&'a [u8]; MAX_TOKENS],
    /// How many tokens the line has (may exceed `MAX_TOKENS`).
    argc: usize,
}

impl<'a> Tokens<'a> {
    fn split(line: &'a [u8]) -> Tokens<'a> {
        let mut t = Tokens {
            toks: [b""; MAX_TOKENS],
            argc: 0,
        };
        let mut rest = line;
        loop {
            let end = rest.iter().position(|&b| b == b' ');
            t.push(&rest[..end.unwrap_or(rest.len())]);
            let Some(end) = end else { break };
            // The space ends the token; any further spaces are skipped.
            let next = rest[end..].iter().position(|&b| b != b' ');
            match next {
                Some(n) => rest = &rest[end + n..],
                None => {
                    t.push(b""); // trailing spaces make one empty token
                    break;
                }
            }
        }
        t
    }

    fn push(&mut self, tok: &'a [u8]) {
        if self.argc < MAX_TOKENS {
            self.toks[self.argc] = tok;
        }
        self.argc += 1;
    }

    fn get(&self, i: usize) -> &'a [u8] {
        if i < self.argc.min(MAX_TOKENS) {
            self.toks[i]
        } else {
            b""
        }
    }

    /// Whether token `i` is `word`, ignoring ASCII case.
    fn is(&self, i: usize, word: &str) -> bool {
        i < self.argc && self.get(i).eq_ignore_ascii_case(word.as_bytes())
    }
}

/// The trust an admin command needs (who has which: config/admin.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AdminClass {
    /// Reports state; unknown commands count here too.
    Read,
    /// Changes jobs or functions.
    Change,
    Shutdown,
}

/// `show ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Show {
    /// `show jobs`: handle, retries, ignored, persisted per job.
    Jobs,
    /// `show unique jobs`: each job's unique.
    UniqueJobs,
    /// Anything else after `show`: `ERR UNKNOWN_SHOW_ARGUMENTS`.
    Other,
}

/// `cancel ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cancel<'a> {
    /// `cancel job <handle>`.
    Job(&'a [u8]),
    /// Fewer than three tokens: answered as an unknown command, as in the original.
    TooShort,
    /// Three tokens or more, but not `cancel job <handle>`: `ERR UNKNOWN_ERROR`.
    Malformed,
}

/// `maxqueue <function> [high [normal [low]]]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MaxQueue<'a> {
    pub function: &'a [u8],
    /// Per priority (high, normal, low); 0 = no limit. One number sets all three.
    pub limits: [u32; 3],
}

/// One admin command with its arguments. `None` arguments are an incomplete set
/// (`ERR INVALID_ARGUMENTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Command<'a> {
    Workers,
    Status,
    PriorityStatus,
    /// Our extension: the monitoring counters (metrics.rs).
    Metrics,
    GetPid,
    Verbose,
    Version,
    Show(Show),
    Cancel(Cancel<'a>),
    /// `create function <name>`.
    Create(Option<&'a [u8]>),
    /// `drop function <name>`.
    Drop(Option<&'a [u8]>),
    MaxQueue(Option<MaxQueue<'a>>),
    /// `shutdown` or `shutdown graceful`.
    Shutdown(Option<Control>),
    /// Not a command (`show` alone included): `ERR UNKNOWN_COMMAND`.
    Unknown,
}

/// A parsed admin line: the command word as sent (replies repeat it) and the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AdminLine<'a> {
    pub name: &'a [u8],
    pub command: Command<'a>,
}

/// The longest command word (`prioritystatus`).
const LONGEST_NAME: usize = 14;

impl<'a> AdminLine<'a> {
    /// Parses one line (without its line end).
    pub(super) fn parse(line: &'a [u8]) -> AdminLine<'a> {
        let t = Tokens::split(line);
        let name = t.get(0);
        let mut buf = [0u8; LONGEST_NAME];
        let word: &[u8] = match buf.get_mut(..name.len()) {
            Some(lower) => {
                lower.copy_from_slice(name);
                lower.make_ascii_lowercase();
                lower
            }
            None => b"", // longer than every command: unknown
        };
        let command = match word {
            b"workers" => Command::Workers,
            b"status" => Command::Status,
            b"prioritystatus" => Command::PriorityStatus,
            b"metrics" => Command::Metrics,
            b"getpid" => Command::GetPid,
            b"verbose" => Command::Verbose,
            b"version" => Command::Version,
            b"show" if t.argc < 2 => Command::Unknown,
            b"show" => Command::Show(show(&t)),
            b"cancel" => Command::Cancel(cancel(&t)),
            b"create" => Command::Create(function_arg(&t)),
            b"drop" => Command::Drop(function_arg(&t)),
            b"maxqueue" => Command::MaxQueue(maxqueue(&t)),
            b"shutdown" => Command::Shutdown(shutdown(&t)),
            _ => Command::Unknown,
        };
        AdminLine { name, command }
    }
}

impl Command<'_> {
    /// The trust this command needs; refused commands are never run.
    pub(super) fn class(&self) -> AdminClass {
        match self {
            Command::Cancel(_) | Command::Create(_) | Command::Drop(_) | Command::MaxQueue(_) => {
                AdminClass::Change
            }
            Command::Shutdown(_) => AdminClass::Shutdown,
            Command::Workers
            | Command::Status
            | Command::PriorityStatus
            | Command::Metrics
            | Command::GetPid
            | Command::Verbose
            | Command::Version
            | Command::Show(_)
            | Command::Unknown => AdminClass::Read,
        }
    }
}

fn show(t: &Tokens<'_>) -> Show {
    if t.argc == 3 && t.is(1, "unique") && t.is(2, "jobs") {
        Show::UniqueJobs
    } else if t.argc == 2 && t.is(1, "jobs") {
        Show::Jobs
    } else {
        Show::Other
    }
}

fn cancel<'a>(t: &Tokens<'a>) -> Cancel<'a> {
    if t.argc < 3 {
        Cancel::TooShort
    } else if t.argc == 3 && t.is(1, "job") {
        Cancel::Job(t.get(2))
    } else {
        Cancel::Malformed
    }
}

/// The `<name>` of `create function <name>` / `drop function <name>` (the real token: the
/// 2.0 fix of the CRLF length bug).
fn function_arg<'a>(t: &Tokens<'a>) -> Option<&'a [u8]> {
    (t.argc == 3 && t.is(1, "function")).then(|| t.get(2))
}

/// Missing limits are 0, negative ones too; one limit alone applies to every priority.
fn maxqueue<'a>(t: &Tokens<'a>) -> Option<MaxQueue<'a>> {
    if t.argc == 1 {
        return None;
    }
    let mut limits = [0u32; 3];
    for (p, limit) in limits.iter_mut().enumerate() {
        if t.argc > p + 2 {
            *limit = atoi_i32(t.get(p + 2)).max(0) as u32;
        }
    }
    if t.argc <= 3 {
        limits = [limits[0]; 3];
    }
    Some(MaxQueue {
        function: t.get(1),
        limits,
    })
}

fn shutdown(t: &Tokens<'_>) -> Option<Control> {
    if t.argc == 1 {
        Some(Control::Shutdown)
    } else if t.argc == 2 && t.is(1, "graceful") {
        Some(Control::GracefulShutdown)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(line: &[u8]) -> Vec<Vec<u8>> {
        let t = Tokens::split(line);
        (0..t.argc).map(|i| t.get(i).to_vec()).collect()
    }

    fn parse(line: &str) -> Command<'_> {
        AdminLine::parse(line.as_bytes()).command
    }

    #[test]
    fn splits_like_the_original() {
        assert_eq!(toks(b"status"), vec![b"status".to_vec()]);
        assert_eq!(toks(b""), vec![b"".to_vec()]);
        assert_eq!(toks(b" status"), vec![b"".to_vec(), b"status".to_vec()]);
        assert_eq!(toks(b"a   b"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(
            toks(b"a b  "),
            vec![b"a".to_vec(), b"b".to_vec(), b"".to_vec()]
        );
        assert_eq!(toks(b"a\tb"), vec![b"a\tb".to_vec()]);
    }

    #[test]
    fn the_command_word_ignores_case_and_keeps_its_spelling() {
        let line = AdminLine::parse(b"PriorityStatus x");
        assert_eq!(line.command, Command::PriorityStatus);
        assert_eq!(line.name, b"PriorityStatus");
        assert_eq!(parse("prioritystatusx"), Command::Unknown);
        assert_eq!(parse(" status"), Command::Unknown);
    }

    #[test]
    fn arguments_are_named() {
        assert_eq!(parse("show"), Command::Unknown);
        assert_eq!(parse("SHOW UNIQUE JOBS"), Command::Show(Show::UniqueJobs));
        assert_eq!(parse("show jobs x"), Command::Show(Show::Other));
        assert_eq!(parse("cancel job"), Command::Cancel(Cancel::TooShort));
        assert_eq!(
            parse("cancel job H:x:1"),
            Command::Cancel(Cancel::Job(b"H:x:1"))
        );
        assert_eq!(parse("cancel a b"), Command::Cancel(Cancel::Malformed));
        assert_eq!(parse("create function f"), Command::Create(Some(b"f")));
        assert_eq!(parse("drop function"), Command::Drop(None));
        assert_eq!(
            parse("shutdown graceful"),
            Command::Shutdown(Some(Control::GracefulShutdown))
        );
        assert_eq!(parse("shutdown now"), Command::Shutdown(None));
        assert_eq!(parse("maxqueue"), Command::MaxQueue(None));
        let mq = |function: &'static [u8], limits| {
            Command::MaxQueue(Some(MaxQueue { function, limits }))
        };
        assert_eq!(parse("maxqueue f"), mq(b"f", [0, 0, 0]));
        assert_eq!(parse("maxqueue f 5"), mq(b"f", [5, 5, 5]));
        assert_eq!(parse("maxqueue f 5 -1"), mq(b"f", [5, 0, 0]));
        assert_eq!(parse("maxqueue f 1 2 3 4"), mq(b"f", [1, 2, 3]));
    }

    #[test]
    fn each_command_has_its_trust_class() {
        let cases = [
            ("status", AdminClass::Read),
            ("verbose", AdminClass::Read),
            ("show", AdminClass::Read),
            ("nonsense", AdminClass::Read),
            ("cancel", AdminClass::Change),
            ("cancel job h", AdminClass::Change),
            ("CREATE function f", AdminClass::Change),
            ("drop", AdminClass::Change),
            ("maxqueue f 1", AdminClass::Change),
            ("shutdown bogus", AdminClass::Shutdown),
        ];
        for (line, class) in cases {
            assert_eq!(parse(line).class(), class, "{line}");
        }
    }
}
