package KGNats;
# A nats-server for a test and a minimal NATS client (core Perl modules only), for the tests of
# kguard's NATS connection, publish mode and findings sink.  Load it after Test::More.
#
#   binary()                          the nats-server executable, or undef (skip the test)
#   start(dir => D, store => S, conf => TEXT | undef, port => P | undef) -> server { pid, port, log }
#                                     on 127.0.0.1 with port P or one it picks; JetStream in S;
#                                     conf: a config file's text (its listen/jetstream lines are
#                                     added), else plain options
#   stop($server)                     SIGTERM and wait
#   client($port) -> client           a plain-TCP client (not for a TLS-only server)
#   $c->request($subject, $payload)   -> decoded JSON reply
#   $c->stream($name, @subjects)      create a file stream
#   $c->publish($subject, $body)      JetStream publish -> the ack (decoded)
#   $c->messages($stream)             -> ([subject, data], ...) of every stored message, in order
#   $c->post($subject, $body)         publish without waiting for an ack (bulk loads)
#   start_cluster(dir => D, nodes => N) -> [node { pid, port, route_port, log, name }, ...]
#                                     a JetStream cluster "kguard-test" on 127.0.0.1; the seed
#                                     node's route port is one the kernel picked just before
#   stop_node($node, SIGNAL)          stop one node (default SIGTERM) and wait
use strict;
use warnings;
use IO::Socket::INET;
use MIME::Base64 qw(decode_base64);
use POSIX ();
use KGTest qw(json_decode json_encode);
use KGRun ();

my %SERVERS;
my $STARTED = 0;   # log names never repeat (a restarted server must not read its predecessor's log)
END { local $?; stop($_) for values %SERVERS }

sub binary {
    my ($b) = grep { -x } map { "$_/nats-server" } split(/:/, $ENV{PATH} // ''), '/usr/sbin', '/usr/bin';
    return $b;
}

sub start {
    my (%o) = @_;
    my $log = "$o{dir}/server-" . ++$STARTED . '.log';
    my $port = $o{port} // -1;
    my @args = ('-js', '-a', '127.0.0.1', '-p', $port, '-sd', $o{store});
    if (defined $o{conf}) {
        my $conf = "$log.conf";
        open my $fh, '>', $conf or die "$conf: $!";
        print {$fh} "listen: 127.0.0.1:$port\njetstream { store_dir: \"$o{store}\" }\n$o{conf}";
        close $fh;
        @args = ('-c', $conf);
    }
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $log or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { no warnings 'exec'; exec binary(), @args }
        POSIX::_exit(127);
    }
    my $s = { pid => $pid, log => $log };
    $SERVERS{$pid} = $s;
    KGRun::wait_until(10, sub { KGRun::slurp($log) =~ /client connections on 127\.0\.0\.1:(\d+)/ and $s->{port} = $1 });
    KGRun::wait_until(10, sub { KGRun::slurp($log) =~ /Server is ready/ });
    return $s;
}

sub stop {
    my ($s) = @_;
    return unless $s && $SERVERS{ $s->{pid} };
    kill 'TERM', $s->{pid};
    waitpid($s->{pid}, 0);
    delete $SERVERS{ $s->{pid} };
}

sub client {
    my ($port) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Proto => 'tcp', Timeout => 5)
        or die "connect to nats-server: $!";
    my $info = <$sock>;
    die "not a NATS server: $info" unless $info =~ /^INFO /;
    print {$sock} qq(CONNECT {"verbose":false,"pedantic":false,"name":"kguard-test"}\r\n);
    return bless { sock => $sock, sid => 0, info => $info }, __PACKAGE__;
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

sub request {
    my ($c, $subject, $payload) = @_;
    my $sid = ++$c->{sid};
    my $inbox = "_INBOX.kgtest.$sid";
    utf8::encode($payload) if utf8::is_utf8($payload);   # the protocol counts bytes
    print { $c->{sock} } "SUB $inbox $sid\r\nUNSUB $sid 1\r\nPUB $subject $inbox " . length($payload) . "\r\n$payload\r\n";
    return json_decode($c->read_msg());
}

sub stream {
    my ($c, $name, @subjects) = @_;
    return $c->request("\$JS.API.STREAM.CREATE.$name",
                       json_encode({ name => $name, subjects => [@subjects], storage => 'file' }));
}

sub publish { my ($c, $subject, $body) = @_; return $c->request($subject, $body) }

sub post {
    my ($c, $subject, $body) = @_;
    utf8::encode($body) if utf8::is_utf8($body);
    print { $c->{sock} } "PUB $subject " . length($body) . "\r\n$body\r\n";
}

# ---- a JetStream cluster ----

# A port the kernel gave for 127.0.0.1 (port 0) just now: the seed node's route port, which the
# other nodes (and the seed itself, which ignores a route to itself) must know before it starts.
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0, Proto => 'tcp', Listen => 1)
        or die "no free port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub start_node {
    my (%o) = @_;
    my $log = "$o{dir}/$o{name}.log";
    my @args = ('-js', '-a', '127.0.0.1', '-p', '-1', '-sd', "$o{dir}/$o{name}", '-n', $o{name},
                '--cluster_name', 'kguard-test', '--cluster', 'nats://127.0.0.1:' . ($o{route_port} // -1),
                '--routes', join(',', @{ $o{routes} }));
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $log or POSIX::_exit(127);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(127);
        { no warnings 'exec'; exec binary(), @args }
        POSIX::_exit(127);
    }
    my $n = { pid => $pid, log => $log, name => $o{name} };
    $SERVERS{$pid} = $n;
    KGRun::wait_until(10, sub {
        my $t = KGRun::slurp($log);
        $n->{port} = $1 if $t =~ /client connections on 127\.0\.0\.1:(\d+)/;
        $n->{route_port} = $1 if $t =~ /route connections on 127\.0\.0\.1:(\d+)/;
        return $n->{port} && $n->{route_port};
    });
    die "nats-server $o{name} did not start:\n" . KGRun::slurp($log) unless $n->{port};
    return $n;
}

sub start_cluster {
    my (%o) = @_;
    my $seed = free_port();
    my @routes = ("nats://127.0.0.1:$seed");
    return [ map { start_node(dir => $o{dir}, name => "n$_", route_port => $_ == 1 ? $seed : undef,
                              routes => \@routes) } 1 .. $o{nodes} ];
}

sub stop_node {
    my ($n, $sig) = @_;
    return unless $n && $SERVERS{ $n->{pid} };
    kill $sig // 'TERM', $n->{pid};
    waitpid($n->{pid}, 0);
    delete $SERVERS{ $n->{pid} };
}

sub messages {
    my ($c, $stream) = @_;
    my $n = $c->request("\$JS.API.STREAM.INFO.$stream", '')->{state}{last_seq} // 0;
    my @m;
    for my $seq (1 .. $n) {
        my $m = $c->request("\$JS.API.STREAM.MSG.GET.$stream", json_encode({ seq => $seq }))->{message} or next;
        push @m, [$m->{subject}, decode_base64($m->{data} // '')];
    }
    return @m;
}

1;
