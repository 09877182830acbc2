//! The `Secret` type for credentials, and redaction of secrets out of text (URLs,
//! error messages, response bodies) before that text is logged, stored or shown.

use std::fmt;

/// A credential. Its `Debug` and `Display` print `***`; the only way to the value is
/// [`Secret::expose`], which the API layer calls at the moment a request is built.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The real value. Call only where it must go on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Replaces every occurrence of this secret in `text` with `***`: the plain value,
    /// its percent-encoded forms (query strings) and its JSON-escaped form (bodies).
    pub fn redact(&self, text: &str) -> String {
        redact_all(text, std::slice::from_ref(self))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

/// The spellings under which a secret can appear in text we produce or receive.
fn spellings(secret: &str) -> Vec<String> {
    let trimmed = secret.trim();
    let mut out = Vec::new();
    for s in [secret, trimmed] {
        if s.is_empty() {
            continue;
        }
        out.push(s.to_string());
        // application/x-www-form-urlencoded (space as '+') and RFC 3986 (space as %20).
        let form: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
        out.push(form.clone());
        out.push(form.replace('+', "%20"));
        // JSON string escaping (quotes, backslashes, '/' escaped as the API does).
        if let Ok(json) = serde_json::to_string(s) {
            let inner = json.trim_matches('"').to_string();
            out.push(inner.replace('/', "\\/"));
            out.push(inner);
        }
    }
    // Longest first, so a longer spelling is never left half-replaced by a shorter one.
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// Redacts every secret in `secrets` out of `text`.
pub fn redact_all(text: &str, secrets: &[Secret]) -> String {
    Redactor::new(secrets).redact(text)
}

/// The spellings of some secrets worked out once, for code that redacts many texts
/// with the same secrets (the journal redacts every text of every answer it stores).
/// Redacts exactly as [`redact_all`].
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first within each secret, in the order the secrets were given; with
    /// whether the spelling is percent-encoded with hex digits that may come in lower
    /// case.
    spellings: Vec<(String, bool)>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redactor({} spellings)", self.spellings.len())
    }
}

impl Redactor {
    pub fn new(secrets: &[Secret]) -> Redactor {
        Redactor {
            spellings: secrets
                .iter()
                .flat_map(|s| spellings(&s.0))
                .map(|s| {
                    let any_case = s.contains('%') && s.to_ascii_lowercase() != s;
                    (s, any_case)
                })
                .collect(),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (spelling, any_case) in &self.spellings {
            if out.contains(spelling.as_str()) {
                out = out.replace(spelling.as_str(), "***");
            }
            // Percent-encoding may use lower-case hex digits.
            if *any_case {
                out = replace_case_insensitive(&out, spelling);
            }
        }
        out
    }
}

fn replace_case_insensitive(text: &str, needle: &str) -> String {
    let hay = text.to_ascii_lowercase();
    let pat = needle.to_ascii_lowercase();
    if pat.is_empty() || !hay.contains(&pat) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (start, _) in hay.match_indices(&pat) {
        if start < last {
            continue;
        }
        out.push_str(&text[last..start]);
        out.push_str("***");
        last = start + pat.len();
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "***");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{:?}", Some(s.clone())), "Some(***)");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn redacts_plain_url_encoded_and_json_forms() {
        let s = Secret::new("p@ss w/rd&1");
        let url = format!(
            "http://h/cpay/gos?password={}&x=1",
            url::form_urlencoded::byte_serialize(b"p@ss w/rd&1").collect::<String>()
        );
        assert!(!s.redact(&url).contains("p%40ss"), "{}", s.redact(&url));
        assert_eq!(s.redact("pw is p@ss w/rd&1."), "pw is ***.");
        assert_eq!(
            s.redact(r#"{"Password":"p@ss w\/rd&1"}"#),
            r#"{"Password":"***"}"#
        );
        assert_eq!(s.redact("x=p%40ss%20w%2frd%261"), "x=***");
    }

    #[test]
    fn a_redactor_redacts_as_redact_all() {
        let secrets = [Secret::new("p@ss w/rd&1"), Secret::new("other")];
        let r = Redactor::new(&secrets);
        for text in [
            "pw is p@ss w/rd&1 and other.",
            "x=p%40ss%20w%2frd%261&y=P%40SS",
            r#"{"Password":"p@ss w\/rd&1"}"#,
            "nothing here",
        ] {
            assert_eq!(r.redact(text), redact_all(text, &secrets), "{text}");
        }
        assert_eq!(r.redact("other p@ss w/rd&1"), "*** ***");
        assert_eq!(Redactor::default().redact("abc"), "abc");
    }

    #[test]
    fn empty_secret_redacts_nothing() {
        assert_eq!(Secret::new("").redact("abc"), "abc");
    }
}
