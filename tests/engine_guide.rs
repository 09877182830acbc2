#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Every engine test of `tests/engine.rs` again, with every simulator answering batches
//! exactly in the guide's shape (`guide_responses`: no per-item `Status`, element 0
//! with the envelope code only), which is how the real service answers: each item must
//! end in the same state from its own content alone (issue 11, problem 9).

#[path = "engine.rs"]
mod engine;

#[test]
fn this_binary_runs_the_engine_tests_in_the_guides_shape() {
    assert!(module_path!().starts_with("engine_guide"));
}
