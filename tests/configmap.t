#!/usr/bin/env perl
# Reload from a Kubernetes ConfigMap volume (issue 10, item 11). The kubelet writes a ConfigMap's
# files into a timestamped directory (..2026_12_02_14_00_00.123456789), points the symlink ..data
# at it, and makes every key a symlink through ..data (rule.lua -> ..data/rule.lua). An update
# writes a new timestamped directory, creates ..data_tmp pointing at it, renames ..data_tmp over
# ..data (one atomic swap: no key's name changes), adds symlinks for new keys, removes symlinks of
# deleted keys and then the old directory. This test does exactly that with a rules directory and
# with the config file, and also swaps a symlinked rules directory (rules -> rules-v1 replaced by
# rules -> rules-v2 through a rename), under `kguard run`; after each swap the reload line must
# appear and a probe event (a Tor caller listing secrets, fed on stdin) must be judged by the new
# rules (severity, an added rule, a removed rule, the cluster name from the config).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use Test::More;
use KGTest qw(:all);
use KGRun qw(%LIVE slurp wait_until start_kguard finish clean_exit);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $PROBE = 'Discovery:Kubernetes/ConfigMapProbe';
my $ADDED = 'Discovery:Kubernetes/ConfigMapAdded';

sub put { my ($path, $text) = @_; open my $fh, '>', $path or die "$path: $!"; print {$fh} $text; close $fh }

sub rule_text {
    my ($type, $sev) = @_;
    return qq{return {
  type = "$type",
  severity = $sev,
  title = "ConfigMap reload probe",
  description = "Fires on every list of secrets, so the test can see which rules run.",
  remediation = "None: a test rule.",
  match = {api = {"list secrets"}},
}
};
}

my @SHIPPED = do { opendir my $dh, "$ROOT/rules.d" or die; sort grep { /\.lua$/ } readdir $dh };

# The rules ConfigMap's keys: the shipped rules plus the probe (and the added rule when asked).
sub rules_keys {
    my (%o) = @_;
    my %k = map { my $f = $_; ($f => scalar read_file("$ROOT/rules.d/$f")) } @SHIPPED;
    $k{'zz_probe.lua'} = rule_text($PROBE, $o{sev});
    $k{'zz_added.lua'} = rule_text($ADDED, 3) if $o{added};
    return \%k;
}

# ---- the kubelet's atomic writer ---------------------------------------------------------------

my $stamp = 0;
sub kubelet_write {
    my ($mount, $keys) = @_;
    my @t = gmtime;
    my $ts = sprintf('..%04d_%02d_%02d_%02d_%02d_%02d.%09d', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], ++$stamp);
    my $old = readlink("$mount/..data");
    make_path("$mount/$ts");
    put("$mount/$ts/$_", $keys->{$_}) for keys %$keys;
    chmod 0755, "$mount/$ts";
    symlink($ts, "$mount/..data_tmp") or die "symlink: $!";
    rename("$mount/..data_tmp", "$mount/..data") or die "rename: $!";
    opendir my $dh, $mount or die;
    for my $name (grep { !/^\./ } readdir $dh) {          # keys gone from the ConfigMap
        unlink "$mount/$name" unless exists $keys->{$name};
    }
    for my $name (keys %$keys) {                          # new keys
        symlink("..data/$name", "$mount/$name") unless -l "$mount/$name";
    }
    remove_tree("$mount/$old") if defined $old;
}

# ---- kguard run on it --------------------------------------------------------------------------

my $top = tempdir('kgcm-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($rules, $cfgdir, $linked) = ("$top/rules", "$top/config", "$top/linked");
make_path($rules, $cfgdir);
kubelet_write($rules, rules_keys(sev => 2));
kubelet_write($cfgdir, {'kguard.lua' => "return {cluster = \"cm-one\"}\n"});
ok(-l "$rules/zz_probe.lua" && -l "$rules/..data", 'the rules mount is laid out like a ConfigMap volume');

my $k = start_kguard(args => ['run', '--rules', $rules, '--config', "$cfgdir/kguard.lua", std_list_args(),
                              '--publish-interval', '0'], stdin => 'pipe');
my $reloads = sub { my @l = slurp($k->{err}) =~ /^kguard: reload .*$/mg; return @l };
my $fed = 0;

# Feed one probe; the findings for it, by type.
sub probe {
    my ($what) = @_;
    my $e = audit_event(verb => 'list', resource => 'secrets', namespace => 'prod', ip => $IP{TOR});
    print { $k->{in} } event_line($e) . "\n";
    $fed++;
    my %by;
    ok(wait_until(15, sub {
        %by = map { $_->{data}{type} => $_->{data} } grep { $_->{data} && ($_->{data}{kguard}{auditID} // '') eq $e->{auditID} }
              @{ KGTest::parse_findings(slurp($k->{out})) };
        exists $by{$PROBE} }), "$what: the probe rule judged the event");
    return \%by;
}

sub swap {
    my ($what, $do) = @_;
    my $before = () = $reloads->();
    $do->();
    ok(wait_until(20, sub { $reloads->() > $before }), "$what: kguard reloads");
    my @l = $reloads->();
    like($l[-1] // '', qr/\(change\): ok, \d+ rules/, "$what: the reload is ok") or diag(slurp($k->{err}));
}

my $by = probe('at start');
is($by->{$PROBE}{severity}, 2, 'at start: the first version of the probe rule (severity 2)');
is($by->{$PROBE}{resource}{eksClusterDetails}{name}, 'cm-one', 'at start: the cluster from the config');

swap('ConfigMap update changing a rule', sub { kubelet_write($rules, rules_keys(sev => 6)) });
$by = probe('after the first update');
is($by->{$PROBE}{severity}, 6, 'the changed rule runs (severity 6)');

swap('ConfigMap update adding a key', sub { kubelet_write($rules, rules_keys(sev => 6, added => 1)) });
$by = probe('after adding a rule');
ok($by->{$ADDED}, 'the added rule fires');

swap('ConfigMap update removing a key', sub { kubelet_write($rules, rules_keys(sev => 5)) });
$by = probe('after removing a rule');
ok(!$by->{$ADDED}, 'the removed rule no longer fires');
is($by->{$PROBE}{severity}, 5, 'and the probe rule is the new one (severity 5)');

swap('config ConfigMap update', sub { kubelet_write($cfgdir, {'kguard.lua' => "return {cluster = \"cm-two\"}\n"}) });
$by = probe('after the config update');
is($by->{$PROBE}{resource}{eksClusterDetails}{name}, 'cm-two', 'the new config is in force');

my $r = finish($k);
clean_exit($r, 'run on ConfigMap mounts');
is($r->{summary}{judged}, $fed, 'every probe judged');

# ---- a symlinked rules directory swapped for another -------------------------------------------

{
    make_path("$top/rules-v1", "$top/rules-v2");
    for my $v ([1, 3], [2, 8]) {
        my $keys = rules_keys(sev => $v->[1]);
        put("$top/rules-v$v->[0]/$_", $keys->{$_}) for keys %$keys;
    }
    symlink('rules-v1', $linked) or die;
    $k = start_kguard(args => ['run', '--rules', $linked, std_list_args(), '--publish-interval', '0'], stdin => 'pipe');
    $fed = 0;
    $by = probe('symlinked rules, at start');
    is($by->{$PROBE}{severity}, 3, 'the rules behind the symlink run (severity 3)');
    swap('the rules symlink renamed to another directory', sub {
        symlink('rules-v2', "$top/linked.tmp") or die;
        rename("$top/linked.tmp", $linked) or die;
    });
    $by = probe('symlinked rules, after the swap');
    is($by->{$PROBE}{severity}, 8, 'the other directory\'s rules run (severity 8)');
    swap('a rule changed in the new directory', sub { put("$top/rules-v2/zz_probe.lua", rule_text($PROBE, 4)) });
    $by = probe('after editing the new directory');
    is($by->{$PROBE}{severity}, 4, 'the new directory is the one watched now (severity 4)');
    $r = finish($k);
    clean_exit($r, 'run on a swapped symlinked rules directory');
    is($r->{summary}{judged}, $fed, 'every probe judged');
}

done_testing();
