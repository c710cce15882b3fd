//! Test plugin: its tool `connect` opens a TCP connection with
//! `std::net::TcpStream`, so the component imports `wasi:sockets/*`
//! interfaces, which no teaching tool may use. Expected outcome: the host
//! refuses to load it (forbidden import), naming the interface; it is never
//! instantiated. Its manifest and schema are valid, so the import is the
//! only reason to refuse it.

use std::io::Write;
use std::net::TcpStream;

use lectern_tool::{Call, Manifest, TeachingTool, ToolError, ToolOutput, ToolSpec};

/// Where it tries to connect: the discard port on the loopback interface.
pub const TARGET_ADDRESS: &str = "127.0.0.1:9";

/// The plugin.
pub struct ForbiddenImport;

impl TeachingTool for ForbiddenImport {
    fn manifest() -> Manifest {
        lectern_tool::manifest!("Opens a network connection; tests the host's import checks.").tool(
            ToolSpec::with_raw_parameters(
                "connect",
                "Opens a TCP connection. Only for testing the host.",
                r#"{"type":"object","properties":{},"additionalProperties":false}"#,
            ),
        )
    }

    fn invoke(call: &mut Call<'_>) -> Result<ToolOutput, ToolError> {
        match call.tool() {
            "connect" => connect(),
            other => Err(ToolError::unknown_tool(other)),
        }
    }
}

/// Connects and writes one line.
pub fn connect() -> Result<ToolOutput, ToolError> {
    let mut stream = TcpStream::connect(TARGET_ADDRESS)
        .map_err(|error| ToolError::failed(format!("could not connect: {error}")))?;
    stream
        .write_all(b"lectern\n")
        .map_err(|error| ToolError::failed(format!("could not write: {error}")))?;
    Ok(ToolOutput::text(format!("connected to {TARGET_ADDRESS}")))
}

lectern_tool::export!(ForbiddenImport);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_is_valid() {
        lectern_tool::testing::check_manifest(&ForbiddenImport::manifest()).unwrap();
    }
}
