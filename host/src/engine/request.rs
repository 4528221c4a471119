//! Typed, borrowed views of the requests the engine handles: the one place that knows which
//! argument of a packet is which.
//!
//! A handler names its request's fields instead of picking frame arguments by position. The
//! views borrow from the frame, so parsing allocates nothing. Two families keep their frame
//! besides (a job adopts a submit's buffer, a work result is forwarded as the very frame that
//! came): [`Request::parse`] only names them, and their handlers parse their own view with
//! [`SubmitJob::parse`] and [`WorkResult::parse`], then hand the frame on after its last use.

use super::jobs::Priority;
use super::num::{atoi_u32, strtol, up_to_nul, Parsed};
use crate::frame::Frame;
use gearmand_plugin_api::abi::kind;
use gearmand_plugin_api::gear::ptype;

/// What a GRAB_* asks for, and so which JOB_ASSIGN* answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Grab {
    /// GRAB_JOB: JOB_ASSIGN (handle, function, data).
    Job,
    /// GRAB_JOB_UNIQ: JOB_ASSIGN_UNIQ (with the unique).
    Uniq,
    /// GRAB_JOB_ALL: JOB_ASSIGN_ALL for a job with a reducer, else JOB_ASSIGN_UNIQ.
    All,
}

/// One request, by packet family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Request<'a> {
    CanDo {
        function: &'a [u8],
    },
    /// CAN_DO_TIMEOUT `function\0milliseconds` (the number is checked by the handler).
    CanDoTimeout {
        function: &'a [u8],
        timeout: &'a [u8],
    },
    CantDo {
        function: &'a [u8],
    },
    ResetAbilities,
    PreSleep,
    Grab(Grab),
    /// A SUBMIT_JOB* type: see [`SubmitJob`].
    Submit,
    /// A WORK_* type: see [`WorkResult`].
    WorkResult,
    GetStatus {
        handle: &'a [u8],
    },
    GetStatusUnique {
        unique: &'a [u8],
    },
    /// ECHO_REQ: answered with its payload (a one-argument request as the very frame).
    Echo {
        payload: &'a [u8],
    },
    OptionReq {
        option: &'a [u8],
    },
    SetClientId {
        id: &'a [u8],
    },
    /// A text admin line (an ABI host kind, not a gear packet).
    AdminLine {
        line: &'a [u8],
    },
    /// A structured query of a protocol plugin (ABI 1.4): which table, by name.
    Query {
        name: &'a [u8],
    },
    /// Server-to-client types, UNUSED, ALL_YOURS and SUBMIT_JOB_SCHED (not implemented).
    Unexpected,
}

impl<'a> Request<'a> {
    /// Names the request in `f`; a short request reads as empty arguments.
    pub(super) fn parse(f: &'a Frame) -> Request<'a> {
        use ptype::*;
        match f.kind() {
            CAN_DO => Request::CanDo { function: f.arg(0) },
            CAN_DO_TIMEOUT => Request::CanDoTimeout {
                function: f.arg(0),
                timeout: f.arg(1),
            },
            CANT_DO => Request::CantDo { function: f.arg(0) },
            RESET_ABILITIES => Request::ResetAbilities,
            PRE_SLEEP => Request::PreSleep,
            GRAB_JOB => Request::Grab(Grab::Job),
            GRAB_JOB_UNIQ => Request::Grab(Grab::Uniq),
            GRAB_JOB_ALL => Request::Grab(Grab::All),
            t if is_submit(t) => Request::Submit,
            WORK_STATUS | WORK_DATA | WORK_WARNING | WORK_COMPLETE | WORK_FAIL | WORK_EXCEPTION => {
                Request::WorkResult
            }
            GET_STATUS => Request::GetStatus { handle: f.arg(0) },
            GET_STATUS_UNIQUE => Request::GetStatusUnique { unique: f.arg(0) },
            ECHO_REQ => Request::Echo { payload: f.arg(0) },
            OPTION_REQ => Request::OptionReq { option: f.arg(0) },
            SET_CLIENT_ID => Request::SetClientId { id: f.arg(0) },
            kind::ADMIN_LINE => Request::AdminLine { line: f.arg(0) },
            kind::QUERY => Request::Query { name: f.arg(0) },
            _ => Request::Unexpected,
        }
    }
}

fn is_submit(t: u32) -> bool {
    use ptype::*;
    matches!(
        t,
        SUBMIT_JOB
            | SUBMIT_JOB_BG
            | SUBMIT_JOB_HIGH
            | SUBMIT_JOB_HIGH_BG
            | SUBMIT_JOB_LOW
            | SUBMIT_JOB_LOW_BG
            | SUBMIT_JOB_EPOCH
            | SUBMIT_REDUCE_JOB
            | SUBMIT_REDUCE_JOB_BACKGROUND
    )
}

/// A SUBMIT_JOB* request (types 7, 18, 21, 32, 33, 34, 36, 37, 38).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SubmitJob<'a> {
    pub function: &'a [u8],
    pub unique: &'a [u8],
    /// SUBMIT_REDUCE_JOB*: the reducer (possibly empty).
    pub reducer: Option<&'a [u8]>,
    pub data: &'a [u8],
    /// SUBMIT_JOB_EPOCH: when the job may run, in epoch seconds (0: now).
    pub epoch: Option<i64>,
    pub priority: Priority,
    pub background: bool,
}

/// A SUBMIT_JOB_EPOCH time that does not fit an i64: the connection is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct EpochOutOfRange;

impl<'a> SubmitJob<'a> {
    /// The submit in `f`, which must be one of the SUBMIT_JOB* types.
    pub(super) fn parse(f: &'a Frame) -> Result<SubmitJob<'a>, EpochOutOfRange> {
        use ptype::*;
        let t = f.kind();
        let (priority, background) = match t {
            SUBMIT_JOB_HIGH => (Priority::High, false),
            SUBMIT_JOB_HIGH_BG => (Priority::High, true),
            SUBMIT_JOB_LOW => (Priority::Low, false),
            SUBMIT_JOB_LOW_BG => (Priority::Low, true),
            SUBMIT_JOB | SUBMIT_REDUCE_JOB => (Priority::Normal, false),
            _ => (Priority::Normal, true),
        };
        let (reducer, data, epoch) = match t {
            SUBMIT_JOB_EPOCH => match strtol(f.arg(2)) {
                Parsed::Value(when) => (None, f.arg(3), Some(when)),
                Parsed::OutOfRange(_) => return Err(EpochOutOfRange),
            },
            // Argument 3 (the aggregator's "reserved" field) is not used.
            SUBMIT_REDUCE_JOB | SUBMIT_REDUCE_JOB_BACKGROUND => (Some(f.arg(2)), f.arg(4), None),
            _ => (None, f.arg(2), None),
        };
        Ok(SubmitJob {
            function: f.arg(0),
            unique: f.arg(1),
            reducer,
            data,
            epoch,
            priority,
            background,
        })
    }

    /// Neither epoch nor reduce: function, unique and data only.
    pub(super) fn is_plain(&self) -> bool {
        self.epoch.is_none() && self.reducer.is_none()
    }
}

/// What a WORK_* packet reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Work {
    /// WORK_STATUS with its progress (C `atoi` rules: anything unparsable is 0).
    Status {
        numerator: u32,
        denominator: u32,
    },
    Data,
    Warning,
    Complete,
    Fail,
    Exception,
}

/// A WORK_* request: what it reports, about which job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct WorkResult<'a> {
    pub work: Work,
    /// The job handle; WORK_FAIL's is cut at a NUL (1.1.20 clients send one).
    pub handle: &'a [u8],
}

impl<'a> WorkResult<'a> {
    /// The result in `f`, which must be one of the WORK_* types.
    pub(super) fn parse(f: &'a Frame) -> WorkResult<'a> {
        let work = match f.kind() {
            ptype::WORK_STATUS => Work::Status {
                numerator: atoi_u32(f.arg(1)),
                denominator: atoi_u32(f.arg(2)),
            },
            ptype::WORK_DATA => Work::Data,
            ptype::WORK_WARNING => Work::Warning,
            ptype::WORK_FAIL => Work::Fail,
            ptype::WORK_EXCEPTION => Work::Exception,
            _ => Work::Complete,
        };
        let handle = match work {
            Work::Fail => up_to_nul(f.arg(0)),
            _ => f.arg(0),
        };
        WorkResult { work, handle }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn submits_name_their_arguments_by_type() {
        let f = Frame::with_args(
            ptype::SUBMIT_REDUCE_JOB_BACKGROUND,
            &[b"f", b"u", b"r", b"x", b"d"],
        );
        let s = SubmitJob::parse(&f).unwrap();
        assert_eq!(
            (s.function, s.unique, s.data),
            (&b"f"[..], &b"u"[..], &b"d"[..])
        );
        assert_eq!(
            (s.reducer, s.epoch, s.background),
            (Some(&b"r"[..]), None, true)
        );
        let f = Frame::with_args(ptype::SUBMIT_JOB_EPOCH, &[b"f", b"u", b"42", b"d"]);
        let s = SubmitJob::parse(&f).unwrap();
        assert_eq!(
            (s.data, s.epoch, s.is_plain()),
            (&b"d"[..], Some(42), false)
        );
        let f = Frame::with_args(ptype::SUBMIT_JOB_LOW, &[b"f", b"u", b"d"]);
        let s = SubmitJob::parse(&f).unwrap();
        assert_eq!(
            (s.priority, s.background, s.is_plain()),
            (Priority::Low, false, true)
        );
        let f = Frame::with_args(
            ptype::SUBMIT_JOB_EPOCH,
            &[b"f", b"u", b"99999999999999999999"],
        );
        assert_eq!(SubmitJob::parse(&f), Err(EpochOutOfRange));
    }

    #[test]
    fn work_results_name_their_arguments() {
        let f = Frame::with_args(ptype::WORK_STATUS, &[b"H:t:1", b"3", b"x"]);
        let r = WorkResult::parse(&f);
        let status = Work::Status {
            numerator: 3,
            denominator: 0,
        };
        assert_eq!((r.work, r.handle), (status, &b"H:t:1"[..]));
        let f = Frame::with_args(ptype::WORK_FAIL, &[b"H:t:1\0junk"]);
        assert_eq!(WorkResult::parse(&f).handle, b"H:t:1");
        let f = Frame::with_args(ptype::WORK_DATA, &[b"H:t:1\0junk"]);
        assert_eq!(WorkResult::parse(&f).handle, b"H:t:1\0junk");
    }

    #[test]
    fn short_requests_read_as_empty_arguments() {
        let f = Frame::new(ptype::CAN_DO_TIMEOUT);
        let r = Request::parse(&f);
        assert_eq!(
            r,
            Request::CanDoTimeout {
                function: b"",
                timeout: b""
            }
        );
        assert_eq!(
            Request::parse(&Frame::new(ptype::GRAB_JOB_ALL)),
            Request::Grab(Grab::All)
        );
        assert_eq!(
            Request::parse(&Frame::new(ptype::NOOP)),
            Request::Unexpected
        );
    }
}
