//! Any rows and interval ends either encode to a frame that decodes back to them, or are
//! refused, with nothing remembered; validate agrees with encode.
#![no_main]

mod common;

use joule_codec::{decode, Encoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((layout, order, rest)) = common::layout_and_rest(data) else {
        return;
    };
    let Some((&end_count, rest)) = rest.split_first() else {
        return;
    };
    let end_count = usize::from(end_count % 8);
    if rest.len() < end_count {
        return;
    }
    let (end_bytes, rows) = rest.split_at(end_count);
    let row_size = layout.row_size();
    let row_count = rows.len() / row_size;
    // positions up to one past the end, in any order: the encoder must refuse the bad ones
    let ends: Vec<usize> = end_bytes
        .iter()
        .map(|&b| usize::from(b) % (row_count + 2))
        .collect();

    let mut encoder = Encoder::new(layout, order);
    let valid = encoder.validate(rows, &ends).is_ok();
    match encoder.encode(rows, &ends) {
        Ok(frame) => {
            assert!(valid);
            assert_eq!(frame.len(), rows.len() + ends.len() * row_size);
            let back = decode(&frame, layout, order).expect("an encoded frame decodes");
            assert_eq!(back.rows, rows);
            assert_eq!(back.interval_ends, ends);
            let timestamps: Vec<i64> = rows
                .chunks_exact(row_size)
                .map(|r| i64::from_le_bytes(r[..8].try_into().unwrap()))
                .collect();
            assert!(timestamps.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(encoder.last_timestamp(), timestamps.last().copied());
        }
        Err(_) => {
            assert!(!valid);
            assert_eq!(
                encoder.last_timestamp(),
                None,
                "a refused call remembers nothing"
            );
        }
    }
});
