#!/usr/bin/env perl
# NATS over TLS: certificates made here with openssl (a CA, the server's for 127.0.0.1, a client's,
# and a second CA that signed none of them).  The stream is filled while nats-server listens in
# plain TCP (this test's client speaks no TLS), then nats-server restarts on the same store with
# TLS required and client certificates verified.  kguard connects with --nats-ca, --nats-cert and
# --nats-key (or the nats_* config keys) and consumes; a wrong CA, a missing client certificate,
# a server certificate for another name and half a key pair are clear errors naming the URL.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;
use KGTest qw(:all);
use KGRun ();
use KGNats ();

my $ROOT = root();
my $BIN  = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;
plan skip_all => 'nats-server not installed' unless KGNats::binary();
plan skip_all => 'openssl not installed' unless grep { -x "$_/openssl" } split /:/, $ENV{PATH} // '';
$SIG{PIPE} = 'IGNORE';

my $PRIV = 'PrivilegeEscalation:Kubernetes/PrivilegedContainer';
my $TOR  = 'CredentialAccess:Kubernetes/TorIPCaller';
my $dir  = tempdir('nats-tls-XXXXXX', DIR => tmpdir(), CLEANUP => 1);

# ---- certificates ----
sub put { my ($path, $text) = @_; open my $fh, '>', $path or die "$path: $!"; print {$fh} $text; close $fh }
sub openssl { my $out = `openssl @_ 2>&1`; die "openssl @_: $out" if $?; }
sub make_ca { openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=$_[0] -keyout $dir/$_[0].key -out $dir/$_[0].pem") }
sub make_cert {
    my ($name, $ca, $san, $usage) = @_;
    put("$dir/$name.ext", "subjectAltName=$san\nextendedKeyUsage=$usage\n");
    openssl("req -newkey rsa:2048 -nodes -subj /CN=$name -keyout $dir/$name.key -out $dir/$name.csr");
    openssl("x509 -req -in $dir/$name.csr -CA $dir/$ca.pem -CAkey $dir/$ca.key -CAcreateserial -days 2 "
            . "-extfile $dir/$name.ext -out $dir/$name.pem");
}
make_ca('test-ca');
make_ca('other-ca');
make_cert('server', 'test-ca', 'IP:127.0.0.1,DNS:localhost', 'serverAuth');
make_cert('misnamed', 'test-ca', 'DNS:nats.elsewhere.example', 'serverAuth');
make_cert('kguard-client', 'test-ca', 'DNS:kguard-client', 'clientAuth');
ok(-s "$dir/server.pem" && -s "$dir/kguard-client.pem", 'certificates made with openssl');

# ---- the stream, filled over plain TCP ----
my $store = "$dir/store";
my $plain = KGNats::start(dir => $dir, store => $store);
ok($plain->{port}, 'nats-server (plain) started') or BAIL_OUT(KGRun::slurp($plain->{log}));
my $c = KGNats::client($plain->{port});
is($c->stream('AUDIT', 'audit.>')->{config}{name}, 'AUDIT', 'stream AUDIT on audit.>');
my @events = map { json_decode($_) } grep { length } split /\n/, read_file("$ROOT/tests/fixtures/sources/events.jsonl");
my ($tor) = grep { $_->{verb} eq 'list' && $_->{objectRef}{resource} eq 'secrets' && $_->{sourceIPs}[0] eq $IP{TOR} } @events;
my ($priv) = grep { ($_->{objectRef}{name} // '') eq 'debug-tools' } @events;
ok($tor && $priv, 'the Tor and privileged-pod events of the fixture set');
my $ack = $c->publish('audit.secure', json_encode({ kind => 'EventList', apiVersion => 'audit.k8s.io/v1', items => [$priv, $tor] }));
is($ack->{seq}, 1, 'an EventList for cluster "secure" stored');
KGNats::stop($plain);

# ---- the same store behind TLS, client certificates required ----
my $tls = KGNats::start(dir => $dir, store => $store, conf => <<"CONF");
tls {
  cert_file: "$dir/server.pem"
  key_file: "$dir/server.key"
  ca_file: "$dir/test-ca.pem"
  verify: true
}
CONF
ok($tls->{port}, 'nats-server (TLS) started') or BAIL_OUT(KGRun::slurp($tls->{log}));
like(KGRun::slurp($tls->{log}), qr/TLS required for client connections/, 'it requires TLS');
my $URL = "tls://127.0.0.1:$tls->{port}";
my @RUN = ('run', '--rules', "$ROOT/rules.d", '--lualib', "$ROOT/lualib",
           '--tor-exits', "$ROOT/tests/lists/tor-exit-addresses.txt");
my @TLS = ('--nats-ca', "$dir/test-ca.pem", '--nats-cert', "$dir/kguard-client.pem",
           '--nats-key', "$dir/kguard-client.key");

sub consume {
    my ($what, @args) = @_;
    my $k = KGRun::start_kguard(args => [@RUN, @args]);
    KGRun::wait_until(20, sub { (() = KGRun::slurp($k->{out}) =~ /"type"/g) >= 2 || !KGRun::alive($k) });
    my $res = KGRun::finish($k, signal => 'TERM');
    KGRun::clean_exit($res, $what, how => 'SIGTERM -> ');
    is_deeply([ sort map { "$_->{data}{resource}{eksClusterDetails}{name} $_->{data}{type}" } final_findings($res) ],
              [ sort "secure $PRIV", "secure $TOR" ], "$what: both findings of the stored batch, cluster from the subject")
        or diag(describe_run($res));
    return $res;
}

# ---- 1. consuming over TLS with a client certificate ----
my $res = consume('tls:// URL, --nats-ca/--nats-cert/--nats-key', '--nats-url', $URL, @TLS);
like($res->{stderr}, qr/consuming audit\.> from \Q$URL\E as kguard/, 'says what it consumes');

# ---- 2. the same from the config file (paths relative to it), a second durable consumer ----
mkdir "$dir/conf";
put("$dir/conf/kguard.lua", <<"LUA");
return {
  nats_url = "nats://127.0.0.1:$tls->{port}",
  nats_ca = "../test-ca.pem",
  nats_cert = "../kguard-client.pem",
  nats_key = "../kguard-client.key",
  nats_durable = "kguard-config",
}
LUA
$res = consume('nats_* config keys, a nats:// URL (TLS because the server requires it)',
               '--config', "$dir/conf/kguard.lua");
like($res->{stderr}, qr/consuming audit\.> from nats:\/\/127\.0\.0\.1:$tls->{port} as kguard-config/,
     'the durable consumer named in the config');

# ---- 3. what must fail, each naming the URL ----
sub refused {
    my ($what, $re, @args) = @_;
    my $r = run_kguard(args => [@RUN, '--nats-url', $URL, @args], timeout => 30);
    isnt($r->{exit}, 0, "$what: kguard does not start");
    like($r->{stderr}, $re, "$what: the error says why") or diag($r->{stderr});
    is_deeply([ crash_problems($r, no_summary => 1) ], [], "$what: no crash");
}
refused('a CA that did not sign the server certificate',
        qr/cannot consume from NATS: \Q$URL\E: .*(?:certificate|issuer)/i,
        '--nats-ca', "$dir/other-ca.pem", '--nats-cert', "$dir/kguard-client.pem", '--nats-key', "$dir/kguard-client.key");
refused('no CA: the system store does not trust the test CA',
        qr/cannot consume from NATS: \Q$URL\E: .*(?:certificate|issuer)/i,
        '--nats-cert', "$dir/kguard-client.pem", '--nats-key', "$dir/kguard-client.key");
refused('no client certificate', qr/cannot consume from NATS: \Q$URL\E: /, '--nats-ca', "$dir/test-ca.pem");
refused('a certificate without its key', qr/--nats-cert and --nats-key go together/,
        '--nats-ca', "$dir/test-ca.pem", '--nats-cert', "$dir/kguard-client.pem");
refused('a CA file that is not there', qr/cannot consume from NATS: \Q$dir\E\/nope\.pem: /,
        '--nats-ca', "$dir/nope.pem");

# a server whose certificate names another host: verified by name too
KGNats::stop($tls);
my $mis = KGNats::start(dir => $dir, store => "$dir/store2", conf => <<"CONF");
tls {
  cert_file: "$dir/misnamed.pem"
  key_file: "$dir/misnamed.key"
}
CONF
$URL = "tls://127.0.0.1:$mis->{port}";
refused('a server certificate for another name', qr/cannot consume from NATS: \Q$URL\E: .*mismatch/i,
        '--nats-ca', "$dir/test-ca.pem");

done_testing();
