//! The sandbox one call runs in: a fresh [`Store`] whose data is the call's own
//! state ([`CallState`]), limited memory, a wall-clock deadline through epoch
//! interruption, optional fuel, and a WASI context that grants nothing.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings;
use super::imports::{LogCollector, ProgressLedger};
use super::limits::MAX_STDERR_BYTES;
use super::state::StateView;
use crate::engine::{PluginEngine, Ticking};
use crate::lesson::Subtopic;

/// Table elements a call may grow its tables to (function tables of large
/// interpreters have tens of thousands of entries).
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Everything a call's store holds. Dropped with the store when the call ends.
pub(crate) struct CallState {
    /// Built on the guest's first WASI call: building one seeds two random
    /// number generators and allocates a dozen boxes, which a call that never
    /// touches WASI (most tool calls) need not pay for.
    wasi: Option<WasiCtx>,
    table: ResourceTable,
    pub(crate) memory: MemoryLimiter,
    pub(crate) lesson: Arc<Subtopic>,
    pub(crate) state: StateView,
    pub(crate) progress: ProgressLedger,
    pub(crate) log: LogCollector,
    pub(crate) stderr: CapturedOutput,
    /// Keeps the epoch ticking while a store with a deadline lives.
    ticking: Option<Ticking>,
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let stderr = &self.stderr;
        WasiCtxView {
            ctx: self.wasi.get_or_insert_with(|| wasi_ctx(stderr)),
            table: &mut self.table,
        }
    }
}

/// The WASI context of a call.
fn wasi_ctx(stderr: &CapturedOutput) -> WasiCtx {
    // No preopens, environment, arguments, network or stdin: the builder's
    // defaults grant nothing. Standard error is captured (panic messages are the
    // author's best clue); standard output is discarded.
    WasiCtxBuilder::new()
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build()
}

impl CallState {
    pub(crate) fn new(
        memory_bytes: u64,
        lesson: Arc<Subtopic>,
        state: StateView,
        progress: ProgressLedger,
        log: LogCollector,
    ) -> CallState {
        CallState {
            wasi: None,
            table: ResourceTable::new(),
            memory: MemoryLimiter {
                limit_bytes: usize::try_from(memory_bytes).unwrap_or(usize::MAX),
                used_bytes: 0,
                hit: false,
            },
            lesson,
            state,
            progress,
            log,
            stderr: CapturedOutput::default(),
            ticking: None,
        }
    }
}

impl CallState {
    /// The least a store can hold: an empty lesson, state and ledger (benchmark floor).
    pub(crate) fn minimal() -> CallState {
        CallState::new(
            u64::MAX,
            super::loader::empty_lesson(),
            StateView::default(),
            ProgressLedger {
                lesson: super::loader::empty_lesson(),
                before: Vec::new(),
                recorded: Vec::new(),
            },
            LogCollector {
                plugin: Arc::from(""),
                version: Arc::from(""),
                bucket: Arc::new(super::imports::LogBucket::new(1)),
                max_lines: 0,
                max_line_bytes: 0,
                lines: Vec::new(),
                dropped: 0,
            },
        )
    }
}

/// Caps the call's total linear memory and notes when a grow was refused.
pub(crate) struct MemoryLimiter {
    limit_bytes: usize,
    used_bytes: usize,
    pub(crate) hit: bool,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.used_bytes - current.min(self.used_bytes) + desired;
        if total > self.limit_bytes {
            // Refuse the grow (memory.grow returns -1) rather than trap here: the
            // guest's allocator then fails the way it would on a real machine, and
            // the outcome is `memory_limit` because `hit` is set.
            self.hit = true;
            return Ok(false);
        }
        self.used_bytes = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}

/// The first [`MAX_STDERR_BYTES`] a call writes to stderr; later bytes are accepted
/// and dropped, so a chatty guest never fails on a full pipe.
#[derive(Clone, Default)]
pub(crate) struct CapturedOutput {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl CapturedOutput {
    fn write(&self, bytes: &[u8]) {
        let mut buf = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        let room = MAX_STDERR_BYTES.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// The captured text, lossily decoded and trimmed.
    pub(crate) fn text(&self) -> String {
        let buf = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&buf).trim().to_owned()
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(AsyncCapture(self.clone()))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> Result<(), StreamError> {
        CapturedOutput::write(self, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

struct AsyncCapture(CapturedOutput);

impl tokio::io::AsyncWrite for AsyncCapture {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.write(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The linker every plugin is instantiated with: WASI 0.2 (granting nothing) and
/// the `lectern:tool` imports.
pub(crate) fn linker(engine: &PluginEngine) -> anyhow::Result<Linker<CallState>> {
    let mut linker = Linker::new(engine.wasmtime());
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    // Every import but `lesson` as generated; `lesson.current` lowers a shared
    // copy of the subtopic (see `imports::lesson`).
    bindings::types::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
    bindings::state::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
    bindings::progress::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
    bindings::log::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)?;
    super::imports::add_lesson_to_linker(&mut linker)?;
    Ok(linker)
}

/// A fresh store for one call: memory limiter, deadline, fuel budget.
pub(crate) fn store(
    engine: &PluginEngine,
    mut state: CallState,
    deadline: Instant,
    fuel: Option<u64>,
) -> Store<CallState> {
    // The deadline rests on epoch ticks, which only come while someone holds a
    // guard: taken before the guest can run, dropped with the store's data.
    state.ticking = Some(engine.ticking());
    let mut store = Store::new(engine.wasmtime(), state);
    store.limiter(|s| &mut s.memory);
    // At every epoch tick: past the deadline, interrupt (a trap); otherwise yield to
    // the executor and check again at the next tick.
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            Ok(UpdateDeadline::Yield(1))
        }
    });
    store.set_epoch_deadline(1);
    if engine.config().fuel {
        // Without a budget, meter with effectively unlimited fuel: the deadline
        // still bounds the call.
        store
            .set_fuel(fuel.unwrap_or(u64::MAX))
            .expect("fuel is enabled on this engine");
    }
    store
}

/// Fuel consumed so far by `store`, when the engine meters fuel.
pub(crate) fn fuel_used(
    engine: &PluginEngine,
    store: &Store<CallState>,
    budget: Option<u64>,
) -> Option<u64> {
    if !engine.config().fuel {
        return None;
    }
    let left = store.get_fuel().ok()?;
    Some(budget.unwrap_or(u64::MAX) - left)
}
