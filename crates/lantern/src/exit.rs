//! How a failed command ends: its message and each cause on standard error, a backtrace only when asked for
//! (`--verbose`; `RUST_BACKTRACE`, which many shells set for every program, no longer turns each message into a
//! crash report), and an exit status that says what kind of failure it was.

use std::process::ExitCode;

/// The configuration or a spec is wrong (`lantern.yaml`, `LANTERN_*`, a dataset or dashboard file).
pub const BAD_CONFIG: u8 = 2;
/// The data a run read is wrong (a source file's row or column, a type that changed).
pub const BAD_DATA: u8 = 3;
/// Anything else that stopped a run (storage, network, a failed query).
pub const FAILED: u8 = 1;

/// The exit status for `error`, from the first cause whose kind is known.
pub fn status(error: &anyhow::Error) -> u8 {
    use lantern_core::Error as Core;
    use lantern_etl::EtlError as Etl;
    let core = |e: &Core| match e.kind() {
        Core::Config { .. } | Core::Spec { .. } => Some(BAD_CONFIG),
        _ => None,
    };
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<Core>()
            && let Some(code) = core(e)
        {
            return code;
        }
        if let Some(e) = cause.downcast_ref::<Etl>() {
            match e {
                Etl::Config { .. } => return BAD_CONFIG,
                Etl::Source { .. } | Etl::TypeChanged { .. } => return BAD_DATA,
                Etl::Core(c) => {
                    if let Some(code) = core(c) {
                        return code;
                    }
                }
                _ => {}
            }
        }
    }
    FAILED
}

/// Prints `error` as a message with its causes (and its backtrace when `verbose`) and gives its exit status.
pub fn report(error: &anyhow::Error, verbose: bool) -> ExitCode {
    eprintln!("error: {error}");
    for cause in error.chain().skip(1) {
        // A cause already quoted in full by the message above adds nothing.
        if !error.to_string().contains(&cause.to_string()) {
            eprintln!("  caused by: {cause}");
        }
    }
    if verbose {
        eprintln!("\n{}", error.backtrace());
    }
    ExitCode::from(status(error))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_failure_has_its_status() {
        let config = anyhow::Error::from(lantern_core::Error::Config {
            key: "server.port".into(),
            message: "`nope` is not a port".into(),
        })
        .context("loading lantern.yaml");
        assert_eq!(status(&config), BAD_CONFIG, "found through the context");
        let wrapped = anyhow::Error::from(lantern_core::Error::NotFound {
            kind: "dataset",
            id: "x".into(),
        })
        .context("while loading");
        assert_eq!(status(&wrapped), FAILED);
        let row = anyhow::Error::from(lantern_etl::EtlError::Source {
            file: "orders.csv".into(),
            row: Some(7),
            column: Some("amount".into()),
            message: "`x` is not a number".into(),
        });
        assert_eq!(status(&row), BAD_DATA);
    }
}
