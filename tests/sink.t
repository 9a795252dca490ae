#!/usr/bin/env perl
# Finding sinks end to end: a finding line that cannot be written is reported (which sink, why),
# counted in the summary as output_errors, and makes the exit status 1 — never lost silently.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
plan skip_all => 'no writable /dev/full' unless -c '/dev/full' && -w '/dev/full';

# A Tor exit listing secrets: one finding.
my $input = write_file(event_line(verb => 'list', resource => 'secrets', ip => $IP{TOR}, user => 'EKS') . "\n",
                       'tor-secrets.jsonl');

subtest 'scan: stdout on a full device' => sub {
    my $cmd = join ' ', map { "'$_'" } $BIN, scan_args(), $input;
    my $r = run_kguard(bin => '/bin/sh', args => ['-c', "exec $cmd >/dev/full"], timeout => 60);
    is($r->{exit}, 1, 'exit 1') or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: output stdout: write failed: cannot write to stdout: No space left on device; keeping finding lines in memory and retrying$/m,
         'the failed sink, the call and the reason on stderr');
    like($r->{stderr}, qr/^kguard: output stdout: write failed: 1 finding line lost: no spool file to keep them in$/m,
         'at the end: the line is lost, with the count');
    is($r->{summary}{findings}, 1, 'the finding was made');
    is($r->{summary}{output_errors}, 2, 'summary: output_errors=2 (the outage, the loss)');
};

subtest 'scan: a normal run reports no output errors' => sub {
    my $r = run_kguard(args => [scan_args(), $input], timeout => 60);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is(scalar @{ $r->{findings} }, 1, 'one finding line on stdout');
    is($r->{summary}{output_errors}, 0, 'summary: output_errors=0');
};

subtest 'run --output on a full device' => sub {
    my $r = run_kguard(args => ['run', '--rules', 'rules.d', std_list_args(), '--output', '/dev/full'],
                       stdin_file => $input, timeout => 60);
    is($r->{exit}, 1, 'exit 1 once stdin ends') or diag(describe_run($r));
    like($r->{stderr}, qr{^kguard: output /dev/full: write failed: cannot write to /dev/full: No space left on device; keeping}m,
         'the failed file named on stderr');
    like($r->{stderr}, qr{^kguard: output /dev/full: write failed: 1 finding line lost}m, 'the loss counted at the end');
    ok(!-e '/dev/full.spool', 'no spool file beside a device');
    cmp_ok($r->{summary}{output_errors} // 0, '>=', 1, 'counted in the summary');
};

done_testing();
