#!/usr/bin/env perl
# The shape of a finding, per the contract (GuardDuty wire form, lowerCamelCase).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Basename qw(basename);
use File::Spec;
use POSIX qw(strftime);
use Test::More;
use KGTest qw(:all);

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my @TOP = qw(schemaVersion accountId region partition id arn type resource service severity
             createdAt updatedAt title description kguard);

# scan(\@event_hashes, extra args...) -> run result; events are written as JSONL to a temp file
sub scan {
    my ($events, @extra) = @_;
    my $file = write_file(join('', map { event_line($_) . "\n" } @$events), 'findings-' . uuid() . '.jsonl');
    my $r = run_kguard(args => [scan_args(), @extra, $file], timeout => 60);
    $r->{input} = $file;
    my @c = crash_problems($r);
    ok(!@c && defined $r->{exit} && $r->{exit} == 0, 'scan ran, exit 0') or diag(join('; ', @c) . "\n" . describe_run($r));
    my @bad = grep { !$_->{data} } @{ $r->{findings} };
    ok(!@bad, 'stdout lines are JSON objects') or diag(join "\n", map { "$_->{error}: " . substr($_->{raw}, 0, 200) } @bad);
    return $r;
}
sub findings { map { $_->{data} } grep { $_->{data} } @{ $_[0]{findings} } }
sub of_type { my ($r, $t) = @_; grep { ($_->{data}{type} // '') eq $t } grep { $_->{data} } @{ $r->{findings} } }
sub path_is {
    my ($d, $path, $want, $label) = @_;
    my ($ex, $got) = dig($d, $path);
    ok($ex && deep_equal($got, $want), ($label // '') . "$path = " . json_encode($want))
        or diag('got: ' . ($ex ? json_encode($got) : '(absent)'));
}
sub absent {
    my ($d, $path, $label) = @_;
    my ($ex, $got) = dig($d, $path);
    ok(!$ex, ($label // '') . "$path absent") or diag('got: ' . json_encode($got));
}
sub absent_or_null {
    my ($d, $path, $label) = @_;
    my ($ex, $got) = dig($d, $path);
    ok(!$ex || !defined $got, ($label // '') . "$path absent or null") or diag('got: ' . json_encode($got));
}

my $CA_TOR  = 'CredentialAccess:Kubernetes/TorIPCaller';
my $CA_MAL  = 'CredentialAccess:Kubernetes/MaliciousIPCaller';
my $CA_CUS  = 'CredentialAccess:Kubernetes/MaliciousIPCaller.Custom';
my $CA_ANON = 'CredentialAccess:Kubernetes/SuccessfulAnonymousAccess';

# ---------------------------------------------------------------- one full finding
subtest 'a Tor finding for an EKS IAM user: every field' => sub {
    my $ev = audit_event(user => 'EKS', ip => $IP{TOR}, verb => 'list', resource => 'secrets', namespace => 'prod',
                         received => '2024-03-12T10:15:30.123456Z', stage_ts => '2024-03-12T10:15:30.131072Z');
    my $before = time;
    my $r = scan([ audit_event(verb => 'get', resource => 'services', name => 'kubernetes', ip => $IP{OFFICE}),
                   audit_event(verb => 'list', resource => 'events', ip => $IP{OFFICE}),
                   $ev ],
                 '--account-id', '111122223333', '--region', 'eu-west-1');
    my $after = time;
    my @f = of_type($r, $CA_TOR);
    is(scalar @f, 1, 'one CredentialAccess TorIPCaller finding') or return diag(describe_run($r));
    is(scalar @{ $r->{findings} }, 1, 'and nothing else');
    my $raw = $f[0]{raw};
    my $d   = $f[0]{data};

    is_deeply([ top_level_keys($raw) ], \@TOP, 'top-level keys in GuardDuty order');
    unlike($raw, qr/\n/, 'compact: one line');
    path_is($d, 'schemaVersion', '2.0');
    path_is($d, 'accountId', '111122223333');
    path_is($d, 'region', 'eu-west-1');
    path_is($d, 'partition', 'aws');
    like($d->{id} // '', qr/\A[0-9a-f]{32}\z/, 'id is 32 lowercase hex');
    like($d->{arn} // '', qr{\Aarn:aws:guardduty:eu-west-1:111122223333:detector/[A-Za-z0-9]+/finding/\Q$d->{id}\E\z},
         'arn:aws:guardduty:<region>:<account>:detector/<detectorId>/finding/<id>');
    path_is($d, 'type', $CA_TOR);
    like($raw, qr/"severity":8(?:\.0+)?[,}]/, 'severity is the JSON number 8 (High)');
    for my $k (qw(createdAt updatedAt)) {
        ok(is_iso_ms($d->{$k}), "$k is ISO-8601 UTC with milliseconds") or diag("$k=" . json_encode($d->{$k}));
        my $lo = strftime('%Y-%m-%dT%H:%M:%S', gmtime($before - 2));
        my $hi = strftime('%Y-%m-%dT%H:%M:%S', gmtime($after + 2));
        ok(($d->{$k} // '') ge $lo && ($d->{$k} // '') le "$hi.999Z", "$k is the processing time") or diag("$k=$d->{$k} not in [$lo, $hi]");
    }
    ok(!ref $d->{title} && length($d->{title} // ''), 'title non-empty');
    ok(!ref $d->{description} && length($d->{description} // ''), 'description non-empty');

    # resource
    path_is($d, 'resource.resourceType', 'EKSCluster');
    path_is($d, 'resource.eksClusterDetails.name', 'test-cluster');
    my $u = 'resource.kubernetesDetails.kubernetesUserDetails';
    path_is($d, "$u.username", $USER{EKS}{username});
    path_is($d, "$u.uid", $USER{EKS}{uid});
    path_is($d, "$u.groups", ['system:authenticated']);
    path_is($d, "$u.sessionName", ['alice']);
    my ($ex, $wl) = dig($d, 'resource.kubernetesDetails.kubernetesWorkloadDetails');
    ok($ex && !defined $wl, 'kubernetesWorkloadDetails is JSON null') or diag(json_encode($wl));
    path_is($d, 'resource.accessKeyDetails.accessKeyId', 'ASIARZ5BM2KTQ4EXAMPL');
    path_is($d, 'resource.accessKeyDetails.principalId', 'AROARZ5BM2KTW7H3EXAMP');
    for my $k (qw(userName userType)) {
        my ($e2, $v) = dig($d, "resource.accessKeyDetails.$k");
        ok($e2 && defined $v && !ref $v, "resource.accessKeyDetails.$k is a string") or diag(json_encode($v));
    }

    # service
    my $s = 'service';
    path_is($d, "$s.serviceName", 'guardduty');
    path_is($d, "$s.resourceRole", 'TARGET');
    path_is($d, "$s.featureName", 'EksAuditLogMonitoring');
    path_is($d, "$s.count", 1);
    ok(exists $d->{service}{archived} && JSON::PP::is_bool($d->{service}{archived}) && !$d->{service}{archived},
       'service.archived is JSON false');
    path_is($d, "$s.eventFirstSeen", '2024-03-12T10:15:30.123Z');
    path_is($d, "$s.eventLastSeen", '2024-03-12T10:15:30.123Z');
    path_is($d, "$s.action.actionType", 'KUBERNETES_API_CALL');
    my $a = "$s.action.kubernetesApiCallAction";
    path_is($d, "$a.requestUri", '/api/v1/namespaces/prod/secrets?limit=500');
    path_is($d, "$a.verb", 'list');
    path_is($d, "$a.sourceIPs", [ $IP{TOR} ]);
    like($raw, qr/"sourceIPs":\[/, 'key spelled sourceIPs (capital IPs)');
    unlike($raw, qr/"sourceIps"/, 'no sourceIps key');
    path_is($d, "$a.userAgent", 'kubectl/v1.29.2 (linux/amd64) kubernetes/4b8e819');
    like($raw, qr/"statusCode":200[,}]/, 'statusCode is the JSON integer 200');
    path_is($d, "$a.resource", 'secrets');
    path_is($d, "$a.namespace", 'prod');
    absent($d, "$a.resourceName", 'list has no name: ');
    absent($d, "$a.subresource", 'no subresource: ');
    path_is($d, "$a.remoteIpDetails.ipAddressV4", $IP{TOR});
    absent($d, "$a.remoteIpDetails.ipAddressV6");
    for my $k (qw(organization country city geoLocation)) {
        my ($e3, $v) = dig($d, "$a.remoteIpDetails.$k");
        ok($e3 && ref $v eq 'HASH', "remoteIpDetails.$k is an object (placeholder)") or diag(json_encode($v));
    }
    path_is($d, "$s.additionalInfo.threatListName", 'TorExitNodes');
    my ($e4, $tn) = dig($d, "$s.additionalInfo.threatName");
    ok($e4 && defined $tn && !ref $tn && length $tn, 'additionalInfo.threatName is a non-empty string') or diag(json_encode($tn));
    path_is($d, "$s.evidence.threatIntelligenceDetails.0.threatListName", 'TorExitNodes');
    my ($e5, $tns) = dig($d, "$s.evidence.threatIntelligenceDetails.0.threatNames");
    ok($e5 && ref $tns eq 'ARRAY' && @$tns && !grep({ !defined || ref } @$tns), 'evidence threatNames is a list of strings')
        or diag(json_encode($tns));

    # kguard extension
    ok(!ref $d->{kguard}{remediation} && length($d->{kguard}{remediation} // ''), 'kguard.remediation non-empty');
    my $rule = $d->{kguard}{rule} // '';
    like($rule, qr/\.lua\z/, 'kguard.rule is a .lua path');
    my $rp = File::Spec->file_name_is_absolute($rule) ? $rule : File::Spec->catfile($ROOT, $rule);
    ok(-f $rp, 'kguard.rule names an existing file') or diag("rule=$rule");
    path_is($d, 'kguard.auditID', $ev->{auditID});
    path_is($d, 'kguard.source', "$r->{input}:3", 'FILE:LINE of the event: ');
};

subtest 'defaults: account 000000000000, region local, cluster kubernetes' => sub {
    my $f = write_file(event_line(ip => $IP{TOR}) . "\n", 'defaults.jsonl');
    my $r = run_kguard(args => ['scan', '--rules', 'rules.d', std_list_args(), $f]);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    my ($d) = findings($r);
    ok($d, 'a finding') or return;
    path_is($d, 'accountId', '000000000000');
    path_is($d, 'region', 'local');
    path_is($d, 'resource.eksClusterDetails.name', 'kubernetes');
    like($d->{arn} // '', qr{\Aarn:aws:guardduty:local:000000000000:detector/[A-Za-z0-9]+/finding/[0-9a-f]{32}\z}, 'arn with defaults');
};

# ---------------------------------------------------------------- id
subtest 'id: stable hash of type + cluster + username + caller IP' => sub {
    my $ev1 = audit_event(ip => $IP{TOR}, user => 'ADMIN');
    my $ev2 = audit_event(ip => $IP{TOR}, user => 'ADMIN', received => '2024-03-13T08:00:00.000001Z',
                          verb => 'get', name => 'db-credentials');       # same identity, other request/time
    # id_of(\@events, $type, @extra_args): the ids of that type in one scan
    my $ids_of = sub {
        my ($evs, $type, @extra) = @_;
        my $r = scan($evs, @extra);
        return [ map { $_->{data}{id} } of_type($r, $type) ];
    };
    my ($id1) = @{ $ids_of->([$ev1], $CA_TOR) };
    like($id1 // '', qr/\A[0-9a-f]{32}\z/, 'id of a first event') or return;
    is_deeply($ids_of->([$ev1], $CA_TOR), [$id1], 'same event in another run: same id');
    is_deeply($ids_of->([$ev2], $CA_TOR), [$id1], 'same type/cluster/user/IP, other request: same id');
    my $both = $ids_of->([ $ev1, $ev2 ], $CA_TOR);
    ok(@$both >= 1 && !grep({ ($_ // '') ne $id1 } @$both), 'two identical-identity events in one scan: every line has that id')
        or diag(json_encode($both));
    my ($id3) = @{ $ids_of->([ audit_event(ip => $IP{TOR2}, user => 'ADMIN') ], $CA_TOR) };
    ok(defined $id3 && $id3 ne $id1, 'different IP -> different id');
    my ($id4) = @{ $ids_of->([ audit_event(ip => $IP{TOR}, user => 'EKS') ], $CA_TOR) };
    ok(defined $id4 && $id4 ne $id1, 'different user -> different id');
    my ($id5) = @{ $ids_of->([$ev1], $CA_TOR, '--cluster', 'other-cluster') };
    ok(defined $id5 && $id5 ne $id1, 'different cluster -> different id');
    my $tok = audit_event(ip => $IP{TOR}, user => 'ADMIN', verb => 'create', resource => 'serviceaccounts',
                          namespace => 'kube-system', name => 'default', subresource => 'token');
    my $r = scan([$tok]);
    my ($ca) = map { $_->{data}{id} } of_type($r, $CA_TOR);
    my ($pe) = map { $_->{data}{id} } of_type($r, 'Persistence:Kubernetes/TorIPCaller');
    ok(defined $ca && defined $pe && $ca ne $pe, 'one event, two types -> two ids');
    is($ca, $id1, 'same type/cluster/user/IP, other API -> same id');
};

# ---------------------------------------------------------------- severities
subtest 'severity numbers: High 8, Medium 5' => sub {
    my @ev = (
        [ 'CredentialAccess:Kubernetes/TorIPCaller', 8, audit_event(ip => $IP{TOR}) ],
        [ 'Discovery:Kubernetes/TorIPCaller', 5, audit_event(ip => $IP{TOR}, resource => 'pods') ],
        [ 'Discovery:Kubernetes/SuccessfulAnonymousAccess', 5, audit_event(ip => $IP{OFFICE}, user => 'ANON', resource => 'pods') ],
        [ 'Impact:Kubernetes/MaliciousIPCaller.Custom', 8, audit_event(ip => $IP{CUS}, verb => 'delete', resource => 'namespaces', namespace => undef, name => 'prod') ],
        [ 'DefenseEvasion:Kubernetes/MaliciousIPCaller', 8, audit_event(ip => $IP{MAL}, verb => 'delete', resource => 'events', name => 'x.17bc1f3e1a2b3c4d') ],
        [ 'Persistence:Kubernetes/MaliciousIPCaller', 5, audit_event(ip => $IP{MAL}, verb => 'create', resource => 'cronjobs', name => 'c', query => '') ],
        [ 'Persistence:Kubernetes/SuccessfulAnonymousAccess', 8, audit_event(ip => $IP{OFFICE}, user => 'ANON', verb => 'create', resource => 'cronjobs', name => 'c', query => '') ],
    );
    my $r = scan([ map { $_->[2] } @ev ]);
    for my $c (@ev) {
        my ($x) = of_type($r, $c->[0]);
        ok($x, "$c->[0] present") or next;
        like($x->{raw}, qr/"severity":$c->[1](?:\.0+)?[,}]/, "$c->[0] severity is the number $c->[1]");
    }
};

# ---------------------------------------------------------------- timestamps
subtest 'eventFirstSeen/eventLastSeen from requestReceivedTimestamp, truncated to milliseconds' => sub {
    my @cases = (
        [ '2024-03-12T10:15:30.123456Z', '2024-03-12T10:15:30.123Z' ],
        [ '2024-03-12T23:59:59.999999Z', '2024-03-12T23:59:59.999Z' ],
        [ '2024-03-12T10:15:30Z',        '2024-03-12T10:15:30.000Z' ],
        [ '2024-03-12T10:15:30.5Z',      '2024-03-12T10:15:30.500Z' ],
    );
    # one caller per case: the same type/user/IP would be aggregated into one finding
    my @who = ([ 'ADMIN', $IP{TOR} ], [ 'ADMIN', $IP{TOR2} ], [ 'EKS', $IP{TOR} ], [ 'SA', $IP{TOR2} ]);
    my @ev = map { audit_event(user => $who[$_][0], ip => $who[$_][1], received => $cases[$_][0],
                               stage_ts => '2024-03-13T00:00:01.000001Z') } 0 .. $#cases;
    my $r = scan(\@ev);
    my %by = map { ($_->{kguard}{auditID} // '') => $_ } findings($r);
    for my $i (0 .. $#cases) {
        my $d = $by{ $ev[$i]{auditID} } or do { fail("finding for $cases[$i][0]"); next };
        path_is($d, 'service.eventFirstSeen', $cases[$i][1], "$cases[$i][0]: ");
        path_is($d, 'service.eventLastSeen',  $cases[$i][1], "$cases[$i][0]: ");
    }
    # v1beta1: timestamp, no requestReceivedTimestamp
    my $b = audit_event(ip => $IP{TOR}, set => { apiVersion => 'audit.k8s.io/v1beta1', timestamp => '2017-09-11T19:55:05Z',
                                                 metadata => { creationTimestamp => '2017-09-11T19:55:05Z' } },
                        drop => [qw(requestReceivedTimestamp stageTimestamp)]);
    my $r2 = scan([$b]);
    my ($d) = findings($r2);
    ok($d, 'v1beta1 event gives a finding') or return diag(describe_run($r2));
    path_is($d, 'service.eventFirstSeen', '2017-09-11T19:55:05.000Z', 'v1beta1: ');
    ok(is_iso_ms($d->{createdAt}), 'createdAt still ISO ms');
};

# ---------------------------------------------------------------- user details
subtest 'kubernetesUserDetails: impersonation, service account, no IAM data' => sub {
    my $imp = audit_event(ip => $IP{TOR}, user => 'ADMIN',
                          set => { impersonatedUser => { username => 'dev@example.com', groups => ['developers', 'system:authenticated'] } });
    my $sa = audit_event(ip => $IP{MAL}, user => 'SA', resource => 'configmaps', namespace => 'kube-system');
    my $r = scan([ $imp, $sa ]);
    my %by = map { ($_->{kguard}{auditID} // '') => $_ } findings($r);
    my $u = 'resource.kubernetesDetails.kubernetesUserDetails';
    if (my $d = $by{ $imp->{auditID} }) {
        path_is($d, "$u.username", 'kubernetes-admin', 'impersonating: ');
        path_is($d, "$u.groups", ['kubeadm:cluster-admins', 'system:authenticated'], 'impersonating: ');
        path_is($d, "$u.impersonatedUser.username", 'dev@example.com');
        path_is($d, "$u.impersonatedUser.groups", ['developers', 'system:authenticated']);
        absent_or_null($d, 'resource.accessKeyDetails', 'no IAM data: ');
    } else { fail('finding for the impersonating request') }
    if (my $d = $by{ $sa->{auditID} }) {
        path_is($d, 'type', $CA_MAL);
        path_is($d, "$u.username", 'system:serviceaccount:ci:gitlab-runner');
        path_is($d, "$u.uid", $USER{SA}{uid});
        path_is($d, "$u.groups", $USER{SA}{groups});
        path_is($d, 'service.additionalInfo.threatListName', 'KnownMaliciousIPs');
        path_is($d, 'service.evidence.threatIntelligenceDetails.0.threatListName', 'KnownMaliciousIPs');
        absent_or_null($d, 'resource.accessKeyDetails', 'service account: ');
    } else { fail('finding for the service account request') }
};

# ---------------------------------------------------------------- API call details
subtest 'kubernetesApiCallAction: cluster-scoped, subresource, IPv6, proxies, custom list' => sub {
    my $node = audit_event(ip => $IP{CUS}, verb => 'get', resource => 'nodes', namespace => undef,
                           name => 'ip-10-0-1-23.ec2.internal');
    my $tok = audit_event(ips => [ $IP{INTERNAL}, $IP{MAL_CIDR} ], verb => 'create', resource => 'serviceaccounts',
                          namespace => 'kube-system', name => 'default', subresource => 'token', user => 'EKS',
                          ua => 'Go-http-client/1.1');
    my $v6 = audit_event(ip => $IP{MAL6}, resource => 'pods', namespace => 'default', user => 'ADMIN');
    my $r = scan([ $node, $tok, $v6 ]);
    my %by;
    push @{ $by{ $_->{data}{kguard}{auditID} // '' } }, $_ for grep { $_->{data} } @{ $r->{findings} };
    my $a = 'service.action.kubernetesApiCallAction';

    my ($n) = @{ $by{ $node->{auditID} } // [] };
    if ($n) {
        my $d = $n->{data};
        path_is($d, 'type', 'Discovery:Kubernetes/MaliciousIPCaller.Custom');
        path_is($d, "$a.requestUri", '/api/v1/nodes/ip-10-0-1-23.ec2.internal');
        path_is($d, "$a.verb", 'get');
        path_is($d, "$a.resource", 'nodes');
        path_is($d, "$a.resourceName", 'ip-10-0-1-23.ec2.internal');
        absent($d, "$a.namespace", 'cluster-scoped: ');
        path_is($d, 'service.additionalInfo.threatListName', 'partner-feed');
        path_is($d, 'service.evidence.threatIntelligenceDetails.0.threatListName', 'partner-feed');
        like($n->{raw}, qr/"severity":5(?:\.0+)?[,}]/, 'Discovery severity 5');
    } else { fail('finding for get nodes') }

    my @t = @{ $by{ $tok->{auditID} } // [] };
    is(scalar @t, 2, 'token request: two findings (CredentialAccess, Persistence)');
    for my $x (@t) {
        my $d = $x->{data};
        my $t = $d->{type} // '';
        path_is($d, "$a.requestUri", '/api/v1/namespaces/kube-system/serviceaccounts/default/token', "$t: ");
        path_is($d, "$a.verb", 'create', "$t: ");
        path_is($d, "$a.resource", 'serviceaccounts', "$t: ");
        path_is($d, "$a.subresource", 'token', "$t: ");
        path_is($d, "$a.resourceName", 'default', "$t: ");
        path_is($d, "$a.namespace", 'kube-system', "$t: ");
        path_is($d, "$a.sourceIPs", [ $IP{INTERNAL}, $IP{MAL_CIDR} ], "$t: ");
        path_is($d, "$a.remoteIpDetails.ipAddressV4", $IP{MAL_CIDR}, "$t: the listed IP, not the first one: ");
        path_is($d, "$a.userAgent", 'Go-http-client/1.1', "$t: ");
        like($x->{raw}, qr/"statusCode":201[,}]/, "$t: statusCode 201 as an integer");
        path_is($d, 'resource.kubernetesDetails.kubernetesUserDetails.sessionName', ['alice'], "$t: ");
        path_is($d, 'resource.accessKeyDetails.accessKeyId', 'ASIARZ5BM2KTQ4EXAMPL', "$t: ");
    }

    my ($v) = @{ $by{ $v6->{auditID} } // [] };
    if ($v) {
        my $d = $v->{data};
        path_is($d, 'type', 'Discovery:Kubernetes/MaliciousIPCaller');
        path_is($d, "$a.remoteIpDetails.ipAddressV6", $IP{MAL6});
        absent($d, "$a.remoteIpDetails.ipAddressV4", 'IPv6 caller: ');
        path_is($d, "$a.sourceIPs", [ $IP{MAL6} ]);
    } else { fail('finding for the IPv6 caller') }
};

# ---------------------------------------------------------------- anonymous
subtest 'SuccessfulAnonymousAccess: no threat intelligence' => sub {
    my $ev = audit_event(ip => $IP{OFFICE}, user => 'ANON', ua => 'curl/8.5.0', query => '');
    my $r = scan([$ev]);
    my ($x) = of_type($r, $CA_ANON);
    ok($x, 'CredentialAccess SuccessfulAnonymousAccess') or return diag(describe_run($r));
    my $d = $x->{data};
    is_deeply([ top_level_keys($x->{raw}) ], \@TOP, 'top-level keys in order');
    my ($ex, $evd) = dig($d, 'service.evidence');
    ok($ex && !defined $evd, 'service.evidence is JSON null') or diag(json_encode($evd));
    path_is($d, 'service.additionalInfo', {});
    path_is($d, 'resource.kubernetesDetails.kubernetesUserDetails.username', 'system:anonymous');
    path_is($d, 'resource.kubernetesDetails.kubernetesUserDetails.groups', ['system:unauthenticated']);
    path_is($d, 'service.action.kubernetesApiCallAction.remoteIpDetails.ipAddressV4', $IP{OFFICE});
    path_is($d, 'service.action.kubernetesApiCallAction.requestUri', '/api/v1/namespaces/prod/secrets');
    like($x->{raw}, qr/"severity":8(?:\.0+)?[,}]/, 'severity 8');
    like($d->{id} // '', qr/\A[0-9a-f]{32}\z/, 'id');
    like($d->{kguard}{rule} // '', qr/\.lua\z/, 'kguard.rule');
    is($d->{kguard}{source}, "$r->{input}:1", 'kguard.source FILE:1');
};

subtest 'every finding of a mixed batch has the full shape' => sub {
    my @ev = map { audit_event(%$_) } (
        { ip => $IP{TOR} }, { ip => $IP{MAL}, user => 'EKS', resource => 'pods' },
        { ip => $IP{CUS_CIDR}, user => 'SA', verb => 'delete', resource => 'deployments', name => 'api' },
        { ip => $IP{OFFICE}, user => 'ANON', verb => 'create', resource => 'serviceaccounts', name => 'x', query => '' },
        { ip => $IP{TOR2}, verb => 'patch', resource => 'validatingwebhookconfigurations', namespace => undef, name => 'gatekeeper', query => '' },
    );
    my $r = scan(\@ev);
    my @f = grep { $_->{data} } @{ $r->{findings} };
    # creating a service account is impact and persistence, patching a webhook defense evasion and persistence
    is(scalar @f, 7, 'seven findings') or diag(describe_run($r));
    for my $x (@f) {
        my $d = $x->{data};
        my $t = $d->{type} // '?';
        is_deeply([ top_level_keys($x->{raw}) ], \@TOP, "$t: key order");
        ok((grep { $_ eq $t } @TYPES), "$t: one of the 20 types");
        like($x->{raw}, qr/"severity":$SEVERITY{$t}(?:\.0+)?[,}]/, "$t: severity $SEVERITY{$t}") if $SEVERITY{$t};
        ok(is_iso_ms($d->{createdAt}) && is_iso_ms($d->{updatedAt}), "$t: createdAt/updatedAt ISO ms");
        ok(is_iso_ms($d->{service}{eventFirstSeen}) && is_iso_ms($d->{service}{eventLastSeen}), "$t: eventFirstSeen/LastSeen ISO ms");
        like($d->{id} // '', qr/\A[0-9a-f]{32}\z/, "$t: id");
        like($d->{arn} // '', qr{/finding/\Q@{[$d->{id} // '']}\E\z}, "$t: arn ends with the id");
        path_is($d, 'resource.resourceType', 'EKSCluster', "$t: ");
        path_is($d, 'service.action.actionType', 'KUBERNETES_API_CALL', "$t: ");
        ok(length($d->{kguard}{remediation} // '') > 0, "$t: remediation");
        like($d->{kguard}{rule} // '', qr/\.lua\z/, "$t: rule");
        like($d->{kguard}{source} // '', qr/\A\Q$r->{input}\E:[1-5]\z/, "$t: source FILE:LINE");
        my $anon = $t =~ /SuccessfulAnonymousAccess/;
        my ($ex, $e) = dig($d, 'service.evidence');
        if ($anon) { ok($ex && !defined $e, "$t: evidence null") }
        else { ok(ref $e eq 'HASH' && ref $e->{threatIntelligenceDetails} eq 'ARRAY', "$t: evidence.threatIntelligenceDetails") }
    }
};

done_testing();
