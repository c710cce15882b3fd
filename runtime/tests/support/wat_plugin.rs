//! Tiny teaching-tool components written in WebAssembly text, for tests that
//! need control the real plugins do not give: a chosen name, version and tool
//! list (builds of "the same" plugin for hot-swap tests), or a chosen
//! misbehaviour. Shared by the `plugins` and `session` test binaries
//! (`#[path = "support/wat_plugin.rs"]`).
//!
//! The core module keeps a prebuilt memory image: the manifest record `describe`
//! returns and the `result<tool-output, tool-error>` that `invoke` returns, laid out
//! as the canonical ABI says (strings are `(ptr, len)` pairs, records aligned to 4,
//! the result's payload at offset 4 after its discriminant byte). `invoke`
//! answers every tool alike.

/// What `invoke` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Return `ok` with content "answered by NAME VERSION".
    Answer,
    /// Loop forever.
    Spin,
    /// Answer when the arguments are `{}`, trap when they say more.
    TrapOnNote,
}

/// A tool of a build: name, description, JSON schema of its parameters.
#[derive(Debug, Clone, Copy)]
pub struct ToolDef<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub parameters: &'a str,
}

/// The one tool of [`component`]: reports which build answered.
pub const WHICH_VERSION: ToolDef<'static> = ToolDef {
    name: "which_version",
    description: "Reports the plugin version that answered.",
    parameters: r#"{"type":"object","properties":{"note":{"type":"string"}},"additionalProperties":false}"#,
};

/// The contract version the host supports, for builds that are not about it.
pub const CONTRACT: &str = "0.1.0";

struct Image {
    bytes: Vec<u8>,
}

impl Image {
    fn align(&mut self, to: usize) {
        while !self.bytes.len().is_multiple_of(to) {
            self.bytes.push(0);
        }
    }
    fn string(&mut self, s: &str) -> (u32, u32) {
        let at = self.bytes.len() as u32;
        self.bytes.extend_from_slice(s.as_bytes());
        (at, s.len() as u32)
    }
    fn words(&mut self, words: &[u32]) -> u32 {
        self.align(8);
        let at = self.bytes.len() as u32;
        for w in words {
            self.bytes.extend_from_slice(&w.to_le_bytes());
        }
        at
    }
}

/// Bytes of a component named `name`, version `version`, with the one tool
/// [`WHICH_VERSION`], carrying the contract version `contract`.
pub fn component(name: &str, version: &str, behaviour: Behaviour, contract: &str) -> Vec<u8> {
    build(name, version, &[WHICH_VERSION], behaviour, contract)
}

/// Bytes of build `version` of plugin `name` offering `tools`, each answering
/// "answered by NAME VERSION".
pub fn with_tools(name: &str, version: &str, tools: &[ToolDef<'_>]) -> Vec<u8> {
    build(name, version, tools, Behaviour::Answer, CONTRACT)
}

/// Bytes of a component named `name`, version `version`, offering `tools`,
/// whose `invoke` does `behaviour`, carrying the contract version `contract`.
pub fn build(
    name: &str,
    version: &str,
    tools: &[ToolDef<'_>],
    behaviour: Behaviour,
    contract: &str,
) -> Vec<u8> {
    let mut img = Image { bytes: vec![0; 16] };
    let (n_p, n_l) = img.string(name);
    let (v_p, v_l) = img.string(version);
    let (d_p, d_l) = img.string("Says which build answered; for hot-swap tests.");
    let mut specs = Vec::with_capacity(tools.len() * 6);
    for tool in tools {
        let (a, b) = img.string(tool.name);
        let (c, d) = img.string(tool.description);
        let (e, f) = img.string(tool.parameters);
        specs.extend_from_slice(&[a, b, c, d, e, f]);
    }
    let (c_p, c_l) = img.string(&format!("answered by {name} {version}"));
    let list = img.words(&specs);
    let manifest = img.words(&[n_p, n_l, v_p, v_l, d_p, d_l, list, tools.len() as u32, 0, 0]);
    // result: ok (0) | pad | content (ptr, len) | option<display> none (0) …
    let result = img.words(&[0, c_p, c_l, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    img.align(8);
    let heap = img.bytes.len() + 64;
    let data: String = img.bytes.iter().map(|b| format!("\\{b:02x}")).collect();
    let body = match behaviour {
        Behaviour::Answer => format!("(i32.const {result})"),
        Behaviour::Spin => "(loop $l (br $l)) unreachable".to_owned(),
        // Parameter 14 is the arguments' length (after 11 context and 2 tool slots).
        Behaviour::TrapOnNote => {
            format!(
                "(if (i32.gt_u (local.get 14) (i32.const 2)) (then unreachable)) (i32.const {result})"
            )
        }
    };
    let wat = format!(
        r#"
(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const {heap}))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $ret i32)
      (local.set $ret
        (i32.and
          (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
          (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $ret) (local.get 3)))
      (block $fits
        (br_if $fits (i32.le_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow
          (i32.add (i32.const 1)
            (i32.shr_u (i32.sub (global.get $bump) (i32.mul (memory.size) (i32.const 65536)))
                       (i32.const 16))))))
      (local.get $ret))
    (data (i32.const 0) "{data}")
    (func (export "describe") (result i32) (i32.const {manifest}))
    (func (export "invoke")
      (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
      {body})
  )
  (core instance $i (instantiate $m))

  (type $question-card' (record (field "prompt" string) (field "choices" (list string))
                                (field "objective-id" (option string))))
  (export $question-card "question-card" (type $question-card'))
  (type $example-card' (record (field "title" string) (field "problem" string) (field "solution" string)))
  (export $example-card "example-card" (type $example-card'))
  (type $score-card' (record (field "title" string) (field "correct" u32) (field "total" u32)
                             (field "feedback" string)))
  (export $score-card "score-card" (type $score-card'))
  (type $display' (variant (case "markdown" string) (case "question" $question-card)
                           (case "example" $example-card) (case "score" $score-card)
                           (case "key-points" (list string))))
  (export $display "display" (type $display'))
  (type $tool-output' (record (field "content" string) (field "display" (option $display))))
  (export $tool-output "tool-output" (type $tool-output'))
  (type $tool-error' (variant (case "invalid-arguments" string) (case "failed" string)))
  (export $tool-error "tool-error" (type $tool-error'))
  (type $call-context' (record (field "session-id" string) (field "subtopic-id" string)
                               (field "learner-id" string) (field "locale" string)
                               (field "config" string) (field "budget-ms" u32)))
  (export $call-context "call-context" (type $call-context'))
  (type $tool-spec' (record (field "name" string) (field "description" string) (field "parameters" string)))
  (export $tool-spec "tool-spec" (type $tool-spec'))
  (type $manifest' (record (field "name" string) (field "version" string) (field "description" string)
                           (field "tools" (list $tool-spec)) (field "capabilities" (list string))))
  (export $manifest "manifest" (type $manifest'))

  (func (export "describe") (result $manifest)
    (canon lift (core func $i "describe") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
  (func (export "invoke")
    (param "ctx" $call-context) (param "tool" string) (param "arguments" string)
    (result (result $tool-output (error $tool-error)))
    (canon lift (core func $i "invoke") (memory (core memory $i "memory")) (realloc (core func $i "cabi_realloc"))))
)
"#
    );
    let mut bytes = wat::parse_str(&wat).expect("the test component's WAT is valid");
    append_custom_section(&mut bytes, "lectern:contract-version", contract.as_bytes());
    bytes
}

/// Append a custom section (id 0) at the end of a component.
pub fn append_custom_section(bytes: &mut Vec<u8>, name: &str, payload: &[u8]) {
    let mut body = Vec::new();
    leb128(&mut body, name.len() as u64);
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(payload);
    bytes.push(0);
    leb128(bytes, body.len() as u64);
    bytes.extend_from_slice(&body);
}

fn leb128(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
