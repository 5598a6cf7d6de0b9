//! rnnc's kernel IR: what the interpreter executes and codegen translates.
//!
//! A [`Module`] holds functions of counted loops over typed registers and buffers, with
//! vector instructions (see [`module`](crate::Module)'s documentation for the invariants),
//! prints as text ([`InstDisplay`], `Display`) and parses back ([`parse_module`]).
//!
//! Verification is the only way to the types the consumers take, as naga's validator is
//! the only way to a `ModuleInfo`: [`verify`] checks a module and returns it as [`Valid`]
//! (the interpreter runs it), [`verify_legal`] as [`Legal`] (machine vector widths only, no
//! `tanh`: codegen translates it). The pass pipeline verifies after every pass and hands
//! out the last verification's value, so nothing downstream checks legality again.
//!
//! This crate depends on nothing of rnnc's: the interpreter and the code generator, which
//! must not share a bug, both see only it.

pub mod builder;
mod module;
mod parse;
mod size;
mod types;
mod verify;
mod write;

pub use module::*;
pub use parse::{ParseError, parse_module};
pub use size::Size;
pub use types::{MAX_LANES, Scalar, Target, Type};
pub use verify::{Entity, Level, Problem, VerifyError, verify_function, verify_module};
pub use write::InstDisplay;

/// A module the verifier accepted at [`Level::Any`]: every register is assigned before it
/// is read, every instruction is well typed, calls fit their callees. The interpreter runs
/// it.
#[derive(Clone, Debug, PartialEq)]
pub struct Valid(Module);

/// A module the verifier accepted at [`Level::Legal`]: also only machine vector widths and
/// no `tanh` or `slice`. Codegen translates it.
#[derive(Clone, Debug, PartialEq)]
pub struct Legal(Valid);

/// Verifies `module` for the interpreter.
pub fn verify(module: Module) -> Result<Valid, VerifyError> {
    verify_module(&module, Level::Any)?;
    Ok(Valid(module))
}

/// Verifies `module` for codegen.
pub fn verify_legal(module: Module) -> Result<Legal, VerifyError> {
    verify_module(&module, Level::Legal)?;
    Ok(Legal(Valid(module)))
}

impl Valid {
    /// The module.
    pub fn module(&self) -> &Module {
        &self.0
    }
    /// The module, to transform it (the result must be verified again).
    pub fn into_module(self) -> Module {
        self.0
    }
}

impl Legal {
    /// The module as the interpreter takes it.
    pub fn valid(&self) -> &Valid {
        &self.0
    }
    /// The module.
    pub fn module(&self) -> &Module {
        &self.0.0
    }
    /// The module as the interpreter takes it, by value.
    pub fn into_valid(self) -> Valid {
        self.0
    }
}

impl std::ops::Deref for Valid {
    type Target = Module;
    fn deref(&self) -> &Module {
        &self.0
    }
}

impl std::ops::Deref for Legal {
    type Target = Module;
    fn deref(&self) -> &Module {
        &self.0.0
    }
}

impl std::fmt::Display for Valid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for Legal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.0.fmt(f)
    }
}
