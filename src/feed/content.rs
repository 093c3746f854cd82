//! An entry's content, by far the biggest text of a feed, escaped by
//! herald into the document a feed crate wrote around a marker: the crates
//! escape a string into a buffer of their own, then copy it, and their
//! byte loops were most of the time spent on entries.

/// Stands in for an entry's content while a crate writes the entry: no
/// text holds U+FFFF in an Atom or RSS feed (`xml_safe` removes it), and
/// [`splice`] looks for exactly one.
pub const MARKER: &str = "\u{ffff}herald content\u{ffff}";

/// How each byte is written: its bytes, up to 8 (the first in the low
/// byte), and how many there are.
pub type Table = [(u64, usize); 256];

/// quick-xml's escaping of a text node (`BytesText::new`).
pub const XML_TEXT: Table = {
    let mut table = unchanged();
    table[b'<' as usize] = (u64::from_le_bytes(*b"&lt;\0\0\0\0"), 4);
    table[b'>' as usize] = (u64::from_le_bytes(*b"&gt;\0\0\0\0"), 4);
    table[b'&' as usize] = (u64::from_le_bytes(*b"&amp;\0\0\0"), 5);
    table[b'\'' as usize] = (u64::from_le_bytes(*b"&apos;\0\0"), 6);
    table[b'"' as usize] = (u64::from_le_bytes(*b"&quot;\0\0"), 6);
    table
};

/// serde_json's escaping of a string's characters.
pub const JSON_STRING: Table = {
    let mut table = unchanged();
    let hex = b"0123456789abcdef";
    let mut byte = 0;
    while byte < 0x20 {
        let escaped = [
            b'\\',
            b'u',
            b'0',
            b'0',
            hex[byte >> 4],
            hex[byte & 0xf],
            0,
            0,
        ];
        table[byte] = (u64::from_le_bytes(escaped), 6);
        byte += 1;
    }
    table[0x08] = (u64::from_le_bytes(*b"\\b\0\0\0\0\0\0"), 2);
    table[b'\t' as usize] = (u64::from_le_bytes(*b"\\t\0\0\0\0\0\0"), 2);
    table[b'\n' as usize] = (u64::from_le_bytes(*b"\\n\0\0\0\0\0\0"), 2);
    table[0x0c] = (u64::from_le_bytes(*b"\\f\0\0\0\0\0\0"), 2);
    table[b'\r' as usize] = (u64::from_le_bytes(*b"\\r\0\0\0\0\0\0"), 2);
    table[b'"' as usize] = (u64::from_le_bytes(*b"\\\"\0\0\0\0\0\0"), 2);
    table[b'\\' as usize] = (u64::from_le_bytes(*b"\\\\\0\0\0\0\0\0"), 2);
    table
};

const fn unchanged() -> Table {
    let mut table = [(0, 1); 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = (byte as u64, 1);
        byte += 1;
    }
    table
}

/// `document` with its one [`MARKER`] replaced by `text` escaped through
/// `table`; `None` unless the marker is there exactly once.
pub fn splice(document: &[u8], text: &str, table: &Table) -> Option<Vec<u8>> {
    let mut found = memchr::memmem::find_iter(document, MARKER.as_bytes());
    let (Some(at), None) = (found.next(), found.next()) else {
        return None;
    };
    let mut bytes = Vec::with_capacity(document.len() + text.len() + text.len() / 4);
    bytes.extend_from_slice(&document[..at]);
    escape(&mut bytes, text, table);
    bytes.extend_from_slice(&document[at + MARKER.len()..]);
    Some(bytes)
}

/// Bytes of text escaped into the stack buffer at a time.
const CHUNK: usize = 1024;

/// Appends `text` escaped through `table`. Post HTML has a character to
/// escape in about every eleventh byte, so a branch per byte mispredicts
/// and a copy per run is mostly call overhead: each byte is looked up and
/// its bytes stored eight at a time into a buffer on the stack.
pub fn escape(out: &mut Vec<u8>, text: &str, table: &Table) {
    let mut buffer = [0u8; CHUNK * 6 + 8];
    for chunk in text.as_bytes().chunks(CHUNK) {
        let mut len = 0;
        for &byte in chunk {
            let (bytes, n) = table[usize::from(byte)];
            buffer[len..len + 8].copy_from_slice(&bytes.to_le_bytes());
            len += n;
        }
        out.extend_from_slice(&buffer[..len]);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            prop::sample::select(vec![
                "<", ">", "&", "'", "\"", "\\", "/", "é\u{a0}", "\u{7f}"
            ])
            .prop_map(str::to_string),
            (0u8..0x20).prop_map(|b| char::from(b).to_string()),
            "[a-z ]{0,40}",
        ];
        // Long enough to cross the stack buffer's chunks.
        (prop::collection::vec(piece, 0..400), 1usize..8)
            .prop_map(|(pieces, repeat)| pieces.concat().repeat(repeat))
    }

    fn escaped(text: &str, table: &Table) -> String {
        let mut out = Vec::new();
        escape(&mut out, text, table);
        String::from_utf8(out).unwrap()
    }

    proptest! {
        #[test]
        fn xml_text_is_escaped_as_quick_xml_escapes_it(text in text()) {
            // The tests' quick-xml (0.42) also escapes a carriage return;
            // the feed crates' (0.41) does not, and portable HTML has none.
            let text = text.replace('\r', "");
            prop_assert_eq!(escaped(&text, &XML_TEXT), quick_xml::escape::escape(text.as_str()));
        }

        #[test]
        fn a_json_string_is_escaped_as_serde_json_escapes_it(text in text()) {
            let quoted = serde_json::to_string(&text).unwrap();
            prop_assert_eq!(escaped(&text, &JSON_STRING), &quoted[1..quoted.len() - 1]);
        }
    }

    #[test]
    fn only_one_marker_is_replaced() {
        let one = format!("<a>{MARKER}</a>");
        assert_eq!(
            splice(one.as_bytes(), "<&>", &XML_TEXT).unwrap(),
            b"<a>&lt;&amp;&gt;</a>"
        );
        let two = format!("{MARKER}{MARKER}");
        assert_eq!(splice(two.as_bytes(), "x", &XML_TEXT), None);
        assert_eq!(splice(b"none", "x", &XML_TEXT), None);
    }
}
