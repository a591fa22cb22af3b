//! Minimal JSON string writer for the hot fault path (no serde round trip needed).

/// Appends `s` as a JSON string literal (with quotes) to `out`.
pub fn push_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_control_characters() {
        let mut out = String::new();
        super::push_string("a\"b\\c\n\u{1}", &mut out);
        assert_eq!(out, r#""a\"b\\c\n\u0001""#);
    }
}
