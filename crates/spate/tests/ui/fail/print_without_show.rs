// Printing a struct that has no `Show`: the error names the struct and says how to fix it.
use spate::prelude::*;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct PageView {
    url: String,
    status: i32,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ssc = StreamingContext::new(SpateConf::new(), seconds(1))?;
    let views = ssc
        .socket_text_stream("localhost", 9999)
        .map(|l| PageView { url: l.to_string(), status: 200 });
    views.print();
    Ok(())
}
