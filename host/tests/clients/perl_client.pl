#!/usr/bin/perl
# Gearman::Client (libgearman-client-perl) for the integration tests. Prints one line per outcome
# so the Rust test can compare them exactly.
# Usage: perl perl_client.pl PORT
use strict;
use warnings;
use Gearman::Client;

my ($port) = @ARGV;
my $client = Gearman::Client->new(job_servers => ["127.0.0.1:$port"]);

my $r = $client->do_task(rev => "hello");
print "do_task: ", (defined $r ? $$r : "undef"), "\n";

$r = $client->do_task(rev => "unique", { uniq => "u-1", priority => "high" });
print "do_task high uniq: ", (defined $r ? $$r : "undef"), "\n";

$r = $client->do_task(fail => "x");
print "do_task fail: ", (defined $r ? $$r : "undef"), "\n";

my $set = $client->new_task_set;
my @got;
for my $w (qw(abc de f)) {
    $set->add_task(rev => $w, { on_complete => sub { push @got, ${ $_[0] } } });
}
$set->wait;
print "task set: ", join(",", sort @got), "\n";

# A background job for a function nobody serves: its status is stable.
my $handle = $client->dispatch_background(nobody => "background");
print "background handle: ", (defined $handle && length $handle ? "yes" : "no"), "\n";
my $status = $client->get_status($handle);
print "status: known=", ($status->known ? 1 : 0), " running=", ($status->running ? 1 : 0), "\n";
exit 0;
