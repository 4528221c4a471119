<?php
// PHP gearman extension (php-gearman) worker for the integration tests: `rev` reverses the
// workload, `fail` sends WORK_FAIL, `boom` sends WORK_EXCEPTION; does N jobs and exits 0.
// Usage: php php_worker.php PORT N
[$_, $port, $n] = $argv;
$w = new GearmanWorker();
$w->addServer('127.0.0.1', (int)$port);
$w->addFunction('rev', function (GearmanJob $job) { return strrev($job->workload()); });
$w->addFunction('fail', function (GearmanJob $job) { $job->sendFail(); return null; });
$w->addFunction('boom', function (GearmanJob $job) { $job->sendException('boom'); return null; });
for ($i = 0; $i < (int)$n; $i++) {
    if (!$w->work()) {
        fwrite(STDERR, "work failed: " . $w->error() . "\n");
        exit(1);
    }
}
exit(0);
