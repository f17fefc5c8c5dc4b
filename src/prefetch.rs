//! A hint to start loading memory the next steps will read.
//!
//! The engine touches a few cold cache lines per (rule, event) — each series' newest window
//! bin and evidence ring — and reading them one after the other serialises the misses. Once
//! an event's group is found, the engine asks for all of its series' lines at once, so the
//! misses overlap.

/// Starts loading the cache line holding `p` into every cache level. Never faults (the
/// address is not dereferenced); a no-op where the target has no prefetch instruction.
#[inline(always)]
pub(crate) fn read<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `prefetcht0` does not access memory architecturally; any address is allowed.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
