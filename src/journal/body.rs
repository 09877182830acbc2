//! Response bodies as the journal stores them (`batches.response_body`): a short body
//! as text, a long one compressed (zlib) as a blob.
//!
//! Why: the answer to a request of 50 orders is ~20 KB of JSON, five overflow pages of
//! the request's row, and those pages were a third of everything a run wrote to the
//! WAL (measured: 5 of 15 pages per request). Compressed it is ~1/10 of that and the
//! journal's commits shrink with it. Short bodies (error pages, single answers) stay
//! text, readable in the file as they arrived. Journals written before keep their text
//! bodies; both forms are read.
//!
//! The zlib format carries a checksum: a damaged blob is reported, never shown as an
//! answer it was not.

use flate2::{Compress, Compression, FlushCompress, Status};
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use std::cell::RefCell;
use std::io::Read;

/// Bodies shorter than this are stored as text.
const COMPRESS_FROM: usize = 2048;

/// Most bytes a stored blob may inflate to: the journal caps bodies at
/// [`super::MAX_BODY_BYTES`] (plus its note of the cut) before storing them, so a blob
/// that inflates further is not one the journal wrote.
const MAX_INFLATED: u64 = 2 * super::MAX_BODY_BYTES as u64;

/// A body ready to be written: text, or its compressed form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoredBody {
    Text(String),
    Deflated(Vec<u8>),
}

impl StoredBody {
    /// The form to store `body` in (already redacted and capped).
    pub(crate) fn of(body: String) -> StoredBody {
        if body.len() < COMPRESS_FROM {
            return StoredBody::Text(body);
        }
        match deflate(body.as_bytes()) {
            Some(packed) => StoredBody::Deflated(packed),
            None => StoredBody::Text(body),
        }
    }
}

thread_local! {
    /// One compressor per thread, reset between bodies: setting one up costs as much
    /// as compressing a 20 KB body (measured: zlib-rs allocates its tables).
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::fast(), true));
}

/// zlib at its fastest level: the writer thread pays for it on every answer, and the
/// level hardly changes the size of this JSON. `None` when the result would not be
/// smaller than `bytes` (the body is then stored as text).
fn deflate(bytes: &[u8]) -> Option<Vec<u8>> {
    COMPRESSOR.with(|cell| {
        let mut compress = cell.borrow_mut();
        compress.reset();
        let mut out = Vec::with_capacity(bytes.len());
        let status = compress
            .compress_vec(bytes, &mut out, FlushCompress::Finish)
            .ok()?;
        let whole = status == Status::StreamEnd
            && u64::try_from(bytes.len()).ok() == Some(compress.total_in());
        (whole && out.len() < bytes.len()).then_some(out)
    })
}

impl ToSql for StoredBody {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            StoredBody::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            StoredBody::Deflated(packed) => ToSqlOutput::Borrowed(ValueRef::Blob(packed)),
        })
    }
}

/// A body read back, whichever form it was stored in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadBody(pub Option<String>);

impl FromSql for ReadBody {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Null => Ok(ReadBody(None)),
            ValueRef::Text(_) => String::column_result(value).map(|s| ReadBody(Some(s))),
            ValueRef::Blob(packed) => inflate(packed).map(|s| ReadBody(Some(s))),
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

fn inflate(packed: &[u8]) -> FromSqlResult<String> {
    let mut out = String::new();
    flate2::read::ZlibDecoder::new(packed)
        .take(MAX_INFLATED + 1)
        .read_to_string(&mut out)
        .map_err(|e| damaged(format!("it does not inflate to text ({e})")))?;
    if out.len() as u64 > MAX_INFLATED {
        return Err(damaged(format!(
            "it inflates to more than the {MAX_INFLATED} bytes the journal ever stores"
        )));
    }
    Ok(out)
}

fn damaged(why: String) -> FromSqlError {
    FromSqlError::Other(format!("a stored response body is damaged: {why}").into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use rusqlite::Connection;

    /// Through SQLite and back, as a row stores and returns it.
    fn round_trip(stored: &StoredBody) -> rusqlite::Result<ReadBody> {
        let conn = Connection::open_in_memory().unwrap();
        conn.query_row("SELECT ?1", [stored], |r| r.get(0))
    }

    #[test]
    fn a_short_body_stays_text_and_a_long_one_is_compressed_and_read_back_whole() {
        let short = "Bad Gateway".to_string();
        assert_eq!(
            StoredBody::of(short.clone()),
            StoredBody::Text(short.clone())
        );
        assert_eq!(
            round_trip(&StoredBody::of(short.clone())).unwrap(),
            ReadBody(Some(short))
        );

        let long: String = (0..50)
            .map(|i| {
                format!(r#"{{"OrderNumber":"INV-{i:04}","Status":"00","Description":"created"}},"#)
            })
            .collect();
        let stored = StoredBody::of(long.clone());
        let StoredBody::Deflated(packed) = &stored else {
            panic!("a {} byte body was not compressed", long.len());
        };
        assert!(
            packed.len() * 4 < long.len(),
            "{} of {}",
            packed.len(),
            long.len()
        );
        assert_eq!(round_trip(&stored).unwrap(), ReadBody(Some(long)));
    }

    #[test]
    fn a_body_that_does_not_compress_stays_text() {
        // Pseudo-random letters: deflate gains nothing on them.
        let mut x: u32 = 12345;
        let noise: String = (0..4096)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                char::from(b'!' + u8::try_from((x >> 16) % 90).unwrap())
            })
            .collect();
        assert!(matches!(StoredBody::of(noise), StoredBody::Text(_)));
    }

    #[test]
    fn a_damaged_blob_is_an_error_not_an_answer() {
        let long = "x".repeat(10_000);
        let StoredBody::Deflated(mut packed) = StoredBody::of(long) else {
            panic!("not compressed");
        };
        let middle = packed.len() / 2;
        packed[middle] ^= 0xff;
        let err = ReadBody::column_result(ValueRef::Blob(&packed)).unwrap_err();
        assert!(
            err.to_string().contains("response body is damaged"),
            "{err}"
        );
        assert!(ReadBody::column_result(ValueRef::Blob(b"not zlib")).is_err());
    }

    #[test]
    fn a_blob_that_inflates_past_the_cap_is_refused() {
        let huge = deflate(&vec![b'a'; MAX_INFLATED as usize + 10]).unwrap();
        // The compressor is reset between bodies: a second one comes out the same.
        assert_eq!(
            deflate(&vec![b'a'; MAX_INFLATED as usize + 10]).unwrap(),
            huge
        );
        let err = ReadBody::column_result(ValueRef::Blob(&huge)).unwrap_err();
        assert!(err.to_string().contains("more than"), "{err}");
    }
}
