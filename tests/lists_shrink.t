#!/usr/bin/env perl
# A list that shrinks sharply on reload (fewer than half its entries, or none: a truncated download)
# is refused and its previous version stays in use, with a line saying so; a moderate shrink is
# taken; --accept-shrunk-lists takes any.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use KGTest qw(:all);
use KGRun qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

my @TOR = ('199.249.230.87', '109.70.100.23', '62.102.148.69', '185.220.101.33');
my @MAL = ('45.95.147.236', '194.26.29.113', '141.98.10.0/24', '89.248.165.0/24');
sub tor_list { join '', map { sprintf "ExitNode %040X\nPublished 2024-03-12 09:00:00\nLastStatus 2024-03-12 10:00:00\nExitAddress %s 2024-03-12 10:00:00\n", $_ + 1, $_[$_] } 0 .. $#_ }
sub mal_list { join '', map { "$_\n" } @_ }

my $n = 0;
sub event { my ($ip, $verb, $res) = @_; $n++;
    event_line(verb => $verb, resource => $res, namespace => 'prod', ip => $ip, user => 'EKS',
               name => ($verb eq 'list' ? undef : "obj-$n"), received => sprintf('2024-03-12T10:%02d:00.000000Z', $n)) . "\n" }

sub run_case {
    my (%o) = @_;
    my $tor = write_file(tor_list(@TOR), "$o{tag}/tor.txt");
    my $mal = write_file(mal_list(@MAL), "$o{tag}/mal.txt");
    my $log = write_file('', "$o{tag}/audit.log");
    my $k = start_kguard(args => ['run', '--rules', 'rules.d', '--tor-exits', $tor, '--malicious-ips', $mal,
                                  '--follow', $log, '--from-start', @{ $o{args} // [] }]);
    my $append = sub { open my $fh, '>>', $log or die; print {$fh} @_; close $fh };
    my $findings = sub { [ map { ($_->{type} // '') . ' ' . ($_->{service}{action}{kubernetesApiCallAction}{remoteIpDetails}{ipAddressV4} // '') } lines_of($k->{out}) ] };
    my $has = sub { my ($want) = @_; grep { $_ eq $want } @{ $findings->() } };
    my $reloads = sub { () = stderr_of($k) =~ /^kguard: reload \(/mg };
    my $hup = sub { my $before = $reloads->(); kill 'HUP', $k->{pid};
                    wait_until(10, sub { $reloads->() > $before }) };
    ok(alive($k), "$o{tag}: started");
    $append->(event($TOR[0], 'list', 'pods'));
    ok(wait_until(10, sub { $has->("Discovery:Kubernetes/TorIPCaller $TOR[0]") }), "$o{tag}: Tor caller found before the reload")
        or diag(stderr_of($k));
    $o{body}->($k, $tor, $mal, $append, $has, $hup);
    my $r = finish($k, signal => 'TERM');
    clean_exit($r, $o{tag});
    return $r;
}

run_case(tag => 'guard', body => sub {
    my ($k, $tor, $mal, $append, $has, $hup) = @_;
    # the Tor list loses three of its four entries, the malicious list is emptied
    write_file(tor_list($TOR[3]), 'guard/tor.txt');
    write_file("# download failed\n", 'guard/mal.txt');
    ok($hup->(), 'guard: reload after the lists shrank');
    my $err = stderr_of($k);
    like($err, qr/^kguard: list tor-exits \(\Q$tor\E\) shrank from 4 to 1 entries: refused, the previous version stays in use \(--accept-shrunk-lists takes it\)$/m,
         'guard: the Tor list that lost 3 of 4 entries is refused, with the reason');
    like($err, qr/^kguard: list malicious-ips \(\Q$mal\E\) shrank from 4 to 0 entries: refused/m, 'guard: the emptied list is refused');
    like($err, qr/^kguard: reload \(SIGHUP\): ok/m, 'guard: the reload itself succeeds');
    $append->(event($TOR[0], 'get', 'secrets'), event($MAL[0], 'delete', 'pods'));
    ok(wait_until(10, sub { $has->("CredentialAccess:Kubernetes/TorIPCaller $TOR[0]") }), 'guard: the previous Tor list still matches');
    ok(wait_until(10, sub { $has->("Impact:Kubernetes/MaliciousIPCaller $MAL[0]") }), 'guard: the previous malicious list still matches');

    # a moderate shrink (4 -> 3, without $TOR[0]) is taken
    write_file(tor_list(@TOR[1 .. 3]), 'guard/tor.txt');
    write_file(mal_list(@MAL), 'guard/mal.txt');
    ok($hup->(), 'guard: reload after a moderate shrink');
    unlike(stderr_of($k) =~ s/\A.*?shrank from 4 to 0 entries[^\n]*\n//sr, qr/shrank/, 'guard: no second refusal');
    $append->(event($TOR[0], 'delete', 'deployments'), event($TOR[1], 'delete', 'services'));
    ok(wait_until(10, sub { $has->("Impact:Kubernetes/TorIPCaller $TOR[1]") }), 'guard: the new Tor list matches');
    ok(!$has->("Impact:Kubernetes/TorIPCaller $TOR[0]"), 'guard: the address it dropped no longer does');
});

run_case(tag => 'accept', args => ['--accept-shrunk-lists'], body => sub {
    my ($k, $tor, $mal, $append, $has, $hup) = @_;
    write_file(tor_list($TOR[3]), 'accept/tor.txt');
    ok($hup->(), 'accept: reload after the Tor list shrank');
    unlike(stderr_of($k), qr/shrank/, 'accept: nothing refused');
    $append->(event($TOR[0], 'get', 'secrets'), event($TOR[3], 'delete', 'pods'));
    ok(wait_until(10, sub { $has->("Impact:Kubernetes/TorIPCaller $TOR[3]") }), 'accept: the shrunk list is in use');
    ok(!$has->("CredentialAccess:Kubernetes/TorIPCaller $TOR[0]"), 'accept: the removed address no longer matches');
});

done_testing();
