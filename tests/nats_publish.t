#!/usr/bin/env perl
# `kguard run --listen --publish-to-nats`: the webhook stores each batch in JetStream
# (audit.CLUSTER, the cluster from the path or --cluster) and answers 200 only once the stream
# acknowledged it; it judges nothing itself.  A batch sent again is stored once (Nats-Msg-Id).
# With nats-server stopped the webhook answers 503 (Retry-After) within its bound; once the
# server is back, the batch sent again is stored, and a judging kguard consuming the stream
# finds every expected finding exactly once.  A cluster name that cannot be a subject token is
# 400.  Starts its own nats-server on loopback.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::INET;
use Time::HiRes qw(time);
use Test::More;
use KGTest qw(:all);
use KGRun ();
use KGNats ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
plan skip_all => 'nats-server not installed' unless KGNats::binary();
$SIG{PIPE} = 'IGNORE';

my $TOR = 'Discovery:Kubernetes/TorIPCaller';
my $dir = tempdir('nats-pub-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
my $store = "$dir/store";
my $CONF = "max_payload: 65536\n";   # small, so a body over it is cheap to send
my $srv = KGNats::start(dir => $dir, store => $store, conf => $CONF);
ok($srv->{port}, 'nats-server started') or BAIL_OUT(KGRun::slurp($srv->{log}));
my $PORT = $srv->{port};
my $URL = "nats://127.0.0.1:$PORT";
my $c = KGNats::client($PORT);
is($c->stream('AUDIT', 'audit.>')->{config}{name}, 'AUDIT', 'stream AUDIT on audit.>');

# POST the way kube-apiserver's webhook backend does -> { status, retry_after, body }
sub post {
    my ($port, $path, $body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 30)
        or return { status => "connect: $!" };
    print {$s} "POST $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nUser-Agent: kube-apiserver-admission\r\n"
             . "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    local $/;
    my $resp = <$s> // '';
    my ($status) = $resp =~ m{\AHTTP/1\.[01] (\d{3})};
    my ($retry) = $resp =~ /^Retry-After:\s*(\S+)/mi;
    return { status => $status // 'no answer', retry_after => $retry };
}

my $n = 0;
sub tor_event {
    $n++;
    return audit_event(verb => 'list', resource => 'pods', ip => $IP{TOR}, ua => "nats-publish-t/$n", auditID => uuid());
}
sub event_list { return json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {}, items => [@_] }) }

my @RULES = ('--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib", '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt");
my $pub = KGRun::start_kguard(args => ['run', @RULES, '--listen', '0', '--publish-to-nats', '--nats-url', $URL,
                                      '--cluster', 'edge']);
KGRun::wait_until(15, sub { KGRun::stderr_of($pub) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $pub->{port} = $1 });
ok($pub->{port}, 'the publishing webhook listens') or BAIL_OUT(KGRun::stderr_of($pub));
like(KGRun::stderr_of($pub), qr/webhook bodies go to JetStream audit\.CLUSTER on \Q$URL\E/, 'says where bodies go');

# ---- 1. batches stored, 200 only after the ack; nothing judged here ----
my %sent;   # auditID => cluster
my @a = (tor_event(), tor_event());
my @e = (tor_event());
my $body_a = event_list(@a);
is(post($pub->{port}, '/k8s-audit/alpha', $body_a)->{status}, 200, 'a batch for cluster alpha: 200');
$sent{ $_->{auditID} } = 'alpha' for @a;
is(post($pub->{port}, '/k8s-audit', event_list(@e))->{status}, 200, 'a batch without a cluster: 200');
$sent{ $_->{auditID} } = 'edge' for @e;
my @m = $c->messages('AUDIT');
is_deeply([ map { $_->[0] } @m ], ['audit.alpha', 'audit.edge'], 'stored on audit.alpha and audit.edge (--cluster)');
is($m[0][1], $body_a, 'the body stored as the API server sent it');

is(post($pub->{port}, '/k8s-audit/alpha', $body_a)->{status}, 200, 'the same batch again: 200');
is(scalar(() = $c->messages('AUDIT')), 2, 'and stored once (Nats-Msg-Id from cluster and body)');

my $bad = post($pub->{port}, '/k8s-audit/prod.eu', event_list(tor_event()));
is($bad->{status}, 400, 'a cluster name with a dot (no subject token): 400');
like(KGRun::stderr_of($pub), qr/400 on \/k8s-audit: cluster name 'prod\.eu' cannot be a NATS subject token/, 'and why');

my $big = event_list(map { tor_event() } 1 .. 200);
cmp_ok(length $big, '>', 65536, 'a batch over the server\'s max_payload');
is(post($pub->{port}, '/k8s-audit/alpha', $big)->{status}, 413, 'is answered 413 (it can never be stored)');
like(KGRun::stderr_of($pub), qr/413 on \/k8s-audit: body of \d+ bytes over the NATS server's max_payload \(65536\)/, 'and why');
is(scalar(() = $c->messages('AUDIT')), 2, 'nothing stored for either');

# ---- 2. nats-server down: 503 within the bound, never 200 ----
KGNats::stop($srv);
my @down = (tor_event());
my $body_down = event_list(@down);
my $t0 = time;
my $r = post($pub->{port}, '/k8s-audit/beta', $body_down);
my $took = time - $t0;
is($r->{status}, 503, 'nats-server stopped: 503');
is($r->{retry_after}, '1', 'with Retry-After');
cmp_ok($took, '<', 8 * KGRun::slow(), sprintf('answered within the bound (%.1f s)', $took));
like(KGRun::stderr_of($pub), qr/503 on \/k8s-audit: /, 'the 503 is logged');

# ---- 3. the server back (same port and store): the re-sent batch is stored ----
$srv = KGNats::start(dir => $dir, store => $store, conf => $CONF, port => $PORT);
ok($srv->{port} && $srv->{port} == $PORT, 'nats-server back on the same port') or diag(KGRun::slurp($srv->{log}));
my $status = 0;
KGRun::wait_until(20, sub { ($status = post($pub->{port}, '/k8s-audit/beta', $body_down)->{status}) == 200 }, poll => 0.5);
is($status, 200, 'the batch the API server sends again is stored once the server is back');
$sent{ $_->{auditID} } = 'beta' for @down;
$c = KGNats::client($PORT);
is_deeply([ map { $_->[0] } $c->messages('AUDIT') ], ['audit.alpha', 'audit.edge', 'audit.beta'], 'three batches in the stream');

my $res = KGRun::finish($pub, signal => 'TERM');
KGRun::clean_exit($res, 'the publishing kguard', how => 'SIGTERM -> ');
is($res->{stdout}, '', 'it judged nothing itself');
is($res->{summary}{events}, 0, 'summary: no events judged');

# ---- 4. a judging kguard consumes the stream: every finding once ----
my $judge = KGRun::start_kguard(args => ['run', @RULES, '--nats-url', $URL, '--cluster', 'edge']);
KGRun::wait_until(20, sub { (() = KGRun::slurp($judge->{out}) =~ /"type"/g) >= 3 });
$res = KGRun::finish($judge, signal => 'TERM');
KGRun::clean_exit($res, 'the judging kguard', how => 'SIGTERM -> ');
my %ids;
$ids{ $_->{data}{resource}{eksClusterDetails}{name} }{ $_->{data}{id} }++ for grep { $_->{data}{type} eq $TOR } final_findings($res);
is_deeply([ sort keys %ids ], [qw(alpha beta edge)], 'a Tor finding in each cluster a batch was posted for')
    or diag(describe_run($res));
is_deeply([ map { scalar keys %{ $ids{$_} } } sort keys %ids ], [1, 1, 1], 'one finding id per cluster');
my %posted;
$posted{$_}++ for values %sent;
for my $cl (sort keys %posted) {
    like($res->{stderr}, qr/^kguard: cluster \Q$cl\E: events=$posted{$cl} judged=$posted{$cl} findings=1$/m,
         "cluster $cl: each of its $posted{$cl} event(s) judged once (the re-sent batches stored once)");
}

# ---- 5. misuse ----
$res = run_kguard(args => ['run', @RULES, '--publish-to-nats', '--nats-url', $URL]);
is($res->{exit}, 2, '--publish-to-nats without --listen: usage error');
like($res->{stderr}, qr/--publish-to-nats needs --listen and --nats-url/, 'and says so');

done_testing();
