#!/usr/bin/env perl
# Per-cluster identity, teams per cluster, and a cluster name per scan file and per followed file
# (issue 12).  One scan of several clusters' logs (--cluster-file CLUSTER=FILE, paths holding '=',
# ':' and '@') keeps them apart; the config's `clusters` sections give each cluster's findings its
# account, region and partition, unknown clusters take the global ones; a team scoped to some
# clusters applies there only; an envelope's own cluster wins over the per-file name; bad sections
# are reported at FILE:LINE; under `run`, --follow-cluster does the same and a reload of the config
# applies to the next event.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Path qw(make_path);
use IO::Compress::Gzip qw(gzip $GzipError);
use Test::More;
use KGTest qw(:all);
use KGRun ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
$SIG{PIPE} = 'IGNORE';
my $SRC = "$ROOT/tests/fixtures/sources";
my $CFG = "$ROOT/tests/fixtures/config/clusters.lua";
my $PRIV = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
my $EXEC = 'Execution:Kubernetes/ExecInKubeSystemPod';
my $TOR  = 'CredentialAccess:Kubernetes/TorIPCaller';

# The same attack set in another cluster's log: new audit IDs (the engine judges an auditID once),
# also inside AKS records' escaped properties.log.
sub reid {
    my ($text, $prefix) = @_;
    $text =~ s/(auditID\\?"\s*:\s*\\?")[0-9a-f]{2}/$1$prefix/g;
    return $text;
}
sub gz { my ($text) = @_; my $out; gzip(\$text => \$out) or die $GzipError; return $out }
sub put {
    my ($path, $bytes) = @_;
    (my $dir = $path) =~ s{/[^/]+\z}{};
    make_path($dir);
    open my $fh, '>:raw', $path or die "$path: $!";
    print {$fh} $bytes;
    close $fh;
    return $path;
}

my $tmp = tmpdir();
my $events = read_file("$SRC/events.jsonl");
my $eu = put("$tmp/eu=logs/kube-apiserver-audit.log", reid($events, 'e1'));
my $cn = put("$tmp/cn:logs\@archive/audit-2026-11-30.log.gz", gz(reid($events, 'c2')));
my $aks = put("$tmp/aks=export/PT1H.json", reid(read_file("$SRC/aks.jsonl"), 'a3'));

my $r = run_kguard(args => [ scan_args(), '--config', $CFG,
    '--cluster-file', "prod-eu=$eu", '--cluster-file', "prod-cn=$cn",
    '--cluster-file', "prod-eu=$aks", "$SRC/events.jsonl" ], timeout => 120);
my @crash = crash_problems($r);
ok(!@crash && $r->{exit} == 0, 'scan of four logs: exit 0, no crash') or diag(join('; ', @crash) . "\n" . describe_run($r));
is($r->{summary}{events}, 28, 'every record of the four logs judged') or diag($r->{stderr});
is($r->{summary}{malformed}, 0, 'nothing malformed');

my @f = map { $_->{data} } final_findings($r);
my %priv = map { $_->{resource}{eksClusterDetails}{name} => $_ } grep { $_->{type} eq $PRIV } @f;
is_deeply([ sort keys %priv ], [qw(payments prod-cn prod-eu test-cluster)],
          'the same privileged pod in four clusters: four findings') or diag(describe_run($r));
my %ids = map { $_->{id} => 1 } values %priv;
is(scalar keys %ids, 4, 'four distinct finding ids');

sub identity_is {
    my ($f, $cluster, $account, $region, $partition) = @_;
    return unless ok($f, "$cluster: a finding");
    is($f->{accountId}, $account, "$cluster: accountId $account");
    is($f->{region}, $region, "$cluster: region $region");
    is($f->{partition}, $partition, "$cluster: partition $partition");
    like($f->{arn}, qr{\Aarn:\Q$partition\E:guardduty:\Q$region\E:\Q$account\E:detector/[0-9a-f]{32}/finding/\Q$f->{id}\E\z},
         "$cluster: the finding ARN");
    is($f->{resource}{eksClusterDetails}{arn}, "arn:$partition:eks:$region:$account:cluster/$cluster",
       "$cluster: the cluster ARN");
}

subtest 'each cluster its own identity; unknown clusters the global one' => sub {
    identity_is($priv{'prod-eu'}, 'prod-eu', '222222222222', 'eu-central-1', 'aws');
    identity_is($priv{'prod-cn'}, 'prod-cn', '333333333333', 'cn-north-1', 'aws-cn');
    identity_is($priv{'test-cluster'}, 'test-cluster', '111111111111', 'us-east-1', 'aws');
    # a section setting only the account: region and partition fall back to the global ones
    identity_is($priv{payments}, 'payments', '444444444444', 'us-east-1', 'aws');
    isnt($priv{'prod-eu'}{service}{detectorId}, $priv{'prod-cn'}{service}{detectorId}, 'a detector per account/region/cluster');
};

subtest 'per-file cluster names keep the files apart' => sub {
    like($priv{'prod-eu'}{kguard}{source}, qr{\A\Q$eu\E:\d+\z}, 'prod-eu: from the file whose path holds =');
    like($priv{'prod-cn'}{kguard}{source}, qr{\A\Q$cn\E:\d+\z}, 'prod-cn: from the gzip file whose path holds : and @');
    like($priv{'test-cluster'}{kguard}{source}, qr{\A\Q$SRC\E/events\.jsonl:\d+\z}, 'a plain file: --cluster');
    my %n;
    $n{ $_->{resource}{eksClusterDetails}{name} }++ for @f;
    is_deeply(\%n, { map { $_ => 6 } qw(payments prod-cn prod-eu test-cluster) }, 'six findings in each cluster');
};

subtest "the envelope's cluster wins over the file's name (AKS resourceId)" => sub {
    my $p = $priv{payments} or return fail('no payments finding');
    like($p->{kguard}{source}, qr{\A\Q$aks\E:\d+\z}, 'from the file named prod-eu on the command line');
    my $c = $p->{kguard}{cloud};
    is($c->{provider}, 'aks', 'kguard.cloud.provider');
    is($c->{subscription}, '0f4b3c2a-9d8e-4f7a-b6c5-d4e3f2a1b0c9', 'kguard.cloud.subscription');
    is($c->{resourceGroup}, 'rg-payments-prod', 'kguard.cloud.resourceGroup');
    is($c->{resourceId}, '/SUBSCRIPTIONS/0F4B3C2A-9D8E-4F7A-B6C5-D4E3F2A1B0C9/RESOURCEGROUPS/RG-PAYMENTS-PROD/PROVIDERS/MICROSOFT.CONTAINERSERVICE/MANAGEDCLUSTERS/PAYMENTS',
       'kguard.cloud.resourceId as the record wrote it');
    ok(!exists $p->{kguard}{team}, "prod-eu's team does not own the AKS cluster's namespace");
};

subtest 'a team scoped to clusters applies in those clusters only' => sub {
    is($priv{'prod-eu'}{severity}, 2, 'prod-eu: the eu-developers team makes it Low');
    is($priv{'prod-eu'}{kguard}{team}, 'eu-developers', 'prod-eu: kguard.team');
    for my $c (qw(prod-cn test-cluster payments)) {
        is($priv{$c}{severity}, 5, "$c: the rule's Medium");
        ok(!exists $priv{$c}{kguard}{team}, "$c: no team");
    }
    my %exec = map { $_->{resource}{eksClusterDetails}{name} => $_ } grep { $_->{type} eq $EXEC } @f;
    is($exec{$_}{severity}, 9, "$_: prod-platform (clusters = {\"prod-*\"}) sets 9") for qw(prod-eu prod-cn);
    is($exec{$_}{kguard}{team}, 'prod-platform', "$_: kguard.team prod-platform") for qw(prod-eu prod-cn);
    is($exec{$_}{severity}, 5, "$_: outside prod-*: the rule's severity") for qw(test-cluster payments);
    ok(!exists $exec{$_}{kguard}{team}, "$_: no team") for qw(test-cluster payments);
};

subtest 'GKE: the GCP identity under kguard.cloud' => sub {
    my $g = run_kguard(args => [ scan_args(), '--config', $CFG, '--cluster-file', "prod-eu=$SRC/gke.jsonl" ], timeout => 120);
    my ($p) = grep { $_->{type} eq $PRIV } map { $_->{data} } final_findings($g);
    ok($p, 'a privileged-container finding') or return diag(describe_run($g));
    my $c = $p->{kguard}{cloud};
    is($c->{provider}, 'gke', 'provider');
    ok($c->{project} && $c->{project} eq $c->{account}, "project ($c->{project})");
    ok($c->{location}, "location ($c->{location})");
    is($p->{resource}{eksClusterDetails}{name}, $c->{cluster}, "the record's cluster_name, not prod-eu");
    is($c->{cluster}, 'payments', 'the fixture names the cluster payments');
    is($p->{accountId}, '444444444444', 'the section of that name applies, whatever the cloud');
};

subtest 'command-line errors' => sub {
    my @bad = (
        [ [ 'scan', '--cluster-file', "$SRC/events.jsonl" ], qr/--cluster-file wants CLUSTER=FILE/, 'no CLUSTER=' ],
        [ [ 'scan', '--cluster-file', "prod eu=$SRC/events.jsonl" ], qr/--cluster-file wants CLUSTER=FILE .*got 'prod eu=/, 'a space in the name' ],
        [ [ 'scan', '--cluster-file', 'prod-eu=' ], qr/--cluster-file wants CLUSTER=FILE/, 'no file' ],
        [ [ 'scan', '--cluster-file', "prod-eu=$tmp/no-such.log" ], qr/cannot read input \Q$tmp\E\/no-such\.log/, 'a missing file' ],
        [ [ 'run', '--cluster-file', "prod-eu=$SRC/events.jsonl" ], qr/--cluster-file is for kguard scan/, 'under run' ],
        [ [ 'scan', '--follow-cluster', "prod-eu=$SRC/events.jsonl" ], qr/--follow-cluster is for kguard run/, 'follow under scan' ],
        [ [ 'run', '--follow-cluster', "=$SRC/events.jsonl" ], qr/--follow-cluster wants CLUSTER=FILE/, 'empty name' ],
    );
    for my $b (@bad) {
        my ($args, $re, $what) = @$b;
        my $e = run_kguard(args => $args);
        ok($e->{exit} == 1 || $e->{exit} == 2, "$what: exits with an error ($e->{exit})");
        like($e->{stderr}, $re, "$what: message") or diag($e->{stderr});
        is($e->{stdout}, '', "$what: no findings");
    }
};

subtest 'config errors name FILE:LINE' => sub {
    my $ef = "$ROOT/tests/fixtures/config/errors";
    my %want = (
        'bad-cluster-section' => [
            qr/^kguard: \Q$ef\E\/bad-cluster-section\.lua:5: unknown cluster section field 'acount_id'$/m,
            qr/^kguard: \Q$ef\E\/bad-cluster-section\.lua:8: clusters\["prod-us"\]\.region must be a non-empty string$/m,
            qr/^kguard: \Q$ef\E\/bad-cluster-section\.lua:11: clusters\["prod-cn"\]\.partition must be an AWS partition/m,
            qr/^kguard: \Q$ef\E\/bad-cluster-section\.lua:14: clusters\["prod-ap"\]\.account_id must be 12 digits, got "2222-3333-4444"$/m,
            qr/^kguard: \Q$ef\E\/bad-cluster-section\.lua:16: clusters\["prod-sa"\] must be a table/m,
            qr/5 problems in/ ],
        'bad-team-clusters' => [
            qr/^kguard: \Q$ef\E\/bad-team-clusters\.lua:3: partition must be an AWS partition .*got "AWS"$/m,
            qr/^kguard: \Q$ef\E\/bad-team-clusters\.lua:8: team clusters must be a non-empty list of strings$/m ],
    );
    for my $name (sort keys %want) {
        for my $cmd ('check', 'scan') {
            my $e = run_kguard(args => [ $cmd, '--rules', 'rules.d', '--config', "$ef/$name.lua",
                                         ($cmd eq 'scan' ? ("$SRC/events.jsonl") : ()) ]);
            is($e->{exit}, 1, "$name: $cmd exits 1");
            is($e->{stdout}, '', "$name: $cmd prints no finding");
            like($e->{stderr}, $_, "$name: $cmd reports $_") or diag($e->{stderr}) for @{ $want{$name} };
        }
    }
};

subtest 'run: --follow-cluster, and a reload applies to the next event' => sub {
    my $dir = "$tmp/follow";
    my $cfg = put("$dir/kguard.lua", read_file($CFG));
    my $eulog = put("$dir/eu=audit\@1:log", '');
    my $deflog = put("$dir/audit.log", '');
    my ($priv_line) = grep { /debug-tools/ } split /\n/, $events;
    my ($tor_line) = grep { /"verb":"list"/ && /secrets/ && /\Q$IP{TOR}\E/ } split /\n/, $events;
    ok($priv_line && $tor_line, 'the privileged-pod and Tor events') or return;
    my $k = KGRun::start_kguard(args => [ 'run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
        '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--config', $cfg, '--cluster', 'dc1',
        '--from-start', '--follow-cluster', "prod-eu=$eulog", '--follow', $deflog ]);
    my $append = sub { my ($p, $l) = @_; open my $fh, '>>', $p or die $!; print {$fh} "$l\n"; close $fh };
    $append->($eulog, reid($priv_line, 'f1'));
    $append->($deflog, reid($priv_line, 'f2'));
    KGRun::wait_until(15, sub { (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 2 });
    (my $new = read_file($cfg)) =~ s/region = "eu-central-1"/region = "eu-west-3"/ or die 'config edit';
    put("$cfg.new", $new);
    rename "$cfg.new", $cfg or die $!;
    kill 'HUP', $k->{pid};
    KGRun::wait_until(15, sub { KGRun::stderr_of($k) =~ /reload \([^)]*\): ok/ });
    like(KGRun::stderr_of($k), qr/reload \([^)]*\): ok/, 'the edited config reloaded');
    $append->($eulog, reid($tor_line, 'f3'));
    KGRun::wait_until(15, sub { (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 3 });
    my $res = KGRun::finish($k, signal => 'TERM');
    KGRun::clean_exit($res, 'run', how => 'SIGTERM -> ');
    my @g = map { $_->{data} } final_findings($res);
    my %p = map { $_->{resource}{eksClusterDetails}{name} => $_ } grep { $_->{type} eq $PRIV } @g;
    is_deeply([ sort keys %p ], [qw(dc1 prod-eu)], 'a finding per followed file, each its cluster') or diag(describe_run($res));
    is($p{'prod-eu'}{region}, 'eu-central-1', 'prod-eu before the reload: eu-central-1');
    is($p{'prod-eu'}{accountId}, '222222222222', "prod-eu: its section's account");
    is($p{'prod-eu'}{kguard}{team}, 'eu-developers', 'prod-eu: its team');
    is($p{dc1}{accountId}, '111111111111', 'the --follow file: the global account');
    ok(!exists $p{dc1}{kguard}{team}, 'the --follow file: no team');
    my ($t) = grep { $_->{type} eq $TOR } @g;
    ok($t, 'the Tor call after the reload') or return;
    is($t->{resource}{eksClusterDetails}{name}, 'prod-eu', 'in prod-eu');
    is($t->{region}, 'eu-west-3', 'with the reloaded region');
};

done_testing();
