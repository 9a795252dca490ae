#!/usr/bin/env perl
# Outputs (issue 14): repeatable --output, each with its own format, and the HTTP sink.
#   - two file outputs and stdout get the same findings; --format before an --output applies to it;
#     --format after the last --output, an unknown format and a bad header are refused;
#   - HTTP: a receiver written here (loopback, port 0) that answers 500, stalls past the timeout and
#     then recovers gets every finding exactly once in the requests it answered 200 (the others were
#     retried), in batches of --http-batch lines, with the headers asked for (a bearer token read from
#     a file, a Splunk scheme, --http-header), NDJSON or a JSON array;
#   - a receiver that is down: with --http-spool the findings wait in the spool (summary spooled=N,
#     exit 0) and the next run delivers them first and empties it; without a spool they are reported
#     as lost (output_errors, exit 1).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use Test::More;
use File::Temp qw(tempdir);
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
$SIG{PIPE} = 'IGNORE';

my $DIR = tmpdir();
my $EXAMPLE = 'examples/audit.log';   # 8 findings and 2 updates

my %SERVERS;   # pid => 1, killed at the end
END { for my $pid (keys %SERVERS) { kill 'KILL', $pid; waitpid($pid, 0) } }

# ---- a receiver ------------------------------------------------------------------------------

# start_receiver(@script) -> { pid, port, log }: answers the n-th request as $script[n] says
# ('200', '500', 'stall' = read it, wait 3 s, close without answering; the last entry repeats) and
# appends one JSON line per request to log: { n, action, headers {lc name => value}, body }.
sub start_receiver {
    my (@script) = @_;
    my $log = "$DIR/receiver-" . int(rand(1e9)) . '.log';
    my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Listen => 16, ReuseAddr => 1,
                                    Proto => 'tcp') or die "listen: $!";
    my $port = $srv->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $n = 0;
        $SIG{CHLD} = 'IGNORE';   # each connection in a child of its own: a stall blocks no other
        while (1) {
            my $c = $srv->accept or next;
            my $action = $script[$n < @script ? $n : $#script];
            my $k = $n++;
            my $pid = fork // POSIX::_exit(1);
            if ($pid) { close $c; next }
            my $req = read_request($c) or POSIX::_exit(0);
            open my $fh, '>>', $log or POSIX::_exit(1);
            syswrite($fh, json_encode({ n => $k, action => $action, %$req }) . "\n");   # one append
            close $fh;
            if ($action eq 'stall') { sleep 3; POSIX::_exit(0) }
            my $text = $action eq '200' ? "{\"text\":\"Success\",\"code\":0}" : "{\"error\":\"down\"}";
            print {$c} "HTTP/1.1 $action " . ($action eq '200' ? 'OK' : 'Internal Server Error') . "\r\n"
                     . "Content-Type: application/json\r\nContent-Length: " . length($text) . "\r\n"
                     . "Connection: close\r\n\r\n$text";
            close $c;
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }
    close $srv;
    $SERVERS{$pid} = 1;
    return { pid => $pid, port => $port, log => $log, url => "http://127.0.0.1:$port/services/collector/raw" };
}

# One HTTP/1.1 request with a Content-Length body: { method, path, headers, body }, or undef.
sub read_request {
    my ($c) = @_;
    my ($head, $buf) = ('', '');
    while ($head !~ /\r\n\r\n/) { my $r = sysread($c, $buf, 4096) or return; $head .= $buf }
    my ($h, $body) = split /\r\n\r\n/, $head, 2;
    my ($line, @hl) = split /\r\n/, $h;
    my ($method, $path) = split / /, $line;
    my %hdr = map { my ($k, $v) = split /:\s*/, $_, 2; (lc $k => $v) } @hl;
    my $len = $hdr{'content-length'} // 0;
    while (length($body) < $len) { my $r = sysread($c, $buf, $len - length $body) or return; $body .= $buf }
    return { method => $method, path => $path, headers => \%hdr, body => $body };
}

sub stop_receiver {
    my ($s) = @_;
    kill 'TERM', $s->{pid};
    waitpid($s->{pid}, 0);
    sleep 0.2;   # connection children still writing their line
    delete $SERVERS{ $s->{pid} };
    return [ sort { $a->{n} <=> $b->{n} } map { json_decode($_) } grep { length } split /\n/, (-e $s->{log} ? read_file($s->{log}) : '') ];
}

# The finding lines of the answered requests' bodies (NDJSON or a JSON array).
sub delivered {
    my ($reqs, %o) = @_;
    my @lines;
    for my $r (grep { $_->{action} eq '200' } @$reqs) {
        push @lines, $o{array} ? (map { json_encode($_) } @{ json_decode($r->{body}) })
                               : (split /\n/, $r->{body});
    }
    return @lines;
}

# A finding line's identity: its id and count (an update has the id of its finding).
sub key_of { my $f = json_decode($_[0]); return "$f->{id}/$f->{service}{count}" }

my $base = run_kguard(args => [scan_args(), $EXAMPLE]);
is($base->{exit}, 0, 'the example scans') or diag(describe_run($base));
my @EXPECTED = sort map { key_of($_) } grep { length } split /\n/, $base->{stdout};
is(scalar @EXPECTED, 10, 'the example gives 10 finding lines');

# ---- files and formats -----------------------------------------------------------------------

subtest 'two file outputs and stdout' => sub {
    my ($a, $b) = ("$DIR/a.jsonl", "$DIR/b.jsonl");
    my $r = run_kguard(args => [scan_args(), '--output', $a, '--output', '-', '--output', $b, $EXAMPLE]);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    for my $got ([$a, read_file($a)], [$b, read_file($b)], ['stdout', $r->{stdout}]) {
        is_deeply([sort map { key_of($_) } grep { length } split /\n/, $got->[1]], \@EXPECTED,
                  "$got->[0]: every finding line");
    }
};

subtest '--summary: the table at the end, on stderr' => sub {
    my $r = run_kguard(args => [scan_args(), '--summary', $EXAMPLE]);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is(scalar @{ $r->{findings} }, 10, 'stdout keeps the finding lines');
    like($r->{stderr}, qr/^8 findings, 10 occurrences$/m, 'findings and occurrences');
    like($r->{stderr}, qr{^Persistence:Kubernetes/ContainerWithSensitiveMount +0 +0 +2 +0 +2 +3$}m,
         'a type by severity, with its occurrences');
    like($r->{stderr}, qr{^system:serviceaccount:kube-system:backup-agent +6 +6$}m, 'the top identity');
    like($r->{stderr}, qr{^192\.0\.2\.66 +6 +6$}m, 'the top source IP');
    $r = run_kguard(args => [scan_args(), '--format', 'text', $EXAMPLE]);
    unlike($r->{stderr}, qr/occurrences/, 'text not on a terminal: no table unless asked');
};

subtest 'refused output options' => sub {
    my $r = run_kguard(args => [scan_args(), '--output', "$DIR/x.jsonl", '--format', 'guardduty', $EXAMPLE]);
    is($r->{exit}, 2, '--format after the last --output: a usage error, exit 2');
    like($r->{stderr}, qr/apply to the --output options after them/, '... and why');
    $r = run_kguard(args => [scan_args(), '--format', 'no-such-format', $EXAMPLE]);
    is($r->{exit}, 1, 'an unknown format: exit 1');
    like($r->{stderr}, qr/unknown format 'no-such-format' \(formats: guardduty, asff, ocsf, falco, text\)/,
         '... naming the formats');
    $r = run_kguard(args => [scan_args(), '--format', 'text', '--http-array', '--output', 'http://127.0.0.1:9/', $EXAMPLE]);
    is($r->{exit}, 1, 'text lines as a JSON array: exit 1');
    like($r->{stderr}, qr/--http-array sends JSON, and text lines are not/, '... and why');
    $r = run_kguard(args => [scan_args(), '--http-header', 'no colon here', '--output', 'http://127.0.0.1:9/', $EXAMPLE]);
    is($r->{exit}, 2, 'a header without a colon: usage error');
    like($r->{stderr}, qr/--http-header wants 'Name: value'/, '... and why');
    $r = run_kguard(args => [scan_args(), '--output', 'ftp://127.0.0.1/x', $EXAMPLE]);
    isnt($r->{exit}, 0, 'an ftp URL is taken for a file name that cannot be opened... or refused');
};

subtest 'a format per output, and the archive in its own' => sub {
    my %f = map { $_ => "$DIR/fmt.$_" } qw(asff ocsf falco text guardduty);
    my $r = run_kguard(args => [scan_args(), map({ ('--format', $_, '--output', $f{$_}) } sort keys %f), $EXAMPLE]);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is($r->{stdout}, '', 'nothing on stdout when outputs are named');
    my %lines = map { $_ => [grep { length } split /\n/, read_file($f{$_})] } keys %f;
    is(scalar @{ $lines{$_} }, 10, "$_: 10 lines") for sort keys %f;
    is_deeply([sort map { key_of($_) } @{ $lines{guardduty} }], \@EXPECTED, 'guardduty: the lines stdout gets');
    my @asff = map { json_decode($_) } @{ $lines{asff} };
    ok(!(grep { $_->{SchemaVersion} ne '2018-10-08' || $_->{Id} !~ m{^kguard/test-cluster/[0-9a-f]{32}$} } @asff),
       'asff: SchemaVersion and Id of every line');
    is_deeply([sort map { $_->{Id} =~ s{.*/}{}r . '/' . $_->{ProductFields}{'kguard/count'} } @asff], \@EXPECTED,
              'asff: the same findings and counts');
    my @ocsf = map { json_decode($_) } @{ $lines{ocsf} };
    ok(!(grep { $_->{class_uid} != 2004 } @ocsf), 'ocsf: Detection Finding (2004) on every line');
    my @falco = map { json_decode($_) } @{ $lines{falco} };
    ok(!(grep { !$_->{rule} || !$_->{priority} || !$_->{output} || !$_->{output_fields} } @falco),
       'falco: rule, priority, output and output_fields on every line');
    is_deeply([sort map { "$_->{output_fields}{'kguard.finding.id'}/$_->{output_fields}{'kguard.finding.count'}" } @falco],
              \@EXPECTED, 'falco: the same findings and counts');
    ok(!(grep { /^\{/ || !/ (?:Discovery|Persistence|PrivilegeEscalation|Execution|Policy|CredentialAccess|Impact|InitialAccess|DefenseEvasion):Kubernetes\// } @{ $lines{text} }),
       'text: a readable line with its type, not JSON');

    my $cfg = write_file(<<'LUA', 'archive-anon.lua');
return {
  suppress = {
    { name = "anonymous-discovery",
      criteria = { type = { equals = { "Discovery:Kubernetes/SuccessfulAnonymousAccess" } } } },
  },
}
LUA
    my ($out, $arch) = ("$DIR/arch-out.jsonl", "$DIR/arch.falco");
    $r = run_kguard(args => [scan_args(), '--config', $cfg, '--archive', $arch, '--archive-format', 'falco',
                             '--format', 'asff', '--output', $out, $EXAMPLE]);
    is($r->{exit}, 0, 'with an archive: exit 0') or diag(describe_run($r));
    my @a = map { json_decode($_) } grep { length } split /\n/, read_file($arch);
    ok(@a && !(grep { $_->{rule} ne 'Discovery:Kubernetes/SuccessfulAnonymousAccess' } @a),
       'the archive holds the suppressed findings, as falco alerts');
    my @o = map { json_decode($_) } grep { length } split /\n/, read_file($out);
    ok(@o && !(grep { $_->{GeneratorId} =~ /SuccessfulAnonymousAccess/ || !$_->{SchemaVersion} } @o),
       'the output the others, in ASFF');
    is(@a + @o, 10, 'between them, every line');
};

# ---- HTTP ------------------------------------------------------------------------------------

subtest 'HTTP: a receiver that fails, stalls and recovers gets everything once' => sub {
    my $s = start_receiver('500', '500', 'stall', '200', '500', '200');
    my $token = write_file("s3cr3t-hec-token\n", 'hec.token');
    my $r = run_kguard(args => [scan_args(), '--http-batch', '3', '--http-timeout', '1', '--http-drain', '60',
                                '--http-token-file', $token, '--http-auth-scheme', 'Splunk',
                                '--http-header', 'X-Splunk-Request-Channel: 1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed',
                                '--output', $s->{url}, $EXAMPLE], timeout => 120);
    my $reqs = stop_receiver($s);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is($r->{stdout}, '', 'nothing on stdout: the only output is the receiver');
    my @got = delivered($reqs);
    is_deeply([sort map { key_of($_) } @got], \@EXPECTED, "every finding delivered exactly once in answered requests")
        or diag(join "\n", map { "$_->{n} $_->{action}: " . join(" ", map { key_of($_) } split /\n/, $_->{body}) } @$reqs);
    ok((grep { $_->{action} eq 'stall' } @$reqs), 'a request stalled past the timeout');
    cmp_ok(scalar(grep { $_->{action} eq '500' } @$reqs), '>=', 3, 'three requests failed with 500');
    ok(!(grep { split(/\n/, $_->{body}) > 3 } @$reqs), 'at most --http-batch lines a request');
    my $h = $reqs->[0]{headers};
    is($reqs->[0]{method}, 'POST', 'POST');
    is($reqs->[0]{path}, '/services/collector/raw', 'to the URL path');
    is($h->{authorization}, 'Splunk s3cr3t-hec-token', 'Authorization from the token file with the scheme');
    is($h->{'x-splunk-request-channel'}, '1b9d6bcd-bbfd-4b2d-9b5d-ab8dfbbd4bed', '--http-header sent');
    is($h->{'content-type'}, 'application/x-ndjson', 'NDJSON content type');
    like($r->{stderr}, qr{^kguard: output \Q$s->{url}\E: delivered=10 failed=0 spooled=0 spool_bytes=0 pending=0$}m,
         'the summary counts the deliveries');
    is($r->{summary}{output_errors}, 0, 'no output errors');
};

subtest 'HTTP: a JSON array per request, with a bearer token, beside stdout' => sub {
    my $s = start_receiver('200');
    my $token = write_file("eyJhbGciOiJIUzI1NiJ9.e30.k\n", 'bearer.token');
    my $r = run_kguard(args => [scan_args(), '--output', '-', '--http-array', '--http-token-file', $token,
                                '--output', $s->{url}, $EXAMPLE], timeout => 60);
    my $reqs = stop_receiver($s);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is_deeply([sort map { key_of($_) } delivered($reqs, array => 1)], \@EXPECTED, 'every finding in JSON arrays');
    is($reqs->[0]{headers}{'content-type'}, 'application/json', 'JSON content type');
    is($reqs->[0]{headers}{authorization}, 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.k', 'bearer token by default');
    is_deeply([sort map { key_of($_) } grep { length } split /\n/, $r->{stdout}], \@EXPECTED, 'stdout too');
};

subtest 'HTTP: a receiver that is down, a spool, and the next run' => sub {
    my $spool = "$DIR/hec.spool";
    my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1);
    my $port = $closed->sockport;
    close $closed;   # nobody listens there now
    my $url = "http://127.0.0.1:$port/ingest";
    my $r = run_kguard(args => [scan_args(), '--http-timeout', '1', '--http-drain', '1', '--http-spool', $spool,
                                '--output', $url, $EXAMPLE], timeout => 60);
    is($r->{exit}, 0, 'exit 0: nothing was lost') or diag(describe_run($r));
    like($r->{stderr}, qr{^kguard: output \Q$url\E: delivered=0 failed=0 spooled=10 spool_bytes=\d+ pending=0$}m,
         'the summary counts ten spooled findings');
    is_deeply([sort map { key_of($_) } grep { length } split /\n/, read_file($spool)], \@EXPECTED,
              'the spool holds every finding line');

    my $s = start_receiver('500', '200');
    $r = run_kguard(args => [scan_args(), '--http-timeout', '2', '--http-spool', $spool, '--output', $s->{url},
                             '/dev/null'], timeout => 60);
    my $reqs = stop_receiver($s);
    is($r->{exit}, 0, 'the next run: exit 0') or diag(describe_run($r));
    is_deeply([sort map { key_of($_) } delivered($reqs)], \@EXPECTED, 'it delivers what the spool held, once');
    is(-s $spool, 0, 'and empties the spool');
};

subtest 'HTTP: a receiver that is down and no spool' => sub {
    my $closed = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1);
    my $port = $closed->sockport;
    close $closed;
    my $url = "http://127.0.0.1:$port/ingest";
    my $r = run_kguard(args => [scan_args(), '--http-timeout', '1', '--http-drain', '1', '--output', $url,
                                $EXAMPLE], timeout => 60);
    is($r->{exit}, 1, 'exit 1') or diag(describe_run($r));
    like($r->{stderr}, qr{^kguard: output \Q$url\E: finish failed: \Q$url\E: 10 finding\(s\) not delivered \(.+\) and not spooled$}m,
         'the loss is reported with the reason');
    cmp_ok($r->{summary}{output_errors}, '>=', 1, 'counted as an output error');
    like($r->{stderr}, qr{delivered=0 failed=10 spooled=0}, 'ten failed');
};

# ---- outputs in the config file -----------------------------------------------------------------

subtest 'outputs in the config file: files, formats and an HTTP receiver; --output replaces them' => sub {
    my $dir = "$DIR/cfg-outputs";
    mkdir $dir;
    my $s = start_receiver('200');
    write_file("hec-token-cfg\n", 'cfg-outputs/hec.token');
    my $cfg = write_file(<<"LUA", 'cfg-outputs/kguard.lua');
-- outputs as a config file lists them (tests/outputs.t)
return {
  outputs = {
    { dest = "findings.jsonl" },
    { dest = "asff.jsonl", format = "asff" },
    { dest = "$s->{url}", format = "guardduty",
      headers = { "X-Kguard-Test: cfg" }, token_file = "hec.token", auth_scheme = "Splunk",
      batch = 4, timeout = 5, drain = 20, spool = "hec.spool", spool_max = 1048576 },
    { dest = "-", format = "text" },
  },
}
LUA
    my $r = run_kguard(args => [scan_args(), '--config', $cfg, $EXAMPLE], timeout => 60);
    my $reqs = stop_receiver($s);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    ok(-f "$dir/findings.jsonl" && -f "$dir/asff.jsonl", 'file outputs relative to the config file\'s directory');
    is_deeply([sort map { key_of($_) } grep { length } split /\n/, read_file("$dir/findings.jsonl")], \@EXPECTED,
              'findings.jsonl: every finding line');
    my @asff = map { json_decode($_) } grep { length } split /\n/, read_file("$dir/asff.jsonl");
    is(scalar @asff, 10, 'asff.jsonl: 10 lines ...');
    is(scalar(grep { ($_->{SchemaVersion} // '') eq '2018-10-08' } @asff), 10, '... in ASFF');
    is_deeply([sort map { key_of($_) } delivered($reqs)], \@EXPECTED, 'the receiver: every finding line');
    ok(!grep({ scalar(split /\n/, $_->{body}) > 4 } @$reqs), 'in batches of at most 4');
    is($reqs->[0]{headers}{authorization}, 'Splunk hec-token-cfg', 'the token from token_file, Splunk scheme');
    is($reqs->[0]{headers}{'x-kguard-test'}, 'cfg', 'the header asked for');
    my @text = grep { length } split /\n/, $r->{stdout};
    is(scalar @text, 10, 'stdout: 10 lines ...');
    is(scalar(grep { /^\d{4}-\d\d-\d\dT\S+ (?:HIGH|MEDIUM|LOW) \S+:Kubernetes\// } @text), 10, '... in the text format');

    unlink "$dir/findings.jsonl", "$dir/asff.jsonl";
    $r = run_kguard(args => [scan_args(), '--config', $cfg, '--output', "$dir/cli.jsonl", $EXAMPLE]);
    is($r->{exit}, 0, 'with --output: exit 0') or diag(describe_run($r));
    is(scalar(grep { length } split /\n/, read_file("$dir/cli.jsonl")), 10, 'the --output gets the findings');
    ok(!-e "$dir/findings.jsonl" && !-e "$dir/asff.jsonl" && $r->{stdout} eq '',
       'the config\'s outputs are not opened: the command line replaces them');

    $r = run_kguard(args => [scan_args(), '--config', $cfg, '--format', 'text', $EXAMPLE]);
    is($r->{exit}, 1, '--format without --output while the config lists outputs: exit 1');
    like($r->{stderr}, qr/without --output, the outputs of \Q$cfg\E are used and set their own/, '... and why');
    ok(!-e "$dir/findings.jsonl", '... before anything is written');
};

subtest 'outputs in the config file: bad entries are FILE:LINE errors' => sub {
    my $cfg = write_file(<<'LUA', 'bad-outputs.lua');
-- wrong outputs (tests/outputs.t): every entry below line 2 is refused
return {
  outputs = {
    { dest = "a.jsonl", format = "xml" },
    { dest = "b.jsonl", batch = 10 },
    { dest = "http://127.0.0.1:9/c", batch = 0 },
    { dest = "http://127.0.0.1:9/d", headers = { "no colon here" } },
    { dest = "http://127.0.0.1:9/e", format = "text", array = true },
    { dest = "f.jsonl", colour = true },
    { format = "asff" },
    "stdout",
  },
}
LUA
    my $r = run_kguard(args => ['check', '--rules', 'rules.d', '--config', $cfg]);
    is($r->{exit}, 1, 'check: exit 1');
    my @want = (
        qr/^kguard: \Q$cfg\E:4: outputs\[1\]\.format: unknown format 'xml' \(formats: guardduty, asff, ocsf, falco, text\)$/m,
        qr/^kguard: \Q$cfg\E:5: outputs\[2\]\.batch is for an http\(s\) dest, not \S+b\.jsonl$/m,
        qr/^kguard: \Q$cfg\E:6: outputs\[3\]\.batch must be a whole number from 1 to 1e\+06$/m,
        qr/^kguard: \Q$cfg\E:7: outputs\[4\]\.headers\[1\] is not valid: no colon here$/m,
        qr/^kguard: \Q$cfg\E:8: outputs\[5\]\.array sends JSON, and text lines are not$/m,
        qr/^kguard: \Q$cfg\E:9: unknown outputs entry field 'colour'$/m,
        qr/^kguard: \Q$cfg\E:\d+: outputs\[7\]\.dest must be a non-empty string$/m,
        qr/^kguard: \Q$cfg\E:3: outputs\[8\] must be a table$/m,
        qr/^kguard: 8 problems in \Q$cfg\E$/m,
    );
    like($r->{stderr}, $_, "reported: $_") for @want;
    for my $bad ('outputs = {}', 'outputs = "-"') {
        my $c = write_file("return { $bad }\n", 'bad-outputs-2.lua');
        $r = run_kguard(args => ['check', '--rules', 'rules.d', '--config', $c]);
        is($r->{exit}, 1, "$bad: exit 1");
        like($r->{stderr}, qr/^kguard: \Q$c\E:1: outputs must be a list of 1 to 16 tables/m, '... and why');
    }
};

subtest 'outputs in the config file: nats:SUBJECT is a subject, never a file name' => sub {
    my $dir = tempdir(CLEANUP => 1);
    my $cfg = "$dir/nats-out.lua";
    open my $fh, '>', $cfg or die "$cfg: $!";
    print {$fh} "return {\n  outputs = {\n    { dest = \"nats:findings.prod\", format = \"ocsf\" },\n  },\n}\n";
    close $fh;
    my $r = run_kguard(args => ['scan', '--rules', 'rules.d', '--config', $cfg, $EXAMPLE]);
    is($r->{exit}, 1, 'a nats: output without a NATS server to publish to: exit 1');
    like($r->{stderr}, qr/cannot open config output nats:findings\.prod: a nats: output needs --nats-url/, '... and why');
    opendir my $dh, $dir or die "$dir: $!";
    my @made = grep { !/^\.\.?$/ && $_ ne 'nats-out.lua' } readdir $dh;
    is_deeply(\@made, [], '... and no file named after the subject is created');
};

done_testing();
