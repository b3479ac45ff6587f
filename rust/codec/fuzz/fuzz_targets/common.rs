//! Turning the fuzzer's bytes into codec arguments.

use joule_codec::{ByteOrder, ElementType, Layout};

/// A layout (any type, 1 to 16 elements) and byte order from the first two bytes of the
/// input, and the rest of it.
pub fn layout_and_rest(data: &[u8]) -> Option<(Layout, ByteOrder, &[u8])> {
    let (&kind, rest) = data.split_first()?;
    let (&width, rest) = rest.split_first()?;
    let element_type = ElementType::ALL[usize::from(kind & 0x0f) % ElementType::ALL.len()];
    let order = if kind & 0x80 == 0 {
        ByteOrder::Little
    } else {
        ByteOrder::Big
    };
    Some((
        Layout::new(element_type, usize::from(width % 16) + 1),
        order,
        rest,
    ))
}
