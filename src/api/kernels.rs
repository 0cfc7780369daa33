//! Kernels defined once and called from any program: what the REPL keeps between inputs and
//! what `@numjit.kernel` registers in Python.

use crate::core::error::Result;
use crate::parse::{self, ast::KernelDef};

/// A set of kernels (`def` blocks) that programs compiled with
/// [`Engine::compile_with`](crate::Engine::compile_with) may call, as if each program began
/// with their definitions. Errors inside a kernel point into the text it was defined in.
///
/// ```
/// use numjit::{Engine, Kernels, Vars};
/// let mut kernels = Kernels::new();
/// let names = kernels.define("def clip01(a):\n    if a < 0:\n        return 0.0\n    return minimum(a, 1.0)")?;
/// assert_eq!(names, ["clip01"]);
/// let x = ndarray::arr1(&[-1.0, 0.5, 3.0]);
/// let vars = Vars::new().with("x", &x);
/// let k = Engine::default().compile_with("clip01(x) * 2", &vars.signature(), &kernels)?;
/// assert_eq!(k.eval(&vars)?.to_f64().into_raw_vec_and_offset().0, vec![0.0, 1.0, 2.0]);
/// # Ok::<(), numjit::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Kernels {
    defs: Vec<KernelDef>,
    /// Every definition's text, in order.
    texts: Vec<String>,
    /// The texts joined: part of the cache key of what is compiled with them (made once per
    /// definition, not once per compile).
    key: String,
}

impl Kernels {
    /// No kernels.
    ///
    /// ```
    /// assert!(numjit::Kernels::new().names().is_empty());
    /// ```
    pub fn new() -> Kernels {
        Kernels::default()
    }

    /// Parses `src`, which holds only `def` blocks, and adds its kernels; a kernel of a name
    /// already defined replaces it (in its place, so the kernels defined after it call the new
    /// one). Returns the names defined. On an error nothing changes.
    ///
    /// ```
    /// let mut k = numjit::Kernels::new();
    /// assert_eq!(k.define("def sq(a):\n    return a * a")?, ["sq"]);
    /// assert!(k.define("sq(2)").is_err(), "statements are not definitions");
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn define(&mut self, src: &str) -> Result<Vec<String>> {
        let defs = parse::parse_kernels(src)?;
        let names = defs.iter().map(|d| d.name.clone()).collect();
        for def in defs {
            match self.defs.iter().position(|d| d.name == def.name) {
                Some(i) => {
                    self.defs[i] = def;
                    self.texts[i] = src.to_string();
                }
                None => {
                    self.defs.push(def);
                    self.texts.push(src.to_string());
                }
            }
        }
        self.key = self.texts.join("\u{0}");
        Ok(names)
    }

    /// The names of the kernels, in definition order.
    ///
    /// ```
    /// let mut k = numjit::Kernels::new();
    /// k.define("def a(x):\n    return x\ndef b(x):\n    return a(x)")?;
    /// assert_eq!(k.names(), ["a", "b"]);
    /// # Ok::<(), numjit::Error>(())
    /// ```
    pub fn names(&self) -> Vec<&str> {
        self.defs.iter().map(|d| d.name.as_str()).collect()
    }

    pub(crate) fn defs(&self) -> &[KernelDef] {
        &self.defs
    }

    /// What tells compiled programs apart in the cache: the definitions' texts.
    pub(crate) fn key(&self) -> &str {
        &self.key
    }
}
