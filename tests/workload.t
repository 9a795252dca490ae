#!/usr/bin/env perl
# Workload and policy detection fixtures: tests/fixtures/workload/*.json, one case per file, in the
# format of tests/fixtures/rules/ (tests/fixtures/README.md) with the extra keys check_fixture()
# (tests/lib/KGTest.pm) knows: ids, assert_match, assert_contains, assert_absent, summary_min and their
# assert_type_* forms. Each case is scanned by a fresh process, as tests/rules.t does:
#   kguard scan --rules rules.d --tor-exits tests/lists/tor-exit-addresses.txt
#        --malicious-ips tests/lists/malicious.txt --threat-list partner-feed=tests/lists/partner-feed.txt
#        --cluster test-cluster FILE                 (cwd = KGUARD_ROOT; no --state)
# File names: pc- PrivilegedContainer, sm- ContainerWithSensitiveMount, ex- ExecInKubeSystemPod,
# ad- AdminAccessToDefaultServiceAccount, an- AnonymousAccessGranted, ed- ExposedDashboard,
# kf- KubeflowDashboardExposed; -neg- marks cases where the type must not fire.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(basename);
use Test::More;
use KGTest qw(:all);

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my @files = sort glob("$ROOT/tests/fixtures/workload/*.json");
BAIL_OUT("no fixtures in $ROOT/tests/fixtures/workload") unless @files;

my (%pos, %neg, %fired);
for my $file (@files) {
    my $run = run_fixture($file, subdir => 'workload');
    my $fx  = $run->{fx} // {};
    subtest basename($file) . ': ' . ($fx->{name} // '(unreadable)') => sub { check_fixture($run) };
    next unless $run->{r};
    my $name = $run->{name};
    push @{ $pos{$_} }, $name for @{ $fx->{expect} // [] };
    push @{ $neg{$_} }, $name for @{ $fx->{reject} // [] };
    $fired{ $_->{data}{type} // '' }++ for grep { $_->{data} } @{ $run->{r}{findings} };
}

subtest 'coverage: every workload/policy type has positive and negative cases' => sub {
    my @rows = sprintf('%-55s %8s %8s', 'type', 'positive', 'negative');
    for my $t (@WORKLOAD_TYPES) {
        my ($p, $n) = (scalar @{ $pos{$t} // [] }, scalar @{ $neg{$t} // [] });
        push @rows, sprintf('%-55s %8d %8d', $t, $p, $n);
        cmp_ok($p, '>=', 4, "$t: at least 4 positive fixtures");
        cmp_ok($n, '>=', 3, "$t: at least 3 fixtures where it must not fire");
        ok($fired{$t}, "$t fired");
    }
    note(join("\n", @rows));
};

done_testing();
