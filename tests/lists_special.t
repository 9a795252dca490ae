#!/usr/bin/env perl
# Threat lists leave special-purpose address ranges (private, loopback, link-local, CGNAT, ULA, ...)
# out of matching by default; --literal-lists or the config's literal_lists = true restores them.
# Trusted lists keep every entry.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Spec;
use Test::More;
use KGTest qw(:all);

my $BIN = kguard();
plan skip_all => "kguard binary not found at $BIN (set KGUARD)" unless -x $BIN;

# A feed written like FireHOL level1: bogons beside real entries, and one block covering 10/8.
my $feed = write_file("# a feed with bogons\n0.0.0.0/8\n10.0.0.0/8\n100.64.0.0/10\n127.0.0.0/8\n"
    . "169.254.0.0/16\n172.16.0.0/12\n192.168.0.0/16\n224.0.0.0/3\nfc00::/7\nfe80::/10\n"
    . "45.95.147.236\n8.0.0.0/6\n", 'feed.netset');
my $tor = write_file("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2024-03-12 05:36:52\n"
    . "LastStatus 2024-03-12 07:00:00\nExitAddress 10.20.0.15 2024-03-12 06:29:27\n"
    . "ExitNode 00E9E6E3F8ABE7E0D2D1D4E2E7DBE9E8E8E9E5E5\nPublished 2024-03-12 05:51:20\n"
    . "LastStatus 2024-03-12 07:00:00\nExitAddress 199.249.230.87 2024-03-12 06:40:11\n", 'tor.txt');
my $trusted = write_file("10.0.0.0/8\n", 'trusted.txt');

# EKS nodes, a controller and an admin, calling from private, CGNAT, link-local, ULA, v4-mapped
# and loopback addresses; and the same list calls from public addresses.
my @private = ('10.0.12.34', '172.20.3.4', '192.168.99.1', '100.64.7.9', '169.254.0.2',
               'fd00:ec2::23', '::ffff:10.0.1.5', '127.0.0.1', '::1', 'fe80::1');
my @events;
for my $ip (@private) {
    push @events, event_line(verb => 'get', resource => 'secrets', namespace => 'kube-system',
                             name => 'aws-auth-token', ip => $ip, user => 'EKS');
}
my $events = join("\n", @events) . "\n";
my $public = event_line(verb => 'get', resource => 'secrets', namespace => 'kube-system',
                        name => 'aws-auth-token', ip => '9.9.9.9', user => 'EKS') . "\n"
           . event_line(verb => 'get', resource => 'secrets', namespace => 'kube-system',
                        name => 'db-password', ip => '45.95.147.236', user => 'EKS') . "\n";

sub scan {
    my ($in, @extra) = @_;
    return run_kguard(args => ['scan', '--rules', 'rules.d', '--malicious-ips', $feed,
                               '--threat-list', "feed=$feed", '--tor-exits', $tor, @extra, '-'],
                      stdin => $in);
}
sub types { my %n; $n{ $_->{data}{type} }++ for grep { $_->{data} } @{ $_[0]{findings} }; \%n }

subtest 'default: special-purpose callers never hit a list' => sub {
    my $r = scan($events);
    is($r->{exit}, 0, 'exit 0') or diag(describe_run($r));
    is_deeply(types($r), {}, 'no finding from private, CGNAT, link-local, ULA, mapped or loopback callers')
        or diag(describe_run($r));
    like($r->{stderr}, qr/^kguard: list malicious-ips \(\Q$feed\E\): 12 entries; special-purpose ranges \(private, loopback, link-local, \.\.\.\) left out: 10 entries dropped, 1 clipped$/m,
         'malicious list: ten bogon blocks dropped (224.0.0.0/3 is multicast + reserved), 8.0.0.0/6 clipped');
    like($r->{stderr}, qr/^kguard: list feed \(\Q$feed\E\): 12 entries; .*: 10 entries dropped, 1 clipped$/m, 'custom list reported');
    like($r->{stderr}, qr/^kguard: list tor-exits \(\Q$tor\E\): 2 entries; .*: 1 entries dropped, 0 clipped$/m,
         'Tor list: a private ExitAddress is dropped too');
};

subtest 'default: public callers still hit, clipped blocks keep their public part' => sub {
    my $r = scan($public);
    my $t = types($r);
    is($t->{'CredentialAccess:Kubernetes/MaliciousIPCaller'}, 2, '9.9.9.9 (inside 8.0.0.0/6, clipped) and 45.95.147.236 hit')
        or diag(describe_run($r));
    is($t->{'CredentialAccess:Kubernetes/MaliciousIPCaller.Custom'}, 2, 'the custom list too');
};

subtest '--literal-lists matches the lists as written' => sub {
    my $r = scan($events, '--literal-lists');
    my $t = types($r);
    is($t->{'CredentialAccess:Kubernetes/MaliciousIPCaller'}, scalar(@private) - 1, 'every special caller but ::1 (the list has only 127/8) hits')
        or diag(describe_run($r));
    is($t->{'CredentialAccess:Kubernetes/TorIPCaller'}, undef, 'none of them is the Tor exit 10.20.0.15');
    unlike($r->{stderr}, qr/special-purpose ranges/, 'nothing reported as left out');
    my $s = scan(event_line(verb => 'get', resource => 'secrets', namespace => 'kube-system', name => 'x',
                            ip => '10.20.0.15', user => 'EKS') . "\n", '--literal-lists', '--stats');
    ok(types($s)->{'CredentialAccess:Kubernetes/TorIPCaller'}, 'the private Tor ExitAddress matches literally');
    like($s->{stderr}, qr/^kguard: stats: list tor-exits entries=2 special_dropped=0 special_clipped=0 literal=yes$/m,
         '--stats shows the list counters');
};

subtest 'config literal_lists' => sub {
    my $cfg = write_file("return { literal_lists = true }\n", 'literal.lua');
    my $r = scan($events, '--config', $cfg);
    is(types($r)->{'CredentialAccess:Kubernetes/MaliciousIPCaller'}, scalar(@private) - 1, 'literal_lists = true')
        or diag(describe_run($r));
    write_file("return { literal_lists = false }\n", 'literal.lua');
    $r = scan($events, '--config', $cfg, '--stats');
    is_deeply(types($r), {}, 'literal_lists = false is the default');
    like($r->{stderr}, qr/^kguard: stats: list malicious-ips entries=12 special_dropped=10 special_clipped=1 literal=no$/m,
         '--stats shows dropped and clipped');
    write_file("return { literal_lists = \"yes\" }\n", 'literal.lua');
    $r = scan($events, '--config', $cfg);
    isnt($r->{exit}, 0, 'a non-boolean literal_lists is refused');
    like($r->{stderr}, qr/literal\.lua.*literal_lists/, 'the message names the file and the key');
};

subtest 'trusted lists keep private entries' => sub {
    my $r = scan($events, '--literal-lists', '--trusted-ips', $trusted);
    my $t = types($r);
    # 10.0.12.34 and ::ffff:10.0.1.5 are trusted; the others but ::1 still hit literally
    is($t->{'CredentialAccess:Kubernetes/MaliciousIPCaller'}, scalar(@private) - 3, 'trusted 10/8 wins')
        or diag(describe_run($r));
};

done_testing();
