package KGNats;
# nats-server for tests, on 127.0.0.1 only: a single JetStream server or a JetStream cluster of N
# nodes (random client and route ports, the first node the seed of the others' routes), and a
# minimal client speaking the NATS text protocol: publish without waiting, requests with a reply
# inbox (the JetStream API).
use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();
use KGTest qw(json_encode json_decode);
use KGRun ();

sub binary {
    my ($b) = grep { -x } map { "$_/nats-server" } split(/:/, $ENV{PATH} // ''), '/usr/sbin', '/usr/bin';
    return $b;
}

# A port the kernel gave for 127.0.0.1 (port 0) just now: the seed node's route port, which the
# other nodes (and the seed itself, which ignores a route to itself) must know before it starts.
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# start_node(dir => D, name => N, cluster => NAME, route_port => P, routes => [URL])
#   -> { pid, port, route_port, log }
sub start_node {
    my (%o) = @_;
    my $log = "$o{dir}/$o{name}.log";
    my @args = ('-js', '-a', '127.0.0.1', '-p', '-1', '-sd', "$o{dir}/$o{name}", '-n', $o{name});
    push @args, '--cluster_name', $o{cluster}, '--cluster', 'nats://127.0.0.1:' . ($o{route_port} // -1)
        if $o{cluster};
    push @args, '--routes', join(',', @{ $o{routes} }) if $o{routes} && @{ $o{routes} };
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $log or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { no warnings 'exec'; exec binary(), @args }
        POSIX::_exit(127);
    }
    my %n = (pid => $pid, log => $log, name => $o{name});
    KGRun::wait_until(10, sub {
        my $t = KGRun::slurp($log);
        $n{port} = $1 if $t =~ /client connections on 127\.0\.0\.1:(\d+)/;
        $n{route_port} = $1 if $t =~ /route connections on 127\.0\.0\.1:(\d+)/;
        return $n{port} && (!$o{cluster} || $n{route_port});
    });
    die "nats-server $o{name} did not start:\n" . KGRun::slurp($log) unless $n{port};
    return \%n;
}

# start_cluster(dir => D, nodes => N) -> [node, ...]: a JetStream cluster "kguard-test"
sub start_cluster {
    my (%o) = @_;
    my $seed = free_port();
    my @routes = ("nats://127.0.0.1:$seed");
    return [ map { start_node(dir => $o{dir}, name => "n$_", cluster => 'kguard-test',
                              route_port => $_ == 1 ? $seed : undef, routes => \@routes) } 1 .. $o{nodes} ];
}

sub stop_node {
    my ($n, $sig) = @_;
    return unless $n->{pid};
    kill $sig // 'TERM', $n->{pid};
    waitpid($n->{pid}, 0);
    delete $n->{pid};
}

# ---- the client ----
sub connect {
    my ($class, $port) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
        or die "connect to nats-server on $port: $!";
    my $info = <$sock>;
    print {$sock} qq(CONNECT {"verbose":false,"pedantic":false,"name":"kguard-test"}\r\nPING\r\n);
    return bless { sock => $sock, sid => 0, info => $info }, $class;
}

sub read_msg {
    my ($c) = @_;
    my $sock = $c->{sock};
    while (defined(my $l = <$sock>)) {
        if ($l =~ /^PING/) { print {$sock} "PONG\r\n"; next }
        if ($l =~ /^MSG\s+\S+\s+\d+\s+(?:\S+\s+)?(\d+)\r\n/) {
            read($sock, my $data, $1 + 2);
            return substr($data, 0, $1);
        }
        die "nats: $l" if $l =~ /^-ERR/;
    }
    die 'nats: connection closed';
}

# request(SUBJECT, PAYLOAD) -> the decoded JSON reply (JetStream API)
sub request {
    my ($c, $subject, $payload) = @_;
    my $inbox = '_INBOX.kgtest.' . ++$c->{sid};
    utf8::encode($payload) if utf8::is_utf8($payload);
    print { $c->{sock} } "SUB $inbox $c->{sid}\r\nUNSUB $c->{sid} 1\r\nPUB $subject $inbox " . length($payload) . "\r\n$payload\r\n";
    return json_decode($c->read_msg);
}

# publish without a reply (JetStream stores what its stream's subjects take)
sub publish {
    my ($c, $subject, $payload) = @_;
    utf8::encode($payload) if utf8::is_utf8($payload);
    print { $c->{sock} } "PUB $subject " . length($payload) . "\r\n$payload\r\n";
}

1;
