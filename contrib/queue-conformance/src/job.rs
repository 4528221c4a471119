//! [`Job`]: an owned background job as the suite adds it and expects it back, and [`diff`], which
//! compares what a replay returned with what was expected and says what is missing or extra.

use gearmand::queue::StoredJob;
use std::fmt;

/// One background job, owned: what the suite adds and what it expects replay to return.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Job {
    /// The function name (first, so sorting groups jobs by function).
    pub function: Vec<u8>,
    /// The unique id.
    pub unique: Vec<u8>,
    /// The payload.
    pub data: Vec<u8>,
    /// 0 high, 1 normal, 2 low.
    pub priority: u32,
    /// Epoch seconds, 0 = now.
    pub when: i64,
}

impl Job {
    /// A normal-priority job to run now.
    pub fn new(function: &[u8], unique: &[u8], data: &[u8]) -> Job {
        Job {
            function: function.to_vec(),
            unique: unique.to_vec(),
            data: data.to_vec(),
            priority: 1,
            when: 0,
        }
    }

    /// The same job with another priority.
    pub fn priority(mut self, priority: u32) -> Job {
        self.priority = priority;
        self
    }

    /// The same job with another `when`.
    pub fn when(mut self, when: i64) -> Job {
        self.when = when;
        self
    }

    /// Borrowed as the host's [`StoredJob`], ready for `QueueStore::add`.
    pub fn stored(&self) -> StoredJob<'_> {
        StoredJob {
            unique: &self.unique,
            function: &self.function,
            data: &self.data,
            priority: self.priority,
            when: self.when,
        }
    }

    /// An owned copy of a job a replay handed out.
    pub fn from_stored(job: &StoredJob<'_>) -> Job {
        Job {
            function: job.function.to_vec(),
            unique: job.unique.to_vec(),
            data: job.data.to_vec(),
            priority: job.priority,
            when: job.when,
        }
    }

    /// Row identity: (unique, function).
    pub fn key(&self) -> (&[u8], &[u8]) {
        (&self.unique, &self.function)
    }
}

/// Short, printable: escaped key, data length (or the data itself when short), priority, when.
impl fmt::Display for Job {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "(function \"{}\", unique \"{}\", ",
            self.function.escape_ascii(),
            self.unique.escape_ascii()
        )?;
        if self.data.len() <= 24 {
            write!(f, "data \"{}\"", self.data.escape_ascii())?;
        } else {
            write!(f, "data {} bytes", self.data.len())?;
        }
        write!(f, ", priority {}, when {})", self.priority, self.when)
    }
}

/// Compares a replay with what was expected, as multisets (order does not matter). `None` when
/// they are equal, otherwise a one-line description of the difference.
pub fn diff(expected: &[Job], got: &[Job]) -> Option<String> {
    let mut missing: Vec<&Job> = expected.iter().collect();
    let mut extra: Vec<&Job> = Vec::new();
    missing.sort();
    for job in got {
        match missing.binary_search(&job) {
            Ok(i) => {
                missing.remove(i);
            }
            Err(_) => extra.push(job),
        }
    }
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("{} missing, e.g. {}", missing.len(), missing[0]));
    }
    if !extra.is_empty() {
        // Name the closest expected job when only a field differs: the most useful hint.
        let hint = expected
            .iter()
            .find(|e| e.key() == extra[0].key())
            .map(|e| format!(" instead of {e}"))
            .unwrap_or_default();
        parts.push(format!(
            "{} unexpected, e.g. {}{hint}",
            extra.len(),
            extra[0]
        ));
    }
    Some(format!(
        "replay returned {} jobs, expected {}: {}",
        got.len(),
        expected.len(),
        parts.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_ignores_order_and_names_what_differs() {
        let a = Job::new(b"f", b"a", b"1");
        let b = Job::new(b"f", b"b", b"2");
        assert_eq!(diff(&[a.clone(), b.clone()], &[b.clone(), a.clone()]), None);
        let changed = b.clone().priority(0);
        let d = diff(&[a.clone(), b.clone()], &[a.clone(), changed]).unwrap();
        assert!(d.contains("1 missing") && d.contains("1 unexpected"), "{d}");
        assert!(d.contains("instead of"), "{d}");
        let d = diff(std::slice::from_ref(&a), &[a.clone(), a.clone()]).unwrap();
        assert!(d.contains("1 unexpected"), "{d}");
    }
}
