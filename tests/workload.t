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
use File::Temp ();
use JSON::PP ();
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

# A JSON patch is turned into the partial object its operations describe; an operation's path is a
# string, so cJSON's nesting limit on input does not bound the depth of that object. A patch whose
# path has a few hundred thousand segments (an ~1 MB line, well under --max-line-bytes) must not
# take the scan down; the next event must still be judged.
subtest 'JSON patches with very deep paths do not crash the scan' => sub {
    my $pc = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
    my %variants = (
        'object path of 500000 segments'       => '/spec/template/spec' . ('/a' x 500_000),
        'array path of 400000 "-" segments'    => '/spec/template/spec/containers' . ('/-' x 400_000),
        'array path of 400000 index segments'  => '/spec/template/spec/containers' . ('/0' x 400_000),
    );
    for my $what (sort keys %variants) {
        my $deep = audit_event(verb => 'patch', resource => 'deployments', namespace => 'shop', name => 'web',
                               ip => $IP{OFFICE}, query => 'fieldManager=kubectl-patch',
                               set => { level => 'Request', requestObject => [
                                   { op => 'add', path => $variants{$what}, value => { privileged => JSON::PP::true } } ] });
        my $normal = audit_event(verb => 'create', resource => 'pods', namespace => 'default', name => 'dbg',
                                 ip => $IP{OFFICE}, received => '2024-03-12T10:16:02.000000Z',
                                 set => { level => 'Request', requestObject => {
                                     kind => 'Pod', apiVersion => 'v1', metadata => { name => 'dbg', namespace => 'default' },
                                     spec => { containers => [ { name => 'dbg', image => 'busybox:1.36',
                                                                 securityContext => { privileged => JSON::PP::true } } ] } } });
        my $input = write_file(event_line($deep) . "\n" . event_line($normal) . "\n");
        my $r = run_kguard(args => [scan_args(), $input], timeout => 60);
        my @crash = crash_problems($r);
        ok(!@crash, "$what: no crash") or diag(join('; ', @crash) . "\n" . describe_run($r));
        is($r->{exit}, 0, "$what: exit 0");
        is($r->{summary} && $r->{summary}{events}, 2, "$what: both events read");
        ok((grep { ($_->{data}{type} // '') eq $pc && ($_->{data}{kguard}{auditID} // '') eq $normal->{auditID} }
            @{ $r->{findings} }), "$what: the next event (a privileged pod) is still detected");
    }
};

# State kept across runs with --state: the RBAC memory (a ClusterRole seen in one run makes a binding
# to it in the next run admin), Kubeflow seen before the Istio gateway turns LoadBalancer, and a
# deleted role forgotten for good. Each step is a separate scan sharing one state file; the same
# second step without the state file must stay quiet, so the memory is what decides.
subtest 'state tables carry the RBAC memory and Kubeflow across runs (--state)' => sub {
    my $dir = File::Temp::tempdir('wl-state-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $events = sub {
        my ($file) = @_;
        my $fx = json_decode(read_file("$ROOT/tests/fixtures/workload/$file"));
        return @{ $fx->{events} };
    };
    my $scan = sub {
        my ($state, @evs) = @_;
        my $input = write_file(join('', map { event_line($_) . "\n" } @evs));
        my $r = run_kguard(args => [scan_args(), (defined $state ? ('--state', $state) : ()), $input], timeout => 60);
        is($r->{exit}, 0, 'scan exit 0') or diag(describe_run($r));
        return { map { ($_->{data}{type} // '') => 1 } grep { $_->{data} } @{ $r->{findings} } };
    };
    my $ad = 'Policy:Kubernetes/AdminAccessToDefaultServiceAccount';
    my $kf = 'Policy:Kubernetes/KubeflowDashboardExposed';
    my ($role, $bind) = $events->('ad-custom-admin-clusterrole.json');
    my (undef, $delete) = $events->('ad-neg-role-deleted.json');
    my $state = "$dir/rbac.state";
    ok(!$scan->($state, $role)->{$ad}, 'run 1: the admin-like ClusterRole alone gives nothing');
    ok($scan->($state, $bind)->{$ad}, 'run 2: the binding to it fires, the role known from run 1');
    ok(!$scan->(undef, $bind)->{$ad}, 'the same binding without the state file: the role is unknown');
    my $state2 = "$dir/rbac-deleted.state";
    $scan->($state2, $role);
    $scan->($state2, $delete);
    ok(!$scan->($state2, $bind)->{$ad}, 'a role deleted in an earlier run is forgotten');

    my @kf = $events->('kf-istio-gateway-after-kubeflow.json');
    my $state3 = "$dir/kubeflow.state";
    ok(!$scan->($state3, @kf[0, 1])->{$kf}, 'run 1: Kubeflow installed, nothing exposed');
    ok($scan->($state3, $kf[2])->{$kf}, 'run 2: the gateway turned LoadBalancer fires, Kubeflow known from run 1');
    ok(!$scan->(undef, $kf[2])->{$kf}, 'the same patch without the state file: no Kubeflow known, quiet');
};

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
