//! Transparent huge pages for the union-find nodes: the unions read them at
//! random, and with 4 KiB pages nearly every read of a large table also
//! misses the TLB. A hint only; without it (or off Linux) nothing changes.

/// Asks the kernel to back `v`'s whole allocation with huge pages.
#[cfg(target_os = "linux")]
pub fn advise<T>(v: &mut Vec<T>) {
    const HUGE: usize = 2 << 20;
    let bytes = v.capacity() * std::mem::size_of::<T>();
    if bytes < 2 * HUGE {
        return;
    }
    let start = v.as_mut_ptr() as usize;
    let lo = start.div_ceil(HUGE) * HUGE;
    let hi = (start + bytes) / HUGE * HUGE;
    if hi > lo {
        // SAFETY: madvise only changes how the kernel backs pages of this
        // process's own, live allocation (the range lies inside it); it does
        // not read, write or free them.
        let r = unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_HUGEPAGE) };
        if r != 0 {
            tracing::debug!("madvise(MADV_HUGEPAGE) refused");
        }
    }
}

/// Asks the kernel to back `v`'s whole allocation with huge pages.
#[cfg(not(target_os = "linux"))]
pub fn advise<T>(_v: &mut Vec<T>) {}
