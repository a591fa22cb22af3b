//! Just enough MIME multipart to handle SOAP with attachments (SwA): split a
//! `multipart/related` body into parts, and build one.

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    /// Part headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Part content.
    pub body: &'a [u8],
}

impl Part<'_> {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The `boundary` parameter of a multipart content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().to_ascii_lowercase().starts_with("multipart/") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Splits a multipart body into its parts.
pub fn split<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, String> {
    let boundary = boundary(content_type).ok_or("multipart content type without boundary")?;
    if boundary.is_empty() || boundary.len() > 70 {
        return Err("invalid multipart boundary".into());
    }
    let delimiter = format!("--{boundary}");
    let d = delimiter.as_bytes();
    let positions: Vec<usize> = body.windows(d.len()).enumerate().filter(|(_, w)| *w == d).map(|(i, _)| i).collect();
    if positions.len() < 2 {
        return Err("multipart body has no complete part".into());
    }
    let mut parts = Vec::new();
    for pair in positions.windows(2) {
        let mut start = pair[0] + d.len();
        if body[start..].starts_with(b"--") {
            break;
        }
        start += body[start..].iter().position(|b| *b == b'\n').map(|p| p + 1).ok_or("malformed part delimiter")?;
        let mut end = pair[1];
        if body[..end].ends_with(b"\r\n") {
            end -= 2;
        } else if body[..end].ends_with(b"\n") {
            end -= 1;
        }
        let raw = &body[start..end.max(start)];
        let (head, content) = match find(raw, b"\r\n\r\n") {
            Some(p) => (&raw[..p], &raw[p + 4..]),
            None => match find(raw, b"\n\n") {
                Some(p) => (&raw[..p], &raw[p + 2..]),
                None => return Err("multipart part without header separator".into()),
            },
        };
        let head = std::str::from_utf8(head).map_err(|_| "part headers are not UTF-8")?;
        let headers = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        parts.push(Part { headers, body: content });
    }
    if parts.is_empty() {
        return Err("multipart body has no part".into());
    }
    Ok(parts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Builds a `multipart/related` body from (content type, content) parts; returns the
/// message content type and the body.
pub fn build_related(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("egov-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::new();
    for (i, (ct, content)) in parts.iter().enumerate() {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: {ct}\r\nContent-Transfer-Encoding: 8bit\r\nContent-ID: <part{i}>\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/related; type=\"text/xml\"; charset=UTF-8; boundary=\"{boundary}\""), body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips() {
        let (ct, body) = build_related(&[("text/xml", b"<a/>"), ("text/xml", b"<wsdl/>")]);
        let parts = split(&ct, &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].body, b"<a/>");
        assert_eq!(parts[1].body, b"<wsdl/>");
        assert_eq!(parts[1].header("content-type"), Some("text/xml"));
    }

    #[test]
    fn refuses_garbage() {
        assert!(split("text/xml", b"x").is_err());
        assert!(split("multipart/related; boundary=b", b"no parts").is_err());
    }

    proptest! {
        #[test]
        fn never_panics(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = split("multipart/related; boundary=zz", &body);
        }
    }
}
