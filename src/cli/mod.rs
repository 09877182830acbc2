//! The headless face of the console: commands for scripts and cron, with plain-text
//! output and JSON summaries.

pub mod validate;
