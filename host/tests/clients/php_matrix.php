<?php
// PHP gearman extension (php-gearman, libgearman 1.1.20) for tests/client_matrix.rs and
// tests/real_clients.rs: one mode per run, one line per thing the library reported, in the words
// every matrix script uses (see client_matrix.rs). Library errors go to stderr, exit 1.
// Usage: php php_matrix.php PORT MODE ARG [plain|exceptions]
//   job FUNC plain|exceptions   foreground task with workload "in" (exceptions: addServer's
//                               exception handler, i.e. OPTION_REQ exceptions; plain: without)
//   bg FUNC | status HANDLE | unique UNIQUE | option - | echo TEXT | error FUNC
//   work FUNC all|uniq|job      one job grabbed with GRAB_JOB_ALL (libgearman's default),
//                               GRAB_JOB_UNIQ or GRAB_JOB
[$_, $port, $mode, $arg] = $argv;
$opt = $argv[4] ?? 'plain';
$timeout = (int)(getenv('GEARMAN_TEST_TIMEOUT_MS') ?: 20000);

function fail($what, $obj) {
    fwrite(STDERR, "$what: rc=" . $obj->returnCode() . " " . $obj->error() . "\n");
    exit(1);
}

function client($port, $timeout, $exceptions = false) {
    $c = new GearmanClient();
    $c->setTimeout($timeout);
    $c->addServer('127.0.0.1', (int)$port, $exceptions) or fail('addServer', $c);
    return $c;
}

function job($c, $func, $exceptions) {
    $c->setCreatedCallback(function ($t) { echo "created\n"; });
    $c->setStatusCallback(function ($t) {
        echo "status ", $t->taskNumerator(), "/", $t->taskDenominator(), "\n";
    });
    $c->setDataCallback(function ($t) { echo "data ", $t->data(), "\n"; });
    $c->setWarningCallback(function ($t) { echo "warning ", $t->data(), "\n"; });
    $c->setCompleteCallback(function ($t) { echo "complete ", $t->data(), "\n"; });
    $c->setFailCallback(function ($t) { echo "fail\n"; });
    if ($exceptions) {
        // Setting it also sends OPTION_REQ exceptions, so a plain client must not.
        $c->setExceptionCallback(function ($t) { echo "exception ", $t->data(), "\n"; });
    }
    $c->addTask($func, 'in') or fail('addTask', $c);
    $c->runTasks() or fail('runTasks', $c);
}

function work($port, $func, $grab) {
    $w = new GearmanWorker();
    $w->addServer('127.0.0.1', (int)$port) or fail('addServer', $w);
    if ($grab != 'all') {
        $w->removeOptions(512); // GEARMAN_WORKER_GRAB_ALL (not exported by the extension)
    }
    if ($grab == 'uniq') {
        $w->addOptions(GEARMAN_WORKER_GRAB_UNIQ);
    }
    $w->addFunction($func, function (GearmanJob $job) {
        return "h=" . $job->handle() . " f=" . $job->functionName() . " u=" . $job->unique()
            . " d=" . $job->workload();
    });
    $w->work() or fail('work', $w);
}

switch ($mode) {
    case 'job':
        job(client($port, $timeout, $opt == 'exceptions'), $arg, $opt == 'exceptions');
        break;
    case 'bg':
        $c = client($port, $timeout);
        $h = $c->doBackground($arg, 'in');
        $c->returnCode() == GEARMAN_SUCCESS or fail('doBackground', $c);
        echo "created $h\n";
        break;
    case 'status':
        [$known, $running, $n, $d] = client($port, $timeout)->jobStatus($arg);
        echo "status known=", (int)$known, " running=", (int)$running, " $n/$d\n";
        break;
    case 'unique':
        $c = client($port, $timeout);
        $s = $c->jobStatusByUniqueKey($arg);
        $c->returnCode() == GEARMAN_SUCCESS or fail('jobStatusByUniqueKey', $c);
        [$known, $running, $n, $d] = $s;
        echo "status known=", (int)$known, " running=", (int)$running, " $n/$d\n";
        break;
    case 'option':
        // The option goes out when the connection opens, here for the echo.
        $c = client($port, $timeout, true);
        $c->ping('x') or fail('ping', $c);
        echo "option exceptions\n";
        break;
    case 'echo':
        $c = client($port, $timeout);
        $c->ping($arg) or fail('ping', $c);
        echo "echo $arg\n";
        break;
    case 'error':
        $c = client($port, $timeout);
        @$c->doNormal($arg, 'in'); // the warning it raises is the error under test
        $rc = $c->returnCode();
        $full = strpos($c->error(), 'QUEUE_ERROR:Job queue is full') !== false;
        echo $rc == GEARMAN_QUEUE_ERROR && $full ? "error QUEUE_ERROR Job queue is full\n"
            : "error rc=$rc " . $c->error() . "\n";
        break;
    case 'work':
        work($port, $arg, $opt);
        break;
    default:
        fwrite(STDERR, "unknown mode $mode\n");
        exit(1);
}
exit(0);
