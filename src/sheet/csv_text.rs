//! CSV and text exports as Excel and people write them: UTF-8 with or without a BOM,
//! UTF-16 "Unicode Text" (tab-separated), a `sep=;` first line, comma, semicolon or tab
//! separators, CRLF, LF or CR-only line ends. Rows are numbered by physical line, so a
//! row number is the line a text editor shows (quoted line breaks count). A file in
//! another encoding is refused with its likely name, never guessed.

use super::cell::CellValue;
use super::{ImportOptions, Imported, Importer, SheetError};
use crate::domain::Kind;
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

/// Excel's last column (XFD); fields past it are not read.
const MAX_FIELDS: usize = 16_384;

pub fn read_csv(
    file: &Path,
    kind: Option<Kind>,
    wanted: Option<&str>,
    options: ImportOptions,
    rows_read: Option<Arc<AtomicU32>>,
) -> Result<Imported, SheetError> {
    let bytes = std::fs::read(file).map_err(|e| SheetError::Open {
        file: file.to_path_buf(),
        reason: e.to_string(),
    })?;
    let text = decode(file, &bytes)?;
    let sheet = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(w) = wanted
        && !w.eq_ignore_ascii_case(&sheet)
    {
        return Err(SheetError::SheetNotFound {
            file: file.to_path_buf(),
            name: w.to_string(),
            available: format!("\"{sheet}\" (a CSV file has one sheet)"),
        });
    }
    let (body, first_line, delimiter) = match sep_line(&text) {
        Some((delimiter, rest)) => (rest, 2, delimiter),
        None => (text.as_ref(), 1, detect_delimiter(text.as_bytes())),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body.as_bytes());
    let mut importer = Importer::new(file, &sheet, kind)
        .with_options(ImportOptions {
            csv_delimiter: Some(delimiter),
            ..options
        })
        .with_rows_read(rows_read);
    let mut lines = LineCounter::new(body.as_bytes(), first_line);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                return Err(SheetError::Read {
                    file: file.to_path_buf(),
                    reason: format!("line {line}: {e}"),
                });
            }
        }
        let row = record
            .position()
            .map_or(first_line, |p| lines.line_at(p.byte()));
        let cells: Vec<CellValue<'_>> = record
            .iter()
            .take(MAX_FIELDS)
            .map(CellValue::text)
            .collect();
        importer.push_row(u32::try_from(row).unwrap_or(u32::MAX), &cells)?;
    }
    importer.finish()?.ok_or_else(|| SheetError::Empty {
        file: file.to_path_buf(),
        sheet: Some(sheet),
    })
}

/// The file as text: UTF-8 (BOM or not) or UTF-16 with its BOM. Anything else is refused
/// with the line of the first byte that is not UTF-8 and what it probably is.
fn decode<'b>(file: &Path, bytes: &'b [u8]) -> Result<Cow<'b, str>, SheetError> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(file, rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(file, rest, u16::from_be_bytes);
    }
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if body.contains(&0) {
        let odd_zeros = body.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let reason = if odd_zeros * 3 > body.len() / 2 {
            "it looks like UTF-16 text without its byte-order mark; save it as \"CSV UTF-8\""
                .to_string()
        } else {
            "it holds binary data".to_string()
        };
        return Err(SheetError::NotASpreadsheet {
            file: file.to_path_buf(),
            format: "CSV",
            reason,
        });
    }
    match std::str::from_utf8(body) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + LineCounter::new(body, 0).line_at(at as u64);
            let byte = body.get(at).copied().unwrap_or(0);
            // Bytes Windows-1252 leaves undefined; any other high byte is a letter there.
            let undefined = [0x81u8, 0x8D, 0x8F, 0x90, 0x9D];
            let detail = if body.iter().any(|b| undefined.contains(b)) {
                format!(" (byte 0x{byte:02X}; the file is in an unknown 8-bit encoding)")
            } else {
                let shown = cp1252(byte)
                    .map(|c| format!(", \"{c}\" in Windows-1252"))
                    .unwrap_or_default();
                format!(
                    " (byte 0x{byte:02X}{shown}: the file looks like Windows-1252, what Excel's \"CSV (Comma delimited)\" writes on Windows)"
                )
            };
            Err(SheetError::NotUtf8 {
                file: file.to_path_buf(),
                line,
                detail,
            })
        }
    }
}

fn utf16<'b>(
    file: &Path,
    body: &[u8],
    unit: fn([u8; 2]) -> u16,
) -> Result<Cow<'b, str>, SheetError> {
    let units = body.chunks(2).map(|c| match c {
        [a, b] => unit([*a, *b]),
        _ => 0xFFFF,
    });
    let mut out = String::with_capacity(body.len() / 2);
    for (i, c) in char::decode_utf16(units).enumerate() {
        match c {
            Ok(c) if c != '\u{FFFF}' => out.push(c),
            _ => {
                let line = 1 + LineCounter::new(out.as_bytes(), 0).line_at(out.len() as u64);
                return Err(SheetError::NotASpreadsheet {
                    file: file.to_path_buf(),
                    format: "UTF-16 text",
                    reason: format!("unit {} on line {line} is not valid UTF-16", i + 1),
                });
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// The character of a Windows-1252 byte, for messages.
fn cp1252(b: u8) -> Option<char> {
    const HIGH: [char; 32] = [
        '€', '\0', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\0', 'Ž', '\0', '\0',
        '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\0', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => Some(HIGH[usize::from(b - 0x80)]).filter(|c| *c != '\0'),
        0xA0..=0xFF => char::from_u32(u32::from(b)),
        _ => None,
    }
}

/// Excel's `sep=;` first line: the separator and the text after that line.
fn sep_line(text: &str) -> Option<(u8, &str)> {
    let end = text.find(['\r', '\n']).unwrap_or(text.len());
    let first = &text[..end];
    let sep = first.get(..4).filter(|h| h.eq_ignore_ascii_case("sep="))?;
    let rest = &first[sep.len()..];
    let mut chars = rest.chars();
    let c = chars.next()?;
    if chars.next().is_some() || !c.is_ascii() {
        return None;
    }
    let after = &text[end..];
    let after = after
        .strip_prefix("\r\n")
        .or_else(|| after.strip_prefix('\r'))
        .or_else(|| after.strip_prefix('\n'))
        .unwrap_or(after);
    Some((c as u8, after))
}

/// Whichever of `;`, `,` and tab occurs most outside quotes on the first ten non-empty
/// lines (Excel writes `;` where the decimal separator is a comma, tab in "Unicode Text").
fn detect_delimiter(body: &[u8]) -> u8 {
    let mut counts = [0usize; 3];
    let lines = body
        .split(|&b| b == b'\n' || b == b'\r')
        .filter(|l| l.iter().any(|b| !b.is_ascii_whitespace()))
        .take(10);
    for line in lines {
        let mut quoted = false;
        for &b in line {
            match b {
                b'"' => quoted = !quoted,
                b',' if !quoted => counts[0] += 1,
                b';' if !quoted => counts[1] += 1,
                b'\t' if !quoted => counts[2] += 1,
                _ => {}
            }
        }
    }
    let delimiters = [b',', b';', b'\t'];
    let mut best = 0;
    for i in 1..3 {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    delimiters[best]
}

/// Physical line numbers of byte offsets, counted forward: `\r\n`, `\r` and `\n` each end
/// one line.
struct LineCounter<'a> {
    text: &'a [u8],
    counted_to: usize,
    line: u64,
    prev_cr: bool,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a [u8], first_line: u64) -> LineCounter<'a> {
        LineCounter {
            text,
            counted_to: 0,
            line: first_line,
            prev_cr: false,
        }
    }

    /// The line of the first character at or after `pos` that is not a line break (a
    /// record's position can be that of the break before it).
    fn line_at(&mut self, pos: u64) -> u64 {
        let mut pos = usize::try_from(pos)
            .unwrap_or(usize::MAX)
            .min(self.text.len());
        while pos < self.text.len() && matches!(self.text[pos], b'\r' | b'\n') {
            pos += 1;
        }
        if pos > self.counted_to {
            for &b in &self.text[self.counted_to..pos] {
                match b {
                    b'\r' => {
                        self.line += 1;
                        self.prev_cr = true;
                    }
                    b'\n' => {
                        if !self.prev_cr {
                            self.line += 1;
                        }
                        self.prev_cr = false;
                    }
                    _ => self.prev_cr = false,
                }
            }
            self.counted_to = pos;
        }
        self.line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter(b"a,b,c\n1;2"), b',');
        assert_eq!(detect_delimiter(b"\n\na;b;c\n"), b';');
        assert_eq!(detect_delimiter(b"\"a;b\",c\n"), b',');
        assert_eq!(detect_delimiter(b"a\tb\n"), b'\t');
        assert_eq!(detect_delimiter(b""), b',');
        // A title line without separators does not decide.
        assert_eq!(detect_delimiter(b"Invoices\r\na;b;c\r\n1;2;3"), b';');
    }

    #[test]
    fn sep_lines() {
        assert_eq!(sep_line("sep=;\r\na;b"), Some((b';', "a;b")));
        assert_eq!(sep_line("SEP=\t\na\tb"), Some((b'\t', "a\tb")));
        assert_eq!(sep_line("separator;a"), None);
    }

    #[test]
    fn lines_count_every_kind_of_line_end() {
        let text = b"a\r\nb\rc\nd\r\n\r\ne";
        let mut l = LineCounter::new(text, 1);
        assert_eq!(l.line_at(0), 1);
        assert_eq!(l.line_at(3), 2);
        assert_eq!(l.line_at(5), 3);
        assert_eq!(l.line_at(7), 4);
        assert_eq!(l.line_at(12), 6);
    }

    #[test]
    fn windows_1252_is_named() {
        let e = decode(Path::new("x.csv"), b"Name\nJos\xE9\n").err();
        let msg = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("\"é\" in Windows-1252"), "{msg}");
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("a\tb\r\n".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(
            decode(Path::new("x.txt"), &utf16).ok().as_deref(),
            Some("a\tb\r\n")
        );
    }
}
