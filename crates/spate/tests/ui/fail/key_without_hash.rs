// A key type without `Eq + Hash` in a pair operation: the error names the key type.
use spate::prelude::*;

#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Sensor {
    id: f64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ssc = StreamingContext::new(SpateConf::new(), seconds(1))?;
    let pairs = ssc
        .socket_text_stream("localhost", 9999)
        .map(|l| (Sensor { id: l.len() as f64 }, 1i64));
    pairs.reduce_by_key(|a, b| a + b).print();
    Ok(())
}
