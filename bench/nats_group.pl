#!/usr/bin/env perl
# Throughput of a kguard consumer group: one nats-server -js on 127.0.0.1 (a file-backed stream
# AUDIT on audit.>), EVENTS events over 20 clusters (EventList messages of 100 events: kubelet,
# CoreDNS and controller-manager traffic with a privileged pod per cluster), then N kguard
# instances (`run --nats-group`, the shipped rules, output to /dev/null) started together; the time
# from their start to the last acknowledgement of every cluster's consumer.
#   KGUARD=./kguard perl bench/nats_group.pl [INSTANCES...]      (default: 1 2 3)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../tests/lib";
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use KGTest qw(json_encode);
use KGRun ();
use KGNats ();

my $ROOT = "$FindBin::Bin/..";
my $EVENTS = $ENV{EVENTS} // 100_000;
my @CLUSTERS = map { sprintf 'prod-%02d', $_ } 1 .. 20;
my $n_ev = 0;
sub ev {
    my ($i, $c) = (++$n_ev, shift);
    my $ts = '2026-12-02T10:00:00.000000Z';
    my $id = sprintf '%08x-0000-4000-8000-%012x', $i, $i;
    return qq({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"$id","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/kube-system/configmaps/coredns","verb":"get","user":{"username":"system:serviceaccount:kube-system:coredns","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},"sourceIPs":["10.0.2.41"],"userAgent":"coredns/v1.11.1","objectRef":{"resource":"configmaps","namespace":"kube-system","name":"coredns","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"$ts","stageTimestamp":"$ts"}) if $i % 3;
    return qq({"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"$id","stage":"ResponseComplete","requestURI":"/api/v1/pods?limit=500","verb":"list","user":{"username":"system:kube-controller-manager","groups":["system:authenticated"]},"sourceIPs":["10.0.0.5"],"userAgent":"kube-controller-manager/v1.30.4","objectRef":{"resource":"pods","apiVersion":"v1"},"responseStatus":{"metadata":{},"code":200},"requestReceivedTimestamp":"$ts","stageTimestamp":"$ts"});
}

print "| instances | events | messages | seconds, start to last ack | events/s | seconds, all 20 claimed to last ack | events/s after the claims |\n|---|---|---|---|---|---|---|\n";
for my $n (@ARGV ? @ARGV : (1, 2, 3)) {
    my $dir = tempdir(CLEANUP => 1);
    my $s = KGNats::start(dir => $dir, store => "$dir/store");
    my $c = KGNats::client($s->{port});
    $c->stream('AUDIT', 'audit.>');
    my $msgs = 0;
    for (my $done = 0; $done < $EVENTS; $done += 100 * @CLUSTERS) {
        for my $cl (@CLUSTERS) {
            $c->post("audit.$cl", qq({"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[) . join(',', map { ev() } 1 .. 100) . ']}');
            $msgs++;
        }
    }
    KGRun::wait_until(60, sub { ($c->request('$JS.API.STREAM.INFO.AUDIT', '')->{state}{messages} // 0) == $msgs }, poll => 0.2);
    my $t0 = time;
    my @k = map { KGRun::start_kguard(args => ['run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
        '--literal-lists', '--output', '/dev/null', '--nats-url', "nats://127.0.0.1:$s->{port}", '--nats-group',
        '--nats-clusters', join(',', @CLUSTERS), '--nats-lease', 3]) } 1 .. $n;
    my $done = sub {
        for my $cl (@CLUSTERS) {
            my $i = $c->request("\$JS.API.CONSUMER.INFO.AUDIT.kguard-$cl", '');
            return 0 if $i->{error} || $i->{num_pending} || $i->{num_ack_pending};
        }
        return 1;
    };
    my $claimed;
    KGRun::wait_until(300, sub {
        if (!$claimed) {
            my %own;
            for my $k (@k) { my $t = KGRun::stderr_of($k); $own{$1} = 1 while $t =~ /cluster (\S+): claimed/g }
            $claimed = time if keys %own == @CLUSTERS;
        }
        return $done->();
    }, poll => 0.1);
    my $secs = time - $t0;
    my $after = $t0 + $secs - ($claimed // $t0);
    KGRun::finish($_, signal => 'TERM') for @k;
    printf "| %d | %d | %d | %.2f | ~%d | %.2f | ~%d |\n", $n, $n_ev, $msgs, $secs, $n_ev / $secs,
        $after, $n_ev / $after;
    KGNats::stop($s);
    $n_ev = 0;
}
