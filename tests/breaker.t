#!/usr/bin/env perl
# The circuit breaker (issue 10, item 6): a rule whose predicate fails (raises, runs out of its
# instruction budget, returns a bad override) on N events in a row is switched off for the rest of
# the generation: kguard says so once (naming the file and the rule), counts it in the summary
# (rules_disabled=N) and marks it in --stats; a reload builds the rule afresh and enables it again.
# N is --rule-max-failures (config: rule_max_failures), default 20; 0 never switches a rule off.
# A success in between starts the count again. The shipped rules' findings are never affected.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use Test::More;
use KGTest qw(:all);
use KGRun qw(%LIVE slurp wait_until start_kguard finish clean_exit);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $BROKEN = 'Discovery:Kubernetes/BreakerBroken';

sub put { my ($path, $text) = @_; open my $fh, '>', $path or die "$path: $!"; print {$fh} $text; close $fh }

sub rules_with {
    my ($body) = @_;
    my $dir = tempdir('kgb-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    opendir my $dh, "$ROOT/rules.d" or die;
    copy("$ROOT/rules.d/$_", "$dir/$_") or die for grep { /\.lua$/ } readdir $dh;
    put("$dir/zz_broken.lua", qq{return {
  type = "$BROKEN",
  severity = "Low",
  title = "A rule with a broken predicate",
  description = "Its predicate fails on some events; the circuit breaker must switch it off.",
  remediation = "None: a test rule.",
  match = {api = {"list secrets"}},
  predicate = function(ev)
$body
  end,
}
});
    return $dir;
}

# 50 Tor callers listing secrets in two namespaces, alternating (prod, staging, prod, ...).
my $N = 50;
my @EV = map { audit_event(verb => 'list', resource => 'secrets', namespace => ($_ % 2 ? 'staging' : 'prod'),
                           ip => $IP{TOR}) } 0 .. $N - 1;
my $INPUT = join '', map { event_line($_) . "\n" } @EV;

sub scan {
    my ($dir, @extra) = @_;
    return run_kguard(args => [scan_args(rules => $dir), '--publish-interval', '0', @extra], stdin => $INPUT,
                      timeout => 120);
}
sub tor_findings { my ($r) = @_; return scalar grep { $_->{data} && $_->{data}{type} =~ /TorIPCaller$/ } @{ $r->{findings} } }
sub disabled_lines { my ($r) = @_; return grep { /rule \Q$BROKEN\E disabled after/ } split /\n/, $r->{stderr} }

my $base = scan("$ROOT/rules.d");
clean_exit($base, 'baseline');
my $TOR = tor_findings($base);
cmp_ok($TOR, '>=', $N, "baseline: the Tor rules fire on every event ($TOR lines)");

my $raises = rules_with('    error("broken predicate")');

{
    my $r = scan($raises, '--stats');
    clean_exit($r, 'default threshold');
    is($r->{summary}{rule_errors}, 20, 'default: 20 failures, then the rule is off');
    is($r->{summary}{rules_disabled}, 1, 'default: rules_disabled=1 in the summary');
    my @d = disabled_lines($r);
    is(scalar @d, 1, 'default: said once');
    like($d[0] // '', qr/zz_broken\.lua: rule \Q$BROKEN\E disabled after 20 failures in a row; a reload enables it again/,
         'default: the message names the file, the rule and the count');
    like($r->{stderr}, qr/^kguard: stats: \Q$BROKEN\E\s+20\s+0\s+20\s+[\d.]+ disabled$/m,
         '--stats marks the rule disabled (20 matched, 20 errors)');
    unlike($r->{stderr}, qr/^kguard: stats: \S+TorIPCaller .*disabled$/m, '--stats: the shipped rules are not');
    is(tor_findings($r), $TOR, 'default: every shipped rule\'s finding is there');
}
{
    my $r = scan($raises, '--rule-max-failures', '5');
    clean_exit($r, '--rule-max-failures 5');
    is($r->{summary}{rule_errors}, 5, '--rule-max-failures 5: 5 failures');
    is(scalar(disabled_lines($r)), 1, '--rule-max-failures 5: said once');
}
{
    my $cfg = write_file("return {rule_max_failures = 3}\n", 'breaker3.lua');
    my $r = scan($raises, '--config', $cfg);
    clean_exit($r, 'config rule_max_failures = 3');
    is($r->{summary}{rule_errors}, 3, 'config rule_max_failures = 3: 3 failures');
    $r = scan($raises, '--config', $cfg, '--rule-max-failures', '7');
    is($r->{summary}{rule_errors}, 7, 'the command line wins over the config');
}
{
    my $r = scan($raises, '--rule-max-failures', '0');
    clean_exit($r, '--rule-max-failures 0');
    is($r->{summary}{rule_errors}, $N, '0: never switched off, every event an error');
    is($r->{summary}{rules_disabled}, 0, '0: rules_disabled=0');
    is(scalar(disabled_lines($r)), 0, '0: no message');
}
{
    # fails on prod, works on staging: never two failures in a row
    my $dir = rules_with('    if ev.namespace == "prod" then error("broken on prod") end' . "\n    return false");
    my $r = scan($dir, '--rule-max-failures', '2');
    clean_exit($r, 'failures with successes between');
    is($r->{summary}{rule_errors}, $N / 2, 'a success starts the count again: every prod event an error');
    is($r->{summary}{rules_disabled}, 0, 'and the rule stays on');
}
{
    my $dir = rules_with('    while true do end');
    my $r = scan($dir, '--rule-max-failures', '3');
    clean_exit($r, 'a predicate that runs out of budget');
    is($r->{summary}{rule_errors}, 3, 'budget exhaustion counts as a failure: off after 3');
    like($r->{stderr}, qr/instruction budget/, 'the budget error is reported');
    is(tor_findings($r), $TOR, 'every shipped rule\'s finding is there');
}
{
    my $dir = rules_with('    return {severity = 42}');
    my $r = scan($dir, '--rule-max-failures', '4');
    clean_exit($r, 'a predicate returning a bad override');
    is($r->{summary}{rule_errors}, 4, 'a bad override counts as a failure: off after 4');
    is(scalar(grep { $_->{data} && $_->{data}{type} eq $BROKEN } @{ $r->{findings} }), 0, 'it never fired');
}
{
    my $r = run_kguard(args => [scan_args(), '--rule-max-failures', 'many'], stdin => '');
    is($r->{exit}, 2, 'a bad --rule-max-failures is a usage error') or diag($r->{stderr});
    like($r->{stderr}, qr/--rule-max-failures wants a whole number/, 'and says what it wants');
}

# ---- kguard run: a reload enables the rule again -----------------------------------------------
{
    my $dir = $raises;
    my $k = start_kguard(args => ['run', '--rules', $dir, std_list_args(), '--publish-interval', '0',
                                  '--rule-max-failures', '2'], stdin => 'pipe');
    my $feed = sub { print { $k->{in} } event_line(verb => 'list', resource => 'secrets', ip => $IP{TOR}) . "\n" for 1 .. $_[0] };
    my $disabled = sub { scalar grep { /rule \Q$BROKEN\E disabled after 2 failures/ } split /\n/, slurp($k->{err}) };
    $feed->(4);
    ok(wait_until(15, sub { $disabled->() == 1 }), 'run: the rule is switched off after 2 failures');
    select(undef, undef, undef, 0.05);
    put("$dir/zz_broken.lua", slurp("$dir/zz_broken.lua"));      # the same rule, saved again
    ok(wait_until(20, sub { slurp($k->{err}) =~ /^kguard: reload \(change\): ok/m }), 'run: the rules reload');
    $feed->(4);
    ok(wait_until(15, sub { $disabled->() == 2 }), 'run: the reloaded rule runs again (and is switched off again)');
    my $r = finish($k);
    clean_exit($r, 'run with the circuit breaker');
    is($r->{summary}{rule_errors}, 4, 'run: 2 failures per generation');
    is($r->{summary}{rules_disabled}, 2, 'run: switched off once per generation');
}

done_testing();
