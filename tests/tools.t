#!/usr/bin/env perl
# Tools for rule authors (contract part 3): `kguard check` loads rules, lists and config strictly
# and exits 0 only when all is clean; `kguard test` runs fixtures and prints TAP. The shipped rules'
# fixtures (tests/fixtures/rules) and the custom detection of examples/custom-detection/ are run
# the way a user runs their own.
#   KGUARD       binary under test (default ./kguard, relative to KGUARD_ROOT)
#   KGUARD_ROOT  project root
# Core modules only.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(basename);
use File::Spec;
use Test::More;
use KGTest qw(:all);

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my @SHIPPED = sort glob("$ROOT/rules.d/*.lua");
my $CUSTOM_RULE = "$ROOT/examples/custom-detection/rules/credential_access_secrets_listed_cluster_wide.lua";
my $CUSTOM_TYPE = 'CredentialAccess:Kubernetes/SecretsListedClusterWide';

# TAP of `kguard test`: { plan, tests => [{ok, n, desc, why => [...]}], trailer => [...] }
sub tap {
    my ($text) = @_;
    my %t = (plan => undef, tests => [], other => []);
    for my $line (split /\n/, $text) {
        if ($line =~ /^1\.\.(\d+)$/) { $t{plan} = $1 }
        elsif ($line =~ /^(not )?ok (\d+) - (.*)$/) { push @{ $t{tests} }, { ok => !$1, n => $2, desc => $3, why => [] } }
        elsif ($line =~ /^#\s*(.*)$/ && @{ $t{tests} }) { push @{ $t{tests}[-1]{why} }, $1 }
        else { push @{ $t{other} }, $line }
    }
    return \%t;
}

sub check_tap_shape {
    my ($what, $t, $n) = @_;
    is($t->{plan}, $n, "$what: plan 1..$n");
    is(scalar(@{ $t->{tests} }), $n, "$what: $n test lines");
    is_deeply([map { $_->{n} } @{ $t->{tests} }], [1 .. $n], "$what: numbered 1..$n in order");
    is_deeply($t->{other}, [], "$what: nothing else on stdout") or diag(join("\n", @{ $t->{other} }));
}

# A rules directory holding the shipped rules and the custom one, as examples/custom-detection
# tells users to build it (symbolic links).
my $COMBINED = File::Spec->catdir(tmpdir(), 'rules-with-custom');
mkdir $COMBINED or die "mkdir $COMBINED: $!";
for my $f (@SHIPPED, $CUSTOM_RULE) {
    symlink($f, File::Spec->catfile($COMBINED, basename($f))) or die "symlink $f: $!";
}

# ---- kguard check: clean ---------------------------------------------------------------------

{
    my $n = @SHIPPED;
    my $r = run_kguard(args => ['check']);
    is($r->{exit}, 0, 'check with the defaults: exit 0') or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: check: $n rules in \S*rules\.d: ok$/m, "check: $n shipped rules, ok");

    $r = run_kguard(args => ['check', '--rules', 'rules.d', std_list_args()]);
    is($r->{exit}, 0, 'check --rules rules.d with the test lists: exit 0') or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: check: $n rules in rules\.d: ok$/m, 'check names the rules directory');
    is($r->{stdout}, '', 'check prints nothing on stdout');

    # (--archive: check opens the archive as a scan would; keep it out of the source tree)
    $r = run_kguard(args => ['check', '--config', 'examples/config/kguard.lua',
                             '--archive', File::Spec->catfile(tmpdir(), 'check-archive.jsonl')]);
    is($r->{exit}, 0, 'check --config examples/config/kguard.lua: exit 0') or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: check: $n rules in \S+, config examples\/config\/kguard\.lua: ok$/m,
         'check of the example config says ok');

    $r = run_kguard(args => ['check', '--rules', $COMBINED, '--tor-exits', 'examples/tor-exits.txt']);
    is($r->{exit}, 0, 'check of the shipped rules plus the custom detection: exit 0') or diag(describe_run($r));
    like($r->{stderr}, qr/: check: ${\ ($n + 1)} rules in \Q$COMBINED\E: ok$/m, 'check counts the custom rule');

    $r = run_kguard(args => ['check', 'examples/audit.log']);
    is($r->{exit}, 2, 'check takes no files: exit 2');
}

# ---- kguard check: problems, each with file:line -------------------------------------------------

{
    # a directory with three broken rules and a good one: every problem is reported
    write_file(<<'EOF', 'broken-rules/a_syntax.lua');
-- a missing comma
return {
  type = "Discovery:Kubernetes/BrokenSyntax",
  severity = "Low"
  title = "t", description = "d", remediation = "r",
}
EOF
    write_file(<<'EOF', 'broken-rules/b_unknown_field.lua');
return {
  type = "Discovery:Kubernetes/UnknownField",
  severity = "Low",
  title = "t", description = "d", remediation = "r",
  match = { api = { "list pods" } },
  predicat = function(ev) return true end,
}
EOF
    write_file(<<'EOF', 'broken-rules/c_bad_match.lua');
return {
  type = "Discovery:Kubernetes/BadMatch",
  severity = "Low",
  title = "t", description = "d", remediation = "r",
  match = {
    api = { "list pods", "list Secrets" },
  },
}
EOF
    write_file(<<'EOF', 'broken-rules/d_good.lua');
return {
  type = "Discovery:Kubernetes/Good",
  severity = "Low",
  title = "t", description = "d", remediation = "r",
  match = { api = { "list pods" } },
}
EOF
    my $dir = File::Spec->catdir(tmpdir(), 'broken-rules');
    my $r = run_kguard(args => ['check', '--rules', $dir]);
    is($r->{exit}, 1, 'check of a broken rules directory: exit 1') or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: \Q$dir\E\/a_syntax\.lua:5: '\}' expected \(to close '\{' at line 2\) near 'title'$/m,
         'syntax error: file:line of the rule');
    like($r->{stderr}, qr/^kguard: \Q$dir\E\/b_unknown_field\.lua:6: unknown rule field 'predicat'$/m,
         'unknown field: file:line of the field');
    like($r->{stderr}, qr/^kguard: \Q$dir\E\/c_bad_match\.lua:6: match\.api\[2\] is not valid: list Secrets$/m,
         'bad match entry: file:line of the entry');
    like($r->{stderr}, qr/cannot load the rules: 3 problems in \Q$dir\E/, 'check counts the three problems');
    is($r->{stdout}, '', 'check prints nothing on stdout');

    my $s = run_kguard(args => ['scan', '--rules', $dir, '/dev/null']);
    is($s->{exit}, 1, 'scan refuses the same directory: exit 1');
}

{
    my $r = run_kguard(args => ['check', '--config', 'tests/fixtures/config/errors/bad-severity.lua']);
    is($r->{exit}, 1, 'check of a broken config: exit 1') or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: tests\/fixtures\/config\/errors\/bad-severity\.lua:6: the severity of Discovery:Kubernetes\/\* must be/m,
         'broken config: file:line');
}

{
    my $list = write_file("# a malicious list with a typo\n192.0.2.66\n192.0.2.300\n198.51.100.128/26\n", 'bad-list.txt');
    my $r = run_kguard(args => ['check', '--malicious-ips', $list]);
    is($r->{exit}, 1, 'check with a list holding a bad line: exit 1') or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: \Q$list\E:3: bad address "192\.0\.2\.300".*\(line skipped\)$/m, 'bad list line: file:line');
    like($r->{stderr}, qr/^kguard: check: \d+ rules in \S+: problems above$/m, 'check: problems above');

    my $s = run_kguard(args => ['scan', '--malicious-ips', $list, '/dev/null']);
    is($s->{exit}, 0, 'scan with the same list runs (the bad line is skipped)');
    like($s->{stderr}, qr/\Q$list\E:3: bad address/, 'scan still reports the bad line');
}

# ---- kguard test: the custom detection --------------------------------------------------------

my $CUSTOM_FX = 'examples/custom-detection/fixtures';
my @custom_fx = sort glob("$ROOT/$CUSTOM_FX/*.json");
ok(@custom_fx >= 6, 'examples/custom-detection/fixtures holds the positive and negative cases');
{
    my $r = run_kguard(args => ['test', '--rules', $COMBINED, $CUSTOM_FX]);
    is($r->{exit}, 0, 'kguard test of the custom detection: exit 0') or diag(describe_run($r));
    my $t = tap($r->{stdout});
    check_tap_shape('custom detection TAP', $t, scalar @custom_fx);
    my @bad = grep { !$_->{ok} } @{ $t->{tests} };
    ok(!@bad, 'custom detection: every fixture ok')
        or diag(join("\n", map { "not ok $_->{n} - $_->{desc}\n  " . join("\n  ", @{ $_->{why} }) } @bad));
    is_deeply([map { $_->{desc} =~ /^(\S+?\.json)/ ? $1 : '' } @{ $t->{tests} }],
              [map { "$CUSTOM_FX/" . basename($_) } @custom_fx], 'custom detection: one test per fixture, sorted by path');
    ok(!(grep { @{ $_->{why} } } @{ $t->{tests} }), 'custom detection: no failure reasons');

    # the fixtures need the rule: with the shipped rules alone the positive cases fail
    my $s = run_kguard(args => ['test', $CUSTOM_FX]);
    is($s->{exit}, 1, 'the same fixtures without the custom rule: exit 1');
    my $ts = tap($s->{stdout});
    my @fail = grep { !$_->{ok} } @{ $ts->{tests} };
    is_deeply([sort map { $_->{desc} =~ m{/(pos-[^/:]+\.json)} ? $1 : $_->{desc} } @fail],
              [sort map { basename($_) } grep { m{/pos-} } @custom_fx], 'without the rule exactly the pos-* fixtures fail');
    ok(!(grep { !grep { /expected \Q$CUSTOM_TYPE\E, none/ } @{ $_->{why} } } @fail),
       'each says "# ... expected <type>, none"');
    like($s->{stdout}, qr/^# \d+ of \d+ fixtures failed$/m, 'a closing "# N of M fixtures failed" line');
}

# A fixture that is wrong on purpose fails, with the reason on a "# " line, and exit 1.
{
    my $text = read_file("$ROOT/$CUSTOM_FX/neg-one-namespace.json");
    (my $wrong = $text) =~ s/"expect": \[\]/"expect": ["$CUSTOM_TYPE"]/ or die 'cannot edit the fixture';
    $wrong =~ s/"name": "/"name": "WRONG ON PURPOSE: /;
    my $good = write_file(read_file("$ROOT/$CUSTOM_FX/pos-admin-lists-all-namespaces.json"), 'mixed/a-good.json');
    my $bad  = write_file($wrong, 'mixed/b-wrong.json');
    (my $wrong2 = read_file("$ROOT/$CUSTOM_FX/pos-admin-lists-all-namespaces.json")) =~ s/"severity": 8/"severity": 5/
        or die 'cannot edit the fixture';
    my $bad2 = write_file($wrong2, 'mixed/c-wrong-severity.json');
    my $broken = write_file("{\"name\": \"not JSON\", \"events\": [\n", 'mixed/d-broken.json');
    my $dir = File::Spec->catdir(tmpdir(), 'mixed');
    my $r = run_kguard(args => ['test', '--rules', $COMBINED, $dir]);
    is($r->{exit}, 1, 'a wrong fixture makes kguard test exit 1') or diag(describe_run($r));
    my $t = tap($r->{stdout});
    is($t->{plan}, 4, 'mixed: plan 1..4');
    my %by = map { (($_->{desc} =~ m{/([^/:]+\.json)})[0] // '' => $_) } @{ $t->{tests} };
    ok($by{'a-good.json'} && $by{'a-good.json'}{ok}, 'the good fixture still passes');
    ok($by{'b-wrong.json'} && !$by{'b-wrong.json'}{ok}, 'the wrong fixture fails');
    like(join("\n", @{ $by{'b-wrong.json'}{why} // [] }), qr/expected \Q$CUSTOM_TYPE\E, none/, 'its "# " line says why');
    like($r->{stdout}, qr/^not ok \d+ - \Q$bad\E: WRONG ON PURPOSE.*\n#\s+expected /m, 'the reason follows the not ok line');
    ok($by{'c-wrong-severity.json'} && !$by{'c-wrong-severity.json'}{ok}, 'a wrong assert_type fails');
    like(join("\n", @{ $by{'c-wrong-severity.json'}{why} // [] }), qr/severity is 8, expected 5/, 'the reason names the value');
    ok($by{'d-broken.json'} && !$by{'d-broken.json'}{ok}, 'an unreadable fixture fails');
    like(join("\n", @{ $by{'d-broken.json'}{why} // [] }), qr/not a readable JSON fixture/, 'and says so');
    like($r->{stdout}, qr/^# 3 of 4 fixtures failed$/m, '"# 3 of 4 fixtures failed"');
}

{
    my $r = run_kguard(args => ['test']);
    is($r->{exit}, 2, 'kguard test without a path: exit 2');
    $r = run_kguard(args => ['test', 'tests/fixtures/no-such-dir']);
    is($r->{exit}, 1, 'kguard test of a missing path: exit 1');
}

# ---- kguard test: the shipped rules' own fixtures ---------------------------------------------

{
    my @fx = sort glob("$ROOT/tests/fixtures/rules/*.json");
    ok(@fx >= 88, 'tests/fixtures/rules holds 88 or more fixtures');
    my $r = run_kguard(args => ['test', '--rules', 'rules.d', std_list_args(), '--cluster', 'test-cluster',
                                'tests/fixtures/rules'], timeout => 120);
    is($r->{exit}, 0, 'kguard test tests/fixtures/rules with the standard lists: exit 0') or diag(describe_run($r));
    my $t = tap($r->{stdout});
    check_tap_shape('shipped fixtures TAP', $t, scalar @fx);
    my @bad = grep { !$_->{ok} } @{ $t->{tests} };
    ok(!@bad, 'every shipped fixture ok under kguard test, as under tests/rules.t')
        or diag(join("\n", map { "not ok $_->{n} - $_->{desc}\n  " . join("\n  ", @{ $_->{why} }) } @bad));
}

done_testing();
