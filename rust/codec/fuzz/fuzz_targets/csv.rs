//! Any whole rows format to one line each, every field reading back as the value it came
//! from (Shortest), in any column selection and delimiter; fixed decimals never panic.
#![no_main]

mod common;

use joule_codec::{CsvFormatter, CsvOptions, ElementType, FloatFormat};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((layout, _, rest)) = common::layout_and_rest(data) else {
        return;
    };
    let Some((&choice, rest)) = rest.split_first() else {
        return;
    };
    let row_size = layout.row_size();
    let rows = &rest[..rest.len() / row_size * row_size];
    let delimiter = b",\t;"[usize::from(choice % 3)];
    // every column, or every other one from a start the input picks, possibly past the end
    let columns: Vec<usize> = if choice & 0x10 == 0 {
        Vec::new()
    } else {
        (usize::from(choice >> 5)..layout.width + 1)
            .step_by(2)
            .collect()
    };
    let fixed = choice & 0x08 != 0;
    let options = CsvOptions {
        delimiter,
        columns: columns.clone(),
        float_format: if fixed {
            FloatFormat::Fixed(usize::from(choice % 7))
        } else {
            FloatFormat::Shortest
        },
    };
    let Ok(formatter) = CsvFormatter::new(layout, options) else {
        assert!(columns.iter().any(|&c| c >= layout.width));
        return;
    };
    let columns = if columns.is_empty() {
        (0..layout.width).collect()
    } else {
        columns
    };
    let mut out = Vec::new();
    formatter.format(rows, &mut out).expect("whole rows");
    let text = std::str::from_utf8(&out).expect("CSV is ASCII");
    let lines: Vec<&str> = text.split_terminator('\n').collect();
    assert_eq!(lines.len(), rows.len() / row_size);
    let size = layout.element_type.size();
    for (line, row) in lines.iter().zip(rows.chunks_exact(row_size)) {
        let fields: Vec<&str> = line.split(char::from(delimiter)).collect();
        assert_eq!(fields.len(), columns.len() + 1);
        let timestamp = i64::from_le_bytes(row[..8].try_into().unwrap());
        assert_eq!(fields[0].parse::<i64>(), Ok(timestamp));
        if fixed {
            continue;
        }
        for (field, &c) in fields[1..].iter().zip(&columns) {
            let bytes = &row[8 + c * size..8 + (c + 1) * size];
            assert_eq!(
                parse_as(layout.element_type, field),
                value_of(layout.element_type, bytes)
            );
        }
    }
});

/// An element as (integer, float bits), NaN folded to one value: what a field must read as.
fn value_of(element_type: ElementType, bytes: &[u8]) -> (i128, u64) {
    let int = |b: &[u8]| -> i128 {
        let mut wide = [0u8; 16];
        wide[..b.len()].copy_from_slice(b);
        let value = i128::from_le_bytes(wide);
        let unused = 128 - 8 * b.len() as u32;
        match element_type {
            ElementType::Uint8
            | ElementType::Uint16
            | ElementType::Uint32
            | ElementType::Uint64 => value,
            _ => (value << unused) >> unused, // sign-extend
        }
    };
    match element_type {
        ElementType::Float32 => (
            0,
            float_bits(f64::from(f32::from_le_bytes(bytes.try_into().unwrap()))),
        ),
        ElementType::Float64 => (0, float_bits(f64::from_le_bytes(bytes.try_into().unwrap()))),
        _ => (int(bytes), 0),
    }
}

fn parse_as(element_type: ElementType, field: &str) -> (i128, u64) {
    match element_type {
        ElementType::Float32 => (
            0,
            float_bits(f64::from(field.parse::<f32>().expect("a float"))),
        ),
        ElementType::Float64 => (0, float_bits(field.parse::<f64>().expect("a float"))),
        _ => (field.parse::<i128>().expect("an integer"), 0),
    }
}

fn float_bits(value: f64) -> u64 {
    if value.is_nan() {
        f64::NAN.to_bits()
    } else {
        value.to_bits()
    }
}
