#!/usr/bin/env perl
# kguard run (issue 4, "Inputs" and "Outputs and lifecycle"), end to end with a live process:
#   - stdin as a stream when no input is named: findings are printed while the input is still
#     open, exit 0 at end of input;
#   - --output FILE: appended, flushed per finding (read while kguard runs), reopened on SIGUSR1
#     after logrotate renamed it;
#   - SIGTERM / SIGINT: graceful stop — pending aggregation updates printed, --state saved, exit 0;
#   - --follow FILE: starts at the end (existing lines are not judged) unless --from-start; a file
#     that appears later is read from its start; rotation by rename + new file (also with the writer
#     still appending to the renamed file), and copytruncate: no event lost or judged twice.
# Every event carries a unique auditID and stage ResponseComplete, so "judged" in the summary is the
# number of distinct events kguard read. Tor events give one finding line each with
# --publish-interval 0, which lets the test see progress while kguard runs.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Time::HiRes qw(time sleep);
use Test::More;
use KGTest qw(:all);
use KGRun qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $SLOW = slow();   # ASan/UBSan build: 3 (longer waits)
my @LISTS = ('--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
             '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt");
my $TOR_TYPE = 'Discovery:Kubernetes/TorIPCaller';

# ---- a kguard process: tests/lib/KGRun.pm ---------------------------------------------------
# start_kguard(args => [...], stdin => 'pipe' | FILE | undef); finish($k) closes stdin and waits,
# finish($k, signal => NAME) sends NAME instead (a stdin pipe stays open until kguard has exited).

# ---- events ---------------------------------------------------------------------------------

my $seq = 0;
# A kubectl list of pods from a Tor exit: one Discovery:Kubernetes/TorIPCaller finding.
sub tor_event {
    my (%o) = @_;
    $seq++;
    return event_line(verb => 'list', resource => 'pods', ip => $IP{TOR},
                      ua => $o{ua} // "run-t/$seq", auditID => $o{id} // uuid(),
                      received => sprintf('2024-03-12T10:%02d:%02d.%06dZ', int($seq / 60) % 60, $seq % 60, $seq % 1000000),
                      %{ $o{ev} // {} });
}
# A routine request from the office (no finding).
sub quiet_event {
    $seq++;
    return event_line(verb => 'get', resource => 'configmaps', name => "cm-$seq", ip => $IP{OFFICE},
                      user => 'SA', ua => "run-t/$seq", auditID => uuid());
}
sub id_of { my ($line) = @_; return json_decode($line)->{auditID} }

sub append {
    my ($path, @lines) = @_;
    open my $fh, '>>:raw', $path or die "$path: $!";
    print {$fh} map { "$_\n" } @lines;
    close $fh or die "$path: $!";
}

# ---- stdin --------------------------------------------------------------------------------------

subtest 'stdin is a stream: findings while input is open, exit 0 at end of input' => sub {
    my $k = start_kguard(args => ['run', @LISTS, '--publish-interval', '0'], stdin => 'pipe');
    my @first = map { tor_event() } 1 .. 5;
    print { $k->{in} } map { "$_\n" } @first, quiet_event();
    ok(wait_until(10, sub { lines_of($k->{out}) >= 5 }), 'the first five findings are printed while stdin is still open')
        or diag(stderr_of($k));
    ok(alive($k), 'kguard keeps running while stdin is open');
    is_deeply([sort keys %{ audit_ids(lines_of($k->{out})) }], [sort map { id_of($_) } @first],
              'they are the findings of the events written so far');
    my @second = map { tor_event() } 1 .. 4;
    my $last = tor_event();
    print { $k->{in} } map { "$_\n" } @second;
    print { $k->{in} } $last;      # no newline before end of input: still an event
    my $r = finish($k);            # closes stdin
    clean_exit($r, 'end of stdin');
    is($r->{summary}{events}, 11, 'summary: events=11');
    is($r->{summary}{judged}, 11, 'summary: judged=11 (the unterminated last line too)');
    is_deeply([sort keys %{ audit_ids(map { $_->{data} // {} } @{ $r->{findings} }) }],
              [sort map { id_of($_) } @first, @second, $last], 'one finding line per Tor event, no other');
};

# ---- --output, SIGUSR1 ----------------------------------------------------------------------------

subtest '--output FILE: appended, flushed per finding, reopened on SIGUSR1' => sub {
    my $dir = tempdir('out-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $out = "$dir/findings.jsonl";

    # a first run leaves one finding in the file; the second run appends to it
    my $e0 = tor_event();
    my $r0 = run_kguard(args => ['run', @LISTS, '--output', $out], stdin => "$e0\n", timeout => 30 * $SLOW);
    clean_exit($r0, 'first run');
    is($r0->{stdout}, '', 'with --output nothing goes to stdout');
    my @before = lines_of($out);
    is(scalar(@before), 1, 'the first run wrote one finding to the file');

    my $k = start_kguard(args => ['run', @LISTS, '--publish-interval', '0', '--output', $out], stdin => 'pipe');
    my $e1 = tor_event();
    print { $k->{in} } "$e1\n";
    ok(wait_until(10, sub { audit_ids(lines_of($out))->{ id_of($e1) } }),
       'a finding is in the file while kguard runs (flushed per finding)') or diag(stderr_of($k));
    ok(alive($k), 'kguard is still running');
    is((lines_of($out))[0]{kguard}{auditID}, id_of($e0), 'the earlier content is kept (append)');

    # logrotate: rename, then SIGUSR1 (postrotate)
    rename $out, "$out.1" or die "rename: $!";
    my $e2 = tor_event();
    print { $k->{in} } "$e2\n";
    ok(wait_until(10, sub { audit_ids(lines_of("$out.1"))->{ id_of($e2) } }),
       'before SIGUSR1 findings still go to the renamed file');
    kill 'USR1', $k->{pid};
    ok(wait_until(10, sub { stderr_of($k) =~ /reopened \Q$out\E/ }), 'SIGUSR1: "reopened FILE" on stderr')
        or diag(stderr_of($k));
    ok(-f $out, 'the file is created again at its path');
    my $e3 = tor_event();
    print { $k->{in} } "$e3\n";
    ok(wait_until(10, sub { audit_ids(lines_of($out))->{ id_of($e3) } }),
       'after SIGUSR1 findings go to the new file');
    my $r = finish($k);
    clean_exit($r, 'run with --output');
    is_deeply([sort keys %{ audit_ids(lines_of($out)) }], [id_of($e3)], 'the new file holds only the finding after the reopen');
    is_deeply([sort keys %{ audit_ids(lines_of("$out.1")) }], [sort map { id_of($_) } $e0, $e1, $e2],
              'the rotated file holds everything before it, nothing lost or doubled');
    is($r->{summary}{judged}, 3, 'summary: judged=3');
};

# ---- SIGTERM, SIGINT -----------------------------------------------------------------------------

# kubectl create of a pod with a privileged container (Request level): a PrivilegedContainer
# finding, and its image goes into the state table privileged_images.
my $IMAGE = 'registry.example.com/tools/netshoot:v0.11';
sub privileged_pod {
    my ($name) = @_;
    return event_line(verb => 'create', resource => 'pods', namespace => 'default', name => $name, ip => $IP{OFFICE},
        query => 'fieldManager=kubectl-create', auditID => uuid(),
        set => { level => 'Request',
                 requestObject => { kind => 'Pod', apiVersion => 'v1',
                                    metadata => { name => $name, namespace => 'default' },
                                    spec => { containers => [ { name => 'dbg', image => $IMAGE,
                                              securityContext => { privileged => JSON::PP::true } } ] } } });
}

subtest 'SIGTERM: pending updates printed, state saved, exit 0' => sub {
    my $dir = tempdir('term-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $state = "$dir/state.json";
    # default publishing interval (300 s): repeats of a finding wait for the interval or the end
    my $k = start_kguard(args => ['run', @LISTS, '--state', $state], stdin => 'pipe');
    my @tor = map { tor_event() } 1 .. 3;
    print { $k->{in} } map { "$_\n" } $tor[0], privileged_pod('dbg-1'), @tor[1, 2];
    ok(wait_until(10, sub { lines_of($k->{out}) >= 2 }), 'two new findings printed at once') or diag(stderr_of($k));
    sleep 0.3;
    my @now = lines_of($k->{out});
    is(scalar(@now), 2, 'the Tor repeats are pending (not printed yet)');
    ok(!-e $state, 'no state file before the stop (saved every minute and at exit)');
    my $r = finish($k, signal => 'TERM');   # stdin still open: the stop comes from the signal
    clean_exit($r, 'SIGTERM');
    my @lines = map { $_->{data} // {} } @{ $r->{findings} };
    my @tor_lines = grep { ($_->{type} // '') eq $TOR_TYPE } @lines;
    is(scalar(@tor_lines), 2, 'the pending update of the Tor finding was printed at the stop');
    is($tor_lines[-1]{service}{count}, 3, 'the update carries count 3');
    is($tor_lines[-1]{kguard}{auditID}, id_of($tor[2]), 'and the latest occurrence');
    is($r->{summary}{judged}, 4, 'summary: judged=4');
    ok(-f $state, 'state file written at the stop') or return;
    my $doc = eval { json_decode(read_file($state)) };
    ok(ref $doc eq 'HASH' && ($doc->{format} // '') eq 'kguard-state', 'state file is valid JSON, format kguard-state')
        or return diag($@ || read_file($state));
    my ($t) = grep { ($_->{name} // '') eq 'privileged_images' } @{ $doc->{tables} // [] };
    ok($t && grep({ ref $_ eq 'ARRAY' && ($_->[0] // '') eq $IMAGE } @{ $t->{entries} // [] }),
       'the privileged-image baseline holds the image') or diag(json_encode($doc->{tables}));
    my %ids = map { ($_->{id} // '') => $_ } @{ $doc->{findings} // [] };
    is(scalar(grep { $ids{ $_->{id} } } @lines), scalar(@lines), 'the aggregation entries of both findings are saved');
    is($ids{ $tor_lines[0]{id} }{count}, 3, 'with the Tor finding\'s count');

    # the baseline survives: the same image again after a restart is not new
    my $k2 = start_kguard(args => ['run', @LISTS, '--state', $state], stdin => 'pipe');
    my $marker = tor_event(ev => { user => "EKS" });   # a new finding id (the Tor one is in the state)
    print { $k2->{in} } privileged_pod('dbg-2') . "\n$marker\n";
    ok(wait_until(10, sub { audit_ids(lines_of($k2->{out}))->{ id_of($marker) } }), 'restarted with the state file');
    my $r2 = finish($k2, signal => 'INT');
    clean_exit($r2, 'SIGINT');
    is($r2->{summary}{judged}, 2, 'SIGINT: judged=2');
    ok(!grep({ ($_->{data}{type} // '') =~ /PrivilegedContainer/ } @{ $r2->{findings} }),
       'the saved baseline was loaded: the known image gives no new finding');
};

# ---- --follow -------------------------------------------------------------------------------------

# kguard prints "listening on" only after every --follow file was opened, so --listen on a free
# port tells the test when following has started (and where "the end" was).
sub start_follow {
    my ($path, @extra) = @_;
    my $k = start_kguard(args => ['run', @LISTS, '--publish-interval', '0', '--follow', $path,
                                  '--listen', '127.0.0.1:0', @extra]);
    ok(wait_until(10, sub { stderr_of($k) =~ /listening on 127\.0\.0\.1 port \d+/ }), 'kguard is following')
        or diag(stderr_of($k));
    return $k;
}

subtest '--follow starts at the end; --from-start reads what is there' => sub {
    my $dir = tempdir('fol-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    for my $from_start (0, 1) {
        my $log = "$dir/audit-$from_start.log";
        my @old = map { tor_event() } 1 .. 3;
        my $half = tor_event();
        my $cut = int(length($half) / 2);
        open my $fh, '>:raw', $log or die;
        print {$fh} map { "$_\n" } @old;
        print {$fh} substr($half, 0, $cut);   # a line being written as following starts
        close $fh;
        my $k = start_follow($log, $from_start ? '--from-start' : ());
        open $fh, '>>:raw', $log or die;
        $fh->autoflush(1);
        print {$fh} substr($half, $cut) . "\n";
        my @new = map { tor_event() } 1 .. 4;
        print {$fh} map { "$_\n" } @new;
        close $fh;
        my @want = $from_start ? (@old, $half, @new) : ($half, @new);
        my $what = $from_start ? '--from-start' : 'default';
        ok(wait_until(10, sub { lines_of($k->{out}) >= @want }), "$what: findings of the lines read")
            or diag(stderr_of($k));
        my $r = finish($k, signal => 'TERM');
        clean_exit($r, $what);
        is($r->{summary}{judged}, scalar(@want), "$what: judged=" . scalar(@want));
        is_deeply([sort keys %{ audit_ids(map { $_->{data} // {} } @{ $r->{findings} }) }], [sort map { id_of($_) } @want],
                  $from_start ? "$what: the existing lines are judged too" : "$what: the existing lines are not judged; the line being written is, whole");
    }
};

subtest '--follow a file that does not exist yet' => sub {
    my $dir = tempdir('late-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $log = "$dir/audit.log";
    my $k = start_follow($log);
    ok(wait_until(5, sub { stderr_of($k) =~ /\Q$log\E:\d+: missing/ }), 'reported as missing');
    my @ev = map { tor_event() } 1 .. 5;
    append($log, @ev);
    ok(wait_until(10, sub { lines_of($k->{out}) >= 5 }), 'a file that appears is read from its start');
    my $r = finish($k, signal => 'TERM');
    clean_exit($r, 'late file');
    is($r->{summary}{judged}, 5, 'judged=5');
};

subtest '--follow across rotation (rename + new file): nothing lost or doubled' => sub {
    my $dir = tempdir('rot-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $log = "$dir/audit.log";
    append($log, map { tor_event() } 1 .. 10);          # before the start: not judged
    my $k = start_follow($log);
    my (@sent, @tor);
    my $write = sub {
        my ($fh, $n) = @_;
        for (1 .. $n) {
            my $l = ($#sent % 4 == 0) ? tor_event() : quiet_event();
            push @tor, $l if $l =~ /\Q$IP{TOR}\E/;
            push @sent, $l;
            print {$fh} "$l\n";
        }
    };
    open my $w, '>>:raw', $log or die;
    $w->autoflush(1);
    $write->($w, 200);
    rename $log, "$log.1" or die;                        # rotation 1: the writer has not switched yet
    $write->($w, 50);                                    # ... and still appends to the renamed file
    close $w;
    open $w, '>>:raw', $log or die;                      # the new file
    $w->autoflush(1);
    $write->($w, 150);
    ok(wait_until(10, sub { stderr_of($k) =~ /\Q$log\E:\d+: rotated/ }), 'kguard noted the rotation')
        or diag(stderr_of($k));
    ok(wait_until(10, sub { lines_of($k->{out}) >= @tor }), 'findings of every Tor event so far');
    close $w;
    rename $log, "$log.2" or die;                        # rotation 2: rename, then a new file
    open $w, '>>:raw', $log or die;
    $w->autoflush(1);
    $write->($w, 100);
    close $w;
    ok(wait_until(10, sub { lines_of($k->{out}) >= @tor }), 'findings after the second rotation');
    my $r = finish($k, signal => 'TERM');
    clean_exit($r, 'rotation');
    is($r->{summary}{events}, scalar(@sent), 'events read == events written (' . scalar(@sent) . ')');
    is($r->{summary}{judged}, scalar(@sent), 'judged == events written');
    my $ids = audit_ids(map { $_->{data} // {} } @{ $r->{findings} });
    is_deeply([sort keys %$ids], [sort map { id_of($_) } @tor], 'one finding line per Tor event written after the start');
    ok(!grep({ $_ > 1 } values %$ids), 'no event judged twice');
};

subtest '--follow across copytruncate: nothing lost or doubled' => sub {
    my $dir = tempdir('trunc-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $log = "$dir/audit.log";
    open my $touch, '>', $log or die;
    close $touch;
    my $k = start_follow($log);
    open my $w, '>>:raw', $log or die;                   # O_APPEND, as a log writer has
    $w->autoflush(1);
    my @first = map { tor_event() } 1 .. 60;
    print {$w} map { "$_\n" } @first;
    ok(wait_until(10, sub { lines_of($k->{out}) >= @first }), 'the first lines are judged') or diag(stderr_of($k));
    # logrotate copytruncate: copy, then truncate in place; the writer goes on writing
    open my $copy, '>:raw', "$log.1" or die;
    print {$copy} read_file($log);
    close $copy;
    truncate $log, 0 or die "truncate: $!";
    ok(wait_until(10, sub { stderr_of($k) =~ /\Q$log\E:\d+: truncated/ }), 'kguard noted the truncation')
        or diag(stderr_of($k));
    my @second = map { tor_event() } 1 .. 40;
    print {$w} map { "$_\n" } @second;
    close $w;
    ok(wait_until(10, sub { lines_of($k->{out}) >= @first + @second }), 'the lines after the truncation are judged');
    my $r = finish($k, signal => 'TERM');
    clean_exit($r, 'truncation');
    is($r->{summary}{judged}, @first + @second, 'judged == events written (' . (@first + @second) . ')');
    my $ids = audit_ids(map { $_->{data} // {} } @{ $r->{findings} });
    is_deeply([sort keys %$ids], [sort map { id_of($_) } @first, @second], 'every event once');
    ok(!grep({ $_ > 1 } values %$ids), 'no event judged twice');
};

done_testing();
