//! Writes the interface descriptions of the example contracts, as `wamp codegen` and
//! other tools read them: `examples/interfaces/calculator.json` and `home.json` (the home
//! service and the sensor topic it names).
//!
//! `cargo run -p examples --example export_interfaces [-- --out DIR]`

use std::path::PathBuf;

use clap::Parser;
use examples::calculator::CalculatorClient;
use examples::home::HomeClient;

#[derive(Debug, Parser)]
struct Args {
    /// The directory to write them to.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/interfaces"))]
    out: PathBuf,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    for (file, interface) in [
        ("calculator.json", CalculatorClient::interface()),
        ("home.json", HomeClient::interface()),
    ] {
        let path = args.out.join(file);
        std::fs::write(&path, interface.to_json_pretty() + "\n")?;
        println!("export_interfaces: wrote {}", path.display());
    }
    Ok(())
}
