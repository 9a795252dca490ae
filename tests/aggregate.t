#!/usr/bin/env perl
# Finding aggregation (contract part 2, "Aggregation and output"): the id is a hash of type + cluster
# + username + caller IP (+ the subject for rules with details); a repeat updates the finding (same id,
# service.count + 1, eventLastSeen/updatedAt forward, eventFirstSeen/createdAt kept); a new finding is
# printed at once (count 1), updates at most once per --publish-interval (default 300 s; 0 = every
# repeat) and always once at the end of a scan; with --state the entries survive a restart.
# Summary: findings = distinct new findings, updates = update lines printed.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my $DISC = 'Discovery:Kubernetes/TorIPCaller';
my $CRED = 'CredentialAccess:Kubernetes/TorIPCaller';
my $SM   = 'Persistence:Kubernetes/ContainerWithSensitiveMount';

# T(k): a distinct requestReceivedTimestamp, later for larger k; ms(T(k)) is how findings write it.
sub T  { my ($k) = @_; sprintf('2024-03-12T10:%02d:07.%03d400Z', 10 + $k, 111 * $k) }
sub ms { my ($t) = @_; $t =~ s/\.(\d{3})\d*Z\z/.$1Z/r }

# kubectl get pods -A style list from a Tor exit (Discovery:Kubernetes/TorIPCaller)
sub list_pods {
    my (%o) = @_;
    my %e = (verb => 'list', resource => $o{resource} // 'pods',
             namespace => ($o{resource} // '') eq 'nodes' ? undef : 'kube-system',
             ip => $o{ip} // $IP{TOR}, user => $o{user} // 'ADMIN', received => $o{t},
             stage_ts => ($o{t} =~ s/400Z\z/912Z/r), auditID => $o{id} // uuid());
    $e{verb} = $o{verb} if $o{verb};
    $e{name} = $o{name} if $o{name};
    return audit_event(%e);
}

sub lines { my ($evs) = @_; join('', map { event_line($_) . "\n" } @$evs) }

sub scan {
    my ($evs, %o) = @_;
    my $input = write_file(lines($evs));
    my $r = run_kguard(args => [scan_args(cluster => $o{cluster}), (defined $o{state} ? ('--state', $o{state}) : ()),
                                @{ $o{args} // [] }, $input], timeout => 60);
    my @crash = crash_problems($r);
    ok(!@crash && defined $r->{exit} && $r->{exit} == 0, ($o{what} // 'scan') . ': exit 0, no crash')
        or diag(join('; ', @crash) . "\n" . describe_run($r));
    my @bad = grep { !$_->{data} } @{ $r->{findings} };
    ok(!@bad, ($o{what} // 'scan') . ': every stdout line is a JSON object') or diag(describe_run($r));
    return $r;
}

sub all_lines { map { $_->{data} } grep { $_->{data} } @{ $_[0]{findings} } }
sub summary_is {
    my ($r, $want, $what) = @_;
    my $s = $r->{summary} // {};
    is($s->{$_}, $want->{$_}, "$what: summary $_=$want->{$_}") for sort keys %$want;
    my @l = all_lines($r);
    is(scalar(@l), ($s->{findings} // 0) + ($s->{updates} // 0), "$what: stdout lines = findings + updates");
}

# ---------------------------------------------------------------------------------------------
subtest 'N identical events: one id, first line count 1, last line count N' => sub {
    my @order = (3, 1, 5, 2, 4);    # received times out of order: first/last seen are min/max
    my @evs = map { list_pods(t => T($_)) } @order;
    my $r = scan(\@evs, what => 'default interval');
    my @l = all_lines($r);
    my %ids = map { $_->{id} => 1 } @l;
    is(scalar(keys %ids), 1, 'exactly one finding id') or diag(describe_run($r));
    like($l[0]{id} // '', qr/\A[0-9a-f]{32}\z/, 'id is 32 lowercase hex');
    is(scalar(@l), 2, 'two lines: the new finding, then one update at the end of the scan (interval 300 s)');
    my ($first, $last) = @l[0, -1];
    is($first->{type}, $DISC, "type $DISC");
    is($first->{service}{count}, 1, 'first line: count 1');
    is($first->{service}{eventFirstSeen}, ms(T(3)), 'first line: eventFirstSeen = the first event');
    is($first->{service}{eventLastSeen}, ms(T(3)), 'first line: eventLastSeen = the first event');
    is($first->{kguard}{auditID}, $evs[0]{auditID}, 'first line: details of the first event');
    is($last->{service}{count}, scalar(@evs), 'last line: count N = ' . scalar(@evs));
    is($last->{service}{eventFirstSeen}, ms(T(1)), 'last line: eventFirstSeen = the earliest event time');
    is($last->{service}{eventLastSeen}, ms(T(5)), 'last line: eventLastSeen = the latest event time');
    is($last->{kguard}{auditID}, $evs[-1]{auditID}, 'last line: details from the latest occurrence');
    ok(is_iso_ms($last->{$_}), "last line: $_ is ISO-8601 with ms") for qw(createdAt updatedAt);
    is($last->{createdAt}, $first->{createdAt}, 'createdAt stays');
    ok(($last->{createdAt} // '') le ($last->{updatedAt} // ''), 'createdAt <= updatedAt');
    ok(($first->{updatedAt} // '') le ($last->{updatedAt} // ''), 'updatedAt does not go back');
    is($last->{arn}, $first->{arn}, 'arn stays (it names the id)');
    summary_is($r, { events => 5, judged => 5, findings => 1, updates => 1 }, 'default interval');
};

subtest '--publish-interval 0 prints every repeat' => sub {
    my @evs = map { list_pods(t => T($_)) } 1 .. 6;
    my $r = scan(\@evs, args => ['--publish-interval', '0'], what => 'interval 0');
    my @l = all_lines($r);
    is(scalar(@l), 6, 'six lines for six events');
    is_deeply([map { $_->{service}{count} } @l], [1 .. 6], 'counts 1..6 in order');
    my %ids = map { $_->{id} => 1 } @l;
    is(scalar(keys %ids), 1, 'all lines share one id');
    is_deeply([map { $_->{service}{eventLastSeen} } @l], [map { ms(T($_)) } 1 .. 6], 'eventLastSeen follows each event');
    is_deeply([map { $_->{kguard}{auditID} } @l], [map { $_->{auditID} } @evs], 'each line carries its event');
    ok(!(grep { $_->{service}{eventFirstSeen} ne ms(T(1)) } @l), 'eventFirstSeen stays at the first event');
    summary_is($r, { events => 6, findings => 1, updates => 5 }, 'interval 0');

    my $r2 = scan(\@evs, args => ['--publish-interval', '300'], what => 'interval 300');
    is(scalar(all_lines($r2)), 2, 'explicit --publish-interval 300: first line and the end-of-scan update');
};

subtest '--publish-interval takes seconds from 0 up' => sub {
    for my $bad ('-1', 'abc', '', '10x', '1e99') {
        my $r = run_kguard(args => [scan_args(), '--publish-interval', $bad, '/dev/null'], timeout => 30);
        is($r->{exit}, 2, "--publish-interval '$bad': usage error (exit 2)");
        like($r->{stderr}, qr/publish-interval/, "--publish-interval '$bad': the message names the option");
    }
};

subtest 'the aggregation key: type, cluster, user and caller IP' => sub {
    my @evs = (
        list_pods(t => T(1)), list_pods(t => T(2)), list_pods(t => T(3)),                     # ADMIN, TOR
        list_pods(t => T(4), verb => 'get', resource => 'nodes', name => 'ip-10-0-1-17'),    # same type/user/IP
        list_pods(t => T(5), ip => $IP{TOR2}), list_pods(t => T(6), ip => $IP{TOR2}),          # other IP
        list_pods(t => T(7), user => 'EKS'),                                                  # other user
        list_pods(t => T(8), resource => 'secrets'),                                          # other type
    );
    my $r = scan(\@evs, what => 'mixed callers');
    my @final = map { $_->{data} } final_findings($r);
    my %by = map { join('|', $_->{type}, $_->{resource}{kubernetesDetails}{kubernetesUserDetails}{username},
                        $_->{service}{action}{kubernetesApiCallAction}{remoteIpDetails}{ipAddressV4}) => $_ } @final;
    is(scalar(@final), 4, 'four distinct ids') or diag(describe_run($r));
    is(scalar(keys %by), 4, 'one id per (type, user, IP)');
    my $admin = $USER{ADMIN}{username};
    my $eks   = $USER{EKS}{username};
    is(($by{"$DISC|$admin|$IP{TOR}"} // {})->{service}{count}, 4, 'same type/user/IP: one id, count 4 (list pods and get nodes)');
    is(($by{"$DISC|$admin|$IP{TOR2}"} // {})->{service}{count}, 2, 'another IP: its own id, count 2');
    is(($by{"$DISC|$eks|$IP{TOR}"} // {})->{service}{count}, 1, 'another user: its own id, count 1');
    is(($by{"$CRED|$admin|$IP{TOR}"} // {})->{service}{count}, 1, 'another type: its own id');
    summary_is($r, { events => 8, findings => 4 }, 'mixed callers');
    is($r->{summary}{updates}, 2, 'two update lines (one per id seen more than once)');

    my $one = [list_pods(t => T(1))];
    my $ra = scan($one, cluster => 'prod-eu-west-1', what => 'cluster a');
    my $rb = scan($one, cluster => 'staging', what => 'cluster b');
    my $rc = scan($one, cluster => 'staging', what => 'cluster b again');
    my ($ia, $ib, $ic) = map { (all_lines($_))[0]{id} // '' } $ra, $rb, $rc;
    isnt($ia, $ib, 'another --cluster gives another id');
    is($ib, $ic, 'the id is stable across runs');
};

subtest 'aggregation survives a restart with --state' => sub {
    my $dir   = tempdir('agg-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $state = "$dir/kguard.state";

    my $r1 = scan([list_pods(t => T(1)), list_pods(t => T(2))], state => $state, what => 'run 1');
    my @l1 = all_lines($r1);
    is_deeply([map { $_->{service}{count} } @l1], [1, 2], 'run 1: lines with counts 1 and 2');
    my $f1 = $l1[-1] // {};
    summary_is($r1, { findings => 1, updates => 1 }, 'run 1');

    sleep 1;    # updatedAt must visibly move forward
    my $ev3 = list_pods(t => T(3));
    my $r2 = scan([$ev3], state => $state, what => 'run 2');
    my @l2 = all_lines($r2);
    is(scalar(@l2), 1, 'run 2: one line (the update, published at the end)') or diag(describe_run($r2));
    my $f2 = $l2[0] // {};
    is($f2->{id}, $f1->{id}, 'run 2: the same id as run 1');
    is($f2->{service}{count}, 3, 'run 2: count 3');
    is($f2->{service}{eventFirstSeen}, ms(T(1)), 'run 2: eventFirstSeen from run 1');
    is($f2->{service}{eventLastSeen}, ms(T(3)), 'run 2: eventLastSeen = the new event');
    is($f2->{createdAt}, $f1->{createdAt}, 'run 2: createdAt from run 1');
    ok(($f2->{updatedAt} // '') gt ($f1->{updatedAt} // ''), 'run 2: updatedAt moved forward')
        or diag("run 1 updatedAt $f1->{updatedAt}, run 2 updatedAt $f2->{updatedAt}");
    is($f2->{kguard}{auditID}, $ev3->{auditID}, 'run 2: details from the new event');
    summary_is($r2, { events => 1, findings => 0, updates => 1 }, 'run 2');

    my $r3 = scan([], state => $state, what => 'run 3 (no events)');
    is(scalar(all_lines($r3)), 0, 'run 3: nothing pending, nothing printed');

    my $r4 = scan([list_pods(t => T(4)), list_pods(t => T(5), ip => $IP{TOR2})], state => $state,
                  args => ['--publish-interval', '0'], what => 'run 4');
    my %c4 = map { $_->{id} => $_->{service}{count} } all_lines($r4);
    is($c4{ $f1->{id} // '' }, 4, 'run 4: the old id goes on (count 4)');
    is(scalar(keys %c4), 2, 'run 4: the other IP is a new id');
    summary_is($r4, { findings => 1, updates => 1 }, 'run 4');

    my $control = scan([$ev3], what => 'control without --state');
    my ($c) = all_lines($control);
    is($c->{service}{count}, 1, 'control: without --state the same event starts at count 1');
    is($c->{id}, $f1->{id}, 'control: ... under the same id (ids are stable)');
};

subtest 'workload findings aggregate by workload, across a restart too' => sub {
    my $dir   = tempdir('aggw-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $state = "$dir/kguard.state";
    my $pod = sub {
        my ($ns, $k) = @_;
        return audit_event(verb => 'create', resource => 'pods', namespace => $ns, name => 'etc-reader',
                           ip => $IP{OFFICE}, query => 'fieldManager=kubectl-create&fieldValidation=Strict', received => T($k),
                           set => { level => 'Request', requestObject => {
                               kind => 'Pod', apiVersion => 'v1', metadata => { name => 'etc-reader', namespace => $ns },
                               spec => { containers => [ { name => 'shell', image => 'docker.io/library/alpine:3.19',
                                                           volumeMounts => [ { name => 'h', mountPath => '/host/etc' } ] } ],
                                         volumes => [ { name => 'h', hostPath => { path => '/etc' } } ] } } });
    };
    my $r1 = scan([$pod->('team-a', 1), $pod->('team-b', 2)], state => $state, what => 'run 1');
    my @f1 = map { $_->{data} } final_findings($r1);
    is(scalar(@f1), 2, 'run 1: the same pod spec in two namespaces: two ids');
    ok(!(grep { $_->{type} ne $SM } @f1), "run 1: both $SM");
    my %id_of = map { $_->{resource}{kubernetesDetails}{kubernetesWorkloadDetails}{namespace} => $_->{id} } @f1;
    my $r2 = scan([$pod->('team-a', 3)], state => $state, what => 'run 2');
    my @l2 = all_lines($r2);
    is(scalar(@l2), 1, 'run 2: one line');
    is($l2[0]{id}, $id_of{'team-a'}, 'run 2: the team-a workload keeps its id');
    is($l2[0]{service}{count}, 2, 'run 2: count 2');
    is($l2[0]{service}{eventFirstSeen}, ms(T(1)), 'run 2: eventFirstSeen from run 1');
};

done_testing();
