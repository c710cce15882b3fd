//! Test plugin: its tool `hog` allocates memory without bound. It takes
//! 1 MiB blocks, writes every page of each (so the memory is really used)
//! and keeps them all, until the host refuses to grow linear memory; the
//! allocation failure then aborts the guest. Expected outcome:
//! `memory_limit`, with the host and the session unharmed.

use std::hint::black_box;

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// Size of each allocation.
pub const BLOCK_BYTES: usize = 1024 * 1024;
/// Distance between the bytes written in a block: one WebAssembly page.
const PAGE_BYTES: usize = 64 * 1024;

/// The plugin.
pub struct MemoryHog;

impl TeachingTool for MemoryHog {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Allocates memory until refused; tests the host's memory limit.")
            .tool(ToolSpec::with_raw_parameters(
                "hog",
                "Allocates memory without bound. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ))
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "hog" => hog(usize::MAX),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

/// Allocates up to `max_blocks` blocks, touching every page; returns how
/// many bytes it holds when it stops (never, in the component: it is called
/// with no bound and the allocator aborts first).
pub fn hog(max_blocks: usize) -> Result<ToolOutput, ToolError> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    while blocks.len() < max_blocks {
        let mut block = vec![0u8; BLOCK_BYTES];
        for offset in (0..BLOCK_BYTES).step_by(PAGE_BYTES) {
            block[offset] = blocks.len() as u8 | 1;
        }
        blocks.push(black_box(block));
    }
    let held: usize = blocks.iter().map(Vec::len).sum();
    Ok(ToolOutput::text(format!("holding {held} bytes")))
}

lectern_tool::export!(MemoryHog);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_valid() {
        lectern_tool::testing::check_manifest(&MemoryHog::manifest()).unwrap();
    }

    #[test]
    fn every_block_is_kept() {
        let output = hog(3).unwrap();
        assert_eq!(output.content, format!("holding {} bytes", 3 * BLOCK_BYTES));
    }
}
