#!/usr/bin/env perl
# kguard run --listen under hostile or unusual clients (issue 10, items 8, 9 and 13):
#   - Content-Encoding: a gzip body (as a compressing proxy in front of kguard sends it) is decoded and
#     judged; a coding kguard cannot decode gets 415 before the body is read; a body that does not
#     decompress gets 400 and a gzip bomb over --max-body-bytes 413: never 200 and then dropped;
#   - slowloris: 200 connections from one other address trickling header bytes, and idle ones, do not
#     stop /healthz or the API server's batches, and a trickler is cut at the header deadline however
#     often it sends a byte;
#   - drain time: with a slow rule the queue is bounded by the time its events take to judge, the
#     webhook answers 429 beyond it, and SIGTERM ends within that bound with every event answered 200
#     judged.
# Only 127.0.0.1 (the attacker of the slowloris test connects from 127.0.0.2), port 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use Test::More;
use KGTest qw(:all);
use KGRun qw(slow slurp stderr_of wait_until lines_of audit_ids);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $SLOW = slow();
my @LISTS = ('--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
             '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt");
$SIG{PIPE} = 'IGNORE';

sub start_kguard {
    my (@args) = ('run', @LISTS, '--listen', '127.0.0.1:0', @_);
    my $k = KGRun::start_kguard(args => \@args);
    wait_until(10, sub { stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $k->{port} = $1 });
    ok($k->{port}, 'kguard listens on 127.0.0.1, port ' . ($k->{port} // '?')) or diag(stderr_of($k));
    return $k;
}
sub finish { my ($k, %o) = @_; return KGRun::finish($k, %o, signal => $o{signal} // 'TERM') }
sub clean_exit { my ($r, $what) = @_; return KGRun::clean_exit($r, $what, how => 'SIGTERM -> ') }

# http($port, $method, $path, body => $bytes, headers => {..}, from => LOCALADDR, timeout => S)
#   -> { status, headers, body, error, elapsed }
sub http {
    my ($port, $method, $path, %o) = @_;
    my $t0 = time;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5,
                                  $o{from} ? (LocalAddr => $o{from}) : ())
        or return { error => "connect: $!", elapsed => time - $t0 };
    my $body = $o{body} // '';
    my $req = "$method $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nUser-Agent: kube-apiserver-admission\r\n"
            . "Connection: close\r\n";
    $req .= "$_: $o{headers}{$_}\r\n" for sort keys %{ $o{headers} // {} };
    $req .= $method eq 'POST' ? "Content-Type: application/json\r\nContent-Length: " . length($body) . "\r\n\r\n$body"
                              : "\r\n";
    my $written = 0;
    while ($written < length $req) {
        my $n = syswrite($s, $req, length($req) - $written, $written);
        last unless defined $n && $n > 0;
        $written += $n;
    }
    my ($resp, $end) = ('', time + ($o{timeout} // 10) * $SLOW);
    my $sel = '';
    vec($sel, fileno($s), 1) = 1;
    while (time < $end) {
        my $r = $sel;
        next unless select($r, undef, undef, 0.2);
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $resp .= $buf;
    }
    close $s;
    my ($head, $rbody) = split /\r\n\r\n/, $resp, 2;
    my ($status) = ($head // '') =~ m{\AHTTP/1\.[01] (\d{3})};
    my %h = map { /^([^:]+):\s*(.*?)\s*$/ ? (lc $1 => $2) : () } split /\r\n/, $head // '';
    return { status => $status, headers => \%h, body => $rbody // '', elapsed => time - $t0,
             error => $status ? undef : "no answer ($!)" };
}

my $seq = 0;
sub tor_event {      # Discovery:Kubernetes/TorIPCaller
    $seq++;
    return audit_event(verb => 'list', resource => 'pods', ip => $IP{TOR}, ua => "hardening-t/$seq", auditID => uuid());
}
sub quiet_event {    # no finding
    $seq++;
    return audit_event(verb => 'get', resource => 'configmaps', name => "cm-$seq", ip => $IP{INTERNAL},
                       user => 'SA', ua => "hardening-t/$seq", auditID => uuid());
}
sub event_list {
    return json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {}, items => [@_] });
}
sub gz { my ($in) = @_; my $out; gzip(\$in => \$out) or die $GzipError; return $out }

# ---- Content-Encoding -----------------------------------------------------------------------------

subtest 'Content-Encoding: gzip decoded, unknown codings 415, never 200 then dropped' => sub {
    my $k = start_kguard('--publish-interval', '0', '--max-body-bytes', '65536') or return;
    my $p = $k->{port} // return;
    my @tor = map { tor_event() } 1 .. 3;
    my $plain = event_list($tor[0], quiet_event(), $tor[1], quiet_event(), $tor[2]);
    my $z = gz($plain);
    ok(length($z) < length($plain), 'the gzip body (' . length($z) . ' bytes) is smaller than the EventList ('
       . length($plain) . ')');
    my $r = http($p, 'POST', '/k8s-audit', body => $z, headers => { 'Content-Encoding' => 'gzip' });
    is($r->{status}, 200, 'POST with Content-Encoding: gzip -> 200') or diag(json_encode($r));
    ok(wait_until(10, sub { lines_of($k->{out}) >= 3 }), 'its findings appear') or diag(stderr_of($k));
    is_deeply([sort keys %{ audit_ids(lines_of($k->{out})) }], [sort map { $_->{auditID} } @tor],
              'one finding per Tor event of the compressed batch');

    my $t2 = tor_event();
    is(http($p, 'POST', '/k8s-audit', body => gz(event_list($t2)), headers => { 'Content-Encoding' => 'x-gzip' })->{status},
       200, 'x-gzip -> 200');
    is(http($p, 'POST', '/k8s-audit', body => event_list(quiet_event()), headers => { 'Content-Encoding' => 'identity' })->{status},
       200, 'identity -> 200');

    my $br = http($p, 'POST', '/k8s-audit', body => $z, headers => { 'Content-Encoding' => 'br' });
    is($br->{status}, 415, 'Content-Encoding: br -> 415');
    like($br->{headers}{'accept-encoding'} // '', qr/gzip/, '... saying what is accepted (Accept-Encoding)');
    is(http($p, 'POST', '/k8s-audit', body => $z, headers => { 'Content-Encoding' => 'gzip, br' })->{status},
       415, 'a list of codings -> 415');

    my $trunc = substr($z, 0, int(length($z) / 2));
    is(http($p, 'POST', '/k8s-audit', body => $trunc, headers => { 'Content-Encoding' => 'gzip' })->{status},
       400, 'a truncated gzip body -> 400');
    is(http($p, 'POST', '/k8s-audit', body => $plain, headers => { 'Content-Encoding' => 'gzip' })->{status},
       400, 'a body that is not gzip at all -> 400');
    my $bomb = gz(event_list(map { quiet_event() } 1 .. 200));
    ok(length($bomb) < 65536, 'a bomb of ' . length($bomb) . ' compressed bytes');
    is(http($p, 'POST', '/k8s-audit', body => $bomb, headers => { 'Content-Encoding' => 'gzip' })->{status},
       413, '... that decompresses past --max-body-bytes -> 413');

    my $res = finish($k);
    clean_exit($res, 'gzip');
    is($res->{summary}{events}, 7, 'summary: events=7 (the three accepted batches; nothing from the refused ones)');
    is($res->{summary}{malformed}, 0, 'summary: malformed=0 (no compressed body reached the parser)');
    like($res->{stderr}, qr/415 on \/k8s-audit: Content-Encoding br/, 'the 415 is logged with the coding');
    like($res->{stderr}, qr/400 on \/k8s-audit: truncated gzip data/, 'the 400 says why');
};

# ---- slowloris ------------------------------------------------------------------------------------

# attack($port, $from, $n, $secs, $log, trickle => 1): keep $n connections from address $from open for
# $secs seconds, reconnecting each one the server closes; with trickle, every connection sends a
# request line and then one header byte every 0.3 s, else nothing at all.  Writes to $log:
# "opened N", "closed N" (by the server) and "longest S" (the longest a trickling connection lived).
sub attack {
    my ($port, $from, $n, $secs, $log, %o) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    my %conn;
    my ($opened, $closed, $longest) = (0, 0, 0);
    my $open = sub {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, LocalAddr => $from,
                                      Proto => 'tcp', Timeout => 2) or return;
        $s->blocking(0);
        syswrite($s, "POST /k8s-audit HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nUser-Agent: slow/1\r\n") if $o{trickle};
        $conn{fileno $s} = { s => $s, t0 => time, next => time + 0.3 };
        $opened++;
    };
    my $end = time + $secs;
    $open->() for 1 .. $n;
    while (time < $end) {
        my $rin = '';
        vec($rin, $_, 1) = 1 for keys %conn;
        select(my $rout = $rin, undef, undef, 0.05);
        for my $fd (keys %conn) {
            my $c = $conn{$fd};
            my $gone = 0;
            if (vec($rout, $fd, 1)) {
                my $r = sysread($c->{s}, my $buf, 4096);
                $gone = 1 if !defined $r ? !$!{EAGAIN} : $r == 0;
            }
            if (!$gone && $o{trickle} && time >= $c->{next}) {
                my $w = syswrite($c->{s}, 'X');
                $gone = 1 if !defined $w && !$!{EAGAIN};
                $c->{next} = time + 0.3;
            }
            next unless $gone;
            my $life = time - $c->{t0};
            $longest = $life if $o{trickle} && $life > $longest && $life > 0.5;
            close $c->{s};
            delete $conn{$fd};
            $closed++;
            $open->();
        }
    }
    # still open at the end: how long they lived counts too
    for (values %conn) { my $life = time - $_->{t0}; $longest = $life if $o{trickle} && $life > $longest }
    open my $fh, '>', $log or POSIX::_exit(1);
    printf {$fh} "opened %d\nclosed %d\nlongest %.2f\n", $opened, $closed, $longest;
    close $fh;
    POSIX::_exit(0);
}

subtest 'slowloris: 200 trickling and 100 idle connections; /healthz and batches still answered' => sub {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => 9, LocalAddr => '127.0.0.2', Proto => 'udp');
    plan skip_all => 'cannot use 127.0.0.2 as a source address' unless $s;
    close $s;
    my $deadline = 2;
    my $k = start_kguard('--publish-interval', '0', '--header-timeout', $deadline) or return;
    my $p = $k->{port} // return;
    my $dir = tempdir('slow-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $secs = 6 * $SLOW;
    my @kids = (attack($p, '127.0.0.2', 200, $secs, "$dir/trickle", trickle => 1),
                attack($p, '127.0.0.3', 100, $secs, "$dir/idle"));
    sleep 1;
    my @health;
    my $slowest = 0;
    my @tor = map { tor_event() } 1 .. 3;
    my $t_end = time + $secs - 1.5;
    my $batch;
    while (time < $t_end) {
        my $h = http($p, 'GET', '/healthz', timeout => 3);
        push @health, $h->{status} // 'none';
        $slowest = $h->{elapsed} if $h->{elapsed} > $slowest;
        $batch //= http($p, 'POST', '/k8s-audit', body => event_list($tor[0], quiet_event(), @tor[1, 2]), timeout => 3);
        sleep 0.25;
    }
    for my $pid (@kids) { waitpid($pid, 0) }
    my %st = map { my $f = $_; $f => { map { split / / } split /\n/, slurp("$dir/$f") } } qw(trickle idle);
    note("trickle: @{[ %{ $st{trickle} } ]}; idle: @{[ %{ $st{idle} } ]}; /healthz slowest "
         . sprintf('%.3f s over %d probes', $slowest, scalar @health));
    ok(@health >= 5, scalar(@health) . ' /healthz probes during the attack');
    is_deeply([grep { $_ ne '200' } @health], [], 'every /healthz probe answered 200');
    cmp_ok($slowest, '<', 1 * $SLOW, '... each within 1 s');
    is($batch->{status}, 200, 'a batch POSTed during the attack -> 200');
    ok(wait_until(10, sub { lines_of($k->{out}) >= 3 }), '... and judged: its findings appear');
    cmp_ok($st{trickle}{longest} // 99, '<=', $deadline + 1.5 * $SLOW,
           "no trickling connection lived past the $deadline s header deadline (+ slack): longest $st{trickle}{longest} s");
    cmp_ok($st{trickle}{closed} // 0, '>=', 184, 'connections over the per-address limit were closed at once');
    cmp_ok($st{idle}{closed} // 0, '>=', 84, 'idle connections over the limit closed too');
    my $res = finish($k);
    clean_exit($res, 'slowloris');
    is($res->{summary}{judged}, 4, 'summary: judged=4 (the batch; nothing from the attackers)');
    like($res->{stderr}, qr/webhook 127\.0\.0\.[23]: connection closed: headers not complete after 2 s/,
         'the cut connections are logged with their address');
};

# ---- drain time at SIGTERM -------------------------------------------------------------------------

subtest 'a slow rule: the queue holds --max-drain seconds of judging; SIGTERM ends within it' => sub {
    my $rules = tmpdir() . '/rules-slow';
    write_file(slurp("$ROOT/rules.d/discovery_tor_ip_caller.lua"), 'rules-slow/discovery_tor_ip_caller.lua');
    write_file(<<'LUA', 'rules-slow/discovery_slow_judge.lua');
-- Discovery:Kubernetes/SlowJudge: a test rule whose predicate costs a few milliseconds per event.
return {
  type = "Discovery:Kubernetes/SlowJudge",
  severity = "Low",
  title = "Test rule that never fires",
  description = "A predicate that spends its time counting and never fires, to make judging slow.",
  remediation = "None: a test rule.",
  predicate = function(ev)
    local x = 0
    for i = 1, 250000 do x = x + i end
    return false
  end,
}
LUA
    my $drain = 1;
    my $k = KGRun::start_kguard(args => ['run', '--rules', $rules, '--lualib', "$ROOT/lualib", '--tor-exits',
                                         "$ROOT/tests/lists/tor-exit-addresses.txt", '--listen', '127.0.0.1:0',
                                         '--max-drain', $drain, '--publish-interval', '0']);
    wait_until(10, sub { stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $k->{port} = $1 });
    my $p = $k->{port} or return fail('kguard listens') || diag(stderr_of($k));
    my (%by, $ok_events, $after_429);
    my $end = time + 2.5 * $SLOW;    # the API server keeps sending; it retries a 429 a little later
    while (time < $end) {
        my @ev = map { $_ % 10 == 0 ? tor_event() : quiet_event() } 1 .. 25;
        my $r = http($p, 'POST', '/k8s-audit', body => event_list(@ev), timeout => 5);
        my $st = $r->{status} // 'none';
        $by{$st}++;
        $ok_events += 25 if $st eq '200';
        $after_429++ if $st eq '200' && $by{429};
        sleep 0.05 if $st eq '429';
    }
    note('answers: ' . join(', ', map { "$_ x$by{$_}" } sort keys %by));
    ok($by{429}, 'the webhook answered 429 once the queue held more than ' . $drain . ' s of judging');
    ok($after_429, 'batches accepted again after a 429 as the judge made room: ' . ($after_429 // 0));
    my $t0 = time;
    my $res = finish($k, timeout => 30);
    my $took = time - $t0;
    clean_exit($res, 'slow rule');
    cmp_ok($took, '<=', $drain + 2 * $SLOW, sprintf('SIGTERM to exit in %.2f s (bound %s s + one batch + slack)',
                                                    $took, $drain));
    is($res->{summary}{judged}, $ok_events, "every event answered 200 judged ($ok_events)") or diag(describe_run($res));
    like($res->{stderr}, qr/429 on \/k8s-audit: queue full/, 'the 429s are logged');
};

done_testing();
