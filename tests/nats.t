#!/usr/bin/env perl
# JetStream input: `kguard run --nats-url` consumes audit records for two clusters from a stream
# (subjects audit.CLUSTER) through a durable pull consumer, keeps the clusters apart, and
# acknowledges a message only once its findings reached the output: a kguard whose output fails
# acknowledges nothing, and the next kguard on the same durable consumer judges those messages
# (and not the ones acknowledged before).  --nats-output publishes the findings to a stream, and a
# subject no stream holds is an output failure.  Starts its own nats-server on loopback.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::INET;
use MIME::Base64 qw(decode_base64);
use POSIX ();
use Test::More;
use KGTest qw(:all);
use KGRun ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my ($NATS) = grep { -x } map { "$_/nats-server" } split(/:/, $ENV{PATH} // ''), '/usr/sbin', '/usr/bin';
plan skip_all => 'nats-server not installed' unless $NATS;
$SIG{PIPE} = 'IGNORE';

my $FX   = "$ROOT/tests/fixtures/sources";
my $PRIV = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
my $TOR  = 'CredentialAccess:Kubernetes/TorIPCaller';

# ---- nats-server, on 127.0.0.1 with a port it picks ----
my $dir = tempdir('nats-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
my $nats_pid = fork // die "fork: $!";
if ($nats_pid == 0) {
    open STDOUT, '>', "$dir/server.log" or POSIX::_exit(127);
    open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
    { no warnings 'exec'; exec $NATS, '-js', '-a', '127.0.0.1', '-p', '-1', '-sd', "$dir/store" }
    POSIX::_exit(127);
}
END { local $?; if ($nats_pid) { kill 'TERM', $nats_pid; waitpid($nats_pid, 0) } }
my $port;
KGRun::wait_until(10, sub { KGRun::slurp("$dir/server.log") =~ /client connections on 127\.0\.0\.1:(\d+)/ and $port = $1 });
ok($port, 'nats-server started') or BAIL_OUT(KGRun::slurp("$dir/server.log"));
my $URL = "nats://127.0.0.1:$port";

# ---- a minimal NATS client: requests with a reply inbox ----
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
    or BAIL_OUT("connect to nats-server: $!");
my $info = <$sock>;
like($info, qr/^INFO .*"jetstream":true/, 'JetStream is on');
print {$sock} qq(CONNECT {"verbose":false,"pedantic":false,"name":"nats.t"}\r\nPING\r\n);
my $sid = 0;

sub read_until_msg {
    while (defined(my $l = <$sock>)) {
        print STDERR "<< $l" if $ENV{NATS_DEBUG};
        if ($l =~ /^PING/) { print {$sock} "PONG\r\n"; next }
        if ($l =~ /^MSG\s+\S+\s+\d+\s+(?:\S+\s+)?(\d+)\r\n/) {
            read($sock, my $data, $1 + 2);
            return substr($data, 0, $1);
        }
        die "nats: $l" if $l =~ /^-ERR/;
    }
    die 'nats: connection closed';
}

sub request {
    my ($subject, $payload) = @_;
    my $inbox = '_INBOX.natst.' . ++$sid;
    utf8::encode($payload) if utf8::is_utf8($payload);   # the protocol counts bytes
    print {$sock} "SUB $inbox $sid\r\nUNSUB $sid 1\r\nPUB $subject $inbox " . length($payload) . "\r\n$payload\r\n";
    return json_decode(read_until_msg());
}

my $r = request('$JS.API.STREAM.CREATE.AUDIT',
                json_encode({ name => 'AUDIT', subjects => ['audit.>'], storage => 'file' }));
is($r->{config}{name}, 'AUDIT', 'stream AUDIT on audit.>') or diag(explain($r));
# the durable consumer kguard binds to; a short ack wait so a killed kguard's messages come back soon
$r = request('$JS.API.CONSUMER.DURABLE.CREATE.AUDIT.kguard',
             json_encode({ stream_name => 'AUDIT', config => { durable_name => 'kguard', ack_policy => 'explicit',
                           ack_wait => 2_000_000_000, filter_subject => 'audit.>' } }));
is($r->{name}, 'kguard', 'durable consumer kguard') or diag(explain($r));

# ---- the events ----
my @events = map { json_decode($_) } grep { length } split /\n/, read_file("$FX/events.jsonl");
my ($tor) = grep { $_->{verb} eq 'list' && $_->{objectRef}{resource} eq 'secrets' && $_->{sourceIPs}[0] eq $IP{TOR} } @events;
my ($priv) = grep { ($_->{objectRef}{name} // '') eq 'debug-tools' } @events;
ok($tor && $priv, 'the Tor and privileged-pod events of the fixture set');
my $n = 0;
sub again { my $c = json_decode(json_encode($_[0])); $c->{auditID} = sprintf('5e7a1c2b-0000-4000-8000-%012d', ++$n); return $c }
sub event_list { return json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', items => [@_] }) }

sub publish {
    my ($subject, $body) = @_;
    my $ack = request($subject, $body);
    ok($ack->{stream} && $ack->{stream} eq 'AUDIT' && $ack->{seq}, "published to $subject")
        or diag(explain($ack));
}

sub consumer_info { return request('$JS.API.CONSUMER.INFO.AUDIT.kguard', '') }

my @RUN = ('run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
           '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--cluster', 'default-cluster',
           '--nats-url', $URL);

# ---- 1. two clusters: a webhook-shaped EventList and bare Events ----
publish('audit.alpha', event_list(again($priv), again($tor)));
publish('audit.beta', json_encode(again($priv)));
publish('audit.beta', json_encode(again($tor)));
publish('audit.alpha', event_list(again($priv)));    # the image is known in alpha now

my $k = KGRun::start_kguard(args => [@RUN]);
KGRun::wait_until(15, sub { (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 4 && consumer_info()->{num_ack_pending} == 0
                            && consumer_info()->{num_pending} == 0 });
my $res = KGRun::finish($k, signal => 'TERM');
KGRun::clean_exit($res, 'first run', how => 'SIGTERM -> ');
like($res->{stderr}, qr/consuming audit\.> from \Q$URL\E as kguard/, 'says what it consumes');

my @f = map { $_->{data} } final_findings($res);
my %priv_by = map { $_->{resource}{eksClusterDetails}{name} => $_ } grep { $_->{type} eq $PRIV } @f;
is_deeply([ sort keys %priv_by ], [qw(alpha beta)], 'one privileged-container finding per cluster the subject names')
    or diag(describe_run($res));
is($priv_by{alpha}{service}{count}, 1, 'alpha: the second pod with the known image did not fire again');
is_deeply([ sort map { $_->{resource}{eksClusterDetails}{name} } grep { $_->{type} eq $TOR } @f ], [qw(alpha beta)],
          'the Tor call: one finding in each cluster');
like($res->{stderr}, qr/^kguard: cluster alpha: events=3 judged=3 findings=2$/m, 'summary: alpha');
like($res->{stderr}, qr/^kguard: cluster beta: events=2 judged=2 findings=2$/m, 'summary: beta');
unlike($res->{stderr}, qr/^kguard: cluster default-cluster:/m, 'nothing fell to the default cluster');
my $ci = consumer_info();
is($ci->{ack_floor}{stream_seq}, 4, 'all four messages acknowledged') or diag(explain($ci));

# ---- 2. an output that fails: judged, never acknowledged; killed ----
publish('audit.gamma', event_list(again($priv)));
$k = KGRun::start_kguard(args => [@RUN, '--output', '/dev/full']);
KGRun::wait_until(15, sub { KGRun::stderr_of($k) =~ /write failed/ });
like(KGRun::stderr_of($k), qr{output /dev/full: write failed}, 'the failing output is reported');
sleep 0.5;
$ci = consumer_info();
is($ci->{ack_floor}{stream_seq}, 4, 'the gamma message is not acknowledged') or diag(explain($ci));
kill 'KILL', $k->{pid};
$res = KGRun::finish($k);
is($res->{signal}, 9, 'killed');

# ---- 3. a new kguard on the same consumer: gamma's message, and only it ----
$k = KGRun::start_kguard(args => [@RUN]);
KGRun::wait_until(15, sub { KGRun::slurp($k->{out}) =~ /"type"/ && consumer_info()->{ack_floor}{stream_seq} == 5 });
$res = KGRun::finish($k, signal => 'TERM');
KGRun::clean_exit($res, 'restarted run', how => 'SIGTERM -> ');
@f = map { $_->{data} } final_findings($res);
is_deeply([ map { "$_->{resource}{eksClusterDetails}{name} $_->{type}" } @f ], ["gamma $PRIV"],
          'the unacknowledged message judged after the restart, the acknowledged ones not again')
    or diag(describe_run($res));
like($res->{stderr}, qr/^kguard: cluster gamma: events=1 judged=1 findings=1$/m, 'summary: gamma');
is(consumer_info()->{num_ack_pending}, 0, 'nothing left unacknowledged');

# ---- 4. findings published to a JetStream subject (--nats-output) ----
$r = request('$JS.API.STREAM.CREATE.FINDINGS',
             json_encode({ name => 'FINDINGS', subjects => ['findings.>'], storage => 'file' }));
is($r->{config}{name}, 'FINDINGS', 'stream FINDINGS on findings.>') or diag(explain($r));
sub stored { return request('$JS.API.STREAM.INFO.FINDINGS', '')->{state}{messages} // -1 }
publish('audit.delta', event_list(again($priv), again($tor)));
$k = KGRun::start_kguard(args => [@RUN, '--nats-output', 'findings.kguard']);
KGRun::wait_until(15, sub { stored() >= 2 && consumer_info()->{ack_floor}{stream_seq} == 6 });
$res = KGRun::finish($k, signal => 'TERM');
KGRun::clean_exit($res, 'run with --nats-output', how => 'SIGTERM -> ');
my @stdout_lines = grep { length } split /\n/, $res->{stdout};
my @published = map {
    my $m = request('$JS.API.STREAM.MSG.GET.FINDINGS', json_encode({ seq => $_ }))->{message};
    is($m->{subject}, 'findings.kguard', "finding $_ published to findings.kguard");
    decode_base64($m->{data} // '');
} 1 .. stored();
is(scalar @published, 2, 'two findings published (privileged container, Tor call)');
is_deeply(\@published, \@stdout_lines, 'the published lines are the lines written to stdout, in order')
    or diag(describe_run($res));
is_deeply([ sort map { json_decode($_)->{resource}{eksClusterDetails}{name} } @published ], [qw(delta delta)],
          'both of cluster delta');

# a subject no stream holds: the findings sink fails, so the message is not acknowledged
publish('audit.epsilon', json_encode(again($priv)));
$k = KGRun::start_kguard(args => [@RUN, '--nats-output', 'nowhere.kguard']);
KGRun::wait_until(15, sub { KGRun::stderr_of($k) =~ /write failed/ });
sleep 0.5;
is(consumer_info()->{ack_floor}{stream_seq}, 6, 'a finding JetStream refused: its message is not acknowledged');
$res = KGRun::finish($k, signal => 'TERM');
like($res->{stderr}, qr{output nats:nowhere\.kguard: write failed: publish to nowhere\.kguard: }, 'the failing subject is named');
ok($res->{summary}{output_errors} >= 1, 'summary: output_errors counted');
is($res->{exit}, 1, 'exit 1: a finding line was not written');
like($res->{stdout}, qr/"epsilon"/, 'stdout still got the finding');
is_deeply([ crash_problems($res) ], [], 'and no crash or sanitizer report');

# ---- 5. no server: a clear error ----
$res = run_kguard(args => [@RUN[0 .. $#RUN - 1], 'nats://127.0.0.1:1']);
like($res->{stderr}, qr{cannot consume from NATS: nats://127\.0\.0\.1:1}, 'an unreachable server is named');
isnt($res->{exit}, 0, 'and kguard fails');
unlike($res->{stderr}, qr/Sanitizer|runtime error:/, 'no sanitizer report');

done_testing();
