#!/usr/bin/env perl
# GET /metrics (issue 14): kguard's metrics in Prometheus' text exposition format, checked by a parser of
# that format written here (HELP/TYPE lines, sample syntax, label escaping, one TYPE per family, no
# duplicate series, counters named *_total, no usernames or addresses as labels), and their values:
#   - on the webhook listener: events read/judged by source and cluster, findings new/updated by type and
#     severity, rule matches, webhook requests by code (200, 401), queue depth, list entries, rules
#     loaded, the HTTP sink's deliveries, a reload (SIGHUP) with the time of the last success;
#   - without a webhook, on --metrics-listen: followed events and a malformed line; other paths and
#     methods refused; a bad --metrics-listen is a usage error.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use Test::More;
use KGTest qw(:all);
use KGRun qw(slow slurp stderr_of wait_until clean_exit);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
plan skip_all => 'curl not found' unless grep { -x "$_/curl" } split /:/, $ENV{PATH};
my $ROOT = root();
my $DIR = tmpdir();
my @BASE = ('run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib", '--cluster', 'test-cluster',
            '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--publish-interval', '0');
my $TOR = 'Discovery:Kubernetes/TorIPCaller';

# ---- a Prometheus text-format parser -----------------------------------------------------------

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $NUM = qr/[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?Inf|NaN/;

# {label="value",...} -> (\%labels, undef) or (undef, $error); escapes \\ \" \n
sub parse_labels {
    my ($s) = @_;
    my %l;
    while (length $s) {
        $s =~ s/\A($LABEL)="((?:[^"\\\n]|\\[\\"n])*)"// or return (undef, "bad label at '$s'");
        my ($k, $v) = ($1, $2);
        return (undef, "label $k twice") if exists $l{$k};
        return (undef, "reserved label $k") if $k =~ /^__/;
        $v =~ s/\\(["\\n])/$1 eq 'n' ? "\n" : $1/ge;
        $l{$k} = $v;
        last unless length $s;
        $s =~ s/\A,// or return (undef, "expected , at '$s'");
    }
    return (\%l, undef);
}

# The text -> { type => {family => kind}, help => {family => text}, samples => [{name, labels, value}],
#               errors => [...] }
sub parse_prometheus {
    my ($text) = @_;
    my (%type, %help, %seen_sample, %series, @samples, @errors);
    push @errors, 'does not end in a newline' unless $text =~ /\n\z/;
    my $n = 0;
    for my $line (split /\n/, $text) {
        $n++;
        next if $line eq '';
        if ($line =~ /^# HELP ($NAME) (.*)$/) {
            push @errors, "line $n: HELP for $1 twice" if exists $help{$1};
            $help{$1} = $2;
        } elsif ($line =~ /^# TYPE ($NAME) (counter|gauge|histogram|summary|untyped)$/) {
            push @errors, "line $n: TYPE for $1 twice" if exists $type{$1};
            push @errors, "line $n: TYPE for $1 after its samples" if $seen_sample{$1};
            $type{$1} = $2;
        } elsif ($line =~ /^#/) {
            push @errors, "line $n: a malformed HELP or TYPE line" if $line =~ /^# (?:HELP|TYPE)\b/;
        } elsif ($line =~ /^($NAME)(?:\{(.*)\})? ($NUM)(?: -?\d+)?$/) {
            my ($name, $ls, $v) = ($1, $2 // '', $3);
            my ($labels, $err) = parse_labels($ls);
            if ($err) { push @errors, "line $n: $err"; next }
            my $key = $name . '{' . join(',', map { "$_=$labels->{$_}" } sort keys %$labels) . '}';
            push @errors, "line $n: series $key twice" if $series{$key}++;
            $seen_sample{$name} = 1;
            push @samples, { name => $name, labels => $labels, value => $v eq 'NaN' ? 'NaN' : 0 + $v };
        } else {
            push @errors, "line $n: not a sample: $line";
        }
    }
    return { type => \%type, help => \%help, samples => \@samples, errors => \@errors };
}

# The value of name{labels} (labels given must match exactly the sample's), or undef.
sub value_of {
    my ($p, $name, %labels) = @_;
    for my $s (@{ $p->{samples} }) {
        next unless $s->{name} eq $name && keys %{ $s->{labels} } == keys %labels;
        next if grep { ($s->{labels}{$_} // "\0") ne $labels{$_} } keys %labels;
        return $s->{value};
    }
    return undef;
}

# What every exposition must be, whatever the values.
sub well_formed {
    my ($p, $what) = @_;
    is_deeply($p->{errors}, [], "$what: parses as the text format") or diag(join "\n", @{ $p->{errors} });
    my @untyped = grep { !$p->{type}{ $_->{name} } } @{ $p->{samples} };
    is(scalar @untyped, 0, "$what: every sample's family has a TYPE")
        or diag(join ', ', map { $_->{name} } @untyped);
    my @bad = grep { ($p->{type}{$_} eq 'counter') != /_total$/ } keys %{ $p->{type} };
    is_deeply(\@bad, [], "$what: counters and only counters end in _total");
    is_deeply([grep { !/^kguard_/ } keys %{ $p->{type} }], [], "$what: every name starts with kguard_");
    my @personal = grep { /user|ip|addr|host|name/i } map { keys %{ $_->{labels} } } @{ $p->{samples} };
    is_deeply(\@personal, [], "$what: no label for users or addresses");
    my ($b) = grep { $_->{name} eq 'kguard_build_info' } @{ $p->{samples} };
    ok($b && $b->{value} == 1 && $b->{labels}{version} eq '0.2.0' && $b->{labels}{lua_version} =~ /^Lua 5\.4\.\d+$/,
       "$what: build info 1 with the versions");
}

subtest 'the parser refuses what the format does not allow' => sub {
    my $good = "# HELP kguard_x_total X.\n# TYPE kguard_x_total counter\nkguard_x_total{a=\"q\\\"\\\\\\n\"} 3\n";
    my $p = parse_prometheus($good);
    is_deeply($p->{errors}, [], 'a counter with an escaped label value parses');
    is($p->{samples}[0]{labels}{a}, "q\"\\\n", 'the escapes are undone');
    for my $bad ("kguard_x_total 1", "kguard_x_total{a=\"1\" 1\n", "kguard_x_total{a=\"1\",a=\"2\"} 1\n",
                 "kguard_x_total one\n", "# TYPE kguard_x_total counter\n# TYPE kguard_x_total counter\n",
                 "kguard_x_total 1\nkguard_x_total 2\n", "9x 1\n", "kguard_x_total{__a=\"1\"} 1\n") {
        ok(@{ parse_prometheus($bad)->{errors} }, 'refused: ' . ($bad =~ s/\n/\\n/gr));
    }
};

# ---- HTTP -----------------------------------------------------------------------------------------

# curl($method, $url, %o) -> { status, body, ctype }
sub curl {
    my ($method, $url, %o) = @_;
    my $out = "$DIR/curl-body";
    my @cmd = ('curl', '-s', '--noproxy', '*', '--max-time', '5', '-o', $out, '-X', $method,
               '-w', '%{http_code} %{content_type}');
    push @cmd, '-H', $_ for @{ $o{headers} // [] };
    push @cmd, '--data-binary', "\@$o{body_file}", '-H', 'Content-Type: application/json' if $o{body_file};
    open my $fh, '-|', @cmd, $url or die "curl: $!";
    my $w = do { local $/; <$fh> } // '';
    close $fh;
    my ($status, $ctype) = split / /, $w, 2;
    return { status => $status, ctype => $ctype // '', body => slurp($out) };
}

sub metrics_of { my ($port) = @_; my $r = curl('GET', "http://127.0.0.1:$port/metrics"); return ($r, parse_prometheus($r->{body})) }

# A receiver that answers every POST 200 (for the HTTP sink's counters).
sub start_receiver {
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 8, ReuseAddr => 1)
        or die "listen: $!";
    my $pid = fork // die;
    if ($pid == 0) {
        while (my $c = $srv->accept) {
            my ($buf, $len) = ('', undef);
            while (sysread($c, my $b, 65536)) {
                $buf .= $b;
                ($len) = $buf =~ /Content-Length: (\d+)/i unless defined $len;
                last if defined $len && $buf =~ /\r\n\r\n/ && length($buf) - index($buf, "\r\n\r\n") - 4 >= $len;
            }
            print {$c} "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            close $c;
        }
        POSIX::_exit(0);
    }
    my $port = $srv->sockport;
    close $srv;
    return ($pid, "http://127.0.0.1:$port/ingest");
}

my $seq = 0;
sub tor_event { $seq++; audit_event(verb => 'list', resource => 'pods', ip => $IP{TOR}, ua => "metrics-t/$seq", auditID => uuid()) }
sub quiet_event { $seq++; audit_event(verb => 'get', resource => 'configmaps', name => "cm-$seq", ip => $IP{INTERNAL},
                                      user => 'SA', ua => "metrics-t/$seq", auditID => uuid()) }

# ---- on the webhook listener ----------------------------------------------------------------------

subtest 'GET /metrics on the webhook listener' => sub {
    my $token = write_file("metrics-t-token\n", 'webhook.token');
    my ($rpid, $url) = start_receiver();
    my $k = KGRun::start_kguard(args => [@BASE, '--listen', '127.0.0.1:0', '--auth-token-file', $token,
                                         '--output', "$DIR/findings.jsonl", '--output', $url]);
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'kguard listens') or return diag(stderr_of($k));

    my ($r0, $p0) = metrics_of($port);
    is($r0->{status}, 200, 'GET /metrics without the webhook token -> 200');
    is($r0->{ctype}, 'text/plain; version=0.0.4; charset=utf-8', 'the exposition content type');
    well_formed($p0, 'at start');
    cmp_ok(value_of($p0, 'kguard_rules_loaded') // 0, '>=', 20, 'rules loaded');
    cmp_ok(value_of($p0, 'kguard_list_entries', list => 'tor-exits') // 0, '>', 0, 'Tor list entries');

    my $body = write_file(json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {},
                                        items => [tor_event(), quiet_event(), tor_event(), quiet_event(), tor_event()] }),
                          'batch.json');
    is(curl('POST', "http://127.0.0.1:$port/k8s-audit", body_file => $body,
            headers => ['Authorization: Bearer metrics-t-token'])->{status}, 200, 'a batch of 5 events -> 200');
    is(curl('POST', "http://127.0.0.1:$port/k8s-audit", body_file => $body)->{status}, 401, 'without the token -> 401');

    my $p;
    wait_until(10, sub {
        (undef, $p) = metrics_of($port);
        (value_of($p, 'kguard_events_judged_total', source => 'webhook', cluster => 'test-cluster') // 0) == 5
            && (value_of($p, 'kguard_sink_deliveries_total', sink => $url, kind => 'http') // 0) >= 1
            && defined value_of($p, 'kguard_webhook_requests_total', code => '401', path => '/k8s-audit');
    }, poll => 0.3);
    well_formed($p, 'after a batch');
    is(value_of($p, 'kguard_events_read_total', source => 'webhook', cluster => 'test-cluster'), 5, 'events read: 5 from the webhook');
    is(value_of($p, 'kguard_events_judged_total', source => 'webhook', cluster => 'test-cluster'), 5, 'events judged: 5');
    is(value_of($p, 'kguard_findings_new_total', type => $TOR, severity => 'Medium'), 1, 'one new Tor finding (Medium)');
    is(value_of($p, 'kguard_findings_updated_total', type => $TOR, severity => 'Medium'), 2, 'two repeats of it');
    is(value_of($p, 'kguard_rule_matches_total', rule => $TOR), 3, 'the Tor rule matched 3 times');
    is(value_of($p, 'kguard_rule_errors_total', rule => $TOR), 0, 'without errors');
    is(value_of($p, 'kguard_webhook_requests_total', code => '200', path => '/k8s-audit'), 1, 'webhook: one 200');
    is(value_of($p, 'kguard_webhook_requests_total', code => '401', path => '/k8s-audit'), 1, 'webhook: one 401');
    is(value_of($p, 'kguard_queue_depth'), 0, 'the queue is empty again');
    is(value_of($p, 'kguard_sink_deliveries_total', sink => $url, kind => 'http'), 3, 'the HTTP sink delivered 3 lines');
    is(value_of($p, 'kguard_sink_failures_total', sink => $url, kind => 'http'), 0, 'and failed none');
    is(value_of($p, 'kguard_sink_lost_total', sink => $url, kind => 'http'), 0, 'and lost none');
    is(value_of($p, 'kguard_sink_deliveries_total', sink => "$DIR/findings.jsonl", kind => 'file'), 3,
       'the file output: 3 lines delivered');
    is(value_of($p, 'kguard_sink_pending_lines', sink => "$DIR/findings.jsonl", kind => 'file'), 0, '... none waiting');
    is(value_of($p, 'kguard_reloads_total', result => 'ok') // 0, 0, 'no reload yet');
    my $start = value_of($p, 'kguard_start_time_seconds');
    cmp_ok(abs($start - time), '<', 120, 'start time is now');

    kill 'HUP', $k->{pid};
    wait_until(10, sub { (undef, $p) = metrics_of($port); (value_of($p, 'kguard_reloads_total', result => 'ok') // 0) == 1 }, poll => 0.3);
    is(value_of($p, 'kguard_reloads_total', result => 'ok'), 1, 'SIGHUP: one reload');
    cmp_ok(value_of($p, 'kguard_reload_last_success_timestamp_seconds'), '>=', $start, 'the time of the last good one');
    is(value_of($p, 'kguard_rule_matches_total', rule => $TOR), 3, 'a rule\'s count survives the reload');

    my $eu = write_file(json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {},
                                      items => [quiet_event(), quiet_event()] }), 'eu.json');
    is(curl('POST', "http://127.0.0.1:$port/k8s-audit/eu-prod", body_file => $eu,
            headers => ['Authorization: Bearer metrics-t-token'])->{status}, 200, 'a batch for cluster eu-prod -> 200');
    wait_until(10, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_events_read_total', source => 'webhook', cluster => 'eu-prod') // 0) == 2 }, poll => 0.3);
    is(value_of($p, 'kguard_events_read_total', source => 'webhook', cluster => 'eu-prod'), 2, 'counted under its cluster');
    is(value_of($p, 'kguard_events_read_total', source => 'webhook', cluster => 'test-cluster'), 5, 'apart from the default one');

    my $r = KGRun::finish($k, signal => 'TERM');
    clean_exit($r, 'kguard');
    kill 'KILL', $rpid;
    waitpid($rpid, 0);
};

# ---- on --metrics-listen ----------------------------------------------------------------------------

subtest '--metrics-listen without a webhook' => sub {
    my $log = "$DIR/audit.log";
    open my $fh, '>', $log or die;
    my $q = quiet_event();
    print {$fh} event_line(tor_event()), "\n", "{\"kind\":\"Event\",\"apiVersion\":\n", event_line(received_of($q)), "\n",
                event_line($q), "\n";
    close $fh;
    my $k = KGRun::start_kguard(args => [@BASE, '--follow', $log, '--from-start', '--metrics-listen', '127.0.0.1:0',
                                         '--output', "$DIR/follow.jsonl"]);
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /metrics on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'kguard serves metrics') or return diag(stderr_of($k));
    my $p;
    wait_until(10, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_events_read_total', source => 'follow', cluster => 'test-cluster') // 0) == 3 }, poll => 0.3);
    well_formed($p, '--metrics-listen');
    is(value_of($p, 'kguard_events_read_total', source => 'follow', cluster => 'test-cluster'), 3, 'three followed events');
    is(value_of($p, 'kguard_events_skipped_total', source => 'follow', cluster => 'test-cluster'), 1,
       'one skipped: the RequestReceived stage the pre-scan drops unparsed is counted too');
    is(value_of($p, 'kguard_events_judged_total', source => 'follow', cluster => 'test-cluster'), 2, 'two judged');
    is(value_of($p, 'kguard_events_malformed_total', source => 'follow', cluster => 'test-cluster'), 1, 'one malformed line');
    is(curl('GET', "http://127.0.0.1:$port/k8s-audit")->{status}, 404, 'no webhook here');
    is(curl('POST', "http://127.0.0.1:$port/metrics")->{status}, 405, 'POST /metrics -> 405');
    is(curl('GET', "http://127.0.0.1:$port/healthz")->{status}, 200, '/healthz');
    clean_exit(KGRun::finish($k, signal => 'TERM'), 'kguard');

    my $r = run_kguard(args => [@BASE, '--metrics-listen', 'nowhere:port'], timeout => 30);
    is($r->{exit}, 2, 'a bad --metrics-listen: usage error');
    like($r->{stderr}, qr/--metrics-listen wants \[HOST:\]PORT/, '... saying what it wants');
};

# ---- webhook answers by code ---------------------------------------------------------------------

# Every kguard_webhook_requests_total series but /metrics' own: "code path" => value.
sub answers_of {
    my ($p) = @_;
    my %a;
    for my $s (@{ $p->{samples} }) {
        next unless $s->{name} eq 'kguard_webhook_requests_total' && $s->{labels}{path} ne '/metrics';
        $a{"$s->{labels}{code} $s->{labels}{path}"} = $s->{value};
    }
    return \%a;
}

subtest 'webhook requests: each answer counted once under its code and path' => sub {
    my $token = write_file("codes-t-token\n", 'codes.token');
    my $k = KGRun::start_kguard(args => [@BASE, '--listen', '127.0.0.1:0', '--auth-token-file', $token,
                                         '--max-body-bytes', '4096', '--output', "$DIR/codes.jsonl"]);
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'kguard listens') or return diag(stderr_of($k));
    my $base = "http://127.0.0.1:$port";
    my @auth = ('Authorization: Bearer codes-t-token');
    my $batch = write_file(json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {},
                                         items => [quiet_event()] }), 'codes-batch.json');
    my $big = write_file(json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {},
                                       items => [map { quiet_event() } 1 .. 20] }), 'codes-big.json');
    my $empty = write_file('', 'codes-empty.json');
    my @cases = (
        ['200', '/k8s-audit', 'POST', "$base/k8s-audit", body_file => $batch, headers => [@auth]],
        ['200', '/k8s-audit', 'POST', "$base/k8s-audit/eu-prod", body_file => $batch, headers => [@auth]],
        ['400', '/k8s-audit', 'POST', "$base/k8s-audit", body_file => $empty, headers => [@auth]],
        ['401', '/k8s-audit', 'POST', "$base/k8s-audit", body_file => $batch],
        ['401', '/k8s-audit', 'POST', "$base/k8s-audit", body_file => $batch, headers => ['Authorization: Bearer wrong']],
        ['404', 'other', 'GET', "$base/nope"],
        ['404', 'other', 'POST', "$base/k8s-audit/a/b", body_file => $batch, headers => [@auth]],
        ['405', '/k8s-audit', 'GET', "$base/k8s-audit"],
        ['405', '/healthz', 'POST', "$base/healthz"],
        ['405', '/metrics', 'POST', "$base/metrics"],
        ['413', '/k8s-audit', 'POST', "$base/k8s-audit", body_file => $big, headers => [@auth]],
        ['415', '/k8s-audit', 'POST', "$base/k8s-audit", body_file => $batch, headers => [@auth, 'Content-Encoding: br']],
        ['200', '/healthz', 'GET', "$base/healthz"],
    );
    ok(-s $big > 4096, 'the big batch is over --max-body-bytes');
    for my $c (@cases) {
        my ($code, $path, $method, $url, %o) = @$c;
        my (undef, $p0) = metrics_of($port);
        my $before = answers_of($p0);
        my $got = curl($method, $url, %o)->{status};
        is($got, $code, "$method $url -> $code");
        if ($path eq '/metrics') {   # /metrics' own answers are left out of answers_of
            my $p1;
            wait_until(5, sub { (undef, $p1) = metrics_of($port);
                                (value_of($p1, 'kguard_webhook_requests_total', code => '405', path => '/metrics') // 0) == 1 }, poll => 0.3);
            is(value_of($p1, 'kguard_webhook_requests_total', code => '405', path => '/metrics'), 1, '... counted: 405 on /metrics');
            next;
        }
        my $after;
        wait_until(5, sub { my (undef, $p1) = metrics_of($port); $after = answers_of($p1);
                            ($after->{"$code $path"} // 0) > ($before->{"$code $path"} // 0) }, poll => 0.3);
        sleep 1.2;             # a second look: nothing else moves
        my (undef, $p2) = metrics_of($port);
        $after = answers_of($p2);
        my %moved = map { $_ => ($after->{$_} // 0) - ($before->{$_} // 0) }
                    grep { ($after->{$_} // 0) != ($before->{$_} // 0) } keys %$after;
        is_deeply(\%moved, { "$code $path" => 1 }, "... counted once: code=$code path=$path, nothing else");
    }
    clean_exit(KGRun::finish($k, signal => 'TERM'), 'kguard');
};

# ---- file and stdout outputs ---------------------------------------------------------------------

subtest 'kguard_sink_* for file and stdout outputs, and one that fails' => sub {
    plan skip_all => '/dev/full is needed' unless -c '/dev/full';
    my $log = "$DIR/sinks.log";
    open my $fh, '>', $log or die;
    close $fh;
    my $k = KGRun::start_kguard(args => [@BASE, '--follow', $log, '--from-start', '--metrics-listen', '127.0.0.1:0',
                                         '--output', "$DIR/sinks.jsonl", '--format', 'text', '--output', '-',
                                         '--format', 'guardduty', '--output', '/dev/full']);
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /metrics on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'kguard serves metrics') or return diag(stderr_of($k));
    open $fh, '>>', $log or die;
    print {$fh} event_line(tor_event()), "\n", event_line(quiet_event()), "\n", event_line(tor_event()), "\n";
    close $fh;
    my $p;
    wait_until(15, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_sink_deliveries_total', sink => "$DIR/sinks.jsonl", kind => 'file') // 0) == 2
                         && (value_of($p, 'kguard_sink_pending_lines', sink => '/dev/full', kind => 'file') // 0) == 2 }, poll => 0.3);
    well_formed($p, 'with three outputs');
    my %v = map { my ($n, $s) = @$_; ("$n $s" => value_of($p, "kguard_sink_$n", sink => $s, kind => 'file')) }
            map { my $n = $_; map { [$n, $_] } "$DIR/sinks.jsonl", 'stdout', '/dev/full' }
            qw(deliveries_total failures_total lost_total spooled_total spool_bytes pending_lines);
    is($v{"deliveries_total $DIR/sinks.jsonl"}, 2, 'file: 2 lines delivered (a finding and its update)');
    is($v{'deliveries_total stdout'}, 2, 'stdout (text): 2 lines delivered');
    is($v{"failures_total $DIR/sinks.jsonl"} + $v{'failures_total stdout'}, 0, 'file and stdout: no failure');
    is($v{'deliveries_total /dev/full'}, 0, '/dev/full: nothing delivered');
    is($v{'failures_total /dev/full'}, 1, '/dev/full: one failed write (the outage starts; later lines wait behind it)');
    is($v{'pending_lines /dev/full'}, 2, '/dev/full: 2 lines waiting in memory');
    is($v{'lost_total /dev/full'} + $v{'spooled_total /dev/full'} + $v{'spool_bytes /dev/full'}, 0,
       '/dev/full: none lost or spooled yet');
    is(scalar(grep { $_->{name} =~ /^kguard_sink_/ && $_->{labels}{sink} =~ /^(?:summary|metrics)$/ } @{ $p->{samples} }), 0,
       'kguard\'s own bookkeeping sinks are not outputs');
    my $r = KGRun::finish($k, signal => 'TERM');
    is($r->{exit}, 1, 'exit 1: lines /dev/full never took');
    is(scalar(grep { /kind="Finding"|TorIPCaller/ } split /\n/, $r->{stdout}), 2, 'stdout had the 2 lines');
};

# ---- updates published ---------------------------------------------------------------------------

subtest 'kguard_findings_updated_total counts the update lines published, not the repeats' => sub {
    my @args = grep { $_ ne '--publish-interval' && $_ ne '0' } @BASE;
    my $k = KGRun::start_kguard(args => [@args, '--publish-interval', '3', '--listen', '127.0.0.1:0',
                                         '--output', "$DIR/updates.jsonl"]);
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'kguard listens') or return diag(stderr_of($k));
    my $body = write_file(json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', metadata => {},
                                        items => [tor_event(), tor_event(), tor_event(), tor_event()] }), 'updates.json');
    is(curl('POST', "http://127.0.0.1:$port/k8s-audit", body_file => $body)->{status}, 200, 'four Tor events -> 200');
    my $p;
    wait_until(10, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_rule_matches_total', rule => $TOR) // 0) == 4 }, poll => 0.3);
    is(value_of($p, 'kguard_findings_new_total', type => $TOR, severity => 'Medium'), 1, 'one new finding');
    is(value_of($p, 'kguard_findings_updated_total', type => $TOR, severity => 'Medium') // 0, 0,
       'its 3 repeats within the interval: no update published yet');
    is(scalar(() = slurp("$DIR/updates.jsonl") =~ /\n/g), 1, '... the output has one line');
    wait_until(10, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_findings_updated_total', type => $TOR, severity => 'Medium') // 0) >= 1 }, poll => 0.3);
    is(value_of($p, 'kguard_findings_updated_total', type => $TOR, severity => 'Medium'), 1,
       'after the interval: one update line published (count 4)');
    my @lines = split /\n/, slurp("$DIR/updates.jsonl");
    is(scalar @lines, 2, '... and the output has two lines');
    like($lines[-1] // '', qr/"count":4\b/, '... the update carrying count 4');
    clean_exit(KGRun::finish($k, signal => 'TERM'), 'kguard');
};

# ---- scan --metrics-listen ------------------------------------------------------------------------

# The RequestReceived event of a request: logged before the handler ran, so no response and no
# authorization annotations yet.
sub received_of {
    my ($e) = @_;
    my %r = %$e;
    delete @r{qw(responseStatus annotations)};
    $r{stage} = 'RequestReceived';
    $r{stageTimestamp} = $r{requestReceivedTimestamp};
    return \%r;
}

subtest 'scan --metrics-listen: a long scan is watched while it runs' => sub {
    my @args = grep { $_ ne 'run' } @BASE;
    my $k = KGRun::start_kguard(args => ['scan', @args, '--metrics-listen', '127.0.0.1:0', '--output', "$DIR/scan.jsonl", '-'],
                                stdin => 'pipe');
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /metrics on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'scan serves metrics') or return diag(stderr_of($k));
    my $fh = $k->{in};
    for my $e (tor_event(), map { quiet_event() } 1 .. 150) {
        print {$fh} event_line(received_of($e)), "\n", event_line($e), "\n";
    }
    my $p;
    # stdin is read in blocks: what the scan has judged so far, not necessarily all 302 lines
    wait_until(15, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_events_read_total', source => 'stdin', cluster => 'test-cluster') // 0) >= 100 }, poll => 0.3);
    well_formed($p, 'during a scan');
    my %n = map { $_ => value_of($p, "kguard_events_${_}_total", source => 'stdin', cluster => 'test-cluster') // 0 }
            qw(read skipped judged);
    cmp_ok($n{read}, '>=', 100, "events read as they come ($n{read} so far)");
    is($n{skipped} + $n{judged}, $n{read}, 'each one skipped (the RequestReceived stages) or judged');
    cmp_ok(abs($n{skipped} - $n{judged}), '<=', 1, '... half and half');
    is(value_of($p, 'kguard_findings_new_total', type => $TOR, severity => 'Medium'), 1, 'the Tor finding');
    sleep 1.1;
    print {$fh} event_line(quiet_event()), "\n" for 1 .. 600;   # the once-a-second look comes between records
    wait_until(15, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_sink_deliveries_total', sink => "$DIR/scan.jsonl", kind => 'file') // 0) == 1 }, poll => 0.3);
    is(value_of($p, 'kguard_sink_deliveries_total', sink => "$DIR/scan.jsonl", kind => 'file'), 1, 'the output\'s deliveries, mid-scan');
    is(value_of($p, 'kguard_rule_matches_total', rule => $TOR), 1, 'rule matches, mid-scan');
    cmp_ok(value_of($p, 'kguard_rules_loaded') // 0, '>=', 20, 'rules loaded');
    my $r = KGRun::finish($k);
    clean_exit($r, 'the scan');
    is($r->{summary}{events}, 902, 'it read every event');
    is(curl('GET', "http://127.0.0.1:$port/metrics")->{status}, '000', 'the listener closes with the scan');

    $r = run_kguard(args => ['check', '--rules', "$ROOT/rules.d", '--metrics-listen', '127.0.0.1:0'], timeout => 30);
    is($r->{exit}, 2, 'check --metrics-listen: usage error');
    like($r->{stderr}, qr/option --metrics-listen is for kguard scan and run/, '... saying so');
};

# ---- disabled rules ----------------------------------------------------------------------------------

subtest 'kguard_rules_disabled: in the rule file, and by the circuit breaker' => sub {
    my $BROKEN = 'Discovery:Kubernetes/MetricsBroken';
    my $rules = "$DIR/rules-broken";
    mkdir $rules;
    opendir my $dh, "$ROOT/rules.d" or die;
    for my $f (grep { /\.lua$/ } readdir $dh) { write_file(slurp("$ROOT/rules.d/$f"), "rules-broken/$f") }
    # a test rule file: type, what it is, and its own lines
    my $rule = sub {
        my ($type, $what, $extra) = @_;
        return qq[return {\n  type = "$type",\n  severity = "Low",\n  title = "$what",\n]
             . qq[  description = "$what (tests/metrics.t).",\n  remediation = "None: a test rule.",\n]
             . qq[  match = {api = {"list secrets"}},\n  $extra\n}\n];
    };
    write_file($rule->($BROKEN, 'A rule whose predicate always fails',
                       'predicate = function(ev) error("broken on purpose") end,'), 'rules-broken/zz_broken.lua');
    write_file($rule->('Discovery:Kubernetes/MetricsOff', 'A rule loaded and checked but never run',
                       'enabled = false,'), 'rules-broken/zz_off.lua');
    my $log = "$DIR/broken.log";
    write_file('', 'broken.log');
    my @args = map { $_ eq "$ROOT/rules.d" ? $rules : $_ } @BASE;
    my $k = KGRun::start_kguard(args => [@args, '--rule-max-failures', '2', '--follow', $log,
                                         '--from-start', '--metrics-listen', '127.0.0.1:0', '--output', "$DIR/broken.jsonl"]);
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /metrics on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'kguard serves metrics') or return diag(stderr_of($k));
    my ($p0, $p);
    wait_until(10, sub { (undef, $p0) = metrics_of($port); defined value_of($p0, 'kguard_rules_disabled', reason => 'rule') }, poll => 0.3);
    is(value_of($p0, 'kguard_rules_disabled', reason => 'rule'), 1, 'one rule switched off in its file (enabled = false)');
    is(value_of($p0, 'kguard_rules_disabled', reason => 'failures'), 0, 'none by failures yet');
    my $loaded = value_of($p0, 'kguard_rules_loaded');
    open my $fh, '>>', $log or die;
    print {$fh} event_line(audit_event(verb => 'list', resource => 'secrets', ip => $IP{INTERNAL}, user => 'SA',
                                       auditID => uuid())), "\n" for 1 .. 3;
    close $fh;
    wait_until(15, sub { (undef, $p) = metrics_of($port); (value_of($p, 'kguard_rules_disabled', reason => 'failures') // 0) == 1 }, poll => 0.3);
    is(value_of($p, 'kguard_rules_disabled', reason => 'failures'), 1, 'the broken rule switched off after 2 failures');
    is(value_of($p, 'kguard_rule_errors_total', rule => $BROKEN), 2, 'its 2 errors');
    is(value_of($p, 'kguard_rules_loaded'), $loaded - 1, 'one rule fewer judging');
    clean_exit(KGRun::finish($k, signal => 'TERM'), 'kguard');
};

# ---- connections closed unanswered ------------------------------------------------------------------

subtest 'kguard_webhook_connections_closed_total: past the header deadline, over the per-address limit' => sub {
    my $k = KGRun::start_kguard(args => [@BASE, '--listen', '127.0.0.1:0', '--header-timeout', '1',
                                         '--output', "$DIR/closed.jsonl"]);
    my $port;
    wait_until(10, sub { ($port) = stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ });
    ok($port, 'kguard listens') or return diag(stderr_of($k));
    # 20 silent connections from another address (so the scrapes from 127.0.0.1 still get in)
    my @idle = grep { defined } map { IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                                            LocalAddr => '127.0.0.2', Proto => 'tcp') } 1 .. 20;
    is(scalar @idle, 20, '20 connections from 127.0.0.2 opened');
    my $p;
    wait_until(15, sub { (undef, $p) = metrics_of($port);
                         (value_of($p, 'kguard_webhook_connections_closed_total', reason => 'deadline') // 0) >= 16
                         && (value_of($p, 'kguard_webhook_connections_closed_total', reason => 'limit') // 0) >= 1 }, poll => 0.3);
    is(value_of($p, 'kguard_webhook_connections_closed_total', reason => 'limit'), 4,
       'limit: the 4 over the 16 an address may hold');
    is(value_of($p, 'kguard_webhook_connections_closed_total', reason => 'deadline'), 16,
       'deadline: the 16 that sent no headers within --header-timeout');
    is(scalar(grep { $_->{name} eq 'kguard_webhook_requests_total' && $_->{labels}{path} ne '/metrics' } @{ $p->{samples} }), 0,
       'none of them was an answered request');
    close $_ for @idle;
    clean_exit(KGRun::finish($k, signal => 'TERM'), 'kguard');
};

done_testing();
