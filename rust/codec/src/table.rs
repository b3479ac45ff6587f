//! Numbers (a timestamp column and the elements, each column of any number type) as packed
//! rows: every value converted to the layout's type on the way, and refused if that would
//! change it.
//!
//! This is the one definition of what can be stored: an integer type takes integral values
//! in its range (so no NaN, infinity or fraction), a float32 takes any number but a finite
//! one beyond its range, float64 takes anything; integers go to float types rounded to
//! nearest.  A float timestamp is first rounded to the nearest microsecond, half to even
//! (numpy's `rint`), so only NaN, infinite and out-of-range timestamps are refused.

use crate::encode::EncodeError;
use crate::layout::{with_element_type, Layout};

/// A value of an input table, as far as conversion cares: a signed or unsigned integer, or
/// a float.  Unsigned values keep their own variant so that uint64 ones above `i64::MAX`
/// stay exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Uint(u64),
    Float(f64),
}

impl Number {
    /// The value as Python shows numpy's `.item()` of it, for error messages.
    pub fn python_repr(self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
            Number::Uint(u) => u.to_string(),
            Number::Float(f) => python_float_repr(f),
        }
    }
}

/// The element types a table may hold.
pub trait TableValue: Copy + Send + Sync {
    fn number(self) -> Number;
}

macro_rules! table_values {
    ($($t:ty => $variant:ident($wide:ty)),*) => {$(
        impl TableValue for $t {
            #[inline]
            fn number(self) -> Number {
                Number::$variant(<$wide>::from(self))
            }
        }
    )*};
}

table_values!(
    f64 => Float(f64),
    f32 => Float(f64),
    i64 => Int(i64),
    i32 => Int(i64),
    u64 => Uint(u64)
);

/// Round half to even, as numpy's `rint`.  Adding 2^52 leaves no bits below the units, so
/// the addition itself rounds (to nearest even, the default mode) and the subtraction is
/// exact; floats from 2^52 on are integral already and, with NaN and the infinities, are
/// returned as they are.  A few plain instructions, where `f64::round_ties_even` is a call
/// into libm on baseline x86-64.
#[inline]
fn round_ties_even(f: f64) -> f64 {
    const TWO_52: f64 = 4_503_599_627_370_496.0;
    let magnitude = f.abs();
    let rounded = ((magnitude + TWO_52) - TWO_52).copysign(f);
    if magnitude < TWO_52 {
        rounded
    } else {
        f
    }
}

/// A row's timestamp as int64, and whether it fits.  A float is rounded to the nearest
/// microsecond (half to even) first, because float timestamps such as upstream's `t * 1e6`
/// miss by a hair (8999.999999999998 for 9000); rounded, it is integral, so only its range
/// is checked (NaN fails it), without the `trunc` an integer element needs.
#[inline]
fn to_timestamp(number: Number) -> (i64, bool) {
    match number {
        Number::Int(i) => (i, true),
        Number::Uint(u) => (u as i64, i64::try_from(u).is_ok()),
        Number::Float(f) => {
            let rounded = round_ties_even(f);
            // -2^63 is exact in f64, so the bounds compare exactly
            let bound = -(i64::MIN as f64);
            (rounded as i64, (rounded >= -bound) & (rounded < bound))
        }
    }
}

/// A layout's element type: converted from a `Number` when that keeps its value.
trait Element: Copy {
    const SIZE: usize;
    /// The value converted, and whether that kept it; without branches, so that a row is
    /// converted in one straight run and checked once.
    fn convert(number: Number) -> (Self, bool);
    fn write_le(self, out: &mut [u8]);

    fn from_number(number: Number) -> Option<Self> {
        let (value, kept) = Self::convert(number);
        kept.then_some(value)
    }
}

macro_rules! integer_elements {
    ($($t:ty),*) => {$(
        impl Element for $t {
            const SIZE: usize = std::mem::size_of::<$t>();

            #[inline]
            fn convert(number: Number) -> (Self, bool) {
                match number {
                    Number::Int(i) => (i as $t, <$t>::try_from(i).is_ok()),
                    Number::Uint(u) => (u as $t, <$t>::try_from(u).is_ok()),
                    Number::Float(f) => {
                        // MAX + 1 is a power of two, exact in f64 (for 64 bits MAX already
                        // rounds to it), so the bounds compare exactly; NaN fails them all
                        let kept = (f.trunc() == f)
                            & (f >= <$t>::MIN as f64)
                            & (f < <$t>::MAX as f64 + 1.0);
                        (f as $t, kept)
                    }
                }
            }

            #[inline]
            fn write_le(self, out: &mut [u8]) {
                out.copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}

integer_elements!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Element for f32 {
    const SIZE: usize = 4;

    #[inline]
    fn convert(number: Number) -> (Self, bool) {
        match number {
            Number::Int(i) => (i as f32, true),
            Number::Uint(u) => (u as f32, true),
            Number::Float(f) => {
                let narrowed = f as f32;
                (narrowed, narrowed.is_finite() | !f.is_finite())
            }
        }
    }

    #[inline]
    fn write_le(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }
}

impl Element for f64 {
    const SIZE: usize = 8;

    #[inline]
    fn convert(number: Number) -> (Self, bool) {
        match number {
            Number::Int(i) => (i as f64, true),
            Number::Uint(u) => (u as f64, true),
            Number::Float(f) => (f, true),
        }
    }

    #[inline]
    fn write_le(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }
}

/// Rows given as numbers: a timestamp column of type `T` and `width` element columns of type
/// `V`.  Either one row-major table, the timestamp first (`interleaved`, `T` = `V`), or a
/// timestamp array beside a row-major array of elements (`columns`), such as int64
/// timestamps with float32 values: no column passes through another type on the way.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a, T, V> {
    timestamps: &'a [T],
    /// From one row's timestamp to the next one's.
    timestamp_stride: usize,
    elements: &'a [V],
    /// From one row's first element to the next one's.
    element_stride: usize,
    width: usize,
    rows: usize,
}

impl<'a, T> Table<'a, T, T> {
    /// A row-major table of `columns` columns: the timestamp, then the elements.
    pub fn interleaved(values: &'a [T], columns: usize) -> Result<Self, EncodeError> {
        if columns == 0 || !values.len().is_multiple_of(columns) {
            return Err(EncodeError::NotWholeTableRows {
                values: values.len(),
                columns,
            });
        }
        Ok(Table {
            timestamps: values,
            timestamp_stride: columns,
            elements: values.get(1..).unwrap_or_default(),
            element_stride: columns,
            width: columns - 1,
            rows: values.len() / columns,
        })
    }
}

impl<'a, T, V> Table<'a, T, V> {
    /// One timestamp per row beside `elements`, row-major, `width` to a row.
    pub fn columns(
        timestamps: &'a [T],
        elements: &'a [V],
        width: usize,
    ) -> Result<Self, EncodeError> {
        let whole = match elements.len().checked_rem(width) {
            Some(rest) => rest == 0,
            None => elements.is_empty(), // no elements: as many rows as timestamps
        };
        if !whole {
            return Err(EncodeError::NotWholeTableRows {
                values: elements.len(),
                columns: width,
            });
        }
        let rows = elements
            .len()
            .checked_div(width)
            .unwrap_or(timestamps.len());
        if rows != timestamps.len() {
            return Err(EncodeError::RowCounts {
                timestamps: timestamps.len(),
                rows,
            });
        }
        Ok(Table {
            timestamps,
            timestamp_stride: 1,
            elements,
            element_stride: width,
            width,
            rows,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
}

impl<T: TableValue, V: TableValue> Table<'_, T, V> {
    /// The rows as packed little-endian rows of `layout` into `out` (exactly their size),
    /// each value converted and refused if the layout's type cannot hold it; the error names
    /// the first row with such a value.  Timestamps are not compared here: an `Encoder`
    /// checks their order as it sends them.
    pub fn convert_into(&self, layout: Layout, out: &mut [u8]) -> Result<(), EncodeError> {
        self.check_width(layout)?;
        assert_eq!(
            out.len(),
            self.rows * layout.row_size(),
            "output of the rows' size"
        );
        self.write_rows(layout, 0, self.rows, out)
            .map_err(|(_, error)| error)
    }

    /// A table whose rows hold another number of elements than the layout is an error.
    pub(crate) fn check_width(&self, layout: Layout) -> Result<(), EncodeError> {
        if self.width == layout.width {
            Ok(())
        } else {
            Err(EncodeError::WrongWidth {
                elements: self.width,
                layout,
            })
        }
    }

    /// Rows `start..end` as packed little-endian rows of `layout` (of the table's width)
    /// into `dst` (exactly their size).  On a value that cannot be stored: how many rows were
    /// written before its row, and the error.
    pub(crate) fn write_rows(
        &self,
        layout: Layout,
        start: usize,
        end: usize,
        dst: &mut [u8],
    ) -> Result<(), (usize, EncodeError)> {
        with_element_type!(layout.element_type, T => self.convert::<T>(layout, start, end, dst))
    }

    /// Row `row`: its timestamp and its elements.
    #[inline]
    fn row(&self, row: usize) -> (T, &[V]) {
        let first = row * self.element_stride;
        (
            self.timestamps[row * self.timestamp_stride],
            &self.elements[first..first + self.width],
        )
    }

    fn convert<E: Element>(
        &self,
        layout: Layout,
        start: usize,
        end: usize,
        dst: &mut [u8],
    ) -> Result<(), (usize, EncodeError)> {
        let rows = (start..end).zip(dst.chunks_exact_mut(layout.row_size()));
        for (i, (row, out)) in rows.enumerate() {
            let (given, elements) = self.row(row);
            let (timestamp, out_elements) = out.split_at_mut(8);
            let (ts, mut kept) = to_timestamp(given.number());
            timestamp.copy_from_slice(&ts.to_le_bytes());
            for (value, out) in elements.iter().zip(out_elements.chunks_exact_mut(E::SIZE)) {
                let (element, element_kept) = E::convert(value.number());
                element.write_le(out);
                kept &= element_kept;
            }
            if !kept {
                return Err((i, self.first_unstorable::<E>(layout, row)));
            }
        }
        Ok(())
    }

    /// The error for the first value of a row that its type cannot hold.
    fn first_unstorable<E: Element>(&self, layout: Layout, row: usize) -> EncodeError {
        let (given, elements) = self.row(row);
        let (element, value) = match to_timestamp(given.number()) {
            (_, false) => (None, given.number()),
            (_, true) => elements
                .iter()
                .map(|v| v.number())
                .enumerate()
                .find(|&(_, number)| E::from_number(number).is_none())
                .map(|(element, number)| (Some(element), number))
                .expect("a value that cannot be stored"),
        };
        EncodeError::NotRepresentable {
            row,
            element,
            value: value.python_repr(),
            layout,
        }
    }
}

/// Python's `repr` of a float: the shortest digits that read back as `f` (as Rust's
/// formatting gives them), in fixed notation from 1e-4 up to 1e16, else as `1.5e+20`.
pub(crate) fn python_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    let scientific = format!("{f:e}");
    let (mantissa, exponent) = scientific.split_once('e').expect("{:e} has an exponent");
    let exponent: i32 = exponent.parse().expect("{:e} exponent is a number");
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(magnitude) => ("-", magnitude),
        None => ("", mantissa),
    };
    let digits = mantissa.replace('.', "");
    // Python's rule: the value is 0.<digits> x 10^point; fixed notation when -4 < point <= 16
    let point = exponent + 1;
    if point <= -4 || point > 16 {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{exp_sign}{:02}", exponent.abs());
    }
    let fixed = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else {
        let point = point as usize;
        if point >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point - digits.len()))
        } else {
            format!("{}.{}", &digits[..point], &digits[point..])
        }
    };
    format!("{sign}{fixed}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ElementType;

    fn layout(element_type: ElementType, width: usize) -> Layout {
        Layout::new(element_type, width)
    }

    /// `convert_into` a new vector.
    fn converted<T: TableValue, V: TableValue>(
        table: &Table<'_, T, V>,
        layout: Layout,
    ) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0; table.rows() * layout.row_size()];
        table.convert_into(layout, &mut out).map(|()| out)
    }

    /// Packed little-endian rows: each timestamp, then its elements' bytes.
    fn packed<const N: usize>(rows: &[(i64, [u8; N])]) -> Vec<u8> {
        rows.iter()
            .flat_map(|(t, elements)| [&t.to_le_bytes()[..], elements].concat())
            .collect()
    }

    fn f32_le<const N: usize>(values: [f32; N]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    #[test]
    fn each_column_converts_from_its_own_type() {
        // int64 timestamps beyond what float64 holds exactly, beside float32 values
        let timestamps = [i64::MAX - 2, i64::MAX - 1, i64::MAX];
        let elements = [0.1f32, 0.2, 0.3, 0.4, f32::NAN, -0.0];
        let table = Table::columns(&timestamps, &elements, 2).unwrap();
        assert_eq!(table.rows(), 3);
        let expected: Vec<u8> = timestamps
            .iter()
            .zip(elements.chunks(2))
            .flat_map(|(t, e)| [t.to_le_bytes().to_vec(), f32_le([e[0], e[1]])].concat())
            .collect();
        assert_eq!(
            converted(&table, layout(ElementType::Float32, 2)).unwrap(),
            expected
        );
        // the same float32 values into float64, and int32 timestamps beside float64 values
        let wide = converted(&table, layout(ElementType::Float64, 2)).unwrap();
        assert_eq!(wide[8..16], f64::from(0.1f32).to_le_bytes());
        let table = Table::columns(&[-1i32, 7], &[2.0f64, -3.0], 1).unwrap();
        assert_eq!(
            converted(&table, layout(ElementType::Int8, 1)).unwrap(),
            packed(&[(-1, [2]), (7, [(-3i8) as u8])])
        );
    }

    #[test]
    fn unsigned_64_bit_numbers_stay_exact() {
        let big = [u64::MAX, 1 << 63];
        let table = Table::columns(&[1i64, 2], &big, 1).unwrap();
        assert_eq!(
            converted(&table, layout(ElementType::Uint64, 1)).unwrap(),
            packed(&[(1, u64::MAX.to_le_bytes()), (2, (1u64 << 63).to_le_bytes())])
        );
        assert_eq!(
            converted(&table, layout(ElementType::Int64, 1))
                .unwrap_err()
                .to_string(),
            "row 0, element 0: int64_1 value 18446744073709551615 cannot be stored as int64"
        );
        assert_eq!(
            converted(&table, layout(ElementType::Float32, 1)).unwrap()[8..12],
            1.8446744e19f32.to_le_bytes()
        );
        let timestamps = Table::columns(&[1u64, 1 << 63], &[1i32, 2], 1).unwrap();
        assert_eq!(
            converted(&timestamps, layout(ElementType::Int32, 1))
                .unwrap_err()
                .to_string(),
            "row 1: timestamp 9223372036854775808 cannot be stored as int64"
        );
        assert_eq!(u8::from_number(Number::Uint(255)), Some(255));
        assert_eq!(u8::from_number(Number::Uint(256)), None);
        assert_eq!(
            i64::from_number(Number::Uint(i64::MAX as u64)),
            Some(i64::MAX)
        );
        assert_eq!(i64::from_number(Number::Uint(1 << 63)), None);
        assert_eq!(
            f64::from_number(Number::Uint(u64::MAX)),
            Some(18446744073709551616.0)
        );
        assert_eq!(
            to_timestamp(Number::Uint(i64::MAX as u64)),
            (i64::MAX, true)
        );
    }

    #[test]
    fn conversion_names_the_first_row_it_cannot_store_and_compares_no_timestamps() {
        let timestamps = [5.0f64, 0.0, 4.6, f64::NAN];
        let elements = [1i32, 0, 70_000, 2];
        // decreasing and repeated timestamps, and a row of zeros: an encoder's business
        let table = Table::columns(&timestamps[..3], &elements[..3], 1).unwrap();
        let int32_1 = layout(ElementType::Int32, 1);
        assert_eq!(
            converted(&table, int32_1).unwrap(),
            packed(&[
                (5, 1i32.to_le_bytes()),
                (0, [0; 4]),
                (5, 70_000i32.to_le_bytes())
            ])
        );
        let table = Table::columns(&timestamps, &elements, 1).unwrap();
        assert_eq!(
            converted(&table, int32_1).unwrap_err().to_string(),
            "row 3: timestamp nan cannot be stored as int64"
        );
        assert_eq!(
            converted(&table, layout(ElementType::Int16, 1))
                .unwrap_err()
                .to_string(),
            "row 2, element 0: int16_1 value 70000 cannot be stored as int16"
        );
    }

    #[test]
    fn numbers_that_do_not_make_rows_of_the_layout_are_errors() {
        assert_eq!(
            Table::columns(&[1i64, 2], &[1.0f32, 2.0, 3.0], 2).unwrap_err(),
            EncodeError::NotWholeTableRows {
                values: 3,
                columns: 2
            }
        );
        let err = Table::columns(&[1i64], &[1.0f32, 2.0], 1).unwrap_err();
        assert_eq!(err.to_string(), "1 timestamps for 2 rows of values");
        assert_eq!(
            Table::interleaved(&[1.0f64, 2.0, 3.0], 2).unwrap_err(),
            EncodeError::NotWholeTableRows {
                values: 3,
                columns: 2
            }
        );
        assert!(Table::interleaved(&[1.0f64], 0).is_err());
        let f32_2 = layout(ElementType::Float32, 2);
        let no_elements = Table::<i64, f32>::columns(&[1, 2], &[], 0).unwrap();
        assert_eq!(no_elements.rows(), 2);
        assert_eq!(
            converted(&no_elements, f32_2).unwrap_err(),
            EncodeError::WrongWidth {
                elements: 0,
                layout: f32_2
            }
        );
        let narrow = Table::interleaved(&[1.0f64, 2.0], 2).unwrap();
        assert_eq!(
            converted(&narrow, f32_2).unwrap_err().to_string(),
            "data has 1 element(s) per row but layout float32_2 needs 2"
        );
        let empty = Table::<i64, f32>::columns(&[], &[], 2).unwrap();
        assert_eq!(converted(&empty, f32_2).unwrap(), Vec::<u8>::new());
        assert_eq!(
            converted(&Table::<f64, f64>::interleaved(&[], 3).unwrap(), f32_2).unwrap(),
            Vec::<u8>::new()
        );
    }

    #[test]
    fn float_repr_matches_python() {
        for (value, python) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (2.5, "2.5"),
            (-2.5, "-2.5"),
            (1e9, "1000000000.0"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345680.0, "1.2345678901234568e+17"),
            (9.223372036854776e18, "9.223372036854776e+18"),
            (1e300, "1e+300"),
            (0.0001, "0.0001"),
            (0.00012, "0.00012"),
            (0.00001, "1e-05"),
            (-1.5e-7, "-1.5e-07"),
            (0.1, "0.1"),
            (f64::from(0.1f32), "0.10000000149011612"),
            (5e-324, "5e-324"),
            (f64::MAX, "1.7976931348623157e+308"),
            (40000.0, "40000.0"),
            (f64::NAN, "nan"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            assert_eq!(python_float_repr(value), python, "{value:e}");
        }
    }

    #[test]
    fn integer_elements_take_integral_values_in_range() {
        assert_eq!(i16::from_number(Number::Float(-32768.0)), Some(-32768));
        assert_eq!(i16::from_number(Number::Float(32767.0)), Some(32767));
        assert_eq!(i16::from_number(Number::Float(32768.0)), None);
        assert_eq!(i16::from_number(Number::Float(-32769.0)), None);
        assert_eq!(i16::from_number(Number::Float(1.5)), None);
        assert_eq!(i16::from_number(Number::Float(f64::NAN)), None);
        assert_eq!(i16::from_number(Number::Float(f64::INFINITY)), None);
        assert_eq!(i16::from_number(Number::Int(40_000)), None);
        assert_eq!(u8::from_number(Number::Int(-1)), None);
        assert_eq!(u8::from_number(Number::Float(-0.0)), Some(0));
        assert_eq!(u8::from_number(Number::Float(255.0)), Some(255));
        assert_eq!(u8::from_number(Number::Float(256.0)), None);
        // 2^63 and 2^64 are the first floats past the 64-bit ranges
        assert_eq!(i64::from_number(Number::Float(9.223372036854776e18)), None);
        assert_eq!(
            i64::from_number(Number::Float(-9.223372036854776e18)),
            Some(i64::MIN)
        );
        assert_eq!(
            i64::from_number(Number::Float(9223372036854774784.0)),
            Some(9223372036854774784)
        );
        assert_eq!(
            u64::from_number(Number::Float(18446744073709551616.0)),
            None
        );
        assert_eq!(
            u64::from_number(Number::Float(18446744073709549568.0)),
            Some(18446744073709549568)
        );
        assert_eq!(
            u64::from_number(Number::Int(i64::MAX)),
            Some(i64::MAX as u64)
        );
        assert_eq!(
            u32::from_number(Number::Float(4294967295.0)),
            Some(u32::MAX)
        );
        assert_eq!(u32::from_number(Number::Float(4294967296.0)), None);
    }

    #[test]
    fn round_ties_even_agrees_with_the_standard_library() {
        let two_52 = 4_503_599_627_370_496.0;
        let edges = [
            0.0,
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            8999.999999999998,
            9000.000000000002,
            two_52 - 1.5,
            two_52 - 0.5,
            two_52,
            two_52 + 1.0,
            2.0 * two_52 + 2.0,
            9.223372036854776e18,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            f64::INFINITY,
        ];
        // and, from xorshift64, bit patterns from all over the range and 53-bit integers
        // scaled by 2^0 to 2^-63, fractions and ties among them
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let random = std::iter::repeat_with(|| {
            let bits = next();
            [
                f64::from_bits(bits),
                (bits >> 11) as f64 * 2f64.powi(-((bits & 63) as i32)),
            ]
        })
        .flatten();
        for f in edges.into_iter().chain(random.take(2_000_000)) {
            for f in [f, -f] {
                let (ours, std) = (round_ties_even(f), f.round_ties_even());
                assert!(
                    ours.to_bits() == std.to_bits() || ours.is_nan() && std.is_nan(),
                    "{f:e}: {ours:e} != {std:e}"
                );
            }
        }
        assert!(round_ties_even(f64::NAN).is_nan());
    }

    #[test]
    fn float_timestamps_round_to_the_nearest_microsecond_half_to_even() {
        let stored = |f: f64| match to_timestamp(Number::Float(f)) {
            (stored, true) => Some(stored),
            (_, false) => None,
        };
        assert_eq!(stored(8999.999999999998), Some(9000));
        assert_eq!(stored(9000.000000000002), Some(9000));
        assert_eq!(stored(1000.4), Some(1000));
        assert_eq!(stored(1000.6), Some(1001));
        assert_eq!(stored(1000.5), Some(1000));
        assert_eq!(stored(1001.5), Some(1002));
        assert_eq!(stored(-1000.5), Some(-1000));
        assert_eq!(stored(-0.4), Some(0));
        assert_eq!(stored(-9.223372036854776e18), Some(i64::MIN));
        assert_eq!(stored(9223372036854774784.0), Some(9223372036854774784));
        for refused in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            9.223372036854776e18,
            -9.223372036854778e18,
        ] {
            assert_eq!(stored(refused), None, "{refused:e}");
        }
        // integers are exact already
        assert_eq!(to_timestamp(Number::Int(i64::MAX)), (i64::MAX, true));
    }

    #[test]
    fn float_elements_refuse_only_finite_overflow() {
        assert_eq!(f32::from_number(Number::Float(1e39)), None);
        assert_eq!(f32::from_number(Number::Float(-1e39)), None);
        assert_eq!(f32::from_number(Number::Float(0.1)), Some(0.1f32));
        assert!(f32::from_number(Number::Float(f64::NAN)).unwrap().is_nan());
        assert_eq!(
            f32::from_number(Number::Float(f64::INFINITY)),
            Some(f32::INFINITY)
        );
        // rounds to f32::MAX rather than overflowing
        assert_eq!(
            f32::from_number(Number::Float(f64::from(f32::MAX) * (1.0 + 1e-9))),
            Some(f32::MAX)
        );
        assert_eq!(
            f32::from_number(Number::Int(16_777_217)),
            Some(16_777_216.0)
        );
        assert_eq!(
            f64::from_number(Number::Int(i64::MAX)),
            Some(9.223372036854776e18)
        );
        assert!(f64::from_number(Number::Float(f64::NAN)).unwrap().is_nan());
    }
}
