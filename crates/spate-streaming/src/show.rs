//! [`Show`]: records printed the way Spark's `print()` prints them (Scala's `toString`):
//! tuples as `(a,b)`, options as `Some(x)`/`None`, grouped values as `CompactBuffer(..)`,
//! doubles with a decimal point.

use spate_core::Str;

/// Formats a record as Spark (Scala's `toString`) would.
pub trait Show {
    /// Appends the text to `out`.
    fn show_into(&self, out: &mut String);

    /// The text.
    fn show(&self) -> String {
        let mut s = String::new();
        self.show_into(&mut s);
        s
    }
}

macro_rules! show_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show_into(&self, out: &mut String) {
                use std::fmt::Write;
                let _ = write!(out, "{self}");
            }
        }
    )*};
}
show_display!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, bool, char, String, str, Str
);

macro_rules! show_float {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show_into(&self, out: &mut String) {
                use std::fmt::Write;
                // Scala prints 1.0 (not 1), NaN, Infinity.
                if self.is_infinite() {
                    out.push_str(if *self > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    let _ = write!(out, "{self:?}");
                }
            }
        }
    )*};
}
show_float!(f32, f64);

impl Show for () {
    fn show_into(&self, out: &mut String) {
        out.push_str("()");
    }
}

impl<T: Show + ?Sized> Show for &T {
    fn show_into(&self, out: &mut String) {
        (**self).show_into(out)
    }
}

impl<T: Show> Show for Option<T> {
    fn show_into(&self, out: &mut String) {
        match self {
            Some(v) => {
                out.push_str("Some(");
                v.show_into(out);
                out.push(')');
            }
            None => out.push_str("None"),
        }
    }
}

impl<T: Show> Show for Vec<T> {
    /// As the `CompactBuffer` Spark's `groupByKey` and `cogroup` produce.
    fn show_into(&self, out: &mut String) {
        out.push_str("CompactBuffer(");
        for (i, v) in self.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            v.show_into(out);
        }
        out.push(')');
    }
}

macro_rules! show_tuple {
    ($($n:ident),+) => {
        impl<$($n: Show),+> Show for ($($n,)+) {
            #[allow(non_snake_case)]
            fn show_into(&self, out: &mut String) {
                let ($($n,)+) = self;
                out.push('(');
                let mut first = true;
                $(
                    if !first { out.push(','); }
                    first = false;
                    $n.show_into(out);
                )+
                let _ = first;
                out.push(')');
            }
        }
    };
}
show_tuple!(A, B);
show_tuple!(A, B, C);
show_tuple!(A, B, C, D);
show_tuple!(A, B, C, D, E);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scala_to_string() {
        assert_eq!(("a".to_string(), 1i64).show(), "(a,1)");
        assert_eq!(
            (1u32, (Some(2.0f64), None::<i32>)).show(),
            "(1,(Some(2.0),None))"
        );
        assert_eq!(
            ("k", (vec![1, 2], Vec::<i32>::new())).show(),
            "(k,(CompactBuffer(1, 2),CompactBuffer()))"
        );
        assert_eq!(1.5f64.show(), "1.5");
    }
}
