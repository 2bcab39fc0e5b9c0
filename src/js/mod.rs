//! The embedded JavaScript engine: QuickJS, through `rquickjs`. Nothing
//! else in the crate knows that crate. A [`Worker`] is one runtime with a
//! project's modules; a worker thread keeps its own (runtimes are not
//! shared between threads).
//!
//! The sandbox is what a Convex mutation sees, made deterministic: no file,
//! network or process access (QuickJS has none unless given it), `Date.now()`
//! and `new Date()` read the run's clock, `Math.random()` and
//! `crypto.getRandomValues()` are seeded per call, time is UTC, and each
//! call has a time limit and the runtime a memory cap, so a loop or a
//! runaway allocation is an error, never a hang.

pub mod bridge;
mod modules;
pub mod project;
mod strip;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rquickjs::function::Rest;
use rquickjs::{
    CatchResultExt, CaughtError, Context, Ctx, Function, Object, Persistent, Promise, Runtime,
};

pub use project::{FunctionName, Project};
pub use strip::SyntaxError;

/// What a call may use of the machine.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time one call may take.
    pub call_time: Duration,
    /// Memory the runtime may hold.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            call_time: Duration::from_secs(10),
            memory: 512 << 20,
        }
    }
}

/// How user code reaches the snapshot (`ctx.db`). Values cross as bridge
/// JSON text ([`bridge`]); an `Err` is thrown into the calling code as an
/// `Error` with that message.
pub trait Host: 'static {
    fn get(
        &mut self,
        table: Option<&str>,
        id: &str,
        system: bool,
    ) -> Result<Option<String>, String>;
    fn query(&mut self, desc: &str, limit: Option<usize>) -> Result<String, String>;
    fn paginate(
        &mut self,
        desc: &str,
        num_items: f64,
        cursor: Option<&str>,
    ) -> Result<String, String>;
    fn insert(&mut self, table: &str, value: &str) -> Result<String, String>;
    fn patch(&mut self, table: Option<&str>, id: &str, patch: &str) -> Result<(), String>;
    fn replace(&mut self, table: Option<&str>, id: &str, value: &str) -> Result<(), String>;
    fn remove(&mut self, table: Option<&str>, id: &str) -> Result<(), String>;
    fn normalize_id(&mut self, table: &str, id: &str) -> Option<String>;
    /// Call `call` of the page used `ctx.db` for the first time: its writes
    /// from here on can roll back alone.
    fn begin(&mut self, call: u32);
    /// The call that began ends: its writes stay (`ok`) or roll back.
    fn end(&mut self, ok: bool);
    /// Applies the patches that calls which did not use `ctx.db` returned,
    /// in order: `patches[i]` to the document `ids[i]` of `table`, returned
    /// by call `calls[i]`. Gives the ones that failed, as JSON
    /// `[[call, message], ...]`.
    fn flush(
        &mut self,
        table: &str,
        calls: &[u32],
        ids: &[String],
        patches: &[String],
    ) -> Result<Option<String>, String>;
    /// A `console` line, printed during call `call` (when known).
    fn log(&mut self, call: Option<u32>, level: &str, text: &str);
    /// The host, to take it back after a call.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

type HostSlot = Rc<RefCell<Option<Box<dyn Host>>>>;

/// A failure of user code: its message and stack (`file:line:column` in
/// the user's files), or why it could not run.
#[derive(Debug, Clone, PartialEq)]
pub struct JsError {
    pub message: String,
    pub stack: Option<String>,
}

impl std::fmt::Display for JsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl JsError {
    fn new(message: impl Into<String>) -> JsError {
        JsError {
            message: message.into(),
            stack: None,
        }
    }

    /// The message with where it happened in the user's files, if known.
    pub fn with_location(&self) -> String {
        match self.stack.as_deref().and_then(user_frame) {
            Some(at) => format!("{} (at {at})", self.message),
            None => self.message.clone(),
        }
    }
}

/// The first frame of a stack that is in the user's files.
pub(crate) fn user_frame(stack: &str) -> Option<String> {
    stack.lines().map(str::trim).find_map(|line| {
        let at = line.strip_prefix("at ")?;
        let inside = at
            .rsplit_once(" (")
            .map(|(_, l)| l.trim_end_matches(')'))
            .unwrap_or(at);
        (!inside.starts_with("convex-snapshot:")
            && !inside.starts_with("convex/")
            && !inside.starts_with("@convex-dev/")
            && !inside.starts_with("convex-helpers/")
            && !inside.starts_with("_generated/"))
        .then(|| at.to_owned())
    })
}

/// One QuickJS runtime holding a project's modules. Fields drop in order:
/// the saved JavaScript values before the context, the context before the
/// runtime.
pub struct Worker {
    /// The loaded modules' namespaces, by file.
    namespaces: RefCell<Vec<(String, Persistent<Object<'static>>)>>,
    /// Each migration's `migrateOne` and table, by file and export.
    migrations: RefCell<Vec<((String, String), MigrationHandle)>>,
    /// The runtime module's `runPage`.
    run_page: Persistent<Function<'static>>,
    runtime_module: Persistent<Object<'static>>,
    context: Context,
    /// Kept for the worker's life: the context lives in it.
    runtime: Runtime,
    host: HostSlot,
    deadline: Rc<Cell<Option<Instant>>>,
    /// The call of the page that runs now.
    call: Rc<Cell<Option<u32>>>,
    limits: Limits,
    modules: modules::Modules,
}

/// A page that could not finish: the call it stopped in (when known) and
/// why. After `fatal` (out of memory) the worker should not be used again.
#[derive(Debug)]
pub struct PageAbort {
    pub call: Option<u32>,
    pub error: JsError,
    pub fatal: bool,
}

/// The bootstrap script: the deterministic clock, randomness and console,
/// before any module runs.
const BOOTSTRAP: &str = include_str!("stand_ins/bootstrap.js");

/// Bridge text from the host, as JavaScript receives it: plain text (`P`)
/// parsed by QuickJS's JSON parser straight from the UTF-8 (no JS string
/// made and turned back into UTF-8 first), tagged text (`T`) as a string
/// for `fromBridge` to untag. The values given this way (a document or
/// null, a list, a page) are never strings themselves.
struct Bridged(Option<String>);

impl<'js> rquickjs::IntoJs<'js> for Bridged {
    fn into_js(self, ctx: &Ctx<'js>) -> rquickjs::Result<rquickjs::Value<'js>> {
        match self.0 {
            None => Ok(rquickjs::Value::new_null(ctx.clone())),
            Some(text) => match text.strip_prefix('P') {
                Some(plain) => ctx.json_parse(plain),
                None => text.into_js(ctx),
            },
        }
    }
}

/// The heap size past which a page's allocations run QuickJS's cycle
/// collector (see [`Worker::run_page`]).
const PAGE_GC_THRESHOLD: usize = 64 << 20;

impl Worker {
    /// A runtime for `project`, with `now` (milliseconds since 1970) as its
    /// clock.
    pub fn new(project: Arc<Project>, now_ms: f64, limits: Limits) -> Result<Worker, JsError> {
        let err = |e: rquickjs::Error| {
            JsError::new(format!("the JavaScript engine failed to start: {e}"))
        };
        let runtime = Runtime::new().map_err(err)?;
        runtime.set_memory_limit(limits.memory);
        // Rayon's worker threads have 2 MiB stacks; QuickJS recurses on them.
        runtime.set_max_stack_size(1 << 20);
        let deadline: Rc<Cell<Option<Instant>>> = Rc::default();
        let watched = deadline.clone();
        runtime.set_interrupt_handler(Some(Box::new(move || {
            watched.get().is_some_and(|d| Instant::now() > d)
        })));
        let modules = modules::Modules { project };
        runtime.set_loader(modules.clone(), modules.clone());
        let context = Context::full(&runtime).map_err(err)?;
        let host: HostSlot = Rc::default();
        let call: Rc<Cell<Option<u32>>> = Rc::default();
        let runtime_module = context.with(|ctx| -> Result<_, JsError> {
            install_host(&ctx, &host, &call, &deadline, limits.call_time)
                .map_err(|e| caught(&ctx, e))?;
            let globals = ctx.globals();
            globals.set("__now", now_ms).map_err(|e| caught(&ctx, e))?;
            ctx.eval::<(), _>(BOOTSTRAP)
                .catch(&ctx)
                .map_err(from_caught)?;
            let ns = import(&ctx, "convex-snapshot:runtime")?;
            let run: Function = ns.get("runPage").map_err(|e| caught(&ctx, e))?;
            Ok((Persistent::save(&ctx, ns), Persistent::save(&ctx, run)))
        })?;
        let (runtime_module, run_page) = runtime_module;
        Ok(Worker {
            migrations: RefCell::new(Vec::new()),
            run_page,
            call,
            runtime,
            context,
            host,
            deadline,
            limits,
            modules,
            namespaces: RefCell::new(Vec::new()),
            runtime_module,
        })
    }

    /// The project this worker loads from.
    pub fn project(&self) -> &Project {
        &self.modules.project
    }

    /// Loads a module of the functions folder (`migrations.ts`) and gives
    /// its exports' metadata: which are registered functions, migrations and
    /// runners (see [`Export`]).
    pub fn exports(&self, file: &str) -> Result<Vec<Export>, JsError> {
        self.context.with(|ctx| {
            let ns = self.namespace(&ctx, file)?;
            let describe: Function = ctx
                .eval("(ns) => Object.keys(ns).sort().map((k) => { const v = ns[k]; const m = v && v.__migration; const r = v && v.__runner; const c = v && v.__convex; return JSON.stringify({ name: k, kind: m ? 'migration' : r ? 'runner' : c ? c.type : typeof v, visibility: c ? c.visibility : null, table: m ? m.table : null, runner: r ? r.list : null, style: m ? m.style : null }); })")
                .catch(&ctx)
                .map_err(from_caught)?;
            let list: Vec<String> = describe.call((ns,)).catch(&ctx).map_err(from_caught)?;
            list.iter()
                .map(|s| serde_json::from_str(s).map_err(|e| JsError::new(format!("internal: {e}"))))
                .collect()
        })
    }

    fn namespace<'js>(&self, ctx: &Ctx<'js>, file: &str) -> Result<Object<'js>, JsError> {
        if let Some((_, ns)) = self.namespaces.borrow().iter().find(|(f, _)| f == file) {
            return ns.clone().restore(ctx).map_err(|e| caught(ctx, e));
        }
        self.deadline
            .set(Some(Instant::now() + self.limits.call_time));
        let ns = import(ctx, file);
        self.deadline.set(None);
        let ns = ns?;
        self.namespaces
            .borrow_mut()
            .push((file.to_owned(), Persistent::save(ctx, ns.clone())));
        Ok(ns)
    }

    /// Runs `f` with `host` as `ctx.db`, then gives the host back.
    pub fn with_host<H: Host, T>(&mut self, host: H, f: impl FnOnce(&Worker) -> T) -> (T, H) {
        *self.host.borrow_mut() = Some(Box::new(host));
        let out = f(self);
        let host = self
            .host
            .borrow_mut()
            .take()
            .expect("the host is given back")
            .into_any()
            .downcast::<H>()
            .expect("the same host type");
        (out, *host)
    }

    /// Runs one page of the migration `export` of `file`, as the
    /// migrations component runs a batch: `docs` is the page as a JSON
    /// array (the documents `tagged` lists hold tagged values, see
    /// [`bridge`]), `seeds` four words per document for `Math.random()`.
    /// Calls in `skip` are not run. With `stop`, the page ends at the first
    /// call that throws. Gives the calls that threw.
    #[allow(clippy::too_many_arguments)]
    pub fn run_page(
        &self,
        file: &str,
        export: &str,
        docs: String,
        tagged: Vec<u32>,
        seeds: Vec<u32>,
        parallel: bool,
        stop: bool,
        skip: Vec<u32>,
    ) -> Result<Vec<(u32, JsError)>, PageAbort> {
        let abort = |error: JsError| PageAbort {
            call: None,
            error,
            fatal: false,
        };
        // QuickJS frees by reference counting and runs its cycle collector
        // whenever the heap grows to 1.5 times what the last run left; a
        // page's parsed documents crossed that on most pages (4.4% of a
        // document-only migration's samples). Reset before each page, the
        // collector runs only past this much (the memory cap still holds).
        self.runtime.set_gc_threshold(PAGE_GC_THRESHOLD);
        self.context.with(|ctx| {
            let (migrate_one, table) = self.migration_handle(&ctx, file, export).map_err(abort)?;
            let run = self
                .run_page
                .clone()
                .restore(&ctx)
                .map_err(|e| abort(caught(&ctx, e)))?;
            let seeds = rquickjs::TypedArray::<u32>::new(ctx.clone(), seeds)
                .map_err(|e| abort(caught(&ctx, e)))?;
            // Parsed by QuickJS's JSON parser straight from our UTF-8 text:
            // `JSON.parse` of a JS string would first make the string, then
            // turn it back into UTF-8 to parse it.
            let docs = ctx.json_parse(docs).map_err(|e| abort(caught(&ctx, e)))?;
            self.call.set(None);
            let result = run
                .call::<_, rquickjs::Value>((
                    migrate_one,
                    table,
                    docs,
                    tagged,
                    seeds,
                    u8::from(parallel) | (u8::from(stop) << 1),
                    skip,
                ))
                .catch(&ctx)
                .map_err(from_caught)
                .and_then(|v| match v.clone().into_promise() {
                    Some(p) => {
                        settle(&ctx, p.clone())?;
                        promise_value::<String>(&ctx, &p)
                    }
                    None => v
                        .as_string()
                        .and_then(|s| s.to_string().ok())
                        .ok_or_else(|| JsError::new("internal: runPage gave no result")),
                });
            let timed_out = self.timed_out();
            self.deadline.set(None);
            let call = self.call.take();
            let text = result.map_err(|e| {
                let fatal = e.message.contains("out of memory");
                PageAbort {
                    call,
                    error: self.explain(e, timed_out),
                    fatal,
                }
            })?;
            if text.is_empty() {
                return Ok(Vec::new());
            }
            let list: Vec<(u32, String, Option<String>)> = serde_json::from_str(&text)
                .map_err(|e| abort(JsError::new(format!("internal: a page's errors: {e}"))))?;
            Ok(list
                .into_iter()
                .map(|(i, message, stack)| {
                    let e = self.explain(JsError { message, stack }, false);
                    (i, e)
                })
                .collect())
        })
    }

    /// `migrateOne` and the table of a migration, looked up once.
    fn migration_handle<'js>(
        &self,
        ctx: &Ctx<'js>,
        file: &str,
        export: &str,
    ) -> Result<(Function<'js>, rquickjs::String<'js>), JsError> {
        let key = (file.to_owned(), export.to_owned());
        if let Some((_, (f, t))) = self.migrations.borrow().iter().find(|(k, _)| *k == key) {
            let f = f.clone().restore(ctx).map_err(|e| caught(ctx, e))?;
            let t = t.clone().restore(ctx).map_err(|e| caught(ctx, e))?;
            return Ok((f, t));
        }
        let ns = self.namespace(ctx, file)?;
        let target: Object = ns.get(export).map_err(|e| caught(ctx, e))?;
        let migration: Object = target.get("__migration").map_err(|e| caught(ctx, e))?;
        let migrate_one: Function = migration.get("migrateOne").map_err(|e| caught(ctx, e))?;
        let table: rquickjs::String = migration.get("table").map_err(|e| caught(ctx, e))?;
        self.migrations.borrow_mut().push((
            key,
            (
                Persistent::save(ctx, migrate_one.clone()),
                Persistent::save(ctx, table.clone()),
            ),
        ));
        Ok((migrate_one, table))
    }

    /// The query description (JSON) of a migration's `customRange`, or
    /// `None` when it has none.
    pub fn custom_range(&self, file: &str, export: &str) -> Result<Option<String>, JsError> {
        self.context.with(|ctx| {
            let ns = self.namespace(&ctx, file)?;
            let target: Object = ns.get(export).map_err(|e| caught(&ctx, e))?;
            let migration: Object = target.get("__migration").map_err(|e| caught(&ctx, e))?;
            let range: rquickjs::Value =
                migration.get("customRange").map_err(|e| caught(&ctx, e))?;
            if range.is_undefined() || range.is_null() {
                return Ok(None);
            }
            let table: String = migration.get("table").map_err(|e| caught(&ctx, e))?;
            let runtime = self
                .runtime_module
                .clone()
                .restore(&ctx)
                .map_err(|e| caught(&ctx, e))?;
            let apply: Function = runtime
                .get("customRangeQuery")
                .map_err(|e| caught(&ctx, e))?;
            let desc: String = apply
                .call((range, table))
                .catch(&ctx)
                .map_err(from_caught)?;
            Ok(Some(desc))
        })
    }

    /// Applies the JavaScript function `f` (source text) to the export
    /// `export` of `file`, and gives the string it returns.
    pub fn eval_export(&self, file: &str, export: &str, f: &str) -> Result<String, JsError> {
        self.context.with(|ctx| {
            let ns = self.namespace(&ctx, file)?;
            let target: rquickjs::Value = ns.get(export).map_err(|e| caught(&ctx, e))?;
            let f: Function = ctx.eval(f).catch(&ctx).map_err(from_caught)?;
            f.call((target,)).catch(&ctx).map_err(from_caught)
        })
    }

    /// The export `export` of `file`, and the runtime module's function
    /// `driver` that takes it.
    fn export_and_driver<'js>(
        &self,
        ctx: &Ctx<'js>,
        file: &str,
        export: &str,
        driver: &str,
    ) -> Result<(rquickjs::Value<'js>, Function<'js>), JsError> {
        let ns = self.namespace(ctx, file)?;
        let target: rquickjs::Value = ns.get(export).map_err(|e| caught(ctx, e))?;
        let runtime = self
            .runtime_module
            .clone()
            .restore(ctx)
            .map_err(|e| caught(ctx, e))?;
        let f: Function = runtime.get(driver).map_err(|e| caught(ctx, e))?;
        Ok((target, f))
    }

    /// A registered function's kind, visibility and validators, as JSON
    /// (`{type, visibility, args, returns}`), or `None` when the export is
    /// not a registered function.
    pub fn function_meta(&self, file: &str, export: &str) -> Result<Option<String>, JsError> {
        self.context.with(|ctx| {
            let (target, meta) = self.export_and_driver(&ctx, file, export, "functionMeta")?;
            let text: String = meta.call((target,)).catch(&ctx).map_err(from_caught)?;
            Ok((!text.is_empty()).then_some(text))
        })
    }

    /// Runs the registered function `export` of `file` once, with `args`
    /// (plain JSON text: numbers are Float64, as `npx convex run` sends
    /// them) and `seed` for `Math.random()`. Gives its return value as
    /// bridge text, or the error it threw.
    pub fn run_function(
        &self,
        file: &str,
        export: &str,
        args: &str,
        seed: [u32; 4],
    ) -> Result<String, JsError> {
        self.context.with(|ctx| {
            let (target, run) = self.export_and_driver(&ctx, file, export, "runFunction")?;
            let args = ctx
                .json_parse(args.to_owned())
                .map_err(|e| caught(&ctx, e))?;
            let seeds = rquickjs::TypedArray::<u32>::new(ctx.clone(), seed.to_vec())
                .map_err(|e| caught(&ctx, e))?;
            self.call.set(None);
            let result = run
                .call::<_, rquickjs::Value>((target, args, seeds))
                .catch(&ctx)
                .map_err(from_caught)
                .and_then(|v| match v.into_promise() {
                    Some(p) => {
                        settle(&ctx, p.clone())?;
                        promise_value::<String>(&ctx, &p)
                    }
                    None => Err(JsError::new("internal: runFunction gave no promise")),
                });
            let timed_out = self.timed_out();
            self.deadline.set(None);
            self.call.set(None);
            result.map_err(|e| self.explain(e, timed_out))
        })
    }

    /// A migration's settings: (table, batch size, parallelize).
    pub fn migration_settings(
        &self,
        file: &str,
        export: &str,
    ) -> Result<(String, f64, bool), JsError> {
        self.context.with(|ctx| {
            let ns = self.namespace(&ctx, file)?;
            let target: Object = ns.get(export).map_err(|e| caught(&ctx, e))?;
            let migration: Object = target.get("__migration").map_err(|e| caught(&ctx, e))?;
            let get = |k: &str| {
                migration
                    .get::<_, rquickjs::Value>(k)
                    .map_err(|e| caught(&ctx, e))
            };
            let table = get("table")?
                .as_string()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_default();
            let batch = get("batchSize")?.as_number().unwrap_or(100.0);
            let parallel = get("parallelize")?.as_bool().unwrap_or(false);
            Ok((table, batch, parallel))
        })
    }

    /// Names what stopped a call when QuickJS only says "interrupted".
    /// Whether the running call is past its time limit. The interrupt
    /// that stops it can leave its promise pending rather than rejected, so
    /// the error alone does not always say so.
    fn timed_out(&self) -> bool {
        self.deadline.get().is_some_and(|d| Instant::now() > d)
    }

    fn explain(&self, e: JsError, timed_out: bool) -> JsError {
        if timed_out || e.message.contains("interrupted") {
            JsError::new(format!(
                "took longer than {} s (an endless loop?); each call may take at most that long",
                self.limits.call_time.as_secs_f64()
            ))
        } else if e.message.contains("out of memory") {
            JsError::new(format!(
                "ran out of memory: the JavaScript engine may hold at most {} MiB",
                self.limits.memory >> 20
            ))
        } else {
            e
        }
    }
}

/// Imports a module and runs its top level to the end.
fn import<'js>(ctx: &Ctx<'js>, name: &str) -> Result<Object<'js>, JsError> {
    let promise = rquickjs::Module::import(ctx, name)
        .catch(ctx)
        .map_err(from_caught)?;
    settle(ctx, promise.clone())?;
    promise_value(ctx, &promise)
}

fn promise_value<'js, T: rquickjs::FromJs<'js>>(
    ctx: &Ctx<'js>,
    p: &Promise<'js>,
) -> Result<T, JsError> {
    match p.result::<T>() {
        Some(r) => r.catch(ctx).map_err(from_caught),
        None => Err(JsError::new("internal: the promise is still pending")),
    }
}

/// Drives the job queue until `p` settles; its rejection is the error.
fn settle<'js>(ctx: &Ctx<'js>, p: Promise<'js>) -> Result<(), JsError> {
    loop {
        match p.state() {
            rquickjs::promise::PromiseState::Resolved => return Ok(()),
            rquickjs::promise::PromiseState::Rejected => {
                return p
                    .result::<rquickjs::Value>()
                    .map_or(Ok(()), |r| r.catch(ctx).map(|_| ()).map_err(from_caught));
            }
            rquickjs::promise::PromiseState::Pending => {
                if !ctx.execute_pending_job() {
                    return Err(JsError::new(
                        "it never finished: it awaits something that cannot happen offline",
                    ));
                }
            }
        }
    }
}

fn caught(ctx: &Ctx<'_>, e: rquickjs::Error) -> JsError {
    from_caught(CaughtError::from_error(ctx, e))
}

fn from_caught(e: CaughtError<'_>) -> JsError {
    match e {
        CaughtError::Exception(ex) => JsError {
            message: ex
                .message()
                .unwrap_or_else(|| "an error without a message".into()),
            stack: ex.stack(),
        },
        CaughtError::Value(v) => {
            let text = v
                .as_string()
                .and_then(|s| s.to_string().ok())
                .unwrap_or_else(|| format!("{v:?}"));
            JsError::new(format!("threw a non-Error value: {text}"))
        }
        CaughtError::Error(e) => JsError::new(e.to_string()),
    }
}

/// `globalThis.__host`: the Rust side of `ctx.db` and `console`, and the
/// page driver's `tick` (a call begins: its time limit starts).
fn install_host(
    ctx: &Ctx<'_>,
    slot: &HostSlot,
    call: &Rc<Cell<Option<u32>>>,
    deadline: &Rc<Cell<Option<Instant>>>,
    call_time: Duration,
) -> rquickjs::Result<()> {
    let host = Object::new(ctx.clone())?;
    macro_rules! host_fn {
        ($name:literal, |$h:ident, $($arg:ident: $ty:ty),*| $body:expr) => {{
            let slot = slot.clone();
            host.set(
                $name,
                Function::new(ctx.clone(), move |ctx: Ctx<'_>, $($arg: $ty),*| {
                    let mut guard = slot.borrow_mut();
                    let Some($h) = guard.as_mut() else {
                        return Err(rquickjs::Exception::throw_message(&ctx, "ctx.db is not available here"));
                    };
                    let out = $body;
                    out.map_err(|m: String| rquickjs::Exception::throw_message(&ctx, &m))
                })?,
            )?;
        }};
    }
    host_fn!("get", |h,
                     table: Option<String>,
                     id: String,
                     system: bool| h
        .get(table.as_deref(), &id, system)
        .map(Bridged));
    host_fn!("query", |h, desc: String, limit: Option<f64>| h
        .query(&desc, limit.map(|l| l as usize))
        .map(|t| Bridged(Some(t))));
    host_fn!(
        "paginate",
        |h, desc: String, n: f64, cursor: Option<String>| h
            .paginate(&desc, n, cursor.as_deref())
            .map(|t| Bridged(Some(t)))
    );
    host_fn!("insert", |h, table: String, value: String| h
        .insert(&table, &value));
    host_fn!("patch", |h,
                       table: Option<String>,
                       id: String,
                       patch: String| h.patch(
        table.as_deref(),
        &id,
        &patch
    ));
    host_fn!("replace", |h,
                         table: Option<String>,
                         id: String,
                         value: String| h
        .replace(table.as_deref(), &id, &value));
    host_fn!("remove", |h, table: Option<String>, id: String| h
        .remove(table.as_deref(), &id));
    host_fn!(
        "normalizeId",
        |h, table: String, id: String| Ok::<_, String>(h.normalize_id(&table, &id))
    );
    host_fn!("begin", |h, call: u32| {
        h.begin(call);
        Ok::<_, String>(())
    });
    host_fn!("end", |h, ok: bool| {
        h.end(ok);
        Ok::<_, String>(())
    });
    // The `_id`s as a JSON array, the patches' texts joined by newlines.
    host_fn!("flush", |h,
                       table: String,
                       calls: Vec<u32>,
                       ids: String,
                       patches: String| {
        match serde_json::from_str::<Vec<String>>(&ids) {
            Err(e) => Err(format!("internal: the ids of a flush: {e}")),
            Ok(ids) => {
                let patches: Vec<String> = patches.split('\n').map(str::to_owned).collect();
                h.flush(&table, &calls, &ids, &patches)
            }
        }
    });
    {
        let slot = slot.clone();
        let call = call.clone();
        host.set(
            "log",
            Function::new(ctx.clone(), move |level: String, parts: Rest<String>| {
                if let Some(h) = slot.borrow_mut().as_mut() {
                    h.log(call.get(), &level, &parts.0.join(" "));
                }
            })?,
        )?;
    }
    {
        let call = call.clone();
        let deadline = deadline.clone();
        host.set(
            "tick",
            Function::new(ctx.clone(), move |i: u32| {
                call.set(Some(i));
                deadline.set(Some(Instant::now() + call_time));
            })?,
        )?;
    }
    ctx.globals().set("__host", host)
}

/// A migration's `migrateOne` and table, kept across calls.
type MigrationHandle = (
    Persistent<Function<'static>>,
    Persistent<rquickjs::String<'static>>,
);

/// What a module exports, as [`Worker::exports`] describes it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Export {
    pub name: String,
    /// `migration`, `runner`, `mutation`, `query`, `action`, `httpAction`,
    /// or the JavaScript type of anything else.
    pub kind: String,
    pub visibility: Option<String>,
    pub table: Option<String>,
    /// A runner's migrations (function names), `None` for a generic runner.
    pub runner: Option<Vec<String>>,
    pub style: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host that records what user code asked for.
    #[derive(Default)]
    struct Recorder {
        calls: Vec<String>,
        logs: Vec<String>,
    }

    impl Host for Recorder {
        fn get(
            &mut self,
            table: Option<&str>,
            id: &str,
            _system: bool,
        ) -> Result<Option<String>, String> {
            self.calls.push(format!("get {table:?} {id}"));
            Ok((id == "known").then(|| "P{\"_id\":\"known\",\"name\":\"Ada\"}".to_owned()))
        }
        fn query(&mut self, desc: &str, limit: Option<usize>) -> Result<String, String> {
            self.calls.push(format!("query {desc} {limit:?}"));
            Ok("P[]".into())
        }
        fn paginate(
            &mut self,
            desc: &str,
            n: f64,
            _cursor: Option<&str>,
        ) -> Result<String, String> {
            self.calls.push(format!("paginate {desc} {n}"));
            Ok("P{\"page\":[],\"isDone\":true,\"continueCursor\":\"\"}".into())
        }
        fn insert(&mut self, table: &str, value: &str) -> Result<String, String> {
            self.calls.push(format!("insert {table} {value}"));
            Ok("newid".into())
        }
        fn patch(&mut self, table: Option<&str>, id: &str, patch: &str) -> Result<(), String> {
            self.calls.push(format!("patch {table:?} {id} {patch}"));
            Ok(())
        }
        fn replace(&mut self, table: Option<&str>, id: &str, value: &str) -> Result<(), String> {
            self.calls.push(format!("replace {table:?} {id} {value}"));
            Ok(())
        }
        fn remove(&mut self, table: Option<&str>, id: &str) -> Result<(), String> {
            self.calls.push(format!("remove {table:?} {id}"));
            Ok(())
        }
        fn normalize_id(&mut self, _table: &str, id: &str) -> Option<String> {
            Some(id.to_owned())
        }
        fn begin(&mut self, call: u32) {
            self.calls.push(format!("begin {call}"));
        }
        fn end(&mut self, ok: bool) {
            self.calls.push(format!("end {ok}"));
        }
        fn flush(
            &mut self,
            table: &str,
            _calls: &[u32],
            ids: &[String],
            patches: &[String],
        ) -> Result<Option<String>, String> {
            for (id, p) in ids.iter().zip(patches) {
                self.calls.push(format!("patch Some({table:?}) {id} {p}"));
            }
            Ok(None)
        }
        fn log(&mut self, _call: Option<u32>, level: &str, text: &str) {
            self.logs.push(format!("{level}: {text}"));
        }
        fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
            self
        }
    }

    /// Runs `export` of `file` on one document (plain JSON text).
    fn one(
        w: &mut Worker,
        file: &str,
        export: &str,
        doc: &str,
        seed: [u32; 4],
    ) -> (Result<(), JsError>, Recorder) {
        let (r, host) = w.with_host(Recorder::default(), |w| {
            w.run_page(
                file,
                export,
                format!("[{doc}]"),
                Vec::new(),
                seed.to_vec(),
                false,
                false,
                Vec::new(),
            )
        });
        let r = match r {
            Ok(errors) => match errors.into_iter().next() {
                Some((_, e)) => Err(e),
                None => Ok(()),
            },
            Err(abort) => Err(abort.error),
        };
        (r, host)
    }

    fn project(files: &[(&str, &str)]) -> (tempfile::TempDir, Arc<Project>) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("convex");
        for (name, text) in files {
            let p = root.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let project = Arc::new(Project::at(&root));
        (dir, project)
    }

    const MIGRATIONS: &str = r#"
import { Migrations } from "@convex-dev/migrations";
import { components, internal } from "./_generated/api";
import type { DataModel } from "./_generated/dataModel";
import { Id } from "./_generated/dataModel";
import { internalMutation } from "./_generated/server";

export const migrations = new Migrations<DataModel>(components.migrations, { internalMutation });

export const setDefault = migrations.define({
  table: "users",
  migrateOne: async (ctx, user) => {
    if (user.plan === undefined) return { plan: "basic", n: 1n, gone: undefined, when: Date.now() };
  },
});

export const follow = migrations.define({
  table: "posts",
  batchSize: 7,
  migrateOne: async (ctx, post) => {
    const author = await ctx.db.get(post.author as Id<"users">);
    console.log("author", author, Math.random() < 1);
    await ctx.db.insert("audit", { post: post._id, bytes: new ArrayBuffer(2) });
    if (author) await ctx.db.patch("posts", post._id, { authorName: author.name });
  },
});

export const broken = migrations.define({
  table: "users",
  migrateOne: (ctx, user) => {
    return { when: new Date() };
  },
});

export const loops = migrations.define({ table: "users", migrateOne: () => { for (;;) {} } });

export const throws = migrations.define({
  table: "users",
  migrateOne: (ctx, user) => {
    if (!user.email) throw new Error(`no email on ${user._id}`);
  },
});

export const runAll = migrations.runner([internal.migrations.setDefault, internal.migrations.follow]);
"#;

    #[test]
    fn a_typescript_migration_file_loads_and_runs_with_its_host() {
        let (_dir, project) = project(&[("migrations.ts", MIGRATIONS)]);
        let limits = Limits {
            call_time: Duration::from_millis(300),
            ..Limits::default()
        };
        let mut w = Worker::new(project, 1_754_240_000_000.0, limits).unwrap();
        let exports = w.exports("migrations.ts").unwrap();
        let kinds: Vec<(&str, &str)> = exports
            .iter()
            .map(|e| (e.name.as_str(), e.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("broken", "migration"),
                ("follow", "migration"),
                ("loops", "migration"),
                ("migrations", "object"),
                ("runAll", "runner"),
                ("setDefault", "migration"),
                ("throws", "migration")
            ]
        );
        let run_all = exports.iter().find(|e| e.name == "runAll").unwrap();
        assert_eq!(
            run_all.runner.as_deref(),
            Some(
                &[
                    "migrations:setDefault".to_string(),
                    "migrations:follow".to_string()
                ][..]
            )
        );
        assert_eq!(
            w.migration_settings("migrations.ts", "follow").unwrap(),
            ("posts".into(), 7.0, false)
        );

        let (r, host) = one(
            &mut w,
            "migrations.ts",
            "setDefault",
            "{\"_id\":\"u1\",\"name\":\"x\"}",
            [1, 2, 3, 4],
        );
        r.unwrap();
        assert_eq!(
            host.calls,
            [
                r#"patch Some("users") u1 {"plan":"basic","n":{"$integer":"1"},"gone":{"$undefined":null},"when":1754240000000}"#
            ]
        );
        let (r, host) = one(
            &mut w,
            "migrations.ts",
            "follow",
            "{\"_id\":\"p1\",\"author\":\"known\"}",
            [1, 2, 3, 4],
        );
        r.unwrap();
        // The call's first use of ctx.db opens its layer; its end closes it.
        assert_eq!(host.calls[0], "begin 0");
        assert_eq!(host.calls[1], "get None known");
        assert_eq!(
            host.calls[2],
            r#"insert audit {"post":"p1","bytes":{"$bytes":"0000"}}"#
        );
        assert_eq!(
            host.calls[3],
            r#"patch Some("posts") p1 {"authorName":"Ada"}"#
        );
        assert_eq!(host.calls[4], "end true");
        assert_eq!(
            host.logs,
            [r#"log: author {"_id":"known","name":"Ada"} true"#]
        );

        let (r, _) = one(
            &mut w,
            "migrations.ts",
            "broken",
            "{\"_id\":\"u1\"}",
            [1, 2, 3, 4],
        );
        let err = r.unwrap_err();
        assert!(err.message.starts_with("Date \"2025-08-03T16:53:20.000Z\" is not a supported Convex type (present at path .when"), "{err:?}");
        let (r, _) = one(
            &mut w,
            "migrations.ts",
            "throws",
            "{\"_id\":\"u9\"}",
            [1, 2, 3, 4],
        );
        let err = r.unwrap_err();
        assert_eq!(err.message, "no email on u9");
        // The user's own file, line and column, through the TypeScript.
        assert!(
            err.stack
                .as_deref()
                .unwrap_or("")
                .contains("migrations.ts:40:"),
            "{err:?}"
        );
        let (r, _) = one(
            &mut w,
            "migrations.ts",
            "loops",
            "{\"_id\":\"u1\"}",
            [1, 2, 3, 4],
        );
        assert!(r.unwrap_err().message.contains("took longer than 0.3 s"));
        // The worker still works after an interrupted call.
        let (r, host) = one(
            &mut w,
            "migrations.ts",
            "setDefault",
            "{\"_id\":\"u2\",\"plan\":\"pro\"}",
            [1, 2, 3, 4],
        );
        r.unwrap();
        assert!(host.calls.is_empty());
    }

    #[test]
    fn errors_name_the_file_line_and_import() {
        let (_dir, project) = project(&[
            ("bad.ts", "export const x = {\n  a: 1,\n  b: ;\n};\n"),
            (
                "imports.ts",
                "import { nope } from \"./missing\";\nexport const y = nope;\n",
            ),
            (
                "pkg.ts",
                "import x from \"left-pad\";\nexport const z = x;\n",
            ),
        ]);
        let w = Worker::new(project, 1.0, Limits::default()).unwrap();
        let e = w.exports("bad.ts").unwrap_err();
        assert!(e.message.contains("bad.ts:3:"), "{e:?}");
        let e = w.exports("imports.ts").unwrap_err();
        assert!(
            e.message
                .contains("cannot import \"./missing\" from imports.ts"),
            "{e:?}"
        );
        let e = w.exports("pkg.ts").unwrap_err();
        assert!(
            e.message
                .contains("cannot import \"left-pad\" from pkg.ts: the package left-pad is not in"),
            "{e:?}"
        );
    }

    #[test]
    fn the_clock_randomness_and_time_zone_are_fixed() {
        let (_dir, project) = project(&[(
            "m.ts",
            "import { Migrations } from \"@convex-dev/migrations\";\nconst m = new Migrations({} as any);\nexport const t = m.define({ table: \"t\", migrateOne: () => ({ now: Date.now(), d: new Date().toString(), h: new Date(0).getHours(), r: Math.random(), u: crypto.randomUUID() }) });\n",
        )]);
        let mut w = Worker::new(project.clone(), 86_400_000.0 * 365.0, Limits::default()).unwrap();
        let run = |w: &mut Worker, seed| {
            let (r, host) = one(w, "m.ts", "t", "{\"_id\":\"a\"}", seed);
            r.unwrap();
            host.calls[0].clone()
        };
        let a = run(&mut w, [1, 2, 3, 4]);
        assert!(
            a.contains("\"d\":\"Fri Jan 01 1971 00:00:00 GMT+0000 (Coordinated Universal Time)\""),
            "{a}"
        );
        assert!(
            a.contains("\"h\":0") && a.contains("\"now\":31536000000"),
            "{a}"
        );
        assert_eq!(
            a,
            run(&mut w, [1, 2, 3, 4]),
            "the same seed, the same values"
        );
        assert_ne!(a, run(&mut w, [1, 2, 3, 5]));
        let mut other = Worker::new(project, 86_400_000.0 * 365.0, Limits::default()).unwrap();
        assert_eq!(a, run(&mut other, [1, 2, 3, 4]), "and in another runtime");
    }
}
