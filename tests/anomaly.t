#!/usr/bin/env perl
# Behavioural detections (issue 13): tests/fixtures/anomaly/*.json through `kguard test` (each
# AnomalousBehavior type: the learning period, a normal repeat, the anomaly; the AttackSequence
# correlation), and baselines kept across runs with --state.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Spec;
use Test::More;
use KGTest qw(:all);

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my $FX = 'tests/fixtures/anomaly';
my @files = sort glob("$ROOT/$FX/*.json");
ok(@files >= 24, 'at least three fixtures for each of the eight types');

{
    my $r = run_kguard(args => ['test', '--rules', 'rules.d', std_list_args(), $FX], timeout => 120);
    is($r->{exit}, 0, "kguard test $FX: exit 0") or diag(describe_run($r));
    my ($plan) = $r->{stdout} =~ /^1\.\.(\d+)$/m;
    is($plan, scalar(@files), "kguard test: one test per fixture");
    my @bad = $r->{stdout} =~ /^(not ok .*(?:\n#.*)*)/mg;
    ok(!@bad, 'every anomaly fixture passes') or diag(join("\n", @bad));
}

# Every type's learning/repeat/anomaly triple exists.
for my $short (qw(secrets permission exec workload privileged mount rolebinding role)) {
    ok(-f "$ROOT/$FX/$short-$_.json", "$short-$_.json exists") for qw(learning repeat anomaly);
}

# ---- --state: a baseline learned in one run answers in the next --------------------------------

sub events_of {
    my ($name) = @_;
    my $fx = json_decode(read_file("$ROOT/$FX/$name.json"));
    return map { json_encode($_) . "\n" } @{ $fx->{events} };
}

{
    my @ev = events_of('secrets-anomaly');     # two learning reads at day 0-1, the anomaly at day 8
    my $state = File::Spec->catfile(tmpdir(), 'anomaly-state.json');
    my $first = write_file(join('', @ev[0 .. $#ev - 1]), 'anomaly-learn.jsonl');
    my $second = write_file($ev[-1], 'anomaly-later.jsonl');
    my $r1 = run_kguard(args => ['scan', '--rules', 'rules.d', '--state', $state, $first]);
    is($r1->{exit}, 0, 'learning run: exit 0') or diag(describe_run($r1));
    is(scalar(@{ $r1->{findings} }), 0, 'learning run: no finding');
    my $saved = json_decode(read_file($state));
    my ($series) = grep { ($_->{kind} // '') eq 'baseline' && $_->{name} eq 'secrets' } @{ $saved->{tables} };
    ok($series, 'the state file holds the baseline "secrets"') or diag(read_file($state));
    ok($series && @{ $series->{starts} } == 1, 'with its learning start');

    my $r2 = run_kguard(args => ['scan', '--rules', 'rules.d', '--state', $state, $second]);
    is($r2->{exit}, 0, 'second run: exit 0') or diag(describe_run($r2));
    my @types = map { $_->{data}{type} } @{ $r2->{findings} };
    is_deeply(\@types, ['CredentialAccess:Kubernetes/AnomalousBehavior.SecretsAccessed'],
              'second run: the read from a new namespace fires against the saved baseline');
    my $age = $r2->{findings}[0]{data}{service}{detection}{anomaly}{baseline}{ageSeconds};
    ok(defined $age && $age > 8 * 86400 - 60 && $age < 8 * 86400 + 3600, "baseline age about 8 days ($age s)");

    my $r3 = run_kguard(args => ['scan', '--rules', 'rules.d', $second]);
    is(scalar(@{ $r3->{findings} }), 0, 'without --state the same read is the first event of a new baseline');
}

# ---- the clock: event time when scanning, wall time under kguard run -------------------------

{
    my @ev = events_of('secrets-anomaly');   # learning at day 0, the anomaly 8 days of event time later
    my $in = write_file(join('', @ev), 'anomaly-clock.jsonl');
    my $scan = run_kguard(args => ['scan', '--rules', 'rules.d', $in]);
    is(scalar(@{ $scan->{findings} }), 1, 'scan: 8 days of event time end the 7-day learning');
    my $run = run_kguard(args => ['run', '--rules', 'rules.d'], stdin => join('', @ev), timeout => 30);
    is($run->{exit}, 0, 'run from stdin: exit 0') or diag(describe_run($run));
    is(scalar(@{ $run->{findings} }), 0,
       'run: the clock is wall time, so old event times do not end the learning period');
}

done_testing();
