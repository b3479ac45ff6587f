use std::fmt;

use crate::layout::{ByteOrder, Layout};

/// Bytes scanned before they are copied: small enough to stay in a core's L2 cache.
pub(crate) const RUN_BYTES: usize = 128 * 1024;

/// A frame that cannot be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The stream ended inside a row: a truncated response must never look like a short one.
    Truncated {
        leftover: usize,
        layout: Layout,
        rows: u64,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated {
                leftover,
                layout,
                rows,
            } => write!(
                f,
                "data ended inside a row: {leftover} byte(s) left over after {rows} complete row(s) \
                 (a {layout} row is {} bytes); the response was truncated",
                layout.row_size()
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A streaming decoder: feed it byte chunks split anywhere, it writes whole rows.
///
/// Rows come out in the little-endian packed layout whatever the wire byte order, and
/// interval-break tokens come out as positions: the number of rows written (in that call)
/// before each token.  Rows are never dropped, duplicated or reordered; a row split across
/// chunks is held back until it is complete.
#[derive(Clone, Debug)]
pub struct Decoder {
    layout: Layout,
    order: ByteOrder,
    row_size: usize,
    /// The start of a row split across chunks (always shorter than one row).
    partial: Vec<u8>,
    rows_decoded: u64,
}

impl Decoder {
    pub fn new(layout: Layout, order: ByteOrder) -> Self {
        let row_size = layout.row_size();
        Decoder {
            layout,
            order,
            row_size,
            partial: Vec::with_capacity(row_size),
            rows_decoded: 0,
        }
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }

    pub fn row_size(&self) -> usize {
        self.row_size
    }

    /// Bytes of an incomplete row held back from earlier chunks.
    pub fn pending_bytes(&self) -> usize {
        self.partial.len()
    }

    /// Data rows decoded so far (tokens not counted).
    pub fn rows_decoded(&self) -> u64 {
        self.rows_decoded
    }

    /// How many bytes `out` must hold for the next `feed` of a chunk of `chunk_len` bytes.
    pub fn output_capacity(&self, chunk_len: usize) -> usize {
        (self.partial.len() + chunk_len) / self.row_size * self.row_size
    }

    /// Decode `chunk` into `out`, which must hold `output_capacity(chunk.len())` bytes.
    /// Appends to `breaks` the row position of every interval token met; returns the number
    /// of rows written.
    pub fn feed(&mut self, mut chunk: &[u8], out: &mut [u8], breaks: &mut Vec<usize>) -> usize {
        assert!(
            out.len() >= self.output_capacity(chunk.len()),
            "output buffer too small"
        );
        let mut written = 0;
        if !self.partial.is_empty() {
            let need = self.row_size - self.partial.len();
            if chunk.len() < need {
                self.partial.extend_from_slice(chunk);
                return 0;
            }
            self.partial.extend_from_slice(&chunk[..need]);
            chunk = &chunk[need..];
            let row = std::mem::take(&mut self.partial);
            written = self.decode_rows(&row, out, breaks, 0);
            self.partial = row;
            self.partial.clear();
        }
        let whole = chunk.len() / self.row_size * self.row_size;
        written += self.decode_rows(
            &chunk[..whole],
            &mut out[written * self.row_size..],
            breaks,
            written,
        );
        self.partial.extend_from_slice(&chunk[whole..]);
        self.rows_decoded += written as u64;
        written
    }

    /// Declare the end of the stream: an error if an incomplete row is left.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.partial.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Truncated {
                leftover: self.partial.len(),
                layout: self.layout,
                rows: self.rows_decoded,
            })
        }
    }

    /// Decode whole rows of `src` into `dst`, copying the rows between tokens in one piece.
    /// Rows are scanned and copied `RUN_BYTES` at a time, so the copy reads what the scan
    /// just brought into cache and a large buffer crosses memory once rather than twice.
    fn decode_rows(
        &self,
        src: &[u8],
        dst: &mut [u8],
        breaks: &mut Vec<usize>,
        base: usize,
    ) -> usize {
        let rs = self.row_size;
        let block_rows = (RUN_BYTES / rs).max(1);
        let rows = src.len() / rs;
        let mut written = 0;
        let mut next = 0;
        while next < rows {
            let block = &src[next * rs..rows.min(next + block_rows) * rs];
            let token = block.chunks_exact(rs).position(is_token);
            let run = &block[..token.map_or(block.len(), |k| k * rs)];
            self.copy_rows(run, &mut dst[written * rs..written * rs + run.len()]);
            written += run.len() / rs;
            next += run.len() / rs;
            if token.is_some() {
                breaks.push(base + written);
                next += 1;
            }
        }
        written
    }

    fn copy_rows(&self, src: &[u8], dst: &mut [u8]) {
        match self.order {
            ByteOrder::Little => dst.copy_from_slice(src),
            ByteOrder::Big => swap_rows(src, dst, self.row_size, self.layout.element_type.size()),
        }
    }
}

/// A row of all zero bytes is an interval token.  The timestamp is checked first: a stored
/// row never has timestamp 0 in practice, so the element check almost never runs.
#[inline]
pub(crate) fn is_token(row: &[u8]) -> bool {
    let (ts, elements) = row.split_at(8);
    u64::from_ne_bytes(ts.try_into().expect("8 bytes")) == 0 && elements.iter().all(|&b| b == 0)
}

/// Reverse the byte order of every field (timestamp, then each element) of packed rows.
pub(crate) fn swap_rows(src: &[u8], dst: &mut [u8], row_size: usize, element_size: usize) {
    for (s, d) in src
        .chunks_exact(row_size)
        .zip(dst.chunks_exact_mut(row_size))
    {
        for (sf, df) in s[..8].iter().rev().zip(d[..8].iter_mut()) {
            *df = *sf;
        }
        for (se, de) in s[8..]
            .chunks_exact(element_size)
            .zip(d[8..].chunks_exact_mut(element_size))
        {
            for (sb, db) in se.iter().rev().zip(de.iter_mut()) {
                *db = *sb;
            }
        }
    }
}

/// A whole buffer decoded: little-endian packed rows and the interval-token positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub rows: Vec<u8>,
    pub interval_ends: Vec<usize>,
}

/// Decode a complete frame buffer.
pub fn decode(buffer: &[u8], layout: Layout, order: ByteOrder) -> Result<Decoded, DecodeError> {
    let mut decoder = Decoder::new(layout, order);
    let mut rows = vec![0u8; decoder.output_capacity(buffer.len())];
    let mut interval_ends = Vec::new();
    let n = decoder.feed(buffer, &mut rows, &mut interval_ends);
    decoder.finish()?;
    rows.truncate(n * layout.row_size());
    Ok(Decoded {
        rows,
        interval_ends,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::ElementType;

    fn f32_2() -> Layout {
        Layout::new(ElementType::Float32, 2)
    }

    fn row(ts: i64, a: f32, b: f32) -> Vec<u8> {
        let mut v = ts.to_le_bytes().to_vec();
        v.extend_from_slice(&a.to_le_bytes());
        v.extend_from_slice(&b.to_le_bytes());
        v
    }

    fn token() -> Vec<u8> {
        vec![0u8; 16]
    }

    #[test]
    fn decodes_rows_and_tokens() {
        let wire = [
            row(1, 1.0, 2.0),
            token(),
            row(2, 3.0, 4.0),
            row(3, 5.0, 6.0),
            token(),
        ]
        .concat();
        let d = decode(&wire, f32_2(), ByteOrder::Little).unwrap();
        assert_eq!(
            d.rows,
            [row(1, 1.0, 2.0), row(2, 3.0, 4.0), row(3, 5.0, 6.0)].concat()
        );
        assert_eq!(d.interval_ends, vec![1, 3]);
    }

    #[test]
    fn chunks_split_anywhere_give_the_same_rows() {
        let wire = [
            row(1, 1.0, 2.0),
            token(),
            token(),
            row(2, 3.0, 4.0),
            row(3, 0.0, 0.0),
        ]
        .concat();
        let whole = decode(&wire, f32_2(), ByteOrder::Little).unwrap();
        for step in 1..wire.len() + 1 {
            let mut dec = Decoder::new(f32_2(), ByteOrder::Little);
            let (mut rows, mut ends) = (Vec::new(), Vec::new());
            for chunk in wire.chunks(step) {
                let mut out = vec![0u8; dec.output_capacity(chunk.len())];
                let mut breaks = Vec::new();
                let n = dec.feed(chunk, &mut out, &mut breaks);
                let before = rows.len() / 16;
                ends.extend(breaks.iter().map(|b| b + before));
                rows.extend_from_slice(&out[..n * 16]);
            }
            dec.finish().unwrap();
            assert_eq!(rows, whole.rows, "step {step}");
            assert_eq!(ends, whole.interval_ends, "step {step}");
        }
    }

    #[test]
    fn a_row_with_timestamp_zero_but_data_is_not_a_token() {
        let wire = row(0, 0.0, 1.0);
        let d = decode(&wire, f32_2(), ByteOrder::Little).unwrap();
        assert_eq!(d.rows, wire);
        assert!(d.interval_ends.is_empty());
    }

    #[test]
    fn truncation_is_an_error_naming_the_leftover() {
        let wire = [row(1, 1.0, 2.0), row(2, 3.0, 4.0)].concat();
        let err = decode(&wire[..wire.len() - 3], f32_2(), ByteOrder::Little).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                leftover: 13,
                layout: f32_2(),
                rows: 1
            }
        );
        let text = err.to_string();
        assert!(
            text.contains("13 byte(s) left over after 1 complete row(s)"),
            "{text}"
        );
        assert!(text.contains("float32_2 row is 16 bytes"), "{text}");
    }

    #[test]
    fn big_endian_frames_decode_to_little_endian_rows() {
        let mut wire = 7i64.to_be_bytes().to_vec();
        wire.extend_from_slice(&1.5f32.to_be_bytes());
        wire.extend_from_slice(&(-2.0f32).to_be_bytes());
        wire.extend(token());
        let d = decode(&wire, f32_2(), ByteOrder::Big).unwrap();
        assert_eq!(d.rows, row(7, 1.5, -2.0));
        assert_eq!(d.interval_ends, vec![1]);
    }

    #[test]
    fn empty_input_is_no_rows() {
        let d = decode(&[], f32_2(), ByteOrder::Little).unwrap();
        assert!(d.rows.is_empty() && d.interval_ends.is_empty());
    }
}
