//! The expansion of `#[anyscope::main]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ItemFn;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(
            args,
            "#[anyscope::main] takes no options: the runtime is chosen by anyscope's features",
        ));
    }
    let mut func: ItemFn = syn::parse2(item)?;
    if func.sig.asyncness.take().is_none() {
        return Err(syn::Error::new(func.sig.fn_token.span, "#[anyscope::main] needs an `async fn`"));
    }
    if !func.sig.inputs.is_empty() {
        return Err(syn::Error::new_spanned(&func.sig.inputs, "`main` takes no arguments"));
    }
    let body = &func.block;
    let (attrs, vis, sig) = (&func.attrs, &func.vis, &func.sig);
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            ::anyscope::run(async move #body)
        }
    })
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;

    #[test]
    fn main_becomes_a_sync_fn_that_runs_its_body() {
        let out = expand(
            quote!(),
            quote!(
                async fn main() -> u8 {
                    1
                }
            ),
        )
        .unwrap()
        .to_string();
        assert!(!out.contains("async fn"), "{out}");
        assert!(out.contains(":: anyscope :: run (async move"), "{out}");
    }

    #[test]
    fn bad_input_says_what_is_wrong() {
        let err = |args, item| expand(args, item).unwrap_err().to_string();
        assert!(
            err(
                quote!(),
                quote!(
                    fn main() {}
                )
            )
            .contains("needs an `async fn`")
        );
        assert!(
            err(
                quote!(flavor = "x"),
                quote!(
                    async fn main() {}
                )
            )
            .contains("takes no options")
        );
    }
}
