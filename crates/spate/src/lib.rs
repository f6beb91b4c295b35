pub use spate_core::*;
