#!/usr/bin/env perl
# Log sources as the clouds deliver them: GKE Cloud Logging records (lines, the gcloud array, Pub/Sub
# push), AKS diagnostic records (lines, Event Hub batches), EKS CloudWatch payloads (lines, Lambda
# events, Firehose's gzip members), gzip archives.  tests/fixtures/sources/ holds one attack set in
# each shape; every shape must scan to the findings of the plain audit Events.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Compress::Gzip qw(gzip $GzipError);
use MIME::Base64 qw(encode_base64);
use Test::More;
use KGTest qw(:all);
use KGRun ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
$SIG{PIPE} = 'IGNORE';
my $FX = "$ROOT/tests/fixtures/sources";

sub gz { my ($text) = @_; my $out; gzip(\$text => \$out) or die $GzipError; return $out }
sub slurp_fx { read_file("$FX/$_[0]") }

# type, id and final count of every finding, sorted: what must not depend on the source's shape
sub signature {
    my ($r) = @_;
    return join "\n", sort map { my $d = $_->{data}; "$d->{type} $d->{id} $d->{service}{count}" } final_findings($r);
}
sub scan { my (@files) = @_; return run_kguard(args => [ scan_args(cluster => 'payments'), @files ], timeout => 120) }
sub scan_stdin { my ($bytes) = @_; return run_kguard(args => [ scan_args(cluster => 'payments'), '-' ], stdin => $bytes, timeout => 120) }

my $plain = scan("$FX/events.jsonl");
my $want = signature($plain);
my @want_types = sort map { $_->{data}{type} } final_findings($plain);
is_deeply(\@want_types, [ sort qw(CredentialAccess:Kubernetes/TorIPCaller Discovery:Kubernetes/SuccessfulAnonymousAccess
    PrivilegeEscalation:Kubernetes/PrivilegedContainer Execution:Kubernetes/ExecInKubeSystemPod
    Policy:Kubernetes/AnonymousAccessGranted Persistence:Kubernetes/ContainerWithSensitiveMount) ],
    'the plain audit Events give the six findings of the attack set (the forbidden request none)')
    or diag(describe_run($plain));

sub same_as_plain {
    my ($r, $what, %o) = @_;
    my @c = crash_problems($r);
    ok(!@c && $r->{exit} == 0, "$what: exit 0, no crash") or diag(join('; ', @c) . "\n" . describe_run($r));
    is(signature($r), $want, "$what: the same findings (type, id, count) as the plain events");
    is($r->{summary}{events}, $o{events} // 7, "$what: every record read as an event");
    is($r->{summary}{malformed}, 0, "$what: nothing malformed") or diag($r->{stderr});
}

subtest 'each cloud shape scans to the findings of the plain events' => sub {
    for my $f (qw(gke.jsonl gke-gcloud.json gke-pubsub.jsonl aks.jsonl aks-eventhub.json eks-cloudwatch.jsonl)) {
        same_as_plain(scan("$FX/$f"), $f);
    }
};

subtest 'GKE records carry what the rules need' => sub {
    my $r = scan("$FX/gke.jsonl");
    my ($priv) = grep { $_->{data}{type} =~ /PrivilegedContainer/ } final_findings($r);
    ok($priv, 'privileged container found in the Pod body GKE logged as request') or return;
    my $k = $priv->{data}{resource}{kubernetesDetails};
    is(dig($priv->{data}, 'service.action.kubernetesApiCallAction.requestUri'), '/api/v1/namespaces/default/pods/debug-tools',
       'request URI rebuilt from resourceName');
    is(dig($priv->{data}, 'service.action.kubernetesApiCallAction.statusCode'), 201, 'create answered 201');
    is(dig($priv->{data}, 'resource.kubernetesDetails.kubernetesUserDetails.username'), 'dev@example.com',
       'user from principalEmail');
    ok($k, 'kubernetesDetails present');
};

subtest 'gzip: archives, concatenated members, stdin, Firehose objects, Lambda events' => sub {
    my $dir = tmpdir();
    my $events = slurp_fx('events.jsonl');
    my @lines = split /(?<=\n)/, $events;
    my $one = write_file(gz($events), 'audit.log.1.gz');
    same_as_plain(scan($one), 'a .gz archive');
    my $joined = write_file(gz(join '', @lines[0 .. 2]) . gz(join '', @lines[3 .. $#lines]), 'audit.log.joined');
    same_as_plain(scan($joined), 'two members joined (cat a.gz b.gz), no .gz name');
    same_as_plain(scan_stdin(gz($events)), 'gzip on stdin');
    same_as_plain(scan(write_file(gz(slurp_fx('gke.jsonl')), 'gke.json.gz')), 'a GKE export, gzip-compressed');
    # Firehose to S3: each CloudWatch payload gzip-compressed by CloudWatch, the members concatenated
    my @payloads = grep { length } split /\n/, slurp_fx('eks-cloudwatch.jsonl');
    my $firehose = join '', map { gz($_) } @payloads;
    same_as_plain(scan(write_file($firehose, 'firehose-object')), 'a Firehose S3 object (one gzip member per payload)');
    same_as_plain(scan(write_file(gz($firehose), 'firehose-object.gz')), 'the same object compressed again by Firehose');
    # Lambda: {"awslogs": {"data": base64(gzip(payload))}}, one event per line
    my $lambda = join '', map { '{"awslogs":{"data":"' . encode_base64(gz($_), '') . "\"}}\n" } @payloads;
    same_as_plain(scan(write_file($lambda, 'lambda-events.jsonl')), 'Lambda events');
};

subtest 'a truncated gzip stream: the events before it judged, then an error naming the file' => sub {
    my $events = slurp_fx('events.jsonl');
    my @lines = split /(?<=\n)/, $events;
    # the first member complete (Tor + anonymous), the second cut short
    my $data = gz(join '', @lines[0 .. 1]) . gz(join '', @lines[2 .. $#lines]);
    my $file = write_file(substr($data, 0, length($data) - 40), 'cut.gz');
    my $r = scan($file);
    my %types = map { $_->{data}{type} => 1 } final_findings($r);
    ok($types{'CredentialAccess:Kubernetes/TorIPCaller'} && $types{'Discovery:Kubernetes/SuccessfulAnonymousAccess'},
       'the findings of the complete member are reported') or diag(describe_run($r));
    like($r->{stderr}, qr/\Q$file\E: truncated gzip stream/, 'the error names the file and says truncated');
    is($r->{exit}, 1, 'exit 1, as for an unreadable input');
    my @c = crash_problems($r);
    ok(!@c, 'no crash, summary printed') or diag(join '; ', @c);
};

subtest 'every malformed envelope is reported with FILE:LINE and skipped' => sub {
    my $good = (split /\n/, slurp_fx('events.jsonl'))[0];   # the Tor event
    my $gke = json_decode((split /\n/, slurp_fx('gke.jsonl'))[0]);
    my %bad = (
        gke_other_service => { %$gke, protoPayload => { %{ $gke->{protoPayload} },
            serviceName => 'container.googleapis.com', methodName => 'google.container.v1.ClusterManager.CreateCluster' } },
        gke_no_principal => { %$gke, protoPayload => { %{ $gke->{protoPayload} }, authenticationInfo => {} } },
        gke_bad_method => { %$gke, protoPayload => { %{ $gke->{protoPayload} }, methodName => 'io.k8s.core.v1.pods' } },
        pubsub_bad_base64 => { message => { data => '%%%not-base64%%%', messageId => '1' }, subscription => 'projects/p/subscriptions/s' },
        pubsub_not_json => { message => { data => encode_base64('not json at all', ''), messageId => '2' }, subscription => 'projects/p/subscriptions/s' },
        aks_other_category => { category => 'kube-apiserver', properties => { log => "I1130 10:00:00.000000 1 server.go:1] started\n" } },
        aks_no_log => { category => 'kube-audit', properties => { pod => 'kube-apiserver-0' } },
        aks_log_not_json => { category => 'kube-audit', properties => { log => "{\"kind\":\"Event\",\n" } },
        lambda_not_gzip => { awslogs => { data => encode_base64('{"logEvents":[]}', '') } },
        lambda_cut => { awslogs => { data => encode_base64(substr(gz('{"messageType":"DATA_MESSAGE","logEvents":[]}'), 0, 20), '') } },
    );
    my @names = sort keys %bad;
    my $text = join('', map { json_encode($bad{$_}) . "\n" } @names) . "$good\n";
    my $file = write_file($text, 'bad-envelopes.jsonl');
    my $r = scan($file);
    for my $i (0 .. $#names) {
        my $line = $i + 1;
        like($r->{stderr}, qr/\Q$file\E:$line: \S/, "$names[$i] (line $line) reported with FILE:LINE");
    }
    is($r->{summary}{malformed}, scalar @names, 'each counted malformed');
    is(signature($r) =~ tr/\n//, 0, 'one finding');
    like(signature($r), qr/TorIPCaller/, 'the good event after them is judged');
};

subtest 'webhook: Pub/Sub push envelopes and gzip bodies' => sub {
    my $k = KGRun::start_kguard(args => [ 'run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
        '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--cluster', 'payments', '--listen', '127.0.0.1:0' ]);
    KGRun::wait_until(10, sub { KGRun::stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $k->{port} = $1 });
    ok($k->{port}, 'listening') or return diag(KGRun::stderr_of($k));
    my @push = grep { length } split /\n/, slurp_fx('gke-pubsub.jsonl');
    is(post($k->{port}, $push[0]), 200, 'a Pub/Sub push envelope is accepted');
    my $events = slurp_fx('events.jsonl');
    my $list = '{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[' . join(',', grep { length } split /\n/, $events) . ']}';
    # the first event again (the same auditID as the Pub/Sub one): a duplicate, skipped
    is(post($k->{port}, gz($list), 'Content-Encoding' => 'gzip'), 200, 'a gzip-compressed EventList is accepted');
    KGRun::wait_until(10, sub { (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 6 });
    my $r = KGRun::finish($k, signal => 'TERM');
    KGRun::clean_exit($r, 'webhook', how => 'SIGTERM -> ');
    is(signature($r), $want, 'the same findings as the plain events; the redelivered record skipped');
};

sub post {
    my ($port, $body, %h) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5) or return "connect: $!";
    my $req = "POST /k8s-audit HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
            . join('', map { "$_: $h{$_}\r\n" } sort keys %h) . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    print {$s} $req;
    my $resp = do { local $/; <$s> } // '';
    close $s;
    return $resp =~ m{\AHTTP/1\.[01] (\d{3})} ? $1 : "no answer";
}

use IO::Socket::INET;
done_testing();
