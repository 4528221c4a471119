"""pygearman 0.2.6 (PyPI) for tests/client_matrix.rs and tests/real_clients.rs: one mode per run,
one line per thing the library reported, in the words every matrix script uses (see
client_matrix.rs). A library exception goes to stderr as a traceback, exit 1.

Usage: python3 python_matrix.py PORT MODE ARG
  job FUNC        foreground job with workload b"in"; pygearman keeps the updates of a request
                  (last status, data and warning lists, result or exception), printed in that order
  bg FUNC | status HANDLE | echo TEXT | error FUNC
  work FUNC       one job (pygearman grabs with GRAB_JOB_UNIQ only)
pygearman has no OPTION_REQ: the matrix gives it exceptions with the server's --exceptions."""
import os
import sys

import gearman
from gearman.job import GearmanJob, GearmanJobRequest

port, mode, arg = sys.argv[1:4]
server = f"127.0.0.1:{port}"
timeout = int(os.environ.get("GEARMAN_TEST_TIMEOUT_MS", "20000")) / 1000
ENDED = (gearman.JOB_COMPLETE, gearman.JOB_FAILED)


class Client(gearman.GearmanClient):
    """Keeps the ERROR the library hands to its connection manager (the default only logs it)."""

    error = None

    def on_gearman_error(self, error_code, error_text):
        self.error = (error_code.decode(), error_text.decode())
        return False


def poll_until(client, done):
    client.poll_connections_until_stopped(client.connection_list, lambda _: not done(), timeout)


def job(func):
    c = Client([server])
    r = c.submit_job(func.encode(), b"in", wait_until_complete=False, poll_timeout=timeout)
    # pygearman takes WORK_EXCEPTION as an update, not an end (it expects WORK_FAIL after it).
    poll_until(c, lambda: r.state in ENDED or r.exception is not None)
    print("created" if r.job.handle else "no handle")
    if "numerator" in r.status:
        print(f"status {r.status['numerator']}/{r.status['denominator']}")
    for d in r.data_updates:
        print("data", d.decode())
    for w in r.warning_updates:
        print("warning", w.decode())
    if r.state == gearman.JOB_COMPLETE:
        print("complete", r.result.decode())
    elif r.state == gearman.JOB_FAILED:
        print("fail")
    elif r.exception is not None:
        print("exception", r.exception.decode())


def status(handle):
    c = gearman.GearmanClient([server])
    conn = c.establish_connection(c.connection_list[0])
    r = GearmanJobRequest(GearmanJob(conn, handle.encode(), None, None, None))
    r.state = gearman.JOB_CREATED  # a job created elsewhere (JOB_UNKNOWN would not wait)
    s = c.get_job_status(r, poll_timeout=timeout).status
    known, running = int(s["known"]), int(s["running"])
    print(f"status known={known} running={running} {s['numerator']}/{s['denominator']}")


def error(func):
    c = Client([server])
    c.submit_job(func.encode(), b"in", wait_until_complete=False, poll_timeout=0)
    poll_until(c, lambda: c.error is not None)
    print("error", *c.error)


def work(func):
    answered = []

    class OneJob(gearman.GearmanWorker):
        # Also called after a grab that got NO_JOB: stop only once a job was answered.
        def after_job(self):
            return not answered

    def answer(worker, job):
        answered.append(job)
        u = job.unique.decode() if job.unique else ""
        return f"h={job.handle.decode()} f={job.task.decode()} u={u} d={job.data.decode()}"

    w = OneJob([server])
    w.register_task(func.encode(), answer)
    w.work(poll_timeout=timeout)


if mode == "job":
    job(arg)
elif mode == "bg":
    c = gearman.GearmanClient([server])
    r = c.submit_job(arg.encode(), b"in", background=True, wait_until_complete=False)
    print("created", r.job.handle.decode())
elif mode == "status":
    status(arg)
elif mode == "echo":
    # ping_server sends its own text (ECHO_STRING) and checks that the echo matches.
    gearman.GearmanAdminClient([server], poll_timeout=timeout).ping_server()
    print("echo", arg)
elif mode == "error":
    error(arg)
elif mode == "work":
    work(arg)
else:
    sys.exit(f"unknown mode {mode}")
sys.exit(0)
