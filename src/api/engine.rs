//! The public entry points: [`Engine`] compiles (through its cache), [`Kernel`] evaluates, and
//! [`evaluate`] is the short form of both.

use std::sync::{Arc, Mutex, OnceLock};

use crate::api::array::Array;
use crate::api::cache::{Cache, CacheStats};
use crate::api::kernels::Kernels;
use crate::api::vars::{IntoOut, Signature, Vars};
use crate::core::error::{Error, ErrorKind, Result};
use crate::core::view::RawView;
use crate::parse::{self, ast::KernelDef};
use crate::program::Program;

/// Compiles expressions into [`Kernel`]s and caches them.
///
/// Compiling the same expression for the same [`Signature`] twice returns the cached kernel.
/// An engine is `Send + Sync`; share one across threads.
///
/// ```
/// use numjit::{Engine, Vars};
/// let x = ndarray::Array1::linspace(-1.0, 1.0, 5);
/// let vars = Vars::new().with("x", &x);
/// let kernel = Engine::default().compile("where(x > 0, x, 0.1*x)", &vars.signature())?;
/// let y = kernel.eval(&vars)?;
/// assert_eq!(y.as_f64().unwrap()[[0]], -0.1);
/// # Ok::<(), numjit::Error>(())
/// ```
pub struct Engine {
    cache: Mutex<Cache<Compiled>>,
    /// The code generator of this engine's compiles (`None`: the process-wide [`crate::tier`]).
    tier: Option<crate::Tier>,
}

impl Default for Engine {
    /// An engine caching up to 256 kernels.
    fn default() -> Engine {
        Engine::with_cache_capacity(256)
    }
}

impl Engine {
    /// An engine whose cache holds at most `capacity` kernels (at least 1).
    ///
    /// ```
    /// let engine = numjit::Engine::with_cache_capacity(16);
    /// assert_eq!(engine.cache_stats().len, 0);
    /// ```
    pub fn with_cache_capacity(capacity: usize) -> Engine {
        Engine {
            cache: Mutex::new(Cache::new(capacity)),
            tier: None,
        }
    }

    /// This engine with every kernel it compiles from now on compiled by `tier`, whatever
    /// [`crate::set_tier`] and `NUMJIT_TIER` say (`Tier::Llvm` needs feature `llvm`; without
    /// it, compiling is an error of kind `value`).
    ///
    /// ```
    /// use numjit::{Engine, Tier, Vars};
    /// let engine = Engine::default().with_tier(Tier::Cranelift);
    /// let a = ndarray::arr1(&[1.0, 2.0]);
    /// let vars = Vars::new().with("a", &a);
    /// assert_eq!(engine.compile("sum(a)", &vars.signature())?.eval(&vars)?.as_f64().unwrap()[[]], 3.0);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn with_tier(mut self, tier: crate::Tier) -> Engine {
        self.tier = Some(tier);
        self
    }

    /// Compiles `expr` for inputs described by `sig` (or returns the cached kernel).
    ///
    /// ```
    /// use numjit::{DType, Engine, Signature};
    /// let k = Engine::default().compile("sum(a * b)", &Signature::new().with("a", DType::Float64, 1).with("b", DType::Float64, 1))?;
    /// assert_eq!(k.dtype(), Some(DType::Float64));
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn compile(&self, expr: &str, sig: &Signature) -> Result<Kernel> {
        self.compile_cached(expr, expr, sig, &[])
    }

    /// [`Engine::compile`] for a program that may also call `kernels` (as if it began with
    /// their definitions).
    ///
    /// ```
    /// use numjit::{Engine, Kernels, Vars};
    /// let mut kernels = Kernels::new();
    /// kernels.define("def half(a):\n    return a / 2")?;
    /// let x = ndarray::arr1(&[2.0, 4.0]);
    /// let vars = Vars::new().with("x", &x);
    /// let k = Engine::default().compile_with("half(x) + 1", &vars.signature(), &kernels)?;
    /// assert_eq!(k.eval(&vars)?.to_f64().into_raw_vec_and_offset().0, vec![2.0, 3.0]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn compile_with(&self, expr: &str, sig: &Signature, kernels: &Kernels) -> Result<Kernel> {
        if kernels.defs().is_empty() {
            return self.compile(expr, sig);
        }
        let key = format!("{}\u{0}{expr}", kernels.key());
        self.compile_cached(&key, expr, sig, kernels.defs())
    }

    fn compile_cached(
        &self,
        key: &str,
        expr: &str,
        sig: &Signature,
        kernels: &[KernelDef],
    ) -> Result<Kernel> {
        if let Some(hit) = self.lock().get(key, sig) {
            return Ok(Kernel { inner: hit });
        }
        // Compile outside the lock: other threads keep evaluating cached kernels meanwhile.
        let compiled = crate::codegen::with_tier(self.tier, || Compiled::new(expr, sig, kernels))
            .map_err(|e| e.with_source(expr))?;
        let compiled = Arc::new(compiled);
        self.lock().insert(key, sig, compiled.clone());
        Ok(Kernel { inner: compiled })
    }

    /// Cache counters.
    ///
    /// ```
    /// assert_eq!(numjit::Engine::default().cache_stats().compiled, 0);
    /// ```
    pub fn cache_stats(&self) -> CacheStats {
        self.lock().stats
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache<Compiled>> {
        // A panic while holding the lock cannot leave the map inconsistent (inserts are single
        // calls), so a poisoned lock is still usable.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Evaluates `expr` with `vars` and returns a new array.
///
/// The short form of `Engine::compile(expr, &vars.signature())?.eval(vars)` on a process-wide
/// engine, so evaluating the same expression again reuses the compiled kernel.
///
/// ```
/// let a = ndarray::Array1::linspace(0.0, 1.0, 1000);
/// let vars = numjit::Vars::new().with("a", &a);
/// let b = numjit::evaluate("sin(2*pi*a)**2 + cos(2*pi*a)**2", &vars)?;
/// assert!(b.as_f64().unwrap().iter().all(|v| (v - 1.0).abs() < 1e-15));
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn evaluate(expr: &str, vars: &Vars) -> Result<Array> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE
        .get_or_init(Engine::default)
        .compile(expr, &vars.signature())?
        .eval(vars)
}

/// Runs a program (or an expression) with `vars` on a process-wide engine: the short form of
/// `Engine::compile(src, &vars.signature())?.run(vars)`. Outputs are arrays bound with
/// [`Vars::with_out`]; the result is the value of a final expression statement, if any.
///
/// ```
/// let x = ndarray::Array1::linspace(0.0, 1.0, 5);
/// let (mut lo, mut hi) = (ndarray::Array1::zeros(5), ndarray::Array1::zeros(5));
/// let vars = numjit::Vars::new().with("x", &x).with_out("lo", &mut lo).with_out("hi", &mut hi);
/// // Two outputs in one fused pass; `m` is computed inline, never stored.
/// numjit::run("m = 0.5 * x\nlo = m - 1\nhi = m + 1", &vars)?;
/// drop(vars);
/// assert_eq!((lo[4], hi[4]), (-0.5, 1.5));
/// # Ok::<(), numjit::Error>(())
/// ```
pub fn run(src: &str, vars: &Vars) -> Result<Option<Array>> {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE
        .get_or_init(Engine::default)
        .compile(src, &vars.signature())?
        .run(vars)
}

fn no_result() -> Error {
    Error::new(
        ErrorKind::Output,
        "the program ends with an assignment, so it has no value: call Kernel::run (or end it with an expression)",
    )
}

/// A compiled expression, ready to evaluate any number of times, from any thread.
///
/// Cloning is cheap (the code is shared).
#[derive(Clone)]
pub struct Kernel {
    inner: Arc<Compiled>,
}

pub(crate) struct Compiled {
    source: String,
    sig: Signature,
    /// Every source is a program; a lone expression is one whose single group is its result.
    program: Program,
}

impl Compiled {
    /// Compiles `src`; `kernels` come before the program's own.
    fn new(src: &str, sig: &Signature, kernels: &[KernelDef]) -> Result<Compiled> {
        let mut ast = parse::parse_program(src)?;
        if !kernels.is_empty() {
            ast.kernels.splice(0..0, kernels.iter().cloned());
        }
        Ok(Compiled {
            source: src.to_string(),
            sig: sig.clone(),
            program: Program::compile(&ast, sig)?,
        })
    }

    /// Binds `vars` and runs the program; errors point into the source.
    fn run(&self, vars: &Vars, reference: bool, out: Option<&RawView>) -> Result<Option<Array>> {
        self.program
            .bind(vars)
            .and_then(|views| self.program.run(views, reference, out))
            .map_err(|e| e.with_source(&self.source))
    }

    /// Runs the program for its value.
    fn value(&self, vars: &Vars, reference: bool) -> Result<Array> {
        if self.program.result_dtype().is_none() {
            return Err(no_result().with_source(&self.source));
        }
        self.run(vars, reference, None)?
            .ok_or_else(|| Error::new(ErrorKind::Internal, "evaluation produced no array"))
    }
}

impl std::fmt::Debug for Kernel {
    /// The source and the result dtype: `Kernel { source: "x * 2", dtype: Some(Int32) }`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("source", &self.inner.source)
            .field("dtype", &self.dtype())
            .finish()
    }
}

impl Kernel {
    /// Evaluates with `vars` (same names, dtypes and ranks as the signature; any sizes and
    /// strides) and returns a new array.
    ///
    /// ```
    /// use numjit::{DType, Engine, Signature, Vars};
    /// let k = Engine::default().compile("x * 2", &Signature::new().with("x", DType::Int32, 1))?;
    /// let x = ndarray::arr1(&[1, 2, 3]);
    /// let y: ndarray::ArrayD<i32> = k.eval(&Vars::new().with("x", &x))?.try_into()?;
    /// assert_eq!(y.as_slice().unwrap(), &[2, 4, 6]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn eval(&self, vars: &Vars) -> Result<Array> {
        self.inner.value(vars, false)
    }

    /// Evaluates into `out`, which must have exactly the result's shape and dtype (any strides).
    /// On error `out` is untouched.
    ///
    /// ```
    /// use numjit::{Engine, Vars};
    /// let x = ndarray::Array1::<f64>::linspace(0.0, 1.0, 4);
    /// let vars = Vars::new().with("x", &x);
    /// let k = Engine::default().compile("((.25*x + .75)*x - 1.5)*x - 2", &vars.signature())?;
    /// let mut out = ndarray::Array1::<f64>::zeros(4);
    /// k.eval_into(&vars, &mut out)?;
    /// assert_eq!(out[0], -2.0);
    /// let mut wrong = ndarray::Array1::<f32>::zeros(4);
    /// assert_eq!(k.eval_into(&vars, &mut wrong).unwrap_err().kind(), numjit::ErrorKind::Output);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn eval_into(&self, vars: &Vars, out: &mut impl IntoOut) -> Result<()> {
        let c = &self.inner;
        if c.program.result_dtype().is_none() {
            return Err(no_result().with_source(&c.source));
        }
        c.run(vars, false, Some(&out.out_view().0)).map(|_| ())
    }

    /// The shape of the result with `vars`, from their shapes alone (nothing is computed): for
    /// a caller that makes the output itself, such as a file of that shape
    /// ([`npy::create`](crate::npy::create)). `None` for a program of several statements,
    /// whose result may depend on what runs before it.
    ///
    /// ```
    /// use numjit::{Engine, Vars};
    /// let (x, y) = (ndarray::Array1::<f64>::zeros(3), ndarray::Array1::<f64>::zeros(4));
    /// let vars = Vars::new().with("x", &x).with("y", &y);
    /// let k = Engine::default().compile("x[:, None] * y - sum(x)", &vars.signature())?;
    /// assert_eq!(k.shape(&vars)?, Some(vec![3, 4]));
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn shape(&self, vars: &Vars) -> Result<Option<Vec<usize>>> {
        let c = &self.inner;
        c.program
            .bind(vars)
            .and_then(|views| crate::exec::program::result_shape(&c.program, views))
            .map_err(|e| e.with_source(&c.source))
    }

    /// Evaluates with the reference interpreter instead of the compiled code: slow, for testing.
    ///
    /// ```
    /// use numjit::{Engine, Vars};
    /// let x = ndarray::arr1(&[1.0, 4.0]);
    /// let vars = Vars::new().with("x", &x);
    /// let k = Engine::default().compile("sqrt(x)", &vars.signature())?;
    /// assert_eq!(k.eval_reference(&vars)?, k.eval(&vars)?);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn eval_reference(&self, vars: &Vars) -> Result<Array> {
        self.inner.value(vars, true)
    }

    /// The dtype of the result, or `None` for a program that ends in a statement (it has
    /// outputs and no value).
    ///
    /// ```
    /// let engine = numjit::Engine::default();
    /// let k = engine.compile("1 < 2", &numjit::Signature::new())?;
    /// assert_eq!(k.dtype(), Some(numjit::DType::Bool));
    /// let x = ndarray::arr1(&[1.0, 2.0]);
    /// let vars = numjit::Vars::new().with("x", &x);
    /// let k = engine.compile("y = 2 * x", &vars.signature())?;
    /// assert_eq!(k.dtype(), None);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn dtype(&self) -> Option<crate::DType> {
        self.inner.program.result_dtype()
    }

    /// Runs a program: writes its outputs (arrays bound with [`Vars::with_out`]) and returns
    /// the value of its last statement when that is an expression. Every shape is checked
    /// before the first write, so a failing program leaves the outputs untouched. A single
    /// expression runs as with [`Kernel::eval`].
    ///
    /// ```
    /// use numjit::{Engine, Vars};
    /// let mut u = ndarray::Array1::<f64>::zeros(5);
    /// let mut v = ndarray::Array1::<f64>::zeros(5);
    /// let src = "u[2] = 1\nfor step in range(3):\n    v[1:-1] = (u[:-2] + u[2:]) / 2\n    swap(u, v)";
    /// let vars = Vars::new().with_out("u", &mut u).with_out("v", &mut v);
    /// let k = Engine::default().compile(src, &vars.signature())?;
    /// k.run(&vars)?;
    /// drop(vars);
    /// assert_eq!(u.to_vec(), vec![0.0, 0.25, 0.0, 0.25, 0.0]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn run(&self, vars: &Vars) -> Result<Option<Array>> {
        self.inner.run(vars, false, None)
    }

    /// [`Kernel::run`] with the reference interpreter computing every value (slow, for tests).
    ///
    /// ```
    /// use numjit::{Engine, Vars};
    /// let mut y = ndarray::Array1::<f64>::zeros(2);
    /// let x = ndarray::arr1(&[1.0, 2.0]);
    /// let vars = Vars::new().with("x", &x).with_out("y", &mut y);
    /// Engine::default().compile("t = x * x; y = t + 1", &vars.signature())?.run_reference(&vars)?;
    /// drop(vars);
    /// assert_eq!(y.to_vec(), vec![2.0, 5.0]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn run_reference(&self, vars: &Vars) -> Result<Option<Array>> {
        self.inner.run(vars, true, None)
    }

    /// The expression this kernel computes.
    ///
    /// ```
    /// let k = numjit::Engine::default().compile("1 + 1", &numjit::Signature::new())?;
    /// assert_eq!(k.source(), "1 + 1");
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The signature it was compiled for.
    ///
    /// ```
    /// let k = numjit::Engine::default().compile("2", &numjit::Signature::new())?;
    /// assert!(k.signature().inputs().is_empty());
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn signature(&self) -> &Signature {
        &self.inner.sig
    }

    /// The optimized IR, one node per line (what the REPL's `:ir` prints).
    ///
    /// ```
    /// let k = numjit::Engine::default().compile("2 * pi", &numjit::Signature::new())?;
    /// assert!(k.ir().contains("const 6.283185307179586"));
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn ir(&self) -> String {
        self.inner.program.ir()
    }

    /// The Cranelift IR of every stage before Cranelift's own optimizations (the REPL's `:clif`).
    ///
    /// ```
    /// let sig = numjit::Signature::new().with("x", numjit::DType::Float64, 1);
    /// let k = numjit::Engine::default().compile("x + 1", &sig)?;
    /// assert!(k.clif()?.contains("fadd"));
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn clif(&self) -> Result<String> {
        self.inner.program.clif()
    }
}
