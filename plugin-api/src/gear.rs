//! Gear packet types and their argument layout, shared by the host and by protocol plugins.
//!
//! The numbers are the wire values of the gear binary protocol. `layout` says how a body splits into
//! arguments: `args` NUL-terminated arguments, then, for data packets, everything left is the data;
//! for other packets the last argument runs to the end of the body without a terminator.

/// Gear packet type numbers.
pub mod ptype {
    /// Worker: can do this function (W→S).
    pub const CAN_DO: u32 = 1;
    /// Worker: no longer does this function (W→S).
    pub const CANT_DO: u32 = 2;
    /// Worker: forget all functions (W→S).
    pub const RESET_ABILITIES: u32 = 3;
    /// Worker: about to sleep, wake me with NOOP (W→S).
    pub const PRE_SLEEP: u32 = 4;
    /// Unused type number; answered with INVALID_COMMAND.
    pub const UNUSED: u32 = 5;
    /// Server: wake up, there may be work (S→W).
    pub const NOOP: u32 = 6;
    /// Client: submit a normal-priority foreground job (C→S).
    pub const SUBMIT_JOB: u32 = 7;
    /// Server: the job handle of a submitted job (S→C).
    pub const JOB_CREATED: u32 = 8;
    /// Worker: give me a job (W→S).
    pub const GRAB_JOB: u32 = 9;
    /// Server: no job for you (S→W).
    pub const NO_JOB: u32 = 10;
    /// Server: a job for you: handle, function, data (S→W).
    pub const JOB_ASSIGN: u32 = 11;
    /// Worker progress (numerator/denominator), forwarded to clients.
    pub const WORK_STATUS: u32 = 12;
    /// Worker: job done with result data, forwarded to clients.
    pub const WORK_COMPLETE: u32 = 13;
    /// Worker: job failed, forwarded to clients.
    pub const WORK_FAIL: u32 = 14;
    /// Client: status of a job handle (C→S).
    pub const GET_STATUS: u32 = 15;
    /// Any: echo this data back (→S).
    pub const ECHO_REQ: u32 = 16;
    /// Server: the echoed data (S→).
    pub const ECHO_RES: u32 = 17;
    /// Client: submit a normal-priority background job (C→S).
    pub const SUBMIT_JOB_BG: u32 = 18;
    /// Server: an error code and text (S→).
    pub const ERROR: u32 = 19;
    /// Server: answer to GET_STATUS (S→C).
    pub const STATUS_RES: u32 = 20;
    /// Client: submit a high-priority foreground job (C→S).
    pub const SUBMIT_JOB_HIGH: u32 = 21;
    /// Any: set this connection's id, shown by the admin `workers` command.
    pub const SET_CLIENT_ID: u32 = 22;
    /// Worker: can do this function, with a timeout (W→S).
    pub const CAN_DO_TIMEOUT: u32 = 23;
    /// Not implemented by the server; answered with INVALID_COMMAND.
    pub const ALL_YOURS: u32 = 24;
    /// Worker: job failed with exception data, forwarded to clients.
    pub const WORK_EXCEPTION: u32 = 25;
    /// Any: set a connection option (`exceptions`).
    pub const OPTION_REQ: u32 = 26;
    /// Server: the option was accepted (S→).
    pub const OPTION_RES: u32 = 27;
    /// Worker: partial result data, forwarded to clients.
    pub const WORK_DATA: u32 = 28;
    /// Worker: warning data, forwarded to clients.
    pub const WORK_WARNING: u32 = 29;
    /// Worker: give me a job, with its unique id (W→S).
    pub const GRAB_JOB_UNIQ: u32 = 30;
    /// Server: a job with its unique id (S→W).
    pub const JOB_ASSIGN_UNIQ: u32 = 31;
    /// Client: submit a high-priority background job (C→S).
    pub const SUBMIT_JOB_HIGH_BG: u32 = 32;
    /// Client: submit a low-priority foreground job (C→S).
    pub const SUBMIT_JOB_LOW: u32 = 33;
    /// Client: submit a low-priority background job (C→S).
    pub const SUBMIT_JOB_LOW_BG: u32 = 34;
    /// Client: cron-scheduled job; parsed, then refused (not implemented).
    pub const SUBMIT_JOB_SCHED: u32 = 35;
    /// Client: background job to run at an epoch time (C→S).
    pub const SUBMIT_JOB_EPOCH: u32 = 36;
    /// Client: foreground map/reduce job (C→S).
    pub const SUBMIT_REDUCE_JOB: u32 = 37;
    /// Client: background map/reduce job (C→S).
    pub const SUBMIT_REDUCE_JOB_BACKGROUND: u32 = 38;
    /// Worker: give me a job with unique id and reducer (W→S).
    pub const GRAB_JOB_ALL: u32 = 39;
    /// Server: a job with unique id and reducer (S→W).
    pub const JOB_ASSIGN_ALL: u32 = 40;
    /// Client: status of a job by unique id (C→S).
    pub const GET_STATUS_UNIQUE: u32 = 41;
    /// Server: answer to GET_STATUS_UNIQUE (S→C).
    pub const STATUS_RES_UNIQUE: u32 = 42;
    /// One past the highest valid type.
    pub const END: u32 = 43;
}

/// The most arguments (data included) any packet has: SUBMIT_JOB_SCHED's seven plus data.
pub const MAX_ARGS: usize = 8;

/// How a packet body splits into arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Number of arguments before the data (for non-data packets: all arguments).
    pub args: u8,
    /// Whether everything after the arguments is opaque data.
    pub data: bool,
}

impl Layout {
    /// Total argument count as handed across the ABI (data counts as one).
    pub const fn total(self) -> usize {
        self.args as usize + self.data as usize
    }
}

/// The layout of packet type `t`, or `None` for type 0 and types past [`ptype::END`].
pub const fn layout(t: u32) -> Option<Layout> {
    use ptype::*;
    let (args, data) = match t {
        CAN_DO | CANT_DO => (1, false),
        RESET_ABILITIES | PRE_SLEEP | UNUSED | NOOP => (0, false),
        SUBMIT_JOB | SUBMIT_JOB_BG | SUBMIT_JOB_HIGH | SUBMIT_JOB_HIGH_BG | SUBMIT_JOB_LOW
        | SUBMIT_JOB_LOW_BG => (2, true),
        JOB_CREATED => (1, false),
        GRAB_JOB | NO_JOB => (0, false),
        JOB_ASSIGN => (2, true),
        WORK_STATUS => (3, false),
        WORK_COMPLETE => (1, true),
        WORK_FAIL | GET_STATUS => (1, false),
        ECHO_REQ | ECHO_RES => (0, true),
        ERROR => (2, false),
        STATUS_RES => (5, false),
        SET_CLIENT_ID => (1, false),
        CAN_DO_TIMEOUT => (2, false),
        ALL_YOURS => (0, false),
        WORK_EXCEPTION => (1, true),
        OPTION_REQ | OPTION_RES => (1, false),
        WORK_DATA | WORK_WARNING => (1, true),
        GRAB_JOB_UNIQ => (0, false),
        JOB_ASSIGN_UNIQ => (3, true),
        SUBMIT_JOB_SCHED => (7, true),
        SUBMIT_JOB_EPOCH => (3, true),
        SUBMIT_REDUCE_JOB | SUBMIT_REDUCE_JOB_BACKGROUND => (4, true),
        GRAB_JOB_ALL => (0, false),
        JOB_ASSIGN_ALL => (4, true),
        GET_STATUS_UNIQUE => (1, false),
        STATUS_RES_UNIQUE => (6, false),
        _ => return None,
    };
    Some(Layout { args, data })
}

/// True for the types only the server sends; receiving one is `ERROR INVALID_COMMAND`.
pub const fn is_server_to_client(t: u32) -> bool {
    use ptype::*;
    matches!(
        t,
        NOOP | JOB_CREATED
            | NO_JOB
            | JOB_ASSIGN
            | ECHO_RES
            | ERROR
            | STATUS_RES
            | OPTION_RES
            | JOB_ASSIGN_UNIQ
            | JOB_ASSIGN_ALL
            | STATUS_RES_UNIQUE
    )
}

/// The protocol name of a packet type, for logs.
pub const fn name(t: u32) -> &'static str {
    const NAMES: [&str; 43] = [
        "",
        "CAN_DO",
        "CANT_DO",
        "RESET_ABILITIES",
        "PRE_SLEEP",
        "UNUSED",
        "NOOP",
        "SUBMIT_JOB",
        "JOB_CREATED",
        "GRAB_JOB",
        "NO_JOB",
        "JOB_ASSIGN",
        "WORK_STATUS",
        "WORK_COMPLETE",
        "WORK_FAIL",
        "GET_STATUS",
        "ECHO_REQ",
        "ECHO_RES",
        "SUBMIT_JOB_BG",
        "ERROR",
        "STATUS_RES",
        "SUBMIT_JOB_HIGH",
        "SET_CLIENT_ID",
        "CAN_DO_TIMEOUT",
        "ALL_YOURS",
        "WORK_EXCEPTION",
        "OPTION_REQ",
        "OPTION_RES",
        "WORK_DATA",
        "WORK_WARNING",
        "GRAB_JOB_UNIQ",
        "JOB_ASSIGN_UNIQ",
        "SUBMIT_JOB_HIGH_BG",
        "SUBMIT_JOB_LOW",
        "SUBMIT_JOB_LOW_BG",
        "SUBMIT_JOB_SCHED",
        "SUBMIT_JOB_EPOCH",
        "SUBMIT_REDUCE_JOB",
        "SUBMIT_REDUCE_JOB_BACKGROUND",
        "GRAB_JOB_ALL",
        "JOB_ASSIGN_ALL",
        "GET_STATUS_UNIQUE",
        "STATUS_RES_UNIQUE",
    ];
    if (t as usize) < NAMES.len() {
        NAMES[t as usize]
    } else {
        "UNKNOWN"
    }
}
