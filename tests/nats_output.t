#!/usr/bin/env perl
# Findings to JetStream as an output: `--output nats:SUBJECT` (with --nats-url), each with its own
# --format like any --output: the guardduty lines arrive as written to stdout, the ocsf ones as
# OCSF Detection Findings of the same ids; --nats-output SUBJ is the same as --output nats:SUBJ.
# A subject no stream takes: the lines wait (memory, then the --nats-spool file), the run says
# so, and the next run delivers the spool first, once.  A nats: output without a server URL is
# refused.  --follow is the input, so --nats-url serves only the outputs here (no consumer).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use KGTest qw(:all);
use KGRun ();
use KGNats ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
plan skip_all => 'nats-server not installed' unless KGNats::binary();
$SIG{PIPE} = 'IGNORE';

my $dir = tempdir('nats-out-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
my $srv = KGNats::start(dir => $dir, store => "$dir/store");
ok($srv->{port}, 'nats-server started') or BAIL_OUT(KGRun::slurp($srv->{log}));
my $URL = "nats://127.0.0.1:$srv->{port}";
my $c = KGNats::client($srv->{port});
is($c->stream('FINDINGS', 'findings.>')->{config}{name}, 'FINDINGS', 'stream FINDINGS on findings.>');

my @events = map { json_decode($_) } grep { length } split /\n/, read_file("$ROOT/tests/fixtures/sources/events.jsonl");
my ($tor) = grep { $_->{verb} eq 'list' && $_->{objectRef}{resource} eq 'secrets' && $_->{sourceIPs}[0] eq $IP{TOR} } @events;
my ($priv) = grep { ($_->{objectRef}{name} // '') eq 'debug-tools' } @events;
ok($tor && $priv, 'the Tor and privileged-pod events of the fixture set');
sub log_file {
    my ($name, @ev) = @_;
    open my $fh, '>', "$dir/$name" or die $!;
    print {$fh} json_encode($_), "\n" for @ev;
    close $fh;
    return "$dir/$name";
}
my @RUN = ('run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
           '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--nats-url', $URL);
sub by_subject { my ($s) = @_; return map { $_->[1] } grep { $_->[0] eq $s } $c->messages('FINDINGS') }

# ---- 1. formats per output ----
my $k = KGRun::start_kguard(args => [@RUN, '--follow', log_file('a.log', $priv, $tor), '--from-start',
                                     '--output', '-',
                                     '--format', 'ocsf', '--output', 'nats:findings.ocsf',
                                     '--format', 'guardduty', '--output', 'nats:findings.gd',
                                     '--nats-output', 'findings.alias']);
KGRun::wait_until(20, sub { scalar(by_subject('findings.alias')) >= 2 });
my $res = KGRun::finish($k, signal => 'TERM');
KGRun::clean_exit($res, 'three nats: outputs', how => 'SIGTERM -> ');
unlike($res->{stderr}, qr/consuming/, 'with --follow, --nats-url serves the outputs only (no consumer)');
my @stdout = grep { length } split /\n/, $res->{stdout};
is(scalar @stdout, 2, 'two findings (privileged container, Tor call)') or diag(describe_run($res));
is_deeply([ by_subject('findings.gd') ], \@stdout, 'guardduty on findings.gd: the lines of stdout, in order');
is_deeply([ by_subject('findings.alias') ], \@stdout, '--nats-output: the same lines');
my @ocsf = map { json_decode($_) } by_subject('findings.ocsf');
is_deeply([ map { $_->{class_uid} } @ocsf ], [2004, 2004], 'ocsf on findings.ocsf: Detection Findings');
is_deeply([ map { $_->{finding_info}{uid} } @ocsf ], [ map { json_decode($_)->{id} } @stdout ],
          'of the same findings, in order');
for my $subj (qw(findings.ocsf findings.gd findings.alias)) {
    like($res->{stderr}, qr/^kguard: output nats:\Q$subj\E: delivered=2 /m, "summary: nats:$subj delivered=2 (acknowledged)");
}

# ---- 2. a subject no stream takes: kept in the spool, delivered by the next run ----
my $spool = "$dir/nats.spool";
$k = KGRun::start_kguard(args => [@RUN, '--follow', log_file('b.log', $priv, $tor), '--from-start',
                                  '--output', '-', '--nats-spool', $spool, '--output', 'nats:later.kguard']);
KGRun::wait_until(20, sub { KGRun::stderr_of($k) =~ /write failed/ && (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 2 });
$res = KGRun::finish($k, signal => 'TERM');
like($res->{stderr}, qr/output nats:later\.kguard: write failed: publish to later\.kguard: /, 'the refusal is reported');
like($res->{stderr}, qr/2 finding lines not written: kept in \Q$spool\E/, 'the lines are kept in the spool file');
@stdout = grep { length } split /\n/, $res->{stdout};
is_deeply([ grep { length } split /\n/, KGRun::slurp($spool) ], \@stdout, 'the spool holds exactly the lines not published');
is_deeply([ crash_problems($res) ], [], 'no crash');

is($c->stream('LATER', 'later.>')->{config}{name}, 'LATER', 'a stream for the subject appears');
$k = KGRun::start_kguard(args => [@RUN, '--follow', log_file('empty.log'), '--from-start',
                                  '--nats-spool', $spool, '--output', 'nats:later.kguard']);
my @later;
KGRun::wait_until(20, sub { @later = map { $_->[1] } $c->messages('LATER'); @later >= 2 });
$res = KGRun::finish($k, signal => 'TERM');
KGRun::clean_exit($res, 'the next run', how => 'SIGTERM -> ');
is_deeply(\@later, \@stdout, 'it published what the spool held, once, in order');
ok(!-s $spool, 'and emptied the spool');

# ---- 3. misuse ----
$res = run_kguard(args => ['run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib", '--follow', "$dir/empty.log",
                           '--output', 'nats:findings.x']);
isnt($res->{exit}, 0, 'a nats: output without --nats-url: kguard does not start');
like($res->{stderr}, qr/a nats: output needs --nats-url/, 'and says so');
$res = run_kguard(args => [@RUN, '--follow', "$dir/empty.log", '--output', 'nats:findings.>']);
like($res->{stderr}, qr/nats: wants a subject without spaces or wildcards/, 'a wildcard subject is refused');

done_testing();
