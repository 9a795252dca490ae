#!/usr/bin/env perl
# Output faults under `kguard run --output` (issue 10, item 7): a finding line that cannot be written is
# never lost silently.  The outage is reported, the lines are kept (in memory, then in OUTPUT.spool) and
# written in order once the output takes them again (a retry every second, and on SIGUSR1); no partial
# line is ever left in the file; at the end what is still unwritten is kept in the spool file (written
# first by the next run) or counted as lost, and the exit status is 1.
#   - a FIFO whose reader dies, and a new reader later;
#   - a file-size limit (RLIMIT_FSIZE, set on the running kguard with prlimit(1): works as root in CI
#     without mounting a small filesystem), lifted later ("space returns"), or kept until the stop.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use POSIX qw(mkfifo :sys_wait_h);
use Time::HiRes qw(time sleep);
use Test::More;
use KGTest qw(:all);
use KGRun qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my @RUN = ('run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
           '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--publish-interval', '0');

my $seq = 0;
my @sent;    # auditIDs of the Tor events fed, in order
sub tor_line {      # Discovery:Kubernetes/TorIPCaller, one finding each (its own user agent)
    $seq++;
    my $e = audit_event(verb => 'list', resource => 'pods', ip => $IP{TOR}, ua => "fault-t/$seq", auditID => uuid());
    push @sent, $e->{auditID};
    return event_line($e) . "\n";
}
sub feed { my ($k, $n) = @_; print { $k->{in} } tor_line() for 1 .. $n }

# Lines of a file, each checked to be a whole JSON finding: (auditIDs, number of broken lines)
sub ids_in {
    my ($text) = @_;
    my (@ids, $broken) = ();
    $broken = 0;
    $broken++ if length $text && $text !~ /\n\z/;
    for (split /\n/, $text) {
        my $d = eval { json_decode($_) };
        if (ref $d eq 'HASH' && $d->{kguard}{auditID}) { push @ids, $d->{kguard}{auditID} } else { $broken++ }
    }
    return (\@ids, $broken);
}

# reader($fifo, $out): a child that copies the FIFO's lines to $out as they come
sub reader {
    my ($fifo, $out) = @_;
    my $pid = fork // die "fork: $!";
    return $pid if $pid;
    open my $in, '<', $fifo or POSIX::_exit(1);
    open my $o, '>>', $out or POSIX::_exit(1);
    $o->autoflush(1);
    while (my $l = <$in>) { print {$o} $l }
    POSIX::_exit(0);
}
sub stop_reader { my ($pid) = @_; kill 'KILL', $pid; waitpid($pid, 0) }

subtest 'a FIFO whose reader dies: lines kept, written to the next reader, spooled at the stop' => sub {
    my $dir = tempdir('fifo-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $fifo = "$dir/findings.fifo";
    mkfifo($fifo, 0600) or return fail("mkfifo: $!");
    my $r1 = reader($fifo, "$dir/got1");
    my $k = start_kguard(args => [@RUN, '--output', $fifo], stdin => 'pipe');
    feed($k, 1);
    ok(wait_until(10, sub { (ids_in(slurp("$dir/got1")))[0]->@* == 1 }), 'the first finding reaches the reader')
        or diag(stderr_of($k));
    stop_reader($r1);
    feed($k, 3);
    ok(wait_until(10, sub { stderr_of($k) =~ /output \Q$fifo\E: write failed: cannot write to \Q$fifo\E: Broken pipe; keeping finding lines in memory, then in \Q$fifo\E\.spool and retrying/ }),
       'the dead reader is reported (EPIPE), once, and the lines are kept') or diag(stderr_of($k));
    ok(alive($k), 'kguard keeps running');
    my $r2 = reader($fifo, "$dir/got2");
    ok(wait_until(10, sub { (ids_in(slurp("$dir/got2")))[0]->@* >= 3 }), 'a new reader gets the three kept lines (periodic retry)')
        or diag(stderr_of($k));
    like(stderr_of($k), qr/output \Q$fifo\E: writing again: 3 waiting finding lines written/, 'the recovery is reported with the count');
    feed($k, 1);
    ok(wait_until(10, sub { (ids_in(slurp("$dir/got2")))[0]->@* == 4 }), 'then new lines flow again');
    stop_reader($r2);
    feed($k, 2);
    ok(wait_until(10, sub { () = stderr_of($k) =~ /write failed: cannot write to \Q$fifo\E: Broken pipe/g; } ) , 'second outage reported');
    my $res = finish($k, signal => 'TERM');
    is($res->{exit}, 1, 'stopped with lines unwritten: exit 1');
    like($res->{stderr}, qr/output \Q$fifo\E: 2 finding lines not written: kept in \Q$fifo\E\.spool, written first when kguard next writes to \Q$fifo\E/,
         'the count and where they are kept');
    my ($spooled, $broken_spool) = ids_in(slurp("$fifo.spool"));
    is(scalar @$spooled, 2, 'the spool file holds the two lines');
    is($broken_spool, 0, '... whole');

    # the next run: a reader is there again; the spooled lines come first
    my $r3 = reader($fifo, "$dir/got3");
    my $k2 = start_kguard(args => [@RUN, '--output', $fifo], stdin => 'pipe');
    feed($k2, 1);
    ok(wait_until(10, sub { (ids_in(slurp("$dir/got3")))[0]->@* == 3 }), 'the next run writes the 2 spooled lines, then its own')
        or diag(stderr_of($k2));
    my $res2 = finish($k2);
    clean_exit($res2, 'next run');
    ok(!-e "$fifo.spool", 'the spool file is gone');
    stop_reader($r3);
    my (@all, $broken) = ();
    $broken = 0;
    for my $f (qw(got1 got2 got3)) { my ($ids, $b) = ids_in(slurp("$dir/$f")); push @all, @$ids; $broken += $b }
    is($broken, 0, 'no reader ever got a partial or broken line');
    is_deeply(\@all, [@sent], 'every finding reached a reader exactly once, in order');
};

subtest 'a file-size limit: no partial line, lines written when space returns; spooled when it does not' => sub {
    plan skip_all => 'prlimit(1) is needed' if system('prlimit --version >/dev/null 2>&1');
    @sent = ();
    my $dir = tempdir('fsize-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $out = "$dir/findings.jsonl";
    my $k = start_kguard(args => [@RUN, '--output', $out], stdin => 'pipe');
    ok(wait_until(10, sub { -e $out }), 'the output file is open');
    is(system('prlimit', "--pid=$k->{pid}", '--fsize=16000:unlimited'), 0, 'a 16000-byte file-size limit on the running kguard');
    feed($k, 8);
    ok(wait_until(10, sub { stderr_of($k) =~ /write failed: cannot write to \Q$out\E: File too large; keeping/ }),
       'the full file is reported (EFBIG), SIGXFSZ does not kill kguard') or diag(stderr_of($k));
    ok(wait_until(10, sub { my ($ids) = ids_in(slurp($out)); @$ids + 0 >= 5 }), 'what fits is written');
    sleep 0.3;
    my ($ids, $broken) = ids_in(slurp($out));
    is($broken, 0, 'no partial line in the file (' . length(slurp($out)) . ' bytes, ' . scalar(@$ids) . ' whole lines)');
    ok(@$ids < 8, 'not everything fits');
    is(system('prlimit', "--pid=$k->{pid}", '--fsize=unlimited'), 0, 'space returns (the limit is lifted)');
    ok(wait_until(10, sub { my ($i) = ids_in(slurp($out)); @$i == 8 }), 'the kept lines are written within the retry period')
        or diag(stderr_of($k));
    ($ids, $broken) = ids_in(slurp($out));
    is_deeply([$ids, $broken], [[@sent], 0], 'all eight, in order, whole');

    # the limit comes back and stays until the stop
    is(system('prlimit', "--pid=$k->{pid}", '--fsize=' . (-s $out) . ':unlimited'), 0, 'the file is full again');
    feed($k, 2);
    ok(wait_until(10, sub { () = stderr_of($k) =~ /File too large; keeping/g; }), 'second outage');
    my $res = finish($k, signal => 'TERM');
    is($res->{exit}, 1, 'stopped with 2 lines unwritten: exit 1');
    like($res->{stderr}, qr/2 finding lines not written: kept in \Q$out\E\.spool/, 'kept in the spool file, with the count');
    cmp_ok($res->{summary}{output_errors}, '>=', 2, 'output_errors counts the outages');
    my $r2 = run_kguard(args => [@RUN, '--output', $out], stdin => '', timeout => 30);
    is($r2->{exit}, 0, 'the next run (no limit) exits 0');
    like($r2->{stderr}, qr/writing again: 2 waiting finding lines written \(with those an earlier run left in the spool file\)/,
         '... after writing the spooled lines');
    ($ids, $broken) = ids_in(slurp($out));
    is_deeply([$ids, $broken], [[@sent], 0], 'the file has all ten findings once, in order, whole');
    ok(!-e "$out.spool", 'the spool file is gone');
};

done_testing();
