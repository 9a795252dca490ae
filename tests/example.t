#!/usr/bin/env perl
# The shipped example (examples/README.md): runs the documented command from the project root
# and checks that it prints exactly the findings the README lists.
#   KGUARD       binary under test (default ./kguard, relative to KGUARD_ROOT)
#   KGUARD_ROOT  project root (default: the parent of this file's directory)
# Core modules only.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX ();
use Test::More;

my $ROOT = $ENV{KGUARD_ROOT};
$ROOT = File::Spec->catdir(dirname(abs_path(__FILE__)), '..') unless defined $ROOT && length $ROOT;
$ROOT = abs_path($ROOT) // $ROOT;
my $BIN = $ENV{KGUARD};
$BIN = './kguard' unless defined $BIN && length $BIN;
$BIN = File::Spec->catfile($ROOT, $BIN) unless File::Spec->file_name_is_absolute($BIN);
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

# The command of examples/README.md, word for word (cwd = project root).
my @ARGS = qw(scan --literal-lists --tor-exits examples/tor-exits.txt --malicious-ips examples/malicious-ips.txt
              --threat-list partner-feed=examples/partner-feed.txt --cluster demo examples/audit.log);

# What the README says it prints: type => [severity, [username per finding]].
my $ANON   = 'system:anonymous';
my $LEGACY = 'legacy-backup';
my $SA     = 'system:serviceaccount:kube-system:backup-agent';
my $DSC    = 'system:serviceaccount:kube-system:daemon-set-controller';
my %EXPECT = (
    'Discovery:Kubernetes/SuccessfulAnonymousAccess' => [5, [$ANON, $ANON]],
    'Discovery:Kubernetes/TorIPCaller'               => [5, [$LEGACY]],
    'CredentialAccess:Kubernetes/TorIPCaller'        => [8, [$LEGACY, $LEGACY, $LEGACY]],
    'Persistence:Kubernetes/TorIPCaller'             => [5, [$LEGACY, $LEGACY]],
    'DefenseEvasion:Kubernetes/MaliciousIPCaller'    => [8, [$SA, $SA]],
    'Discovery:Kubernetes/MaliciousIPCaller.Custom'  => [5, [$SA]],
    'Persistence:Kubernetes/MaliciousIPCaller'       => [5, [$SA, $SA, $SA]],
    'PrivilegeEscalation:Kubernetes/PrivilegedContainer'      => [5, [$SA]],
    'Persistence:Kubernetes/ContainerWithSensitiveMount'      => [5, [$SA, $DSC, $DSC]],
    'Execution:Kubernetes/ExecInKubeSystemPod'                => [5, [$SA]],
    'Policy:Kubernetes/AdminAccessToDefaultServiceAccount'    => [8, [$SA]],
    'Policy:Kubernetes/AnonymousAccessGranted'                => [8, [$SA]],
    'Policy:Kubernetes/ExposedDashboard'                      => [5, [$SA]],
);
# Threat list named in service.additionalInfo, per caller kind.
my %LIST = ('TorIPCaller' => 'TorExitNodes', 'MaliciousIPCaller' => 'KnownMaliciousIPs',
            'MaliciousIPCaller.Custom' => 'partner-feed');
# The benign part of the story: none of these may appear in a finding.
my @BENIGN = (
    'system:node:ip-10-0-1-21.eu-west-1.compute.internal',
    'system:node:ip-10-0-2-37.eu-west-1.compute.internal',
    'system:kube-controller-manager',
    'system:serviceaccount:ci:deployer',
    'jane.doe',
    'sam.okafor',
);
# findings = distinct findings (ids); repeats of one finding aggregate into it and are
# printed once more at the end of the scan as update lines (same id, higher count).
my %SUMMARY = (events => 64, judged => 37, skipped => 27, malformed => 0, findings => 14,
               updates => 6, rule_errors => 0, body_missing => 0, evictions => 0);

for my $f (qw(audit.log tor-exits.txt malicious-ips.txt partner-feed.txt README.md)) {
    ok(-r "$ROOT/examples/$f", "examples/$f exists");
}

# The benign users really are in the log (so the check below is not vacuous).
{
    open my $fh, '<', "$ROOT/examples/audit.log" or BAIL_OUT("examples/audit.log: $!");
    my %seen;
    while (my $line = <$fh>) {
        my $ev = eval { JSON::PP->new->decode($line) };
        $seen{ $ev->{user}{username} }++ if ref $ev eq 'HASH' && ref $ev->{user} eq 'HASH';
    }
    ok($seen{$_}, "benign user $_ acts in the log") for @BENIGN;
}

# Run it: stdout and stderr to files, 60 s timeout.
my $tmp = tempdir('kguard-example-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my ($out, $err) = ("$tmp/stdout", "$tmp/stderr");
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    chdir $ROOT or POSIX::_exit(126);
    open STDIN, '<', '/dev/null' or POSIX::_exit(126);
    open STDOUT, '>', $out or POSIX::_exit(126);
    open STDERR, '>', $err or POSIX::_exit(126);
    exec { $BIN } $BIN, @ARGS or POSIX::_exit(127);
}
my $status;
eval {
    local $SIG{ALRM} = sub { die "timeout\n" };
    alarm 60;
    waitpid($pid, 0);
    $status = $?;
    alarm 0;
    1;
} or do { kill 'KILL', $pid; waitpid($pid, 0); fail('kguard finished within 60 s'); done_testing(); exit };

sub slurp { open my $fh, '<:raw', $_[0] or die "$_[0]: $!"; local $/; my $s = <$fh>; $s // '' }
my ($stdout, $stderr) = (slurp($out), slurp($err));

is($status & 127, 0, 'kguard was not killed by a signal');
is($status >> 8, 0, 'exit status 0') or diag($stderr);

# Every stdout line is one JSON finding.
my @findings;
my $json = JSON::PP->new->utf8;
my @lines = split /\n/, $stdout, -1;
pop @lines if @lines && $lines[-1] eq '';    # after the final newline
my $n = 0;
for my $line (@lines) {
    $n++;
    my $f = eval { $json->decode($line) };
    if (ref $f ne 'HASH') {
        fail("stdout line $n is a JSON object: " . ($@ || 'not an object'));
        next;
    }
    my $ok = ($f->{schemaVersion} // '') eq '2.0' && defined $f->{type} && !ref $f->{type}
        && defined $f->{severity} && ref $f->{resource} eq 'HASH' && ref $f->{service} eq 'HASH'
        && ref $f->{kguard} eq 'HASH';
    ok($ok, "stdout line $n is a finding") or diag($line);
    push @findings, $f if $ok;
}
ok($stdout eq '' || $stdout =~ /\n\z/, 'stdout ends with a newline');

sub username { my $f = shift; return $f->{resource}{kubernetesDetails}{kubernetesUserDetails}{username} // '' }

# Consumers keep the last line per id; its service.count says how many events it stands for.
my $lines_printed = @findings;
my (%last, @order);
for my $f (@findings) {
    push @order, $f->{id} unless $last{ $f->{id} };
    if (my $prev = $last{ $f->{id} }) {
        cmp_ok($f->{service}{count}, '>', $prev->{service}{count}, "an update of $f->{type} raises its count");
        is($f->{service}{eventFirstSeen}, $prev->{service}{eventFirstSeen}, "an update of $f->{type} keeps eventFirstSeen");
    } else {
        is($f->{service}{count}, 1, "the first line of $f->{type} has count 1");
    }
    $last{ $f->{id} } = $f;
}
@findings = map { $last{$_} } @order;
my @occurrences = map { ($_) x $_->{service}{count} } @findings;

# The exact multiset of types, and of (type, username) per event, and the severities.
my @got_types  = sort map { $_->{type} } @occurrences;
my @want_types = sort map { ($_) x @{ $EXPECT{$_}[1] } } keys %EXPECT;
is_deeply(\@got_types, \@want_types, 'finding types are exactly those of examples/README.md')
    or diag(join "\n", 'got:', @got_types);
my @got_pairs  = sort map { "$_->{type} " . username($_) } @occurrences;
my @want_pairs = sort map { my $t = $_; map { "$t $_" } @{ $EXPECT{$t}[1] } } keys %EXPECT;
is_deeply(\@got_pairs, \@want_pairs, 'each type comes from the expected caller');
for my $f (@findings) {
    my $want = $EXPECT{ $f->{type} } or next;
    is($f->{severity}, $want->[0], "severity of $f->{type}");
    is($f->{resource}{eksClusterDetails}{name}, 'demo', "cluster name of $f->{type}");
    like($f->{kguard}{source} // '', qr{^examples/audit\.log:\d+$}, "source of $f->{type}");
    my ($kind) = $f->{type} =~ m{/(.+)$};
    if (my $list = $LIST{$kind}) {
        is($f->{service}{additionalInfo}{threatListName}, $list, "threat list of $f->{type}");
    }
}

# Nothing fires on the benign part.
my %benign = map { $_ => 1 } @BENIGN;
my @bad = grep { $benign{ username($_) } } @findings;
is(scalar @bad, 0, 'no finding names a benign user')
    or diag(join "\n", map { "$_->{type} " . username($_) } @bad);

# The exec sessions (ResponseStarted + ResponseComplete) are judged once: the summary counts
# 37 judged events of 64, and no (type, auditID) is the last line of two ids.
my %dup;
$dup{"$_->{type} $_->{kguard}{auditID}"}++ for @findings;
is_deeply([grep { $dup{$_} > 1 } sort keys %dup], [], 'no (type, auditID) reported twice');

# The workload and policy findings carry what the README shows.
sub of_type { my $t = shift; return grep { $_->{type} eq $t } @findings }
sub workload { return $_[0]{resource}{kubernetesDetails}{kubernetesWorkloadDetails} }
{
    my @priv = of_type('PrivilegeEscalation:Kubernetes/PrivilegedContainer');
    is(scalar @priv, 1, 'PrivilegedContainer: one finding');
    is($priv[0]{service}{count}, 1, 'PrivilegedContainer: count 1 (the Pods with the same image stay quiet)') if @priv;
    my $w = @priv ? workload($priv[0]) : undef;
    is(ref $w eq 'HASH' ? join('/', map { $_ // '' } @$w{qw(type namespace name)}) : '',
       'daemonsets/kube-system/node-agent', 'PrivilegedContainer: the DaemonSet node-agent');
    my @c = ref $w eq 'HASH' && ref $w->{containers} eq 'ARRAY' ? @{ $w->{containers} } : ();
    ok(scalar(grep { ($_->{imagePrefix} // '') eq 'ghcr.io/evil-ops'
                     && ($_->{image} // '') eq 'ghcr.io/evil-ops/node-agent:1.4' } @c),
       'PrivilegedContainer: container image ghcr.io/evil-ops/node-agent:1.4, imagePrefix ghcr.io/evil-ops')
        or diag(JSON::PP->new->canonical->encode($w));

    my %mount = map { username($_) => $_ } of_type('Persistence:Kubernetes/ContainerWithSensitiveMount');
    my $dw = $mount{$SA} ? workload($mount{$SA}) : {};
    is(join('/', map { $_ // '' } @$dw{qw(type namespace name)}), 'daemonsets/kube-system/node-agent',
       'ContainerWithSensitiveMount: the DaemonSet, by the intruder');
    my $pw = $mount{$DSC} ? workload($mount{$DSC}) : {};
    is(join('/', map { $_ // '' } @$pw{qw(type namespace)}), 'pods/kube-system',
       'ContainerWithSensitiveMount: the Pods, by the daemonset controller');
    like($mount{$SA} ? $mount{$SA}{kguard}{detail} // '' : '', qr{host path / writable at /host},
         'ContainerWithSensitiveMount: the detail names the host path');

    my @exec = of_type('Execution:Kubernetes/ExecInKubeSystemPod');
    is(scalar @exec, 1, 'ExecInKubeSystemPod: one finding');
    is($exec[0]{service}{count}, 1, 'ExecInKubeSystemPod: count 1 (judged once)') if @exec;
    my $call = @exec ? $exec[0]{service}{action}{kubernetesApiCallAction} : {};
    is($call->{namespace}, 'kube-system', 'ExecInKubeSystemPod: namespace kube-system');
    is($call->{resourceName}, 'node-agent-7xq2d', 'ExecInKubeSystemPod: the pod');
    my $params = $call->{parameters} // '';
    my $detail = @exec ? $exec[0]{kguard}{detail} // '' : '';
    ok($detail =~ m{chroot /host sh -c id; hostname}
       || $params =~ /command=chroot&command=%2Fhost&command=sh&command=-c&command=id%3B\+hostname/,
       'ExecInKubeSystemPod: the command is visible (kguard.detail or parameters)')
        or diag("detail: $detail\nparameters: $params");

    for my $b (['Policy:Kubernetes/AdminAccessToDefaultServiceAccount', 'ClusterRoleBinding', 'prod-default-admin', 'cluster-admin'],
               ['Policy:Kubernetes/AnonymousAccessGranted', 'RoleBinding', 'metrics-reader', 'view']) {
        my ($type, $kind, $name, $role) = @$b;
        my @f = of_type($type);
        is(scalar @f, 1, "$type: one finding");
        my $d = @f ? $f[0]{service}{action}{kubernetesRoleBindingDetails} : undef;
        is(ref $d eq 'HASH' ? $d->{roleRefName} : undef, $role, "$type: roleRefName $role");
        is(ref $d eq 'HASH' ? "$d->{kind} $d->{name}" : '', "$kind $name", "$type: the $kind $name");
    }

    my @dash = of_type('Policy:Kubernetes/ExposedDashboard');
    is(@dash ? $dash[0]{service}{action}{kubernetesApiCallAction}{resourceName} : undef, 'kubernetes-dashboard',
       'ExposedDashboard: the Service kubernetes-dashboard');
}

# stderr: only the summary line, with the expected counts.
my @errlines = grep { length } split /\n/, $stderr;
my ($summary) = grep { /^kguard: summary: / } @errlines;
ok(defined $summary, 'stderr has the summary line') or diag($stderr);
is_deeply([grep { !/^kguard: summary: / } @errlines], [], 'no diagnostics on stderr');
my %got = ($summary // '') =~ /(\w+)=(\d+)/g;
is($got{$_}, $SUMMARY{$_}, "summary $_=$SUMMARY{$_}")
    for qw(events judged skipped malformed findings updates rule_errors body_missing evictions);
is($got{findings}, scalar @findings, 'summary findings = distinct ids on stdout');
is(($got{findings} // 0) + ($got{updates} // 0), $lines_printed, 'summary findings + updates = lines on stdout');

done_testing();
