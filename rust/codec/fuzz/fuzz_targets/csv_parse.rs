//! Any text, fed in two pieces cut anywhere, parses to whole rows or names its bad line, and
//! never panics; it reads the same with every field quoted (which takes the general path
//! instead of the fast one); and any rows, formatted (Shortest), parse back to the same
//! values.
#![no_main]

mod common;

use joule_codec::{CsvFormatter, CsvOptions, CsvParser, ElementType, Layout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((layout, _, rest)) = common::layout_and_rest(data) else {
        return;
    };
    let Some((&cut, input)) = rest.split_first() else {
        return;
    };
    let row_size = layout.row_size();

    let (rows, result) = parse(layout, input, usize::from(cut));
    assert!(rows.len().is_multiple_of(row_size));
    if result.is_ok() {
        // every line a row or empty: no more rows than lines
        let lines = input.split(|&b| b == b'\n').count();
        assert!(rows.len() / row_size <= lines);
    }
    if !input.contains(&b'"') {
        let (quoted_rows, quoted_result) = parse(layout, &quote_all(input), usize::from(cut));
        assert_eq!(quoted_result.is_ok(), result.is_ok());
        if result.is_ok() {
            assert_eq!(quoted_rows, rows);
        }
    }

    let whole = &input[..input.len() / row_size * row_size];
    let mut text = Vec::new();
    CsvFormatter::new(layout, CsvOptions::default())
        .unwrap()
        .format(whole, &mut text)
        .unwrap();
    let (back, result) = parse(layout, &text, usize::from(cut) * 7);
    result.expect("formatted rows parse");
    assert_eq!(back.len(), whole.len());
    let size = layout.element_type.size();
    for (ours, theirs) in back.chunks_exact(row_size).zip(whole.chunks_exact(row_size)) {
        assert_eq!(ours[..8], theirs[..8], "timestamp");
        for (a, b) in ours[8..].chunks_exact(size).zip(theirs[8..].chunks_exact(size)) {
            assert!(a == b || both_nan(layout.element_type, a, b), "{a:?} != {b:?}");
        }
    }
});

/// Rows of `input` fed in two pieces, and how the parse ended.
fn parse(layout: Layout, input: &[u8], cut: usize) -> (Vec<u8>, Result<(), String>) {
    let cut = cut.min(input.len());
    let mut parser = CsvParser::new(layout, b',', 1).unwrap();
    let mut rows = Vec::new();
    let result = parser
        .feed(&input[..cut], &mut rows)
        .and_then(|()| parser.feed(&input[cut..], &mut rows))
        .and_then(|()| parser.finish(&mut rows))
        .map_err(|e| e.to_string());
    (rows, result)
}

/// `input` with every field of every line in double quotes (a line's `\r` stays outside).
fn quote_all(input: &[u8]) -> Vec<u8> {
    let mut quoted = Vec::new();
    for (number, line) in input.split(|&b| b == b'\n').enumerate() {
        if number > 0 {
            quoted.push(b'\n');
        }
        let (line, cr) = match line.strip_suffix(b"\r") {
            Some(line) => (line, true),
            None => (line, false),
        };
        if line.is_empty() {
            quoted.extend_from_slice(if cr { b"\r" } else { b"" });
            continue;
        }
        for (index, field) in line.split(|&b| b == b',').enumerate() {
            if index > 0 {
                quoted.push(b',');
            }
            quoted.push(b'"');
            quoted.extend_from_slice(field);
            quoted.push(b'"');
        }
        if cr {
            quoted.push(b'\r');
        }
    }
    quoted
}

/// NaN is written "nan", whatever its sign and payload, and reads back as one NaN.
fn both_nan(element_type: ElementType, a: &[u8], b: &[u8]) -> bool {
    match element_type {
        ElementType::Float32 => [a, b]
            .iter()
            .all(|x| f32::from_le_bytes((*x).try_into().unwrap()).is_nan()),
        ElementType::Float64 => [a, b]
            .iter()
            .all(|x| f64::from_le_bytes((*x).try_into().unwrap()).is_nan()),
        _ => false,
    }
}
