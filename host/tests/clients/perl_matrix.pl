#!/usr/bin/perl
# Gearman::Client / Gearman::Worker (libgearman-client-perl) for tests/client_matrix.rs and
# tests/real_clients.rs: one mode per run, one line per thing the library reported, in the words
# every matrix script uses (see client_matrix.rs). Anything the library croaks goes to stderr.
# Usage: perl perl_matrix.pl PORT MODE ARG [plain|exceptions]
#   job FUNC plain|exceptions   foreground job with workload "in": created, status N/D, data X,
#                               warning X, then complete X | fail | exception X
#   bg FUNC                     background job: created HANDLE
#   status HANDLE               GET_STATUS: status known=K running=R N/D
#   option -                    OPTION_REQ exceptions: option exceptions
#   work FUNC job               one job (GRAB_JOB): answers h=HANDLE f=FUNC u= d=DATA
#   raw-echo TEXT, raw-error FUNC   ECHO_REQ / SUBMIT_JOB through Gearman::Util's packet reader
#                               (Gearman::Client has no echo, and its task set croaks on ERROR)
use strict;
use warnings;
use Gearman::Client;
use Gearman::Util;
use Gearman::Worker;
use IO::Socket::INET;

my ($port, $mode, $arg, $opt) = @ARGV;
my $server = "127.0.0.1:$port";
my $timeout = ($ENV{GEARMAN_TEST_TIMEOUT_MS} || 20000) / 1000;
$| = 1;

sub client {
    my %opts = @_;
    return Gearman::Client->new(job_servers => [$server], command_timeout => $timeout, %opts);
}

sub job {
    my ($func, $exc) = @_;
    my $client = client(exceptions => $exc eq 'exceptions' ? 1 : 0);
    my $set = $client->new_task_set;
    my $handle = $set->add_task($func => "in", {
        timeout      => $timeout,
        on_status    => sub { print "status $_[0]/$_[1]\n" },
        on_data      => sub { print "data ${ $_[0] }\n" },
        on_warning   => sub { print "warning ${ $_[0] }\n" },
        on_complete  => sub { print "complete ${ $_[0] }\n" },
        on_fail      => sub { print "fail\n" },
        on_exception => sub { print "exception $_[0]\n" },
    });
    die "no handle\n" unless defined $handle;
    print "created\n";
    $set->wait(timeout => $timeout);
}

sub status {
    my ($handle) = @_;
    my $st = client()->get_status("$server//$handle") or die "no status\n";
    my ($n, $d) = @{ $st->progress || [0, 0] };
    printf "status known=%d running=%d %s/%s\n", $st->known ? 1 : 0, $st->running ? 1 : 0, $n, $d;
}

sub work {
    my ($func) = @_;
    my $done = 0;
    my $worker = Gearman::Worker->new(job_servers => [$server]);
    $worker->register_function($func => sub {
        my $job = shift;
        return "h=" . $job->handle . " f=$func u= d=" . $job->arg;
    });
    $worker->work(on_complete => sub { $done++ }, stop_if => sub { $done >= 1 });
}

# A request and the one packet that answers it, read by Gearman::Util::read_res_packet.
sub raw {
    my ($cmd, $body) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => $server) or die "connect: $!\n";
    my $req = Gearman::Util::pack_req_command($cmd, $body);
    Gearman::Util::send_req($sock, \$req) or die "send\n";
    my $err;
    my $res = Gearman::Util::read_res_packet($sock, \$err, $timeout) or die "read: $err\n";
    return ($res->{type}, ${ $res->{blobref} });
}

if ($mode eq 'job') { job($arg, $opt || 'plain') }
elsif ($mode eq 'bg') {
    my $handle = client()->dispatch_background($arg => "in") or die "no handle\n";
    print "created ", (split m!//!, $handle)[1], "\n";
}
elsif ($mode eq 'status') { status($arg) }
elsif ($mode eq 'option') {
    # The option is sent when the connection opens (refused: a warning, and the flag drops).
    my $client = client(exceptions => 1);
    $client->get_status("$server//T:0") or die "no status\n";
    print "option ", ($client->{exceptions} ? "exceptions" : "refused"), "\n";
}
elsif ($mode eq 'work') { work($arg) }
elsif ($mode eq 'raw-echo') {
    my ($type, $body) = raw(echo_req => $arg);
    print "echo $body\n" if $type eq 'echo_res';
}
elsif ($mode eq 'raw-error') {
    my ($type, $body) = raw(submit_job => join("\0", $arg, "", "in"));
    my ($code, $text) = split /\0/, $body;
    print "$type $code $text\n";
}
else { die "unknown mode $mode\n" }
exit 0;
