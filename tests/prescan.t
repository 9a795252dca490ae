#!/usr/bin/env perl
# Stages decided before parsing (src/prescan.c): a stream of requests as an API server logs
# them (RequestReceived, ResponseStarted for watches, ResponseComplete; a batch delivered
# twice), with malformed and unusual RequestReceived lines among them, gives the same
# counts, messages and findings with the pre-scan as with --no-prescan (every line parsed).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use JSON::PP ();
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

# members in the order kube-apiserver writes them
my @ORDER = qw(kind apiVersion level auditID stage requestURI verb user impersonatedUser sourceIPs
               userAgent objectRef responseStatus requestObject responseObject
               requestReceivedTimestamp stageTimestamp annotations);
my %RANK = map { $ORDER[$_] => $_ } 0 .. $#ORDER;
my $ENC = JSON::PP->new->utf8->canonical->sort_by(sub {
    my ($x, $y) = ($JSON::PP::a, $JSON::PP::b);
    ($RANK{$x} // 99) <=> ($RANK{$y} // 99) or $x cmp $y });
sub line_of { $ENC->encode($_[0]) }

# one request: its stages as lines, in order
sub request {
    my (%o) = @_;
    my $id = uuid();
    my @stages = $o{watch} ? qw(RequestReceived ResponseStarted ResponseComplete)
                           : qw(RequestReceived ResponseComplete);
    return map { line_of(audit_event(%o, auditID => $id, stage => $_)) } @stages;
}

my @tor    = request(ip => $IP{TOR}, verb => 'list', resource => 'secrets');
my @mal    = request(ip => $IP{MAL}, verb => 'watch', resource => 'pods', user => 'EKS', watch => 1,
                     query => 'watch=true&resourceVersion=81723');
my @office = request(ip => $IP{OFFICE}, verb => 'get', resource => 'configmaps', name => 'app-config');
my @anon   = request(ip => $IP{OFFICE}, verb => 'get', resource => 'namespaces', namespace => undef,
                     name => 'kube-system', user => 'ANON');
my $rr     = sub { line_of(audit_event(ip => $IP{TOR2}, stage => 'RequestReceived', @_)) };

my @lines = (
    $tor[0], $mal[0], $office[0], $mal[1], $tor[1],
    $rr->(set => { verb => 5 }),                                   # malformed: verb a number
    substr($rr->(), 0, 180),                                       # malformed: cut short
    $rr->(drop => ['user']),                                       # malformed: no user
    $rr->(ips => [ $IP{TOR2}, 7 ]),                                # malformed: an IP a number
    $rr->() =~ s/"stage":/"st\\u0061ge":/r,                        # an escaped key: parsed, then skipped
    $rr->() =~ s/"kind":"Event"/"kind" : "Event"/r,                # white space: skipped unparsed
    $anon[0], $office[1], $anon[1],
    $tor[1],                                                       # delivered again: skipped
    $mal[2],                                                       # after ResponseStarted: skipped
);
my $file = write_file(join("\n", @lines) . "\n", 'stream.jsonl');

my $fast = run_kguard(args => [ scan_args(), $file ]);
my $slow = run_kguard(args => [ scan_args(), '--no-prescan', $file ]);

for ([ 'pre-scan', $fast ], [ 'every line parsed', $slow ]) {
    my ($label, $r) = @$_;
    is($r->{exit}, 0, "$label: exit 0") or diag(describe_run($r));
    my $s = $r->{summary} // {};
    is_deeply([ @$s{qw(events judged skipped malformed)} ], [ 12, 4, 8, 4 ],
              "$label: 12 events, 4 judged, 8 skipped, 4 malformed") or diag(describe_run($r));
}

my @msgs = map { [ grep { /^kguard: \S+:\d+: / } split /\n/, $_->{stderr} ] } $fast, $slow;
is(scalar @{ $msgs[0] }, 4, 'four malformed lines reported');
like(join("\n", @{ $msgs[0] }), qr/stream\.jsonl:6: field verb must be a string/, 'with file:line and the reason');
is_deeply($msgs[0], $msgs[1], 'the same messages with and without the pre-scan');

my $norm = sub { join "\n", map { $_->{raw} =~ s/"(createdAt|updatedAt)":"[^"]*"/"$1":"-"/gr }
                                grep { $_->{data} } @{ $_[0]{findings} } };
my $types = occurrences($fast);
is_deeply($types, { 'CredentialAccess:Kubernetes/TorIPCaller' => 1,
                    'Discovery:Kubernetes/MaliciousIPCaller' => 1,
                    'Discovery:Kubernetes/SuccessfulAnonymousAccess' => 1 },
          'each request judged once, at its last or started stage') or diag(describe_run($fast));
is($norm->($fast), $norm->($slow), 'findings byte-identical (but for createdAt/updatedAt)');

done_testing();
