//! The proptest fuzzers: a test binary of their own (`fuzz`), apart from `tests/it`,
//! because they install a global allocator that counts each thread's allocations (see
//! `harness::Counting`) and the allocator is a property of the whole binary. Being small,
//! the binary is also quick to build in release for a long run:
//!
//! ```sh
//! IDENTITY_FUZZ_SECS=300 cargo test --release --test fuzz -- --nocapture
//! ```
//!
//! The driver and its knobs are described in `harness.rs`.

mod harness;

mod fuzz_decoders;
mod fuzz_vendor;

/// `fuzz_decoders` bounds what one decode allocates with `harness::peak_alloc`.
#[global_allocator]
static ALLOC: harness::Counting = harness::Counting;
