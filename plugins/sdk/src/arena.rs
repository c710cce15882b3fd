//! The component's allocator: a bump arena in front of the system allocator.
//!
//! A component instance lives for one call and is then thrown away whole, so
//! freeing memory inside it only costs time: with the arena an allocation is
//! a pointer bump, a free is nothing (or a pointer step back when it was the
//! latest block), and the lesson, state and result strings the host copies in
//! and out need no bookkeeping. The arena is zeroed static memory, so the
//! pages a call never reaches are never touched. A call that allocates more
//! than the arena holds goes on with the system allocator, which reuses what
//! is freed, so an allocation-heavy tool still runs in bounded memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// Bytes the arena holds: far more than a typical call allocates, small next
/// to the memory a call may use.
const ARENA_BYTES: usize = 256 << 10;

/// The arena's memory, aligned for any ordinary type.
#[repr(C, align(16))]
struct Memory([u8; ARENA_BYTES]);

/// A bump allocator over [`Memory`], falling back to [`System`].
pub struct Arena {
    memory: UnsafeCell<Memory>,
    /// Offset of the first free byte.
    top: UnsafeCell<usize>,
}

// A component instance runs on one thread (wasm32 without the threads
// proposal), so the arena is never touched from two threads.
#[allow(unsafe_code)]
unsafe impl Sync for Arena {}

impl Arena {
    /// An empty arena.
    pub const fn new() -> Arena {
        Arena {
            memory: UnsafeCell::new(Memory([0; ARENA_BYTES])),
            top: UnsafeCell::new(0),
        }
    }

    fn base(&self) -> usize {
        self.memory.get() as usize
    }

    /// A block of the arena for `layout`, if it has room.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        // Single-threaded (see `Sync`), so the top is ours for this call.
        #[allow(unsafe_code)]
        let top = unsafe { &mut *self.top.get() };
        let start = (self.base() + *top).next_multiple_of(layout.align()) - self.base();
        let end = start.checked_add(layout.size())?;
        if end > ARENA_BYTES {
            return None;
        }
        *top = end;
        Some((self.base() + start) as *mut u8)
    }

    fn owns(&self, ptr: *mut u8) -> bool {
        let at = ptr as usize;
        at >= self.base() && at < self.base() + ARENA_BYTES
    }
}

impl Default for Arena {
    fn default() -> Self {
        Arena::new()
    }
}

// Safety: blocks never overlap (the top only moves past a block handed out,
// or back to the start of the latest block when that one is freed), every
// block is aligned as asked, and memory the arena does not own is passed to
// the system allocator that gave it.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(ptr) => ptr,
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(ptr) => {
                // A block given back and handed out again may hold old bytes.
                unsafe { ptr.write_bytes(0, layout.size()) };
                ptr
            }
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !self.owns(ptr) {
            return unsafe { System.dealloc(ptr, layout) };
        }
        let top = unsafe { &mut *self.top.get() };
        let start = ptr as usize - self.base();
        if start + layout.size() == *top {
            *top = start;
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.owns(ptr) {
            let top = unsafe { &mut *self.top.get() };
            let start = ptr as usize - self.base();
            // The latest block grows or shrinks where it is.
            if start + layout.size() == *top && start + new_size <= ARENA_BYTES {
                *top = start + new_size;
                return ptr;
            }
            if new_size <= layout.size() {
                return ptr;
            }
        } else {
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let Ok(new_layout) = Layout::from_size_align(new_size, layout.align()) else {
            return std::ptr::null_mut();
        };
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            unsafe {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
                self.dealloc(ptr, layout);
            }
        }
        new
    }
}

#[cfg(test)]
mod tests {
    #![allow(unsafe_code)]

    use super::*;

    #[test]
    fn blocks_are_aligned_apart_and_the_latest_is_reused() {
        let arena = Arena::new();
        unsafe {
            let a = arena.alloc(Layout::from_size_align(3, 1).unwrap());
            let b = arena.alloc(Layout::from_size_align(8, 8).unwrap());
            assert!(arena.owns(a) && arena.owns(b));
            assert_eq!(b as usize % 8, 0);
            assert!(b as usize >= a as usize + 3);
            a.write_bytes(1, 3);
            b.write_bytes(2, 8);
            // The latest block grows in place; an older one moves.
            let b2 = arena.realloc(b, Layout::from_size_align(8, 8).unwrap(), 64);
            assert_eq!(b2, b);
            let a2 = arena.realloc(a, Layout::from_size_align(3, 1).unwrap(), 16);
            assert_ne!(a2, a);
            assert_eq!(std::slice::from_raw_parts(a2, 3), [1, 1, 1]);
            assert_eq!(std::slice::from_raw_parts(b2, 8), [2; 8]);
            // Freeing the latest block gives its room back, zeroed on request.
            arena.dealloc(a2, Layout::from_size_align(16, 1).unwrap());
            let c = arena.alloc_zeroed(Layout::from_size_align(16, 1).unwrap());
            assert_eq!(c, a2);
            assert_eq!(std::slice::from_raw_parts(c, 16), [0; 16]);
        }
    }

    #[test]
    fn a_full_arena_hands_over_to_the_system_allocator() {
        let arena = Arena::new();
        unsafe {
            let big = Layout::from_size_align(ARENA_BYTES - 16, 16).unwrap();
            let a = arena.alloc(big);
            assert!(arena.owns(a));
            let layout = Layout::from_size_align(64, 8).unwrap();
            let b = arena.alloc_zeroed(layout);
            assert!(!b.is_null() && !arena.owns(b));
            assert_eq!(std::slice::from_raw_parts(b, 64), [0; 64]);
            let b = arena.realloc(b, layout, 128);
            assert!(!arena.owns(b));
            arena.dealloc(b, Layout::from_size_align(128, 8).unwrap());
            // The arena's latest block cannot grow past its end: it moves out.
            let a2 = arena.realloc(a, big, ARENA_BYTES + 1);
            assert!(!a2.is_null() && !arena.owns(a2));
            arena.dealloc(a2, Layout::from_size_align(ARENA_BYTES + 1, 16).unwrap());
            // … and its room is free again.
            assert_eq!(arena.alloc(big), a);
        }
    }
}
