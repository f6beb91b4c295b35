//! [`Show`]: records printed the way Spark's `print()` prints them (Scala's `toString`):
//! tuples as `(a,b)`, options as `Some(x)`/`None`, grouped values as `CompactBuffer(..)`,
//! doubles with a decimal point.

use spate_core::Str;

/// Formats a record as Spark (Scala's `toString`) would.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be printed by `print()` or saved as text",
    label = "`{Self}` does not implement `Show`",
    note = "derive it: `#[derive(Show)]` prints a struct as Spark prints a case class, `Name(a,b)`; or use `show_via_display!({Self})` to print its `Display`"
)]
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
                // Scala (Java's Double.toString) prints 1.0 (not 1), NaN, Infinity, and
                // outside [1e-3, 1e7) the shortest digits as 1.0E20, 1.5E-4.
                let abs = self.abs();
                if self.is_infinite() {
                    out.push_str(if *self > 0.0 { "Infinity" } else { "-Infinity" });
                } else if self.is_nan() || abs == 0.0 || (1e-3..1e7).contains(&abs) {
                    let _ = write!(out, "{self:?}");
                } else {
                    let sci = format!("{self:e}");
                    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
                    out.push_str(mantissa);
                    if !mantissa.contains('.') {
                        out.push_str(".0");
                    }
                    out.push('E');
                    out.push_str(exp);
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

/// Implements [`Show`] through `Display` for the listed types: the fallback for a type
/// whose `Display` already is the text `print()` should show (Spark prints a record's
/// `toString`). For structs printed as Spark prints a case class, `#[derive(Show)]`.
///
/// ```
/// struct Celsius(f64);
/// impl std::fmt::Display for Celsius {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         write!(f, "{:.1}°C", self.0)
///     }
/// }
/// spate_streaming::show_via_display!(Celsius);
/// use spate_streaming::Show;
/// assert_eq!(Celsius(21.25).show(), "21.2°C");
/// ```
#[macro_export]
macro_rules! show_via_display {
    ($($t:ty),+ $(,)?) => {$(
        impl $crate::Show for $t {
            fn show_into(&self, out: &mut ::std::string::String) {
                use ::std::fmt::Write;
                let _ = ::std::write!(out, "{}", self);
            }
        }
    )+};
}

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

    #[test]
    fn doubles_print_as_java_prints_them() {
        // Java's Double.toString: plain in [1e-3, 1e7), else d.dddE<exp>.
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (0.00015, "1.5E-4"),
            (9_999_999.0, "9999999.0"),
            (10_000_000.0, "1.0E7"),
            (1.2345e20, "1.2345E20"),
            (-3e-10, "-3.0E-10"),
            (f64::MAX, "1.7976931348623157E308"),
            (f64::MIN_POSITIVE, "2.2250738585072014E-308"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (x, want) in cases {
            assert_eq!(x.show(), *want, "{x:e}");
        }
        assert_eq!(1e10f32.show(), "1.0E10");
        assert_eq!(0.5f32.show(), "0.5");
    }
}
