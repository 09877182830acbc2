//! The headless face of the console: commands for scripts and cron, with plain-text
//! output and JSON summaries.

pub mod consumer;
pub mod demo;
pub mod logging;
pub mod mark;
pub mod out;
pub mod outcome;
pub mod progress;
pub mod report;
pub mod results;
pub mod resume;
pub mod runs;
pub mod session;
pub mod status;
pub mod submit;
pub mod unlock;
pub mod validate;
