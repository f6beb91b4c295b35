//! Compile tests (trybuild) for the walls a Spark port met: the natural Spark-shaped code
//! compiles (`ui/pass`), and the errors that remain name the user's own types and say
//! what to do (`ui/fail/*.stderr`).

#[test]
fn spark_shaped_code_compiles_and_errors_name_the_users_types() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
