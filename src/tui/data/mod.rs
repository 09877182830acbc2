//! Data the screens show, prepared off the UI loop.

pub mod preview;
