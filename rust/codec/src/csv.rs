//! Rows as delimited text: where Python exports spend their time.

use std::io::Write;

use crate::layout::{ElementType, Layout};

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
    /// Fails with a message when a column is not an element of the layout.
    pub fn new(layout: Layout, options: CsvOptions) -> Result<Self, String> {
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

    /// Append the lines of `rows` (a whole number of rows) to `out`.
    pub fn format(&self, rows: &[u8], out: &mut Vec<u8>) {
        let rs = self.layout.row_size();
        assert!(rows.len().is_multiple_of(rs), "not a whole number of rows");
        out.reserve(rows.len() / rs * (21 + self.columns.len() * 12));
        match self.layout.element_type {
            ElementType::Int8 => self.format_as::<i8>(rows, out),
            ElementType::Int16 => self.format_as::<i16>(rows, out),
            ElementType::Int32 => self.format_as::<i32>(rows, out),
            ElementType::Int64 => self.format_as::<i64>(rows, out),
            ElementType::Uint8 => self.format_as::<u8>(rows, out),
            ElementType::Uint16 => self.format_as::<u16>(rows, out),
            ElementType::Uint32 => self.format_as::<u32>(rows, out),
            ElementType::Uint64 => self.format_as::<u64>(rows, out),
            ElementType::Float32 => self.format_as::<f32>(rows, out),
            ElementType::Float64 => self.format_as::<f64>(rows, out),
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    fn format_as<T: Element>(&self, rows: &[u8], out: &mut Vec<u8>) {
        let size = std::mem::size_of::<T>();
        let mut ints = itoa::Buffer::new();
        let mut floats = zmij::Buffer::new();
        for row in rows.chunks_exact(self.layout.row_size()) {
            let timestamp = i64::from_le_bytes(row[..8].try_into().expect("8 bytes"));
            out.extend_from_slice(ints.format(timestamp).as_bytes());
            for &c in &self.columns {
                out.push(self.options.delimiter);
                let value = T::from_le(&row[8 + c * size..8 + (c + 1) * size]);
                match self.options.float_format {
                    FloatFormat::Shortest => value.write_shortest(out, &mut ints, &mut floats),
                    FloatFormat::Fixed(decimals) => {
                        write!(out, "{:.*}", decimals, value.as_f64()).expect("Vec write")
                    }
                }
            }
            out.push(b'\n');
        }
    }
}

/// One element type: how to read it from the row and write it as text.
trait Element: Copy {
    fn from_le(bytes: &[u8]) -> Self;
    fn write_shortest(self, out: &mut Vec<u8>, ints: &mut itoa::Buffer, floats: &mut zmij::Buffer);
    fn as_f64(self) -> f64;
}

macro_rules! integer_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn from_le(bytes: &[u8]) -> Self {
                <$t>::from_le_bytes(bytes.try_into().expect("element size"))
            }
            fn write_shortest(self, out: &mut Vec<u8>, ints: &mut itoa::Buffer, _: &mut zmij::Buffer) {
                out.extend_from_slice(ints.format(self).as_bytes());
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
            fn write_shortest(self, out: &mut Vec<u8>, _: &mut itoa::Buffer, floats: &mut zmij::Buffer) {
                if self.is_finite() {
                    out.extend_from_slice(floats.format_finite(self).as_bytes());
                } else {
                    // spelled as numpy and pandas read them back
                    let text: &[u8] = if self.is_nan() { b"nan" } else if self > 0.0 { b"inf" } else { b"-inf" };
                    out.extend_from_slice(text);
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
            .format(rows, &mut out);
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
