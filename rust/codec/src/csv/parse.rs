//! Text lines back into rows, for CSV imports: what `format` writes, and what other tools
//! write of the same table.
//!
//! A line is an integer timestamp, then one field per element, split by the delimiter; a
//! field may be wrapped in double quotes.  Lines end with `\n` or `\r\n`; empty lines are
//! skipped.  Integer elements take integers only, float elements any number Rust's `parse`
//! reads (`1`, `-2.5e3`, `nan`, `inf`), rounded once, straight to the element's type.

use std::fmt;
use std::str::FromStr;

use super::check_delimiter;
use crate::layout::{with_element_type, ElementType, Layout};

/// The longest line read: a file whose lines end with `\r` alone, or do not end, would
/// otherwise be held whole until it ends.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Why a line cannot be read as a row.  Lines are counted from the file's first; fields from
/// 1, the timestamp's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CsvError {
    /// Another number of fields than the timestamp and the layout's elements.
    Fields {
        line: u64,
        found: usize,
        expected: usize,
    },
    Empty {
        line: u64,
        field: usize,
    },
    /// Not a number, or, for a timestamp or an integer element, not an integer.
    Invalid {
        line: u64,
        field: usize,
        text: String,
        expected: &'static str,
    },
    /// A number the field's type cannot hold.
    OutOfRange {
        line: u64,
        field: usize,
        text: String,
        type_name: &'static str,
    },
    LineTooLong {
        line: u64,
    },
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::Fields {
                line,
                found,
                expected,
            } => write!(
                f,
                "line {line} has {found} fields, expected {expected} (the timestamp and {} \
                 values)",
                expected - 1
            ),
            CsvError::Empty { line, field } => write!(f, "line {line}, field {field} is empty"),
            CsvError::Invalid {
                line,
                field,
                text,
                expected,
            } => write!(f, "line {line}, field {field}: '{text}' is not {expected}"),
            CsvError::OutOfRange {
                line,
                field,
                text,
                type_name,
            } => write!(
                f,
                "line {line}, field {field}: '{text}' does not fit {type_name}"
            ),
            CsvError::LineTooLong { line } => write!(
                f,
                "line {line} is longer than {MAX_LINE_BYTES} bytes (do the lines end with \\r \
                 alone?)"
            ),
        }
    }
}

impl std::error::Error for CsvError {}

/// Parses text fed in pieces split anywhere, a line at a time, into packed little-endian rows.
#[derive(Clone, Debug)]
pub struct CsvParser {
    layout: Layout,
    delimiter: u8,
    /// The number of the next line.
    line: u64,
    /// The start of a line that the text fed so far ends inside.
    partial: Vec<u8>,
}

impl CsvParser {
    /// `first_line` is the number of the first line fed, for errors.  Fails with a message
    /// when the delimiter could be part of a number or a line end.
    pub fn new(layout: Layout, delimiter: u8, first_line: u64) -> Result<Self, String> {
        check_delimiter(delimiter)?;
        Ok(CsvParser {
            layout,
            delimiter,
            line: first_line,
            partial: Vec::new(),
        })
    }

    /// Append the rows of the lines `text` completes to `out`; a line it ends inside is kept
    /// for the next call.  On an error, `out` keeps the rows of the lines before.
    pub fn feed(&mut self, mut text: &[u8], out: &mut Vec<u8>) -> Result<(), CsvError> {
        if !self.partial.is_empty() {
            let Some(end) = text.iter().position(|&b| b == b'\n') else {
                return self.keep_partial(text);
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&text[..end]);
            let parsed = self.parse_lines(&line, out);
            line.clear();
            self.partial = line; // keeps its room
            parsed?;
            text = &text[end + 1..];
        }
        let whole = text
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |last| last + 1);
        // room for the most rows the lines can hold (2 bytes a field): reserved, not touched
        let shortest_line = 2 * (self.layout.width + 1);
        out.reserve(whole / shortest_line * self.layout.row_size());
        if whole > 0 {
            self.parse_lines(&text[..whole - 1], out)?;
        }
        self.keep_partial(&text[whole..])
    }

    fn keep_partial(&mut self, text: &[u8]) -> Result<(), CsvError> {
        if self.partial.len() + text.len() > MAX_LINE_BYTES {
            return Err(CsvError::LineTooLong { line: self.line });
        }
        self.partial.extend_from_slice(text);
        Ok(())
    }

    /// Append the row of a last line that has no newline, if the text ended with one.
    pub fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), CsvError> {
        let line = std::mem::take(&mut self.partial);
        if line.is_empty() {
            Ok(())
        } else {
            self.parse_lines(&line, out)
        }
    }

    /// `lines` split by `\n`, without the last one's.
    fn parse_lines(&mut self, lines: &[u8], out: &mut Vec<u8>) -> Result<(), CsvError> {
        with_element_type!(self.layout.element_type, T => self.parse_as::<T>(lines, out))
    }

    fn parse_as<T: Value>(&mut self, lines: &[u8], out: &mut Vec<u8>) -> Result<(), CsvError> {
        let mut at = 0;
        while at <= lines.len() {
            let row_start = out.len();
            at = match self.plain_line::<T>(lines, at, out) {
                Some(next) => next,
                None => {
                    out.truncate(row_start);
                    let end = lines[at..]
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(lines.len(), |n| at + n);
                    if let Err(error) = self.any_line::<T>(&lines[at..end], out) {
                        out.truncate(row_start);
                        return Err(error);
                    }
                    end + 1
                }
            };
            self.line += 1;
        }
        Ok(())
    }

    /// The row of a line read in one pass, and where the next line starts; None for a line
    /// that is not a row, or has quotes or a field that is empty.  Each number is read as
    /// it is met, a plain one (digits, a point, digits) by a fast path: three times faster
    /// than splitting the line first.
    #[inline(always)]
    fn plain_line<T: Value>(&self, lines: &[u8], at: usize, out: &mut Vec<u8>) -> Option<usize> {
        let (timestamp, mut at) = self.field::<i64>(lines, at)?;
        out.extend_from_slice(&timestamp.to_le_bytes());
        for _ in 0..self.layout.width {
            if lines.get(at) != Some(&self.delimiter) {
                return None;
            }
            let (value, end) = self.field::<T>(lines, at + 1)?;
            value.put_le(out);
            at = end;
        }
        match &lines[at..] {
            [] => Some(at + 1),
            [b'\n', ..] => Some(at + 1),
            [b'\r', b'\n', ..] => Some(at + 2),
            _ => None,
        }
    }

    /// The number at `lines[at..]` and where its field ends.
    #[inline(always)]
    fn field<V: Value>(&self, lines: &[u8], at: usize) -> Option<(V, usize)> {
        if let Some((value, end)) = V::plain(lines, at) {
            if matches!(lines.get(end), None | Some(b'\n' | b'\r')) || lines[end] == self.delimiter
            {
                return Some((value, end));
            }
        }
        let end = lines[at..]
            .iter()
            .position(|&b| b == self.delimiter || b == b'\n' || b == b'\r')
            .map_or(lines.len(), |n| at + n);
        let text = &lines[at..end];
        if text.first() == Some(&b'"') {
            return None;
        }
        Some((V::parse(text).ok()?, end))
    }

    /// The row of any line (empty lines have none), or what is wrong with it.
    fn any_line<T: Value>(&self, line: &[u8], out: &mut Vec<u8>) -> Result<(), CsvError> {
        let (number, expected) = (self.line, self.layout.width + 1);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            return Ok(());
        }
        let mut found = 0;
        for field in line.split(|&b| b == self.delimiter) {
            found += 1;
            if found > expected {
                continue; // counted for the error
            }
            let text = unquoted(field);
            if text.is_empty() {
                return Err(CsvError::Empty {
                    line: number,
                    field: found,
                });
            }
            let parsed = if found == 1 {
                i64::parse(text).map(|t| out.extend_from_slice(&t.to_le_bytes()))
            } else {
                T::parse(text).map(|v| v.put_le(out))
            };
            let element_type = self.layout.element_type;
            parsed.map_err(|fault| fault.at(number, found, text, element_type))?;
        }
        if found != expected {
            return Err(CsvError::Fields {
                line: number,
                found,
                expected,
            });
        }
        Ok(())
    }
}

/// A field without the double quotes around it, if it has them.
fn unquoted(field: &[u8]) -> &[u8] {
    match field {
        [b'"', inner @ .., b'"'] => inner,
        _ => field,
    }
}

/// What is wrong with a field, before the line and field are known.
enum Fault {
    /// Not a number of the kind the field takes.
    Invalid,
    /// A number the field's type cannot hold.
    OutOfRange,
}

impl Fault {
    /// The error of `field` (the timestamp, or an element of `element_type`) on `line`.
    fn at(self, line: u64, field: usize, text: &[u8], element_type: ElementType) -> CsvError {
        let (expected, type_name) = if field == 1 {
            ("an integer timestamp (UNIX µs)", "a timestamp (int64)")
        } else if element_type.is_float() {
            ("a number", element_type.name())
        } else {
            ("an integer", element_type.name())
        };
        // enough of the field to recognise it, control characters spelled out
        let mut text = text.escape_ascii().to_string();
        if text.len() > 40 {
            text.truncate(40);
            text.push('…');
        }
        match self {
            Fault::Invalid => CsvError::Invalid {
                line,
                field,
                text,
                expected,
            },
            Fault::OutOfRange => CsvError::OutOfRange {
                line,
                field,
                text,
                type_name,
            },
        }
    }
}

/// A value of one element type: read from a field, written as packed little-endian bytes.
trait Value: Sized {
    /// Any field's text.
    fn parse(text: &[u8]) -> Result<Self, Fault>;
    /// A plain number at `text[at..]` and where it ends; None where `parse` must decide.
    fn plain(text: &[u8], at: usize) -> Option<(Self, usize)>;
    fn put_le(self, out: &mut Vec<u8>);
}

/// `-?[0-9]*` at `text[at..]`: the sign, the digits as a number (None past `u64::MAX`), how
/// many there were, and where they end.
#[inline(always)]
fn plain_digits(text: &[u8], at: usize) -> (bool, Option<u64>, usize, usize) {
    let negative = text.get(at) == Some(&b'-');
    let (number, count, end) = digits_onto(Some(0), text, at + usize::from(negative));
    (negative, number, count, end)
}

/// `number` followed by the digits at `text[at..]` (None past `u64::MAX`), how many digits
/// there were, and where they end.
#[inline(always)]
fn digits_onto(mut number: Option<u64>, text: &[u8], at: usize) -> (Option<u64>, usize, usize) {
    let mut end = at;
    // eight digits at a time, as Rust's own float parsing reads them (a timestamp has 16)
    while let Some(eight) = text
        .get(end..end + 8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap()))
    {
        if !eight_digits(eight) {
            break;
        }
        number = number.and_then(|n| {
            n.checked_mul(100_000_000)?
                .checked_add(value_of_eight(eight))
        });
        end += 8;
    }
    while let Some(digit) = text
        .get(end)
        .map(|b| b.wrapping_sub(b'0'))
        .filter(|&d| d < 10)
    {
        number = number.and_then(|n| n.checked_mul(10)?.checked_add(u64::from(digit)));
        end += 1;
    }
    (number, end - at, end)
}

/// Whether eight bytes (little-endian) are all ASCII digits.
#[inline(always)]
fn eight_digits(bytes: u64) -> bool {
    let above = bytes.wrapping_add(0x4646_4646_4646_4646); // sets a top bit past b'9'
    let below = bytes.wrapping_sub(0x3030_3030_3030_3030); // sets a top bit under b'0'
    (above | below) & 0x8080_8080_8080_8080 == 0
}

/// The number eight ASCII digits (little-endian, the first the most significant) spell.
#[inline(always)]
fn value_of_eight(bytes: u64) -> u64 {
    let digits = bytes - 0x3030_3030_3030_3030;
    let pairs = digits * 10 + (digits >> 8); // each even byte now holds two digits' value
    let mask = 0x0000_00FF_0000_00FF;
    let low = (pairs & mask).wrapping_mul(100 + (1_000_000 << 32));
    let high = ((pairs >> 16) & mask).wrapping_mul(1 + (10_000 << 32));
    (low.wrapping_add(high) >> 32) & 0xFFFF_FFFF
}

/// An integer's sign and magnitude (None past `u64::MAX`): `[+-]?[0-9]+`.
fn integer(text: &[u8]) -> Result<(bool, Option<u64>), Fault> {
    let unsigned = text.strip_prefix(b"+").unwrap_or(text);
    let (negative, magnitude, count, end) = plain_digits(unsigned, 0);
    let plus = unsigned.len() < text.len();
    if count == 0 || end < unsigned.len() || plus && negative {
        return Err(Fault::Invalid);
    }
    Ok((negative, magnitude))
}

macro_rules! integer_value {
    ($($t:ty),*) => {$(
        impl Value for $t {
            fn parse(text: &[u8]) -> Result<Self, Fault> {
                let (negative, magnitude) = integer(text)?;
                let value = magnitude.and_then(|m| {
                    let m = i128::from(m);
                    <$t>::try_from(if negative { -m } else { m }).ok()
                });
                value.ok_or(Fault::OutOfRange)
            }
            #[inline(always)]
            fn plain(text: &[u8], at: usize) -> Option<(Self, usize)> {
                let (negative, magnitude, digits, end) = plain_digits(text, at);
                if digits == 0 {
                    return None;
                }
                let m = i128::from(magnitude?);
                Some((<$t>::try_from(if negative { -m } else { m }).ok()?, end))
            }
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

macro_rules! float_value {
    ($($t:ty => $convert:expr),*) => {$(
        impl Value for $t {
            fn parse(text: &[u8]) -> Result<Self, Fault> {
                let value = std::str::from_utf8(text)
                    .ok()
                    .and_then(|s| <$t>::from_str(s).ok())
                    .ok_or(Fault::Invalid)?;
                // a number too large for the type reads as infinity; "inf" and "infinity",
                // the only texts that should, are the only ones with an i
                if value.is_infinite() && !text.iter().any(|b| b.eq_ignore_ascii_case(&b'i')) {
                    return Err(Fault::OutOfRange);
                }
                Ok(value)
            }
            #[inline(always)]
            fn plain(text: &[u8], at: usize) -> Option<(Self, usize)> {
                let (negative, number, end) = plain_decimal(text, at)?;
                let value: $t = $convert(number)?;
                Some((if negative { -value } else { value }, end))
            }
            fn put_le(self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

integer_value!(i8, i16, i32, i64, u8, u16, u32, u64);
float_value!(
    f32 => PlainDecimal::to_f32,
    f64 => |decimal: PlainDecimal| Some(decimal.quotient())
);

/// A decimal of up to 2^53 over a power of ten up to 10^22: both exact in a float64.
#[derive(Clone, Copy)]
struct PlainDecimal {
    digits: u64,
    decimals: usize,
}

const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

impl PlainDecimal {
    /// Clinger's fast path: the quotient of two exact float64s is correctly rounded.
    fn quotient(self) -> f64 {
        self.digits as f64 / POWERS_OF_TEN[self.decimals]
    }

    /// The float64 quotient, rounded again to float32: right unless it lies exactly halfway
    /// between two float32s, where the decimal itself may not (float32 halfway points are
    /// float64s, so rounding to float64 never crosses one; it can only land on one).
    fn to_f32(self) -> Option<f32> {
        let quotient = self.quotient();
        // quotients lie from 1e-22 to 2^53, where float32s are normal: a halfway point has
        // the float32's 24 bits, then a one, then zeros in the 29 bits float64 has beyond
        let halfway = 1u64 << 28;
        (quotient.to_bits() & (2 * halfway - 1) != halfway).then_some(quotient as f32)
    }
}

/// `-?[0-9]*(\.[0-9]*)?` at `text[at..]`, with a digit, that `PlainDecimal` holds: its sign,
/// value and end.
#[inline(always)]
fn plain_decimal(text: &[u8], at: usize) -> Option<(bool, PlainDecimal, usize)> {
    let (negative, whole, count, mut end) = plain_digits(text, at);
    let (mut digits, mut decimals) = (whole?, 0);
    if text.get(end) == Some(&b'.') {
        let (with_fraction, fraction, after) = digits_onto(Some(digits), text, end + 1);
        (digits, decimals, end) = (with_fraction?, fraction, after);
    }
    let exact = count + decimals > 0 && digits <= 1 << 53 && decimals < POWERS_OF_TEN.len();
    exact.then_some((negative, PlainDecimal { digits, decimals }, end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::{CsvFormatter, CsvOptions};

    fn parse(layout: &str, pieces: &[&str]) -> Result<Vec<u8>, CsvError> {
        let mut parser = CsvParser::new(layout.parse().unwrap(), b',', 3).unwrap();
        let mut out = Vec::new();
        for piece in pieces {
            parser.feed(piece.as_bytes(), &mut out)?;
        }
        parser.finish(&mut out)?;
        Ok(out)
    }

    fn row(timestamp: i64, values: &[f32]) -> Vec<u8> {
        let mut bytes = timestamp.to_le_bytes().to_vec();
        values
            .iter()
            .for_each(|v| bytes.extend_from_slice(&v.to_le_bytes()));
        bytes
    }

    #[test]
    fn lines_split_anywhere_become_rows() {
        let text = "1,0.5,-2\r\n\n\"2\",1e3,\"inf\"\n-3,nan,+4.25";
        let expected = [
            row(1, &[0.5, -2.0]),
            row(2, &[1000.0, f32::INFINITY]),
            row(-3, &[f32::NAN, 4.25]),
        ]
        .concat();
        for cut in 0..=text.len() {
            let rows = parse("float32_2", &[&text[..cut], &text[cut..]]).unwrap();
            assert_eq!(rows, expected, "cut at {cut}");
        }
        assert_eq!(parse("float32_2", &[""]).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn what_format_writes_reads_back_exactly() {
        let mut rows = row(i64::MIN, &[f32::MIN_POSITIVE, -0.000_001_000_000_1]);
        rows.extend(row(i64::MAX, &[f32::MAX, 0.1]));
        let mut text = Vec::new();
        CsvFormatter::new("float32_2".parse().unwrap(), CsvOptions::default())
            .unwrap()
            .format(&rows, &mut text)
            .unwrap();
        let mut parser = CsvParser::new("float32_2".parse().unwrap(), b',', 1).unwrap();
        let mut out = Vec::new();
        parser.feed(&text, &mut out).unwrap();
        assert_eq!(out, rows);
    }

    #[test]
    fn integers_are_exact_and_checked_against_their_type() {
        let rows = parse("uint64_1", &["5,18446744073709551615\n"]).unwrap();
        assert_eq!(rows[8..], u64::MAX.to_le_bytes());
        let rows = parse("int8_2", &["5,-128,+127\n"]).unwrap();
        assert_eq!(rows[8..], [0x80, 0x7f]);
        for (text, message) in [
            ("5,128,0", "line 3, field 2: '128' does not fit int8"),
            ("5,1.0,0", "line 3, field 2: '1.0' is not an integer"),
            ("5,-,0", "line 3, field 2: '-' is not an integer"),
            ("5,+-1,0", "line 3, field 2: '+-1' is not an integer"),
            (
                "99999999999999999999,1,0",
                "line 3, field 1: '99999999999999999999' does not fit a timestamp (int64)",
            ),
        ] {
            assert_eq!(parse("int8_2", &[text]).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn bad_lines_are_named() {
        for (text, message) in [
            (
                "1,2,3\n3,4,5,6\n",
                "line 4 has 4 fields, expected 3 (the timestamp and 2 values)",
            ),
            (
                "1,2",
                "line 3 has 2 fields, expected 3 (the timestamp and 2 values)",
            ),
            ("1,,2", "line 3, field 2 is empty"),
            ("1,2,\"\"", "line 3, field 3 is empty"),
            ("1,2,x", "line 3, field 3: 'x' is not a number"),
            (
                "1.5,2,3",
                "line 3, field 1: '1.5' is not an integer timestamp (UNIX µs)",
            ),
            ("1,5\r2,3", "line 3, field 2: '5\\r2' is not a number"),
            ("1,2,1e39", "line 3, field 3: '1e39' does not fit float32"),
        ] {
            assert_eq!(
                parse("float32_2", &[text]).unwrap_err().to_string(),
                message
            );
        }
        let too_large = "1,1e309,0";
        assert!(parse("float64_2", &[too_large])
            .unwrap_err()
            .to_string()
            .contains("float64"));
    }

    /// Both paths of float fields against Rust's own (correctly rounded) parse.
    fn assert_rounds_as_rust<T>(text: &str)
    where
        T: Value + FromStr + Copy + PartialEq + fmt::Debug,
        <T as FromStr>::Err: fmt::Debug,
    {
        let expected: T = text.parse().unwrap();
        if let Some((fast, end)) = T::plain(text.as_bytes(), 0) {
            assert_eq!((fast, end), (expected, text.len()), "{text}");
        }
        assert_eq!(T::parse(text.as_bytes()).ok(), Some(expected), "{text}");
    }

    #[test]
    fn floats_round_as_rusts_own_parse() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            // digits on either side of 2^53, decimals on either side of 22: both paths
            let digits = next() % (1 << 54);
            let decimals = (next() % 25) as usize;
            let spelled = format!("{digits:0>width$}", width = decimals + 1);
            let (whole, fraction) = spelled.split_at(spelled.len() - decimals);
            let sign = if next() % 2 == 0 { "-" } else { "" };
            let text = format!("{sign}{whole}.{fraction}");
            assert_rounds_as_rust::<f32>(&text);
            assert_rounds_as_rust::<f64>(&text);
        }
        // Decimals of 22 places that round (as float64) onto a float32 halfway point they
        // are not: rounding that again would go to even, not to the decimal's side.
        let mut landed = 0;
        for _ in 0..20_000 {
            let low = f32::from_bits(0x3400_0000 + (next() % 0x0100_0000) as u32); // 1.2e-7..
            let halfway = (f64::from(low) + f64::from(low.next_up())) / 2.0;
            let (mantissa, exponent) = (
                halfway.to_bits() & ((1 << 52) - 1) | 1 << 52,
                halfway.to_bits() >> 52,
            );
            let shift = 1075 - exponent as u32; // halfway = mantissa / 2^shift
            let scaled = u128::from(mantissa) * 10u128.pow(22);
            let nearest = (scaled + (1 << (shift - 1))) >> shift;
            let text = format!("0.{nearest:022}");
            if text[2..].parse::<u64>().unwrap() as f64 / 1e22 == halfway
                && (nearest << shift) != scaled
            {
                landed += 1;
            }
            assert_rounds_as_rust::<f32>(&text);
        }
        assert!(
            landed > 100,
            "only {landed} decimals landed on a halfway point"
        );
    }

    #[test]
    fn eight_digits_at_a_time_as_one_at_a_time() {
        for text in ["12345678", "00000000", "99999999", "10203040"] {
            let bytes = u64::from_le_bytes(text.as_bytes().try_into().unwrap());
            assert!(eight_digits(bytes));
            assert_eq!(value_of_eight(bytes), text.parse::<u64>().unwrap());
        }
        for text in ["1234567/", "1234567:", "a2345678", "1234 678"] {
            assert!(!eight_digits(u64::from_le_bytes(
                text.as_bytes().try_into().unwrap()
            )));
        }
        let long = "18446744073709551615,18446744073709551616";
        assert_eq!(
            plain_digits(long.as_bytes(), 0),
            (false, Some(u64::MAX), 20, 20)
        );
        assert_eq!(plain_digits(long.as_bytes(), 21), (false, None, 20, 41));
    }

    #[test]
    fn a_bad_line_is_named_wherever_the_text_is_cut() {
        let text = "1,2\r\n\n3,4\n5,x\n";
        for cut in 0..=text.len() {
            let err = parse("int8_1", &[&text[..cut], &text[cut..]]).unwrap_err();
            assert_eq!(err.to_string(), "line 6, field 2: 'x' is not an integer");
        }
    }

    #[test]
    fn the_limits_of_each_path() {
        // 2^53 digits and 22 decimals are the fast path's last; one more takes the other
        for text in [
            "9007199254740992",
            "9007199254740993",
            "0.9007199254740993",
            "1.0000000000000000000001",
            "1.00000000000000000000001",
            "-0",
            "-0.0",
            "340282356779733661637539395458142568447.9", // just under float32's rounding up
        ] {
            assert_rounds_as_rust::<f32>(text);
            assert_rounds_as_rust::<f64>(text);
        }
        let negative_zero = parse("float32_1", &["1,-0\n2,-0.0\n"]).unwrap();
        assert_eq!(negative_zero[8..12], (-0.0f32).to_le_bytes());
        assert_eq!(negative_zero[20..], (-0.0f32).to_le_bytes());
        // float32's largest value plus half its step rounds to infinity: too large
        let err = parse("float32_1", &["1,340282356779733661637539395458142568448"]).unwrap_err();
        assert!(err.to_string().ends_with("does not fit float32"), "{err}");
        assert_eq!(parse("uint8_1", &["1,-0"]).unwrap()[8..], [0]);
    }

    #[test]
    fn a_line_without_an_end_is_refused_past_its_limit() {
        let mut parser = CsvParser::new("int8_1".parse().unwrap(), b',', 7).unwrap();
        let mut out = Vec::new();
        let carriage_returns = "1,2\r".repeat(MAX_LINE_BYTES / 4);
        parser.feed(carriage_returns.as_bytes(), &mut out).unwrap();
        let err = parser
            .feed(carriage_returns.as_bytes(), &mut out)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 7 is longer than 1048576 bytes (do the lines end with \\r alone?)"
        );
    }

    #[test]
    fn delimiters_that_read_as_numbers_are_refused() {
        for delimiter in [b'.', b'5', b'E', b'+', b'"', b'\n', b'\r'] {
            let err = CsvParser::new("int8_1".parse().unwrap(), delimiter, 1).unwrap_err();
            assert!(err.contains("cannot be a delimiter"), "{err}");
        }
        for delimiter in [b',', b';', b'\t', b' ', b'|'] {
            CsvParser::new("int8_1".parse().unwrap(), delimiter, 1).unwrap();
        }
    }

    #[test]
    fn rows_before_a_bad_line_are_kept() {
        let mut parser = CsvParser::new("int16_1".parse().unwrap(), b';', 1).unwrap();
        let mut out = Vec::new();
        let err = parser.feed(b"1;2\n3;x\n", &mut out).unwrap_err();
        assert_eq!(err.to_string(), "line 2, field 2: 'x' is not an integer");
        assert_eq!(
            out,
            [1i64.to_le_bytes().as_slice(), &2i16.to_le_bytes()].concat()
        );
    }
}
