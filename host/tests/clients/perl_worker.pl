#!/usr/bin/perl
# Gearman::Worker (libgearman-client-perl) for the integration tests: registers `rev` (reverse the
# argument), `fail` (returns undef: WORK_FAIL) and `boom` (dies: Gearman::Worker sends
# WORK_EXCEPTION, then WORK_FAIL), does N jobs and exits 0.
# Usage: perl perl_worker.pl PORT N
use strict;
use warnings;
use Gearman::Worker;

my ($port, $n) = @ARGV;
my $done = 0;
my $worker = Gearman::Worker->new(job_servers => ["127.0.0.1:$port"]);
$worker->register_function(rev => sub { my $job = shift; return scalar reverse $job->arg; });
$worker->register_function(fail => sub { return undef });
$worker->register_function(boom => sub { die "boom\n" });
$worker->work(
    on_complete => sub { $done++ },
    on_fail     => sub { $done++ },
    stop_if     => sub { $done >= $n },
);
exit 0;
