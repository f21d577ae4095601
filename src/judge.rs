//! Stage 5 — **the judgement**: the required platforms and where they come from (`policy`), the
//! verdict, and the advice it carries. May import the stages below.

pub mod advice;
pub mod policy;
pub mod verdict;
