package KGTest;
# Shared helpers for kguard's end-to-end tests (core Perl modules only).
#
#   KGUARD       absolute path of the binary under test (default ./kguard)
#   KGUARD_ROOT  project root (default: two levels above this file)
#
# run_kguard() runs the binary with cwd = KGUARD_ROOT, stdin from a string, a file or
# /dev/null, stdout/stderr captured to files (no pipe deadlocks on big outputs), a timeout
# (the whole process group is killed), and returns a hash:
#   exit (undef when killed by a signal), signal, timed_out, elapsed, stdout, stderr,
#   findings   [ { line => N, raw => '...', data => {...} | undef, error => '...' } ]
#   summary    { events, judged, skipped, malformed, findings, rule_errors } | undef
use strict;
use warnings;
use Exporter 'import';
use Cwd qw(abs_path getcwd);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use JSON::PP ();
use POSIX qw(:sys_wait_h setpgid);
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(
    root kguard run_kguard tmpdir write_file read_file json_encode json_decode
    summary_of top_level_keys raw_array_elements dig deep_equal std_list_args
    @TYPES %SEVERITY %TACTICS is_iso_ms crash_problems describe_run
    %IP %USER uuid audit_event event_line scan_args @ALL_TYPES final_findings occurrences
    @WORKLOAD_TYPES %SEVERITY_ALL %DETAILS_OF fixture_input run_fixture check_fixture lines_by_id
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

our @TACTICS = qw(CredentialAccess DefenseEvasion Discovery Impact Persistence);
our @KINDS   = qw(MaliciousIPCaller MaliciousIPCaller.Custom SuccessfulAnonymousAccess TorIPCaller);
our @TYPES   = map { my $t = $_; map { "$t:Kubernetes/$_" } @KINDS } @TACTICS;
our %TACTICS = map { $_ => 1 } @TACTICS;
# The 20 API-tactic types above plus the 7 workload/policy types (contract part 2).
our @ALL_TYPES = (@TYPES, qw(
    Execution:Kubernetes/ExecInKubeSystemPod Persistence:Kubernetes/ContainerWithSensitiveMount
    PrivilegeEscalation:Kubernetes/PrivilegedContainer Policy:Kubernetes/AdminAccessToDefaultServiceAccount
    Policy:Kubernetes/AnonymousAccessGranted Policy:Kubernetes/ExposedDashboard
    Policy:Kubernetes/KubeflowDashboardExposed));
# Severities from the seed (GuardDuty emits 8 for High, 5 for Medium).
our %SEVERITY;
for my $t (@TYPES) {
    my ($tactic, $kind) = $t =~ m{^(\w+):Kubernetes/(.+)$};
    $SEVERITY{$t} = $tactic eq 'Discovery' ? 5
                  : $tactic eq 'Persistence' ? ($kind eq 'SuccessfulAnonymousAccess' ? 8 : 5)
                  : 8;
}

my $JSON = JSON::PP->new->utf8->canonical->allow_nonref;

# Addresses of tests/lists/ (the sets are disjoint; OFFICE is on no list).
our %IP = (
    TOR        => '199.249.230.87',   # tor-exit-addresses.txt
    TOR2       => '109.70.100.23',    # tor-exit-addresses.txt
    TOR6       => '2a0b:f4c2:2::31',  # tor-exits-plain.txt (written fully expanded there)
    MAL        => '45.95.147.236',    # malicious.txt
    MAL_CIDR   => '141.98.10.63',     # malicious.txt 141.98.10.0/24
    MAL6       => '2a06:4880:1000:12::7',  # malicious.txt 2a06:4880:1000::/48
    CUS        => '91.240.118.172',   # partner-feed.txt
    CUS_CIDR   => '5.188.206.14',     # partner-feed.txt 5.188.206.0/24
    OFFICE     => '81.2.69.160',      # clean
    INTERNAL   => '10.20.0.15',       # clean (private)
);

our %USER = (
    ADMIN => { username => 'kubernetes-admin', groups => ['kubeadm:cluster-admins', 'system:authenticated'] },
    EKS   => {
        username => 'arn:aws:sts::111122223333:assumed-role/EKSAdminRole/alice',
        uid      => 'aws-iam-authenticator:111122223333:AROARZ5BM2KTW7H3EXAMP',
        groups   => ['system:authenticated'],
        extra    => {
            accessKeyId  => ['ASIARZ5BM2KTQ4EXAMPL'],
            arn          => ['arn:aws:sts::111122223333:assumed-role/EKSAdminRole/alice'],
            canonicalArn => ['arn:aws:iam::111122223333:role/EKSAdminRole'],
            principalId  => ['AROARZ5BM2KTW7H3EXAMP'],
            sessionName  => ['alice'],
            'sigs.k8s.io/aws-iam-authenticator/principalId' => ['AROARZ5BM2KTW7H3EXAMP'],
        },
    },
    SA => {
        username => 'system:serviceaccount:ci:gitlab-runner',
        uid      => '0c3f6f7e-5b1d-4d8e-9a51-2f7d1c9e4b60',
        groups   => ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
        extra    => {
            'authentication.kubernetes.io/credential-id' => ['JTI=5d2b8c1e-7f3a-4e6d-b9c0-1a2b3c4d5e6f'],
            'authentication.kubernetes.io/pod-name'      => ['gitlab-runner-7d9f8c6b5-2xkqz'],
            'authentication.kubernetes.io/pod-uid'       => ['8e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a5b'],
        },
    },
    ANON => { username => 'system:anonymous', groups => ['system:unauthenticated'] },
);

sub uuid {
    my @b = map { int rand 256 } 1 .. 16;
    $b[6] = ($b[6] & 0x0f) | 0x40;
    $b[8] = ($b[8] & 0x3f) | 0x80;
    my $h = join '', map { sprintf '%02x', $_ } @b;
    return join '-', substr($h, 0, 8), substr($h, 8, 4), substr($h, 12, 4), substr($h, 16, 4), substr($h, 20, 12);
}

my %GROUP = (deployments => 'apps', daemonsets => 'apps', statefulsets => 'apps', replicasets => 'apps',
             cronjobs => 'batch', jobs => 'batch', rolebindings => 'rbac.authorization.k8s.io',
             clusterrolebindings => 'rbac.authorization.k8s.io', roles => 'rbac.authorization.k8s.io',
             clusterroles => 'rbac.authorization.k8s.io');

# audit_event(%o) -> hashref: one kube-apiserver audit.k8s.io/v1 Event.
#   verb resource namespace name subresource query ip|ips user(hash or %USER key) ua code stage
#   auditID received (requestReceivedTimestamp) forbid set=>{k=>v} (added/replaced) drop=>[keys]
sub audit_event {
    my (%o) = @_;
    my $verb = $o{verb} // 'list';
    my $res  = $o{resource} // 'secrets';
    my $ns   = exists $o{namespace} ? $o{namespace} : 'prod';
    my $name = $o{name};
    my $sub  = $o{subresource};
    my $grp  = $GROUP{$res} // '';
    my $uri  = $o{uri};
    if (!defined $uri) {
        $uri = $grp ? "/apis/$grp/v1" : '/api/v1';
        $uri .= "/namespaces/$ns" if defined $ns;
        $uri .= "/$res";
        $uri .= "/$name" if defined $name && $verb !~ /^(list|watch|deletecollection)$/ && !($verb eq 'create' && !$sub);
        $uri .= "/$sub" if $sub;
        my $q = exists $o{query} ? $o{query} : $verb eq 'list' ? 'limit=500' : undef;
        $uri .= "?$q" if defined $q && length $q;
    }
    my $user = $o{user} // 'ADMIN';
    $user = $USER{$user} // die "unknown user $user" unless ref $user;
    my $code = $o{code} // ($o{forbid} ? 403 : $verb eq 'create' ? 201 : 200);
    my $recv = $o{received} // '2024-03-12T10:15:30.123456Z';
    my %obj = (resource => $res, apiVersion => 'v1');
    $obj{namespace}   = $ns   if defined $ns;
    $obj{name}        = $name if defined $name;
    $obj{apiGroup}    = $grp  if $grp;
    $obj{subresource} = $sub  if $sub;
    my %e = (
        kind       => 'Event',
        apiVersion => 'audit.k8s.io/v1',
        level      => 'Metadata',
        auditID    => $o{auditID} // uuid(),
        stage      => $o{stage} // 'ResponseComplete',
        requestURI => $uri,
        verb       => $verb,
        user       => $user,
        sourceIPs  => $o{ips} // [ $o{ip} // $IP{TOR} ],
        userAgent  => $o{ua} // 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819',
        objectRef  => \%obj,
        responseStatus => $o{forbid}
            ? { metadata => {}, status => 'Failure', reason => 'Forbidden', code => 403,
                message => "$res is forbidden: User \"$user->{username}\" cannot $verb resource \"$res\" in API group \"$grp\"" }
            : { metadata => {}, code => $code },
        requestReceivedTimestamp => $recv,
        stageTimestamp           => $o{stage_ts} // '2024-03-12T10:15:30.131072Z',
        annotations => {
            'authorization.k8s.io/decision' => $o{forbid} ? 'forbid' : 'allow',
            'authorization.k8s.io/reason'   => $o{forbid} ? '' : 'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"',
        },
    );
    if (($e{stage}) eq 'RequestReceived') { delete @e{qw(responseStatus annotations)} }
    %e = (%e, %{ $o{set} // {} });
    delete @e{ @{ $o{drop} // [] } };
    return \%e;
}

# One JSONL line (no newline) for an event hashref or audit_event(%o) arguments.
sub event_line { my $e = ref $_[0] ? $_[0] : audit_event(@_); return $JSON->encode($e) }

# Standard scan arguments: scan --rules rules.d <lists> --cluster test-cluster
sub scan_args {
    my (%o) = @_;
    return ('scan', '--rules', $o{rules} // 'rules.d', std_list_args(%o),
            '--cluster', $o{cluster} // 'test-cluster');
}

sub root {
    my $r = $ENV{KGUARD_ROOT};
    $r = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..', '..')) unless defined $r && length $r;
    return abs_path($r) // $r;
}

sub kguard {
    my $k = $ENV{KGUARD};
    $k = './kguard' unless defined $k && length $k;
    $k = File::Spec->catfile(root(), $k) unless File::Spec->file_name_is_absolute($k);
    return $k;
}

my $TMP;
sub tmpdir {
    $TMP //= tempdir('kguard-test-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    return $TMP;
}

my $seq = 0;
# write_file($content [, $name]) -> absolute path inside the test's temp dir
sub write_file {
    my ($content, $name) = @_;
    $name //= sprintf('file-%03d', ++$seq);
    my $path = File::Spec->catfile(tmpdir(), $name);
    my $dir = dirname($path);
    if (!-d $dir) { require File::Path; File::Path::make_path($dir) }
    open my $fh, '>:raw', $path or die "write $path: $!";
    print {$fh} $content;
    close $fh or die "close $path: $!";
    return $path;
}

sub read_file {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "read $path: $!";
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s // '';
}

sub json_encode { $JSON->encode($_[0]) }
sub json_decode { $JSON->decode($_[0]) }

# Sorted-key encoding, for value comparison.
sub deep_equal {
    my ($a, $b) = @_;
    return 1 if !defined $a && !defined $b;
    return 0 if !defined $a || !defined $b;
    my $ea = eval { $JSON->encode($a) } // "$a";
    my $eb = eval { $JSON->encode($b) } // "$b";
    return $a eq $b if !ref $a && !ref $b;
    return $ea eq $eb;
}

# The list options every detection test uses.
sub std_list_args {
    my (%o) = @_;
    return (
        '--tor-exits',     $o{tor_exits}     // 'tests/lists/tor-exit-addresses.txt',
        '--malicious-ips', $o{malicious_ips} // 'tests/lists/malicious.txt',
        '--threat-list',   'partner-feed=' . ($o{partner_feed} // 'tests/lists/partner-feed.txt'),
    );
}

# run_kguard(args => [...], stdin => $string | stdin_file => $path, timeout => $s)
sub run_kguard {
    my (%o) = @_;
    my @args    = @{ $o{args} // [] };
    my $timeout = $o{timeout} // 60;
    my $dir     = tempdir('run-XXXXXX', DIR => tmpdir(), CLEANUP => 1);
    my $out     = File::Spec->catfile($dir, 'stdout');
    my $err     = File::Spec->catfile($dir, 'stderr');
    my $in      = $o{stdin_file};
    if (defined $o{stdin}) {
        $in = File::Spec->catfile($dir, 'stdin');
        open my $fh, '>:raw', $in or die "$in: $!";
        print {$fh} $o{stdin};
        close $fh;
    }
    $in //= '/dev/null';
    my $bin  = $o{bin} // kguard();
    my $cwd  = $o{cwd} // root();
    my $t0   = time;
    my $pid  = fork // die "fork: $!";
    if ($pid == 0) {
        setpgid(0, 0);
        chdir $cwd or do { print STDERR "chdir $cwd: $!\n"; POSIX::_exit(127) };
        open STDIN,  '<', $in  or POSIX::_exit(127);
        open STDOUT, '>', $out or POSIX::_exit(127);
        open STDERR, '>', $err or POSIX::_exit(127);
        local %ENV = (%ENV, %{ $o{env} // {} });
        { no warnings "exec"; exec { $bin } $bin, @args; }
        print STDERR "exec $bin: $!\n";
        POSIX::_exit(127);
    }
    my ($status, $timed_out) = (undef, 0);
    while (1) {
        my $r = waitpid($pid, WNOHANG);
        if ($r == $pid) { $status = $?; last }
        if (time - $t0 > $timeout) {
            $timed_out = 1;
            kill 'TERM', -$pid;
            sleep 1;
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            $status = $?;
            last;
        }
        sleep 0.02;
    }
    # reap stragglers of the group (only ours)
    kill 'KILL', -$pid if $timed_out;
    my %r = (
        args      => \@args,
        elapsed   => time - $t0,
        timed_out => $timed_out,
        exit      => (WIFEXITED($status) ? WEXITSTATUS($status) : undef),
        signal    => (WIFSIGNALED($status) ? WTERMSIG($status) : 0),
        stdout    => read_file($out),
        stderr    => read_file($err),
    );
    $r{findings} = parse_findings($r{stdout});
    $r{summary}  = summary_of($r{stderr});
    return \%r;
}

sub parse_findings {
    my ($stdout) = @_;
    my @f;
    my $n = 0;
    for my $line (split /\n/, $stdout) {
        $n++;
        next if $line =~ /^\s*$/;
        my $d = eval { $JSON->decode($line) };
        push @f, { line => $n, raw => $line, data => (ref $d eq 'HASH' ? $d : undef),
                   error => ($@ ? "$@" : (ref $d eq 'HASH' ? undef : 'not a JSON object')) };
    }
    return \@f;
}

# Findings are aggregated: a repeat of the same finding (same id) is printed again as an update line
# with a higher service.count. final_findings() keeps the last line per id, in order of first appearance.
sub final_findings {
    my ($r) = @_;
    my (%last, @order);
    for my $x (grep { $_->{data} } @{ $r->{findings} }) {
        my $id = $x->{data}{id} // "line $x->{line}";
        push @order, $id unless exists $last{$id};
        $last{$id} = $x;
    }
    return map { $last{$_} } @order;
}

# type -> number of occurrences (sum of the final service.count of each finding of that type)
sub occurrences {
    my ($r) = @_;
    my %n;
    for my $x (final_findings($r)) {
        my $c = $x->{data}{service}{count};
        $n{ $x->{data}{type} // '(no type)' } += (defined $c && !ref $c && $c =~ /\A[1-9]\d*\z/) ? $c : 1;
    }
    return \%n;
}

# kguard: summary: events=N judged=N skipped=N malformed=N findings=N rule_errors=N
sub summary_of {
    my ($stderr) = @_;
    my $s;
    for my $line (split /\n/, $stderr) {
        next unless $line =~ /^kguard: summary: (.*)$/;
        my %h = $1 =~ /(\w+)=(\d+)/g;
        $s = \%h;
    }
    return $s;
}

# Top-level keys of a JSON object text, in order.
sub top_level_keys {
    my ($text) = @_;
    my @keys;
    my $depth = 0;
    my $expect_key = 0;
    my $i = 0;
    my $len = length $text;
    while ($i < $len) {
        my $c = substr($text, $i, 1);
        if ($c eq '"') {
            my $j = $i + 1;
            while ($j < $len) {
                my $d = substr($text, $j, 1);
                if ($d eq '\\') { $j += 2; next }
                last if $d eq '"';
                $j++;
            }
            my $str = substr($text, $i + 1, $j - $i - 1);
            if ($depth == 1 && $expect_key) {
                push @keys, $JSON->decode(qq{"$str"});
                $expect_key = 0;
            }
            $i = $j + 1;
            next;
        }
        if ($c eq '{' || $c eq '[') {
            $depth++;
            $expect_key = 1 if $depth == 1 && $c eq '{';
        } elsif ($c eq '}' || $c eq ']') {
            $depth--;
        } elsif ($c eq ',' && $depth == 1) {
            $expect_key = 1;
        }
        $i++;
    }
    return @keys;
}

# Raw texts of the elements of the array under top-level key $key of a JSON object text
# (keeps the bytes and key order exactly as written in a fixture).
sub raw_array_elements {
    my ($text, $key) = @_;
    my ($depth, $i, $len) = (0, 0, length $text);
    my ($want, $in, $start, @el) = (0, 0, undef);
    while ($i < $len) {
        my $c = substr($text, $i, 1);
        if ($c eq '"') {
            my $j = $i + 1;
            while ($j < $len) {
                my $d = substr($text, $j, 1);
                if ($d eq '\\') { $j += 2; next }
                last if $d eq '"';
                $j++;
            }
            if ($depth == 1 && !$in && substr($text, $i + 1, $j - $i - 1) eq $key) { $want = 1 }
            $start //= $i if $in && $depth == 2;
            $i = $j + 1;
            next;
        }
        if ($c eq '[' && $depth == 1 && $want) { $in = 1; $want = 0; $depth++; $i++; next }
        if ($in && $depth == 2 && ($c eq ',' || $c eq ']')) {
            push @el, substr($text, $start, $i - $start) =~ s/\s+\z//r if defined $start;
            undef $start;
            if ($c eq ']') { $in = 0; $depth--; $i++; next }
            $i++; next;
        }
        if ($c eq '{' || $c eq '[') { $start //= $i if $in && $depth == 2; $depth++ }
        elsif ($c eq '}' || $c eq ']') { $depth-- }
        elsif ($in && $depth == 2 && $c !~ /\s/) { $start //= $i }
        $i++;
    }
    return @el;
}

# dig($data, 'a.b.0.c') -> ($exists, $value)
sub dig {
    my ($d, $path) = @_;
    for my $seg (split /\./, $path) {
        if (ref $d eq 'HASH') {
            return (0, undef) unless exists $d->{$seg};
            $d = $d->{$seg};
        } elsif (ref $d eq 'ARRAY' && $seg =~ /^\d+$/) {
            return (0, undef) unless $seg < @$d;
            $d = $d->[$seg];
        } else {
            return (0, undef);
        }
    }
    return (1, $d);
}

sub is_iso_ms { defined $_[0] && !ref $_[0] && $_[0] =~ /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/ }

# Reasons a run looks like a crash: signal, timeout, sanitizer report, no summary.
sub crash_problems {
    my ($r, %o) = @_;
    my @p;
    push @p, "killed by signal $r->{signal}" if $r->{signal} && !$r->{timed_out};
    push @p, sprintf('timed out after %.1fs', $r->{elapsed}) if $r->{timed_out};
    push @p, 'AddressSanitizer report on stderr' if $r->{stderr} =~ /AddressSanitizer|LeakSanitizer/;
    push @p, 'UBSan "runtime error:" on stderr' if $r->{stderr} =~ /runtime error:/;
    push @p, 'no summary line on stderr' if !$o{no_summary} && !$r->{summary};
    return @p;
}

# A short, bounded description of a run for diag().
sub describe_run {
    my ($r) = @_;
    my $err = $r->{stderr};
    my @l = split /\n/, $err;
    if (@l > 40) { @l = (@l[0 .. 19], sprintf('... (%d lines) ...', @l - 40), @l[-20 .. -1]) }
    $_ = length > 400 ? substr($_, 0, 400) . '...' : $_ for @l;
    my $out = $r->{stdout};
    my @o = split /\n/, $out;
    my $nout = @o;
    @o = @o[0 .. 4] if @o > 5;
    $_ = length > 600 ? substr($_, 0, 600) . '...' : $_ for @o;
    return join("\n",
        'command: kguard ' . join(' ', map { length > 120 ? substr($_, 0, 120) . '...' : $_ } @{ $r->{args} }),
        sprintf('exit=%s signal=%s timed_out=%s elapsed=%.2fs', $r->{exit} // 'undef', $r->{signal}, $r->{timed_out}, $r->{elapsed}),
        "stderr:", (map { "  $_" } @l),
        "stdout ($nout lines):", (map { "  $_" } @o));
}


# ---- detection fixtures (shared runner; added for tests/workload.t) ------------------------

# The 7 workload and policy types (contract part 2), their seed severities (High 8, Medium 5)
# and the details each carries: 'workload' (resource.kubernetesDetails.kubernetesWorkloadDetails),
# 'rolebinding' (service.action.kubernetesRoleBindingDetails) or '' (neither).
our @WORKLOAD_TYPES = @ALL_TYPES[scalar(@TYPES) .. $#ALL_TYPES];
our %SEVERITY_ALL = (%SEVERITY,
    'Execution:Kubernetes/ExecInKubeSystemPod'              => 5,
    'Persistence:Kubernetes/ContainerWithSensitiveMount'    => 5,
    'PrivilegeEscalation:Kubernetes/PrivilegedContainer'    => 5,
    'Policy:Kubernetes/AdminAccessToDefaultServiceAccount'  => 8,
    'Policy:Kubernetes/AnonymousAccessGranted'              => 8,
    'Policy:Kubernetes/ExposedDashboard'                    => 5,
    'Policy:Kubernetes/KubeflowDashboardExposed'            => 5,
);
our %DETAILS_OF = (
    'Execution:Kubernetes/ExecInKubeSystemPod'              => 'workload',
    'Persistence:Kubernetes/ContainerWithSensitiveMount'    => 'workload',
    'PrivilegeEscalation:Kubernetes/PrivilegedContainer'    => 'workload',
    'Policy:Kubernetes/AdminAccessToDefaultServiceAccount'  => 'rolebinding',
    'Policy:Kubernetes/AnonymousAccessGranted'              => 'rolebinding',
    'Policy:Kubernetes/ExposedDashboard'                    => '',
    'Policy:Kubernetes/KubeflowDashboardExposed'            => '',
);

# id -> [finding lines of that id, in output order]
sub lines_by_id {
    my ($r) = @_;
    my %by;
    for my $x (grep { $_->{data} } @{ $r->{findings} }) {
        push @{ $by{ $x->{data}{id} // "line $x->{line}" } }, $x->{data};
    }
    return \%by;
}

# fixture_input($fx, $text, $name [, $subdir]) -> path of the events written as the fixture's
# format says (jsonl: one event per line, eventlist, array), bytes and key order as in the file.
sub fixture_input {
    my ($fx, $text, $name, $subdir) = @_;
    my @raw = map { s/\s*\n\s*/ /gr } raw_array_elements($text, 'events');
    die "$name: cannot split the events array" unless @raw == @{ $fx->{events} };
    my $fmt = $fx->{format} // 'jsonl';
    my $content;
    if ($fmt eq 'jsonl') {
        $content = join('', map { "$_\n" } @raw);
    } elsif ($fmt eq 'eventlist') {
        $content = '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","metadata":{},"items":[' . join(',', @raw) . "]}\n";
    } elsif ($fmt eq 'array') {
        $content = "[\n" . join(",\n", @raw) . "\n]\n";
    } else {
        die "$name: unknown format '$fmt'";
    }
    return write_file($content, ($subdir // 'fixtures') . "/$name." . ($fmt eq 'jsonl' ? 'jsonl' : 'json'));
}

# run_fixture($file, %o) -> { name, fx, input, r } | { name, error }: reads a fixture and scans its
# events with the standard options (as tests/rules.t does): scan --rules rules.d <lists>
# --cluster test-cluster FILE, plus @{$o{args}} before FILE; $o{bin} overrides the binary.
sub run_fixture {
    my ($file, %o) = @_;
    (my $name = $file) =~ s{.*/}{};
    $name =~ s/\.json\z//;
    my $text = read_file($file);
    my $fx = eval { json_decode($text) };
    return { name => $name, error => "not valid JSON: $@" } unless ref $fx eq 'HASH';
    my $input = eval { fixture_input($fx, $text, $name, $o{subdir}) };
    return { name => $name, fx => $fx, error => $@ } unless $input;
    my $r = run_kguard(args => ['scan', '--rules', 'rules.d', std_list_args(%{ $fx->{lists} // {} }),
                                '--cluster', 'test-cluster', @{ $o{args} // [] }, $input],
                       timeout => $o{timeout} // 60, ($o{bin} ? (bin => $o{bin}) : ()));
    return { name => $name, fx => $fx, input => $input, r => $r };
}

# check_fixture($run) runs the Test::More checks of one fixture run (call it inside a subtest).
# Fixture keys (tests/fixtures/README.md, plus):
#   ids         {type: n}  exact number of distinct finding ids of that type
#   assert_match / assert_type_match   {path: regex} ({type: {...}}): the value is a string matching
#   assert_contains / assert_type_contains  {path: object}: the value is an array with an element
#               holding every key/value of the object (order-free)
#   assert_absent  [path]: absent (or null) on the first finding of each expected type
#   summary_min {key: n}: summary value >= n
# Every finding of the 7 workload/policy types must carry a non-empty kguard.detail, the seed
# severity, and its details (workload: kubernetesWorkloadDetails with the event's resource as type;
# rolebinding: kubernetesRoleBindingDetails; dashboards: neither). Update lines of one id must have
# growing service.count.
sub check_fixture {
    my ($run) = @_;
    require Test::More;
    my ($ok, $is, $is_deeply, $like, $fail, $diag) =
        (\&Test::More::ok, \&Test::More::is, \&Test::More::is_deeply, \&Test::More::like, \&Test::More::fail, \&Test::More::diag);
    my $name = $run->{name};
    if ($run->{error}) { $fail->("$name: fixture loads"); $diag->($run->{error}); return }
    my ($fx, $r, $input) = @$run{qw(fx r input)};
    my %known = map { $_ => 1 } @ALL_TYPES;
    my @expect = @{ $fx->{expect} // [] };
    my @reject = @{ $fx->{reject} // [] };
    for my $t (@expect, @reject, keys %{ $fx->{count} // {} }, keys %{ $fx->{ids} // {} },
               keys %{ $fx->{assert_type} // {} }, keys %{ $fx->{assert_type_match} // {} },
               keys %{ $fx->{assert_type_contains} // {} }) {
        $ok->($known{$t}, "fixture names a known type: $t") or return;
    }
    my @crash = crash_problems($r);
    $ok->(!@crash, "$name: scan ran cleanly") or $diag->(join('; ', @crash) . "\n" . describe_run($r));
    $is->($r->{exit}, 0, "$name: exit 0") or $diag->(describe_run($r));
    my @bad = grep { !$_->{data} } @{ $r->{findings} };
    $ok->(!@bad, "$name: every stdout line is a JSON object")
        or $diag->(join("\n", map { "line $_->{line}: $_->{error}: " . substr($_->{raw}, 0, 300) } @bad));
    my @f = map { $_->{data} } grep { $_->{data} } @{ $r->{findings} };

    my %n = %{ occurrences($r) };
    $is_deeply->([sort keys %n], [sort @expect], "$name: finding types are exactly [" . join(', ', sort @expect) . ']')
        or $diag->("got: " . json_encode(\%n) . "\n" . describe_run($r));
    for my $t (@reject) { $ok->(!$n{$t}, "$name: no $t") }
    for my $t (sort keys %{ $fx->{count} // {} }) {
        $is->($n{$t} // 0, $fx->{count}{$t}, "$name: exactly $fx->{count}{$t} occurrence(s) of $t");
    }
    my $by = lines_by_id($r);
    my %ids_of;
    for my $id (keys %$by) { $ids_of{ $by->{$id}[0]{type} // '' }{$id} = 1 }
    for my $t (sort keys %{ $fx->{ids} // {} }) {
        $is->(scalar(keys %{ $ids_of{$t} // {} }), $fx->{ids}{$t}, "$name: exactly $fx->{ids}{$t} distinct id(s) of $t")
            or $diag->(join("\n", map { json_encode([$_->{id}, $_->{service}{count}, $_->{kguard}{detail}]) }
                                  grep { ($_->{type} // '') eq $t } @f));
    }
    for my $id (sort keys %$by) {
        my @c = map { $_->{service}{count} // 0 } @{ $by->{$id} };
        my @want = sort { $a <=> $b } @c;
        $ok->($c[0] == 1 && "@c" eq "@want" && (grep { $want[$_] == $want[$_ - 1] } 1 .. $#want) == 0,
              "$name: lines of id $id count up from 1 (@c)");
    }

    # every finding points back at one of the events; workload/policy findings carry their details
    my %ev_of = map { (($_->{auditID} // '') => $_) } @{ $fx->{events} };
    my @line_of = map { $_->{auditID} // '' } @{ $fx->{events} };
    for my $d (@f) {
        my $t = $d->{type} // '(no type)';
        my $ev = $ev_of{ $d->{kguard}{auditID} // '' };
        $ok->($ev, "$name: $t kguard.auditID names an input event") or $diag->('kguard: ' . json_encode($d->{kguard}));
        my $src = $d->{kguard}{source} // '';
        if (($fx->{format} // 'jsonl') eq 'jsonl') {
            my ($line) = $src =~ /:(\d+)\z/;
            my $base = $input =~ s{.*/}{}r;
            $ok->(defined $line && index($src, $base) >= 0 && $line >= 1 && $line <= @line_of
                  && $line_of[$line - 1] eq ($d->{kguard}{auditID} // ''),
                  "$name: $t kguard.source is FILE:LINE of its event") or $diag->("kguard.source=$src");
        }
        $is->($d->{severity}, $SEVERITY_ALL{$t}, "$name: $t severity $SEVERITY_ALL{$t}") if exists $SEVERITY_ALL{$t};
        next unless exists $DETAILS_OF{$t};
        my $detail = $d->{kguard}{detail};
        $ok->(defined $detail && !ref $detail && length $detail, "$name: $t kguard.detail is a non-empty string")
            or $diag->('kguard: ' . json_encode($d->{kguard}));
        my $wd = $d->{resource}{kubernetesDetails}{kubernetesWorkloadDetails};
        my $rb = $d->{service}{action}{kubernetesRoleBindingDetails};
        if ($DETAILS_OF{$t} eq 'workload') {
            $ok->(ref $wd eq 'HASH' && ($wd->{type} // '') eq ($ev ? $ev->{objectRef}{resource} // '' : ''),
                  "$name: $t kubernetesWorkloadDetails.type is the event's resource")
                or $diag->('kubernetesWorkloadDetails: ' . json_encode($wd));
            $ok->(!defined $rb, "$name: $t has no kubernetesRoleBindingDetails");
        } elsif ($DETAILS_OF{$t} eq 'rolebinding') {
            my %kind = (clusterrolebindings => 'ClusterRoleBinding', rolebindings => 'RoleBinding');
            $ok->(ref $rb eq 'HASH' && ($rb->{kind} // '') eq ($kind{ $ev ? $ev->{objectRef}{resource} // '' : '' } // '?'),
                  "$name: $t kubernetesRoleBindingDetails.kind matches the resource")
                or $diag->('kubernetesRoleBindingDetails: ' . json_encode($rb));
            $ok->(!defined $wd, "$name: $t kubernetesWorkloadDetails is null");
        } else {
            $ok->(!defined $wd && !defined $rb, "$name: $t carries no workload or binding details");
        }
    }

    # assertions on the first finding of each expected type
    my %first;
    for my $d (@f) { $first{ $d->{type} // '' } //= $d }
    my @checks;
    for my $kind (qw(assert assert_match assert_contains)) {
        for my $t (@expect) {
            push @checks, [$kind, $t, $_, $fx->{$kind}{$_}] for sort keys %{ $fx->{$kind} // {} };
        }
        (my $tk = $kind) =~ s/^assert/assert_type/;
        for my $t (sort keys %{ $fx->{$tk} // {} }) {
            push @checks, [$kind, $t, $_, $fx->{$tk}{$t}{$_}] for sort keys %{ $fx->{$tk}{$t} };
        }
    }
    for my $t (@expect) { push @checks, ['assert_absent', $t, $_, undef] for @{ $fx->{assert_absent} // [] } }
    for my $c (@checks) {
        my ($kind, $t, $path, $want) = @$c;
        my $d = $first{$t};
        if (!$d) { $fail->("$name: $t $path (no $t finding)"); next }
        my ($exists, $got) = dig($d, $path);
        if ($kind eq 'assert') {
            $ok->($exists && deep_equal($got, $want), "$name: $t $path = " . json_encode($want))
                or $diag->('got: ' . ($exists ? json_encode($got) : '(absent)'));
        } elsif ($kind eq 'assert_match') {
            $ok->(scalar($exists && defined $got && !ref $got && $got =~ /$want/), "$name: $t $path =~ /$want/")
                or $diag->('got: ' . ($exists ? json_encode($got) : '(absent)'));
        } elsif ($kind eq 'assert_contains') {
            my $hit = $exists && ref $got eq 'ARRAY'
                && grep { my $el = $_; ref $el eq 'HASH' && !grep { !deep_equal($el->{$_}, $want->{$_}) } keys %$want } @$got;
            $ok->($hit, "$name: $t $path has an element " . json_encode($want))
                or $diag->('got: ' . ($exists ? json_encode($got) : '(absent)'));
        } else {
            $ok->(!$exists || !defined $got, "$name: $t $path is absent")
                or $diag->('got: ' . json_encode($got));
        }
    }

    my $s = $r->{summary};
    $ok->($s, "$name: summary line present") or return;
    $is->($s->{findings}, scalar(keys %$by), "$name: summary findings= is the number of distinct finding ids");
    $is->(scalar(@f), ($s->{findings} // 0) + ($s->{updates} // 0), "$name: stdout lines = findings + updates");
    for my $k (sort keys %{ $fx->{summary} // {} }) {
        $is->($s->{$k}, $fx->{summary}{$k}, "$name: summary $k=$fx->{summary}{$k}");
    }
    for my $k (sort keys %{ $fx->{summary_min} // {} }) {
        $ok->(($s->{$k} // -1) >= $fx->{summary_min}{$k}, "$name: summary $k >= $fx->{summary_min}{$k}")
            or $diag->("got $k=" . ($s->{$k} // 'absent'));
    }
    $is->($s->{rule_errors}, 0, "$name: no rule errors") or $diag->(describe_run($r));
    return;
}

1;
