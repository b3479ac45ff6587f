//! `joule_sync._codec`: a thin PyO3 binding over `joule-codec`.
//!
//! Bytes come in as numpy uint8 arrays (the Python side wraps any buffer with
//! `np.frombuffer`, which copies nothing) and decoded rows go out as numpy-owned uint8
//! arrays that `joule_sync.codec` views with the structured dtype.  Work on large buffers
//! runs with the GIL released.  Codec errors are raised as `ValueError` with the codec's
//! message; `joule_sync.codec` turns them into `joule_sync.DataError`.

use joule_codec::{ByteOrder, FloatFormat, Layout, Table, TableValue};
use numpy::{
    PyArray1, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyReadwriteArray1,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PySlice};

/// Below this many bytes, releasing and re-taking the GIL costs more than it frees.
const DETACH_THRESHOLD: usize = 64 * 1024;

/// First reservation of `feed_collect`'s buffer: above glibc's largest mmap threshold
/// (32 MiB), so the buffer is always mapped on its own and grows by `mremap`, never by a
/// copy.  Pages nobody writes to cost address space only.
const FIRST_COLLECT_BYTES: usize = 64 << 20;

fn value_error(err: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(err.to_string())
}

fn parse_layout(layout: &str) -> PyResult<Layout> {
    layout.parse().map_err(value_error)
}

fn parse_byteorder(byteorder: &str) -> PyResult<ByteOrder> {
    byteorder.parse().map_err(value_error)
}

fn one_byte(delimiter: &str) -> PyResult<u8> {
    match delimiter.as_bytes() {
        &[byte] => Ok(byte),
        _ => Err(PyValueError::new_err(format!(
            "the delimiter must be one ASCII character, not {delimiter:?}"
        ))),
    }
}

/// Run `f` without the GIL when the buffer is large enough for that to pay.
fn maybe_detached<T: Send>(py: Python<'_>, len: usize, f: impl FnOnce() -> T + Send) -> T {
    if len >= DETACH_THRESHOLD {
        py.detach(f)
    } else {
        f()
    }
}

#[pyclass(module = "joule_sync._codec")]
struct Decoder {
    inner: joule_codec::Decoder,
    /// Rows kept by `feed_collect` until `take_collected`.
    collected: Vec<u8>,
}

#[pymethods]
impl Decoder {
    #[new]
    #[pyo3(signature = (layout, byteorder = "little"))]
    fn new(layout: &str, byteorder: &str) -> PyResult<Self> {
        Ok(Decoder {
            inner: joule_codec::Decoder::new(parse_layout(layout)?, parse_byteorder(byteorder)?),
            collected: Vec::new(),
        })
    }

    /// Decode a chunk; returns (packed little-endian rows as uint8, interval-token positions).
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        chunk: PyReadonlyArray1<'py, u8>,
    ) -> PyResult<(Bound<'py, PyArray1<u8>>, Vec<usize>)> {
        let src = chunk.as_slice()?;
        let capacity = self.inner.output_capacity(src.len());
        // SAFETY: the decoder writes every byte of the first `written` rows and only those
        // rows are exposed: the array is cut to that length before it is returned.
        let out = unsafe { PyArray1::<u8>::new(py, [capacity], false) };
        let dst = unsafe { out.as_slice_mut()? };
        let inner = &mut self.inner;
        let mut breaks = Vec::new();
        let written = maybe_detached(py, src.len(), || inner.feed(src, dst, &mut breaks));
        let used = written * self.inner.row_size();
        Ok((written_part(out, 0, used)?, breaks))
    }

    /// Decode a chunk and keep its rows in one growing buffer, for callers that want a whole
    /// response as one array; returns the interval-token positions, counted in rows from
    /// the first row kept.  Unlike a numpy array grown by `ndarray.resize`, the buffer sits
    /// on huge pages and grows by `mremap`, never by a copy.
    fn feed_collect(
        &mut self,
        py: Python<'_>,
        chunk: PyReadonlyArray1<'_, u8>,
    ) -> PyResult<Vec<usize>> {
        let src = chunk.as_slice()?;
        let (inner, collected) = (&mut self.inner, &mut self.collected);
        let mut breaks = Vec::new();
        maybe_detached(py, src.len(), || {
            let need = inner.output_capacity(src.len());
            if collected.capacity() - collected.len() < need {
                collected.reserve(need.max(FIRST_COLLECT_BYTES));
                advise_huge_pages(collected);
            }
            inner.feed_vec(src, collected, &mut breaks);
        });
        Ok(breaks)
    }

    /// The rows kept so far as a uint8 array, handed over without copying; collecting
    /// starts again from empty.
    fn take_collected<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyArray1<u8>> {
        // not shrunk: that may copy, and the spare capacity was never touched, so it holds
        // address space, not memory
        PyArray1::from_vec(py, std::mem::take(&mut self.collected))
    }

    /// End of stream: raises ValueError if an incomplete row is left.
    fn finish(&self) -> PyResult<()> {
        self.inner.finish().map_err(value_error)
    }

    #[getter]
    fn pending_bytes(&self) -> usize {
        self.inner.pending_bytes()
    }

    #[getter]
    fn rows_decoded(&self) -> u64 {
        self.inner.rows_decoded()
    }

    #[getter]
    fn row_size(&self) -> usize {
        self.inner.row_size()
    }

    #[getter]
    fn layout(&self) -> String {
        self.inner.layout().to_string()
    }
}

/// `out[start..end]`, the bytes a decoder wrote into a fresh array: the array itself when
/// that is all of it, else a view.  Tokens leave rows unwritten, which the view keeps out of
/// reach.
fn written_part<'py>(
    out: Bound<'py, PyArray1<u8>>,
    start: usize,
    end: usize,
) -> PyResult<Bound<'py, PyArray1<u8>>> {
    if (start, end) == (0, out.len()) {
        return Ok(out);
    }
    let slice = PySlice::new(out.py(), start as isize, end as isize, 1);
    Ok(out.get_item(slice)?.cast_into::<PyArray1<u8>>()?)
}

/// Ask Linux for transparent huge pages on a large buffer before its fresh pages are
/// touched: faulting memory in 2 MiB at a time instead of 4 KiB is most of what filling a
/// new buffer costs.  Advice only, so a refusal changes nothing.
#[cfg(target_os = "linux")]
fn advise_huge_pages(buffer: &Vec<u8>) {
    const PAGE: usize = 4096;
    const WORTH_IT: usize = 4 << 20;
    if buffer.capacity() < WORTH_IT {
        return;
    }
    // From the page the buffer starts in: advising a range that starts after the mapping
    // does would split it in two, and `realloc` could then no longer grow it by `mremap`.
    let start = buffer.as_ptr() as usize / PAGE * PAGE;
    let end = buffer.as_ptr() as usize + buffer.capacity();
    // SAFETY: MADV_HUGEPAGE changes how pages are backed, never their contents, so it is
    // harmless on the allocator's header that shares the buffer's first page.
    unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_buffer: &Vec<u8>) {}

#[pyclass(module = "joule_sync._codec")]
struct Encoder {
    inner: joule_codec::Encoder,
}

#[pymethods]
impl Encoder {
    #[new]
    #[pyo3(signature = (layout, byteorder = "little"))]
    fn new(layout: &str, byteorder: &str) -> PyResult<Self> {
        Ok(Encoder {
            inner: joule_codec::Encoder::new(parse_layout(layout)?, parse_byteorder(byteorder)?),
        })
    }

    /// Validate packed little-endian rows and encode them, with a token at each interval end.
    fn encode<'py>(
        &mut self,
        py: Python<'py>,
        rows: PyReadonlyArray1<'py, u8>,
        interval_ends: Vec<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let src = rows.as_slice()?;
        let inner = &mut self.inner;
        let len = inner.encoded_len(src.len(), &interval_ends);
        PyBytes::new_with(py, len, |dst| {
            maybe_detached(py, src.len(), || {
                inner.encode_into(src, &interval_ends, dst)
            })
            .map(|_| ())
            .map_err(value_error)
        })
    }

    /// Validate and encode a table of numbers (see `with_table`), converting each value to
    /// the layout's type on the way and float timestamps to the nearest microsecond (half to
    /// even).
    #[pyo3(signature = (table, values, interval_ends))]
    fn encode_table<'py>(
        &mut self,
        py: Python<'py>,
        table: &Bound<'py, PyAny>,
        values: Option<&Bound<'py, PyAny>>,
        interval_ends: Vec<usize>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let task = EncodeTable {
            py,
            encoder: &mut self.inner,
            interval_ends,
        };
        with_table(table, values, task)
    }

    #[getter]
    fn last_timestamp(&self) -> Option<i64> {
        self.inner.last_timestamp()
    }

    #[getter]
    fn layout(&self) -> String {
        self.inner.layout().to_string()
    }

    /// Accept only timestamps after `timestamp` from now on (None: any).
    fn set_last_timestamp(&mut self, timestamp: Option<i64>) {
        self.inner.set_last_timestamp(timestamp);
    }
}

/// Something done with a table of numbers, whatever the types of its columns: what
/// `Encoder.encode_table` and `table_rows` share, each given the table and the bytes it spans.
trait TableTask {
    type Output;
    fn run<T: TableValue, V: TableValue>(
        self,
        table: Table<'_, T, V>,
        bytes: usize,
    ) -> PyResult<Self::Output>;
}

/// `$body` with `$name` bound to `$array` extracted as a `$Array` of the first of the listed
/// element types that it holds; TypeError if none.
macro_rules! with_typed_array {
    ($array:expr, $Array:ident, $name:ident => $body:expr; $($t:ty),+) => {{
        let array = $array;
        $(
            if let Ok($name) = array.extract::<$Array<'_, $t>>() {
                $body
            } else
        )+
        {
            Err(PyTypeError::new_err(format!(
                "expected a numpy array of {}, got {}",
                stringify!($($t),+),
                array.getattr("dtype")?,
            )))
        }
    }};
}

/// Run `task` on a table of numbers: `table` a 2-D array with the timestamps in column 0
/// (`values` None), or the timestamps beside the 2-D `values`, with a type of their own.
/// Arrays must be C-contiguous and of a type the codec takes (`joule_sync.codec` casts the
/// others losslessly first).
fn with_table<K: TableTask>(
    table: &Bound<'_, PyAny>,
    values: Option<&Bound<'_, PyAny>>,
    task: K,
) -> PyResult<K::Output> {
    let Some(values) = values else {
        return with_typed_array!(table, PyReadonlyArray2, table => {
            let columns = table.shape()[1];
            let numbers = table.as_slice()?;
            let table = Table::interleaved(numbers, columns).map_err(value_error)?;
            task.run(table, std::mem::size_of_val(numbers))
        }; f64, f32, i64, i32, u64);
    };
    with_typed_array!(table, PyReadonlyArray1, timestamps => {
        let timestamps = timestamps.as_slice()?;
        with_typed_array!(values, PyReadonlyArray2, values => {
            let width = values.shape()[1];
            let elements = values.as_slice()?;
            let table = Table::columns(timestamps, elements, width).map_err(value_error)?;
            task.run(table, std::mem::size_of_val(timestamps) + std::mem::size_of_val(elements))
        }; f64, f32, i64, i32, u64)
    }; i64, f64, u64)
}

/// `Encoder.encode_table`: the frame, as bytes.
struct EncodeTable<'a, 'py> {
    py: Python<'py>,
    encoder: &'a mut joule_codec::Encoder,
    interval_ends: Vec<usize>,
}

impl<'py> TableTask for EncodeTable<'_, 'py> {
    type Output = Bound<'py, PyBytes>;

    fn run<T: TableValue, V: TableValue>(
        self,
        table: Table<'_, T, V>,
        bytes: usize,
    ) -> PyResult<Self::Output> {
        let EncodeTable {
            py,
            encoder,
            interval_ends,
        } = self;
        let rows = table.rows() * encoder.layout().row_size();
        PyBytes::new_with(py, encoder.encoded_len(rows, &interval_ends), |dst| {
            maybe_detached(py, bytes, || {
                encoder.encode_table_into(&table, &interval_ends, dst)
            })
            .map(|_| ())
            .map_err(value_error)
        })
    }
}

/// `table_rows`: packed little-endian rows in a new uint8 array.
struct TableRows<'py> {
    py: Python<'py>,
    layout: Layout,
}

impl<'py> TableTask for TableRows<'py> {
    type Output = Bound<'py, PyArray1<u8>>;

    fn run<T: TableValue, V: TableValue>(
        self,
        table: Table<'_, T, V>,
        bytes: usize,
    ) -> PyResult<Self::Output> {
        let TableRows { py, layout } = self;
        // SAFETY: on success `convert_into` has written every byte; on error the array is
        // dropped unseen.
        let out = unsafe { PyArray1::<u8>::new(py, [table.rows() * layout.row_size()], false) };
        let dst = unsafe { out.as_slice_mut()? };
        maybe_detached(py, bytes, || table.convert_into(layout, dst)).map_err(value_error)?;
        Ok(out)
    }
}

#[pyclass(module = "joule_sync._codec")]
struct CsvFormatter {
    inner: joule_codec::CsvFormatter,
}

#[pymethods]
impl CsvFormatter {
    #[new]
    #[pyo3(signature = (layout, delimiter = ",", columns = None, decimals = None))]
    fn new(
        layout: &str,
        delimiter: &str,
        columns: Option<Vec<usize>>,
        decimals: Option<usize>,
    ) -> PyResult<Self> {
        let delimiter = one_byte(delimiter)?;
        let options = joule_codec::CsvOptions {
            delimiter,
            columns: columns.unwrap_or_default(),
            float_format: decimals.map_or(FloatFormat::Shortest, FloatFormat::Fixed),
        };
        let inner =
            joule_codec::CsvFormatter::new(parse_layout(layout)?, options).map_err(value_error)?;
        Ok(CsvFormatter { inner })
    }

    /// The most bytes one line takes: `format_into` needs this much room a row.
    #[getter]
    fn line_room(&self) -> usize {
        self.inner.line_room()
    }

    /// Write the lines of packed little-endian rows (uint8) at the start of `out`, which
    /// holds `line_room` bytes a row; returns the number of bytes written.
    fn format_into<'py>(
        &self,
        py: Python<'py>,
        rows: PyReadonlyArray1<'py, u8>,
        mut out: PyReadwriteArray1<'py, u8>,
    ) -> PyResult<usize> {
        let (src, dst) = (rows.as_slice()?, out.as_slice_mut()?);
        let inner = &self.inner;
        maybe_detached(py, src.len(), || inner.format_into(src, dst)).map_err(value_error)
    }
}

#[pyclass(module = "joule_sync._codec")]
struct CsvParser {
    inner: joule_codec::CsvParser,
}

#[pymethods]
impl CsvParser {
    #[new]
    #[pyo3(signature = (layout, delimiter = ",", first_line = 1))]
    fn new(layout: &str, delimiter: &str, first_line: u64) -> PyResult<Self> {
        let (layout, delimiter) = (parse_layout(layout)?, one_byte(delimiter)?);
        let inner =
            joule_codec::CsvParser::new(layout, delimiter, first_line).map_err(value_error)?;
        Ok(CsvParser { inner })
    }

    /// Packed little-endian rows (uint8) of the lines `text` completes.
    fn feed<'py>(
        &mut self,
        py: Python<'py>,
        text: PyReadonlyArray1<'py, u8>,
    ) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let src = text.as_slice()?;
        let inner = &mut self.inner;
        let mut rows = Vec::new();
        maybe_detached(py, src.len(), || inner.feed(src, &mut rows)).map_err(value_error)?;
        Ok(PyArray1::from_vec(py, rows))
    }

    /// The row of a last line without a newline (none or one).
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<u8>>> {
        let mut rows = Vec::new();
        self.inner.finish(&mut rows).map_err(value_error)?;
        Ok(PyArray1::from_vec(py, rows))
    }
}

/// Decode a complete frame into a new array (in two threads when it is large); returns
/// (packed little-endian rows as uint8, interval ends).  A partial last row is a ValueError.
#[pyfunction]
#[pyo3(signature = (buffer, layout, byteorder = "little"))]
fn decode<'py>(
    py: Python<'py>,
    buffer: PyReadonlyArray1<'py, u8>,
    layout: &str,
    byteorder: &str,
) -> PyResult<(Bound<'py, PyArray1<u8>>, Vec<usize>)> {
    let (layout, order) = (parse_layout(layout)?, parse_byteorder(byteorder)?);
    let src = buffer.as_slice()?;
    let capacity = joule_codec::decode_capacity(src.len(), layout);
    // SAFETY: only the rows the decoder wrote are exposed: the array returned is cut to them.
    let out = unsafe { PyArray1::<u8>::new(py, [capacity], false) };
    let dst = unsafe { out.as_slice_mut()? };
    let placed = maybe_detached(py, src.len(), || {
        joule_codec::decode_into(src, layout, order, dst)
    })
    .map_err(value_error)?;
    let rs = layout.row_size();
    let (start, end) = (placed.first_row * rs, (placed.first_row + placed.rows) * rs);
    Ok((written_part(out, start, end)?, placed.interval_ends))
}

/// Rows of `layout` from a table of numbers (see `with_table`), as packed little-endian rows
/// (uint8): each value converted to the layout's type, refused if that would change it, and
/// float timestamps rounded to the nearest microsecond (half to even); timestamps are not
/// compared.
#[pyfunction]
fn table_rows<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyAny>,
    values: Option<&Bound<'py, PyAny>>,
    layout: &str,
) -> PyResult<Bound<'py, PyArray1<u8>>> {
    let layout = parse_layout(layout)?;
    with_table(table, values, TableRows { py, layout })
}

/// Size in bytes of one row of `layout` (raises ValueError for a bad layout).
#[pyfunction]
fn row_size(layout: &str) -> PyResult<usize> {
    Ok(parse_layout(layout)?.row_size())
}

#[pymodule]
fn _codec(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Decoder>()?;
    m.add_class::<Encoder>()?;
    m.add_class::<CsvFormatter>()?;
    m.add_class::<CsvParser>()?;
    m.add_function(wrap_pyfunction!(decode, m)?)?;
    m.add("PARALLEL_BYTES", joule_codec::PARALLEL_BYTES)?;
    m.add_function(wrap_pyfunction!(row_size, m)?)?;
    m.add_function(wrap_pyfunction!(table_rows, m)?)?;
    Ok(())
}
