// A record type that cannot cross processes: the error names it and says what to derive.
use spate::prelude::*;

#[derive(Clone)]
struct Reading {
    value: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ssc = StreamingContext::new(SpateConf::new(), seconds(1))?;
    let readings = ssc
        .socket_text_stream("localhost", 9999)
        .map(|l| Reading { value: l.len() as f64 });
    readings.count().print();
    Ok(())
}
