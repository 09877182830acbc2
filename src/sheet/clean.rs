//! Invisible and look-alike characters: what a clerk cannot see in a cell must not decide
//! what reaches PayPro.
//!
//! Rules:
//! - *Invisible* characters print as nothing: zero-width space, word joiner, byte-order
//!   mark, soft hyphen, direction marks and embeddings, invisible operators, Hangul
//!   fillers. Zero-width (non-)joiners are invisible too, except between two non-ASCII
//!   letters, where they shape Urdu, Persian and Indic words and are kept.
//! - Text fields (names, addresses, e-mails, mobiles) lose their invisible characters,
//!   with a warning naming the first one; a mandatory value that is only invisible
//!   characters is empty.
//! - Keys (order numbers, consumer ids) with an invisible character are refused: a key
//!   must be exactly what the clerk can read and retype.
//! - Keys are compared (for repeats) after Unicode NFKC, removal of invisible characters
//!   and case folding, so `K-1`, `K-1` + zero-width space and fullwidth `Ｋ-1` are one key.
//!   NFKC runs only on non-ASCII keys: ASCII is its own normal form.

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// True for a character that prints as nothing, whatever its neighbours.
fn always_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' // soft hyphen
            | '\u{034F}' // combining grapheme joiner
            | '\u{061C}' // Arabic letter mark
            | '\u{115F}'
            | '\u{1160}'
            | '\u{3164}'
            | '\u{FFA0}' // Hangul fillers
            | '\u{180E}' // Mongolian vowel separator
            | '\u{200B}' // zero-width space
            | '\u{200E}'
            | '\u{200F}' // direction marks
            | '\u{202A}'..='\u{202E}' // direction embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // direction isolates
            | '\u{FEFF}' // zero-width no-break space (byte-order mark)
    )
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// How a message names an invisible character.
pub fn describe(c: char) -> String {
    let name = match c {
        '\u{00AD}' => "soft hyphen",
        '\u{200B}' => "zero-width space",
        '\u{200C}' => "zero-width non-joiner",
        '\u{200D}' => "zero-width joiner",
        '\u{2060}' => "word joiner",
        '\u{FEFF}' => "zero-width no-break space",
        '\u{200E}' | '\u{200F}' | '\u{061C}' => "direction mark",
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "direction control",
        _ => "invisible character",
    };
    format!("{name} (U+{:04X})", u32::from(c))
}

/// `s` without its invisible characters, and the first one removed. Borrows when there is
/// nothing to remove (always for ASCII).
pub fn strip_invisible(s: &str) -> (Cow<'_, str>, Option<char>) {
    if s.is_ascii() {
        return (Cow::Borrowed(s), None);
    }
    let chars: Vec<char> = s.chars().collect();
    let invisible_at = |i: usize| {
        let c = chars[i];
        if always_invisible(c) {
            return true;
        }
        if !is_joiner(c) {
            return false;
        }
        let letter = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|ch| !ch.is_ascii() && ch.is_alphabetic())
        };
        !(letter(i.checked_sub(1)) && letter(Some(i + 1)))
    };
    let Some(first) = (0..chars.len()).find(|&i| invisible_at(i)) else {
        return (Cow::Borrowed(s), None);
    };
    let removed = chars[first];
    let kept: String = (0..chars.len())
        .filter(|&i| !invisible_at(i))
        .map(|i| chars[i])
        .collect();
    (Cow::Owned(kept), Some(removed))
}

/// The form in which keys are compared: NFKC, no invisible characters, lower case.
pub fn fold_key(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Cow::Owned(s.to_ascii_lowercase());
        }
        return Cow::Borrowed(s);
    }
    let (visible, _) = strip_invisible(s);
    let normal: String = visible.nfkc().collect();
    Cow::Owned(normal.chars().flat_map(char::to_lowercase).collect())
}

/// True when NFKC changes `s` (fullwidth letters, ligatures, superscripts...).
pub fn has_compatibility_forms(s: &str) -> bool {
    !s.is_ascii() && s.nfkc().ne(s.chars())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_found_and_removed() {
        assert_eq!(strip_invisible("K-1"), (Cow::Borrowed("K-1"), None));
        let (s, c) = strip_invisible("K-1\u{200B}");
        assert_eq!((s.as_ref(), c), ("K-1", Some('\u{200B}')));
        let (s, c) = strip_invisible("Ali\u{00AD}Khan");
        assert_eq!((s.as_ref(), c), ("AliKhan", Some('\u{00AD}')));
        let (s, _) = strip_invisible("\u{200B}\u{FEFF}");
        assert_eq!(s.as_ref(), "");
        // A joiner between two Urdu letters shapes the word and stays; next to ASCII it
        // is invisible noise.
        let urdu = "می\u{200C}خواهم";
        assert_eq!(strip_invisible(urdu), (Cow::Borrowed(urdu), None));
        let (s, c) = strip_invisible("Ali\u{200D} Khan");
        assert_eq!((s.as_ref(), c), ("Ali Khan", Some('\u{200D}')));
        assert_eq!(describe('\u{200B}'), "zero-width space (U+200B)");
    }

    #[test]
    fn keys_fold_to_one_form() {
        assert_eq!(fold_key("K-1"), "k-1");
        assert_eq!(fold_key("k-1"), "k-1");
        assert_eq!(fold_key("K-1\u{200B}"), "k-1");
        assert_eq!(fold_key("K\u{00AD}-1"), "k-1");
        assert_eq!(fold_key("Ｋ－１"), "k-1");
        assert!(has_compatibility_forms("Ｋ-1"));
        assert!(!has_compatibility_forms("K-1"));
        assert!(!has_compatibility_forms("علی"));
    }
}
