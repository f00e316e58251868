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
        return Err(syn::Error::new_spanned(&func.sig.fn_token, "#[anyscope::main] needs an `async fn`"));
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
