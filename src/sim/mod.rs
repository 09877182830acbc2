//! The Connect Pay simulator (axum): merchants, orders, consumers, fault injection and
//! an inspection endpoint. It shares no state with the client.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Address to listen on; port 0 lets the OS choose.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

pub fn run(_args: &SimArgs) -> ExitCode {
    eprintln!("the simulator is not built yet");
    ExitCode::from(2)
}
