use std::fmt;

use crate::decode::{is_token, swap_rows, RUN_BYTES};
use crate::layout::{ByteOrder, Layout};

/// Rows that must not be sent; each names the first offending row (0-based within the call).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EncodeError {
    /// The row buffer is not a whole number of rows of the layout.
    NotWholeRows { len: usize, layout: Layout },
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
            EncodeError::NotIncreasing {
                row,
                timestamp,
                previous,
            } => write!(
                f,
                "row {row}: timestamp {timestamp} is not after the previous timestamp {previous} \
                 (timestamps must strictly increase)"
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
        self.check_shape(rows, interval_ends)?;
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
        self.check_shape(rows, interval_ends)?;
        let rs = self.row_size;
        let len = self.encoded_len(rows.len(), interval_ends);
        assert!(out.len() >= len, "output buffer too small");
        let block_rows = (RUN_BYTES / rs).max(1);
        let mut previous = self.last_timestamp;
        let mut dst = 0;
        let mut run_start = 0;
        for &end in interval_ends.iter().chain([rows.len() / rs].iter()) {
            for block_start in (run_start..end).step_by(block_rows) {
                let block = &rows[block_start * rs..end.min(block_start + block_rows) * rs];
                previous = self.check_rows(block, block_start, previous)?;
                self.copy_rows(block, &mut out[dst..dst + block.len()]);
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

    fn check_shape(&self, rows: &[u8], interval_ends: &[usize]) -> Result<(), EncodeError> {
        if !rows.len().is_multiple_of(self.row_size) {
            return Err(EncodeError::NotWholeRows {
                len: rows.len(),
                layout: self.layout,
            });
        }
        let n = rows.len() / self.row_size;
        let mut floor = 0;
        for &position in interval_ends {
            if position < floor || position > n {
                return Err(EncodeError::BadIntervalEnd { position, rows: n });
            }
            floor = position;
        }
        Ok(())
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

    fn copy_rows(&self, src: &[u8], dst: &mut [u8]) {
        match self.order {
            ByteOrder::Little => dst.copy_from_slice(src),
            ByteOrder::Big => swap_rows(src, dst, self.row_size, self.layout.element_type.size()),
        }
    }
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
            "row 2: timestamp 5 is not after the previous timestamp 5 (timestamps must strictly increase)"
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
