//! Connection settings for the commands that talk to Connect Pay: the base URL and
//! merchant id from a command-line flag, the environment (`PAYPRO_BASE_URL`,
//! `PAYPRO_MERCHANT_ID`) or a profile file, and the password from `PAYPRO_PASSWORD` or a
//! prompt with no echo.
//!
//! A profile file is TOML, one table per profile:
//!
//! ```toml
//! [default]
//! base_url = "https://demoapi.paypro.com.pk"
//! merchant_id = "acme"
//!
//! [staging]
//! base_url = "http://127.0.0.1:8080"
//! merchant_id = "demo"
//! min_amount = "1"            # the merchant's per-order limits, as PayPro set them:
//! max_amount = "1000000"      # orders outside them are invalid before sending
//! ```
//!
//! The password travels in query strings (the API's design), so a base URL with plain
//! `http://` is accepted only on this machine (loopback) unless `--insecure-http`.
//!
//! It never holds a password: a file with a password-like key anywhere is refused, so a
//! credential cannot sit in a file that gets copied, backed up or shared. Nothing here
//! prints or stores the password.

use crate::Secret;
use crate::domain::{AmountLimits, Money};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub const ENV_BASE_URL: &str = "PAYPRO_BASE_URL";
pub const ENV_MERCHANT: &str = "PAYPRO_MERCHANT_ID";
pub const ENV_PASSWORD: &str = "PAYPRO_PASSWORD";
pub const ENV_PROFILE: &str = "PAYPRO_PROFILE";
pub const ENV_CONFIG: &str = "PAYPRO_CONFIG";

/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";
/// The profile file's name inside the configuration directory.
pub const FILE_NAME: &str = "profiles.toml";

/// Keys a profile may have.
const PROFILE_KEYS: [&str; 4] = ["base_url", "merchant_id", "min_amount", "max_amount"];

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("profile file {}: cannot read it: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("profile file {}: not valid TOML: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error(
        "profile file {}: `{key}` looks like a password; profiles never hold one. \
         Remove it from the file (and change the password if the file was shared), \
         then give the password in {ENV_PASSWORD} or at the prompt",
        path.display()
    )]
    PasswordInProfile { path: PathBuf, key: String },
    #[error(
        "profile file {}: unknown key `{key}`; a profile has only base_url, merchant_id, \
         min_amount and max_amount",
        path.display()
    )]
    UnknownKey { path: PathBuf, key: String },
    #[error(
        "profile file {}: `{key}` = {value:?} is not an amount (a number with at most 2 \
         decimals, more than zero, such as \"1000000\" or \"0.50\")",
        path.display()
    )]
    BadAmount {
        path: PathBuf,
        key: String,
        value: String,
    },
    #[error(
        "profile file {}: profile \"{profile}\": min_amount {min} is above max_amount {max}",
        path.display()
    )]
    AmountRange {
        path: PathBuf,
        profile: String,
        min: String,
        max: String,
    },
    #[error(
        "base URL {url} is plain http:// to another machine: the merchant password travels in \
         its query strings and would cross the network readable by anyone on the way. Use \
         https://, or pass --insecure-http if this network is trusted"
    )]
    InsecureHttp { url: String },
    #[error("profile file {}: `{key}` must be a string", path.display())]
    NotAString { path: PathBuf, key: String },
    #[error("profile file {}: no profile named \"{name}\" (profiles: {available})", path.display())]
    NoProfile {
        path: PathBuf,
        name: String,
        available: String,
    },
    #[error(
        "profile \"{name}\" was asked for but there is no profile file {}; create it or drop --profile/{ENV_PROFILE}",
        path.display()
    )]
    NoProfileFile { path: PathBuf, name: String },
    #[error("no {what}: give {flag}, set {env}, or put {key} in a profile")]
    Missing {
        what: &'static str,
        flag: &'static str,
        env: &'static str,
        key: &'static str,
    },
    #[error(
        "no password: set {ENV_PASSWORD}, or run on a terminal to be asked for it (it is never stored)"
    )]
    NoPassword,
    #[error("the password is empty; nothing was sent")]
    EmptyPassword,
    #[error("cannot read the password from the terminal: {0}")]
    Prompt(std::io::Error),
}

/// The connection flags shared by the commands that send (`submit`, `resume`, `retry`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectionArgs {
    /// Connect Pay base URL, e.g. https://demoapi.paypro.com.pk [env: PAYPRO_BASE_URL]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Merchant id (user name) [env: PAYPRO_MERCHANT_ID]
    #[arg(long, value_name = "ID")]
    pub merchant: Option<String>,
    /// Profile to take the base URL and merchant id from [env: PAYPRO_PROFILE]
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Profile file (default: profiles.toml in the configuration directory)
    /// [env: PAYPRO_CONFIG]
    #[arg(long = "profiles", value_name = "FILE")]
    pub profiles_file: Option<PathBuf>,
    /// Allow a plain http:// base URL to another machine (the password travels in
    /// query strings; without this only loopback may use http://)
    #[arg(long)]
    pub insecure_http: bool,
}

/// Where a setting came from; a resumed run prefers its recorded base URL over one from
/// a profile, but not over one given explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Flag,
    Env,
    Profile,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub source: Source,
}

impl Setting {
    pub fn is_explicit(&self) -> bool {
        matches!(self.source, Source::Flag | Source::Env)
    }
}

/// Base URL and merchant id as far as flags, environment and profile give them, and
/// the merchant's amount limits when the profile has them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub base_url: Option<Setting>,
    pub merchant_id: Option<Setting>,
    pub amount_limits: Option<AmountLimits>,
}

impl Connection {
    pub fn require_base_url(&self) -> Result<&str, ConfigError> {
        self.base_url
            .as_ref()
            .map(|s| s.value.as_str())
            .ok_or(ConfigError::Missing {
                what: "Connect Pay base URL",
                flag: "--base-url",
                env: ENV_BASE_URL,
                key: "base_url",
            })
    }

    pub fn require_merchant(&self) -> Result<&str, ConfigError> {
        self.merchant_id
            .as_ref()
            .map(|s| s.value.as_str())
            .ok_or(ConfigError::Missing {
                what: "merchant id",
                flag: "--merchant",
                env: ENV_MERCHANT,
                key: "merchant_id",
            })
    }
}

/// A profile as read from the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub base_url: Option<String>,
    pub merchant_id: Option<String>,
    /// `min_amount` and `max_amount` (both, or the missing one unbounded).
    pub amount_limits: Option<AmountLimits>,
}

/// Refuses a plain `http://` base URL to anything but this machine unless
/// `insecure_http`: the password travels in query strings. A URL that does not parse
/// is left to the client, which names the problem.
pub fn check_base_url(url: &str, insecure_http: bool) -> Result<(), ConfigError> {
    let Ok(parsed) = url::Url::parse(url.trim()) else {
        return Ok(());
    };
    if parsed.scheme() != "http" || insecure_http {
        return Ok(());
    }
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if loopback {
        Ok(())
    } else {
        Err(ConfigError::InsecureHttp {
            url: url.trim().to_string(),
        })
    }
}

/// The default profile file: `$XDG_CONFIG_HOME/paypro-console/profiles.toml` on Linux.
pub fn default_profiles_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("pk.com", "PayPro", "paypro-console")
        .map(|dirs| dirs.config_dir().join(FILE_NAME))
}

/// Resolves the connection from the flags, the process environment and the profile
/// file.
pub fn resolve(args: &ConnectionArgs) -> Result<Connection, ConfigError> {
    resolve_with(args, |name| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    })
}

/// [`resolve`] with the environment passed in (testable without touching the process
/// environment). Precedence: flag, environment, profile.
pub fn resolve_with(
    args: &ConnectionArgs,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Connection, ConfigError> {
    let profile_name = args.profile.clone().or_else(|| env(ENV_PROFILE));
    let file = args
        .profiles_file
        .clone()
        .or_else(|| env(ENV_CONFIG).map(PathBuf::from))
        .or_else(default_profiles_path);
    let profile = match &file {
        Some(path) => load_profile(path, profile_name.as_deref())?,
        None => match profile_name {
            Some(name) => {
                return Err(ConfigError::NoProfileFile {
                    path: PathBuf::from(FILE_NAME),
                    name,
                });
            }
            None => Profile::default(),
        },
    };
    let pick = |flag: &Option<String>, var: &str, from_profile: Option<String>| {
        let flag = flag.as_ref().map(|v| v.trim().to_string());
        if let Some(value) = flag.filter(|v| !v.is_empty()) {
            return Some(Setting {
                value,
                source: Source::Flag,
            });
        }
        if let Some(value) = env(var) {
            return Some(Setting {
                value: value.trim().to_string(),
                source: Source::Env,
            });
        }
        from_profile
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .map(|value| Setting {
                value,
                source: Source::Profile,
            })
    };
    Ok(Connection {
        base_url: pick(&args.base_url, ENV_BASE_URL, profile.base_url),
        merchant_id: pick(&args.merchant, ENV_MERCHANT, profile.merchant_id),
        amount_limits: profile.amount_limits,
    })
}

/// Reads `name` (or [`DEFAULT_PROFILE`]) from the profile file. A missing file is an
/// empty profile unless a profile was named; a missing default profile is empty too.
/// The whole file is checked for password keys, not just the chosen profile.
pub fn load_profile(path: &Path, name: Option<&str>) -> Result<Profile, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return match name {
                None => Ok(Profile::default()),
                Some(name) => Err(ConfigError::NoProfileFile {
                    path: path.to_path_buf(),
                    name: name.to_string(),
                }),
            };
        }
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    parse_profile(path, &text, name)
}

/// Parses profile-file text; `path` only names the file in errors.
pub fn parse_profile(path: &Path, text: &str, name: Option<&str>) -> Result<Profile, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Parse {
            path: path.to_path_buf(),
            // The message quotes the offending line, which could be a password value.
            message: e.message().to_string(),
        })?;
    if let Some(key) = find_password_key(&table) {
        return Err(ConfigError::PasswordInProfile {
            path: path.to_path_buf(),
            key,
        });
    }
    let wanted = name.unwrap_or(DEFAULT_PROFILE);
    let Some(entry) = table.get(wanted) else {
        if name.is_none() {
            return Ok(Profile::default());
        }
        let mut available: Vec<&str> = table.keys().map(String::as_str).collect();
        available.sort_unstable();
        return Err(ConfigError::NoProfile {
            path: path.to_path_buf(),
            name: wanted.to_string(),
            available: if available.is_empty() {
                "none".to_string()
            } else {
                available.join(", ")
            },
        });
    };
    let Some(entry) = entry.as_table() else {
        return Err(ConfigError::Parse {
            path: path.to_path_buf(),
            message: format!("profile \"{wanted}\" must be a table ([{wanted}])"),
        });
    };
    let mut profile = Profile::default();
    let (mut min, mut max) = (None, None);
    for (key, value) in entry {
        if !PROFILE_KEYS.contains(&key.as_str()) {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key: format!("{wanted}.{key}"),
            });
        }
        if key.ends_with("_amount") {
            // A TOML number is read through its text: never through a float.
            let text = match value {
                toml::Value::String(s) => s.trim().to_string(),
                toml::Value::Integer(i) => i.to_string(),
                other => other.to_string(),
            };
            let amount = text
                .parse::<Money>()
                .ok()
                .filter(|m| *m > Money::zero())
                .ok_or_else(|| ConfigError::BadAmount {
                    path: path.to_path_buf(),
                    key: format!("{wanted}.{key}"),
                    value: text.clone(),
                })?;
            if key == "min_amount" {
                min = Some(amount);
            } else {
                max = Some(amount);
            }
            continue;
        }
        let Some(value) = value.as_str() else {
            return Err(ConfigError::NotAString {
                path: path.to_path_buf(),
                key: format!("{wanted}.{key}"),
            });
        };
        match key.as_str() {
            "base_url" => profile.base_url = Some(value.to_string()),
            _ => profile.merchant_id = Some(value.to_string()),
        }
    }
    if min.is_some() || max.is_some() {
        let limits = AmountLimits {
            min: min.unwrap_or_else(|| Money::from_cents(1).unwrap_or_else(|_| Money::zero())),
            max: max
                .or_else(|| Money::new(Money::max_value()).ok())
                .unwrap_or_else(Money::zero),
        };
        if limits.min > limits.max {
            return Err(ConfigError::AmountRange {
                path: path.to_path_buf(),
                profile: wanted.to_string(),
                min: limits.min.to_string(),
                max: limits.max.to_string(),
            });
        }
        profile.amount_limits = Some(limits);
    }
    Ok(profile)
}

/// The dotted path of the first key, at any depth, that names a password.
fn find_password_key(table: &toml::Table) -> Option<String> {
    for (key, value) in table {
        let lower = key.to_ascii_lowercase();
        if lower.contains("password")
            || lower.contains("passwd")
            || matches!(lower.as_str(), "pass" | "pwd" | "secret")
        {
            return Some(key.clone());
        }
        if let Some(inner) = value.as_table()
            && let Some(found) = find_password_key(inner)
        {
            return Some(format!("{key}.{found}"));
        }
    }
    None
}

/// The password: `PAYPRO_PASSWORD`, else a prompt with no echo when stdin is a
/// terminal. The prompt names the merchant and the server, never the value.
pub fn password(merchant_id: &str, base_url: &str) -> Result<Secret, ConfigError> {
    password_from(std::env::var(ENV_PASSWORD).ok(), || {
        if !std::io::stdin().is_terminal() {
            return Err(ConfigError::NoPassword);
        }
        rpassword::prompt_password(format!(
            "Password for merchant {merchant_id} at {base_url}: "
        ))
        .map_err(ConfigError::Prompt)
    })
}

/// [`password`] with the environment value and the prompt passed in.
pub fn password_from(
    env: Option<String>,
    prompt: impl FnOnce() -> Result<String, ConfigError>,
) -> Result<Secret, ConfigError> {
    let value = match env {
        Some(v) if !v.is_empty() => v,
        _ => prompt()?,
    };
    // A trailing newline from a file or a here-string is never part of the password.
    let value = value.trim_end_matches(['\r', '\n']).to_string();
    if value.is_empty() {
        return Err(ConfigError::EmptyPassword);
    }
    Ok(Secret::new(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn flag_beats_env_beats_profile() {
        let (_dir, path) =
            file_with("[default]\nbase_url = \"http://profile\"\nmerchant_id = \"from-profile\"\n");
        let args = ConnectionArgs {
            profiles_file: Some(path.clone()),
            ..Default::default()
        };
        let c = resolve_with(&args, env_of(&[])).unwrap();
        assert_eq!(c.require_base_url().unwrap(), "http://profile");
        assert_eq!(c.merchant_id.as_ref().unwrap().source, Source::Profile);

        let c = resolve_with(&args, env_of(&[(ENV_MERCHANT, "from-env")])).unwrap();
        assert_eq!(c.require_merchant().unwrap(), "from-env");
        assert!(c.merchant_id.as_ref().unwrap().is_explicit());

        let args = ConnectionArgs {
            merchant: Some(" from-flag ".into()),
            profiles_file: Some(path),
            ..Default::default()
        };
        let c = resolve_with(&args, env_of(&[(ENV_MERCHANT, "from-env")])).unwrap();
        assert_eq!(c.require_merchant().unwrap(), "from-flag");
        assert_eq!(c.merchant_id.unwrap().source, Source::Flag);
        assert_eq!(c.base_url.unwrap().source, Source::Profile);
    }

    #[test]
    fn named_profile_and_missing_ones() {
        let (_dir, path) = file_with(
            "[default]\nmerchant_id = \"a\"\n[staging]\nbase_url = \"http://s\"\nmerchant_id = \"b\"\n",
        );
        let p = load_profile(&path, Some("staging")).unwrap();
        assert_eq!(p.merchant_id.as_deref(), Some("b"));
        let err = load_profile(&path, Some("prod")).unwrap_err().to_string();
        assert!(err.contains("no profile named \"prod\""), "{err}");
        assert!(err.contains("default, staging"), "{err}");
        // Through the environment too.
        let args = ConnectionArgs {
            profiles_file: Some(path),
            ..Default::default()
        };
        let c = resolve_with(&args, env_of(&[(ENV_PROFILE, "staging")])).unwrap();
        assert_eq!(c.require_base_url().unwrap(), "http://s");
    }

    #[test]
    fn missing_file_is_empty_unless_a_profile_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.toml");
        assert_eq!(load_profile(&path, None).unwrap(), Profile::default());
        let err = load_profile(&path, Some("x")).unwrap_err().to_string();
        assert!(err.contains("no profile file"), "{err}");
        let args = ConnectionArgs {
            profiles_file: Some(path),
            ..Default::default()
        };
        let c = resolve_with(&args, env_of(&[])).unwrap();
        let err = c.require_base_url().unwrap_err().to_string();
        assert_eq!(
            err,
            "no Connect Pay base URL: give --base-url, set PAYPRO_BASE_URL, or put base_url in a profile"
        );
        assert!(
            c.require_merchant()
                .unwrap_err()
                .to_string()
                .contains("--merchant")
        );
    }

    #[test]
    fn a_password_anywhere_in_the_file_is_refused_without_echoing_it() {
        for text in [
            "[default]\nmerchant_id = \"a\"\npassword = \"hunter2\"\n",
            "[other]\nPassword = \"hunter2\"\n",
            "merchant_password = \"hunter2\"\n",
            "[default]\npwd = \"hunter2\"\n",
            "[a.b]\npasswd = \"hunter2\"\n",
        ] {
            let err = parse_profile(Path::new("p.toml"), text, None).unwrap_err();
            assert!(
                matches!(err, ConfigError::PasswordInProfile { .. }),
                "{text}"
            );
            let msg = err.to_string();
            assert!(msg.contains("profiles never hold one"), "{msg}");
            assert!(!msg.contains("hunter2"), "{msg}");
        }
    }

    #[test]
    fn bad_files_are_explained() {
        let err = parse_profile(Path::new("p.toml"), "[default]\nuser = \"x\"\n", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key `default.user`"), "{err}");
        let err = parse_profile(Path::new("p.toml"), "[default]\nbase_url = 5\n", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be a string"), "{err}");
        let err = parse_profile(
            Path::new("p.toml"),
            "[default\nsecret_value = \"hunter2\"",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("not valid TOML"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn amount_limits_come_from_the_profile() {
        let (_dir, path) = file_with(
            "[default]\nmerchant_id = \"a\"\nmin_amount = \"10\"\nmax_amount = 5000\n\
             [open]\nmerchant_id = \"b\"\n[top]\nmax_amount = \"99.50\"\n",
        );
        let p = load_profile(&path, None).unwrap();
        let l = p.amount_limits.unwrap();
        assert_eq!(
            (l.min.to_string(), l.max.to_string()),
            ("10.00".into(), "5000.00".into())
        );
        assert_eq!(
            load_profile(&path, Some("open")).unwrap().amount_limits,
            None
        );
        let top = load_profile(&path, Some("top"))
            .unwrap()
            .amount_limits
            .unwrap();
        assert_eq!(top.max.to_string(), "99.50");
        assert_eq!(top.min.to_string(), "0.01");
        let args = ConnectionArgs {
            profiles_file: Some(path),
            ..Default::default()
        };
        assert_eq!(
            resolve_with(&args, env_of(&[])).unwrap().amount_limits,
            Some(l)
        );
        for bad in [
            "max_amount = \"lots\"",
            "max_amount = \"1.005\"",
            "min_amount = 0",
        ] {
            let err = parse_profile(Path::new("p.toml"), &format!("[default]\n{bad}\n"), None)
                .unwrap_err()
                .to_string();
            assert!(err.contains("is not an amount"), "{bad}: {err}");
        }
        let err = parse_profile(
            Path::new("p.toml"),
            "[default]\nmin_amount = 10\nmax_amount = 5\n",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("min_amount 10.00 is above max_amount 5.00"),
            "{err}"
        );
    }

    #[test]
    fn plain_http_only_to_this_machine_unless_asked() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://localhost/cpay",
            "http://[::1]:9",
            "https://demoapi.paypro.com.pk",
        ] {
            assert!(check_base_url(ok, false).is_ok(), "{ok}");
        }
        let err = check_base_url("http://demoapi.paypro.com.pk", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--insecure-http") && err.contains("query strings"),
            "{err}"
        );
        assert!(check_base_url("http://10.0.0.5", false).is_err());
        assert!(check_base_url("http://10.0.0.5", true).is_ok());
    }

    #[test]
    fn password_from_env_or_prompt() {
        let p = password_from(Some("s3cret\n".into()), || panic!("no prompt")).unwrap();
        assert_eq!(p.expose(), "s3cret");
        assert_eq!(format!("{p:?}"), "***");
        let p = password_from(None, || Ok("typed".into())).unwrap();
        assert_eq!(p.expose(), "typed");
        let p = password_from(Some(String::new()), || Ok("typed".into())).unwrap();
        assert_eq!(p.expose(), "typed");
        assert!(matches!(
            password_from(None, || Ok(String::new())),
            Err(ConfigError::EmptyPassword)
        ));
        assert!(matches!(
            password_from(None, || Err(ConfigError::NoPassword)),
            Err(ConfigError::NoPassword)
        ));
    }
}
