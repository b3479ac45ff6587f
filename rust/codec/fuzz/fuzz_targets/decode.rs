//! Any bytes, fed in chunks split anywhere, decode to the rows they decode to in one piece;
//! the end is an error exactly when a partial row is left; a frame whose rows the encoder
//! accepts re-encodes to the same bytes.
#![no_main]

mod common;

use joule_codec::{decode, Decoder, Encoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((layout, order, rest)) = common::layout_and_rest(data) else {
        return;
    };
    let Some((&seed, frame)) = rest.split_first() else {
        return;
    };
    let row_size = layout.row_size();
    let partial = frame.len() % row_size != 0;

    let mut decoder = Decoder::new(layout, order);
    let (mut rows, mut ends) = (Vec::new(), Vec::new());
    for chunk in chunks(frame, seed) {
        let mut out = vec![0u8; decoder.output_capacity(chunk.len())];
        let mut breaks = Vec::new();
        let written = decoder.feed(chunk, &mut out, &mut breaks);
        assert!(written * row_size <= out.len());
        assert!(breaks.windows(2).all(|w| w[0] <= w[1]) && breaks.iter().all(|&b| b <= written));
        let before = rows.len() / row_size;
        ends.extend(breaks.iter().map(|b| b + before));
        rows.extend_from_slice(&out[..written * row_size]);
        assert!(decoder.pending_bytes() < row_size);
    }
    assert_eq!(decoder.finish().is_err(), partial);
    assert_eq!(decoder.rows_decoded() as usize, rows.len() / row_size);
    // every whole row of the frame is either a row out or an interval end
    assert_eq!(rows.len() / row_size + ends.len(), frame.len() / row_size);

    match decode(frame, layout, order) {
        Err(_) => assert!(partial),
        Ok(whole) => {
            assert!(!partial);
            assert_eq!(whole.rows, rows);
            assert_eq!(whole.interval_ends, ends);
            let mut encoder = Encoder::new(layout, order);
            if encoder.validate(&rows, &ends).is_ok() {
                assert_eq!(encoder.encode(&rows, &ends).expect("validated"), frame);
            }
        }
    }
});

/// `data` cut into chunks whose sizes vary from 1 to 257 bytes, starting from `seed`.
pub fn chunks(data: &[u8], seed: u8) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut size = usize::from(seed) + 1;
    let mut rest = data;
    while !rest.is_empty() {
        let (piece, after) = rest.split_at(size.min(rest.len()));
        pieces.push(piece);
        rest = after;
        size = (size * 31 + 7) % 257 + 1;
    }
    pieces
}
