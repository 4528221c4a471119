<?php
// PHP gearman extension (php-gearman) client for the integration tests; one line per outcome.
// Usage: php php_client.php PORT
[$_, $port] = $argv;
$c = new GearmanClient();
$c->addServer('127.0.0.1', (int)$port);
function rc($c) { return $c->returnCode() == GEARMAN_SUCCESS ? "ok" : "rc=" . $c->returnCode(); }
$r = $c->doNormal('rev', 'hello');
echo "doNormal: $r ", rc($c), "\n";
$r = $c->doHigh('rev', 'high', 'u-1');
echo "doHigh: $r ", rc($c), "\n";
$r = $c->doLow('rev', 'low');
echo "doLow: $r ", rc($c), "\n";
$r = $c->doNormal('fail', 'x');
echo "fail: ", ($c->returnCode() == GEARMAN_WORK_FAIL ? "WORK_FAIL" : "rc=" . $c->returnCode()), "\n";
$h = $c->doBackground('nobody', 'bg');
echo "doBackground: ", ($h !== '' ? "handle" : "none"), " ", rc($c), "\n";
$s = $c->jobStatus($h);
echo "jobStatus: ", json_encode($s), "\n";
echo "ping: ", ($c->ping('x') ? "yes" : "no"), "\n";
exit(0);
