#!/usr/bin/env perl
# Hot reload under load (issue 4, "Hot reload" and "Tests"): kguard run judges a continuous stream
# through the audit webhook AND a followed log file at once (tens of thousands of events: realistic
# control-plane traffic from templates, unique auditIDs, stage ResponseComplete, some from a Tor exit)
# while this test performs 50+ reloads on a copy of rules.d, lualib and the Tor list in a temp dir:
#   - severity changes of Discovery:Kubernetes/TorIPCaller (severity = "High" <-> 7 <-> ...), written
#     in place or renamed into place;
#   - a rule file added and removed;
#   - a broken rule file installed (syntax error), then fixed, then removed;
#   - a bad severity in the running rule file, fixed by the next change;
#   - a Tor list change (a new exit address);
#   - SIGHUP (a forced reload).
# After each change the test waits for the "kguard: reload" line on stderr, then sends probe events
# (through the webhook and through the file) and checks at the end that their findings follow the
# rules that were running: the new severity, the added rule's type while it exists and never after,
# nothing from a rule that failed to load, the new Tor address after the list change. A broken file
# must be reported as FILE:LINE while detection goes on.
# At the end (SIGTERM): judged == events sent, no rule errors, reloads and failures counted, every Tor
# event of the stream gave its finding, and the severities in output order only ever move forward
# through the sequence of severities that were configured (no old generation after a swap).
# The followed file is rotated (rename + new file) by its writer during the run too.
#
# Scale: KGUARD_RELOAD_EVENTS (events per input, default 20000; 8000 for a sanitizer build:
# KGUARD_SANITIZED=1 or a binary under build/asan/) and KGUARD_RELOAD_CYCLES (10 reloads each,
# default 6). Only 127.0.0.1; every wait has a timeout.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h setpgid strftime);
use Time::HiRes qw(time sleep);
use Test::More;
use KGTest qw(:all);
use KGRun qw(%LIVE slurp);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $SANITIZED = ($ENV{KGUARD_SANITIZED} || $BIN =~ m{/asan/}) ? 1 : 0;
my $SLOW = $SANITIZED ? 3 : 1;
my $N = $ENV{KGUARD_RELOAD_EVENTS} // ($SANITIZED ? 8000 : 20000);   # per input
my $CYCLES = $ENV{KGUARD_RELOAD_CYCLES} // 6;                        # 10 reloads per cycle
my $PACE_S = 30;                         # the streams spread $N events over about this long
my $BATCH = 100;                         # events per webhook POST / per file write
my $ROTATE_EVERY = 5000;                 # lines of the followed file between rotations
my $TOR_EVERY = 25;                      # one stream event in 25 comes from a Tor exit
$SIG{PIPE} = 'IGNORE';

my $TOR_TYPE = 'Discovery:Kubernetes/TorIPCaller';
my $ADDED_TYPE = 'Discovery:Kubernetes/ReloadTestAdded';   # severity 3
my $FIXED_TYPE = 'Discovery:Kubernetes/ReloadTestFixed';   # severity 4
my $T0 = time;

# ---- the rule set under test: a copy ----------------------------------------------------------

# A short path: Lua shortens chunk names over 60 characters ("...tail:LINE:") in its messages.
my $dir = tempdir('kgr-XXXXXX', TMPDIR => 1, CLEANUP => 1);
sub copy_tree {
    my ($from, $to) = @_;
    mkdir $to or die "mkdir $to: $!";
    opendir my $dh, $from or die "$from: $!";
    for my $e (grep { !/^\./ } readdir $dh) {
        if (-d "$from/$e") { copy_tree("$from/$e", "$to/$e") }
        else { copy("$from/$e", "$to/$e") or die "copy $from/$e: $!" }
    }
}
copy_tree("$ROOT/rules.d", "$dir/rules.d");
copy_tree("$ROOT/lualib", "$dir/lualib");
copy("$ROOT/tests/lists/tor-exit-addresses.txt", "$dir/tor-exits.txt") or die;
my $RULES = "$dir/rules.d";
my $TARGET = "$RULES/discovery_tor_ip_caller.lua";
my $ADDED = "$RULES/zz_reload_added.lua";
my $BROKEN = "$RULES/zz_reload_broken.lua";
my $TORLIST = "$dir/tor-exits.txt";
my $LOG = "$dir/audit.log";
my $OUT = "$dir/findings.jsonl";
my $MAILBOX = "$dir/mailbox";            # probe lines for the file writer to append
my $STOP = "$dir/stop-streams";
mkdir $MAILBOX or die;
open my $touch, '>', $LOG or die;
close $touch;
my $BASE_RULES = () = glob("$RULES/*.lua");
my $TARGET_TEXT = read_file($TARGET);
my %WORD = (High => 8, Medium => 5, Low => 2);
my ($SEV0) = $TARGET_TEXT =~ /^\s*severity\s*=\s*("\w+"|[0-9.]+)\s*,/m;
$SEV0 = defined $SEV0 ? ($SEV0 =~ /^"(\w+)"$/ ? $WORD{$1} : $SEV0 + 0) : undef;
ok(defined $SEV0, "the Tor discovery rule has a severity line (" . ($SEV0 // '?') . ')')
    or do { done_testing(); exit 1 };

# Does stderr text name FILE:LINE (LINE: a number, or undef for any) at the start of a message?
# A path Lua shortened to "...tail" counts when the tail is the end of FILE.
sub names_file_line {
    my ($err, $file, $line) = @_;
    my $l = defined $line ? $line : '\d+';
    for my $m ($err =~ /^kguard: (\S+?):$l: /mg) {
        return 1 if $m eq $file || ($m =~ /^\.\.\.(.+)/ && substr($file, -length $1) eq $1);
    }
    return 0;
}

sub put_file {         # write in place (one IN_CLOSE_WRITE)
    my ($path, $text) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print {$fh} $text;
    close $fh or die "$path: $!";
}
sub put_by_rename {    # an editor's save: write a hidden file, rename it over the old one
    my ($path, $text) = @_;
    (my $tmp = $path) =~ s{([^/]+)\z}{.$1.swp};
    put_file($tmp, $text);
    rename $tmp, $path or die "rename $tmp: $!";
}
sub extra_rule {
    my ($type, $sev) = @_;
    return <<"LUA";
-- added while kguard runs (tests/reload.t)
return {
  type = "$type",
  severity = $sev,
  title = "Pods listed from a Tor exit (reload test)",
  description = "A rule added to a running kguard.",
  remediation = "Remove the file.",
  match = { api = { "list pods" }, ip_list = "tor" },
}
LUA
}
my $BROKEN_TEXT = <<'LUA';
-- a rule file saved half-written: a syntax error on line 4
return {
  type = "Discovery:Kubernetes/ReloadTestFixed",
  severity = ,
  title = "unfinished",
}
LUA
my $BROKEN_LINE = 4;

# ---- kguard -----------------------------------------------------------------------------------

# %LIVE (tests/lib/KGRun.pm): kguard and the stream writers while they run: killed if the test ends early

my @ARGS = ('run', '--rules', $RULES, '--lualib', "$dir/lualib", '--tor-exits', $TORLIST,
            '--follow', $LOG, '--listen', '127.0.0.1:0', '--publish-interval', '0', '--output', $OUT);
my $ERR = "$dir/stderr";
my $KPID = fork // die "fork: $!";
if ($KPID == 0) {
    setpgid(0, 0);
    $SIG{PIPE} = 'DEFAULT';
    chdir $ROOT or POSIX::_exit(127);
    open STDIN, '<', '/dev/null' or POSIX::_exit(127);
    open STDOUT, '>', "$dir/stdout" or POSIX::_exit(127);
    open STDERR, '>', $ERR or POSIX::_exit(127);
    { no warnings 'exec'; exec { $BIN } $BIN, @ARGS }
    POSIX::_exit(127);
}
$LIVE{$KPID} = 1;

sub wait_until { my ($secs, $cond) = @_; return KGRun::wait_until($secs, $cond, poll => 0.01) }   # scaled by slow() (= $SLOW)
sub kguard_alive { return waitpid($KPID, WNOHANG) == 0 }

my $PORT;
wait_until(10, sub { slurp($ERR) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $PORT = $1 });
ok($PORT, "kguard runs: webhook on 127.0.0.1:" . ($PORT // '?') . ", following $LOG") or do {
    diag('kguard did not start: ' . slurp($ERR));
    done_testing();
    exit 1;
};

# stderr, read incrementally: the reload lines and the text between them
my ($err_off, @reload_lines, $err_text) = (0);
$err_text = '';
sub poll_stderr {
    open my $fh, '<:raw', $ERR or return;
    seek $fh, $err_off, 0;
    local $/;
    my $t = <$fh> // '';
    close $fh;
    $t =~ s/[^\n]*\z//;
    $err_off += length $t;
    $err_text .= $t;
    push @reload_lines, grep { /^kguard: reload / } split /\n/, $t;
}

# findings, read incrementally: auditID -> { type -> [severities] }, and the Tor type's severities
# in output order. Fields are taken with patterns (kguard writes compact JSON, keys in a fixed order;
# "type" and "severity" are the first such keys of a line, auditID is kguard's); every line is
# checked with JSON::PP at the end.
my ($out_off, %FOUND, @TOR_SEVERITIES, $n_lines) = (0);
$n_lines = 0;
sub poll_output {
    open my $fh, '<:raw', $OUT or return;
    seek $fh, $out_off, 0;
    local $/;
    my $t = <$fh> // '';
    close $fh;
    $t =~ s/[^\n]*\z//;
    $out_off += length $t;
    for my $l (split /\n/, $t) {
        $n_lines++;
        my ($type) = $l =~ /"type":"([^"]+)"/;
        my ($sev) = $l =~ /"severity":([0-9.]+)/;
        my ($id) = $l =~ /"auditID":"([^"]+)"/;
        next unless defined $type && defined $sev && defined $id;
        push @{ $FOUND{$id}{$type} }, $sev + 0;
        push @TOR_SEVERITIES, $sev + 0 if $type eq $TOR_TYPE;
    }
}

# ---- events -----------------------------------------------------------------------------------

# auditIDs: <stream tag>-0000-4000-8000-<sequence>, unique by construction
sub audit_id { my ($tag, $n) = @_; return sprintf('%08x-0000-4000-8000-%012x', $tag, $n) }
sub now_ts { my $t = time; return strftime('%Y-%m-%dT%H:%M:%S', gmtime $t) . sprintf('.%06dZ', ($t - int $t) * 1e6) }

my %NODE = (username => 'system:node:ip-10-0-1-21.eu-west-1.compute.internal', groups => ['system:nodes', 'system:authenticated']);
my %KCM = (username => 'system:kube-controller-manager', groups => ['system:authenticated']);
my %SCHED = (username => 'system:kube-scheduler', groups => ['system:authenticated']);
# Routine control-plane traffic (no finding) and the Tor event (TorIPCaller), as JSON templates.
my @QUIET = map { event_line(%$_, auditID => '@@ID@@', received => '@@TS@@', stage_ts => '@@TS@@') } (
    { verb => 'patch', resource => 'nodes', subresource => 'status', namespace => undef, name => 'ip-10-0-1-21.eu-west-1.compute.internal',
      user => \%NODE, ip => '10.0.1.21', ua => 'kubelet/v1.29.3 (linux/amd64) kubernetes/6813625', set => { level => 'Metadata' } },
    { verb => 'update', resource => 'leases', namespace => 'kube-system', name => 'kube-controller-manager', user => \%KCM, ip => '10.0.0.87',
      uri => '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/kube-controller-manager?timeout=5s',
      ua => 'kube-controller-manager/v1.29.3 (linux/amd64) kubernetes/6813625/leader-election' },
    { verb => 'get', resource => 'configmaps', namespace => 'ci', name => 'runner-config', user => 'SA', ip => $IP{INTERNAL},
      ua => 'gitlab-runner/16.9.1 (linux/amd64)' },
    { verb => 'watch', resource => 'pods', namespace => undef, user => \%SCHED, ip => '10.0.0.87',
      query => 'allowWatchBookmarks=true&resourceVersion=4417&timeout=7m37s&watch=true',
      ua => 'kube-scheduler/v1.29.3 (linux/amd64) kubernetes/6813625/scheduler' },
    { verb => 'list', resource => 'pods', namespace => 'prod', user => 'EKS', ip => $IP{OFFICE} },
    { verb => 'get', resource => 'deployments', namespace => 'prod', name => 'payments-api', user => 'EKS', ip => $IP{OFFICE} },
);
my $TOR_TEMPLATE = event_line(verb => 'list', resource => 'pods', namespace => 'prod', ip => '@@IP@@', user => 'ADMIN',
                              auditID => '@@ID@@', received => '@@TS@@', stage_ts => '@@TS@@', ua => '@@UA@@');
sub tor_line {
    my ($id, $ip, $ua) = @_;
    my $ts = now_ts();
    return $TOR_TEMPLATE =~ s/\@\@ID\@\@/$id/r =~ s/\@\@TS\@\@/$ts/gr =~ s/\@\@IP\@\@/$ip/r =~ s/\@\@UA\@\@/$ua/r;
}
# A stream's n-th event (1-based): [line, is_tor]
sub stream_event {
    my ($tag, $n, $ts) = @_;
    my $id = audit_id($tag, $n);
    return [tor_line($id, $IP{TOR}, "stream-$tag/$n"), 1] if $n % $TOR_EVERY == 0;
    return [$QUIET[$n % @QUIET] =~ s/\@\@ID\@\@/$id/r =~ s/\@\@TS\@\@/$ts/gr, 0];
}
sub event_list { return '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[' . join(',', @_) . ']}' }

# POST /k8s-audit -> HTTP status, or 'refused' / 'none'
sub post {
    my ($body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $PORT, Proto => 'tcp', Timeout => 5)
        or return 'refused';
    my $req = "POST /k8s-audit HTTP/1.1\r\nHost: 127.0.0.1:$PORT\r\nContent-Type: application/json\r\n"
            . "Content-Length: " . length($body) . "\r\nConnection: close\r\n\r\n$body";
    for (my $w = 0; $w < length $req;) {
        my $n = syswrite($s, $req, length($req) - $w, $w);
        last unless $n;
        $w += $n;
    }
    my ($resp, $end, $sel) = ('', time + 10 * $SLOW, '');
    vec($sel, fileno($s), 1) = 1;
    while (time < $end) {
        my $r = $sel;
        next unless select($r, undef, undef, 0.5);
        my $n = sysread($s, my $buf, 4096);
        last unless $n;
        $resp .= $buf;
    }
    close $s;
    return $resp =~ m{\AHTTP/1\.[01] (\d{3})} ? $1 : 'none';
}
# POST until 200, as the API server's webhook backend retries (429/503/no answer).
sub post_until_ok {
    my ($body, $status) = @_;
    for (1 .. 200) {
        my $st = post($body);
        $status->{$st}++;
        return 1 if $st eq '200';
        sleep 0.05;
    }
    return 0;
}

# ---- the streams (two child processes) --------------------------------------------------------

# Each sends at least $N events at about $N/$PACE_S per second until told to stop, then writes
# "events tor_events extra..." to its result file.
sub streamer {
    my ($tag, $result, $send) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid) { $LIVE{$pid} = 1; return $pid }
    %LIVE = ();                           # not ours to kill from here
    $SIG{PIPE} = 'IGNORE';
    my ($n, $tor, $t0) = (0, 0, time);
    my $deadline = $t0 + 150 * $SLOW;
    my $rate = $N / $PACE_S;
    while (time < $deadline) {
        my $stop = -e $STOP;
        last if $stop && $n >= $N;
        my $ts = now_ts();
        my @ev = map { stream_event($tag, $n + $_, $ts) } 1 .. $BATCH;
        $tor += grep { $_->[1] } @ev;
        $send->([map { $_->[0] } @ev]) or last;
        $n += $BATCH;
        my $due = $t0 + $n / $rate;
        while (!$stop && time < $due) {       # pace, in short naps (the file writer takes probes meanwhile)
            sleep(($due - time) < 0.05 ? $due - time : 0.05);
            $send->([]) or last;
        }
    }
    open my $fh, '>', "$result.tmp" or POSIX::_exit(1);
    print {$fh} join(' ', $n, $tor, $send->(undef)), "\n";
    close $fh;
    rename "$result.tmp", $result;
    POSIX::_exit(0);
}

my %STATUS;            # webhook answers of the stream (in its process; reported in its result)
my $hook_pid = streamer(1, "$dir/result-webhook", sub {
    my ($lines) = @_;
    return join(' ', map { "$_=$STATUS{$_}" } sort keys %STATUS) unless $lines;
    return 1 unless @$lines;
    return post_until_ok(event_list(@$lines), \%STATUS);
});

my ($fh_log, $written, $rotations, $probe_files) = (undef, 0, 0, 0);
my $file_pid = streamer(2, "$dir/result-file", sub {
    my ($lines) = @_;
    return "rotations=$rotations probes=$probe_files" unless $lines;
    my $buf = '';
    for my $p (sort glob("$MAILBOX/*.jsonl")) {     # probe lines the test dropped off
        $buf .= read_file($p);
        unlink $p;
        $probe_files++;
    }
    $buf .= join('', map { "$_\n" } @$lines);
    return 1 unless length $buf;
    if (!$fh_log) { open $fh_log, '>>:raw', $LOG or return 0 }
    for (my $w = 0; $w < length $buf;) {               # one write(2) per batch: lines stay whole
        my $n = syswrite($fh_log, $buf, length($buf) - $w, $w) or return 0;
        $w += $n;
    }
    $written += @$lines;
    if ($written >= ($rotations + 1) * $ROTATE_EVERY) {   # the writer rotates: rename, new file
        close $fh_log;
        undef $fh_log;
        rename $LOG, "$LOG.1" or return 0;
        $rotations++;
    }
    return 1;
});

# ---- the reloads --------------------------------------------------------------------------------

my @SEVERITIES = (['"High"', 8], ['7', 7], ['"Low"', 2], ['9', 9], ['3', 3], ['"Medium"', 5], ['6', 6], ['8.5', 8.5]);
my %model = (sev => $SEV0, added => 0, fixed => 0, tor => { $IP{TOR} => 1 });
my @configured = ($SEV0);   # severities of the Tor rule, in the order they were configured (and loaded)
my ($sev_i, $probe_n, @probes, @steps, %count) = (0, 0);

sub set_severity {
    my ($literal, $how) = @_;
    my $text = $TARGET_TEXT =~ s/^(\s*severity\s*=\s*)(?:"\w+"|[0-9.]+)(\s*,)/$1$literal$2/mr;
    $how eq 'rename' ? put_by_rename($TARGET, $text) : put_file($TARGET, $text);
}
sub next_severity {
    my $s = $SEVERITIES[$sev_i++ % @SEVERITIES];
    $s = $SEVERITIES[$sev_i++ % @SEVERITIES] if $s->[1] == $model{sev};
    return $s;
}
sub expected_for {
    my ($ip) = @_;
    return {} unless $model{tor}{$ip};
    return { $TOR_TYPE => $model{sev}, ($model{added} ? ($ADDED_TYPE => 3) : ()), ($model{fixed} ? ($FIXED_TYPE => 4) : ()) };
}

# Send probes after a reload: through the webhook and through the file, a Tor event and one from
# the address the list step adds in this cycle (on no list before that step); wait for the Tor
# events' findings, which means all four were judged by the generation now running.
sub probe {
    my ($step, $cycle) = @_;
    my $new_ip = "185.220.102." . (20 + $cycle);
    my @via;
    for my $via ('webhook', 'file') {
        my @batch;
        for my $ip ($new_ip, $IP{TOR}) {
            my $id = audit_id(3, ++$probe_n);
            push @batch, tor_line($id, $ip, "probe/$step/$via");
            push @probes, { id => $id, step => $step, via => $via, ip => $ip, want => expected_for($ip) };
        }
        if ($via eq 'webhook') {
            my %st;
            post_until_ok(event_list(@batch), \%st) or return "webhook probe not accepted: " . json_encode(\%st);
        } else {
            put_file("$MAILBOX/.probe", join('', map { "$_\n" } @batch));
            rename "$MAILBOX/.probe", sprintf("$MAILBOX/probe-%05d.jsonl", $probe_n) or die;
        }
        push @via, $probes[-1]{id};
    }
    my $ok = wait_until(15, sub { poll_output(); !grep { !$FOUND{$_}{$TOR_TYPE} } @via });
    return $ok ? undef : "no finding for the probes of step $step (" . join(', ', @via) . ')';
}

# One change: do it, wait for its reload line, check it, update the model, probe.
sub step {
    my ($name, $cycle, $expect_ok, $change, $after, %o) = @_;
    my $step = @steps + 1;
    poll_stderr();
    my ($n_before, $err_before) = (scalar(@reload_lines), length $err_text);
    $change->();
    my $want_rules = $BASE_RULES + ($model{added_next} // $model{added}) + ($model{fixed_next} // $model{fixed});
    delete @model{qw(added_next fixed_next)};
    my %s = (step => $step, name => $name, ok => 0, expect_ok => $expect_ok);
    push @steps, \%s;
    # a reload follows a change within about 0.6 s (0.3 s debounce, 0.25 s tick)
    my $seen = wait_until($o{hup_fallback} ? 3 : 5, sub { poll_stderr(); @reload_lines > $n_before });
    if (!$seen && $o{hup_fallback}) {
        # the change was not noticed: force the reload so that the following steps stay in step
        $s{why} = sprintf('no reload within %d s of the change (it took a SIGHUP)', 3 * $SLOW);
        kill 'HUP', $KPID;
        $seen = wait_until(5, sub { poll_stderr(); @reload_lines > $n_before });
    }
    my $line = $s{line} = $reload_lines[$n_before] // '(none)';
    if (!$seen) { $s{why} = sprintf('no reload line within %d s', 5 * $SLOW); return \%s }
    my $new_err = substr($err_text, $err_before);
    if ($expect_ok) {
        if ($line !~ /^kguard: reload \([\w ]+\): ok, (\d+) rules; (\d+) reloads, (\d+) failed$/) { $s{why} = 'not "ok"'; return \%s }
        $s{counts} = [$2, $3];
        if ($1 != $want_rules) { $s{why} = "$1 rules, expected $want_rules"; return \%s }
        $count{ok}++;
    } else {
        if ($line !~ /^kguard: reload \([\w ]+\) failed: .*the running rules stay \((\d+) reloads, (\d+) failed\)$/) { $s{why} = 'not "failed"'; return \%s }
        $s{counts} = [$1, $2];
        $count{failed}++;
    }
    $after->(\%s, $new_err) if $after;
    if (my $why = probe($step, $cycle)) { $s{why} = $why; return \%s }
    $s{probed} = 1;
    $s{ok} = 1 unless $s{why};
    return \%s;
}

my $FAILED = 0;   # marker for step(): a reload expected to fail
my $list_unwatched = 0;
my $deadline = time + 100 * $SLOW;
for my $cycle (1 .. $CYCLES) {
    last if time > $deadline || !kguard_alive();
    my $sev = next_severity();
    step("cycle $cycle: severity $sev->[0] (written in place)", $cycle, 1,
         sub { set_severity($sev->[0], 'in place') },
         sub { $model{sev} = $sev->[1]; push @configured, $sev->[1] });
    step("cycle $cycle: add a rule file", $cycle, 1,
         sub { $model{added_next} = 1; put_by_rename($ADDED, extra_rule($ADDED_TYPE, 3)) },
         sub { $model{added} = 1 });
    $sev = next_severity();
    step("cycle $cycle: severity $sev->[0] (renamed into place)", $cycle, 1,
         sub { set_severity($sev->[0], 'rename') },
         sub { $model{sev} = $sev->[1]; push @configured, $sev->[1] });
    step("cycle $cycle: remove the added rule file", $cycle, 1,
         sub { $model{added_next} = 0; unlink $ADDED or die },
         sub { $model{added} = 0 });
    step("cycle $cycle: install a broken rule file", $cycle, $FAILED,
         sub { put_file($BROKEN, $BROKEN_TEXT) },
         sub { my ($s, $err) = @_;
               $s->{why} = "no $BROKEN:$BROKEN_LINE message in: $err" unless names_file_line($err, $BROKEN, $BROKEN_LINE) });
    step("cycle $cycle: fix the broken rule file", $cycle, 1,
         sub { $model{fixed_next} = 1; put_file($BROKEN, extra_rule($FIXED_TYPE, 4)) },
         sub { $model{fixed} = 1 });
    step("cycle $cycle: remove the fixed rule file", $cycle, 1,
         sub { $model{fixed_next} = 0; unlink $BROKEN or die },
         sub { $model{fixed} = 0 });
    # a list file is watched too (issue 4: "Watch rules.d/, lualib/, the list files"); if the change
    # goes unnoticed, the step fails, a SIGHUP brings the list in, and later cycles add their
    # address with a SIGHUP straight away (one timeout, not one per cycle)
    my $new_ip = "185.220.102." . (20 + $cycle);
    my $add_ip = sub { open my $fh, '>>', $TORLIST or die;
                       printf {$fh} "ExitNode %040X\nPublished 2024-03-12 09:00:00\nLastStatus 2024-03-12 10:00:00\nExitAddress %s 2024-03-12 10:00:00\n",
                           $cycle, $new_ip;
                       close $fh };
    if (!$list_unwatched) {
        my $st = step("cycle $cycle: add $new_ip to the Tor list", $cycle, 1, $add_ip,
                      sub { $model{tor}{$new_ip} = 1 }, hup_fallback => 1);
        $list_unwatched = 1 if ($st->{why} // '') =~ /SIGHUP/;
    } else {
        step("cycle $cycle: add $new_ip to the Tor list, then SIGHUP (the list is not watched)", $cycle, 1,
             sub { $add_ip->(); kill 'HUP', $KPID }, sub { $model{tor}{$new_ip} = 1 });
    }
    step("cycle $cycle: SIGHUP", $cycle, 1, sub { kill 'HUP', $KPID });
    step("cycle $cycle: a bad severity in the running rule", $cycle, $FAILED,
         sub { set_severity('"Severe"', 'in place') },
         sub { my ($s, $err) = @_;   # the line of the severity, or of the apirule call that checks it
               $s->{why} = "no $TARGET:LINE message about the severity in: $err"
                   unless names_file_line($err, $TARGET, undef) && $err =~ /severity/ });
}
{   # leave the rule valid
    my $sev = next_severity();
    step("final: severity $sev->[0]", $CYCLES, 1, sub { set_severity($sev->[0], 'in place') },
         sub { $model{sev} = $sev->[1]; push @configured, $sev->[1] });
}
my $reload_phase = time - $T0;

my @list_steps = grep { $_->{name} =~ /Tor list/ } @steps;
my @unnoticed = grep { ($_->{why} // '') =~ /took a SIGHUP/ } @list_steps;
ok(@list_steps && !@unnoticed, 'a change to the Tor list file is noticed and reloaded (no SIGHUP needed)')
    or diag(join("\n", map { "step $_->{step} ($_->{name}): $_->{why}" } @unnoticed));
$_->{ok} = 1 for grep { !$_->{ok} && $_->{why} =~ /took a SIGHUP/ && $_->{probed} } @unnoticed;
my @bad_steps = grep { !$_->{ok} } @steps;
ok(!@bad_steps, sprintf('%d changes, each followed by its reload line and probed (%.1f s)', scalar(@steps), $reload_phase))
    or diag(join("\n", map { "step $_->{step} ($_->{name}): " . ($_->{why} // '?') . "\n    stderr: $_->{line}" } @bad_steps[0 .. ($#bad_steps < 9 ? $#bad_steps : 9)]));
my $MIN_STEPS = 10 * $CYCLES < 50 ? 10 * $CYCLES : 50;   # scaled down only when KGUARD_RELOAD_CYCLES says so
cmp_ok(scalar(@steps), '>=', $MIN_STEPS, "$MIN_STEPS or more reloads were triggered");
my @count_trail = map { $_->{counts} ? "$_->{counts}[0]/$_->{counts}[1]" : '-' } @steps;
my $monotonic = 1;
for my $i (1 .. $#steps) {
    my ($a, $b) = ($steps[$i - 1]{counts}, $steps[$i]{counts});
    next unless $a && $b;
    $monotonic = 0 unless $b->[0] + $b->[1] == $a->[0] + $a->[1] + 1;
}
ok($monotonic, 'each change gave exactly one reload (the counters on the reload lines step by one)')
    or diag("reloads/failed after each step: @count_trail");

# ---- stop the streams, then kguard ------------------------------------------------------------

put_file($STOP, '');
my %result;
for ([webhook => $hook_pid], [file => $file_pid]) {
    my ($name, $pid) = @$_;
    my $done = wait_until(90, sub { waitpid($pid, WNOHANG) != 0 });
    if (!$done) { kill 'KILL', $pid; waitpid($pid, 0) }
    delete $LIVE{$pid};
    my $r = slurp("$dir/result-$name");
    my ($n, $tor, @extra) = split ' ', $r;
    $result{$name} = { n => $n // 0, tor => $tor // 0, extra => "@extra" };
    ok($done && defined $n, "the $name stream finished: " . ($n // '?') . " events, " . ($tor // '?') . " from Tor; @extra");
}
ok(!glob("$MAILBOX/*.jsonl"), 'every file probe was written to the log');
my $stream_time = time - $T0;
kill 'TERM', $KPID;
my $status;
my $stopped = wait_until(60, sub { my $r = waitpid($KPID, WNOHANG); $status = $? if $r == $KPID; $r == $KPID });
if (!$stopped) { kill 'KILL', $KPID; waitpid($KPID, 0); $status = $? }
delete $LIVE{$KPID};
poll_stderr();
poll_output();
my $stderr = slurp($ERR);
my $r = { args => \@ARGS, elapsed => time - $T0, timed_out => !$stopped,
          exit => (WIFEXITED($status) ? WEXITSTATUS($status) : undef), signal => (WIFSIGNALED($status) ? WTERMSIG($status) : 0),
          stdout => slurp("$dir/stdout"), stderr => $stderr, summary => summary_of($stderr) };
my @crash = crash_problems($r);
ok(!@crash && defined $r->{exit} && $r->{exit} == 0, 'SIGTERM: exit 0, summary printed, no crash or sanitizer report')
    or diag(join('; ', @crash) . "\n" . describe_run($r));
my $s = $r->{summary} // {};

# ---- what was judged --------------------------------------------------------------------------

my $sent = $result{webhook}{n} + $result{file}{n} + @probes;
note(sprintf('sent %d events (webhook %d, file %d, probes %d) in %.1f s; reload phase %.1f s',
             $sent, $result{webhook}{n}, $result{file}{n}, scalar(@probes), $stream_time, $reload_phase));
cmp_ok($result{$_}{n}, '>=', $N, "at least $N events through the $_") for qw(webhook file);
is($s->{judged}, $sent, "summary: judged == events sent ($sent)") or diag("summary: " . json_encode($s));
is(($s->{events} // 0) - ($s->{skipped} // 0), $s->{judged}, 'every event read and not a repeated stage was judged');
is($s->{malformed}, 0, 'summary: malformed=0');
is($s->{rule_errors}, 0, 'summary: rule_errors=0');
my $broken_installs = grep { !$_->{expect_ok} } @steps;
cmp_ok($s->{reload_failures} // 0, '>=', $broken_installs, "summary: reload_failures >= $broken_installs broken installs");
my $MIN_OK = 8 * $CYCLES < 40 ? 8 * $CYCLES : 40;
cmp_ok($s->{reloads} // 0, '>=', $MIN_OK, "summary: reloads >= $MIN_OK");
is($s->{reloads}, $count{ok}, "summary: reloads == the $count{ok} successful reloads seen");
like($stderr, qr/\Q$LOG\E:\d+: rotated/, 'the followed file was rotated during the run') if $result{file}{extra} =~ /rotations=[1-9]/;

# every finding line is a JSON object
my @bad_json;
for my $l (split /\n/, slurp($OUT)) {
    push @bad_json, substr($l, 0, 200) unless ref(eval { json_decode($l) }) eq 'HASH';
    last if @bad_json > 5;
}
ok(!@bad_json, "all $n_lines finding lines are JSON objects") or diag(join("\n", @bad_json));

# every Tor event of the streams gave its TorIPCaller finding, once
for my $name (qw(webhook file)) {
    my $tag = $name eq 'webhook' ? 1 : 2;
    my $prefix = sprintf('%08x-', $tag);
    my @ids = grep { index($_, $prefix) == 0 } keys %FOUND;
    my $tor = grep { $FOUND{$_}{$TOR_TYPE} } @ids;
    my $twice = grep { @{ $FOUND{$_}{$TOR_TYPE} // [] } > 1 } @ids;
    is($tor, $result{$name}{tor}, "$name stream: one TorIPCaller finding per Tor event ($result{$name}{tor})");
    is($twice, 0, "$name stream: no event gave the same finding twice");
}

# the probes: exactly the findings of the generation that was running
my @wrong;
for my $p (@probes) {
    my $got = { map { ($_ => (@{ $FOUND{ $p->{id} }{$_} } == 1 ? $FOUND{ $p->{id} }{$_}[0] : $FOUND{ $p->{id} }{$_})) }
                keys %{ $FOUND{ $p->{id} } // {} } };
    push @wrong, "step $p->{step} ($steps[$p->{step} - 1]{name}) $p->{via} probe from $p->{ip}: want "
                 . json_encode($p->{want}) . ', got ' . json_encode($got)
        unless deep_equal($got, $p->{want});
}
ok(!@wrong, scalar(@probes) . ' probes: after each reload the findings follow the new rules (severity, added and removed rules, list)')
    or diag(join("\n", @wrong[0 .. ($#wrong < 14 ? $#wrong : 14)]));

# the Tor rule's severities in output order never go back to an older generation
my @seen;
for my $v (@TOR_SEVERITIES) { push @seen, $v unless @seen && $seen[-1] == $v }
my ($i, $j) = (0, 0);
while ($i < @seen && $j < @configured) { $i++ if $seen[$i] == $configured[$j]; $j++ }
ok($i == @seen, 'the severities of ' . scalar(@TOR_SEVERITIES) . ' TorIPCaller lines follow the configured sequence')
    or diag("configured: @configured\nseen (runs collapsed): @seen");

note(sprintf('total %.1f s', time - $T0));
done_testing();
