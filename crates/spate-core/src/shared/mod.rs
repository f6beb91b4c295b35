//! Shared variables: accumulators and broadcast variables.

pub mod accumulator;
pub mod broadcast;
