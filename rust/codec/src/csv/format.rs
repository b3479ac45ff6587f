//! Rows as text lines, for CSV exports.

use std::fmt::Write;

use super::check_delimiter;
use crate::layout::{with_element_type, ElementType, Layout};

/// The most decimals `FloatFormat::Fixed` writes: past float64's 17 significant digits they
/// only make the room of a line larger.
pub const MAX_DECIMALS: usize = 30;

/// Why rows cannot be formatted where they were asked to be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormatError {
    PartialRow {
        bytes: usize,
        row_size: usize,
    },
    /// Less than `line_room()` bytes of room a row.
    NoRoom {
        room: usize,
        needed: usize,
    },
}

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FormatError::PartialRow { bytes, row_size } => write!(
                f,
                "{bytes} bytes is not a whole number of {row_size}-byte rows"
            ),
            FormatError::NoRoom { room, needed } => {
                write!(f, "{room} bytes of room for the lines, {needed} needed")
            }
        }
    }
}

impl std::error::Error for FormatError {}

/// How element values are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FloatFormat {
    /// The shortest text that reads back as the same value (integers as integers).
    Shortest,
    /// Every value, integers included, with this many decimals (`%.{n}f`); what upstream's
    /// `joule data read` prints with n = 6.
    Fixed(usize),
}

/// What a formatted line holds and how it is separated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvOptions {
    pub delimiter: u8,
    /// Element indices to write, in order (all of them when empty).
    pub columns: Vec<usize>,
    pub float_format: FloatFormat,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            columns: Vec::new(),
            float_format: FloatFormat::Shortest,
        }
    }
}

/// Formats packed little-endian rows, one line each: the integer timestamp, then the values.
#[derive(Clone, Debug)]
pub struct CsvFormatter {
    layout: Layout,
    options: CsvOptions,
    columns: Vec<usize>,
}

impl CsvFormatter {
    /// Fails with a message when a column is not an element of the layout, the delimiter
    /// could be part of a number or a line end, or there are more than `MAX_DECIMALS`.
    pub fn new(layout: Layout, options: CsvOptions) -> Result<Self, String> {
        check_delimiter(options.delimiter)?;
        if let FloatFormat::Fixed(decimals) = options.float_format {
            if decimals > MAX_DECIMALS {
                return Err(format!(
                    "{decimals} decimals: at most {MAX_DECIMALS} are written"
                ));
            }
        }
        let columns = if options.columns.is_empty() {
            (0..layout.width).collect()
        } else {
            options.columns.clone()
        };
        if let Some(bad) = columns.iter().find(|&&c| c >= layout.width) {
            return Err(format!(
                "element {bad} does not exist: a {layout} row has elements 0..{}",
                layout.width - 1
            ));
        }
        Ok(CsvFormatter {
            layout,
            options,
            columns,
        })
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// The most bytes one line can take: `format_into` needs this much room a row.
    pub fn line_room(&self) -> usize {
        let element = self.layout.element_type;
        let value = match self.options.float_format {
            FloatFormat::Shortest => match element {
                // the longest texts: "-0.0000010000001" (of every float32, each formatted
                // once to find it), "-2.2250738585072014e-308"
                ElementType::Float32 => 16,
                ElementType::Float64 => 24,
                _ => INTEGER_ROOM,
            },
            // a sign, the integer digits of the largest value, the point and the decimals
            FloatFormat::Fixed(decimals) => {
                let digits = match element {
                    ElementType::Float32 => 39,
                    ElementType::Float64 => 309,
                    _ => INTEGER_ROOM - 1,
                };
                1 + digits + 1 + decimals
            }
        };
        INTEGER_ROOM + self.columns.len() * (1 + value) + 1
    }

    /// Write the lines of `rows` (a whole number of rows) at the start of `out`, which holds
    /// at least `line_room()` bytes a row; the number of bytes written.
    pub fn format_into(&self, rows: &[u8], out: &mut [u8]) -> Result<usize, FormatError> {
        let row_size = self.layout.row_size();
        if !rows.len().is_multiple_of(row_size) {
            let bytes = rows.len();
            return Err(FormatError::PartialRow { bytes, row_size });
        }
        let needed = rows.len() / row_size * self.line_room();
        if out.len() < needed {
            let room = out.len();
            return Err(FormatError::NoRoom { room, needed });
        }
        Ok(with_element_type!(self.layout.element_type, T => self.format_as::<T>(rows, out)))
    }

    /// Append the lines of `rows` (a whole number of rows) to `out`.
    pub fn format(&self, rows: &[u8], out: &mut Vec<u8>) -> Result<(), FormatError> {
        let start = out.len();
        out.resize(
            start + rows.len() / self.layout.row_size() * self.line_room(),
            0,
        );
        let written = self.format_into(rows, &mut out[start..]);
        out.truncate(start + *written.as_ref().unwrap_or(&0));
        written.map(|_| ())
    }

    fn format_as<T: Element>(&self, rows: &[u8], out: &mut [u8]) -> usize {
        let size = std::mem::size_of::<T>();
        let mut ints = itoa::Buffer::new();
        let mut floats = zmij::Buffer::new();
        let mut fixed = String::new();
        let mut at = 0;
        for row in rows.chunks_exact(self.layout.row_size()) {
            let timestamp = i64::from_le_bytes(row[..8].try_into().expect("8 bytes"));
            at = put(out, at, ints.format(timestamp).as_bytes());
            for &c in &self.columns {
                out[at] = self.options.delimiter;
                let value = T::from_le(&row[8 + c * size..8 + (c + 1) * size]);
                let text = match self.options.float_format {
                    FloatFormat::Shortest => value.shortest(&mut ints, &mut floats),
                    FloatFormat::Fixed(decimals) => {
                        fixed.clear();
                        write!(fixed, "{:.*}", decimals, value.as_f64()).expect("String write");
                        fixed.as_bytes()
                    }
                };
                at = put(out, at + 1, text);
            }
            out[at] = b'\n';
            at += 1;
        }
        at
    }
}

/// Room for an integer: "-9223372036854775808", and the 20 digits of `u64::MAX`.
const INTEGER_ROOM: usize = 20;

/// Copy `text` to `out[at..]`; where it ends.  The shortest text of a value is 1 to 24
/// bytes: copies of 4 or 8 bytes, the last overlapping the one before, cost less than a
/// `memcpy` call of a length the compiler does not know (a fifth of the formatting time).
#[inline(always)]
fn put(out: &mut [u8], at: usize, text: &[u8]) -> usize {
    let n = text.len();
    let to = &mut out[at..at + n];
    match n {
        8..=24 => {
            to[..8].copy_from_slice(&text[..8]);
            if n > 16 {
                to[8..16].copy_from_slice(&text[8..16]);
            }
            to[n - 8..].copy_from_slice(&text[n - 8..]);
        }
        4..=7 => {
            to[..4].copy_from_slice(&text[..4]);
            to[n - 4..].copy_from_slice(&text[n - 4..]);
        }
        _ => to.copy_from_slice(text),
    }
    at + n
}

/// One element type: how to read it from the row and write it as text.
trait Element: Copy {
    fn from_le(bytes: &[u8]) -> Self;
    fn shortest<'a>(self, ints: &'a mut itoa::Buffer, floats: &'a mut zmij::Buffer) -> &'a [u8];
    fn as_f64(self) -> f64;
}

macro_rules! integer_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element size"))
            }
            fn shortest<'a>(self, ints: &'a mut itoa::Buffer, _: &'a mut zmij::Buffer) -> &'a [u8] {
                ints.format(self).as_bytes()
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}

macro_rules! float_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element size"))
            }
            fn shortest<'a>(self, _: &'a mut itoa::Buffer, floats: &'a mut zmij::Buffer) -> &'a [u8] {
                if self.is_finite() {
                    floats.format_finite(self).as_bytes()
                } else if self.is_nan() {
                    b"nan" // spelled as numpy and pandas read them back
                } else if self > 0.0 {
                    b"inf"
                } else {
                    b"-inf"
                }
            }
            fn as_f64(self) -> f64 {
                self as f64
            }
        }
    )*};
}

integer_element!(i8, i16, i32, i64, u8, u16, u32, u64);
float_element!(f32, f64);

#[cfg(test)]
mod tests {
    use super::*;

    fn f32_rows(rows: &[(i64, [f32; 2])]) -> Vec<u8> {
        rows.iter()
            .flat_map(|(t, v)| {
                let mut b = t.to_le_bytes().to_vec();
                v.iter().for_each(|x| b.extend_from_slice(&x.to_le_bytes()));
                b
            })
            .collect()
    }

    fn text(layout: &str, options: CsvOptions, rows: &[u8]) -> String {
        let mut out = Vec::new();
        CsvFormatter::new(layout.parse().unwrap(), options)
            .unwrap()
            .format(rows, &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn shortest_floats_read_back_exactly() {
        let rows = f32_rows(&[
            (1, [0.1, -2.5]),
            (1_700_000_000_000_000, [1e-7, 3.0]),
            (2, [1e16, f32::MAX]),
        ]);
        assert_eq!(
            text("float32_2", CsvOptions::default(), &rows),
            "1,0.1,-2.5\n1700000000000000,1e-7,3.0\n2,1e+16,3.4028235e+38\n"
        );
    }

    #[test]
    fn fixed_format_and_column_selection_like_upstream_cli() {
        let rows = f32_rows(&[(5, [0.1, 2.0])]);
        let options = CsvOptions {
            delimiter: b' ',
            columns: vec![1, 0],
            float_format: FloatFormat::Fixed(6),
        };
        assert_eq!(text("float32_2", options, &rows), "5 2.000000 0.100000\n");
    }

    #[test]
    fn integers_and_non_finite_values() {
        let mut rows = (-3i64).to_le_bytes().to_vec();
        rows.extend_from_slice(&(-7i16).to_le_bytes());
        assert_eq!(text("int16_1", CsvOptions::default(), &rows), "-3,-7\n");
        let rows = f32_rows(&[(1, [f32::NAN, f32::NEG_INFINITY])]);
        assert_eq!(
            text("float32_2", CsvOptions::default(), &rows),
            "1,nan,-inf\n"
        );
    }

    #[test]
    fn the_room_of_a_line_holds_the_longest_values() {
        let longest_f32 = [-0.000_001_000_000_1f32, -1.175_494_4e-38, f32::MIN];
        let f32_bits = (0..=u32::MAX)
            .step_by(65_537)
            .chain(longest_f32.map(f32::to_bits));
        let f64_values = [
            -2.225_073_858_507_201_4e-308,
            -3.021_688_684_197_029_3e190,
            f64::MIN,
        ];
        let cases = [
            (
                "float32_1",
                f32_bits
                    .map(|b| f32::from_bits(b).to_le_bytes().to_vec())
                    .collect(),
            ),
            (
                "float64_1",
                f64_values.map(|v| v.to_le_bytes().to_vec()).to_vec(),
            ),
            ("int64_1", vec![i64::MIN.to_le_bytes().to_vec()]),
            ("uint64_1", vec![u64::MAX.to_le_bytes().to_vec()]),
        ];
        for (layout, values) in cases {
            for float_format in [FloatFormat::Shortest, FloatFormat::Fixed(3)] {
                let options = CsvOptions {
                    float_format,
                    ..CsvOptions::default()
                };
                let formatter = CsvFormatter::new(layout.parse().unwrap(), options).unwrap();
                for value in &values {
                    let row = [i64::MIN.to_le_bytes().as_slice(), value].concat();
                    let mut out = vec![0; formatter.line_room()];
                    formatter.format_into(&row, &mut out).unwrap(); // panics past the room
                }
            }
        }
    }

    #[test]
    fn partial_rows_and_too_little_room_are_refused() {
        let formatter =
            CsvFormatter::new("int8_1".parse().unwrap(), CsvOptions::default()).unwrap();
        let room = 2 * formatter.line_room();
        let mut out = vec![0; room];
        assert_eq!(
            formatter
                .format_into(&[0; 17], &mut out)
                .unwrap_err()
                .to_string(),
            "17 bytes is not a whole number of 9-byte rows"
        );
        assert_eq!(
            formatter
                .format_into(&[0; 18], &mut out[1..])
                .unwrap_err()
                .to_string(),
            format!("{} bytes of room for the lines, {room} needed", room - 1)
        );
    }

    #[test]
    fn delimiters_that_read_as_numbers_and_too_many_decimals_are_refused() {
        for delimiter in [b'.', b'0', b'e', b'-', b'"', b'\n', b'\r', 0xe9] {
            let options = CsvOptions {
                delimiter,
                ..CsvOptions::default()
            };
            let err = CsvFormatter::new("int8_1".parse().unwrap(), options).unwrap_err();
            assert!(err.contains("cannot be a delimiter"), "{err}");
        }
        let options = CsvOptions {
            float_format: FloatFormat::Fixed(MAX_DECIMALS + 1),
            ..CsvOptions::default()
        };
        let err = CsvFormatter::new("float64_1".parse().unwrap(), options).unwrap_err();
        assert_eq!(err, "31 decimals: at most 30 are written");
    }

    #[test]
    fn unknown_columns_are_refused() {
        let err = CsvFormatter::new(
            "int8_2".parse().unwrap(),
            CsvOptions {
                columns: vec![2],
                ..CsvOptions::default()
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            "element 2 does not exist: a int8_2 row has elements 0..1"
        );
    }
}
