//! Rows as delimited text and back: where exports and imports of CSV files spend their time.

mod format;
mod parse;

pub use format::{CsvFormatter, CsvOptions, FloatFormat};
pub use parse::{CsvError, CsvParser};
