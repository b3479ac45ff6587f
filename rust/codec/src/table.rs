//! Numeric tables (a timestamp column, then the elements, row-major) as packed rows: every
//! value converted to the layout's type on the way, and refused if that would change it.
//!
//! The rules are numpy's checked casts that `joule_sync.codec` applies to other input:
//! an integer type takes integral values in its range (so no NaN, infinity or fraction), a
//! float32 takes any number but a finite one beyond its range, float64 takes anything;
//! integers go to float types rounded to nearest.  A float timestamp is first rounded to the
//! nearest microsecond, half to even (numpy's `rint`), so only NaN, infinite and
//! out-of-range timestamps are refused.

use crate::encode::EncodeError;
use crate::layout::{ElementType, Layout};

/// A value of an input table, as far as conversion cares: an integer or a float.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    /// The value as Python shows numpy's `.item()` of it, for error messages.
    pub fn python_repr(self) -> String {
        match self {
            Number::Int(i) => i.to_string(),
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

table_values!(f64 => Float(f64), f32 => Float(f64), i64 => Int(i64), i32 => Int(i64));

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
            Number::Float(f) => (f, true),
        }
    }

    #[inline]
    fn write_le(self, out: &mut [u8]) {
        out.copy_from_slice(&self.to_le_bytes());
    }
}

/// A row-major table of `columns` columns: the timestamp, then the layout's elements.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Table<'a, T> {
    values: &'a [T],
    columns: usize,
    layout: Layout,
}

impl<'a, T: TableValue> Table<'a, T> {
    /// `values` must be whole rows of `columns`; a column count that does not fit the
    /// layout is an error.
    pub(crate) fn new(
        values: &'a [T],
        columns: usize,
        layout: Layout,
    ) -> Result<Self, EncodeError> {
        if columns != layout.width + 1 {
            return Err(EncodeError::WrongWidth {
                elements: columns.saturating_sub(1),
                layout,
            });
        }
        assert!(
            values.len().is_multiple_of(columns),
            "a table of whole rows"
        );
        Ok(Table {
            values,
            columns,
            layout,
        })
    }

    pub(crate) fn rows(&self) -> usize {
        self.values.len() / self.columns
    }

    /// Rows `start..end` as packed little-endian rows into `dst` (exactly their size).  On a
    /// value that cannot be stored: how many rows were written before its row, and the error.
    pub(crate) fn write_rows(
        &self,
        start: usize,
        end: usize,
        dst: &mut [u8],
    ) -> Result<(), (usize, EncodeError)> {
        match self.layout.element_type {
            ElementType::Int8 => self.convert::<i8>(start, end, dst),
            ElementType::Int16 => self.convert::<i16>(start, end, dst),
            ElementType::Int32 => self.convert::<i32>(start, end, dst),
            ElementType::Int64 => self.convert::<i64>(start, end, dst),
            ElementType::Uint8 => self.convert::<u8>(start, end, dst),
            ElementType::Uint16 => self.convert::<u16>(start, end, dst),
            ElementType::Uint32 => self.convert::<u32>(start, end, dst),
            ElementType::Uint64 => self.convert::<u64>(start, end, dst),
            ElementType::Float32 => self.convert::<f32>(start, end, dst),
            ElementType::Float64 => self.convert::<f64>(start, end, dst),
        }
    }

    fn convert<E: Element>(
        &self,
        start: usize,
        end: usize,
        dst: &mut [u8],
    ) -> Result<(), (usize, EncodeError)> {
        let source = &self.values[start * self.columns..end * self.columns];
        let rows = source
            .chunks_exact(self.columns)
            .zip(dst.chunks_exact_mut(self.layout.row_size()));
        for (i, (values, row)) in rows.enumerate() {
            let (timestamp, elements) = row.split_at_mut(8);
            let (ts, mut kept) = to_timestamp(values[0].number());
            timestamp.copy_from_slice(&ts.to_le_bytes());
            for (value, out) in values[1..].iter().zip(elements.chunks_exact_mut(E::SIZE)) {
                let (element, element_kept) = E::convert(value.number());
                element.write_le(out);
                kept &= element_kept;
            }
            if !kept {
                return Err((i, self.first_unstorable::<E>(start + i, values)));
            }
        }
        Ok(())
    }

    /// The error for the first value of a row that its type cannot hold.
    fn first_unstorable<E: Element>(&self, row: usize, values: &[T]) -> EncodeError {
        let given = values[0].number();
        if !to_timestamp(given).1 {
            return self.not_representable(row, None, given);
        }
        let (element, value) = values[1..]
            .iter()
            .map(|v| v.number())
            .enumerate()
            .find(|&(_, number)| E::from_number(number).is_none())
            .expect("a value that cannot be stored");
        self.not_representable(row, Some(element), value)
    }

    fn not_representable(&self, row: usize, element: Option<usize>, value: Number) -> EncodeError {
        EncodeError::NotRepresentable {
            row,
            element,
            value: value.python_repr(),
            layout: self.layout,
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
