#!/usr/bin/env perl
# Many clusters in one process: one `kguard run` fed by three clusters through the webhook
# (POST /k8s-audit/CLUSTER, and a GKE record naming its own cluster) keeps their baselines and
# findings apart.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use Test::More;
use KGTest qw(:all);
use KGRun ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
$SIG{PIPE} = 'IGNORE';
my $FX = "$ROOT/tests/fixtures/sources";
my $PRIV = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
my $TOR  = 'CredentialAccess:Kubernetes/TorIPCaller';

my @events = map { json_decode($_) } grep { length } split /\n/, read_file("$FX/events.jsonl");
my ($tor) = grep { $_->{verb} eq 'list' && $_->{objectRef}{resource} eq 'secrets' && $_->{sourceIPs}[0] eq $IP{TOR} } @events;
my ($priv) = grep { ($_->{objectRef}{name} // '') eq 'debug-tools' } @events;
ok($tor && $priv, 'the Tor and privileged-pod events of the fixture set');

my $n = 0;
sub again { my ($e) = @_; my $c = json_decode(json_encode($e)); $c->{auditID} = sprintf('c1d2e3f4-0000-4000-8000-%012d', ++$n); return $c }
sub event_list { return json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', items => [@_] }) }

sub post {
    my ($port, $path, $body) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5) or return "connect: $!";
    print {$s} "POST $path HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: application/json\r\n"
             . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    my $resp = do { local $/; <$s> } // '';
    close $s;
    return $resp =~ m{\AHTTP/1\.[01] (\d{3})} ? $1 : 'no answer';
}

my $k = KGRun::start_kguard(args => [ 'run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
    '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt", '--cluster', 'default-cluster',
    '--listen', '127.0.0.1:0' ]);
KGRun::wait_until(10, sub { KGRun::stderr_of($k) =~ /listening on 127\.0\.0\.1 port (\d+)/ and $k->{port} = $1 });
ok($k->{port}, 'listening') or BAIL_OUT(KGRun::stderr_of($k));
my $p = $k->{port};

is(post($p, '/k8s-audit/alpha', event_list(again($priv), again($tor))), 200, 'alpha: privileged pod and Tor call');
is(post($p, '/k8s-audit/beta', event_list(again($priv), again($tor))), 200, 'beta: the same image privileged, the same Tor call');
is(post($p, '/k8s-audit/alpha', event_list(again($priv))), 200, 'alpha again: the image is known there now');
# gamma: a GKE record pushed by Pub/Sub to the default path; its resource.labels name the cluster
my $gke = json_decode((grep { /debug-tools/ } split /\n/, read_file("$FX/gke.jsonl"))[0]);
$gke->{insertId} = 'c1d2e3f4-0000-4000-8000-999999999999';
$gke->{resource}{labels}{cluster_name} = 'gamma';
my $push = json_encode({ message => { data => encode_base64(json_encode($gke), ''), messageId => '1' },
                         subscription => 'projects/acme-payments-prod/subscriptions/kguard' });
is(post($p, '/k8s-audit', $push), 200, 'gamma: the same image privileged, from a GKE record');
is(post($p, '/k8s-audit', event_list(again($priv))), 200, 'the default cluster: the same image privileged');

KGRun::wait_until(10, sub { (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 6 });
my $r = KGRun::finish($k, signal => 'TERM');
KGRun::clean_exit($r, 'run', how => 'SIGTERM -> ');

my @f = map { $_->{data} } final_findings($r);
my %priv_by = map { $_->{resource}{eksClusterDetails}{name} => $_ } grep { $_->{type} eq $PRIV } @f;
is_deeply([ sort keys %priv_by ], [qw(alpha beta default-cluster gamma)],
          'one privileged-container finding per cluster: the baseline is kept per cluster')
    or diag(describe_run($r));
is($priv_by{alpha}{service}{count}, 1, 'alpha: the second pod with the known image did not fire again');
my %ids = map { $_->{id} => 1 } values %priv_by;
is(scalar keys %ids, 4, 'four distinct finding ids');
like($priv_by{beta}{resource}{eksClusterDetails}{arn}, qr{:cluster/beta\z}, 'the cluster ARN names beta');
is($priv_by{gamma}{kguard}{cloud}{provider}, 'gke', 'gamma: the cloud recorded under kguard');
is($priv_by{gamma}{kguard}{cloud}{account}, 'acme-payments-prod', 'gamma: the GCP project');
is($priv_by{gamma}{kguard}{cloud}{location}, 'europe-west1', 'gamma: the location');
ok(!$priv_by{alpha}{kguard}{cloud}, 'alpha (named by the path): no cloud record');
my @tor = grep { $_->{type} eq $TOR } @f;
is_deeply([ sort map { $_->{resource}{eksClusterDetails}{name} } @tor ], [qw(alpha beta)],
          'the same Tor call in two clusters: two findings');
isnt($tor[0]{id}, $tor[1]{id}, 'with different ids') if @tor == 2;
like($r->{stderr}, qr/^kguard: cluster alpha: events=3 judged=3 findings=2$/m, 'summary: alpha counted apart');
like($r->{stderr}, qr/^kguard: cluster beta: events=2 judged=2 findings=2$/m, 'summary: beta');
like($r->{stderr}, qr/^kguard: cluster gamma: events=1 judged=1 findings=1$/m, 'summary: gamma');
like($r->{stderr}, qr/^kguard: cluster default-cluster: events=1 judged=1 findings=1$/m,
     'summary: the default cluster under its --cluster name');
done_testing();
