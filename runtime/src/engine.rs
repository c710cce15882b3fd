//! The one wasmtime [`Engine`] that runs every teaching-tool plugin.
//!
//! It is configured once for the process:
//! - the component model (plugins are components of the `lectern:tool` world);
//! - async support, so a call runs on a fiber and yields to the tokio executor at
//!   every epoch tick instead of blocking a worker thread;
//! - the pooling allocator, so a fresh instance per call costs a few microseconds
//!   (slots, memories and fiber stacks are reused and kept warm);
//! - epoch interruption, driven by a single ticker thread for the whole process
//!   (shared by every engine the process creates), for wall-clock deadlines;
//! - optional fuel metering, for a deterministic cost figure and budget;
//! - an optional on-disk compile cache plus an in-memory cache keyed by sha256, so
//!   loading the same bytes again never recompiles.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use wasmtime::component::Component;
use wasmtime::{Config, Engine, EngineWeak, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Interval between two epoch ticks. A running plugin checks its deadline (and yields
/// to the executor) at every tick, so this is both the deadline resolution and the
/// longest stretch a plugin holds a worker thread. 2 ms keeps the deadline well inside
/// its 20 ms tolerance while the ticker costs ~500 wake-ups per second.
pub const EPOCH_TICK_MS: u64 = 2;

/// Default number of plugin calls that may be in flight at once (pool slots). Calls
/// are short (milliseconds) and this machine has 2 cores, so 500 slots absorb large
/// bursts from many lessons; each slot reserves address space, not memory.
pub const DEFAULT_MAX_CONCURRENT_INSTANCES: u32 = 500;

/// Largest linear memory any plugin may be granted, even by a per-plugin override.
/// JavaScript and Python runtimes compiled to components need tens of MiB; 256 MiB
/// leaves room without letting one plugin take a meaningful share of 24 GiB.
pub const MAX_PLUGIN_MEMORY_BYTES: u64 = 256 << 20;

/// Core instances a single component may create. Rust components have 1-4 and
/// componentize-js ones 8, but componentize-py links CPython from 38 core modules;
/// 64 leaves room for a newer runtime without a change here.
const MAX_CORE_INSTANCES_PER_COMPONENT: u32 = 64;

/// Core instance slots in the pool per concurrent call. Most calls need 1-8, a
/// Python one 38: with 8 per slot on average a full pool of Rust or JavaScript
/// calls always fits, and about a tenth of it can be Python at once. Each slot
/// reserves address space, not memory.
const CORE_INSTANCES_PER_CALL_SLOT: u32 = 8;

/// Linear memories a single component may define (one for Rust; a few for
/// runtimes that link several modules).
const MAX_MEMORIES_PER_COMPONENT: u32 = 4;

/// Tables a single component may define (the module's own plus shim tables).
const MAX_TABLES_PER_COMPONENT: u32 = 8;

/// Memory kept resident (not returned to the OS) in a pool slot between calls:
/// resetting it is then a copy or `memset` instead of an `madvise` + page faults.
/// Rust components dirty well under 1 MiB per call.
const KEEP_RESIDENT_BYTES: usize = 1 << 20;

/// WebAssembly stack a call may use before it traps as a stack overflow.
const MAX_WASM_STACK_BYTES: usize = 512 << 10;

/// Native fiber stack per call; must exceed [`MAX_WASM_STACK_BYTES`] plus what host
/// functions need.
const ASYNC_STACK_BYTES: usize = 2 << 20;

/// How the plugin engine is set up. `Default` suits a server on this class of
/// machine; tests and the CLI change single fields.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Plugin calls (instances) that may exist at the same time; the pool size.
    pub max_concurrent_instances: u32,
    /// Upper bound for a plugin's linear memory (see [`MAX_PLUGIN_MEMORY_BYTES`]).
    pub max_memory_bytes: u64,
    /// Meter fuel, so each call reports the WebAssembly work it did and may be given
    /// a fuel budget. Costs some speed (typically 10-30 % of guest time).
    pub fuel: bool,
    /// Directory for wasmtime's on-disk compile cache; `None` keeps compiled code in
    /// memory only.
    pub cache_dir: Option<PathBuf>,
    /// Use the pooling allocator (the default). Off, each call allocates its memory
    /// with `mmap`; only useful to compare the two.
    pub pooling: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_concurrent_instances: DEFAULT_MAX_CONCURRENT_INSTANCES,
            max_memory_bytes: MAX_PLUGIN_MEMORY_BYTES,
            fuel: true,
            cache_dir: None,
            pooling: true,
        }
    }
}

/// The shared engine: cheap to clone, safe to use from any thread.
#[derive(Clone)]
pub struct PluginEngine {
    inner: Arc<EngineInner>,
}

struct EngineInner {
    engine: Engine,
    config: EngineConfig,
    /// Compiled components by sha256 digest (hex).
    compiled: Mutex<HashMap<String, Component>>,
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl PluginEngine {
    /// Build the engine and register it with the process's epoch ticker.
    pub fn new(config: EngineConfig) -> anyhow::Result<PluginEngine> {
        let mut wt = Config::new();
        wt.wasm_component_model(true)
            .epoch_interruption(true)
            .consume_fuel(config.fuel)
            .max_wasm_stack(MAX_WASM_STACK_BYTES)
            .async_stack_size(ASYNC_STACK_BYTES);
        if config.pooling {
            let instances = config.max_concurrent_instances.max(1);
            let mut pool = PoolingAllocationConfig::new();
            pool.total_component_instances(instances)
                .total_core_instances(
                    instances
                        .saturating_mul(CORE_INSTANCES_PER_CALL_SLOT)
                        .max(MAX_CORE_INSTANCES_PER_COMPONENT),
                )
                .total_memories(instances.saturating_mul(2))
                .total_tables(instances.saturating_mul(4))
                .total_stacks(instances)
                .max_core_instances_per_component(MAX_CORE_INSTANCES_PER_COMPONENT)
                .max_memories_per_component(MAX_MEMORIES_PER_COMPONENT)
                .max_tables_per_component(MAX_TABLES_PER_COMPONENT)
                .max_memory_size(usize::try_from(config.max_memory_bytes).unwrap_or(usize::MAX))
                .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
                .table_keep_resident(KEEP_RESIDENT_BYTES)
                .async_stack_keep_resident(64 << 10)
                // Where the kernel has `PAGEMAP_SCAN` (Linux 6.7+), a slot is reset
                // by restoring only the pages the call wrote, up to the resident
                // budget, and its pages stay mapped for the next call. Without it
                // the whole resident budget is cleared with `memset` and the rest
                // (the data image and the heap) is `madvise`d away, so every call
                // pays that `memset` plus a page fault per page it touches again:
                // about two thirds of a call on the benchmark's components.
                // Elsewhere wasmtime falls back to that behaviour by itself.
                .pagemap_scan(wasmtime::Enabled::Auto);
            wt.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
        }
        if let Some(dir) = &config.cache_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating compile cache directory {}", dir.display()))?;
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(dir);
            let cache = wasmtime::Cache::new(cache)
                .map_err(|e| anyhow::Error::from(e).context("opening the compile cache"))?;
            wt.cache(Some(cache));
        }
        let engine = Engine::new(&wt)
            .map_err(|e| anyhow::Error::from(e).context("configuring the WebAssembly engine"))?;
        epoch_ticker().register(engine.weak());
        Ok(PluginEngine {
            inner: Arc::new(EngineInner {
                engine,
                config,
                compiled: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The wasmtime engine.
    pub fn wasmtime(&self) -> &Engine {
        &self.inner.engine
    }

    /// How this engine was configured.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Compile `bytes` (whose sha256 is `digest`), reusing an earlier compilation of
    /// the same bytes. Returns the component and the time spent compiling (zero when
    /// it came from the in-memory cache).
    pub fn compile(&self, digest: &str, bytes: &[u8]) -> anyhow::Result<(Component, Duration)> {
        if let Some(found) = self.lock_compiled().get(digest) {
            return Ok((found.clone(), Duration::ZERO));
        }
        let started = Instant::now();
        let component = Component::new(&self.inner.engine, bytes)?;
        let took = started.elapsed();
        self.lock_compiled()
            .insert(digest.to_owned(), component.clone());
        Ok((component, took))
    }

    /// Drop the in-memory compilation of `digest` (after its version was removed).
    pub fn forget(&self, digest: &str) {
        self.lock_compiled().remove(digest);
    }

    fn lock_compiled(&self) -> std::sync::MutexGuard<'_, HashMap<String, Component>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.inner
            .compiled
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Ticks in a row without a plugin call before the ticker parks: 100 ms. A busy
/// server keeps it ticking (no wake-up to pay on each call); an idle one stops
/// waking up 500 times a second.
const IDLE_TICKS_BEFORE_PARKING: u32 = 50;

/// The process-wide epoch ticker: one thread increments the epoch of every live
/// engine every [`EPOCH_TICK_MS`] while a plugin call with a deadline may be
/// running, and parks when none has run for [`IDLE_TICKS_BEFORE_PARKING`] ticks.
struct EpochTicker {
    engines: Mutex<Vec<EngineWeak>>,
    /// Calls holding a [`Ticking`] guard now.
    in_flight: AtomicUsize,
    /// Guards taken since the process started; tells the ticker a call came and
    /// went between two of its ticks.
    started: AtomicU64,
    /// Ticks given so far.
    ticks: AtomicU64,
    thread: OnceLock<std::thread::Thread>,
}

fn epoch_ticker() -> &'static EpochTicker {
    static TICKER: OnceLock<&'static EpochTicker> = OnceLock::new();
    TICKER.get_or_init(|| {
        let ticker: &'static EpochTicker = Box::leak(Box::new(EpochTicker {
            engines: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
            thread: OnceLock::new(),
        }));
        let handle = std::thread::Builder::new()
            .name("lectern-epoch".into())
            .spawn(move || ticker.run())
            .expect("spawning the epoch ticker thread");
        let _ = ticker.thread.set(handle.thread().clone());
        ticker
    })
}

/// Keeps the epoch ticking while held: every store whose deadline rests on
/// epochs holds one for as long as its guest may run.
#[must_use = "the epoch only ticks while the guard is held"]
pub struct Ticking {
    ticker: &'static EpochTicker,
}

impl Drop for Ticking {
    fn drop(&mut self) {
        self.ticker.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl std::fmt::Debug for Ticking {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ticking")
    }
}

impl PluginEngine {
    /// Keeps the epoch ticking until the guard is dropped. Take it before the
    /// guest runs: a parked ticker is woken here, so its first tick comes one
    /// [`EPOCH_TICK_MS`] later and deadlines stay as exact as with a ticker that
    /// never parks.
    pub fn ticking(&self) -> Ticking {
        let ticker = epoch_ticker();
        ticker.started.fetch_add(1, Ordering::SeqCst);
        if ticker.in_flight.fetch_add(1, Ordering::SeqCst) == 0
            && let Some(thread) = ticker.thread.get()
        {
            // Only a flag swap unless the ticker is parked.
            thread.unpark();
        }
        Ticking { ticker }
    }
}

impl EpochTicker {
    fn register(&self, engine: EngineWeak) {
        self.engines
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(engine);
    }

    fn run(&self) -> ! {
        let tick = Duration::from_millis(EPOCH_TICK_MS);
        let mut idle_ticks = 0;
        let mut seen = self.started.load(Ordering::SeqCst);
        loop {
            if idle_ticks >= IDLE_TICKS_BEFORE_PARKING {
                // `ticking` raises `in_flight` before it unparks, and an unpark
                // that comes before `park` makes `park` return at once, so no
                // call can be left without ticks.
                while self.in_flight.load(Ordering::SeqCst) == 0 {
                    std::thread::park();
                }
                idle_ticks = 0;
            }
            std::thread::sleep(tick);
            let mut engines = self.engines.lock().unwrap_or_else(|p| p.into_inner());
            engines.retain(|weak| match weak.upgrade() {
                Some(engine) => {
                    engine.increment_epoch();
                    true
                }
                None => false,
            });
            drop(engines);
            self.ticks.fetch_add(1, Ordering::Relaxed);
            let started = self.started.load(Ordering::SeqCst);
            if started == seen && self.in_flight.load(Ordering::SeqCst) == 0 {
                idle_ticks += 1;
            } else {
                idle_ticks = 0;
                seen = started;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ticker_parks_when_idle_and_wakes_for_a_call() {
        let engine = PluginEngine::new(EngineConfig {
            max_concurrent_instances: 1,
            pooling: false,
            ..EngineConfig::default()
        })
        .expect("engine");
        let ticker = epoch_ticker();
        let tick = Duration::from_millis(EPOCH_TICK_MS);
        let idle_for = tick * IDLE_TICKS_BEFORE_PARKING;
        // Other tests in this process may take guards: look for a window in
        // which none did, long enough for the ticker to have parked, and check
        // that it gave no tick in its second half.
        let mut parked = false;
        for _ in 0..20 {
            let started = ticker.started.load(Ordering::SeqCst);
            std::thread::sleep(idle_for + tick * 10);
            let ticks = ticker.ticks.load(Ordering::SeqCst);
            std::thread::sleep(tick * 20);
            if ticker.started.load(Ordering::SeqCst) == started
                && ticker.in_flight.load(Ordering::SeqCst) == 0
            {
                assert_eq!(
                    ticker.ticks.load(Ordering::SeqCst),
                    ticks,
                    "the ticker kept ticking with no call in flight"
                );
                parked = true;
                break;
            }
        }
        assert!(parked, "never saw a quiet window to check parking in");

        // A guard wakes it: the first tick follows within a few intervals.
        let guard = engine.ticking();
        let woken_at = Instant::now();
        let before = ticker.ticks.load(Ordering::SeqCst);
        while ticker.ticks.load(Ordering::SeqCst) == before {
            assert!(
                woken_at.elapsed() < Duration::from_millis(20),
                "no epoch tick within 20 ms of taking a guard"
            );
            std::thread::sleep(Duration::from_micros(200));
        }
        drop(guard);
    }
}
