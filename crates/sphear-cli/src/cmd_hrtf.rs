//! `sphear hrtf …`: HRTF inspection.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Subcommand;

/// `sphear hrtf` subcommands.
#[derive(Debug, Subcommand)]
pub enum HrtfCommand {
    /// Print convention, sample rate, number of directions, IR length and elevation range of a SOFA file.
    Info {
        /// The SOFA file.
        file: PathBuf,
    },
}

/// Run the command.
pub fn run(cmd: &HrtfCommand) -> Result<ExitCode> {
    match cmd {
        HrtfCommand::Info { file } => {
            let info = sphear_hrtf::sofa_info(file)?;
            println!("{info}");
            Ok(ExitCode::SUCCESS)
        }
    }
}
