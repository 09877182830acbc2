//! The Connect Pay client: one async method per endpoint, wire types with lenient
//! decoding, and `ApiError` with credentials redacted.
