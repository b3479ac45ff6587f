use std::fmt;

use crate::decode::{is_token, swap_fields, RUN_BYTES};
use crate::layout::{ByteOrder, Layout};
use crate::table::{Table, TableValue};

/// Rows that must not be sent; each names the first offending row (0-based within the call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The row buffer is not a whole number of rows of the layout.
    NotWholeRows { len: usize, layout: Layout },
    /// A table whose rows hold another number of elements than the layout.
    WrongWidth { elements: usize, layout: Layout },
    /// Table values that do not fill whole rows of `columns`.
    NotWholeTableRows { values: usize, columns: usize },
    /// A timestamp column of another length than the rows of elements beside it.
    RowCounts { timestamps: usize, rows: usize },
    /// A table value that the layout's type cannot hold (`element` None: the timestamp).
    NotRepresentable {
        row: usize,
        element: Option<usize>,
        value: String,
        layout: Layout,
    },
    /// A timestamp that does not strictly increase, within the call or after an earlier one.
    NotIncreasing {
        row: usize,
        timestamp: i64,
        previous: i64,
    },
    /// A row of all zeros would read back as an interval break.
    LooksLikeToken { row: usize },
    /// Interval ends must be non-decreasing positions in `0..=rows`.
    BadIntervalEnd { position: usize, rows: usize },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::NotWholeRows { len, layout } => write!(
                f,
                "{len} bytes is not a whole number of {layout} rows ({} bytes each)",
                layout.row_size()
            ),
            EncodeError::WrongWidth { elements, layout } => write!(
                f,
                "data has {elements} element(s) per row but layout {layout} needs {}",
                layout.width
            ),
            EncodeError::NotWholeTableRows { values, columns } => write!(
                f,
                "{values} values is not a whole number of rows of {columns} column(s)"
            ),
            EncodeError::RowCounts { timestamps, rows } => {
                write!(f, "{timestamps} timestamps for {rows} rows of values")
            }
            EncodeError::NotRepresentable {
                row,
                element: None,
                value,
                ..
            } => write!(f, "row {row}: timestamp {value} cannot be stored as int64"),
            EncodeError::NotRepresentable {
                row,
                element: Some(element),
                value,
                layout,
            } => write!(
                f,
                "row {row}, element {element}: {layout} value {value} cannot be stored as {}",
                layout.element_type.name()
            ),
            EncodeError::NotIncreasing {
                row,
                timestamp,
                previous,
            } => write!(
                f,
                "row {row}: timestamp {timestamp} is not after the previous timestamp {previous} \
                 (timestamps must be monotonic: strictly increasing)"
            ),
            EncodeError::LooksLikeToken { row } => write!(
                f,
                "row {row}: timestamp 0 with every element 0 would read back as an interval break"
            ),
            EncodeError::BadIntervalEnd { position, rows } => write!(
                f,
                "interval end {position} is out of order or outside 0..={rows} \
                 (interval ends are sorted row positions)"
            ),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Where the encoder gets its rows: packed little-endian rows, or a table converted on the way.
enum Rows<'a, T, V> {
    Packed {
        bytes: &'a [u8],
        row_size: usize,
    },
    Table {
        table: &'a Table<'a, T, V>,
        layout: Layout,
    },
}

impl<T: TableValue, V: TableValue> Rows<'_, T, V> {
    fn count(&self) -> usize {
        match self {
            Rows::Packed { bytes, row_size } => bytes.len() / row_size,
            Rows::Table { table, .. } => table.rows(),
        }
    }

    /// Rows `start..end` as packed little-endian rows into `dst`; on a value that cannot be
    /// stored, how many rows before it were written, and the error.
    fn write(&self, start: usize, end: usize, dst: &mut [u8]) -> Result<(), (usize, EncodeError)> {
        match self {
            Rows::Packed { bytes, row_size } => {
                dst.copy_from_slice(&bytes[start * row_size..end * row_size]);
                Ok(())
            }
            Rows::Table { table, layout } => table.write_rows(*layout, start, end, dst),
        }
    }
}

/// A validating encoder.  It remembers the last timestamp it encoded, so timestamps must
/// keep increasing across calls, as a node requires across one upload.
#[derive(Clone, Debug)]
pub struct Encoder {
    layout: Layout,
    order: ByteOrder,
    row_size: usize,
    last_timestamp: Option<i64>,
}

impl Encoder {
    pub fn new(layout: Layout, order: ByteOrder) -> Self {
        Encoder {
            layout,
            order,
            row_size: layout.row_size(),
            last_timestamp: None,
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn last_timestamp(&self) -> Option<i64> {
        self.last_timestamp
    }

    /// Continue after `timestamp` (e.g. data already on the node); `None` accepts any.
    pub fn set_last_timestamp(&mut self, timestamp: Option<i64>) {
        self.last_timestamp = timestamp;
    }

    /// Bytes `encode_into` writes for these rows (`rows` in bytes) and interval ends.
    pub fn encoded_len(&self, rows: usize, interval_ends: &[usize]) -> usize {
        rows + interval_ends.len() * self.row_size
    }

    /// Check `rows` (little-endian packed) and `interval_ends` without writing anything.
    pub fn validate(&self, rows: &[u8], interval_ends: &[usize]) -> Result<(), EncodeError> {
        self.check_whole_rows(rows)?;
        check_interval_ends(interval_ends, rows.len() / self.row_size)?;
        self.check_rows(rows, 0, self.last_timestamp).map(|_| ())
    }

    /// Validate, then write the frame into `out` (`encoded_len` bytes): the rows in the wire
    /// byte order with an interval token at each interval end.  Rows are checked and copied
    /// a cache-sized block at a time, so the input crosses memory once.  On error `out` holds
    /// a partial frame and nothing is remembered.
    pub fn encode_into(
        &mut self,
        rows: &[u8],
        interval_ends: &[usize],
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        self.check_whole_rows(rows)?;
        let packed: Rows<f64, f64> = Rows::Packed {
            bytes: rows,
            row_size: self.row_size,
        };
        self.encode_rows(&packed, interval_ends, out)
    }

    /// `encode_into` for a table of numbers: each value is converted to the layout's type in
    /// the same pass, and one the type cannot hold (a NaN, fraction or out-of-range value for
    /// an integer type, a finite value beyond float32) is an error naming it.  Float
    /// timestamps are rounded to the nearest microsecond, half to even; NaN, infinite and
    /// out-of-range ones are errors, and so are those that do not increase once rounded.  The
    /// error names the earliest row with any flaw.  `out` holds `encoded_len(rows * row size,
    /// interval_ends)` bytes.
    pub fn encode_table_into<T: TableValue, V: TableValue>(
        &mut self,
        table: &Table<'_, T, V>,
        interval_ends: &[usize],
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        table.check_width(self.layout)?;
        let rows = Rows::Table {
            table,
            layout: self.layout,
        };
        self.encode_rows(&rows, interval_ends, out)
    }

    fn encode_rows<T: TableValue, V: TableValue>(
        &mut self,
        rows: &Rows<'_, T, V>,
        interval_ends: &[usize],
        out: &mut [u8],
    ) -> Result<usize, EncodeError> {
        let rs = self.row_size;
        let count = rows.count();
        check_interval_ends(interval_ends, count)?;
        let len = self.encoded_len(count * rs, interval_ends);
        assert!(out.len() >= len, "output buffer too small");
        let block_rows = (RUN_BYTES / rs).max(1);
        let mut previous = self.last_timestamp;
        let mut dst = 0;
        let mut run_start = 0;
        for &end in interval_ends.iter().chain([count].iter()) {
            for block_start in (run_start..end).step_by(block_rows) {
                let block_end = end.min(block_start + block_rows);
                let block = &mut out[dst..dst + (block_end - block_start) * rs];
                if let Err((written, error)) = rows.write(block_start, block_end, block) {
                    // a row before the unstorable value may have a flaw of its own
                    self.check_rows(&block[..written * rs], block_start, previous)?;
                    return Err(error);
                }
                previous = self.check_rows(block, block_start, previous)?;
                if self.order == ByteOrder::Big {
                    swap_fields(block, self.layout);
                }
                dst += block.len();
            }
            run_start = end;
            // every interval end gets a token; the chained end of the rows does not
            if dst < len {
                out[dst..dst + rs].fill(0);
                dst += rs;
            }
        }
        self.last_timestamp = previous;
        Ok(len)
    }

    fn check_whole_rows(&self, rows: &[u8]) -> Result<(), EncodeError> {
        if rows.len().is_multiple_of(self.row_size) {
            Ok(())
        } else {
            Err(EncodeError::NotWholeRows {
                len: rows.len(),
                layout: self.layout,
            })
        }
    }

    /// Check that timestamps increase after `previous` and no row reads as a token; returns
    /// the last timestamp.  `first_row` numbers the rows in errors.
    fn check_rows(
        &self,
        rows: &[u8],
        first_row: usize,
        mut previous: Option<i64>,
    ) -> Result<Option<i64>, EncodeError> {
        for (i, row) in rows.chunks_exact(self.row_size).enumerate() {
            let timestamp = i64::from_le_bytes(row[..8].try_into().expect("8 bytes"));
            if let Some(previous) = previous.filter(|&p| timestamp <= p) {
                return Err(EncodeError::NotIncreasing {
                    row: first_row + i,
                    timestamp,
                    previous,
                });
            }
            if timestamp == 0 && is_token(row) {
                return Err(EncodeError::LooksLikeToken { row: first_row + i });
            }
            previous = Some(timestamp);
        }
        Ok(previous)
    }

    /// `encode_into` a new vector.
    pub fn encode(&mut self, rows: &[u8], interval_ends: &[usize]) -> Result<Vec<u8>, EncodeError> {
        let mut out = vec![0u8; self.encoded_len(rows.len(), interval_ends)];
        self.encode_into(rows, interval_ends, &mut out)?;
        Ok(out)
    }

    /// `encode_table_into` a new vector.
    pub fn encode_table<T: TableValue, V: TableValue>(
        &mut self,
        table: &Table<'_, T, V>,
        interval_ends: &[usize],
    ) -> Result<Vec<u8>, EncodeError> {
        let len = self.encoded_len(table.rows() * self.row_size, interval_ends);
        let mut out = vec![0u8; len];
        self.encode_table_into(table, interval_ends, &mut out)?;
        Ok(out)
    }
}

fn check_interval_ends(interval_ends: &[usize], rows: usize) -> Result<(), EncodeError> {
    let mut floor = 0;
    for &position in interval_ends {
        if position < floor || position > rows {
            return Err(EncodeError::BadIntervalEnd { position, rows });
        }
        floor = position;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::decode;
    use crate::layout::ElementType;

    fn i16_1() -> Layout {
        Layout::new(ElementType::Int16, 1)
    }

    fn rows(items: &[(i64, i16)]) -> Vec<u8> {
        items
            .iter()
            .flat_map(|(t, v)| [t.to_le_bytes().to_vec(), v.to_le_bytes().to_vec()].concat())
            .collect()
    }

    #[test]
    fn round_trips_with_tokens_in_both_byte_orders() {
        let data = rows(&[(1, 5), (2, -3), (3, 7)]);
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for ends in [vec![], vec![0], vec![1], vec![1, 3], vec![3], vec![2, 2]] {
                let wire = Encoder::new(i16_1(), order).encode(&data, &ends).unwrap();
                assert_eq!(wire.len(), data.len() + ends.len() * 10);
                let back = decode(&wire, i16_1(), order).unwrap();
                assert_eq!(back.rows, data, "{order:?} {ends:?}");
                assert_eq!(back.interval_ends, ends, "{order:?} {ends:?}");
            }
        }
    }

    #[test]
    fn frames_larger_than_a_cache_block_round_trip_and_name_late_rows() {
        let n = 50_000; // int16_1 rows are 10 bytes: several RUN_BYTES blocks
        let items: Vec<(i64, i16)> = (0..n).map(|i| (i as i64 + 1, (i % 7) as i16)).collect();
        let data = rows(&items);
        let ends = vec![0, 13_107, 13_108, 30_000, 30_000, n];
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let wire = Encoder::new(i16_1(), order).encode(&data, &ends).unwrap();
            for step in [7, 4096, 100_003] {
                let mut dec = crate::decode::Decoder::new(i16_1(), order);
                let (mut back, mut got_ends) = (Vec::new(), Vec::new());
                for chunk in wire.chunks(step) {
                    let mut out = vec![0u8; dec.output_capacity(chunk.len())];
                    let mut breaks = Vec::new();
                    let k = dec.feed(chunk, &mut out, &mut breaks);
                    got_ends.extend(breaks.iter().map(|b| b + back.len() / 10));
                    back.extend_from_slice(&out[..k * 10]);
                }
                dec.finish().unwrap();
                assert!(back == data, "{order:?} step {step}");
                assert_eq!(got_ends, ends, "{order:?} step {step}");
            }
        }
        let mut late = items.clone();
        late[40_000].0 = late[39_999].0;
        let err = Encoder::new(i16_1(), ByteOrder::Little)
            .encode(&rows(&late), &ends)
            .unwrap_err();
        assert_eq!(
            err,
            EncodeError::NotIncreasing {
                row: 40_000,
                timestamp: 40_000,
                previous: 40_000
            }
        );
    }

    #[test]
    fn big_endian_wire_bytes() {
        let wire = Encoder::new(i16_1(), ByteOrder::Big)
            .encode(&rows(&[(1, 2)]), &[])
            .unwrap();
        assert_eq!(wire, [0, 0, 0, 0, 0, 0, 0, 1, 0, 2]);
    }

    #[test]
    fn rejects_non_increasing_within_and_across_calls() {
        let mut enc = Encoder::new(i16_1(), ByteOrder::Little);
        let err = enc
            .encode(&rows(&[(1, 0), (5, 0), (5, 1)]), &[])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 2: timestamp 5 is not after the previous timestamp 5 (timestamps must be monotonic: strictly increasing)"
        );
        assert_eq!(
            enc.last_timestamp(),
            None,
            "a failed call remembers nothing"
        );
        enc.encode(&rows(&[(10, 0)]), &[]).unwrap();
        let err = enc.encode(&rows(&[(9, 0)]), &[]).unwrap_err();
        assert_eq!(
            err,
            EncodeError::NotIncreasing {
                row: 0,
                timestamp: 9,
                previous: 10
            }
        );
    }

    #[test]
    fn rejects_a_row_that_reads_as_a_token() {
        let err = Encoder::new(i16_1(), ByteOrder::Little)
            .encode(&rows(&[(-5, 1), (0, 0)]), &[])
            .unwrap_err();
        assert_eq!(err, EncodeError::LooksLikeToken { row: 1 });
        assert!(err.to_string().contains("row 1"));
        // timestamp 0 with a non-zero element is a real row
        Encoder::new(i16_1(), ByteOrder::Little)
            .encode(&rows(&[(0, 1)]), &[])
            .unwrap();
    }

    /// `encode_table` of a row-major table of `columns` columns, the timestamp first.
    trait EncodeInterleaved {
        fn encode_interleaved<T: TableValue>(
            &mut self,
            values: &[T],
            columns: usize,
            interval_ends: &[usize],
        ) -> Result<Vec<u8>, EncodeError>;
    }

    impl EncodeInterleaved for Encoder {
        fn encode_interleaved<T: TableValue>(
            &mut self,
            values: &[T],
            columns: usize,
            interval_ends: &[usize],
        ) -> Result<Vec<u8>, EncodeError> {
            self.encode_table(&Table::interleaved(values, columns)?, interval_ends)
        }
    }

    /// int16_1 rows as a float64 table: timestamp, value.
    fn table(items: &[(f64, f64)]) -> Vec<f64> {
        items.iter().flat_map(|&(t, v)| [t, v]).collect()
    }

    #[test]
    fn tables_of_every_number_type_encode_like_their_packed_rows() {
        let items: Vec<(i64, i16)> = (0..40_000)
            .map(|i| (i * 3 - 7, (i % 601 - 300) as i16))
            .collect();
        let ends = vec![0, 13_107, 13_107, 20_000, 40_000];
        let packed = rows(&items);
        let as_f64: Vec<f64> = items
            .iter()
            .flat_map(|&(t, v)| [t as f64, v.into()])
            .collect();
        let as_f32: Vec<f32> = items
            .iter()
            .flat_map(|&(t, v)| [t as f32, v.into()])
            .collect();
        let as_i64: Vec<i64> = items.iter().flat_map(|&(t, v)| [t, v.into()]).collect();
        let as_i32: Vec<i32> = items
            .iter()
            .flat_map(|&(t, v)| [t as i32, v.into()])
            .collect();
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let expected = Encoder::new(i16_1(), order).encode(&packed, &ends).unwrap();
            let mut enc = Encoder::new(i16_1(), order);
            assert!(enc.encode_interleaved(&as_f64, 2, &ends).unwrap() == expected);
            assert_eq!(enc.last_timestamp(), Some(items[items.len() - 1].0));
            let fresh = || Encoder::new(i16_1(), order);
            assert!(fresh().encode_interleaved(&as_f32, 2, &ends).unwrap() == expected);
            assert!(fresh().encode_interleaved(&as_i64, 2, &ends).unwrap() == expected);
            assert!(fresh().encode_interleaved(&as_i32, 2, &ends).unwrap() == expected);
        }
        // integers into a float layout round to nearest, as numpy casts them
        let wire = Encoder::new(Layout::new(ElementType::Float32, 1), ByteOrder::Little)
            .encode_interleaved(&[1i64, 16_777_217], 2, &[])
            .unwrap();
        assert_eq!(wire[8..], 16_777_216f32.to_le_bytes());
    }

    #[test]
    fn columns_of_other_types_encode_like_their_packed_rows() {
        // int64 timestamps too close to 2^63 for float64, beside float32 and int32 values
        let items: Vec<(i64, i16)> = (0..40_000)
            .map(|i| (i64::MAX - 80_000 + 2 * i, (i % 601 - 300) as i16))
            .collect();
        let timestamps: Vec<i64> = items.iter().map(|&(t, _)| t).collect();
        let as_f32: Vec<f32> = items.iter().map(|&(_, v)| v.into()).collect();
        let as_i32: Vec<i32> = items.iter().map(|&(_, v)| v.into()).collect();
        let ends = vec![0, 13_107, 40_000];
        for order in [ByteOrder::Little, ByteOrder::Big] {
            let expected = Encoder::new(i16_1(), order)
                .encode(&rows(&items), &ends)
                .unwrap();
            let mut enc = Encoder::new(i16_1(), order);
            let table = Table::columns(&timestamps, &as_f32, 1).unwrap();
            assert!(enc.encode_table(&table, &ends).unwrap() == expected);
            assert_eq!(enc.last_timestamp(), Some(i64::MAX - 2));
            let table = Table::columns(&timestamps, &as_i32, 1).unwrap();
            let wire = Encoder::new(i16_1(), order)
                .encode_table(&table, &ends)
                .unwrap();
            assert!(wire == expected);
        }
        let mut late = timestamps.clone();
        late[30_000] = late[29_999];
        let err = Encoder::new(i16_1(), ByteOrder::Little)
            .encode_table(&Table::columns(&late, &as_f32, 1).unwrap(), &ends)
            .unwrap_err();
        assert!(
            matches!(err, EncodeError::NotIncreasing { row: 30_000, .. }),
            "{err}"
        );
        let err = Encoder::new(Layout::new(ElementType::Int16, 2), ByteOrder::Little)
            .encode_table(&Table::columns(&timestamps, &as_f32, 1).unwrap(), &[])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "data has 1 element(s) per row but layout int16_2 needs 2"
        );
    }

    #[test]
    fn table_values_the_layout_cannot_hold_are_named() {
        let f32_2 = Layout::new(ElementType::Float32, 2);
        let u32_1 = Layout::new(ElementType::Uint32, 1);
        for (layout, values, message) in [
            (
                i16_1(),
                table(&[(1.0, 1.0), (2.0, f64::NAN)]),
                "row 1, element 0: int16_1 value nan cannot be stored as int16",
            ),
            (
                i16_1(),
                table(&[(1.0, 2.5)]),
                "row 0, element 0: int16_1 value 2.5 cannot be stored as int16",
            ),
            (
                i16_1(),
                table(&[(1.0, 1.0), (2.0, 1.0), (3.0, 1e9)]),
                "row 2, element 0: int16_1 value 1000000000.0 cannot be stored as int16",
            ),
            (
                i16_1(),
                table(&[(1.0, f64::NEG_INFINITY)]),
                "row 0, element 0: int16_1 value -inf cannot be stored as int16",
            ),
            (
                u32_1,
                table(&[(1.0, -1.0)]),
                "row 0, element 0: uint32_1 value -1.0 cannot be stored as uint32",
            ),
            (
                f32_2,
                vec![1.0, 0.0, 1e300],
                "row 0, element 1: float32_2 value 1e+300 cannot be stored as float32",
            ),
            (
                i16_1(),
                table(&[(f64::NAN, 1.0)]),
                "row 0: timestamp nan cannot be stored as int64",
            ),
            (
                i16_1(),
                table(&[(1.5, 1.0), (f64::INFINITY, 1.0)]),
                "row 1: timestamp inf cannot be stored as int64",
            ),
            (
                i16_1(),
                table(&[(f64::NEG_INFINITY, 1.0)]),
                "row 0: timestamp -inf cannot be stored as int64",
            ),
            (
                i16_1(),
                table(&[(9.223372036854776e18, 1.0)]),
                "row 0: timestamp 9.223372036854776e+18 cannot be stored as int64",
            ),
            (
                i16_1(),
                table(&[(-9.223372036854778e18, 1.0)]),
                "row 0: timestamp -9.223372036854778e+18 cannot be stored as int64",
            ),
        ] {
            let mut enc = Encoder::new(layout, ByteOrder::Little);
            let err = enc
                .encode_interleaved(&values, layout.width + 1, &[])
                .unwrap_err();
            assert_eq!(err.to_string(), message);
            assert_eq!(
                enc.last_timestamp(),
                None,
                "a refused call remembers nothing"
            );
        }
        let err = Encoder::new(i16_1(), ByteOrder::Little)
            .encode_interleaved(&[1i64, 40_000], 2, &[])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 0, element 0: int16_1 value 40000 cannot be stored as int16"
        );
        let err = Encoder::new(Layout::new(ElementType::Float32, 3), ByteOrder::Little)
            .encode_interleaved(&[1.0f64, 2.0, 3.0], 3, &[])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "data has 2 element(s) per row but layout float32_3 needs 3"
        );
    }

    #[test]
    fn fractional_table_timestamps_are_rounded_to_the_nearest_microsecond() {
        let expected = |timestamps: &[i64]| {
            let items: Vec<(i64, i16)> = timestamps.iter().map(|&t| (t, 1)).collect();
            Encoder::new(i16_1(), ByteOrder::Little)
                .encode(&rows(&items), &[])
                .unwrap()
        };
        let mut enc = Encoder::new(i16_1(), ByteOrder::Little);
        let wire = enc
            .encode_interleaved(
                &table(&[
                    (-1.5, 1.0),
                    (-0.4, 1.0),
                    (1.5, 1.0),
                    (2.6, 1.0),
                    (8999.999999999998, 1.0),
                    (9000.500000000002, 1.0),
                ]),
                2,
                &[],
            )
            .unwrap();
        assert_eq!(wire, expected(&[-2, 0, 2, 3, 9000, 9001]));
        assert_eq!(enc.last_timestamp(), Some(9001));
        let wire = Encoder::new(i16_1(), ByteOrder::Little)
            .encode_interleaved(
                &[0.5f32, 1.0, 1.5, 1.0, 3.25, 1.0, 1_000_000.5, 1.0],
                2,
                &[],
            )
            .unwrap();
        assert_eq!(wire, expected(&[0, 2, 3, 1_000_000]));
        // only the timestamp is rounded: an integer element still refuses a fraction
        let err = Encoder::new(i16_1(), ByteOrder::Little)
            .encode_interleaved(&table(&[(0.5, 1.0), (1.5, 1.5)]), 2, &[])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 1, element 0: int16_1 value 1.5 cannot be stored as int16"
        );
    }

    #[test]
    fn timestamps_that_round_to_the_same_microsecond_are_not_increasing() {
        let mut enc = Encoder::new(i16_1(), ByteOrder::Little);
        let err = enc
            .encode_interleaved(
                &table(&[(999.0, 1.0), (1000.2, 1.0), (1000.4, 1.0)]),
                2,
                &[],
            )
            .unwrap_err();
        assert_eq!(
            err,
            EncodeError::NotIncreasing {
                row: 2,
                timestamp: 1000,
                previous: 1000
            }
        );
        // across calls too, and a tie goes to the even neighbour
        enc.encode_interleaved(&table(&[(1000.2, 1.0)]), 2, &[])
            .unwrap();
        for after in [1000.4, 1000.5] {
            let err = enc
                .encode_interleaved(&table(&[(after, 1.0)]), 2, &[])
                .unwrap_err();
            assert_eq!(
                err,
                EncodeError::NotIncreasing {
                    row: 0,
                    timestamp: 1000,
                    previous: 1000
                },
                "{after}"
            );
        }
        enc.encode_interleaved(&table(&[(1000.6, 1.0)]), 2, &[])
            .unwrap();
        assert_eq!(enc.last_timestamp(), Some(1001));
    }

    #[test]
    fn a_table_error_names_the_earliest_row_with_any_flaw() {
        let enc = || Encoder::new(i16_1(), ByteOrder::Little);
        // a repeated timestamp before a value out of range, in the same block
        let err = enc()
            .encode_interleaved(&table(&[(1.0, 1.0), (1.0, 1.0), (2.0, 1e9)]), 2, &[])
            .unwrap_err();
        assert!(
            matches!(err, EncodeError::NotIncreasing { row: 1, .. }),
            "{err}"
        );
        let err = enc()
            .encode_interleaved(&table(&[(1.0, 1.0), (2.0, 1e9), (2.0, 1.0)]), 2, &[])
            .unwrap_err();
        assert!(
            matches!(err, EncodeError::NotRepresentable { row: 1, .. }),
            "{err}"
        );
        let err = enc()
            .encode_interleaved(&table(&[(-1.0, 1.0), (0.0, 0.0), (1.0, 0.5)]), 2, &[])
            .unwrap_err();
        assert_eq!(err, EncodeError::LooksLikeToken { row: 1 });
        // late in a long table, in a later block, after an interval end
        let mut items: Vec<(f64, f64)> = (0..50_000).map(|i| (f64::from(i) + 1.0, 1.0)).collect();
        items[45_001].1 = 0.25;
        let err = enc()
            .encode_interleaved(&table(&items), 2, &[30_000])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 45001, element 0: int16_1 value 0.25 cannot be stored as int16"
        );
        // interval ends are checked before any row
        let err = enc()
            .encode_interleaved(&table(&items), 2, &[50_001])
            .unwrap_err();
        assert!(matches!(err, EncodeError::BadIntervalEnd { .. }), "{err}");
    }

    #[test]
    fn timestamps_of_a_table_continue_after_earlier_calls() {
        let mut enc = Encoder::new(i16_1(), ByteOrder::Little);
        enc.encode(&rows(&[(10, 1)]), &[]).unwrap();
        let err = enc
            .encode_interleaved(&table(&[(10.0, 1.0)]), 2, &[])
            .unwrap_err();
        assert_eq!(
            err,
            EncodeError::NotIncreasing {
                row: 0,
                timestamp: 10,
                previous: 10
            }
        );
        enc.encode_interleaved(&table(&[(11.0, 1.0)]), 2, &[])
            .unwrap();
        assert_eq!(enc.last_timestamp(), Some(11));
    }

    #[test]
    fn rejects_partial_rows_and_bad_interval_ends() {
        let mut enc = Encoder::new(i16_1(), ByteOrder::Little);
        let err = enc.encode(&[0u8; 11], &[]).unwrap_err();
        assert!(err
            .to_string()
            .contains("11 bytes is not a whole number of int16_1 rows"));
        let data = rows(&[(1, 1), (2, 2)]);
        assert_eq!(
            enc.encode(&data, &[3]).unwrap_err(),
            EncodeError::BadIntervalEnd {
                position: 3,
                rows: 2
            }
        );
        assert_eq!(
            enc.encode(&data, &[2, 1]).unwrap_err(),
            EncodeError::BadIntervalEnd {
                position: 1,
                rows: 2
            }
        );
    }
}
