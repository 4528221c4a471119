"""pygearman (PyPI) client for the integration tests; one line per outcome. pygearman wants
bytes for function names and data.
Usage: python3 python_client.py PORT"""
import sys

import gearman

port = sys.argv[1]
c = gearman.GearmanClient([f"127.0.0.1:{port}"])
r = c.submit_job(b"rev", b"hello", poll_timeout=10)
print("submit:", r.result.decode(), r.state, r.complete)
r = c.submit_job(b"rev", b"high", unique=b"u-1", priority=gearman.PRIORITY_HIGH, poll_timeout=10)
print("high:", r.result.decode(), r.state)
r = c.submit_job(b"rev", b"low", priority=gearman.PRIORITY_LOW, poll_timeout=10)
print("low:", r.result.decode(), r.state)
rs = c.submit_multiple_jobs(
    [{"task": b"rev", "data": d} for d in (b"abc", b"de", b"f")], poll_timeout=10
)
print("multiple:", b",".join(sorted(r.result for r in rs)).decode())
r = c.submit_job(b"nobody", b"bg", background=True, wait_until_complete=False)
s = c.get_job_status(r, poll_timeout=10)
print("background:", s.state, s.status["known"], s.status["running"])
# Last: a failing job (pygearman's worker leaves its loop after an exception).
r = c.submit_job(b"fail", b"x", poll_timeout=10)
print("fail:", r.state)
sys.exit(0)
