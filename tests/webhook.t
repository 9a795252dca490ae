#!/usr/bin/env perl
# kguard run --listen (issue 4, "Inputs"): the receiver for kube-apiserver's audit webhook backend.
#   - POST /k8s-audit with an EventList -> 200 once queued; the events are judged; GET /healthz -> 200;
#     other methods / paths / an empty body are refused;
#   - --auth-token-file: no token or a wrong one -> 401, the right one -> 200;
#   - --max-body-bytes: a larger body -> 413 (declared length and chunked), nothing judged from it;
#   - TLS (--tls-cert/--tls-key, a self-signed certificate made here with openssl) -> curl --cacert 200;
#     --client-ca: a client certificate signed by the test CA -> 200, none or another one -> 403;
#   - SIGTERM during a burst of POSTs: every event of a batch answered 200 is judged.
# A full queue (429 + Retry-After) is covered by the C unit test tests/unit/test_webhook.c: it cannot
# be forced deterministically from outside the process.
# Plain HTTP is spoken with IO::Socket::INET; HTTPS with curl (--max-time 5 --noproxy '*').
# Only 127.0.0.1; port 0 (kguard prints the port it got: "listening on 127.0.0.1 port N").
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h setpgid);
use Time::HiRes qw(time sleep);
use Test::More;
use KGTest qw(:all);
use KGRun qw(slow slurp stderr_of wait_until lines_of audit_ids);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $SLOW = slow();   # ASan/UBSan build: 3 (longer waits)
my @LISTS = ('--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
             '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt");
$SIG{PIPE} = 'IGNORE';   # a refused request may close the connection while we still write

# ---- a kguard process (tests/lib/KGRun.pm) ---------------------------------------------------

# start_kguard(@run_options) -> handle { pid, out, err, port } once it listens (port undef if not)
sub start_kguard {
    my (@args) = ('run', @LISTS, '--listen', '127.0.0.1:0', @_);
    my $k = KGRun::start_kguard(args => \@args);
    wait_until(10, sub { stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $k->{port} = $1 });
    ok($k->{port}, 'kguard listens on 127.0.0.1, port ' . ($k->{port} // '?')) or diag(stderr_of($k));
    return $k;
}

# finish($k [, signal => NAME, timeout => S]): stops kguard with SIGTERM unless told another signal
sub finish { my ($k, %o) = @_; return KGRun::finish($k, %o, signal => $o{signal} // 'TERM') }

sub clean_exit { my ($r, $what) = @_; return KGRun::clean_exit($r, $what, how => 'SIGTERM -> ') }

# ---- HTTP -------------------------------------------------------------------------------------

# http($port, $method, $path, body => $bytes, headers => {..}, chunked => 1)
#   -> { status (undef when no answer), headers => {lc name => value}, body, error }
sub http {
    my ($port, $method, $path, %o) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
        or return { error => "connect: $!" };
    my $body = $o{body} // '';
    my $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nUser-Agent: kube-apiserver-admission\r\n"
            . "Connection: close\r\n";
    $req .= "$_: $o{headers}{$_}\r\n" for sort keys %{ $o{headers} // {} };
    if ($o{chunked}) {
        $req .= "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (my $i = 0; $i < length $body; $i += 1000) {
            my $c = substr($body, $i, 1000);
            $req .= sprintf("%x\r\n%s\r\n", length $c, $c);
        }
        $req .= "0\r\n\r\n";
    } elsif ($method eq 'POST') {
        $req .= "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n$body";
    } else {
        $req .= "\r\n";
    }
    my $written = 0;
    while ($written < length $req) {
        my $n = syswrite($s, $req, length($req) - $written, $written);
        last unless defined $n && $n > 0;    # refused early: the answer may already be there
        $written += $n;
    }
    my ($resp, $end) = ('', time + 10 * $SLOW);
    my $sel = '';
    vec($sel, fileno($s), 1) = 1;
    while (time < $end) {
        my $r = $sel;
        next unless select($r, undef, undef, 0.5);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }
    close $s;
    my ($head, $rbody) = split /\r\n\r\n/, $resp, 2;
    my ($status) = ($head // '') =~ m{\AHTTP/1\.[01] (\d{3})};
    my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1 => $2) : () } split /\r\n/, $head // '';
    return { status => $status, headers => \%h, body => $rbody // '', error => $status ? undef : "no answer ($!)" };
}

sub status_of { my $r = http(@_); return $r->{status} // "none: $r->{error}" }

# ---- events -----------------------------------------------------------------------------------

my $seq = 0;
sub tor_event {      # Discovery:Kubernetes/TorIPCaller
    $seq++;
    return audit_event(verb => 'list', resource => 'pods', ip => $IP{TOR}, ua => "webhook-t/$seq", auditID => uuid());
}
sub quiet_event {    # no finding
    $seq++;
    return audit_event(verb => 'get', resource => 'configmaps', name => "cm-$seq", ip => $IP{INTERNAL},
                       user => 'SA', ua => "webhook-t/$seq", auditID => uuid());
}
# The body kube-apiserver's webhook backend POSTs: an audit.k8s.io/v1 EventList.
sub event_list {
    return json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {}, items => [@_] });
}
sub ids { return sort map { $_->{auditID} } @_ }

# ---- plain HTTP -------------------------------------------------------------------------------

subtest 'POST /k8s-audit and GET /healthz' => sub {
    my $k = start_kguard('--publish-interval', '0') or return;
    my $p = $k->{port} // return;
    my $h = http($p, 'GET', '/healthz');
    is($h->{status}, 200, 'GET /healthz -> 200');
    like($h->{body}, qr/ok/, '... says ok');
    my @tor = map { tor_event() } 1 .. 5;
    my @batch = (@tor[0 .. 2], quiet_event(), quiet_event(), @tor[3, 4]);
    my $r = http($p, 'POST', '/k8s-audit', body => event_list(@batch));
    is($r->{status}, 200, 'POST /k8s-audit with an EventList of 7 events -> 200') or diag(json_encode($r));
    ok(wait_until(10, sub { lines_of($k->{out}) >= 5 }), 'its findings appear while kguard runs') or diag(stderr_of($k));
    is_deeply([sort keys %{ audit_ids(lines_of($k->{out})) }], [ids(@tor)], 'one finding per Tor event of the batch');
    is(http($p, 'POST', '/k8s-audit', body => json_encode($batch[0]))->{status}, 200,
       'a single Event object is accepted too');
    is(status_of($p, 'GET', '/k8s-audit'), 405, 'GET /k8s-audit -> 405');
    is(status_of($p, 'POST', '/other', body => event_list(quiet_event())), 404, 'POST /other -> 404');
    is(status_of($p, 'POST', '/k8s-audit', body => ''), 400, 'an empty body -> 400');
    my $res = finish($k);
    clean_exit($res, 'plain');
    is($res->{summary}{events}, 8, 'summary: events=8 (7 + the single event re-sent)');
    is($res->{summary}{judged}, 7, 'summary: judged=7 (the re-sent event is a duplicate stage)');
    is($res->{summary}{skipped}, 1, 'summary: skipped=1');
};

subtest '--auth-token-file: 401 without the right bearer token' => sub {
    my $dir = tempdir('tok-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $token = 'kguard-' . join('', map { sprintf '%02x', int rand 256 } 1 .. 16);
    open my $fh, '>', "$dir/token" or die;
    print {$fh} "$token\n";
    close $fh;
    chmod 0600, "$dir/token";
    my $k = start_kguard('--auth-token-file', "$dir/token");
    my $p = $k->{port} // return;
    my $body = event_list(tor_event(), tor_event());
    my $none = http($p, 'POST', '/k8s-audit', body => $body);
    is($none->{status}, 401, 'no Authorization header -> 401');
    like($none->{headers}{'www-authenticate'} // '', qr/^Bearer/i, '... with WWW-Authenticate: Bearer');
    is(status_of($p, 'POST', '/k8s-audit', body => $body, headers => { Authorization => "Bearer ${token}x" }), 401,
       'a wrong token -> 401');
    is(status_of($p, 'POST', '/k8s-audit', body => $body, headers => { Authorization => 'Bearer ' . substr($token, 0, 10) }), 401,
       'a prefix of the token -> 401');
    is(status_of($p, 'POST', '/k8s-audit', body => $body, headers => { Authorization => "Basic $token" }), 401,
       'not a bearer token -> 401');
    my @good = (tor_event(), tor_event(), quiet_event());
    is(status_of($p, 'POST', '/k8s-audit', body => event_list(@good), headers => { Authorization => "Bearer $token" }), 200,
       'the right token -> 200');
    is(status_of($p, 'GET', '/healthz'), 200, '/healthz needs no token');
    my $res = finish($k);
    clean_exit($res, 'token');
    is($res->{summary}{judged}, 3, 'only the events of the accepted batch are judged');
    unlike($res->{stderr}, qr/\Q$token\E/, 'the token never appears on stderr');
};

subtest '--max-body-bytes: 413 over the limit, nothing judged from it' => sub {
    my $k = start_kguard('--max-body-bytes', '2048', '--publish-interval', '0');
    my $p = $k->{port} // return;
    my @big = map { tor_event() } 1 .. 6;
    my $body = event_list(@big);
    ok(length($body) > 2048, 'the test body is ' . length($body) . ' bytes');
    is(status_of($p, 'POST', '/k8s-audit', body => $body), 413, 'Content-Length over the limit -> 413');
    is(status_of($p, 'POST', '/k8s-audit', body => $body, chunked => 1), 413, 'a chunked body over the limit -> 413');
    my $small = tor_event();
    my $sb = event_list($small);
    ok(length($sb) <= 2048, 'one event fits');
    is(status_of($p, 'POST', '/k8s-audit', body => $sb), 200, 'a body under the limit -> 200');
    ok(wait_until(10, sub { lines_of($k->{out}) >= 1 }), 'its finding appears');
    my $res = finish($k);
    clean_exit($res, 'body limit');
    is($res->{summary}{events}, 1, 'summary: events=1 (nothing read from the oversize bodies)');
    is_deeply([sort keys %{ audit_ids(map { $_->{data} // {} } @{ $res->{findings} }) }], [$small->{auditID}],
              'the only finding is the small batch\'s');
};

# ---- TLS --------------------------------------------------------------------------------------

sub have { my ($cmd) = @_; return !system("command -v $cmd >/dev/null 2>&1") }

SKIP: {
    skip 'openssl and curl are needed for the TLS tests', 3 unless have('openssl') && have('curl');
    my $dir = tempdir('tls-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $run = sub { my $rc = system("@_ >>$dir/openssl.log 2>&1"); return $rc == 0 };
    my $made = $run->("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/server.key -out $dir/server.crt"
                      . " -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -days 1")
        && $run->("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/ca.key -out $dir/ca.crt -subj /CN=kguard-test-ca -days 1")
        && $run->("openssl req -newkey rsa:2048 -nodes -keyout $dir/client.key -out $dir/client.csr -subj /CN=kube-apiserver")
        && do { open my $e, '>', "$dir/client.ext" or die; print {$e} "extendedKeyUsage=clientAuth\n"; close $e; 1 }
        && $run->("openssl x509 -req -in $dir/client.csr -CA $dir/ca.crt -CAkey $dir/ca.key -set_serial 2"
                  . " -days 1 -extfile $dir/client.ext -out $dir/client.crt")
        && $run->("openssl req -x509 -newkey rsa:2048 -nodes -keyout $dir/other.key -out $dir/other.crt -subj /CN=kube-apiserver -days 1");
    ok($made, 'openssl made a server certificate, a CA and client certificates') or diag(slurp("$dir/openssl.log"));
    skip 'no certificates', 2 unless $made;

    # curl(url, @options) -> HTTP status ('000' when the connection failed)
    my $n = 0;
    my $curl = sub {
        my ($url, @opt) = @_;
        my $f = "$dir/curl-" . ++$n;
        my @cmd = ('curl', '-s', '-o', "$f.body", '-w', '%{http_code}', '--max-time', '5', '--noproxy', '*', @opt, $url);
        my $pid = open(my $fh, '-|') // die "fork: $!";
        if (!$pid) { open STDERR, '>', "$f.err"; exec @cmd or POSIX::_exit(127) }
        local $/;
        my $code = <$fh> // '';
        close $fh;
        return $code;
    };
    my $post = sub { my ($url, $body, @opt) = @_;
                     open my $b, '>', "$dir/body-$n" or die; print {$b} $body; close $b;
                     return $curl->($url, '-X', 'POST', '-H', 'Content-Type: application/json',
                                    '--data-binary', "\@$dir/body-$n", @opt) };

    subtest 'TLS: --tls-cert/--tls-key' => sub {
        my $k = start_kguard('--tls-cert', "$dir/server.crt", '--tls-key', "$dir/server.key", '--publish-interval', '0');
        my $p = $k->{port} // return;
        my $url = "https://127.0.0.1:$p";
        is($curl->("$url/healthz", '--cacert', "$dir/server.crt"), '200', 'GET /healthz over HTTPS -> 200');
        my @ev = (tor_event(), tor_event(), quiet_event());
        is($post->("$url/k8s-audit", event_list(@ev), '--cacert', "$dir/server.crt"), '200',
           'POST /k8s-audit over HTTPS (curl --cacert) -> 200');
        ok(wait_until(10, sub { lines_of($k->{out}) >= 2 }), 'its findings appear') or diag(stderr_of($k));
        isnt($curl->("$url/healthz"), '200', 'a client that does not trust the certificate gets nowhere');
        my $plain = http($p, 'GET', '/healthz');
        isnt($plain->{status} // 0, 200, 'plain HTTP to the TLS port is not served');
        my $res = finish($k);
        clean_exit($res, 'TLS');
        is($res->{summary}{judged}, 3, 'judged=3');
    };

    subtest 'TLS: --client-ca (and a bearer token)' => sub {
        open my $t, '>', "$dir/token" or die;
        print {$t} "s3cret-for-the-api-server\n";
        close $t;
        my $k = start_kguard('--tls-cert', "$dir/server.crt", '--tls-key', "$dir/server.key",
                             '--client-ca', "$dir/ca.crt", '--auth-token-file', "$dir/token");
        my $p = $k->{port} // return;
        my $url = "https://127.0.0.1:$p";
        my @ca = ('--cacert', "$dir/server.crt");
        my @cert = ('--cert', "$dir/client.crt", '--key', "$dir/client.key");
        my @tok = ('-H', 'Authorization: Bearer s3cret-for-the-api-server');
        my @ev = (tor_event(), quiet_event());
        is($post->("$url/k8s-audit", event_list(@ev), @ca, @cert, @tok), '200',
           'a client certificate signed by the CA and the token -> 200');
        is($post->("$url/k8s-audit", event_list(tor_event()), @ca, @tok), '403', 'no client certificate -> 403');
        is($post->("$url/k8s-audit", event_list(tor_event()), @ca, @tok, '--cert', "$dir/other.crt", '--key', "$dir/other.key"),
           '403', 'a certificate the CA did not sign -> 403');
        is($post->("$url/k8s-audit", event_list(tor_event()), @ca, @cert), '401', 'the certificate without the token -> 401');
        is($curl->("$url/healthz", @ca), '200', '/healthz needs no client certificate (probes)');
        my $res = finish($k);
        clean_exit($res, 'client CA');
        is($res->{summary}{judged}, 2, 'only the accepted batch is judged');
        like($res->{stderr}, qr/403 on \/k8s-audit/, 'the refusals are logged on stderr');
    };
}

# ---- SIGTERM during a burst ---------------------------------------------------------------------

subtest 'SIGTERM during a burst: every event answered 200 is judged' => sub {
    my $k = start_kguard();
    my $p = $k->{port} // return;
    my $dir = tempdir('burst-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my ($clients, $per_batch, $max_batches) = (4, 25, $SLOW > 1 ? 150 : 400);
    my @kids;
    for my $c (1 .. $clients) {
        my $pid = fork // die "fork: $!";
        if (!$pid) {
            # one client: POST batches until the server goes away; log "status events" per batch
            srand($$ ^ int(time * 1e6));   # its own auditIDs (uuid() uses rand; a fork shares the seed)
            open my $log, '>', "$dir/client-$c" or POSIX::_exit(1);
            $log->autoflush(1);
            my $end = time + 30 * $SLOW;
            for my $b (1 .. $max_batches) {
                last if time > $end;
                my @ev = map { $_ % 10 == 0 ? tor_event() : quiet_event() } 1 .. $per_batch;
                my $r = http($p, 'POST', '/k8s-audit', body => event_list(@ev));
                my $refused = !$r->{status} && ($r->{error} // '') =~ /^connect/;
                print {$log} (($r->{status} // ($refused ? 'refused' : 'none')) . " $per_batch\n");
                last if $refused;
            }
            close $log;
            POSIX::_exit(0);
        }
        push @kids, $pid;
    }
    my $answered = sub { my $n = 0; for my $c (1 .. $clients) { my $t = slurp("$dir/client-$c"); $n += () = $t =~ /^200 /mg } $n };
    ok(wait_until(20, sub { $answered->() >= 40 }), 'the burst is under way (40 batches answered 200)');
    my $res = finish($k);
    my $deadline = time + 30 * $SLOW;
    for my $pid (@kids) {
        while (waitpid($pid, WNOHANG) == 0 && time < $deadline) { sleep 0.05 }
        if (waitpid($pid, WNOHANG) == 0) { kill 'KILL', $pid; waitpid($pid, 0) }
    }
    clean_exit($res, 'burst');
    my %by;
    my ($ok_events, $unknown_events) = (0, 0);
    for my $c (1 .. $clients) {
        for (split /\n/, slurp("$dir/client-$c")) {
            my ($st, $n) = split / /;
            $by{$st}++;
            $ok_events += $n if $st eq '200';
            $unknown_events += $n if $st eq 'none';
        }
    }
    note('answers: ' . join(', ', map { "$_ x$by{$_}" } sort keys %by) . "; judged=" . ($res->{summary}{judged} // '?')
         . ", events in batches answered 200: $ok_events, in batches without an answer: $unknown_events");
    ok($by{200} && $by{200} >= 40, "batches answered 200: " . ($by{200} // 0));
    my $judged = $res->{summary}{judged} // -1;
    ok($judged >= $ok_events, "no accepted event lost: judged=$judged >= $ok_events events in batches answered 200")
        or diag(describe_run($res));
    ok($judged <= $ok_events + $unknown_events,
       "nothing judged that was refused: judged <= events answered 200 + events of batches cut off without an answer ($unknown_events)");
    is($judged, $ok_events, 'judged == events in batches answered 200') if !$unknown_events;
    my @bad = grep { !/^(200|429|503|none|refused)$/ } keys %by;
    ok(!@bad, 'every answer is 200 or a retryable status') or diag("answers: @bad");
};

done_testing();
