#!/usr/bin/env perl
# Managed-cluster envelopes (src/input_decode.c): CloudWatch Logs subscription payloads (EKS) and Azure
# diagnostic exports (AKS) give the events they wrap; a wrapped item that holds no event is reported with
# FILE:LINE and the other items are judged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my $JSON = JSON::PP->new->canonical;
# Three requests from a Tor exit: each one TorIPCaller finding.
my @ev = map { audit_event(verb => $_->[0], resource => $_->[1], ip => $IP{TOR}, user => 'EKS') }
         (['list', 'secrets'], ['get', 'configmaps'], ['list', 'pods']);
my @ids = map { $_->{auditID} } @ev;

sub scan_doc {
    my ($doc, $name) = @_;
    my $f = write_file($JSON->encode($doc) . "\n", $name);
    my $r = run_kguard(args => [scan_args(), $f], timeout => 60);
    $r->{input} = $f;
    return $r;
}
# The auditIDs of @ev that the findings name.
sub ids_of {
    my ($r) = @_;
    my %seen;
    for my $f (grep { $_->{data} } @{ $r->{findings} }) {
        $seen{$_} = 1 for grep { index($f->{raw}, "\"$_\"") >= 0 } @ids;
    }
    return [sort keys %seen];
}

subtest 'CloudWatch Logs subscription payload (EKS): logEvents[].message' => sub {
    my $t = 1710238530123;
    my $r = scan_doc({
        messageType => 'DATA_MESSAGE', owner => '111122223333', logGroup => '/aws/eks/prod/cluster',
        logStream => 'kube-apiserver-audit-6f1c1c3e2b0e4d4a9a553f7a1e2f9b10',
        subscriptionFilters => ['kguard-audit'],
        logEvents => [
            (map { { id => '3777398172163372958' . $_, timestamp => $t + $_, message => $JSON->encode($ev[$_]) } } 0 .. 2),
            { id => '37773981721633729584', timestamp => $t + 4, message => '{"kind":"Event","verb":' },
        ],
    }, 'cloudwatch.json');
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is($r->{summary}{events}, 3, 'the three wrapped events are read');
    is($r->{summary}{malformed}, 1, 'the broken message is malformed');
    like($r->{stderr}, qr/^kguard: \Q$r->{input}\E:1: the embedded event is not valid JSON$/m, 'and reported with FILE:LINE');
    is_deeply(ids_of($r), [sort @ids], 'a finding for each wrapped event');
};

subtest 'Azure diagnostic export (AKS): records[].properties.log as a string or an object' => sub {
    my $rid = '/SUBSCRIPTIONS/0B1F6471-1BF0-4DDA-AEC3-CB9272F09590/RESOURCEGROUPS/PROD/PROVIDERS/'
            . 'MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/AKS-PROD';
    my @rec = map { {
        time => '2024-03-12T10:15:30.1310720Z', resourceId => $rid, category => 'kube-audit',
        operationName => 'Microsoft.ContainerService/managedClusters/diagnosticLogs/Read',
        properties => { log => $_ == 1 ? $ev[$_] : $JSON->encode($ev[$_]), stream => 'stdout',
                        pod => 'kube-apiserver-7d9f8c6b5-2xkqz' },
    } } 0 .. 2;
    push @rec, { time => '2024-03-12T10:15:31.0000000Z', resourceId => $rid, category => 'kube-audit',
                 properties => { stream => 'stdout' } };
    my $r = scan_doc({ records => \@rec }, 'aks.json');
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is($r->{summary}{events}, 3, 'string and object logs are both read');
    is($r->{summary}{malformed}, 1, 'a record without a log is malformed');
    like($r->{stderr}, qr/^kguard: \Q$r->{input}\E:1: item 4 of the batch is not an event$/m, 'and reported by its position');
    is_deeply(ids_of($r), [sort @ids], 'a finding for each wrapped event');
};

subtest 'an Event is never taken for an envelope; a bad EventList is reported' => sub {
    # an Event carrying a records member (kind set) is judged as itself
    my $e = audit_event(verb => 'list', resource => 'secrets', ip => $IP{TOR}, user => 'EKS',
                        set => { records => [] });
    my $r = scan_doc($e, 'event-with-records.json');
    is($r->{summary}{events}, 1, 'an Event with a records member is one event');
    is(scalar(grep { $_->{data} } @{ $r->{findings} }), 1, 'and gives its finding');
    $r = scan_doc({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {}, items => { a => 1 } },
                  'eventlist-bad.json');
    like($r->{stderr}, qr/^kguard: \Q$r->{input}\E:1: EventList items must be an array$/m, 'items not an array is reported');
    is($r->{summary}{malformed}, 1, 'and counted');
};

done_testing();
