//! Rows as delimited text and back: where exports and imports of CSV files spend their time.

mod format;
mod parse;

pub use format::{CsvFormatter, CsvOptions, FloatFormat, FormatError, MAX_DECIMALS};
pub use parse::{CsvError, CsvParser, MAX_LINE_BYTES};

/// Refuses a delimiter that could be read as part of a number, a quote or a line end: the
/// text would not split back into the fields it was written as.
fn check_delimiter(delimiter: u8) -> Result<(), String> {
    let allowed = delimiter == b'\t'
        || delimiter.is_ascii_punctuation() && !b"+-.\"".contains(&delimiter)
        || delimiter == b' ';
    if allowed {
        Ok(())
    } else {
        Err(format!(
            "{:?} cannot be a delimiter: it can be part of a number, a quote or a line end",
            char::from(delimiter)
        ))
    }
}
