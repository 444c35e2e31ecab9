//! Shared by the command-line tests: how an archive is reached and altered behind the
//! archiver's back (the filesystem, or S3 in the emulator through boto3), and output text.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// Runs the CLI with `args` as OS user `user`, with the test secrets and AWS settings.
pub async fn run_as(user: &str, args: Vec<String>) -> Output {
    let user = user.to_string();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_zoom-archiver"))
            .args(&args)
            .env_remove("RUST_LOG")
            .env("USER", &user)
            .env("ZA_TEST_SECRET", "demo-secret")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

/// A unique stem for AWS resource names.
pub fn unique(what: &str) -> String {
    format!(
        "{what}-{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 0xffff_ffff
    )
}

/// The `[aws]` table of an emulator run.
pub fn aws_table(endpoint: &str, name: &str, extra: &str) -> String {
    format!(
        "[aws]\nregion = \"us-east-1\"\nendpoint_url = \"{endpoint}\"\nbucket = \"za-{name}\"\ntable = \"za-{name}\"\nqueue_name = \"za-{name}\"\n{extra}"
    )
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// How the archive is reached and altered behind the archiver's back.
pub enum Backend {
    Local {
        objects: PathBuf,
    },
    Aws {
        endpoint: String,
        bucket: String,
        python: String,
    },
}

impl Backend {
    pub fn args(&self, cfg: &Path) -> Vec<String> {
        let mut a = vec!["--config".to_string(), cfg.display().to_string()];
        if matches!(self, Backend::Aws { .. }) {
            a.extend(["--backend".into(), "aws".into()]);
        }
        a
    }

    /// Media keys stored under `prefix`.
    pub fn keys(&self, prefix: &str) -> Vec<String> {
        match self {
            Backend::Local { objects } => {
                let mut out = Vec::new();
                let mut stack = vec![objects.join(prefix)];
                while let Some(d) = stack.pop() {
                    for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                        let p = e.path();
                        if p.is_dir() {
                            stack.push(p);
                        } else {
                            out.push(p.strip_prefix(objects).unwrap().display().to_string());
                        }
                    }
                }
                out.sort();
                out
            }
            Backend::Aws { .. } => {
                let out = self.boto(
                    "print('\\n'.join(o['Key'] for o in s3.list_objects_v2(Bucket=a['bucket'], Prefix=a['key']).get('Contents', [])))",
                    prefix,
                );
                out.lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect()
            }
        }
    }

    pub fn flip_byte(&self, key: &str) {
        match self {
            Backend::Local { objects } => {
                let p = objects.join(key);
                let mut bytes = std::fs::read(&p).unwrap();
                let mid = bytes.len() / 2;
                bytes[mid] ^= 0x01;
                std::fs::write(&p, bytes).unwrap();
            }
            Backend::Aws { .. } => {
                self.boto(
                    "b = bytearray(s3.get_object(Bucket=a['bucket'], Key=a['key'])['Body'].read()); b[len(b)//2] ^= 1; s3.put_object(Bucket=a['bucket'], Key=a['key'], Body=bytes(b))",
                    key,
                );
            }
        }
    }

    pub fn delete(&self, key: &str) {
        match self {
            Backend::Local { objects } => std::fs::remove_file(objects.join(key)).unwrap(),
            Backend::Aws { .. } => {
                self.boto("s3.delete_object(Bucket=a['bucket'], Key=a['key'])", key);
            }
        }
    }

    pub fn boto(&self, code: &str, key: &str) -> String {
        let Backend::Aws {
            endpoint,
            bucket,
            python,
        } = self
        else {
            unreachable!()
        };
        let script = format!(
            "import boto3, json, sys\na = json.loads(sys.argv[1])\ns3 = boto3.client('s3', endpoint_url=a['endpoint'], region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}\n"
        );
        let arg = serde_json::json!({"endpoint": endpoint, "bucket": bucket, "key": key});
        let out = std::process::Command::new(python)
            .arg("-c")
            .arg(script)
            .arg(arg.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
