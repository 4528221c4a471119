//! What the queue table's columns can hold: the widths of `unique_key` and `function_name` (in
//! characters) and the largest `when_to_run`, and the check that refuses a job before it reaches
//! the transaction. Each plugin asks its own server about the columns (and what its integer
//! types hold), hands each answer to [`Limits::learn`], and maps [`LimitError`] into its own error
//! type (with its own message prefix).

use std::fmt;

/// Longest values the columns take, read from the table at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Width of `unique_key` in characters; `None` when the column has no width (e.g. TEXT).
    pub unique_chars: Option<usize>,
    /// Width of `function_name` in characters; `None` when unbounded.
    pub function_chars: Option<usize>,
    /// The largest `when_to_run` the column holds.
    pub when_max: i64,
}

impl Default for Limits {
    /// No width known, and `when_to_run` an INT as in the original's table.
    fn default() -> Limits {
        Limits {
            unique_chars: None,
            function_chars: None,
            when_max: i64::from(i32::MAX),
        }
    }
}

/// A value the columns cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitError {
    /// A unique or function name (as stored, see [`crate::encode`]) longer than its column.
    TooLong { column: &'static str, max: usize },
    /// `when` is negative or does not fit `when_to_run`.
    WhenOutOfRange(i64),
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitError::TooLong { column, max } => {
                write!(f, "{column} longer than the column's {max} characters")
            }
            LimitError::WhenOutOfRange(w) => write!(f, "when_to_run {w} does not fit the column"),
        }
    }
}

impl std::error::Error for LimitError {}

impl Limits {
    /// Takes what the table says about one of its columns: `width` in characters (`None`:
    /// unbounded), and `int_max`, the largest value of its type if it is an integer type.
    /// Columns other than the three that bound a job are ignored.
    pub fn learn(&mut self, column: &str, width: Option<usize>, int_max: i64) {
        match column {
            "unique_key" => self.unique_chars = width,
            "function_name" => self.function_chars = width,
            "when_to_run" => self.when_max = int_max,
            _ => {}
        }
    }

    /// Refuses values the columns cannot hold; `unique` and `function` are the stored texts.
    pub fn check(&self, unique: &str, function: &str, when: i64) -> Result<(), LimitError> {
        fits("unique_key", unique, self.unique_chars)?;
        fits("function_name", function, self.function_chars)?;
        if when < 0 || when > self.when_max {
            return Err(LimitError::WhenOutOfRange(when));
        }
        Ok(())
    }
}

/// Whether `text` fits a column `max` characters wide (any text fits an unbounded column).
fn fits(column: &'static str, text: &str, max: Option<usize>) -> Result<(), LimitError> {
    match max {
        Some(max) if text.chars().count() > max => Err(LimitError::TooLong { column, max }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGINAL: Limits = Limits {
        unique_chars: Some(64),
        function_chars: Some(255),
        when_max: i32::MAX as i64,
    };

    #[test]
    fn widths_count_characters_not_bytes() {
        let u64 = "ü".repeat(64);
        assert_eq!(ORIGINAL.check(&u64, "f", 0), Ok(()));
        let u65 = "ü".repeat(65);
        assert_eq!(
            ORIGINAL.check(&u65, "f", 0),
            Err(LimitError::TooLong {
                column: "unique_key",
                max: 64
            })
        );
        let f256 = "f".repeat(256);
        let err = ORIGINAL.check("u", &f256, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "function_name longer than the column's 255 characters"
        );
    }

    #[test]
    fn the_three_columns_bound_a_job() {
        let mut limits = Limits::default();
        for (column, width) in [("unique_key", 64), ("function_name", 255), ("data", 1)] {
            limits.learn(column, Some(width), i64::MAX);
        }
        assert_eq!(limits, ORIGINAL, "only when_to_run's type bounds `when`");
        limits.learn("when_to_run", None, i64::MAX);
        assert_eq!(limits.when_max, i64::MAX);
        assert_eq!(limits.unique_chars, Some(64));
    }

    #[test]
    fn unbounded_columns_take_anything() {
        let long = "x".repeat(10_000);
        assert_eq!(Limits::default().check(&long, &long, 5), Ok(()));
    }

    #[test]
    fn when_must_fit_the_column() {
        assert_eq!(ORIGINAL.check("u", "f", i64::from(i32::MAX)), Ok(()));
        for bad in [-1, i64::from(i32::MAX) + 1] {
            let err = ORIGINAL.check("u", "f", bad).unwrap_err();
            assert_eq!(err, LimitError::WhenOutOfRange(bad));
            assert_eq!(
                err.to_string(),
                format!("when_to_run {bad} does not fit the column")
            );
        }
    }
}
