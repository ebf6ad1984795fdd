//! The global allocator and the two settings it runs with. The benchmarks include this file (`#[path]`), so
//! their memory figures are the binary's.
//!
//! mimalloc gives freed query memory back to the system where glibc's per-thread arenas keep it: after the
//! dashboard load benchmark at 1 M rows, RSS was 1,566 MiB with glibc and 597 MiB with mimalloc. Two of
//! mimalloc 3's defaults still kept about 140 MiB of freed memory resident there (`docs/benchmarks.md`, session
//! 10): it waits a second before returning freed pages (`purge_delay` = 1000 ms), and it commits each 1 GiB arena
//! up front on Linux (`arena_eager_commit` = 2), so that purging resets pages instead of decommitting them. With
//! 10 ms (mimalloc 2's default) and commit on demand, RSS after start went from 419–463 to 303–311 MiB, with the
//! same latencies within the machine's noise.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Indices of `mi_option_e` in mimalloc 3's `mimalloc.h` (libmimalloc-sys builds v3 by default; it exports no
/// constants for these two). `MIMALLOC_VERBOSE=1` prints every option by name with its value, which is how these
/// were checked.
const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets the defaults before `main`, and before the Rust runtime's first allocation: mimalloc reserves its first
/// arena on the first allocation and reads `arena_eager_commit` then. Defaults, not values: the `MIMALLOC_*`
/// environment variables still win, for anyone measuring other settings.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = tune_allocator;

extern "C" fn tune_allocator() {
    // SAFETY: called once before `main`, on the only thread; mimalloc allows setting defaults before its first
    // use of an option (the functions are "not thread safe", which nothing here needs).
    unsafe {
        libmimalloc_sys::mi_option_set_default(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set_default(PURGE_DELAY, 10);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_settings_are_in_force_when_main_runs() {
        // The test harness is a binary with this module linked in: the constructor ran before it.
        let (commit, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(super::ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(super::PURGE_DELAY),
            )
        };
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_none() {
            assert_eq!(commit, 0);
        }
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(delay, 10);
        }
    }
}
