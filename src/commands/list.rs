//! `list`: the built-in migrations, then the functions folder's own
//! migrations and runners (name, table, file:line), one line each.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::ListArgs;
use crate::js::Project;
use crate::migrations::{ALL, REGISTRY, user};

pub fn run(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    let width = REGISTRY.iter().map(|m| m.name().len()).max().unwrap_or(0);
    writeln!(out, "built-in (the VideoAI app's):")?;
    for m in REGISTRY {
        writeln!(out, "  {:width$}  {}", m.name(), m.description())?;
    }
    writeln!(out, "  --all runs: {}", ALL.join(", "))?;
    let Some(project) = Project::find(args.functions.as_deref()).map_err(anyhow::Error::msg)?
    else {
        writeln!(
            out,
            "\nno functions folder here (./convex, or --functions DIR)"
        )?;
        return Ok(ExitCode::SUCCESS);
    };
    let project = std::sync::Arc::new(project);
    writeln!(out, "\nyours ({}):", project.root.display())?;
    let mut any = false;
    for listing in user::list(&project)? {
        match listing.exports {
            Err(why) => writeln!(out, "  {}: does not load: {why}", listing.file)?,
            Ok(exports) => {
                let module = listing.file.trim_end_matches(".ts").trim_end_matches(".js");
                for (e, line) in exports {
                    let name = format!("{module}:{}", e.name);
                    match e.kind.as_str() {
                        "migration" => {
                            any = true;
                            writeln!(
                                out,
                                "  {name:30}  table {:18}  {}:{line}",
                                e.table.unwrap_or_default(),
                                listing.file
                            )?;
                        }
                        "runner" => {
                            any = true;
                            let list = match e.runner {
                                Some(l) => format!("runs {}", l.join(", ")),
                                None => "a generic runner".into(),
                            };
                            writeln!(out, "  {name:30}  {list}  {}:{line}", listing.file)?;
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if !any {
        writeln!(
            out,
            "  no migrations (migrations.define, makeMigration) found"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
