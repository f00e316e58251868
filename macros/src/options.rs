//! The options of `#[anyscope::test(..)]`.

use proc_macro2::{Ident, Span, TokenStream};
use syn::punctuated::Punctuated;
use syn::{Expr, LitBool, LitInt, Token};

/// The runtimes a test can run on: (option name, test name, `RuntimeKind` variant, gate macro).
pub(crate) const RUNTIMES: [(&str, &str, &str); 5] = [
    ("tokio", "Tokio", "__if_tokio"),
    ("tokio_current_thread", "TokioCurrentThread", "__if_tokio"),
    ("tokio_paused", "TokioPaused", "__if_tokio_paused"),
    ("smol", "Smol", "__if_smol"),
    ("sim", "Sim", "__if_sim"),
];

/// Runtimes when the attribute names none.
const DEFAULT_RUNTIMES: [&str; 3] = ["tokio", "smol", "sim"];

pub(crate) struct Options {
    /// Indexes into [`RUNTIMES`], in the order given.
    pub(crate) runtimes: Vec<usize>,
    pub(crate) seed: Option<LitInt>,
    pub(crate) time_limit: Option<Expr>,
    pub(crate) leak_check: bool,
}

fn runtime_index(name: &Ident) -> syn::Result<usize> {
    RUNTIMES.iter().position(|(n, ..)| name == n).ok_or_else(|| {
        let known: Vec<_> = RUNTIMES.iter().map(|(n, ..)| *n).collect();
        syn::Error::new(
            name.span(),
            format!("unknown runtime `{name}`: expected one of {}", known.join(", ")),
        )
    })
}

pub(crate) fn parse(args: TokenStream) -> syn::Result<Options> {
    let mut opts = Options { runtimes: Vec::new(), seed: None, time_limit: None, leak_check: true };
    let mut named_runtimes = false;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("runtimes") {
            let value = meta.value()?;
            let content;
            syn::bracketed!(content in value);
            let names = Punctuated::<Ident, Token![,]>::parse_terminated(&content)?;
            if names.is_empty() {
                return Err(meta.error("`runtimes` names no runtime"));
            }
            for name in &names {
                let i = runtime_index(name)?;
                if opts.runtimes.contains(&i) {
                    return Err(syn::Error::new(name.span(), format!("runtime `{name}` is listed twice")));
                }
                opts.runtimes.push(i);
            }
            named_runtimes = true;
            Ok(())
        } else if meta.path.is_ident("seed") {
            let lit: LitInt = meta.value()?.parse()?;
            lit.base10_parse::<u64>()?;
            opts.seed = Some(lit);
            Ok(())
        } else if meta.path.is_ident("time_limit") {
            opts.time_limit = Some(meta.value()?.parse()?);
            Ok(())
        } else if meta.path.is_ident("leak_check") {
            opts.leak_check = meta.value()?.parse::<LitBool>()?.value;
            Ok(())
        } else {
            Err(meta.error("unknown option: expected `runtimes = [..]`, `seed = N`, `time_limit = <Duration>` or `leak_check = bool`"))
        }
    });
    syn::parse::Parser::parse2(parser, args)?;
    if !named_runtimes {
        opts.runtimes = DEFAULT_RUNTIMES
            .iter()
            .map(|n| runtime_index(&Ident::new(n, Span::call_site())))
            .collect::<syn::Result<_>>()?;
    }
    Ok(opts)
}
