//! Joule's binary data frames, as plain Rust.
//!
//! A data response is a stream of packed rows: an int64 timestamp (UNIX microseconds)
//! followed by N elements of one numeric type.  A row whose bytes are all zero is an
//! interval-break token, not data.  Real nodes send little-endian; big-endian frames are
//! supported for files and peers that use them.
//!
//! Decoded rows are always written in the little-endian packed layout that numpy's
//! `[('timestamp', '<i8'), ('data', '<T', (N,))]` dtype describes, so the Python binding can
//! hand the buffer to numpy without another pass.

mod csv;
mod decode;
mod encode;
mod layout;
mod table;

pub use csv::{
    CsvError, CsvFormatter, CsvOptions, CsvParser, FloatFormat, FormatError, MAX_DECIMALS,
    MAX_LINE_BYTES,
};
pub use decode::{
    decode, decode_capacity, decode_into, DecodeError, Decoded, Decoder, Placed, PARALLEL_BYTES,
};
pub use encode::{EncodeError, Encoder};
pub use layout::{ByteOrder, ElementType, Layout, LayoutError};
pub use table::{Number, Table, TableValue};
