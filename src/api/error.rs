//! `ApiError` and the per-endpoint status codes. Every text an error carries has been
//! redacted by the client before the error is built (see `Client::redact`), so Display
//! and Debug are safe to log and show.

use std::fmt;

use super::wire::{DecodeError, MarkFailure, excerpt};
use crate::secret::{Secret, redact_all};

/// The twelve Connect Pay endpoints, named by their path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    Co,
    Cmo,
    Gpojson,
    Moap,
    Moab,
    Mofr,
    Gos,
    Cc,
    Cmc,
    Uc,
    Umc,
    Gcd,
}

impl Endpoint {
    /// The path segment after `cpay/`.
    pub fn path(self) -> &'static str {
        match self {
            Endpoint::Co => "co",
            Endpoint::Cmo => "cmo",
            Endpoint::Gpojson => "gpojson",
            Endpoint::Moap => "moap",
            Endpoint::Moab => "moab",
            Endpoint::Mofr => "mofr",
            Endpoint::Gos => "gos",
            Endpoint::Cc => "cc",
            Endpoint::Cmc => "cmc",
            Endpoint::Uc => "uc",
            Endpoint::Umc => "umc",
            Endpoint::Gcd => "gcd",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// Normalises a status code as servers write it (`"00"`, `" 3"`, `0`) to two digits.
pub(crate) fn normalize_code(raw: &str) -> String {
    let t = raw.trim();
    if !t.is_empty() && t.len() < 2 && t.bytes().all(|b| b.is_ascii_digit()) {
        format!("{t:0>2}")
    } else {
        t.to_string()
    }
}

macro_rules! status_enum {
    (
        $(#[$meta:meta])*
        $name:ident { $( $variant:ident = $code:literal, $text:literal; )* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $variant, )*
            /// A code the reference does not define for this endpoint, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Reads a code as the server wrote it (surrounding spaces and a missing
            /// leading zero are tolerated).
            pub fn from_code(raw: &str) -> Self {
                let code = normalize_code(raw);
                match code.as_str() {
                    $( $code => $name::$variant, )*
                    _ => $name::Other(code),
                }
            }

            /// The two-digit code.
            pub fn code(&self) -> &str {
                match self {
                    $( $name::$variant => $code, )*
                    $name::Other(code) => code,
                }
            }

            /// What the reference says the code means for this endpoint.
            pub fn meaning(&self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                    $name::Other(_) => "undocumented status",
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{} ({})", self.code(), self.meaning())
            }
        }
    };
}

status_enum! {
    /// Status codes of order creation, `co` and `cmo` (reference §1–2).
    CreateStatus {
        Created = "00", "created";
        AlreadyExists = "01", "order already exists";
        ServiceFailure = "02", "service failure";
        InvalidData = "03", "invalid data";
        NotAuthorised = "04", "user not authorised";
    }
}

status_enum! {
    /// Status codes of the paid-orders report, `gpojson` (reference §3).
    ReportStatus {
        Ok = "00", "success";
        InvalidData = "01", "invalid data";
        NotAuthorised = "02", "user not authorised";
        NoRecords = "03", "no records in range";
    }
}

status_enum! {
    /// Status codes of `moap`, `moab`, `mofr` and `gos` (reference §4–7).
    MarkStatus {
        Ok = "00", "success";
        InvalidData = "01", "invalid data or order not updatable";
        NotAuthorised = "02", "user not authorised";
        NoData = "03", "no data";
    }
}

status_enum! {
    /// Status codes of the consumer endpoints `cc`, `cmc`, `uc`, `umc`, `gcd`
    /// (reference §8–12).
    ConsumerStatus {
        Ok = "00", "success";
        ExistsOrInvalid = "01", "consumer already exists or invalid data";
        NotAuthorised = "02", "user not authorised";
        NoData = "03", "no data";
    }
}

/// A non-success status from the API, tagged with the endpoint family that gave it its
/// meaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiStatus {
    Create(CreateStatus),
    Report(ReportStatus),
    Mark(MarkStatus),
    Consumer(ConsumerStatus),
}

impl ApiStatus {
    pub fn code(&self) -> &str {
        match self {
            ApiStatus::Create(s) => s.code(),
            ApiStatus::Report(s) => s.code(),
            ApiStatus::Mark(s) => s.code(),
            ApiStatus::Consumer(s) => s.code(),
        }
    }

    pub fn is_auth(&self) -> bool {
        matches!(
            self,
            ApiStatus::Create(CreateStatus::NotAuthorised)
                | ApiStatus::Report(ReportStatus::NotAuthorised)
                | ApiStatus::Mark(MarkStatus::NotAuthorised)
                | ApiStatus::Consumer(ConsumerStatus::NotAuthorised)
        )
    }
}

impl fmt::Display for ApiStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiStatus::Create(s) => s.fmt(f),
            ApiStatus::Report(s) => s.fmt(f),
            ApiStatus::Mark(s) => s.fmt(f),
            ApiStatus::Consumer(s) => s.fmt(f),
        }
    }
}

/// How a request failed below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No connection could be made (refused, DNS, TLS handshake).
    Connect,
    /// The connect or request timeout elapsed.
    Timeout,
    /// The connection was reset or closed before a complete response arrived.
    ConnectionClosed,
    /// Anything else reqwest reports (body read errors, protocol errors).
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::ConnectionClosed => "connection closed or reset",
            TransportKind::Other => "transport error",
        })
    }
}

/// Why the client refused to send a request at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestProblem {
    #[error("nothing to send: the list is empty")]
    Empty,
    #[error("{count} items in one batch; at most {max} are allowed")]
    TooManyItems { count: usize, max: usize },
    #[error(
        "order number '{0}' contains ',' or '|', which the CsvOrderNumbers format cannot carry"
    )]
    ForbiddenCharacter(String),
    #[error("an order number is empty")]
    EmptyKey,
    #[error(
        "order '{order_number}' alone makes a csvOrders parameter of {len} characters (credentials included); the API allows {max}"
    )]
    EntryTooLong {
        order_number: String,
        len: usize,
        max: usize,
    },
    #[error("start date {start} is after end date {end}")]
    DateRange { start: String, end: String },
    #[error("date could not be formatted with '{0}'")]
    DateFormat(String),
    #[error("the request could not be built: {0}")]
    Build(String),
    /// A mark call was asked to carry more than one `csvOrders` parameter can hold.
    #[error(
        "{entries} orders do not fit in one csvOrders parameter of at most {max} characters (they need {calls} calls)"
    )]
    NotOneCall {
        entries: usize,
        calls: usize,
        max: usize,
    },
}

/// Everything a Connect Pay call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The client could not be set up (bad base URL, bad date format, TLS setup).
    #[error("client configuration: {0}")]
    Config(String),

    /// Refused before sending: nothing went over the wire.
    #[error("{endpoint}: not sent: {problem}")]
    Request {
        endpoint: Endpoint,
        problem: RequestProblem,
    },

    /// Connect failure, timeout, reset. For a create call the request may or may not
    /// have reached the server.
    #[error("{endpoint}: {kind}: {message}")]
    Transport {
        endpoint: Endpoint,
        kind: TransportKind,
        message: String,
    },

    /// A non-2xx HTTP status; `excerpt` is the start of the body, redacted.
    #[error("{endpoint}: HTTP {status}: {excerpt}")]
    Http {
        endpoint: Endpoint,
        status: u16,
        excerpt: String,
    },

    /// A 2xx response whose body is not the expected JSON (HTML page, empty, truncated).
    #[error("{endpoint}: unreadable response ({reason}): {excerpt}")]
    Decode {
        endpoint: Endpoint,
        reason: String,
        excerpt: String,
    },

    /// The API answered with a non-success status for the whole request.
    #[error("{endpoint}: status {status}: {description}")]
    Status {
        endpoint: Endpoint,
        status: ApiStatus,
        description: String,
    },

    /// A mark/refund list that was split into several calls failed part-way: the first
    /// `confirmed` entries of the input were processed (`failed` lists those of them
    /// the server refused); the rest were not sent or their outcome is unknown.
    #[error("{endpoint}: stopped after {confirmed} entries: {source}")]
    Partial {
        endpoint: Endpoint,
        confirmed: usize,
        failed: Vec<MarkFailure>,
        source: Box<ApiError>,
    },
}

impl ApiError {
    /// Worth sending again later: transport failures, 5xx/408/429, unreadable bodies,
    /// and service failure (02) on order creation.
    pub fn is_retryable(&self) -> bool {
        match self {
            ApiError::Transport { .. } | ApiError::Decode { .. } => true,
            ApiError::Http { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            ApiError::Status { status, .. } => {
                matches!(status, ApiStatus::Create(CreateStatus::ServiceFailure))
            }
            ApiError::Partial { source, .. } => source.is_retryable(),
            ApiError::Config(_) | ApiError::Request { .. } => false,
        }
    }

    /// The credentials were refused: stop, do not retry. Besides the "not authorised"
    /// codes (04 on create, 02 elsewhere) and HTTP 401/403, this covers 01 whose
    /// description blames the user name or password: the guide's wording when the report,
    /// mark and lookup endpoints reject credentials ("Invalid Data. Username or password
    /// is invalid").
    pub fn is_auth(&self) -> bool {
        match self {
            ApiError::Status {
                status,
                description,
                ..
            } => {
                let d = description.to_ascii_lowercase();
                status.is_auth()
                    || (status.code() == "01"
                        && !matches!(status, ApiStatus::Create(_))
                        && (d.contains("username") || d.contains("password")))
            }
            ApiError::Http { status, .. } => *status == 401 || *status == 403,
            ApiError::Partial { source, .. } => source.is_auth(),
            _ => false,
        }
    }

    /// A `Decode` error for `body`, with the body redacted *before* it is cut to an
    /// excerpt (a cut first could leave part of a password that no longer matches).
    pub fn from_decode(
        endpoint: Endpoint,
        body: &str,
        error: &DecodeError,
        secrets: &[Secret],
    ) -> ApiError {
        ApiError::Decode {
            endpoint,
            reason: redact_all(&error.reason, secrets),
            excerpt: excerpt(&redact_all(body, secrets)),
        }
    }

    /// The same error with every secret removed from every text it carries.
    pub fn redact(self, secrets: &[Secret]) -> ApiError {
        let r = |s: String| redact_all(&s, secrets);
        match self {
            ApiError::Config(m) => ApiError::Config(r(m)),
            ApiError::Request { endpoint, problem } => ApiError::Request {
                endpoint,
                problem: match problem {
                    RequestProblem::Build(m) => RequestProblem::Build(r(m)),
                    other => other,
                },
            },
            ApiError::Transport {
                endpoint,
                kind,
                message,
            } => ApiError::Transport {
                endpoint,
                kind,
                message: r(message),
            },
            ApiError::Http {
                endpoint,
                status,
                excerpt,
            } => ApiError::Http {
                endpoint,
                status,
                excerpt: r(excerpt),
            },
            ApiError::Decode {
                endpoint,
                reason,
                excerpt,
            } => ApiError::Decode {
                endpoint,
                reason: r(reason),
                excerpt: r(excerpt),
            },
            ApiError::Status {
                endpoint,
                status,
                description,
            } => ApiError::Status {
                endpoint,
                status,
                description: r(description),
            },
            ApiError::Partial {
                endpoint,
                confirmed,
                failed,
                source,
            } => ApiError::Partial {
                endpoint,
                confirmed,
                failed,
                source: Box::new(source.redact(secrets)),
            },
        }
    }

    /// The endpoint that failed, if a request was involved.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            ApiError::Config(_) => None,
            ApiError::Request { endpoint, .. }
            | ApiError::Transport { endpoint, .. }
            | ApiError::Http { endpoint, .. }
            | ApiError::Decode { endpoint, .. }
            | ApiError::Status { endpoint, .. }
            | ApiError::Partial { endpoint, .. } => Some(*endpoint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_per_endpoint() {
        assert_eq!(CreateStatus::from_code("01"), CreateStatus::AlreadyExists);
        assert_eq!(ReportStatus::from_code("01"), ReportStatus::InvalidData);
        assert_eq!(MarkStatus::from_code(" 3"), MarkStatus::NoData);
        assert_eq!(
            ConsumerStatus::from_code("07"),
            ConsumerStatus::Other("07".into())
        );
        assert_eq!(
            CreateStatus::NotAuthorised.to_string(),
            "04 (user not authorised)"
        );
    }

    #[test]
    fn retryable_and_auth() {
        let st = |s: ApiStatus| ApiError::Status {
            endpoint: Endpoint::Co,
            status: s,
            description: String::new(),
        };
        assert!(st(ApiStatus::Create(CreateStatus::ServiceFailure)).is_retryable());
        assert!(!st(ApiStatus::Create(CreateStatus::InvalidData)).is_retryable());
        assert!(!st(ApiStatus::Consumer(ConsumerStatus::NotAuthorised)).is_retryable());
        assert!(st(ApiStatus::Create(CreateStatus::NotAuthorised)).is_auth());
        assert!(st(ApiStatus::Mark(MarkStatus::NotAuthorised)).is_auth());
        assert!(!st(ApiStatus::Create(CreateStatus::ServiceFailure)).is_auth());
        let http = |status| ApiError::Http {
            endpoint: Endpoint::Gos,
            status,
            excerpt: String::new(),
        };
        assert!(http(503).is_retryable());
        assert!(!http(404).is_retryable());
        assert!(http(401).is_auth());
        let partial = ApiError::Partial {
            endpoint: Endpoint::Moap,
            confirmed: 3,
            failed: vec![],
            source: Box::new(ApiError::Transport {
                endpoint: Endpoint::Moap,
                kind: TransportKind::Timeout,
                message: "x".into(),
            }),
        };
        assert!(partial.is_retryable());
        assert!(!partial.is_auth());
        let invalid = |s: ApiStatus, d: &str| ApiError::Status {
            endpoint: Endpoint::Gos,
            status: s,
            description: d.into(),
        };
        assert!(
            invalid(
                ApiStatus::Mark(MarkStatus::InvalidData),
                "Invalid Data. Username or password is invalid"
            )
            .is_auth()
        );
        assert!(
            invalid(
                ApiStatus::Report(ReportStatus::InvalidData),
                "Invalid Data. Password cannot be empty"
            )
            .is_auth()
        );
        assert!(!invalid(ApiStatus::Mark(MarkStatus::InvalidData), "Invalid Format").is_auth());
        assert!(
            !invalid(
                ApiStatus::Create(CreateStatus::AlreadyExists),
                "Order number password-1 already exist"
            )
            .is_auth()
        );
    }
}
