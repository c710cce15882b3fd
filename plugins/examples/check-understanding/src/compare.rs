//! Comparing the short texts a call compares most (stems, words, ids)
//! without calling `memcmp`: in the guest that is a byte-by-byte loop
//! behind a call, and most comparisons are settled by the length or the
//! first byte.

use std::cmp::Ordering;

/// Whether `a` and `b` are the same text.
#[inline(always)]
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if a.first() != b.first() {
        return false;
    }
    let mut at = 0;
    while let (Some(x), Some(y)) = (a.get(at..at + 8), b.get(at..at + 8)) {
        if eight(x) != eight(y) {
            return false;
        }
        at += 8;
    }
    a[at..].iter().zip(&b[at..]).all(|(x, y)| x == y)
}

/// `a.cmp(b)`, eight bytes at a step: ids share long prefixes
/// (`objective:`), which `memcmp` would walk byte by byte.
#[inline(always)]
pub fn order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    match (a.first(), b.first()) {
        (Some(x), Some(y)) if x != y => return x.cmp(y),
        _ => {}
    }
    let mut at = 0;
    while let (Some(x), Some(y)) = (a.get(at..at + 8), b.get(at..at + 8)) {
        let (x, y) = (eight(x).swap_bytes(), eight(y).swap_bytes());
        if x != y {
            return x.cmp(&y);
        }
        at += 8;
    }
    for (x, y) in a[at..].iter().zip(&b[at..]) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

#[inline(always)]
fn eight(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_compare_as_str_does() {
        let texts = [
            "",
            "a",
            "b",
            "ab",
            "abc",
            "light",
            "lights",
            "leav",
            "abcdefgh",
            "abcdefgi",
            "abcdefghijklmnopq",
            "abcdefghijklmnopr",
            "bcdefghijklmnopqr",
            "é",
            "éa",
            "\u{7f}",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
                assert_eq!(order(a, b), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }
}
