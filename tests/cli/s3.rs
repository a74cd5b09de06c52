//! A real S3-compatible server for the artifact tests: moto's, from the
//! venv `.ci/python-env` makes (`target/python`, or `REGENT_TEST_PYTHON`).
//!
//! One server per test process, started on first use on a free loopback
//! port by a small Python wrapper. The wrapper turns on moto's request
//! signing checks (after three unsigned calls that create an IAM user and its
//! key), so wrong credentials are refused as AWS would refuse them. It then
//! answers inspection requests on stdin (list, put, delete, multipart
//! uploads: through boto3, independent of regent's client) and exits when
//! stdin closes, which happens when the test process ends however it ends:
//! the server never outlives the tests.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

const WRAPPER: &str = r#"
import hashlib, json, os, sys
# Read by moto when it is imported: the first three calls (the IAM setup
# below) need no signature, every later one a valid one.
os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
from moto.server import ThreadedMotoServer
import boto3

server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
endpoint = f"http://{host}:{port}"
setup = dict(endpoint_url=endpoint, region_name="us-east-1",
             aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **setup)
iam.create_user(UserName="regent")
key = iam.create_access_key(UserName="regent")["AccessKey"]
iam.put_user_policy(UserName="regent", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"],
                  aws_secret_access_key=key["SecretAccessKey"])
print(json.dumps({"endpoint": endpoint, "key_id": key["AccessKeyId"],
                  "secret": key["SecretAccessKey"]}), flush=True)

def objects(bucket):
    out = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"]
            h = hashlib.sha256()
            for chunk in iter(lambda: body.read(1 << 20), b""):
                h.update(chunk)
            out.append({"key": o["Key"], "size": o["Size"], "sha256": h.hexdigest()})
    return out

for line in sys.stdin:
    request = json.loads(line)
    op, bucket = request["op"], request.get("bucket")
    try:
        if op == "create_bucket":
            s3.create_bucket(Bucket=bucket)
            out = {}
        elif op == "list":
            out = {"objects": objects(bucket)}
        elif op == "put":
            s3.put_object(Bucket=bucket, Key=request["key"],
                          Body=bytes.fromhex(request["data"]))
            out = {}
        elif op == "delete":
            s3.delete_object(Bucket=bucket, Key=request["key"])
            out = {}
        elif op == "uploads":
            out = {"count": len(s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []))}
        else:
            out = {"error": "unknown op " + op}
    except Exception as e:
        out = {"error": repr(e)}
    print(json.dumps(out), flush=True)
server.stop()
"#;

/// The running server: where it is, the credentials it accepts, and the
/// wrapper's pipes for inspection requests.
pub struct S3 {
    pub endpoint: String,
    pub key_id: String,
    pub secret: String,
    pipes: Mutex<(ChildStdin, BufReader<ChildStdout>)>,
    _child: Child,
}

/// An object as the server holds it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Object {
    pub key: String,
    pub size: u64,
    pub sha256: String,
}

/// The python of the test venv.
fn python() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("REGENT_TEST_PYTHON").filter(|p| !p.is_empty()) {
        return p.into();
    }
    let venv = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python/bin/python");
    if venv.exists() {
        return venv;
    }
    panic!(
        "the artifact tests need moto (an S3-compatible server) from the test venv, and there \
         is none at {} and no REGENT_TEST_PYTHON: run `bash .ci/test` (or `bash .ci/python-env` \
         once, then cargo test)",
        venv.display()
    );
}

/// The test process's server, started on first use.
pub fn server() -> &'static S3 {
    static SERVER: OnceLock<S3> = OnceLock::new();
    SERVER.get_or_init(start)
}

fn start() -> S3 {
    let log = std::env::temp_dir().join(format!("regent-moto-{}.log", std::process::id()));
    let stderr = std::fs::File::create(&log).expect("moto log file");
    let mut child = Command::new(python())
        .args(["-c", WRAPPER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("the test venv's python starts");
    let stdin = child.stdin.take().expect("stdin");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    // The wrapper prints its first line once the server answers requests
    // (the IAM setup went through it).
    let read = stdout.read_line(&mut first);
    let hello: serde_json::Value = match read {
        Ok(n) if n > 0 => serde_json::from_str(&first).expect("the wrapper's first line is JSON"),
        _ => panic!(
            "the moto server did not start; its log ({}):\n{}",
            log.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        ),
    };
    // Started: the log is only needed to explain a failed start (the open
    // file stays writable for the server once unlinked).
    let _ = std::fs::remove_file(&log);
    let text = |k: &str| hello[k].as_str().expect(k).to_owned();
    S3 {
        endpoint: text("endpoint"),
        key_id: text("key_id"),
        secret: text("secret"),
        pipes: Mutex::new((stdin, stdout)),
        _child: child,
    }
}

impl S3 {
    fn call(&self, request: serde_json::Value) -> serde_json::Value {
        let mut pipes = self.pipes.lock().unwrap_or_else(|e| e.into_inner());
        let (stdin, stdout) = &mut *pipes;
        writeln!(stdin, "{request}").expect("write to the moto wrapper");
        stdin.flush().expect("flush");
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("read from the moto wrapper");
        let reply: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        if let Some(error) = reply.get("error") {
            panic!("moto wrapper: {request} failed: {error}");
        }
        reply
    }

    /// A new, empty bucket whose name says which test made it.
    pub fn bucket(&self, test: &str) -> String {
        static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let mut name: String = format!("regent-{n}-{test}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        name.truncate(63);
        let name = name.trim_end_matches('-').to_owned();
        self.call(serde_json::json!({"op": "create_bucket", "bucket": name}));
        name
    }

    /// What regent needs to reach the server with valid credentials.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID".into(), self.key_id.clone()),
            ("AWS_SECRET_ACCESS_KEY".into(), self.secret.clone()),
            ("AWS_REGION".into(), "us-east-1".into()),
        ]
    }

    /// Every object of a bucket with the SHA-256 of its bytes.
    pub fn objects(&self, bucket: &str) -> Vec<Object> {
        let reply = self.call(serde_json::json!({"op": "list", "bucket": bucket}));
        serde_json::from_value(reply["objects"].clone()).expect("objects")
    }

    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        self.call(serde_json::json!({
            "op": "put", "bucket": bucket, "key": key, "data": hex::encode(bytes),
        }));
    }

    pub fn delete(&self, bucket: &str, key: &str) {
        self.call(serde_json::json!({"op": "delete", "bucket": bucket, "key": key}));
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn pending_uploads(&self, bucket: &str) -> u64 {
        self.call(serde_json::json!({"op": "uploads", "bucket": bucket}))["count"]
            .as_u64()
            .unwrap_or_default()
    }
}
