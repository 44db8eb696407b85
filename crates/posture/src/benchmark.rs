//! Benchmarks as data: the CIS JSON files (Prowler's compliance format) give each requirement's
//! id, title, section, automated/manual status, remediation text and the scanner check ids it
//! maps to. Our checks carry the same ids where the control is the same, so one check serves
//! every benchmark version that names it.

use std::fs;
use std::path::Path;

use serde::Deserialize;

use crate::error::BenchmarkError;
use crate::inventory::Provider;

/// One benchmark (for example CIS AWS Foundations 3.0).
#[derive(Debug, Clone, PartialEq)]
pub struct Benchmark {
    /// Short key, the file stem: `cis_3.0_aws`.
    pub key: String,
    /// Framework name (`CIS`).
    pub framework: String,
    /// Full name from the file.
    pub name: String,
    /// Version (`3.0`).
    pub version: String,
    /// The cloud it applies to.
    pub provider: Provider,
    /// Requirements in file order.
    pub requirements: Vec<Requirement>,
}

/// One benchmark requirement (a CIS recommendation).
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    /// Requirement id (`1.4`, `2.1.1`).
    pub id: String,
    /// Title.
    pub title: String,
    /// Top-level section (`1 Identity and Access Management`).
    pub section: String,
    /// Sub-section, when the benchmark has one.
    pub subsection: Option<String>,
    /// Level 1 / Level 2.
    pub profile: String,
    /// Whether CIS marks the assessment as automated (otherwise manual).
    pub automated: bool,
    /// The scanner check ids the file maps to this requirement.
    pub scanner_checks: Vec<String>,
    /// Remediation procedure text.
    pub remediation: String,
    /// Rationale text.
    pub rationale: String,
}

impl Benchmark {
    /// Loads a benchmark file; the key is the file stem.
    pub fn load(path: &Path) -> Result<Benchmark, BenchmarkError> {
        let text = fs::read_to_string(path).map_err(|source| BenchmarkError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let key = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("benchmark")
            .to_string();
        Self::parse(&key, &text, path)
    }

    /// Parses a benchmark from its JSON text; `path` is only named in errors.
    pub fn parse(key: &str, text: &str, path: &Path) -> Result<Benchmark, BenchmarkError> {
        let key = key.to_string();
        let file: FileBenchmark =
            serde_json::from_str(text).map_err(|source| BenchmarkError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        let provider = match file.provider.to_ascii_lowercase().as_str() {
            "aws" => Provider::Aws,
            "azure" => Provider::Azure,
            _ => {
                return Err(BenchmarkError::Provider {
                    path: path.to_path_buf(),
                    provider: file.provider,
                })
            }
        };
        let requirements = file
            .requirements
            .into_iter()
            .map(|r| {
                let a = r.attributes.into_iter().next().unwrap_or_default();
                Requirement {
                    id: r.id,
                    title: r.description,
                    section: a.section,
                    subsection: a.sub_section.filter(|s| !s.is_empty()),
                    profile: a.profile,
                    automated: a.assessment_status.eq_ignore_ascii_case("automated"),
                    scanner_checks: r.checks,
                    remediation: a.remediation_procedure,
                    rationale: a.rationale_statement,
                }
            })
            .collect();
        Ok(Benchmark {
            key,
            framework: file.framework,
            name: file.name,
            version: file.version,
            provider,
            requirements,
        })
    }

    /// The four benchmarks shipped in the binary: CIS AWS 3.0 and 7.0, CIS Azure 3.0 and 6.0.
    pub fn builtin() -> Result<Vec<Benchmark>, BenchmarkError> {
        const FILES: &[(&str, &str)] = &[
            (
                "cis_3.0_aws",
                include_str!("../benchmarks/cis_3.0_aws.json"),
            ),
            (
                "cis_7.0_aws",
                include_str!("../benchmarks/cis_7.0_aws.json"),
            ),
            (
                "cis_3.0_azure",
                include_str!("../benchmarks/cis_3.0_azure.json"),
            ),
            (
                "cis_6.0_azure",
                include_str!("../benchmarks/cis_6.0_azure.json"),
            ),
        ];
        FILES
            .iter()
            .map(|(key, text)| Self::parse(key, text, Path::new(&format!("(built in) {key}.json"))))
            .collect()
    }

    /// Loads every `*.json` file of a directory, sorted by key.
    pub fn load_dir(dir: &Path) -> Result<Vec<Benchmark>, BenchmarkError> {
        let rd = fs::read_dir(dir).map_err(|source| BenchmarkError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut out = Vec::new();
        for e in rd {
            let e = e.map_err(|source| BenchmarkError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) == Some("json") {
                out.push(Benchmark::load(&p)?);
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// A short display label: `CIS AWS 3.0`.
    pub fn label(&self) -> String {
        let p = match self.provider {
            Provider::Aws => "AWS",
            Provider::Azure => "Azure",
        };
        format!("{} {} {}", self.framework, p, self.version)
    }

    /// Finds a requirement by id.
    pub fn requirement(&self, id: &str) -> Option<&Requirement> {
        self.requirements.iter().find(|r| r.id == id)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FileBenchmark {
    framework: String,
    name: String,
    version: String,
    provider: String,
    requirements: Vec<FileRequirement>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FileRequirement {
    id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    checks: Vec<String>,
    #[serde(default)]
    attributes: Vec<FileAttributes>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct FileAttributes {
    section: String,
    sub_section: Option<String>,
    profile: String,
    assessment_status: String,
    remediation_procedure: String,
    rationale_statement: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_benchmarks_are_the_shared_files() {
        let builtin = Benchmark::builtin().unwrap();
        let shared = Benchmark::load_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/cis"),
        )
        .unwrap();
        assert_eq!(builtin.len(), 4);
        for b in &builtin {
            let s = shared.iter().find(|s| s.key == b.key).unwrap();
            assert_eq!(b.requirements.len(), s.requirements.len(), "{}", b.key);
        }
    }
}
