"""pygearman (PyPI) worker for the integration tests: `rev` reverses the data, `fail` raises
(pygearman then sends WORK_FAIL). Runs until killed.  Usage: python3 python_worker.py PORT"""
import sys

import gearman

port = sys.argv[1]


def rev(worker, job):
    return job.data[::-1]


def fail(worker, job):
    raise RuntimeError("failing on purpose")


w = gearman.GearmanWorker([f"127.0.0.1:{port}"])
w.register_task(b"rev", rev)
w.register_task(b"fail", fail)
w.work(poll_timeout=0.2)
sys.exit(0)
