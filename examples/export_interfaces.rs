//! Writes the interface descriptions of the example contracts, as `wamp codegen` and
//! other tools read them: `examples/interfaces/calculator.json` and `home.json` (the home
//! service and the sensor topic it names); and the TypeScript client the browser page
//! uses, generated from them as `wamp codegen typescript` does (`examples/web/services.ts`).
//!
//! `cargo run -p examples --example export_interfaces [-- --out DIR --web DIR]`

use std::path::PathBuf;

use clap::Parser;
use examples::calculator::CalculatorClient;
use examples::home::HomeClient;
use wamp_cli::codegen::{typescript, Contract};

#[derive(Debug, Parser)]
struct Args {
    /// The directory to write them to.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/interfaces"))]
    out: PathBuf,
    /// The directory of the browser page, for its generated client.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/web"))]
    web: PathBuf,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)?;
    let interfaces = [CalculatorClient::interface(), HomeClient::interface()];
    for (file, interface) in ["calculator.json", "home.json"].iter().zip(&interfaces) {
        let path = args.out.join(file);
        std::fs::write(&path, interface.to_json_pretty() + "\n")?;
        println!("export_interfaces: wrote {}", path.display());
    }
    let contract = Contract::from_interfaces(&interfaces);
    let path = args.web.join("services.ts");
    std::fs::write(&path, typescript::generate(&contract))?;
    println!("export_interfaces: wrote {}", path.display());
    Ok(())
}
