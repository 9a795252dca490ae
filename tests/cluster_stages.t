#!/usr/bin/env perl
# Stage tracking per cluster: a request is its cluster and its auditID.  The same auditID in two
# clusters (two --cluster-file inputs, two webhook paths) is two requests, each judged; a stage seen
# again within one cluster is still skipped, on the pre-scan path (a line dropped unparsed) and on
# the judged path (an EventList's items), with one thread and with workers.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use KGTest qw(:all);
use KGRun ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
$SIG{PIPE} = 'IGNORE';
my $FX   = "$ROOT/tests/fixtures/sources";
my $PRIV = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
my $TOR  = 'CredentialAccess:Kubernetes/TorIPCaller';

my @events = map { json_decode($_) } grep { length } split /\n/, read_file("$FX/events.jsonl");
my ($tor) = grep { $_->{verb} eq 'list' && $_->{objectRef}{resource} eq 'secrets' && $_->{sourceIPs}[0] eq $IP{TOR} } @events;
my ($priv) = grep { ($_->{objectRef}{name} // '') eq 'debug-tools' } @events;
ok($tor && $priv, 'the Tor and privileged-pod events of the fixture set') or BAIL_OUT('fixtures changed');

# a long-running watch of the same user: ResponseStarted, then ResponseComplete of one auditID
sub watch_stage {
    my ($stage) = @_;
    my $w = json_decode(json_encode($tor));
    $w->{auditID}    = 'b7c1e0d2-6f3a-4c8e-9a51-0d4e2f7a9c13';
    $w->{verb}       = 'watch';
    $w->{requestURI} = '/api/v1/namespaces/prod/secrets?allowWatchBookmarks=true&resourceVersion=48213&timeoutSeconds=419&watch=true';
    $w->{stage}      = $stage;
    $w->{stageTimestamp} = $stage eq 'ResponseStarted' ? '2026-11-30T10:00:02.004117Z' : '2026-11-30T10:07:01.009342Z';
    $w->{requestReceivedTimestamp} = '2026-11-30T10:00:02.001210Z';
    return $w;
}
my ($started, $complete) = map { watch_stage($_) } qw(ResponseStarted ResponseComplete);

# clusters naming a finding, per type
sub clusters_of {
    my ($r, $type) = @_;
    return [ sort map { $_->{data}{resource}{eksClusterDetails}{name} } grep { $_->{data}{type} eq $type } final_findings($r) ];
}

# ---- two --cluster-file inputs holding the same auditIDs -----------------------------------------
my $alpha = write_file(join('', map { event_line($_) . "\n" } $priv, $tor, $tor, $started, $complete), 'alpha/audit.log');
my $beta  = write_file(join('', map { event_line($_) . "\n" } $priv, $tor, $complete), 'beta/audit.log');
for my $mode ([ '--threads', '1' ], [ '--threads', '2' ], [ '--threads', '1', '--no-prescan' ]) {
    my $label = join ' ', @$mode;
    my $r = run_kguard(args => [ scan_args(), @$mode, '--cluster-file', "alpha=$alpha", '--cluster-file', "beta=$beta" ]);
    is($r->{exit}, 0, "files, $label: exit 0") or diag(describe_run($r));
    # alpha: the Tor call delivered twice (one skipped), the watch judged when it started (its end skipped);
    # beta: the same auditIDs, all judged, the watch at its end (its start is alpha's)
    is_deeply([ @{ $r->{summary} // {} }{qw(events judged skipped)} ], [ 8, 6, 2 ],
              "files, $label: 8 events, 6 judged, 2 skipped (alpha's repeats)") or diag(describe_run($r));
    is_deeply(clusters_of($r, $PRIV), [qw(alpha beta)], "files, $label: the privileged pod found in both clusters");
    is_deeply(clusters_of($r, $TOR), [qw(alpha beta)], "files, $label: the Tor caller found in both clusters");
}

# one cluster: the counts as before (the default cluster and a named one alike)
my $one = write_file(join('', map { event_line($_) . "\n" } $priv, $tor, $tor, $started, $complete, $priv), 'one.log');
for my $named (0, 1) {
    my $r = run_kguard(args => [ scan_args(), '--threads', '2', $named ? ('--cluster-file', "alpha=$one") : $one ]);
    is_deeply([ @{ $r->{summary} // {} }{qw(events judged skipped)} ], [ 6, 3, 3 ],
              ($named ? 'one named cluster' : 'the default cluster') . ': repeats skipped (6 events, 3 judged, 3 skipped)')
        or diag(describe_run($r));
}

# ---- two webhook paths ----------------------------------------------------------------------------
sub post {
    my ($port, $path, $body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5) or return "connect: $!";
    print {$s} "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
             . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    my $resp = do { local $/; <$s> } // '';
    close $s;
    return $resp =~ m{\AHTTP/1\.[01] (\d{3})} ? $1 : 'no answer';
}
sub event_list { return json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', items => [@_] }) }

for my $threads (1, 2) {
    my $k = KGRun::start_kguard(args => [ 'run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
        '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--cluster', 'default-cluster',
        '--threads', $threads, '--listen', '127.0.0.1:0' ]);
    KGRun::wait_until(10, sub { KGRun::stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $k->{port} = $1 });
    ok($k->{port}, "webhook, --threads $threads: listening") or BAIL_OUT(KGRun::stderr_of($k));
    my $p = $k->{port};
    # an EventList is judged item by item; a body of one Event may be pre-scanned
    is(post($p, '/k8s-audit/alpha', event_list($priv, $tor)), 200, 'alpha: privileged pod and Tor call');
    is(post($p, '/k8s-audit/beta', event_line($priv)), 200, 'beta: the same auditID, one Event');
    is(post($p, '/k8s-audit/beta', event_list($tor)), 200, 'beta: the same auditID, in an EventList');
    is(post($p, '/k8s-audit/alpha', event_line($tor)), 200, 'alpha: the Tor call again, one Event');
    is(post($p, '/k8s-audit/alpha', event_list($priv)), 200, 'alpha: the privileged pod again, in an EventList');
    KGRun::wait_until(10, sub { (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 4 });
    my $r = KGRun::finish($k, signal => 'TERM');
    KGRun::clean_exit($r, "webhook, --threads $threads", how => 'SIGTERM -> ');
    is_deeply([ @{ $r->{summary} // {} }{qw(events judged skipped)} ], [ 6, 4, 2 ],
              "webhook, --threads $threads: 6 events, 4 judged, 2 skipped (alpha's repeats)") or diag(describe_run($r));
    is_deeply(clusters_of($r, $PRIV), [qw(alpha beta)], "webhook, --threads $threads: the privileged pod found in both clusters");
    is_deeply(clusters_of($r, $TOR), [qw(alpha beta)], "webhook, --threads $threads: the Tor caller found in both clusters");
}

done_testing();
