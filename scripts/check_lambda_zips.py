"""Runs the packaged Lambda zips (scripts/build-lambdas) the way the Lambda service runs them.

    check_lambda_zips.py ZIP_DIR AWS_ENDPOINT

For each function, unpacks `ZIP_DIR/<function>/bootstrap.zip`, checks that it holds one
executable `bootstrap` for this machine's CPU whose glibc needs are within Amazon Linux 2023's
(provided.al2023 ships glibc 2.34), and runs it against a Lambda Runtime API served here
(GET .../invocation/next, POST .../response and .../error, as the service speaks it), with the
AWS endpoint pointed at the moto server at AWS_ENDPOINT. The events and the answers each
function must give are listed in CASES: a listing of a real (emulated) config bucket, and for
the others the error name Step Functions would match (BadInput) or SQS's partial-batch answer.
Exits non-zero naming the function and what differed.
"""

import http.server
import json
import os
import platform
import queue
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile

import boto3

FUNCTIONS = ["list-configs", "process-config", "check-requirements", "update-status",
             "register-objects"]
# provided.al2023's glibc; a binary linked against newer symbols fails there at start.
MAX_GLIBC = (2, 34)
CONFIG_BUCKET = "zipcheck-config"


def fail(msg):
    print(f"check_lambda_zips: {msg}", file=sys.stderr)
    sys.exit(1)


class RuntimeApi:
    """The Lambda Runtime API (2018-06-01) for one function process: hands out queued events
    and records each answer by request id."""

    def __init__(self):
        self.events = queue.Queue()
        self.answers = {}
        self.init_error = None
        self.lock = threading.Lock()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    self.send_error(404)
                    return
                while True:
                    try:
                        req_id, event = api.events.get(timeout=0.5)
                        break
                    except queue.Empty:
                        if api.closed:
                            # the function process is being stopped: no more events
                            self.close_connection = True
                            return
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", req_id)
                deadline = int((time.time() + 60) * 1000)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(deadline))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                                 "arn:aws:lambda:us-east-1:123456789012:function:zipcheck")
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                m = re.fullmatch(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)",
                                 self.path)
                with api.lock:
                    if m:
                        api.answers[m.group(1)] = (m.group(2), json.loads(body or b"null"))
                    elif self.path == "/2018-06-01/runtime/init/error":
                        api.init_error = body.decode(errors="replace")
                    else:
                        self.send_error(404)
                        return
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                # a long-poll connection the stopped process dropped; answers are checked above
                pass

        self.closed = False
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event):
        req_id = str(uuid.uuid4())
        self.events.put((req_id, event))
        return req_id

    def close(self):
        self.closed = True
        self.server.shutdown()


def check_binary(path, fn):
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        fail(f"{fn}: bootstrap is not an ELF executable")
    machine = int.from_bytes(head[18:20], "little")
    want = {"x86_64": 62, "aarch64": 183}.get(platform.machine())
    if machine != want:
        fail(f"{fn}: bootstrap is for ELF machine {machine}, this host runs {platform.machine()}")
    if not os.stat(path).st_mode & stat.S_IXUSR:
        fail(f"{fn}: bootstrap is not executable")
    # The GLIBC_x.y symbol versions it needs, from the dynamic section's version strings.
    data = open(path, "rb").read()
    needed = {tuple(map(int, v.split(b"."))) for v in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)", data)}
    newest = max(needed, default=(0, 0))
    if newest[:2] > MAX_GLIBC:
        fail(f"{fn}: needs GLIBC_{'.'.join(map(str, newest))}, provided.al2023 has "
             f"{'.'.join(map(str, MAX_GLIBC))}")
    return newest


def run_function(bootstrap, fn, endpoint, cases):
    api = RuntimeApi()
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{api.port}",
        "AWS_LAMBDA_FUNCTION_NAME": f"zipcheck-{fn}",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/zipcheck-{fn}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "zipcheck",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "STUDYFLOW_CONFIG_BUCKET": CONFIG_BUCKET,
        "RUST_LOG": "info",
    }
    proc = subprocess.Popen([bootstrap], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        ids = [(api.invoke(event), event, check) for event, check in cases]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with api.lock:
                done = all(i in api.answers for i, _, _ in ids) or api.init_error
            if done or proc.poll() is not None:
                break
            time.sleep(0.05)
        if api.init_error:
            fail(f"{fn}: init error {api.init_error}")
        for req_id, event, check in ids:
            if req_id not in api.answers:
                fail(f"{fn}: no answer to {json.dumps(event)[:200]} within 60 s "
                     f"(process exit code {proc.poll()})")
            kind, body = api.answers[req_id]
            problem = check(kind, body)
            if problem:
                fail(f"{fn}: event {json.dumps(event)[:200]}: {problem}; answer {kind} {body}")
    finally:
        proc.terminate()
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        api.close()
    # Logs go to CloudWatch as JSON lines (tracing's JSON formatter).
    for line in out.decode(errors="replace").splitlines():
        if line.strip():
            try:
                json.loads(line)
            except ValueError:
                fail(f"{fn}: a stdout log line is not JSON: {line[:200]}")
    return len(cases)


def error_named(name):
    def check(kind, body):
        if kind != "error":
            return f"expected error {name}"
        if body.get("errorType") != name:
            return f"expected errorType {name}"
        return None
    return check


def main():
    zip_dir, endpoint = sys.argv[1], sys.argv[2]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=CONFIG_BUCKET)
    for key in ["studies/alpha.yaml", "studies/beta.yml", "studies/alpha.errors.json",
                "other/gamma.yaml"]:
        s3.put_object(Bucket=CONFIG_BUCKET, Key=key, Body=b"study: x\n")

    def listing(kind, body):
        if kind != "response":
            return "expected a response"
        keys = sorted(c["key"] for c in body.get("configs", []))
        if keys != ["studies/alpha.yaml", "studies/beta.yml"]:
            return f"listed {keys}, expected the two configs under studies/"
        if any(c["bucket"] != CONFIG_BUCKET or not c["etag"] for c in body["configs"]):
            return "each config needs the bucket and its ETag"
        return None

    def partial_failure(kind, body):
        if kind != "response":
            return "expected a response"
        ids = [f.get("itemIdentifier") for f in body.get("batchItemFailures", [])]
        if ids != ["poison-1"]:
            return (f"batchItemFailures {ids}, expected exactly the poison message (S3's test "
                    "event is acknowledged)")
        return None

    cases = {
        "list-configs": [({}, listing), ({"configs": 5}, error_named("BadInput"))],
        "process-config": [({"bucket": 1}, error_named("BadInput"))],
        "check-requirements": [({}, error_named("BadInput"))],
        "update-status": [({}, error_named("BadInput"))],
        "register-objects": [({"Records": [
            {"messageId": "test-event-1", "eventSource": "aws:sqs",
             "body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent",
                                 "Bucket": "zipcheck-study"})},
            {"messageId": "poison-1", "body": "not json", "eventSource": "aws:sqs"},
        ]}, partial_failure)],
    }
    work = tempfile.mkdtemp(prefix="zipcheck-")
    try:
        for fn in FUNCTIONS:
            z = os.path.join(zip_dir, fn, "bootstrap.zip")
            if not os.path.isfile(z):
                fail(f"{fn}: {z} missing")
            with zipfile.ZipFile(z) as zf:
                names = zf.namelist()
                if names != ["bootstrap"]:
                    fail(f"{fn}: the zip holds {names}, Lambda wants exactly 'bootstrap'")
                info = zf.getinfo("bootstrap")
                dest = os.path.join(work, fn)
                zf.extract("bootstrap", dest)
            path = os.path.join(dest, "bootstrap")
            mode = info.external_attr >> 16
            if not mode & stat.S_IXUSR:
                fail(f"{fn}: bootstrap is stored without its executable bit (mode {oct(mode)})")
            os.chmod(path, mode & 0o777)
            glibc = check_binary(path, fn)
            n = run_function(path, fn, endpoint, cases[fn])
            size = os.path.getsize(z) / 1e6
            print(f"{fn}: bootstrap.zip {size:.1f} MB, glibc >= {'.'.join(map(str, glibc))}, "
                  f"{n} invocation(s) answered as expected")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
