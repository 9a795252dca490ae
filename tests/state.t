#!/usr/bin/env perl
# --state FILE (contract part 2, "Hashed state"): state tables (the privileged-image baseline) and
# aggregation entries are loaded at start and saved at exit with an atomic write; a corrupt or
# incompatible file gives a warning, is renamed aside (FILE.corrupt-<epoch>[.N], never overwriting)
# and kguard starts fresh. Every run is a new process: kguard scan --rules rules.d <lists>
# --cluster test-cluster --state FILE INPUT (cwd = KGUARD_ROOT).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP ();
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my $PC = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
my $A  = 'registry.example.com/tools/netshoot:v0.11';
my $B  = 'registry.example.com/tools/crictl:v1.29.0';
my $n  = 0;

# kubectl create of a pod with one privileged container (Request level, from the office IP).
sub pod_event {
    my ($name, $image, %o) = @_;
    my $ns = $o{ns} // 'default';
    return event_line(
        verb => 'create', resource => 'pods', namespace => $ns, name => $name, user => 'ADMIN', ip => $IP{OFFICE},
        query => 'fieldManager=kubectl-create&fieldValidation=Strict',
        received => sprintf('2024-03-12T10:%02d:%02d.%06dZ', 20 + int($n / 60), $n % 60, 1000 * ++$n),
        set => {
            level => 'Request',
            requestObject => {
                kind => 'Pod', apiVersion => 'v1',
                metadata => { name => $name, namespace => $ns, creationTimestamp => undef },
                spec => { containers => [ { name => 'dbg', image => $image, resources => {},
                                            securityContext => { privileged => JSON::PP::true } } ],
                          restartPolicy => 'Always' },
                status => {},
            },
            annotations => { 'authorization.k8s.io/decision' => 'allow',
                             'authorization.k8s.io/reason' => 'RBAC: allowed by ClusterRoleBinding "kubeadm:cluster-admins" of ClusterRole "cluster-admin" to Group "kubeadm:cluster-admins"',
                             'pod-security.kubernetes.io/enforce-policy' => 'privileged:latest' },
        });
}

sub scan {
    my ($events, %o) = @_;
    my $input = write_file(join('', map { "$_\n" } @$events));
    return run_kguard(args => [scan_args(), (defined $o{state} ? ('--state', $o{state}) : ()), @{ $o{args} // [] }, $input],
                      timeout => 60);
}

# images of the PrivilegedContainer findings of a run (one per distinct id)
sub pc_images {
    my ($r) = @_;
    return sort map { $_->{data}{resource}{kubernetesDetails}{kubernetesWorkloadDetails}{containers}[0]{image} // '?' }
           grep { ($_->{data}{type} // '') eq $PC } final_findings($r);
}

sub ran_ok {
    my ($r, $what) = @_;
    my @crash = crash_problems($r);
    ok(!@crash && defined $r->{exit} && $r->{exit} == 0, "$what: exit 0, no crash")
        or diag(join('; ', @crash) . "\n" . describe_run($r));
    is($r->{summary} && $r->{summary}{rule_errors}, 0, "$what: no rule errors") if $r->{summary};
}

# The state file is a JSON object naming its format and version; nothing but the state file (and
# aside files) is left in its directory (the atomic write's temporary file is gone).
sub state_ok {
    my ($state, $what) = @_;
    ok(-f $state, "$what: state file exists") or return;
    my $doc = eval { json_decode(read_file($state)) };
    ok(ref $doc eq 'HASH', "$what: state file is valid JSON (an object)") or return diag($@);
    is($doc->{format}, 'kguard-state', "$what: state file format is kguard-state");
    like($doc->{version} // '', qr/\A[1-9]\d*\z/, "$what: state file carries a version number");
    (my $dir = $state) =~ s{/[^/]+\z}{};
    # anything named after the state file that is neither it nor an aside file, or any *.tmp*
    my @left = grep { (index($_, $state) == 0 || m{/[^/]*\.tmp[^/]*\z})
                      && $_ ne $state && !/\.corrupt-\d+(?:\.\d+)?\z/ } glob("$dir/*"), glob("$dir/.[!.]*");
    ok(!@left, "$what: no temporary files left next to the state file") or diag("left: @left");
    return $doc;
}

sub newdir { tempdir('state-XXXXXX', DIR => tmpdir(), CLEANUP => 1) }

sub asides { my ($state) = @_; return sort grep { /\.corrupt-\d+(?:\.\d+)?\z/ } glob("$state.corrupt-*") }

# ---------------------------------------------------------------------------------------------
subtest 'the privileged-image baseline survives a restart' => sub {
    my $dir   = newdir();
    my $state = "$dir/kguard.state";

    my $r1 = scan([pod_event('dbg-a1', $A)], state => $state);
    ran_ok($r1, 'run 1');
    is_deeply([pc_images($r1)], [$A], 'run 1: image A fires PrivilegedContainer');
    my $doc = state_ok($state, 'after run 1');
    ok(index(read_file($state), $A) >= 0, 'after run 1: the state file holds image A');

    my @run2 = (pod_event('dbg-a2', $A, ns => 'staging'), pod_event('dbg-b1', $B));
    my $r2 = scan(\@run2, state => $state);
    ran_ok($r2, 'run 2');
    is_deeply([pc_images($r2)], [$B], 'run 2 (new process, same --state): image A is known, only image B fires')
        or diag(describe_run($r2));
    state_ok($state, 'after run 2');

    my $control = scan(\@run2);
    is_deeply([pc_images($control)], [sort $A, $B], 'control: the same events without --state fire for A and B');

    my $r3 = scan([pod_event('dbg-a3', $A), pod_event('dbg-b2', $B)], state => $state);
    ran_ok($r3, 'run 3');
    is_deeply([pc_images($r3)], [], 'run 3: A and B are both known now');
    is($r3->{summary}{findings}, 0, 'run 3: summary findings=0');
    state_ok($state, 'after run 3');
    is_deeply([asides($state)], [], 'no aside files for a healthy state file');
};

subtest 'a state file is written even when nothing was found' => sub {
    my $dir   = newdir();
    my $state = "$dir/empty-run.state";
    my $r = scan([], state => $state);
    ran_ok($r, 'empty input');
    state_ok($state, 'empty input');
    my $r2 = scan([pod_event('dbg-1', $A)], state => $state);
    is_deeply([pc_images($r2)], [$A], 'the empty state loads; image A fires');
};

# ---------------------------------------------------------------------------------------------
subtest 'a corrupt state file is kept aside and the baseline starts fresh' => sub {
    my $dir   = newdir();
    my $state = "$dir/kguard.state";
    my $r0 = scan([pod_event('dbg-a1', $A)], state => $state);
    is_deeply([pc_images($r0)], [$A], 'seeding run: image A fires and is saved');

    my @garbage = ("\x00\x01\x02garbage\xff\xfe{\"format\":\"kguard-state\",",
                   "{\"format\":\"kguard-state\",\"version\":1,\"tables\":[" . ("x" x 100),
                   "\xef\xbb\xbfnot json at all\n\x00");
    my %kept;
    for my $i (0 .. $#garbage) {
        my $round = 'corruption ' . ($i + 1);
        write_file_at($state, $garbage[$i]);
        my $r = scan([pod_event("dbg-a-$i", $A)], state => $state);
        ran_ok($r, "$round: the scan still runs");
        like($r->{stderr}, qr/^kguard: .*warning.*\Q$state\E/mi, "$round: stderr has a warning naming the state file")
            or diag(describe_run($r));
        is_deeply([pc_images($r)], [$A], "$round: the baseline started fresh (image A fires again)");
        my @aside = asides($state);
        is(scalar(@aside), $i + 1, "$round: " . ($i + 1) . ' aside file(s), none overwritten') or diag("aside: @aside");
        my ($new) = grep { !exists $kept{$_} } @aside;
        ok($new, "$round: a new aside file FILE.corrupt-<digits>[.N]") or next;
        like($new, qr/\A\Q$state\E\.corrupt-\d{9,}(?:\.\d+)?\z/, "$round: aside name is FILE.corrupt-<epoch>[.N]");
        ok(read_file($new) eq $garbage[$i], "$round: the aside file holds the original bytes");
        like($r->{stderr}, qr/\Q$new\E/, "$round: the warning names the aside file");
        $kept{$new} = $garbage[$i];
        for my $old (sort keys %kept) {
            ok(read_file($old) eq $kept{$old}, "$round: earlier aside file $old is unchanged") if $old ne $new;
        }
        state_ok($state, $round);
        my $again = scan([pod_event("dbg-a-$i-again", $A)], state => $state);
        is_deeply([pc_images($again)], [], "$round: the fresh state was saved (image A known in the next run)");
    }
};

subtest 'aside names already taken are never overwritten' => sub {
    my $dir   = newdir();
    my $state = "$dir/kguard.state";
    my $now   = time;
    my %sentinel;
    for my $t ($now - 2 .. $now + 15) {
        for my $suffix ('', '.1', '.2') {
            my $p = "$state.corrupt-$t$suffix";
            write_file_at($p, "sentinel $t$suffix\n");
            $sentinel{$p} = "sentinel $t$suffix\n";
        }
    }
    write_file_at($state, "garbage\n");
    my $r = scan([pod_event('dbg-1', $A)], state => $state);
    ran_ok($r, 'corrupt state with taken aside names');
    my @changed = grep { !-f $_ || read_file($_) ne $sentinel{$_} } sort keys %sentinel;
    ok(!@changed, 'no existing FILE.corrupt-* file was overwritten') or diag("changed: @changed");
    my @new = grep { !exists $sentinel{$_} } asides($state);
    is(scalar(@new), 1, 'the corrupt file went to a new aside name') or diag(join("\n", describe_run($r), "new: @new"));
    ok(@new && read_file($new[0]) eq "garbage\n", 'the new aside file holds the corrupt bytes');
    state_ok($state, 'after the run');
};

subtest 'incompatible or malformed state files are treated like corrupt ones' => sub {
    # a real state file that knows image A, then altered: if kguard loaded it, A would not fire
    my $dir  = newdir();
    my $seed = "$dir/seed.state";
    scan([pod_event('dbg-seed', $A)], state => $seed);
    my $good = eval { json_decode(read_file($seed)) };
    ok(ref $good eq 'HASH' && index(read_file($seed), $A) >= 0, 'seed state file knows image A') or return;

    my %variants = (
        'version 999'            => json_encode({ %$good, version => 999 }),
        'bare version 999'       => '{"format":"kguard-state","version":999}',
        'another format'         => json_encode({ %$good, format => 'falco-state' }),
        'version as a string'    => json_encode({ %$good, version => "$good->{version}" }),
        'tables not a list'      => json_encode({ %$good, tables => 'privileged_images' }),
        'a JSON array'           => '[' . read_file($seed) . ']',
        'an empty file'          => '',
    );
    for my $what (sort keys %variants) {
        my $state = "$dir/" . ($what =~ s/\W+/-/gr) . '.state';
        write_file_at($state, $variants{$what});
        my $r = scan([pod_event('dbg-a', $A)], state => $state);
        ran_ok($r, "$what: the scan runs");
        like($r->{stderr}, qr/warning.*\Q$state\E/i, "$what: warning naming the file") or diag(describe_run($r));
        is_deeply([pc_images($r)], [$A], "$what: the baseline starts fresh (image A fires)");
        my @aside = asides($state);
        is(scalar(@aside), 1, "$what: the file was kept aside") or next;
        ok(read_file($aside[0]) eq $variants{$what}, "$what: the aside file holds the original bytes");
        my $doc = state_ok($state, $what);
        is($doc->{version}, $good->{version}, "$what: the new state file has the current version") if $doc;
    }
};

# ---------------------------------------------------------------------------------------------
subtest 'an unusable state path is refused clearly' => sub {
    my $dir = newdir();

    my $missing = "$dir/no-such-dir/sub/kguard.state";
    my $r = scan([pod_event('dbg-1', $A)], state => $missing);
    ok(!crash_problems($r, no_summary => 1), 'missing directory: no crash') or diag(describe_run($r));
    isnt($r->{exit} // 0, 0, 'missing directory: exit is not 0');
    is($r->{exit}, 1, 'missing directory: exit 1 (runtime error, not usage)');
    like($r->{stderr}, qr/\Q$missing\E/, 'missing directory: the message names the state path');
    is($r->{stdout}, '', 'missing directory: nothing is scanned (no findings printed)');
    ok(!-e "$dir/no-such-dir", 'missing directory: kguard does not create it');

    my $isdir = "$dir/a-directory";
    mkdir $isdir or die "mkdir: $!";
    write_file_at("$isdir/keep", "x");
    $r = scan([pod_event('dbg-1', $A)], state => $isdir);
    my @crash = crash_problems($r, no_summary => 1);
    ok(!@crash, 'state path is a directory: no crash, no sanitizer report') or diag(join('; ', @crash) . "\n" . describe_run($r));
    isnt($r->{exit} // 0, 0, 'state path is a directory: exit is not 0');
    like($r->{stderr}, qr/\Q$isdir\E/, 'state path is a directory: the message names it');
    ok(-d $isdir && -f "$isdir/keep", 'state path is a directory: the directory is left alone');
    is_deeply([glob("$isdir.corrupt-*")], [], 'state path is a directory: it is not moved aside');
    # (an earlier build sized the "file" with fseek/ftell and reported ENOMEM, or aborted under ASan)
    unlike($r->{stderr}, qr/Cannot allocate memory/i, 'state path is a directory: the reason is not "out of memory"');
    like($r->{stderr}, qr/directory/i, 'state path is a directory: the message says it is a directory');

    # an empty FILE is a bad option value: refuse it before scanning, as an unusable path is refused
    $r = scan([pod_event('dbg-1', $A)], state => '');
    ok(!crash_problems($r, no_summary => 1), 'empty --state: no crash') or diag(describe_run($r));
    isnt($r->{exit} // 0, 0, 'empty --state: exit is not 0');
    is($r->{stdout}, '', 'empty --state: refused before scanning (no findings printed)') or diag(describe_run($r));

  SKIP: {
        skip 'running as root: permission bits do not stop root', 4 if $> == 0;
        my $ro = "$dir/read-only";
        mkdir $ro or die "mkdir: $!";
        chmod 0555, $ro;
        my $st = "$ro/kguard.state";
        $r = scan([pod_event('dbg-1', $A)], state => $st);
        isnt($r->{exit} // 0, 0, 'read-only directory: exit is not 0');
        like($r->{stderr}, qr/\Q$st\E/, 'read-only directory: the message names the state path');
        is($r->{stdout}, '', 'read-only directory: nothing is scanned');
        ok(!-e $st, 'read-only directory: no state file');
        chmod 0755, $ro;
    }
};

done_testing();

# write bytes to an absolute path (write_file() writes inside the test's temp dir by name)
sub write_file_at {
    my ($path, $content) = @_;
    open my $fh, '>:raw', $path or die "write $path: $!";
    print {$fh} $content;
    close $fh or die "close $path: $!";
}
