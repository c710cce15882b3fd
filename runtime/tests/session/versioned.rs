//! Builds of "the same" teaching tool that differ in version and tool list,
//! for hot-swap tests: small components written in WebAssembly text.
//!
//! Each build's `describe` returns a manifest with the given tools; `invoke`
//! answers any tool with "answered by NAME VERSION". The memory image is laid
//! out as the canonical ABI says (strings are `(ptr, len)` pairs, records
//! aligned to 4, the result's payload at offset 4 after its discriminant).

use crate::wat_plugin::append_custom_section;

/// A tool of a build: name, description, JSON schema of its parameters.
pub struct ToolDef<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub parameters: &'a str,
}

/// The bytes of build `version` of plugin `name` with `tools`.
pub fn component(name: &str, version: &str, tools: &[ToolDef<'_>]) -> Vec<u8> {
    let mut img: Vec<u8> = vec![0; 16];
    let string = |img: &mut Vec<u8>, s: &str| {
        let at = img.len() as u32;
        img.extend_from_slice(s.as_bytes());
        (at, s.len() as u32)
    };
    let words = |img: &mut Vec<u8>, words: &[u32]| {
        while !img.len().is_multiple_of(8) {
            img.push(0);
        }
        let at = img.len() as u32;
        for w in words {
            img.extend_from_slice(&w.to_le_bytes());
        }
        at
    };
    let (n_p, n_l) = string(&mut img, name);
    let (v_p, v_l) = string(&mut img, version);
    let (d_p, d_l) = string(&mut img, "A build of a tool, for hot-swap tests.");
    let mut specs = Vec::new();
    for t in tools {
        let (a, b) = string(&mut img, t.name);
        let (c, d) = string(&mut img, t.description);
        let (e, f) = string(&mut img, t.parameters);
        specs.extend_from_slice(&[a, b, c, d, e, f]);
    }
    let (c_p, c_l) = string(&mut img, &format!("answered by {name} {version}"));
    let list = words(&mut img, &specs);
    let manifest = words(
        &mut img,
        &[n_p, n_l, v_p, v_l, d_p, d_l, list, tools.len() as u32, 0, 0],
    );
    // ok (0) | content (ptr, len) | option<display> none | padding of the variant.
    let result = words(&mut img, &[0, c_p, c_l, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    while !img.len().is_multiple_of(8) {
        img.push(0);
    }
    let heap = img.len() + 64;
    let data: String = img.iter().map(|b| format!("\\{b:02x}")).collect();
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
      (i32.const {result}))
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
    append_custom_section(&mut bytes, "lectern:contract-version", b"0.1.0");
    bytes
}
