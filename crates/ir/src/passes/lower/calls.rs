//! Calls between generated functions: a function that calls a list of others, through
//! groups of bounded size when the list is long (`forward` and `pack` of deep models), and
//! a call that passes the caller's parameters on by name. A leaf: it imports no other
//! module of `lower`.

use std::collections::HashMap;

use rnnc_kernel::{Call, Function, Param, Stmt};

/// Most calls one function makes: `forward` and `pack` of a deep model call groups of
/// layers (`forward_g0`, ...), so that no function grows with the number of layers.
const CALLS_PER_FUNCTION: usize = 32;

/// A function and the layers it covers.
pub(super) struct Callee {
    pub func: Function,
    pub layers: Vec<usize>,
}

/// The function `name`, which calls the per-layer `functions` in order, through groups of
/// at most [`CALLS_PER_FUNCTION`] calls when there are more; `signature` makes a caller of
/// some callees (its parameters include theirs, which calls pass on by name). Returns every
/// function, callees before callers.
pub(super) fn dispatch(
    name: &str,
    functions: Vec<Function>,
    signature: &dyn Fn(&str, &[Callee]) -> Callee,
) -> Vec<Function> {
    let mut level: Vec<Callee> = functions
        .into_iter()
        .enumerate()
        .map(|(l, func)| Callee {
            func,
            layers: vec![l],
        })
        .collect();
    let mut out = Vec::new();
    let mut depth = 0;
    loop {
        let top = level.len() <= CALLS_PER_FUNCTION;
        let mut next = Vec::new();
        for (i, chunk) in level.chunks(CALLS_PER_FUNCTION).enumerate() {
            let caller_name = if top {
                name.to_string()
            } else {
                format!("{name}_g{depth}_{i}")
            };
            let mut caller = signature(&caller_name, chunk);
            for callee in chunk {
                let call = call_by_name(&caller.func, &callee.func);
                caller.func.body.push(Stmt::Call(call));
            }
            next.push(caller);
        }
        out.extend(level.into_iter().map(|c| c.func));
        level = next;
        depth += 1;
        if top {
            out.extend(level.into_iter().map(|c| c.func));
            return out;
        }
    }
}

/// A call of `callee` from `caller` passing, for each of the callee's parameters, the
/// caller's parameter of the same name.
fn call_by_name(caller: &Function, callee: &Function) -> Call {
    let name_of = |func: &Function, p: &Param| match p {
        Param::Buf(b) => format!("@{}", func.buf(*b).name),
        Param::Scalar(r) => format!("%{}", func.reg(*r).name),
    };
    let mine: HashMap<String, Param> = caller
        .params
        .iter()
        .map(|p| (name_of(caller, p), *p))
        .collect();
    let args = callee
        .params
        .iter()
        .map(|p| mine[&name_of(callee, p)])
        .collect();
    Call {
        callee: callee.name.clone(),
        args,
    }
}
