use std::fmt;
use std::sync::OnceLock;

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
            written = decode_rows(&self.partial, out, breaks, 0, self.layout, self.order);
            self.partial.clear();
        }
        let whole = chunk.len() / self.row_size * self.row_size;
        written += decode_rows(
            &chunk[..whole],
            &mut out[written * self.row_size..],
            breaks,
            written,
            self.layout,
            self.order,
        );
        self.partial.extend_from_slice(&chunk[whole..]);
        self.rows_decoded += written as u64;
        written
    }

    /// Decode `chunk` and append its rows to `out`, which grows as needed; the positions
    /// pushed to `breaks` count rows from the start of `out`.  Returns the rows appended.
    pub fn feed_vec(&mut self, chunk: &[u8], out: &mut Vec<u8>, breaks: &mut Vec<usize>) -> usize {
        let start = out.len();
        out.resize(start + self.output_capacity(chunk.len()), 0);
        let first_new = breaks.len();
        let rows = self.feed(chunk, &mut out[start..], breaks);
        out.truncate(start + rows * self.row_size);
        for position in &mut breaks[first_new..] {
            *position += start / self.row_size;
        }
        rows
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
}

/// Decode whole rows of `src` into `dst`, copying the rows between tokens in one piece;
/// appends to `breaks` the position (`base` + rows written before it) of every token.
/// Rows are scanned and copied `RUN_BYTES` at a time, so the copy reads what the scan just
/// brought into cache and a large buffer crosses memory once rather than twice.
fn decode_rows(
    src: &[u8],
    dst: &mut [u8],
    breaks: &mut Vec<usize>,
    base: usize,
    layout: Layout,
    order: ByteOrder,
) -> usize {
    let rs = layout.row_size();
    let block_rows = (RUN_BYTES / rs).max(1);
    let rows = src.len() / rs;
    let mut written = 0;
    let mut next = 0;
    while next < rows {
        let block = &src[next * rs..rows.min(next + block_rows) * rs];
        let token = block.chunks_exact(rs).position(is_token);
        let run = &block[..token.map_or(block.len(), |k| k * rs)];
        copy_rows(
            run,
            &mut dst[written * rs..written * rs + run.len()],
            layout,
            order,
        );
        written += run.len() / rs;
        next += run.len() / rs;
        if token.is_some() {
            breaks.push(base + written);
            next += 1;
        }
    }
    written
}

/// `decode_rows` from the last row to the first: the rows of `src` land at the end of `dst`
/// (`dst` is as long as `src`), so a front half can be decoded before the number of tokens
/// in it is known.  Returns the rows written, and for each token, from the last to the first,
/// the number of rows written after it.
fn decode_rows_backward(
    src: &[u8],
    dst: &mut [u8],
    layout: Layout,
    order: ByteOrder,
) -> (usize, Vec<usize>) {
    let rs = layout.row_size();
    let block_bytes = (RUN_BYTES / rs).max(1) * rs;
    let mut end = dst.len() / rs;
    let mut written = 0;
    let mut rows_after = Vec::new();
    let mut block_breaks = Vec::new();
    // src is whole rows and blocks are whole rows, so every block is too, the first one shorter
    for block in src.rchunks(block_bytes) {
        let tokens = block.chunks_exact(rs).filter(|row| is_token(row)).count();
        let rows = block.len() / rs - tokens;
        let start = end - rows;
        block_breaks.clear();
        decode_rows(
            block,
            &mut dst[start * rs..end * rs],
            &mut block_breaks,
            0,
            layout,
            order,
        );
        rows_after.extend(block_breaks.iter().rev().map(|p| written + rows - p));
        written += rows;
        end = start;
    }
    (written, rows_after)
}

fn copy_rows(src: &[u8], dst: &mut [u8], layout: Layout, order: ByteOrder) {
    dst.copy_from_slice(src);
    if order == ByteOrder::Big {
        swap_fields(dst, layout);
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
pub(crate) fn swap_fields(rows: &mut [u8], layout: Layout) {
    let element_size = layout.element_type.size();
    for row in rows.chunks_exact_mut(layout.row_size()) {
        let (timestamp, elements) = row.split_at_mut(8);
        timestamp.reverse();
        for element in elements.chunks_exact_mut(element_size) {
            element.reverse();
        }
    }
}

/// A whole buffer decoded: little-endian packed rows and the interval-token positions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    pub rows: Vec<u8>,
    pub interval_ends: Vec<usize>,
}

/// Where `decode_into` put the rows: `out[first_row * row_size..][..rows * row_size]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub first_row: usize,
    pub rows: usize,
    pub interval_ends: Vec<usize>,
}

/// From this size on, `decode_into` decodes in two threads.  A new output buffer is the cost
/// of a whole-buffer decode: the kernel zeroes each fresh page on first touch, at about the
/// rate of the copy itself, and two cores fault pages in twice as fast as one.  Measured on
/// 2 cores: one thread wins below 4 MiB (starting a thread costs more than it saves, and
/// small buffers are often reused memory), the two break even at 4 MiB, two win from 8 MiB.
pub const PARALLEL_BYTES: usize = 4 << 20;

fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Bytes `decode_into` needs for a buffer of `buffer_len` bytes.
pub fn decode_capacity(buffer_len: usize, layout: Layout) -> usize {
    buffer_len / layout.row_size() * layout.row_size()
}

/// Decode a complete frame into `out` (at least `decode_capacity` bytes, typically fresh
/// memory), in two threads when it is large.  The rows need not start at `out[0]`: see
/// `Placed`.  An error if the frame ends inside a row.
pub fn decode_into(
    buffer: &[u8],
    layout: Layout,
    order: ByteOrder,
    out: &mut [u8],
) -> Result<Placed, DecodeError> {
    let split_row = if buffer.len() >= PARALLEL_BYTES && cores() > 1 {
        buffer.len() / layout.row_size() / 2
    } else {
        0
    };
    decode_split(buffer, layout, order, out, split_row)
}

/// `decode_into` with the rows before `split_row` decoded in a second thread.  That front
/// part is decoded backward so that it ends where the back part starts, whatever number of
/// tokens either holds: the rows come out contiguous without moving any, from
/// `split_row - front rows` on.
fn decode_split(
    buffer: &[u8],
    layout: Layout,
    order: ByteOrder,
    out: &mut [u8],
    split_row: usize,
) -> Result<Placed, DecodeError> {
    let rs = layout.row_size();
    let whole = decode_capacity(buffer.len(), layout);
    assert!(out.len() >= whole, "output buffer too small");
    assert!(split_row * rs <= whole, "split after the last row");
    let (front_src, back_src) = buffer[..whole].split_at(split_row * rs);
    let (front_dst, back_dst) = out[..whole].split_at_mut(split_row * rs);
    let mut back_breaks = Vec::new();
    let mut decode_back = || decode_rows(back_src, back_dst, &mut back_breaks, 0, layout, order);
    let ((front_rows, front_rows_after), back_rows) = if split_row == 0 {
        ((0, Vec::new()), decode_back())
    } else {
        std::thread::scope(|scope| {
            let front = scope.spawn(|| decode_rows_backward(front_src, front_dst, layout, order));
            let back_rows = decode_back();
            (
                front.join().expect("the decoding thread panicked"),
                back_rows,
            )
        })
    };
    let rows = front_rows + back_rows;
    let leftover = buffer.len() - whole;
    if leftover > 0 {
        return Err(DecodeError::Truncated {
            leftover,
            layout,
            rows: rows as u64,
        });
    }
    let front_ends = front_rows_after
        .iter()
        .rev()
        .map(|after| front_rows - after);
    let back_ends = back_breaks.iter().map(|p| front_rows + p);
    Ok(Placed {
        first_row: split_row - front_rows,
        rows,
        interval_ends: front_ends.chain(back_ends).collect(),
    })
}

/// Decode a complete frame into a new vector.
pub fn decode(buffer: &[u8], layout: Layout, order: ByteOrder) -> Result<Decoded, DecodeError> {
    let mut rows = vec![0u8; decode_capacity(buffer.len(), layout)];
    let placed = decode_into(buffer, layout, order, &mut rows)?;
    let rs = layout.row_size();
    rows.truncate((placed.first_row + placed.rows) * rs);
    rows.drain(..placed.first_row * rs);
    Ok(Decoded {
        rows,
        interval_ends: placed.interval_ends,
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
                dec.feed_vec(chunk, &mut rows, &mut ends);
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

    /// Row by row, the obvious way: every split must agree with this.
    fn reference(wire: &[u8], layout: Layout, order: ByteOrder) -> (Vec<u8>, Vec<usize>) {
        let (mut rows, mut ends) = (Vec::new(), Vec::new());
        for row in wire.chunks_exact(layout.row_size()) {
            if row.iter().all(|&b| b == 0) {
                ends.push(rows.len() / layout.row_size());
            } else {
                let mut row = row.to_vec();
                if order == ByteOrder::Big {
                    swap_fields(&mut row, layout);
                }
                rows.extend(row);
            }
        }
        (rows, ends)
    }

    /// `n` rows of int16_1 (10 bytes, so a RUN_BYTES block is 13,107 rows) with a token
    /// wherever `tokens` says.
    fn wire_with_tokens(n: usize, tokens: &[usize]) -> Vec<u8> {
        (0..n)
            .flat_map(|i| {
                if tokens.contains(&i) {
                    vec![0u8; 10]
                } else {
                    [
                        (i as i64 + 1).to_le_bytes().to_vec(),
                        (i as i16).to_le_bytes().to_vec(),
                    ]
                    .concat()
                }
            })
            .collect()
    }

    fn check_split(wire: &[u8], layout: Layout, order: ByteOrder, split: usize) {
        let rs = layout.row_size();
        let (rows, ends) = reference(wire, layout, order);
        // junk where nothing is written, so a row written in the wrong place shows
        let mut out = vec![0xa5u8; wire.len()];
        let placed = decode_split(wire, layout, order, &mut out, split).unwrap();
        let front_tokens = wire[..split * rs]
            .chunks_exact(rs)
            .filter(|r| is_token(r))
            .count();
        assert_eq!(placed.first_row, front_tokens, "split {split}");
        assert_eq!(placed.rows * rs, rows.len(), "split {split}");
        let got = &out[placed.first_row * rs..(placed.first_row + placed.rows) * rs];
        assert!(got == rows.as_slice(), "split {split}");
        assert_eq!(placed.interval_ends, ends, "split {split}");
    }

    #[test]
    fn every_split_of_a_small_frame_gives_the_reference_rows() {
        // tokens first, doubled, in the middle and last
        let wire = [
            token(),
            row(1, 1.0, 2.0),
            token(),
            token(),
            row(2, 3.0, 4.0),
            row(3, 0.0, 0.0),
            token(),
            row(4, 5.0, 6.0),
            token(),
        ]
        .concat();
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for split in 0..=wire.len() / 16 {
                check_split(&wire, f32_2(), order, split);
            }
        }
        for split in 0..=3 {
            check_split(
                &[token(), token(), token()].concat(),
                f32_2(),
                ByteOrder::Little,
                split,
            );
            check_split(
                &[row(1, 1.0, 1.0), row(2, 1.0, 1.0), row(3, 1.0, 1.0)].concat(),
                f32_2(),
                ByteOrder::Little,
                split,
            );
        }
    }

    #[test]
    fn splits_around_tokens_at_block_edges_give_the_reference_rows() {
        let layout = Layout::new(ElementType::Int16, 1);
        let n = 60_000;
        let block = RUN_BYTES / 10;
        let tokens = [
            0,
            1,
            block - 1,
            block,
            2 * block + 1,
            30_000,
            30_001,
            45_000,
            n - 1,
        ];
        let wire = wire_with_tokens(n, &tokens);
        let mut splits: Vec<usize> = tokens
            .iter()
            .flat_map(|&t| [t, t + 1, t.saturating_sub(1)])
            .collect();
        splits.extend([n / 2, n - block, n - block + 1, n]);
        for order in [ByteOrder::Little, ByteOrder::Big] {
            for &split in &splits {
                check_split(&wire, layout, order, split);
            }
        }
    }

    #[test]
    fn a_large_frame_decodes_in_two_threads_with_tokens_anywhere() {
        let layout = Layout::new(ElementType::Int16, 1);
        let n = PARALLEL_BYTES / 10 + 1001;
        let split = n / 2;
        let tokens = [0, split - 1, split, split + 1, n - 1];
        let wire = wire_with_tokens(n, &tokens);
        let (rows, ends) = reference(&wire, layout, ByteOrder::Little);
        let mut out = vec![0u8; decode_capacity(wire.len(), layout)];
        let placed = decode_into(&wire, layout, ByteOrder::Little, &mut out).unwrap();
        if cores() > 1 {
            assert_eq!(placed.first_row, 2, "the tokens before the split row");
        }
        let got = &out[placed.first_row * 10..(placed.first_row + placed.rows) * 10];
        assert!(got == rows.as_slice());
        assert_eq!(placed.interval_ends, ends);
        let whole = decode(&wire, layout, ByteOrder::Little).unwrap();
        assert!(whole.rows == rows);
        assert_eq!(whole.interval_ends, ends);
        // a cut is an error counting the rows before it: n - 1 whole rows, 4 of them tokens
        let err = decode(&wire[..wire.len() - 3], layout, ByteOrder::Little).unwrap_err();
        assert_eq!(
            err,
            DecodeError::Truncated {
                leftover: 7,
                layout,
                rows: (n - 1 - 4) as u64
            }
        );
    }

    #[test]
    fn empty_input_is_no_rows() {
        let d = decode(&[], f32_2(), ByteOrder::Little).unwrap();
        assert!(d.rows.is_empty() && d.interval_ends.is_empty());
    }
}
