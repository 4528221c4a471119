//! A fake connection slot for the tests of [`crate::reconnect`] and [`crate::group`]: both
//! drive the same trait, so one fake serves them.

use crate::group::{Link, Lost};
use crate::reconnect::Reconnect;

/// A fake link: a connection is its number; `log` records each `end_failed` call.
#[derive(Default)]
pub struct Fake {
    pub conn: Option<u32>,
    pub connects: u32,
    pub log: Vec<String>,
    /// What the next `end_failed` answers.
    pub ends: bool,
}

impl Reconnect for Fake {
    type Conn = u32;
    type Fault = &'static str;
    type Error = String;
    fn conn(&mut self) -> Result<&mut u32, String> {
        if self.conn.is_none() {
            self.connects += 1;
            self.conn = Some(self.connects);
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }
    fn forget(&mut self) {
        self.conn = None;
    }
    fn broken(_: &u32, fault: &&'static str) -> bool {
        *fault == "gone"
    }
    fn failed(what: &'static str, fault: &'static str) -> String {
        format!("{what}: {fault}")
    }
    fn reconnecting(&self, _: &&'static str) {}
}

impl Link for Fake {
    const NAME: &'static str = "fake";
    fn current(&mut self) -> Option<&mut u32> {
        self.conn.as_mut()
    }
    fn execute(_: &mut u32, _: &'static str) -> Result<(), &'static str> {
        Ok(())
    }
    fn end_failed(&mut self, _: &&'static str) -> bool {
        self.log.push("end".into());
        self.ends
    }
    fn lost(lost: Lost) -> String {
        lost.to_string()
    }
    fn breaks(_: &u32, err: &String) -> bool {
        err.ends_with("gone")
    }
}
