//! The REST/JSON back end: builds the call from the URL, query and body templates, sends it
//! within the service's time budget (TT-5.3), and maps the JSON answer to response
//! elements. HTTP statuses become faults that say what happened, never where.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::{Answer, Caller, Entry};
use crate::AdapterError;
use crate::fields::Values;
use crate::mapping::{RestBackend, ServiceMapping, fill, placeholders};

/// Largest answer read from a back end.
const MAX_ANSWER: usize = 4 * 1024 * 1024;

/// Longest explanation taken from a back end's error answer.
const MAX_EXPLANATION: usize = 200;

/// Characters kept as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A pooled HTTP client for REST back ends.
#[derive(Debug)]
pub struct RestCaller {
    client: Option<reqwest::Client>,
}

impl Default for RestCaller {
    fn default() -> Self {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .pool_idle_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build();
        if let Err(e) = &client {
            tracing::error!(error = %e, "cannot build the HTTP client for REST back ends");
        }
        Self { client: client.ok() }
    }
}

impl RestCaller {
    /// Calls `rest` for `service` with checked `values`.
    pub async fn call(
        &self,
        service: &ServiceMapping,
        rest: &RestBackend,
        values: &Values,
        caller: &Caller,
    ) -> Result<Answer, AdapterError> {
        let client = self.client.as_ref().ok_or(AdapterError::Unavailable)?;
        let request = build(client, rest, values, caller)?;
        let exchange = async {
            let response = request.send().await.map_err(|e| sent_error(&e, rest.timeout))?;
            let status = response.status().as_u16();
            let body = read_limited(response).await?;
            Ok::<_, AdapterError>((status, body))
        };
        let (status, body) =
            tokio::time::timeout(rest.timeout, exchange).await.map_err(|_| AdapterError::Timeout(rest.timeout))??;
        match status {
            200..=299 => map_answer(service, rest, &body),
            404 => Err(AdapterError::NotFound(
                explanation(&body).unwrap_or_else(|| "the back end has no record for this request".into()),
            )),
            400..=499 => Err(AdapterError::Refused { status, message: explanation(&body) }),
            _ => Err(AdapterError::Failed(format!("it answered HTTP {status}"))),
        }
    }
}

/// The request: URL with encoded path values, query parameters whose fields were given,
/// the JSON body, and the caller's X-Road headers.
fn build(
    client: &reqwest::Client,
    rest: &RestBackend,
    values: &Values,
    caller: &Caller,
) -> Result<reqwest::RequestBuilder, AdapterError> {
    for name in placeholders(&rest.url).unwrap_or_default() {
        if !values.contains_key(name) {
            return Err(AdapterError::field(name, "is required"));
        }
    }
    let mut url = filled_url(&rest.url, values)?;
    {
        let mut pairs = url.query_pairs_mut();
        for (name, template) in &rest.query {
            if let Some(value) = fill(template, &|n| values.get(n).map(|v| v.text())) {
                pairs.append_pair(name, &value);
            }
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    let method = reqwest::Method::from_bytes(rest.method.as_bytes())
        .map_err(|_| AdapterError::Mapping(format!("method {} is not an HTTP method", rest.method)))?;
    let mut request = client.request(method, url).header(reqwest::header::ACCEPT, "application/json");
    for (header, value) in [
        (egov_xroad::rest::HEADER_CLIENT, &caller.client),
        (egov_xroad::rest::HEADER_ID, &caller.message_id),
        (egov_xroad::rest::HEADER_USER_ID, &caller.user_id),
    ] {
        if let Some(v) = value {
            request = request.header(header, v.as_str());
        }
    }
    if let Some(body) = &rest.body {
        let mut object = serde_json::Map::new();
        for (key, template) in body {
            let whole =
                template.strip_prefix('{').and_then(|t| t.strip_suffix('}')).filter(|n| values.contains_key(*n));
            let value = match whole {
                Some(name) => values.get(name).map(|v| v.json()),
                None => fill(template, &|n| values.get(n).map(|v| v.text())).map(Into::into),
            };
            if let Some(v) = value {
                object.insert(key.clone(), v);
            }
        }
        request = request.json(&object);
    }
    Ok(request)
}

/// The back end's URL: `template` with each value percent-encoded into the one path segment
/// its placeholder stands in (a `/` in a value is `%2F`, a `%` is `%25`).
///
/// A value that would make a whole segment `.` or `..` is refused: URL parsing resolves dot
/// segments (also written `%2E`), so `/insured/{fin}/pension-capital` with fin `..` would
/// call `/pension-capital`, a resource the mapping never exposes (issue 13 item 2, TT-4.1.4).
/// The parsed URL's path is then compared with the filled template, segment by segment, so
/// nothing a caller sends can move a value out of its segment.
pub(crate) fn filled_url(template: &str, values: &Values) -> Result<reqwest::Url, AdapterError> {
    let encoded = |n: &str| values.get(n).map(|v| utf8_percent_encode(&v.text(), SEGMENT).to_string());
    let unfillable = || AdapterError::Mapping("the URL template cannot be filled".into());
    // the path runs from the first '/' after "scheme://" to the query or fragment
    let authority = template.find("://").map_or(0, |i| i + 3);
    let path_start = template[authority..].find('/').map_or(template.len(), |i| authority + i);
    let path_end = template[path_start..].find(['?', '#']).map_or(template.len(), |i| path_start + i);
    let mut text = fill(&template[..path_start], &encoded).ok_or_else(unfillable)?;
    // (template segment, filled segment) for the segments a value goes into
    let mut checked: Vec<(usize, String)> = Vec::new();
    let path = &template[path_start..path_end];
    for (i, segment) in path.split('/').skip(1).enumerate() {
        let filled = fill(segment, &encoded).ok_or_else(unfillable)?;
        let fields = placeholders(segment).unwrap_or_default();
        if let Some(first) = fields.first() {
            if filled == "." || filled == ".." {
                return Err(AdapterError::field(
                    first,
                    format!("'{filled}' cannot be used: it would change the back end's path"),
                ));
            }
            checked.push((i, filled.clone()));
        }
        text.push('/');
        text.push_str(&filled);
    }
    text.push_str(&fill(&template[path_end..], &encoded).ok_or_else(unfillable)?);
    let url = reqwest::Url::parse(&text).map_err(|_| AdapterError::Mapping("the filled URL is not a URL".into()))?;
    let parsed: Vec<&str> = url.path_segments().map(Iterator::collect).unwrap_or_default();
    let expected = path.split('/').count().saturating_sub(1);
    let kept = (path.is_empty() || parsed.len() == expected)
        && checked.iter().all(|(i, filled)| parsed.get(*i) == Some(&filled.as_str()));
    if !kept {
        return Err(AdapterError::Mapping("a value changed the back end's path; it is not sent".into()));
    }
    Ok(url)
}

/// Why a call failed before an answer came: the cause, without the back end's address.
fn sent_error(e: &reqwest::Error, timeout: Duration) -> AdapterError {
    // the address goes to the adapter's own log only
    tracing::warn!(error = %e, "REST back end call failed");
    if e.is_timeout() { AdapterError::Timeout(timeout) } else { AdapterError::Unavailable }
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, AdapterError> {
    if response.content_length().is_some_and(|n| n > MAX_ANSWER as u64) {
        return Err(AdapterError::Garbage(format!("it is larger than {} MiB", MAX_ANSWER >> 20)));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| {
        tracing::warn!(error = %e, "REST back end answer cut off");
        AdapterError::Garbage("the answer was cut off".into())
    })? {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(AdapterError::Garbage(format!("it is larger than {} MiB", MAX_ANSWER >> 20)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A short, single-line explanation from a JSON error answer (`error` or `message`); other
/// answers (HTML error pages, stack traces) are not repeated to callers.
fn explanation(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = ["error", "message", "detail"].iter().find_map(|k| value.get(*k)?.as_str().map(str::to_owned))?;
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(match line.char_indices().nth(MAX_EXPLANATION) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    })
}

/// Maps a 2xx JSON answer to the response elements.
fn map_answer(service: &ServiceMapping, rest: &RestBackend, body: &[u8]) -> Result<Answer, AdapterError> {
    let document: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| AdapterError::Garbage(format!("it is not JSON ({e})")))?;
    let entry = |source: &serde_json::Value| -> Entry {
        service
            .response
            .iter()
            .map(|(element, pointer)| {
                let value = match source.pointer(pointer) {
                    None | Some(serde_json::Value::Null) => serde_json::Value::Null,
                    Some(
                        v @ (serde_json::Value::String(_) | serde_json::Value::Number(_) | serde_json::Value::Bool(_)),
                    ) => v.clone(),
                    Some(nested) => nested.to_string().into(),
                };
                (element.clone(), value)
            })
            .collect()
    };
    match &rest.items {
        Some(items) => {
            let array = document
                .pointer(items)
                .and_then(|v| v.as_array())
                .ok_or_else(|| AdapterError::Garbage(format!("it has no array at {items}")))?;
            Ok(Answer { entries: array.iter().map(entry).collect(), repeat: service.repeat.clone() })
        }
        None if !document.is_object() => Err(AdapterError::Garbage("it is not a JSON object".into())),
        None => Ok(Answer { entries: vec![entry(&document)], repeat: None }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explanations_are_short_single_lines_from_json_only() {
        assert_eq!(explanation(br#"{"error":"no such\n  person"}"#).as_deref(), Some("no such person"));
        assert_eq!(explanation(b"java.lang.NullPointerException\n\tat com.x.Y"), None);
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(500));
        assert!(explanation(long.as_bytes()).unwrap().chars().count() <= MAX_EXPLANATION + 1);
    }

    const TEMPLATE: &str = "http://127.0.0.1:9/insured/{fin}/pension-capital?x=1";

    fn one(value: &str) -> Values {
        Values::from_iter([("fin".to_owned(), crate::fields::Value::Text(value.to_owned()))])
    }

    fn decoded(segment: &str) -> String {
        percent_encoding::percent_decode_str(segment).decode_utf8().unwrap().into_owned()
    }

    #[test]
    fn dot_segments_from_values_are_refused_and_never_resolved() {
        for value in [".", ".."] {
            let e = filled_url(TEMPLATE, &one(value)).unwrap_err();
            assert!(matches!(&e, AdapterError::Field { field, .. } if field == "fin"), "{value}: {e:?}");
            assert!(e.to_string().contains("path"), "{e}");
        }
        // encoded forms and slashes stay inside their one segment
        for value in ["%2e%2e", "%2E.", "../x", "..%2F", "a/../../b", "...", "1.5"] {
            let url = filled_url(TEMPLATE, &one(value)).unwrap();
            let segments: Vec<&str> = url.path_segments().unwrap().collect();
            assert_eq!(segments.len(), 3, "{value}: {url}");
            assert_eq!((segments[0], segments[2]), ("insured", "pension-capital"), "{value}: {url}");
            assert_eq!(decoded(segments[1]), value);
        }
        // a dot next to other text in the same segment is an ordinary character
        let url = filled_url("http://h/files/{fin}.json", &one(".")).unwrap();
        assert_eq!(url.path(), "/files/..json");
    }

    proptest::proptest! {
        /// For any value, the path after templating is the template's segments with the
        /// value, percent-encoded, in its one segment (or the value is refused by name).
        #[test]
        fn a_value_stays_in_its_segment(value in proptest::prelude::any::<String>()) {
            match filled_url(TEMPLATE, &one(&value)) {
                Ok(url) => {
                    let segments: Vec<&str> = url.path_segments().unwrap().collect();
                    proptest::prop_assert_eq!(segments.len(), 3);
                    proptest::prop_assert_eq!(segments[0], "insured");
                    proptest::prop_assert_eq!(decoded(segments[1]), value.clone());
                    proptest::prop_assert_eq!(segments[2], "pension-capital");
                    proptest::prop_assert_eq!(url.query(), Some("x=1"));
                    proptest::prop_assert_eq!(url.host_str(), Some("127.0.0.1"));
                }
                Err(e) => {
                    proptest::prop_assert!(value == "." || value == "..", "{value:?} refused: {e}");
                }
            }
        }

        #[test]
        fn dot_like_values_stay_in_their_segment(value in "[.%2eE/]{0,6}") {
            if let Ok(url) = filled_url(TEMPLATE, &one(&value)) {
                let segments: Vec<&str> = url.path_segments().unwrap().collect();
                proptest::prop_assert_eq!(segments.len(), 3);
                proptest::prop_assert_eq!(decoded(segments[1]), value);
            } else {
                proptest::prop_assert!(value == "." || value == "..");
            }
        }
    }
}
