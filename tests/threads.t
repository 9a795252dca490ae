#!/usr/bin/env perl
# --threads (src/pipeline.c): parse-and-extract workers feeding the one judging thread.  Whatever
# the number of workers and however small the bound on what is in flight, a scan gives what one
# thread gives: the same findings byte for byte (but for createdAt/updatedAt, the clock's), the
# same summary, the same malformed-record messages with the same FILE:LINE, in the same order;
# stages are paired across batches; a truncated gzip stream is judged up to where it breaks;
# `kguard run --follow` judges every line before it stops on SIGTERM.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Spec;
use IO::Compress::Gzip qw(gzip $GzipError);
use Time::HiRes qw(sleep time);
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
my $ROOT = root();
my $CORPUS = File::Spec->catdir($ROOT, '..', 'shared', 'corpus', 'audit');

sub masked { join "\n", map { $_->{raw} =~ s/"(createdAt|updatedAt)":"[^"]*"/"$1":"-"/gr } @{ $_[0]{findings} } }
# stderr without what may differ from run to run: nothing but the timing-free lines kguard writes
sub messages { join "\n", grep { !/^kguard: note: one thread/ } split /\n/, $_[0]{stderr} }

# Run the same scan with each setting; every one must equal the first (--threads 1).
sub same_as_one_thread {
    my ($label, $args, @settings) = @_;
    my $one = run_kguard(args => [ @$args[0 .. 0], '--threads', '1', @$args[1 .. $#$args] ]);
    ok(defined $one->{summary}, "$label: --threads 1 ran") or diag(describe_run($one));
    for my $s (@settings) {
        my $r = run_kguard(args => [ $args->[0], @$s, @$args[1 .. $#$args] ]);
        my $what = "$label, @$s";
        is($r->{exit}, $one->{exit}, "$what: the same exit status") or diag(describe_run($r));
        is(masked($r), masked($one), "$what: findings byte-identical");
        is(messages($r), messages($one), "$what: the same messages and summary, in the same order");
    }
    return $one;
}

my @SETTINGS = ([ '--threads', '2' ], [ '--threads', '4' ], [ '--threads', '4', '--thread-queue-bytes', '1' ]);

# ---- the shipped example ----------------------------------------------------------------------
my @EXAMPLE = qw(scan --literal-lists --tor-exits examples/tor-exits.txt --malicious-ips examples/malicious-ips.txt
                 --threat-list partner-feed=examples/partner-feed.txt --cluster demo examples/audit.log);
my $ex = same_as_one_thread('example', \@EXAMPLE, @SETTINGS, [ '--threads', '0' ]);
cmp_ok(scalar @{ $ex->{findings} }, '>=', 10, 'the example gives its findings');

# ---- the public corpus ------------------------------------------------------------------------
SKIP: {
    my @files = sort glob("$CORPUS/*.jsonl");
    skip "no corpus at $CORPUS", 1 unless @files;
    push @files, sort glob("$CORPUS/malformed/*");
    my $c = same_as_one_thread('corpus', [ scan_args(), @files ], @SETTINGS);
    cmp_ok($c->{summary}{events}, '>', 500, 'the corpus: many events');
    cmp_ok($c->{summary}{malformed}, '>', 10, 'the corpus: malformed records among them');
    like($c->{stderr}, qr{kguard: \S+\.jsonl:\d+: }, 'reported with FILE:LINE');
}

# ---- malformed lines among good ones, stages across batches -------------------------------------
my @lines;
my $n_bad = 0;
for my $i (1 .. 300) {
    my $id = uuid();
    my %o = (ip => $i % 3 ? $IP{OFFICE} : $IP{TOR}, verb => 'get', resource => 'secrets', name => "s$i");
    push @lines, event_line(%o, auditID => $id, stage => 'RequestReceived');
    if ($i % 10 == 0) {     # a watch: judged when its response started, not again at the end
        push @lines, event_line(%o, verb => 'watch', auditID => $id, stage => 'ResponseStarted');
        push @lines, event_line(%o, verb => 'watch', auditID => $id, stage => 'ResponseComplete');
        next;
    }
    push @lines, event_line(%o, auditID => $id, stage => 'ResponseComplete');
    push @lines, $lines[-1] if $i % 7 == 0;                          # delivered twice
    if ($i % 25 == 0) {
        $n_bad += 3;
        push @lines, substr(event_line(%o), 0, 150);                   # cut short
        push @lines, event_line(%o, set => { verb => 5 });             # a number for a string
        push @lines, event_line(%o, stage => 'RequestReceived', drop => ['user']);  # a skipped stage, broken
    }
}
my $stream = write_file(join("\n", @lines) . "\n", 'stream.jsonl');
my $st = same_as_one_thread('stream', [ scan_args(), $stream ], @SETTINGS,
                            [ '--threads', '3', '--thread-queue-bytes', '5000' ]);
is($st->{summary}{malformed}, $n_bad, "the stream: $n_bad malformed lines");
my @where = $st->{stderr} =~ /stream\.jsonl:(\d+): /g;
is(scalar @where, $n_bad, 'each reported once, with its line');
is_deeply(\@where, [ sort { $a <=> $b } @where ], 'in the order of the file');
is($st->{summary}{judged}, 300, 'each request judged once (watches at ResponseStarted)');

# a file of a named cluster (--cluster-file): the cluster goes with the lines to the workers
my $cf = same_as_one_thread('cluster file', [ scan_args(), '--cluster-file', "east-1=$stream" ], @SETTINGS);
like($cf->{stdout}, qr/"east-1"/, 'the findings name the cluster of the file');

# stdin, the same
my $in1 = run_kguard(args => [ scan_args(), '--threads', '1', '-' ], stdin => join("\n", @lines) . "\n");
my $in = run_kguard(args => [ scan_args(), '--threads', '4', '-' ], stdin => join("\n", @lines) . "\n");
ok(masked($in) eq masked($in1), 'stdin with 4 workers: the same findings as one thread');
is(messages($in), messages($in1), 'and the same messages and summary');
is_deeply($in->{summary}, $st->{summary}, 'the summary of the file');

# ---- a large input through tiny bounds ----------------------------------------------------------
my @big = map { event_line(ip => $_ % 5 ? $IP{OFFICE} : $IP{TOR}, verb => 'list', resource => 'pods') } 1 .. 20000;
my $bigf = write_file(join("\n", @big) . "\n", 'big.jsonl');
my $t0 = time;
my $tiny = run_kguard(args => [ scan_args(), '--threads', '3', '--thread-queue-bytes', '1', $bigf ], timeout => 120);
is($tiny->{exit}, 0, 'one line in flight at a time, 3 workers: completes') or diag(describe_run($tiny));
is($tiny->{summary}{events}, 20000, 'every event read');
is($tiny->{summary}{judged}, 20000, 'every event judged');
my $ref = run_kguard(args => [ scan_args(), '--threads', '1', $bigf ], timeout => 120);
is(masked($tiny), masked($ref), 'findings as one thread gives');
note(sprintf 'tiny bounds: %.1f s', time - $t0);

# ---- a truncated gzip stream: judged up to the break, then the error ---------------------------
my $gz;
gzip(\(join("\n", @lines) . "\n") => \$gz) or die $GzipError;
my $cut = write_file(substr($gz, 0, int(length($gz) * 0.6)), 'cut.jsonl.gz');
my $g1 = run_kguard(args => [ scan_args(), '--threads', '1', $cut ]);
my $g4 = run_kguard(args => [ scan_args(), '--threads', '4', $cut ]);
isnt($g1->{exit}, 0, 'a truncated gzip stream is an error');
is($g4->{exit}, $g1->{exit}, '4 workers: the same exit status');
cmp_ok($g4->{summary}{events}, '>', 100, 'the events before the break are judged');
is(masked($g4), masked($g1), 'the same findings as one thread');
is(messages($g4), messages($g1), 'the same messages (the error last but for the summary)');

# ---- the config key ---------------------------------------------------------------------------
my $cfg = write_file("return { threads = 3 }\n", 'threads.lua');
my $byc = run_kguard(args => [ scan_args(), '--config', $cfg, $stream ]);
is(masked($byc), masked($st), 'threads = 3 in the config: the same findings');
my $bad = write_file("return {\n  threads = -2,\n}\n", 'bad-threads.lua');
my $br = run_kguard(args => [ scan_args(), '--config', $bad, $stream ]);
isnt($br->{exit}, 0, 'threads = -2: refused');
like($br->{stderr}, qr/bad-threads\.lua:\d+: threads must be a whole number from 0 to 256/, 'naming file:line');
my $bo = run_kguard(args => [ scan_args(), '--threads', 'many', $stream ]);
like($bo->{stderr}, qr/--threads wants a whole number from 0 to 256/, '--threads many: refused');

# ---- run --follow: every line judged before SIGTERM ends it ------------------------------------
my $log = write_file('', 'follow.log');
my $errf = File::Spec->catfile(tmpdir(), 'follow.err');
my $outf = File::Spec->catfile(tmpdir(), 'follow.out');
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    chdir $ROOT or exit 127;
    open STDIN, '<', '/dev/null';
    open STDOUT, '>', $outf;
    open STDERR, '>', $errf;
    exec $BIN, 'run', std_list_args(), '--cluster', 'test-cluster', '--publish-interval', '0',
        '--threads', '2', '--follow', $log, '--from-start';
    exit 127;
}
sleep 0.5;
open my $fh, '>>:raw', $log or die;
print {$fh} join("\n", @lines) . "\n";
close $fh;
my $until = time + 30;
my @seen;
# the last lines of the stream are malformed: once all are reported, every line was read
sleep 0.2 while time < $until && (@seen = read_file($errf) =~ /follow\.log:\d+: /g) < $n_bad;
kill 'TERM', $pid;
waitpid($pid, 0);
is($? >> 8, 0, 'run --follow --threads 2: exit 0 on SIGTERM');
my $rs = summary_of(read_file($errf));
is_deeply([ @{ $rs // {} }{qw(events judged skipped malformed)} ],
          [ @{ $st->{summary} }{qw(events judged skipped malformed)} ],
          'followed: the counts a scan gives') or diag(read_file($errf));
my @fwhere = read_file($errf) =~ /follow\.log:(\d+): /g;
is_deeply(\@fwhere, \@where, 'the same malformed lines, in order');

done_testing();
