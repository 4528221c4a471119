//! A row of the queue table read back for replay, turned into the job it stands for. Both SQL
//! queues store the same columns the same way, so the rule back (keys through [`crate::decode`],
//! a priority out of range as normal) is written once; each plugin only reads the columns with
//! its driver and says what a NULL means.

use gearmand_plugin_api::{Priority, QueueJob, ReplayStopped};

/// The columns of one stored row, NULLs already replaced by the plugin's defaults.
pub struct StoredRow<'a> {
    /// `unique_key` as stored (escaped text).
    pub unique: &'a [u8],
    /// `function_name` as stored (escaped text).
    pub function: &'a [u8],
    pub data: &'a [u8],
    pub priority: i64,
    pub when: i64,
}

impl StoredRow<'_> {
    /// Hands the job this row stands for to `sink`.
    pub fn replay(
        &self,
        sink: &mut dyn FnMut(&QueueJob<'_>) -> Result<(), ReplayStopped>,
    ) -> Result<(), ReplayStopped> {
        let unique = crate::decode(self.unique);
        let function = crate::decode(self.function);
        sink(&QueueJob {
            unique: &unique,
            function: &function,
            data: self.data,
            priority: Priority::from_u32(u32::try_from(self.priority).unwrap_or(1)),
            when: self.when,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `sink` saw for `row`: keys, data, priority, when.
    fn replayed(row: StoredRow<'_>) -> (Vec<u8>, Vec<u8>, Vec<u8>, Priority, i64) {
        let mut seen = None;
        row.replay(&mut |job| {
            let copy = (
                job.unique.to_vec(),
                job.function.to_vec(),
                job.data.to_vec(),
            );
            seen = Some((copy.0, copy.1, copy.2, job.priority, job.when));
            Ok(())
        })
        .expect("the sink accepts");
        seen.expect("the sink was called")
    }

    #[test]
    fn keys_are_decoded_and_odd_priorities_are_normal() {
        let stored = crate::encode(b"\xffkey");
        let row = |priority| StoredRow {
            unique: stored.as_bytes(),
            function: b"f",
            data: b"d",
            priority,
            when: 7,
        };
        let (unique, function, data, priority, when) = replayed(row(0));
        assert_eq!(
            (&unique[..], &function[..], &data[..]),
            (&b"\xffkey"[..], &b"f"[..], &b"d"[..])
        );
        assert_eq!((priority, when), (Priority::High, 7));
        assert_eq!(replayed(row(2)).3, Priority::Low);
        for odd in [1, 3, -1, i64::MAX] {
            assert_eq!(replayed(row(odd)).3, Priority::Normal, "{odd}");
        }
    }
}
