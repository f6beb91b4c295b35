//! `#[derive(Show)]`: prints a record the way Spark prints a Scala case class, so a
//! ported job's `print()` output reads the same: `PageView(http://a.com/,200,94709,3)` for
//! a struct (its fields' `Show` text joined by commas, no spaces), `Name` for a unit
//! struct or variant, and the variant's name for an enum's variant.
//!
//! The generated impl names the trait as `::spate::streaming::Show` (the facade). A crate
//! that depends on `spate-streaming` directly says so with
//! `#[show(crate = "spate_streaming")]`.

use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::{parse_macro_input, Data, DeriveInput, Fields, LitStr};

/// Derives `Show` (see the crate documentation).
#[proc_macro_derive(Show, attributes(show))]
pub fn derive_show(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match expand(input) {
        Ok(ts) => ts.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn trait_path(input: &DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let mut path = quote!(::spate::streaming::Show);
    for attr in &input.attrs {
        if !attr.path().is_ident("show") {
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let krate: LitStr = meta.value()?.parse()?;
                let krate: syn::Path = krate.parse()?;
                path = quote!(#krate::Show);
                Ok(())
            } else {
                Err(meta.error("unknown `show` attribute (expected `crate = \"...\"`)"))
            }
        })?;
    }
    Ok(path)
}

/// The statements that append `Name(f1,f2,...)` for fields bound to `names`.
fn show_fields(
    show: &proc_macro2::TokenStream,
    label: &str,
    names: &[proc_macro2::Ident],
) -> proc_macro2::TokenStream {
    if names.is_empty() {
        return quote! { out.push_str(#label); };
    }
    let open = format!("{label}(");
    let parts = names.iter().enumerate().map(|(i, n)| {
        let sep = (i > 0).then(|| quote! { out.push(','); });
        quote! { #sep #show::show_into(#n, out); }
    });
    quote! {
        out.push_str(#open);
        #(#parts)*
        out.push(')');
    }
}

fn bindings(fields: &Fields) -> (proc_macro2::TokenStream, Vec<proc_macro2::Ident>) {
    match fields {
        Fields::Named(f) => {
            let ids: Vec<_> = f.named.iter().filter_map(|x| x.ident.clone()).collect();
            (quote!({ #(#ids),* }), ids)
        }
        Fields::Unnamed(f) => {
            let ids: Vec<_> = (0..f.unnamed.len())
                .map(|i| format_ident!("f{i}"))
                .collect();
            (quote!(( #(#ids),* )), ids)
        }
        Fields::Unit => (quote!(), Vec::new()),
    }
}

fn expand(input: DeriveInput) -> syn::Result<proc_macro2::TokenStream> {
    let show = trait_path(&input)?;
    let name = &input.ident;
    let mut generics = input.generics.clone();
    for p in generics.type_params_mut() {
        p.bounds.push(syn::parse_quote!(#show));
    }
    let (impl_g, ty_g, where_g) = generics.split_for_impl();
    let body = match &input.data {
        Data::Struct(s) => {
            let (pat, ids) = bindings(&s.fields);
            let stmts = show_fields(&show, &name.to_string(), &ids);
            quote! {
                let #name #pat = self;
                #stmts
            }
        }
        Data::Enum(e) => {
            let arms = e.variants.iter().map(|v| {
                let vname = &v.ident;
                let (pat, ids) = bindings(&v.fields);
                let stmts = show_fields(&show, &vname.to_string(), &ids);
                quote! { #name::#vname #pat => { #stmts } }
            });
            quote! {
                match self {
                    #(#arms)*
                }
            }
        }
        Data::Union(u) => {
            return Err(syn::Error::new(
                u.union_token.span,
                "Show cannot be derived for a union",
            ))
        }
    };
    Ok(quote! {
        impl #impl_g #show for #name #ty_g #where_g {
            #[allow(unused_variables)]
            fn show_into(&self, out: &mut ::std::string::String) {
                #body
            }
        }
    })
}
