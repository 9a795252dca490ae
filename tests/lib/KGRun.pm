package KGRun;
# Helpers for driving a long-running `kguard run` from a test (core Perl modules only; builds on
# KGTest for kguard(), root(), tmpdir(), read_file(), summary_of(), crash_problems(), ...).
#
# Load it after Test::More (its END block, which kills the kguard processes still in %LIVE, must
# run before Test::More's own END).
#
#   slow()                  3 for a sanitizer build (KGUARD_SANITIZED=1 or a binary under /asan/), else 1
#   %LIVE                   pid => 1 for every process started and not reaped; killed at END
#   start_kguard(args => [...], stdin => 'pipe' | FILE | undef) -> handle
#                           { pid, out, err, in (the write end of stdin when 'pipe'), dir, args }
#   finish($k, signal => NAME, timeout => S) -> result like KGTest::run_kguard's
#   clean_exit($r, $what [, how => 'SIGTERM -> '])   one ok(): exit 0, summary printed, no crash
#   wait_until($secs, sub {...} [, poll => S])       $secs is scaled by slow()
#   slurp($path) stderr_of($k) alive($k) lines_of($path) audit_ids(@findings)
use strict;
use warnings;
use Exporter 'import';
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h setpgid);
use Time::HiRes qw(time sleep);
use KGTest qw(kguard root tmpdir read_file json_decode summary_of crash_problems describe_run);

our @EXPORT_OK = qw(%LIVE slow slurp stderr_of alive wait_until start_kguard finish clean_exit
                    lines_of audit_ids);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our %LIVE;   # pid => 1 for every process a test started and has not reaped
END { for my $pid (keys %LIVE) { kill 'KILL', $pid; waitpid($pid, 0) } }

my $SLOW;
sub slow { $SLOW //= ($ENV{KGUARD_SANITIZED} || kguard() =~ m{/asan/}) ? 3 : 1 }   # ASan/UBSan: longer waits

sub slurp { my ($p) = @_; return -e $p ? read_file($p) : '' }
sub stderr_of { slurp($_[0]{err}) }
sub alive { my ($k) = @_; return $LIVE{ $k->{pid} } && waitpid($k->{pid}, WNOHANG) == 0 }

# wait_until($seconds, sub {...}, poll => $s) -> true once the condition held, false after the
# timeout ($seconds * slow()); the condition is checked every $s seconds (default 0.02)
sub wait_until {
    my ($secs, $cond, %o) = @_;
    my $poll = $o{poll} // 0.02;
    my $end = time + $secs * slow();
    while (time < $end) { return 1 if $cond->(); sleep $poll }
    return $cond->() ? 1 : 0;
}

# start_kguard(args => [...], stdin => 'pipe' | FILE | undef) -> handle
#   { pid, out, err, in (the write end of stdin when 'pipe'), dir, args }
# kguard runs in its own process group with cwd = root(), stdin from /dev/null by default.
sub start_kguard {
    my (%o) = @_;
    my $bin = kguard();
    my $root = root();
    my $dir = tempdir('proc-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my %k = (dir => $dir, out => "$dir/stdout", err => "$dir/stderr", args => $o{args});
    my ($rd, $wr);
    if (($o{stdin} // '') eq 'pipe') { pipe($rd, $wr) or die "pipe: $!" }
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setpgid(0, 0);
        $SIG{PIPE} = 'DEFAULT';
        chdir $root or POSIX::_exit(127);
        if ($rd) { close $wr; open STDIN, '<&', $rd or POSIX::_exit(127) }
        else     { open STDIN, '<', $o{stdin} // '/dev/null' or POSIX::_exit(127) }
        open STDOUT, '>', $k{out} or POSIX::_exit(127);
        open STDERR, '>', $k{err} or POSIX::_exit(127);
        { no warnings 'exec'; exec { $bin } $bin, @{ $o{args} } }
        POSIX::_exit(127);
    }
    if ($rd) { close $rd; $wr->autoflush(1); $k{in} = $wr }
    $k{pid} = $pid;
    $LIVE{$pid} = 1;
    return \%k;
}

# Stop kguard and collect like run_kguard does: with signal => NAME send it (a stdin pipe stays
# open until kguard has exited), else close stdin and wait for kguard to end by itself.
# kguard is killed after timeout => S seconds (default 20, scaled by slow()).
sub finish {
    my ($k, %o) = @_;
    my $timeout = ($o{timeout} // 20) * slow();
    if ($o{signal}) { kill $o{signal}, $k->{pid} }       # stdin (if a pipe) stays open
    else            { close $k->{in} if $k->{in}; delete $k->{in} }
    my ($status, $timed_out, $t0) = (undef, 0, time);
    while (1) {
        my $r = waitpid($k->{pid}, WNOHANG);
        if ($r == $k->{pid}) { $status = $?; last }
        if (time - $t0 > $timeout) {
            $timed_out = 1;
            kill 'KILL', $k->{pid};
            waitpid($k->{pid}, 0);
            $status = $?;
            last;
        }
        sleep 0.02;
    }
    delete $LIVE{ $k->{pid} };
    close $k->{in} if $k->{in};
    delete $k->{in};
    my %r = (args => $k->{args}, elapsed => time - $t0, timed_out => $timed_out,
             exit => (WIFEXITED($status) ? WEXITSTATUS($status) : undef),
             signal => (WIFSIGNALED($status) ? WTERMSIG($status) : 0),
             stdout => slurp($k->{out}), stderr => slurp($k->{err}));
    $r{findings} = KGTest::parse_findings($r{stdout});
    $r{summary} = summary_of($r{stderr});
    return \%r;
}

# clean_exit($r, $what, how => $text): ok "$what: ${text}exit 0, summary printed, no crash"
sub clean_exit {
    my ($r, $what, %o) = @_;
    require Test::More;
    local $Test::Builder::Level = $Test::Builder::Level + 1;   # report the caller's line
    my @p = crash_problems($r);
    Test::More::ok(!@p && defined $r->{exit} && $r->{exit} == 0,
                   "$what: " . ($o{how} // '') . 'exit 0, summary printed, no crash')
        or Test::More::diag(join('; ', @p) . "\n" . describe_run($r));
}

# Complete JSON lines of a findings file, decoded ({} for a line that does not decode).
sub lines_of {
    my ($path) = @_;
    my $t = slurp($path);
    $t =~ s/[^\n]*\z//;    # a line still being written
    return map { my $d = eval { json_decode($_) }; ref $d eq 'HASH' ? $d : {} } grep { length } split /\n/, $t;
}

# auditID => number of findings with it
sub audit_ids { my %h; $h{ $_->{kguard}{auditID} // '' }++ for @_; delete $h{''}; return \%h }

1;
