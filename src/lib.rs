//! paypro-console: a terminal console for bulk invoicing against PayPro's Connect Pay
//! ("cpay") merchant API. See `README.md` for what it does and
//! `../shared/design/ARCHITECTURE.md` for how the modules fit together.

pub mod api;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod journal;
pub mod report;
pub mod secret;
pub mod sheet;
pub mod sim;
pub mod tui;

pub use secret::Secret;
