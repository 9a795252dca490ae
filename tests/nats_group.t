#!/usr/bin/env perl
# kguard as a consumer group (issue 16): a 3-node JetStream cluster (stream AUDIT, 3 replicas),
# three `kguard run --nats-group` instances sharing 20 clusters (audit.CLUSTER) through KV leases,
# 100,000 events.  Mid-stream one kguard is killed (SIGKILL) and one NATS node stopped.  Then:
# every message of every cluster is acknowledged (so judged: a message is acknowledged only after
# it was judged, its findings written and its cluster's state checkpointed), every expected
# finding was written once as new, and the clusters the killed kguard owned kept their baselines:
# an image that ran privileged there before the move does not fire again after it, a new one does.
# Starts its own nats-servers on loopback.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Test::More;
use KGTest qw(:all);
use KGRun ();
use KGNats ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
plan skip_all => 'nats-server not installed' unless KGNats::binary();
$SIG{PIPE} = 'IGNORE';

my $PRIV     = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
my @CLUSTERS = map { sprintf 'prod-%02d', $_ } 1 .. 20;
my $PER_MSG  = 100;    # events per EventList message
my $LEASE    = 4;      # seconds

# ---- a 3-node JetStream cluster ----
my $dir = tempdir('natsgroup-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
my $nodes = KGNats::start_cluster(dir => $dir, nodes => 3);
is(scalar(grep { $_->{port} } @$nodes), 3, 'three nats-servers on loopback');
my $URL = join ',', map { "nats://127.0.0.1:$_->{port}" } @$nodes;
my $nc;
my $r = {};
# until the cluster has elected its leaders a request may get no answer: a fresh client each time
KGRun::wait_until(30, sub {
    $r = eval {
        local $SIG{ALRM} = sub { die "no answer\n" };
        alarm 3;
        $nc = KGNats::client($nodes->[0]{port});
        my $x = $nc->request('$JS.API.STREAM.CREATE.AUDIT',
                             json_encode({ name => 'AUDIT', subjects => ['audit.>'], storage => 'file', num_replicas => 3 }));
        alarm 0;
        $x;
    } // { error => $@ };
    return !$r->{error};
}, poll => 0.3);
is($r->{config}{num_replicas}, 3, 'stream AUDIT on audit.>, 3 replicas') or diag(explain($r));

# ---- events, shaped as an API server writes them ----
my ($t_ms, $n_ev) = (1_764_900_000_000, 0);
sub stamp { my $ms = shift; my @t = gmtime(int($ms / 1000)); return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%06dZ', $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0], ($ms % 1000) * 1000) }
sub audit_id { return sprintf('%08x-%04x-4%03x-8%03x-%012x', $_[0], $_[1] & 0xffff, 0x1ab, 0x2cd, $_[0] * 7919) }

# three kinds of routine traffic: a kubelet renewing its node lease, CoreDNS reading its config,
# the controller manager listing pods
my @NOISE = (
    sub { my ($id, $ts, $i) = @_; my $node = sprintf 'ip-10-0-%d-%d.ec2.internal', $i % 4, 10 + $i % 50;
          qq({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"$id","stage":"ResponseComplete","requestURI":"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/$node?timeout=10s","verb":"update","user":{"username":"system:node:$node","groups":["system:nodes","system:authenticated"]},"sourceIPs":["10.0.@{[$i % 4]}.@{[10 + $i % 50]}"],"userAgent":"kubelet/v1.30.4 (linux/amd64) kubernetes/a51b3b7","objectRef":{"resource":"leases","namespace":"kube-node-lease","name":"$node","apiGroup":"coordination.k8s.io","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"$ts","stageTimestamp":"$ts","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":""}}) },
    sub { my ($id, $ts) = @_;
          qq({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"$id","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/configmaps/coredns","verb":"get","user":{"username":"system:serviceaccount:kube-system:coredns","uid":"6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},"sourceIPs":["10.0.2.41"],"userAgent":"coredns/v1.11.1 (linux/amd64) kubernetes/coredns","objectRef":{"resource":"configmaps","namespace":"kube-system","name":"coredns","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"$ts","stageTimestamp":"$ts","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \\"system:coredns\\" of ClusterRole \\"system:coredns\\" to ServiceAccount \\"coredns/kube-system\\""}}) },
    sub { my ($id, $ts) = @_;
          qq({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"$id","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500&resourceVersion=0","verb":"list","user":{"username":"system:kube-controller-manager","groups":["system:authenticated"]},"sourceIPs":["10.0.0.5"],"userAgent":"kube-controller-manager/v1.30.4 (linux/amd64) kubernetes/a51b3b7/shared-informers","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"$ts","stageTimestamp":"$ts","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by ClusterRoleBinding \\"system:kube-controller-manager\\" of ClusterRole \\"system:kube-controller-manager\\" to User \\"system:kube-controller-manager\\""}}) },
);

sub noise_event { my $i = ++$n_ev; $t_ms += 3; return $NOISE[$i % 3]->(audit_id($i, $i >> 16), stamp($t_ms), $i) }

# a privileged pod created by a person: the kind of write the baseline rule judges
sub priv_event {
    my ($pod, $image) = @_;
    my $i = ++$n_ev;
    $t_ms += 3;
    my ($id, $ts) = (audit_id($i, $i >> 16), stamp($t_ms));
    return qq({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Request","auditID":"$id","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/default/pods?fieldManager=kubectl-client-side-apply&fieldValidation=Strict","verb":"create","user":{"username":"dev\@example.com","groups":["system:authenticated"]},"sourceIPs":["10.128.0.17"],"userAgent":"kubectl/v1.30.5 (linux/amd64) kubernetes/74e84a9","objectRef":{"resource":"pods","namespace":"default","name":"$pod","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":201},"requestObject":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"$pod","namespace":"default","creationTimestamp":null},"spec":{"containers":[{"name":"shell","image":"$image","command":["sleep","86400"],"resources":{},"securityContext":{"privileged":true},"imagePullPolicy":"IfNotPresent"}],"restartPolicy":"Always","dnsPolicy":"ClusterFirst","securityContext":{},"schedulerName":"default-scheduler"},"status":{}},"requestReceivedTimestamp":"$ts","stageTimestamp":"$ts","annotations":{"authorization.k8s.io/decision":"allow","authorization.k8s.io/reason":"RBAC: allowed by RoleBinding \\"dev-edit/default\\" of ClusterRole \\"edit\\" to User \\"dev\@example.com\\""}})
}

my (%published, $events, %events_of);   # messages per cluster; events in all, per cluster
sub send_list {
    my ($cluster, @ev) = @_;
    $events_of{$cluster} += @ev;
    $nc->post("audit.$cluster", qq({"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[) . join(',', @ev) . ']}');
    $published{$cluster}++;
    $events += @ev;
}
# n noise events per cluster, the clusters interleaved as many API servers would send them
sub send_noise {
    my ($per_cluster) = @_;
    for (my $done = 0; $done < $per_cluster; $done += $PER_MSG) {
        send_list($_, map { noise_event() } 1 .. $PER_MSG) for @CLUSTERS;
    }
}
sub send_priv { my ($pod, $image) = @_; send_list($_, priv_event($pod, $image)) for @CLUSTERS }

# a JetStream API request that gives up after 3 s (a node stopped, a leader being elected); the
# client is replaced then, so a late answer is never taken for the next one's
sub ask {
    my ($subject, $payload) = @_;
    my $x = eval {
        local $SIG{ALRM} = sub { die "no answer\n" };
        alarm 3;
        my $y = $nc->request($subject, $payload);
        alarm 0;
        $y;
    };
    return $x if $x;
    alarm 0;
    $nc = KGNats::client($nodes->[0]{port});
    return { error => $@ };
}
sub stored { return ask('$JS.API.STREAM.INFO.AUDIT', '')->{state}{messages} // -1 }
sub msgs   { my $n = 0; $n += $_ for values %published; return $n }
sub consumer { return ask("\$JS.API.CONSUMER.INFO.AUDIT.kguard-$_[0]", '') }
# messages acknowledged, over every cluster's consumer (those that exist yet)
sub acked {
    my $n = 0;
    for my $c (@CLUSTERS) { my $i = consumer($c); $n += $i->{error} ? 0 : $i->{ack_floor}{consumer_seq} // 0 }
    return $n;
}
sub all_acked { return !grep { my $i = consumer($_); $i->{error} || $i->{num_pending} || $i->{num_ack_pending} } @CLUSTERS }

# ---- phase A: every cluster learns an image, then routine traffic ----
send_priv('debug-a', 'registry.example.com/tools/debug:1.0');
send_noise(1500);
KGRun::wait_until(30, sub { stored() == msgs() }, poll => 0.2);
is(stored(), msgs(), 'phase A stored: ' . msgs() . ' messages');

my @RUN = ('run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib", '--literal-lists',
           '--nats-url', $URL, '--nats-group', '--nats-lease', $LEASE, '--nats-replicas', 3);
my @k = map { KGRun::start_kguard(args => [@RUN]) } 1 .. 3;

# ownership as each kguard's log says: claimed, then released / lost
sub owned_by {
    my ($k) = @_;
    my %own;
    for (split /\n/, KGRun::stderr_of($k)) {
        next unless /^kguard: nats group: cluster (\S+): (\w+)/;
        if ($2 eq 'claimed') { $own{$1} = 1 } elsif ($2 ne 'state' && $2 ne 'checkpoint') { delete $own{$1} }
    }
    return \%own;
}
# kguards that start a little apart may first claim more than a share (a member not seen yet), and
# give the surplus back at their next renewal: wait for the split to settle
my @shares;
ok(KGRun::wait_until(30, sub {
    @shares = map { scalar keys %{ owned_by($_) } } @k;
    my $n = 0;
    $n += $_ for @shares;
    return $n == 20 && !grep { $_ < 6 || $_ > 7 } @shares;
}, poll => 0.2), "the three kguards split the 20 clusters, a fair share each (7, 7, 6): @shares")
    or diag(map { KGRun::stderr_of($_) } @k);
my %owner;
for my $i (0 .. 2) { $owner{$_} //= $i for keys %{ owned_by($k[$i]) } }
is(scalar keys %owner, 20, 'no cluster claimed twice');
ok(KGRun::wait_until(60, \&all_acked, poll => 0.3), 'phase A judged and acknowledged');

# ---- phase B: routine traffic; mid-stream a kguard is killed and a NATS node stopped ----
my $before_b = msgs();
send_noise(2500);
my $victim = 0;
my %moved = %{ owned_by($k[$victim]) };
ok(KGRun::wait_until(60, sub { acked() > $before_b + (msgs() - $before_b) / 4 }, poll => 0.1),
   'phase B under way');
kill 'KILL', $k[$victim]{pid};
my $killed_at = time;
my $dead = KGRun::finish($k[$victim]);
is($dead->{signal}, 9, 'kguard 1 killed mid-stream (SIGKILL), owning ' . join(' ', sort keys %moved));
KGNats::stop_node($nodes->[2]);
pass('NATS node n3 stopped mid-stream');
KGRun::wait_until(30, sub { stored() == msgs() }, poll => 0.2);

ok(KGRun::wait_until(60, sub {
    @shares = map { scalar keys %{ owned_by($_) } } @k[1, 2];
    return $shares[0] == 10 && $shares[1] == 10;
}, poll => 0.2), sprintf('the two survivors took over all 20 clusters, ten each (%.1f s after the kill)', time - $killed_at))
    or diag(map { "==\n" . KGRun::stderr_of($_) } @k);
for my $c (sort keys %moved) {
    my ($new) = grep { owned_by($k[$_])->{$c} } 1, 2;
    like(KGRun::stderr_of($k[$new // 1]), qr/cluster \Q$c\E: state loaded/, "$c: its state loaded by its new owner");
}

# ---- phase C: after the move, the known image again (quiet) and a new one (fires) ----
send_priv('debug-c', 'registry.example.com/tools/debug:1.0');
send_priv('debug-c2', 'registry.example.com/tools/debug:2.0');
send_noise(1000);
KGRun::wait_until(30, sub { stored() == msgs() }, poll => 0.2);
is(stored(), msgs(), "all stored: $events events in " . msgs() . ' messages');
ok($events >= 100_000, "at least 100,000 events ($events)");
ok(KGRun::wait_until(90, \&all_acked, poll => 0.3), 'every message of every cluster acknowledged');
for my $c (@CLUSTERS) {
    my $i = consumer($c);
    is($i->{delivered}{stream_seq} >= 0 && $i->{num_pending} + $i->{num_ack_pending}, 0, "$c: nothing pending");
}
my @res = ($dead, map { KGRun::finish($_, signal => 'TERM') } @k[1, 2]);
KGRun::clean_exit($res[$_], "kguard " . ($_ + 1), how => 'SIGTERM -> ') for 1, 2;

# ---- the findings of all three ----
my (%new, %types);
for my $res (@res) {
    for my $f (map { $_->{data} } grep { $_->{data} } @{ $res->{findings} }) {
        $types{ $f->{type} }++;
        next unless $f->{type} eq $PRIV;
        my $pod = $f->{resource}{kubernetesDetails}{kubernetesWorkloadDetails}{name} // '?';
        my $c = $f->{resource}{eksClusterDetails}{name};
        $new{"$c $pod"}++ if $f->{service}{count} == 1;
    }
}
is_deeply([ sort keys %types ], [$PRIV], 'routine traffic raised nothing: privileged-container findings only');
my @want = map { ("$_ debug-a", "$_ debug-c2") } @CLUSTERS;
is_deeply([ sort keys %new ], [ sort @want ],
          'each cluster: the first image fired before the kill, the new image after it, the known image did not');
is_deeply([ grep { $new{$_} != 1 } sort keys %new ], [], 'each finding written once as new');
is_deeply([ grep { $new{"$_ debug-c"} } sort keys %moved ], [], 'the moved clusters kept their baseline: no re-alert');

my $judged = 0;
for my $res (@res[1, 2]) { $judged += $1 while $res->{stderr} =~ /^kguard: cluster prod-\d+: events=(\d+)/mg }
ok($judged > 0, "the survivors judged $judged events");

# ---- static clusters: --nats-clusters without --nats-group, its own durable consumers ----
my $k = KGRun::start_kguard(args => ['run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib", '--literal-lists',
                                     '--nats-url', $URL, '--nats-durable', 'static', '--nats-clusters', 'prod-03,prod-17']);
ok(KGRun::wait_until(60, sub {
    !grep { my $i = ask("\$JS.API.CONSUMER.INFO.AUDIT.static-$_", ''); $i->{error} || $i->{num_pending} || $i->{num_ack_pending} } qw(prod-03 prod-17)
}, poll => 0.3), '--nats-clusters prod-03,prod-17: both consumed through static-prod-03 and static-prod-17');
my $st = KGRun::finish($k, signal => 'TERM');
KGRun::clean_exit($st, 'static kguard', how => 'SIGTERM -> ');
like($st->{stderr}, qr/^kguard: cluster prod-03: events=$events_of{'prod-03'} /m, "prod-03: all its $events_of{'prod-03'} events");
like($st->{stderr}, qr/^kguard: cluster prod-17: events=$events_of{'prod-17'} /m, 'prod-17: all its events');
unlike($st->{stderr}, qr/^kguard: cluster prod-(?!03|17)/m, 'and no other cluster');
is(ask('$JS.API.CONSUMER.INFO.AUDIT.static-prod-04', '')->{error}{code}, 404, 'no consumer for a cluster not listed');

done_testing();
