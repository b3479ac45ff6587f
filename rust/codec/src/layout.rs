use std::fmt;
use std::str::FromStr;

/// The numeric type of a stream's elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
    Float32,
    Float64,
}

impl ElementType {
    pub const ALL: [ElementType; 10] = [
        ElementType::Int8,
        ElementType::Int16,
        ElementType::Int32,
        ElementType::Int64,
        ElementType::Uint8,
        ElementType::Uint16,
        ElementType::Uint32,
        ElementType::Uint64,
        ElementType::Float32,
        ElementType::Float64,
    ];

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            ElementType::Int8 | ElementType::Uint8 => 1,
            ElementType::Int16 | ElementType::Uint16 => 2,
            ElementType::Int32 | ElementType::Uint32 | ElementType::Float32 => 4,
            ElementType::Int64 | ElementType::Uint64 | ElementType::Float64 => 8,
        }
    }

    /// The name used in layout strings (`float32` in `float32_3`).
    pub fn name(self) -> &'static str {
        match self {
            ElementType::Int8 => "int8",
            ElementType::Int16 => "int16",
            ElementType::Int32 => "int32",
            ElementType::Int64 => "int64",
            ElementType::Uint8 => "uint8",
            ElementType::Uint16 => "uint16",
            ElementType::Uint32 => "uint32",
            ElementType::Uint64 => "uint64",
            ElementType::Float32 => "float32",
            ElementType::Float64 => "float64",
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, ElementType::Float32 | ElementType::Float64)
    }
}

/// `$body` with `$t` the Rust type of `$element_type`'s values: the one place each element
/// type meets its Rust type, for code generic over them.
macro_rules! with_element_type {
    ($element_type:expr, $t:ident => $body:expr) => {
        match $element_type {
            $crate::layout::ElementType::Int8 => {
                type $t = i8;
                $body
            }
            $crate::layout::ElementType::Int16 => {
                type $t = i16;
                $body
            }
            $crate::layout::ElementType::Int32 => {
                type $t = i32;
                $body
            }
            $crate::layout::ElementType::Int64 => {
                type $t = i64;
                $body
            }
            $crate::layout::ElementType::Uint8 => {
                type $t = u8;
                $body
            }
            $crate::layout::ElementType::Uint16 => {
                type $t = u16;
                $body
            }
            $crate::layout::ElementType::Uint32 => {
                type $t = u32;
                $body
            }
            $crate::layout::ElementType::Uint64 => {
                type $t = u64;
                $body
            }
            $crate::layout::ElementType::Float32 => {
                type $t = f32;
                $body
            }
            $crate::layout::ElementType::Float64 => {
                type $t = f64;
                $body
            }
        }
    };
}
pub(crate) use with_element_type;

/// Wire byte order of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ByteOrder {
    #[default]
    Little,
    Big,
}

impl FromStr for ByteOrder {
    type Err = LayoutError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "little" | "<" => Ok(ByteOrder::Little),
            "big" | ">" => Ok(ByteOrder::Big),
            _ => Err(LayoutError(format!(
                "unknown byte order {s:?}: expected \"little\" or \"big\""
            ))),
        }
    }
}

/// A stream layout such as `float32_3`: the element type and the number of elements per row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    pub element_type: ElementType,
    pub width: usize,
}

/// A layout or byte-order string that does not parse; the message says why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayoutError(pub String);

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LayoutError {}

impl Layout {
    pub fn new(element_type: ElementType, width: usize) -> Self {
        Layout {
            element_type,
            width,
        }
    }

    /// Bytes in one row: the 8-byte timestamp plus the elements.
    pub fn row_size(&self) -> usize {
        8 + self.width * self.element_type.size()
    }
}

impl FromStr for Layout {
    type Err = LayoutError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            LayoutError(format!(
                "invalid layout {s:?}: {why} (expected <type>_<N> such as float32_3, with type one of \
                 int8 int16 int32 int64 uint8 uint16 uint32 uint64 float32 float64 and N >= 1)"
            ))
        };
        let (type_name, width) = s.rsplit_once('_').ok_or_else(|| bad("no '_'"))?;
        let element_type = ElementType::ALL
            .into_iter()
            .find(|t| t.name() == type_name)
            .ok_or_else(|| bad(&format!("unknown element type {type_name:?}")))?;
        let width: usize = width
            .parse()
            .map_err(|_| bad(&format!("element count {width:?} is not a number")))?;
        if width == 0 {
            return Err(bad("element count must be at least 1"));
        }
        Ok(Layout::new(element_type, width))
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.element_type.name(), self.width)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_type_and_round_trips() {
        for t in ElementType::ALL {
            let text = format!("{}_7", t.name());
            let layout: Layout = text.parse().unwrap();
            assert_eq!(layout.element_type, t);
            assert_eq!(layout.width, 7);
            assert_eq!(layout.row_size(), 8 + 7 * t.size());
            assert_eq!(layout.to_string(), text);
        }
    }

    #[test]
    fn rejects_bad_layouts_with_reason() {
        for (text, why) in [
            ("float32", "no '_'"),
            ("float16_3", "unknown element type \"float16\""),
            ("float32_x", "element count \"x\" is not a number"),
            ("float32_0", "at least 1"),
            ("float32_-1", "not a number"),
        ] {
            let err = text.parse::<Layout>().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
            assert!(err.contains(text), "{text}: {err}");
        }
    }

    #[test]
    fn byte_order_names() {
        assert_eq!("little".parse::<ByteOrder>().unwrap(), ByteOrder::Little);
        assert_eq!("big".parse::<ByteOrder>().unwrap(), ByteOrder::Big);
        assert!("middle"
            .parse::<ByteOrder>()
            .unwrap_err()
            .to_string()
            .contains("middle"));
    }
}
