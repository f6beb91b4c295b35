//! `#[derive(Show)]` prints records as Spark prints Scala case classes, so a ported job's
//! `print()` output reads the same; `show_via_display!` is the `Display` fallback.

use spate::prelude::*;
use spate::streaming::format_batch;

#[derive(Clone, serde::Serialize, serde::Deserialize, Show)]
struct PageView {
    url: String,
    status: i32,
    zip_code: i32,
    user_id: i32,
}

#[derive(Show)]
struct Pair<A, B>(A, B);

#[derive(Show)]
struct Marker;

#[derive(Show)]
enum Event {
    Click { x: i64, y: i64 },
    Scroll(f64),
    Idle,
}

struct Celsius(f64);
impl std::fmt::Display for Celsius {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.1}C", self.0)
    }
}
spate::streaming::show_via_display!(Celsius);

#[test]
fn derived_show_reads_as_a_scala_case_class() {
    let v = PageView {
        url: "http://foo.com/".into(),
        status: 200,
        zip_code: 94709,
        user_id: 7,
    };
    assert_eq!(v.show(), "PageView(http://foo.com/,200,94709,7)");
    assert_eq!(Pair("a", Some(1.0)).show(), "Pair(a,Some(1.0))");
    assert_eq!(Marker.show(), "Marker");
    assert_eq!(Event::Click { x: 1, y: -2 }.show(), "Click(1,-2)");
    assert_eq!(Event::Scroll(1e8).show(), "Scroll(1.0E8)");
    assert_eq!(Event::Idle.show(), "Idle");
    // Inside tuples and vectors, as `print()` shows pairs and groups.
    assert_eq!(
        (3, vec![Marker, Marker]).show(),
        "(3,CompactBuffer(Marker, Marker))"
    );
    assert_eq!(Celsius(21.25).show(), "21.2C");
}

#[test]
fn print_of_a_derived_record_is_sparks_format() {
    let v = PageView {
        url: "http://bar.com/".into(),
        status: 404,
        zip_code: 95051,
        user_id: 12,
    };
    let text = format_batch(&[v], 10, Time(2000));
    assert_eq!(
        text,
        "-------------------------------------------\nTime: 2000 ms\n-------------------------------------------\nPageView(http://bar.com/,404,95051,12)\n\n"
    );
}
