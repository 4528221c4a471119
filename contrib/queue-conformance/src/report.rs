//! What the suite hands back: one [`CheckResult`] per check (PASS, FAIL or SKIP with a reason)
//! and the [`Report`] that collects them and prints the summary line `N passed, M failed`.

use std::fmt;

/// The verdict of one check, with a one-line explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plugin did what the contract asks; the text says what was observed.
    Pass(String),
    /// The plugin broke the contract; the text says how.
    Fail(String),
    /// The check could not run (an earlier step failed); the text says why.
    Skip(String),
}

impl Outcome {
    /// The word printed at the start of the check's line.
    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Pass(_) => "PASS",
            Outcome::Fail(_) => "FAIL",
            Outcome::Skip(_) => "SKIP",
        }
    }

    /// The explanation.
    pub fn reason(&self) -> &str {
        match self {
            Outcome::Pass(r) | Outcome::Fail(r) | Outcome::Skip(r) => r,
        }
    }
}

/// One check's name and verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckResult {
    /// A short stable name, e.g. `add-flush-replay` or `odd/unique-quote`.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

impl CheckResult {
    /// A result for check `name`.
    pub fn new(name: impl Into<String>, outcome: Outcome) -> CheckResult {
        CheckResult {
            name: name.into(),
            outcome,
        }
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.outcome.word(),
            self.name,
            self.outcome.reason()
        )
    }
}

/// Every check's result, in the order they ran.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The results, in order.
    pub results: Vec<CheckResult>,
}

impl Report {
    /// How many checks passed.
    pub fn passed(&self) -> usize {
        self.count("PASS")
    }

    /// How many checks failed.
    pub fn failed(&self) -> usize {
        self.count("FAIL")
    }

    /// How many checks were skipped.
    pub fn skipped(&self) -> usize {
        self.count("SKIP")
    }

    /// True when no check failed (skips do not count as failures).
    pub fn is_ok(&self) -> bool {
        self.failed() == 0
    }

    /// The result of check `name`, if it ran.
    pub fn get(&self, name: &str) -> Option<&Outcome> {
        self.results
            .iter()
            .find(|r| r.name == name)
            .map(|r| &r.outcome)
    }

    /// The summary line, exactly `N passed, M failed`.
    pub fn summary(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }

    fn count(&self, word: &str) -> usize {
        self.results
            .iter()
            .filter(|r| r.outcome.word() == word)
            .count()
    }
}

/// Every line, then the summary: what the command-line tool prints, handy in `assert!` messages.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.results {
            writeln!(f, "{r}")?;
        }
        write!(f, "{}", self.summary())
    }
}
